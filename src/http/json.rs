//! JSON strings, written by hand: what the access log and the test
//! endpoints emit is a few flat objects, which does not justify a
//! serialisation crate in the library (serde_json is a dev-dependency, used
//! by the tests to check what we write).

/// Appends `bytes` as a quoted JSON string (RFC 8259 §7): `"` and `\`
/// escaped, control characters as `\u00XX`, bytes that are not UTF-8 as
/// U+FFFD.
pub fn push_str(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    for chunk in bytes.utf8_chunks() {
        push_escaped(out, chunk.valid().as_bytes());
        if !chunk.invalid().is_empty() {
            out.extend_from_slice("\u{fffd}".as_bytes());
        }
    }
    out.push(b'"');
}

fn push_escaped(out: &mut Vec<u8>, text: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut start = 0;
    for (i, &b) in text.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&text[start..i]);
        if escape.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 15)]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&text[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(bytes: &[u8]) -> String {
        let mut out = Vec::new();
        push_str(&mut out, bytes);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escapes_what_json_requires() {
        assert_eq!(json(b"plain"), "\"plain\"");
        assert_eq!(json(b"a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(json(b"\n\r\t\x01\x1f"), r#""\n\r\t\u0001\u001f""#);
        assert_eq!(json("é ☕".as_bytes()), "\"é ☕\"");
        assert_eq!(json(b"a\xffb"), "\"a\u{fffd}b\"");
    }

    #[test]
    fn round_trips_through_a_real_parser() {
        let all: Vec<u8> = (0u8..=255).collect();
        let text = json(&all);
        let back: String = serde_json::from_str(&text).unwrap();
        assert_eq!(back, String::from_utf8_lossy(&all));
    }
}

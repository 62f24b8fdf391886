//! The JSON of `anything`, `headers` and `ip`: what the server received,
//! echoed the way httpbin does, so that scripts written for it work.

use super::params::decode;
use crate::http::{json, Request};

/// Values grouped by name, names in the order they first came.
type Grouped<'a> = Vec<(&'a str, Vec<Vec<u8>>)>;

fn group<'a>(
    pairs: impl Iterator<Item = (&'a str, Vec<u8>)>,
    same: fn(&str, &str) -> bool,
) -> Grouped<'a> {
    let mut groups: Grouped<'a> = Vec::new();
    for (name, value) in pairs {
        match groups.iter_mut().find(|(n, _)| same(n, name)) {
            Some((_, values)) => values.push(value),
            None => groups.push((name, vec![value])),
        }
    }
    groups
}

/// `{"name": value, ...}`, each value written by `value`.
fn push_object(out: &mut Vec<u8>, groups: &Grouped<'_>, value: fn(&mut Vec<u8>, &[Vec<u8>])) {
    out.push(b'{');
    for (i, (name, values)) in groups.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json::push_str(out, name.as_bytes());
        out.push(b':');
        value(out, values);
    }
    out.push(b'}');
}

/// `{"Name": "value", ...}`; repeated fields joined with `, `.
fn push_headers(out: &mut Vec<u8>, req: &Request<'_>) {
    let fields = req.headers().map(|(name, value)| (name, value.to_vec()));
    let groups = group(fields, |a, b| a.eq_ignore_ascii_case(b));
    push_object(out, &groups, |out, values| {
        json::push_str(out, &values.join(&b", "[..]));
    });
}

/// `{"name": "value" or ["v1", "v2"], ...}`, decoded.
fn push_args(out: &mut Vec<u8>, query: Option<&str>) {
    let pairs = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")));
    let decoded: Vec<(String, Vec<u8>)> = pairs
        .map(|(k, v)| (String::from_utf8_lossy(&decode(k)).into_owned(), decode(v)))
        .collect();
    let groups = group(
        decoded.iter().map(|(k, v)| (k.as_str(), v.clone())),
        |a, b| a == b,
    );
    push_object(out, &groups, |out, values| match values {
        [one] => json::push_str(out, one),
        many => {
            out.push(b'[');
            for (j, value) in many.iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                json::push_str(out, value);
            }
            out.push(b']');
        }
    });
}

/// The client's address without the port (httpbin's `origin`); `unix:`
/// for a client of a Unix-domain socket, as in the access log.
fn push_origin(out: &mut Vec<u8>, req: &Request<'_>) {
    let origin = req
        .peer()
        .map(|peer| peer.host().to_string())
        .unwrap_or_default();
    json::push_str(out, origin.as_bytes());
}

/// The body as text, or as a base64 data URL when it is not UTF-8.
fn push_data(out: &mut Vec<u8>, body: &[u8]) {
    match std::str::from_utf8(body) {
        Ok(text) => json::push_str(out, text.as_bytes()),
        Err(_) => {
            let url = format!("data:application/octet-stream;base64,{}", base64(body));
            json::push_str(out, url.as_bytes());
        }
    }
}

/// Standard base64 with padding (RFC 4648 §4).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `anything`: method, url, args, headers, data, origin.
pub fn anything(req: &Request<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(512 + req.body().len());
    out.extend_from_slice(b"{\"method\":");
    json::push_str(&mut out, req.method().as_bytes());
    out.extend_from_slice(b",\"url\":");
    json::push_str(&mut out, req.target().as_bytes());
    out.extend_from_slice(b",\"args\":");
    push_args(&mut out, req.query());
    out.extend_from_slice(b",\"headers\":");
    push_headers(&mut out, req);
    out.extend_from_slice(b",\"data\":");
    push_data(&mut out, req.body());
    out.extend_from_slice(b",\"origin\":");
    push_origin(&mut out, req);
    out.extend_from_slice(b"}\n");
    out
}

/// `{"name": …}` with the value that `push` writes.
fn single(name: &[u8], req: &Request<'_>, push: fn(&mut Vec<u8>, &Request<'_>)) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"{\"");
    out.extend_from_slice(name);
    out.extend_from_slice(b"\":");
    push(&mut out, req);
    out.extend_from_slice(b"}\n");
    out
}

/// `headers`: `{"headers": {...}}`.
pub fn headers(req: &Request<'_>) -> Vec<u8> {
    single(b"headers", req, push_headers)
}

/// `ip`: `{"origin": "..."}`.
pub fn ip(req: &Request<'_>) -> Vec<u8> {
    single(b"origin", req, push_origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), want);
        }
        assert_eq!(base64(&[0xff, 0xfe, 0x00]), "//4A");
    }
}

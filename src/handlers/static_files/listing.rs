//! The HTML listing of a directory without `index.html` (`--listing`):
//! directories first, then files, each sorted by name, with sizes and
//! modification dates. Names are HTML-escaped where shown and
//! percent-encoded where linked, so a file called `<script>` or `a b#c`
//! is harmless and reachable. Hidden entries, and symlinks that lead
//! outside the root, are not listed.
//!
//! The same entries, in the same order, can be had as JSON (for scripts
//! and front-ends): an array of `{"name", "type", "size", "modified"}`,
//! `modified` in RFC 3339. [`entries`] gathers them once for both.

use super::path;
use crate::http::date::{imf_fixdate, rfc3339, unix_seconds};
use std::fmt::Write;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// One listed entry.
pub struct Entry {
    name: Vec<u8>,
    is_dir: bool,
    size: u64,
    modified: u64,
}

/// What `dir` (inside the canonical `root`) lists: directories first, then
/// files, each sorted by name.
pub fn entries(root: &Path, dir: &Path) -> io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().as_bytes().to_vec();
        if name.starts_with(b".") {
            continue;
        }
        // Only what would be served is listed: a broken symlink, or one
        // that leads outside the root or to a hidden file, is left out
        // (showing it would tell the size and date of a file outside).
        let Ok((_, metadata)) = path::inside(root, &entry.path()) else {
            continue;
        };
        entries.push(Entry {
            name,
            is_dir: metadata.is_dir(),
            size: metadata.len(),
            modified: metadata.modified().map(unix_seconds).unwrap_or(0),
        });
    }
    entries.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then_with(|| a.name.cmp(&b.name)));
    Ok(entries)
}

/// The HTML page of `entries`, shown as `url_path`.
pub fn html(entries: &[Entry], url_path: &str) -> String {
    let title = escape_html(url_path.as_bytes());
    let mut html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Index of {title}</title>\n\
         <style>body{{font:15px/1.5 system-ui,sans-serif;margin:2rem}}td{{padding:.15rem 1.2rem .15rem 0}}\
         td.n{{text-align:right;font-variant-numeric:tabular-nums}}a{{text-decoration:none}}</style>\n\
         </head>\n<body>\n<h1>Index of {title}</h1>\n<table>\n"
    );
    if url_path != "/" {
        html.push_str("<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n");
    }
    for entry in entries {
        let slash = if entry.is_dir { "/" } else { "" };
        let size = if entry.is_dir {
            "-".to_string()
        } else {
            entry.size.to_string()
        };
        let date = imf_fixdate(entry.modified);
        // Writing into a String cannot fail.
        let _ = writeln!(
            html,
            "<tr><td><a href=\"{}{slash}\">{}{slash}</a></td><td class=\"n\">{size}</td><td>{}</td></tr>",
            encode_path_segment(&entry.name),
            escape_html(&entry.name),
            String::from_utf8_lossy(&date),
        );
    }
    html.push_str("</table>\n</body>\n</html>\n");
    html
}

/// The JSON array of `entries`. A name that is not UTF-8 is shown with
/// U+FFFD in place of its bad bytes, as in the HTML.
pub fn json(entries: &[Entry]) -> String {
    let mut json = String::from("[");
    for (at, entry) in entries.iter().enumerate() {
        let separator = if at == 0 { "" } else { "," };
        let kind = if entry.is_dir { "dir" } else { "file" };
        let _ = write!(
            json,
            "{separator}\n{{\"name\":\"{}\",\"type\":\"{kind}\",\"size\":{},\"modified\":\"{}\"}}",
            escape_json(&entry.name),
            entry.size,
            String::from_utf8_lossy(&rfc3339(entry.modified)),
        );
    }
    json.push_str("\n]\n");
    json
}

/// Escapes text for a JSON string (RFC 8259 §7).
fn escape_json(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for HTML content and attribute values.
pub fn escape_html(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes one path segment: everything but RFC 3986 unreserved
/// characters, so the link is a single segment whatever the name holds.
pub fn encode_path_segment(name: &[u8]) -> String {
    let mut out = String::with_capacity(name.len());
    for &b in name {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_and_links_encoded() {
        assert_eq!(
            escape_html(b"<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
        assert_eq!(encode_path_segment(b"a b#c?d/e%f"), "a%20b%23c%3Fd%2Fe%25f");
        assert_eq!(encode_path_segment("café".as_bytes()), "caf%C3%A9");
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(
            escape_json(b"a\"b\\c\nd\x01\xffe"),
            "a\\\"b\\\\c\\u000ad\\u0001\u{fffd}e"
        );
    }
}

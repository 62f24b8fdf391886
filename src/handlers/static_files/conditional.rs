//! Validators and conditional requests (RFC 9110 §8.8, §13).
//!
//! The `ETag` is strong and made of the file's modification time (to the
//! nanosecond), inode and size, without reading the content. nginx uses
//! time and size only; the inode also tells apart a file replaced by
//! another of the same size and time (a deploy that writes a new file and
//! renames it over the old one, `cp -p`, `tar x`), which would otherwise
//! keep the tag, and a matching `If-Range` would then splice two versions
//! into one download. The price: copies of a folder on two machines have
//! different tags (Apache dropped the inode by default for that reason;
//! a tag that differs costs a full response, a tag that lies costs
//! correctness).
//!
//! `If-None-Match` takes precedence over `If-Modified-Since`; either can
//! turn a GET or HEAD into a 304.

use crate::http::date::parse_http_date;
use crate::http::Request;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::time::UNIX_EPOCH;

/// What identifies the current version of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validators {
    /// The strong entity tag, quotes included.
    pub etag: String,
    /// Modification time, whole seconds since the epoch.
    pub modified: u64,
}

impl Validators {
    /// The validators of a file.
    pub fn of(metadata: &Metadata) -> Validators {
        let since_epoch = metadata
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .unwrap_or_default();
        Validators {
            etag: format!(
                "\"{:x}-{:x}-{:x}-{:x}\"",
                since_epoch.as_secs(),
                since_epoch.subsec_nanos(),
                metadata.ino(),
                metadata.len()
            ),
            modified: since_epoch.as_secs(),
        }
    }
}

/// Whether one of the `If-None-Match` field values lists `*` or `etag`.
/// The comparison is weak, as RFC 9110 §13.1.2 says for this field: a
/// `W/` prefix is ignored. A list may be split over several fields.
fn none_match_lists<'a>(fields: impl Iterator<Item = &'a [u8]>, etag: &str) -> bool {
    fields
        .flat_map(|value| value.split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .any(|tag| tag == b"*" || tag.strip_prefix(b"W/").unwrap_or(tag) == etag.as_bytes())
}

/// Whether the client's copy is current, so a 304 is the answer.
pub fn not_modified(req: &Request<'_>, validators: &Validators) -> bool {
    let mut none_match = req
        .headers()
        .filter(|(name, _)| name.eq_ignore_ascii_case("if-none-match"))
        .map(|(_, value)| value)
        .peekable();
    // RFC 9110 §13.1.3: If-Modified-Since is ignored when If-None-Match
    // is present.
    if none_match.peek().is_some() {
        return none_match_lists(none_match, &validators.etag);
    }
    req.header_str("if-modified-since")
        .and_then(parse_http_date)
        .is_some_and(|since| validators.modified <= since)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAG: &str = "\"1-2-3-4\"";

    fn lists(fields: &[&str]) -> bool {
        none_match_lists(fields.iter().map(|f| f.as_bytes()), TAG)
    }

    #[test]
    fn if_none_match_lists() {
        assert!(lists(&[TAG]));
        assert!(lists(&["*"]));
        assert!(lists(&["\"a\", \"b\" ,\"1-2-3-4\""]));
        assert!(lists(&["\"a\"", "\"1-2-3-4\""]), "a list over two fields");
        assert!(lists(&["W/\"1-2-3-4\""]), "weak comparison");
        assert!(!lists(&["\"a\", \"b\""]));
        assert!(!lists(&["1-2-3-4"]), "the quotes are part of the tag");
        assert!(!lists(&["\"1-2-3-4-5\""]));
        assert!(!lists(&[""]));
    }

    #[test]
    fn a_replaced_file_of_the_same_size_and_time_gets_a_new_tag() {
        let dir = std::env::temp_dir().join(format!("coffeeweb-etag-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (old, new) = (dir.join("old"), dir.join("new"));
        std::fs::write(&old, b"one").unwrap();
        std::fs::write(&new, b"two").unwrap();
        let modified = std::fs::metadata(&old).unwrap().modified().unwrap();
        std::fs::File::options()
            .write(true)
            .open(&new)
            .unwrap()
            .set_modified(modified)
            .unwrap();
        let before = Validators::of(&std::fs::metadata(&old).unwrap());
        std::fs::rename(&new, &old).unwrap();
        let after = Validators::of(&std::fs::metadata(&old).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(before.modified, after.modified);
        assert_ne!(before.etag, after.etag);
    }
}

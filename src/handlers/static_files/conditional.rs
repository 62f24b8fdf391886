//! Validators and conditional requests (RFC 9110 §8.8, §13).
//!
//! The `ETag` is strong and made of the file's size and modification time
//! (to the nanosecond), as nginx does: it changes whenever the content can
//! have changed, without reading the content. `If-None-Match` takes
//! precedence over `If-Modified-Since`; either can turn a GET into a 304.

use crate::http::date::parse_http_date;
use crate::http::Request;
use std::fs::Metadata;
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
                "\"{:x}-{:x}-{:x}\"",
                since_epoch.as_secs(),
                since_epoch.subsec_nanos(),
                metadata.len()
            ),
            modified: since_epoch.as_secs(),
        }
    }

    /// Whether `tag` (from a request) is this entity tag, by weak
    /// comparison: `W/` prefixes are ignored (RFC 9110 §8.8.3.2).
    fn weakly_matches(&self, tag: &str) -> bool {
        tag.strip_prefix("W/").unwrap_or(tag) == self.etag
    }
}

/// Whether the client's copy is current, so a 304 is the answer.
pub fn not_modified(req: &Request<'_>, validators: &Validators) -> bool {
    if let Some(tags) = req.header_str("if-none-match") {
        return tags
            .split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || validators.weakly_matches(tag));
    }
    req.header_str("if-modified-since")
        .and_then(parse_http_date)
        .is_some_and(|since| validators.modified <= since)
}

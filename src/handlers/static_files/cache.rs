//! A small cache of small files, per event loop: hot small files are
//! answered from memory, with no path resolution, no `stat`, no `open`, no
//! read and no allocation.
//!
//! Measured with wrk on a 1 KiB file (keep-alive, one core each): see the
//! README's static-files section for the figures that justified it.
//!
//! An entry is trusted for [`FRESH_FOR`]; after that the next request goes
//! the whole way again (safe path resolution, `stat`, and a re-read if the
//! file changed), which refreshes the entry. A file edited on disk is
//! therefore served stale for at most that long (nginx's
//! `open_file_cache_valid` does the same, with 60 s by default). Only GET
//! and HEAD of whole files are served from here; ranges take the long way.

use super::conditional::Validators;
use crate::http::date::{imf_fixdate, IMF_FIXDATE_LEN};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long an entry is served without checking the file again.
pub const FRESH_FOR: Duration = Duration::from_secs(1);
/// Largest file kept.
pub const MAX_FILE: u64 = 16 * 1024;
/// Most entries (so at most 4 MiB of content per loop).
pub const MAX_ENTRIES: usize = 256;

/// One cached file.
#[derive(Debug)]
pub struct Cached {
    /// The whole content.
    pub content: Arc<[u8]>,
    /// Its validators.
    pub validators: Validators,
    /// `Last-Modified`, formatted.
    pub last_modified: [u8; IMF_FIXDATE_LEN],
    /// `Content-Type`.
    pub content_type: &'static str,
    checked: Instant,
}

/// Small files by request path.
#[derive(Debug, Default)]
pub struct FileCache {
    entries: HashMap<String, Cached>,
}

impl FileCache {
    /// The entry for `path`, if it was checked recently enough.
    pub fn fresh(&self, path: &str, now: Instant) -> Option<&Cached> {
        self.entries
            .get(path)
            .filter(|entry| now.saturating_duration_since(entry.checked) < FRESH_FOR)
    }

    /// Remembers (or refreshes) the content served for `path`.
    pub fn insert(
        &mut self,
        path: &str,
        content: &[u8],
        validators: &Validators,
        content_type: &'static str,
        now: Instant,
    ) {
        if let Some(entry) = self.entries.get_mut(path) {
            if entry.validators == *validators {
                entry.checked = now;
                return;
            }
        } else if self.entries.len() >= MAX_ENTRIES {
            // Full: make room by dropping stale entries, else skip.
            self.entries
                .retain(|_, entry| now.saturating_duration_since(entry.checked) < FRESH_FOR);
            if self.entries.len() >= MAX_ENTRIES {
                return;
            }
        }
        self.entries.insert(
            path.to_string(),
            Cached {
                content: content.into(),
                validators: validators.clone(),
                last_modified: imf_fixdate(validators.modified),
                content_type,
                checked: now,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validators(tag: &str) -> Validators {
        Validators {
            etag: tag.to_string(),
            modified: 0,
        }
    }

    #[test]
    fn entries_go_stale_and_are_refreshed() {
        let mut cache = FileCache::default();
        let t0 = Instant::now();
        cache.insert("/a", b"one", &validators("\"1\""), "text/plain", t0);
        assert_eq!(&*cache.fresh("/a", t0).unwrap().content, b"one");
        assert!(
            cache.fresh("/a", t0 + FRESH_FOR).is_none(),
            "stale after FRESH_FOR"
        );
        cache.insert(
            "/a",
            b"two",
            &validators("\"2\""),
            "text/plain",
            t0 + FRESH_FOR,
        );
        assert_eq!(&*cache.fresh("/a", t0 + FRESH_FOR).unwrap().content, b"two");
        assert!(cache.fresh("/b", t0).is_none());
    }

    #[test]
    fn the_cache_is_bounded() {
        let mut cache = FileCache::default();
        let now = Instant::now();
        for i in 0..MAX_ENTRIES + 10 {
            cache.insert(
                &format!("/{i}"),
                b"x",
                &validators("\"x\""),
                "text/plain",
                now,
            );
        }
        assert_eq!(cache.entries.len(), MAX_ENTRIES);
        let later = now + FRESH_FOR;
        cache.insert("/new", b"y", &validators("\"y\""), "text/plain", later);
        assert!(
            cache.fresh("/new", later).is_some(),
            "stale entries made room"
        );
    }
}

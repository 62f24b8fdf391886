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
use super::variants::Variants;
use crate::http::accept_encoding::{Coding, Codings};
use crate::http::date::{imf_fixdate, IMF_FIXDATE_LEN};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long an entry is served without checking the file again.
pub const FRESH_FOR: Duration = Duration::from_secs(1);
/// Largest file kept.
pub const MAX_FILE: u64 = 16 * 1024;
/// Most paths.
pub const MAX_ENTRIES: usize = 256;
/// Most bytes of content (all encodings of all paths) per loop.
pub const MAX_BYTES: usize = 4 * 1024 * 1024;

/// What is known of the file behind one request path: which encodings of
/// it exist, with their validators as last checked, and the content of
/// those that were sent whole.
#[derive(Debug)]
pub struct Cached {
    /// The encodings that exist.
    pub available: Codings,
    /// Whether the answer depends on `Accept-Encoding`.
    pub varies: bool,
    /// `Content-Type` (of the plain file, whatever the encoding).
    pub content_type: &'static str,
    signature: [Option<Validators>; 4],
    bodies: [Option<CachedBody>; 4],
    checked: Instant,
}

/// The content of one encoding.
#[derive(Debug)]
pub struct CachedBody {
    /// The whole content.
    pub content: Arc<[u8]>,
    /// Its validators.
    pub validators: Validators,
    /// Its `Last-Modified`, formatted.
    pub last_modified: [u8; IMF_FIXDATE_LEN],
}

impl Cached {
    /// The content of `coding`, if it was kept.
    pub fn body(&self, coding: Coding) -> Option<&CachedBody> {
        self.bodies[coding.index()].as_ref()
    }

    fn bytes(&self) -> usize {
        self.bodies.iter().flatten().map(|b| b.content.len()).sum()
    }

    fn matches(&self, variants: &Variants) -> bool {
        Coding::ALL.iter().all(|&coding| {
            self.signature[coding.index()].as_ref() == variants.get(coding).map(|v| &v.validators)
        })
    }
}

/// Small files by request path.
#[derive(Debug, Default)]
pub struct FileCache {
    entries: HashMap<String, Cached>,
    bytes: usize,
}

/// What a request was sent: which encoding of which file.
#[derive(Debug)]
pub struct Chosen<'a> {
    /// The file and its copies, as just checked.
    pub variants: &'a Variants,
    /// The encoding sent.
    pub coding: Coding,
    /// `Content-Type`.
    pub content_type: &'static str,
}

impl FileCache {
    /// The entry for `path`, if it was checked recently enough.
    pub fn fresh(&self, path: &str, now: Instant) -> Option<&Cached> {
        self.entries
            .get(path)
            .filter(|entry| now.saturating_duration_since(entry.checked) < FRESH_FOR)
    }

    /// Remembers (or refreshes) what was sent for `path`, `content` being
    /// the whole of it: the entry is kept while no encoding of the file
    /// changed, and gains the content of each encoding as it is sent.
    pub fn insert(&mut self, path: &str, sent: &Chosen<'_>, content: &Arc<[u8]>, now: Instant) {
        let index = sent.coding.index();
        if let Some(entry) = self.entries.get_mut(path) {
            if entry.matches(sent.variants) {
                entry.checked = now;
                if entry.bodies[index].is_some() || self.bytes + content.len() > MAX_BYTES {
                    return;
                }
                entry.bodies[index] = body(sent, content);
                self.bytes += content.len();
                return;
            }
            if let Some(old) = self.entries.remove(path) {
                self.bytes -= old.bytes();
            }
        }
        if self.entries.len() >= MAX_ENTRIES || self.bytes + content.len() > MAX_BYTES {
            self.drop_stale(now);
            if self.entries.len() >= MAX_ENTRIES || self.bytes + content.len() > MAX_BYTES {
                return;
            }
        }
        let mut bodies: [Option<CachedBody>; 4] = Default::default();
        bodies[index] = body(sent, content);
        self.bytes += content.len();
        self.entries.insert(
            path.to_string(),
            Cached {
                available: sent.variants.available,
                varies: sent.variants.varies,
                content_type: sent.content_type,
                signature: sent.variants.signature(),
                bodies,
                checked: now,
            },
        );
    }

    /// Makes room by dropping the entries that would not be served.
    fn drop_stale(&mut self, now: Instant) {
        let mut freed = 0;
        self.entries.retain(|_, entry| {
            let fresh = now.saturating_duration_since(entry.checked) < FRESH_FOR;
            if !fresh {
                freed += entry.bytes();
            }
            fresh
        });
        self.bytes -= freed;
    }
}

fn body(sent: &Chosen<'_>, content: &Arc<[u8]>) -> Option<CachedBody> {
    let validators = &sent.variants.get(sent.coding)?.validators;
    Some(CachedBody {
        content: Arc::clone(content),
        validators: validators.clone(),
        last_modified: imf_fixdate(validators.modified),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A folder with files, removed on drop.
    struct Folder(PathBuf);

    impl Folder {
        fn new(name: &str) -> Folder {
            let dir =
                std::env::temp_dir().join(format!("coffeeweb-cache-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Folder(std::fs::canonicalize(dir).unwrap())
        }

        fn variants(&self, name: &str, content: &[u8]) -> Variants {
            let path = self.0.join(name);
            std::fs::write(&path, content).unwrap();
            let metadata = std::fs::metadata(&path).unwrap();
            Variants::find(&self.0, &path, &metadata, "text/plain", None)
        }
    }

    impl Drop for Folder {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn insert(
        cache: &mut FileCache,
        path: &str,
        variants: &Variants,
        content: &[u8],
        now: Instant,
    ) {
        let sent = Chosen {
            variants,
            coding: Coding::Identity,
            content_type: "text/plain",
        };
        cache.insert(path, &sent, &Arc::from(content), now);
    }

    fn content(cache: &FileCache, path: &str, now: Instant) -> Option<Vec<u8>> {
        let entry = cache.fresh(path, now)?;
        Some(entry.body(Coding::Identity)?.content.to_vec())
    }

    #[test]
    fn entries_go_stale_and_are_refreshed() {
        let folder = Folder::new("stale");
        let mut cache = FileCache::default();
        let t0 = Instant::now();
        let one = folder.variants("a", b"one");
        insert(&mut cache, "/a", &one, b"one", t0);
        assert_eq!(content(&cache, "/a", t0).unwrap(), b"one");
        assert!(
            content(&cache, "/a", t0 + FRESH_FOR).is_none(),
            "stale after FRESH_FOR"
        );
        let two = folder.variants("a", b"two!");
        insert(&mut cache, "/a", &two, b"two!", t0 + FRESH_FOR);
        assert_eq!(content(&cache, "/a", t0 + FRESH_FOR).unwrap(), b"two!");
        assert_eq!(cache.bytes, 4, "the old content is no longer counted");
        assert!(cache.fresh("/b", t0).is_none());
    }

    #[test]
    fn each_encoding_is_kept_with_its_own_validators() {
        let folder = Folder::new("codings");
        std::fs::write(folder.0.join("a.js.br"), b"brotli bytes").unwrap();
        let variants = folder.variants("a.js", b"plain bytes!");
        assert!(variants.available.has_alternatives());
        let mut cache = FileCache::default();
        let now = Instant::now();
        let sent = Chosen {
            variants: &variants,
            coding: Coding::Br,
            content_type: "text/javascript",
        };
        cache.insert("/a.js", &sent, &Arc::from(&b"brotli bytes"[..]), now);
        let entry = cache.fresh("/a.js", now).unwrap();
        assert!(entry.body(Coding::Identity).is_none());
        let br = entry.body(Coding::Br).unwrap();
        assert_eq!(&*br.content, b"brotli bytes");
        assert_eq!(br.validators, variants.get(Coding::Br).unwrap().validators);
        insert(&mut cache, "/a.js", &variants, b"plain bytes!", now);
        let entry = cache.fresh("/a.js", now).unwrap();
        assert!(entry.body(Coding::Br).is_some() && entry.body(Coding::Identity).is_some());
        assert_ne!(
            entry.body(Coding::Br).unwrap().validators.etag,
            entry.body(Coding::Identity).unwrap().validators.etag
        );
        std::fs::write(folder.0.join("a.js.br"), b"new brotli bytes").unwrap();
        let changed = Variants::find(
            &folder.0,
            &folder.0.join("a.js"),
            &std::fs::metadata(folder.0.join("a.js")).unwrap(),
            "text/javascript",
            None,
        );
        insert(&mut cache, "/a.js", &changed, b"plain bytes!", now);
        let entry = cache.fresh("/a.js", now).unwrap();
        assert!(
            entry.body(Coding::Br).is_none(),
            "a changed copy drops the entry"
        );
    }

    #[test]
    fn the_cache_is_bounded() {
        let folder = Folder::new("bounded");
        let variants = folder.variants("x", b"x");
        let mut cache = FileCache::default();
        let now = Instant::now();
        for i in 0..MAX_ENTRIES + 10 {
            insert(&mut cache, &format!("/{i}"), &variants, b"x", now);
        }
        assert_eq!(cache.entries.len(), MAX_ENTRIES);
        let later = now + FRESH_FOR;
        insert(&mut cache, "/new", &variants, b"x", later);
        assert!(
            cache.fresh("/new", later).is_some(),
            "stale entries made room"
        );
        assert_eq!(cache.bytes, 1);
    }

    #[test]
    fn the_bytes_are_bounded() {
        let folder = Folder::new("bytes");
        let big = vec![b'b'; MAX_FILE as usize];
        let variants = folder.variants("big", &big);
        let mut cache = FileCache::default();
        let now = Instant::now();
        for i in 0..MAX_ENTRIES {
            insert(&mut cache, &format!("/{i}"), &variants, &big, now);
        }
        assert_eq!(cache.bytes, MAX_BYTES);
        assert_eq!(cache.entries.len(), MAX_BYTES / big.len());
    }
}

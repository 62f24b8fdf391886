//! `--compress`: text files are gzip-compressed once, off the event loops,
//! and the copies are kept in memory for every worker.
//!
//! Peers compress per response (nginx's `gzip on`, Caddy's `encode`,
//! static-web-server): the CPU a compressed response costs is paid again
//! for every request. Here a file is compressed once per version, so a
//! compressed response costs what a plain one does; the price is memory,
//! bounded by [`BUDGET`] (least recently used copies go first).
//!
//! - A request for a compressible file ([`worth_compressing`]) that has no
//!   precompressed copy looks its copy up in the [`Compressor`]'s store. A
//!   copy made from the file's current version (same validators) is an
//!   encoding like a precompressed one, with an ETag of its own. Without
//!   one, a job goes to the compressor thread and the file is sent plain
//!   meanwhile: no request waits for compression.
//! - The jobs go through a bounded channel to one thread of its own: a
//!   full channel drops the job (a later request asks again), so a loop
//!   never blocks on it. A job already queued is not queued twice.
//! - The store is one `Mutex` shared by all workers. A loop holds it for a
//!   hash lookup on the uncached path only (which also costs four `stat`s;
//!   the per-loop small-file cache answers hot files without it); the
//!   thread holds it only to insert, never while it reads or compresses.
//!   An immutable map swapped per insert would spare the loops the lock
//!   but copy the map for every file compressed.
//! - A file that changed is compressed again when next asked for; until
//!   its new copy is ready, it is sent plain, never the old copy.

use super::conditional::Validators;
use crate::http::accept_encoding::Coding;
use flate2::write::GzEncoder;
use flate2::Compression;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};

/// Smallest file compressed: below it the saving is lost in the headers.
pub const MIN_SIZE: u64 = 1024;
/// Largest file compressed (and held in memory).
pub const MAX_SIZE: u64 = 8 * 1024 * 1024;
/// Memory for compressed copies, all workers together.
pub const BUDGET: usize = 64 * 1024 * 1024;
/// Jobs waiting for the compressor thread at most.
const QUEUE: usize = 256;

/// Whether a file of this type and size is compressed: text and the like
/// (what nginx's and Caddy's defaults compress), not images, fonts or
/// archives, which are compressed already.
pub fn worth_compressing(content_type: &str, len: u64) -> bool {
    let textual = content_type.starts_with("text/")
        || ["json", "xml", "javascript", "wasm", "svg"]
            .iter()
            .any(|kind| content_type.contains(kind));
    textual && (MIN_SIZE..=MAX_SIZE).contains(&len)
}

/// A compressed copy of one version of a file.
#[derive(Debug)]
pub struct Copy {
    /// The gzip bytes.
    pub bytes: Arc<[u8]>,
    /// Its validators: the source's time, and an ETag of its own.
    pub validators: Validators,
}

/// The compressor thread's shared store and its job queue.
#[derive(Debug)]
pub struct Compressor {
    store: Arc<Mutex<Store>>,
    jobs: SyncSender<Job>,
}

#[derive(Debug)]
struct Job {
    path: PathBuf,
    source: Validators,
}

#[derive(Debug, Default)]
struct Store {
    copies: HashMap<PathBuf, Entry>,
    queued: HashSet<PathBuf>,
    bytes: usize,
    clock: u64,
    made: u64,
}

#[derive(Debug)]
struct Entry {
    source: Validators,
    /// `None`: compressing did not make it smaller; sent plain.
    copy: Option<Arc<Copy>>,
    used: u64,
}

impl Entry {
    fn bytes(&self) -> usize {
        self.copy.as_ref().map_or(0, |c| c.bytes.len())
    }
}

impl Compressor {
    /// Starts the compressor thread; it ends when the last clone of the
    /// returned handle is dropped.
    pub fn start() -> std::io::Result<Arc<Compressor>> {
        let (jobs, queue) = mpsc::sync_channel(QUEUE);
        let store = Arc::new(Mutex::new(Store::default()));
        let shared = Arc::clone(&store);
        std::thread::Builder::new()
            .name("coffeeweb-compress".into())
            .spawn(move || run(&queue, &shared))?;
        Ok(Arc::new(Compressor { store, jobs }))
    }

    /// The copy of the file at `path` whose current validators are
    /// `source`, if it is ready; asks for one if not.
    pub fn copy(&self, path: &Path, source: &Validators) -> Option<Arc<Copy>> {
        let mut store = lock(&self.store);
        store.clock += 1;
        let now = store.clock;
        if let Some(entry) = store.copies.get_mut(path).filter(|e| e.source == *source) {
            entry.used = now;
            return entry.copy.clone();
        }
        if store.queued.contains(path) {
            return None;
        }
        let job = Job {
            path: path.to_path_buf(),
            source: source.clone(),
        };
        match self.jobs.try_send(job) {
            Ok(()) => {
                store.queued.insert(path.to_path_buf());
            }
            Err(TrySendError::Full(_)) => log::debug!("compression queue full: {}", path.display()),
            Err(TrySendError::Disconnected(_)) => log::warn!("the compressor thread is gone"),
        }
        None
    }

    /// How many copies were made so far (each file version once).
    pub fn copies_made(&self) -> u64 {
        lock(&self.store).made
    }
}

/// The store stays usable if a holder panicked: its data is a cache.
fn lock(store: &Mutex<Store>) -> MutexGuard<'_, Store> {
    store
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn run(queue: &Receiver<Job>, store: &Mutex<Store>) {
    while let Ok(job) = queue.recv() {
        let made = make_copy(&job);
        let mut store = lock(store);
        store.queued.remove(&job.path);
        match made {
            Ok(copy) => store.insert(job, copy),
            Err(e) => log::warn!("cannot compress {}: {e}", job.path.display()),
        }
    }
}

/// Reads and compresses the file; `None` when that does not make it
/// smaller. The file is checked against the job's validators first, so a
/// copy never goes with the validators of another version.
fn make_copy(job: &Job) -> std::io::Result<Option<Arc<Copy>>> {
    let file = std::fs::File::open(&job.path)?;
    let metadata = file.metadata()?;
    if Validators::of(&metadata) != job.source || metadata.len() > MAX_SIZE {
        return Err(std::io::Error::other("changed while queued"));
    }
    let plain = std::fs::read(&job.path)?;
    if plain.len() as u64 != metadata.len() {
        return Err(std::io::Error::other("changed while read"));
    }
    let mut encoder = GzEncoder::new(Vec::with_capacity(plain.len() / 3), Compression::best());
    encoder.write_all(&plain)?;
    let gzip = encoder.finish()?;
    if gzip.len() >= plain.len() {
        return Ok(None);
    }
    Ok(Some(Arc::new(Copy {
        bytes: gzip.into(),
        validators: Validators {
            etag: copy_etag(&job.source.etag, Coding::Gzip),
            modified: job.source.modified,
        },
    })))
}

/// The source's tag with the coding in it: strong, as the copy is the
/// same bytes for the same source version every time.
fn copy_etag(source: &str, coding: Coding) -> String {
    let name = coding.content_encoding().unwrap_or("identity");
    format!("{}-{name}\"", source.trim_end_matches('"'))
}

impl Store {
    fn insert(&mut self, job: Job, copy: Option<Arc<Copy>>) {
        let size = copy.as_ref().map_or(0, |c| c.bytes.len());
        if size > BUDGET {
            return;
        }
        if let Some(old) = self.copies.remove(&job.path) {
            self.bytes -= old.bytes();
        }
        while self.bytes + size > BUDGET {
            self.evict_least_recently_used();
        }
        self.clock += 1;
        self.made += 1;
        self.bytes += size;
        let entry = Entry {
            source: job.source,
            copy,
            used: self.clock,
        };
        self.copies.insert(job.path, entry);
    }

    fn evict_least_recently_used(&mut self) {
        let oldest = self
            .copies
            .iter()
            .min_by_key(|(_, entry)| entry.used)
            .map(|(path, _)| path.clone());
        if let Some(entry) = oldest.and_then(|path| self.copies.remove(&path)) {
            self.bytes -= entry.bytes();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_of_the_right_size_is_worth_compressing() {
        assert!(worth_compressing("text/css; charset=utf-8", 4096));
        assert!(worth_compressing("application/json", MIN_SIZE));
        assert!(worth_compressing("image/svg+xml", MAX_SIZE));
        assert!(worth_compressing("application/wasm", 10_000));
        assert!(!worth_compressing("text/html; charset=utf-8", MIN_SIZE - 1));
        assert!(!worth_compressing(
            "text/plain; charset=utf-8",
            MAX_SIZE + 1
        ));
        assert!(!worth_compressing("image/png", 4096));
        assert!(!worth_compressing("font/woff2", 4096));
    }

    #[test]
    fn copies_have_tags_of_their_own() {
        assert_eq!(copy_etag("\"1-2-3-4\"", Coding::Gzip), "\"1-2-3-4-gzip\"");
    }

    fn job(name: &str, n: usize) -> (Job, Option<Arc<Copy>>) {
        let copy = Copy {
            bytes: vec![0; n].into(),
            validators: Validators {
                etag: format!("\"{name}\""),
                modified: 0,
            },
        };
        let job = Job {
            path: PathBuf::from(name),
            source: copy.validators.clone(),
        };
        (job, Some(Arc::new(copy)))
    }

    #[test]
    fn the_budget_evicts_the_least_recently_used() {
        let mut store = Store::default();
        let third = BUDGET / 3;
        for name in ["a", "b", "c"] {
            let (job, copy) = job(name, third);
            store.insert(job, copy);
        }
        // "a" used last: "b" goes first.
        store.clock += 1;
        let now = store.clock;
        if let Some(a) = store.copies.get_mut(Path::new("a")) {
            a.used = now;
        }
        let (d, copy) = job("d", third);
        store.insert(d, copy);
        let mut kept: Vec<&str> = store.copies.keys().map(|p| p.to_str().unwrap()).collect();
        kept.sort();
        assert_eq!(kept, ["a", "c", "d"]);
        assert!(store.bytes <= BUDGET);
        let (huge, copy) = job("huge", BUDGET + 1);
        store.insert(huge, copy);
        assert!(!store.copies.contains_key(Path::new("huge")));
    }
}

//! Zero heap allocations per request in steady state: a counting global
//! allocator counts what the event loop's thread allocates while a
//! keep-alive connection sends requests, one at a time and pipelined, to
//! the welcome page, a hello handler, a cached small static file and
//! `--httpbin`'s `bytes/13`.

mod common;

use coffeeweb::handlers::{Httpbin, Mount, StaticFiles, Welcome};
use coffeeweb::{Handler, Request, Response};
use common::{config, get, Client, TestServer};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Counts allocations made on threads that asked to be counted, each into
/// the counter it chose (tests run in parallel, each with its own server).
struct Counting;

thread_local! {
    static COUNTER: Cell<Option<&'static AtomicU64>> = const { Cell::new(None) };
}

// SAFETY: every method forwards to `System` with the arguments it was
// given, so `System`'s guarantees hold unchanged; the counting touches only
// an atomic and a const-initialised thread-local, neither of which
// allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same layout as given to us, per GlobalAlloc's contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: `ptr` came from `System` with `layout`, as required.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn count() {
    // `try_with`: during thread teardown the thread-local may be gone.
    if let Ok(Some(counter)) = COUNTER.try_with(Cell::get) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Points the loop's thread at a counter when it handles a request.
#[derive(Clone)]
struct Counted<H> {
    inner: H,
    counter: &'static AtomicU64,
}

impl<H: Handler> Handler for Counted<H> {
    fn handle(&mut self, req: &Request<'_>, res: &mut Response) {
        COUNTER.with(|c| c.set(Some(self.counter)));
        self.inner.handle(req, res);
    }
}

/// Allocations made by the server while answering `rounds` batches of
/// `depth` pipelined requests for `path`, after a warm-up.
fn allocations_per_batch<H: Handler + Clone>(
    handler: H,
    path: &str,
    depth: usize,
    rounds: usize,
) -> u64 {
    allocations_after_warm_up(handler, path, depth, 50, rounds)
}

/// The same, with `warm_up` batches first.
fn allocations_after_warm_up<H: Handler + Clone>(
    handler: H,
    path: &str,
    depth: usize,
    warm_up: usize,
    rounds: usize,
) -> u64 {
    allocations_with(
        config(),
        move || handler.clone(),
        path,
        depth,
        warm_up,
        rounds,
    )
}

/// The same, with a server configured by `config` and a handler made by
/// `make` (one per worker).
fn allocations_with<H: Handler>(
    config: coffeeweb::Config,
    mut make: impl FnMut() -> H,
    path: &str,
    depth: usize,
    warm_up: usize,
    rounds: usize,
) -> u64 {
    let counter: &'static AtomicU64 = Box::leak(Box::new(AtomicU64::new(0)));
    let server = TestServer::with_factory(config, move |_| Counted {
        inner: make(),
        counter,
    });
    let mut client = Client::connect(server.addr);
    let batch = get(path).repeat(depth);
    let exchange = |client: &mut Client| {
        client.send(&batch);
        for _ in 0..depth {
            assert_eq!(client.response().status, 200);
        }
    };
    for _ in 0..warm_up {
        exchange(&mut client);
    }
    let before = counter.load(Ordering::Relaxed);
    for _ in 0..rounds {
        exchange(&mut client);
    }
    counter.load(Ordering::Relaxed) - before
}

#[test]
fn welcome_page_allocates_nothing_per_request() {
    assert_eq!(
        allocations_per_batch(Welcome, "/", 1, 1000),
        0,
        "one at a time"
    );
    assert_eq!(allocations_per_batch(Welcome, "/", 16, 100), 0, "pipelined");
}

#[test]
fn a_hello_handler_allocates_nothing_per_request() {
    let hello = |_: &Request<'_>, res: &mut Response| {
        res.header("Content-Type", "text/plain")
            .set_body("Hello, World!");
    };
    assert_eq!(allocations_per_batch(hello, "/", 16, 100), 0);
}

/// How long the static files' cache trusts an entry
/// (`src/handlers/static_files/cache.rs: FRESH_FOR`); after that a request
/// looks at the file again, which is not the path measured here.
const CACHE_FRESH_FOR: Duration = Duration::from_secs(1);

/// A temporary folder, removed on drop (also when the test panics).
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn httpbin_bytes_allocate_nothing_per_request() {
    let httpbin = Mount {
        endpoint: Httpbin::new("/"),
        inner: Welcome,
    };
    assert_eq!(
        allocations_per_batch(httpbin.clone(), "/bytes/13?seed=5", 1, 1000),
        0,
        "one at a time"
    );
    assert_eq!(
        allocations_per_batch(httpbin, "/bytes/13", 16, 100),
        0,
        "pipelined"
    );
}

/// The access log formats into a buffer that keeps its memory and writes
/// it out once per wake-up: nothing is allocated per line either.
#[test]
fn access_log_lines_allocate_nothing() {
    for (format, name) in [
        (coffeeweb::AccessLogFormat::Combined, "combined"),
        (coffeeweb::AccessLogFormat::Json, "json"),
        (coffeeweb::AccessLogFormat::Default, "default"),
    ] {
        let path = std::env::temp_dir().join(format!(
            "coffeeweb-alloc-log-{name}-{}.log",
            std::process::id()
        ));
        let config = coffeeweb::Config {
            access_log: true,
            access_log_format: format,
            access_log_path: Some(path.clone()),
            ..config()
        };
        let allocations = allocations_with(config, || Welcome, "/", 16, 50, 100);
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(allocations, 0, "{name}");
        assert!(lines >= 16 * 100, "{name}: {lines} lines logged");
    }
}

#[test]
fn a_cached_small_static_file_allocates_nothing_per_request() {
    let dir = TempDir(std::env::temp_dir().join(format!("coffeeweb-alloc-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    std::fs::write(dir.0.join("small.txt"), b"a small file").unwrap();
    // Every measured request must fall inside the entry's freshness
    // window, which opens at the warm-up's first request. A loaded machine
    // can overrun it: such a try does not count, and the next one (whose
    // warm-up looks at the file and opens a new window) is measured
    // instead. A machine too slow for three tries fails the test.
    for _ in 0..3 {
        let files = StaticFiles::new(&dir.0, false).unwrap();
        let started = Instant::now();
        let make = move || files.for_another_loop();
        let allocations = allocations_with(config(), make, "/small.txt", 16, 2, 10);
        if started.elapsed() < CACHE_FRESH_FOR / 2 {
            assert_eq!(allocations, 0);
            return;
        }
        eprintln!(
            "a try took {:?}: past the cache window, again",
            started.elapsed()
        );
    }
    panic!("no try finished inside the cache's {CACHE_FRESH_FOR:?} window");
}

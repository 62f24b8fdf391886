//! `--root DIR` over real sockets: every "Static files" line of the
//! contract, on a docroot each test builds in a temporary directory.

mod common;

use coffeeweb::handlers::StaticFiles;
use coffeeweb::Config;
use common::{config, get, Client, TestServer};
use proptest::prelude::*;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A temporary docroot, removed on drop.
struct Docroot {
    dir: PathBuf,
}

impl Docroot {
    fn new() -> Docroot {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let base =
            std::env::temp_dir().join(format!("coffeeweb-static-{}-{n}", std::process::id()));
        let dir = base.join("root");
        fs::create_dir_all(&dir).unwrap();
        let root = Docroot { dir };
        root.file("index.html", b"<h1>home</h1>");
        root.file("hello.txt", b"hello, world\n");
        root.file(".env", b"SECRET=1");
        root.file(".git/config", b"[core]");
        root.file(".well-known/security.txt", b"Contact: x");
        root.file("docs/index.html", b"<h1>docs</h1>");
        root.file("files/a.txt", b"a");
        root.file("files/<b> & c.txt", b"b");
        root.file("files/space name#.txt", b"c");
        fs::create_dir_all(root.dir.join("files/sub")).unwrap();
        root.file("files/.hidden", b"h");
        fs::write(base.join("outside.txt"), b"outside the root").unwrap();
        std::os::unix::fs::symlink(base.join("outside.txt"), root.dir.join("escape.txt")).unwrap();
        std::os::unix::fs::symlink(root.dir.join("hello.txt"), root.dir.join("inside-link.txt"))
            .unwrap();
        root
    }

    fn file(&self, name: &str, content: &[u8]) {
        let path = self.dir.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }

    fn serve(&self, listing: bool) -> TestServer {
        TestServer::with_handler(config(), StaticFiles::new(&self.dir, listing).unwrap())
    }
}

impl Drop for Docroot {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(self.dir.parent().unwrap());
    }
}

fn status(server: &TestServer, path: &str) -> u16 {
    Client::connect(server.addr)
        .send(get(path))
        .response()
        .status
}

#[test]
fn files_are_served_with_their_type() {
    let root = Docroot::new();
    let server = root.serve(false);
    let reply = Client::connect(server.addr)
        .send(get("/hello.txt"))
        .response();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "hello, world\n");
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        status(&server, "/inside-link.txt"),
        200,
        "a symlink inside the root is fine"
    );
}

#[test]
fn content_types_by_extension() {
    let root = Docroot::new();
    let types = [
        ("html", "text/html; charset=utf-8"),
        ("css", "text/css; charset=utf-8"),
        ("js", "text/javascript; charset=utf-8"),
        ("mjs", "text/javascript; charset=utf-8"),
        ("json", "application/json"),
        ("txt", "text/plain; charset=utf-8"),
        ("svg", "image/svg+xml"),
        ("png", "image/png"),
        ("jpg", "image/jpeg"),
        ("jpeg", "image/jpeg"),
        ("gif", "image/gif"),
        ("webp", "image/webp"),
        ("ico", "image/x-icon"),
        ("wasm", "application/wasm"),
        ("pdf", "application/pdf"),
        ("xml", "application/xml"),
        ("mp4", "video/mp4"),
        ("woff2", "font/woff2"),
        ("woff", "font/woff"),
        ("unknownext", "application/octet-stream"),
    ];
    for (ext, _) in types {
        root.file(&format!("t/file.{ext}"), b"x");
    }
    let server = root.serve(false);
    let mut client = Client::connect(server.addr);
    for (ext, expected) in types {
        let reply = client.send(get(&format!("/t/file.{ext}"))).response();
        assert_eq!(reply.header("content-type"), Some(expected), "{ext}");
    }
}

#[test]
fn nothing_outside_the_root_and_no_dotfiles() {
    let root = Docroot::new();
    let server = root.serve(true);
    for path in [
        "/../outside.txt",
        "/files/../../outside.txt",
        "/%2e%2e/outside.txt",
        "/%2E%2e/outside.txt",
        "/..%2foutside.txt",
        "/files%2f..%2f..%2foutside.txt",
        "/files%2Fa.txt",
        "/files\\a.txt",
        "/..\\outside.txt",
        "/files%5ca.txt",
        "/hello.txt%00",
        "/hello.txt%00.png",
        "/escape.txt",
        "/.env",
        "/.git/config",
        "/files/.hidden",
        "/%2eenv",
        "/files/sub/../../.env",
    ] {
        let mut client = Client::connect(server.addr);
        let reply = client
            .send(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n"))
            .response();
        assert_eq!(reply.status, 404, "{path}");
        assert!(!reply.text().contains("outside the root") && !reply.text().contains("SECRET"));
    }
    for path in ["/%zz", "/a%2"] {
        assert_eq!(status(&server, path), 400, "{path}");
    }
    assert_eq!(status(&server, "/.well-known/security.txt"), 200);
}

#[test]
fn directories() {
    let root = Docroot::new();
    let server = root.serve(false);
    let mut client = Client::connect(server.addr);
    let redirect = client.send(get("/docs?x=1")).response();
    assert_eq!(redirect.status, 301);
    assert_eq!(redirect.header("location"), Some("/docs/?x=1"));
    assert_eq!(
        client.send(get("/docs/")).response().text(),
        "<h1>docs</h1>"
    );
    assert_eq!(client.send(get("/")).response().text(), "<h1>home</h1>");
    assert_eq!(
        client.send(get("/files/")).response().status,
        404,
        "no listing without --listing"
    );
}

#[test]
fn listings_escape_names_and_encode_links() {
    let root = Docroot::new();
    let server = root.serve(true);
    let reply = Client::connect(server.addr).send(get("/files/")).response();
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = reply.text();
    assert!(html.contains("&lt;b&gt; &amp; c.txt"), "{html}");
    assert!(!html.contains("<b> & c.txt"));
    assert!(html.contains("href=\"%3Cb%3E%20%26%20c.txt\""), "{html}");
    assert!(html.contains("href=\"space%20name%23.txt\""), "{html}");
    assert!(html.contains("href=\"sub/\""));
    assert!(!html.contains(".hidden"));
    // Directories first, then files by name.
    let sub = html.find("sub/").unwrap();
    let a = html.find("a.txt").unwrap();
    assert!(sub < a);
    // The links work.
    let mut client = Client::connect(server.addr);
    assert_eq!(
        client
            .send(get("/files/space%20name%23.txt"))
            .response()
            .text(),
        "c"
    );
    assert_eq!(
        client
            .send(get("/files/%3Cb%3E%20%26%20c.txt"))
            .response()
            .text(),
        "b"
    );
}

#[test]
fn validators_and_conditional_requests() {
    let root = Docroot::new();
    let server = root.serve(false);
    let mut client = Client::connect(server.addr);
    let first = client.send(get("/hello.txt")).response();
    let etag = first.header("etag").unwrap().to_string();
    let modified = first.header("last-modified").unwrap().to_string();
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong: {etag}"
    );
    let conditional = |client: &mut Client, field: &str| {
        client
            .send(format!(
                "GET /hello.txt HTTP/1.1\r\nHost: t\r\n{field}\r\n\r\n"
            ))
            .response()
    };
    let not_modified = conditional(&mut client, &format!("If-None-Match: {etag}"));
    assert_eq!(not_modified.status, 304);
    assert!(not_modified.body.is_empty());
    assert_eq!(not_modified.header("etag"), Some(etag.as_str()));
    assert_eq!(
        conditional(&mut client, &format!("If-None-Match: \"x\", W/{etag}")).status,
        304
    );
    assert_eq!(conditional(&mut client, "If-None-Match: *").status, 304);
    assert_eq!(
        conditional(&mut client, &format!("If-Modified-Since: {modified}")).status,
        304
    );
    assert_eq!(
        conditional(
            &mut client,
            "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT"
        )
        .status,
        200
    );
    // If-None-Match takes precedence: a non-matching tag beats a matching date.
    let both = conditional(
        &mut client,
        &format!("If-None-Match: \"other\"\r\nIf-Modified-Since: {modified}"),
    );
    assert_eq!(both.status, 200);
    // A change of content changes the tag, once the cache's window for
    // trusting a file without looking at it again has passed.
    root.file("hello.txt", b"changed\n");
    std::thread::sleep(
        coffeeweb::handlers::static_files::cache::FRESH_FOR + Duration::from_millis(100),
    );
    assert_eq!(
        conditional(&mut client, &format!("If-None-Match: {etag}")).status,
        200
    );
}

#[test]
fn ranges() {
    let root = Docroot::new();
    let content: Vec<u8> = (0..1000u32).map(|i| (i % 256) as u8).collect();
    root.file("data.bin", &content);
    let server = root.serve(false);
    let mut client = Client::connect(server.addr);
    let ranged = |client: &mut Client, range: &str| {
        client
            .send(format!(
                "GET /data.bin HTTP/1.1\r\nHost: t\r\nRange: {range}\r\n\r\n"
            ))
            .response()
    };
    let whole = client.send(get("/data.bin")).response();
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    for (range, start, end) in [
        ("bytes=0-9", 0, 9),
        ("bytes=990-", 990, 999),
        ("bytes=-5", 995, 999),
        ("bytes=500-5000", 500, 999),
    ] {
        let reply = ranged(&mut client, range);
        assert_eq!(reply.status, 206, "{range}");
        assert_eq!(
            reply.header("content-range"),
            Some(format!("bytes {start}-{end}/1000").as_str())
        );
        assert_eq!(reply.body, content[start..=end], "{range}");
    }
    let unsatisfiable = ranged(&mut client, "bytes=1000-");
    assert_eq!(unsatisfiable.status, 416);
    assert_eq!(unsatisfiable.header("content-range"), Some("bytes */1000"));
    let several = ranged(&mut client, "bytes=0-1,5-6");
    assert_eq!((several.status, several.body.len()), (200, 1000));
    let etag = whole.header("etag").unwrap();
    let stale = ranged(&mut client, "bytes=0-9\r\nIf-Range: \"stale\"");
    assert_eq!((stale.status, stale.body.len()), (200, 1000));
    let fresh = ranged(&mut client, &format!("bytes=0-9\r\nIf-Range: {etag}"));
    assert_eq!(fresh.status, 206);
    let by_date = ranged(
        &mut client,
        &format!(
            "bytes=0-9\r\nIf-Range: {}",
            whole.header("last-modified").unwrap()
        ),
    );
    assert_eq!(by_date.status, 206);
}

#[test]
fn head_and_methods() {
    let root = Docroot::new();
    let big: Vec<u8> = vec![7; 100_000];
    root.file("big.bin", &big);
    let server = root.serve(false);
    let mut client = Client::connect(server.addr);
    for path in ["/hello.txt", "/big.bin"] {
        let get_reply = client.send(get(path)).response();
        let head = client
            .send(format!("HEAD {path} HTTP/1.1\r\nHost: t\r\n\r\n"))
            .response_to("HEAD");
        assert!(head.body.is_empty());
        for name in [
            "content-length",
            "content-type",
            "etag",
            "last-modified",
            "accept-ranges",
        ] {
            assert_eq!(head.header(name), get_reply.header(name), "{path} {name}");
        }
    }
    for method in ["POST", "PUT", "DELETE"] {
        let reply = client
            .send(format!(
                "{method} /hello.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"
            ))
            .response();
        assert_eq!(reply.status, 405);
        assert_eq!(reply.header("allow"), Some("GET, HEAD"));
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

#[test]
fn twenty_clients_download_50_mib_byte_exact() {
    let root = Docroot::new();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let content: Vec<u8> = (0..50 * 1024 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    root.file("50mib.bin", &content);
    let expected = fnv1a(&content);
    drop(content);
    let server = root.serve(false);
    let addr = server.addr;
    let clients: Vec<_> = (0..20)
        .map(|_| {
            std::thread::spawn(move || {
                let reply = Client::connect(addr).send(get("/50mib.bin")).response();
                (reply.status, reply.body.len(), fnv1a(&reply.body))
            })
        })
        .collect();
    for client in clients {
        assert_eq!(client.join().unwrap(), (200, 50 * 1024 * 1024, expected));
    }
}

#[test]
fn a_slow_reader_of_a_big_file_does_not_slow_the_others() {
    let root = Docroot::new();
    root.file("big.bin", &vec![1u8; 32 * 1024 * 1024]);
    let server = root.serve(false);
    let mut slow = Client::connect(server.addr);
    slow.send(get("/big.bin"));
    let mut some = [0u8; 1024];
    slow.stream.read_exact(&mut some).unwrap();
    // The slow reader now reads nothing; others come and go.
    let mut client = Client::connect(server.addr);
    for _ in 0..50 {
        let started = Instant::now();
        assert_eq!(client.send(get("/hello.txt")).response().status, 200);
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}

#[test]
fn an_unusable_root_is_refused() {
    assert!(StaticFiles::new("/definitely/not/here", false).is_err());
    let root = Docroot::new();
    assert!(StaticFiles::new(root.dir.join("hello.txt"), false).is_err());
    let _ = Config::default();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// No path made of segments an attacker might use ever resolves to a
    /// file outside the root, or to a hidden one.
    #[test]
    fn generated_paths_stay_inside(segments in prop::collection::vec(
        prop::sample::select(vec!["..", ".", "%2e%2e", "%2E.", ".%2e", "%2f", "%5c", "\\", "%00", ".env",
            ".git", "files", "hello.txt", "escape.txt", "inside-link.txt", "a", "%252e%252e", "", "%2e",
            ".well-known", "security.txt"]),
        0..6,
    )) {
        let path = format!("/{}", segments.join("/"));
        let root = shared_root();
        let relative = coffeeweb::handlers::static_files::path::relative_path(&path);
        if let Ok(relative) = relative {
            if let Ok((found, _)) = coffeeweb::handlers::static_files::path::inside(root, &root.join(relative)) {
                prop_assert!(found.starts_with(root), "{} escaped to {}", path, found.display());
                let name = found.strip_prefix(root).unwrap().to_string_lossy().to_string();
                let name = name.strip_prefix(".well-known").unwrap_or(&name);
                prop_assert!(!name.contains("/.") && !name.starts_with('.'), "{} found hidden {}", path, name);
            }
        }
    }
}

fn shared_root() -> &'static Path {
    static ROOT: std::sync::OnceLock<(Docroot, PathBuf)> = std::sync::OnceLock::new();
    &ROOT
        .get_or_init(|| {
            let root = Docroot::new();
            let canonical = fs::canonicalize(&root.dir).unwrap();
            (root, canonical)
        })
        .1
}

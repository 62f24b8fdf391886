//! `--root DIR` over real sockets: every "Static files" line of the
//! contract, on a docroot each test builds in a temporary directory.

mod common;

use coffeeweb::handlers::StaticFiles;
use coffeeweb::http::date::{imf_fixdate, unix_seconds};
use common::{config, get, Binary, Client, TestServer};
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
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
        std::os::unix::fs::symlink(&base, root.dir.join("up")).unwrap();
        std::os::unix::fs::symlink(".git/config", root.dir.join("git-config")).unwrap();
        std::os::unix::fs::symlink(base.join("outside.txt"), root.dir.join("files/out.txt"))
            .unwrap();
        root
    }

    fn file(&self, name: &str, content: &[u8]) {
        let path = self.dir.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }

    fn serve(&self, listing: bool) -> TestServer {
        let files = StaticFiles::new(&self.dir, listing).unwrap();
        TestServer::with_factory(config(), move |_| files.for_another_loop())
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
    assert_eq!(
        status(&server, "/hello.txt/"),
        404,
        "a file is no directory"
    );
}

/// Files on both sides of the size where bodies stop being copied into
/// the output buffer and are sent from the file instead.
#[test]
fn sizes_around_the_inline_limit_arrive_byte_exact() {
    let root = Docroot::new();
    let limit = coffeeweb::http::INLINE_BODY_MAX;
    let sizes = [0, 1, limit - 1, limit, limit + 1, 3 * limit + 7];
    for size in sizes {
        root.file(&format!("s/{size}.bin"), &common::pattern(size));
    }
    let server = root.serve(false);
    let mut client = Client::connect(server.addr);
    for size in sizes {
        let reply = client.send(get(&format!("/s/{size}.bin"))).response();
        assert_eq!(reply.status, 200);
        assert!(reply.body == common::pattern(size), "{size} bytes");
    }
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
        "/up/outside.txt",
        "/files/out.txt",
        "/git-config",
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
    assert!(
        !html.contains("out.txt"),
        "a symlink out of the root is not listed: {html}"
    );
    // Directories first, then files by name (bytes: '<' < 'a' < 's').
    let at = |needle: &str| {
        html.find(needle)
            .unwrap_or_else(|| panic!("{needle} in {html}"))
    };
    assert!(at("sub/") < at("&lt;b&gt;"));
    assert!(at("&lt;b&gt;") < at("a.txt"));
    assert!(at("a.txt") < at("space name#.txt"));
    // Each file's row shows its size and modification date.
    let row = html
        .lines()
        .find(|line| line.contains("href=\"a.txt\""))
        .unwrap();
    let modified = fs::metadata(root.dir.join("files/a.txt"))
        .unwrap()
        .modified()
        .unwrap();
    let date = imf_fixdate(unix_seconds(modified));
    assert!(row.contains(">1<"), "size 1 in {row}");
    assert!(
        row.contains(std::str::from_utf8(&date).unwrap()),
        "date in {row}"
    );
    fs::remove_file(root.dir.join("index.html")).unwrap();
    let top = Client::connect(server.addr)
        .send(get("/"))
        .response()
        .text();
    assert!(top.contains("hello.txt") && top.contains("inside-link.txt"));
    assert!(!top.contains("escape.txt") && !top.contains("up/"), "{top}");
    assert!(!top.contains(".env") && !top.contains(".git"), "{top}");
    assert!(
        !top.contains("git-config"),
        "a link to a hidden file: {top}"
    );
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
    let mtime = fs::metadata(root.dir.join("hello.txt"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(modified.as_bytes(), imf_fixdate(unix_seconds(mtime)));
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
        conditional(
            &mut client,
            &format!("If-None-Match: \"x\"\r\nIf-None-Match: {etag}")
        )
        .status,
        304,
        "a list split over two fields"
    );
    let by_date = conditional(&mut client, &format!("If-Modified-Since: {modified}"));
    assert_eq!(by_date.status, 304);
    assert!(by_date.body.is_empty());
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
    // ... and a matching tag beats a date the file is newer than.
    let both = conditional(
        &mut client,
        &format!("If-None-Match: {etag}\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT"),
    );
    assert_eq!(both.status, 304);
    // A date that is not one is ignored.
    assert_eq!(
        conditional(&mut client, "If-Modified-Since: yesterday").status,
        200
    );
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
    assert_eq!(unsatisfiable.count("content-type"), 1);
    assert_eq!(
        unsatisfiable.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let several = ranged(&mut client, "bytes=0-1,5-6");
    assert_eq!((several.status, several.body.len()), (200, 1000));
    let etag = whole.header("etag").unwrap();
    let stale = ranged(&mut client, "bytes=0-9\r\nIf-Range: \"stale\"");
    assert_eq!((stale.status, stale.body.len()), (200, 1000));
    let fresh = ranged(&mut client, &format!("bytes=0-9\r\nIf-Range: {etag}"));
    assert_eq!(fresh.status, 206);
    let weak = ranged(&mut client, &format!("bytes=0-9\r\nIf-Range: W/{etag}"));
    assert_eq!(
        (weak.status, weak.body.len()),
        (200, 1000),
        "If-Range compares strongly"
    );
    let by_date = ranged(
        &mut client,
        &format!(
            "bytes=0-9\r\nIf-Range: {}",
            whole.header("last-modified").unwrap()
        ),
    );
    assert_eq!(by_date.status, 206);
}

/// Ranges of a file large enough to be sent from the file, at offsets.
#[test]
fn ranges_of_a_big_file_are_byte_exact() {
    let root = Docroot::new();
    let len = 3 * 1024 * 1024 + 5;
    let content = common::pattern(len);
    root.file("big.bin", &content);
    let server = root.serve(false);
    let mut client = Client::connect(server.addr);
    for (range, start, end) in [
        ("bytes=1000000-1999999", 1_000_000, 1_999_999),
        ("bytes=-100000", len - 100_000, len - 1),
        ("bytes=3000000-", 3_000_000, len - 1),
        ("bytes=7-7", 7, 7),
    ] {
        let reply = client
            .send(format!(
                "GET /big.bin HTTP/1.1\r\nHost: t\r\nRange: {range}\r\n\r\n"
            ))
            .response();
        assert_eq!(reply.status, 206, "{range}");
        assert_eq!(
            reply.header("content-range"),
            Some(format!("bytes {start}-{end}/{len}").as_str())
        );
        assert!(reply.body == content[start..=end], "{range}");
    }
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
    // Had a HEAD response carried body bytes, they would be read here as
    // the start of this response.
    assert_eq!(
        client.send(get("/hello.txt")).response().text(),
        "hello, world\n"
    );
    for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
        let reply = client
            .send(format!(
                "{method} /hello.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"
            ))
            .response();
        assert_eq!(reply.status, 405);
        assert_eq!(reply.header("allow"), Some("GET, HEAD"));
    }
    // Refused before the body is asked for: no 100 Continue.
    let refused = Client::connect(server.addr)
        .send(
            "PUT /new.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
        )
        .response();
    assert_eq!(refused.status, 405);
    assert_eq!(refused.header("allow"), Some("GET, HEAD"));
}

/// FNV-1a, fed piece by piece: a checksum of a body that is never held
/// whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
}

/// `len` pseudo-random bytes (xorshift64), the same for the same seed.
fn pseudo_random(len: usize, mut state: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// A GET whose body is read as the test chooses, checksummed on the way,
/// so that twenty 50 MiB downloads cost the test no memory.
struct Download {
    stream: TcpStream,
    len: u64,
    received: u64,
    sum: Fnv,
}

impl Download {
    /// Sends the request and reads the head (and whatever body bytes come
    /// with it); the response must be a 200 with a Content-Length.
    fn start(addr: SocketAddr, path: &str) -> Download {
        let mut stream = common::connect(addr);
        stream.write_all(get(path).as_bytes()).unwrap();
        let mut head = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = stream.read(&mut chunk).unwrap();
            assert!(n > 0, "closed before the head ended");
            head.extend_from_slice(&chunk[..n]);
            let mut fields = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut fields);
            if let httparse::Status::Complete(head_len) = response.parse(&head).unwrap() {
                assert_eq!(response.code, Some(200));
                let len = response
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .map(|h| std::str::from_utf8(h.value).unwrap().parse().unwrap())
                    .expect("Content-Length");
                let mut download = Download {
                    stream,
                    len,
                    received: 0,
                    sum: Fnv::new(),
                };
                download.take(&head[head_len..]);
                return download;
            }
        }
    }

    fn take(&mut self, body: &[u8]) {
        self.received += body.len() as u64;
        assert!(self.received <= self.len, "more bytes than Content-Length");
        self.sum.update(body);
    }

    /// Reads at least `at_least` more bytes of the body (fewer if it ends).
    fn read(&mut self, at_least: u64) {
        let goal = self.received.saturating_add(at_least).min(self.len);
        let mut chunk = vec![0u8; 64 * 1024];
        while self.received < goal {
            let want = usize::try_from(self.len - self.received)
                .unwrap_or(usize::MAX)
                .min(chunk.len());
            let n = self.stream.read(&mut chunk[..want]).unwrap();
            assert!(
                n > 0,
                "closed after {} of {} bytes",
                self.received,
                self.len
            );
            self.take(&chunk[..n]);
        }
    }

    /// Reads the rest; returns the body's length and checksum.
    fn finish(mut self) -> (u64, Fnv) {
        self.read(u64::MAX);
        (self.received, self.sum)
    }
}

#[test]
fn twenty_clients_download_50_mib_byte_exact() {
    const LEN: usize = 50 * 1024 * 1024;
    let root = Docroot::new();
    let content = pseudo_random(LEN, 0x2545_f491_4f6c_dd1d);
    root.file("50mib.bin", &content);
    let mut expected = Fnv::new();
    expected.update(&content);
    drop(content);
    let server = root.serve(false);
    let addr = server.addr;
    let clients: Vec<_> = (0..20)
        .map(|_| std::thread::spawn(move || Download::start(addr, "/50mib.bin").finish()))
        .collect();
    for client in clients {
        assert_eq!(client.join().unwrap(), (LEN as u64, expected));
    }
}

/// One client reads a big file a little at a time, stopping in between
/// with the server's socket to it full; meanwhile other clients get small
/// and large files at once. At the end the slow one still gets every
/// byte.
#[test]
fn a_slow_reader_of_a_big_file_does_not_slow_the_others() {
    const BIG: usize = 32 * 1024 * 1024;
    let root = Docroot::new();
    let content = pseudo_random(BIG, 7);
    root.file("big.bin", &content);
    let mut expected = Fnv::new();
    expected.update(&content);
    drop(content);
    root.file("1mib.bin", &common::pattern(1024 * 1024));
    let server = root.serve(false);
    let mut slow = Download::start(server.addr, "/big.bin");
    for _ in 0..5 {
        slow.read(64 * 1024);
        // The slow reader stops here; 32 MiB is more than loopback socket
        // buffers hold, so the server has bytes for it it cannot send.
        let started = Instant::now();
        let mut client = Client::connect(server.addr);
        for path in ["/hello.txt", "/1mib.bin", "/hello.txt"] {
            assert_eq!(client.send(get(path)).response().status, 200);
        }
        let took = started.elapsed();
        assert!(took < Duration::from_secs(2), "others waited {took:?}");
        // (The other client's connection may still count as writing for
        // an instant after its last bytes left, hence not `== 1`.)
        assert!(
            server.handle.stats().connections_writing >= 1,
            "the slow reader's response is still under way"
        );
    }
    assert_eq!(slow.finish(), (BIG as u64, expected));
}

#[test]
fn an_unusable_root_is_refused() {
    assert!(StaticFiles::new("/definitely/not/here", false).is_err());
    let root = Docroot::new();
    assert!(StaticFiles::new(root.dir.join("hello.txt"), false).is_err());
}

/// The binary: `--root` that is not a folder exits 2 naming the flag,
/// before binding; `--listing` without `--root` warns and serves the
/// welcome page; `--root` with `--listing` lists.
#[test]
fn the_root_and_listing_flags_of_the_binary() {
    let root = Docroot::new();
    let file = root.dir.join("hello.txt");
    let output = Command::new(env!("CARGO_BIN_EXE_coffeeweb"))
        .args(["--listen", "127.0.0.1:0", "--root"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.lines().next().unwrap_or("").contains("--root"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "nothing was bound");

    let mut welcome = Binary::start(&["-q", "--listen", "127.0.0.1:0", "--listing"]);
    let page = Client::connect(welcome.addr).send(get("/")).response();
    assert!(page.text().contains("Welcome to CoffeeWebServer"));
    let mut stderr = welcome.stderr.take().unwrap();
    drop(welcome); // killed and reaped: its stderr reaches EOF
    let mut warnings = String::new();
    stderr.read_to_string(&mut warnings).unwrap();
    assert!(
        warnings.contains("WARN") && warnings.contains("--listing"),
        "{warnings}"
    );

    fs::remove_file(root.dir.join("index.html")).unwrap();
    let dir = root.dir.to_str().unwrap();
    let files = Binary::start(&["-q", "--listen", "127.0.0.1:0", "--root", dir, "--listing"]);
    let listing = Client::connect(files.addr).send(get("/")).response();
    assert!(listing.text().contains("href=\"hello.txt\""));
}

/// No path made of segments an attacker might use ever resolves to a file
/// outside the root, or to a hidden one. (A runner rather than the
/// `proptest!` macro, so that the docroot is this test's and is removed.)
#[test]
fn generated_paths_stay_inside() {
    use coffeeweb::handlers::static_files::path::{inside, relative_path};
    let docroot = Docroot::new();
    let root = fs::canonicalize(&docroot.dir).unwrap();
    let segments = prop::collection::vec(
        prop::sample::select(vec![
            "..",
            ".",
            "%2e%2e",
            "%2E.",
            ".%2e",
            "%2f",
            "%5c",
            "\\",
            "%00",
            ".env",
            ".git",
            "git-config",
            "files",
            "hello.txt",
            "escape.txt",
            "inside-link.txt",
            "a",
            "%252e%252e",
            "",
            "%2e",
            ".well-known",
            "security.txt",
            "up",
            "outside.txt",
            "root",
        ]),
        0..6,
    );
    let mut runner = TestRunner::new(ProptestConfig::with_cases(2000));
    let result = runner.run(&segments, |segments| {
        let path = format!("/{}", segments.join("/"));
        let Ok(relative) = relative_path(&path) else {
            return Ok(());
        };
        let Ok((found, _)) = inside(&root, &root.join(relative)) else {
            return Ok(());
        };
        let Ok(name) = found.strip_prefix(&root) else {
            return Err(TestCaseError::fail(format!(
                "{path} escaped to {}",
                found.display()
            )));
        };
        let name = name.to_string_lossy();
        let name = match name.strip_prefix(".well-known") {
            Some(below) if below.is_empty() || below.starts_with('/') => below,
            _ => &name,
        };
        prop_assert!(
            !name.starts_with('.') && !name.contains("/."),
            "{} found hidden {}",
            path,
            name
        );
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

//! `--compress` over real sockets: text files compressed once, off the
//! loop, sent plain until the copy is ready, then gzip by the same rules as
//! a precompressed copy; remade when the file changes.

mod common;
mod docroot;

use coffeeweb::handlers::static_files::cache::FRESH_FOR;
use coffeeweb::handlers::StaticFiles;
use coffeeweb::Config;
use common::{config, Binary, Reply, TestServer};
use docroot::{fetch, Docroot};
use flate2::read::GzDecoder;
use std::io::Read;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

fn css(seed: u32) -> Vec<u8> {
    (0..120)
        .map(|i| {
            format!(
                ".rule-{i} {{ color: #{:06x}; margin: {}px; }}\n",
                (i * seed) % 0xffffff,
                i % 7
            )
        })
        .collect::<String>()
        .into_bytes()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

fn docroot() -> Docroot {
    let root = Docroot::new("compress");
    root.file("site.css", &css(7))
        .file("tiny.js", b"let a = 1;\n")
        .file("logo.png", &vec![7u8; 4096])
        .file("pre.js", &css(3))
        .file("pre.js.br", b"precompressed br");
    root
}

fn serve_with(root: &Docroot, workers: usize) -> (TestServer, StaticFiles) {
    let files = StaticFiles::new(&root.dir, false)
        .unwrap()
        .with_compression()
        .unwrap();
    let config = Config {
        workers,
        ..config()
    };
    let server = TestServer::with_files(config, files.for_another_loop());
    (server, files)
}

/// One loop: once it answers gzip, it always will.
fn serve(root: &Docroot) -> (TestServer, StaticFiles) {
    serve_with(root, 1)
}

fn gzip_get(addr: SocketAddr, path: &str) -> Reply {
    fetch(addr, "GET", path, &[("Accept-Encoding", "br, gzip")])
}

/// Asks until the answer is gzip (bounded: compression of a few KiB takes
/// milliseconds; the small-file cache may answer plain for one second).
fn until_compressed(addr: SocketAddr, path: &str) -> Reply {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let reply = gzip_get(addr, path);
        if reply.header("Content-Encoding") == Some("gzip") {
            return reply;
        }
        assert!(Instant::now() < deadline, "never compressed: {reply:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_text_file_is_sent_plain_then_compressed_once() {
    let root = docroot();
    let (server, files) = serve_with(&root, 2);
    let first = gzip_get(server.addr, "/site.css");
    assert_eq!(first.status, 200);
    assert_eq!(
        first.header("Content-Encoding"),
        None,
        "not ready on the first request"
    );
    assert_eq!(first.body, css(7));
    assert_eq!(
        first.header("Vary"),
        Some("Accept-Encoding"),
        "it will vary"
    );
    let compressed = until_compressed(server.addr, "/site.css");
    assert_eq!(gunzip(&compressed.body), css(7));
    assert!(compressed.body.len() < css(7).len() / 2);
    assert_eq!(
        compressed.header("Content-Type"),
        Some("text/css; charset=utf-8")
    );
    assert_eq!(compressed.header("Vary"), Some("Accept-Encoding"));
    let tag = compressed.header("ETag").unwrap();
    assert!(tag.starts_with('"') && tag != first.header("ETag").unwrap());
    // The other loop may answer from its small-file cache, as checked
    // before the copy was ready, for FRESH_FOR; after that, from the copy.
    std::thread::sleep(FRESH_FOR);
    for _ in 0..50 {
        let again = gzip_get(server.addr, "/site.css");
        assert_eq!(again.body, compressed.body);
        assert_eq!(again.header("ETag"), Some(tag));
    }
    assert_eq!(
        files.copies_made(),
        1,
        "compressed once for all requests and workers"
    );
    let plain = fetch(server.addr, "GET", "/site.css", &[]);
    assert_eq!(plain.header("Content-Encoding"), None);
    assert_eq!(plain.body, css(7));
}

#[test]
fn the_copy_follows_the_rules_of_a_precompressed_one() {
    let root = docroot();
    let (server, _files) = serve(&root);
    let full = until_compressed(server.addr, "/site.css");
    let tag = full.header("ETag").unwrap();
    let revalidated = fetch(
        server.addr,
        "GET",
        "/site.css",
        &[("Accept-Encoding", "gzip"), ("If-None-Match", tag)],
    );
    assert_eq!(revalidated.status, 304);
    let part = fetch(
        server.addr,
        "GET",
        "/site.css",
        &[("Accept-Encoding", "gzip"), ("Range", "bytes=0-9")],
    );
    assert_eq!(part.status, 206);
    assert_eq!(part.body, &full.body[..10]);
    let range = format!("bytes 0-9/{}", full.body.len());
    assert_eq!(part.header("Content-Range"), Some(range.as_str()));
    let head = fetch(
        server.addr,
        "HEAD",
        "/site.css",
        &[("Accept-Encoding", "gzip")],
    );
    let length = full.body.len().to_string();
    assert_eq!(head.header("Content-Length"), Some(length.as_str()));
    assert_eq!(head.header("Content-Encoding"), Some("gzip"));
    let br_only = fetch(
        server.addr,
        "GET",
        "/site.css",
        &[("Accept-Encoding", "br")],
    );
    assert_eq!(br_only.header("Content-Encoding"), None);
    let no_identity = fetch(
        server.addr,
        "GET",
        "/site.css",
        &[("Accept-Encoding", "gzip, identity;q=0")],
    );
    assert_eq!(no_identity.header("Content-Encoding"), Some("gzip"));
}

#[test]
fn small_files_images_and_files_with_copies_are_left_alone() {
    let root = docroot();
    let (server, files) = serve(&root);
    for _ in 0..3 {
        let tiny = gzip_get(server.addr, "/tiny.js");
        assert_eq!(
            (tiny.header("Content-Encoding"), tiny.header("Vary")),
            (None, None)
        );
        let png = gzip_get(server.addr, "/logo.png");
        assert_eq!(
            (png.header("Content-Encoding"), png.header("Vary")),
            (None, None)
        );
        let pre = gzip_get(server.addr, "/pre.js");
        assert_eq!(pre.header("Content-Encoding"), Some("br"));
        let gzip_only = fetch(
            server.addr,
            "GET",
            "/pre.js",
            &[("Accept-Encoding", "gzip")],
        );
        assert_eq!(
            gzip_only.header("Content-Encoding"),
            None,
            "no copy made beside one on disk"
        );
    }
    // Nothing was queued: a file that is asked for is compressed within
    // milliseconds, so a copy would have been made by now.
    let _ = until_compressed(server.addr, "/site.css");
    assert_eq!(files.copies_made(), 1);
}

#[test]
fn a_changed_file_is_compressed_again_and_never_sent_with_the_old_copy() {
    let root = docroot();
    let (server, files) = serve(&root);
    let old = until_compressed(server.addr, "/site.css");
    assert_eq!(gunzip(&old.body), css(7));
    let old_plain = fetch(server.addr, "GET", "/site.css", &[]);
    let old_tags = [old.header("ETag"), old_plain.header("ETag")];
    std::fs::write(root.dir.join("site.css"), css(11)).unwrap();
    let changed = Instant::now();
    loop {
        let reply = gzip_get(server.addr, "/site.css");
        let content = match reply.header("Content-Encoding") {
            Some("gzip") => gunzip(&reply.body),
            _ => reply.body.clone(),
        };
        // Each loop's small-file cache may answer from before the change
        // for up to a second (FRESH_FOR); the validators always go with
        // the bytes they describe.
        if content == css(7) {
            assert!(old_tags.contains(&reply.header("ETag")));
            assert!(
                changed.elapsed() < Duration::from_millis(1500),
                "old content too late"
            );
        } else {
            assert_eq!(content, css(11));
            assert!(!old_tags.contains(&reply.header("ETag")));
            if reply.header("Content-Encoding") == Some("gzip") {
                break;
            }
        }
        assert!(
            changed.elapsed() < Duration::from_secs(10),
            "never recompressed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(files.copies_made(), 2);
}

#[test]
fn the_binary_compresses_with_the_flag() {
    let root = docroot();
    let dir = root.dir.to_str().unwrap();
    let binary = Binary::start(&["-l", "127.0.0.1:0", "-q", "-r", dir, "--compress"]);
    let reply = until_compressed(binary.addr, "/site.css");
    assert_eq!(gunzip(&reply.body), css(7));
    let without = Binary::start(&["-l", "127.0.0.1:0", "-q", "-r", dir]);
    let plain = gzip_get(without.addr, "/site.css");
    assert_eq!(
        (plain.header("Content-Encoding"), plain.header("Vary")),
        (None, None)
    );
}

//! `--watch` over sockets: a change under the root reaches an open
//! `/.coffeeweb/reload` stream as one event within 1 s (a burst of 200
//! writes too; in a directory made after start too); the script is in
//! whole HTML pages as themselves (Content-Length, its own ETag, HEAD the
//! same, 304), not in ranges, copies or other files; the stream exists
//! only with `--watch`.

mod common;
mod docroot;

use common::{connect, Binary};
use docroot::{fetch, Docroot};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const EVENT: &[u8] = b"data: reload\n\n";

/// An open `/.coffeeweb/reload` stream, subscribed once its head is read.
struct Events {
    stream: TcpStream,
    seen: Vec<u8>,
}

impl Events {
    fn open(addr: SocketAddr) -> Events {
        let mut stream = connect(addr);
        stream
            .write_all(b"GET /.coffeeweb/reload HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        let mut events = Events {
            stream,
            seen: Vec::new(),
        };
        while !events.seen.windows(4).any(|w| w == b"\r\n\r\n") {
            assert!(events.read_for(Duration::from_secs(10)), "no head");
        }
        let head = String::from_utf8_lossy(&events.seen).into_owned();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(
            head.contains("Content-Type: text/event-stream\r\n"),
            "{head}"
        );
        assert!(head.contains("Transfer-Encoding: chunked\r\n"), "{head}");
        events.seen.clear();
        events
    }

    /// Reads what comes within `limit`; false if nothing did.
    fn read_for(&mut self, limit: Duration) -> bool {
        self.stream.set_read_timeout(Some(limit)).unwrap();
        let mut buf = [0u8; 4096];
        match self.stream.read(&mut buf) {
            Ok(0) => panic!("the stream ended"),
            Ok(n) => {
                self.seen.extend_from_slice(&buf[..n]);
                true
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                false
            }
            Err(e) => panic!("{e}"),
        }
    }

    fn count(&self) -> usize {
        self.seen
            .windows(EVENT.len())
            .filter(|w| *w == EVENT)
            .count()
    }

    /// Waits (at most `limit`) for the next event; how long it took.
    fn next_within(&mut self, limit: Duration) -> Duration {
        let start = Instant::now();
        let before = self.count();
        while self.count() == before {
            let left = limit.saturating_sub(start.elapsed());
            assert!(
                !left.is_zero() && self.read_for(left),
                "no reload event within {limit:?}; got {:?}",
                String::from_utf8_lossy(&self.seen)
            );
        }
        start.elapsed()
    }

    /// Asserts that no further event comes within `quiet`.
    fn none_for(&mut self, quiet: Duration) {
        let before = self.count();
        let start = Instant::now();
        while let Some(left) = quiet.checked_sub(start.elapsed()) {
            if !self.read_for(left) {
                break;
            }
        }
        assert_eq!(
            self.count(),
            before,
            "{:?}",
            String::from_utf8_lossy(&self.seen)
        );
    }
}

/// Two workers: one watches, subscribers are on either.
fn watching(root: &Docroot) -> Binary {
    Binary::start(&[
        "-q",
        "-w",
        "2",
        "--listen",
        "127.0.0.1:0",
        "--root",
        root.dir.to_str().unwrap(),
        "--watch",
    ])
}

/// The same folder served without `--watch`.
fn unwatched(root: &Docroot) -> Binary {
    Binary::start(&[
        "-q",
        "--listen",
        "127.0.0.1:0",
        "--root",
        root.dir.to_str().unwrap(),
    ])
}

/// A fresh site, served by [`watching`], with one open reload stream.
fn subscribed(name: &str) -> (Docroot, Binary, Events) {
    let root = site(name);
    let server = watching(&root);
    let events = Events::open(server.addr);
    (root, server, events)
}

const PAGE: &str = "<!doctype html><html><body><h1>hi</h1></body></html>";

fn site(name: &str) -> Docroot {
    let root = Docroot::new(name);
    root.file("index.html", PAGE.as_bytes())
        .file("bare.html", b"<p>no end tag")
        .file("style.css", b"body { color: red }")
        .file("sub/deep.txt", b"deep");
    root
}

#[test]
fn a_change_reaches_the_stream_within_a_second() {
    let root = site("watch-change");
    let server = watching(&root);
    // Several streams, so that both loops have some (the kernel spreads
    // connections over the two listeners).
    let mut streams: Vec<Events> = (0..6).map(|_| Events::open(server.addr)).collect();
    let start = Instant::now();
    root.file("style.css", b"body { color: blue }");
    for events in &mut streams {
        events.next_within(Duration::from_secs(1).saturating_sub(start.elapsed()));
    }
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    let events = &mut streams[0];
    // A file in a directory that was there at start.
    root.file("sub/deep.txt", b"deeper");
    events.next_within(Duration::from_secs(1));
}

#[test]
fn a_burst_of_200_writes_is_one_event() {
    let (root, _server, mut events) = subscribed("watch-burst");
    for i in 0..200 {
        root.file(
            &format!("build/chunk-{i}.js"),
            format!("// {i}\n").as_bytes(),
        );
    }
    let waited = events.next_within(Duration::from_secs(2));
    events.none_for(Duration::from_millis(1500));
    assert_eq!(events.count(), 1, "one reload for the burst");
    assert!(
        waited < Duration::from_secs(1),
        "{waited:?} after the last write"
    );
}

#[test]
fn a_new_subdirectory_is_watched() {
    let (root, _server, mut events) = subscribed("watch-newdir");
    std::fs::create_dir(root.dir.join("fresh")).unwrap();
    events.next_within(Duration::from_secs(1));
    std::fs::create_dir(root.dir.join("fresh/deeper")).unwrap();
    events.next_within(Duration::from_secs(1));
    // Quiet again; now a change deep inside the new tree.
    events.none_for(Duration::from_millis(300));
    root.file("fresh/deeper/page.html", b"<p>new</p>");
    events.next_within(Duration::from_secs(1));
}

#[test]
fn dotfiles_change_nothing() {
    let (root, _server, mut events) = subscribed("watch-dot");
    root.file(".index.html.swp", b"editor scratch");
    root.file(".git/HEAD", b"ref: main");
    events.none_for(Duration::from_millis(700));
}

fn with_script(page: &str) -> String {
    let script = coffeeweb::handlers::live_reload::SCRIPT;
    match page.rfind("</body>") {
        Some(at) => format!("{}{script}{}", &page[..at], &page[at..]),
        None => format!("{page}{script}"),
    }
}

#[test]
fn whole_html_pages_carry_the_script_with_their_own_length_and_etag() {
    let root = site("watch-inject");
    let server = watching(&root);
    let plain = unwatched(&root);

    let page = fetch(server.addr, "GET", "/", &[]);
    assert_eq!(page.status, 200);
    assert_eq!(page.text(), with_script(PAGE));
    assert!(page
        .text()
        .contains("new EventSource(\"/.coffeeweb/reload\")"));
    assert_eq!(
        page.header("content-length"),
        Some(&*page.body.len().to_string())
    );
    let etag = page.header("etag").unwrap().to_string();
    let unwatched = fetch(plain.addr, "GET", "/", &[]);
    assert_eq!(unwatched.text(), PAGE);
    let plain_etag = unwatched.header("etag").unwrap();
    assert_ne!(etag, plain_etag);
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong: {etag}"
    );

    let head = fetch(server.addr, "HEAD", "/", &[]);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), page.header("content-length"));
    assert_eq!(head.header("etag"), Some(&*etag));
    assert!(head.body.is_empty());

    assert_eq!(
        fetch(server.addr, "GET", "/", &[("If-None-Match", &etag)]).status,
        304
    );
    assert_eq!(
        fetch(server.addr, "GET", "/", &[("If-None-Match", plain_etag)]).status,
        200
    );

    let bare = fetch(server.addr, "GET", "/bare.html", &[]);
    assert_eq!(bare.text(), with_script("<p>no end tag"));
    assert_eq!(
        bare.header("content-length"),
        Some(&*bare.body.len().to_string())
    );

    let css = fetch(server.addr, "GET", "/style.css", &[]);
    assert_eq!(css.text(), "body { color: red }");
}

#[test]
fn ranges_and_precompressed_copies_are_sent_as_they_are() {
    let root = site("watch-copies");
    let gz = b"\x1f\x8b not really gzip, but the copy's bytes";
    root.file("index.html.gz", gz);
    let server = watching(&root);

    let part = fetch(server.addr, "GET", "/", &[("Range", "bytes=0-14")]);
    assert_eq!(part.status, 206);
    assert_eq!(part.text(), &PAGE[..15]);
    assert_eq!(
        part.header("content-range"),
        Some(&*format!("bytes 0-14/{}", PAGE.len()))
    );
    let tail = fetch(server.addr, "GET", "/", &[("Range", "bytes=-7")]);
    assert_eq!(tail.text(), "</html>");

    let copy = fetch(server.addr, "GET", "/", &[("Accept-Encoding", "gzip")]);
    assert_eq!(copy.status, 200);
    assert_eq!(copy.header("content-encoding"), Some("gzip"));
    assert_eq!(copy.body, gz);
    let by_name = fetch(server.addr, "GET", "/index.html.gz", &[]);
    assert_eq!(by_name.body, gz);

    // Without a coding the client takes, the page itself, with the script.
    let page = fetch(server.addr, "GET", "/", &[("Accept-Encoding", "identity")]);
    assert_eq!(page.text(), with_script(PAGE));
}

#[test]
fn the_stream_exists_only_with_watch() {
    let root = site("watch-absent");
    let plain = unwatched(&root);
    assert_eq!(
        fetch(plain.addr, "GET", "/.coffeeweb/reload", &[]).status,
        404
    );
    assert_eq!(fetch(plain.addr, "GET", "/", &[]).text(), PAGE);

    let server = watching(&root);
    let post = fetch(
        server.addr,
        "POST",
        "/.coffeeweb/reload",
        &[("Content-Length", "0")],
    );
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
}

#[test]
fn watch_needs_a_root() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_coffeeweb"))
        .args(["--listen", "127.0.0.1:0", "--watch"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.lines().next().unwrap_or("").contains("--watch"),
        "{stderr}"
    );
}

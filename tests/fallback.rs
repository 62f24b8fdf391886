//! `ROOT/404.html` and `--fallback FILE` over real sockets, in-process and
//! through the binary's command line.

mod common;
mod docroot;

use coffeeweb::handlers::StaticFiles;
use common::{config, Binary, Client, TestServer};
use docroot::{fetch, request, Docroot};
use std::process::{Command, Stdio};

const APP: &[u8] = b"<!doctype html><div id=app></div>";
const NOT_FOUND_PAGE: &[u8] = b"<h1>Nothing here</h1>";

fn docroot() -> Docroot {
    let root = Docroot::new("fallback");
    root.file("index.html", APP)
        .file("app.js", b"route(location.pathname)")
        .file(".env", b"SECRET=1")
        .file("empty/keep.txt", b"");
    std::fs::remove_file(root.dir.join("empty/keep.txt")).unwrap();
    root
}

#[test]
fn a_404_page_is_the_body_of_every_404() {
    let root = docroot();
    root.file("404.html", NOT_FOUND_PAGE);
    let server = TestServer::with_files(config(), StaticFiles::new(&root.dir, false).unwrap());
    for path in [
        "/missing",
        "/deep/missing.js",
        "/.env",
        "/..%2f..%2fetc/passwd",
        "/empty/",
    ] {
        let reply = fetch(server.addr, "GET", path, &[]);
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(
            reply.header("Content-Type"),
            Some("text/html; charset=utf-8"),
            "{path}"
        );
        assert_eq!(reply.body, NOT_FOUND_PAGE, "{path}");
    }
    let head = fetch(server.addr, "HEAD", "/missing", &[]);
    assert_eq!(head.status, 404);
    let length = NOT_FOUND_PAGE.len().to_string();
    assert_eq!(head.header("Content-Length"), Some(length.as_str()));
    assert!(head.body.is_empty());
    // The page itself is an ordinary file.
    assert_eq!(fetch(server.addr, "GET", "/404.html", &[]).status, 200);
    // Other errors keep their text bodies.
    let bad = fetch(server.addr, "GET", "/%zz", &[]);
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.header("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
}

#[test]
fn without_a_404_page_a_404_is_text() {
    let root = docroot();
    let server = TestServer::with_files(config(), StaticFiles::new(&root.dir, false).unwrap());
    let reply = fetch(server.addr, "GET", "/missing", &[]);
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.header("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
}

#[test]
fn paths_where_nothing_exists_get_the_fallback() {
    let root = docroot();
    root.file("404.html", NOT_FOUND_PAGE)
        .file("index.html.br", b"brotli app");
    let files = StaticFiles::new(&root.dir, false)
        .unwrap()
        .with_fallback("index.html")
        .unwrap();
    let server = TestServer::with_files(config(), files);
    let mut client = Client::connect(server.addr);
    // Twice each: the second answer may come from the small-file cache.
    for path in [
        "/app/users/42",
        "/settings",
        "/index.html/x",
        "/app.js/route",
        "/app/users/42",
    ] {
        client.send(request("GET", path, &[]));
        let reply = client.response();
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(reply.body, APP, "{path}");
        assert_eq!(
            reply.header("Content-Type"),
            Some("text/html; charset=utf-8")
        );
        assert!(reply.header("ETag").is_some());
    }
    let head = fetch(server.addr, "HEAD", "/app/x", &[]);
    assert_eq!((head.status, head.body.len()), (200, 0));
    // The fallback is a file like another: its copies and validators apply.
    let br = fetch(server.addr, "GET", "/app/x", &[("Accept-Encoding", "br")]);
    assert_eq!(br.body, b"brotli app");
    assert_eq!(br.header("Content-Encoding"), Some("br"));
    let tag = br.header("ETag").unwrap();
    let again = fetch(
        server.addr,
        "GET",
        "/app/y",
        &[("Accept-Encoding", "br"), ("If-None-Match", tag)],
    );
    assert_eq!(again.status, 304);
    // Files that exist are themselves.
    assert_eq!(
        fetch(server.addr, "GET", "/app.js", &[]).body,
        b"route(location.pathname)"
    );
}

#[test]
fn refused_paths_and_existing_directories_do_not_fall_back() {
    let root = docroot();
    let files = StaticFiles::new(&root.dir, false)
        .unwrap()
        .with_fallback("index.html")
        .unwrap();
    let server = TestServer::with_files(config(), files);
    for (path, status) in [
        ("/.env", 404),
        ("/.missing", 404),
        ("/a/.git/config", 404),
        ("/..%2fsecret", 404),
        ("/%2e%2e/secret", 404),
        ("/empty/", 404),
        ("/%zz", 400),
    ] {
        let reply = fetch(server.addr, "GET", path, &[]);
        assert_eq!(reply.status, status, "{path}");
        assert_ne!(reply.body, APP, "{path}");
    }
    let post = fetch(server.addr, "POST", "/app/x", &[("Content-Length", "0")]);
    assert_eq!(post.status, 405);
}

#[test]
fn the_fallback_must_be_a_file_inside_the_root() {
    let root = docroot();
    std::fs::write(root.outside("outside.html"), b"x").unwrap();
    let new = || StaticFiles::new(&root.dir, false).unwrap();
    assert!(new().with_fallback("missing.html").is_err());
    assert!(new().with_fallback("empty").is_err(), "a directory");
    assert!(new().with_fallback(root.outside("outside.html")).is_err());
    assert!(new().with_fallback("../outside.html").is_err());
    assert!(new().with_fallback(".env").is_err(), "a hidden file");
    assert!(new().with_fallback(root.dir.join("index.html")).is_ok());
}

fn exit_of(args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_coffeeweb"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let first = stderr.lines().next().unwrap_or_default().to_string();
    (output.status.code(), first)
}

#[test]
fn the_binary_checks_fallback_at_start_and_serves_it() {
    let root = docroot();
    let dir = root.dir.to_str().unwrap();
    for args in [
        &["-l", "127.0.0.1:0", "-r", dir, "--fallback", "nope.html"][..],
        &["-l", "127.0.0.1:0", "-r", dir, "--fallback", "../x"],
        &["-l", "127.0.0.1:0", "--fallback", "index.html"],
    ] {
        let (code, first) = exit_of(args);
        assert_eq!(code, Some(2), "{args:?}");
        assert!(first.contains("--fallback"), "{args:?}: {first}");
    }
    let binary = Binary::start(&[
        "-l",
        "127.0.0.1:0",
        "-q",
        "-r",
        dir,
        "--fallback",
        "index.html",
    ]);
    let reply = fetch(binary.addr, "GET", "/some/deep/link", &[]);
    assert_eq!((reply.status, reply.body.as_slice()), (200, APP));
}

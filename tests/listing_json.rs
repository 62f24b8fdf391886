//! JSON directory listings (`--listing` with `Accept: application/json` or
//! `?format=json`) over real sockets: the same entries and order as the
//! HTML listing, with types, sizes and RFC 3339 times.

mod common;
mod docroot;

use coffeeweb::handlers::StaticFiles;
use common::{config, TestServer};
use docroot::{fetch, Docroot};
use serde_json::Value;
use std::time::{Duration, UNIX_EPOCH};

fn docroot() -> Docroot {
    let root = Docroot::new("listing-json");
    root.file("files/b.txt", b"bb")
        .file("files/a \"quoted\" \\ name.txt", b"a")
        .file("files/<tag>.html", b"<p>")
        .file("files/z-dir/x", b"")
        .file("files/a-dir/x", b"")
        .file("files/.hidden", b"h");
    std::os::unix::fs::symlink(root.outside("nowhere"), root.dir.join("files/broken")).unwrap();
    // 2001-09-09T01:46:40Z
    let when = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    std::fs::File::options()
        .write(true)
        .open(root.dir.join("files/b.txt"))
        .unwrap()
        .set_modified(when)
        .unwrap();
    root
}

fn serve(root: &Docroot, listing: bool) -> TestServer {
    TestServer::with_files(config(), StaticFiles::new(&root.dir, listing).unwrap())
}

fn names_in_html(html: &str) -> Vec<String> {
    html.split("<a href=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_string())
        .filter(|href| href != "../")
        .collect()
}

#[test]
fn json_lists_what_the_html_lists_in_the_same_order() {
    let root = docroot();
    let server = serve(&root, true);
    let reply = fetch(
        server.addr,
        "GET",
        "/files/",
        &[("Accept", "application/json")],
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("Content-Type"), Some("application/json"));
    assert_eq!(reply.header("Vary"), Some("Accept"));
    let listed: Vec<Value> = serde_json::from_slice(&reply.body).expect("valid JSON");
    let names: Vec<&str> = listed.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "a-dir",
            "z-dir",
            "<tag>.html",
            "a \"quoted\" \\ name.txt",
            "b.txt"
        ]
    );
    let html = fetch(server.addr, "GET", "/files/", &[("Accept", "text/html")]);
    assert_eq!(
        html.header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(html.header("Vary"), Some("Accept"));
    let linked: Vec<String> = names_in_html(&html.text());
    let encoded: Vec<String> = listed
        .iter()
        .map(|e| {
            let name = e["name"].as_str().unwrap();
            let slash = if e["type"] == "dir" { "/" } else { "" };
            let mut out = String::new();
            for b in name.bytes() {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    out.push(b as char);
                } else {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
            out + slash
        })
        .collect();
    assert_eq!(linked, encoded);
}

#[test]
fn entries_have_type_size_and_rfc3339_time() {
    let root = docroot();
    let server = serve(&root, true);
    let reply = fetch(server.addr, "GET", "/files/?format=json", &[]);
    let listed: Vec<Value> = serde_json::from_slice(&reply.body).unwrap();
    let b = listed.iter().find(|e| e["name"] == "b.txt").unwrap();
    assert_eq!(b["type"], "file");
    assert_eq!(b["size"], 2);
    assert_eq!(b["modified"], "2001-09-09T01:46:40Z");
    let dir = listed.iter().find(|e| e["name"] == "a-dir").unwrap();
    assert_eq!(dir["type"], "dir");
    assert!(dir["size"].is_u64());
    for entry in &listed {
        let object = entry.as_object().unwrap();
        let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["modified", "name", "size", "type"]);
    }
}

#[test]
fn the_query_wins_over_accept_and_head_gets_the_head() {
    let root = docroot();
    let server = serve(&root, true);
    let json = fetch(
        server.addr,
        "GET",
        "/files/?format=json",
        &[("Accept", "text/html")],
    );
    assert_eq!(json.header("Content-Type"), Some("application/json"));
    let html = fetch(
        server.addr,
        "GET",
        "/files/?format=html",
        &[("Accept", "application/json")],
    );
    assert_eq!(
        html.header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    let head = fetch(
        server.addr,
        "HEAD",
        "/files/",
        &[("Accept", "application/json")],
    );
    let get = fetch(
        server.addr,
        "GET",
        "/files/",
        &[("Accept", "application/json")],
    );
    assert_eq!(head.header("Content-Length"), get.header("Content-Length"));
    assert!(head.body.is_empty());
    let empty = Docroot::new("listing-json-empty");
    std::fs::create_dir(empty.dir.join("void")).unwrap();
    let server = serve(&empty, true);
    let reply = fetch(server.addr, "GET", "/void/?format=json", &[]);
    let listed: Vec<Value> = serde_json::from_slice(&reply.body).unwrap();
    assert!(listed.is_empty());
}

#[test]
fn without_listing_there_is_no_json_either() {
    let root = docroot();
    let server = serve(&root, false);
    let reply = fetch(server.addr, "GET", "/files/?format=json", &[]);
    assert_eq!(reply.status, 404);
}

//! Precompressed copies (`F.br`, `F.zst`, `F.gz` beside `F`) over real
//! sockets: the contract's "Precompressed copies" line, clause by clause.

mod common;
mod docroot;

use coffeeweb::handlers::StaticFiles;
use common::{config, Client, Reply, TestServer};
use docroot::{fetch, request, Docroot};

const PLAIN: &[u8] = b"body { color: black }\n";
const BR: &[u8] = b"pretend brotli";
const ZSTD: &[u8] = b"pretend zstandard bytes";
const GZIP: &[u8] = b"pretend gzip bytes, longer";

fn docroot() -> Docroot {
    let root = Docroot::new("precompressed");
    root.file("a.css", PLAIN)
        .file("a.css.br", BR)
        .file("a.css.zst", ZSTD)
        .file("a.css.gz", GZIP)
        .file("only-gz.js", b"let x = 1;\n")
        .file("only-gz.js.gz", GZIP)
        .file("plain.txt", b"no copies\n")
        .file("dir/index.html", b"<p>index</p>")
        .file("dir/index.html.br", BR);
    root
}

fn serve(root: &Docroot) -> TestServer {
    TestServer::with_files(config(), StaticFiles::new(&root.dir, false).unwrap())
}

fn get_with(server: &TestServer, path: &str, accept_encoding: &str) -> Reply {
    fetch(
        server.addr,
        "GET",
        path,
        &[("Accept-Encoding", accept_encoding)],
    )
}

/// The encoding, content and fields every encoded response must have.
fn assert_sent(reply: &Reply, encoding: Option<&str>, body: &[u8], content_type: &str) {
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body, body);
    assert_eq!(reply.header("Content-Encoding"), encoding);
    assert_eq!(reply.header("Content-Type"), Some(content_type));
    assert_eq!(reply.header("Vary"), Some("Accept-Encoding"));
    assert_eq!(reply.count("Vary"), 1);
    assert!(
        reply.header("ETag").is_some_and(|t| t.starts_with('"')),
        "strong ETag"
    );
}

#[test]
fn the_acceptable_coding_with_the_highest_q_is_sent() {
    let root = docroot();
    let server = serve(&root);
    let css = "text/css; charset=utf-8";
    for (accept, encoding, body) in [
        ("br, gzip", Some("br"), BR),
        ("gzip, deflate, br, zstd", Some("br"), BR),
        ("gzip", Some("gzip"), GZIP),
        ("x-gzip", Some("gzip"), GZIP),
        ("zstd;q=0.5, gzip;q=0.4", Some("zstd"), ZSTD),
        ("br;q=0.1, gzip;q=0.9", Some("gzip"), GZIP),
        ("*", Some("br"), BR),
        ("*;q=0.5, br;q=0", Some("zstd"), ZSTD),
        ("gzip;q=0.5, identity", None, PLAIN),
        ("deflate", None, PLAIN),
        ("", None, PLAIN),
    ] {
        let reply = get_with(&server, "/a.css", accept);
        assert_sent(&reply, encoding, body, css);
    }
    // Without the field at all: the plain file, still with Vary.
    let reply = fetch(server.addr, "GET", "/a.css", &[]);
    assert_sent(&reply, None, PLAIN, css);
}

#[test]
fn each_encoding_has_its_own_strong_etag_and_conditionals_apply_to_it() {
    let root = docroot();
    let server = serve(&root);
    let plain = get_with(&server, "/a.css", "identity");
    let br = get_with(&server, "/a.css", "br");
    let gzip = get_with(&server, "/a.css", "gzip");
    let tags = [&plain, &br, &gzip].map(|r| r.header("ETag").unwrap().to_string());
    assert!(
        tags[0] != tags[1] && tags[1] != tags[2] && tags[0] != tags[2],
        "{tags:?}"
    );
    let br_tag = tags[1].as_str();
    let revalidate = |accept: &str, tag: &str| {
        fetch(
            server.addr,
            "GET",
            "/a.css",
            &[("Accept-Encoding", accept), ("If-None-Match", tag)],
        )
    };
    let not_modified = revalidate("br", br_tag);
    assert_eq!(not_modified.status, 304);
    assert_eq!(not_modified.header("ETag"), Some(br_tag));
    assert_eq!(not_modified.header("Vary"), Some("Accept-Encoding"));
    assert_eq!(
        not_modified.header("Content-Encoding"),
        None,
        "no body to be encoded"
    );
    // The brotli tag does not validate the gzip copy.
    let other = revalidate("gzip", br_tag);
    assert_sent(&other, Some("gzip"), GZIP, "text/css; charset=utf-8");
    // If-Range with the brotli tag, asked with gzip: the whole gzip copy.
    let if_range = fetch(
        server.addr,
        "GET",
        "/a.css",
        &[
            ("Accept-Encoding", "gzip"),
            ("Range", "bytes=0-3"),
            ("If-Range", br_tag),
        ],
    );
    assert_eq!((if_range.status, if_range.body.as_slice()), (200, GZIP));
}

#[test]
fn ranges_and_head_apply_to_the_encoding_sent() {
    let root = docroot();
    let server = serve(&root);
    let part = fetch(
        server.addr,
        "GET",
        "/a.css",
        &[("Accept-Encoding", "gzip"), ("Range", "bytes=2-5")],
    );
    assert_eq!(part.status, 206);
    assert_eq!(part.body, &GZIP[2..=5]);
    let range = format!("bytes 2-5/{}", GZIP.len());
    assert_eq!(part.header("Content-Range"), Some(range.as_str()));
    assert_eq!(part.header("Content-Encoding"), Some("gzip"));
    assert_eq!(part.header("Vary"), Some("Accept-Encoding"));
    let too_far = fetch(
        server.addr,
        "GET",
        "/a.css",
        &[("Accept-Encoding", "br"), ("Range", "bytes=100-")],
    );
    assert_eq!(too_far.status, 416);
    let unsatisfied = format!("bytes */{}", BR.len());
    assert_eq!(too_far.header("Content-Range"), Some(unsatisfied.as_str()));
    assert_eq!(
        too_far.header("Content-Encoding"),
        None,
        "its text body is plain"
    );
    assert_eq!(too_far.header("Vary"), Some("Accept-Encoding"));
    let head = fetch(server.addr, "HEAD", "/a.css", &[("Accept-Encoding", "br")]);
    let get = get_with(&server, "/a.css", "br");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let length = BR.len().to_string();
    assert_eq!(head.header("Content-Length"), Some(length.as_str()));
    for name in [
        "Content-Encoding",
        "Content-Type",
        "ETag",
        "Last-Modified",
        "Vary",
    ] {
        assert_eq!(head.header(name), get.header(name), "{name}");
    }
}

#[test]
fn files_without_copies_have_no_vary_and_copies_by_name_are_ordinary_files() {
    let root = docroot();
    let server = serve(&root);
    let plain = get_with(&server, "/plain.txt", "br, gzip");
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("Vary"), None);
    assert_eq!(plain.header("Content-Encoding"), None);
    let by_name = get_with(&server, "/a.css.gz", "gzip");
    assert_eq!(by_name.status, 200);
    assert_eq!(by_name.body, GZIP);
    assert_eq!(by_name.header("Content-Type"), Some("application/gzip"));
    assert_eq!(by_name.header("Content-Encoding"), None);
    assert_eq!(by_name.header("Vary"), None);
    // Only the copies that exist are offered.
    let only_gz = get_with(&server, "/only-gz.js", "br");
    assert_eq!(only_gz.header("Content-Encoding"), None);
    assert_eq!(only_gz.header("Vary"), Some("Accept-Encoding"));
    assert_eq!(only_gz.body, b"let x = 1;\n");
    // A directory's index.html has its copies too.
    let index = get_with(&server, "/dir/", "br");
    assert_sent(&index, Some("br"), BR, "text/html; charset=utf-8");
}

#[test]
fn nothing_acceptable_is_406() {
    let root = docroot();
    let server = serve(&root);
    let refused = get_with(&server, "/plain.txt", "identity;q=0");
    assert_eq!(refused.status, 406);
    assert_eq!(
        refused.header("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    let refused = get_with(&server, "/only-gz.js", "br, identity;q=0");
    assert_eq!(refused.status, 406);
    assert_eq!(refused.header("Vary"), Some("Accept-Encoding"));
    assert_eq!(get_with(&server, "/a.css", "*;q=0").status, 406);
    // A copy that is acceptable is still sent when identity is not.
    let reply = get_with(&server, "/only-gz.js", "gzip, identity;q=0");
    assert_sent(&reply, Some("gzip"), GZIP, "text/javascript; charset=utf-8");
    let reply = get_with(&server, "/a.css", "*;q=0, zstd");
    assert_eq!(reply.header("Content-Encoding"), Some("zstd"));
}

#[test]
fn the_small_file_cache_keeps_encodings_apart() {
    let root = docroot();
    let server = serve(&root);
    let mut client = Client::connect(server.addr);
    // One connection, so one loop and one cache: each encoding is asked
    // for several times in turn, so most answers come from the cache.
    for round in 0..4 {
        for (accept, encoding, body) in [
            ("br", Some("br"), BR),
            ("identity", None, PLAIN),
            ("gzip", Some("gzip"), GZIP),
            ("zstd", Some("zstd"), ZSTD),
        ] {
            client.send(request("GET", "/a.css", &[("Accept-Encoding", accept)]));
            let reply = client.response();
            assert_sent(&reply, encoding, body, "text/css; charset=utf-8");
            let head = request("HEAD", "/a.css", &[("Accept-Encoding", accept)]);
            let head = client.send(head).response_to("HEAD");
            assert_eq!(head.header("ETag"), reply.header("ETag"), "round {round}");
        }
    }
}

#[test]
fn a_copy_that_leads_outside_the_root_is_not_a_copy() {
    let root = docroot();
    std::fs::write(root.outside("secret.br"), b"outside").unwrap();
    root.file("b.css", PLAIN);
    std::os::unix::fs::symlink(root.outside("secret.br"), root.dir.join("b.css.br")).unwrap();
    std::fs::create_dir(root.dir.join("c.css.br")).unwrap();
    root.file("c.css", PLAIN);
    let server = serve(&root);
    for path in ["/b.css", "/c.css"] {
        let reply = get_with(&server, path, "br");
        assert_eq!(reply.body, PLAIN, "{path}");
        assert_eq!(reply.header("Content-Encoding"), None);
        assert_eq!(reply.header("Vary"), None);
    }
}

#[test]
fn a_large_copy_is_sent_from_the_file() {
    let root = docroot();
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    root.file("big.js", b"plain").file("big.js.br", &big);
    let server = serve(&root);
    let reply = get_with(&server, "/big.js", "br");
    assert_eq!(reply.header("Content-Encoding"), Some("br"));
    assert_eq!(reply.body, big);
}

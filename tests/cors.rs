//! `--cors ORIGINS` over real sockets: the contract's "CORS" section, for
//! static files, the welcome page and errors, with `*` and with a list.

mod common;
mod docroot;

use coffeeweb::handlers::cors::Origins;
use coffeeweb::handlers::{Cors, StaticFiles, Welcome};
use coffeeweb::{Handler, Request, Response};
use common::{config, Binary, Client, Reply, TestServer};
use docroot::{fetch, Docroot};

const ALLOWED: &str = "https://app.example";
const OTHER: &str = "https://evil.example";

fn docroot() -> Docroot {
    let root = Docroot::new("cors");
    root.file("data.json", b"{\"a\": 1}")
        .file("app.js", b"let a;")
        .file("app.js.br", b"br");
    root
}

fn files(root: &Docroot, origins: Option<Origins>) -> TestServer {
    let files = StaticFiles::new(&root.dir, false).unwrap();
    TestServer::with_factory(config(), move |_| {
        Cors::new(files.for_another_loop(), origins.clone())
    })
}

fn list() -> Option<Origins> {
    Some(Origins::parse(&format!("{ALLOWED}, http://localhost:5173")).unwrap())
}

fn cors_fields(reply: &Reply) -> Vec<&str> {
    reply
        .headers
        .iter()
        .filter(|(name, _)| name.to_ascii_lowercase().starts_with("access-control-"))
        .map(|(name, _)| name.as_str())
        .collect()
}

fn preflight(addr: std::net::SocketAddr, origin: &str, path: &str) -> Reply {
    fetch(
        addr,
        "OPTIONS",
        path,
        &[
            ("Origin", origin),
            ("Access-Control-Request-Method", "GET"),
            (
                "Access-Control-Request-Headers",
                "x-requested-with, content-type",
            ),
        ],
    )
}

#[test]
fn star_allows_every_origin_on_every_response() {
    let root = docroot();
    let server = files(&root, Some(Origins::Any));
    for (method, path, headers, status) in [
        ("GET", "/data.json", &[("Origin", OTHER)][..], 200),
        ("GET", "/data.json", &[], 200),
        ("HEAD", "/data.json", &[("Origin", ALLOWED)], 200),
        ("GET", "/missing", &[("Origin", ALLOWED)], 404),
        (
            "POST",
            "/data.json",
            &[("Origin", ALLOWED), ("Content-Length", "0")],
            405,
        ),
    ] {
        let reply = fetch(server.addr, method, path, headers);
        assert_eq!(reply.status, status, "{method} {path}");
        assert_eq!(reply.header("Access-Control-Allow-Origin"), Some("*"));
        assert_eq!(reply.header("Vary"), None, "* does not depend on Origin");
    }
}

#[test]
fn a_listed_origin_gets_itself_back_with_vary() {
    let root = docroot();
    let server = files(&root, list());
    let reply = fetch(server.addr, "GET", "/data.json", &[("Origin", ALLOWED)]);
    assert_eq!(reply.header("Access-Control-Allow-Origin"), Some(ALLOWED));
    assert_eq!(reply.header("Vary"), Some("Origin"));
    let other = fetch(
        server.addr,
        "GET",
        "/data.json",
        &[("Origin", "http://localhost:5173")],
    );
    assert_eq!(
        other.header("Access-Control-Allow-Origin"),
        Some("http://localhost:5173")
    );
    // One Vary field, both reasons in it.
    let encoded = fetch(
        server.addr,
        "GET",
        "/app.js",
        &[("Origin", ALLOWED), ("Accept-Encoding", "br")],
    );
    assert_eq!(encoded.header("Content-Encoding"), Some("br"));
    assert_eq!(encoded.count("Vary"), 1);
    assert_eq!(encoded.header("Vary"), Some("Accept-Encoding, Origin"));
}

#[test]
fn an_origin_not_listed_gets_no_cors_field() {
    let root = docroot();
    let server = files(&root, list());
    for headers in [
        &[("Origin", OTHER)][..],
        &[],
        &[("Origin", "https://app.example.evil")],
    ] {
        let reply = fetch(server.addr, "GET", "/data.json", headers);
        assert_eq!(reply.status, 200);
        assert!(cors_fields(&reply).is_empty(), "{headers:?}: {reply:?}");
        assert_eq!(
            reply.header("Vary"),
            Some("Origin"),
            "caches must keep them apart"
        );
    }
}

#[test]
fn a_preflight_from_an_allowed_origin_is_answered_204() {
    let root = docroot();
    for (origins, allow_origin) in [(list(), ALLOWED), (Some(Origins::Any), "*")] {
        let server = files(&root, origins);
        let reply = preflight(server.addr, ALLOWED, "/data.json");
        assert_eq!(reply.status, 204);
        assert!(reply.body.is_empty());
        assert_eq!(reply.header("Content-Length"), None);
        assert_eq!(
            reply.header("Access-Control-Allow-Origin"),
            Some(allow_origin)
        );
        assert_eq!(
            reply.header("Access-Control-Allow-Methods"),
            Some("GET, HEAD")
        );
        assert_eq!(
            reply.header("Access-Control-Allow-Headers"),
            Some("x-requested-with, content-type")
        );
        assert_eq!(reply.header("Access-Control-Max-Age"), Some("86400"));
    }
}

#[test]
fn a_preflight_from_elsewhere_gets_what_options_gets_without_cors() {
    let root = docroot();
    let without = files(&root, None);
    let plain = preflight(without.addr, OTHER, "/data.json");
    let server = files(&root, list());
    let refused = preflight(server.addr, OTHER, "/data.json");
    assert_eq!(refused.status, plain.status);
    assert_eq!(refused.status, 405);
    assert_eq!(refused.header("Allow"), plain.header("Allow"));
    assert_eq!(refused.body, plain.body);
    assert!(cors_fields(&refused).is_empty());
    assert!(cors_fields(&plain).is_empty(), "no CORS without --cors");
    // OPTIONS without Access-Control-Request-Method is no preflight.
    let options = fetch(server.addr, "OPTIONS", "/data.json", &[("Origin", ALLOWED)]);
    assert_eq!(options.status, 405);
    assert_eq!(options.header("Access-Control-Allow-Origin"), Some(ALLOWED));
}

#[test]
fn allow_methods_come_from_the_handler() {
    #[derive(Clone)]
    struct Api;
    impl Handler for Api {
        fn handle(&mut self, _req: &Request<'_>, res: &mut Response) {
            res.set_body("ok");
        }
        fn allowed_methods(&self, req: &Request<'_>) -> &'static str {
            if req.path().starts_with("/api/") {
                "GET, POST, DELETE"
            } else {
                "GET, HEAD"
            }
        }
    }
    let server = TestServer::with_handler(config(), Cors::new(Api, list()));
    let api = preflight(server.addr, ALLOWED, "/api/items");
    assert_eq!(
        api.header("Access-Control-Allow-Methods"),
        Some("GET, POST, DELETE")
    );
    let page = preflight(server.addr, ALLOWED, "/index.html");
    assert_eq!(
        page.header("Access-Control-Allow-Methods"),
        Some("GET, HEAD")
    );
}

#[test]
fn early_refusals_and_the_welcome_page_get_the_fields() {
    let server = TestServer::with_handler(config(), Cors::new(Welcome, list()));
    let mut client = Client::connect(server.addr);
    client.send(format!(
        "POST / HTTP/1.1\r\nHost: t\r\nOrigin: {ALLOWED}\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
    ));
    let refused = client.response();
    assert_eq!(refused.status, 405);
    assert_eq!(refused.header("Access-Control-Allow-Origin"), Some(ALLOWED));
    let page = fetch(server.addr, "GET", "/", &[("Origin", ALLOWED)]);
    assert_eq!(page.status, 200);
    assert_eq!(page.header("Access-Control-Allow-Origin"), Some(ALLOWED));
}

#[test]
fn the_binary_takes_cors_and_refuses_what_is_not_an_origin() {
    let binary = Binary::start(&["-l", "127.0.0.1:0", "-q", "--cors", ALLOWED]);
    let reply = fetch(binary.addr, "GET", "/", &[("Origin", ALLOWED)]);
    assert_eq!(reply.header("Access-Control-Allow-Origin"), Some(ALLOWED));
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_coffeeweb"))
        .args(["-l", "127.0.0.1:0", "--cors", "app.example/"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr)
        .starts_with("error: invalid value 'app.example/' for --cors"));
}

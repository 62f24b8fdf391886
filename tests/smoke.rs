//! The quick start works: the welcome page, in-process and as the binary.

mod common;

use common::{config, get, Binary, Client, TestServer};

#[test]
fn welcome_page_in_process() {
    let server = TestServer::start(config());
    let mut client = Client::connect(server.addr);
    let reply = client.send(get("/")).response();
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(reply.text().contains("Welcome to CoffeeWebServer"));
    server.stop().unwrap();
}

#[test]
fn welcome_page_from_the_binary() {
    let binary = Binary::start(&["--listen", "127.0.0.1:0", "--quiet"]);
    assert_ne!(binary.addr.port(), 0);
    let mut client = Client::connect(binary.addr);
    let reply = client.send(get("/")).response();
    assert_eq!(reply.status, 200);
    assert!(reply.text().contains("Welcome to CoffeeWebServer"));
}

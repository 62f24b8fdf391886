//! `--header 'NAME: VALUE'` over real sockets: on every response but 1xx,
//! the server's own errors included, as the last lines of the head, in
//! the order given.

mod common;

use coffeeweb::http::AddedFields;
use coffeeweb::{Config, Request, Response, Status};
use common::{config, echo_server, get, Binary, Client, Reply, TestServer};
use std::time::Duration;

const ADDED: [(&str, &str); 2] = [("X-Frame-Options", "DENY"), ("Cache-Control", "no-cache")];

fn with_fields() -> Config {
    Config {
        added_fields: AddedFields::new(ADDED).unwrap(),
        header_timeout: Duration::from_millis(300),
        ..config()
    }
}

/// The added fields are the last two of the head, in order, once each.
fn assert_added_last(reply: &Reply) {
    let n = reply.headers.len();
    assert!(n >= 2, "{reply:?}");
    let last: Vec<(&str, &str)> = reply.headers[n - 2..]
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    assert_eq!(last, ADDED, "status {}", reply.status);
    assert_eq!(reply.count("X-Frame-Options"), 1);
}

#[test]
fn handler_responses_carry_them_last() {
    let server = TestServer::start(with_fields());
    let mut client = Client::connect(server.addr);
    for (request, method, status) in [
        (get("/"), "GET", 200),
        (
            "HEAD / HTTP/1.1\r\nHost: t\r\n\r\n".to_string(),
            "HEAD",
            200,
        ),
        (get("/missing"), "GET", 404),
        (
            "DELETE / HTTP/1.1\r\nHost: t\r\n\r\n".to_string(),
            "DELETE",
            405,
        ),
    ] {
        let reply = client.send(request).response_to(method);
        assert_eq!(reply.status, status);
        assert_added_last(&reply);
    }
}

#[test]
fn bodiless_statuses_carry_them_too() {
    let handler = |req: &Request<'_>, res: &mut Response| {
        let status = if req.path() == "/204" {
            Status::NO_CONTENT
        } else {
            Status::NOT_MODIFIED
        };
        res.set_status(status).header("ETag", "\"x\"");
    };
    let server = TestServer::with_handler(with_fields(), handler);
    let mut client = Client::connect(server.addr);
    for path in ["/204", "/304"] {
        let reply = client.send(get(path)).response();
        assert_added_last(&reply);
    }
}

#[test]
fn the_servers_own_errors_carry_them() {
    let server = TestServer::start(with_fields());
    for (bytes, status) in [
        ("GET / HTTP/1.1\r\n\r\n", 400),
        ("GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505),
        (
            "GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n",
            501,
        ),
        (
            "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999\r\n\r\n",
            413,
        ),
    ] {
        let reply = Client::connect(server.addr).send(bytes).response();
        assert_eq!(reply.status, status, "{bytes:?}");
        assert_added_last(&reply);
    }
    // Part of a head, then silence: 408 once the header timeout passes.
    let reply = Client::connect(server.addr).send("GET / HT").response();
    assert_eq!(reply.status, 408);
    assert_added_last(&reply);
}

#[test]
fn an_interim_100_continue_does_not_carry_them() {
    let server = echo_server(with_fields());
    let mut client = Client::connect(server.addr);
    client.send("POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    let interim = client.response();
    assert_eq!(interim.status, 100);
    assert!(interim.headers.is_empty(), "{interim:?}");
    let reply = client.send("hello").response();
    assert_eq!(reply.text(), "POST /e 5 hello");
    assert_added_last(&reply);
}

#[test]
fn the_binary_takes_the_flag_repeated() {
    let binary = Binary::start(&[
        "-l",
        "127.0.0.1:0",
        "-q",
        "--header",
        "X-Frame-Options: DENY",
        "--header=Cache-Control:no-cache",
    ]);
    let reply = Client::connect(binary.addr).send(get("/")).response();
    assert_added_last(&reply);
}

#[test]
fn the_binary_refuses_fields_it_cannot_send_naming_the_flag() {
    for field in [
        "Bad Name: x",
        "X-A: a\u{1}b",
        "Server: other",
        "Vary: Origin",
        "no colon",
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_coffeeweb"))
            .args(["-l", "127.0.0.1:0", "--header", field])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{field:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr
                .lines()
                .next()
                .unwrap_or_default()
                .contains("--header"),
            "{stderr}"
        );
        assert!(output.stdout.is_empty(), "nothing bound for {field:?}");
    }
}

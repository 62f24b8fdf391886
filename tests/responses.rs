//! What every response looks like on the wire: status line, `Date`,
//! `Server`, `Content-Length`; HEAD; error bodies; the welcome handler's
//! routes and methods; handler panics and invalid handler headers.

mod common;

use common::{config, echo_server, get, Client, TestServer};

/// RFC 9110 §5.6.7 IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
fn is_imf_fixdate(date: &str) -> bool {
    let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let parts: Vec<&str> = date.split(' ').collect();
    parts.len() == 6
        && parts[0].len() == 4
        && days.contains(&&parts[0][..3])
        && parts[0].ends_with(',')
        && parts[1].len() == 2
        && parts[1].chars().all(|c| c.is_ascii_digit())
        && months.contains(&parts[2])
        && parts[3].len() == 4
        && parts[4].len() == 8
        && parts[4]
            .split(':')
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_digit()))
        && parts[5] == "GMT"
}

fn raw_head(client: &mut Client, request: &str) -> String {
    client.send(request);
    let bytes = client.read_to_end();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn every_response_has_status_line_date_server_and_length() {
    let server = echo_server(config());
    let mut client = Client::connect(server.addr);
    for (request, status) in [
        (get("/"), 200),
        (get("/panic"), 500),
        ("DELETE /x HTTP/1.1\r\nHost: t\r\n\r\n".to_string(), 200),
    ] {
        let reply = client.send(&request).response();
        assert_eq!(reply.status, status, "{request}");
        assert!(
            is_imf_fixdate(reply.header("date").unwrap()),
            "{:?}",
            reply.header("date")
        );
        assert_eq!(reply.header("server"), Some("coffeeweb"));
        assert_eq!(reply.count("content-length"), 1);
        assert_eq!(
            reply.header("content-length").unwrap(),
            reply.body.len().to_string()
        );
    }
    // Error responses from the parser carry the same fields.
    let mut bad = Client::connect(server.addr);
    let text = raw_head(&mut bad, "GET / HTTP/1.1\r\nHost : t\r\n\r\n");
    assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
    assert!(text.contains("\r\nServer: coffeeweb\r\n"));
    assert!(text.contains("\r\nDate: "));
    assert!(text.contains("\r\nContent-Length: "));
}

#[test]
fn the_status_line_is_http11_even_for_http10_requests() {
    let server = TestServer::start(config());
    let mut client = Client::connect(server.addr);
    let text = raw_head(&mut client, "GET / HTTP/1.0\r\n\r\n");
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
}

#[test]
fn head_gets_get_headers_without_a_body() {
    let server = TestServer::start(config());
    let mut client = Client::connect(server.addr);
    let get_reply = client.send(get("/")).response();
    let head_reply = client
        .send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n")
        .response_to("HEAD");
    assert_eq!(head_reply.status, 200);
    assert!(head_reply.body.is_empty());
    for name in ["content-length", "content-type", "server"] {
        assert_eq!(head_reply.header(name), get_reply.header(name), "{name}");
    }
    // Nothing follows the head: the next response starts right after it.
    assert_eq!(client.send(get("/nope")).response().status, 404);
}

#[test]
fn error_responses_have_short_plain_text_bodies() {
    let server = TestServer::start(config());
    let mut client = Client::connect(server.addr);
    let reply = client.send(get("/missing")).response();
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert!(!reply.body.is_empty() && reply.body.len() < 200);
    let mut bad = Client::connect(server.addr);
    let reply = bad.send("GET / HTTP/2.0\r\nHost: t\r\n\r\n").response();
    assert_eq!(reply.status, 505);
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert!(!reply.body.is_empty() && reply.body.len() < 200);
}

#[test]
fn welcome_page_routes_and_methods() {
    let server = TestServer::start(config());
    let mut client = Client::connect(server.addr);
    let page = client.send(get("/")).response();
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(page.text().contains("Welcome to CoffeeWebServer"));
    assert_eq!(client.send(get("/?utm=1")).response().status, 200);
    for path in ["/index.html", "/favicon.ico", "/a/b"] {
        assert_eq!(client.send(get(path)).response().status, 404, "{path}");
    }
    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "get"] {
        let request = format!("{method} / HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
        let reply = client.send(request).response();
        assert_eq!(reply.status, 405, "{method}");
        assert_eq!(reply.header("allow"), Some("GET, HEAD"), "{method}");
    }
}

#[test]
fn a_panicking_handler_is_that_requests_500_only() {
    let server = echo_server(config());
    let mut victim = Client::connect(server.addr);
    let mut bystander = Client::connect(server.addr);
    assert_eq!(victim.send(get("/panic")).response().status, 500);
    // The same connection, another connection, and a new one go on.
    assert_eq!(victim.send(get("/ok")).response().text(), "GET /ok 0 ");
    assert_eq!(bystander.send(get("/ok")).response().status, 200);
    assert_eq!(
        Client::connect(server.addr)
            .send(get("/ok"))
            .response()
            .status,
        200
    );
}

#[test]
fn an_invalid_handler_header_becomes_a_500_not_a_split_response() {
    let server = echo_server(config());
    let mut client = Client::connect(server.addr);
    let reply = client.send(get("/bad-header")).response();
    assert_eq!(reply.status, 500);
    assert_eq!(reply.header("injected"), None);
    assert_eq!(client.send(get("/ok")).response().status, 200);
}

#[test]
fn no_body_and_no_length_on_204_and_304() {
    let server = TestServer::with_handler(
        config(),
        |req: &coffeeweb::Request<'_>, res: &mut coffeeweb::Response| {
            let status = if req.path() == "/204" {
                coffeeweb::Status::NO_CONTENT
            } else {
                coffeeweb::Status::NOT_MODIFIED
            };
            res.set_status(status).set_body("must not be sent");
        },
    );
    let mut client = Client::connect(server.addr);
    for path in ["/204", "/304"] {
        let reply = client.send(get(path)).response();
        assert!(reply.body.is_empty(), "{path}");
        assert_eq!(reply.header("content-length"), None, "{path}");
    }
    // Nothing of the forbidden bodies leaked onto the connection.
    assert_eq!(client.send(get("/204")).response().status, 204);
}

//! Connection handling over real sockets: keep-alive per version, close
//! from either side, pipelining in one write and split over many, byte at
//! a time, half-close, a request flood on one connection, partial writes
//! to a slow reader.

mod common;

use common::{config, echo_server, get, pattern, Client, TestServer};
use std::io::{Read, Write};
use std::time::Duration;

#[test]
fn http11_keeps_the_connection_open() {
    let server = TestServer::start(config());
    let mut client = Client::connect(server.addr);
    for _ in 0..5 {
        let reply = client.send(get("/")).response();
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("connection"), None);
    }
}

#[test]
fn connection_close_from_the_client_closes_after_the_response() {
    let server = TestServer::start(config());
    let mut client = Client::connect(server.addr);
    let reply = client
        .send("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .response();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("connection"), Some("close"));
    client.assert_closed();
}

#[test]
fn connection_close_from_the_handler_closes_after_the_response() {
    let server = echo_server(config());
    let mut client = Client::connect(server.addr);
    let reply = client.send(get("/close")).response();
    assert_eq!(reply.text(), "bye");
    assert_eq!(reply.header("connection"), Some("close"));
    client.assert_closed();
}

#[test]
fn http10_closes_by_default() {
    let server = TestServer::start(config());
    let mut client = Client::connect(server.addr);
    let reply = client.send("GET / HTTP/1.0\r\n\r\n").response();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("connection"), Some("close"));
    client.assert_closed();
}

#[test]
fn http10_keep_alive_is_honoured_and_echoed() {
    let server = TestServer::start(config());
    let mut client = Client::connect(server.addr);
    for _ in 0..3 {
        let reply = client
            .send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .response();
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("connection"), Some("keep-alive"));
    }
    let last = client.send("GET / HTTP/1.0\r\n\r\n").response();
    assert_eq!(last.header("connection"), Some("close"));
    client.assert_closed();
}

#[test]
fn http1x_minor_versions_above_one_are_http11() {
    let server = TestServer::start(config());
    let mut client = Client::connect(server.addr);
    let reply = client.send("GET / HTTP/1.7\r\nHost: t\r\n\r\n").response();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("connection"), None, "kept alive like 1.1");
    assert_eq!(client.send(get("/")).response().status, 200);
}

fn pipelined_batch(n: usize) -> (Vec<u8>, Vec<String>) {
    let mut bytes = Vec::new();
    let mut paths = Vec::new();
    for i in 0..n {
        let path = format!("/p{i}");
        bytes.extend_from_slice(get(&path).as_bytes());
        paths.push(path);
    }
    (bytes, paths)
}

#[test]
fn pipelined_requests_in_one_write_are_answered_in_order() {
    let server = echo_server(config());
    let mut client = Client::connect(server.addr);
    let (bytes, paths) = pipelined_batch(20);
    client.send(bytes);
    for path in paths {
        assert_eq!(client.response().text(), format!("GET {path} 0 "));
    }
}

#[test]
fn a_request_split_over_many_writes_is_reassembled() {
    let server = echo_server(config());
    let mut client = Client::connect(server.addr);
    let request = b"POST /split HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello";
    for piece in request.chunks(7) {
        client.send(piece);
        client.stream.flush().unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(client.response().text(), "POST /split 5 hello");
}

#[test]
fn byte_at_a_time_pipelined_requests() {
    let server = echo_server(config());
    let mut client = Client::connect(server.addr);
    let (bytes, paths) = pipelined_batch(3);
    for byte in bytes {
        client.send([byte]);
    }
    for path in paths {
        assert_eq!(client.response().text(), format!("GET {path} 0 "));
    }
}

#[test]
fn half_closed_client_still_gets_its_responses() {
    let server = echo_server(config());
    let mut client = Client::connect(server.addr);
    let (bytes, paths) = pipelined_batch(3);
    client.send(bytes);
    client.shutdown_write();
    for path in paths {
        assert_eq!(client.response().text(), format!("GET {path} 0 "));
    }
    client.assert_closed();
}

#[test]
fn a_flood_of_pipelined_requests_is_answered_in_order() {
    let server = echo_server(config());
    let mut client = Client::connect(server.addr);
    let (bytes, paths) = pipelined_batch(5000);
    let mut writer = client.stream.try_clone().unwrap();
    // Write on another thread: the server answers while we send, and
    // neither side may wait for the other to finish first.
    let sender = std::thread::spawn(move || writer.write_all(&bytes).unwrap());
    for path in &paths {
        assert_eq!(client.response().text(), format!("GET {path} 0 "));
    }
    sender.join().unwrap();
}

#[test]
fn a_slow_reader_gets_every_byte() {
    let server = echo_server(config());
    let mut client = Client::connect(server.addr);
    let size = 8 * 1024 * 1024;
    client.send(get(&format!("/big/{size}")));
    // Read slowly at first, so that the server's writes are partial and it
    // must resume on WRITABLE; then read the rest and check every byte.
    let mut received = Vec::new();
    let mut chunk = vec![0u8; 4096];
    for _ in 0..20 {
        let n = client.stream.read(&mut chunk).unwrap();
        received.extend_from_slice(&chunk[..n]);
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(&received).unwrap() {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => panic!("head not in the first 80 KiB"),
    };
    while received.len() < head_len + size {
        let n = client.stream.read(&mut chunk).unwrap();
        assert!(n > 0, "closed early");
        received.extend_from_slice(&chunk[..n]);
    }
    assert_eq!(received.len(), head_len + size, "nothing after the body");
    assert!(received[head_len..] == pattern(size)[..], "body corrupted");
}

#[test]
fn partial_writes_are_resumed_byte_exact() {
    let server = echo_server(config());
    let mut client = Client::connect(server.addr);
    let size = 4 * 1024 * 1024;
    // Two pipelined big responses: the second must follow the first
    // exactly, across partial writes.
    client.send(format!("{}{}", get(&format!("/big/{size}")), get("/after")));
    std::thread::sleep(Duration::from_millis(200));
    let first = client.response();
    assert_eq!(first.body.len(), size);
    assert!(first.body == pattern(size));
    assert_eq!(client.response().text(), "GET /after 0 ");
}

#[test]
fn a_half_close_after_an_answer_is_seen_at_once() {
    // The answer's read was short, so the server stopped reading without
    // an EAGAIN; the FIN that comes later must still raise an edge and be
    // read (a read returning 0), long before the keep-alive timeout.
    let server = echo_server(coffeeweb::Config {
        keep_alive_timeout: Duration::from_secs(60),
        ..config()
    });
    let mut client = Client::connect(server.addr);
    client
        .stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    assert_eq!(client.send(get("/a")).response().text(), "GET /a 0 ");
    client.shutdown_write();
    client.assert_closed();
}

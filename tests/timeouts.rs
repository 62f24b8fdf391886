//! Deadlines, with short durations: the header timeout (408 when part of a
//! head came, a silent close when nothing did), slowloris cut off whatever
//! it sends while others are served quickly, keep-alive idle, body stalls
//! and progress, and a client that does not read. A test waits for a
//! deadline by blocking on the socket until the server acts (its close is
//! the readiness signal), never by sleeping and then checking.

mod common;

use coffeeweb::Config;
use common::{config, echo_server, get, Client};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn short(config: Config) -> Config {
    Config {
        header_timeout: ms(400),
        body_timeout: ms(400),
        keep_alive_timeout: ms(400),
        write_timeout: ms(400),
        ..config
    }
}

/// Blocks until the server closes; returns what it sent meanwhile and
/// how long that took.
fn until_closed(client: &mut Client) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let bytes = client.read_to_end();
    (bytes, started.elapsed())
}

#[test]
fn a_partial_head_gets_408_at_the_header_deadline() {
    let server = echo_server(short(config()));
    let mut client = Client::connect(server.addr);
    let started = Instant::now();
    client.send("GET / HTTP/1.1\r\nHost: t\r\n");
    let reply = client.response();
    let waited = started.elapsed();
    assert_eq!(reply.status, 408);
    assert_eq!(reply.header("connection"), Some("close"));
    assert!(waited >= ms(350) && waited < ms(3000), "{waited:?}");
    client.assert_closed();
}

#[test]
fn a_connection_that_sends_nothing_is_closed_silently() {
    let server = echo_server(short(config()));
    let mut client = Client::connect(server.addr);
    let (bytes, waited) = until_closed(&mut client);
    assert!(bytes.is_empty(), "{:?}", String::from_utf8_lossy(&bytes));
    // Closed at the header deadline, not a defer time later
    // (tests/idle_connections.rs holds the margin to tens of ms).
    assert!(waited >= ms(350) && waited < ms(1000), "{waited:?}");
}

#[test]
fn slowloris_is_cut_off_at_the_deadline_while_others_are_served() {
    let server = echo_server(short(config()));
    let mut loris = Client::connect(server.addr);
    let head = b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    let started = Instant::now();
    let mut writer = loris.stream.try_clone().unwrap();
    let trickle = std::thread::spawn(move || {
        for byte in head.iter().cycle().take(200) {
            if writer.write_all(&[*byte]).is_err() {
                return;
            }
            std::thread::sleep(ms(20));
        }
    });
    // Meanwhile a well-behaved client is served quickly, again and again.
    let mut polite = Client::connect(server.addr);
    let mut slowest = Duration::ZERO;
    while started.elapsed() < ms(300) {
        let asked = Instant::now();
        assert_eq!(polite.send(get("/")).response().status, 200);
        slowest = slowest.max(asked.elapsed());
    }
    assert!(slowest < ms(200), "a polite request took {slowest:?}");
    let reply = loris.response();
    let waited = started.elapsed();
    assert_eq!(reply.status, 408);
    assert!(
        waited >= ms(350) && waited < ms(2000),
        "progress must not extend it: {waited:?}"
    );
    trickle.join().unwrap();
}

#[test]
fn an_idle_keep_alive_connection_is_closed() {
    let server = echo_server(short(config()));
    let mut client = Client::connect(server.addr);
    assert_eq!(client.send(get("/")).response().status, 200);
    let (bytes, waited) = until_closed(&mut client);
    assert!(bytes.is_empty());
    assert!(waited >= ms(350) && waited < ms(3000), "{waited:?}");
}

#[test]
fn the_keep_alive_deadline_restarts_after_each_response() {
    let server = echo_server(short(config()));
    let mut client = Client::connect(server.addr);
    // Five requests spaced 200 ms apart take longer than one keep-alive
    // timeout in all, yet each idle pause is shorter than one. (Waiting
    // between requests is the behaviour under test.)
    for _ in 0..5 {
        assert_eq!(client.send(get("/")).response().status, 200);
        std::thread::sleep(ms(200));
    }
}

#[test]
fn the_header_deadline_of_a_later_request_counts_from_its_first_byte() {
    let server = echo_server(Config {
        header_timeout: ms(400),
        keep_alive_timeout: ms(2000),
        ..short(config())
    });
    let mut client = Client::connect(server.addr);
    assert_eq!(client.send(get("/")).response().status, 200);
    // Idle longer than a header timeout (the keep-alive timeout allows
    // it): the second head's deadline must not count this pause.
    std::thread::sleep(ms(600));
    let started = Instant::now();
    client.send("GET / HTTP/1.1\r\nHost: t\r\n");
    let reply = client.response();
    let waited = started.elapsed();
    assert_eq!(reply.status, 408);
    assert!(waited >= ms(350) && waited < ms(1000), "{waited:?}");
    client.assert_closed();
}

#[test]
fn a_stalled_body_is_closed_without_a_response() {
    let server = echo_server(short(config()));
    let mut client = Client::connect(server.addr);
    client.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
    let (bytes, waited) = until_closed(&mut client);
    assert!(bytes.is_empty(), "{:?}", String::from_utf8_lossy(&bytes));
    // The body deadline (400 ms) from the last body byte.
    assert!(waited >= ms(350) && waited < ms(1000), "{waited:?}");
}

#[test]
fn body_progress_resets_the_body_deadline() {
    let server = echo_server(short(config()));
    let mut client = Client::connect(server.addr);
    client.send("POST /slow HTTP/1.1\r\nHost: t\r\nContent-Length: 8\r\n\r\n");
    // 8 bytes, 150 ms apart: 1.2 s in all, three body timeouts.
    for byte in b"abcdefgh" {
        std::thread::sleep(ms(150));
        client.send([*byte]);
    }
    assert_eq!(client.response().text(), "POST /slow 8 abcdefgh");
}

#[test]
fn a_client_that_does_not_read_is_closed_at_the_write_deadline() {
    let server = echo_server(short(config()));
    let mut client = Client::connect(server.addr);
    let size = 64 * 1024 * 1024;
    client.send(get(&format!("/big/{size}")));
    // The response has started once its first byte is here (the handler
    // builds 64 MiB first, which takes a while on a loaded machine, and
    // the write deadline cannot run before the writes do).
    let mut first = [0u8; 1];
    assert_eq!(client.stream.read(&mut first).unwrap(), 1);
    // Not reading is the behaviour under test: wait well past the write
    // deadline, then find the connection cut short.
    std::thread::sleep(ms(1500));
    let mut received = 1;
    let mut chunk = vec![0u8; 1 << 20];
    loop {
        match client.stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => received += n,
        }
    }
    assert!(
        received < size,
        "the whole body arrived: the write timeout did not fire"
    );
}

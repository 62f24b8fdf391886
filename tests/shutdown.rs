//! Graceful shutdown: on SIGINT or SIGTERM (and `ServerHandle::shutdown`)
//! the server stops accepting at once, closes idle connections, finishes
//! the requests under way, and exits 0 within `--shutdown-timeout`, even
//! when a client will not finish.

mod common;

use common::{config, echo_server, get, Binary, Client};
use std::io::ErrorKind;
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn graceful(signal: i32) {
    let mut binary = Binary::start(&["-q", "--listen", "127.0.0.1:0", "--shutdown-timeout", "5s"]);
    let mut idle = Client::connect(binary.addr);
    assert_eq!(idle.send(get("/")).response().status, 200);
    let mut under_way = Client::connect(binary.addr);
    under_way.send("GET / HTTP/1.1\r\nHost: t\r\n");
    // Let the server see the partial head before the signal: a complete
    // request on a third connection is answered only after that.
    assert_eq!(
        Client::connect(binary.addr)
            .send(get("/"))
            .response()
            .status,
        200
    );

    let signalled = Instant::now();
    binary.signal(signal);
    // The idle connection is closed at once.
    idle.assert_closed();
    // New connections are refused once the listener is gone.
    let refused = (0..100).any(|_| match TcpStream::connect(binary.addr) {
        Err(e) => e.kind() == ErrorKind::ConnectionRefused,
        Ok(_) => false,
    });
    assert!(refused, "still accepting after the signal");
    // The request under way is finished, as the connection's last.
    let reply = under_way.send("\r\n").response();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("connection"), Some("close"));
    under_way.assert_closed();
    let status = binary
        .wait_exit(Duration::from_secs(5))
        .expect("exited in time");
    assert!(status.success(), "{status:?}");
    assert!(signalled.elapsed() < Duration::from_secs(5));
}

#[test]
fn sigterm_is_graceful() {
    graceful(libc::SIGTERM);
}

#[test]
fn sigint_is_graceful() {
    graceful(libc::SIGINT);
}

#[test]
fn a_client_that_never_finishes_is_cut_at_the_shutdown_timeout() {
    let mut binary = Binary::start(&[
        "-q",
        "--listen",
        "127.0.0.1:0",
        "--shutdown-timeout",
        "500ms",
    ]);
    let mut stuck = Client::connect(binary.addr);
    stuck.send("GET / HTTP/1.1\r\nHost: t\r\n");
    assert_eq!(
        Client::connect(binary.addr)
            .send(get("/"))
            .response()
            .status,
        200
    );
    let signalled = Instant::now();
    binary.signal(libc::SIGTERM);
    let status = binary.wait_exit(Duration::from_secs(5)).expect("exited");
    let took = signalled.elapsed();
    assert!(status.success(), "{status:?}");
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

#[test]
fn the_handle_shuts_an_in_process_server_down() {
    let server = echo_server(config());
    let mut idle = Client::connect(server.addr);
    assert_eq!(idle.send(get("/")).response().status, 200);
    let addr = server.addr;
    let started = Instant::now();
    server.stop().expect("run returns Ok");
    assert!(started.elapsed() < Duration::from_secs(2));
    idle.assert_closed();
    assert!(TcpStream::connect(addr).is_err(), "still accepting");
}

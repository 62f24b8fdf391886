//! Connections that complete the handshake and then send nothing are the
//! server's like any other: the header timeout closes them (a few tens of
//! ms late at most), and a shutdown closes them at once. The kernel must
//! not hold them out of the server's sight (`TCP_DEFER_ACCEPT` did: a
//! silent client was closed only after the defer time plus the header
//! timeout, and outlived a SIGINT).
//!
//! Every duration is measured from before `connect` to the EOF or reset,
//! by blocking on the socket until the server acts.

mod common;

use coffeeweb::Config;
use common::{config, echo_server, get, Binary, Client};
use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// How late a close may come: the contract allows "a few tens of ms"; this
/// leaves room for a loaded two-core CI machine.
const MARGIN: Duration = Duration::from_millis(150);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Blocks until the peer closes `stream` (EOF or reset); panics if bytes
/// come instead, or if nothing happens within 10 s.
fn wait_closed(stream: &mut TcpStream) {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut byte = [0u8; 1];
    match common::read_some(stream, &mut byte) {
        Ok(0) => {}
        Ok(_) => panic!("a silent connection got a byte: {:?}", byte[0] as char),
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        Err(e) => panic!("a silent connection was not closed: {e}"),
    }
}

/// Connects, sends nothing, and returns how long the server took to close.
fn silent_lifetime(addr: SocketAddr) -> Duration {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).expect("connect");
    wait_closed(&mut stream);
    started.elapsed()
}

fn closed_within_the_header_timeout(timeout: Duration) {
    let server = echo_server(Config {
        header_timeout: timeout,
        ..config()
    });
    let lived = silent_lifetime(server.addr);
    eprintln!("header timeout {timeout:?}: a silent connection lived {lived:?}");
    assert!(
        lived >= timeout - ms(20) && lived <= timeout + MARGIN,
        "header timeout {timeout:?}, closed after {lived:?}"
    );
}

#[test]
fn a_silent_connection_is_closed_at_a_250ms_header_timeout() {
    closed_within_the_header_timeout(ms(250));
}

#[test]
fn a_silent_connection_is_closed_at_a_1s_header_timeout() {
    closed_within_the_header_timeout(ms(1000));
}

#[test]
fn the_binary_closes_a_silent_connection_at_the_header_timeout() {
    let binary = Binary::start(&["-q", "--listen", "127.0.0.1:0", "--header-timeout", "250ms"]);
    let lived = silent_lifetime(binary.addr);
    assert!(lived <= ms(250) + MARGIN, "closed after {lived:?}");
}

/// Opens one connection that sends nothing, then `busy` with a partial
/// head each, and proves the server has read every one of those heads (a
/// complete request on a last connection is answered after them).
fn silent_and_busy(addr: SocketAddr, busy: usize) -> (TcpStream, Vec<Client>) {
    let silent = TcpStream::connect(addr).expect("connect");
    let busy: Vec<Client> = (0..busy)
        .map(|_| {
            let mut client = Client::connect(addr);
            client.send("GET / HTTP/1.1\r\nHost: t\r\n");
            client
        })
        .collect();
    assert_eq!(Client::connect(addr).send(get("/")).response().status, 200);
    (silent, busy)
}

#[test]
fn sigint_closes_a_silent_connection_at_once_and_finishes_the_others() {
    let mut binary = Binary::start(&[
        "-q",
        "--listen",
        "127.0.0.1:0",
        "--header-timeout",
        "30s",
        "--shutdown-timeout",
        "5s",
    ]);
    let (mut silent, mut busy) = silent_and_busy(binary.addr, 5);
    let signalled = Instant::now();
    binary.signal(libc::SIGINT);
    wait_closed(&mut silent);
    let closed_after = signalled.elapsed();
    assert!(
        closed_after <= MARGIN,
        "closed {closed_after:?} after SIGINT"
    );
    for client in &mut busy {
        let reply = client.send("\r\n").response();
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("connection"), Some("close"));
        client.assert_closed();
    }
    let status = binary.wait_exit(Duration::from_secs(5)).expect("exited");
    assert!(status.success(), "{status:?}");
}

#[test]
fn the_handle_closes_a_silent_connection_at_once() {
    let server = echo_server(Config {
        header_timeout: Duration::from_secs(30),
        ..config()
    });
    let (mut silent, mut busy) = silent_and_busy(server.addr, 1);
    let handle = server.handle.clone();
    let started = Instant::now();
    handle.shutdown();
    wait_closed(&mut silent);
    let closed_after = started.elapsed();
    assert!(
        closed_after <= MARGIN,
        "closed {closed_after:?} after shutdown"
    );
    let reply = busy[0].send("\r\n").response();
    assert_eq!(reply.status, 200);
    server.stop().expect("run returns Ok");
}

/// The opt-in `deferred_accept` (TCP_DEFER_ACCEPT) still serves every
/// request, the first bytes read at accept; it is opt-in because a silent
/// client escapes the deadlines above.
#[test]
fn deferred_accept_serves_requests() {
    let server = echo_server(Config {
        deferred_accept: true,
        ..config()
    });
    for _ in 0..20 {
        let reply = Client::connect(server.addr)
            .send("GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            .response();
        assert_eq!(reply.text(), "GET /x 0 ");
    }
}

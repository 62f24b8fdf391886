//! Resource limits under hostile clients: `--max-connections`, a client
//! that sends without reading (backpressure), resets in the middle of
//! requests and responses, and the process out of file descriptors
//! (RLIMIT_NOFILE) with more clients than it can hold.

mod common;

use coffeeweb::Config;
use common::{config, echo_server, get, Binary, Client};
use socket2::SockRef;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Whether the server closes `stream` without answering a request on it.
fn refused(stream: TcpStream) -> bool {
    let mut client = Client::new(stream);
    client
        .stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = client.stream.write_all(get("/").as_bytes());
    let mut byte = [0u8; 1];
    match common::read_some(&mut client.stream, &mut byte) {
        Ok(0) => true,
        Err(e) => e.kind() == ErrorKind::ConnectionReset,
        Ok(_) => false,
    }
}

#[test]
fn past_max_connections_new_ones_are_closed_and_room_returns() {
    let server = echo_server(Config {
        max_connections: 3,
        ..config()
    });
    let mut held: Vec<Client> = (0..3).map(|_| Client::connect(server.addr)).collect();
    for client in &mut held {
        assert_eq!(client.send(get("/")).response().status, 200);
    }
    assert!(
        refused(common::connect(server.addr)),
        "a 4th connection was served"
    );
    // The held ones are still served.
    for client in &mut held {
        assert_eq!(client.send(get("/again")).response().status, 200);
    }
    // Room returns once one closes (as soon as the server has seen the
    // close; retry until then, each try waiting on the socket).
    drop(held.pop());
    let served = (0..50).any(|_| !refused(common::connect(server.addr)));
    assert!(served, "no room after a close");
    assert!(server.handle.stats().connections_refused >= 1);
}

/// A refused client whose request was already in the kernel when the
/// server accepted it gets a FIN (retransmitted until it arrives), not a
/// RST (sent once: lost on a lossy link, the client would wait forever).
#[test]
fn a_refused_client_whose_request_had_arrived_sees_a_clean_close() {
    use std::sync::{Arc, Condvar, Mutex};
    // (the loop is inside the handler, the handler may return)
    let gate = Arc::new((Mutex::new((false, false)), Condvar::new()));
    let held = gate.clone();
    // `/hold` keeps the (only) loop inside the handler until the test
    // opens the gate, so that the next connection waits in the accept
    // queue with its request beside it.
    let handler = move |req: &coffeeweb::Request<'_>, res: &mut coffeeweb::Response| {
        if req.path() == "/hold" {
            let (state, cv) = &*held;
            let mut guard = state.lock().unwrap();
            guard.0 = true;
            cv.notify_all();
            let _ = cv
                .wait_timeout_while(guard, common::IO_TIMEOUT, |s| !s.1)
                .unwrap();
        }
        res.set_body("ok");
    };
    let server = common::TestServer::with_handler(
        Config {
            max_connections: 1,
            ..config()
        },
        handler,
    );
    let mut first = Client::connect(server.addr);
    first.send(get("/hold"));
    let (state, cv) = &*gate;
    let (guard, waited) = cv
        .wait_timeout_while(state.lock().unwrap(), common::IO_TIMEOUT, |s| !s.0)
        .unwrap();
    assert!(!waited.timed_out(), "the handler was never called");
    drop(guard);
    let mut second = common::connect(server.addr);
    second
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    // On loopback the bytes are in the queued socket when write returns.
    second.write_all(get("/").as_bytes()).unwrap();
    state.lock().unwrap().1 = true;
    cv.notify_all();
    assert_eq!(first.response().status, 200);
    let mut byte = [0u8; 1];
    match second.read(&mut byte) {
        Ok(0) => {}
        other => panic!("the refused connection got {other:?}, want a clean close (EOF)"),
    }
    assert_eq!(server.handle.stats().connections_refused, 1);
}

#[test]
fn a_client_that_never_reads_is_paused_not_buffered() {
    let server = echo_server(config());
    let stream = common::connect(server.addr);
    stream
        .set_write_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    // Each request asks for 64 KiB; the client writes requests and never
    // reads. Once the server stops reading, the kernel buffers fill and
    // the client's write blocks: that is the server refusing to buffer.
    let request = get(&format!("/big/{}", 64 * 1024));
    let mut sent = 0usize;
    let blocked = loop {
        match writer.write(request.as_bytes()) {
            Ok(n) => sent += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                break true
            }
            Err(e) => panic!("write failed: {e}"),
        }
        if sent > 256 * 1024 * 1024 {
            break false;
        }
    };
    assert!(
        blocked,
        "the server kept reading 256 MiB of requests it could not answer"
    );
    // Others are served meanwhile.
    let started = Instant::now();
    assert_eq!(
        Client::connect(server.addr)
            .send(get("/"))
            .response()
            .status,
        200
    );
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn resets_mid_request_and_mid_response_disturb_no_one_else() {
    let server = echo_server(config());
    let mut bystander = Client::connect(server.addr);
    for round in 0..20 {
        let stream = common::connect(server.addr);
        SockRef::from(&stream)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        let mut client = Client::new(stream);
        if round % 2 == 0 {
            client.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\npartial");
        } else {
            client.send(get(&format!("/big/{}", 8 * 1024 * 1024)));
            let mut some = [0u8; 1024];
            client.stream.read_exact(&mut some).unwrap();
        }
        drop(client); // RST, thanks to SO_LINGER 0
        assert_eq!(bystander.send(get("/ok")).response().text(), "GET /ok 0 ");
    }
}

/// CPU time (user + system, in clock ticks) of a process.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[test]
fn out_of_descriptors_the_loop_waits_without_spinning_and_serves_everyone_later() {
    if std::process::Command::new("prlimit")
        .arg("--version")
        .output()
        .is_err()
    {
        common::missing_dependency("prlimit (util-linux) is not installed");
        return;
    }
    let mut binary = Binary::start_with(
        "prlimit",
        &[
            "--nofile=64:64",
            "--",
            env!("CARGO_BIN_EXE_coffeeweb"),
            "-q",
            "--listen",
            "127.0.0.1:0",
        ],
    );
    // The server's log, line by line, to wait on.
    let (log_tx, log) = std::sync::mpsc::channel::<String>();
    let stderr = binary.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok) {
            if log_tx.send(line).is_err() {
                return;
            }
        }
    });
    // 100 clients start a request. About 55 fit in 64 descriptors; the
    // rest wait in the backlog.
    let clients: Vec<TcpStream> = (0..100)
        .map(|_| {
            let mut stream = common::connect(binary.addr);
            stream.write_all(b"GET / HTTP/1.1\r\n").unwrap();
            stream
        })
        .collect();
    // The server says when it ran out: that is the moment to watch it.
    let paused = std::iter::from_fn(|| log.recv_timeout(Duration::from_secs(10)).ok())
        .any(|line| line.contains("pausing accepts"));
    assert!(paused, "the server never ran out of descriptors");
    let before = cpu_ticks(binary.child.id());
    std::thread::sleep(Duration::from_secs(1));
    let spent = cpu_ticks(binary.child.id()) - before;
    // Clock ticks are 1/100 s: a spinning loop would spend ~100.
    assert!(
        spent <= 10,
        "the loop spun while out of descriptors: {spent} ticks in 1 s"
    );
    eprintln!("CPU while out of descriptors: {spent} ticks (1/100 s) in 1 s");
    // Every client finishes its request, reads the answer and leaves,
    // which makes room for the ones still waiting in the backlog.
    let started = Instant::now();
    let handles: Vec<_> = clients
        .into_iter()
        .map(|stream| {
            std::thread::spawn(move || {
                let mut client = Client::new(stream);
                client
                    .send("Host: t\r\nConnection: close\r\n\r\n")
                    .response()
                    .status
            })
        })
        .collect();
    for handle in handles {
        assert_eq!(handle.join().unwrap(), 200);
    }
    eprintln!(
        "100 clients served in {:?} under a limit of 64 descriptors",
        started.elapsed()
    );
    binary.signal(libc::SIGTERM);
    assert!(binary.wait_exit(Duration::from_secs(10)).unwrap().success());
}

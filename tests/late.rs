//! "Streamed and late responses": answers that come later (another thread,
//! a loop timer), streamed bodies (chunked, close-delimited), cancellation,
//! backpressure, Server-Sent Events, and a loop that never stalls for them.

mod common;

use coffeeweb::handlers::broadcast::{event, Broadcast};
use coffeeweb::handlers::Pool;
use coffeeweb::http::late::{Later, Piece, Produced, Producer};
use coffeeweb::{Config, Handler, Request, Response, ServerHandle};
use common::{config, get, Client, TestServer, IO_TIMEOUT};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// What the tests see of the handler's producers.
#[derive(Default)]
struct Seen {
    kept: Mutex<Vec<Later>>,
    produced: AtomicU64,
    dropped_producers: AtomicU64,
    closed_senders: AtomicU64,
    /// Pieces a producer thread may send, one per message (for the test
    /// that checks each piece goes out at once).
    gate: Mutex<Option<mpsc::Receiver<Vec<u8>>>>,
}

#[derive(Clone)]
struct Late {
    pool: Pool,
    seen: Arc<Seen>,
    events: Broadcast,
}

impl Late {
    fn new() -> Late {
        Late {
            pool: Pool::new(4, 256).unwrap(),
            seen: Arc::default(),
            events: Broadcast::new(),
        }
    }
}

/// Pieces of pseudo-random sizes (empty ones, and sizes around the 16 KiB
/// inline limit), the same for the same seed.
fn pieces(seed: u64) -> Vec<Vec<u8>> {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..40)
        .map(|i| {
            let len = match next() % 5 {
                0 => 0,
                1 => 16 * 1024 - 1 + (next() % 3) as usize,
                _ => (next() % 3000) as usize,
            };
            (0..len).map(|j| (i * 7 + j) as u8).collect()
        })
        .collect()
}

/// A loop producer: `every` between pieces of `size` bytes, forever; counts
/// what it made and when it is dropped.
struct Endless {
    seen: Arc<Seen>,
    every: Duration,
    size: usize,
    due: bool,
}

impl Producer for Endless {
    fn produce(&mut self) -> Produced {
        if !self.due && !self.every.is_zero() {
            self.due = true;
            return Produced::After(self.every);
        }
        self.due = false;
        self.seen
            .produced
            .fetch_add(self.size as u64, Ordering::Relaxed);
        Produced::Piece(Piece::from(vec![b'x'; self.size]))
    }
}

impl Drop for Endless {
    fn drop(&mut self) {
        self.seen.dropped_producers.fetch_add(1, Ordering::Relaxed);
    }
}

impl Handler for Late {
    fn handle(&mut self, req: &Request<'_>, res: &mut Response) {
        let seen = Arc::clone(&self.seen);
        match req.path() {
            "/slow" => self.pool.answer(res, |res| {
                std::thread::sleep(Duration::from_millis(100));
                res.set_body("done");
            }),
            "/stall" => {
                std::thread::sleep(Duration::from_millis(100));
                res.set_body("stalled the loop");
            }
            "/keep" => seen.kept.lock().unwrap().push(res.later()),
            "/drop" => drop(res.later()),
            "/after" => {
                res.answer_after(Duration::from_millis(300), |res| {
                    res.set_body("after 300 ms");
                });
            }
            "/stream" => {
                let seed = req.query().and_then(|q| q.parse().ok()).unwrap_or(1);
                let sender = res.stream();
                std::thread::spawn(move || {
                    for piece in pieces(seed) {
                        if sender.send(piece).is_err() {
                            return;
                        }
                    }
                    sender.finish();
                });
            }
            "/gated" => {
                let sender = res.stream();
                let gate = seen.gate.lock().unwrap().take().expect("a gate");
                std::thread::spawn(move || {
                    for piece in gate {
                        let _ = sender.send(piece);
                    }
                    sender.finish();
                });
            }
            "/abandon" => {
                let sender = res.stream();
                sender.try_send(&b"the first part"[..]).unwrap();
                drop(sender);
            }
            "/told" => {
                let sender = res.stream();
                std::thread::spawn(move || {
                    let started = Instant::now();
                    while !sender.is_closed() && started.elapsed() < IO_TIMEOUT {
                        std::thread::yield_now();
                    }
                    if sender.is_closed() {
                        seen.closed_senders.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
            "/endless" => {
                res.stream_with(Endless {
                    seen,
                    every: Duration::ZERO,
                    size: 1024,
                    due: true,
                });
            }
            "/ticking" => {
                res.stream_with(Endless {
                    seen,
                    every: Duration::from_millis(10),
                    size: 16,
                    due: false,
                });
            }
            "/events" => self.events.subscribe(res),
            _ => {
                res.set_body("Hello, World!");
            }
        }
    }
}

fn server(config: Config) -> (TestServer, Arc<Seen>, Broadcast) {
    let late = Late::new();
    let (seen, events) = (Arc::clone(&late.seen), late.events.clone());
    (TestServer::with_handler(config, late), seen, events)
}

/// Waits (bounded) until `done` holds, polling the server's figures: there
/// is no readiness signal for "the server noticed".
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < IO_TIMEOUT, "never: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Closes `stream` with a reset (SO_LINGER 0).
fn reset(stream: TcpStream) {
    socket2::SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
}

fn waiting(handle: &ServerHandle) -> u64 {
    handle.stats().connections_waiting
}

/// The times of `/` answered one at a time on one connection while 64
/// requests for `slow_path` are outstanding on others, sorted.
fn hello_times_beside(server: &TestServer, slow_path: &str) -> Vec<Duration> {
    let slow: Vec<Client> = (0..64)
        .map(|_| {
            let mut client = Client::connect(server.addr);
            client.send(get(slow_path));
            client
        })
        .collect();
    let mut client = Client::connect(server.addr);
    let mut times: Vec<Duration> = (0..100)
        .map(|_| {
            let started = Instant::now();
            assert_eq!(client.send(get("/")).response().text(), "Hello, World!");
            started.elapsed()
        })
        .collect();
    for mut client in slow {
        assert_eq!(client.response().status, 200);
    }
    times.sort();
    times
}

#[test]
fn slow_work_on_the_pool_does_not_slow_the_loop() {
    let (server, _, _) = server(config());
    let times = hello_times_beside(&server, "/slow");
    let (p99, max) = (times[98], times[99]);
    assert!(
        p99 < Duration::from_millis(10),
        "hello p99 {p99:?} beside /slow"
    );
    assert!(
        max < Duration::from_millis(50),
        "hello max {max:?} beside /slow"
    );
}

/// The control: the same measurement beside a handler that sleeps on the
/// loop shows what a stall looks like, so the test above would catch one.
#[test]
fn sleeping_on_the_loop_does_slow_it() {
    let (server, _, _) = server(config());
    let max = hello_times_beside(&server, "/stall")[99];
    assert!(
        max > Duration::from_millis(100),
        "hello max {max:?} beside /stall"
    );
}

#[test]
fn a_late_answer_never_reaches_a_newer_connection_on_the_same_key() {
    let (server, seen, _) = server(config());
    let mut first = Client::connect(server.addr);
    first.send(get("/keep"));
    eventually("the first request kept", || {
        seen.kept.lock().unwrap().len() == 1
    });
    // A reset: a quiet close would look like a half-close, which still
    // gets its answer.
    reset(first.stream);
    eventually("the first connection closed", || {
        server.handle.stats().connections_active == 0
    });
    // The slab hands the freed key to the next connection.
    let mut second = Client::connect(server.addr);
    second.send(get("/keep"));
    eventually("the second request kept", || {
        seen.kept.lock().unwrap().len() == 2
    });
    let (old, new) = {
        let mut kept = seen.kept.lock().unwrap();
        let new = kept.pop().unwrap();
        (kept.pop().unwrap(), new)
    };
    assert!(
        old.is_cancelled(),
        "the client left: the first is cancelled"
    );
    assert!(!new.is_cancelled());
    let mut stale = Response::new();
    stale.set_body("for the first connection");
    old.send(stale);
    let mut fresh = Response::new();
    fresh.set_body("for the second connection");
    new.send(fresh);
    assert_eq!(second.response().text(), "for the second connection");
}

#[test]
fn a_dropped_later_is_a_500() {
    let (server, _, _) = server(config());
    let mut client = Client::connect(server.addr);
    assert_eq!(client.send(get("/drop")).response().status, 500);
    assert_eq!(client.send(get("/")).response().status, 200, "kept alive");
}

#[test]
fn an_unanswered_request_is_a_504_and_its_producer_sees_it_cancelled() {
    let config = Config {
        handler_timeout: Duration::from_millis(300),
        ..config()
    };
    let (server, seen, _) = server(config);
    let mut client = Client::connect(server.addr);
    let started = Instant::now();
    assert_eq!(client.send(get("/keep")).response().status, 504);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(seen.kept.lock().unwrap()[0].is_cancelled());
    // The gauge moves once the loop is done with the wake-up that wrote
    // the answer the client may already have read.
    eventually("no connection waiting", || waiting(&server.handle) == 0);
    assert_eq!(client.send(get("/")).response().status, 200, "kept alive");
}

#[test]
fn pipelined_requests_wait_behind_a_late_answer_and_keep_their_order() {
    let (server, seen, _) = server(config());
    let mut client = Client::connect(server.addr);
    client.send(format!("{}{}{}", get("/keep"), get("/"), get("/after")));
    eventually("kept", || seen.kept.lock().unwrap().len() == 1);
    assert_eq!(waiting(&server.handle), 1);
    let mut answer = Response::new();
    answer.set_body("the kept one");
    seen.kept.lock().unwrap().pop().unwrap().send(answer);
    assert_eq!(client.response().text(), "the kept one");
    assert_eq!(client.response().text(), "Hello, World!");
    assert_eq!(client.response().text(), "after 300 ms");
}

#[test]
fn a_timer_answer_waits_without_holding_up_others() {
    let (server, _, _) = server(config());
    let mut late = Client::connect(server.addr);
    let started = Instant::now();
    late.send(get("/after"));
    let mut other = Client::connect(server.addr);
    assert_eq!(other.send(get("/")).response().status, 200);
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "served meanwhile"
    );
    assert_eq!(late.response().text(), "after 300 ms");
    assert!(started.elapsed() >= Duration::from_millis(300));
}

/// Reads a whole response one byte at a time (the slowest client there
/// is), until the server closes.
fn one_byte_at_a_time(stream: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match stream.read(&mut byte) {
            Ok(0) | Err(_) => return all,
            Ok(_) => all.push(byte[0]),
        }
    }
}

#[test]
fn random_pieces_arrive_intact_chunked_and_close_delimited() {
    let (server, _, _) = server(config());
    for seed in [1u64, 7, 42] {
        let expected: Vec<u8> = pieces(seed).concat();
        let mut client = Client::connect(server.addr);
        let reply = client.send(get(&format!("/stream?{seed}"))).response();
        assert_eq!(reply.header("transfer-encoding"), Some("chunked"));
        assert!(reply.header("content-length").is_none());
        assert!(reply.body == expected, "chunked, seed {seed}");

        let mut stream = common::connect(server.addr);
        write!(stream, "GET /stream?{seed} HTTP/1.0\r\n\r\n").unwrap();
        let wire = one_byte_at_a_time(&mut stream);
        let head_end = wire.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let head = String::from_utf8_lossy(&wire[..head_end]);
        assert!(!head.contains("Transfer-Encoding") && !head.contains("Content-Length"));
        assert!(head.contains("Connection: close"));
        assert!(
            wire[head_end..] == expected[..],
            "close-delimited, seed {seed}"
        );
    }
}

#[test]
fn each_piece_goes_out_as_soon_as_it_is_produced() {
    let (server, seen, _) = server(config());
    let (pieces, gate) = mpsc::channel();
    *seen.gate.lock().unwrap() = Some(gate);
    let mut stream = common::connect(server.addr);
    stream.write_all(get("/gated").as_bytes()).unwrap();
    let mut got = Vec::new();
    for i in 0..3u8 {
        let piece = vec![b'a' + i; 5];
        pieces.send(piece.clone()).unwrap();
        // The next piece is produced only after this one was read.
        let framed = format!("5\r\n{}\r\n", String::from_utf8(piece).unwrap());
        while !String::from_utf8_lossy(&got).ends_with(&framed) {
            let mut buf = [0u8; 1024];
            let n = stream.read(&mut buf).expect("the piece, without the next");
            assert!(n > 0);
            got.extend_from_slice(&buf[..n]);
        }
    }
    drop(pieces);
    let mut rest = Vec::new();
    while !rest.ends_with(b"0\r\n\r\n") {
        let mut buf = [0u8; 64];
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0);
        rest.extend_from_slice(&buf[..n]);
    }
}

#[test]
fn an_abandoned_stream_closes_without_its_last_chunk() {
    let (server, _, _) = server(config());
    let mut stream = common::connect(server.addr);
    stream.write_all(get("/abandon").as_bytes()).unwrap();
    let mut wire = Vec::new();
    let _ = stream.read_to_end(&mut wire);
    let wire = String::from_utf8_lossy(&wire);
    assert!(wire.contains("e\r\nthe first part\r\n"), "{wire}");
    assert!(!wire.ends_with("0\r\n\r\n"), "{wire}");
}

#[test]
fn head_sends_no_body_and_tells_the_producer_to_stop() {
    let (server, seen, _) = server(config());
    let mut client = Client::connect(server.addr);
    let reply = client
        .send("HEAD /told HTTP/1.1\r\nHost: t\r\n\r\n")
        .response_to("HEAD");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("transfer-encoding"), Some("chunked"));
    eventually("the producer told", || {
        seen.closed_senders.load(Ordering::Relaxed) == 1
    });
    assert_eq!(client.send(get("/")).response().text(), "Hello, World!");
}

#[test]
fn a_thousand_clients_resetting_mid_stream_stop_their_producers() {
    let (server, seen, _) = server(config());
    let mut clients = Vec::new();
    for _ in 0..1000 {
        let mut stream = common::connect(server.addr);
        stream.write_all(get("/ticking").as_bytes()).unwrap();
        clients.push(stream);
    }
    for stream in &mut clients {
        let mut buf = [0u8; 256];
        assert!(stream.read(&mut buf).unwrap() > 0, "streaming");
    }
    eventually("1000 streaming", || {
        server.handle.stats().connections_streaming == 1000
    });
    for stream in clients {
        reset(stream);
    }
    eventually("every producer dropped", || {
        seen.dropped_producers.load(Ordering::Relaxed) == 1000
    });
    eventually("the streaming gauge back to 0", || {
        server.handle.stats().connections_streaming == 0
    });
}

#[test]
fn a_silent_event_stream_sends_a_comment_line_every_15_seconds() {
    let (server, _, events) = server(config());
    let mut stream = common::connect(server.addr);
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(get("/events").as_bytes()).unwrap();
    let mut wire = Vec::new();
    let mut buf = [0u8; 1024];
    while !wire.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).unwrap();
        wire.extend_from_slice(&buf[..n]);
    }
    eventually("subscribed", || events.subscribers() == 1);
    let started = Instant::now();
    let n = stream.read(&mut buf).unwrap();
    let heartbeat = String::from_utf8_lossy(&buf[..n]);
    assert!(heartbeat.contains(": keep-alive\n\n"), "{heartbeat:?}");
    let silent = started.elapsed();
    assert!(
        silent > Duration::from_secs(14) && silent < Duration::from_secs(17),
        "{silent:?}"
    );
    assert_eq!(events.send(event(Some(1), "after the heartbeat")), 1);
    let n = stream.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("data: after the heartbeat\n\n"));
}

#[test]
fn shutdown_ends_open_streams_with_their_last_chunk_and_lets_late_answers_finish() {
    let (server, seen, events) = server(config());
    let mut sse = common::connect(server.addr);
    sse.write_all(get("/events").as_bytes()).unwrap();
    let mut late = Client::connect(server.addr);
    late.send(get("/keep"));
    eventually("subscribed and kept", || {
        events.subscribers() == 1 && seen.kept.lock().unwrap().len() == 1
    });
    let handle = server.handle.clone();
    handle.shutdown();
    let mut wire = Vec::new();
    let _ = sse.read_to_end(&mut wire);
    assert!(
        wire.ends_with(b"0\r\n\r\n"),
        "{:?}",
        String::from_utf8_lossy(&wire)
    );
    let mut answer = Response::new();
    answer.set_body("finished during shutdown");
    seen.kept.lock().unwrap().pop().unwrap().send(answer);
    let reply = late.response();
    assert_eq!(reply.text(), "finished during shutdown");
    assert_eq!(reply.header("connection"), Some("close"));
    server.stop().unwrap();
}

#[test]
fn the_status_json_counts_waiting_and_streaming_connections() {
    let (server, seen, _) = server(config());
    let mut kept = Client::connect(server.addr);
    kept.send(get("/keep"));
    let mut ticking = common::connect(server.addr);
    ticking.write_all(get("/ticking").as_bytes()).unwrap();
    eventually("one waiting, one streaming", || {
        let stats = server.handle.stats();
        stats.connections_waiting == 1 && stats.connections_streaming == 1
    });
    let json = coffeeweb::handlers::status::to_json(&server.handle.stats());
    assert!(json.contains("\"connections_waiting\":1"), "{json}");
    assert!(json.contains("\"connections_streaming\":1"), "{json}");
    drop(seen);
}

//! A client that reads an endless stream slowly holds its producer back,
//! and the server's memory for the stream stays bounded ("Streamed and
//! late responses"). In a file of its own: the test reads the RSS of its
//! process, which no other test may share.

mod common;

use coffeeweb::http::late::{Piece, Produced, Producer};
use coffeeweb::{Request, Response};
use common::{config, get, TestServer};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// 1 KiB pieces, as fast as the connection takes them; counts the bytes.
struct Endless(Arc<AtomicU64>);

impl Producer for Endless {
    fn produce(&mut self) -> Produced {
        self.0.fetch_add(1024, Ordering::Relaxed);
        Produced::Piece(Piece::from(vec![b'x'; 1024]))
    }
}

/// VmRSS of this process (the server runs in it), in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_slow_reader_holds_the_producer_back_and_memory_stays_bounded() {
    let produced = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&produced);
    let server = TestServer::with_handler(config(), move |_: &Request<'_>, res: &mut Response| {
        res.stream_with(Endless(Arc::clone(&counter)));
    });
    let mut stream = common::connect(server.addr);
    stream.write_all(get("/endless").as_bytes()).unwrap();
    let mut buf = [0u8; 1024];
    stream.read_exact(&mut buf).unwrap();
    let before = rss_kib();
    let started = Instant::now();
    // 1 KiB a second for 20 s. After the first 5 s the socket buffers (the
    // kernel's memory) and our 64 KiB backpressure window are full; from
    // then on the producer may make only what the client reads.
    let mut full_at = (0, 0);
    for second in 1..=20u64 {
        stream.read_exact(&mut buf).unwrap();
        if second == 5 {
            full_at = (produced.load(Ordering::Relaxed), second);
        }
        let next = started + Duration::from_secs(second);
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    let grown = rss_kib().saturating_sub(before);
    let total = produced.load(Ordering::Relaxed);
    let (made, read) = (total - full_at.0, (20 - full_at.1) * 1024);
    println!(
        "RSS grew by {grown} KiB; {made} bytes produced while {read} were read (in all {total})"
    );
    assert!(grown < 512, "RSS grew by {grown} KiB");
    assert!(
        made <= read + 64 * 1024,
        "not held back: {made} bytes produced for {read} read"
    );
}

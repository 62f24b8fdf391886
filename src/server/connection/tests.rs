//! The core driven in memory, as the shell drives it, with no socket: every
//! request of the corpus (alone, pipelined, with bodies, broken) fed whole,
//! split at every byte boundary and in random pieces must give the same
//! bytes on the wire and end in the same state. These run in milliseconds.

use super::core::{Core, Tag, Want};
use crate::handlers::Handler;
use crate::http::{Request, Response, Status};
use crate::server::context::{Context, Limits};
use crate::server::inbox::Inbox;
use crate::server::sendfile::SendFile;
use crate::Config;
use std::sync::Arc;

/// Echoes what it received; refuses `PUT` before its body; closes on
/// `/close`.
struct Echo;

impl Handler for Echo {
    fn handle(&mut self, req: &Request<'_>, res: &mut Response) {
        if req.path() == "/close" {
            res.close_connection();
        }
        let mut text = format!("{} {} {} ", req.method(), req.target(), req.body().len());
        text.push_str(&String::from_utf8_lossy(req.body()));
        res.header("Content-Type", "text/plain").set_body(text);
    }

    fn refuse_early(&mut self, req: &Request<'_>, res: &mut Response) -> bool {
        if req.method() != "PUT" {
            return false;
        }
        res.error(Status::METHOD_NOT_ALLOWED)
            .header("Allow", "GET, POST");
        true
    }
}

/// The client of every exchange.
const PEER: crate::http::Peer = crate::http::Peer::Tcp(std::net::SocketAddr::V4(
    std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, 40000),
));

/// A sink that takes everything at once.
struct Wire(Vec<u8>);

impl std::io::Write for Wire {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl SendFile for Wire {}

fn context() -> Context<Echo> {
    let config = Config {
        max_header_bytes: 1024,
        max_body_bytes: 4096,
        ..Config::default()
    };
    let poll = mio::Poll::new().expect("a poll");
    let waker = mio::Waker::new(poll.registry(), mio::Token(0)).expect("a waker");
    let inbox = Arc::new(Inbox::new(waker));
    Context {
        handler: Echo,
        response: Response::new(),
        inbox,
        next_ticket: 0,
        now: 0,
        clock: crate::server::clock::Moment::now(),
        headers: Vec::new(),
        pool: Default::default(),
        date: Default::default(),
        limits: Limits::new(&config),
        access_log: None,
        shutting_down: false,
        stats: Arc::default(),
    }
}

/// How an exchange ended.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    wire: String,
    want: Want,
}

/// Answers and writes until the core waits for input (or closes).
fn settle(core: &mut Core, cx: &mut Context<Echo>, wire: &mut Wire) -> Want {
    loop {
        core.process(cx, PEER);
        while !core.output().is_empty() {
            core.output().write_to(wire).expect("an in-memory write");
        }
        core.flushed(cx, &PEER);
        match core.want(false) {
            Want::ShutdownWrite => core.write_shut(),
            Want::Discard => return Want::Discard,
            want => return want,
        }
    }
}

/// Feeds `pieces` to a new connection one after the other, then ends the
/// input; returns what went on the wire and what the core wanted last.
fn exchange(pieces: &[&[u8]]) -> Outcome {
    let mut cx = context();
    let mut core = Core::new(Tag { key: 0, fd: -1 });
    let mut wire = Wire(Vec::new());
    let mut want = Want::Read;
    'pieces: for piece in pieces {
        let mut rest = *piece;
        while !rest.is_empty() {
            want = settle(&mut core, &mut cx, &mut wire);
            if want != Want::Read {
                break 'pieces;
            }
            let spare = core.read_buffer(&mut cx).expect("room in the buffer");
            let n = spare.len().min(rest.len());
            spare[..n].copy_from_slice(&rest[..n]);
            core.received(n, &mut cx);
            rest = &rest[n..];
        }
    }
    if want == Want::Read {
        want = settle(&mut core, &mut cx, &mut wire);
    }
    if matches!(want, Want::Read | Want::Discard) {
        core.input_ended();
        want = settle(&mut core, &mut cx, &mut wire);
    }
    // Each exchange has a Date cache of its own, which may be a second
    // apart from the one it is compared with.
    let wire = String::from_utf8_lossy(&wire.0)
        .split_inclusive("\r\n")
        .filter(|line| !line.starts_with("Date: "))
        .collect();
    Outcome { wire, want }
}

/// Every split of `bytes` into two pieces, and a few random splits into
/// many, give what feeding it whole gives.
fn same_whatever_the_split(bytes: &[u8]) -> Outcome {
    let whole = exchange(&[bytes]);
    for at in 1..bytes.len() {
        let (a, b) = bytes.split_at(at);
        assert_eq!(exchange(&[a, b]), whole, "split at {at} of {bytes:?}");
    }
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..20 {
        let mut pieces = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let n = 1 + (seed % 9) as usize;
            let (piece, tail) = rest.split_at(n.min(rest.len()));
            pieces.push(piece);
            rest = tail;
        }
        assert_eq!(exchange(&pieces), whole, "pieces {pieces:?}");
    }
    assert_eq!(
        exchange(&bytes.iter().map(std::slice::from_ref).collect::<Vec<_>>()),
        whole,
        "one byte at a time"
    );
    whole
}

/// Heads from real clients, and the odd but valid.
const CORPUS: &[&str] = &[
    "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
    "GET /index.html HTTP/1.1\r\nHost: localhost:8080\r\nConnection: keep-alive\r\n\
     sec-ch-ua: \"Chromium\";v=\"124\"\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n\
     Accept: text/html,*/*;q=0.8\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n\r\n",
    "GET /a%20b/c?x=1&y=%2F HTTP/1.1\r\nHost: example.org\r\nAccept: */*\r\n\r\n",
    "POST /api/orders HTTP/1.1\r\nHost: api\r\nContent-Length: 22\r\n\r\n{\"order\": [1, 2, 3]}\r\n",
    "HEAD / HTTP/1.0\r\n\r\n",
    "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n",
    "GET http://example.com/p?q HTTP/1.1\r\nHost: example.com\r\n\r\n",
    "GET / HTTP/1.1\nHost: bare-lf\n\n",
    "\r\n\r\nGET / HTTP/1.1\r\nHost: after-empty-lines\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: t\r\nX-Empty:\r\nX-Spaces:    padded   \r\nX-Tab:\tv\t\r\n\r\n",
    "PROPFIND /dav/ HTTP/1.1\r\nHost: t\r\nDepth: 1\r\n\r\n",
    "POST /chunked HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\
     5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
    "GET /close HTTP/1.1\r\nHost: t\r\n\r\n",
];

/// Requests that break a rule, each answered once before the close.
const BROKEN: &[&str] = &[
    "GET / HTTP/1.1\r\nHost : t\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: t\r\n folded\r\n\r\n",
    "GET / HTTP/2.0\r\nHost: t\r\n\r\n",
    "GET /\r\n\r\n",
    "GET / HTTP/1.1\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc",
    "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1e3\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: t\r\nBad\rValue: x\r\n\r\n",
];

#[test]
fn every_request_of_the_corpus_survives_any_split() {
    for request in CORPUS {
        let outcome = same_whatever_the_split(request.as_bytes());
        assert!(
            outcome.wire.starts_with("HTTP/1.1 "),
            "{request:?} got {outcome:?}"
        );
        assert_eq!(outcome.want, Want::Close, "{request:?}: closed at the end");
    }
}

#[test]
fn pipelined_requests_are_answered_in_order_whatever_the_split() {
    let batch: String = CORPUS
        .iter()
        .filter(|r| !r.contains("/close") && !r.contains("HTTP/1.0"))
        .copied()
        .collect();
    let outcome = same_whatever_the_split(batch.as_bytes());
    let targets: Vec<&str> = outcome
        .wire
        .split("Content-Type: text/plain\r\n\r\n")
        .skip(1)
        .map(|answer| answer.split(' ').nth(1).unwrap_or(""))
        .collect();
    assert_eq!(
        targets,
        [
            "/",
            "/index.html",
            "/a%20b/c?x=1&y=%2F",
            "/api/orders",
            "*",
            "http://example.com/p?q",
            "/",
            "/",
            "/",
            "/dav/",
            "/chunked",
        ]
    );
    assert!(outcome.wire.contains("POST /chunked 11 hello world"));
}

/// `100 Continue` depends on when the body arrives, so it is the one
/// answer that splits may change: sent only while the body has not begun.
#[test]
fn continue_is_sent_only_before_the_body() {
    let head = "POST /c HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n";
    let waited = exchange(&[head.as_bytes(), b"body"]);
    assert!(waited
        .wire
        .starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"));
    assert!(waited.wire.ends_with("POST /c 4 body"));
    let eager = exchange(&[format!("{head}body").as_bytes()]);
    assert!(!eager.wire.contains("100 Continue"), "{eager:?}");
    assert!(eager.wire.ends_with("POST /c 4 body"));
}

#[test]
fn a_refused_body_is_never_invited() {
    let head = "PUT /r HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n";
    let outcome = exchange(&[head.as_bytes()]);
    assert!(outcome.wire.starts_with("HTTP/1.1 405 "), "{outcome:?}");
    assert!(!outcome.wire.contains("100 Continue"));
    assert!(outcome.wire.contains("Connection: close\r\n"));
    assert_eq!(outcome.want, Want::Close);
}

#[test]
fn broken_requests_get_one_answer_whatever_the_split() {
    for request in BROKEN {
        // A valid request first: it is answered before the broken one.
        let bytes =
            format!("GET /first HTTP/1.1\r\nHost: t\r\n\r\n{request}GET /never HTTP/1.1\r\n\r\n");
        let outcome = same_whatever_the_split(bytes.as_bytes());
        assert_eq!(
            outcome.wire.matches("HTTP/1.1 ").count(),
            2,
            "{request:?}: {outcome:?}"
        );
        assert!(outcome.wire.contains("GET /first 0"), "{request:?}");
        assert!(!outcome.wire.contains("/never"), "{request:?}");
        assert!(
            outcome.wire.contains("Connection: close\r\n"),
            "{request:?}"
        );
    }
}

#[test]
fn a_head_over_the_limit_is_refused_the_same_way_whatever_the_split() {
    let long_line = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(1100));
    let outcome = same_whatever_the_split(long_line.as_bytes());
    assert!(outcome.wire.starts_with("HTTP/1.1 414 "), "{outcome:?}");
    let many_fields = format!(
        "GET / HTTP/1.1\r\nHost: t\r\n{}\r\n",
        "X-A: b\r\n".repeat(200)
    );
    let outcome = same_whatever_the_split(many_fields.as_bytes());
    assert!(outcome.wire.starts_with("HTTP/1.1 431 "), "{outcome:?}");
}

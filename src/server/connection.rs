//! One client connection: a state machine driven by readiness.
//!
//! ```text
//!            first byte                head parsed, body to come
//!   Fresh ──────────────┐   ┌──────────────────────────────┐
//!                       ▼   │                              ▼
//!   Idle ───────────▶ Head ─┴─ head parsed, no body ─▶ respond ◀── Body
//!    ▲  first byte      │                              │  │  body complete
//!    │                  │ framing error, timeout       │  │
//!    └── keep-alive ◀───┼──────────────────────────────┘  │ close
//!        (pipelined: straight back to Head)              ▼
//!                       └────────────────────────▶ Closing ──▶ Lingering ──▶ Closed
//!                                                  (flush)    (drain input)
//! ```
//!
//! Output is not a state. Under pipelining a connection receives request
//! n+1 while response n is still being written, so unsent output is a queue
//! beside the state ([`Output`]); when it grows past
//! [`HIGH_WATER`](super::output::HIGH_WATER) the connection stops reading
//! and parsing until the client catches up (backpressure).
//!
//! # Readiness
//!
//! The socket is registered once for READABLE | WRITABLE, edge-triggered,
//! and never re-registered: an edge says "something changed", so the
//! connection remembers `readable` / `writable` itself and clears them only
//! when the kernel says so: `WouldBlock`, or a read or write that moved fewer
//! bytes than offered (the socket was drained or filled; any later change
//! raises a new edge, which is the rule Tokio relies on too). That saves the
//! `read` that would only return `EAGAIN` after each request. A drive reads
//! at most [`READS_PER_TURN`] times; a connection with input left over is
//! put on the loop's ready list and driven again after the others.
//!
//! # Buffers
//!
//! The input buffer exists from the first byte of a request until every
//! received byte is consumed; the output buffer from the first response
//! byte until the last is written. Both come from the loop's pool and go
//! back to it, so an idle connection holds no buffer.

use super::access_log::{AccessLog, Entry};
use super::buffer::Input;
use super::context::Context;
use super::output::Output;
use super::stats::{LoopStats, Phase};
use super::timers::{HasTimer, TimerKind, TimerLink};
use crate::handlers::Handler;
use crate::http::chunked::ChunkedDecoder;
use crate::http::framing::{framing, BodyFraming, Framing};
use crate::http::parse::{
    find_head_end, leading_empty_lines, oversize_error, parse_head, parse_head_prefix, Head,
};
use crate::http::{ConnectionHeader, Request, RequestError, Response, Status, Version};
use log::{debug, error, trace};
use mio::net::TcpStream;
use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr};
use std::ops::Range;
use std::os::fd::AsRawFd;
use std::panic::{self, AssertUnwindSafe};
use std::time::Instant;

/// Reads per drive before other connections get their turn.
pub const READS_PER_TURN: usize = 16;

/// A lingering close gives up after discarding this much.
const LINGER_MAX_BYTES: usize = 1 << 20;

/// The interim response sent to `Expect: 100-continue`.
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Where a connection is in its life (see the module diagram).
#[derive(Debug)]
enum State {
    /// Accepted; no byte of a request yet. The header timeout runs.
    Fresh,
    /// Kept alive between requests. The keep-alive timeout runs.
    Idle,
    /// Receiving a head; `scanned` bytes were already searched for its end.
    Head { scanned: usize },
    /// Head parsed; receiving the body. Boxed: only connections in the
    /// middle of a body pay for its bookkeeping, idle ones stay small.
    Body(Box<Receiving>),
    /// The last response is queued: write it, then close (or linger).
    Closing { linger: bool },
    /// Write side shut; discarding input so the client reads our last
    /// response instead of a reset (RFC 9112 §9.6).
    Lingering { discarded: usize },
    /// Done; the loop frees the entry at the end of the batch.
    Closed,
}

impl State {
    fn name(&self) -> &'static str {
        match self {
            State::Fresh => "Fresh",
            State::Idle => "Idle",
            State::Head { .. } => "Head",
            State::Body(_) => "Body",
            State::Closing { .. } => "Closing",
            State::Lingering { .. } => "Lingering",
            State::Closed => "Closed",
        }
    }
}

/// A request whose head is parsed and whose body is arriving.
#[derive(Debug)]
struct Receiving {
    head_len: usize,
    /// When the head was complete: the request's duration starts there.
    head_at: Instant,
    framing: Framing,
    chunked: Option<ChunkedDecoder>,
}

/// What the loop should do with a connection after driving it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Next {
    /// Nothing more until the next readiness event or deadline.
    #[default]
    Wait,
    /// The read budget ran out with input left: drive again soon.
    Yield,
    /// Close it.
    Close,
}

/// What one drive did.
#[derive(Clone, Copy, Debug, Default)]
pub struct Drive {
    /// What the loop should do next.
    pub next: Next,
    /// Bytes were read.
    pub read: bool,
    /// Bytes were written.
    pub wrote: bool,
    /// Requests answered.
    pub requests: u32,
}

/// A client connection (a slab entry of the event loop).
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    /// The client's address, for handlers and the access log.
    peer: SocketAddr,
    /// The slab key (the token), for the trace log.
    key: u32,
    state: State,
    input: Option<Input>,
    output: Output,
    readable: bool,
    writable: bool,
    /// The peer's FIN has arrived; we may not have read up to it yet.
    fin_pending: bool,
    read_closed: bool,
    /// On the loop's ready list.
    pub queued: bool,
    /// The phase the gauges currently count this connection in.
    pub phase: Phase,
    timer: TimerLink,
}

impl HasTimer for Connection {
    fn timer(&mut self) -> &mut TimerLink {
        &mut self.timer
    }
}

impl Connection {
    /// A just-accepted connection from `peer` with slab key `key`,
    /// waiting for readiness.
    pub fn new(stream: TcpStream, key: usize, peer: SocketAddr) -> Connection {
        Connection {
            stream,
            peer,
            key: key as u32,
            state: State::Fresh,
            input: None,
            output: Output::default(),
            readable: false,
            writable: false,
            fin_pending: false,
            read_closed: false,
            queued: false,
            phase: Phase::Idle,
            timer: TimerLink::default(),
        }
    }

    /// Moves to `next`: every transition goes through here, so the trace
    /// log shows each one.
    fn set_state(&mut self, next: State) {
        trace!(
            "conn {} fd {}: {} -> {}",
            self.key,
            self.fd(),
            self.state.name(),
            next.name()
        );
        self.state = next;
    }

    fn fd(&self) -> i32 {
        self.stream.as_raw_fd()
    }

    /// Records readiness from an event.
    /// `read_closed` is the kernel saying the peer's FIN has arrived
    /// (EPOLLRDHUP): reads must then go on until they return 0, even after
    /// a short one, because no further edge will announce the end.
    pub fn ready(&mut self, readable: bool, writable: bool, read_closed: bool) {
        self.readable |= readable;
        self.writable |= writable;
        self.fin_pending |= read_closed;
    }

    /// Whether the connection is finished and waits to be freed.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// Marks the connection finished.
    pub fn set_closed(&mut self) {
        if !self.is_closed() {
            self.set_state(State::Closed);
        }
    }

    /// Whether nothing is under way: no request started, nothing to send.
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Fresh | State::Idle)
            && self.input.is_none()
            && self.output.is_empty()
    }

    /// The phase the gauges should count.
    pub fn current_phase(&self) -> Phase {
        match self.state {
            _ if !self.output.is_empty() => Phase::Writing,
            State::Fresh | State::Idle => Phase::Idle,
            State::Head { .. } | State::Body(_) => Phase::Reading,
            State::Closing { .. } | State::Lingering { .. } | State::Closed => Phase::Writing,
        }
    }

    /// The deadline that should be running: the client not reading our
    /// output comes first, then whatever the state waits for.
    pub fn timer_kind(&self) -> Option<TimerKind> {
        match self.state {
            State::Closed => None,
            State::Lingering { .. } => Some(TimerKind::Linger),
            _ if !self.output.is_empty() => Some(TimerKind::Write),
            State::Fresh | State::Head { .. } => Some(TimerKind::Header),
            State::Idle => Some(TimerKind::KeepAlive),
            State::Body(_) => Some(TimerKind::Body),
            State::Closing { .. } => Some(TimerKind::Write),
        }
    }

    /// The header deadline passed. A client that sent part of a request
    /// gets a 408 (drive the connection to send it, then it closes); one
    /// that sent nothing is closed without a word (returns `false`).
    pub fn header_timeout<H>(&mut self, cx: &mut Context<H>) -> bool {
        if matches!(self.state, State::Head { .. }) {
            self.fail(cx, RequestError::Timeout);
            return true;
        }
        false
    }

    /// Reads, parses, answers and writes until the socket has nothing more
    /// to give or take, or the read budget runs out.
    pub fn drive<H: Handler>(&mut self, cx: &mut Context<H>) -> Drive {
        let mut drive = Drive::default();
        for _ in 0..READS_PER_TURN {
            if let State::Lingering { .. } = self.state {
                drive.next = self.linger();
                return drive;
            }
            if let Err(e) = self.answer_and_write(cx, &mut drive) {
                debug!("conn {} fd {}: write failed: {e}", self.key, self.fd());
                drive.next = Next::Close;
                return drive;
            }
            self.settle_end_of_input(cx);
            if let State::Closing { linger } = self.state {
                if !self.output.is_empty() {
                    return drive;
                }
                if !self.finish_closing(linger) {
                    drive.next = Next::Close;
                    return drive;
                }
                continue;
            }
            if !self.wants_input() || !self.readable {
                return drive;
            }
            match self.fill(cx) {
                Ok(n) => drive.read |= n > 0,
                Err(e) => {
                    debug!("conn {} fd {}: read failed: {e}", self.key, self.fd());
                    drive.next = Next::Close;
                    return drive;
                }
            }
        }
        drive.next = Next::Yield;
        drive
    }

    /// Answers what is buffered and writes it, again as long as writing
    /// lifted backpressure (requests may be waiting behind it in the input
    /// buffer, with no readiness event to come for them).
    fn answer_and_write<H: Handler>(
        &mut self,
        cx: &mut Context<H>,
        drive: &mut Drive,
    ) -> io::Result<()> {
        loop {
            self.process(cx, drive);
            let blocked = self.output.is_blocked();
            self.flush(cx, drive)?;
            if !blocked || self.output.is_blocked() {
                return Ok(());
            }
        }
    }

    fn wants_input(&self) -> bool {
        matches!(
            self.state,
            State::Fresh | State::Idle | State::Head { .. } | State::Body(_)
        ) && !self.read_closed
            && !self.output.is_blocked()
    }

    /// One `read` into the input buffer (taken from the pool if needed).
    fn fill<H>(&mut self, cx: &mut Context<H>) -> io::Result<usize> {
        let input = self.input.get_or_insert_with(|| cx.pool.input());
        let spare = input.spare(cx.limits.input_max);
        if spare.is_empty() {
            // The limits bound every request below `input_max`.
            return Err(io::Error::other("input buffer full"));
        }
        let offered = spare.len();
        let result = loop {
            match self.stream.read(spare) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                result => break result,
            }
        };
        trace!(
            "conn {} fd {}: read({offered}) = {result:?}",
            self.key,
            self.stream.as_raw_fd()
        );
        let n = match result {
            Ok(0) => {
                self.read_closed = true;
                self.readable = false;
                0
            }
            Ok(n) => {
                input.filled(n);
                self.readable = n == offered || self.fin_pending;
                cx.stats.bytes_received.add(n as u64);
                n
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.readable = false;
                0
            }
            Err(e) => return Err(e),
        };
        self.release_input_if_empty(cx);
        Ok(n)
    }

    /// Writes until the output is gone or the socket is full.
    fn flush<H>(&mut self, cx: &mut Context<H>, drive: &mut Drive) -> io::Result<()> {
        while self.writable && !self.output.is_empty() {
            let offered = self.output.pending();
            let result = self.output.write_to(&mut self.stream);
            trace!(
                "conn {} fd {}: write({offered}) = {result:?}",
                self.key,
                self.fd()
            );
            match result {
                Ok(w) if w.bytes == 0 => return Err(io::ErrorKind::WriteZero.into()),
                Ok(w) => {
                    drive.wrote = true;
                    cx.stats.bytes_sent.add(w.bytes as u64);
                    self.writable = w.all;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.writable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.output.recycle(&mut cx.pool);
        Ok(())
    }

    /// Answers every complete request in the input buffer, in order, while
    /// the output has room.
    fn process<H: Handler>(&mut self, cx: &mut Context<H>, drive: &mut Drive) {
        while !self.output.is_blocked() {
            let advanced = match self.state {
                State::Fresh | State::Idle | State::Head { .. } => self.process_head(cx, drive),
                State::Body(_) => self.process_body(cx, drive),
                _ => false,
            };
            if !advanced {
                return;
            }
        }
    }

    /// Looks for a complete head; parses it when there is one. Returns
    /// whether the state moved on.
    fn process_head<H: Handler>(&mut self, cx: &mut Context<H>, drive: &mut Drive) -> bool {
        let scanned = match self.state {
            State::Head { scanned } => scanned,
            _ => 0,
        };
        if scanned == 0 && !self.skip_empty_lines(cx) {
            return false;
        }
        let Some(input) = self.input.as_ref() else {
            return false;
        };
        let bytes = input.bytes();
        // Most heads arrive whole: parse straight away. Once a head is
        // known to be incomplete, only the new bytes are searched for its
        // end, and it is parsed once that is found.
        let parsed = if scanned == 0 {
            parse_head_prefix(bytes, cx.limits.head, &mut cx.headers)
        } else {
            find_head_end(bytes, scanned)
                .map(|len| parse_head(bytes, len, cx.limits.head, &mut cx.headers))
                .transpose()
        };
        let head = match parsed {
            Ok(Some(head)) => head,
            Ok(None) => return self.head_incomplete(cx),
            Err(error) => {
                self.fail(cx, error);
                return true;
            }
        };
        match framing(bytes, &head, &cx.headers, cx.limits.max_body) {
            Ok(framing) => self.begin_body(cx, &head, framing, drive),
            Err(error) => self.fail(cx, error),
        }
        true
    }

    /// Drops empty lines before a request line (RFC 9112 §2.2). Returns
    /// whether a request line may have started.
    fn skip_empty_lines<H>(&mut self, cx: &mut Context<H>) -> bool {
        let Some(input) = self.input.as_mut() else {
            return false;
        };
        input.consume(leading_empty_lines(input.bytes()));
        if input.is_empty() {
            if let State::Head { .. } = self.state {
                self.set_state(State::Idle);
            }
            self.release_input_if_empty(cx);
            return false;
        }
        // A lone CR may be the start of one more empty line.
        input.bytes() != b"\r"
    }

    /// The head has not ended yet: remember how far it was searched, or
    /// refuse it if it is already over `--max-header-bytes`. Returns
    /// whether the state moved on.
    fn head_incomplete<H>(&mut self, cx: &mut Context<H>) -> bool {
        let Some(input) = self.input.as_ref() else {
            return false;
        };
        let bytes = input.bytes();
        let max = cx.limits.head.max_header_bytes;
        if bytes.len() > max + 2 {
            let error = oversize_error(bytes, max);
            self.fail(cx, error);
            return true;
        }
        let scanned = bytes.len();
        match &mut self.state {
            State::Head { scanned: at } => *at = scanned,
            _ => self.set_state(State::Head { scanned }),
        }
        false
    }

    /// A head was parsed: answer at once if there is no body, else start
    /// receiving it (after `100 Continue`, or an early refusal).
    fn begin_body<H: Handler>(
        &mut self,
        cx: &mut Context<H>,
        head: &Head,
        framing: Framing,
        drive: &mut Drive,
    ) {
        let head_at = Instant::now();
        if framing.body == BodyFraming::None {
            self.respond(cx, head, framing, head.len..head.len, drive, head_at);
            return;
        }
        let body_started = self.input.as_ref().is_some_and(|i| i.len() > head.len);
        if framing.expect_continue && head.version == Version::Http11 && !body_started {
            if self.refuse_early(cx, head) {
                return;
            }
            self.output.push_bytes(CONTINUE, &mut cx.pool);
        }
        let chunked = framing.body == BodyFraming::Chunked;
        self.set_state(State::Body(Box::new(Receiving {
            head_len: head.len,
            head_at,
            framing,
            chunked: chunked.then(|| ChunkedDecoder::new(cx.limits.chunked)),
        })));
    }

    /// Asks the handler whether it refuses the request before its body is
    /// read; if so, sends the refusal as the last response.
    fn refuse_early<H: Handler>(&mut self, cx: &mut Context<H>, head: &Head) -> bool {
        let Some(input) = self.input.as_ref() else {
            return false;
        };
        let bytes = input.bytes();
        let req = Request::new(bytes, head, &cx.headers, &[]).with_peer(self.peer);
        let handler = &mut cx.handler;
        // A handler that fails here has answered 500: that refuses too.
        let refused = guarded(&req, &mut cx.response, |res| {
            handler.refuse_early(&req, res)
        });
        if refused == Some(false) {
            return false;
        }
        let head_at = Instant::now();
        let status = cx.response.status();
        let sent = self.output.push_response(
            &mut cx.response,
            req.is_head(),
            &cx.date,
            ConnectionHeader::Close,
            &mut cx.pool,
        );
        finished(
            &cx.stats,
            &mut cx.access_log,
            self.peer,
            Some(&req),
            status,
            sent,
            head_at,
        );
        self.discard_input(cx);
        self.set_state(State::Closing { linger: true });
        true
    }

    /// Decodes what arrived of the body; answers when it is complete.
    fn process_body<H: Handler>(&mut self, cx: &mut Context<H>, drive: &mut Drive) -> bool {
        let (State::Body(receiving), Some(input)) = (&mut self.state, self.input.as_mut()) else {
            return false;
        };
        let head_len = receiving.head_len;
        let head_at = receiving.head_at;
        let progress = match (&mut receiving.chunked, receiving.framing.body) {
            (Some(decoder), _) => decode_chunked(decoder, input, head_len),
            (None, BodyFraming::Length(length)) => {
                let length = usize::try_from(length).unwrap_or(usize::MAX);
                Ok((input.len() - head_len >= length).then_some(length))
            }
            (None, _) => Ok(Some(0)),
        };
        let framing = receiving.framing;
        match progress {
            Ok(None) => false,
            Ok(Some(body_len)) => {
                let bytes = input.bytes();
                match parse_head(bytes, head_len, cx.limits.head, &mut cx.headers) {
                    Ok(head) => self.respond(
                        cx,
                        &head,
                        framing,
                        head_len..head_len + body_len,
                        drive,
                        head_at,
                    ),
                    Err(error) => self.fail(cx, error),
                }
                true
            }
            Err(error) => {
                self.fail(cx, error);
                true
            }
        }
    }

    /// Calls the handler for the complete request whose body is at `body`
    /// in the input, queues its response, consumes the request and moves
    /// to the next state.
    fn respond<H: Handler>(
        &mut self,
        cx: &mut Context<H>,
        head: &Head,
        framing: Framing,
        body: Range<usize>,
        drive: &mut Drive,
        head_at: Instant,
    ) {
        let Some(input) = self.input.as_ref() else {
            return;
        };
        let bytes = input.bytes();
        let req = Request::new(bytes, head, &cx.headers, &bytes[body.clone()]).with_peer(self.peer);
        let handler = &mut cx.handler;
        guarded(&req, &mut cx.response, |res| handler.handle(&req, res));
        let keep_alive = framing.keep_alive && !cx.response.wants_close() && !cx.shutting_down;
        let connection = match (keep_alive, head.version) {
            (false, _) => ConnectionHeader::Close,
            (true, Version::Http10) => ConnectionHeader::KeepAlive,
            (true, Version::Http11) => ConnectionHeader::Omit,
        };
        let status = cx.response.status();
        let sent = self.output.push_response(
            &mut cx.response,
            req.is_head(),
            &cx.date,
            connection,
            &mut cx.pool,
        );
        finished(
            &cx.stats,
            &mut cx.access_log,
            self.peer,
            Some(&req),
            status,
            sent,
            head_at,
        );
        if let Some(input) = self.input.as_mut() {
            input.consume(body.end);
        }
        drive.requests += 1;
        trace!("conn {} fd {}: answered {status}", self.key, self.fd());
        self.after_response(cx, keep_alive);
    }

    /// A response is queued and its request consumed: wait for the next
    /// request (already buffered, or still to come), or close.
    fn after_response<H>(&mut self, cx: &mut Context<H>, keep_alive: bool) {
        let all_read = self.input.as_ref().is_none_or(Input::is_empty);
        let next = match (keep_alive, all_read) {
            // Unread bytes, or bytes that may still come, would turn our
            // close into a reset that can destroy the response in flight.
            (false, all_read) => State::Closing {
                linger: !all_read || self.readable,
            },
            (true, true) => State::Idle,
            (true, false) => State::Head { scanned: 0 },
        };
        self.set_state(next);
        match self.state {
            State::Closing { .. } => self.discard_input(cx),
            _ => self.release_input_if_empty(cx),
        }
    }

    /// Answers a request that cannot be served with its error status, and
    /// closes: nothing after a framing error can be trusted to be a request.
    fn fail<H>(&mut self, cx: &mut Context<H>, error: RequestError) {
        debug!("conn {} fd {}: {error}", self.key, self.fd());
        let head_at = Instant::now();
        let res = &mut cx.response;
        res.reset();
        res.set_status(error.status())
            .header("Content-Type", "text/plain; charset=utf-8")
            .set_body(format!("{}\n{}\n", error.status(), error.detail()));
        let sent =
            self.output
                .push_response(res, false, &cx.date, ConnectionHeader::Close, &mut cx.pool);
        finished(
            &cx.stats,
            &mut cx.access_log,
            self.peer,
            None,
            error.status(),
            sent,
            head_at,
        );
        self.discard_input(cx);
        self.set_state(State::Closing { linger: true });
    }

    /// After the client's end of input: once every complete request is
    /// answered, what remains is an unfinished request that never will be.
    fn settle_end_of_input<H>(&mut self, cx: &mut Context<H>) {
        let receiving = matches!(
            self.state,
            State::Fresh | State::Idle | State::Head { .. } | State::Body(_)
        );
        if self.read_closed && receiving && !self.output.is_blocked() {
            trace!("conn {} fd {}: end of input", self.key, self.fd());
            self.discard_input(cx);
            self.set_state(State::Closing { linger: false });
        }
    }

    /// The last response is written: shut our side and linger, or close.
    /// Returns whether the connection lives on (lingering).
    fn finish_closing(&mut self, linger: bool) -> bool {
        if !linger || self.read_closed {
            self.set_state(State::Closed);
            return false;
        }
        let shut = self.stream.shutdown(Shutdown::Write);
        trace!(
            "conn {} fd {}: shutdown(Write) = {shut:?}",
            self.key,
            self.fd()
        );
        if shut.is_err() {
            self.set_state(State::Closed);
            return false;
        }
        self.set_state(State::Lingering { discarded: 0 });
        true
    }

    /// Reads and drops whatever the client still sends, until it closes,
    /// sends too much, or the linger deadline ends it.
    fn linger(&mut self) -> Next {
        let State::Lingering { discarded } = &mut self.state else {
            return Next::Wait;
        };
        let mut scratch = [0u8; 8192];
        while self.readable {
            match self.stream.read(&mut scratch) {
                Ok(0) => return Next::Close,
                Ok(n) => {
                    *discarded += n;
                    if *discarded > LINGER_MAX_BYTES {
                        return Next::Close;
                    }
                    self.readable = n == scratch.len();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.readable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Next::Close,
            }
        }
        Next::Wait
    }

    fn discard_input<H>(&mut self, cx: &mut Context<H>) {
        if let Some(input) = self.input.take() {
            cx.pool.put_input(input);
        }
    }

    fn release_input_if_empty<H>(&mut self, cx: &mut Context<H>) {
        if self.input.as_ref().is_some_and(Input::is_empty) {
            self.discard_input(cx);
        }
    }
}

/// Counts, times and logs one response just queued. The duration ends
/// here for now; the IO-free core (issue 10) moves this call to the moment
/// the response's last byte is handed to the kernel, as the contract
/// defines it.
fn finished(
    stats: &LoopStats,
    log: &mut Option<AccessLog>,
    peer: SocketAddr,
    req: Option<&Request<'_>>,
    status: Status,
    body_bytes: u64,
    head_at: Instant,
) {
    let now = Instant::now();
    let micros = now.saturating_duration_since(head_at).as_micros();
    let micros = u64::try_from(micros).unwrap_or(u64::MAX);
    stats.count_response(status.code());
    stats.record_duration(micros, now);
    if let Some(log) = log {
        log.line(&Entry {
            peer,
            req,
            status,
            body_bytes,
            micros,
        });
    }
}

/// Runs one handler call. A panic or an invalid response becomes a 500
/// in `res`, and `None`.
fn guarded<R>(
    req: &Request<'_>,
    res: &mut Response,
    call: impl FnOnce(&mut Response) -> R,
) -> Option<R> {
    res.reset();
    let result = panic::catch_unwind(AssertUnwindSafe(|| call(&mut *res)));
    let problem = match &result {
        Err(_) => Some("the handler panicked"),
        Ok(_) => res.misuse(),
    };
    let Some(why) = problem else {
        return result.ok();
    };
    error!("{} {}: {why}; answering 500", req.method(), req.target());
    res.reset();
    res.error(Status::INTERNAL_SERVER_ERROR);
    None
}

/// Decodes the chunked body in `input` after the head, in place. Returns
/// the decoded length once the body is complete.
fn decode_chunked(
    decoder: &mut ChunkedDecoder,
    input: &mut Input,
    head_len: usize,
) -> Result<Option<usize>, RequestError> {
    let decoded = decoder.decode(&mut input.bytes_mut()[head_len..])?;
    input.remove(head_len + decoder.decoded_len(), decoded.removed);
    Ok(decoded.done.then(|| decoder.decoded_len()))
}

//! The connection's state machine, with no IO in it.
//!
//! The core is told what happened on the socket (bytes arrived, the input
//! ended, the write side is shut, a deadline passed) and answers with what
//! it wants next ([`Want`]) and the bytes to write (its [`Output`]). It never
//! touches a socket, and reads the clock only to time and log a response
//! (below), so it can be driven byte by byte from a test (`connection/tests.rs`)
//! exactly as the event loop drives it.
//!
//! ```text
//!                 State::Open(Reading)                      State::Closing(Closing)
//!
//!   Fresh ──first byte──▶ Head ──head, no body──▶ respond ──close──▶ Flush ─┬─▶ Done
//!   Idle  ──first byte──▶  │ └──head, body──▶ Body ──complete──┘       │    │
//!     ▲                    │                                           │    └─ unread input:
//!     └──── keep-alive ────┴──── (pipelined: straight back to Head)    │       shut write,
//!                                                                      │       Linger ──▶ Done
//!   framing error, or the header deadline with part of a head ─▶ 4xx ──┘
//!
//!   end of input:  Open(r) ──▶ InputEnded(r): the complete requests still
//!                  buffered are answered, then Flush (nothing more can come)
//! ```
//!
//! Two things are deliberately not states:
//!
//! - **Unsent output.** Under pipelining a connection receives request n+1
//!   while response n is still being written, so output is a queue beside
//!   the state ([`Output`]); past [`HIGH_WATER`](super::super::output::HIGH_WATER)
//!   the core stops parsing and wants no input (backpressure).
//! - **Readiness.** Whether the socket can be read or written is the
//!   shell's knowledge (`super::Readiness`), not the exchange's.
//!
//! # Buffers
//!
//! The input buffer exists from the first byte of a request until every
//! received byte is consumed; the output buffer from the first response
//! byte until the last is written. Both come from the loop's pool and go
//! back to it, so an idle connection holds no buffer.
//!
//! # One clock policy
//!
//! Every response is queued by one function, `queue`, which counts it and
//! writes its access-log line. A request's duration starts at the loop's
//! clock of the wake-up in which its head was complete (`Context::clock`,
//! read once per wake-up) and ends when the last byte of its response is
//! handed to the kernel: the shell reads the clock once per write that
//! empties the output and times every response that write completed
//! (`Output::take_untimed`), so 16 pipelined answers cost one clock read,
//! and a slow handler shows. The access log's duration of a response sent
//! whole ends when it is queued (one more clock read, only with the log
//! on). A streamed response is logged when its stream ends, as nginx logs
//! a request when it ends: once the last byte queued for it is handed to
//! the kernel, or when the connection closes first (the client gone, the
//! write timeout) -- an open-ended stream (SSE) is logged then, or at
//! shutdown when it is ended.

use super::super::access_log::{Entry, KeptRequest, Logged};
use super::super::buffer::Input;
use super::super::clock::Moment;
use super::super::context::Context;
use super::super::output::Output;
use super::super::stats::Phase;
use super::super::timers::TimerKind;
use crate::handlers::Handler;
use crate::http::chunked::LAST_CHUNK;
use crate::http::decode::BodyDecoder;
use crate::http::exchange;
use crate::http::framing::{framing, Framing};
use crate::http::late::{
    AfterFn, Deferral, LateEvent, Produced, Producer, StreamShared, Taken, Ticket,
};
use crate::http::parse::{
    find_head_end, leading_empty_lines, oversize_error, parse_head, parse_head_prefix, Head,
};
use crate::http::{
    ConnectionHeader, Peer, Request, RequestError, Response, Status, StreamLength, Version,
};
use log::{debug, error, trace};
use std::fmt;
use std::ops::Range;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The comment line an open-ended stream sends when it has been silent
/// for [`HEARTBEAT`](super::super::event_loop::HEARTBEAT).
const HEARTBEAT_LINE: &[u8] = b": keep-alive\n\n";

/// A lingering close gives up after discarding this much.
pub const LINGER_MAX_BYTES: usize = 1 << 20;

/// How a connection is named in every log line: its slab key (the token)
/// and its descriptor, as `conn 7 fd 12`.
#[derive(Clone, Copy, Debug)]
pub struct Tag {
    /// The slab key.
    pub key: u32,
    /// The socket's descriptor.
    pub fd: i32,
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn {} fd {}", self.key, self.fd)
    }
}

/// Where the connection is in its life.
#[derive(Debug)]
enum State {
    /// Receiving requests.
    Open(Reading),
    /// The client ended its input: what is already buffered is answered,
    /// nothing more will come.
    InputEnded(Reading),
    /// The last response is queued.
    Closing(Closing),
}

/// What the connection expects from the client next.
#[derive(Debug)]
enum Reading {
    /// Accepted; no byte of a request yet. The header timeout runs (a
    /// silent close when it passes).
    Fresh,
    /// Kept alive between requests. The keep-alive timeout runs.
    Idle,
    /// Receiving a head; `scanned` bytes were already searched for its end.
    Head { scanned: usize },
    /// Head parsed; receiving the body. Boxed: only connections in the
    /// middle of a body pay for its bookkeeping; idle ones stay small.
    Body(Box<Receiving>),
}

/// A request whose head is parsed and whose body is arriving.
#[derive(Debug)]
struct Receiving {
    head_len: usize,
    /// When the head was complete (the loop's clock): the request's
    /// duration starts there.
    started: Moment,
    framing: Framing,
    decoder: BodyDecoder,
}

/// How the connection ends.
#[derive(Debug)]
enum Closing {
    /// Write the last response. `unread`: bytes of the client's were left
    /// unread, so a plain close could turn into a reset that destroys the
    /// response in flight (RFC 9112 §9.6).
    Flush { unread: bool },
    /// Write side shut; discarding input so the client reads our last
    /// response instead of a reset.
    Linger { discarded: usize },
    /// Finished; the loop frees the entry at the end of the batch.
    Done,
}

/// What the connection is sending: responses as they are made, or one that
/// comes later or piece by piece, which holds back the requests behind it
/// (pipelined answers keep request order).
#[derive(Debug, Default)]
enum Writing {
    /// Each response is queued as the handler makes it.
    #[default]
    Ready,
    /// The handler kept the request; its answer comes later.
    Waiting(Box<Waiting>),
    /// The head went out; the body comes piece by piece.
    Streaming(Box<Streaming>),
}

/// What a response that is not queued yet must remember of its request.
#[derive(Debug)]
struct Exchange {
    /// The request's ticket number: only an answer with it is taken.
    id: u32,
    head_only: bool,
    version: Version,
    /// The client's wish (`framing.keep_alive`).
    keep_alive: bool,
    /// When the request's head was complete (the loop's clock).
    started: Moment,
    /// What the access log needs of the request; only with the log on.
    logged: Option<Box<KeptRequest>>,
}

impl Exchange {
    /// This exchange, moved out of a `Waiting` that is ending (what it
    /// leaves behind is never logged).
    fn take(&mut self) -> Exchange {
        Exchange {
            logged: self.logged.take(),
            ..*self
        }
    }

    fn logged(&self) -> Logged<'_, 'static> {
        self.logged.as_deref().map_or(Logged::Unknown, Logged::Kept)
    }
}

/// A request kept by its handler.
struct Waiting {
    exchange: Exchange,
    until: Until,
}

/// What a kept request waits for.
enum Until {
    /// An answer from another thread, within the handler timeout; the flag
    /// tells the producer when the answer is no longer wanted.
    Thread(Arc<AtomicBool>),
    /// A timer of the loop, at `at` (loop milliseconds).
    Timer {
        at: u64,
        armed: bool,
        answer: AfterFn,
    },
}

impl Drop for Waiting {
    /// However the wait ends (answered, timed out, the client gone), the
    /// producer may stop.
    fn drop(&mut self) {
        if let Until::Thread(cancelled) = &self.until {
            cancelled.store(true, Ordering::Release);
        }
    }
}

impl fmt::Debug for Waiting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let until = match self.until {
            Until::Thread(_) => "thread",
            Until::Timer { .. } => "timer",
        };
        write!(f, "Waiting({}, {until})", self.exchange.id)
    }
}

/// A body being streamed.
struct Streaming {
    exchange: Exchange,
    connection: ConnectionHeader,
    length: StreamLength,
    /// Bytes still owed, for a declared length.
    left: u64,
    /// An open-ended stream: heartbeats when silent, ended at shutdown.
    open_ended: bool,
    /// The response's status, for its access-log line.
    status: Status,
    /// Payload bytes of the pieces queued so far (the chunked framing
    /// excluded), as nginx's `$body_bytes_sent`. They are counted when
    /// handed to the output, so a stream cut off before its output drained
    /// counts bytes that the kernel never took.
    sent: u64,
    source: Source,
}

/// A streamed response that has ended, waiting for its access-log line
/// (only with the log on) until its last byte is handed to the kernel.
#[derive(Debug)]
struct StreamEnd {
    kept: Box<KeptRequest>,
    status: Status,
    body_bytes: u64,
    started: Moment,
}

/// Where the pieces come from.
enum Source {
    /// A `BodySender` on any thread.
    Channel(Arc<StreamShared>),
    /// A `Producer` on this loop; `at`: asked again then.
    Producer {
        producer: Box<dyn Producer>,
        at: Option<u64>,
        armed: bool,
    },
}

impl Drop for Streaming {
    /// The connection takes nothing more: a producer on another thread is
    /// told (a loop producer is simply dropped).
    fn drop(&mut self) {
        if let Source::Channel(shared) = &self.source {
            shared.close();
        }
    }
}

impl fmt::Debug for Streaming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Streaming({}, {:?})", self.exchange.id, self.length)
    }
}

impl Streaming {
    /// Queues one piece as its framing requires; `false` when the piece
    /// would overrun a declared length.
    fn send(
        &mut self,
        output: &mut Output,
        piece: &[u8],
        pool: &mut super::super::buffer::BufferPool,
    ) -> bool {
        match self.length {
            StreamLength::Chunked => output.push_chunk(piece, pool),
            StreamLength::Known(_) => {
                let Some(left) = self.left.checked_sub(piece.len() as u64) else {
                    return false;
                };
                self.left = left;
                output.push_bytes(piece, pool);
            }
            StreamLength::UntilClose => output.push_bytes(piece, pool),
        }
        self.sent += piece.len() as u64;
        true
    }
}

/// The loop-clock deadline `delay` after `now`. The loop's clock counts
/// whole milliseconds (rounded down), so one more keeps a timer from ever
/// firing early.
fn deadline(now: u64, delay: Duration) -> u64 {
    let millis = u64::try_from(delay.as_micros().div_ceil(1000)).unwrap_or(u64::MAX);
    now.saturating_add(millis).saturating_add(1)
}

/// What the next step of a stream is.
enum Next {
    Piece(crate::http::late::Piece),
    Wait,
    End,
    Fail,
}

/// What the core wants from the socket now (writing its output is
/// implied whenever there is output).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    /// Bytes into [`Core::read_buffer`].
    Read,
    /// Bytes to discard (lingering close), reported with [`Core::discarded`].
    Discard,
    /// `shutdown(Write)`, reported with [`Core::write_shut`].
    ShutdownWrite,
    /// Close the connection.
    Close,
    /// Nothing until the output drains or a deadline passes.
    Nothing,
}

/// What one step of [`Core::process`] did.
enum Step {
    /// A response was queued.
    Answered,
    /// The state moved on; try again.
    Moved,
    /// Nothing more can be done with the bytes there are.
    Stalled,
}

/// One connection's exchange state: what was received, what is to be sent.
#[derive(Debug)]
pub struct Core {
    tag: Tag,
    state: State,
    writing: Writing,
    input: Option<Input>,
    output: Output,
    /// A stream that ended and is not logged yet (only with the log on).
    unlogged: Option<Box<StreamEnd>>,
}

impl Core {
    /// A just-accepted connection.
    pub fn new(tag: Tag) -> Core {
        Core {
            tag,
            state: State::Open(Reading::Fresh),
            writing: Writing::Ready,
            input: None,
            output: Output::default(),
            unlogged: None,
        }
    }

    /// The connection's name in logs.
    pub fn tag(&self) -> Tag {
        self.tag
    }

    /// The bytes waiting to be written.
    pub fn output(&mut self) -> &mut Output {
        &mut self.output
    }

    /// Whether nothing is under way: no request started, nothing to send.
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Open(Reading::Fresh | Reading::Idle))
            && matches!(self.writing, Writing::Ready)
            && self.input.is_none()
            && self.output.is_empty()
    }

    /// Whether [`process`](Self::process) and [`flushed`](Self::flushed)
    /// would find nothing to do: idle, and no stream's log line waiting.
    #[inline]
    pub fn is_quiet(&self) -> bool {
        self.is_idle() && self.unlogged.is_none()
    }

    /// Whether the connection is finished.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closing(Closing::Done))
    }

    /// Marks the connection finished (the loop closes it). A stream still
    /// under way is cut off here, and logged with what it sent; a request
    /// still waiting for its answer is logged as nginx logs it, 499.
    pub fn close<H>(&mut self, cx: &mut Context<H>, peer: Peer) {
        // Whatever was under way ends here (dropping it tells a producer).
        match std::mem::take(&mut self.writing) {
            Writing::Streaming(mut s) => self.stream_ended(&mut s),
            Writing::Waiting(w) => {
                if let Some(kept) = &w.exchange.logged {
                    let req = Logged::Kept(kept);
                    let status = Status::CLIENT_CLOSED_REQUEST;
                    log_line(cx, peer, req, status, 0, w.exchange.started);
                }
            }
            Writing::Ready => {}
        }
        self.log_stream_end(cx, peer);
        if !self.is_closed() {
            self.set_state(State::Closing(Closing::Done));
        }
    }

    /// The phase the gauges should count.
    pub fn phase(&self) -> Phase {
        match (&self.state, &self.writing) {
            (State::Closing(_), _) => Phase::Writing,
            (_, Writing::Waiting(_)) => Phase::Waiting,
            (_, Writing::Streaming(_)) => Phase::Streaming,
            (state, Writing::Ready) => self.exchange_phase(state),
        }
    }

    fn exchange_phase(&self, state: &State) -> Phase {
        match state {
            _ if !self.output.is_empty() => Phase::Writing,
            State::Open(r) | State::InputEnded(r) => match r {
                Reading::Fresh | Reading::Idle => Phase::Idle,
                Reading::Head { .. } | Reading::Body(_) => Phase::Reading,
            },
            State::Closing(_) => Phase::Writing,
        }
    }

    /// The deadline that should be running: the client not reading our
    /// output comes first, then whatever the state waits for.
    #[inline]
    pub fn timer_kind(&self) -> Option<TimerKind> {
        match &self.state {
            State::Closing(Closing::Done) => None,
            State::Closing(Closing::Linger { .. }) => Some(TimerKind::Linger),
            _ if !self.output.is_empty() => Some(TimerKind::Write),
            State::Closing(Closing::Flush { .. }) => Some(TimerKind::Write),
            _ if !matches!(self.writing, Writing::Ready) => self.writing_timer(),
            State::Open(r) | State::InputEnded(r) => Some(match r {
                Reading::Fresh | Reading::Head { .. } => TimerKind::Header,
                Reading::Idle => TimerKind::KeepAlive,
                Reading::Body(_) => TimerKind::Body,
            }),
        }
    }

    /// The deadline of a kept request or a stream with nothing to write:
    /// loop timers (`wake_request`) are not in the timer lists.
    fn writing_timer(&self) -> Option<TimerKind> {
        match &self.writing {
            Writing::Waiting(waiting) => match waiting.until {
                Until::Thread(_) => Some(TimerKind::Handler),
                Until::Timer { .. } => None,
            },
            Writing::Streaming(s) if s.open_ended => Some(TimerKind::Heartbeat),
            Writing::Streaming(s) => match s.source {
                Source::Channel(_) => Some(TimerKind::Handler),
                Source::Producer { .. } => None,
            },
            Writing::Ready => None,
        }
    }

    /// A loop timer to arm, once: `(at, ticket number)`.
    pub fn wake_request(&mut self) -> Option<(u64, u32)> {
        match &mut self.writing {
            Writing::Waiting(waiting) => match &mut waiting.until {
                Until::Timer { at, armed, .. } if !*armed => {
                    *armed = true;
                    Some((*at, waiting.exchange.id))
                }
                _ => None,
            },
            Writing::Streaming(s) => match &mut s.source {
                Source::Producer {
                    at: Some(at),
                    armed,
                    ..
                } if !*armed => {
                    *armed = true;
                    Some((*at, s.exchange.id))
                }
                _ => None,
            },
            Writing::Ready => None,
        }
    }

    /// What the core wants from the socket. `readable`: the shell knows
    /// of bytes it has not read yet (they decide whether closing needs a
    /// lingering close).
    #[inline]
    pub fn want(&self, readable: bool) -> Want {
        match &self.state {
            State::Open(_) if self.output.is_blocked() => Want::Nothing,
            // Behind a late answer or a stream, requests wait unparsed: read
            // only until some arrive (a reset or the end of input is still
            // seen), so the input stays bounded.
            State::Open(_) if !matches!(self.writing, Writing::Ready) && self.input.is_some() => {
                Want::Nothing
            }
            State::Open(_) => Want::Read,
            State::InputEnded(_) => Want::Nothing,
            State::Closing(Closing::Flush { .. }) if !self.output.is_empty() => Want::Nothing,
            State::Closing(Closing::Flush { unread }) if *unread || readable => Want::ShutdownWrite,
            State::Closing(Closing::Flush { .. } | Closing::Done) => Want::Close,
            State::Closing(Closing::Linger { .. }) => Want::Discard,
        }
    }

    /// Room for the next read (an input buffer is taken from the pool on
    /// first use); `None` when the buffer is full, which the limits make
    /// impossible for a request that keeps to them.
    pub fn read_buffer<H>(&mut self, cx: &mut Context<H>) -> Option<&mut [u8]> {
        let input = self.input.get_or_insert_with(|| cx.pool.input());
        let spare = input.spare(cx.limits.input_max);
        (!spare.is_empty()).then_some(spare)
    }

    /// `n` bytes were read into [`read_buffer`](Self::read_buffer) (0:
    /// none were there after all).
    pub fn received<H>(&mut self, n: usize, cx: &mut Context<H>) {
        if let Some(input) = self.input.as_mut() {
            input.filled(n);
        }
        self.release_input_if_empty(cx);
    }

    /// The client shut its side: no byte will follow.
    pub fn input_ended(&mut self) {
        let state = std::mem::replace(&mut self.state, State::Closing(Closing::Done));
        let next = match state {
            State::Open(reading) | State::InputEnded(reading) => State::InputEnded(reading),
            State::Closing(Closing::Linger { .. }) => State::Closing(Closing::Done),
            closing @ State::Closing(_) => closing,
        };
        self.state = next;
        trace!("{}: end of input", self.tag);
    }

    /// Our write side is shut: linger.
    pub fn write_shut(&mut self) {
        self.set_state(State::Closing(Closing::Linger { discarded: 0 }));
    }

    /// `n` bytes were read and dropped while lingering.
    pub fn discarded(&mut self, n: usize) {
        if let State::Closing(Closing::Linger { discarded }) = &mut self.state {
            *discarded += n;
            if *discarded > LINGER_MAX_BYTES {
                self.set_state(State::Closing(Closing::Done));
            }
        }
    }

    /// The header deadline passed. A client that sent part of a request
    /// gets a 408 (then the connection closes); one that sent nothing is
    /// closed without a word (returns `false`).
    pub fn header_timeout<H>(&mut self, cx: &mut Context<H>, peer: Peer) -> bool {
        if let State::Open(Reading::Head { .. }) | State::InputEnded(Reading::Head { .. }) =
            self.state
        {
            self.fail(cx, RequestError::Timeout, peer);
            return true;
        }
        false
    }

    /// Answers every complete request in the input buffer, in order, while
    /// the output has room; returns how many were answered by the handler.
    pub fn process<H: Handler>(&mut self, cx: &mut Context<H>, peer: Peer) -> u32 {
        let mut answered = 0;
        while !self.output.is_blocked() {
            let step = match (&self.state, &self.writing) {
                (State::Closing(_), _) | (_, Writing::Waiting(_)) => break,
                (_, Writing::Streaming(_)) => self.pump(cx),
                (State::Open(Reading::Body(_)) | State::InputEnded(Reading::Body(_)), _) => {
                    self.body(cx, peer)
                }
                (State::Open(_) | State::InputEnded(_), _) => self.head(cx, peer),
            };
            match step {
                Step::Answered => answered += 1,
                Step::Moved => {}
                Step::Stalled => break,
            }
        }
        self.settle_end_of_input(cx);
        answered
    }

    /// Once the output is written: log a stream that ended, give the
    /// buffer back.
    pub fn flushed<H>(&mut self, cx: &mut Context<H>, peer: &Peer) {
        if self.unlogged.is_some() && self.output.is_empty() {
            self.log_stream_end(cx, *peer);
        }
        self.output.recycle(&mut cx.pool);
    }

    /// Keeps what the line of the stream `s`, which ended, needs (with
    /// the log on), until its output is handed to the kernel.
    fn stream_ended(&mut self, s: &mut Streaming) {
        if let Some(kept) = s.exchange.logged.take() {
            self.unlogged = Some(Box::new(StreamEnd {
                kept,
                status: s.status,
                body_bytes: s.sent,
                started: s.exchange.started,
            }));
        }
    }

    /// Writes the line of the stream that ended, if there is one. Cold:
    /// kept out of the write path of every response.
    #[cold]
    #[inline(never)]
    fn log_stream_end<H>(&mut self, cx: &mut Context<H>, peer: Peer) {
        if let Some(end) = self.unlogged.take() {
            let req = Logged::Kept(&end.kept);
            log_line(cx, peer, req, end.status, end.body_bytes, end.started);
        }
    }

    /// Something arrived for ticket `id` of this connection (another
    /// thread answered, dropped its `Later`, or fed a stream). Returns
    /// whether the connection has work to do now.
    pub fn late<H>(&mut self, cx: &mut Context<H>, id: u32, event: LateEvent, peer: Peer) -> bool {
        match (event, &mut self.writing) {
            (LateEvent::StreamReady, Writing::Streaming(s)) => s.exchange.id == id,
            (LateEvent::Answer(res), Writing::Waiting(w)) if w.exchange.id == id => {
                let exchange = w.exchange.take();
                self.answer_later(cx, exchange, *res, peer);
                true
            }
            (LateEvent::Dropped, Writing::Waiting(w)) if w.exchange.id == id => {
                error!(
                    "{}: a kept request was dropped unanswered; answering 500",
                    self.tag
                );
                let exchange = w.exchange.take();
                self.answer_with(cx, exchange, Status::INTERNAL_SERVER_ERROR, peer);
                true
            }
            // For a request answered (or timed out) already, or a
            // connection that reused the key: nothing of ours.
            _ => false,
        }
    }

    /// A loop timer fired for ticket `id`. Returns whether the connection
    /// has work to do now.
    pub fn wake<H>(&mut self, cx: &mut Context<H>, id: u32, peer: Peer) -> bool {
        match &mut self.writing {
            Writing::Waiting(w) if w.exchange.id == id => {
                let exchange = w.exchange.take();
                let Writing::Waiting(mut waiting) = std::mem::take(&mut self.writing) else {
                    return false;
                };
                let Until::Timer { answer, .. } =
                    std::mem::replace(&mut waiting.until, Until::Thread(Arc::default()))
                else {
                    return false;
                };
                cx.response.set_ticket(Ticket {
                    key: self.tag.key,
                    id,
                });
                guarded(None, &mut cx.response, answer);
                match cx.response.take_deferral() {
                    Some(deferral) => self.defer(cx, exchange, deferral, peer),
                    None => self.queue_late(cx, exchange, peer),
                }
                true
            }
            Writing::Streaming(s) if s.exchange.id == id => match &mut s.source {
                Source::Producer { at, armed, .. } if at.is_some() => {
                    (*at, *armed) = (None, false);
                    true
                }
                _ => false,
            },
            _ => false,
        }
    }

    /// The handler timeout passed: a kept request is answered 504 (its
    /// producer sees it cancelled), a stalled stream is cut off.
    pub fn handler_timeout<H>(&mut self, cx: &mut Context<H>, peer: Peer) {
        match &mut self.writing {
            Writing::Waiting(w) => {
                let exchange = w.exchange.take();
                debug!("{}: the handler did not answer in time", self.tag);
                self.answer_with(cx, exchange, Status::GATEWAY_TIMEOUT, peer);
            }
            Writing::Streaming(_) => {
                debug!("{}: the stream stalled", self.tag);
                self.abandon_stream(cx);
            }
            Writing::Ready => {}
        }
    }

    /// An open-ended stream was silent for the heartbeat interval.
    pub fn heartbeat<H>(&mut self, cx: &mut Context<H>) {
        if let Writing::Streaming(s) = &self.writing {
            if s.open_ended && self.output.is_empty() {
                self.output.push_chunk(HEARTBEAT_LINE, &mut cx.pool);
            }
        }
    }

    /// At shutdown: an open-ended stream ends now, with its terminating
    /// chunk; other streams and late answers may finish.
    pub fn end_open_stream<H>(&mut self, cx: &mut Context<H>) {
        if matches!(&self.writing, Writing::Streaming(s) if s.open_ended) {
            self.end_stream(cx);
        }
    }

    /// The handler kept the request (or its late answer streams): wait or
    /// stream accordingly.
    fn defer<H>(
        &mut self,
        cx: &mut Context<H>,
        exchange: Exchange,
        deferral: Deferral,
        peer: Peer,
    ) {
        let until = match deferral {
            Deferral::Later(cancelled) => Until::Thread(cancelled),
            Deferral::After(delay, answer) => Until::Timer {
                at: deadline(cx.now, delay),
                armed: false,
                answer,
            },
            Deferral::Channel(shared) => {
                return self.start_stream(cx, exchange, Source::Channel(shared), peer)
            }
            Deferral::Producer(producer) => {
                let source = Source::Producer {
                    producer,
                    at: None,
                    armed: false,
                };
                return self.start_stream(cx, exchange, source, peer);
            }
        };
        self.writing = Writing::Waiting(Box::new(Waiting { exchange, until }));
    }

    /// Queues the head of a streamed body, then takes pieces as the
    /// output has room. HEAD, 204 and 304 send no body: the producer is
    /// dropped (told, if it is on another thread) at once.
    fn start_stream<H>(
        &mut self,
        cx: &mut Context<H>,
        exchange: Exchange,
        source: Source,
        peer: Peer,
    ) {
        // A stream pipelined behind one whose output is still draining:
        // the earlier one's line goes now, a little early, rather than
        // being overwritten when this one ends (one is kept at a time).
        if self.unlogged.is_some() {
            self.log_stream_end(cx, peer);
        }
        let res = &cx.response;
        let length = match (res.declared_stream_length(), exchange.version) {
            (Some(len), _) => StreamLength::Known(len),
            (None, Version::Http11) => StreamLength::Chunked,
            (None, Version::Http10) => StreamLength::UntilClose,
        };
        let mut connection = self.connection_for(cx, &exchange);
        if length == StreamLength::UntilClose {
            connection = ConnectionHeader::Close;
        }
        let open_ended = res.is_event_stream();
        let status = res.status();
        let no_body = exchange.head_only || status.forbids_body();
        let started = exchange.started;
        queue(
            &mut self.output,
            cx,
            exchange.logged(),
            Framed::Stream(length),
            connection,
            started,
            peer,
        );
        let left = match length {
            StreamLength::Known(len) => len,
            _ => 0,
        };
        let streaming = Box::new(Streaming {
            exchange,
            connection,
            length,
            left,
            open_ended,
            status,
            sent: 0,
            source,
        });
        if no_body {
            log_line(cx, peer, streaming.exchange.logged(), status, 0, started);
            drop(streaming);
            self.writing = Writing::Ready;
            self.finish_exchange(cx, connection.keeps_alive());
            return;
        }
        self.writing = Writing::Streaming(streaming);
    }

    /// Takes pieces from the stream while the output has room.
    fn pump<H>(&mut self, cx: &mut Context<H>) -> Step {
        let (Writing::Streaming(s), output) = (&mut self.writing, &mut self.output) else {
            return Step::Moved;
        };
        while !output.is_blocked() {
            let next = match &mut s.source {
                Source::Channel(shared) => match shared.take() {
                    Taken::Piece(piece) => Next::Piece(piece),
                    Taken::Empty => Next::Wait,
                    Taken::Finished => Next::End,
                    Taken::Abandoned => Next::Fail,
                },
                Source::Producer { at: Some(_), .. } => Next::Wait,
                Source::Producer {
                    producer,
                    at,
                    armed,
                } => match producer.produce() {
                    Produced::Piece(piece) => Next::Piece(piece),
                    Produced::After(delay) => {
                        (*at, *armed) = (Some(deadline(cx.now, delay)), false);
                        Next::Wait
                    }
                    Produced::End => Next::End,
                    Produced::Fail => Next::Fail,
                },
            };
            match next {
                Next::Piece(piece) => {
                    if !s.send(output, &piece, &mut cx.pool) {
                        self.abandon_stream(cx);
                        return Step::Moved;
                    }
                }
                Next::Wait => return Step::Stalled,
                Next::End => {
                    self.end_stream(cx);
                    return Step::Moved;
                }
                Next::Fail => {
                    self.abandon_stream(cx);
                    return Step::Moved;
                }
            }
        }
        Step::Stalled
    }

    /// The body is complete: its end goes out, and the connection goes on
    /// (or closes) as the exchange decided. A body shorter than it
    /// declared is cut off instead.
    fn end_stream<H>(&mut self, cx: &mut Context<H>) {
        let Writing::Streaming(mut s) = std::mem::take(&mut self.writing) else {
            return;
        };
        self.stream_ended(&mut s);
        let keep_alive = match s.length {
            StreamLength::Chunked => {
                self.output.push_bytes(LAST_CHUNK, &mut cx.pool);
                s.connection.keeps_alive() && !cx.shutting_down
            }
            StreamLength::Known(_) if s.left > 0 => return self.abandon_stream(cx),
            StreamLength::Known(_) => s.connection.keeps_alive() && !cx.shutting_down,
            StreamLength::UntilClose => false,
        };
        drop(s);
        self.finish_exchange(cx, keep_alive);
    }

    /// The producer gave up, or the stream cannot go on: close once what
    /// is queued is written, without the end of the body, so the client
    /// can tell a truncated body from a whole one.
    fn abandon_stream<H>(&mut self, cx: &mut Context<H>) {
        debug!("{}: stream abandoned; closing without its end", self.tag);
        if let Writing::Streaming(mut s) = std::mem::take(&mut self.writing) {
            self.stream_ended(&mut s);
        }
        let unread = self.input.is_some();
        self.set_closing(unread, cx);
    }

    /// A late answer arrived: queue it where the kept request was (or
    /// start its stream, or its timer).
    fn answer_later<H>(
        &mut self,
        cx: &mut Context<H>,
        exchange: Exchange,
        mut res: Response,
        peer: Peer,
    ) {
        self.writing = Writing::Ready;
        // The late answer takes the place of the loop's own response for
        // as long as it is queued; the loop's (bound to its inbox, its
        // header buffer grown) goes back after.
        res.carry_added_from(&cx.response);
        std::mem::swap(&mut cx.response, &mut res);
        let deferral = match cx.response.misuse() {
            Some(why) => {
                error!("{}: a late answer: {why}; answering 500", self.tag);
                cx.response.reset();
                cx.response.error(Status::INTERNAL_SERVER_ERROR);
                None
            }
            None => cx.response.take_deferral(),
        };
        match deferral {
            Some(deferral) => self.defer(cx, exchange, deferral, peer),
            None => self.queue_late(cx, exchange, peer),
        }
        std::mem::swap(&mut cx.response, &mut res);
    }

    /// Answers a kept request with an error status.
    fn answer_with<H>(
        &mut self,
        cx: &mut Context<H>,
        exchange: Exchange,
        status: Status,
        peer: Peer,
    ) {
        self.writing = Writing::Ready;
        cx.response.reset();
        cx.response.error(status);
        self.queue_late(cx, exchange, peer);
    }

    /// Queues `cx.response` as the answer of the kept request.
    fn queue_late<H>(&mut self, cx: &mut Context<H>, exchange: Exchange, peer: Peer) {
        self.writing = Writing::Ready;
        let connection = self.connection_for(cx, &exchange);
        let whole = Framed::Whole {
            head_only: exchange.head_only,
        };
        let started = exchange.started;
        let logged = exchange.logged();
        queue(
            &mut self.output,
            cx,
            logged,
            whole,
            connection,
            started,
            peer,
        );
        self.finish_exchange(cx, connection.keeps_alive());
    }

    /// The `Connection` field of a late answer or a stream.
    fn connection_for<H>(&self, cx: &Context<H>, exchange: &Exchange) -> ConnectionHeader {
        let framing = Framing {
            body: crate::http::framing::BodyFraming::None,
            keep_alive: exchange.keep_alive,
            expect_continue: false,
        };
        exchange::connection_header(
            &framing,
            exchange.version,
            cx.response.wants_close(),
            cx.shutting_down,
        )
    }

    /// A late or streamed answer is complete: the requests behind it may
    /// be answered now, or the connection closes.
    fn finish_exchange<H>(&mut self, cx: &mut Context<H>, keep_alive: bool) {
        if !keep_alive {
            let unread = self.input.is_some();
            self.set_closing(unread, cx);
        }
    }

    fn set_state(&mut self, next: State) {
        trace!("{}: {} -> {}", self.tag, name(&self.state), name(&next));
        self.state = next;
    }

    /// Moves to `next` within the reading states, keeping whether the
    /// input has ended.
    fn set_reading(&mut self, next: Reading) {
        let next = match self.state {
            State::InputEnded(_) => State::InputEnded(next),
            _ => State::Open(next),
        };
        self.set_state(next);
    }

    /// The last response is queued: write it, then close.
    fn set_closing(&mut self, unread: bool, cx: &mut Context<impl Sized>) {
        self.discard_input(cx);
        let unread = unread && !matches!(self.state, State::InputEnded(_));
        self.set_state(State::Closing(Closing::Flush { unread }));
    }

    /// Looks for a complete head; parses it when there is one.
    fn head<H: Handler>(&mut self, cx: &mut Context<H>, peer: Peer) -> Step {
        let scanned = match self.state {
            State::Open(Reading::Head { scanned })
            | State::InputEnded(Reading::Head { scanned }) => scanned,
            _ => 0,
        };
        if scanned == 0 && !self.skip_empty_lines(cx) {
            return Step::Stalled;
        }
        let Some(input) = self.input.as_ref() else {
            return Step::Stalled;
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
        // Borrowed where it was parsed: the head is not small.
        let head = match &parsed {
            Ok(Some(head)) => head,
            Ok(None) => return self.head_incomplete(cx, peer),
            Err(error) => return self.fail(cx, *error, peer),
        };
        match framing(bytes, head, &cx.headers, cx.limits.max_body) {
            Ok(framing) => self.begin_body(cx, head, framing, peer),
            Err(error) => self.fail(cx, error, peer),
        }
    }

    /// Drops empty lines before a request line (RFC 9112 §2.2). Returns
    /// whether a request line may have started.
    fn skip_empty_lines<H>(&mut self, cx: &mut Context<H>) -> bool {
        let Some(input) = self.input.as_mut() else {
            return false;
        };
        // Nearly always: the request line's first byte, nothing to drop.
        if input
            .bytes()
            .first()
            .is_some_and(|&b| b != b'\r' && b != b'\n')
        {
            return true;
        }
        input.consume(leading_empty_lines(input.bytes()));
        if input.is_empty() {
            self.release_input_if_empty(cx);
            if let State::Open(Reading::Head { .. }) | State::InputEnded(Reading::Head { .. }) =
                self.state
            {
                self.set_reading(Reading::Idle);
            }
            return false;
        }
        // A lone CR may be the start of one more empty line.
        input.bytes() != b"\r"
    }

    /// The head has not ended yet: remember how far it was searched, or
    /// refuse it if it is already over `--max-header-bytes`.
    fn head_incomplete<H>(&mut self, cx: &mut Context<H>, peer: Peer) -> Step {
        let Some(input) = self.input.as_ref() else {
            return Step::Stalled;
        };
        let bytes = input.bytes();
        let max = cx.limits.head.max_header_bytes;
        if bytes.len() > max + 2 {
            return self.fail(cx, oversize_error(bytes, max), peer);
        }
        let len = bytes.len();
        match &mut self.state {
            State::Open(Reading::Head { scanned })
            | State::InputEnded(Reading::Head { scanned }) => *scanned = len,
            _ => self.set_reading(Reading::Head { scanned: len }),
        }
        Step::Stalled
    }

    /// A head was parsed: answer at once if there is no body, else start
    /// receiving it (after `100 Continue`, or an early refusal).
    fn begin_body<H: Handler>(
        &mut self,
        cx: &mut Context<H>,
        head: &Head,
        framing: Framing,
        peer: Peer,
    ) -> Step {
        let Some(decoder) = BodyDecoder::new(framing.body, cx.limits.chunked) else {
            return self.respond(cx, head, &framing, head.len..head.len, cx.clock, peer);
        };
        let body_started = self.input.as_ref().is_some_and(|i| i.len() > head.len);
        if exchange::sends_continue(&framing, head.version, body_started) {
            if self.refuse_early(cx, head, peer) {
                return Step::Answered;
            }
            self.output.push_bytes(exchange::CONTINUE, &mut cx.pool);
        }
        self.set_reading(Reading::Body(Box::new(Receiving {
            head_len: head.len,
            started: cx.clock,
            framing,
            decoder,
        })));
        Step::Moved
    }

    /// Asks the handler whether it refuses the request before its body is
    /// read; if so, sends the refusal as the last response.
    fn refuse_early<H: Handler>(&mut self, cx: &mut Context<H>, head: &Head, peer: Peer) -> bool {
        let Some(input) = self.input.as_ref() else {
            return false;
        };
        let started = cx.clock;
        let headers = std::mem::take(&mut cx.headers); // see `respond`
        let req = Request::new(input.bytes(), head, &headers, &[]).with_peer(peer);
        let handler = &mut cx.handler;
        // A handler that fails here has answered 500: that refuses too.
        let refused = guarded(Some(&req), &mut cx.response, |res| {
            handler.refuse_early(&req, res)
        }) != Some(false);
        if refused {
            let whole = Framed::Whole {
                head_only: req.is_head(),
            };
            let close = ConnectionHeader::Close;
            queue(
                &mut self.output,
                cx,
                Logged::Parsed(&req),
                whole,
                close,
                started,
                peer,
            );
        }
        cx.headers = headers;
        if refused {
            self.set_closing(true, cx);
        }
        refused
    }

    /// Decodes what arrived of the body; answers when it is complete.
    fn body<H: Handler>(&mut self, cx: &mut Context<H>, peer: Peer) -> Step {
        let (State::Open(Reading::Body(receiving)) | State::InputEnded(Reading::Body(receiving))) =
            &mut self.state
        else {
            return Step::Stalled;
        };
        let Some(input) = self.input.as_mut() else {
            return Step::Stalled;
        };
        let head_len = receiving.head_len;
        let progress = match receiving.decoder.decode(&mut input.bytes_mut()[head_len..]) {
            Ok(progress) => progress,
            Err(error) => return self.fail(cx, error, peer),
        };
        if progress.cut > 0 {
            input.remove(head_len + progress.decoded, progress.cut);
        }
        if !progress.complete {
            return Step::Stalled;
        }
        let (framing, started) = (receiving.framing, receiving.started);
        // The header spans live in the loop's scratch, which the heads of
        // other connections overwrote while this body arrived. Parsing the
        // head again (it is known to be valid) costs less than a copy of
        // the spans kept by every connection that receives a body.
        match parse_head(input.bytes(), head_len, cx.limits.head, &mut cx.headers) {
            Ok(head) => {
                let body = head_len..head_len + progress.decoded;
                self.respond(cx, &head, &framing, body, started, peer)
            }
            Err(error) => self.fail(cx, error, peer),
        }
    }

    /// Calls the handler for the complete request whose body is at `body`
    /// in the input, queues its response, consumes the request and moves
    /// to the next state.
    fn respond<H: Handler>(
        &mut self,
        cx: &mut Context<H>,
        head: &Head,
        framing: &Framing,
        body: Range<usize>,
        started: Moment,
        peer: Peer,
    ) -> Step {
        let Some(input) = self.input.as_mut() else {
            return Step::Stalled;
        };

        // The request borrows the header spans; moved out of the context
        // (three words, no allocation) so the response can be queued
        // while the request is still at hand for the log.
        let headers = std::mem::take(&mut cx.headers);
        let bytes = input.bytes();
        let req = Request::new(bytes, head, &headers, &bytes[body.clone()]).with_peer(peer);
        let id = cx.next_ticket;
        cx.response.set_ticket(Ticket {
            key: self.tag.key,
            id,
        });
        let handler = &mut cx.handler;
        guarded(Some(&req), &mut cx.response, |res| {
            handler.handle(&req, res)
        });
        if let Some(deferral) = cx.response.take_deferral() {
            cx.next_ticket = id.wrapping_add(1);
            let exchange = Exchange {
                id,
                head_only: req.is_head(),
                version: head.version,
                keep_alive: framing.keep_alive,
                started,
                logged: cx
                    .access_log
                    .is_some()
                    .then(|| Box::new(KeptRequest::of(&req))),
            };
            cx.headers = headers;
            input.consume(body.end);
            self.after_response(cx, true);
            self.defer(cx, exchange, deferral, peer);
            return Step::Answered;
        }
        let connection = exchange::connection_header(
            framing,
            head.version,
            cx.response.wants_close(),
            cx.shutting_down,
        );
        let body_framing = Framed::Whole {
            head_only: req.is_head(),
        };
        queue(
            &mut self.output,
            cx,
            Logged::Parsed(&req),
            body_framing,
            connection,
            started,
            peer,
        );
        cx.headers = headers;
        input.consume(body.end);
        self.after_response(cx, connection.keeps_alive());
        Step::Answered
    }

    /// A response is queued and its request consumed: wait for the next
    /// request (already buffered, or still to come), or close.
    fn after_response<H>(&mut self, cx: &mut Context<H>, keep_alive: bool) {
        let all_read = self.input.as_ref().is_none_or(Input::is_empty);
        match (keep_alive, all_read) {
            (false, all_read) => self.set_closing(!all_read, cx),
            // A head that arrived whole while idle leaves the connection
            // idle, and a pipelined one whose successor is buffered
            // already reads the next head from its start: no transition
            // to trace.
            (true, true) => {
                self.release_input_if_empty(cx);
                if !matches!(self.state, State::Open(Reading::Idle)) {
                    self.set_reading(Reading::Idle);
                }
            }
            (true, false) => match &mut self.state {
                State::Open(Reading::Head { scanned }) => *scanned = 0,
                _ => self.set_reading(Reading::Head { scanned: 0 }),
            },
        }
    }

    /// Answers a request that cannot be served with its error status, and
    /// closes: nothing after a framing error can be trusted to be a request.
    fn fail<H>(&mut self, cx: &mut Context<H>, error: RequestError, peer: Peer) -> Step {
        debug!("{}: {error}", self.tag);
        let started = cx.clock;
        exchange::error_response(&mut cx.response, error);
        let whole = Framed::Whole { head_only: false };
        let close = ConnectionHeader::Close;
        queue(
            &mut self.output,
            cx,
            Logged::Unknown,
            whole,
            close,
            started,
            peer,
        );
        self.set_closing(true, cx);
        Step::Answered
    }

    /// After the client's end of input: once every complete request is
    /// answered, what remains is an unfinished request that never will be.
    fn settle_end_of_input<H>(&mut self, cx: &mut Context<H>) {
        if matches!(self.state, State::InputEnded(_))
            && matches!(self.writing, Writing::Ready)
            && !self.output.is_blocked()
        {
            self.set_closing(false, cx);
        }
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

/// How a queued response's body goes out.
#[derive(Clone, Copy, Debug)]
enum Framed {
    /// With the head (none for HEAD).
    Whole { head_only: bool },
    /// Piece by piece after the head, its length told as given.
    Stream(StreamLength),
}

/// Queues the response in `cx.response`: the one place a response is
/// counted and timed, and a whole one logged (a stream is logged when it
/// ends). `req` is what is known of the request (kept for one answered
/// later, unknown for one that could not be parsed). `started` is the
/// loop's clock when the request's head was complete. Inlined into its
/// callers (a few KiB of code): a call with nine arguments costs more per
/// response than everything `queue` itself decides.
#[inline(always)]
fn queue<H>(
    output: &mut Output,
    cx: &mut Context<H>,
    req: Logged<'_, '_>,
    framed: Framed,
    connection: ConnectionHeader,
    started: Moment,
    peer: Peer,
) {
    let status = cx.response.status();
    let (date, pool) = (&cx.date, &mut cx.pool);
    let sent = match framed {
        Framed::Whole { head_only } => {
            output.push_response(&mut cx.response, head_only, date, connection, pool)
        }
        Framed::Stream(length) => {
            output.push_stream_head(&cx.response, date, connection, length, pool);
            0
        }
    };
    cx.stats.count_response(status.code());
    if let Some((earlier, n)) = output.note_response(started) {
        record_durations(cx, earlier, n, Moment::now());
    }
    if let Framed::Whole { .. } = framed {
        log_line(cx, peer, req, status, sent, started);
    }
}

/// Writes the access-log line of a response (with the log on), its
/// duration from `started` to now.
fn log_line<H>(
    cx: &mut Context<H>,
    peer: Peer,
    req: Logged<'_, '_>,
    status: Status,
    body_bytes: u64,
    started: Moment,
) {
    if let Some(log) = &mut cx.access_log {
        let micros = Moment::now().micros_since(started);
        log.line(&Entry {
            peer,
            req,
            status,
            body_bytes,
            micros,
        });
    }
}

/// Records the durations of `n` requests complete at `started` and
/// answered (their last byte handed to the kernel) at `now`.
pub fn record_durations<H>(cx: &Context<H>, started: Moment, n: u32, now: Moment) {
    let micros = now.micros_since(started);
    // The loop's clock counts from the histogram's epoch (see `EventLoop::new`).
    cx.stats
        .record_durations(micros, u64::from(n), cx.now / 1000);
}

/// The state's name, for the trace log.
fn name(state: &State) -> &'static str {
    match state {
        State::Open(r) | State::InputEnded(r) => match r {
            Reading::Fresh => "Fresh",
            Reading::Idle => "Idle",
            Reading::Head { .. } => "Head",
            Reading::Body(_) => "Body",
        },
        State::Closing(Closing::Flush { .. }) => "Flush",
        State::Closing(Closing::Linger { .. }) => "Linger",
        State::Closing(Closing::Done) => "Done",
    }
}

/// Runs one handler call. A panic or an invalid response becomes a 500
/// in `res`, and `None`.
fn guarded<R>(
    req: Option<&Request<'_>>,
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
    match req {
        Some(req) => error!("{} {}: {why}; answering 500", req.method(), req.target()),
        None => error!("a late answer: {why}; answering 500"),
    }
    res.reset();
    res.error(Status::INTERNAL_SERVER_ERROR);
    None
}

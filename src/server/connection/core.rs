//! The connection's state machine, with no IO in it.
//!
//! The core is told what happened on the socket (bytes arrived, the input
//! ended, the write side is shut, a deadline passed) and answers with what
//! it wants next ([`Want`]) and the bytes to write (its [`Output`]). It never
//! touches a socket or a clock of its own, so it can be driven byte by byte
//! from a test (see `tests` below) exactly as the event loop drives it.
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
//! Every response is queued by [`Core::queue`]. Its duration for the access
//! log runs from [`Context::request_clock`] read when the request was
//! complete (the head, or the framing error, was found) to the moment the
//! response is queued; the clock is read only when the access log is on.

use super::super::access_log::{self, Peer};
use super::super::buffer::Input;
use super::super::context::Context;
use super::super::output::Output;
use super::super::stats::Phase;
use super::super::timers::TimerKind;
use crate::handlers::Handler;
use crate::http::decode::BodyDecoder;
use crate::http::exchange;
use crate::http::framing::{framing, Framing};
use crate::http::parse::{
    find_head_end, leading_empty_lines, oversize_error, parse_head, parse_head_prefix, Head,
};
use crate::http::{ConnectionHeader, Request, RequestError, Response, Status};
use log::{debug, error, trace};
use std::fmt;
use std::ops::Range;
use std::panic::{self, AssertUnwindSafe};
use std::time::Instant;

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
    input: Option<Input>,
    output: Output,
}

impl Core {
    /// A just-accepted connection.
    pub fn new(tag: Tag) -> Core {
        Core {
            tag,
            state: State::Open(Reading::Fresh),
            input: None,
            output: Output::default(),
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
            && self.input.is_none()
            && self.output.is_empty()
    }

    /// Whether the connection is finished.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closing(Closing::Done))
    }

    /// Marks the connection finished (the loop closes it).
    pub fn close(&mut self) {
        if !self.is_closed() {
            self.set_state(State::Closing(Closing::Done));
        }
    }

    /// The phase the gauges should count.
    pub fn phase(&self) -> Phase {
        match &self.state {
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
    pub fn timer_kind(&self) -> Option<TimerKind> {
        match &self.state {
            State::Closing(Closing::Done) => None,
            State::Closing(Closing::Linger { .. }) => Some(TimerKind::Linger),
            _ if !self.output.is_empty() => Some(TimerKind::Write),
            State::Closing(Closing::Flush { .. }) => Some(TimerKind::Write),
            State::Open(r) | State::InputEnded(r) => Some(match r {
                Reading::Fresh | Reading::Head { .. } => TimerKind::Header,
                Reading::Idle => TimerKind::KeepAlive,
                Reading::Body(_) => TimerKind::Body,
            }),
        }
    }

    /// What the core wants from the socket. `readable`: the shell knows
    /// of bytes it has not read yet (they decide whether closing needs a
    /// lingering close).
    pub fn want(&self, readable: bool) -> Want {
        match &self.state {
            State::Open(_) if self.output.is_blocked() => Want::Nothing,
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
    pub fn header_timeout<H, P: Peer>(&mut self, cx: &mut Context<H>, peer: &P) -> bool {
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
    pub fn process<H: Handler, P: Peer>(&mut self, cx: &mut Context<H>, peer: &P) -> u32 {
        let mut answered = 0;
        while !self.output.is_blocked() {
            let step = match &self.state {
                State::Open(Reading::Body(_)) | State::InputEnded(Reading::Body(_)) => {
                    self.body(cx, peer)
                }
                State::Open(_) | State::InputEnded(_) => self.head(cx, peer),
                State::Closing(_) => break,
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

    /// Once the output is written: give its buffer back.
    pub fn flushed<H>(&mut self, cx: &mut Context<H>) {
        self.output.recycle(&mut cx.pool);
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
    fn head<H: Handler, P: Peer>(&mut self, cx: &mut Context<H>, peer: &P) -> Step {
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
        let head = match parsed {
            Ok(Some(head)) => head,
            Ok(None) => return self.head_incomplete(cx, peer),
            Err(error) => return self.fail(cx, error, peer),
        };
        match framing(bytes, &head, &cx.headers, cx.limits.max_body) {
            Ok(framing) => self.begin_body(cx, &head, framing, peer),
            Err(error) => self.fail(cx, error, peer),
        }
    }

    /// Drops empty lines before a request line (RFC 9112 §2.2). Returns
    /// whether a request line may have started.
    fn skip_empty_lines<H>(&mut self, cx: &mut Context<H>) -> bool {
        let Some(input) = self.input.as_mut() else {
            return false;
        };
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
    fn head_incomplete<H, P: Peer>(&mut self, cx: &mut Context<H>, peer: &P) -> Step {
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
    fn begin_body<H: Handler, P: Peer>(
        &mut self,
        cx: &mut Context<H>,
        head: &Head,
        framing: Framing,
        peer: &P,
    ) -> Step {
        let Some(decoder) = BodyDecoder::new(framing.body, cx.limits.chunked) else {
            return self.respond(cx, head, &framing, head.len..head.len, peer);
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
            framing,
            decoder,
        })));
        Step::Moved
    }

    /// Asks the handler whether it refuses the request before its body is
    /// read; if so, sends the refusal as the last response.
    fn refuse_early<H: Handler, P: Peer>(
        &mut self,
        cx: &mut Context<H>,
        head: &Head,
        peer: &P,
    ) -> bool {
        let Some(input) = self.input.as_ref() else {
            return false;
        };
        let started = cx.request_clock();
        let headers = std::mem::take(&mut cx.headers); // see `respond`
        let req = Request::new(input.bytes(), head, &headers, &[]);
        let handler = &mut cx.handler;
        // A handler that fails here has answered 500: that refuses too.
        let refused = guarded(&req, &mut cx.response, |res| {
            handler.refuse_early(&req, res)
        }) != Some(false);
        if refused {
            queue(
                &mut self.output,
                cx,
                Some(&req),
                ConnectionHeader::Close,
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
    fn body<H: Handler, P: Peer>(&mut self, cx: &mut Context<H>, peer: &P) -> Step {
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
        let framing = receiving.framing;
        // The header spans live in the loop's scratch, which the heads of
        // other connections overwrote while this body arrived. Parsing the
        // head again (it is known to be valid) costs less than a copy of
        // the spans kept by every connection that receives a body.
        match parse_head(input.bytes(), head_len, cx.limits.head, &mut cx.headers) {
            Ok(head) => {
                let body = head_len..head_len + progress.decoded;
                self.respond(cx, &head, &framing, body, peer)
            }
            Err(error) => self.fail(cx, error, peer),
        }
    }

    /// Calls the handler for the complete request whose body is at `body`
    /// in the input, queues its response, consumes the request and moves
    /// to the next state.
    fn respond<H: Handler, P: Peer>(
        &mut self,
        cx: &mut Context<H>,
        head: &Head,
        framing: &Framing,
        body: Range<usize>,
        peer: &P,
    ) -> Step {
        let Some(input) = self.input.as_mut() else {
            return Step::Stalled;
        };
        let started = cx.request_clock();
        // The request borrows the header spans; moved out of the context
        // (three words, no allocation) so the response can be queued
        // while the request is still at hand for the log.
        let headers = std::mem::take(&mut cx.headers);
        let bytes = input.bytes();
        let req = Request::new(bytes, head, &headers, &bytes[body.clone()]);
        let handler = &mut cx.handler;
        guarded(&req, &mut cx.response, |res| handler.handle(&req, res));
        let connection = exchange::connection_header(
            framing,
            head.version,
            cx.response.wants_close(),
            cx.shutting_down,
        );
        queue(&mut self.output, cx, Some(&req), connection, started, peer);
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
            (true, true) => {
                self.release_input_if_empty(cx);
                self.set_reading(Reading::Idle);
            }
            (true, false) => self.set_reading(Reading::Head { scanned: 0 }),
        }
    }

    /// Answers a request that cannot be served with its error status, and
    /// closes: nothing after a framing error can be trusted to be a request.
    fn fail<H, P: Peer>(&mut self, cx: &mut Context<H>, error: RequestError, peer: &P) -> Step {
        debug!("{}: {error}", self.tag);
        let started = cx.request_clock();
        exchange::error_response(&mut cx.response, error);
        queue(
            &mut self.output,
            cx,
            None,
            ConnectionHeader::Close,
            started,
            peer,
        );
        self.set_closing(true, cx);
        Step::Answered
    }

    /// After the client's end of input: once every complete request is
    /// answered, what remains is an unfinished request that never will be.
    fn settle_end_of_input<H>(&mut self, cx: &mut Context<H>) {
        if matches!(self.state, State::InputEnded(_)) && !self.output.is_blocked() {
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

/// Queues the response in `cx.response`: the one place a response is
/// counted and logged. `req` is `None` for a request that could not be
/// parsed.
fn queue<H, P: Peer>(
    output: &mut Output,
    cx: &mut Context<H>,
    req: Option<&Request<'_>>,
    connection: ConnectionHeader,
    started: Option<Instant>,
    peer: &P,
) {
    let status = cx.response.status();
    let head_only = req.is_some_and(Request::is_head);
    let sent = output.push_response(
        &mut cx.response,
        head_only,
        &cx.date,
        connection,
        &mut cx.pool,
    );
    cx.stats.count_response(status.code());
    if let Some(started) = started {
        access_log::log_response(peer, req, status, sent, started);
    }
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

//! One client connection: a socket, the readiness the kernel reported for
//! it, and the IO-free [`Core`] that decides what the bytes mean.
//!
//! This file is the thin shell around the core. It does the system calls
//! (`read`, `write`/`writev`/`sendfile`, `shutdown`) the core asks for
//! ([`Want`]), tells the core what they did, and counts bytes; the state
//! machine is in [`core`].
//!
//! # Readiness
//!
//! The socket is registered once for READABLE | WRITABLE, edge-triggered,
//! and never re-registered: an edge says "something changed", so the shell
//! remembers `readable` / `writable` itself ([`Readiness`]) and clears them
//! only when the kernel says so: `WouldBlock`, or a read or write that moved
//! fewer bytes than offered (the socket was drained or filled; any later
//! change raises a new edge, which is the rule Tokio relies on too). That
//! saves the `read` that would only return `EAGAIN` after each request.
//! Once `EPOLLRDHUP` has been seen (`fin_pending`), a short read leaves
//! `readable` set, so the read that returns 0 comes at once. A drive reads
//! at most [`READS_PER_TURN`] times; a connection with input left over is
//! put on the loop's ready list and driven again after the others (within
//! the same wake-up when an event left it there, in the next one when the
//! ready list itself left it there).

pub mod core;
mod socket_io;
mod stream;
#[cfg(test)]
mod tests;

use self::core::{Core, Tag, Want};
use super::clock::Moment;
use super::context::Context;
use super::stats::Phase;
use super::timers::{HasTimer, TimerKind, TimerLink};
use crate::handlers::Handler;
use crate::http::late::LateEvent;
use crate::http::Peer;
use log::{debug, trace};
use std::io::{self, Read};
use std::net::Shutdown;
use std::os::fd::AsRawFd;
pub use stream::Stream;

/// Reads per drive before other connections get their turn.
pub const READS_PER_TURN: usize = 16;

/// What the kernel said about the socket and was not used up yet.
#[derive(Clone, Copy, Debug, Default)]
struct Readiness {
    readable: bool,
    writable: bool,
    /// The peer's FIN has arrived (EPOLLRDHUP): reads must go on until they
    /// return 0, even after a short one, because no further edge will
    /// announce the end.
    fin_pending: bool,
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
    /// Requests answered by the handler.
    pub requests: u32,
}

/// A client connection (a slab entry of the event loop).
#[derive(Debug)]
pub struct Connection {
    stream: Stream,
    /// The client, kept since the accept (for handlers and the access
    /// log).
    peer: Peer,
    core: Core,
    ready: Readiness,
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
    /// A just-accepted connection from `peer` with slab key `key`.
    pub fn new(stream: Stream, key: usize, peer: Peer) -> Connection {
        let tag = Tag {
            key: key as u32,
            fd: stream.as_raw_fd(),
        };
        Connection {
            stream,
            peer,
            core: Core::new(tag),
            ready: Readiness::default(),
            queued: false,
            phase: Phase::Idle,
            timer: TimerLink::default(),
        }
    }

    /// The connection's name in logs (`conn 7 fd 12`).
    pub fn tag(&self) -> Tag {
        self.core.tag()
    }

    /// Records readiness from an event (`read_closed`: EPOLLRDHUP).
    pub fn ready(&mut self, readable: bool, writable: bool, read_closed: bool) {
        self.ready.readable |= readable;
        self.ready.writable |= writable;
        self.ready.fin_pending |= read_closed;
    }

    /// Whether the connection is finished and waits to be freed.
    pub fn is_closed(&self) -> bool {
        self.core.is_closed()
    }

    /// Marks the connection finished (a stream under way is logged).
    pub fn set_closed<H>(&mut self, cx: &mut Context<H>) {
        self.core.close(cx, self.peer);
    }

    /// Whether nothing is under way: no request started, nothing to send.
    pub fn is_idle(&self) -> bool {
        self.core.is_idle()
    }

    /// The phase the gauges should count.
    pub fn current_phase(&self) -> Phase {
        self.core.phase()
    }

    /// The deadline that should be running.
    #[inline]
    pub fn timer_kind(&self) -> Option<TimerKind> {
        self.core.timer_kind()
    }

    /// The header deadline passed: `true` if a 408 was queued (drive the
    /// connection to send it), `false` for a silent close.
    pub fn header_timeout<H>(&mut self, cx: &mut Context<H>) -> bool {
        self.core.header_timeout(cx, self.peer)
    }

    /// Something arrived from another thread for ticket `id`; returns
    /// whether to drive the connection.
    pub fn late<H>(&mut self, cx: &mut Context<H>, id: u32, event: LateEvent) -> bool {
        self.core.late(cx, id, event, self.peer)
    }

    /// A loop timer fired for ticket `id`; returns whether to drive the
    /// connection.
    pub fn wake<H>(&mut self, cx: &mut Context<H>, id: u32) -> bool {
        self.core.wake(cx, id, self.peer)
    }

    /// A loop timer the core wants armed, once: `(at, ticket number)`.
    pub fn wake_request(&mut self) -> Option<(u64, u32)> {
        self.core.wake_request()
    }

    /// The handler timeout passed (504, or a stalled stream cut off).
    pub fn handler_timeout<H>(&mut self, cx: &mut Context<H>) {
        self.core.handler_timeout(cx, self.peer);
    }

    /// An open-ended stream was silent too long: send a comment line.
    pub fn heartbeat<H>(&mut self, cx: &mut Context<H>) {
        self.core.heartbeat(cx);
    }

    /// At shutdown: end an open-ended stream now.
    pub fn end_open_stream<H>(&mut self, cx: &mut Context<H>) {
        self.core.end_open_stream(cx);
    }

    /// Answers, writes and reads until the socket has nothing more to give
    /// or take, or the read budget runs out.
    pub fn drive<H: Handler>(&mut self, cx: &mut Context<H>) -> Drive {
        let mut drive = Drive::default();
        for _ in 0..READS_PER_TURN {
            // Nothing received, under way or unsent: only a read can give
            // the core something to answer or write (the first turn of a
            // drive woken by new bytes).
            let answered = match self.core.is_quiet() {
                true => Ok(()),
                false => self.answer_and_write(cx, &mut drive),
            };
            if let Err(e) = answered {
                debug!("{}: write failed: {e}", self.tag());
                drive.next = Next::Close;
                return drive;
            }
            let done = match self.core.want(self.ready.readable) {
                Want::Nothing => return drive,
                Want::Close => Err(None),
                Want::Read | Want::Discard if !self.ready.readable => return drive,
                Want::Read => self.read(cx).map(|n| drive.read |= n > 0),
                Want::Discard => self.discard(),
                Want::ShutdownWrite => self.shutdown_write(),
            };
            if let Err(why) = done {
                if let Some(e) = why {
                    debug!("{}: {e}", self.tag());
                }
                drive.next = Next::Close;
                return drive;
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
            drive.requests += self.core.process(cx, self.peer);
            let blocked = self.core.output().is_blocked();
            self.flush(cx, drive)?;
            if !blocked || self.core.output().is_blocked() {
                return Ok(());
            }
        }
    }

    /// Writes until the output is gone or the socket is full.
    fn flush<H>(&mut self, cx: &mut Context<H>, drive: &mut Drive) -> io::Result<()> {
        let tag = self.tag();
        let output = self.core.output();
        while self.ready.writable && !output.is_empty() {
            let offered = output.pending();
            let result = output.write_to(&mut self.stream);
            trace!("{tag}: write({offered}) = {result:?}");
            match result {
                Ok(w) if w.bytes == 0 => return Err(io::ErrorKind::WriteZero.into()),
                Ok(w) => {
                    drive.wrote = true;
                    cx.stats.bytes_sent.add(w.bytes as u64);
                    self.ready.writable = w.all;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.ready.writable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if let Some((started, n)) = self.core.output().take_untimed() {
            core::record_durations(cx, started, n, Moment::now());
        }
        self.core.flushed(cx, &self.peer);
        Ok(())
    }

    /// One `read` into the core's input buffer; returns the bytes read.
    fn read<H>(&mut self, cx: &mut Context<H>) -> Result<usize, Option<io::Error>> {
        let tag = self.tag();
        let Some(spare) = self.core.read_buffer(cx) else {
            return Err(Some(io::Error::other("input buffer full")));
        };
        let offered = spare.len();
        let result = read_retrying(&mut self.stream, spare);
        trace!("{tag}: read({offered}) = {result:?}");
        match result {
            Ok(0) => {
                self.ready.readable = false;
                self.core.received(0, cx);
                self.core.input_ended();
                Ok(0)
            }
            Ok(n) => {
                self.ready.readable = n == offered || self.ready.fin_pending;
                cx.stats.bytes_received.add(n as u64);
                self.core.received(n, cx);
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.ready.readable = false;
                self.core.received(0, cx);
                Ok(0)
            }
            Err(e) => Err(Some(e)),
        }
    }

    /// Reads and drops what the client still sends (lingering close).
    fn discard(&mut self) -> Result<(), Option<io::Error>> {
        let mut scratch = [0u8; 8192];
        match read_retrying(&mut self.stream, &mut scratch) {
            Ok(0) => self.core.input_ended(),
            Ok(n) => {
                self.ready.readable = n == scratch.len();
                self.core.discarded(n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.ready.readable = false,
            Err(_) => return Err(None),
        }
        Ok(())
    }

    /// Shuts our write side, so that the client sees the end of our last
    /// response while we drain what it still sends.
    fn shutdown_write(&mut self) -> Result<(), Option<io::Error>> {
        let shut = self.stream.shutdown(Shutdown::Write);
        trace!("{}: shutdown(Write) = {shut:?}", self.tag());
        shut.map_err(|_| None)?;
        self.core.write_shut();
        Ok(())
    }
}

#[inline]
fn read_retrying(stream: &mut Stream, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match stream.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            result => return result,
        }
    }
}

//! One event loop: a `mio::Poll`, its listeners (one per `--listen`
//! address), and the connections it accepted, all owned by one thread.
//!
//! ```text
//!  ┌──────────────────────────────────────────────────────────────────┐
//!  │ poll(timeout = 0 if work is pending, else the nearest deadline)  │
//!  └───────────────┬──────────────────────────────────────────────────┘
//!                  ▼
//!   tick: read the clock once, refresh the Date line once its second is over
//!                  ▼
//!   for each event:  conn     → record readiness, drive the connection
//!                    listener → remember it is ready
//!                    WAKER    → late answers, log reopening, shutdown?
//!                    WATCH    → read inotify, note the change (--watch)
//!                  ▼
//!   accept (up to ACCEPTS_PER_TURN per listener, unless paused by an error)
//!                  ▼
//!   drive the ready list (read budget ran out earlier, this wake-up or the last)
//!                  ▼
//!   expire deadlines (408, 504, a heartbeat, or close; handler timers;
//!   the end of a burst of changes)
//!                  ▼
//!   free the slab entries of connections closed in this batch
//! ```
//!
//! # Tokens
//!
//! A connection's token is its slab key, always below [`LISTENERS`]
//! (half the address space: the slab never gets there). Listener `i` has
//! `LISTENERS + i`; the waker and the watcher take keys just below
//! `usize::MAX`. So telling a connection's event from the rest, which is
//! nearly every event, is one comparison with a constant.
//!
//! # Why closed entries are freed at the end of the batch
//!
//! `slab` hands out the most recently freed key first. If a connection were
//! removed at once, a connection accepted later in the same batch could
//! reuse its key, and a stale event for the old one, still further down the
//! same batch, would be delivered to the new one. So a closed connection
//! stays in the slab, marked done (events for it are ignored) until the
//! batch is over; dropping it then closes the socket, which also removes it
//! from the epoll set (no `epoll_ctl(DEL)` needed).
//!
//! # Fairness
//!
//! Work per wake-up is capped: [`READS_PER_TURN`](super::connection::READS_PER_TURN)
//! reads per connection and [`ACCEPTS_PER_TURN`] accepts. Readiness that
//! was not used up is remembered (the connection goes on the ready list;
//! a listener keeps its ready flag) and the next `poll` does not sleep,
//! because under edge triggering no new event would come for it.
//!
//! # Running out of descriptors
//!
//! `accept` failing with EMFILE/ENFILE leaves the connection in the
//! backlog, so the listener stays ready: retrying at once would spin, and
//! waiting for a new edge would starve the backlog. Accepting pauses for
//! [`ACCEPT_BACKOFF`], or until a connection of ours closes, then drains
//! the backlog (what nginx and actix-server do). Any other accept error
//! that is not transient (a reset or aborted connection, EINTR, EPERM and
//! EPROTO are) pauses it the same way.

use super::clock::Moment;
use super::connection::{Connection, Drive, Next, Stream};
use super::context::Context;
use super::listener::{self, Bound, Listener};
use super::stats::{LoopStats, Phase};
use super::timers::{HasTimer, TimerKind, Timers, NEVER};
use super::trim::Trim;
use super::watch::Watcher;
use super::Shared;
use crate::handlers::Handler;
use crate::http::late::{LateEvent, Ticket};
use crate::http::Peer;
use log::{debug, error, info, trace, warn};
use mio::event::Event;
use mio::{Events, Interest, Poll, Token};
use slab::Slab;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The token of the first listener; listener `i` has `LISTENERS + i`, and
/// every connection's token is below it.
pub const LISTENERS: usize = usize::MAX / 2;
/// The waker's token (shutdown requests, late answers).
pub const WAKER: Token = Token(usize::MAX - 2);
/// The token of the file watcher's inotify descriptor (`--watch`).
pub const WATCH: Token = Token(usize::MAX - 3);

/// Most connections accepted per wake-up.
pub const ACCEPTS_PER_TURN: usize = 128;
/// How long accepting pauses after running out of file descriptors (or
/// any accept error that is not transient).
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(250);
/// The longest a lingering close lasts.
pub const LINGER_TIMEOUT: Duration = Duration::from_secs(2);
/// How long an open-ended stream may stay silent before a comment line is
/// sent, so that a client that vanished is found by the write timeout.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

const EVENTS_CAPACITY: usize = 1024;
/// Slab capacity kept when the last connection closes (untouched capacity
/// costs address space, not memory).
const SLAB_KEEP: usize = 1024;

/// One worker's loop.
pub struct EventLoop<H> {
    poll: Poll,
    /// Each listener, with whether it may have connections waiting
    /// (emptied at shutdown).
    listeners: Vec<(Listener, bool)>,
    /// Some listener may have connections waiting.
    listener_ready: bool,
    /// `--watch`, in the one loop that watches.
    watcher: Option<Watcher>,
    accept_resume: Option<u64>,
    conns: Slab<Connection>,
    closed: Vec<usize>,
    ready: Vec<usize>,
    ready_now: Vec<usize>,
    timers: Timers,
    /// Timers that handlers asked for (`answer_after`, a producer's
    /// `After`): any length, so a heap, `(at, key, ticket number)`;
    /// entries that no longer match their connection are skipped.
    wakeups: BinaryHeap<Reverse<(u64, u32, u32)>>,
    /// Late answers taken from the inbox, handled in a batch.
    late: Vec<(Ticket, LateEvent)>,
    now: u64,
    /// The loop's millisecond at which the `Date` line's second is over:
    /// the wall clock is read only then, not on every wake-up.
    date_due: u64,
    cx: Context<H>,
    max_connections: usize,
    /// New connections come with their first bytes (`TCP_DEFER_ACCEPT`).
    deferred_accept: bool,
    trim: Trim,
    shared: Arc<Shared>,
    shutdown_timeout: u64,
    shutdown_deadline: Option<u64>,
}

impl<H: Handler> EventLoop<H> {
    /// A loop over `poll` (whose waker is already registered) serving
    /// `listeners` with `cx`.
    pub fn new(
        poll: Poll,
        listeners: Vec<Bound>,
        cx: Context<H>,
        shared: Arc<Shared>,
    ) -> io::Result<EventLoop<H>> {
        let config = &shared.config;
        let mut registered = Vec::with_capacity(listeners.len());
        for (index, bound) in listeners.into_iter().enumerate() {
            let mut listener = Listener::from_bound(bound);
            poll.registry().register(
                listener.source(),
                Token(LISTENERS + index),
                Interest::READABLE,
            )?;
            registered.push((listener, false));
        }
        // One epoch for the loop's clock and its durations histogram: the
        // histogram takes the loop's second as it is.
        let timers = Timers::new(
            cx.stats.durations.epoch(),
            [
                config.header_timeout,
                config.body_timeout,
                config.keep_alive_timeout,
                config.write_timeout,
                LINGER_TIMEOUT,
                config.handler_timeout,
                HEARTBEAT,
            ],
        );
        Ok(EventLoop {
            poll,
            listeners: registered,
            listener_ready: false,
            watcher: None,
            accept_resume: None,
            conns: Slab::new(),
            closed: Vec::new(),
            ready: Vec::new(),
            ready_now: Vec::new(),
            timers,
            wakeups: BinaryHeap::new(),
            late: Vec::new(),
            now: 0,
            date_due: 0,
            cx,
            max_connections: config.max_connections,
            deferred_accept: config.deferred_accept && listener::CAN_DEFER_ACCEPT,
            trim: Trim::default(),
            shutdown_timeout: config.shutdown_timeout.as_millis() as u64,
            shared,
            shutdown_deadline: None,
        })
    }

    /// Makes `watcher`'s descriptor one more readiness source of this loop.
    pub fn watch(&mut self, watcher: Watcher) -> io::Result<()> {
        watcher.register(self.poll.registry(), WATCH)?;
        self.watcher = Some(watcher);
        Ok(())
    }

    /// Runs until shutdown completes.
    pub fn run(mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(EVENTS_CAPACITY);
        loop {
            let timeout = self.poll_timeout();
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            self.tick();
            trace!(
                "loop: wake-up with {} events (poll timeout {timeout:?})",
                events.iter().count()
            );
            for event in events.iter() {
                self.on_event(event);
            }
            self.accept();
            self.drive_ready();
            self.expire_timers();
            self.free_closed();
            self.trim.after_closes(self.conns.len());
            self.cx.flush_access_log();
            if self.finished() {
                self.close_remaining();
                info!("worker done");
                return Ok(());
            }
        }
    }

    fn stats(&self) -> &LoopStats {
        &self.cx.stats
    }

    fn tick(&mut self) {
        let clock = Moment::now();
        self.now = self.timers.millis(clock);
        self.cx.now = self.now;
        self.cx.clock = clock;
        if self.now >= self.date_due {
            self.refresh_date();
        }
        self.stats().loop_iterations.add(1);
        if self.accept_resume.is_some_and(|at| at <= self.now) {
            self.accept_resume = None;
        }
    }

    /// Reads the wall clock for the `Date` line, and works out when, on
    /// the loop's clock, its second ends. The two clocks may drift apart
    /// by a millisecond or so between readings (a second that is not over
    /// yet is simply read again a moment later), and a step of the wall
    /// clock shows within a second.
    fn refresh_date(&mut self) {
        let wall = SystemTime::now();
        self.cx.date.update(wall);
        let into_second = wall
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_millis());
        self.date_due = self.now + u64::from(1000 - into_second);
    }

    /// Zero when work is waiting (remembered readiness), else until the
    /// nearest deadline, else forever.
    fn poll_timeout(&mut self) -> Option<Duration> {
        let can_accept = self.listener_ready && self.accept_resume.is_none();
        if !self.ready.is_empty() || can_accept {
            return Some(Duration::ZERO);
        }
        // A chain of `min`s over "never" for `None`, not an iterator over
        // an array of `Option`s: that cost every wake-up ~55 instructions
        // (callgrind), this a dozen.
        let nearest = self
            .timers
            .next_deadline()
            .unwrap_or(NEVER)
            .min(self.wakeups.peek().map_or(NEVER, |Reverse((at, _, _))| *at))
            .min(self.accept_resume.unwrap_or(NEVER))
            .min(self.shutdown_deadline.unwrap_or(NEVER))
            .min(
                self.watcher
                    .as_ref()
                    .and_then(Watcher::deadline)
                    .unwrap_or(NEVER),
            );
        if nearest == NEVER {
            return None;
        }
        // The clock of this wake-up, not a fresh reading (one clock read
        // less per wake-up, as nginx does): a deadline fires later by at
        // most the time the wake-up took, never earlier.
        Some(Duration::from_millis(nearest.saturating_sub(self.now)))
    }

    fn on_event(&mut self, event: &Event) {
        self.stats().events_total.add(1);
        match event.token() {
            Token(key) if key < LISTENERS => self.on_connection_event(key, event),
            WATCH => {
                if let Some(watcher) = &mut self.watcher {
                    watcher.readable(self.now);
                }
            }
            WAKER => {
                trace!("loop: woken");
                self.on_wake();
            }
            Token(key) => {
                trace!("loop: listener {} readable", key - LISTENERS);
                if let Some((_, ready)) = self.listeners.get_mut(key - LISTENERS) {
                    *ready = true;
                    self.listener_ready = true;
                }
            }
        }
    }

    fn on_connection_event(&mut self, key: usize, event: &Event) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        if conn.is_closed() {
            return;
        }
        let readable = event.is_readable() || event.is_read_closed() || event.is_error();
        let writable = event.is_writable() || event.is_write_closed() || event.is_error();
        trace!(
            "{}: event{}{}{}",
            conn.tag(),
            if event.is_readable() { " readable" } else { "" },
            if event.is_writable() { " writable" } else { "" },
            if event.is_read_closed() {
                " read-closed"
            } else {
                ""
            },
        );
        conn.ready(readable, writable, event.is_read_closed());
        self.drive(key);
    }

    fn drive(&mut self, key: usize) {
        let conn = &mut self.conns[key];
        let drive = conn.drive(&mut self.cx);
        match drive.next {
            Next::Close => return self.close(key),
            Next::Yield if !conn.queued => {
                conn.queued = true;
                self.ready.push(key);
            }
            Next::Yield | Next::Wait => {}
        }
        self.refresh(key, drive);
    }

    /// Brings the connection's gauge and deadline in line with its state.
    fn refresh(&mut self, key: usize, drive: Drive) {
        let conn = &mut self.conns[key];
        let phase = conn.current_phase();
        if phase != conn.phase {
            self.cx.stats.phase(conn.phase).sub(1);
            self.cx.stats.phase(phase).add(1);
            conn.phase = phase;
        }
        if let Some((at, id)) = conn.wake_request() {
            self.wakeups.push(Reverse((at, key as u32, id)));
        }
        let want = conn.timer_kind();
        let progress = match want {
            Some(TimerKind::Body) => drive.read,
            Some(TimerKind::Write | TimerKind::Heartbeat) => drive.wrote,
            // A new head, or a new idle spell, starts after each answer.
            Some(TimerKind::Header | TimerKind::KeepAlive) => drive.requests > 0,
            _ => false,
        };
        match want {
            None => self.timers.cancel(&mut self.conns, key),
            Some(kind) if progress || conn.timer().kind() != Some(kind) => {
                self.timers.arm(&mut self.conns, key, kind, self.now);
            }
            Some(_) => {}
        }
    }

    fn close(&mut self, key: usize) {
        let conn = &mut self.conns[key];
        trace!("{}: closed", conn.tag());
        conn.set_closed(&mut self.cx);
        self.cx.stats.phase(conn.phase).sub(1);
        self.cx.stats.connections_active.sub(1);
        self.timers.cancel(&mut self.conns, key);
        self.closed.push(key);
        // A descriptor is about to be freed: room to accept again.
        self.accept_resume = None;
    }

    fn free_closed(&mut self) {
        if self.closed.is_empty() {
            return;
        }
        for key in self.closed.drain(..) {
            self.conns.remove(key);
        }
        // A slab keeps its capacity when emptied: after a crowd leaves,
        // give the memory back. (Only when empty: live keys cannot move,
        // they are the tokens the kernel knows the sockets by.)
        if self.conns.is_empty() && self.conns.capacity() > SLAB_KEEP {
            self.conns = Slab::with_capacity(SLAB_KEEP);
        }
    }

    fn accept(&mut self) {
        if !self.listener_ready || self.accept_resume.is_some() {
            return;
        }
        for index in 0..self.listeners.len() {
            if self.listeners[index].1 && self.accept_resume.is_none() {
                self.accept_from(index);
            }
        }
        self.listener_ready = self.listeners.iter().any(|(_, ready)| *ready);
    }

    /// Accepts from listener `index` until its backlog is empty or the
    /// turn's budget is spent.
    fn accept_from(&mut self, index: usize) {
        for _ in 0..ACCEPTS_PER_TURN {
            let Some((listener, ready)) = self.listeners.get_mut(index) else {
                return;
            };
            let deferred = self.deferred_accept && listener.defers();
            match listener.accept() {
                Ok((stream, peer)) => self.admit(stream, peer, deferred),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    *ready = false;
                    return;
                }
                Err(e) if is_transient_accept_error(&e) => debug!("accept: {e}"),
                Err(e) => {
                    let level = if is_out_of_descriptors(&e) {
                        log::Level::Warn
                    } else {
                        log::Level::Error
                    };
                    log::log!(level, "accept: {e}; pausing accepts for {ACCEPT_BACKOFF:?}");
                    self.accept_resume = Some(self.now + ACCEPT_BACKOFF.as_millis() as u64);
                    return;
                }
            }
        }
    }

    fn admit(&mut self, mut stream: Stream, peer: Peer, deferred: bool) {
        if self.conns.len() >= self.max_connections {
            debug!(
                "refusing a connection: --max-connections {} reached",
                self.max_connections
            );
            self.stats().connections_refused.add(1);
            listener::refuse(stream);
            return;
        }
        if let (false, Stream::Tcp(tcp)) = (listener::NODELAY_INHERITED, &stream) {
            if let Err(e) = tcp.set_nodelay(true) {
                debug!("TCP_NODELAY: {e}");
            }
        }
        let entry = self.conns.vacant_entry();
        let key = entry.key();
        if let Err(e) = self.poll.registry().register(
            stream.source(),
            Token(key),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            warn!("cannot register a connection: {e}");
            return;
        }
        let conn = entry.insert(Connection::new(stream, key, peer));
        trace!("{}: accepted from {peer}", conn.tag());
        let stats = &self.cx.stats;
        stats.connections_accepted.add(1);
        stats.connections_active.add(1);
        stats.phase(Phase::Idle).add(1);
        self.timers
            .arm(&mut self.conns, key, TimerKind::Header, self.now);
        if deferred {
            // Its first bytes are already here: read them now rather than
            // after the next epoll_wait.
            self.conns[key].ready(true, true, false);
            self.drive(key);
        }
    }

    fn drive_ready(&mut self) {
        std::mem::swap(&mut self.ready, &mut self.ready_now);
        while let Some(key) = self.ready_now.pop() {
            // The key may have been freed and reused since it was queued;
            // driving a connection without cause does no harm.
            match self.conns.get_mut(key) {
                Some(conn) if !conn.is_closed() => conn.queued = false,
                _ => continue,
            }
            self.drive(key);
        }
    }

    fn expire_timers(&mut self) {
        if let Some(watcher) = &mut self.watcher {
            watcher.expire(self.now);
        }
        while let Some((key, kind)) = self.timers.pop_expired(&mut self.conns, self.now) {
            let conn = &mut self.conns[key];
            debug!("{}: {kind:?} deadline passed", conn.tag());
            match kind {
                TimerKind::Header if conn.header_timeout(&mut self.cx) => self.drive(key),
                TimerKind::Handler => {
                    conn.handler_timeout(&mut self.cx);
                    self.drive(key);
                }
                TimerKind::Heartbeat => {
                    conn.heartbeat(&mut self.cx);
                    self.drive(key);
                }
                _ => self.close(key),
            }
        }
        while let Some(&Reverse((at, key, id))) = self.wakeups.peek() {
            if at > self.now {
                break;
            }
            self.wakeups.pop();
            let key = key as usize;
            let woken = match self.conns.get_mut(key) {
                Some(conn) if !conn.is_closed() => conn.wake(&mut self.cx, id),
                _ => false,
            };
            if woken {
                self.drive(key);
            }
        }
    }

    /// Delivers what other threads sent: late answers and stream notices,
    /// each to the connection and request its ticket names (or to nothing,
    /// if that request is over).
    fn deliver_late(&mut self) {
        self.cx.inbox.take(&mut self.late);
        let mut late = std::mem::take(&mut self.late);
        for (ticket, event) in late.drain(..) {
            let key = ticket.key as usize;
            let taken = match self.conns.get_mut(key) {
                Some(conn) if !conn.is_closed() => conn.late(&mut self.cx, ticket.id, event),
                _ => false,
            };
            if taken {
                self.drive(key);
            }
        }
        self.late = late;
    }

    fn on_wake(&mut self) {
        self.cx
            .reopen_access_log(self.shared.log_generation.load(Ordering::Acquire));
        if self.shared.shutdown.load(Ordering::Acquire) && self.shutdown_deadline.is_none() {
            self.begin_shutdown();
        }
        self.deliver_late();
    }

    /// Stops accepting at once, closes idle connections, and lets the
    /// others finish (each response is now their last) until the deadline.
    fn begin_shutdown(&mut self) {
        info!("shutting down: {} connections open", self.conns.len());
        for (mut listener, _) in self.listeners.drain(..) {
            if let Err(e) = self.poll.registry().deregister(listener.source()) {
                error!("deregistering a listener: {e}");
            }
        }
        self.listener_ready = false;
        self.cx.shutting_down = true;
        self.shutdown_deadline = Some(self.now + self.shutdown_timeout);
        for key in self.open_keys(Connection::is_idle) {
            self.close(key);
        }
        for key in self.open_keys(|_| true) {
            self.conns[key].end_open_stream(&mut self.cx);
            self.drive(key);
        }
    }

    /// The keys of the connections not closed yet that `pick` chooses
    /// (collected first: acting on one needs the whole loop).
    fn open_keys(&self, pick: impl Fn(&Connection) -> bool) -> Vec<usize> {
        self.conns
            .iter()
            .filter(|(_, conn)| !conn.is_closed() && pick(conn))
            .map(|(key, _)| key)
            .collect()
    }

    /// The shutdown's grace is over: what is still open is cut off (and a
    /// stream under way logged with what it sent).
    fn close_remaining(&mut self) {
        for key in self.open_keys(|_| true) {
            self.close(key);
        }
        self.cx.flush_access_log();
    }

    fn finished(&self) -> bool {
        self.shutdown_deadline
            .is_some_and(|deadline| self.conns.is_empty() || self.now >= deadline)
    }
}

/// Errors after which the next connection in the backlog may be fine.
fn is_transient_accept_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::PermissionDenied
    ) || e.raw_os_error() == Some(libc::EPROTO)
}

/// EMFILE, ENFILE, ENOBUFS, ENOMEM: the process or system is out of room.
fn is_out_of_descriptors(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

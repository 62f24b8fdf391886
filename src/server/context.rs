//! What a connection borrows from its event loop while it is driven.
//!
//! Connections are driven one at a time on the loop's thread, so anything
//! needed only *during* a drive is owned once by the loop and lent to each
//! connection in turn: the handler, the response being built, the header
//! scratch the parser fills, the buffer pool, the `Date` cache. None of it
//! is per connection, which keeps a connection small.

use super::access_log::AccessLog;
use super::buffer::BufferPool;
use super::clock::Moment;
use super::inbox::Inbox;
use super::stats::LoopStats;
use crate::http::chunked::ChunkedLimits;
use crate::http::date::DateCache;
use crate::http::parse::{HeadLimits, HeaderSpan};
use crate::http::Response;
use crate::Config;
use std::sync::Arc;

/// The request limits, in the shapes the parsers take.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// For the head parser.
    pub head: HeadLimits,
    /// For the chunked decoder.
    pub chunked: ChunkedLimits,
    /// `--max-body-bytes`.
    pub max_body: u64,
    /// The most bytes a connection's input buffer may hold: a whole head,
    /// a whole body and one chunk line or trailer section.
    pub input_max: usize,
}

impl Limits {
    /// The limits of a configuration.
    pub fn new(config: &Config) -> Limits {
        let max_header_bytes = config.max_header_bytes;
        Limits {
            head: HeadLimits {
                max_header_bytes,
                max_headers: config.max_headers,
            },
            chunked: ChunkedLimits {
                max_body: config.max_body_bytes,
                max_line: max_header_bytes,
                max_trailers: config.max_headers,
            },
            max_body: config.max_body_bytes,
            input_max: (max_header_bytes + 2)
                .saturating_mul(2)
                .saturating_add(usize::try_from(config.max_body_bytes).unwrap_or(usize::MAX)),
        }
    }
}

/// The loop-owned state lent to the connection being driven.
pub struct Context<H> {
    /// This loop's instance of the handler.
    pub handler: H,
    /// The response the handler fills in, reused for every request.
    pub response: Response,
    /// Where late answers for this loop arrive.
    pub inbox: Arc<Inbox>,
    /// The number the next deferred request gets (see `http::late::Ticket`).
    pub next_ticket: u32,
    /// The loop's clock: milliseconds since it started, read once per
    /// wake-up.
    pub now: u64,
    /// The same moment as a [`Moment`]: when the heads completed in this
    /// wake-up count as complete (a request's duration starts there).
    pub clock: Moment,
    /// Header spans of the head being parsed, reused for every request.
    pub headers: Vec<HeaderSpan>,
    /// Buffers for connections that have bytes in flight.
    pub pool: BufferPool,
    /// The `Date` header line.
    pub date: DateCache,
    /// Request limits.
    pub limits: Limits,
    /// Where one line per response goes; `None` with `--quiet`.
    pub access_log: Option<AccessLog>,
    /// Set once shutdown began: every response is the connection's last.
    pub shutting_down: bool,
    /// This loop's counters.
    pub stats: Arc<LoopStats>,
}

impl<H> Context<H> {
    /// Writes out the access-log lines of this wake-up.
    pub fn flush_access_log(&mut self) {
        if let Some(log) = &mut self.access_log {
            log.flush();
        }
    }

    /// Reopens the access-log file if `generation` is a new request to.
    pub fn reopen_access_log(&mut self, generation: u64) {
        if let Some(log) = &mut self.access_log {
            log.reopen_if(generation);
        }
    }
}

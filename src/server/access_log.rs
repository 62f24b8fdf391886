//! One line per response, at `info` level under the target
//! `coffeeweb::access`:
//!
//! ```text
//! 127.0.0.1:50312 "GET /index.html HTTP/1.1" 200 1043 0.041ms
//! ```
//!
//! Client address (`unix:PATH` for a client of a Unix-domain socket: the
//! socket it came through, since its own end has no name), request line (`"-"` when the request could not be
//! parsed), status, body bytes sent, and the time from the complete request
//! (or the error found) to its response being queued. The client address is looked up only when
//! the line is written, so connections do not carry it.

use crate::http::{Request, Status};
use std::time::Instant;

/// The `log` target of access-log lines.
pub const TARGET: &str = "coffeeweb::access";

/// Who is at the other end, asked only when a line is written.
pub trait Peer {
    /// The client's address as it appears in the log (`-` if unknown).
    fn describe(&self) -> String;
}

/// A peer without an address (in-memory tests).
impl Peer for () {
    fn describe(&self) -> String {
        "-".to_string()
    }
}

/// Writes the access-log line of one response.
pub fn log_response<P: Peer + ?Sized>(
    peer: &P,
    req: Option<&Request<'_>>,
    status: Status,
    body_bytes: u64,
    started: Instant,
) {
    let micros = started.elapsed().as_micros();
    let peer = peer.describe();
    let (ms, us) = (micros / 1000, micros % 1000);
    match req {
        Some(req) => {
            let version = req.version().as_str();
            log::info!(
                target: TARGET,
                "{peer} \"{} {} {version}\" {} {body_bytes} {ms}.{us:03}ms",
                req.method(),
                req.target(),
                status.code()
            );
        }
        None => log::info!(
            target: TARGET,
            "{peer} \"-\" {} {body_bytes} {ms}.{us:03}ms",
            status.code()
        ),
    }
}

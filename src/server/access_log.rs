//! One line per response, at `info` level under the target
//! `coffeeweb::access`:
//!
//! ```text
//! 127.0.0.1:50312 "GET /index.html HTTP/1.1" 200 1043 0.041ms
//! ```
//!
//! Client address, request line (`"-"` when the request could not be
//! parsed), status, body bytes sent, and the time from the complete request
//! to its response being queued. The client address is looked up only when
//! the line is written, so connections do not carry it.

use crate::http::{Request, Status, Version};
use mio::net::TcpStream;
use std::time::Instant;

/// The `log` target of access-log lines.
pub const TARGET: &str = "coffeeweb::access";

/// Writes the access-log line of one response.
pub fn log_response(
    stream: &TcpStream,
    req: Option<&Request<'_>>,
    status: Status,
    body_bytes: u64,
    started: Instant,
) {
    let micros = started.elapsed().as_micros();
    let peer = stream
        .peer_addr()
        .map_or_else(|_| "-".to_string(), |a| a.to_string());
    let (ms, us) = (micros / 1000, micros % 1000);
    match req {
        Some(req) => {
            let version = match req.version() {
                Version::Http10 => "HTTP/1.0",
                Version::Http11 => "HTTP/1.1",
            };
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

//! Everything that can be configured, with the contract's defaults.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// How a [`Server`](crate::Server) listens, limits and times out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Address to bind; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Independent event loops sharing the port (SO_REUSEPORT).
    pub workers: usize,
    /// Open client connections per worker; past it, new ones are closed at
    /// once.
    pub max_connections: usize,
    /// Time allowed to receive a whole request head.
    pub header_timeout: Duration,
    /// Longest pause allowed while receiving a request body.
    pub body_timeout: Duration,
    /// Idle time allowed between requests on a kept-alive connection.
    pub keep_alive_timeout: Duration,
    /// Longest pause allowed while the client is not reading our response.
    pub write_timeout: Duration,
    /// On shutdown, how long in-flight responses may take.
    pub shutdown_timeout: Duration,
    /// Most bytes of request line plus header fields.
    pub max_header_bytes: usize,
    /// Most header fields.
    pub max_headers: usize,
    /// Most bytes of request body (after chunked decoding).
    pub max_body_bytes: u64,
    /// Serve live statistics at this path.
    pub status_path: Option<String>,
    /// Serve Prometheus metrics at this path.
    pub metrics_path: Option<String>,
    /// Log one line per response.
    pub access_log: bool,
    /// How access-log lines look.
    pub access_log_format: AccessLogFormat,
    /// Append access-log lines to this file (stderr without one).
    pub access_log_path: Option<PathBuf>,
}

/// The look of access-log lines (`--access-log-format`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AccessLogFormat {
    /// Address, request line, status, body bytes, duration, after the
    /// usual log prefix.
    #[default]
    Default,
    /// The NCSA combined log format (Apache's and nginx's `combined`).
    Combined,
    /// One JSON object a line.
    Json,
}

/// The largest `max_header_bytes` accepted: heads are indexed with `u32`.
pub const MAX_HEADER_BYTES_LIMIT: usize = 64 * 1024 * 1024;

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
            workers: 1,
            max_connections: 10_000,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            keep_alive_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(10),
            max_header_bytes: 8192,
            max_headers: 100,
            max_body_bytes: 1024 * 1024,
            status_path: None,
            metrics_path: None,
            access_log: true,
            access_log_format: AccessLogFormat::Default,
            access_log_path: None,
        }
    }
}

//! Everything that can be configured, with the contract's defaults.

use crate::http::AddedFields;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// An address to listen on: TCP (IPv4 or IPv6), or a Unix-domain socket.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ListenAddr {
    /// `HOST:PORT`; port 0 picks a free port.
    Tcp(SocketAddr),
    /// `unix:PATH`: the socket file is made on bind and removed at exit.
    Unix(PathBuf),
}

impl From<SocketAddr> for ListenAddr {
    fn from(addr: SocketAddr) -> ListenAddr {
        ListenAddr::Tcp(addr)
    }
}

impl ListenAddr {
    /// How the listening line names it: `http://HOST:PORT` (IPv6 as
    /// `http://[::1]:PORT`) or `unix:PATH`.
    pub fn url(&self) -> String {
        match self {
            ListenAddr::Tcp(addr) => format!("http://{addr}"),
            ListenAddr::Unix(path) => format!("unix:{}", path.display()),
        }
    }
}

/// `unix:PATH`, or a numeric `IP:PORT` (`[::1]:8080`); host names are
/// resolved by the command line, not here.
impl FromStr for ListenAddr {
    type Err = String;

    fn from_str(text: &str) -> Result<ListenAddr, String> {
        match text.strip_prefix("unix:") {
            Some("") => Err("expected unix:PATH".into()),
            Some(path) => Ok(ListenAddr::Unix(path.into())),
            None => text
                .parse()
                .map(ListenAddr::Tcp)
                .map_err(|_| "expected IP:PORT or unix:PATH".into()),
        }
    }
}

/// As `--listen` takes it: `127.0.0.1:8080`, `[::1]:8080`, `unix:PATH`.
impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenAddr::Tcp(addr) => write!(f, "{addr}"),
            ListenAddr::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// How a [`Server`](crate::Server) listens, limits and times out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Addresses to bind, each served by every worker; port 0 picks a
    /// free port.
    pub listen: Vec<ListenAddr>,
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
    /// How long a handler may keep a request before it is answered 504
    /// (and how long a stream may stall).
    pub handler_timeout: Duration,
    /// On shutdown, how long in-flight responses may take.
    pub shutdown_timeout: Duration,
    /// Most bytes of request line plus header fields.
    pub max_header_bytes: usize,
    /// Most header fields.
    pub max_headers: usize,
    /// Most bytes of request body (after chunked decoding).
    pub max_body_bytes: u64,
    /// Log one line per response.
    pub access_log: bool,
    /// Fields added to every response but 1xx, after the server's own
    /// (`--header`), the error responses of the server included.
    pub added_fields: AddedFields,
    /// Let the kernel hold a new connection until its first bytes arrive
    /// (Linux `TCP_DEFER_ACCEPT`, nginx's `deferred`): fewer wake-ups per
    /// short connection, but a connection that sends nothing stays out of
    /// the server's sight for about a second, past `header_timeout` and
    /// through a shutdown. Off by default.
    pub deferred_accept: bool,
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
            listen: vec![SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)).into()],
            workers: 1,
            max_connections: 10_000,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            keep_alive_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(30),
            handler_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(10),
            max_header_bytes: 8192,
            max_headers: 100,
            max_body_bytes: 1024 * 1024,
            access_log: true,
            added_fields: AddedFields::default(),
            deferred_accept: false,
            access_log_format: AccessLogFormat::Default,
            access_log_path: None,
        }
    }
}

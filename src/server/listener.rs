//! The listening socket, built with socket2 rather than
//! `mio::net::TcpListener::bind`.
//!
//! mio listens with a backlog of 128; a burst of short connections then
//! overflows the accept queue and clients see timeouts or resets
//! (hyper#3728). We ask for [`BACKLOG`] (the kernel caps it at
//! `net.core.somaxconn`, 4096 on current Linux). `SO_REUSEADDR` lets a
//! restarted server bind while old connections sit in TIME_WAIT.
//!
//! With several workers each loop has its own listener on the same port
//! (`SO_REUSEPORT`): the kernel spreads new connections across them, and no
//! loop ever touches another's socket. Where `SO_REUSEPORT` does not balance
//! load (macOS, the BSDs without `SO_REUSEPORT_LB`), the workers share one
//! listening socket instead, each registering its own descriptor of it; a
//! new connection then wakes them all, and whichever accepts first gets it.
//! A single worker never sets `SO_REUSEPORT`, so binding a port that is in
//! use fails loudly rather than silently sharing it.
//!
//! `TCP_DEFER_ACCEPT` (nginx's `listen ... deferred`) is off unless
//! [`Config::deferred_accept`](crate::Config::deferred_accept) asks for it.
//! With it the kernel hands a connection over only once its first bytes
//! have arrived, so the loop can read it at once instead of waiting for a
//! readiness event; but a connection that never sends anything is then
//! held by the kernel, out of our sight, for up to [`DEFER_ACCEPT_SECS`]:
//! the header timeout starts only after that (a silent client lived 1.26 s
//! at `--header-timeout 250ms`, 2.0 s at `1s`), and a shutdown does not
//! close it. The contract wants the timeouts and the shutdown to hold for
//! every completed connection, so the default is off, and the loop waits
//! for the first readiness event of a new connection rather than trying a
//! read that usually finds nothing yet.
//!
//! What each choice costs, measured with S3 of `scripts/bench.sh` (a new
//! connection per request, `wrk -t1 -c50 -d10s -H 'Connection: close'`,
//! server on core 0 and wrk on core 1, examples/hello in release, nginx
//! `return 200` interleaved in the same run, medians of 4-5 rounds). The
//! two cores were shared with other work, so requests/s swung by 2-3x
//! between rounds; the server's CPU per request (from /proc) is the
//! steady figure:
//!
//! | accept | req/s (median) | CPU µs per request |
//! |---|---|---|
//! | `TCP_DEFER_ACCEPT`, read at once (`deferred_accept`, opt-in) | 12,300 | 19.4 |
//! | not deferred, first read on readiness (**default**) | 8,600 | 25.0 |
//! | not deferred, read at once after accept | 9,300 | 27.9 |
//! | nginx (not deferred) | 9,200 | 28.9 |
//!
//! Reading at once without the kernel option costs more than it saves:
//! the request is usually not there yet, so the read returns EAGAIN and
//! the readiness event comes anyway.
//!
//! `TCP_NODELAY` is set on the listener: Linux copies it to every accepted
//! socket, which saves a `setsockopt` per connection (elsewhere the loop
//! sets it on each connection, see [`NODELAY_INHERITED`]).
//!
//! A Unix-domain socket (`unix:PATH`) is one listening socket whatever the
//! number of workers (there is no `SO_REUSEPORT` balancing for them): each
//! loop registers a descriptor of its own (a `dup`) and whichever accepts
//! first gets the connection. Its file is made by `bind` and removed when
//! the [`SocketFile`] guard is dropped (when `Server::run` returns). A
//! file already at PATH is replaced only if it is a socket that nobody
//! listens on (connecting is refused: a server that died without cleaning
//! up); anything else there is an error that names it.

use super::connection::Stream;
use crate::http::Peer;
use crate::ListenAddr;
use mio::event::Source;
use socket2::{Domain, Protocol, Socket, Type};
use std::io::{self, Read};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// The accept queue we ask the kernel for.
pub const BACKLOG: i32 = 4096;

/// Whether each worker gets its own load-balanced listener.
pub const BALANCED_REUSE_PORT: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// Whether accepted sockets inherit `TCP_NODELAY` from the listener.
pub const NODELAY_INHERITED: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// Whether `TCP_DEFER_ACCEPT` exists here: only then do new connections
/// arrive with their first bytes already there, so that reading them at
/// once is worth it.
pub const CAN_DEFER_ACCEPT: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// How long the kernel waits for a silent client's first bytes before it
/// hands the connection over anyway.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub const DEFER_ACCEPT_SECS: i32 = 1;

/// A bound listening socket, before a loop registers it.
#[derive(Debug)]
pub enum Bound {
    /// A TCP listener.
    Tcp(TcpListener),
    /// A Unix-domain listener.
    Unix(UnixListener),
}

/// A listener registered in a loop.
#[derive(Debug)]
pub enum Listener {
    /// A TCP listener.
    Tcp(mio::net::TcpListener),
    /// A Unix-domain listener.
    Unix(mio::net::UnixListener),
}

impl Listener {
    /// Takes a bound (non-blocking) socket into the loop.
    pub fn from_bound(bound: Bound) -> Listener {
        match bound {
            Bound::Tcp(l) => Listener::Tcp(mio::net::TcpListener::from_std(l)),
            Bound::Unix(l) => Listener::Unix(mio::net::UnixListener::from_std(l)),
        }
    }

    /// Accepts one connection, with its client.
    pub fn accept(&self) -> io::Result<(Stream, Peer)> {
        match self {
            Listener::Tcp(l) => l.accept().map(|(s, a)| (Stream::Tcp(s), Peer::Tcp(a))),
            Listener::Unix(l) => l.accept().map(|(s, _)| (Stream::Unix(s), Peer::Unix)),
        }
    }

    /// Whether its connections come with their first bytes
    /// (`TCP_DEFER_ACCEPT`, when the loop asked for it).
    pub fn defers(&self) -> bool {
        matches!(self, Listener::Tcp(_))
    }

    /// The listener as something `mio` can register.
    pub fn source(&mut self) -> &mut dyn Source {
        match self {
            Listener::Tcp(l) => l,
            Listener::Unix(l) => l,
        }
    }
}

/// The file of a Unix-domain listener, removed when dropped.
#[derive(Debug)]
pub struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.0) {
            log::warn!("cannot remove {}: {e}", self.0.display());
        }
    }
}

/// What binding one address gave: a listener per worker, the address
/// bound (with the real port), and the socket file to remove at exit.
#[derive(Debug)]
pub struct Binding {
    /// One listener per worker.
    pub listeners: Vec<Bound>,
    /// The address as bound.
    pub local: ListenAddr,
    /// The socket file of a Unix listener.
    pub file: Option<SocketFile>,
}

/// Binds `addr` for `workers` loops (TCP with `TCP_DEFER_ACCEPT` when
/// `deferred`).
pub fn bind(addr: &ListenAddr, workers: usize, deferred: bool) -> io::Result<Binding> {
    match addr {
        ListenAddr::Tcp(addr) => {
            let listeners = bind_tcp(*addr, workers, deferred)?;
            let local = ListenAddr::Tcp(listeners[0].local_addr()?);
            Ok(Binding {
                listeners: listeners.into_iter().map(Bound::Tcp).collect(),
                local,
                file: None,
            })
        }
        ListenAddr::Unix(path) => {
            let (listener, file) = bind_unix(path)?;
            let mut listeners = Vec::with_capacity(workers);
            for _ in 1..workers {
                listeners.push(Bound::Unix(listener.try_clone()?));
            }
            listeners.push(Bound::Unix(listener));
            Ok(Binding {
                listeners,
                local: ListenAddr::Unix(path.clone()),
                file: Some(file),
            })
        }
    }
}

/// Binds a Unix-domain listener at `path`, replacing a stale socket file.
fn bind_unix(path: &Path) -> io::Result<(UnixListener, SocketFile)> {
    if let Ok(metadata) = std::fs::symlink_metadata(path) {
        if !metadata.file_type().is_socket() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", path.display()),
            ));
        }
        match UnixStream::connect(path) {
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("a server is listening on {}", path.display()),
                ))
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                log::info!("replacing the stale socket {}", path.display());
                std::fs::remove_file(path)?;
            }
            Err(e) => return Err(e),
        }
    }
    let listener = UnixListener::bind(path)?;
    let file = SocketFile(path.to_path_buf());
    listener.set_nonblocking(true)?;
    Ok((listener, file))
}

/// Binds `workers` non-blocking listeners on `addr` (one shared socket
/// where the OS cannot balance `SO_REUSEPORT`), with `TCP_DEFER_ACCEPT`
/// when `deferred` (where the OS has it). The first one fixes the port
/// when `addr` asks for port 0.
fn bind_tcp(addr: SocketAddr, workers: usize, deferred: bool) -> io::Result<Vec<TcpListener>> {
    let reuse_port = workers > 1 && BALANCED_REUSE_PORT;
    let first = bind_one(addr, reuse_port, deferred)?;
    let addr = first.local_addr()?;
    let mut listeners = vec![first];
    for _ in 1..workers {
        let next = if reuse_port {
            bind_one(addr, true, deferred)?
        } else {
            listeners[0].try_clone()?
        };
        listeners.push(next);
    }
    Ok(listeners)
}

fn bind_one(addr: SocketAddr, reuse_port: bool, deferred: bool) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        // `[::]:PORT` means IPv6 only, as in nginx; IPv4 is its own --listen.
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    #[cfg(all(unix, not(any(target_os = "solaris", target_os = "illumos"))))]
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    socket.set_tcp_nodelay(true)?;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if deferred {
        defer_accept(&socket)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn defer_accept(socket: &Socket) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let seconds: libc::c_int = DEFER_ACCEPT_SECS;
    // SAFETY: the descriptor is the live socket we own; setsockopt reads
    // exactly `size_of::<c_int>()` bytes from a live local.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_DEFER_ACCEPT,
            (&seconds as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Most bytes [`refuse`] reads and drops before it closes.
const REFUSE_DRAIN_BYTES: usize = 64 * 1024;

/// Closes a connection refused past `--max-connections` with a FIN that
/// the client is sure to see, not a reset it may never get.
///
/// Closing a socket with unread bytes makes the kernel send a RST instead
/// of a FIN, and a RST is sent once: if the link loses it, a client that
/// has sent its whole request (already acknowledged) has nothing to
/// retransmit and waits for an answer that never comes. The soak over the
/// lossy link lost three HTTP/1.0 exchanges that way (1% loss, 971
/// refusals). Once the bytes that arrived with the connection are read, the
/// close sends a FIN, which the kernel retransmits until it is
/// acknowledged, without us keeping the descriptor. Bounded: a client that
/// sent more than [`REFUSE_DRAIN_BYTES`] gets the reset.
pub fn refuse(mut stream: Stream) {
    let mut sink = [0u8; 4096];
    let mut left = REFUSE_DRAIN_BYTES;
    while left > 0 {
        match stream.read(&mut sink) {
            Ok(0) => break,
            Ok(n) => left = left.saturating_sub(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
}

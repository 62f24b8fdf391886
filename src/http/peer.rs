//! Who is at the other end of a connection.
//!
//! A TCP client has an address; a client of a Unix-domain socket has none
//! (its end of the socket is unnamed). Both are shown the way nginx shows
//! `$remote_addr`: the IP for TCP, `unix:` for a Unix-domain client, so the
//! access log (in every format) and httpbin's `origin` name a Unix client
//! the same way, and tools that read nginx logs read ours. The type is
//! `Copy` and as small as a `SocketAddr`, so the connection keeps it from
//! the accept and hands it to each request for nothing.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// The client of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Peer {
    /// A TCP client at this address.
    Tcp(SocketAddr),
    /// A client of a Unix-domain socket.
    Unix,
}

impl Peer {
    /// The client's IP address; none for a Unix-domain client.
    pub fn ip(self) -> Option<IpAddr> {
        match self {
            Peer::Tcp(addr) => Some(addr.ip()),
            Peer::Unix => None,
        }
    }

    /// The client without its port, as nginx's `$remote_addr`: the IP, or
    /// `unix:`.
    pub fn host(self) -> Host {
        Host(self)
    }
}

impl From<SocketAddr> for Peer {
    fn from(addr: SocketAddr) -> Peer {
        Peer::Tcp(addr)
    }
}

/// `IP:PORT` (`[::1]:PORT` for IPv6), or `unix:`.
impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Tcp(addr) => write!(f, "{addr}"),
            Peer::Unix => f.write_str(UNIX),
        }
    }
}

/// What a Unix-domain client is called.
const UNIX: &str = "unix:";

/// A [`Peer`] shown without its port (see [`Peer::host`]).
#[derive(Clone, Copy, Debug)]
pub struct Host(Peer);

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Peer::Tcp(addr) => write!(f, "{}", addr.ip()),
            Peer::Unix => f.write_str(UNIX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_as_nginx_shows_remote_addr() {
        let v4 = Peer::from("127.0.0.1:5000".parse::<SocketAddr>().unwrap());
        let v6 = Peer::from("[::1]:5000".parse::<SocketAddr>().unwrap());
        assert_eq!(v4.to_string(), "127.0.0.1:5000");
        assert_eq!(v4.host().to_string(), "127.0.0.1");
        assert_eq!(v6.to_string(), "[::1]:5000");
        assert_eq!(v6.host().to_string(), "::1");
        assert_eq!(Peer::Unix.to_string(), "unix:");
        assert_eq!(Peer::Unix.host().to_string(), "unix:");
        assert_eq!(Peer::Unix.ip(), None);
        assert_eq!(v4.ip(), Some("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn costs_no_more_than_an_address() {
        assert_eq!(
            std::mem::size_of::<Peer>(),
            std::mem::size_of::<SocketAddr>()
        );
    }
}

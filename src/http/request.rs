//! What a handler sees of a request: a borrowed view, no copies.
//!
//! A [`Request`] borrows the connection's input buffer (the head and the
//! decoded body) and the event loop's header scratch. It lives only for the
//! duration of one handler call; everything a handler wants to keep, it
//! copies.

use super::parse::{Head, HeaderSpan, Version};
use super::Peer;

/// A parsed request, borrowed from the connection's buffer.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    buf: &'a [u8],
    head: &'a Head,
    headers: &'a [HeaderSpan],
    body: &'a [u8],
    peer: Option<Peer>,
}

/// The parser accepted these bytes only if they are ASCII, so the
/// conversion cannot fail; the empty fallback is never taken. Checked with
/// `is_ascii` (a word at a time) rather than `from_utf8`, which costs
/// several times more on the short method and path every handler reads.
fn ascii(bytes: &[u8]) -> &str {
    if bytes.is_ascii() {
        // SAFETY: every byte is below 0x80, and a sequence of ASCII bytes
        // is valid UTF-8.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    } else {
        ""
    }
}

impl<'a> Request<'a> {
    /// A view of the request whose head was parsed from `buf`.
    pub fn new(
        buf: &'a [u8],
        head: &'a Head,
        headers: &'a [HeaderSpan],
        body: &'a [u8],
    ) -> Request<'a> {
        Request {
            buf,
            head,
            headers,
            body,
            peer: None,
        }
    }

    /// The same request, from `peer`.
    pub fn with_peer(self, peer: Peer) -> Request<'a> {
        Request {
            peer: Some(peer),
            ..self
        }
    }

    /// The client: its address for TCP, [`Peer::Unix`] through a
    /// Unix-domain socket; none for a request made in memory.
    pub fn peer(&self) -> Option<Peer> {
        self.peer
    }

    /// The method, case-sensitive (`GET`, `HEAD`, `POST`, ...).
    pub fn method(&self) -> &'a str {
        ascii(self.head.method.of(self.buf))
    }

    /// Whether the method is `name` (case-sensitive): a comparison of the
    /// bytes, without the ASCII check of [`method`](Self::method).
    pub fn method_is(&self, name: &str) -> bool {
        self.head.method.of(self.buf) == name.as_bytes()
    }

    /// Whether the method is `HEAD`, whose response has no body.
    pub fn is_head(&self) -> bool {
        self.head.method.of(self.buf) == b"HEAD"
    }

    /// The request target exactly as sent (`/a/b?c`, `http://h/a`, `*`).
    pub fn target(&self) -> &'a str {
        ascii(self.head.target.of(self.buf))
    }

    /// The path, not percent-decoded; `/` for an absolute-form target
    /// without one, `*` for `OPTIONS *`.
    pub fn path(&self) -> &'a str {
        match self.head.path {
            path if path.is_empty() => "/",
            path => ascii(path.of(self.buf)),
        }
    }

    /// The query without its `?`, not percent-decoded.
    pub fn query(&self) -> Option<&'a str> {
        self.head.query.map(|q| ascii(q.of(self.buf)))
    }

    /// The raw value of the first `name=value` pair of the query called
    /// `name` (not percent-decoded); `Some("")` for `?name` or `?name=`.
    pub fn query_param(&self, name: &str) -> Option<&'a str> {
        self.query()?.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key == name).then_some(value)
        })
    }

    /// The protocol version.
    pub fn version(&self) -> Version {
        self.head.version
    }

    /// The host the request is for: the authority of an absolute-form
    /// target, which wins over `Host` (RFC 9112 §3.2.2), else `Host`.
    pub fn host(&self) -> Option<&'a str> {
        match self.head.authority {
            Some(authority) => Some(ascii(authority.of(self.buf))),
            None => self.header("host").map(ascii),
        }
    }

    /// The value of the first field called `name` (case-insensitive).
    /// Values may hold non-ASCII bytes (obs-text), hence `&[u8]`.
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    }

    /// [`header`](Self::header) as text, when the value is UTF-8.
    pub fn header_str(&self, name: &str) -> Option<&'a str> {
        self.header(name)
            .and_then(|value| std::str::from_utf8(value).ok())
    }

    /// Every header field in the order received, as `(name, value)`.
    pub fn headers(&self) -> impl Iterator<Item = (&'a str, &'a [u8])> + 'a {
        let buf = self.buf;
        self.headers
            .iter()
            .map(move |h| (ascii(h.name.of(buf)), h.value.of(buf)))
    }

    /// The whole body, chunked coding already removed; empty if none.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }
}

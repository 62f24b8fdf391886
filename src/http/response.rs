//! What a handler answers, and how it becomes bytes on the wire.
//!
//! The event loop owns one [`Response`] and lends it to the handler for
//! each request, so the header bytes a handler adds go into a buffer that is
//! reused from request to request: a response allocates nothing unless the
//! handler's body does. The loop then encodes the head straight into the
//! connection's output buffer: the status line and `Server` are static
//! bytes, `Date` comes from the once-a-second cache, and small bodies are
//! copied in after the head so that all the responses to a pipelined batch
//! leave in one `write`. Bodies larger than [`INLINE_BODY_MAX`] are not
//! copied; they follow the head as the connection's output tail, written
//! with `writev`.

use super::date::DateCache;
use super::{write_decimal, Status};

/// Bodies up to this size are copied into the output buffer after the head;
/// larger ones are written from where they are.
pub const INLINE_BODY_MAX: usize = 16 * 1024;

/// Whether `name` is one of the header fields the server writes itself:
/// `Content-Length`, `Transfer-Encoding`, `Connection`, `Date`, `Server`
/// (their lengths differ, so one comparison at most).
fn is_reserved(name: &str) -> bool {
    let reserved = match name.len() {
        4 => "date",
        6 => "server",
        10 => "connection",
        14 => "content-length",
        17 => "transfer-encoding",
        _ => return false,
    };
    name.eq_ignore_ascii_case(reserved)
}

/// A response body.
#[derive(Debug, Default)]
#[non_exhaustive]
pub enum Body {
    /// No body (`Content-Length: 0`).
    #[default]
    Empty,
    /// Bytes that live for the whole program, sent without copying them
    /// anywhere first.
    Static(&'static [u8]),
    /// Bytes owned by the response.
    Bytes(Vec<u8>),
    /// Bytes shared with others (a cache), sent without copying them
    /// first when large, and without allocating.
    Shared(std::sync::Arc<[u8]>),
    /// A range of an open file, sent from the file as the client reads
    /// (with `sendfile(2)` on Linux), so a file of any size costs no more
    /// memory than a small one.
    File(FileBody),
    /// Bytes made as the client reads them, a piece at a time, so a body
    /// of any length costs a small scratch buffer (or, when small, is made
    /// straight into the output buffer).
    Generated(Generated),
}

/// A body produced on demand by a function of its position.
#[derive(Clone, Copy, Debug)]
pub struct Generated {
    /// Body length.
    pub len: u64,
    /// Passed to `fill`, so one function can make many bodies.
    pub key: u64,
    /// Fills `out` with the body's bytes from `offset` on:
    /// `fill(key, offset, out)`. The same arguments must always give the
    /// same bytes.
    pub fill: fn(u64, u64, &mut [u8]),
}

/// `len` bytes of `file` from `offset`.
#[derive(Debug)]
pub struct FileBody {
    /// The open file.
    pub file: std::fs::File,
    /// Where the body starts in the file.
    pub offset: u64,
    /// How many bytes the body has.
    pub len: u64,
}

impl Body {
    /// Length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Body::Empty => 0,
            Body::Static(bytes) => bytes.len() as u64,
            Body::Bytes(bytes) => bytes.len() as u64,
            Body::Shared(bytes) => bytes.len() as u64,
            Body::File(file) => file.len,
            Body::Generated(generated) => generated.len,
        }
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Body {
        Body::Static(text.as_bytes())
    }
}

impl From<&'static [u8]> for Body {
    fn from(bytes: &'static [u8]) -> Body {
        Body::Static(bytes)
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Body {
        Body::Bytes(bytes)
    }
}

impl From<String> for Body {
    fn from(text: String) -> Body {
        Body::Bytes(text.into_bytes())
    }
}

/// The response a handler fills in. Starts as `200 OK` with no headers and
/// no body. `Date`, `Server`, `Content-Length` and `Connection` are the
/// server's to write; setting one of them, or a header that is not valid
/// on the wire, turns the response into a 500 (and an error in the log).
#[derive(Debug, Default)]
pub struct Response {
    status: Status,
    headers: Vec<u8>,
    body: Body,
    close: bool,
    misuse: Option<&'static str>,
}

impl Default for Status {
    fn default() -> Status {
        Status::OK
    }
}

/// What the connection tells the encoder about the exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionHeader {
    /// Say nothing: HTTP/1.1 keeps the connection open by default.
    Omit,
    /// `Connection: close`: this is the last response.
    Close,
    /// `Connection: keep-alive`: an HTTP/1.0 client asked to keep it open.
    KeepAlive,
}

impl Response {
    /// An empty `200 OK`.
    pub fn new() -> Response {
        Response::default()
    }

    /// The status code.
    pub fn status(&self) -> Status {
        self.status
    }

    /// Sets the status code.
    pub fn set_status(&mut self, status: Status) -> &mut Response {
        self.status = status;
        self
    }

    /// Adds a header field. The name must be a token and the value free of
    /// control characters other than tab, or the response becomes a 500.
    pub fn header(&mut self, name: &str, value: impl AsRef<[u8]>) -> &mut Response {
        let value = value.as_ref();
        if !super::parse::is_token(name.as_bytes()) {
            self.misuse = Some("header name is not a token");
        } else if is_reserved(name) {
            self.misuse = Some("header is written by the server");
        } else if !super::parse::is_field_value(value) {
            self.misuse = Some("header value holds a control character");
        } else {
            self.headers.extend_from_slice(name.as_bytes());
            self.headers.extend_from_slice(b": ");
            self.headers.extend_from_slice(value);
            self.headers.extend_from_slice(b"\r\n");
        }
        self
    }

    /// Sets the body.
    pub fn set_body(&mut self, body: impl Into<Body>) -> &mut Response {
        self.body = body.into();
        self
    }

    /// The body set so far.
    pub fn body(&self) -> &Body {
        &self.body
    }

    /// Closes the connection after this response (`Connection: close`).
    pub fn close_connection(&mut self) -> &mut Response {
        self.close = true;
        self
    }

    /// Sets `status` with a short `text/plain` body naming it, for errors.
    pub fn error(&mut self, status: Status) -> &mut Response {
        self.set_status(status)
            .header("Content-Type", "text/plain; charset=utf-8");
        match status.static_text() {
            Some(text) => self.set_body(text),
            None => self.set_body(format!("{status}\n")),
        }
    }

    /// Drops everything set so far and answers `status` with a short text
    /// body (for a handler that finds out half-way that it must fail).
    pub fn reset_to_error(&mut self, status: Status) -> &mut Response {
        let close = self.close;
        self.reset();
        self.close = close;
        self.error(status)
    }

    /// Whether the handler asked to close the connection.
    pub(crate) fn wants_close(&self) -> bool {
        self.close
    }

    /// Why the handler's response cannot be sent, if it cannot.
    pub(crate) fn misuse(&self) -> Option<&'static str> {
        self.misuse
    }

    /// Back to an empty `200 OK`, keeping the header buffer's memory.
    pub(crate) fn reset(&mut self) {
        self.status = Status::OK;
        self.headers.clear();
        self.body = Body::Empty;
        self.close = false;
        self.misuse = None;
    }

    /// Length of the body the client will receive: none for HEAD and for
    /// statuses that forbid one.
    pub(crate) fn wire_body_len(&self, head_only: bool) -> u64 {
        if head_only || self.status.forbids_body() {
            0
        } else {
            self.body.len()
        }
    }

    /// Appends the head to `out`: status line, `Server`, `Date`,
    /// `Content-Length`, `Connection`, the handler's fields, CRLF.
    pub fn encode_head(&self, out: &mut Vec<u8>, date: &DateCache, connection: ConnectionHeader) {
        self.status.write_head_start(out);
        // RFC 9110 §8.6: no Content-Length on 1xx and 204; on 304 it would
        // have to be the length of the 200, which only the handler knows.
        if self.status.forbids_body() {
            out.extend_from_slice(date.line());
        } else {
            out.extend_from_slice(date.line_then_content_length());
            write_decimal(out, self.body.len());
            out.extend_from_slice(b"\r\n");
        }
        match connection {
            ConnectionHeader::Omit => {}
            ConnectionHeader::Close => out.extend_from_slice(b"Connection: close\r\n"),
            ConnectionHeader::KeepAlive => out.extend_from_slice(b"Connection: keep-alive\r\n"),
        }
        out.extend_from_slice(&self.headers);
        out.extend_from_slice(b"\r\n");
    }

    /// Takes the body out for sending, leaving `Body::Empty`.
    pub(crate) fn take_body(&mut self) -> Body {
        std::mem::take(&mut self.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The encoded head, with the date replaced by `X`.
    fn encoded(res: &Response, connection: ConnectionHeader) -> String {
        let date = DateCache::new();
        let mut out = Vec::new();
        res.encode_head(&mut out, &date, connection);
        let date_line = String::from_utf8(date.line().to_vec()).unwrap();
        String::from_utf8(out)
            .unwrap()
            .replace(&date_line, "Date: X\r\n")
    }

    #[test]
    fn head_has_server_fields_then_handler_fields() {
        let mut res = Response::new();
        res.header("Content-Type", "text/plain").set_body("hello");
        assert_eq!(
            encoded(&res, ConnectionHeader::Omit),
            "HTTP/1.1 200 OK\r\nServer: coffeeweb\r\nDate: X\r\nContent-Length: 5\r\n\
             Content-Type: text/plain\r\n\r\n"
        );
    }

    #[test]
    fn connection_header_follows_the_decision() {
        let res = Response::new();
        assert!(encoded(&res, ConnectionHeader::Close).contains("Connection: close\r\n"));
        assert!(encoded(&res, ConnectionHeader::KeepAlive).contains("Connection: keep-alive\r\n"));
    }

    #[test]
    fn no_content_length_where_the_status_forbids_a_body() {
        let mut res = Response::new();
        res.set_status(Status::NO_CONTENT);
        assert!(!encoded(&res, ConnectionHeader::Omit).contains("Content-Length"));
        res.set_status(Status::NOT_MODIFIED);
        assert!(!encoded(&res, ConnectionHeader::Omit).contains("Content-Length"));
    }

    #[test]
    fn invalid_and_reserved_headers_are_misuse() {
        for (name, value) in [
            ("Bad Name", "x"),
            ("X-Split", "a\r\nInjected: yes"),
            ("Content-Length", "3"),
            ("connection", "close"),
        ] {
            let mut res = Response::new();
            res.header(name, value);
            assert!(res.misuse().is_some(), "{name}: {value:?}");
            let line = format!("{name}: {value}");
            assert!(
                !encoded(&res, ConnectionHeader::Omit).contains(&line),
                "{line}"
            );
        }
    }

    #[test]
    fn reset_keeps_nothing_but_memory() {
        let mut res = Response::new();
        res.set_status(Status::NOT_FOUND)
            .header("X-A", "b")
            .set_body("gone")
            .close_connection();
        res.reset();
        assert_eq!(res.status(), Status::OK);
        assert!(res.body().is_empty());
        assert!(!res.wants_close());
        assert_eq!(
            encoded(&res, ConnectionHeader::Omit),
            "HTTP/1.1 200 OK\r\nServer: coffeeweb\r\nDate: X\r\nContent-Length: 0\r\n\r\n"
        );
    }

    #[test]
    fn error_bodies_name_the_status() {
        let mut res = Response::new();
        res.error(Status::METHOD_NOT_ALLOWED);
        assert!(matches!(
            res.body(),
            Body::Static(b"405 Method Not Allowed\n")
        ));
    }
}

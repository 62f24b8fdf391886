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
use super::late::{Binding, BodySender, Deferral, Later, Outbox, Producer, StreamShared, Ticket};
use super::{write_decimal, Status};
use std::sync::Arc;
use std::time::Duration;

/// Bodies up to this size are copied into the output buffer after the head;
/// larger ones are written from where they are.
pub const INLINE_BODY_MAX: usize = 16 * 1024;

/// Largest static body kept with the last head (see `EncodedHead`): the
/// welcome page's fits.
const KEPT_BODY_MAX: usize = 2 * 1024;

/// Whether `name` is one of the header fields the server writes itself:
/// `Content-Length`, `Transfer-Encoding`, `Connection`, `Date`, `Server`,
/// and `Vary`, which is gathered from every part of the handler chain
/// ([`Response::vary`]) into one field (their lengths differ but for
/// `Date` and `Vary`, so two comparisons at most).
fn is_reserved(name: &str) -> bool {
    let reserved = match name.len() {
        4 if name.eq_ignore_ascii_case("vary") => return true,
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
/// no body. `Date`, `Server`, `Content-Length`, `Transfer-Encoding` and
/// `Connection` are the server's to write, and `Vary` is gathered with
/// [`Response::vary`]; setting one of them with [`Response::header`], or a
/// header that is not valid on the wire, turns the response into a 500
/// (and an error in the log).
#[derive(Debug, Default)]
pub struct Response {
    status: Status,
    /// The handler's fields, `Name: value\r\n` lines: the first
    /// `fields_len` bytes. The lines after them are the previous
    /// response's, kept so that a field added again (most handlers add the
    /// same ones every time) is recognised in place ([`Response::header`]).
    headers: Vec<u8>,
    /// How many bytes of `headers` this response's fields are.
    fields_len: usize,
    /// The name and value lengths of each line in `headers`.
    field_lens: Vec<(usize, usize)>,
    /// How many lines of `headers` this response's fields are.
    fields: usize,
    vary: Vec<&'static str>,
    body: Body,
    close: bool,
    misuse: Option<&'static str>,
    /// The loop's inbox, for answers that come later (set once per loop).
    outbox: Option<Arc<dyn Outbox>>,
    /// The request this response is for, while a handler builds it.
    ticket: Ticket,
    /// Set when the handler keeps the request or streams the body.
    deferral: Option<Deferral>,
    /// The declared length of a streamed body.
    stream_length: Option<u64>,
    added: AddedFields,
    last_head: EncodedHead,
}

/// How the length of a streamed body is told to the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamLength {
    /// `Content-Length`, declared by the handler.
    Known(u64),
    /// `Transfer-Encoding: chunked` (HTTP/1.1).
    Chunked,
    /// No length: the body ends when the connection closes (HTTP/1.0).
    UntilClose,
}

/// Header fields added to every response but 1xx (`--header`), encoded
/// once: `Name: value\r\n` lines, written after all the others.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddedFields(std::sync::Arc<[u8]>);

impl AddedFields {
    /// Fields from `(name, value)` pairs, checked as [`Response::header`]
    /// checks them; the error names the first one that cannot be sent.
    pub fn new<'a>(
        fields: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<AddedFields, String> {
        let mut lines = Vec::new();
        for (name, value) in fields {
            // Fields the server sets per response: a fixed copy would
            // contradict the body it goes with.
            let per_response = ["content-encoding", "content-range"]
                .iter()
                .any(|owned| owned.eq_ignore_ascii_case(name));
            if per_response {
                return Err(format!("{name}: header is written by the server"));
            }
            if let Some(why) = field_problem(name, value.as_bytes()) {
                return Err(format!("{name}: {why}"));
            }
            push_field(&mut lines, name, value.as_bytes());
        }
        Ok(AddedFields(lines.into()))
    }

    /// The encoded lines.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Why a field cannot be sent as given, if it cannot.
fn field_problem(name: &str, value: &[u8]) -> Option<&'static str> {
    if !super::parse::is_token(name.as_bytes()) {
        Some("header name is not a token")
    } else if is_reserved(name) {
        Some("header is written by the server")
    } else if !super::parse::is_field_value(value) {
        Some("header value holds a control character")
    } else {
        None
    }
}

#[inline]
fn push_field(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// The last head a response encoded. Most handlers answer the same way
/// every time (`hello`, the welcome page, a cached file), and then the
/// next head is the same bytes: copying them whole costs a third of
/// encoding them again (callgrind). The kept head was encoded from the
/// whole of the response's `headers` and its added fields: whatever
/// changes those drops it (`key` back to `None`), so that a response whose
/// fields are all the kept lines again needs no comparison of bytes here.
#[derive(Debug, Default)]
struct EncodedHead {
    /// What the bytes were encoded from, but the fields.
    key: Option<HeadKey>,
    /// The whole head, final CRLF included, then `body`.
    bytes: Vec<u8>,
    head_len: usize,
    /// A small static body sent after the head, kept with it, so that an
    /// answer that is all the same bytes again is one copy.
    body: &'static [u8],
}

/// What a head's bytes depend on, but the fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct HeadKey {
    status: Status,
    body_len: u64,
    connection: ConnectionHeader,
    second: u64,
}

impl EncodedHead {
    /// The head for `key`, if it is the one kept, with `body` after it
    /// when that is the body kept (the same static bytes: the same
    /// address and length); `true` when it is.
    fn get(&self, key: HeadKey, body: &'static [u8]) -> Option<(&[u8], bool)> {
        if self.key != Some(key) {
            return None;
        }
        Some(match std::ptr::eq(self.body, body) {
            true => (&self.bytes, true),
            false => (&self.bytes[..self.head_len], false),
        })
    }

    /// Keeps `bytes`: a head of `head_len` bytes, then `body`.
    fn set(&mut self, key: HeadKey, bytes: &[u8], head_len: usize, body: &'static [u8]) {
        self.bytes.clear();
        self.bytes.extend_from_slice(bytes);
        self.head_len = head_len;
        self.body = body;
        self.key = Some(key);
    }
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

impl ConnectionHeader {
    /// Whether the connection stays open after this response.
    pub fn keeps_alive(self) -> bool {
        self != ConnectionHeader::Close
    }
}

impl Response {
    /// An empty `200 OK`.
    pub fn new() -> Response {
        Response::default()
    }

    /// An empty `200 OK` that will carry `added` after its own fields,
    /// now and after every reset.
    pub fn with_added_fields(added: AddedFields) -> Response {
        Response {
            added,
            ..Response::default()
        }
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
        if self.repeats_field(name.as_bytes(), value) {
            self.fields_len += name.len() + value.len() + 4;
            self.fields += 1;
            return self;
        }
        match field_problem(name, value) {
            Some(why) => self.misuse = Some(why),
            None => {
                self.drop_kept_fields();
                push_field(&mut self.headers, name, value);
                self.field_lens.push((name.len(), value.len()));
                self.fields_len = self.headers.len();
                self.fields += 1;
            }
        }
        self
    }

    /// Whether the next kept line is `name: value`. Every kept line was
    /// checked when it was added, and its lengths were recorded: a line of
    /// the same lengths and the same bytes is that very field, valid.
    #[inline]
    fn repeats_field(&self, name: &[u8], value: &[u8]) -> bool {
        let Some(&(n, v)) = self.field_lens.get(self.fields) else {
            return false;
        };
        if n != name.len() || v != value.len() {
            return false;
        }
        let Some(line) = self.headers.get(self.fields_len..) else {
            return false;
        };
        line.len() >= n + 2 + v && line[..n] == *name && line[n + 2..n + 2 + v] == *value
    }

    /// Drops the kept lines after this response's fields, and the head
    /// encoded from them: the handler's fields differ from the last ones.
    fn drop_kept_fields(&mut self) {
        if self.headers.len() > self.fields_len {
            self.headers.truncate(self.fields_len);
            self.field_lens.truncate(self.fields);
        }
        self.last_head.key = None;
    }

    /// The handler's fields, encoded.
    fn fields(&self) -> &[u8] {
        &self.headers[..self.fields_len]
    }

    /// Says that the response depends on the request field `name`. Every
    /// part of the handler chain may say so (the static files for
    /// `Accept-Encoding`, CORS for `Origin`); the names are sent once each,
    /// in one `Vary` field.
    pub fn vary(&mut self, name: &'static str) -> &mut Response {
        if !self.vary.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            self.vary.push(name);
        }
        self
    }

    /// Sets the body.
    pub fn set_body(&mut self, body: impl Into<Body>) -> &mut Response {
        self.put_body(body.into());
        self
    }

    /// Puts `body` in place of the current one. The current one is
    /// usually empty, or static (queuing takes the others). Both arms
    /// assign the same: the split only tells the compiler that in the
    /// first the old body needs no drop.
    #[inline]
    fn put_body(&mut self, body: Body) {
        match self.body {
            Body::Empty | Body::Static(_) => self.body = body,
            _ => self.body = body,
        }
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
        self.clear().error(status)
    }

    /// Drops the status, fields and body set so far, keeping whether the
    /// connection closes (for a handler that answers something else than
    /// it began to).
    pub fn clear(&mut self) -> &mut Response {
        let close = self.close;
        self.reset();
        self.close = close;
        self
    }

    /// Keeps the request, to be answered later from any thread with the
    /// returned [`Later`] (see [`late`](super::late)). What is set on this
    /// response is dropped. Only inside a handler called by the server.
    pub fn later(&mut self) -> Later {
        let cancelled = Arc::default();
        self.deferral = Some(Deferral::Later(Arc::clone(&cancelled)));
        Later::new(self.bound(), cancelled)
    }

    /// Answers after `delay`, with what `answer` sets on the response then,
    /// on the loop's thread (a timer of the loop: no thread waits). The
    /// handler timeout does not apply: the delay is the handler's word.
    pub fn answer_after(
        &mut self,
        delay: Duration,
        answer: impl FnOnce(&mut Response) + Send + 'static,
    ) -> &mut Response {
        self.deferral = Some(Deferral::After(delay, Box::new(answer)));
        self
    }

    /// Sends this response's status and fields now and streams its body
    /// from the returned sender, which any thread may use.
    pub fn stream(&mut self) -> BodySender {
        let shared = Arc::new(StreamShared::default());
        self.deferral = Some(Deferral::Channel(Arc::clone(&shared)));
        BodySender::new(shared, self.bound())
    }

    /// Sends this response's status and fields now and streams its body
    /// from `producer`, asked for each piece on the loop's thread.
    pub fn stream_with(&mut self, producer: impl Producer) -> &mut Response {
        self.deferral = Some(Deferral::Producer(Box::new(producer)));
        self
    }

    /// Declares the length of a streamed body: it is sent with
    /// `Content-Length` instead of chunked, and a stream that ends short of
    /// it is cut off.
    pub fn stream_length(&mut self, len: u64) -> &mut Response {
        self.stream_length = Some(len);
        self
    }

    fn bound(&self) -> Binding {
        match &self.outbox {
            Some(outbox) => Binding {
                outbox: Arc::clone(outbox),
                ticket: self.ticket,
            },
            None => panic!("Response::later and ::stream only inside a handler the server calls"),
        }
    }

    /// Takes what every response of the loop carries (`--header` fields)
    /// from the loop's own response: for a late answer made elsewhere.
    pub(crate) fn carry_added_from(&mut self, loop_response: &Response) {
        self.added = loop_response.added.clone();
        self.last_head.key = None;
    }

    /// Where this loop's late answers go.
    pub(crate) fn attach(&mut self, outbox: Arc<dyn Outbox>) {
        self.outbox = Some(outbox);
    }

    /// Ties the response to the request the loop is about to hand over.
    pub(crate) fn set_ticket(&mut self, ticket: Ticket) {
        self.ticket = ticket;
    }

    /// Whether the handler said `Content-Type: text/event-stream`: an
    /// open-ended stream (Server-Sent Events).
    pub(crate) fn is_event_stream(&self) -> bool {
        self.fields().split(|&b| b == b'\n').any(|line| {
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                return false;
            };
            let (name, value) = (&line[..colon], &line[colon + 1..]);
            name.eq_ignore_ascii_case(b"content-type")
                && value.trim_ascii().starts_with(b"text/event-stream")
        })
    }

    /// What the handler deferred, if it did.
    pub(crate) fn take_deferral(&mut self) -> Option<Deferral> {
        self.deferral.take()
    }

    /// The declared length of a streamed body.
    pub(crate) fn declared_stream_length(&self) -> Option<u64> {
        self.stream_length
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
    #[inline]
    pub(crate) fn reset(&mut self) {
        self.status = Status::OK;
        self.fields_len = 0;
        self.fields = 0;
        self.vary.clear();
        self.put_body(Body::Empty);
        self.close = false;
        self.misuse = None;
        self.deferral = None;
        self.stream_length = None;
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
    /// `Content-Length`, `Connection`, the handler's fields, `Vary`, the
    /// added fields, CRLF. A head that is the same bytes as the last one
    /// is copied whole (a response with `Vary` is encoded anew, and not
    /// kept).
    pub fn encode_head(
        &mut self,
        out: &mut Vec<u8>,
        date: &DateCache,
        connection: ConnectionHeader,
    ) {
        self.encode_head_then(out, date, connection, &[]);
    }

    /// [`encode_head`](Self::encode_head), then `body`: the response's
    /// own body when it is small and static (sent inline), else nothing.
    #[inline]
    pub(crate) fn encode_head_then(
        &mut self,
        out: &mut Vec<u8>,
        date: &DateCache,
        connection: ConnectionHeader,
        body: &'static [u8],
    ) {
        let key = HeadKey {
            status: self.status,
            body_len: self.body.len(),
            connection,
            second: date.second(),
        };
        // Fewer fields than the kept lines: the head differs from the kept one.
        if self.headers.len() > self.fields_len {
            self.drop_kept_fields();
        }
        let keep = self.vary.is_empty();
        if let Some((kept, with_body)) = self.last_head.get(key, body).filter(|_| keep) {
            out.extend_from_slice(kept);
            if !with_body {
                out.extend_from_slice(body);
            }
            return;
        }
        let start = out.len();
        self.encode_head_anew(out, date, connection);
        let head_len = out.len() - start;
        out.extend_from_slice(body);
        if keep {
            // A miss (another length of `/bytes/N`) pays the copy of the
            // body into the kept head again: kept only while it is small
            // against the copy into the output that every answer makes.
            let kept = if body.len() <= KEPT_BODY_MAX {
                body
            } else {
                &[]
            };
            let end = start + head_len + kept.len();
            self.last_head.set(key, &out[start..end], head_len, kept);
        }
    }

    fn encode_head_anew(&self, out: &mut Vec<u8>, date: &DateCache, connection: ConnectionHeader) {
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
        self.encode_rest(out, connection);
    }

    /// The head of a streamed body, whose length is told as `length`.
    pub fn encode_stream_head(
        &self,
        out: &mut Vec<u8>,
        date: &DateCache,
        connection: ConnectionHeader,
        length: StreamLength,
    ) {
        self.status.write_head_start(out);
        match length {
            _ if self.status.forbids_body() => out.extend_from_slice(date.line()),
            StreamLength::Known(len) => {
                out.extend_from_slice(date.line_then_content_length());
                write_decimal(out, len);
                out.extend_from_slice(b"\r\n");
            }
            StreamLength::Chunked => {
                out.extend_from_slice(date.line());
                out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
            }
            StreamLength::UntilClose => out.extend_from_slice(date.line()),
        }
        self.encode_rest(out, connection);
    }

    /// `Connection`, the handler's fields, and the final CRLF.
    #[inline]
    fn encode_rest(&self, out: &mut Vec<u8>, connection: ConnectionHeader) {
        match connection {
            ConnectionHeader::Omit => {}
            ConnectionHeader::Close => out.extend_from_slice(b"Connection: close\r\n"),
            ConnectionHeader::KeepAlive => out.extend_from_slice(b"Connection: keep-alive\r\n"),
        }
        out.extend_from_slice(self.fields());
        if let Some((first, rest)) = self.vary.split_first() {
            out.extend_from_slice(b"Vary: ");
            out.extend_from_slice(first.as_bytes());
            for name in rest {
                out.extend_from_slice(b", ");
                out.extend_from_slice(name.as_bytes());
            }
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(self.added.as_bytes());
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
    fn encoded(res: &mut Response, connection: ConnectionHeader) -> String {
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
            encoded(&mut res, ConnectionHeader::Omit),
            "HTTP/1.1 200 OK\r\nServer: coffeeweb\r\nDate: X\r\nContent-Length: 5\r\n\
             Content-Type: text/plain\r\n\r\n"
        );
    }

    #[test]
    fn connection_header_follows_the_decision() {
        let mut res = Response::new();
        assert!(encoded(&mut res, ConnectionHeader::Close).contains("Connection: close\r\n"));
        assert!(
            encoded(&mut res, ConnectionHeader::KeepAlive).contains("Connection: keep-alive\r\n")
        );
    }

    #[test]
    fn no_content_length_where_the_status_forbids_a_body() {
        let mut res = Response::new();
        res.set_status(Status::NO_CONTENT);
        assert!(!encoded(&mut res, ConnectionHeader::Omit).contains("Content-Length"));
        res.set_status(Status::NOT_MODIFIED);
        assert!(!encoded(&mut res, ConnectionHeader::Omit).contains("Content-Length"));
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
                !encoded(&mut res, ConnectionHeader::Omit).contains(&line),
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
            encoded(&mut res, ConnectionHeader::Omit),
            "HTTP/1.1 200 OK\r\nServer: coffeeweb\r\nDate: X\r\nContent-Length: 0\r\n\r\n"
        );
    }

    /// The kept head is copied only when every input is the same: each
    /// change (a field's bytes, the status, the length, the connection
    /// header) gives the head a fresh encoding would.
    #[test]
    fn a_kept_head_is_used_only_for_the_same_response() {
        let date = DateCache::new();
        let fresh = |res: &Response, connection| {
            let mut out = Vec::new();
            res.encode_head_anew(&mut out, &date, connection);
            out
        };
        let mut res = Response::new();
        let mut out = Vec::new();
        let mut check = |res: &mut Response, connection| {
            out.clear();
            res.encode_head(&mut out, &date, connection);
            assert_eq!(out, fresh(res, connection));
        };
        let steps: [fn(&mut Response); 8] = [
            |res| {
                res.header("Content-Type", "text/plain").set_body("hi");
            },
            |res| {
                res.header("Content-Type", "text/plain")
                    .header("X-A", "b")
                    .set_body("hi");
            },
            |res| {
                res.header("Content-Type", "text/plain").set_body("hi");
            },
            |res| {
                res.set_body("hi");
            },
            |res| {
                res.header("Content-Type", "text/plaix").set_body("hi");
            },
            |res| {
                res.header("Content-Type", "text/plaix").set_body("ho!");
            },
            |res| {
                res.set_status(Status::NOT_FOUND)
                    .header("Content-Type", "text/plaix")
                    .set_body("ho!");
            },
            |res| {
                res.set_status(Status::NOT_FOUND)
                    .header("Content-Typ", "etext/plaix")
                    .set_body("ho!");
            },
        ];
        for step in steps {
            for connection in [
                ConnectionHeader::Omit,
                ConnectionHeader::Omit,
                ConnectionHeader::Close,
            ] {
                res.reset();
                step(&mut res);
                check(&mut res, connection);
            }
        }
    }

    /// A field recognised among the kept lines is the very field that was
    /// checked before: one whose name or value runs over a kept line's end
    /// is checked (and refused) as if nothing were kept.
    #[test]
    fn kept_lines_do_not_let_a_bad_field_through() {
        for (name, value) in [("A: b\r\nX-B", "c"), ("A", "b\r\nX-B: c")] {
            let mut res = Response::new();
            res.header("A", "b").header("X-B", "c");
            let sent = encoded(&mut res, ConnectionHeader::Omit);
            assert!(sent.ends_with("\r\nA: b\r\nX-B: c\r\n\r\n"), "{sent}");
            res.reset();
            res.header(name, value);
            assert!(res.misuse().is_some(), "{name:?}: {value:?}");
        }
    }

    #[test]
    fn a_kept_head_follows_the_date() {
        let mut date = DateCache::new();
        let mut res = Response::new();
        let mut out = Vec::new();
        res.encode_head(&mut out, &date, ConnectionHeader::Omit);
        let then = std::time::UNIX_EPOCH + std::time::Duration::from_secs(784_111_777);
        date.update(then);
        out.clear();
        res.encode_head(&mut out, &date, ConnectionHeader::Omit);
        let head = String::from_utf8(out).unwrap();
        assert!(
            head.contains("Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"),
            "{head}"
        );
    }

    #[test]
    fn vary_names_are_gathered_into_one_field() {
        let mut res = Response::new();
        res.vary("Accept-Encoding")
            .header("X-A", "b")
            .vary("Origin")
            .vary("accept-encoding");
        let head = encoded(&mut res, ConnectionHeader::Omit);
        assert!(
            head.ends_with("X-A: b\r\nVary: Accept-Encoding, Origin\r\n\r\n"),
            "{head}"
        );
        res.header("Vary", "Accept");
        assert!(res.misuse().is_some(), "Vary is the server's to write");
    }

    #[test]
    fn a_kept_head_is_not_reused_across_vary_or_added_fields() {
        let added = AddedFields::new([("X-Frame-Options", "DENY")]).unwrap();
        let mut res = Response::with_added_fields(added);
        res.header("Content-Type", "text/plain");
        let plain = encoded(&mut res, ConnectionHeader::Omit);
        assert!(plain.ends_with("text/plain\r\nX-Frame-Options: DENY\r\n\r\n"));
        assert_eq!(encoded(&mut res, ConnectionHeader::Omit), plain, "kept");
        res.vary("Origin");
        let varied = encoded(&mut res, ConnectionHeader::Omit);
        assert!(varied.ends_with("Vary: Origin\r\nX-Frame-Options: DENY\r\n\r\n"));
        res.reset();
        res.header("Content-Type", "text/plain");
        assert_eq!(encoded(&mut res, ConnectionHeader::Omit), plain);
    }

    #[test]
    fn added_fields_come_last_and_survive_resets() {
        let added = AddedFields::new([("X-Frame-Options", "DENY"), ("X-B", "c d")]).unwrap();
        let mut res = Response::with_added_fields(added);
        res.header("Content-Type", "text/plain").vary("Origin");
        let tail =
            "Content-Type: text/plain\r\nVary: Origin\r\nX-Frame-Options: DENY\r\nX-B: c d\r\n\r\n";
        assert!(encoded(&mut res, ConnectionHeader::Close).ends_with(tail));
        res.reset();
        assert!(encoded(&mut res, ConnectionHeader::Omit)
            .ends_with("X-Frame-Options: DENY\r\nX-B: c d\r\n\r\n"));
        for bad in [
            ("Bad Name", "x"),
            ("X-A", "a\nb"),
            ("Date", "x"),
            ("vary", "x"),
            ("Content-Range", "x"),
            ("content-encoding", "gzip"),
        ] {
            assert!(AddedFields::new([bad]).is_err(), "{bad:?}");
        }
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

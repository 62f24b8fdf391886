//! The access log: one line per response, formatted into the loop's buffer
//! and written once per wake-up.
//!
//! Each event loop owns an [`AccessLog`]. A response appends its line to
//! the buffer (no allocation once the buffer has grown, no syscall); at the
//! end of the loop's iteration [`AccessLog::flush`] hands the whole batch
//! to the kernel in one `write`, and earlier only if the buffer passes
//! [`FLUSH_AT`]. The time is read once per batch, when its first line is
//! formatted, and formatted again only when the second changes. The client
//! address is the connection's, kept since the accept; a client of a
//! Unix-domain socket (`--listen unix:PATH`) has none and is written
//! `unix:`, as nginx writes its `$remote_addr`.
//!
//! A log file is opened in append mode by each loop, so the loops' batches
//! (whole lines each) never overwrite one another. SIGUSR1 makes every
//! loop flush and reopen the file at its path (log rotation, as nginx
//! does: rename the file, send the signal, the new lines go to a new file).
//!
//! Formats (`--access-log-format`):
//!
//! ```text
//! default:  2026-12-01T18:25:23.117Z INFO  [coffeeweb::access] 127.0.0.1:50312 "GET / HTTP/1.1" 200 1895 0.041ms
//! combined: 127.0.0.1 - - [01/Dec/2026:18:25:23 +0000] "GET / HTTP/1.1" 200 1895 "-" "curl/8.5.0"
//! json:     {"time":"2026-12-01T18:25:23Z","remote":"127.0.0.1","method":"GET",...}
//! ```
//!
//! The bytes are the body's (nginx's `$body_bytes_sent`); the duration
//! runs from the complete request head to the response. A request that
//! could not be parsed has `"-"` for its request line (null fields in
//! JSON). A request answered later is logged when its answer is queued,
//! or with status 499 (nginx's "client closed request", never sent) when
//! its connection closes first; a streamed response when its stream ends, as nginx logs a request
//! when it ends: once its last piece is handed to the kernel, or when it
//! is cut off (the client gone, the handler timeout, the connection
//! closed, the end of the shutdown's grace), with the payload bytes of its
//! pieces handed to the output (the chunked framing not counted) and the duration to then. A stream
//! that never ends (SSE) is logged when its connection closes, or at
//! shutdown, which ends it. Either way the input is gone by then: with
//! the log on, the connection keeps a [`KeptRequest`] (one allocation,
//! for deferred requests only, and one more when a stream ends) of what
//! its line needs; with the log off it keeps nothing.

use crate::http::date::{unix_seconds, Civil};
use crate::http::{json, Peer, Request, Status, Version};
use crate::AccessLogFormat;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The `log` target that default-format lines name, as other logs do.
pub const TARGET: &str = "coffeeweb::access";

/// A batch is written early once it holds this much.
pub const FLUSH_AT: usize = 64 * 1024;

/// One finished exchange, as the log sees it.
#[derive(Clone, Copy, Debug)]
pub struct Entry<'r, 'a> {
    /// The client.
    pub peer: Peer,
    /// The request, as far as it is known.
    pub req: Logged<'r, 'a>,
    /// The response status.
    pub status: Status,
    /// Body bytes of the response (of a stream: the payload sent, its
    /// chunked framing not counted).
    pub body_bytes: u64,
    /// From the complete head to the response queued (to the end, for a
    /// stream), in microseconds.
    pub micros: u64,
}

/// The request of a line.
#[derive(Clone, Copy, Debug)]
pub enum Logged<'r, 'a> {
    /// Parsed, and still at hand.
    Parsed(&'r Request<'a>),
    /// Answered later or streamed: what was kept of it.
    Kept(&'r KeptRequest),
    /// It could not be parsed (or nothing was kept).
    Unknown,
}

/// What a line needs of a request whose input is gone by the time it is
/// logged: method, target, version, `Referer` and `User-Agent`, in one
/// allocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptRequest {
    /// The method, the target and the two fields, one after another.
    text: Box<[u8]>,
    /// Where each of the four ends in `text`.
    ends: [usize; 4],
    /// Whether the request had a `Referer`, a `User-Agent`.
    had: [bool; 2],
    version: Version,
}

impl KeptRequest {
    /// A copy of what the log needs of `req`.
    pub fn of(req: &Request<'_>) -> KeptRequest {
        let parts = [
            Some(req.method().as_bytes()),
            Some(req.target().as_bytes()),
            req.header("referer"),
            req.header("user-agent"),
        ];
        let mut text = Vec::with_capacity(parts.iter().flatten().map(|p| p.len()).sum());
        let mut ends = [0; 4];
        for (end, part) in ends.iter_mut().zip(parts) {
            text.extend_from_slice(part.unwrap_or_default());
            *end = text.len();
        }
        KeptRequest {
            text: text.into_boxed_slice(),
            ends,
            had: [parts[2].is_some(), parts[3].is_some()],
            version: req.version(),
        }
    }

    fn part(&self, i: usize) -> &[u8] {
        let start = i.checked_sub(1).map_or(0, |before| self.ends[before]);
        &self.text[start..self.ends[i]]
    }

    fn field(&self, field: Field) -> Option<&[u8]> {
        let i = field as usize;
        self.had[i - 2].then(|| self.part(i))
    }
}

/// The request fields a line shows, numbered as [`KeptRequest`] keeps
/// them (after the method and the target).
#[derive(Clone, Copy, Debug)]
enum Field {
    Referer = 2,
    UserAgent = 3,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Referer => "referer",
            Field::UserAgent => "user-agent",
        }
    }
}

impl<'r> Logged<'r, '_> {
    /// Method, target and version, when the request is known.
    fn line(&self) -> Option<(&'r [u8], &'r [u8], &'static str)> {
        match *self {
            Logged::Parsed(req) => Some((
                req.method().as_bytes(),
                req.target().as_bytes(),
                version(req.version()),
            )),
            Logged::Kept(kept) => Some((kept.part(0), kept.part(1), version(kept.version))),
            Logged::Unknown => None,
        }
    }

    /// The request's `field`, if it had it.
    fn field(&self, field: Field) -> Option<&'r [u8]> {
        match *self {
            Logged::Parsed(req) => req.header(field.name()),
            Logged::Kept(kept) => kept.field(field),
            Logged::Unknown => None,
        }
    }
}

/// Where the lines go.
#[derive(Debug)]
enum Sink {
    Stderr,
    File { path: PathBuf, file: File },
}

/// The formatted time of the current batch.
#[derive(Debug, Default)]
struct Clock {
    /// Read for the batch under way.
    fresh: bool,
    second: Option<u64>,
    millis: u32,
    /// `01/Dec/2026:18:25:23 +0000`, or `2026-12-01T18:25:23` (RFC 3339
    /// without the fraction and the `Z`).
    text: String,
}

/// One loop's access log.
#[derive(Debug)]
pub struct AccessLog {
    format: AccessLogFormat,
    sink: Sink,
    buf: Vec<u8>,
    clock: Clock,
    /// The reopen request last acted on (see [`AccessLog::reopen_if`]).
    generation: u64,
    /// Writing failed, and that was logged: say it once, not per batch.
    failing: bool,
}

/// Opens `path` for appending, creating it if needed.
pub fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

impl AccessLog {
    /// A log in `format` to `path` (stderr without one).
    pub fn open(format: AccessLogFormat, path: Option<&Path>) -> io::Result<AccessLog> {
        let sink = match path {
            None => Sink::Stderr,
            Some(path) => Sink::File {
                path: path.to_path_buf(),
                file: open_append(path)?,
            },
        };
        Ok(AccessLog {
            format,
            sink,
            buf: Vec::with_capacity(FLUSH_AT),
            clock: Clock::default(),
            generation: 0,
            failing: false,
        })
    }

    /// Appends the line of `entry` to the batch.
    pub fn line(&mut self, entry: &Entry<'_, '_>) {
        self.clock.tick(self.format);
        // Writing into a Vec cannot fail.
        let _ = match self.format {
            AccessLogFormat::Default => default_line(&mut self.buf, &self.clock, entry),
            AccessLogFormat::Combined => combined_line(&mut self.buf, &self.clock, entry),
            AccessLogFormat::Json => json_line(&mut self.buf, &self.clock, entry),
        };
        if self.buf.len() >= FLUSH_AT {
            self.flush();
        }
    }

    /// Writes the batch out (once per wake-up of the loop).
    pub fn flush(&mut self) {
        self.clock.fresh = false;
        if self.buf.is_empty() {
            return;
        }
        let result = match &mut self.sink {
            Sink::Stderr => io::stderr().lock().write_all(&self.buf),
            Sink::File { file, .. } => file.write_all(&self.buf),
        };
        self.buf.clear();
        match result {
            Ok(()) => self.failing = false,
            Err(e) if !self.failing => {
                self.failing = true;
                log::error!("writing the access log: {e}; lines are being lost");
            }
            Err(_) => {}
        }
    }

    /// Flushes and reopens the file at its path when `generation` is a
    /// reopen request this log has not acted on yet (SIGUSR1).
    pub fn reopen_if(&mut self, generation: u64) {
        if generation == self.generation {
            return;
        }
        self.generation = generation;
        self.flush();
        if let Sink::File { path, file } = &mut self.sink {
            match open_append(path) {
                Ok(new) => {
                    *file = new;
                    log::info!("reopened the access log {}", path.display());
                }
                Err(e) => log::error!(
                    "reopening the access log {}: {e}; writing to the old file",
                    path.display()
                ),
            }
        }
    }
}

impl Drop for AccessLog {
    fn drop(&mut self) {
        self.flush();
    }
}

impl Clock {
    /// Reads the time for a new batch; formats it when the second changed.
    fn tick(&mut self, format: AccessLogFormat) {
        if self.fresh {
            return;
        }
        self.fresh = true;
        let now = SystemTime::now();
        let second = unix_seconds(now);
        self.millis = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_millis());
        if self.second == Some(second) {
            return;
        }
        self.second = Some(second);
        let t = Civil::from_unix(second);
        self.text.clear();
        use std::fmt::Write as _;
        // Writing into a String cannot fail.
        let _ = match format {
            AccessLogFormat::Combined => write!(
                self.text,
                "{:02}/{}/{}:{:02}:{:02}:{:02} +0000",
                t.day,
                t.month_name(),
                t.year,
                t.hour,
                t.minute,
                t.second
            ),
            AccessLogFormat::Default | AccessLogFormat::Json => write!(
                self.text,
                "{}-{:02}-{:02}T{:02}:{:02}:{:02}",
                t.year, t.month, t.day, t.hour, t.minute, t.second
            ),
        };
    }
}

fn version(version: Version) -> &'static str {
    match version {
        Version::Http10 => "HTTP/1.0",
        Version::Http11 => "HTTP/1.1",
    }
}

fn default_line(out: &mut Vec<u8>, clock: &Clock, e: &Entry<'_, '_>) -> io::Result<()> {
    write!(
        out,
        "{}.{:03}Z INFO  [{TARGET}] {} ",
        clock.text, clock.millis, e.peer
    )?;
    match e.req.line() {
        Some((method, target, version)) => {
            out.push(b'"');
            out.extend_from_slice(method);
            out.push(b' ');
            out.extend_from_slice(target);
            write!(out, " {version}\"")?;
        }
        None => out.extend_from_slice(b"\"-\""),
    }
    writeln!(
        out,
        " {} {} {}.{:03}ms",
        e.status.code(),
        e.body_bytes,
        e.micros / 1000,
        e.micros % 1000
    )
}

/// NCSA combined: `host - - [time] "request" status bytes "referer" "ua"`.
fn combined_line(out: &mut Vec<u8>, clock: &Clock, e: &Entry<'_, '_>) -> io::Result<()> {
    write!(out, "{} - - [{}] \"", e.peer.host(), clock.text)?;
    match e.req.line() {
        Some((method, target, version)) => {
            push_quoted(out, method);
            out.push(b' ');
            push_quoted(out, target);
            out.push(b' ');
            out.extend_from_slice(version.as_bytes());
        }
        None => out.push(b'-'),
    }
    write!(out, "\" {} {} \"", e.status.code(), e.body_bytes)?;
    let field = |field| e.req.field(field).filter(|v| !v.is_empty());
    push_quoted(out, field(Field::Referer).unwrap_or(b"-"));
    out.extend_from_slice(b"\" \"");
    push_quoted(out, field(Field::UserAgent).unwrap_or(b"-"));
    out.extend_from_slice(b"\"\n");
    Ok(())
}

/// Appends a field for inside double quotes: `"` and `\` escaped with a
/// backslash, bytes outside printable ASCII as `\xHH` (what nginx does).
fn push_quoted(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        match b {
            b'"' | b'\\' => out.extend_from_slice(&[b'\\', b]),
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ]),
        }
    }
}

fn json_line(out: &mut Vec<u8>, clock: &Clock, e: &Entry<'_, '_>) -> io::Result<()> {
    write!(
        out,
        "{{\"time\":\"{}Z\",\"remote\":\"{}\",\"method\":",
        clock.text,
        e.peer.host()
    )?;
    let field = |out: &mut Vec<u8>, value: Option<&[u8]>| match value {
        Some(v) => json::push_str(out, v),
        None => out.extend_from_slice(b"null"),
    };
    let line = e.req.line();
    field(out, line.map(|(method, _, _)| method));
    out.extend_from_slice(b",\"target\":");
    field(out, line.map(|(_, target, _)| target));
    out.extend_from_slice(b",\"version\":");
    field(out, line.map(|(_, _, version)| version.as_bytes()));
    write!(
        out,
        ",\"status\":{},\"bytes\":{},\"duration_ms\":{}.{:03},\"referer\":",
        e.status.code(),
        e.body_bytes,
        e.micros / 1000,
        e.micros % 1000
    )?;
    field(out, e.req.field(Field::Referer));
    out.extend_from_slice(b",\"user_agent\":");
    field(out, e.req.field(Field::UserAgent));
    out.extend_from_slice(b"}\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_escape_quotes_backslashes_and_controls() {
        let mut out = Vec::new();
        push_quoted(&mut out, b"a\"b\\c\x01\xff d");
        assert_eq!(out, b"a\\\"b\\\\c\\x01\\xFF d");
    }

    #[test]
    fn clock_formats_per_format() {
        let mut clock = Clock::default();
        clock.tick(AccessLogFormat::Combined);
        let text = clock.text.clone();
        assert_eq!(text.len(), "01/Dec/2026:18:25:23 +0000".len(), "{text}");
        assert!(text.ends_with(" +0000"));
        let mut clock = Clock::default();
        clock.tick(AccessLogFormat::Json);
        assert_eq!(clock.text.len(), "2026-12-01T18:25:23".len());
        assert_eq!(&clock.text[10..11], "T");
    }
}

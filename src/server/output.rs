//! The output side of a connection: encoded responses waiting to be written.
//!
//! Responses are appended to one buffer, so everything answered in one
//! wake-up (a whole pipelined batch) leaves in one `write`. A large body is
//! not copied into the buffer: it becomes the *tail*, written after the
//! buffered bytes with `writev`, and nothing more is appended until the tail
//! is gone (the connection stops parsing until then, which is also what
//! keeps the memory of a client that does not read bounded).
//!
//! A file that changes under a download: the body is read from the
//! descriptor opened for the request, so a file renamed over (how editors,
//! `rsync` and deploy tools replace files) keeps sending the old bytes to
//! the end. A file truncated in place has no old bytes left to send: the
//! `Content-Length` already promised cannot be kept, so the write fails,
//! the connection closes short of that length (the client can tell), and a
//! warning names the shortfall. Nothing is ever padded or taken from
//! elsewhere. (Bytes already handed to the kernel by `sendfile` are pages
//! of the file, not copies: a page that is zeroed by a truncation in its
//! middle, or rewritten in place, before it is transmitted goes out as it
//! is then, as with nginx. Replace files by renaming.)

use super::buffer::BufferPool;
use super::clock::Moment;
use super::sendfile::SendFile;
use crate::http::chunked::encode_chunk;
use crate::http::date::DateCache;
use crate::http::{
    Body, ConnectionHeader, FileBody, Generated, Response, StreamLength, INLINE_BODY_MAX,
};
use log::warn;
use std::io::{self, IoSlice};

/// The most bytes one `sendfile` is asked for; the socket takes what fits.
const SENDFILE_MAX: usize = 1 << 30;

/// A generated body is made this much at a time, as the socket takes it.
const GENERATED_PIECE: usize = 32 * 1024;

/// Past this many unsent bytes the connection stops reading and parsing
/// until the client has taken some: backpressure.
pub const HIGH_WATER: usize = 64 * 1024;

/// A body written after the buffered bytes, from where it lives.
#[derive(Debug)]
enum Tail {
    Static {
        bytes: &'static [u8],
        at: usize,
    },
    Owned {
        bytes: Vec<u8>,
        at: usize,
    },
    Shared {
        bytes: std::sync::Arc<[u8]>,
        at: usize,
    },
    File(FileBody),
    /// `made[at..]` is unsent; the body goes on from `next`.
    Generated {
        body: Generated,
        next: u64,
        made: Vec<u8>,
        at: usize,
    },
}

impl Tail {
    fn generated(body: Generated) -> Tail {
        let mut tail = Tail::Generated {
            body,
            next: 0,
            made: Vec::new(),
            at: 0,
        };
        tail.make_more();
        tail
    }

    /// Once a generated piece is all sent, makes the next one in its place.
    fn make_more(&mut self) {
        if let Tail::Generated {
            body,
            next,
            made,
            at,
        } = self
        {
            if *at < made.len() || *next >= body.len {
                return;
            }
            let n = usize::try_from(body.len - *next)
                .unwrap_or(usize::MAX)
                .min(GENERATED_PIECE);
            made.resize(n, 0);
            (body.fill)(body.key, *next, made);
            *next += n as u64;
            *at = 0;
        }
    }

    /// The bytes still to send, when they are in memory.
    fn rest(&self) -> &[u8] {
        match self {
            Tail::Static { bytes, at } => &bytes[*at..],
            Tail::Owned { bytes, at } => &bytes[*at..],
            Tail::Shared { bytes, at } => &bytes[*at..],
            Tail::Generated { made, at, .. } => &made[*at..],
            Tail::File(_) => &[],
        }
    }

    fn remaining(&self) -> usize {
        match self {
            Tail::File(file) => usize::try_from(file.len).unwrap_or(usize::MAX),
            Tail::Generated {
                body,
                next,
                made,
                at,
            } => {
                let unmade = usize::try_from(body.len - next).unwrap_or(usize::MAX);
                (made.len() - at).saturating_add(unmade)
            }
            _ => self.rest().len(),
        }
    }

    fn advance(&mut self, n: usize) {
        match self {
            Tail::Static { at, .. } | Tail::Owned { at, .. } | Tail::Shared { at, .. } => *at += n,
            Tail::File(file) => {
                file.offset += n as u64;
                file.len -= n as u64;
            }
            Tail::Generated { at, .. } => {
                *at += n;
                self.make_more();
            }
        }
    }
}

/// Unsent output: `buf[sent..]`, then the tail.
#[derive(Debug, Default)]
pub struct Output {
    /// The buffer lent by the pool; none (no capacity) while nothing is
    /// to be written.
    buf: Vec<u8>,
    sent: usize,
    /// Boxed, so that a connection without one stays small.
    tail: Option<Box<Tail>>,
    /// Responses queued and not yet timed: their start (the wake-up that
    /// completed their heads) and how many share it. They are timed when
    /// their last byte is handed to the kernel, with one clock read for
    /// them all.
    untimed: Option<(Moment, u32)>,
}

/// What one `write` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Written {
    /// Bytes written.
    pub bytes: usize,
    /// Whether that was all the bytes offered (if not, the socket is full).
    pub all: bool,
}

impl Output {
    /// Bytes not yet written.
    pub fn pending(&self) -> usize {
        let buffered = self.buf.len() - self.sent;
        buffered + self.tail.as_ref().map_or(0, |t| t.remaining())
    }

    /// Whether everything was written.
    pub fn is_empty(&self) -> bool {
        self.pending() == 0
    }

    /// Whether no more responses may be queued for now.
    pub fn is_blocked(&self) -> bool {
        self.tail.is_some() || self.pending() >= HIGH_WATER
    }

    #[inline]
    fn buf(&mut self, pool: &mut BufferPool) -> &mut Vec<u8> {
        if self.buf.capacity() == 0 {
            self.buf = pool.output();
        }
        &mut self.buf
    }

    /// Queues raw bytes (an interim `100 Continue`, the end of a chunked
    /// body, a piece of a body whose length was declared).
    pub fn push_bytes(&mut self, bytes: &[u8], pool: &mut BufferPool) {
        self.buf(pool).extend_from_slice(bytes);
    }

    /// Queues one piece of a chunked body, framed.
    pub fn push_chunk(&mut self, piece: &[u8], pool: &mut BufferPool) {
        encode_chunk(self.buf(pool), piece);
    }

    /// Queues the head of a streamed body; the body follows piece by piece.
    pub fn push_stream_head(
        &mut self,
        response: &Response,
        date: &DateCache,
        connection: ConnectionHeader,
        length: StreamLength,
        pool: &mut BufferPool,
    ) {
        response.encode_stream_head(self.buf(pool), date, connection, length);
    }

    /// Queues `response`, taking its body (a small static one is copied
    /// and left in place: it holds nothing); returns the body bytes that
    /// will go on the wire.
    #[inline]
    pub fn push_response(
        &mut self,
        response: &mut Response,
        head_only: bool,
        date: &DateCache,
        connection: ConnectionHeader,
        pool: &mut BufferPool,
    ) -> u64 {
        let wire_len = response.wire_body_len(head_only);
        let buf = self.buf(pool);
        let inline = match response.body() {
            Body::Static(bytes) if wire_len > 0 && bytes.len() <= INLINE_BODY_MAX => *bytes,
            _ => &[],
        };
        response.encode_head_then(buf, date, connection, inline);
        if !inline.is_empty() {
            // Sent; a static body holds nothing to free, so it is left
            // for the next reset.
            return wire_len;
        }
        let body = response.take_body();
        if wire_len == 0 {
            return 0;
        }
        match body {
            // A small one went inline above.
            Body::Static(bytes) => self.tail = Some(Box::new(Tail::Static { bytes, at: 0 })),
            Body::Bytes(bytes) if bytes.len() > INLINE_BODY_MAX => {
                self.tail = Some(Box::new(Tail::Owned { bytes, at: 0 }));
            }
            Body::Shared(bytes) if bytes.len() > INLINE_BODY_MAX => {
                self.tail = Some(Box::new(Tail::Shared { bytes, at: 0 }));
            }
            Body::Bytes(bytes) => buf.extend_from_slice(&bytes),
            Body::Shared(bytes) => buf.extend_from_slice(&bytes),
            Body::File(file) => self.tail = Some(Box::new(Tail::File(file))),
            Body::Generated(body) if wire_len > INLINE_BODY_MAX as u64 => {
                self.tail = Some(Box::new(Tail::generated(body)));
            }
            Body::Generated(body) => {
                let start = buf.len();
                buf.resize(start + wire_len as usize, 0);
                (body.fill)(body.key, 0, &mut buf[start..]);
            }
            Body::Empty => {}
        }
        wire_len
    }

    /// One `write` (`writev` for buffered bytes and an in-memory tail,
    /// `sendfile` for a file tail) of what is pending.
    pub fn write_to(&mut self, sink: &mut impl SendFile) -> io::Result<Written> {
        let buffered = &self.buf[self.sent..];
        let (n, offered) = match self.tail.as_deref() {
            Some(Tail::File(file)) if buffered.is_empty() => {
                let count = usize::try_from(file.len)
                    .unwrap_or(usize::MAX)
                    .min(SENDFILE_MAX);
                let sent = sink
                    .send_file(&file.file, file.offset, count)
                    .inspect_err(|e| warn_if_shrank(e, file))?;
                // A short count may mean a full socket or the end of a
                // file that shrank: say "all" so that the caller tries
                // again, and learns which from EAGAIN or the error. Waiting
                // for WRITABLE instead would wait forever in the second
                // case (no write hit EAGAIN, so no edge comes).
                (sent, sent)
            }
            Some(Tail::File(_)) => (sink.write_before_more(buffered)?, buffered.len()),
            None => (sink.write(buffered)?, buffered.len()),
            Some(tail) => {
                let rest = tail.rest();
                let slices = [IoSlice::new(buffered), IoSlice::new(rest)];
                (sink.write_vectored(&slices)?, buffered.len() + rest.len())
            }
        };
        let from_buf = n.min(buffered.len());
        self.sent += from_buf;
        if let Some(tail) = self.tail.as_mut() {
            tail.advance(n - from_buf);
        }
        Ok(Written {
            bytes: n,
            all: n == offered,
        })
    }

    /// Notes a response queued for a request complete at `started`. A
    /// response started in another wake-up than those noted before it
    /// hands them back, to be timed now (rare: it takes a socket that
    /// stayed full across wake-ups).
    pub fn note_response(&mut self, started: Moment) -> Option<(Moment, u32)> {
        match &mut self.untimed {
            Some((at, n)) if *at == started => {
                *n += 1;
                None
            }
            untimed => untimed.replace((started, 1)),
        }
    }

    /// Once everything is written: the responses to time now.
    pub fn take_untimed(&mut self) -> Option<(Moment, u32)> {
        if self.is_empty() {
            self.untimed.take()
        } else {
            None
        }
    }

    /// Once everything is written, gives the buffer back to the pool.
    #[inline]
    pub fn recycle(&mut self, pool: &mut BufferPool) {
        if self.buf.capacity() > 0 || self.tail.is_some() {
            self.release(pool);
        }
    }

    #[inline]
    fn release(&mut self, pool: &mut BufferPool) {
        if self.is_empty() {
            self.tail = None;
            self.sent = 0;
            pool.put_output(std::mem::take(&mut self.buf));
        }
    }
}

/// A file body that meets the end of its file early cannot be finished.
fn warn_if_shrank(e: &io::Error, file: &FileBody) {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        warn!(
            "a file shrank while being sent: {} bytes of the response missing at offset {}; closing the connection",
            file.len, file.offset
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Status;
    use std::io::Write;

    /// A sink that accepts at most `limit` bytes per write.
    struct Trickle {
        limit: usize,
        got: Vec<u8>,
    }

    impl SendFile for Trickle {}

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = buf.len().min(self.limit);
            self.got.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn response(body: Body) -> Response {
        let mut res = Response::new();
        res.set_status(Status::OK).set_body(body);
        res
    }

    #[test]
    fn large_bodies_become_the_tail_and_survive_partial_writes() {
        let mut pool = BufferPool::default();
        let mut out = Output::default();
        let big = vec![7u8; INLINE_BODY_MAX + 1];
        let mut res = response(Body::Bytes(big.clone()));
        let n = out.push_response(
            &mut res,
            false,
            &DateCache::new(),
            ConnectionHeader::Omit,
            &mut pool,
        );
        assert_eq!(n, big.len() as u64);
        assert!(out.is_blocked(), "nothing is queued behind a tail");
        let mut sink = Trickle {
            limit: 1000,
            got: Vec::new(),
        };
        while !out.is_empty() {
            out.write_to(&mut sink).unwrap();
        }
        assert!(sink.got.ends_with(&big));
        assert!(sink.got.starts_with(b"HTTP/1.1 200 OK\r\n"));
        out.recycle(&mut pool);
        assert!(!out.is_blocked());
    }

    /// The portable `pread` + `write` path (what macOS and the BSDs use):
    /// the head goes first, then exactly the asked-for part of the file,
    /// however little the socket takes per write.
    #[test]
    fn a_file_tail_goes_after_its_head_in_pieces() {
        let path = std::env::temp_dir().join(format!("coffeeweb-tail-{}", std::process::id()));
        let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &content).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let (offset, len) = (1234, 150_000);
        let mut res = response(Body::File(FileBody { file, offset, len }));
        let mut pool = BufferPool::default();
        let mut out = Output::default();
        let date = DateCache::new();
        out.push_response(&mut res, false, &date, ConnectionHeader::Omit, &mut pool);
        assert!(out.is_blocked(), "nothing is queued behind a file");
        let mut sink = Trickle {
            limit: 7000,
            got: Vec::new(),
        };
        while !out.is_empty() {
            out.write_to(&mut sink).unwrap();
        }
        let head_len = sink.got.len() - len as usize;
        assert!(sink.got[..head_len].ends_with(b"Content-Length: 150000\r\n\r\n"));
        assert!(sink.got[head_len..] == content[1234..1234 + 150_000]);
    }

    /// The portable path when the file is truncated under the download: the
    /// bytes sent are a prefix of the old file, then an error (never
    /// padding, never a loop that makes no progress).
    #[test]
    fn a_file_truncated_under_a_tail_ends_it_with_an_error() {
        let path = std::env::temp_dir().join(format!("coffeeweb-shrink-{}", std::process::id()));
        let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &content).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let writer = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let len = content.len() as u64;
        let mut res = response(Body::File(FileBody {
            file,
            offset: 0,
            len,
        }));
        let mut pool = BufferPool::default();
        let mut out = Output::default();
        let date = DateCache::new();
        out.push_response(&mut res, false, &date, ConnectionHeader::Omit, &mut pool);
        let mut sink = Trickle {
            limit: 7000,
            got: Vec::new(),
        };
        for _ in 0..4 {
            out.write_to(&mut sink).unwrap();
        }
        writer.set_len(50_000).unwrap();
        let error = loop {
            match out.write_to(&mut sink) {
                Ok(w) => assert!(w.bytes > 0, "a write that makes no progress"),
                Err(e) => break e,
            }
        };
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
        let head_len = sink.got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let body = &sink.got[head_len..];
        assert_eq!(body.len(), 50_000);
        assert!(body == &content[..50_000], "bytes that are not the file's");
        assert_eq!(out.pending() as u64, len - 50_000);
    }

    /// A stand-in generator: byte i of key k is (i * k) mod 256.
    fn multiples(key: u64, offset: u64, out: &mut [u8]) {
        for (i, b) in out.iter_mut().enumerate() {
            *b = ((offset + i as u64).wrapping_mul(key) % 256) as u8;
        }
    }

    /// The output of one generated body of `len` bytes, queued.
    fn generated(len: u64, key: u64) -> Output {
        let body = Generated {
            len,
            key,
            fill: multiples,
        };
        let mut res = response(Body::Generated(body));
        let mut out = Output::default();
        let date = DateCache::new();
        let mut pool = BufferPool::default();
        out.push_response(&mut res, false, &date, ConnectionHeader::Omit, &mut pool);
        out
    }

    /// Writes `out` into a sink taking `limit` bytes a write; returns the
    /// last `len` bytes and checks each generated body made ahead of the
    /// socket is at most one piece.
    fn drain_body(out: &mut Output, limit: usize, len: u64) -> Vec<u8> {
        let mut sink = Trickle {
            limit,
            got: Vec::new(),
        };
        while !out.is_empty() {
            if let Some(Tail::Generated { made, .. }) = out.tail.as_deref() {
                assert!(made.capacity() <= GENERATED_PIECE);
            }
            out.write_to(&mut sink).unwrap();
        }
        sink.got.split_off(sink.got.len() - len as usize)
    }

    #[test]
    fn a_generated_tail_is_made_piece_by_piece_as_it_is_sent() {
        let len = 3 * GENERATED_PIECE as u64 + 123;
        let mut out = generated(len, 7);
        assert!(out.is_blocked());
        assert!(out.pending() as u64 > len);
        let mut want = vec![0; len as usize];
        multiples(7, 0, &mut want);
        assert!(drain_body(&mut out, 10_000, len) == want);
    }

    #[test]
    fn a_small_generated_body_goes_inline() {
        let mut out = generated(13, 3);
        assert!(out.tail.is_none());
        let mut want = vec![0; 13];
        multiples(3, 0, &mut want);
        assert_eq!(drain_body(&mut out, usize::MAX, 13), want);
    }

    /// A small static body is kept with the head it went after: it is
    /// copied with it only when it is the same body again, and never for
    /// HEAD.
    #[test]
    fn a_kept_head_goes_with_its_own_body_only() {
        let mut pool = BufferPool::default();
        let mut out = Output::default();
        let date = DateCache::new();
        let mut res = Response::new();
        let steps: [(&'static [u8], bool); 5] = [
            (b"hello", false),
            (b"hello", false),
            (b"world", false),
            (b"world", true),
            (b"hello", false),
        ];
        for (body, head_only) in steps {
            res.reset();
            res.set_body(Body::Static(body));
            out.push_response(
                &mut res,
                head_only,
                &date,
                ConnectionHeader::Omit,
                &mut pool,
            );
            let mut sink = Trickle {
                limit: usize::MAX,
                got: Vec::new(),
            };
            out.write_to(&mut sink).unwrap();
            let sent = String::from_utf8(sink.got).unwrap();
            let want = match head_only {
                true => "Content-Length: 5\r\n\r\n".to_string(),
                false => format!("\r\n\r\n{}", std::str::from_utf8(body).unwrap()),
            };
            assert!(sent.ends_with(&want), "{sent:?}");
            assert_eq!(sent.matches("HTTP/1.1").count(), 1, "{sent:?}");
            out.recycle(&mut pool);
        }
    }

    #[test]
    fn head_only_sends_no_body() {
        let mut pool = BufferPool::default();
        let mut out = Output::default();
        let mut res = response(Body::Static(b"hello"));
        assert_eq!(
            out.push_response(
                &mut res,
                true,
                &DateCache::new(),
                ConnectionHeader::Omit,
                &mut pool
            ),
            0
        );
        let mut sink = Trickle {
            limit: usize::MAX,
            got: Vec::new(),
        };
        let written = out.write_to(&mut sink).unwrap();
        assert!(written.all);
        assert!(sink.got.ends_with(b"Content-Length: 5\r\n\r\n"));
    }
}

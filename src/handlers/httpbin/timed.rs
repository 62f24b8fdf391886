//! The test endpoints that take time: `delay`, `drip`, `sse` and
//! `stream-bytes`.
//!
//! None of them holds a thread. A delay is a timer of the loop
//! (`Response::answer_after`); a drip, an event stream and streamed bytes
//! are [`Producer`]s, asked for their next piece on the loop when the
//! connection has room, which say how long to wait before the next one
//! (`Produced::After`). So 10,000 delayed requests cost 10,000 timer
//! entries, and a client that reads slowly holds its producer back.

use super::bytes;
use super::params::{self, BadParam};
use crate::http::date::{rfc3339, unix_seconds};
use crate::http::late::{Piece, Produced, Producer};
use crate::http::{Request, Response, Status};
use std::time::{Duration, SystemTime};

/// The longest delay, drip or event interval.
const MAX_WAIT: Duration = Duration::from_secs(60);
/// The most bytes a drip sends.
pub const MAX_DRIP: u64 = 10 * 1024 * 1024;
/// The shortest time between two events of `sse`.
const MIN_INTERVAL: Duration = Duration::from_millis(10);
/// The default and largest piece of `stream-bytes`.
const DEFAULT_CHUNK: u64 = 10_240;
const MAX_CHUNK: u64 = 1024 * 1024;

fn query_duration(
    req: &Request<'_>,
    name: &'static str,
    default: Duration,
) -> Result<Duration, BadParam> {
    match params::query_value(req.query(), name) {
        Some(text) => params::duration(name, text, MAX_WAIT),
        None => Ok(default),
    }
}

fn query_number(
    req: &Request<'_>,
    name: &'static str,
    default: u64,
    max: u64,
    expected: &'static str,
) -> Result<u64, BadParam> {
    match params::query_value(req.query(), name) {
        Some(text) => params::number(name, text, max, expected),
        None => Ok(default),
    }
}

/// `delay/D[?jitter=J]`: the answer of `anything`, after D (or a delay
/// drawn uniformly from [max(0, D−J), D+J]), counted from the head.
pub fn delay(
    d: &str,
    req: &Request<'_>,
    res: &mut Response,
    unit: f64,
    body: Vec<u8>,
) -> Result<(), BadParam> {
    let delay = params::duration("D", d, MAX_WAIT)?;
    let jitter = query_duration(req, "jitter", Duration::ZERO)?;
    let low = delay.saturating_sub(jitter);
    let wait = low + (delay + jitter - low).mul_f64(unit);
    res.answer_after(wait, move |res| {
        res.header("Content-Type", "application/json")
            .set_body(body);
    });
    Ok(())
}

/// `drip?numbytes=N&duration=D&delay=W&code=C`: status C after W, then N
/// bytes of `*` spread evenly over D, with `Content-Length: N`.
pub fn drip(req: &Request<'_>, res: &mut Response) -> Result<(), BadParam> {
    let len = query_number(
        req,
        "numbytes",
        10,
        MAX_DRIP,
        "a number of bytes from 0 to 10485760",
    )?;
    let over = query_duration(req, "duration", Duration::from_secs(2))?;
    let wait = query_duration(req, "delay", Duration::ZERO)?;
    let code = query_number(req, "code", 200, 599, "a status code from 200 to 599")?;
    let status = u16::try_from(code)
        .ok()
        .filter(|c| *c >= 200)
        .and_then(Status::from_code)
        .ok_or(BadParam {
            name: "code",
            expected: "a status code from 200 to 599",
        })?;
    // Pieces at most every 10 ms: even for 10 MiB over 60 s, 6,000 pieces.
    let steps = len.min((over.as_millis() / 10).max(1) as u64).max(1);
    let drip = Drip {
        left: len,
        steps_left: steps,
        interval: over / steps as u32,
        due: over.is_zero(),
    };
    res.answer_after(wait, move |res| {
        res.set_status(status)
            .header("Content-Type", "application/octet-stream")
            .stream_length(len)
            .stream_with(drip);
    });
    Ok(())
}

/// N bytes of `*` in `steps` pieces, one per interval.
struct Drip {
    left: u64,
    steps_left: u64,
    interval: Duration,
    /// The interval has passed: the next piece is due.
    due: bool,
}

impl Producer for Drip {
    fn produce(&mut self) -> Produced {
        if self.left == 0 {
            return Produced::End;
        }
        if !self.due {
            self.due = true;
            return Produced::After(self.interval);
        }
        self.due = self.interval.is_zero();
        let piece = self.left.div_ceil(self.steps_left.max(1));
        self.left -= piece;
        self.steps_left = self.steps_left.saturating_sub(1);
        Produced::Piece(Piece::from(vec![b'*'; piece as usize]))
    }
}

/// `sse?count=N&interval=D`: N events (0: until the client leaves), one
/// every D, each `id: I` and `data: {"id": I, "time": "…"}`.
pub fn sse(req: &Request<'_>, res: &mut Response) -> Result<(), BadParam> {
    let count = query_number(req, "count", 10, u64::MAX, "a number of events (0: no end)")?;
    let interval = query_duration(req, "interval", Duration::from_secs(1))?;
    if interval < MIN_INTERVAL {
        return Err(BadParam {
            name: "interval",
            expected: "a duration of at least 10ms",
        });
    }
    res.header("Content-Type", "text/event-stream")
        .header("Cache-Control", "no-cache")
        .stream_with(Events {
            next: 1,
            count,
            interval,
            due: true,
        });
    Ok(())
}

/// Numbered events, one per interval.
struct Events {
    next: u64,
    /// 0: no end.
    count: u64,
    interval: Duration,
    due: bool,
}

impl Producer for Events {
    fn produce(&mut self) -> Produced {
        if self.count != 0 && self.next > self.count {
            return Produced::End;
        }
        if !self.due {
            self.due = true;
            return Produced::After(self.interval);
        }
        self.due = false;
        let time = rfc3339(unix_seconds(SystemTime::now()));
        let time = std::str::from_utf8(&time).unwrap_or("");
        let id = self.next;
        self.next += 1;
        let event = format!("id: {id}\ndata: {{\"id\": {id}, \"time\": \"{time}\"}}\n\n");
        Produced::Piece(Piece::from(event.into_bytes()))
    }
}

/// `stream-bytes/N[?seed=S&chunk_size=K]`: the bytes of `bytes/N` with
/// that seed, streamed in pieces of K (chunked for HTTP/1.1).
pub fn stream_bytes(n: &str, req: &Request<'_>, res: &mut Response) -> Result<(), BadParam> {
    let len = params::number(
        "N",
        n,
        bytes::MAX_LEN,
        "a number of bytes from 0 to 104857600",
    )?;
    let seed = query_number(req, "seed", 0, u64::MAX, "a whole number from 0 to 2^64-1")?;
    let chunk = query_number(
        req,
        "chunk_size",
        DEFAULT_CHUNK,
        MAX_CHUNK,
        "a size from 1 to 1048576",
    )?;
    if chunk == 0 {
        return Err(BadParam {
            name: "chunk_size",
            expected: "a size from 1 to 1048576",
        });
    }
    res.header("Content-Type", "application/octet-stream")
        .stream_with(Bytes {
            seed,
            at: 0,
            len,
            chunk,
        });
    Ok(())
}

/// `len` generated bytes, `chunk` at a time, as fast as the client reads.
struct Bytes {
    seed: u64,
    at: u64,
    len: u64,
    chunk: u64,
}

impl Producer for Bytes {
    fn produce(&mut self) -> Produced {
        if self.at == self.len {
            return Produced::End;
        }
        let n = self.chunk.min(self.len - self.at);
        let mut piece = vec![0u8; n as usize];
        bytes::fill(self.seed, self.at, &mut piece);
        self.at += n;
        Produced::Piece(Piece::from(piece))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(producer: &mut dyn Producer) -> (Vec<u8>, u32) {
        let (mut all, mut waits) = (Vec::new(), 0);
        loop {
            match producer.produce() {
                Produced::Piece(piece) => all.extend_from_slice(&piece),
                Produced::After(_) => waits += 1,
                Produced::End => return (all, waits),
                Produced::Fail => panic!("failed"),
            }
        }
    }

    #[test]
    fn a_drip_sends_exactly_its_bytes_in_even_steps() {
        for (len, steps) in [(10, 10), (10_000, 200), (7, 3)] {
            let mut drip = Drip {
                left: len,
                steps_left: steps,
                interval: Duration::from_millis(10),
                due: false,
            };
            let (bytes, waits) = drain(&mut drip);
            assert_eq!(bytes.len() as u64, len);
            assert!(bytes.iter().all(|b| *b == b'*'));
            assert_eq!(u64::from(waits), steps.min(len));
        }
    }

    #[test]
    fn events_are_numbered_and_end_at_the_count() {
        let mut events = Events {
            next: 1,
            count: 3,
            interval: Duration::from_millis(10),
            due: true,
        };
        let (text, waits) = drain(&mut events);
        let text = String::from_utf8(text).unwrap();
        assert_eq!(text.matches("\n\n").count(), 3);
        assert!(text.starts_with("id: 1\ndata: {\"id\": 1, \"time\": \"20"));
        assert!(text.contains("id: 3\n"));
        assert_eq!(waits, 2);
    }

    #[test]
    fn streamed_bytes_are_the_bytes_of_bytes() {
        let mut streamed = Bytes {
            seed: 9,
            at: 0,
            len: 100_003,
            chunk: 4096,
        };
        let (got, _) = drain(&mut streamed);
        let mut want = vec![0u8; 100_003];
        bytes::fill(9, 0, &mut want);
        assert!(got == want);
    }
}

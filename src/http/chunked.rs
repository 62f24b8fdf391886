//! Decoding `Transfer-Encoding: chunked` in place (RFC 9112 §7.1).
//!
//! The decoder works inside the connection's input buffer: chunk data is
//! moved down over the framing that preceded it, so the decoded body ends up
//! contiguous right after the head, and no second buffer is needed. The
//! caller then cuts the consumed framing out of the buffer, which keeps it
//! bounded by the decoded body plus one incomplete line.
//!
//! Framing lines are where smuggling hides (CVE-2025-55315 and friends), so
//! there is no leniency here: a size is 1*HEXDIG with no sign, no `0x` and no
//! overflow; a size line and the end of chunk data take exactly CRLF (a bare
//! LF is a 400, unlike in the head); extensions and trailers are bounded by
//! the header limits; the decoded size is bounded by `--max-body-bytes`.

use super::parse::{is_field_value_byte, scan_field_line};
use super::RequestError;

/// The bounds a chunked body must stay within.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkedLimits {
    /// Most decoded bytes (`--max-body-bytes`).
    pub max_body: u64,
    /// Longest size line, and most bytes of trailer fields
    /// (`--max-header-bytes`).
    pub max_line: usize,
    /// Most trailer fields (`--max-headers`).
    pub max_trailers: usize,
}

/// Where the decoder is in the chunked grammar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// In a chunk-size line; `scanned` bytes of it were searched for LF.
    SizeLine { scanned: usize },
    /// Inside chunk data.
    Data { remaining: u64 },
    /// Right after chunk data, where CRLF must follow.
    DataEnd,
    /// In the trailer section, at a field line or the final CRLF.
    TrailerLine { scanned: usize },
    /// The last chunk and trailers are complete.
    Done,
}

/// An incremental, in-place chunked decoder for one body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkedDecoder {
    state: State,
    decoded: usize,
    trailer_bytes: usize,
    trailers: usize,
    limits: ChunkedLimits,
}

/// The result of one [`ChunkedDecoder::decode`] call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// Framing bytes consumed this call, which sit right after the decoded
    /// body (`buf[decoded..decoded + removed]`) and must be cut out by the
    /// caller before the next call.
    pub removed: usize,
    /// Whether the whole body has been decoded.
    pub done: bool,
}

/// A complete line: its length with CRLF, and where its content ends.
enum Line {
    Complete { len: usize, content_end: usize },
    Partial { scanned: usize },
}

impl ChunkedDecoder {
    /// A decoder at the start of a chunked body.
    pub fn new(limits: ChunkedLimits) -> ChunkedDecoder {
        ChunkedDecoder {
            state: State::SizeLine { scanned: 0 },
            decoded: 0,
            trailer_bytes: 0,
            trailers: 0,
            limits,
        }
    }

    /// How many decoded body bytes sit at the start of the buffer.
    pub fn decoded_len(&self) -> usize {
        self.decoded
    }

    /// Decodes what it can of `buf`, where `buf[..decoded_len()]` is the
    /// body decoded so far and the rest is raw input not yet consumed.
    pub fn decode(&mut self, buf: &mut [u8]) -> Result<Decoded, RequestError> {
        // Chunk data is written at `self.decoded`, which the size check of
        // every chunk line must see up to date.
        let mut read = self.decoded;
        loop {
            let step = match self.state {
                State::SizeLine { scanned } => self.size_line(buf, read, scanned)?,
                State::Data { remaining } => {
                    let n = remaining.min((buf.len() - read) as u64) as usize;
                    buf.copy_within(read..read + n, self.decoded);
                    self.decoded += n;
                    self.state = match remaining - n as u64 {
                        0 => State::DataEnd,
                        left => State::Data { remaining: left },
                    };
                    n
                }
                State::DataEnd => self.data_end(&buf[read..])?,
                State::TrailerLine { scanned } => self.trailer_line(buf, read, scanned)?,
                State::Done => 0,
            };
            if step == 0 {
                break;
            }
            read += step;
        }
        Ok(Decoded {
            removed: read - self.decoded,
            done: self.state == State::Done,
        })
    }

    fn size_line(&mut self, buf: &[u8], at: usize, scanned: usize) -> Result<usize, RequestError> {
        match take_line(&buf[at..], scanned, self.limits.max_line)? {
            Line::Partial { scanned } => {
                self.state = State::SizeLine { scanned };
                Ok(0)
            }
            Line::Complete { len, content_end } => {
                let size = parse_size_line(&buf[at..at + content_end])?;
                if size > self.limits.max_body - self.decoded as u64 {
                    return Err(RequestError::ContentTooLarge);
                }
                self.state = match size {
                    0 => State::TrailerLine { scanned: 0 },
                    size => State::Data { remaining: size },
                };
                Ok(len)
            }
        }
    }

    fn data_end(&mut self, raw: &[u8]) -> Result<usize, RequestError> {
        match raw {
            [b'\r', b'\n', ..] => {
                self.state = State::SizeLine { scanned: 0 };
                Ok(2)
            }
            [] | [b'\r'] => Ok(0),
            _ => Err(RequestError::BadRequest("chunk data not followed by CRLF")),
        }
    }

    fn trailer_line(
        &mut self,
        buf: &[u8],
        at: usize,
        scanned: usize,
    ) -> Result<usize, RequestError> {
        let room = self.limits.max_line - self.trailer_bytes;
        match take_line(&buf[at..], scanned, room)? {
            Line::Partial { scanned } => {
                self.state = State::TrailerLine { scanned };
                Ok(0)
            }
            Line::Complete { len: 2, .. } => {
                self.state = State::Done;
                Ok(2)
            }
            Line::Complete { len, .. } => {
                self.trailers += 1;
                self.trailer_bytes += len;
                if self.trailers > self.limits.max_trailers {
                    return Err(RequestError::HeaderFieldsTooLarge);
                }
                // take_line checked the CRLF, so the line is complete.
                if scan_field_line(&buf[at..at + len], 0)?.is_none() {
                    return Err(RequestError::BadRequest("invalid trailer field"));
                }
                self.state = State::TrailerLine { scanned: 0 };
                Ok(len)
            }
        }
    }
}

/// Finds a CRLF-terminated line at the start of `raw`, searching from
/// `scanned`. A line longer than `max` (CRLF included) is a 431; an LF
/// without its CR, or a CR elsewhere, a 400.
fn take_line(raw: &[u8], scanned: usize, max: usize) -> Result<Line, RequestError> {
    let Some(offset) = raw[scanned..].iter().position(|&b| b == b'\n') else {
        // `max` bytes and no LF yet: the line will be longer than `max`.
        if raw.len() >= max {
            return Err(RequestError::HeaderFieldsTooLarge);
        }
        return Ok(Line::Partial { scanned: raw.len() });
    };
    let lf = scanned + offset;
    if lf + 1 > max {
        return Err(RequestError::HeaderFieldsTooLarge);
    }
    if lf == 0 || raw[lf - 1] != b'\r' {
        return Err(RequestError::BadRequest("bare LF in chunked framing"));
    }
    if raw[..lf - 1].contains(&b'\r') {
        return Err(RequestError::BadRequest("bare CR in chunked framing"));
    }
    Ok(Line::Complete {
        len: lf + 1,
        content_end: lf - 1,
    })
}

/// `chunk-size [ chunk-ext ]`: hex digits, then nothing or extensions
/// that start (after optional whitespace) with `;`.
fn parse_size_line(line: &[u8]) -> Result<u64, RequestError> {
    const INVALID: RequestError = RequestError::BadRequest("invalid chunk size");
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(INVALID);
    }
    let mut size: u64 = 0;
    for &digit in &line[..digits] {
        let value = (digit as char).to_digit(16).ok_or(INVALID)?;
        size = size
            .checked_mul(16)
            .and_then(|s| s.checked_add(u64::from(value)))
            .ok_or(RequestError::ContentTooLarge)?;
    }
    let after_size = &line[digits..];
    let bws = after_size
        .iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    let extension = &after_size[bws..];
    let well_formed = match extension {
        [] => line.len() == digits,
        [b';', rest @ ..] => rest.iter().all(|&b| is_field_value_byte(b)),
        _ => false,
    };
    if !well_formed {
        return Err(RequestError::BadRequest("invalid chunk extension"));
    }
    Ok(size)
}

/// The last chunk and an empty trailer section: the end of a chunked body.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// Appends `data` as one chunk (size line, data, CRLF). Empty data would
/// end the body, so it appends nothing.
pub fn encode_chunk(out: &mut Vec<u8>, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let mut digits = [0u8; 16];
    let mut at = digits.len();
    let mut n = data.len();
    while n > 0 {
        at -= 1;
        digits[at] = b"0123456789abcdef"[n % 16];
        n /= 16;
    }
    out.extend_from_slice(&digits[at..]);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_chunks_decode_back() {
        let mut wire = Vec::new();
        for piece in [&b"hello"[..], b"", &[7u8; 300][..]] {
            encode_chunk(&mut wire, piece);
        }
        wire.extend_from_slice(LAST_CHUNK);
        assert!(wire.starts_with(b"5\r\nhello\r\n12c\r\n"));
        let mut decoder = ChunkedDecoder::new(ChunkedLimits {
            max_body: 1 << 20,
            max_line: 100,
            max_trailers: 10,
        });
        let done = decoder.decode(&mut wire).unwrap();
        assert!(done.done);
        assert_eq!(decoder.decoded_len(), 305);
    }

    const LIMITS: ChunkedLimits = ChunkedLimits {
        max_body: 64,
        max_line: 32,
        max_trailers: 2,
    };

    /// Feeds `input` in pieces of `step` bytes as the connection does:
    /// append, decode, cut out the consumed framing. Returns the decoded
    /// body, whether it is complete, and the raw bytes left after it.
    fn feed(
        limits: ChunkedLimits,
        input: &[u8],
        step: usize,
    ) -> Result<(Vec<u8>, bool, Vec<u8>), RequestError> {
        let mut decoder = ChunkedDecoder::new(limits);
        let mut buf = Vec::new();
        let mut done = false;
        for piece in input.chunks(step.max(1)) {
            buf.extend_from_slice(piece);
            let decoded = decoder.decode(&mut buf)?;
            let at = decoder.decoded_len();
            buf.drain(at..at + decoded.removed);
            if decoded.done {
                done = true;
                break;
            }
        }
        let body = buf[..decoder.decoded_len()].to_vec();
        let rest = buf[decoder.decoded_len()..].to_vec();
        Ok((body, done, rest))
    }

    fn whole(input: &[u8]) -> Result<(Vec<u8>, bool, Vec<u8>), RequestError> {
        feed(LIMITS, input, input.len())
    }

    #[test]
    fn decodes_at_any_split() {
        let input = b"3\r\nabc\r\nA;ext=1\r\n0123456789\r\n0\r\nX-T: v\r\n\r\nNEXT";
        for step in 1..=input.len() {
            let (body, done, rest) = feed(LIMITS, input, step).unwrap();
            if step == input.len() {
                assert_eq!(rest, b"NEXT", "the next request is left alone");
            }
            assert!(done, "step {step}");
            assert_eq!(body, b"abc0123456789", "step {step}");
        }
    }

    #[test]
    fn an_incomplete_body_is_not_done() {
        for input in [
            &b"3\r\nab"[..],
            b"3\r\nabc",
            b"3\r\nabc\r",
            b"3\r\nabc\r\n0\r\n",
            b"3",
        ] {
            let (_, done, _) = whole(input).unwrap();
            assert!(!done, "{input:?}");
        }
        let (body, _, _) = whole(b"3\r\nab").unwrap();
        assert_eq!(body, b"ab", "data is decoded as it comes");
    }

    #[test]
    fn removed_counts_exactly_the_framing() {
        let mut decoder = ChunkedDecoder::new(LIMITS);
        let mut buf = b"2\r\nhi\r\n0\r\n\r\n".to_vec();
        let decoded = decoder.decode(&mut buf).unwrap();
        assert!(decoded.done);
        assert_eq!(decoder.decoded_len(), 2);
        assert_eq!(decoded.removed, buf.len() - 2);
        assert_eq!(&buf[..2], b"hi");
    }

    #[test]
    fn sizes_are_hex_without_sign_prefix_or_overflow() {
        assert_eq!(parse_size_line(b"1f"), Ok(31));
        assert_eq!(parse_size_line(b"1F"), Ok(31));
        assert_eq!(parse_size_line(b"0010"), Ok(16));
        assert_eq!(parse_size_line(b"ffffffffffffffff"), Ok(u64::MAX));
        assert_eq!(
            parse_size_line(b"10000000000000000"),
            Err(RequestError::ContentTooLarge)
        );
        for bad in [
            &b""[..],
            b"+1",
            b"-1",
            b"0x1",
            b" 1",
            b"g",
            b"1 2",
            b"1;\x01",
            b"1 x",
        ] {
            assert!(
                matches!(parse_size_line(bad), Err(RequestError::BadRequest(_))),
                "{bad:?}"
            );
        }
        assert_eq!(parse_size_line(b"a ;name=value"), Ok(10));
        assert_eq!(parse_size_line(b"a\t;x"), Ok(10));
        assert_eq!(parse_size_line(b"a;"), Ok(10));
    }

    #[test]
    fn framing_takes_exactly_crlf() {
        for bad in [
            &b"3\nabc\r\n0\r\n\r\n"[..],
            b"3\r\nabc\n0\r\n\r\n",
            b"3\r\nabcX\r\n",
            b"3\r\nabc\r\n0\r\n\n",
            b"3\r\r\nabc\r\n",
            b"\n",
        ] {
            assert!(
                matches!(whole(bad), Err(RequestError::BadRequest(_))),
                "{bad:?}: {:?}",
                whole(bad)
            );
        }
    }

    #[test]
    fn the_body_limit_is_inclusive() {
        let exact = [b"40\r\n".as_slice(), &[b'x'; 64], b"\r\n0\r\n\r\n"].concat();
        assert_eq!(whole(&exact).unwrap().0.len(), 64);
        let over = [b"20\r\n".as_slice(), &[b'x'; 32], b"\r\n21\r\n"].concat();
        assert_eq!(whole(&over), Err(RequestError::ContentTooLarge));
        assert_eq!(whole(b"41\r\n"), Err(RequestError::ContentTooLarge));
    }

    #[test]
    fn size_lines_and_trailers_are_bounded() {
        // A size line of exactly max_line bytes (CRLF included) passes.
        let line = format!("1;{}\r\n", "e".repeat(LIMITS.max_line - 4));
        assert_eq!(line.len(), LIMITS.max_line);
        let ok = format!("{line}x\r\n0\r\n\r\n");
        assert!(whole(ok.as_bytes()).unwrap().1);
        let long = format!("1;{}\r\nx\r\n0\r\n\r\n", "e".repeat(LIMITS.max_line - 3));
        assert_eq!(
            whole(long.as_bytes()),
            Err(RequestError::HeaderFieldsTooLarge)
        );
        // Refused as soon as it is certain: max_line bytes and no LF.
        let endless = format!("1;{}", "e".repeat(LIMITS.max_line - 2));
        assert_eq!(
            whole(endless.as_bytes()),
            Err(RequestError::HeaderFieldsTooLarge)
        );
        let shorter = format!("1;{}\r", "e".repeat(LIMITS.max_line - 4));
        assert!(
            !whole(shorter.as_bytes()).unwrap().1,
            "may still end in time"
        );
        // Two trailer fields pass, a third does not.
        assert!(whole(b"0\r\nA: 1\r\nB: 2\r\n\r\n").unwrap().1);
        assert_eq!(
            whole(b"0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"),
            Err(RequestError::HeaderFieldsTooLarge)
        );
        // Trailer bytes count together against max_line.
        let big = format!(
            "0\r\nA: {}\r\nB: {}\r\n\r\n",
            "a".repeat(12),
            "b".repeat(12)
        );
        assert_eq!(
            whole(big.as_bytes()),
            Err(RequestError::HeaderFieldsTooLarge)
        );
        assert!(matches!(
            whole(b"0\r\nno colon\r\n\r\n"),
            Err(RequestError::BadRequest(_))
        ));
    }
}

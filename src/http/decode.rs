//! One decoder for a request body, whatever its framing.
//!
//! A body is delimited by `Content-Length` or by chunked coding (RFC 9112
//! §6.3); a request without either has no body and gets no decoder. The two
//! kinds share one interface, so the connection holds one value that cannot
//! be in an impossible combination (a length *and* a chunked decoder).
//!
//! Decoding works in place, in the bytes received after the head: the
//! decoded body is kept contiguous at their start, and the framing bytes the
//! decoder consumed (chunk-size lines, CRLFs) are reported so the caller can
//! cut them out of its buffer before the next call. Call it again as more
//! bytes arrive, split anywhere.

use super::chunked::{ChunkedDecoder, ChunkedLimits};
use super::framing::BodyFraming;
use super::RequestError;

/// The decoder of one request body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyDecoder {
    /// `Content-Length`: exactly `len` bytes follow the head.
    Length {
        /// The declared length (bounded by `--max-body-bytes`).
        len: usize,
    },
    /// `Transfer-Encoding: chunked`.
    Chunked(ChunkedDecoder),
}

/// What one [`BodyDecoder::decode`] call found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyProgress {
    /// Body bytes decoded so far, at the start of the buffer.
    pub decoded: usize,
    /// Framing bytes consumed by this call, right after the decoded bytes
    /// (`buf[decoded..decoded + cut]`): the caller removes them.
    pub cut: usize,
    /// Whether the body is complete.
    pub complete: bool,
}

impl BodyDecoder {
    /// The decoder for `framing`, or `None` for a request without a body.
    pub fn new(framing: BodyFraming, limits: ChunkedLimits) -> Option<BodyDecoder> {
        match framing {
            BodyFraming::None => None,
            // Framing refused lengths over `max_body`, which fits in memory.
            BodyFraming::Length(len) => Some(BodyDecoder::Length {
                len: usize::try_from(len).unwrap_or(usize::MAX),
            }),
            BodyFraming::Chunked => Some(BodyDecoder::Chunked(ChunkedDecoder::new(limits))),
        }
    }

    /// Decodes what it can of `buf`: the bytes received after the head,
    /// starting with the body decoded by earlier calls.
    pub fn decode(&mut self, buf: &mut [u8]) -> Result<BodyProgress, RequestError> {
        match self {
            BodyDecoder::Length { len } => Ok(BodyProgress {
                decoded: buf.len().min(*len),
                cut: 0,
                complete: buf.len() >= *len,
            }),
            BodyDecoder::Chunked(decoder) => {
                let step = decoder.decode(buf)?;
                Ok(BodyProgress {
                    decoded: decoder.decoded_len(),
                    cut: step.removed,
                    complete: step.done,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ChunkedLimits = ChunkedLimits {
        max_body: 1 << 20,
        max_line: 8192,
        max_trailers: 100,
    };

    /// Feeds `wire` to a decoder in pieces of the given sizes, as a
    /// connection would (cutting the framing out after each call); returns
    /// the body and the bytes left after it.
    fn feed(
        framing: BodyFraming,
        wire: &[u8],
        pieces: &[usize],
    ) -> Result<(Vec<u8>, Vec<u8>), RequestError> {
        let mut decoder = BodyDecoder::new(framing, LIMITS).expect("a body");
        let mut buf = Vec::new();
        let mut at = 0;
        for &size in pieces.iter().chain(std::iter::repeat(&1)) {
            let end = (at + size).min(wire.len());
            buf.extend_from_slice(&wire[at..end]);
            at = end;
            let progress = decoder.decode(&mut buf)?;
            buf.drain(progress.decoded..progress.decoded + progress.cut);
            if progress.complete {
                let mut rest = buf.split_off(progress.decoded);
                rest.extend_from_slice(&wire[at..]);
                return Ok((buf, rest));
            }
            if at == wire.len() {
                return Err(RequestError::BadRequest("incomplete"));
            }
        }
        unreachable!("the piece sizes repeat forever")
    }

    const CHUNKED: &[u8] = b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\nNEXT";

    #[test]
    fn chunked_split_at_every_byte_gives_the_same_body() {
        let whole = feed(BodyFraming::Chunked, CHUNKED, &[CHUNKED.len()]).unwrap();
        assert_eq!(whole, (b"hello world".to_vec(), b"NEXT".to_vec()));
        for split in 1..CHUNKED.len() {
            let pieces = [split, CHUNKED.len()];
            assert_eq!(
                feed(BodyFraming::Chunked, CHUNKED, &pieces).unwrap(),
                whole,
                "split at {split}"
            );
        }
        assert_eq!(feed(BodyFraming::Chunked, CHUNKED, &[1]).unwrap(), whole);
    }

    #[test]
    fn length_split_at_every_byte_gives_the_same_body() {
        let wire = b"0123456789NEXT";
        for split in 1..wire.len() {
            let got = feed(BodyFraming::Length(10), wire, &[split, wire.len()]).unwrap();
            assert_eq!(got, (b"0123456789".to_vec(), b"NEXT".to_vec()));
        }
    }

    #[test]
    fn chunked_errors_survive_any_split() {
        let bad = b"5\nhello\r\n0\r\n\r\n";
        for split in 1..bad.len() {
            assert!(feed(BodyFraming::Chunked, bad, &[split, bad.len()]).is_err());
        }
    }

    #[test]
    fn no_body_no_decoder() {
        assert!(BodyDecoder::new(BodyFraming::None, LIMITS).is_none());
    }
}

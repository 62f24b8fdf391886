//! Arbitrary bytes as a chunked body, decoded in place the way a
//! connection decodes it (decode, cut the consumed framing out, read more),
//! split at a point the input chooses: no panic, the decoded size within
//! the limit, and the same outcome whole or split.

#![no_main]

use coffeeweb::http::chunked::{ChunkedDecoder, ChunkedLimits};
use coffeeweb::http::RequestError;
use libfuzzer_sys::fuzz_target;

const LIMITS: ChunkedLimits = ChunkedLimits {
    max_body: 4096,
    max_line: 256,
    max_trailers: 8,
};

/// Feeds `pieces` one after another; returns the decoded body and what
/// is left after it, or the error.
fn decode(pieces: &[&[u8]]) -> Result<Option<(Vec<u8>, Vec<u8>)>, RequestError> {
    let mut decoder = ChunkedDecoder::new(LIMITS);
    let mut buf: Vec<u8> = Vec::new();
    for (index, piece) in pieces.iter().enumerate() {
        buf.extend_from_slice(piece);
        let decoded = decoder.decode(&mut buf)?;
        let at = decoder.decoded_len();
        assert!(at as u64 <= LIMITS.max_body);
        buf.drain(at..at + decoded.removed);
        if decoded.done {
            // Whatever follows the body (a pipelined request) is kept,
            // including the pieces not fed to the decoder.
            let mut rest = buf.split_off(at);
            rest.extend(pieces[index + 1..].iter().flat_map(|p| p.iter()));
            return Ok(Some((buf, rest)));
        }
    }
    Ok(None)
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, body)) = data.split_first() else { return };
    let split = (split as usize).min(body.len());
    let whole = decode(&[body]);
    let halves = decode(&[&body[..split], &body[split..]]);
    match (&whole, &halves) {
        (Ok(Some(a)), Ok(Some(b))) => assert_eq!(a, b),
        (Err(a), Err(b)) => assert_eq!(a.status(), b.status()),
        (Ok(None), Ok(None)) => {}
        _ => panic!("whole {whole:?} but split {halves:?}"),
    }
});

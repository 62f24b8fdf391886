//! Arbitrary bytes through the head parser, the way a connection feeds it:
//! skip empty lines, parse in one pass, or find the end incrementally and
//! parse then; then framing. No input may panic, and the two paths (one
//! pass, and byte-by-byte search then parse) must agree exactly.

#![no_main]

use coffeeweb::http::framing::framing;
use coffeeweb::http::parse::{
    find_head_end, leading_empty_lines, parse_head, parse_head_prefix, HeadLimits, HeaderSpan,
};
use libfuzzer_sys::fuzz_target;

const LIMITS: HeadLimits = HeadLimits {
    max_header_bytes: 4096,
    max_headers: 32,
};

fuzz_target!(|data: &[u8]| {
    let buf = &data[leading_empty_lines(data)..];
    let mut spans: Vec<HeaderSpan> = Vec::new();
    let one_pass = parse_head_prefix(buf, LIMITS, &mut spans);
    if let Ok(Some(head)) = &one_pass {
        assert!(head.len <= buf.len());
        for span in [head.method, head.target, head.path] {
            assert!(span.of(&buf[..head.len]).len() <= head.len);
        }
        for header in &spans {
            let _ = (header.name.of(&buf[..head.len]), header.value.of(&buf[..head.len]));
        }
        let _ = framing(buf, head, &spans, 1 << 20);
    }
    // The incremental path: search a byte at a time, resuming.
    let mut end = None;
    for seen in 1..=buf.len() {
        if let Some(found) = find_head_end(&buf[..seen], seen - 1) {
            end = Some(found);
            break;
        }
    }
    match (end, one_pass) {
        (Some(len), Ok(Some(head))) => {
            assert_eq!(len, head.len);
            let mut again: Vec<HeaderSpan> = Vec::new();
            assert_eq!(parse_head(buf, len, LIMITS, &mut again), Ok(head));
            assert_eq!(again, spans);
        }
        (Some(len), Err(_)) => {
            let mut again: Vec<HeaderSpan> = Vec::new();
            assert!(parse_head(buf, len, LIMITS, &mut again).is_err());
        }
        (None, Ok(Some(_))) => panic!("parsed a head whose end the search did not find"),
        (_, _) => {}
    }
});

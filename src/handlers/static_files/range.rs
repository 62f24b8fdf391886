//! `Range: bytes=...` (RFC 9110 §14).
//!
//! One range is answered with 206 and that part; an unsatisfiable one with
//! 416 and `Content-Range: bytes */LEN`. Several ranges are answered with
//! the whole file (RFC 9110 allows it, and it spares us multipart bodies
//! and the amplification they allow). A `Range` we cannot parse, or an
//! `If-Range` that does not match the current version, is ignored: 200
//! with the whole file.

use super::conditional::Validators;
use crate::http::date::parse_http_date;
use crate::http::Request;

/// What part of a file of a given length to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// All of it (200).
    Whole,
    /// Bytes `start..=end` (206).
    Range {
        /// First byte.
        start: u64,
        /// Last byte, inclusive.
        end: u64,
    },
    /// Nothing that exists was asked for (416).
    Unsatisfiable,
}

/// The part of a `len`-byte file that `req` asks for.
pub fn requested(req: &Request<'_>, len: u64, validators: &Validators) -> Part {
    let Some(range) = req.header_str("range") else {
        return Part::Whole;
    };
    match req.header_str("if-range") {
        Some(condition) if !if_range_matches(condition, validators) => Part::Whole,
        _ => parse(range, len),
    }
}

/// `If-Range` holds an entity tag (compared strongly: a weak tag never
/// matches) or a date (which must be exactly the modification time).
fn if_range_matches(condition: &str, validators: &Validators) -> bool {
    let condition = condition.trim();
    if condition.starts_with('"') || condition.starts_with("W/") {
        return condition == validators.etag;
    }
    parse_http_date(condition) == Some(validators.modified)
}

fn number(digits: &str) -> Option<u64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Parses a `Range` value against a file of `len` bytes.
pub fn parse(range: &str, len: u64) -> Part {
    let Some((unit, spec)) = range.trim().split_once('=') else {
        return Part::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return Part::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Part::Whole;
    };
    match (first.trim(), last.trim()) {
        ("", suffix) => match number(suffix) {
            None => Part::Whole,
            Some(0) => Part::Unsatisfiable,
            Some(_) if len == 0 => Part::Unsatisfiable,
            Some(n) => Part::Range {
                start: len.saturating_sub(n),
                end: len - 1,
            },
        },
        (first, last) => match (number(first), last) {
            (None, _) => Part::Whole,
            (Some(start), _) if start >= len => Part::Unsatisfiable,
            (Some(start), "") => Part::Range {
                start,
                end: len - 1,
            },
            (Some(start), last) => match number(last) {
                Some(end) if end >= start => Part::Range {
                    start,
                    end: end.min(len - 1),
                },
                _ => Part::Whole,
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_ranges() {
        assert_eq!(parse("bytes=0-9", 100), Part::Range { start: 0, end: 9 });
        assert_eq!(parse("bytes=90-", 100), Part::Range { start: 90, end: 99 });
        assert_eq!(parse("bytes=-10", 100), Part::Range { start: 90, end: 99 });
        assert_eq!(parse("bytes=-1000", 100), Part::Range { start: 0, end: 99 });
        assert_eq!(
            parse("bytes=50-1000", 100),
            Part::Range { start: 50, end: 99 }
        );
        assert_eq!(parse("BYTES = 1-1", 100), Part::Range { start: 1, end: 1 });
    }

    #[test]
    fn unsatisfiable_ranges() {
        assert_eq!(parse("bytes=100-", 100), Part::Unsatisfiable);
        assert_eq!(parse("bytes=100-200", 100), Part::Unsatisfiable);
        assert_eq!(parse("bytes=-0", 100), Part::Unsatisfiable);
        assert_eq!(parse("bytes=0-0", 0), Part::Unsatisfiable);
        assert_eq!(parse("bytes=-5", 0), Part::Unsatisfiable);
    }

    #[test]
    fn ignored_ranges_mean_the_whole_file() {
        for range in [
            "bytes=0-1,5-6",
            "items=0-1",
            "bytes=5-1",
            "bytes=a-b",
            "bytes=+1-2",
            "bytes",
            "bytes=-",
            "bytes=1--2",
        ] {
            assert_eq!(parse(range, 100), Part::Whole, "{range}");
        }
    }
}

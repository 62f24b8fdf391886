//! The parameters of the test endpoints: numbers, seeds, status codes with
//! weights, durations, and the query string, each checked so that a bad
//! value is a 400 naming it.

use std::time::Duration;

/// A parameter that cannot be used, with what was expected of it; shown to
/// the client in a 400.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadParam {
    /// The parameter's name.
    pub name: &'static str,
    /// What it must be.
    pub expected: &'static str,
}

impl BadParam {
    fn new(name: &'static str, expected: &'static str) -> BadParam {
        BadParam { name, expected }
    }
}

/// A whole number from 0 to `max`, digits only.
pub fn number(
    name: &'static str,
    text: &str,
    max: u64,
    expected: &'static str,
) -> Result<u64, BadParam> {
    if text.is_empty() {
        return Err(BadParam::new(name, expected));
    }
    // Digits only (no sign, no space), checked as they are added up.
    let mut n: u64 = 0;
    for b in text.bytes() {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return Err(BadParam::new(name, expected));
        }
        n = match n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(digit)))
        {
            Some(n) if n <= max => n,
            _ => return Err(BadParam::new(name, expected)),
        };
    }
    Ok(n)
}

/// The raw (not decoded) value of the first `name=` in `query`. Inlined:
/// most requests of a load test have no query, and then it is one test.
#[inline]
pub fn query_value<'q>(query: Option<&'q str>, name: &str) -> Option<&'q str> {
    query?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then_some(value)
    })
}

/// A status code from 200 to 599.
fn code(text: &str) -> Result<u16, BadParam> {
    let bad = || {
        BadParam::new(
            "CODES",
            "codes from 200 to 599, or CODE:WEIGHT,... with positive weights",
        )
    };
    match text.parse::<u16>() {
        Ok(code) if text.len() == 3 && (200..=599).contains(&code) => Ok(code),
        _ => Err(bad()),
    }
}

/// One `CODE` or `CODE:WEIGHT` of a list.
fn weighted(item: &str) -> Result<(u16, f64), BadParam> {
    let (code_text, weight_text) = item.split_once(':').unwrap_or((item, "1"));
    let weight: f64 = weight_text.parse().map_err(|_| {
        BadParam::new(
            "CODES",
            "weights are positive numbers, as in 200:0.9,503:0.1",
        )
    })?;
    if !(weight.is_finite() && weight > 0.0) {
        return Err(BadParam::new(
            "CODES",
            "weights are positive numbers, as in 200:0.9,503:0.1",
        ));
    }
    Ok((code(code_text)?, weight))
}

/// The code chosen from `codes` (`503`, or `200:0.9,503:0.1`) for a
/// uniform draw `unit` in [0, 1). Checks the whole list every time, so a
/// bad entry is refused whichever code the draw would have picked;
/// allocates nothing.
pub fn choose_code(codes: &str, unit: f64) -> Result<u16, BadParam> {
    let mut total = 0.0;
    for item in codes.split(',') {
        total += weighted(item)?.1;
    }
    let mut target = unit * total;
    let mut last = 0;
    for item in codes.split(',') {
        let (code, weight) = weighted(item)?;
        if target < weight {
            return Ok(code);
        }
        target -= weight;
        last = code;
    }
    // Rounding left the draw just past the end: the last code.
    Ok(last)
}

/// A duration: seconds (`0.25`, `2`) or a number with a unit (`250ms`,
/// `2s`, `1m`), at most `max`.
pub fn duration(name: &'static str, text: &str, max: Duration) -> Result<Duration, BadParam> {
    let bad = || {
        BadParam::new(
            name,
            "a duration such as 0.25, 2, 250ms, 2s or 1m, within the limit",
        )
    };
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let scale = match unit {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" => 60.0,
        _ => return Err(bad()),
    };
    let valid = !number.is_empty() && !number.starts_with('.') && !number.ends_with('.');
    let value: f64 = number.parse().map_err(|_| bad())?;
    let seconds = value * scale;
    if !valid || !seconds.is_finite() || seconds > max.as_secs_f64() {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Percent-decodes a query component (`+` is a space); an escape that is
/// not two hex digits is kept as it is.
pub fn decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_digits_within_range() {
        assert_eq!(number("N", "0", 10, ""), Ok(0));
        assert_eq!(number("N", "10", 10, ""), Ok(10));
        for bad in [
            "",
            "11",
            "-1",
            "+1",
            "1.0",
            " 1",
            "0x1",
            "99999999999999999999999",
        ] {
            assert!(number("N", bad, 10, "").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn query_values() {
        assert_eq!(query_value(Some("a=1&seed=7"), "seed"), Some("7"));
        assert_eq!(query_value(Some("seed"), "seed"), Some(""));
        assert_eq!(query_value(Some("seeds=1"), "seed"), None);
        assert_eq!(query_value(None, "seed"), None);
    }

    #[test]
    fn weighted_codes() {
        assert_eq!(choose_code("503", 0.7), Ok(503));
        assert_eq!(choose_code("200:0.9,503:0.1", 0.0), Ok(200));
        assert_eq!(choose_code("200:0.9,503:0.1", 0.89), Ok(200));
        assert_eq!(choose_code("200:0.9,503:0.1", 0.91), Ok(503));
        assert_eq!(choose_code("200:3,404:1", 0.76), Ok(404));
        assert_eq!(choose_code("200,404", 0.99), Ok(404));
        for bad in [
            "", "99", "600", "20x", "200:", "200:0", "200:-1", "200:nan", "200:inf", "200,",
            "2000", "200:1:1",
        ] {
            assert!(choose_code(bad, 0.5).is_err(), "{bad:?}");
        }
        // The bad entry is found even when the draw stops before it.
        assert!(choose_code("200:1,999:1", 0.1).is_err());
    }

    #[test]
    fn durations_in_seconds_or_with_units() {
        let max = Duration::from_secs(60);
        assert_eq!(duration("D", "0.25", max), Ok(Duration::from_millis(250)));
        assert_eq!(duration("D", "2", max), Ok(Duration::from_secs(2)));
        assert_eq!(duration("D", "250ms", max), Ok(Duration::from_millis(250)));
        assert_eq!(duration("D", "1m", max), Ok(Duration::from_secs(60)));
        assert_eq!(duration("D", "0", max), Ok(Duration::ZERO));
        for bad in ["", "s", ".5", "5.", "-1", "61", "2h", "1e3", "1..2", "nan"] {
            assert!(duration("D", bad, max).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(decode("a+b%20c%22"), b"a b c\"");
        assert_eq!(decode("100%"), b"100%");
        assert_eq!(decode("%zz%4"), b"%zz%4");
        assert_eq!(decode("%e2%98%95"), "☕".as_bytes());
    }
}

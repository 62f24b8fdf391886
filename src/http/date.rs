//! HTTP dates (RFC 9110 §5.6.7), and the `Date` header formatted once a
//! second rather than once per response.
//!
//! Formatting a date per response cost hyper 60% of its time in an early
//! benchmark (hyper#98). Each event loop owns a [`DateCache`] that it
//! refreshes once per wake-up; when the second has not changed, that is one
//! comparison, and writing the header is one 37-byte copy.

use std::time::{SystemTime, UNIX_EPOCH};

const DAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Length of an IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub const IMF_FIXDATE_LEN: usize = 29;

/// Seconds since the Unix epoch, 0 for times before it.
pub fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Formats `secs` since the Unix epoch as an IMF-fixdate.
pub fn imf_fixdate(secs: u64) -> [u8; IMF_FIXDATE_LEN] {
    let days = secs / 86_400;
    let second_of_day = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    out[..3].copy_from_slice(DAYS[(days % 7) as usize]);
    put_two_digits(&mut out[5..7], day);
    out[8..11].copy_from_slice(MONTHS[(month - 1) as usize]);
    let year = year.min(9999);
    put_two_digits(&mut out[12..14], year / 100);
    put_two_digits(&mut out[14..16], year % 100);
    put_two_digits(&mut out[17..19], second_of_day / 3600);
    put_two_digits(&mut out[20..22], second_of_day / 60 % 60);
    put_two_digits(&mut out[23..25], second_of_day % 60);
    out
}

/// Length of an RFC 3339 UTC time to the second: `2026-12-01T18:25:23Z`.
pub const RFC3339_LEN: usize = 20;

/// Formats `secs` since the Unix epoch as RFC 3339, UTC, to the second
/// (for JSON, where IMF-fixdate would need parsing).
pub fn rfc3339(secs: u64) -> [u8; RFC3339_LEN] {
    let second_of_day = secs % 86_400;
    let (year, month, day) = civil_from_days(secs / 86_400);
    let mut out = *b"1970-01-01T00:00:00Z";
    let year = year.min(9999);
    put_two_digits(&mut out[0..2], year / 100);
    put_two_digits(&mut out[2..4], year % 100);
    put_two_digits(&mut out[5..7], month);
    put_two_digits(&mut out[8..10], day);
    put_two_digits(&mut out[11..13], second_of_day / 3600);
    put_two_digits(&mut out[14..16], second_of_day / 60 % 60);
    put_two_digits(&mut out[17..19], second_of_day % 60);
    out
}

/// A UTC time of day on a calendar date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    /// The year (up to 9999).
    pub year: u64,
    /// 1 to 12.
    pub month: u64,
    /// 1 to 31.
    pub day: u64,
    /// 0 to 23.
    pub hour: u64,
    /// 0 to 59.
    pub minute: u64,
    /// 0 to 59.
    pub second: u64,
}

impl Civil {
    /// The UTC date and time `secs` after the Unix epoch.
    pub fn from_unix(secs: u64) -> Civil {
        let (year, month, day) = civil_from_days(secs / 86_400);
        let second_of_day = secs % 86_400;
        Civil {
            year: year.min(9999),
            month,
            day,
            hour: second_of_day / 3600,
            minute: second_of_day / 60 % 60,
            second: second_of_day % 60,
        }
    }

    /// The month's English abbreviation (`Jan` ... `Dec`).
    pub fn month_name(&self) -> &'static str {
        let name: &'static [u8; 3] = MONTHS[(self.month - 1) as usize % 12];
        std::str::from_utf8(name).unwrap_or("???")
    }
}

fn put_two_digits(out: &mut [u8], n: u64) {
    out[0] = b'0' + (n / 10 % 10) as u8;
    out[1] = b'0' + (n % 10) as u8;
}

/// Year, month (1..=12) and day (1..=31) of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`, for days after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a civil date (Hinnant's `days_from_civil`);
/// `None` before the epoch.
fn days_from_civil(year: u64, month: u64, day: u64) -> Option<u64> {
    let year = if month <= 2 {
        year.checked_sub(1)?
    } else {
        year
    };
    let era = year / 400;
    let year_of_era = year % 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    (era * 146_097 + day_of_era).checked_sub(719_468)
}

/// Parses an HTTP-date (RFC 9110 §5.6.7) into seconds since the epoch. A
/// recipient must accept all three formats:
///
/// - IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`
/// - RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT` (two-digit years: 70-99 are
///   19xx, the rest 20xx)
/// - asctime: `Sun Nov  6 08:49:37 1994`
///
/// The weekday is not checked against the date (RFC 9110 lets recipients
/// ignore it).
pub fn parse_http_date(text: &str) -> Option<u64> {
    // No allocation: this runs for revalidations answered from the cache.
    let mut fields = [""; 6];
    let mut count = 0;
    for field in text.split_ascii_whitespace() {
        *fields.get_mut(count)? = field;
        count += 1;
    }
    let (day, month, year, time) = match &fields[..count] {
        [_, day, month, year, time, "GMT"] => (*day, *month, *year, *time),
        [_, date, time, "GMT"] => {
            let mut parts = date.split('-');
            let (day, month, year) = (parts.next()?, parts.next()?, parts.next()?);
            let year = year.parse::<u64>().ok().filter(|_| year.len() == 2)?;
            let year = if year >= 70 { 1900 + year } else { 2000 + year };
            return seconds(day, month, year, time);
        }
        [_, month, day, time, year] => (*day, *month, *year, *time),
        _ => return None,
    };
    seconds(
        day,
        month,
        year.parse().ok().filter(|_| year.len() == 4)?,
        time,
    )
}

fn seconds(day: &str, month: &str, year: u64, time: &str) -> Option<u64> {
    let month = MONTHS.iter().position(|m| m[..] == *month.as_bytes())? as u64 + 1;
    let day: u64 = day.parse().ok().filter(|d| (1..=31).contains(d))?;
    let mut hms = time
        .split(':')
        .map(|part| part.parse::<u64>().ok().filter(|_| part.len() == 2));
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if hms.next().is_some() || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day)?;
    // 31 Feb would count on into March: not a date.
    if civil_from_days(days) != (year, month, day) {
        return None;
    }
    Some(days * 86_400 + h * 3600 + m * 60 + s)
}

/// `Date: <IMF-fixdate>\r\n`
const DATE_LINE_LEN: usize = 6 + IMF_FIXDATE_LEN + 2;

/// The `Date: ...\r\n` header line, reformatted only when the second
/// changes. It is stored followed by `Content-Length: `, the field that
/// follows it in almost every response, to save one copy per response.
#[derive(Clone, Debug)]
pub struct DateCache {
    second: u64,
    line: [u8; DATE_LINE_LEN + 16],
}

impl DateCache {
    /// A cache holding the current time.
    pub fn new() -> DateCache {
        let mut cache = DateCache {
            second: u64::MAX,
            line: *b"Date: Thu, 01 Jan 1970 00:00:00 GMT\r\nContent-Length: ",
        };
        cache.update(SystemTime::now());
        cache
    }

    /// Brings the cached line up to `now`; formats only on a new second.
    pub fn update(&mut self, now: SystemTime) {
        let second = unix_seconds(now);
        if second != self.second {
            self.second = second;
            self.line[6..6 + IMF_FIXDATE_LEN].copy_from_slice(&imf_fixdate(second));
        }
    }

    /// The second the cached line shows (seconds since the Unix epoch).
    pub(crate) fn second(&self) -> u64 {
        self.second
    }

    /// `Date: <IMF-fixdate>\r\n`.
    pub fn line(&self) -> &[u8] {
        &self.line[..DATE_LINE_LEN]
    }

    /// `Date: <IMF-fixdate>\r\nContent-Length: `.
    pub fn line_then_content_length(&self) -> &[u8] {
        &self.line
    }
}

impl Default for DateCache {
    fn default() -> DateCache {
        DateCache::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times() {
        assert_eq!(&rfc3339(0), b"1970-01-01T00:00:00Z");
        assert_eq!(&rfc3339(784_111_777), b"1994-11-06T08:49:37Z");
        assert_eq!(&rfc3339(1_709_210_096), b"2024-02-29T12:34:56Z");
    }
    use std::time::Duration;

    #[test]
    fn formats_known_dates() {
        assert_eq!(&imf_fixdate(0), b"Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(&imf_fixdate(784_111_777), b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(&imf_fixdate(951_782_400), b"Tue, 29 Feb 2000 00:00:00 GMT");
        // 2100 is not a leap year.
        assert_eq!(
            &imf_fixdate(4_107_542_399),
            b"Sun, 28 Feb 2100 23:59:59 GMT"
        );
        assert_eq!(
            &imf_fixdate(4_133_980_799),
            b"Fri, 31 Dec 2100 23:59:59 GMT"
        );
    }

    #[test]
    fn agrees_with_day_by_day_counting() {
        // Walk 1970..2400 a day at a time with a naive calendar.
        let (mut year, mut month, mut day) = (1970u64, 1u64, 1u64);
        for days in 0..(430 * 366) {
            assert_eq!(civil_from_days(days), (year, month, day), "day {days}");
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
            let month_len = [
                31,
                if leap { 29 } else { 28 },
                31,
                30,
                31,
                30,
                31,
                31,
                30,
                31,
                30,
                31,
            ];
            day += 1;
            if day > month_len[(month - 1) as usize] {
                day = 1;
                month += 1;
                if month > 12 {
                    month = 1;
                    year += 1;
                }
            }
        }
    }

    #[test]
    fn parses_the_three_http_date_formats() {
        for text in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(parse_http_date(text), Some(784_111_777), "{text}");
        }
        for bad in [
            "",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Thu, 31 Feb 1994 08:49:37 GMT",
            "Thu, 29 Feb 2100 08:49:37 GMT",
            "Sun, 06 Noc 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 94 08:49:37 GMT",
            "Sun, 06 Nov 1994 8:49:37 GMT",
            "1994-11-06T08:49:37Z",
            "Sun, 06 Nov 1994 08:49:37 GMT GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn rfc850_two_digit_years_are_1970_to_2069() {
        let at = |yy: &str| parse_http_date(&format!("Monday, 01-Jan-{yy} 00:00:00 GMT"));
        assert_eq!(at("70"), Some(0));
        assert_eq!(at("99"), Some(915_148_800));
        assert_eq!(at("00"), Some(946_684_800));
        assert_eq!(at("05"), Some(1_104_537_600));
        assert_eq!(at("69"), Some(3_124_224_000));
        assert_eq!(at("1970"), None);
    }

    #[test]
    fn times_of_day_up_to_a_leap_second() {
        let at = |time: &str| parse_http_date(&format!("Sun, 06 Nov 1994 {time} GMT"));
        let midnight = 784_080_000;
        assert_eq!(at("23:59:59"), Some(midnight + 86_399));
        assert_eq!(at("23:59:60"), Some(midnight + 86_400));
        for bad in [
            "23:59:61",
            "23:60:00",
            "24:00:00",
            "23:59",
            "23:59:59:00",
            "23:5:59",
        ] {
            assert_eq!(at(bad), None, "{bad}");
        }
    }

    #[test]
    fn parsing_inverts_formatting() {
        for secs in (0..4_000_000_000u64).step_by(99_991_237) {
            let text = imf_fixdate(secs);
            assert_eq!(
                parse_http_date(std::str::from_utf8(&text).unwrap()),
                Some(secs)
            );
        }
    }

    #[test]
    fn civil_times_and_month_names() {
        assert_eq!(
            Civil::from_unix(784_111_777),
            Civil {
                year: 1994,
                month: 11,
                day: 6,
                hour: 8,
                minute: 49,
                second: 37
            }
        );
        assert_eq!(
            Civil::from_unix(4_133_980_799),
            Civil {
                year: 2100,
                month: 12,
                day: 31,
                hour: 23,
                minute: 59,
                second: 59
            }
        );
        let names: Vec<&str> = (0..12u64)
            .map(|m| Civil::from_unix((m * 31 + 1) * 86_400).month_name())
            .collect();
        assert_eq!(
            names,
            ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        );
    }

    #[test]
    fn cache_changes_only_with_the_second() {
        let mut cache = DateCache::new();
        let t = UNIX_EPOCH + Duration::from_secs(784_111_777);
        cache.update(t);
        assert_eq!(cache.line(), b"Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n");
        cache.update(t + Duration::from_millis(999));
        assert_eq!(cache.line(), b"Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n");
        cache.update(t + Duration::from_secs(1));
        assert_eq!(cache.line(), b"Date: Sun, 06 Nov 1994 08:49:38 GMT\r\n");
        assert_eq!(
            cache.line_then_content_length(),
            b"Date: Sun, 06 Nov 1994 08:49:38 GMT\r\nContent-Length: "
        );
    }
}

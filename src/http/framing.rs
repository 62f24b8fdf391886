//! What the header fields say about the message around the head: how the
//! body is framed, whether the connection stays open, whether the client
//! waits for `100 Continue`.
//!
//! This is where request smuggling is stopped (RFC 9112 §6.1, §6.3, §11.2).
//! A proxy in front of us and we must agree on where each request ends, so
//! every ambiguous framing is refused instead of guessed at: both
//! `Content-Length` and `Transfer-Encoding`, `Transfer-Encoding` in
//! HTTP/1.0, differing lengths, lengths that are not `1*DIGIT`, codings
//! other than a single `chunked`.

use super::parse::{is_name, Head, HeaderSpan, Version};
use super::RequestError;

/// How the body of a request is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body.
    None,
    /// Exactly this many bytes follow the head.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// What the head says about the message and the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Framing {
    /// How the body is delimited.
    pub body: BodyFraming,
    /// Whether the client wants the connection kept open after this request.
    pub keep_alive: bool,
    /// `Expect: 100-continue` was sent.
    pub expect_continue: bool,
}

/// The header fields that framing depends on, gathered in one pass.
#[derive(Default)]
struct Fields {
    hosts: usize,
    content_length: Option<u64>,
    transfer_encoding: bool,
    chunked: usize,
    unknown_coding: bool,
    close: bool,
    keep_alive: bool,
    expect_continue: bool,
}

/// Reads the framing of the request whose head is `head` in `buf`.
/// `max_body` is `--max-body-bytes`: a longer declared length is a 413
/// before any of the body is read.
#[inline]
pub fn framing(
    buf: &[u8],
    head: &Head,
    headers: &[HeaderSpan],
    max_body: u64,
) -> Result<Framing, RequestError> {
    if !head.noted.others {
        // The scan saw no field but `Host` that framing reads: no body,
        // and no `Connection` to say anything but the version's default.
        check_host(usize::from(head.noted.hosts), head)?;
        return Ok(Framing {
            body: BodyFraming::None,
            keep_alive: head.version == Version::Http11,
            expect_continue: false,
        });
    }
    let mut fields = Fields::default();
    for header in headers {
        fields.add(header.name.of(buf), header, buf)?;
    }
    check_host(fields.hosts, head)?;
    let body = fields.body(head.version, max_body)?;
    let keep_alive = match head.version {
        Version::Http11 => !fields.close,
        Version::Http10 => fields.keep_alive && !fields.close,
    };
    Ok(Framing {
        body,
        keep_alive,
        expect_continue: fields.expect_continue && body != BodyFraming::None,
    })
}

/// The elements of a comma-separated list (RFC 9110 §5.6.1), trimmed,
/// with empty elements skipped as the RFC requires.
fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(|element| element.trim_ascii())
        .filter(|element| !element.is_empty())
}

impl Fields {
    fn add(&mut self, name: &[u8], header: &HeaderSpan, buf: &[u8]) -> Result<(), RequestError> {
        let value = header.value.of(buf);
        // Compare lengths first: most fields are rejected on one integer.
        match name.len() {
            4 if is_name(name, b"host") => self.hosts += 1,
            14 if is_name(name, b"content-length") => {
                self.add_content_length(value)?;
            }
            17 if is_name(name, b"transfer-encoding") => {
                self.add_transfer_encoding(value);
            }
            10 if is_name(name, b"connection") => {
                for option in list_elements(value) {
                    self.close |= option.eq_ignore_ascii_case(b"close");
                    self.keep_alive |= option.eq_ignore_ascii_case(b"keep-alive");
                }
            }
            6 if is_name(name, b"expect") => {
                self.expect_continue |= value.eq_ignore_ascii_case(b"100-continue");
            }
            _ => {}
        }
        Ok(())
    }

    /// `Content-Length = 1*DIGIT`. A list or repeated field whose values
    /// are all the same is that one value (RFC 9110 §8.6); differing
    /// values, signs, spaces inside, hex or empty elements are a 400.
    fn add_content_length(&mut self, value: &[u8]) -> Result<(), RequestError> {
        const INVALID: RequestError = RequestError::BadRequest("invalid Content-Length");
        for element in value.split(|&b| b == b',').map(|e| e.trim_ascii()) {
            let length = parse_length(element).ok_or(INVALID)?;
            match self.content_length {
                Some(seen) if seen != length => {
                    return Err(RequestError::BadRequest(
                        "conflicting Content-Length values",
                    ))
                }
                _ => self.content_length = Some(length),
            }
        }
        Ok(())
    }

    fn add_transfer_encoding(&mut self, value: &[u8]) {
        self.transfer_encoding = true;
        for coding in list_elements(value) {
            if coding.eq_ignore_ascii_case(b"chunked") {
                self.chunked += 1;
            } else {
                self.unknown_coding = true;
            }
        }
    }

    fn body(&self, version: Version, max_body: u64) -> Result<BodyFraming, RequestError> {
        if self.transfer_encoding {
            return self.transfer_coding(version);
        }
        match self.content_length {
            None | Some(0) => Ok(BodyFraming::None),
            Some(length) if length > max_body => Err(RequestError::ContentTooLarge),
            Some(length) => Ok(BodyFraming::Length(length)),
        }
    }

    fn transfer_coding(&self, version: Version) -> Result<BodyFraming, RequestError> {
        if version == Version::Http10 {
            return Err(RequestError::BadRequest(
                "Transfer-Encoding in an HTTP/1.0 request",
            ));
        }
        if self.content_length.is_some() {
            return Err(RequestError::BadRequest(
                "both Transfer-Encoding and Content-Length",
            ));
        }
        if self.unknown_coding {
            return Err(RequestError::NotImplemented("unsupported transfer coding"));
        }
        match self.chunked {
            1 => Ok(BodyFraming::Chunked),
            0 => Err(RequestError::BadRequest("empty Transfer-Encoding")),
            _ => Err(RequestError::BadRequest("chunked applied more than once")),
        }
    }
}

/// RFC 9112 §3.2: an HTTP/1.1 request has exactly one `Host`; no request
/// has two. `hosts` is how many there are; when there is one, the scan of
/// `head` judged its value (the last `Host` noted is that one).
fn check_host(hosts: usize, head: &Head) -> Result<(), RequestError> {
    match (hosts, head.version) {
        (0, Version::Http11) => Err(RequestError::BadRequest("missing Host header")),
        (0, Version::Http10) => Ok(()),
        (1, _) if head.noted.host_valid => Ok(()),
        (1, _) => Err(RequestError::BadRequest("invalid Host header")),
        _ => Err(RequestError::BadRequest("more than one Host header")),
    }
}

/// `1*DIGIT` as a length. A number too big for `u64` is, honestly, too
/// big for any limit: it saturates and becomes a 413.
fn parse_length(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(digits.iter().fold(0u64, |n, &d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

#[cfg(test)]
mod tests {
    use super::super::parse::{is_valid_host, parse_head_prefix, HeadLimits};
    use super::{framing, is_name};
    use crate::http::RequestError;

    /// The Host check judged during the scan is `is_valid_host` of the
    /// value: every byte value at every position of hosts short and long
    /// enough for the one-load path and the rule, with and without a field
    /// that makes framing read every field.
    #[test]
    fn host_values_are_judged_as_is_valid_host_does() {
        const LIMITS: HeadLimits = HeadLimits {
            max_header_bytes: 4096,
            max_headers: 32,
        };
        let mut checked = 0;
        for host in ["127.0.0.1:8080", "a.example-name.org:65535"] {
            for position in 0..host.len() {
                for b in 0..=255u8 {
                    for other in ["", "Content-Length: 0\r\n"] {
                        let mut value = host.as_bytes().to_vec();
                        value[position] = b;
                        let mut head = b"GET / HTTP/1.1\r\nHost: ".to_vec();
                        head.extend_from_slice(&value);
                        head.extend_from_slice(format!("\r\n{other}\r\n").as_bytes());
                        let mut spans = Vec::new();
                        let Ok(Some(parsed)) = parse_head_prefix(&head, LIMITS, &mut spans) else {
                            continue;
                        };
                        let value = spans[0].value.of(&head);
                        let result = framing(&head, &parsed, &spans, 1 << 20);
                        let refused =
                            result == Err(RequestError::BadRequest("invalid Host header"));
                        assert_eq!(refused, !is_valid_host(value), "{head:?}");
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 10_000, "{checked}");
    }

    #[test]
    fn name_matching_is_case_insensitive_and_exact_over_tokens() {
        let tchars: Vec<u8> = (0..=255u8)
            .filter(|b| super::super::parse::is_token(&[*b]))
            .collect();
        for lower in [
            &b"host"[..],
            b"content-length",
            b"transfer-encoding",
            b"connection",
            b"expect",
        ] {
            for position in 0..lower.len() {
                for &b in &tchars {
                    let mut name = lower.to_vec();
                    name[position] = b;
                    assert_eq!(
                        is_name(&name, lower),
                        name.eq_ignore_ascii_case(lower),
                        "{name:?}"
                    );
                }
            }
        }
    }
}

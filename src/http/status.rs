//! Status codes and the status lines we write.
//!
//! The status line of every common code is a `&'static [u8]`, so writing it
//! is one `extend_from_slice`. Rarer codes are formatted when they occur.

use std::fmt;

/// An HTTP status code (RFC 9110 §15).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Status(u16);

/// The `Server` field every response carries.
macro_rules! SERVER {
    () => {
        "Server: coffeeweb\r\n"
    };
}

macro_rules! statuses {
    ($($name:ident = $code:literal $reason:literal;)*) => {
        impl Status {
            $(
                #[doc = concat!("`", stringify!($code), " ", $reason, "`")]
                pub const $name: Status = Status($code);
            )*

            /// The reason phrase, or `""` for a code we have no name for.
            pub fn reason(self) -> &'static str {
                match self.0 {
                    $($code => $reason,)*
                    _ => "",
                }
            }

            /// `NNN Reason\n`, the short text body of an error response.
            pub(crate) fn static_text(self) -> Option<&'static str> {
                match self.0 {
                    $($code => Some(concat!($code, " ", $reason, "\n")),)*
                    _ => None,
                }
            }

            /// `HTTP/1.1 NNN Reason\r\nServer: coffeeweb\r\n` for the codes
            /// we know: every response starts with these two lines, so
            /// they are one static string and one copy.
            fn static_start(self) -> Option<&'static [u8]> {
                match self.0 {
                    $($code => Some(concat!("HTTP/1.1 ", $code, " ", $reason, "\r\n", SERVER!()).as_bytes()),)*
                    _ => None,
                }
            }
        }
    };
}

statuses! {
    CONTINUE = 100 "Continue";
    SWITCHING_PROTOCOLS = 101 "Switching Protocols";
    OK = 200 "OK";
    CREATED = 201 "Created";
    ACCEPTED = 202 "Accepted";
    NO_CONTENT = 204 "No Content";
    PARTIAL_CONTENT = 206 "Partial Content";
    MOVED_PERMANENTLY = 301 "Moved Permanently";
    FOUND = 302 "Found";
    SEE_OTHER = 303 "See Other";
    NOT_MODIFIED = 304 "Not Modified";
    TEMPORARY_REDIRECT = 307 "Temporary Redirect";
    PERMANENT_REDIRECT = 308 "Permanent Redirect";
    BAD_REQUEST = 400 "Bad Request";
    UNAUTHORIZED = 401 "Unauthorized";
    FORBIDDEN = 403 "Forbidden";
    NOT_FOUND = 404 "Not Found";
    METHOD_NOT_ALLOWED = 405 "Method Not Allowed";
    NOT_ACCEPTABLE = 406 "Not Acceptable";
    REQUEST_TIMEOUT = 408 "Request Timeout";
    CONFLICT = 409 "Conflict";
    GONE = 410 "Gone";
    LENGTH_REQUIRED = 411 "Length Required";
    PRECONDITION_FAILED = 412 "Precondition Failed";
    CONTENT_TOO_LARGE = 413 "Content Too Large";
    URI_TOO_LONG = 414 "URI Too Long";
    UNSUPPORTED_MEDIA_TYPE = 415 "Unsupported Media Type";
    RANGE_NOT_SATISFIABLE = 416 "Range Not Satisfiable";
    EXPECTATION_FAILED = 417 "Expectation Failed";
    UNPROCESSABLE_CONTENT = 422 "Unprocessable Content";
    TOO_MANY_REQUESTS = 429 "Too Many Requests";
    HEADER_FIELDS_TOO_LARGE = 431 "Request Header Fields Too Large";
    INTERNAL_SERVER_ERROR = 500 "Internal Server Error";
    NOT_IMPLEMENTED = 501 "Not Implemented";
    BAD_GATEWAY = 502 "Bad Gateway";
    SERVICE_UNAVAILABLE = 503 "Service Unavailable";
    GATEWAY_TIMEOUT = 504 "Gateway Timeout";
    HTTP_VERSION_NOT_SUPPORTED = 505 "HTTP Version Not Supported";
}

impl Status {
    /// `499`, nginx's "client closed request": never written on the wire;
    /// the access log's status of a kept request whose connection closed
    /// before its answer.
    pub const CLIENT_CLOSED_REQUEST: Status = Status(499);

    /// A status from its code; `None` outside 100..=999.
    pub fn from_code(code: u16) -> Option<Status> {
        (100..=999).contains(&code).then_some(Status(code))
    }

    /// The three-digit code.
    pub fn code(self) -> u16 {
        self.0
    }

    /// 1 for 1xx, 2 for 2xx, ... 5 for 5xx (and 6 to 9 for the odd rest).
    pub fn class(self) -> u16 {
        self.0 / 100
    }

    /// Whether a response with this status never has content (RFC 9110
    /// §6.4.1): 1xx, 204 and 304.
    pub fn forbids_body(self) -> bool {
        self.0 < 200 || self.0 == 204 || self.0 == 304
    }

    /// Appends the status line and the `Server` field.
    #[inline]
    pub(crate) fn write_head_start(self, out: &mut Vec<u8>) {
        match self.static_start() {
            Some(start) => out.extend_from_slice(start),
            None => {
                out.extend_from_slice(b"HTTP/1.1 ");
                super::write_decimal(out, u64::from(self.0));
                out.extend_from_slice(concat!(" \r\n", SERVER!()).as_bytes());
            }
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0, self.reason())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_have_static_lines() {
        let mut out = Vec::new();
        Status::HEADER_FIELDS_TOO_LARGE.write_head_start(&mut out);
        assert_eq!(
            out,
            b"HTTP/1.1 431 Request Header Fields Too Large\r\nServer: coffeeweb\r\n"
        );
    }

    #[test]
    fn unknown_codes_are_formatted() {
        let mut out = Vec::new();
        Status::from_code(599).unwrap().write_head_start(&mut out);
        assert_eq!(out, b"HTTP/1.1 599 \r\nServer: coffeeweb\r\n");
        assert_eq!(Status::from_code(99), None);
        assert_eq!(Status::from_code(1000), None);
    }

    #[test]
    fn bodiless_statuses() {
        assert!(Status::CONTINUE.forbids_body());
        assert!(Status::NO_CONTENT.forbids_body());
        assert!(Status::NOT_MODIFIED.forbids_body());
        assert!(!Status::OK.forbids_body());
        assert!(!Status::NOT_FOUND.forbids_body());
    }
}

//! Why a request was refused before it reached a handler.
//!
//! Every rule of the request grammar that can fail names its variant here,
//! and [`RequestError::status`] is the one place that maps a failure to the
//! status code the client receives. All of them end the connection: after
//! a framing error nothing that follows on the wire can be trusted to start
//! a new request (RFC 9112 §9.6, request smuggling).

use super::Status;
use std::fmt;

/// A request that cannot be served, with the reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// Malformed syntax or framing; the text says which rule broke.
    BadRequest(&'static str),
    /// The request line alone is longer than `--max-header-bytes`.
    UriTooLong,
    /// Request line plus header fields over `--max-header-bytes`, or more
    /// than `--max-headers` fields.
    HeaderFieldsTooLarge,
    /// The body is (or is declared) larger than `--max-body-bytes`.
    ContentTooLarge,
    /// A transfer coding we do not implement.
    NotImplemented(&'static str),
    /// An HTTP major version other than 1.
    VersionNotSupported,
    /// The head did not arrive within `--header-timeout`.
    Timeout,
}

impl RequestError {
    /// The status code sent for this error.
    pub fn status(self) -> Status {
        match self {
            RequestError::BadRequest(_) => Status::BAD_REQUEST,
            RequestError::UriTooLong => Status::URI_TOO_LONG,
            RequestError::HeaderFieldsTooLarge => Status::HEADER_FIELDS_TOO_LARGE,
            RequestError::ContentTooLarge => Status::CONTENT_TOO_LARGE,
            RequestError::NotImplemented(_) => Status::NOT_IMPLEMENTED,
            RequestError::VersionNotSupported => Status::HTTP_VERSION_NOT_SUPPORTED,
            RequestError::Timeout => Status::REQUEST_TIMEOUT,
        }
    }

    /// A short human-readable explanation, used as the response body.
    pub fn detail(self) -> &'static str {
        match self {
            RequestError::BadRequest(why) | RequestError::NotImplemented(why) => why,
            RequestError::UriTooLong => "request line too long",
            RequestError::HeaderFieldsTooLarge => "request header fields too large",
            RequestError::ContentTooLarge => "request body too large",
            RequestError::VersionNotSupported => "only HTTP/1.x is supported",
            RequestError::Timeout => "request head not received in time",
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status(), self.detail())
    }
}

impl std::error::Error for RequestError {}

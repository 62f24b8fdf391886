//! What one request–response exchange decides about the connection:
//! whether to send `100 Continue`, whether the connection stays open (and
//! which `Connection` field says so), and what an error response contains.
//!
//! These are HTTP's rules (RFC 9110 §10.1.1, RFC 9112 §9.3), so they live
//! here, beside the parser, and the server only carries them out: it moves
//! bytes and keeps time, and asks this module what the bytes mean.

use super::framing::Framing;
use super::{ConnectionHeader, RequestError, Response, Version};

/// The interim response to `Expect: 100-continue`.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Whether to answer `100 Continue` before reading the body: the client
/// asked, speaks HTTP/1.1 (an HTTP/1.0 client cannot parse a 1xx), and has
/// not started sending the body anyway.
pub fn sends_continue(framing: &Framing, version: Version, body_started: bool) -> bool {
    framing.expect_continue && version == Version::Http11 && !body_started
}

/// The `Connection` field of a response: the connection stays open when
/// the client wants it (HTTP/1.1 by default, HTTP/1.0 only when it asked),
/// the handler did not ask to close, and the server is not shutting down.
/// HTTP/1.1 keeps alive by saying nothing; HTTP/1.0 needs `keep-alive`.
pub fn connection_header(
    framing: &Framing,
    version: Version,
    handler_closes: bool,
    shutting_down: bool,
) -> ConnectionHeader {
    match (
        framing.keep_alive && !handler_closes && !shutting_down,
        version,
    ) {
        (false, _) => ConnectionHeader::Close,
        (true, Version::Http10) => ConnectionHeader::KeepAlive,
        (true, Version::Http11) => ConnectionHeader::Omit,
    }
}

/// Fills `res` with the answer to a request that cannot be served: its
/// status and a short `text/plain` body naming the status and the rule
/// that broke.
pub fn error_response(res: &mut Response, error: RequestError) {
    res.reset();
    res.set_status(error.status())
        .header("Content-Type", "text/plain; charset=utf-8")
        .set_body(format!("{}\n{}\n", error.status(), error.detail()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::framing::BodyFraming;

    fn framing(keep_alive: bool, expect_continue: bool) -> Framing {
        Framing {
            body: BodyFraming::Length(1),
            keep_alive,
            expect_continue,
        }
    }

    #[test]
    fn continue_only_for_http11_before_the_body() {
        assert!(sends_continue(&framing(true, true), Version::Http11, false));
        assert!(!sends_continue(
            &framing(true, true),
            Version::Http10,
            false
        ));
        assert!(!sends_continue(&framing(true, true), Version::Http11, true));
        assert!(!sends_continue(
            &framing(true, false),
            Version::Http11,
            false
        ));
    }

    #[test]
    fn connection_field_by_version_and_wishes() {
        use ConnectionHeader::*;
        let open = framing(true, false);
        assert_eq!(
            connection_header(&open, Version::Http11, false, false),
            Omit
        );
        assert_eq!(
            connection_header(&open, Version::Http10, false, false),
            KeepAlive
        );
        assert_eq!(
            connection_header(&open, Version::Http11, true, false),
            Close
        );
        assert_eq!(
            connection_header(&open, Version::Http10, false, true),
            Close
        );
        let close = framing(false, false);
        assert_eq!(
            connection_header(&close, Version::Http11, false, false),
            Close
        );
    }

    #[test]
    fn error_bodies_name_status_and_rule() {
        let mut res = Response::new();
        res.header("X-Old", "gone");
        error_response(&mut res, RequestError::BadRequest("invalid Host header"));
        assert_eq!(res.status(), crate::http::Status::BAD_REQUEST);
        assert!(matches!(res.body(), crate::http::Body::Bytes(b)
            if b == b"400 Bad Request\ninvalid Host header\n"));
    }
}

//! What the head parser accepts, refuses and returns, seen from outside:
//! whole heads in, spans, versions and framing out (RFC 9112 §2–§6). Kept
//! apart from `parse.rs`, whose insides change for speed, so that these
//! hold whatever the scan looks like; they are the unit tests that the
//! mutation run (`cargo mutants ... -- --lib`, README) leans on, and each
//! is here because a mutant of the parser survived without it.

use super::framing::{framing, BodyFraming, Framing};
use super::parse::{
    find_head_end, leading_empty_lines, parse_head, parse_head_prefix, Head, HeadLimits,
    HeaderSpan, Version,
};
use super::RequestError;

const LIMITS: HeadLimits = HeadLimits {
    max_header_bytes: 8192,
    max_headers: 100,
};

/// A head parsed both ways (in one pass, and after its end was found),
/// which must agree.
struct Parsed {
    buf: Vec<u8>,
    head: Head,
    headers: Vec<HeaderSpan>,
}

fn parse(text: &[u8]) -> Result<Parsed, RequestError> {
    parse_with(text, LIMITS)
}

fn parse_with(text: &[u8], limits: HeadLimits) -> Result<Parsed, RequestError> {
    let mut headers = Vec::new();
    let one_pass = parse_head_prefix(text, limits, &mut headers);
    let mut found = Vec::new();
    let len = find_head_end(text, 0).expect("a complete head");
    let two_pass = parse_head(text, len, limits, &mut found);
    assert_eq!(
        one_pass.map(|h| h.expect("complete")),
        two_pass,
        "the two paths disagree"
    );
    assert_eq!(headers, found);
    Ok(Parsed {
        buf: text.to_vec(),
        head: two_pass?,
        headers,
    })
}

impl Parsed {
    fn target(&self) -> &[u8] {
        self.head.target.of(&self.buf)
    }
    fn path(&self) -> &[u8] {
        self.head.path.of(&self.buf)
    }
    fn query(&self) -> Option<&[u8]> {
        self.head.query.map(|q| q.of(&self.buf))
    }
    fn authority(&self) -> Option<&[u8]> {
        self.head.authority.map(|a| a.of(&self.buf))
    }
    fn fields(&self) -> Vec<(&[u8], &[u8])> {
        self.headers
            .iter()
            .map(|h| (h.name.of(&self.buf), h.value.of(&self.buf)))
            .collect()
    }
    fn framing(&self) -> Result<Framing, RequestError> {
        framing(&self.buf, &self.head, &self.headers, 1 << 20)
    }
}

fn bad(text: &[u8]) -> RequestError {
    match parse(text) {
        Ok(_) => panic!("accepted {:?}", String::from_utf8_lossy(text)),
        Err(e) => e,
    }
}

#[test]
fn versions_and_their_names() {
    let one_zero = parse(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    assert_eq!(one_zero.head.version, Version::Http10);
    assert_eq!(one_zero.head.version.as_str(), "HTTP/1.0");
    let one_one = parse(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    assert_eq!(one_one.head.version.as_str(), "HTTP/1.1");
    assert_eq!(
        parse(b"GET / HTTP/1.7\r\nHost: a\r\n\r\n")
            .unwrap()
            .head
            .version,
        Version::Http11
    );
    assert_eq!(
        bad(b"GET / HTTP/2.0\r\n\r\n"),
        RequestError::VersionNotSupported
    );
    assert!(matches!(
        bad(b"GET / HTTP/1.x\r\n\r\n"),
        RequestError::BadRequest(_)
    ));
}

#[test]
fn spans_of_the_target_forms() {
    let origin = parse(b"GET /a/b?x=1&y HTTP/1.1\r\nHost: h\r\n\r\n").unwrap();
    assert_eq!(origin.target(), b"/a/b?x=1&y");
    assert_eq!(origin.path(), b"/a/b");
    assert!(!origin.head.path.is_empty());
    assert_eq!(origin.query(), Some(&b"x=1&y"[..]));
    assert_eq!(origin.authority(), None);

    let absolute = parse(b"GET http://Example.com:8080?q HTTP/1.1\r\nHost: h\r\n\r\n").unwrap();
    assert_eq!(absolute.authority(), Some(&b"Example.com:8080"[..]));
    assert!(absolute.head.path.is_empty(), "no path: it means /");
    assert_eq!(absolute.query(), Some(&b"q"[..]));

    let https = parse(b"GET HTTPS://h/p HTTP/1.1\r\nHost: h\r\n\r\n").unwrap();
    assert_eq!(
        (https.authority(), https.path()),
        (Some(&b"h"[..]), &b"/p"[..])
    );

    assert_eq!(
        parse(b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n")
            .unwrap()
            .path(),
        b"*"
    );
    assert!(matches!(
        bad(b"GET * HTTP/1.1\r\nHost: h\r\n\r\n"),
        RequestError::BadRequest(_)
    ));
    for target in [
        &b"ftp://h/"[..],
        b"http://",
        b"http://u@h/",
        b"http://h h/",
        b"h/p",
    ] {
        let mut text = b"GET ".to_vec();
        text.extend_from_slice(target);
        text.extend_from_slice(b" HTTP/1.1\r\nHost: h\r\n\r\n");
        assert!(
            matches!(bad(&text), RequestError::BadRequest(_)),
            "{target:?}"
        );
    }
}

#[test]
fn head_lengths_and_empty_lines_before_it() {
    assert_eq!(leading_empty_lines(b"\r\n\n\r\nGET"), 5);
    assert_eq!(leading_empty_lines(b"\r\rGET"), 0);
    let text = b"GET / HTTP/1.1\r\nHost: h\r\n\r\nnext";
    assert_eq!(parse(text).unwrap().head.len, text.len() - 4);
    let bare_lf = b"GET / HTTP/1.1\nHost: h\n\nnext";
    assert_eq!(parse(bare_lf).unwrap().head.len, bare_lf.len() - 4);
}

#[test]
fn framing_sees_its_fields_among_others_of_the_same_length() {
    // Each field that framing reads, alone beside Host and then followed
    // by a field whose name has the same length (Accept is as long as
    // Expect, User-Agent as Connection, Accept-Charset as Content-Length,
    // If-Modified-Since as Transfer-Encoding).
    type Check = fn(&Framing) -> bool;
    let cases: [(&[u8], &[u8], Check); 4] = [
        (b"Connection: close", b"User-Agent: x", |f| !f.keep_alive),
        (b"Content-Length: 5", b"Accept-Charset: x", |f| {
            f.body == BodyFraming::Length(5)
        }),
        (
            b"Transfer-Encoding: chunked",
            b"If-Modified-Since: x",
            |f| f.body == BodyFraming::Chunked,
        ),
        (
            b"Expect: 100-continue\r\nContent-Length: 5",
            b"Accept: x",
            |f| f.expect_continue,
        ),
    ];
    for (field, same_length, check) in cases {
        let alone = [&b"POST / HTTP/1.1\r\nHost: h\r\n"[..], field, b"\r\n\r\n"].concat();
        let followed = [
            &b"POST / HTTP/1.1\r\nHost: h\r\n"[..],
            field,
            b"\r\n",
            same_length,
            b"\r\n\r\n",
        ]
        .concat();
        for text in [alone, followed] {
            let f = parse(&text).unwrap().framing().unwrap();
            assert!(check(&f), "{:?}: {f:?}", String::from_utf8_lossy(&text));
        }
    }
}

#[test]
fn field_lines_and_their_trimmed_values() {
    let p = parse(b"GET / HTTP/1.1\r\nHost:h\r\nX-A: \t v 1 \t\r\nX-B:\r\n\r\n").unwrap();
    assert_eq!(
        p.fields(),
        vec![(&b"Host"[..], &b"h"[..]), (b"X-A", b"v 1"), (b"X-B", b"")]
    );
}

#[test]
fn request_line_refusals_say_which_rule() {
    const PARTS: &str = "request line is not `method SP target SP version`";
    let cases: [(&[u8], &str); 14] = [
        (b"GET /\xff HTTP/1.1", "invalid byte in request target"),
        // A tab is no separator: one space in all, so not three parts.
        (b"GET\t/ HTTP/1.1", PARTS),
        (b"GET\t/ x HTTP/1.1", "method is not a token"),
        (b"G@T / HTTP/1.1", "method is not a token"),
        (b" / HTTP/1.1", "method is not a token"),
        (b"GET  HTTP/1.1", "empty request target"),
        (b"GET /a HTTP/1.1 x", "malformed HTTP version"),
        (b"GET /a", PARTS),
        (b"GET", PARTS),
        (b"GET HTTP/1.1", PARTS),
        (b"G HTTP/1.1", PARTS),
        (b"GET * HTTP/1.1", "`*` target is only for OPTIONS"),
        (b"GET h/p HTTP/1.1", "unsupported request-target form"),
        (
            b"GET http://h{/p HTTP/1.1",
            "invalid authority in request target",
        ),
    ];
    for (line, why) in cases {
        for end in [&b"\r\n"[..], b"\n"] {
            let text = [line, end, b"Host: h", end, end].concat();
            assert_eq!(bad(&text), RequestError::BadRequest(why), "{line:?}");
        }
    }
}

#[test]
fn field_names_of_every_token_byte_and_why_others_are_refused() {
    let p = parse(b"GET / HTTP/1.1\r\nHost: h\r\nA!#$%&'*+.^_`|~z: v\r\nX_Y: w\r\n\r\n").unwrap();
    assert_eq!(
        p.fields()[1..],
        [(&b"A!#$%&'*+.^_`|~z"[..], &b"v"[..]), (b"X_Y", b"w")]
    );
    let cases: [(&[u8], &str); 4] = [
        (b"X-A : v", "whitespace before colon"),
        (b" X-A: v", "obsolete line folding"),
        (b"X-A v", "header field without a colon"),
        (b"X@A: v", "header name is not a token"),
    ];
    for (line, why) in cases {
        let text = [&b"GET / HTTP/1.1\r\nHost: h\r\n"[..], line, b"\r\n\r\n"].concat();
        assert_eq!(bad(&text), RequestError::BadRequest(why), "{line:?}");
    }
}

/// Requests with one byte that is not allowed where it is, at every
/// position of targets and hosts of many lengths, with the rest of the
/// head short or long behind it (the scan judges sixteen bytes at a time,
/// and the last ones of a buffer differently).
#[test]
fn a_forbidden_byte_anywhere_in_a_target_or_host_is_refused() {
    let padding: [&[u8]; 3] = [b"", b"X-Pad: 0123456789abcdef\r\n", b"X-Pad: 0\r\n"];
    for len in 1..40 {
        for at in 1..len {
            for odd in [0x01u8, 0x7f, 0xff] {
                let mut target = vec![b'a'; len];
                target[0] = b'/';
                target[at] = odd;
                for version in [&b"HTTP/1.0"[..], b"HTTP/1.1"] {
                    for rest in [&b"Host: h\r\n\r\n"[..], b"\r\n"] {
                        let text = [&b"GET "[..], &target, b" ", version, b"\r\n", rest].concat();
                        assert!(parse(&text).is_err(), "{text:?}");
                    }
                }
            }
        }
        for at in 0..len {
            let mut host = vec![b'h'; len];
            host[at] = b'{';
            for pad in padding {
                let text = [
                    &b"GET / HTTP/1.1\r\nHost: "[..],
                    &host,
                    b"\r\n",
                    pad,
                    b"\r\n",
                ]
                .concat();
                let p = parse(&text).unwrap();
                assert!(p.framing().is_err(), "{text:?}");
            }
        }
    }
}

#[test]
fn only_host_is_a_host() {
    // Fields as long as `Host`, before and after it.
    let text = b"GET / HTTP/1.1\r\nFrom: a@b\r\nHost: h\r\nDate: x y\r\n\r\n";
    assert!(parse(text).unwrap().framing().is_ok());
    let twice = b"GET / HTTP/1.1\r\nHost: h\r\nhOST: h\r\n\r\n";
    assert_eq!(
        parse(twice).unwrap().framing(),
        Err(RequestError::BadRequest("more than one Host header"))
    );
}

#[test]
fn hosts_of_the_allowed_bytes_are_accepted() {
    // Sixteen bytes that the fast check does not know (it knows letters,
    // digits, `-.:`): allowed ones pass, forbidden ones do not.
    let pad = b"X-Pad: 0123456789abcdef\r\n";
    for (host, ok) in [(b"{{{{{{{{{{{{{{{{", false), (b"________________", true)] {
        let text = head_with_host(host, pad);
        assert_eq!(parse(&text).unwrap().framing().is_ok(), ok, "{text:?}");
    }
    for host in [
        &b""[..],
        b"h",
        b"example.com:8080",
        b"[::1]:80",
        b"a-b_c~d!$&'()*+,;=%41",
    ] {
        for pad in [&b""[..], b"X-Pad: 0123456789abcdef\r\n"] {
            let text = head_with_host(host, pad);
            assert!(parse(&text).unwrap().framing().is_ok(), "{text:?}");
        }
    }
}

/// `GET /` with `host` as its Host field and `pad` (field lines or
/// nothing) after it.
fn head_with_host(host: &[u8], pad: &[u8]) -> Vec<u8> {
    [
        &b"GET / HTTP/1.1\r\nHost: "[..],
        host,
        b"\r\n",
        pad,
        b"\r\n",
    ]
    .concat()
}

/// A trailer line shorter than sixteen bytes is judged eight bytes at a
/// time; a tab in its value is a value byte, wherever it falls.
#[test]
fn short_trailer_values_may_hold_tabs() {
    use super::chunked::{ChunkedDecoder, ChunkedLimits};
    for value in [
        &b"a\tbcdefgh"[..],
        b"\tb",
        b"abcdefg\th",
        b"a\tb\tc\td",
        b"abcdefghij",
    ] {
        let mut body = [&b"1\r\nz\r\n0\r\nX: "[..], value, b"\r\n\r\n"].concat();
        let mut decoder = ChunkedDecoder::new(ChunkedLimits {
            max_body: 100,
            max_line: 100,
            max_trailers: 4,
        });
        let done = decoder.decode(&mut body).map(|d| d.done);
        assert_eq!(done, Ok(true), "{value:?}");
        assert_eq!(decoder.decoded_len(), 1);
    }
}

#[test]
fn an_oversized_head_is_414_when_its_request_line_alone_is_over() {
    use super::parse::oversize_error;
    let head = b"GET /0123456789 HTTP/1.1\r\nHost: h\r\n";
    let lf = head.iter().position(|&b| b == b'\n').unwrap();
    assert_eq!(
        oversize_error(head, lf + 1),
        RequestError::HeaderFieldsTooLarge
    );
    assert_eq!(oversize_error(head, lf), RequestError::UriTooLong);
    assert_eq!(
        oversize_error(&head[..lf], lf + 1),
        RequestError::UriTooLong
    );
    let limits = HeadLimits {
        max_header_bytes: lf + 1,
        max_headers: 100,
    };
    let text = [&head[..], b"\r\n"].concat();
    assert_eq!(
        parse_with(&text, limits).err(),
        Some(RequestError::HeaderFieldsTooLarge)
    );
    // The limit counts the request line and the field lines, not the
    // empty line that ends the head: a head of exactly the limit passes.
    for (max_header_bytes, ok) in [(head.len(), true), (head.len() - 1, false)] {
        let limits = HeadLimits {
            max_header_bytes,
            max_headers: 100,
        };
        assert_eq!(parse_with(&text, limits).is_ok(), ok, "{max_header_bytes}");
    }
}

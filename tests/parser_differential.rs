//! Our head parser against httparse, byte for byte.
//!
//! For heads both parsers should accept, they must extract the same method,
//! target, version and header fields. For generated heads, they must agree
//! on accepting or rejecting, except where we deliberately differ; each
//! difference is listed here and asserted below, so the list stays true:
//!
//! 1. **Versions.** httparse knows only HTTP/1.0 and HTTP/1.1; we take
//!    `HTTP/1.2`..`HTTP/1.9` as 1.1 (RFC 9110 §2.5) and answer other majors
//!    with 505 rather than 400.
//! 2. **Targets.** httparse accepts any run of URI bytes, including bytes
//!    above 0x7F, and any form; we accept visible ASCII only, and only
//!    origin-form, absolute-form and `*` (for OPTIONS) (RFC 9112 §3.2).
//! 3. **Semantics.** httparse checks syntax only; our `framing` step also
//!    enforces Host, Content-Length and Transfer-Encoding rules (tested in
//!    `framing.rs`), which this file does not involve.

use coffeeweb::http::parse::{parse_head_prefix, HeadLimits, HeaderSpan, Version};
use coffeeweb::http::RequestError;
use proptest::prelude::*;

const LIMITS: HeadLimits = HeadLimits {
    max_header_bytes: 64 * 1024,
    max_headers: 100,
};

#[derive(Debug, PartialEq, Eq)]
struct Parsed {
    method: String,
    target: String,
    minor: u8,
    headers: Vec<(String, Vec<u8>)>,
    len: usize,
}

fn ours(head: &[u8]) -> Result<Option<Parsed>, RequestError> {
    let mut spans: Vec<HeaderSpan> = Vec::new();
    let parsed = parse_head_prefix(head, LIMITS, &mut spans)?;
    Ok(parsed.map(|h| Parsed {
        method: String::from_utf8(h.method.of(head).to_vec()).unwrap(),
        target: String::from_utf8(h.target.of(head).to_vec()).unwrap(),
        minor: match h.version {
            Version::Http10 => 0,
            Version::Http11 => 1,
        },
        headers: spans
            .iter()
            .map(|s| {
                (
                    String::from_utf8(s.name.of(head).to_vec()).unwrap(),
                    s.value.of(head).to_vec(),
                )
            })
            .collect(),
        len: h.len,
    }))
}

fn theirs(head: &[u8]) -> Result<Option<Parsed>, httparse::Error> {
    let mut headers = [httparse::EMPTY_HEADER; 100];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(head)? {
        httparse::Status::Partial => Ok(None),
        httparse::Status::Complete(len) => Ok(Some(Parsed {
            method: req.method.unwrap().to_string(),
            target: req.path.unwrap().to_string(),
            minor: req.version.unwrap(),
            headers: req
                .headers
                .iter()
                .map(|h| (h.name.to_string(), h.value.to_vec()))
                .collect(),
            len,
        })),
    }
}

/// Real heads from real clients, all valid.
const CORPUS: &[&str] = &[
    "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
    "GET /index.html HTTP/1.1\r\nHost: localhost:8080\r\nConnection: keep-alive\r\n\
     sec-ch-ua: \"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n\
     sec-ch-ua-mobile: ?0\r\nsec-ch-ua-platform: \"Linux\"\r\nUpgrade-Insecure-Requests: 1\r\n\
     User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n\
     Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n\
     Sec-Fetch-Site: none\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-User: ?1\r\nSec-Fetch-Dest: document\r\n\
     Accept-Encoding: gzip, deflate, br, zstd\r\nAccept-Language: en-US,en;q=0.9\r\n\r\n",
    "GET /style.css?v=3 HTTP/1.1\r\nHost: example.org\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:125.0) \
     Gecko/20100101 Firefox/125.0\r\nAccept: text/css,*/*;q=0.1\r\nAccept-Language: en-US,en;q=0.5\r\n\
     Accept-Encoding: gzip, deflate, br\r\nReferer: http://example.org/\r\nConnection: keep-alive\r\n\
     Sec-Fetch-Dest: style\r\nSec-Fetch-Mode: no-cors\r\nSec-Fetch-Site: same-origin\r\n\r\n",
    "GET /a%20b/c?x=1&y=%2F HTTP/1.1\r\nHost: example.org\r\nUser-Agent: Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) \
     AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15\r\nAccept: */*\r\n\r\n",
    "POST /api/orders HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: 22\r\n\r\n",
    "HEAD / HTTP/1.0\r\n\r\n",
    "OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n",
    "GET http://example.com/p?q HTTP/1.1\r\nHost: example.com\r\n\r\n",
    "GET / HTTP/1.1\nHost: bare-lf\n\n",
    "\r\n\r\nGET / HTTP/1.1\r\nHost: after-empty-lines\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: t\r\nX-Empty:\r\nX-Spaces:    padded   \r\nX-Tab:\tv\t\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: t\r\nX-Obs-Text: caf\u{e9}\r\n\r\n",
    "PROPFIND /dav/ HTTP/1.1\r\nHost: t\r\nDepth: 1\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: t\r\n!#$%&'*+-.^_`|~09azAZ: tchars\r\n\r\n",
];

#[test]
fn real_heads_parse_identically() {
    for head in CORPUS {
        let bytes = head.as_bytes();
        let skip = coffeeweb::http::parse::leading_empty_lines(bytes);
        let a = ours(&bytes[skip..])
            .unwrap_or_else(|e| panic!("we refused {head:?}: {e}"))
            .unwrap();
        let mut b = theirs(bytes).unwrap().unwrap();
        b.len -= skip; // httparse counts the empty lines it skipped
        assert_eq!(a, b, "{head:?}");
    }
}

#[test]
fn every_prefix_of_a_valid_head_is_incomplete_for_both() {
    for head in CORPUS.iter().map(|h| h.as_bytes()) {
        let skip = coffeeweb::http::parse::leading_empty_lines(head);
        let head = &head[skip..];
        for cut in 1..head.len() {
            assert_eq!(
                ours(&head[..cut]).ok(),
                Some(None),
                "{:?}",
                String::from_utf8_lossy(&head[..cut])
            );
            assert!(matches!(theirs(&head[..cut]), Ok(None)));
        }
    }
}

/// Differences 1 and 2, pinned.
#[test]
fn deliberate_differences_still_hold() {
    let v12 = b"GET / HTTP/1.2\r\nHost: t\r\n\r\n";
    assert_eq!(ours(v12).unwrap().unwrap().minor, 1);
    assert!(theirs(v12).is_err());
    let v2 = b"GET / HTTP/2.0\r\nHost: t\r\n\r\n";
    assert_eq!(ours(v2), Err(RequestError::VersionNotSupported));
    assert!(theirs(v2).is_err());
    let high = "GET /caf\u{e9} HTTP/1.1\r\nHost: t\r\n\r\n".as_bytes();
    assert!(ours(high).is_err());
    assert!(theirs(high).is_ok());
    let ssdp = b"M-SEARCH * HTTP/1.1\r\nHost: t\r\n\r\n";
    assert!(ours(ssdp).is_err());
    assert!(theirs(ssdp).is_ok());
    let relative = b"GET relative HTTP/1.1\r\nHost: t\r\n\r\n";
    assert!(ours(relative).is_err());
    assert!(theirs(relative).is_ok());
}

fn token() -> impl Strategy<Value = String> {
    "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}"
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    // Mostly printable, sometimes tabs, obs-text or a stray control byte.
    prop::collection::vec(
        prop_oneof![
            8 => 0x20u8..0x7f,
            1 => Just(b'\t'),
            1 => 0x80u8..=0xff,
            1 => prop_oneof![0u8..0x09, 0x0bu8..0x20, Just(0x7f)],
        ],
        0..30,
    )
}

fn head() -> impl Strategy<Value = Vec<u8>> {
    (
        token(),
        "/[!-~&&[^ ]]{0,20}",
        prop_oneof![Just("1.0"), Just("1.1")],
        prop::collection::vec((token(), value(), prop::bool::ANY), 0..8),
        prop::bool::ANY,
    )
        .prop_map(|(method, target, version, fields, crlf)| {
            let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
            let mut head = format!("{method} {target} HTTP/{version}").into_bytes();
            head.extend_from_slice(eol);
            for (name, value, space) in fields {
                head.extend_from_slice(name.as_bytes());
                head.extend_from_slice(if space { b": " } else { b":" });
                head.extend_from_slice(&value);
                head.extend_from_slice(eol);
            }
            head.extend_from_slice(eol);
            head
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Same verdict; when both accept, the same extraction.
    #[test]
    fn generated_heads_agree(head in head()) {
        let a = ours(&head);
        let b = theirs(&head);
        match (a, b) {
            (Ok(Some(a)), Ok(Some(b))) => prop_assert_eq!(a, b),
            (Err(_), Err(_)) => {}
            (a, b) => prop_assert!(false, "disagree on {:?}: ours {:?}, httparse {:?}",
                String::from_utf8_lossy(&head), a, b),
        }
    }
}

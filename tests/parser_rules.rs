//! Each rule of the request grammar at the parser level: the head parser
//! and the framing step give exactly the status the contract names.

use coffeeweb::http::framing::{framing, BodyFraming, Framing};
use coffeeweb::http::parse::{parse_head_prefix, HeadLimits, HeaderSpan, Version};
use coffeeweb::http::RequestError;

const LIMITS: HeadLimits = HeadLimits {
    max_header_bytes: 256,
    max_headers: 5,
};
const MAX_BODY: u64 = 100;

fn parse(head: &str) -> Result<Framing, RequestError> {
    let mut spans: Vec<HeaderSpan> = Vec::new();
    let parsed = parse_head_prefix(head.as_bytes(), LIMITS, &mut spans)?
        .unwrap_or_else(|| panic!("incomplete: {head:?}"));
    framing(head.as_bytes(), &parsed, &spans, MAX_BODY)
}

fn status(head: &str) -> u16 {
    match parse(head) {
        Ok(_) => 200,
        Err(e) => e.status().code(),
    }
}

#[test]
fn versions() {
    for (version, expected) in [
        ("HTTP/1.0", 200),
        ("HTTP/1.1", 200),
        ("HTTP/1.2", 200),
        ("HTTP/1.9", 200),
        ("HTTP/0.9", 505),
        ("HTTP/2.0", 505),
        ("HTTP/3.0", 505),
        ("HTTP/1", 400),
        ("HTTP/1.1.1", 400),
        ("HTTP/11", 400),
        ("http/1.1", 400),
        ("HTTPS/1.1", 400),
        ("HTTP/a.b", 400),
    ] {
        assert_eq!(
            status(&format!("GET / {version}\r\nHost: t\r\n\r\n")),
            expected,
            "{version}"
        );
    }
}

#[test]
fn request_line_shape() {
    for line in [
        "GET  / HTTP/1.1",
        "GET /  HTTP/1.1",
        " GET / HTTP/1.1",
        "GET / HTTP/1.1 ",
        "GET /",
        "GET",
        "GET\t/ HTTP/1.1",
        "G\"T / HTTP/1.1",
        "GET / HTTP/1.1\rX",
    ] {
        assert_eq!(
            status(&format!("{line}\r\nHost: t\r\n\r\n")),
            400,
            "{line:?}"
        );
    }
    for method in ["get", "M-SEARCH", "X_CUSTOM", "PATCH", "!#$%&'*+-.^_`|~"] {
        assert_eq!(
            status(&format!("{method} / HTTP/1.1\r\nHost: t\r\n\r\n")),
            200,
            "{method}"
        );
    }
}

#[test]
fn targets() {
    for (target, expected) in [
        ("/", 200),
        ("/a/b?c=d&e", 200),
        ("/%2e%2e/\\x", 200),
        ("http://h/p", 200),
        ("HTTPS://h:1/p?q", 200),
        ("http://h", 200),
        ("*", 400),
        ("h/p", 400),
        ("h:80", 400),
        ("http:///p", 400),
        ("http://u@h/p", 400),
        ("ftp://h/p", 400),
    ] {
        assert_eq!(
            status(&format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n")),
            expected,
            "{target}"
        );
    }
    assert_eq!(status("OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n"), 200);
}

#[test]
fn sizes() {
    let long_target = format!("/{}", "a".repeat(300));
    assert_eq!(
        status(&format!("GET {long_target} HTTP/1.1\r\nHost: t\r\n\r\n")),
        414
    );
    assert_eq!(
        status(&format!(
            "GET / HTTP/1.1\r\nHost: t\r\nX: {}\r\n\r\n",
            "b".repeat(250)
        )),
        431
    );
    let six: String = (0..5).map(|i| format!("X-{i}: v\r\n")).collect();
    assert_eq!(
        status(&format!("GET / HTTP/1.1\r\nHost: t\r\n{six}\r\n")),
        431
    );
    let five: String = (0..4).map(|i| format!("X-{i}: v\r\n")).collect();
    assert_eq!(
        status(&format!("GET / HTTP/1.1\r\nHost: t\r\n{five}\r\n")),
        200
    );
}

#[test]
fn field_lines() {
    for field in [
        "Host : t",
        "Host\t: t",
        "Ho st: t",
        ": empty-name",
        "NoColon",
        " Leading: space",
        "\tX: y",
        "X: a\x00b",
        "X: a\x7fb",
        "X: a\x1bb",
        "X: a\rb",
    ] {
        assert_eq!(
            status(&format!("GET / HTTP/1.1\r\nHost: t\r\n{field}\r\n\r\n")),
            400,
            "{field:?}"
        );
    }
    for field in [
        "X:",
        "X:v",
        "X: \tv \t",
        "X: caf\u{e9}",
        "X: a\tb",
        "X: \"quoted\" (comment) ;p=1",
    ] {
        assert_eq!(
            status(&format!("GET / HTTP/1.1\r\nHost: t\r\n{field}\r\n\r\n")),
            200,
            "{field:?}"
        );
    }
}

#[test]
fn host() {
    assert_eq!(status("GET / HTTP/1.1\r\n\r\n"), 400);
    assert_eq!(status("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), 400);
    assert_eq!(status("GET / HTTP/1.1\r\nHost:\r\n\r\n"), 200);
    assert_eq!(status("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"), 200);
    assert_eq!(status("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), 400);
    assert_eq!(status("GET / HTTP/1.0\r\n\r\n"), 200);
    // The same verdicts when sixteen bytes follow the value, where the
    // scan judges a Host line from one load rather than by the rule.
    let long_field = "User-Agent: curl/8.5.0\r\n";
    for (host, expected) in [
        ("", 200),
        ("127.0.0.1:8080", 200),
        ("[::1]:8080", 200),
        ("a/b", 400),
        ("a b", 400),
    ] {
        let head = format!("GET / HTTP/1.1\r\nHost: {host}\r\n{long_field}\r\n");
        assert_eq!(status(&head), expected, "{head:?}");
    }
}

#[test]
fn content_length() {
    let cl = |v: &str| {
        status(&format!(
            "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: {v}\r\n\r\n"
        ))
    };
    for bad in ["", "+5", "-5", "0x5", "5 5", "5,6", "5, ,5", "5.0", "五"] {
        assert_eq!(cl(bad), 400, "{bad:?}");
    }
    for good in ["0", "5", " 5 ", "5, 5", "005"] {
        assert_eq!(cl(good), 200, "{good:?}");
    }
    assert_eq!(cl("101"), 413);
    assert_eq!(cl("99999999999999999999999999"), 413);
    let two = |a: &str, b: &str| {
        status(&format!(
            "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: {a}\r\nContent-Length: {b}\r\n\r\n"
        ))
    };
    assert_eq!(two("5", "5"), 200);
    assert_eq!(two("5", "6"), 400);
    let framed = parse("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 7\r\n\r\n").unwrap();
    assert_eq!(framed.body, BodyFraming::Length(7));
}

#[test]
fn transfer_encoding() {
    let te = |v: &str| {
        status(&format!(
            "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: {v}\r\n\r\n"
        ))
    };
    assert_eq!(te("chunked"), 200);
    assert_eq!(te("CHUNKED"), 200);
    assert_eq!(te("gzip"), 501);
    assert_eq!(te("gzip, chunked"), 501);
    assert_eq!(te("chunked, chunked"), 400);
    assert_eq!(te(""), 400);
    assert_eq!(
        status(
            "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
        ),
        400
    );
    assert_eq!(
        status("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
        400
    );
    let framed = parse("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap();
    assert_eq!(framed.body, BodyFraming::Chunked);
}

#[test]
fn connection_and_expect() {
    let keep = |head: &str| parse(head).unwrap().keep_alive;
    assert!(keep("GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
    assert!(!keep(
        "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    ));
    assert!(!keep(
        "GET / HTTP/1.1\r\nHost: t\r\nConnection: Upgrade, CLOSE\r\n\r\n"
    ));
    assert!(!keep("GET / HTTP/1.0\r\n\r\n"));
    assert!(keep("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
    assert!(!keep(
        "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"
    ));
    let expects = |head: &str| parse(head).unwrap().expect_continue;
    assert!(expects(
        "POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n"
    ));
    assert!(
        !expects("GET / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n\r\n"),
        "no body, nothing to wait for"
    );
    assert_eq!(
        parse("GET / HTTP/1.1\r\nHost: t\r\n\r\n").map(|f| f.body),
        Ok(BodyFraming::None)
    );
}

#[test]
fn bare_lf_and_leading_empty_lines() {
    assert_eq!(status("GET / HTTP/1.1\nHost: t\n\n"), 200);
    assert_eq!(status("GET / HTTP/1.1\r\nHost: t\n\r\n"), 200);
    let skip = coffeeweb::http::parse::leading_empty_lines(b"\r\n\n\r\nGET");
    assert_eq!(skip, 5);
    let mut spans = Vec::new();
    let head = parse_head_prefix(b"GET / HTTP/1.0\r\n\r\n", LIMITS, &mut spans)
        .unwrap()
        .unwrap();
    assert_eq!(head.version, Version::Http10);
}

/// A field whose name has the length of a framing field but another
/// spelling is an ordinary field (the parser compares lengths first).
#[test]
fn look_alike_names_are_ordinary_fields() {
    assert_eq!(status("GET / HTTP/1.1\r\nHots: a\r\nHost: a\r\n\r\n"), 200);
    assert_eq!(status("GET / HTTP/1.1\r\nHots: a\r\n\r\n"), 400, "no Host");
    let framed = parse("GET / HTTP/1.1\r\nHost: t\r\nContent-Lengtx: 5x\r\n\r\n");
    assert_eq!(framed.map(|f| f.body), Ok(BodyFraming::None));
    let framed = parse("GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encodinx: gzip\r\n\r\n");
    assert_eq!(framed.map(|f| f.body), Ok(BodyFraming::None));
    let framed = parse("GET / HTTP/1.1\r\nHost: t\r\nConnectiox: close\r\n\r\n").unwrap();
    assert!(framed.keep_alive);
    let framed =
        parse("POST / HTTP/1.1\r\nHost: t\r\nExpecx: 100-continue\r\nContent-Length: 1\r\n\r\n")
            .unwrap();
    assert!(!framed.expect_continue);
}

/// Each Host and Transfer-Encoding refusal says which rule it is (the
/// status alone is 400 for all of them).
#[test]
fn host_and_coding_errors_name_their_rule() {
    let error = |head: &str| parse(head).err();
    assert_eq!(
        error("GET / HTTP/1.1\r\n\r\n"),
        Some(RequestError::BadRequest("missing Host header"))
    );
    assert_eq!(
        error("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"),
        Some(RequestError::BadRequest("invalid Host header"))
    );
    assert_eq!(
        error("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
        Some(RequestError::BadRequest("more than one Host header"))
    );
    assert_eq!(
        error("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: ,\r\n\r\n"),
        Some(RequestError::BadRequest("empty Transfer-Encoding"))
    );
    assert_eq!(
        error("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"),
        Some(RequestError::BadRequest("chunked applied more than once"))
    );
}

/// `--max-body-bytes` itself is allowed; one more is a 413.
#[test]
fn a_declared_length_at_the_limit_is_allowed() {
    let framed = parse(&format!(
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: {MAX_BODY}\r\n\r\n"
    ));
    assert_eq!(framed.map(|f| f.body), Ok(BodyFraming::Length(MAX_BODY)));
}

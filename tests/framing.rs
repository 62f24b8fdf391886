//! Request framing on the wire: every framing error is answered once with
//! its status and the connection closes without reading anything after it
//! as a request; `Expect: 100-continue`; bodies are consumed for every
//! method; chunked bodies; the lingering close that lets a client read the
//! error instead of a reset.

mod common;

use coffeeweb::Config;
use common::{config, echo_server, get, Client};
use std::io::Write;

/// Sends `request` followed by a pipelined `GET /smuggled`, and checks that
/// the answer is exactly one `status` and then the end of the connection.
fn refused_once(config: Config, request: &str, status: u16) {
    let server = echo_server(config);
    let mut client = Client::connect(server.addr);
    client.send(format!("{request}{}", get("/smuggled")));
    let reply = client.response();
    assert_eq!(reply.status, status, "{request:?} gave {reply:?}");
    assert_eq!(reply.header("connection"), Some("close"), "{request:?}");
    let rest = client.read_to_end();
    assert!(
        !String::from_utf8_lossy(&rest).contains("HTTP/1.1"),
        "{request:?}: a second response followed: {:?}",
        String::from_utf8_lossy(&rest)
    );
}

#[test]
fn malformed_heads_are_400() {
    for request in [
        "GET / HTTP/1.1\r\nHost : t\r\n\r\n",  // space before colon
        "GET / HTTP/1.1\r\nHost\t: t\r\n\r\n", // tab before colon
        "GET / HTTP/1.1\r\nHost: t\r\nX-A: a\r\n  folded\r\n\r\n", // obs-fold
        "GET / HTTP/1.1\r\nHost: t\rX: y\r\n\r\n", // bare CR
        "GET / HTTP/1.1\r\nHost: t\r\nX-A: a\x01b\r\n\r\n", // control char in value
        "GET / HTTP/1.1\r\nHost: t\r\nX A: b\r\n\r\n", // name not a token
        "GET / HTTP/1.1\r\nHost: t\r\nNoColon\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\n", // HTTP/1.1 without Host
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", // two Hosts
        "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n",
        "G(T / HTTP/1.1\r\nHost: t\r\n\r\n", // method not a token
        "GET /  HTTP/1.1\r\nHost: t\r\n\r\n", // not method SP target SP version
        "GET / HTTP/1.1 \r\nHost: t\r\n\r\n",
        "GET\r\nHost: t\r\n\r\n",
        "GET /\r\n\r\n", // HTTP/0.9 style
        "GET / http/1.1\r\nHost: t\r\n\r\n",
        "GET / HTTP/1.10\r\nHost: t\r\n\r\n",
        "GET * HTTP/1.1\r\nHost: t\r\n\r\n", // * without OPTIONS
        "CONNECT t:443 HTTP/1.1\r\nHost: t\r\n\r\n", // authority-form
        "GET a/b HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET /caf\u{e9} HTTP/1.1\r\nHost: t\r\n\r\n", // non-ASCII target
        // An invalid Host with sixteen bytes after it: judged from one load.
        "GET / HTTP/1.1\r\nHost: a/b\r\nUser-Agent: curl/8.5.0\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a b\r\nUser-Agent: curl/8.5.0\r\n\r\n",
    ] {
        refused_once(config(), request, 400);
    }
}

#[test]
fn content_length_rules() {
    for request in [
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: +5\r\n\r\nhello",
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -5\r\n\r\nhello",
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 0x5\r\n\r\nhello",
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5 5\r\n\r\nhello",
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: \r\n\r\nhello",
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5, 6\r\n\r\nhello",
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
    ] {
        refused_once(config(), request, 400);
    }
    // One value repeated is that value (RFC 9110 §8.6).
    let server = echo_server(config());
    let mut client = Client::connect(server.addr);
    let reply = client
        .send(
            "POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\nhello",
        )
        .response();
    assert_eq!(reply.text(), "POST /a 5 hello");
}

#[test]
fn transfer_encoding_rules() {
    let chunked = "5\r\nhello\r\n0\r\n\r\n";
    refused_once(
        config(),
        &format!("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n{chunked}"),
        400,
    );
    refused_once(
        config(),
        &format!("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n{chunked}"),
        400,
    );
    refused_once(
        config(),
        &format!(
            "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, chunked\r\n\r\n{chunked}"
        ),
        400,
    );
    for coding in ["gzip", "gzip, chunked", "identity"] {
        refused_once(
            config(),
            &format!("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: {coding}\r\n\r\n{chunked}"),
            501,
        );
    }
    let server = echo_server(config());
    let mut client = Client::connect(server.addr);
    let reply = client
        .send(format!(
            "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: ChUnKeD\r\n\r\n{chunked}"
        ))
        .response();
    assert_eq!(reply.text(), "POST /c 5 hello");
}

#[test]
fn versions() {
    for version in ["HTTP/0.9", "HTTP/2.0", "HTTP/3.0"] {
        refused_once(
            config(),
            &format!("GET / {version}\r\nHost: t\r\n\r\n"),
            505,
        );
    }
}

#[test]
fn size_limits() {
    let small = || Config {
        max_header_bytes: 256,
        max_headers: 5,
        max_body_bytes: 10,
        ..config()
    };
    refused_once(
        small(),
        &format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(300)),
        414,
    );
    refused_once(
        small(),
        &format!(
            "GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
            "b".repeat(300)
        ),
        431,
    );
    let many: String = (0..6).map(|i| format!("X-{i}: v\r\n")).collect();
    refused_once(
        small(),
        &format!("GET / HTTP/1.1\r\nHost: t\r\n{many}\r\n"),
        431,
    );
    refused_once(
        small(),
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world",
        413,
    );
    refused_once(
        small(),
        "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n",
        413,
    );
    // Exactly at the limits is fine.
    let server = echo_server(small());
    let mut client = Client::connect(server.addr);
    let three: String = (0..3).map(|i| format!("X-{i}: v\r\n")).collect();
    let reply = client
        .send(format!(
            "POST /x HTTP/1.1\r\nHost: t\r\n{three}Content-Length: 10\r\n\r\n0123456789"
        ))
        .response();
    assert_eq!(reply.text(), "POST /x 10 0123456789");
}

#[test]
fn a_head_that_never_ends_is_cut_off_at_the_limit() {
    let server = echo_server(Config {
        max_header_bytes: 1024,
        ..config()
    });
    let mut client = Client::connect(server.addr);
    client.send("GET / HTTP/1.1\r\nHost: t\r\n");
    // Send header lines forever (well, until the server answers).
    let line = "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    for _ in 0..40 {
        if client.stream.write_all(line.as_bytes()).is_err() {
            break;
        }
    }
    assert_eq!(client.response().status, 431);
}

#[test]
fn chunked_framing_errors_are_400() {
    for body in [
        "5\nhello\r\n0\r\n\r\n",        // bare LF after the size
        "5\r\nhello\n0\r\n\r\n",        // bare LF after the data
        "5\r\nhelloXX0\r\n\r\n",        // no CRLF after the data
        "0x5\r\nhello\r\n0\r\n\r\n",    // 0x prefix
        "-5\r\nhello\r\n0\r\n\r\n",     // sign
        " 5\r\nhello\r\n0\r\n\r\n",     // leading space
        "5;\x01\r\nhello\r\n0\r\n\r\n", // control character in an extension
        "zz\r\nhello\r\n0\r\n\r\n",
    ] {
        refused_once(
            config(),
            &format!("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n{body}"),
            400,
        );
    }
    refused_once(
        config(),
        "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n",
        413,
    );
}

#[test]
fn chunked_bodies_with_extensions_and_trailers() {
    let server = echo_server(config());
    let mut client = Client::connect(server.addr);
    let reply = client
        .send(
            "POST /t HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\
             3;name=value\r\nabc\r\n00004 ; quoted=\"x\"\r\ndefg\r\nA\r\n0123456789\r\n0\r\n\
             Checksum: 1234\r\nX-Trailer: yes\r\n\r\n",
        )
        .response();
    assert_eq!(reply.text(), "POST /t 17 abcdefg0123456789");
    assert_eq!(client.send(get("/next")).response().text(), "GET /next 0 ");
}

#[test]
fn bodies_are_consumed_for_get_and_head_too() {
    let server = echo_server(config());
    let mut client = Client::connect(server.addr);
    client.send(format!(
        "GET /g HTTP/1.1\r\nHost: t\r\nContent-Length: 20\r\n\r\nGET /evil HTTP/1.1\r\n\
         HEAD /h HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nGET /\r\n0\r\n\r\n{}",
        get("/after")
    ));
    assert_eq!(client.response().text(), "GET /g 20 GET /evil HTTP/1.1\r\n");
    assert_eq!(client.response_to("HEAD").status, 200);
    assert_eq!(client.response().text(), "GET /after 0 ");
}

#[test]
fn expect_100_continue_gets_an_interim_response_first() {
    let server = echo_server(config());
    let mut client = Client::connect(server.addr);
    client.send("POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    let interim = client.response();
    assert_eq!((interim.status, interim.reason.as_str()), (100, "Continue"));
    let reply = client.send("hello").response();
    assert_eq!(reply.text(), "POST /e 5 hello");
}

#[test]
fn expect_100_continue_refused_early_gets_only_the_final_answer() {
    // Over the body limit: 413 and no 100.
    let server = echo_server(Config {
        max_body_bytes: 4,
        ..config()
    });
    let mut client = Client::connect(server.addr);
    client.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    let reply = client.response();
    assert_eq!(reply.status, 413);
    // A method the handler refuses: 405 and no 100.
    let welcome = common::TestServer::start(config());
    let mut client = Client::connect(welcome.addr);
    client.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    let reply = client.response();
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("GET, HEAD"));
    assert_eq!(reply.header("connection"), Some("close"));
}

#[test]
fn the_client_reads_the_error_even_while_it_keeps_sending() {
    let server = echo_server(Config {
        max_body_bytes: 1024,
        ..config()
    });
    let mut client = Client::connect(server.addr);
    client.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10000000\r\n\r\n");
    // Keep sending the refused body; without a lingering close the server
    // would reset the connection and the 413 could be lost.
    let mut writer = client.stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..16 {
            if writer.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    assert_eq!(client.response().status, 413);
    sender.join().unwrap();
}

#[test]
fn absolute_form_authority_wins_over_host() {
    let server = echo_server(config());
    let mut client = Client::connect(server.addr);
    let reply = client
        .send("GET http://example.com:8080/host?x=1 HTTP/1.1\r\nHost: other\r\n\r\n")
        .response();
    assert_eq!(reply.text(), "example.com:8080");
    assert_eq!(client.send(get("/host")).response().text(), "test");
    let empty_host = client
        .send("GET /host HTTP/1.1\r\nHost:\r\n\r\n")
        .response();
    assert_eq!((empty_host.status, empty_host.text().as_str()), (200, ""));
    // Followed by sixteen bytes more, the line is judged from one load.
    let empty_host_then_field = client
        .send("GET /host HTTP/1.1\r\nHost:\r\nUser-Agent: curl/8.5.0\r\n\r\n")
        .response();
    assert_eq!(
        (
            empty_host_then_field.status,
            empty_host_then_field.text().as_str()
        ),
        (200, "")
    );
    let options = client
        .send("OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n")
        .response();
    assert_eq!(options.text(), "OPTIONS * 0 ");
}

#[test]
fn leading_empty_lines_and_bare_lf_heads_are_accepted() {
    let server = echo_server(config());
    let mut client = Client::connect(server.addr);
    let reply = client
        .send("\r\n\r\n\nGET /lf HTTP/1.1\nHost: t\nX-A: b\n\n")
        .response();
    assert_eq!(reply.text(), "GET /lf 0 ");
}

//! The access log: `combined` lines read by a real consumer (GoAccess) and
//! by a strict parser here, `json` lines by serde_json, `--access-log FILE`
//! appending, and rotation by SIGUSR1 (rename, signal, new file).
//!
//! Lines are written once per wake-up of the loop, so each test stops the
//! server (SIGTERM, exit awaited) before it reads the file.

mod common;

use common::{get, Binary, Client};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A fresh path in the temp dir, removed (with its rotations) on drop.
struct LogPath(PathBuf);

impl LogPath {
    fn new(name: &str) -> LogPath {
        let path = std::env::temp_dir().join(format!(
            "coffeeweb-{name}-{}-{:?}.log",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_file(&path);
        LogPath(path)
    }

    fn str(&self) -> &str {
        self.0.to_str().unwrap()
    }

    fn rotated(&self) -> PathBuf {
        self.0.with_extension("log.1")
    }
}

impl Drop for LogPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        let _ = std::fs::remove_file(self.rotated());
    }
}

/// The binary, logging in `format` to `log`.
fn logging_to(log: &LogPath, format: &str) -> Binary {
    Binary::start(&[
        "-l",
        "127.0.0.1:0",
        "--access-log-format",
        format,
        "--access-log",
        log.str(),
    ])
}

fn stop(mut binary: Binary) {
    binary.signal(libc::SIGTERM);
    let status = binary.wait_exit(Duration::from_secs(10)).expect("exit");
    assert!(status.success());
}

/// What a client sent and saw, for checking its log line.
struct Sent {
    method: &'static str,
    target: &'static str,
    referer: Option<&'static str>,
    user_agent: Option<&'static str>,
    status: u16,
    body_bytes: usize,
}

/// Requests with and without Referer and User-Agent, quotes and
/// backslashes in them, and a 404 and a 405.
fn load(binary: &Binary) -> Vec<Sent> {
    let cases = [
        (
            "GET",
            "/",
            Some("http://example.com/a?b=\"c\""),
            Some("curl/8.5.0"),
        ),
        (
            "GET",
            "/missing?q=1&r=%22",
            None,
            Some("agent \"quoted\" \\ back"),
        ),
        ("DELETE", "/", None, None),
        (
            "HEAD",
            "/",
            Some("-"),
            Some("Mozilla/5.0 (X11; Linux x86_64)"),
        ),
        ("GET", "/", None, Some("")),
    ];
    let mut client = Client::connect(binary.addr);
    cases
        .into_iter()
        .map(|(method, target, referer, user_agent)| {
            let mut request = format!("{method} {target} HTTP/1.1\r\nHost: t\r\n");
            if let Some(r) = referer {
                request += &format!("Referer: {r}\r\n");
            }
            if let Some(ua) = user_agent {
                request += &format!("User-Agent: {ua}\r\n");
            }
            request += "\r\n";
            let reply = client.send(request).response_to(method);
            Sent {
                method,
                target,
                referer,
                user_agent: user_agent.filter(|ua| !ua.is_empty()),
                status: reply.status,
                body_bytes: reply.body.len(),
            }
        })
        .collect()
}

/// A strict reader of one NCSA combined line: every field in its place,
/// quoted fields unescaped (`\"` and `\\`), nothing left over.
fn parse_combined(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut rest = line;
    let (host, after) = rest.split_once(" - - [").expect("host - - [");
    fields.push(host.to_string());
    let (time, after) = after.split_once("] ").expect("time]");
    assert_eq!(time.len(), 26, "dd/Mon/yyyy:hh:mm:ss +0000: {time}");
    assert!(time.ends_with(" +0000"), "{time}");
    fields.push(time.to_string());
    rest = after;
    let quoted = |rest: &mut &str| -> String {
        let body = rest.strip_prefix('"').expect("opening quote");
        let mut out = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => out.push(chars.next().expect("escaped char").1),
                '"' => {
                    *rest = &body[i + 1..];
                    return out;
                }
                c => out.push(c),
            }
        }
        panic!("unterminated quote in {line}");
    };
    fields.push(quoted(&mut rest));
    let (status, after) = rest.trim_start().split_once(' ').expect("status");
    let (bytes, after) = after.split_once(' ').expect("bytes");
    assert!(status.len() == 3 && status.bytes().all(|b| b.is_ascii_digit()));
    assert!(bytes.bytes().all(|b| b.is_ascii_digit()), "{bytes}");
    fields.push(status.to_string());
    fields.push(bytes.to_string());
    rest = after;
    fields.push(quoted(&mut rest));
    rest = rest.strip_prefix(' ').expect("space before the user agent");
    fields.push(quoted(&mut rest));
    assert_eq!(rest, "", "nothing after the user agent");
    fields
}

fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(str::to_string)
        .collect()
}

fn goaccess_available() -> bool {
    let found = Command::new("goaccess").arg("--version").output().is_ok();
    if !found && std::env::var("CI").as_deref() == Ok("true") {
        panic!("goaccess is not installed (apt-get install goaccess) and CI=true");
    }
    found
}

#[test]
fn combined_lines_are_read_by_goaccess_and_a_strict_parser() {
    let log = LogPath::new("combined");
    let binary = logging_to(&log, "combined");
    let sent = load(&binary);
    stop(binary);
    let lines = read_lines(&log.0);
    assert_eq!(lines.len(), sent.len(), "{lines:#?}");
    for (line, sent) in lines.iter().zip(&sent) {
        let f = parse_combined(line);
        assert_eq!(f[0], "127.0.0.1", "{line}");
        assert_eq!(f[2], format!("{} {} HTTP/1.1", sent.method, sent.target));
        assert_eq!(f[3], sent.status.to_string());
        assert_eq!(f[4], sent.body_bytes.to_string(), "body bytes: {line}");
        assert_eq!(f[5], sent.referer.unwrap_or("-"), "{line}");
        assert_eq!(f[6], sent.user_agent.unwrap_or("-"), "{line}");
    }

    if !goaccess_available() {
        eprintln!("SKIPPED the GoAccess half: goaccess is not installed");
        return;
    }
    let report = log.0.with_extension("json");
    let output = Command::new("goaccess")
        .arg(&log.0)
        .args(["--log-format=COMBINED", "--no-global-config", "-o"])
        .arg(&report)
        .output()
        .expect("run goaccess");
    assert!(output.status.success(), "{output:?}");
    let json: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let _ = std::fs::remove_file(&report);
    let general = &json["general"];
    assert_eq!(general["total_requests"], sent.len(), "{general}");
    assert_eq!(general["valid_requests"], sent.len(), "{general}");
    assert_eq!(general["failed_requests"], 0, "{general}");
    let bandwidth: usize = sent.iter().map(|s| s.body_bytes).sum();
    assert_eq!(general["bandwidth"], bandwidth, "{general}");
    let classes: Vec<(String, u64)> = json["status_codes"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["data"].as_str().unwrap().to_string(),
                d["hits"]["count"].as_u64().unwrap(),
            )
        })
        .collect();
    let count = |prefix: &str| {
        classes
            .iter()
            .find(|(c, _)| c.starts_with(prefix))
            .map(|c| c.1)
    };
    assert_eq!(count("2xx"), Some(3), "{classes:?}");
    assert_eq!(count("4xx"), Some(2), "{classes:?}");
}

#[test]
fn json_lines_have_every_field() {
    let log = LogPath::new("json");
    let binary = logging_to(&log, "json");
    let sent = load(&binary);
    // A request that cannot be parsed: null request fields.
    let mut bad = Client::connect(binary.addr);
    assert_eq!(bad.send("BAD\r\n\r\n").response().status, 400);
    stop(binary);
    let lines = read_lines(&log.0);
    assert_eq!(lines.len(), sent.len() + 1);
    for (line, sent) in lines.iter().zip(&sent) {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let time = v["time"].as_str().unwrap();
        assert!(
            time.len() == 20 && time.ends_with('Z') && &time[10..11] == "T",
            "RFC 3339: {time}"
        );
        assert_eq!(v["remote"], "127.0.0.1");
        assert_eq!(v["method"], sent.method);
        assert_eq!(v["target"], sent.target);
        assert_eq!(v["version"], "HTTP/1.1");
        assert_eq!(v["status"], sent.status);
        assert_eq!(v["bytes"], sent.body_bytes);
        assert!(v["duration_ms"].as_f64().unwrap() >= 0.0);
        match sent.referer {
            Some(r) => assert_eq!(v["referer"], r),
            None => assert!(v["referer"].is_null(), "{line}"),
        }
        match sent.user_agent {
            Some(ua) => assert_eq!(v["user_agent"], ua),
            None => assert!(v["user_agent"].is_null() || v["user_agent"] == "", "{line}"),
        }
    }
    let unparsed: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(unparsed["status"], 400);
    assert!(unparsed["method"].is_null() && unparsed["target"].is_null());
}

#[test]
fn sigusr1_reopens_the_file_after_rotation() {
    let log = LogPath::new("rotate");
    let mut binary = logging_to(&log, "combined");
    let mut client = Client::connect(binary.addr);
    for _ in 0..3 {
        client.send(get("/before")).response();
    }
    std::fs::rename(&log.0, log.rotated()).unwrap();
    binary.signal(libc::SIGUSR1);
    // The loop says when it has reopened: the readiness signal to wait for.
    let mut stderr = BufReader::new(binary.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("reopened the access log") {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "stderr ended");
    }
    for _ in 0..2 {
        client.send(get("/after")).response();
    }
    drop(client);
    stop(binary);
    let old = read_lines(&log.rotated());
    let new = read_lines(&log.0);
    assert_eq!(old.len(), 3, "{old:?}");
    assert!(old.iter().all(|l| l.contains("GET /before ")), "{old:?}");
    assert_eq!(new.len(), 2, "{new:?}");
    assert!(new.iter().all(|l| l.contains("GET /after ")), "{new:?}");
}

#[test]
fn the_file_is_appended_to() {
    let log = LogPath::new("append");
    std::fs::write(&log.0, "an earlier line\n").unwrap();
    let binary = Binary::start(&["-l", "127.0.0.1:0", "--access-log", log.str()]);
    Client::connect(binary.addr).send(get("/")).response();
    stop(binary);
    let lines = read_lines(&log.0);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0], "an earlier line");
    assert!(lines[1].contains("\"GET / HTTP/1.1\" 200 "), "{}", lines[1]);
}

#[test]
fn an_unwritable_log_file_is_an_error_naming_it() {
    let output = Command::new(env!("CARGO_BIN_EXE_coffeeweb"))
        .args(["-l", "127.0.0.1:0", "--access-log", "/no/such/dir/x.log"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/no/such/dir/x.log"), "{stderr}");
    assert!(output.stdout.is_empty());
}

/// Requests answered later (`/delay`) and streamed (`/sse` and
/// `/stream-bytes` chunked, `/stream-bytes` to an HTTP/1.0 client, a
/// `/drip` of a declared length), whose heads are gone when their lines
/// are written, and a large `/bytes` answered whole: (method, target,
/// version, referer, user agent, the body bytes the client received).
type LateSent = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    usize,
);

/// The drip of [`late_and_streamed`] and the time it takes, in ms.
const DRIP: &str = "/drip?numbytes=5&duration=100ms";
const DRIP_MS: f64 = 100.0;

fn late_and_streamed(binary: &Binary) -> Vec<LateSent> {
    let mut client = Client::connect(binary.addr);
    let delay = "/delay/10ms?jitter=0&q=%22";
    let request = format!(
        "GET {delay} HTTP/1.1\r\nHost: t\r\nReferer: http://r.example/\"x\"\r\nUser-Agent: late/1.0\r\n\r\n"
    );
    let delayed = client.send(request).response();
    assert_eq!(delayed.status, 200);
    let sse = "/sse?count=2&interval=10ms";
    let reply = client
        .send(format!(
            "GET {sse} HTTP/1.1\r\nHost: t\r\nUser-Agent: events\r\n\r\n"
        ))
        .response();
    assert_eq!(reply.header("transfer-encoding"), Some("chunked"));
    assert_eq!(reply.text().matches("\n\n").count(), 2);
    let bytes = "/stream-bytes/3000?chunk_size=700";
    let streamed = client.send(get(bytes)).response();
    assert_eq!(streamed.header("transfer-encoding"), Some("chunked"));
    assert_eq!(streamed.body.len(), 3000);
    let drip = client.send(get(DRIP)).response();
    assert_eq!(drip.body, b"*****");
    // A whole response, written in many writes: logged as before.
    let whole = client.send(get("/bytes/200000")).response();
    assert_eq!(whole.body.len(), 200_000);
    assert!(whole.header("transfer-encoding").is_none());
    let mut old = Client::connect(binary.addr);
    old.send("GET /stream-bytes/5 HTTP/1.0\r\nReferer: /from\r\n\r\n");
    let all = old.read_to_end();
    assert!(all.starts_with(b"HTTP/1.1 200 "), "{all:?}");
    let head_end = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    vec![
        (
            "GET",
            delay,
            "HTTP/1.1",
            Some("http://r.example/\"x\""),
            Some("late/1.0"),
            delayed.body.len(),
        ),
        (
            "GET",
            sse,
            "HTTP/1.1",
            None,
            Some("events"),
            reply.body.len(),
        ),
        ("GET", bytes, "HTTP/1.1", None, None, 3000),
        ("GET", DRIP, "HTTP/1.1", None, None, 5),
        ("GET", "/bytes/200000", "HTTP/1.1", None, None, 200_000),
        (
            "GET",
            "/stream-bytes/5",
            "HTTP/1.0",
            Some("/from"),
            None,
            all.len() - head_end,
        ),
    ]
}

/// The lines the binary with `--httpbin /` logged in `format` for
/// [`late_and_streamed`], with what was sent, one line per request.
fn late_lines(name: &str, format: &str) -> (Vec<String>, Vec<LateSent>) {
    let log = LogPath::new(name);
    let binary = httpbin_logging_to(&log, format);
    let sent = late_and_streamed(&binary);
    stop(binary);
    let lines = read_lines(&log.0);
    assert_eq!(lines.len(), sent.len(), "{lines:#?}");
    (lines, sent)
}

/// The binary with `--httpbin /`, logging in `format` to `log`.
fn httpbin_logging_to(log: &LogPath, format: &str) -> Binary {
    Binary::start(&[
        "-l",
        "127.0.0.1:0",
        "--httpbin",
        "/",
        "--access-log-format",
        format,
        "--access-log",
        log.str(),
    ])
}

#[test]
fn late_and_streamed_answers_log_their_request_line_in_json() {
    let (lines, sent) = late_lines("late-json", "json");
    for (line, (method, target, version, referer, user_agent, bytes)) in lines.iter().zip(sent) {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(v["bytes"], bytes, "the body bytes sent: {line}");
        assert_eq!(v["method"], method, "{line}");
        assert_eq!(v["target"], target, "{line}");
        assert_eq!(v["version"], version, "{line}");
        assert_eq!(v["status"], 200, "{line}");
        assert_eq!(v["referer"].as_str(), referer, "{line}");
        assert_eq!(v["user_agent"].as_str(), user_agent, "{line}");
    }
    // The delay counts in the duration: it runs from the head.
    let delayed: Value = serde_json::from_str(&lines[0]).unwrap();
    assert!(
        delayed["duration_ms"].as_f64().unwrap() >= 10.0,
        "{delayed}"
    );
    // A stream is logged when it ends: its duration covers the drip.
    let drip: Value = serde_json::from_str(&lines[3]).unwrap();
    assert_eq!(drip["target"], DRIP);
    assert!(drip["duration_ms"].as_f64().unwrap() >= DRIP_MS, "{drip}");
}

#[test]
fn late_and_streamed_answers_log_their_request_line_combined() {
    let (lines, sent) = late_lines("late-combined", "combined");
    for (line, (method, target, version, referer, user_agent, bytes)) in lines.iter().zip(sent) {
        let f = parse_combined(line);
        assert_eq!(f[2], format!("{method} {target} {version}"), "{line}");
        assert_eq!(f[3], "200", "{line}");
        assert_eq!(f[4], bytes.to_string(), "the body bytes sent: {line}");
        assert_eq!(f[5], referer.unwrap_or("-"), "{line}");
        assert_eq!(f[6], user_agent.unwrap_or("-"), "{line}");
    }
}

/// The payload bytes of the whole events (`id: ...` to the blank line) in
/// what a client of `/sse` read, its framing left out.
fn event_bytes(wire: &str) -> usize {
    let mut total = 0;
    let mut rest = wire;
    while let Some(start) = rest.find("id: ") {
        let Some(len) = rest[start..].find("\n\n") else {
            break;
        };
        total += len + 2;
        rest = &rest[start + len + 2..];
    }
    total
}

#[test]
fn an_endless_stream_cut_by_the_client_is_logged_once_when_it_closes() {
    let log = LogPath::new("sse-cut");
    let binary = httpbin_logging_to(&log, "json");
    let mut client = common::connect(binary.addr);
    client
        .write_all(get("/sse?count=0&interval=10ms").as_bytes())
        .unwrap();
    let mut wire = Vec::new();
    let mut buf = [0; 4096];
    // Two whole events (the head ends in CRLF CRLF, an event in LF LF).
    while String::from_utf8_lossy(&wire).matches("\n\n").count() < 2 {
        let n = common::read_some(&mut client, &mut buf).unwrap();
        assert!(n > 0, "the stream ended: {wire:?}");
        wire.extend_from_slice(&buf[..n]);
    }
    let got = event_bytes(&String::from_utf8_lossy(&wire));
    drop(client);
    // The loop writes the line in the wake-up that sees the connection
    // fail (the next event's write): wait for it, before the shutdown,
    // which would end the stream too.
    let deadline = Instant::now() + Duration::from_secs(10);
    let lines = loop {
        let lines = std::fs::read_to_string(&log.0).unwrap_or_default();
        if !lines.is_empty() || Instant::now() > deadline {
            break lines;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(
        lines.lines().count(),
        1,
        "logged before the shutdown: {lines}"
    );
    stop(binary);
    let lines = read_lines(&log.0);
    assert_eq!(lines.len(), 1, "logged once: {lines:#?}");
    let v: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(v["target"], "/sse?count=0&interval=10ms");
    assert_eq!(v["status"], 200);
    let bytes = v["bytes"].as_u64().unwrap() as usize;
    // What the client read, and the events written before the server saw
    // it gone (each about 60 bytes; a few at most in 10 ms steps).
    assert!(bytes >= got && bytes < got + 1000, "{bytes} >= {got}: {v}");
    assert!(v["duration_ms"].as_f64().unwrap() >= 20.0, "{v}");
}

#[test]
fn a_stream_cut_off_by_the_shutdown_deadline_is_logged() {
    let log = LogPath::new("drip-cut");
    let mut binary = Binary::start(&[
        "-l",
        "127.0.0.1:0",
        "--httpbin",
        "/",
        "--shutdown-timeout",
        "200ms",
        "--access-log-format",
        "json",
        "--access-log",
        log.str(),
    ]);
    let mut client = Client::connect(binary.addr);
    // 100 bytes over 60 s: a piece every 600 ms, the first after 600 ms.
    client.send(get("/drip?numbytes=100&duration=60s"));
    let (status, _, _) = common::read_head(&mut client.stream);
    assert_eq!(status, 200);
    binary.signal(libc::SIGTERM);
    let status = binary.wait_exit(Duration::from_secs(10)).expect("exit");
    assert!(status.success());
    let lines = read_lines(&log.0);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    let v: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(v["target"], "/drip?numbytes=100&duration=60s");
    assert!(v["bytes"].as_u64().unwrap() < 100, "cut off: {v}");
    assert!(v["duration_ms"].as_f64().unwrap() >= 200.0, "{v}");
}

#[test]
fn pipelined_streams_are_logged_each() {
    let log = LogPath::new("pipelined-streams");
    let binary = httpbin_logging_to(&log, "json");
    let mut client = Client::connect(binary.addr);
    let targets = [
        "/stream-bytes/100",
        "/stream-bytes/200",
        "/stream-bytes/300",
    ];
    client.send(targets.map(get).concat());
    for len in [100, 200, 300] {
        assert_eq!(client.response().body.len(), len);
    }
    stop(binary);
    let lines = read_lines(&log.0);
    let logged: Vec<(String, u64)> = lines
        .iter()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap();
            (
                v["target"].as_str().unwrap().to_string(),
                v["bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, u64)> = targets
        .iter()
        .zip([100, 200, 300])
        .map(|(t, n)| (t.to_string(), n))
        .collect();
    assert_eq!(logged, expected);
}

#[test]
fn a_kept_request_whose_client_resets_is_logged_499_once() {
    let log = LogPath::new("delay-reset");
    let binary = httpbin_logging_to(&log, "json");
    let client = common::connect(binary.addr);
    (&client).write_all(get("/delay/5s").as_bytes()).unwrap();
    // A reset, not a FIN: a client that only half-closes still gets its
    // answer (and the 200 line).
    socket2::SockRef::from(&client)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(client);
    // No event tells the test when the loop has written the line: look
    // for it, well before the 5 s answer would have come.
    let deadline = Instant::now() + Duration::from_secs(4);
    while std::fs::read_to_string(&log.0)
        .unwrap_or_default()
        .is_empty()
    {
        assert!(
            Instant::now() < deadline,
            "no line before the answer was due"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    stop(binary);
    let lines = read_lines(&log.0);
    assert_eq!(lines.len(), 1, "logged once: {lines:#?}");
    let v: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(v["target"], "/delay/5s");
    assert_eq!(v["status"], 499);
    assert_eq!(v["bytes"], 0);
    assert!(v["duration_ms"].as_f64().unwrap() < 4000.0, "{v}");
}

//! `--httpbin PREFIX` over real sockets, through the binary: every
//! endpoint built so far (`bytes`, `status`, `anything`, `headers`, `ip`),
//! every parameter's 400, the 405s, the prefix, and the paths that are not
//! ours going where they would without the flag.

mod common;

use common::{get, Binary, Client, Reply};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};

fn httpbin(prefix: &str) -> Binary {
    Binary::start(&["-l", "127.0.0.1:0", "-q", "--httpbin", prefix])
}

fn fetch(binary: &Binary, path: &str) -> Reply {
    Client::connect(binary.addr).send(get(path)).response()
}

fn assert_bad(reply: &Reply, param: &str) {
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert!(
        reply.text().contains(&format!("invalid {param}:")),
        "{param}: {}",
        reply.text()
    );
}

#[test]
fn bytes_are_exact_deterministic_and_seeded() {
    let bin = httpbin("/");
    for n in [0, 1, 13, 16_384, 16_385, 100_000] {
        let reply = fetch(&bin, &format!("/bytes/{n}"));
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.header("content-type"),
            Some("application/octet-stream")
        );
        assert_eq!(reply.header("content-length"), Some(n.to_string().as_str()));
        assert_eq!(reply.body.len(), n);
    }
    let a = fetch(&bin, "/bytes/100000?seed=7").body;
    let b = fetch(&bin, "/bytes/100000?seed=7").body;
    let c = fetch(&bin, "/bytes/100000?seed=8").body;
    assert!(a == b, "same N and seed, same bytes");
    assert!(a != c, "another seed, other bytes");
    // Byte i depends on the seed and i only: a shorter body is a prefix,
    // inline (small) or generated piece by piece (large) alike.
    let short = fetch(&bin, "/bytes/20000?seed=7").body;
    assert!(a[..20_000] == short[..]);
    assert_eq!(fetch(&bin, "/bytes/13?seed=7").body, a[..13]);
    // Another server gives the same bytes.
    let other = httpbin("/");
    assert!(fetch(&other, "/bytes/100000?seed=7").body == a);
    // Not a constant pattern.
    let distinct: std::collections::HashSet<u8> = a.iter().copied().collect();
    assert!(distinct.len() > 250);
    let head = Client::connect(bin.addr)
        .send("HEAD /bytes/500 HTTP/1.1\r\nHost: t\r\n\r\n")
        .response_to("HEAD");
    assert_eq!(head.header("content-length"), Some("500"));
    assert!(head.body.is_empty());
}

/// Peak resident memory of a process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Reads a response of `len` body bytes without keeping it: returns a hash.
fn stream_hash(client: &mut std::net::TcpStream, len: u64) -> u64 {
    let mut reader = BufReader::new(client);
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut left = len;
    let mut chunk = vec![0u8; 1 << 16];
    while left > 0 {
        let n = reader.read(&mut chunk).unwrap();
        assert!(n > 0, "body ended {left} bytes early");
        for b in &chunk[..n] {
            hash = (hash ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
        left -= n as u64;
    }
    hash
}

#[test]
fn the_largest_body_is_never_held_whole() {
    let bin = httpbin("/");
    let max = 104_857_600;
    let mut stream = common::connect(bin.addr);
    let before = peak_rss_kib(bin.child.id());
    let mut hashes = Vec::new();
    for _ in 0..2 {
        stream
            .write_all(get(&format!("/bytes/{max}?seed=3")).as_bytes())
            .unwrap();
        hashes.push(stream_hash(&mut stream, max));
    }
    assert_eq!(hashes[0], hashes[1], "the same 100 MiB twice");
    let grown = peak_rss_kib(bin.child.id()) - before;
    assert!(
        grown < 4 * 1024,
        "serving 100 MiB grew the peak RSS by {grown} KiB"
    );
    assert_bad(&fetch(&bin, &format!("/bytes/{}", max + 1)), "N");
}

#[test]
fn bytes_parameters_are_checked() {
    let bin = httpbin("/");
    for path in [
        "/bytes/",
        "/bytes/abc",
        "/bytes/-1",
        "/bytes/1.5",
        "/bytes/+3",
        "/bytes/99999999999999999999",
        "/bytes/5/6",
    ] {
        assert_bad(&fetch(&bin, path), "N");
    }
    for path in [
        "/bytes/5?seed=x",
        "/bytes/5?seed=",
        "/bytes/5?seed=-1",
        "/bytes/5?seed=18446744073709551616",
    ] {
        assert_bad(&fetch(&bin, path), "seed");
    }
    assert_eq!(
        fetch(&bin, "/bytes/5?seed=18446744073709551615").body.len(),
        5
    );
}

#[test]
fn status_codes_single_and_weighted() {
    let bin = httpbin("/");
    let teapot = fetch(&bin, "/status/418");
    assert_eq!(teapot.status, 418);
    assert!(teapot.text().starts_with("418"), "{}", teapot.text());
    let mut client = Client::connect(bin.addr);
    for code in [204, 304] {
        let reply = client.send(get(&format!("/status/{code}"))).response();
        assert_eq!(reply.status, code);
        assert!(reply.header("content-length").is_none());
        assert!(reply.body.is_empty());
    }
    // Nothing was sent after those heads: the next response parses.
    assert_eq!(client.send(get("/status/299")).response().status, 299);
    let rounds = 2000;
    let mut unavailable = 0;
    for _ in 0..rounds {
        match client
            .send(get("/status/200:0.9,503:0.1"))
            .response()
            .status
        {
            503 => unavailable += 1,
            200 => {}
            other => panic!("{other}"),
        }
    }
    // Binomial(2000, 0.1): mean 200, sd 13.4; five sd either way.
    assert!((133..=267).contains(&unavailable), "{unavailable} × 503");
    let mut counts = [0; 3];
    for _ in 0..600 {
        match client
            .send(get("/status/201:1,202:1,203:1"))
            .response()
            .status
        {
            c @ 201..=203 => counts[usize::from(c - 201)] += 1,
            other => panic!("{other}"),
        }
    }
    assert!(counts.iter().all(|&c| c > 130), "{counts:?}");
    for path in [
        "/status/",
        "/status/99",
        "/status/600",
        "/status/abc",
        "/status/200:0",
        "/status/200:-1",
        "/status/200,",
        "/status/200:1,700:1",
        "/status/200:x",
    ] {
        assert_bad(&fetch(&bin, path), "CODES");
    }
}

#[test]
fn anything_echoes_the_request() {
    let bin = httpbin("/");
    let body = "{\"x\": 1}";
    let request = format!(
        "POST /anything/deep/path?a=1&a=2&b=x%20y+z&empty HTTP/1.1\r\nHost: t\r\n\
         X-Dup: one\r\nx-dup: two\r\nUser-Agent: test \"agent\"\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let reply = Client::connect(bin.addr).send(request).response();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let v: Value = serde_json::from_slice(&reply.body).expect("JSON");
    assert_eq!(v["method"], "POST");
    assert_eq!(v["url"], "/anything/deep/path?a=1&a=2&b=x%20y+z&empty");
    assert_eq!(
        v["args"],
        json!({"a": ["1", "2"], "b": "x y z", "empty": ""})
    );
    assert_eq!(v["headers"]["X-Dup"], "one, two");
    assert_eq!(v["headers"]["User-Agent"], "test \"agent\"");
    assert_eq!(v["headers"]["Host"], "t");
    assert_eq!(v["data"], body);
    assert_eq!(v["origin"], "127.0.0.1");

    let binary_body = [0xff, 0x00, 0xfe];
    let mut client = Client::connect(bin.addr);
    client.send(b"PUT /anything HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\n");
    let reply = client.send(binary_body).response();
    let v: Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(v["method"], "PUT");
    assert_eq!(v["data"], "data:application/octet-stream;base64,/wD+");
    assert_eq!(v["args"], json!({}));
    let chunked = "DELETE /anything HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\
                   3\r\nabc\r\n0\r\n\r\n";
    let v: Value = serde_json::from_slice(&client.send(chunked).response().body).unwrap();
    assert_eq!(
        (v["method"].as_str(), v["data"].as_str()),
        (Some("DELETE"), Some("abc"))
    );
}

#[test]
fn headers_and_ip() {
    let bin = httpbin("/");
    let reply = Client::connect(bin.addr)
        .send("GET /headers HTTP/1.1\r\nHost: h\r\nAccept: */*\r\nX-A: 1\r\nX-A: 2\r\n\r\n")
        .response();
    let v: Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(
        v,
        json!({"headers": {"Host": "h", "Accept": "*/*", "X-A": "1, 2"}})
    );
    let v: Value = serde_json::from_slice(&fetch(&bin, "/ip").body).unwrap();
    assert_eq!(v, json!({"origin": "127.0.0.1"}));
}

#[test]
fn only_get_and_head_but_anything() {
    let bin = httpbin("/");
    let mut client = Client::connect(bin.addr);
    for path in ["/bytes/5", "/status/200", "/headers", "/ip"] {
        let reply = client
            .send(format!(
                "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"
            ))
            .response();
        assert_eq!(reply.status, 405, "{path}");
        assert_eq!(reply.header("allow"), Some("GET, HEAD"), "{path}");
    }
    // Refused before the body is read (100-continue), except by anything.
    let mut early = Client::connect(bin.addr);
    let reply = early
        .send("PUT /ip HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        .response();
    assert_eq!(reply.status, 405);
    let mut client = Client::connect(bin.addr);
    let interim = client
        .send("PATCH /anything HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
        .response();
    assert_eq!(interim.status, 100);
    let v: Value = serde_json::from_slice(&client.send("hi").response().body).unwrap();
    assert_eq!(
        (v["method"].as_str(), v["data"].as_str()),
        (Some("PATCH"), Some("hi"))
    );
}

#[test]
fn other_paths_go_where_they_would_without_the_flag() {
    let root = httpbin("/");
    let welcome = fetch(&root, "/");
    assert_eq!(welcome.status, 200);
    assert!(welcome.text().contains("Welcome to CoffeeWebServer"));
    for path in [
        "/bytes",
        "/delay",
        "/sse/x",
        "/anythingelse",
        "/ip/x",
        "/missing",
    ] {
        assert_eq!(fetch(&root, path).status, 404, "{path}");
    }
    let prefixed = httpbin("/_bin");
    assert_eq!(fetch(&prefixed, "/_bin/bytes/3").body.len(), 3);
    let v: Value = serde_json::from_slice(&fetch(&prefixed, "/_bin/ip").body).unwrap();
    assert_eq!(v["origin"], "127.0.0.1");
    assert_eq!(fetch(&prefixed, "/ip").status, 404);
    assert_eq!(fetch(&prefixed, "/_binip").status, 404);
    assert_eq!(fetch(&prefixed, "/_bin").status, 404);
    assert_eq!(fetch(&prefixed, "/").status, 200);
}

#[test]
fn a_bad_prefix_exits_2_naming_the_flag() {
    for prefix in ["bin", "/bin/", "", "/a b"] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_coffeeweb"))
            .args(["-l", "127.0.0.1:0", "--httpbin", prefix])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{prefix:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.lines().next().unwrap_or("").contains("--httpbin"),
            "{stderr}"
        );
        assert!(output.stdout.is_empty());
    }
}

#[test]
fn in_front_of_a_folder() {
    let dir = std::env::temp_dir().join(format!("coffeeweb-httpbin-root-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "<p>the folder</p>").unwrap();
    std::fs::write(dir.join("ip"), "a file called ip").unwrap();
    let bin = Binary::start(&[
        "-l",
        "127.0.0.1:0",
        "-q",
        "--root",
        dir.to_str().unwrap(),
        "--httpbin",
        "/_bin",
    ]);
    assert_eq!(fetch(&bin, "/").text(), "<p>the folder</p>");
    assert_eq!(fetch(&bin, "/ip").text(), "a file called ip");
    assert_eq!(fetch(&bin, "/_bin/bytes/7").body.len(), 7);
    assert_eq!(fetch(&bin, "/_bin/nothing").status, 404);
    drop(bin);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn delay_answers_after_the_delay_and_holds_up_no_one() {
    let binary = httpbin("/");
    let started = std::time::Instant::now();
    let mut late = Client::connect(binary.addr);
    late.send(get("/delay/0.3"));
    // Another connection is served meanwhile.
    assert_eq!(fetch(&binary, "/bytes/3").status, 200);
    assert!(started.elapsed() < std::time::Duration::from_millis(300));
    let reply = late.response();
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    assert_eq!(reply.status, 200);
    let body: Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(body["url"], json!("/delay/0.3"));
    // With jitter, every delay falls in [D - J, D + J].
    for _ in 0..5 {
        let started = std::time::Instant::now();
        assert_eq!(fetch(&binary, "/delay/100ms?jitter=50ms").status, 200);
        let took = started.elapsed();
        assert!(took >= std::time::Duration::from_millis(50), "{took:?}");
        assert!(took < std::time::Duration::from_millis(400), "{took:?}");
    }
    assert_bad(&fetch(&binary, "/delay/61"), "D");
    assert_bad(&fetch(&binary, "/delay/1?jitter=x"), "jitter");
}

#[test]
fn drip_spreads_its_bytes_with_a_length() {
    let binary = httpbin("/");
    let started = std::time::Instant::now();
    let reply = fetch(&binary, "/drip?numbytes=50&duration=0.5&delay=0.2&code=201");
    let took = started.elapsed();
    assert_eq!(reply.status, 201);
    assert_eq!(reply.header("content-length"), Some("50"));
    assert_eq!(reply.body, vec![b'*'; 50]);
    assert!(took >= std::time::Duration::from_millis(650), "{took:?}");
    assert_bad(&fetch(&binary, "/drip?numbytes=10485761"), "numbytes");
    assert_bad(&fetch(&binary, "/drip?code=99"), "code");
    assert_bad(&fetch(&binary, "/drip?duration=61"), "duration");
}

#[test]
fn sse_sends_numbered_events() {
    let binary = httpbin("/");
    let reply = fetch(&binary, "/sse?count=3&interval=20ms");
    assert_eq!(reply.header("content-type"), Some("text/event-stream"));
    assert_eq!(reply.header("cache-control"), Some("no-cache"));
    assert_eq!(reply.header("transfer-encoding"), Some("chunked"));
    let text = String::from_utf8(reply.body).unwrap();
    let events: Vec<&str> = text.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert_eq!(events.len(), 3, "{text}");
    for (i, event) in events.iter().enumerate() {
        let id = i + 1;
        assert!(
            event.starts_with(&format!("id: {id}\ndata: {{\"id\": {id}, \"time\": \"")),
            "{event}"
        );
        let data: Value = serde_json::from_str(event.split("data: ").nth(1).unwrap()).unwrap();
        assert_eq!(data["id"], json!(id));
    }
    assert_bad(&fetch(&binary, "/sse?interval=5ms"), "interval");
}

#[test]
fn stream_bytes_are_the_bytes_of_bytes_in_chunks() {
    let binary = httpbin("/");
    let whole = fetch(&binary, "/bytes/100000?seed=4");
    let streamed = fetch(&binary, "/stream-bytes/100000?seed=4&chunk_size=777");
    assert_eq!(streamed.header("transfer-encoding"), Some("chunked"));
    assert!(streamed.body == whole.body);
    assert_bad(
        &fetch(&binary, "/stream-bytes/10?chunk_size=0"),
        "chunk_size",
    );
    assert_bad(&fetch(&binary, "/stream-bytes/104857601"), "N");
}

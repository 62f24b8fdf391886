//! Each example runs (`cargo run --example NAME`) and does what its
//! documentation says.

mod common;

use common::{get, Client};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// A running example, killed on drop.
struct Example {
    child: Child,
    addr: SocketAddr,
}

/// The example `name`, built now.
fn built(name: &str) -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--example", name])
        .status()
        .expect("cargo build --example");
    assert!(status.success());
    PathBuf::from(env!("CARGO_BIN_EXE_coffeeweb"))
        .parent()
        .unwrap()
        .join("examples")
        .join(name)
}

impl Example {
    fn start(name: &str, args: &[&str]) -> Example {
        let mut child = Command::new(built(name))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run the example");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("coffeeweb listening on http://")
            .unwrap_or_else(|| panic!("{name} printed {line:?}"))
            .parse()
            .unwrap();
        Example { child, addr }
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn hello() {
    let example = Example::start("hello", &["--listen", "127.0.0.1:0"]);
    let reply = Client::connect(example.addr)
        .send(get("/anything"))
        .response();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, b"Hello, World!");
    assert_eq!(reply.header("content-type"), Some("text/plain"));
}

/// The examples read `--listen` as the binary does (examples/common):
/// repeatable, `unix:PATH` too, one listening line each.
#[test]
fn hello_listens_on_several_addresses_and_a_unix_socket() {
    use std::io::{Read, Write};
    let binary = built("hello");
    let sock = std::env::temp_dir().join(format!("coffeeweb-hello-{}.sock", std::process::id()));
    let unix = format!("unix:{}", sock.display());
    let args = [
        "--listen",
        "127.0.0.1:0",
        "--listen",
        &unix,
        "--workers",
        "2",
    ];
    let (mut child, lines, _rest) = common::spawn_for_lines(binary.to_str().unwrap(), &args, 2);
    assert!(lines[0].starts_with("coffeeweb listening on http://127.0.0.1:"));
    assert_eq!(lines[1], format!("coffeeweb listening on {unix}\n"));
    let mut stream = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    stream.set_read_timeout(Some(common::IO_TIMEOUT)).unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_file(&sock);
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.ends_with("Hello, World!"), "{reply}");
}

#[test]
fn a_bad_listen_value_is_refused_with_the_usage() {
    let output = Command::new(built("pool"))
        .args(["--listen", "nowhere"])
        .output()
        .expect("run the example");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("usage: pool"), "{stderr}");
    assert!(stderr.contains("nowhere"), "{stderr}");
}

#[test]
fn json_api() {
    let example = Example::start("json_api", &["--listen", "127.0.0.1:0"]);
    let mut client = Client::connect(example.addr);
    let menu = client.send(get("/api/coffees")).response();
    assert_eq!(menu.header("content-type"), Some("application/json"));
    assert!(menu.text().contains("flat white"));
    let order = |client: &mut Client, body: &str| {
        client
            .send(format!(
                "POST /api/orders HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ))
            .response()
    };
    let first = order(&mut client, r#"{"coffee":"cortado"}"#);
    assert_eq!(first.status, 201);
    assert_eq!(first.text(), r#"{"coffee":"cortado","order":1}"#);
    assert_eq!(
        order(&mut client, r#"{"coffee":"cortado"}"#).text(),
        r#"{"coffee":"cortado","order":2}"#
    );
    assert_eq!(order(&mut client, r#"{"coffee":"tea"}"#).status, 422);
    assert_eq!(order(&mut client, "not json").status, 400);
    let wrong_method = client
        .send("DELETE /api/orders HTTP/1.1\r\nHost: t\r\n\r\n")
        .response();
    assert_eq!(
        (wrong_method.status, wrong_method.header("allow")),
        (405, Some("POST"))
    );
    assert_eq!(client.send(get("/nope")).response().status, 404);
}

#[test]
fn static_plus_api() {
    let dir = std::env::temp_dir().join(format!("coffeeweb-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "<p>site</p>").unwrap();
    let example = Example::start(
        "static_plus_api",
        &["--listen", "127.0.0.1:0", "--root", dir.to_str().unwrap()],
    );
    let mut client = Client::connect(example.addr);
    assert_eq!(client.send(get("/")).response().text(), "<p>site</p>");
    let time = client.send(get("/api/time")).response();
    assert!(time.text().starts_with("{\"unix\":"), "{}", time.text());
    let echo = client
        .send("POST /api/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nping")
        .response();
    assert_eq!(echo.text(), "ping");
    assert_eq!(client.send(get("/api/nope")).response().status, 404);
    assert_eq!(client.send(get("/missing.html")).response().status, 404);
    drop(example);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn pool() {
    let example = Example::start("pool", &["--listen", "127.0.0.1:0"]);
    let started = std::time::Instant::now();
    let mut slow: Vec<Client> = (0..32)
        .map(|_| {
            let mut client = Client::connect(example.addr);
            client.send(get("/slow"));
            client
        })
        .collect();
    let mut quick = Client::connect(example.addr);
    assert_eq!(quick.send(get("/")).response().text(), "Hello, World!");
    let quick_done = started.elapsed();
    for client in &mut slow {
        assert_eq!(client.response().text(), "done");
    }
    // 32 sleeps of 100 ms on 16 threads take at least 200 ms; the quick
    // request did not wait for them.
    assert!(started.elapsed() >= std::time::Duration::from_millis(200));
    assert!(
        quick_done < std::time::Duration::from_millis(100),
        "{quick_done:?}"
    );
}

#[test]
fn sse() {
    use std::io::Read;
    let example = Example::start("sse", &["--listen", "127.0.0.1:0"]);
    let subscribe = || {
        let mut stream = common::connect(example.addr);
        std::io::Write::write_all(&mut stream, get("/events").as_bytes()).unwrap();
        stream
    };
    let mut subscribers = [subscribe(), subscribe()];
    // Until the ticker's first event, which every subscriber gets once.
    let mut seen = [String::new(), String::new()];
    for (stream, seen) in subscribers.iter_mut().zip(&mut seen) {
        while !seen.contains("id: ") {
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).unwrap();
            assert!(n > 0);
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        assert!(
            seen.contains("Content-Type: text/event-stream\r\n"),
            "{seen}"
        );
        assert!(seen.contains("data: {\"tick\":"), "{seen}");
    }
    let reply = Client::connect(example.addr)
        .send("POST /publish HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nhello, all")
        .response();
    assert_eq!(reply.text(), "sent to 2 subscribers\n");
    for (stream, seen) in subscribers.iter_mut().zip(&mut seen) {
        while !seen.contains("data: hello, all\n\n") {
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).unwrap();
            assert!(n > 0);
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }
}

#[test]
fn echo() {
    let dir = std::env::temp_dir().join(format!("coffeeweb-echo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("f.txt"), "file").unwrap();
    let example = Example::start(
        "echo",
        &["--listen", "127.0.0.1:0", "--root", dir.to_str().unwrap()],
    );
    let mut client = Client::connect(example.addr);
    // CRC-32 of "123456789" is the standard check value cbf43926.
    let sized = client
        .send("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 9\r\n\r\n123456789")
        .response();
    assert_eq!(sized.text(), "9 cbf43926");
    let chunked = client
        .send("PUT /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n1234\r\n5\r\n56789\r\n0\r\n\r\n")
        .response();
    assert_eq!(chunked.text(), "9 cbf43926");
    assert_eq!(client.send(get("/f.txt")).response().text(), "file");
    drop(example);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn delay_answers_after_100_ms() {
    let example = Example::start("delay", &["--listen", "127.0.0.1:0"]);
    let started = std::time::Instant::now();
    let reply = Client::connect(example.addr).send(get("/")).response();
    let waited = started.elapsed();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "Hello, World!");
    assert!(
        waited >= std::time::Duration::from_millis(100),
        "{waited:?}"
    );
}

#[test]
fn delay_holds_200_requests_at_once() {
    let example = Example::start("delay", &["--listen", "127.0.0.1:0"]);
    let started = std::time::Instant::now();
    let mut clients: Vec<Client> = (0..200)
        .map(|_| {
            let mut client = Client::connect(example.addr);
            client.send(get("/"));
            client
        })
        .collect();
    for client in &mut clients {
        assert_eq!(client.response().text(), "Hello, World!");
    }
    // The 200 delays run side by side on timers: one after another they
    // would take 20 s, on examples/pool's 16 threads 1.3 s.
    let elapsed = started.elapsed();
    assert!(
        elapsed >= std::time::Duration::from_millis(100),
        "{elapsed:?}"
    );
    assert!(elapsed < std::time::Duration::from_secs(1), "{elapsed:?}");
}

#[test]
fn sse_ticks_carry_their_send_time() {
    use std::io::Read;
    use std::time::{SystemTime, UNIX_EPOCH};
    let now_us = || {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_micros()
    };
    let example = Example::start("sse", &["--listen", "127.0.0.1:0"]);
    let mut stream = common::connect(example.addr);
    std::io::Write::write_all(&mut stream, get("/events").as_bytes()).unwrap();
    let subscribed = now_us();
    let mut seen = String::new();
    while !seen.contains("}\n\n") {
        let mut buf = [0u8; 4096];
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0);
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let received = now_us();
    let sent: u128 = seen
        .split("\"sent_us\":")
        .nth(1)
        .and_then(|rest| rest.split('}').next())
        .unwrap_or_else(|| panic!("no sent_us in {seen:?}"))
        .parse()
        .unwrap();
    // Microseconds since the epoch, taken when the ticker sent the event.
    assert!(
        subscribed <= sent && sent <= received,
        "{subscribed} {sent} {received}"
    );
}

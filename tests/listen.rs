//! `--listen`, repeatable: IPv4, IPv6 and `unix:PATH` at once, one
//! listening line per address in the order given, every address served by
//! every worker; the Unix socket file made on bind, replaced when stale,
//! refused when something else is there, removed at exit; a Unix client in
//! the access log (every format) and in httpbin's `/ip`, named `unix:`.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command};
use std::time::Duration;

/// A scratch folder for socket files, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("coffeeweb-listen-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The binary, started with `args`, after it printed `lines` lines.
struct Server {
    child: Child,
    lines: Vec<String>,
    stderr: Option<ChildStderr>,
}

impl Server {
    fn start(args: &[&str], lines: usize) -> Server {
        let program = env!("CARGO_BIN_EXE_coffeeweb");
        let (mut child, lines, _rest) = common::spawn_for_lines(program, args, lines);
        let stderr = child.stderr.take();
        Server {
            child,
            lines,
            stderr,
        }
    }

    fn tcp(&self, index: usize) -> SocketAddr {
        self.lines[index]
            .trim()
            .strip_prefix("coffeeweb listening on http://")
            .unwrap_or_else(|| panic!("line {index}: {:?}", self.lines[index]))
            .parse()
            .unwrap()
    }

    /// SIGTERM, then the exit status (bounded).
    fn stop(&mut self) -> std::process::ExitStatus {
        use wait_timeout::ChildExt;
        // SAFETY: kill(2) on our own child, not yet reaped; no memory is
        // touched.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        assert_eq!(rc, 0);
        self.child
            .wait_timeout(Duration::from_secs(10))
            .unwrap()
            .expect("exit within 10 s")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One `GET /` with `Connection: close`; the status line and the body.
fn get_over(mut stream: impl Read + Write) -> (String, String) {
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut all = Vec::new();
    stream.read_to_end(&mut all).unwrap();
    let text = String::from_utf8_lossy(&all).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a whole response");
    let status = head.lines().next().unwrap_or("").to_string();
    (status, body.to_string())
}

fn unix_client(path: &Path) -> UnixStream {
    let stream = UnixStream::connect(path).expect("connect to the unix socket");
    stream.set_read_timeout(Some(common::IO_TIMEOUT)).unwrap();
    stream
}

fn tcp_client(addr: SocketAddr) -> TcpStream {
    common::connect(addr)
}

/// Whether `::1` can be bound; if not, the test is skipped (and fails
/// under CI, where it must run).
fn ipv6_loopback_available() -> bool {
    let available = std::net::TcpListener::bind("[::1]:0").is_ok();
    if !available {
        common::missing_dependency("an IPv6 loopback (::1)");
    }
    available
}

#[test]
fn three_addresses_three_lines_in_order_all_served_by_every_worker() {
    if !ipv6_loopback_available() {
        return;
    }
    let scratch = Scratch::new("three");
    let sock = scratch.path("web.sock");
    let unix = format!("unix:{}", sock.display());
    let mut server = Server::start(
        &[
            "-q",
            "-w",
            "2",
            "-l",
            "127.0.0.1:0",
            "--listen",
            &unix,
            "-l",
            "[::1]:0",
        ],
        3,
    );
    assert!(server.lines[0].starts_with("coffeeweb listening on http://127.0.0.1:"));
    assert_eq!(server.lines[1], format!("coffeeweb listening on {unix}\n"));
    assert!(
        server.lines[2].starts_with("coffeeweb listening on http://[::1]:"),
        "{:?}",
        server.lines[2]
    );
    let v4 = server.tcp(0);
    let v6 = server.tcp(2);
    assert_ne!(v6.port(), 0);
    // Many connections per address: with two workers each address has a
    // listener in both loops, and every one of these is answered.
    for _ in 0..20 {
        for (status, body) in [
            get_over(tcp_client(v4)),
            get_over(tcp_client(v6)),
            get_over(unix_client(&sock)),
        ] {
            assert_eq!(status, "HTTP/1.1 200 OK");
            assert!(body.contains("Welcome to CoffeeWebServer"));
        }
    }
    assert!(sock.exists(), "the socket file is there while serving");
    assert!(server.stop().success());
    assert!(!sock.exists(), "the socket file is removed at exit");
}

/// `[::]:PORT` is IPv6 only, as in nginx: IPv4 on the same port is its
/// own `--listen` (and here, nobody's).
#[test]
fn the_ipv6_wildcard_does_not_take_ipv4() {
    if !ipv6_loopback_available() {
        return;
    }
    let server = Server::start(&["-q", "-l", "[::]:0"], 1);
    let port = server.tcp(0).port();
    let (status, _) = get_over(tcp_client(SocketAddr::from((
        [0u16, 0, 0, 0, 0, 0, 0, 1],
        port,
    ))));
    assert_eq!(status, "HTTP/1.1 200 OK");
    let v4 = TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        common::IO_TIMEOUT,
    );
    assert!(v4.is_err(), "IPv4 reached the [::] listener");
}

#[test]
fn three_workers_share_one_unix_socket() {
    let scratch = Scratch::new("workers");
    let sock = scratch.path("w.sock");
    let unix = format!("unix:{}", sock.display());
    let server = Server::start(&["-q", "-w", "3", "-l", &unix, "--status-path", "/s"], 1);
    assert_eq!(server.lines[0], format!("coffeeweb listening on {unix}\n"));
    // Idle connections held open, each accepted by whichever of the three
    // loops (each with its own registration of the socket) came first:
    // every one is accepted, and the status page sums the loops.
    let held: Vec<UnixStream> = (0..30).map(|_| unix_client(&sock)).collect();
    let mut stream = unix_client(&sock);
    stream
        .write_all(b"GET /s?format=json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut all = String::new();
    stream.read_to_string(&mut all).unwrap();
    assert!(all.starts_with("HTTP/1.1 200"), "{all}");
    let accepted: u64 = all
        .split("\"connections_accepted\":")
        .nth(1)
        .and_then(|rest| {
            rest.split(|c: char| !c.is_ascii_digit())
                .find(|s| !s.is_empty())
        })
        .and_then(|n| n.parse().ok())
        .expect("connections_accepted in the JSON");
    assert_eq!(accepted, held.len() as u64 + 1);
}

#[test]
fn a_stale_socket_file_is_replaced() {
    let scratch = Scratch::new("stale");
    let sock = scratch.path("stale.sock");
    // A listener that went away without removing its file.
    drop(UnixListener::bind(&sock).unwrap());
    assert!(sock.exists());
    let unix = format!("unix:{}", sock.display());
    let mut server = Server::start(&["-q", "-l", &unix], 1);
    let (status, _) = get_over(unix_client(&sock));
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(server.stop().success());
    assert!(!sock.exists());
}

fn refused(args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_coffeeweb"))
        .args(args)
        .output()
        .expect("run coffeeweb");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn another_file_at_the_path_is_an_error_naming_it() {
    let scratch = Scratch::new("file");
    let path = scratch.path("not-a-socket");
    std::fs::write(&path, "keep me").unwrap();
    let (code, stdout, stderr) = refused(&["-q", "-l", &format!("unix:{}", path.display())]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains(&path.display().to_string()), "{stderr}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me");
}

#[test]
fn a_socket_in_use_is_an_error_and_is_left_alone() {
    let scratch = Scratch::new("inuse");
    let sock = scratch.path("busy.sock");
    let busy = UnixListener::bind(&sock).unwrap();
    let (code, stdout, stderr) = refused(&["-q", "-l", &format!("unix:{}", sock.display())]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains(&sock.display().to_string()), "{stderr}");
    assert!(sock.exists());
    drop(busy);
}

#[test]
fn a_failed_second_address_removes_the_first_socket_file() {
    let scratch = Scratch::new("second");
    let sock = scratch.path("first.sock");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, stdout, stderr) =
        refused(&["-q", "-l", &format!("unix:{}", sock.display()), "-l", &addr]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stdout.is_empty(), "nothing printed: {stdout}");
    assert!(stderr.contains(&addr), "{stderr}");
    assert!(!sock.exists(), "the first address's socket file is gone");
}

/// One request with `target` over the Unix socket of a server started
/// with `--access-log-format format`: the response and the access log.
fn unix_exchange(format: &str, target: &str) -> (String, String) {
    let scratch = Scratch::new(&format!("log-{format}"));
    let sock = scratch.path("log.sock");
    let unix = format!("unix:{}", sock.display());
    let args = [
        "--access-log-format",
        format,
        "--httpbin",
        "/_bin",
        "-l",
        &unix,
    ];
    let mut server = Server::start(&args, 1);
    let mut stream = unix_client(&sock);
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(server.stop().success());
    let mut log = String::new();
    server
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    (response, log)
}

/// The access-log line of the request for `target` in `log`.
fn line_for<'a>(log: &'a str, target: &str) -> &'a str {
    log.lines()
        .find(|l| l.contains(target))
        .unwrap_or_else(|| panic!("no access-log line for {target} in {log}"))
}

#[test]
fn the_access_log_names_a_unix_client_as_nginx_does_in_every_format() {
    let (response, log) = unix_exchange("default", "/");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let line = line_for(&log, "\"GET / HTTP/1.1\" 200");
    assert!(line.contains(" unix: \"GET / HTTP/1.1\""), "{line}");
    let (_, log) = unix_exchange("combined", "/");
    let line = line_for(&log, "\"GET / HTTP/1.1\" 200");
    assert!(line.starts_with("unix: - - ["), "{line}");
    let (_, log) = unix_exchange("json", "/");
    let line = line_for(&log, "\"target\":\"/\"");
    assert!(line.contains("\"remote\":\"unix:\""), "{line}");
}

#[test]
fn httpbin_ip_names_a_unix_client_as_the_log_does() {
    let (response, _) = unix_exchange("default", "/_bin/ip");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let body = response.split_once("\r\n\r\n").unwrap().1;
    let json: serde_json::Value = serde_json::from_str(body).expect(body);
    assert_eq!(json["origin"], "unix:", "{body}");
}

#[test]
fn curl_speaks_through_the_unix_socket() {
    if Command::new("curl").arg("--version").output().is_err() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "curl missing under CI"
        );
        eprintln!("skipping: no curl");
        return;
    }
    let scratch = Scratch::new("curl");
    let sock = scratch.path("curl.sock");
    let server = Server::start(&["-q", "-l", &format!("unix:{}", sock.display())], 1);
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "--unix-socket"])
        .arg(&sock)
        .arg("http://x/")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Welcome to CoffeeWebServer"));
    drop(server);
}

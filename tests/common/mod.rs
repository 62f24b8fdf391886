//! Shared test harness: a server in-process on port 0, the real binary,
//! and a raw-socket HTTP client that checks what is on the wire.
//!
//! Responses are parsed with httparse, not with our own parser, so a bug in
//! ours cannot hide itself. Every socket has a read timeout, so a server
//! that stalls fails the test instead of hanging it.

#![allow(dead_code)]

pub mod browser;

use coffeeweb::handlers::Welcome;
use coffeeweb::{Config, Handler, Server, ServerHandle};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a test waits for a byte before calling the server stuck.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A configuration for tests: loopback, port 0, no access log.
pub fn config() -> Config {
    Config {
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        access_log: false,
        ..Config::default()
    }
}

/// A server running on its own thread; shut down and joined on drop.
pub struct TestServer {
    pub addr: SocketAddr,
    pub handle: ServerHandle,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl TestServer {
    /// The welcome-page server with `config`.
    pub fn start(config: Config) -> TestServer {
        TestServer::with_handler(config, Welcome)
    }

    /// A server with `handler` (cloned for each worker).
    pub fn with_handler<H: Handler + Clone>(config: Config, handler: H) -> TestServer {
        TestServer::with_factory(config, move |_| handler.clone())
    }

    /// A server of `files` (each worker with a cache of its own).
    pub fn with_files(config: Config, files: coffeeweb::handlers::StaticFiles) -> TestServer {
        TestServer::with_factory(config, move |_| files.for_another_loop())
    }

    /// A server whose handler for each worker `make` makes.
    pub fn with_factory<H: Handler>(
        config: Config,
        make: impl FnMut(&ServerHandle) -> H,
    ) -> TestServer {
        let server = Server::bind_with(config, make).expect("bind");
        let addr = server.local_addr().expect("a TCP address");
        let handle = server.handle();
        let thread = std::thread::spawn(move || server.run());
        TestServer {
            addr,
            handle,
            thread: Some(thread),
        }
    }

    /// A new client connection.
    pub fn connect(&self) -> TcpStream {
        connect(self.addr)
    }

    /// Shuts down and waits for the loops; returns what `run` returned.
    pub fn stop(mut self) -> io::Result<()> {
        self.handle.shutdown();
        self.thread
            .take()
            .unwrap()
            .join()
            .expect("server thread panicked")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.handle.shutdown();
            let _ = thread.join();
        }
    }
}

/// A client socket with timeouts.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// One response as seen on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// How many header fields are called `name`.
    pub fn count(&self, name: &str) -> usize {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .count()
    }

    /// The exact size of the response as the server wrote it.
    pub fn wire_len(&self) -> u64 {
        let status_line = format!("HTTP/1.1 {} {}\r\n", self.status, self.reason).len();
        let fields: usize = self
            .headers
            .iter()
            .map(|(n, v)| n.len() + 2 + v.len() + 2)
            .sum();
        (status_line + fields + 2 + self.body.len()) as u64
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Reads responses from a connection, keeping bytes that arrive early.
pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    pub fn new(stream: TcpStream) -> Client {
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn connect(addr: SocketAddr) -> Client {
        Client::new(connect(addr))
    }

    pub fn send(&mut self, bytes: impl AsRef<[u8]>) -> &mut Client {
        self.stream.write_all(bytes.as_ref()).expect("send");
        self
    }

    /// Reads one response to a request with method `method` (HEAD
    /// responses have no body).
    pub fn response_to(&mut self, method: &str) -> Reply {
        self.try_response_to(method).unwrap_or_else(|e| {
            panic!(
                "reading a response: {e}; got so far: {:?}",
                String::from_utf8_lossy(&self.buf)
            )
        })
    }

    /// Reads one response to a GET.
    pub fn response(&mut self) -> Reply {
        self.response_to("GET")
    }

    pub fn try_response_to(&mut self, method: &str) -> io::Result<Reply> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut parsed = httparse::Response::new(&mut headers);
            match parsed.parse(&self.buf) {
                Ok(httparse::Status::Complete(head_len)) => {
                    let status = parsed.code.unwrap();
                    let reason = parsed.reason.unwrap_or("").to_string();
                    let headers: Vec<(String, String)> = parsed
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_string(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect();
                    let mut reply = Reply {
                        status,
                        reason,
                        headers,
                        body: Vec::new(),
                    };
                    self.buf.drain(..head_len);
                    let bodiless =
                        method == "HEAD" || status / 100 == 1 || status == 204 || status == 304;
                    let chunked = reply
                        .header("transfer-encoding")
                        .is_some_and(|te| te.eq_ignore_ascii_case("chunked"));
                    if !bodiless && chunked {
                        reply.body = self.chunked_body()?;
                    } else if !bodiless {
                        let len: usize = match reply.header("content-length") {
                            Some(v) => v
                                .parse()
                                .map_err(|_| io::Error::other("bad content-length"))?,
                            None => {
                                return Err(io::Error::other("response without Content-Length"))
                            }
                        };
                        self.fill_to(len)?;
                        reply.body = self.buf.drain(..len).collect();
                    }
                    return Ok(reply);
                }
                Ok(httparse::Status::Partial) => self.read_more()?,
                Err(e) => return Err(io::Error::other(format!("invalid response: {e}"))),
            }
        }
    }

    /// A chunked body, strictly: hex size, CRLF, data, CRLF, ..., `0`,
    /// trailers, CRLF.
    fn chunked_body(&mut self) -> io::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line = self.line()?;
            let size = usize::from_str_radix(line.split(';').next().unwrap_or(""), 16)
                .map_err(|_| io::Error::other(format!("bad chunk size {line:?}")))?;
            if size == 0 {
                while !self.line()?.is_empty() {}
                return Ok(body);
            }
            self.fill_to(size + 2)?;
            body.extend(self.buf.drain(..size));
            if self.buf.drain(..2).as_slice() != b"\r\n" {
                return Err(io::Error::other("chunk data not followed by CRLF"));
            }
        }
    }

    /// One CRLF-terminated line, without its CRLF.
    fn line(&mut self) -> io::Result<String> {
        loop {
            if let Some(at) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..at]).into_owned();
                self.buf.drain(..at + 2);
                return Ok(line);
            }
            self.read_more()?;
        }
    }

    fn fill_to(&mut self, len: usize) -> io::Result<()> {
        while self.buf.len() < len {
            self.read_more()?;
        }
        Ok(())
    }

    fn read_more(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 64 * 1024];
        let n = read_some(&mut self.stream, &mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    /// Whether the server closed the connection (EOF, or a reset) with no
    /// further bytes; panics if bytes arrive instead.
    pub fn assert_closed(&mut self) {
        assert!(
            self.buf.is_empty(),
            "unexpected bytes: {:?}",
            String::from_utf8_lossy(&self.buf)
        );
        let mut byte = [0u8; 1];
        match read_some(&mut self.stream, &mut byte) {
            Ok(0) => {}
            Ok(_) => panic!(
                "expected the connection closed, got a byte {:?}",
                byte[0] as char
            ),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("expected the connection closed, got {e}"),
        }
    }

    /// Everything until the server closes.
    pub fn read_to_end(&mut self) -> Vec<u8> {
        let mut all = std::mem::take(&mut self.buf);
        let _ = self.stream.read_to_end(&mut all);
        all
    }

    pub fn shutdown_write(&mut self) {
        self.stream.shutdown(Shutdown::Write).unwrap();
    }
}

/// One `read`, again while it is interrupted: a blocking read with a
/// timeout (`SO_RCVTIMEO`) fails with EINTR on any signal the test
/// process handles, SA_RESTART or not (signal(7)), e.g. the SIGCHLD of
/// `wait-timeout` when another test's server exits.
pub fn read_some(stream: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match stream.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            done => return done,
        }
    }
}

/// Reads a response head from `stream` (parsed with httparse); returns the
/// status, the Content-Length if any, and the body bytes that came with
/// the head. For tests that read the body at their own pace.
pub fn read_head(stream: &mut TcpStream) -> (u16, Option<u64>, Vec<u8>) {
    let mut head = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = read_some(stream, &mut chunk).expect("reading a response head");
        assert!(n > 0, "closed before the head ended");
        head.extend_from_slice(&chunk[..n]);
        let mut fields = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut fields);
        if let httparse::Status::Complete(head_len) = response.parse(&head).expect("a valid head") {
            let len = response
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| std::str::from_utf8(h.value).ok()?.parse().ok());
            return (response.code.unwrap_or(0), len, head[head_len..].to_vec());
        }
    }
}

/// `GET path HTTP/1.1` with a Host header.
pub fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n")
}

/// The real binary, started with `args`; killed on drop.
pub struct Binary {
    pub child: Child,
    pub addr: SocketAddr,
    pub stdout_line: String,
    pub stderr: Option<ChildStderr>,
    /// The rest of stdout, line by line, from a reader thread (which ends
    /// when the process closes its stdout).
    stdout: Receiver<String>,
}

impl Binary {
    /// Starts `coffeeweb args...` and waits for its listening line.
    pub fn start(args: &[&str]) -> Binary {
        Binary::start_with(env!("CARGO_BIN_EXE_coffeeweb"), args)
    }

    /// Starts `program args...` (coffeeweb under a wrapper such as
    /// `prlimit`) and waits for the listening line, at most
    /// [`IO_TIMEOUT`]: a binary that hangs before it fails the test (and
    /// is killed).
    pub fn start_with(program: &str, args: &[&str]) -> Binary {
        let (mut child, mut lines, stdout) = spawn_for_lines(program, args, 1);
        let line = lines.remove(0);
        let addr = line
            .trim()
            .strip_prefix("coffeeweb listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .expect("address in the listening line");
        let stderr = child.stderr.take();
        Binary {
            child,
            addr,
            stdout_line: line,
            stderr,
            stdout,
        }
    }

    /// What the process wrote on stdout after its listening line, once it
    /// has exited (call after [`Binary::wait_exit`]).
    pub fn rest_of_stdout(&self) -> String {
        let mut rest = String::new();
        while let Ok(line) = self.stdout.recv_timeout(IO_TIMEOUT) {
            rest.push_str(&line);
        }
        rest
    }

    /// Sends a signal to the process.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) with the pid of a child we own and have not
        // reaped; it touches no memory of ours.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(rc, 0, "kill failed");
    }

    /// Waits for the process to exit, at most `limit` (woken by SIGCHLD,
    /// not by polling).
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        use wait_timeout::ChildExt;
        self.child.wait_timeout(limit).expect("wait for coffeeweb")
    }
}

/// Starts `program args...` and waits, at most [`IO_TIMEOUT`] for each,
/// for the first `lines` lines of its stdout (a binary that hangs before
/// them fails the test, and is killed); the rest of stdout comes line by
/// line through the receiver, from a reader thread that ends when the
/// process closes its stdout.
pub fn spawn_for_lines(
    program: &str,
    args: &[&str],
    lines: usize,
) -> (Child, Vec<String>, Receiver<String>) {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn coffeeweb");
    let pipe = child.stdout.take().unwrap();
    let (tx, stdout) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if tx.send(line + "\n").is_err() {
                return;
            }
        }
    });
    let mut first = Vec::with_capacity(lines);
    for _ in 0..lines {
        match stdout.recv_timeout(IO_TIMEOUT) {
            Ok(line) => first.push(line),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("no listening line within {IO_TIMEOUT:?}: {e}");
            }
        }
    }
    (child, first, stdout)
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A test whose real dependency (chromium, nginx, prlimit) is missing:
/// fails under CI (`CI=true`), where the dependency is installed and its
/// absence is a broken setup; elsewhere says it is skipped. The caller
/// returns after this.
pub fn missing_dependency(what: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true and {what}: this test must run in CI");
    }
    eprintln!("SKIPPED: {what}");
}

/// A handler for tests: `/panic` panics, `/big/N` answers N bytes of a
/// pattern, `/bad-header` sets an invalid header, `/close` asks to close,
/// anything else echoes `METHOD PATH body-length body` as text.
pub fn test_handler(req: &coffeeweb::Request<'_>, res: &mut coffeeweb::Response) {
    let path = req.path();
    if path == "/panic" {
        panic!("test handler panics on purpose");
    } else if let Some(n) = path.strip_prefix("/big/") {
        let n: usize = n.parse().unwrap_or(0);
        res.set_body(pattern(n));
    } else if path == "/bad-header" {
        res.header("X-Split", "a\r\nInjected: yes");
    } else if path == "/host" {
        res.set_body(req.host().unwrap_or("-").to_string());
    } else if path == "/close" {
        res.close_connection().set_body("bye");
    } else {
        let mut text = format!("{} {} {} ", req.method(), path, req.body().len()).into_bytes();
        text.extend_from_slice(req.body());
        res.header("Content-Type", "text/plain").set_body(text);
    }
}

/// `n` bytes of a repeating, position-dependent pattern.
pub fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// A server with [`test_handler`].
pub fn echo_server(config: Config) -> TestServer {
    TestServer::with_handler(config, test_handler)
}

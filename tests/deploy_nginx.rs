//! The deployment of docs/DEPLOY.md, end to end: two coffeeweb instances
//! behind an nginx configured from scripts/deploy/nginx.conf, on loopback.
//! Requests reach both and come back intact, pipelined and chunked ones
//! included. Skipped, saying so, where nginx is not installed; under `CI=true`
//! (CI installs it) that fails instead.

mod common;

use coffeeweb::{Request, Response};
use common::{config, Client, TestServer};
use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// An nginx in a temporary prefix, stopped (and its prefix removed) on
/// drop, also when a test panics.
struct Nginx {
    child: Child,
    prefix: PathBuf,
    addr: SocketAddr,
    stopped: bool,
}

impl Nginx {
    /// SIGTERM, not SIGKILL: a killed master leaves its workers running;
    /// a terminated one takes them down with it. Runs once: after the first call the pid is reaped and may belong
    /// to another process, so it is never signalled again.
    fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        // SAFETY: kill(2) on the pid of a child we own and have not reaped
        // (`stopped` was false, and only this function waits for it).
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.prefix);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_nginx(upstreams: [SocketAddr; 2]) -> Option<Nginx> {
    if Command::new("nginx")
        .arg("-v")
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        common::missing_dependency("nginx is not installed (apt-get install nginx-light)");
        return None;
    }
    let prefix = std::env::temp_dir().join(format!("coffeeweb-nginx-{}", std::process::id()));
    std::fs::create_dir_all(prefix.join("logs")).unwrap();
    let port = free_port();
    let template = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/deploy/nginx.conf"
    ))
    .unwrap();
    let conf = template
        .replace("PREFIX", prefix.to_str().unwrap())
        .replace("UPSTREAM_A", &upstreams[0].port().to_string())
        .replace("UPSTREAM_B", &upstreams[1].port().to_string())
        .replace("FRONT_PORT", &port.to_string())
        .replace("worker_processes auto", "worker_processes 1");
    std::fs::write(prefix.join("nginx.conf"), conf).unwrap();
    let child = Command::new("nginx")
        .arg("-p")
        .arg(&prefix)
        .arg("-c")
        .arg(prefix.join("nginx.conf"))
        .arg("-e")
        .arg(prefix.join("logs/error.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start nginx");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let nginx = Nginx {
        child,
        prefix,
        addr,
        stopped: false,
    };
    // nginx says nothing when it is ready: wait until it accepts.
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "nginx did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(nginx)
}

fn instance(name: &'static str) -> TestServer {
    TestServer::with_handler(config(), move |req: &Request<'_>, res: &mut Response| {
        let mut body = format!(
            "{name} {} {} {} ",
            req.method(),
            req.path(),
            req.body().len()
        )
        .into_bytes();
        body.extend_from_slice(req.body());
        res.header("X-Instance", name).set_body(body);
    })
}

#[test]
fn two_instances_behind_nginx() {
    let a = instance("a");
    let b = instance("b");
    let Some(nginx) = start_nginx([a.addr, b.addr]) else {
        return;
    };

    // Round-robin reaches both.
    let mut seen = HashSet::new();
    for i in 0..10 {
        let mut client = Client::connect(nginx.addr);
        let reply = client
            .send(format!("GET /r{i} HTTP/1.1\r\nHost: t\r\n\r\n"))
            .response();
        assert_eq!(reply.status, 200);
        let who = reply.header("x-instance").unwrap().to_string();
        assert_eq!(reply.text(), format!("{who} GET /r{i} 0 "));
        seen.insert(who);
    }
    assert_eq!(seen.len(), 2, "both instances answered: {seen:?}");

    // Pipelined requests come back in order, intact.
    let mut client = Client::connect(nginx.addr);
    let batch: String = (0..10)
        .map(|i| format!("GET /p{i} HTTP/1.1\r\nHost: t\r\n\r\n"))
        .collect();
    client.send(batch);
    for i in 0..10 {
        let reply = client.response();
        assert!(
            reply.text().ends_with(&format!(" GET /p{i} 0 ")),
            "{}",
            reply.text()
        );
    }

    // A chunked body is re-framed by nginx and arrives whole.
    let reply = client
        .send("POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        .response();
    assert!(
        reply.text().ends_with(" POST /c 11 hello world"),
        "{}",
        reply.text()
    );

    // And a large body with Content-Length.
    let body = "x".repeat(200_000);
    let reply = client
        .send(format!(
            "PUT /big HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ))
        .response();
    assert!(
        reply.text().contains(" PUT /big 200000 "),
        "{}",
        &reply.text()[..40]
    );
    assert!(reply.body.ends_with(body.as_bytes()));

    // nginx logged no upstream errors.
    let mut child = nginx;
    child.stop();
    let log = std::fs::read_to_string(child.prefix.join("logs/error.log")).unwrap_or_default();
    assert!(!log.contains("upstream"), "{log}");
    if let Some(stderr) = child.child.stderr.take() {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            assert!(!line.contains("[emerg]"), "{line}");
        }
    }
}

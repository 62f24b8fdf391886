//! Files that change while they are being downloaded, over real sockets
//! from the binary (`coffeeweb --root`), large enough to go by `sendfile`
//! and to outlast the socket buffers:
//!
//! - truncated in place: the connection closes short of its
//!   `Content-Length`, having sent only the file's own bytes (never padding,
//!   never a hang), and the server logs a warning;
//! - renamed over (what editors and deploy tools do): the download goes on
//!   with the old bytes to its end; the next request gets the new file.

mod common;

use common::{pattern, Binary, IO_TIMEOUT};
use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;

/// 32 MiB: several times what loopback socket buffers hold.
const SIZE: usize = 32 << 20;

/// A temporary docroot, removed on drop (also when a test panics).
struct Root(PathBuf);

impl Root {
    fn new(name: &str) -> Root {
        let dir = std::env::temp_dir().join(format!(
            "coffeeweb-file-changes-{name}-{}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Root(dir)
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A GET with its head read; the body is read as the test chooses.
struct Download {
    stream: TcpStream,
    len: usize,
    body: Vec<u8>,
}

impl Download {
    fn start(addr: SocketAddr, path: &str) -> Download {
        let mut stream = common::connect(addr);
        write!(stream, "GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
        let (status, len, body) = common::read_head(&mut stream);
        assert_eq!(status, 200);
        let len = len.expect("Content-Length") as usize;
        Download { stream, len, body }
    }

    /// Reads until `at_least` body bytes are in, or the end.
    fn read_until(&mut self, at_least: usize) {
        let mut chunk = vec![0u8; 64 * 1024];
        while self.body.len() < at_least {
            let n = common::read_some(&mut self.stream, &mut chunk).unwrap();
            assert!(n > 0, "closed after {} bytes", self.body.len());
            self.body.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads until the server closes (EOF or reset); a stall past the
    /// socket's read timeout fails the test.
    fn read_to_close(&mut self) {
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            match common::read_some(&mut self.stream, &mut chunk) {
                Ok(0) => return,
                Ok(n) => self.body.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return,
                Err(e) => panic!("not closed after {} bytes: {e}", self.body.len()),
            }
        }
    }
}

fn serve(root: &Root) -> Binary {
    Binary::start(&[
        "--listen",
        "127.0.0.1:0",
        "-q",
        "--root",
        root.0.to_str().unwrap(),
    ])
}

/// Stops the binary and returns what it logged.
fn stop(mut binary: Binary) -> String {
    binary.signal(libc::SIGTERM);
    let status = binary.wait_exit(IO_TIMEOUT).expect("exited");
    assert!(status.success(), "{status:?}");
    let mut log = String::new();
    binary
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    log
}

#[test]
fn a_file_truncated_under_a_download_closes_it_short_and_is_logged() {
    let root = Root::new("truncated");
    let path = root.0.join("big.bin");
    let content = pattern(SIZE);
    fs::write(&path, &content).unwrap();
    let binary = serve(&root);
    let mut download = Download::start(binary.addr, "/big.bin");
    assert_eq!(download.len, SIZE);
    download.read_until(1 << 20);
    // Truncated at a page boundary: a page cut in its middle is zeroed by
    // the kernel, even where sendfile has already queued it (see
    // src/server/output.rs).
    let kept = 8 << 20;
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(kept as u64)
        .unwrap();
    download.read_to_close();
    let got = download.body.len();
    assert!(got < SIZE, "the whole length arrived: padded?");
    assert!(
        download.body == content[..got],
        "bytes that are not the file's among the first {got}"
    );
    let log = stop(binary);
    assert!(
        log.lines()
            .any(|l| l.contains("WARN") && l.contains("shrank while being sent")),
        "no warning logged: {log}"
    );
}

#[test]
fn a_file_renamed_over_under_a_download_keeps_sending_the_old_bytes() {
    let root = Root::new("renamed");
    let path = root.0.join("big.bin");
    let old = pattern(SIZE);
    fs::write(&path, &old).unwrap();
    let binary = serve(&root);
    let mut download = Download::start(binary.addr, "/big.bin");
    download.read_until(1 << 20);
    let new = vec![0xA5u8; SIZE / 2];
    let staged = root.0.join(".big.bin.new");
    fs::write(&staged, &new).unwrap();
    fs::rename(&staged, &path).unwrap();
    download.read_until(SIZE);
    assert_eq!(download.body.len(), SIZE, "more than Content-Length");
    assert!(download.body == old, "the old file's bytes, all of them");
    // A new request gets the new file.
    let mut fresh = Download::start(binary.addr, "/big.bin");
    assert_eq!(fresh.len, new.len());
    fresh.read_until(new.len());
    assert!(fresh.body == new);
    let log = stop(binary);
    assert!(!log.contains("WARN"), "{log}");
}

//! A temporary folder to serve, and one-request helpers, for the tests of
//! the static-file features (precompressed copies, fallback, listings).

#![allow(dead_code)]

use crate::common::{Client, Reply};
use std::fs;
use std::net::SocketAddr;
use std::path::PathBuf;

/// A temporary docroot, removed on drop.
pub struct Docroot {
    pub dir: PathBuf,
}

impl Docroot {
    /// An empty docroot; `name` tells test runs apart.
    pub fn new(name: &str) -> Docroot {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let base =
            std::env::temp_dir().join(format!("coffeeweb-{name}-{}-{n}", std::process::id()));
        let dir = base.join("root");
        fs::create_dir_all(&dir).unwrap();
        Docroot { dir }
    }

    /// Writes `content` at `name` (folders made as needed).
    pub fn file(&self, name: &str, content: &[u8]) -> &Docroot {
        let path = self.dir.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
        self
    }

    /// A path beside the root (outside it).
    pub fn outside(&self, name: &str) -> PathBuf {
        self.dir.parent().unwrap().join(name)
    }
}

impl Drop for Docroot {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(self.dir.parent().unwrap());
    }
}

/// `METHOD path` with `headers`, as an HTTP/1.1 request.
pub fn request(method: &str, path: &str, headers: &[(&str, &str)]) -> String {
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: test\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text
}

/// One request on a new connection, and its response.
pub fn fetch(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    Client::connect(addr)
        .send(request(method, path, headers))
        .response_to(method)
}

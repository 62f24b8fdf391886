//! Uploads answered with their length and checksum, and a folder for
//! downloads: the server `scripts/soak.sh` runs, so that every byte a
//! client sends or receives can be checked.
//!
//! ```sh
//! cargo run --release --example echo -- --listen 127.0.0.1:8080 --root ./site
//! curl -s --data-binary @file http://127.0.0.1:8080/upload   # "LEN CRC32-HEX"
//! curl -s http://127.0.0.1:8080/file.bin                     # from ./site
//! ```
//!
//! POST and PUT, to any path: `200 text/plain`, the decoded body's length
//! and its CRC-32 (IEEE, as zlib's and Python's `zlib.crc32`) as 8 hex
//! digits (Content-Length and chunked bodies alike). GET and HEAD: the static files of `--root` (the welcome
//! page without it). Logs warnings and errors to stderr; SIGINT or SIGTERM
//! shuts down gracefully, as the binary does.

mod common;

use coffeeweb::handlers::{StaticFiles, Welcome};
use coffeeweb::{Config, Handler, Request, Response};
use std::io;
use std::time::Duration;

enum Downloads {
    Files(StaticFiles),
    Welcome(Welcome),
}

impl Downloads {
    /// The same for another event loop (a static-file cache each).
    fn for_another_loop(&self) -> Downloads {
        match self {
            Downloads::Files(files) => Downloads::Files(files.for_another_loop()),
            Downloads::Welcome(_) => Downloads::Welcome(Welcome),
        }
    }
}

struct Echo {
    downloads: Downloads,
}

impl Handler for Echo {
    fn handle(&mut self, req: &Request<'_>, res: &mut Response) {
        match (req.method(), &mut self.downloads) {
            ("POST" | "PUT", _) => {
                let body = req.body();
                res.header("Content-Type", "text/plain").set_body(format!(
                    "{} {:08x}",
                    body.len(),
                    crc32(body)
                ));
            }
            (_, Downloads::Files(files)) => files.handle(req, res),
            (_, Downloads::Welcome(welcome)) => welcome.handle(req, res),
        }
    }

    fn refuse_early(&mut self, req: &Request<'_>, res: &mut Response) -> bool {
        match (req.method(), &mut self.downloads) {
            ("POST" | "PUT", _) => false,
            (_, Downloads::Files(files)) => files.refuse_early(req, res),
            (_, Downloads::Welcome(welcome)) => welcome.refuse_early(req, res),
        }
    }
}

/// CRC-32 (IEEE 802.3, reflected, as zlib): what a client in any language
/// has at hand. Bitwise: the uploads of a soak are small.
fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |mut crc, &b| {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
        crc
    })
}

const USAGE: &str = "usage: echo [--listen ADDR]... [--root DIR] [--max-connections N] \
                     [--header-timeout-ms N] [--max-body-bytes N]";

fn parse<T: std::str::FromStr>(value: &str) -> io::Result<T>
where
    T::Err: std::fmt::Display,
{
    common::parse(USAGE, value)
}

fn main() -> io::Result<()> {
    simple_logger::SimpleLogger::new()
        .with_level(log::LevelFilter::Warn)
        .init()
        .map_err(io::Error::other)?;
    let mut config = Config {
        access_log: false,
        ..Config::default()
    };
    let mut downloads = Downloads::Welcome(Welcome);
    common::parse_args(&mut config, USAGE, |config, flag, value| {
        match flag {
            "--root" => downloads = Downloads::Files(StaticFiles::new(value()?, false)?),
            "--max-connections" => config.max_connections = parse(&value()?)?,
            "--header-timeout-ms" => {
                config.header_timeout = Duration::from_millis(parse(&value()?)?)
            }
            "--max-body-bytes" => config.max_body_bytes = parse(&value()?)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    let server = coffeeweb::Server::bind_with(config, |_| Echo {
        downloads: downloads.for_another_loop(),
    })?;
    let handle = server.handle();
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
    ])?;
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            handle.shutdown();
        }
    });
    common::print_listening(&server);
    server.run()
}

#[cfg(test)]
mod tests {
    #[test]
    fn crc32_of_known_inputs() {
        assert_eq!(super::crc32(b""), 0);
        assert_eq!(super::crc32(b"123456789"), 0xcbf4_3926);
    }
}

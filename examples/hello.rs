//! The smallest coffeeweb server: every GET answers `Hello, World!`.
//!
//! ```sh
//! cargo run --release --example hello -- --listen 127.0.0.1:8080 --workers 1
//! # --deferred-accept: TCP_DEFER_ACCEPT, as in S3 of the README
//! ```
//!
//! The same 13 bytes that nginx's `return 200 "Hello, World!"` sends, which
//! makes it the target of the side-by-side benchmarks (`scripts/bench.sh`).

mod common;

use coffeeweb::{Config, Request, Response, Server};

fn hello(_: &Request<'_>, res: &mut Response) {
    res.header("Content-Type", "text/plain")
        .set_body("Hello, World!");
}

fn main() -> std::io::Result<()> {
    let mut config = Config {
        access_log: false,
        ..Config::default()
    };
    let usage = "usage: hello [--listen ADDR]... [--workers N] [--deferred-accept]";
    common::parse_args(&mut config, usage, |config, flag, value| {
        match flag {
            "--workers" => config.workers = common::parse(usage, &value()?)?,
            "--deferred-accept" => config.deferred_accept = true,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    let server = Server::bind(config, hello)?;
    common::print_listening(&server);
    server.run()
}

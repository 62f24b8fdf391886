//! The smallest coffeeweb server: every GET answers `Hello, World!`.
//!
//! ```sh
//! cargo run --release --example hello -- --listen 127.0.0.1:8080 --workers 1
//! ```
//!
//! The same 13 bytes that nginx's `return 200 "Hello, World!"` sends, which
//! makes it the target of the side-by-side benchmarks (`scripts/bench.sh`).

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
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_default();
        match flag.as_str() {
            "--listen" => config.listen = vec![value.parse().map_err(std::io::Error::other)?],
            "--workers" => config.workers = value.parse().map_err(std::io::Error::other)?,
            _ => {
                return Err(std::io::Error::other(
                    "usage: hello [--listen ADDR] [--workers N]",
                ))
            }
        }
    }
    let server = Server::bind(config, hello)?;
    println!("coffeeweb listening on http://{}", server.local_addrs()[0]);
    server.run()
}

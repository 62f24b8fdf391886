//! Slow work off the loop: `GET /slow` sleeps 100 ms on a thread of the
//! pool, then answers `done`; `GET /` answers `Hello, World!` at once, and
//! keeps doing so while any number of `/slow` requests wait.
//!
//! ```sh
//! cargo run --release --example pool -- --listen 127.0.0.1:8080
//! curl http://127.0.0.1:8080/slow
//! ```
//!
//! The handler runs on the event loop and must not block; `Pool::answer`
//! keeps the request, runs the closure on the pool, and the answer comes
//! back to the loop through its waker. A full queue answers 503 at once.

mod common;

use coffeeweb::handlers::Pool;
use coffeeweb::{Config, Request, Response, Server};
use std::time::Duration;

fn main() -> std::io::Result<()> {
    let mut config = Config {
        access_log: false,
        ..Config::default()
    };
    common::parse_args(&mut config, "usage: pool [--listen ADDR]...", |_, _, _| {
        Ok(false)
    })?;
    let pool = Pool::new(16, 1024)?;
    let server = Server::bind(
        config,
        move |req: &Request<'_>, res: &mut Response| match req.path() {
            "/slow" => pool.answer(res, |res| {
                std::thread::sleep(Duration::from_millis(100));
                res.header("Content-Type", "text/plain").set_body("done");
            }),
            _ => {
                res.header("Content-Type", "text/plain")
                    .set_body("Hello, World!");
            }
        },
    )?;
    common::print_listening(&server);
    server.run()
}

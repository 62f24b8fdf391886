//! Every request answered 100 ms later, by a timer of the loop: no thread
//! waits, so one loop holds thousands of delayed requests at once. The
//! target of the S6 benchmark in `scripts/bench.sh` (against Node.js's
//! `setTimeout` and nginx's `echo_sleep`).
//!
//! ```sh
//! cargo run --release --example delay -- --listen 127.0.0.1:8080
//! curl http://127.0.0.1:8080/
//! ```
//!
//! `Response::answer_after` keeps the request in the loop's timer heap; the
//! closure runs on the loop when the delay is over and sets the answer.

mod common;

use coffeeweb::{Config, Request, Response, Server};
use std::time::Duration;

/// How long every answer waits.
const DELAY: Duration = Duration::from_millis(100);

fn delayed(_: &Request<'_>, res: &mut Response) {
    res.answer_after(DELAY, |res| {
        res.header("Content-Type", "text/plain")
            .set_body("Hello, World!");
    });
}

fn main() -> std::io::Result<()> {
    let mut config = Config {
        access_log: false,
        ..Config::default()
    };
    common::parse_args(&mut config, "usage: delay [--listen ADDR]...", |_, _, _| {
        Ok(false)
    })?;
    let server = Server::bind(config, delayed)?;
    common::print_listening(&server);
    server.run()
}

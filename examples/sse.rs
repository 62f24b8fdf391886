//! Server-Sent Events: `GET /events` subscribes to a stream on which every
//! subscriber receives the same event once a second, from one ticker
//! thread; `POST /publish` sends its body as an event to every subscriber.
//! A tick's data carries the time it was sent (`sent_us`, microseconds
//! since the epoch), so a client can time its delivery (S7 in
//! `scripts/bench.sh`).
//!
//! ```sh
//! cargo run --release --example sse -- --listen 127.0.0.1:8080
//! curl -N http://127.0.0.1:8080/events
//! curl -d 'hello, all' http://127.0.0.1:8080/publish
//! ```
//!
//! One event is made once and shared by every subscriber's stream (no copy
//! per subscriber); subscribers that left, or that stopped reading, are
//! dropped at the next event.

mod common;

use coffeeweb::handlers::broadcast::{event, Broadcast};
use coffeeweb::{Config, Request, Response, Server, Status};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn main() -> std::io::Result<()> {
    let mut config = Config {
        access_log: false,
        ..Config::default()
    };
    common::parse_args(&mut config, "usage: sse [--listen ADDR]...", |_, _, _| {
        Ok(false)
    })?;
    let events = Broadcast::new();
    let ticker = events.clone();
    std::thread::Builder::new()
        .name("ticker".into())
        .spawn(move || {
            for tick in 1.. {
                std::thread::sleep(Duration::from_secs(1));
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default();
                let (unix, sent_us) = (now.as_secs(), now.as_micros());
                ticker.send(event(
                    Some(tick),
                    &format!("{{\"tick\":{tick},\"unix\":{unix},\"sent_us\":{sent_us}}}"),
                ));
            }
        })?;
    let server = Server::bind(config, move |req: &Request<'_>, res: &mut Response| match (
        req.method(),
        req.path(),
    ) {
        ("GET", "/events") => events.subscribe(res),
        ("POST", "/publish") => {
            let text = String::from_utf8_lossy(req.body());
            let reached = events.send(event(None, &text));
            res.header("Content-Type", "text/plain")
                .set_body(format!("sent to {reached} subscribers\n"));
        }
        (_, "/events" | "/publish") => {
            res.error(Status::METHOD_NOT_ALLOWED)
                .header("Allow", "GET (/events), POST (/publish)");
        }
        _ => {
            res.error(Status::NOT_FOUND);
        }
    })?;
    common::print_listening(&server);
    server.run()
}

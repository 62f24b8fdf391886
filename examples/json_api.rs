//! A tiny JSON API on coffeeweb: a menu to read and orders to place.
//!
//! ```sh
//! cargo run --example json_api -- --listen 127.0.0.1:8080
//! curl -s http://127.0.0.1:8080/api/coffees
//! curl -s -d '{"coffee":"flat white"}' http://127.0.0.1:8080/api/orders
//! ```
//!
//! Handlers run on the event loop's thread, so they must not block. State
//! that all workers share lives behind an `Arc` and is touched without
//! waiting (an atomic counter here); anything slow belongs on another
//! thread, not in a handler.

mod common;

use coffeeweb::{Config, Request, Response, Server, Status};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const MENU: [&str; 4] = ["espresso", "flat white", "cortado", "filter"];

#[derive(Clone, Default)]
struct Cafe {
    orders: Arc<AtomicU64>,
}

impl Cafe {
    fn serve(&self, req: &Request<'_>, res: &mut Response) {
        match (req.method(), req.path()) {
            ("GET" | "HEAD", "/api/coffees") => reply(res, Status::OK, &json!({ "coffees": MENU })),
            ("POST", "/api/orders") => self.order(req.body(), res),
            (_, "/api/coffees") => not_allowed(res, "GET, HEAD"),
            (_, "/api/orders") => not_allowed(res, "POST"),
            _ => reply(res, Status::NOT_FOUND, &json!({ "error": "no such route" })),
        }
    }

    fn order(&self, body: &[u8], res: &mut Response) {
        let coffee = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|order| order.get("coffee")?.as_str().map(str::to_owned));
        match coffee {
            Some(coffee) if MENU.contains(&coffee.as_str()) => {
                let number = self.orders.fetch_add(1, Ordering::Relaxed) + 1;
                reply(
                    res,
                    Status::CREATED,
                    &json!({ "order": number, "coffee": coffee }),
                );
            }
            Some(coffee) => reply(
                res,
                Status::UNPROCESSABLE_CONTENT,
                &json!({ "error": format!("{coffee} is not on the menu") }),
            ),
            None => reply(
                res,
                Status::BAD_REQUEST,
                &json!({ "error": "expected {\"coffee\": \"...\"}" }),
            ),
        }
    }
}

fn reply(res: &mut Response, status: Status, value: &Value) {
    res.set_status(status)
        .header("Content-Type", "application/json")
        .set_body(value.to_string());
}

fn not_allowed(res: &mut Response, allow: &str) {
    reply(
        res,
        Status::METHOD_NOT_ALLOWED,
        &json!({ "error": "method not allowed" }),
    );
    res.header("Allow", allow);
}

fn main() -> std::io::Result<()> {
    let mut config = Config::default();
    common::parse_args(
        &mut config,
        "usage: json_api [--listen ADDR]...",
        |_, _, _| Ok(false),
    )?;
    let cafe = Cafe::default();
    let server = Server::bind(config, move |req: &Request<'_>, res: &mut Response| {
        cafe.serve(req, res)
    })?;
    common::print_listening(&server);
    server.run()
}

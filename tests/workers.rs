//! `--workers N`: N event loops share the port (SO_REUSEPORT), each with
//! its own clone of the handler; new connections are spread over them.

mod common;

use coffeeweb::{Config, Request, Response};
use common::{config, get, Client, TestServer};
use std::collections::HashSet;

#[test]
fn connections_are_spread_over_every_worker() {
    let server = TestServer::with_handler(
        Config {
            workers: 3,
            ..config()
        },
        |_: &Request<'_>, res: &mut Response| {
            let name = std::thread::current().name().unwrap_or("?").to_string();
            res.set_body(name);
        },
    );
    let mut loops = HashSet::new();
    for _ in 0..100 {
        let mut client = Client::connect(server.addr);
        // One connection stays on one loop.
        let first = client.send(get("/")).response().text();
        assert_eq!(client.send(get("/")).response().text(), first);
        loops.insert(first);
    }
    let expected: HashSet<String> = (0..3).map(|i| format!("coffeeweb-{i}")).collect();
    assert_eq!(loops, expected);
}

#[test]
fn each_worker_has_its_own_handler_state() {
    // A counter per handler clone: with several loops, numbers repeat.
    let mut count = 0u64;
    let server = TestServer::with_handler(
        Config {
            workers: 2,
            ..config()
        },
        move |_: &Request<'_>, res: &mut Response| {
            count += 1;
            res.set_body(format!(
                "{} {count}",
                std::thread::current().name().unwrap_or("?")
            ));
        },
    );
    let mut seen = HashSet::new();
    for _ in 0..60 {
        seen.insert(
            Client::connect(server.addr)
                .send(get("/"))
                .response()
                .text(),
        );
    }
    for worker in ["coffeeweb-0", "coffeeweb-1"] {
        assert!(
            seen.contains(&format!("{worker} 1")),
            "{worker} counted on its own: {seen:?}"
        );
    }
    let stats = server.handle.stats();
    assert_eq!(stats.requests_total, 60);
}

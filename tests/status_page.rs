//! `--status-path`: the JSON has every contract key with exact values under
//! a known load, summed over workers; browsers get a self-contained HTML
//! page; and in a real (headless) Chromium the page renders figures that
//! move.

mod common;

use coffeeweb::handlers::{StatusPage, Welcome, WithStatus};
use common::{browser, config, get, Client, TestServer};
use serde_json::Value;
use std::time::{Duration, Instant};

fn status_server(workers: usize) -> TestServer {
    let config = coffeeweb::Config {
        workers,
        ..config()
    };
    TestServer::with_factory(config, |server| {
        let server = server.clone();
        let page = StatusPage::new("/status".into(), move || server.stats());
        WithStatus::new(Some(page), Welcome)
    })
}

fn status_json(client: &mut Client) -> Value {
    let reply = client.send(get("/status?format=json")).response();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    serde_json::from_slice(&reply.body).expect("valid JSON")
}

/// Sends `requests` on one connection, reads every response, and returns
/// the bytes sent and received on the wire.
fn exchange(server: &TestServer, requests: &[String]) -> (u64, u64) {
    let mut client = Client::connect(server.addr);
    let (mut sent, mut received) = (0, 0);
    for request in requests {
        client.send(request);
        sent += request.len() as u64;
        let method = request.split(' ').next().unwrap();
        let reply = client.response_to(method);
        received += reply.wire_len();
    }
    (sent, received)
}

/// Waits (bounded) until every loop has added the bytes of the responses
/// the client read and closed the connections it dropped. A loop adds a
/// response's bytes once its write() has returned, and the client may read
/// the response before that: with two loops, the asker's would read a
/// figure a moment old (2 and 10 runs in 200 under load: a response's
/// bytes short), and a close landing while it sums the gauges would set
/// `active` and `idle` apart. Nothing signals that another loop caught up,
/// so this reads the figures (without a request, which would change them)
/// until they have.
fn settle(server: &TestServer, bytes_sent: u64, connections: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let s = server.handle.stats();
        if (s.bytes_sent, s.connections_active) == (bytes_sent, connections) {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn exact_counts_after_known_load(workers: usize) {
    let server = status_server(workers);
    let mut total_sent = 0;
    let mut total_received = 0;
    // 4 connections: 6 × 200, 3 × 404, 2 × 405 in all.
    for batch in [
        vec![get("/"), get("/"), get("/missing")],
        vec![get("/"), "DELETE / HTTP/1.1\r\nHost: t\r\n\r\n".to_string()],
        vec![get("/nope"), get("/"), get("/")],
        vec![
            get("/gone"),
            get("/"),
            "PUT /x HTTP/1.1\r\nHost: t\r\n\r\n".to_string(),
        ],
    ] {
        let (sent, received) = exchange(&server, &batch);
        total_sent += sent;
        total_received += received;
    }
    // Keep two idle keep-alive connections open while asking.
    let mut idle_a = Client::connect(server.addr);
    let mut idle_b = Client::connect(server.addr);
    for idle in [&mut idle_a, &mut idle_b] {
        let request = get("/");
        let reply = idle.send(&request).response();
        total_sent += request.len() as u64;
        total_received += reply.wire_len();
    }
    settle(&server, total_received, 2);
    let mut asker = Client::connect(server.addr);
    let json = status_json(&mut asker);
    let number = |key: &str| {
        json[key]
            .as_u64()
            .unwrap_or_else(|| panic!("{key} in {json}"))
    };

    assert_eq!(number("requests_total"), 13, "{json}");
    assert_eq!(json["responses_by_class"]["2xx"], 8);
    assert_eq!(json["responses_by_class"]["4xx"], 5);
    assert_eq!(json["responses_by_class"]["1xx"], 0);
    assert_eq!(json["responses_by_class"]["3xx"], 0);
    assert_eq!(json["responses_by_class"]["5xx"], 0);
    assert_eq!(number("connections_accepted"), 7);
    // The two idle ones and the asker are open.
    assert_eq!(number("connections_active"), 3, "{json}");
    assert_eq!(number("connections_reading"), 0, "{json}");
    assert_eq!(number("connections_writing"), 0, "{json}");
    assert_eq!(
        number("connections_idle"),
        number("connections_active"),
        "everyone is between requests: {json}"
    );
    let asked = get("/status?format=json").len() as u64;
    assert_eq!(number("bytes_received"), total_sent + asked, "{json}");
    assert_eq!(number("bytes_sent"), total_received, "{json}");
    assert!(number("loop_iterations") > 0);
    assert!(number("events_total") >= number("connections_accepted"));
    assert!(json["uptime_seconds"].as_f64().unwrap() >= 0.0);
    assert_eq!(number("workers"), workers as u64);

    // The asking request is counted once its answer is out.
    let again = status_json(&mut asker);
    assert_eq!(again["requests_total"], 14);
}

#[test]
fn json_counts_are_exact_with_one_worker() {
    exact_counts_after_known_load(1);
}

#[test]
fn json_counts_are_summed_over_workers() {
    exact_counts_after_known_load(2);
}

#[test]
fn accept_header_chooses_json_or_html() {
    let server = status_server(1);
    let mut client = Client::connect(server.addr);
    let json = client
        .send("GET /status HTTP/1.1\r\nHost: t\r\nAccept: application/json\r\n\r\n")
        .response();
    assert_eq!(json.header("content-type"), Some("application/json"));
    let curl = client
        .send("GET /status HTTP/1.1\r\nHost: t\r\nAccept: */*\r\n\r\n")
        .response();
    assert_eq!(curl.header("content-type"), Some("application/json"));
    let browser = "GET /status HTTP/1.1\r\nHost: t\r\n\
                   Accept: text/html,application/xhtml+xml,*/*;q=0.8\r\n\r\n";
    let html = client.send(browser).response();
    assert_eq!(
        html.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let page = html.text();
    assert!(page.starts_with("<!doctype html>"));
    // Self-contained: nothing is loaded from anywhere else.
    for external in ["src=\"http", "href=\"http", "@import", "<link", "url("] {
        assert!(!page.contains(external), "the page loads {external}");
    }
    let forced = client.send(get("/status?format=html")).response();
    assert_eq!(
        forced.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let post = client
        .send("POST /status HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n")
        .response();
    assert_eq!(post.status, 405);
}

#[test]
fn other_paths_still_reach_the_handler() {
    let server = status_server(1);
    let mut client = Client::connect(server.addr);
    assert_eq!(client.send(get("/")).response().status, 200);
    assert_eq!(client.send(get("/status/more")).response().status, 404);
    let without = TestServer::start(config());
    let mut client = Client::connect(without.addr);
    assert_eq!(client.send(get("/status")).response().status, 404);
}

/// The page in headless Chromium, with load running: the rendered DOM must
/// show a request count above the load already served and a non-zero rate
/// over several samples, i.e. figures that moved while the page watched.
#[test]
fn browser_renders_moving_figures() {
    let Some(chromium) = browser::chromium("browser_renders_moving_figures") else {
        return;
    };
    let server = status_server(1);
    let addr = server.addr;
    let (served_before, _) = exchange(&server, &vec![get("/"); 50]);
    assert!(served_before > 0);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut client = Client::connect(addr);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                client.send(get("/")).response();
            }
        })
    };
    let dom = browser::dump_dom(chromium, &format!("http://{addr}/status"), 6000);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    load.join().unwrap();
    let attribute = |id: &str, name: &str| -> f64 {
        let at = dom
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("#{id} not rendered"));
        let tag = &dom[at..at + dom[at..].find('>').unwrap()];
        let value = tag
            .split(&format!("{name}=\""))
            .nth(1)
            .unwrap_or_else(|| panic!("#{id} has no {name}: {tag}"));
        value[..value.find('"').unwrap()].parse().unwrap()
    };
    assert!(
        attribute("requests-total", "data-value") > 50.0,
        "the page saw the load"
    );
    assert!(
        attribute("rps-chart", "data-samples") >= 2.0,
        "several samples were drawn"
    );
    assert!(
        attribute("rps", "data-value") > 0.0,
        "the request rate moved"
    );
    let p99 = attribute("dur-p99", "data-value");
    let max = attribute("dur-max", "data-value");
    assert!(
        p99 <= max,
        "the durations are drawn: p99 {p99} <= max {max}"
    );
}

/// 95 quick requests and 5 that take 30 ms: the median is quick, the 99th
/// percentile and the maximum are the slow ones, as the loop measured them
/// (from the complete head to the queued response).
#[test]
fn request_durations_show_the_slow_tail() {
    let slow_ms = 30;
    let handler = move |req: &coffeeweb::Request<'_>, res: &mut coffeeweb::Response| {
        if req.path() == "/slow" {
            // Blocking the loop on purpose: the duration to be measured.
            std::thread::sleep(std::time::Duration::from_millis(slow_ms));
        }
        res.set_body("ok");
    };
    let server = TestServer::with_factory(config(), move |server| {
        let server = server.clone();
        let page = StatusPage::new("/status".into(), move || server.stats());
        WithStatus::new(Some(page), handler)
    });
    let mut requests = vec![get("/"); 95];
    requests.extend(vec![get("/slow"); 5]);
    exchange(&server, &requests);
    let json = status_json(&mut Client::connect(server.addr));
    let d = &json["request_duration_us"];
    let field = |k: &str| d[k].as_u64().unwrap_or_else(|| panic!("{k} in {json}"));
    let slow_us = slow_ms * 1000;
    assert_eq!(field("count"), 100, "{json}");
    assert!(field("p50") < slow_us / 10, "{json}");
    assert!(field("p90") < slow_us / 10, "{json}");
    assert!(field("p99") >= slow_us, "{json}");
    assert!(
        field("max") >= slow_us && field("max") < 20 * slow_us,
        "{json}"
    );
    assert!(field("p99") <= field("max"), "{json}");
}

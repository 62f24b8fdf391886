//! Live statistics at `--status-path`: JSON for programs, a page for people.
//!
//! Each event loop counts into its own [`LoopStats`](crate::server::stats::LoopStats);
//! the page sums them when asked (see `src/server/stats.rs` for why that
//! needs no locking). `GET PATH?format=json`, or an `Accept` that does not
//! ask for HTML, gets JSON; a browser gets a self-contained page (no CDN,
//! no external file) that polls the JSON once a second and draws it.
//!
//! The request asking is not counted yet when its own figures are taken:
//! after N requests, the N+1st reports `requests_total: N`.
//!
//! `request_duration_us` holds `count`, `p50`, `p90`, `p99` and `max` of
//! the requests answered in the last 10 s, merged over the loops (see
//! `src/server/histogram.rs`); a percentile is the top of its bucket, at
//! most 1/16 above the true value, and never above `max`.

use super::mount::{refuse_at_path, Endpoint};
use super::refuse_unless_get_or_head;
use crate::http::{Request, Response};
use crate::server::stats::Snapshot;
use crate::ServerHandle;
use std::fmt::Write;

/// The HTML view.
const PAGE: &str = include_str!("status.html");

/// Serves the statistics of the server it belongs to at one path.
#[derive(Clone)]
pub struct StatusPage {
    path: String,
    server: ServerHandle,
}

impl StatusPage {
    /// The page at `path` for the server behind `server`.
    pub fn new(path: String, server: ServerHandle) -> StatusPage {
        StatusPage { path, server }
    }

    /// Whether `req` asks for this page.
    pub fn matches(&self, req: &Request<'_>) -> bool {
        req.path() == self.path
    }

    /// Answers `req` with the page or the JSON.
    pub fn serve(&self, req: &Request<'_>, res: &mut Response) {
        if refuse_unless_get_or_head(req, res) {
            return;
        }
        res.header("Cache-Control", "no-store");
        if wants_html(req) {
            res.header("Content-Type", "text/html; charset=utf-8")
                .set_body(PAGE);
        } else {
            let json = to_json(
                &self.server.stats(),
                self.server.uptime_seconds(),
                self.server.workers(),
            );
            res.header("Content-Type", "application/json")
                .set_body(json);
        }
    }
}

impl Endpoint for StatusPage {
    fn serve(&mut self, req: &Request<'_>, res: &mut Response) -> bool {
        let ours = self.matches(req);
        if ours {
            StatusPage::serve(self, req, res);
        }
        ours
    }

    fn refuse_early(&mut self, req: &Request<'_>, res: &mut Response) -> Option<bool> {
        refuse_at_path(&self.path, req, res)
    }
}

/// `?format=json` and `?format=html` decide; otherwise an `Accept` that
/// names `text/html` gets the page, anything else (curl's `*/*`, a
/// program's `application/json`) the JSON.
fn wants_html(req: &Request<'_>) -> bool {
    let format = req
        .query()
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| pair.strip_prefix("format="));
    match format {
        Some(format) => format == "html",
        None => req
            .header_str("accept")
            .is_some_and(|accept| accept.contains("text/html")),
    }
}

/// The figures as a JSON object.
pub fn to_json(s: &Snapshot, uptime_seconds: f64, workers: usize) -> String {
    let mut json = String::with_capacity(512);
    let [c1, c2, c3, c4, c5] = s.responses_by_class;
    let d = &s.request_duration;
    // Writing into a String cannot fail.
    let _ = write!(
        json,
        "{{\"uptime_seconds\":{uptime_seconds:.3},\"workers\":{workers},\
         \"connections_accepted\":{},\"connections_refused\":{},\"connections_active\":{},\
         \"connections_reading\":{},\"connections_writing\":{},\"connections_idle\":{},\
         \"requests_total\":{},\
         \"responses_by_class\":{{\"1xx\":{c1},\"2xx\":{c2},\"3xx\":{c3},\"4xx\":{c4},\"5xx\":{c5}}},\
         \"bytes_received\":{},\"bytes_sent\":{},\"loop_iterations\":{},\"events_total\":{},\
         \"request_duration_us\":{{\"count\":{},\"p50\":{},\"p90\":{},\"p99\":{},\"max\":{}}}}}",
        s.connections_accepted,
        s.connections_refused,
        s.connections_active,
        s.connections_reading,
        s.connections_writing,
        s.connections_idle,
        s.requests_total,
        s.bytes_received,
        s.bytes_sent,
        s.loop_iterations,
        s.events_total,
        d.count,
        d.p50,
        d.p90,
        d.p99,
        d.max,
    );
    json
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_every_contract_key() {
        let snapshot = Snapshot {
            requests_total: 7,
            responses_by_class: [0, 5, 0, 2, 0],
            ..Snapshot::default()
        };
        let json = to_json(&snapshot, 1.5, 2);
        for key in [
            "uptime_seconds",
            "connections_accepted",
            "connections_active",
            "connections_reading",
            "connections_writing",
            "connections_idle",
            "requests_total",
            "responses_by_class",
            "bytes_received",
            "bytes_sent",
            "loop_iterations",
            "events_total",
            "request_duration_us",
            "p50",
            "p90",
            "p99",
            "max",
        ] {
            assert!(
                json.contains(&format!("\"{key}\":")),
                "{key} missing from {json}"
            );
        }
        assert!(json.contains("\"requests_total\":7"));
        assert!(json.contains("\"2xx\":5,\"3xx\":0,\"4xx\":2"));
        assert!(json.contains("\"uptime_seconds\":1.500"));
    }
}

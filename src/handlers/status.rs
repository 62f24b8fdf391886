//! Live statistics at `--status-path`: JSON for programs, a page for people.
//!
//! The page does not reach into the server: whoever composes it gives it a
//! function that returns the figures ([`Snapshot`]), usually
//! `ServerHandle::stats` (each event loop counts into its own counters and
//! the handle sums them when asked, with no locking: see
//! `src/server/stats.rs`). Put it in front of the other handler with
//! [`WithStatus`]. `GET PATH?format=json`, or an `Accept` that does not
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

use super::mount::{refuse_at_path, Endpoint, Mount};
use super::refuse_unless_get_or_head;
use crate::http::{Request, Response};
use crate::snapshot::Snapshot;
use std::fmt::Write;
use std::sync::Arc;

/// The HTML view.
const PAGE: &str = include_str!("status.html");

/// Where the page gets its figures from.
type Figures = Arc<dyn Fn() -> Snapshot + Send + Sync>;

/// Serves the statistics of a server at one path.
#[derive(Clone)]
pub struct StatusPage {
    path: String,
    figures: Figures,
}

impl StatusPage {
    /// The page at `path`, showing what `figures` returns when asked.
    pub fn new(path: String, figures: impl Fn() -> Snapshot + Send + Sync + 'static) -> StatusPage {
        StatusPage {
            path,
            figures: Arc::new(figures),
        }
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
            let json = to_json(&(self.figures)());
            res.header("Content-Type", "application/json")
                .set_body(json);
        }
    }
}

/// A handler with the status page (when there is one) in front of it.
pub type WithStatus<H> = Mount<StatusPage, H>;

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

    fn allowed_methods(&self, req: &Request<'_>) -> Option<&'static str> {
        self.matches(req).then_some("GET, HEAD")
    }
}

/// `?format=json` and `?format=html` decide; otherwise an `Accept` that
/// names `text/html` gets the page, anything else (curl's `*/*`, a
/// program's `application/json`) the JSON.
fn wants_html(req: &Request<'_>) -> bool {
    match req.query_param("format") {
        Some(format) => format == "html",
        None => req
            .header_str("accept")
            .is_some_and(|accept| accept.contains("text/html")),
    }
}

/// The figures as a JSON object.
pub fn to_json(s: &Snapshot) -> String {
    let mut json = String::with_capacity(512);
    let (uptime_seconds, workers) = (s.uptime_seconds, s.workers);
    let [c1, c2, c3, c4, c5] = s.responses_by_class;
    let d = &s.request_duration;
    // Writing into a String cannot fail.
    let _ = write!(
        json,
        "{{\"uptime_seconds\":{uptime_seconds:.3},\"workers\":{workers},\
         \"connections_accepted\":{},\"connections_refused\":{},\"connections_active\":{},\
         \"connections_reading\":{},\"connections_writing\":{},\"connections_idle\":{},\
         \"connections_waiting\":{},\"connections_streaming\":{},\
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
        s.connections_waiting,
        s.connections_streaming,
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
            uptime_seconds: 1.5,
            workers: 2,
            requests_total: 7,
            responses_by_class: [0, 5, 0, 2, 0],
            ..Snapshot::default()
        };
        let json = to_json(&snapshot);
        for key in [
            "uptime_seconds",
            "connections_accepted",
            "connections_active",
            "connections_reading",
            "connections_writing",
            "connections_idle",
            "connections_waiting",
            "connections_streaming",
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

//! Prometheus metrics at `--metrics-path`, in the text exposition format
//! (version 0.0.4), summed over the event loops.
//!
//! The figures are those of the statistics JSON (`status.rs`): both are
//! rendered from one [`Snapshot`], so they agree by construction. Counters
//! end in `_total`, every metric has `# HELP` and `# TYPE` (what
//! `promtool check metrics` asks for), and the request durations are a
//! histogram in seconds with buckets from 100 µs to 60 s, cumulative since
//! start.

use super::mount::{refuse_at_path, Endpoint};
use super::refuse_unless_get_or_head;
use crate::http::{Request, Response};
use crate::snapshot::{Snapshot, PROMETHEUS_BOUNDS_US};
use std::fmt::Write;
use std::sync::Arc;

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Serves the metrics of a server at one path.
#[derive(Clone)]
pub struct MetricsPage {
    path: String,
    figures: Arc<dyn Fn() -> Snapshot + Send + Sync>,
}

impl MetricsPage {
    /// The metrics at `path`, from what `figures` returns when asked
    /// (usually `ServerHandle::stats`).
    pub fn new(
        path: String,
        figures: impl Fn() -> Snapshot + Send + Sync + 'static,
    ) -> MetricsPage {
        MetricsPage {
            path,
            figures: Arc::new(figures),
        }
    }
}

impl Endpoint for MetricsPage {
    fn serve(&mut self, req: &Request<'_>, res: &mut Response) -> bool {
        if req.path() != self.path {
            return false;
        }
        if !refuse_unless_get_or_head(req, res) {
            let figures = (self.figures)();
            let text = exposition(&figures, figures.uptime_seconds);
            res.header("Content-Type", CONTENT_TYPE)
                .header("Cache-Control", "no-store")
                .set_body(text);
        }
        true
    }

    fn refuse_early(&mut self, req: &Request<'_>, res: &mut Response) -> Option<bool> {
        refuse_at_path(&self.path, req, res)
    }

    fn allowed_methods(&self, req: &Request<'_>) -> Option<&'static str> {
        (req.path() == self.path).then_some("GET, HEAD")
    }
}

/// Appends one metric with its HELP and TYPE lines.
fn metric(out: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    // Writing into a String cannot fail.
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

/// Microseconds as seconds, exactly (no float rounding in the sum).
fn seconds(micros: u64) -> String {
    let (s, us) = (micros / 1_000_000, micros % 1_000_000);
    if us == 0 {
        return s.to_string();
    }
    format!("{s}.{us:06}").trim_end_matches('0').to_string()
}

/// The figures in the text exposition format.
pub fn exposition(s: &Snapshot, uptime_seconds: f64) -> String {
    let mut out = String::with_capacity(4096);
    let counters = [
        (
            "coffeeweb_connections_accepted_total",
            "Connections accepted and kept.",
            s.connections_accepted,
        ),
        (
            "coffeeweb_connections_refused_total",
            "Connections refused at --max-connections.",
            s.connections_refused,
        ),
        (
            "coffeeweb_requests_total",
            "Requests answered, error responses included.",
            s.requests_total,
        ),
        (
            "coffeeweb_bytes_received_total",
            "Bytes read from clients.",
            s.bytes_received,
        ),
        (
            "coffeeweb_bytes_sent_total",
            "Bytes written to clients.",
            s.bytes_sent,
        ),
        (
            "coffeeweb_loop_iterations_total",
            "Wake-ups of the event loops.",
            s.loop_iterations,
        ),
        (
            "coffeeweb_events_total",
            "Readiness events handled.",
            s.events_total,
        ),
    ];
    for (name, help, value) in counters {
        metric(&mut out, name, "counter", help, value);
    }
    metric(
        &mut out,
        "coffeeweb_connections_active",
        "gauge",
        "Open client connections.",
        s.connections_active,
    );
    let _ = writeln!(
        out,
        "# HELP coffeeweb_connections Open client connections by what they are doing.\n\
         # TYPE coffeeweb_connections gauge\n\
         coffeeweb_connections{{state=\"reading\"}} {}\n\
         coffeeweb_connections{{state=\"writing\"}} {}\n\
         coffeeweb_connections{{state=\"idle\"}} {}",
        s.connections_reading, s.connections_writing, s.connections_idle
    );
    let _ = writeln!(
        out,
        "# HELP coffeeweb_responses_total Responses by status class.\n\
         # TYPE coffeeweb_responses_total counter"
    );
    for (class, n) in s.responses_by_class.iter().enumerate() {
        let _ = writeln!(
            out,
            "coffeeweb_responses_total{{class=\"{}xx\"}} {n}",
            class + 1
        );
    }
    let _ = writeln!(
        out,
        "# HELP coffeeweb_uptime_seconds Seconds since the server started.\n\
         # TYPE coffeeweb_uptime_seconds gauge\n\
         coffeeweb_uptime_seconds {uptime_seconds:.3}"
    );
    durations(&mut out, s);
    out
}

/// The request-duration histogram.
fn durations(out: &mut String, s: &Snapshot) {
    let d = &s.request_durations;
    let name = "coffeeweb_request_duration_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} Time from a complete request head to its response.\n\
         # TYPE {name} histogram"
    );
    for (bound, n) in PROMETHEUS_BOUNDS_US.iter().zip(&d.buckets) {
        let _ = writeln!(out, "{name}_bucket{{le=\"{}\"}} {n}", seconds(*bound));
    }
    let _ = writeln!(
        out,
        "{name}_bucket{{le=\"+Inf\"}} {}\n{name}_sum {}\n{name}_count {}",
        d.count,
        seconds(d.sum_micros),
        d.count
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_exact() {
        assert_eq!(seconds(100), "0.0001");
        assert_eq!(seconds(250), "0.00025");
        assert_eq!(seconds(1_000_000), "1");
        assert_eq!(seconds(2_500_000), "2.5");
        assert_eq!(seconds(0), "0");
    }

    #[test]
    fn every_metric_has_help_and_type() {
        let text = exposition(&Snapshot::default(), 1.0);
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            let family = name
                .strip_suffix("_bucket")
                .or_else(|| name.strip_suffix("_sum"))
                .or_else(|| name.strip_suffix("_count"))
                .filter(|f| f.ends_with("_seconds"))
                .unwrap_or(name);
            assert!(text.contains(&format!("# HELP {family} ")), "{family}");
            assert!(text.contains(&format!("# TYPE {family} ")), "{family}");
        }
    }
}

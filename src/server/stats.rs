//! Live counters, owned by each event loop and summed when asked for.
//!
//! Each loop writes only its own [`LoopStats`], so no counter is shared and
//! contended between loops on the hot path. A counter has exactly one
//! writer, so an increment is a relaxed load and a relaxed store (a plain
//! `mov` on x86), not a locked read-modify-write; readers on other threads
//! see a value that is at most a moment old, which is all a statistics page
//! needs.

use super::clock::Moment;
use super::histogram::{Durations, Window};
use crate::snapshot::Snapshot;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

/// A counter with a single writer: the loop that owns it.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`. Only the owning loop calls this.
    pub fn add(&self, n: u64) {
        self.0.store(self.0.load(Relaxed).wrapping_add(n), Relaxed);
    }

    /// Subtracts `n` (gauges go down as well as up).
    pub fn sub(&self, n: u64) {
        self.0.store(self.0.load(Relaxed).wrapping_sub(n), Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

/// What a connection is doing, for the gauges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Receiving a request.
    Reading,
    /// Sending a response, or closing.
    Writing,
    /// Waiting for the next request.
    Idle,
    /// Waiting for a late answer to a kept request.
    Waiting,
    /// Streaming a body.
    Streaming,
}

/// The counters of one event loop.
#[derive(Debug, Default)]
pub struct LoopStats {
    /// Connections accepted and kept (not those refused at the limit).
    pub connections_accepted: Counter,
    /// Connections refused because of `--max-connections`.
    pub connections_refused: Counter,
    /// Open connections.
    pub connections_active: Counter,
    /// Open connections receiving a request.
    pub connections_reading: Counter,
    /// Open connections sending a response or closing.
    pub connections_writing: Counter,
    /// Open connections waiting for a request.
    pub connections_idle: Counter,
    /// Open connections waiting for a late answer.
    pub connections_waiting: Counter,
    /// Open connections streaming a body.
    pub connections_streaming: Counter,
    /// Requests answered (including error responses).
    pub requests_total: Counter,
    /// Responses by class: index 0 for 1xx ... 4 for 5xx.
    pub responses_by_class: [Counter; 5],
    /// Bytes read from clients.
    pub bytes_received: Counter,
    /// Bytes written to clients.
    pub bytes_sent: Counter,
    /// Wake-ups of the loop.
    pub loop_iterations: Counter,
    /// Readiness events handled.
    pub events_total: Counter,
    /// How long requests took (see [`LoopStats::record_duration`]).
    pub durations: Durations,
}

impl LoopStats {
    /// Records the duration of one finished request, in microseconds,
    /// ending at `now`. Lock-free and allocation-free: one relaxed store
    /// per figure, and a 3 KiB clear once a second.
    pub fn record_duration(&self, micros: u64, now: Moment) {
        self.durations.record(micros, now);
    }

    /// Records `n` requests that took `micros` each, answered in `second`
    /// (since the epoch of [`Durations`], which is the loop's).
    pub fn record_durations(&self, micros: u64, n: u64, second: u64) {
        self.durations.record_n(micros, n, second);
    }

    /// The gauge for a phase.
    pub fn phase(&self, phase: Phase) -> &Counter {
        match phase {
            Phase::Reading => &self.connections_reading,
            Phase::Writing => &self.connections_writing,
            Phase::Idle => &self.connections_idle,
            Phase::Waiting => &self.connections_waiting,
            Phase::Streaming => &self.connections_streaming,
        }
    }

    /// Counts one response with this status code.
    pub fn count_response(&self, code: u16) {
        self.requests_total.add(1);
        if let Some(class) = self
            .responses_by_class
            .get(usize::from(code / 100).wrapping_sub(1))
        {
            class.add(1);
        }
    }
}

/// Sums the counters of all loops (uptime is the caller's).
pub fn snapshot(loops: &[Arc<LoopStats>]) -> Snapshot {
    let mut sum = Snapshot {
        workers: loops.len(),
        ..Snapshot::default()
    };
    let mut window = Window::default();
    let now = Moment::now();
    for s in loops {
        s.durations.add_window(&mut window, now);
        s.durations.add_cumulative(&mut sum.request_durations);
        sum.connections_accepted += s.connections_accepted.get();
        sum.connections_refused += s.connections_refused.get();
        sum.connections_active += s.connections_active.get();
        sum.connections_reading += s.connections_reading.get();
        sum.connections_writing += s.connections_writing.get();
        sum.connections_idle += s.connections_idle.get();
        sum.connections_waiting += s.connections_waiting.get();
        sum.connections_streaming += s.connections_streaming.get();
        sum.requests_total += s.requests_total.get();
        for (total, class) in sum.responses_by_class.iter_mut().zip(&s.responses_by_class) {
            *total += class.get();
        }
        sum.bytes_received += s.bytes_received.get();
        sum.bytes_sent += s.bytes_sent.get();
        sum.loop_iterations += s.loop_iterations.get();
        sum.events_total += s.events_total.get();
    }
    sum.request_duration = window.percentiles();
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_merged_over_loops() {
        let loops: Vec<Arc<LoopStats>> = (0..2).map(|_| Arc::default()).collect();
        let now = Moment::now();
        for micros in 1..=90 {
            loops[0].record_duration(micros, now);
        }
        for _ in 0..10 {
            loops[1].record_duration(50_000, now);
        }
        let s = snapshot(&loops);
        let d = s.request_duration;
        assert_eq!((d.count, d.max), (100, 50_000));
        assert!(
            (50..=53).contains(&d.p50) && (90..=95).contains(&d.p90),
            "{d:?}"
        );
        assert!(d.p99 >= 50_000, "the slow loop's tail shows: {d:?}");
        assert_eq!(s.request_durations.count, 100);
        assert_eq!(s.request_durations.buckets[0], 90, "le=100us");
    }
}

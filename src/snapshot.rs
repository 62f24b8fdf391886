//! The server's figures as plain numbers, at one moment.
//!
//! `server/` counts (each loop into its own counters) and sums them into a
//! [`Snapshot`] when asked; handlers that show the figures (the status
//! page) receive snapshots and never reach into the server. This module is
//! the vocabulary the two share, so neither imports the other.

/// The sum of every loop's counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// Seconds since the server was bound.
    pub uptime_seconds: f64,
    /// Event loops.
    pub workers: usize,
    /// See `LoopStats::connections_accepted` (summed over loops).
    pub connections_accepted: u64,
    /// See `LoopStats::connections_refused` (summed over loops).
    pub connections_refused: u64,
    /// See `LoopStats::connections_active` (summed over loops).
    pub connections_active: u64,
    /// See `LoopStats::connections_reading` (summed over loops).
    pub connections_reading: u64,
    /// See `LoopStats::connections_writing` (summed over loops).
    pub connections_writing: u64,
    /// See `LoopStats::connections_idle` (summed over loops).
    pub connections_idle: u64,
    /// See `LoopStats::connections_waiting` (summed over loops).
    pub connections_waiting: u64,
    /// See `LoopStats::connections_streaming` (summed over loops).
    pub connections_streaming: u64,
    /// See `LoopStats::requests_total` (summed over loops).
    pub requests_total: u64,
    /// Responses by class, 1xx to 5xx.
    pub responses_by_class: [u64; 5],
    /// See `LoopStats::bytes_received` (summed over loops).
    pub bytes_received: u64,
    /// See `LoopStats::bytes_sent` (summed over loops).
    pub bytes_sent: u64,
    /// See `LoopStats::loop_iterations` (summed over loops).
    pub loop_iterations: u64,
    /// See `LoopStats::events_total` (summed over loops).
    pub events_total: u64,
    /// Request durations over the last 10 s, in microseconds.
    pub request_duration: Percentiles,
    /// Request durations since start, in Prometheus buckets.
    pub request_durations: Cumulative,
}

/// Upper bounds of the Prometheus buckets, in microseconds (100 µs … 60 s).
pub const PROMETHEUS_BOUNDS_US: [u64; 18] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000, 30_000_000, 60_000_000,
];

/// Percentiles over the window, in microseconds (zeros when empty).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Percentiles {
    /// Durations recorded in the window.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Longest.
    pub max: u64,
}

/// Cumulative figures for a Prometheus histogram.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cumulative {
    /// Durations at or below each of [`PROMETHEUS_BOUNDS_US`] (cumulative).
    pub buckets: [u64; PROMETHEUS_BOUNDS_US.len()],
    /// All durations recorded.
    pub count: u64,
    /// Their sum, in microseconds.
    pub sum_micros: u64,
}

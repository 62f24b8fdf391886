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
}

//! Request durations of one event loop: percentiles over the last 10 s and
//! cumulative Prometheus buckets, recorded without locks or allocation.
//!
//! # Why our own and not `hdrhistogram`
//!
//! The loop records, another thread (the statistics page) reads. An
//! `hdrhistogram::Histogram` is a plain struct: sharing it across threads
//! needs a lock on every record or a recorder/reader channel that allocates
//! on refresh. Here every bucket is an [`AtomicU64`] with a single writer
//! (the loop), so recording is a few relaxed loads and stores, like the
//! other counters in `stats.rs`, and a reader on another thread just loads.
//! The percentiles only need a few per cent of precision: log-linear buckets
//! (16 linear steps per power of two, HDR's layout with 4 bits of mantissa)
//! give at most 1/16 relative error over 1 µs … 134 s in 384 buckets.
//!
//! # The 10-second window
//!
//! A ring of `SLOTS` (12) per-second histograms. The loop writes into the slot
//! of the current second; moving into a slot that holds an old second, it
//! first marks the slot as being cleared, zeroes it, then stamps it with the
//! new second (a seqlock in miniature). A reader sums the slots whose stamp
//! lies in the last [`WINDOW_SECONDS`] seconds and drops a slot whose stamp
//! changed while it read it. The ring has two more slots than the window,
//! so the slot being recycled is never one a reader wants.

use super::clock::Moment;
pub use crate::snapshot::{Cumulative, Percentiles, PROMETHEUS_BOUNDS_US};
use std::sync::atomic::{fence, AtomicU64, Ordering};

/// The percentile window.
pub const WINDOW_SECONDS: u64 = 10;
/// Per-second histograms in the ring.
const SLOTS: usize = WINDOW_SECONDS as usize + 2;
/// Linear sub-buckets per power of two (4 bits of mantissa).
const SUB_BITS: u32 = 4;
const SUB: u64 = 1 << SUB_BITS;
/// Durations are clamped below 2^27 µs (134 s).
const MAX_EXPONENT: u32 = 27;
/// Buckets per histogram: 16 exact ones below 16 µs, then 16 per power of
/// two up to 2^27.
pub const BUCKETS: usize = (SUB + (MAX_EXPONENT - SUB_BITS) as u64 * SUB) as usize;
/// A slot stamp that means "being cleared".
const CLEARING: u64 = u64::MAX;

/// The bucket of a duration in microseconds.
fn bucket(micros: u64) -> usize {
    let v = micros.min((1 << MAX_EXPONENT) - 1);
    if v < SUB {
        return v as usize;
    }
    let exponent = 63 - v.leading_zeros();
    let shift = exponent - SUB_BITS;
    let mantissa = (v >> shift) & (SUB - 1);
    (SUB + u64::from(shift) * SUB + mantissa) as usize
}

/// The largest duration that falls in `bucket` (what percentiles report:
/// never less than the true value).
fn bucket_top(bucket: usize) -> u64 {
    let b = bucket as u64;
    if b < SUB {
        return b;
    }
    let shift = (b - SUB) / SUB;
    let mantissa = (b - SUB) % SUB;
    ((SUB + mantissa + 1) << shift) - 1
}

/// A counter with a single writer (the owning loop).
#[derive(Debug, Default)]
struct Cell(AtomicU64);

impl Cell {
    fn add(&self, n: u64) {
        let v = self.0.load(Ordering::Relaxed);
        self.0.store(v.wrapping_add(n), Ordering::Relaxed);
    }

    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    fn set(&self, v: u64) {
        self.0.store(v, Ordering::Relaxed);
    }
}

/// One second of durations.
#[derive(Debug)]
struct Slot {
    /// The second (since the histogram's epoch) this slot holds.
    second: AtomicU64,
    counts: [Cell; BUCKETS],
    max: Cell,
}

impl Default for Slot {
    fn default() -> Slot {
        Slot {
            // No second yet: never inside a reader's window.
            second: AtomicU64::new(CLEARING),
            counts: std::array::from_fn(|_| Cell::default()),
            max: Cell::default(),
        }
    }
}

/// The durations recorded by one loop.
#[derive(Debug)]
pub struct Durations {
    epoch: Moment,
    slots: [Slot; SLOTS],
    /// Cumulative since start: counts per Prometheus bucket (not summed
    /// across buckets; the `+Inf` one is `count`).
    prometheus: [Cell; PROMETHEUS_BOUNDS_US.len()],
    count: Cell,
    sum_micros: Cell,
}

impl Default for Durations {
    fn default() -> Durations {
        Durations {
            epoch: Moment::now(),
            slots: std::array::from_fn(|_| Slot::default()),
            prometheus: std::array::from_fn(|_| Cell::default()),
            count: Cell::default(),
            sum_micros: Cell::default(),
        }
    }
}

/// Window counts summed over loops, to take percentiles from.
#[derive(Clone, Debug)]
pub struct Window {
    counts: Vec<u64>,
    max: u64,
}

impl Default for Window {
    fn default() -> Window {
        Window {
            counts: vec![0; BUCKETS],
            max: 0,
        }
    }
}

impl Durations {
    /// Records one duration that ended at `now`. Only the owning loop
    /// calls this; it never allocates or blocks.
    pub fn record(&self, micros: u64, now: Moment) {
        let second = now.seconds_since(self.epoch);
        self.record_n(micros, 1, second);
    }

    /// When the histogram's seconds count from. The loop counts its clock
    /// from the same moment, so that it can name the second it is in
    /// without reading the clock again.
    pub fn epoch(&self) -> Moment {
        self.epoch
    }

    /// Records `n` requests that took `micros` each (responses that left
    /// in one write, started in the same wake-up), answered in `second`
    /// since [`epoch`](Self::epoch). The caller passes the second of the
    /// loop's wake-up rather than a moment to divide down: a request that
    /// ends a few microseconds into the next second counts in the one
    /// before.
    pub fn record_n(&self, micros: u64, n: u64, second: u64) {
        let slot = &self.slots[(second % SLOTS as u64) as usize];
        if slot.second.load(Ordering::Relaxed) != second {
            recycle(slot, second);
        }
        slot.counts[bucket(micros)].add(n);
        if micros > slot.max.get() {
            slot.max.set(micros);
        }
        // A linear scan: most requests fall in the first bucket or two.
        if let Some(le) = PROMETHEUS_BOUNDS_US
            .iter()
            .position(|&bound| micros <= bound)
        {
            self.prometheus[le].add(n);
        }
        self.count.add(n);
        self.sum_micros.add(micros.saturating_mul(n));
    }

    /// Adds this loop's last [`WINDOW_SECONDS`] seconds, as of `now`, to
    /// `window`.
    pub fn add_window(&self, window: &mut Window, now: Moment) {
        let current = now.seconds_since(self.epoch);
        let oldest = current.saturating_sub(WINDOW_SECONDS - 1);
        let mut counts = [0u64; BUCKETS];
        for slot in &self.slots {
            let stamp = slot.second.load(Ordering::Acquire);
            if stamp == CLEARING || stamp < oldest || stamp > current {
                continue;
            }
            for (into, cell) in counts.iter_mut().zip(&slot.counts) {
                *into = cell.get();
            }
            let max = slot.max.get();
            fence(Ordering::Acquire);
            if slot.second.load(Ordering::Relaxed) != stamp {
                continue; // recycled while we read it
            }
            for (total, n) in window.counts.iter_mut().zip(&counts) {
                *total += n;
            }
            window.max = window.max.max(max);
        }
    }

    /// Adds this loop's figures since start to `total`.
    pub fn add_cumulative(&self, total: &mut Cumulative) {
        let mut running = 0;
        for (into, cell) in total.buckets.iter_mut().zip(&self.prometheus) {
            running += cell.get();
            *into += running;
        }
        total.count += self.count.get();
        total.sum_micros += self.sum_micros.get();
    }
}

/// Marks `slot` as being cleared, zeroes it, and stamps it with `second`.
fn recycle(slot: &Slot, second: u64) {
    slot.second.store(CLEARING, Ordering::Relaxed);
    // The mark is visible before any zero (readers check it after reading).
    fence(Ordering::Release);
    for cell in &slot.counts {
        cell.set(0);
    }
    slot.max.set(0);
    slot.second.store(second, Ordering::Release);
}

impl Window {
    /// The percentiles of what was added.
    pub fn percentiles(&self) -> Percentiles {
        let count: u64 = self.counts.iter().sum();
        if count == 0 {
            return Percentiles::default();
        }
        let at = |q: f64| -> u64 {
            // The rank of the q-quantile, 1-based (nearest rank).
            let rank = ((q * count as f64).ceil() as u64).clamp(1, count);
            let mut seen = 0;
            for (bucket, &n) in self.counts.iter().enumerate() {
                seen += n;
                if seen >= rank {
                    return bucket_top(bucket).min(self.max);
                }
            }
            self.max
        };
        Percentiles {
            count,
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: self.max,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn buckets_are_ordered_and_tight() {
        let mut previous = 0;
        for v in 0..(1u64 << 20) {
            let b = bucket(v);
            assert!(b >= previous, "{v}");
            previous = b;
            let top = bucket_top(b);
            assert!(top >= v, "{v} in bucket {b} with top {top}");
            assert!(top - v <= v / SUB, "{v}: top {top} is more than 1/16 above");
        }
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn percentiles_of_a_known_spread() {
        let d = Durations::default();
        let now = d.epoch.after(Duration::from_millis(1500));
        for v in 1..=1000 {
            d.record(v, now);
        }
        let mut w = Window::default();
        d.add_window(&mut w, now);
        let p = w.percentiles();
        assert_eq!((p.count, p.max), (1000, 1000));
        for (got, want) in [(p.p50, 500), (p.p90, 900), (p.p99, 990)] {
            assert!(got >= want && got <= want + want / 16, "{got} vs {want}");
        }
    }

    #[test]
    fn the_window_forgets_after_ten_seconds() {
        let d = Durations::default();
        let at = |s| d.epoch.after(Duration::from_secs(s));
        d.record(5_000, at(1));
        d.record(10, at(5));
        let mut w = Window::default();
        d.add_window(&mut w, at(10));
        assert_eq!(w.percentiles().count, 2);
        let mut w = Window::default();
        d.add_window(&mut w, at(11));
        assert_eq!((w.percentiles().count, w.percentiles().max), (1, 10));
        // The ring comes round: second 13 reuses second 1's slot, cleared.
        d.record(7, at(13));
        let mut w = Window::default();
        d.add_window(&mut w, at(13));
        assert_eq!((w.percentiles().count, w.percentiles().max), (2, 10));
    }

    #[test]
    fn cumulative_buckets_follow_prometheus_bounds() {
        let d = Durations::default();
        for v in [50, 100, 101, 70_000_000] {
            d.record(v, d.epoch);
        }
        let mut c = Cumulative::default();
        d.add_cumulative(&mut c);
        assert_eq!(c.buckets[0], 2, "le=100us holds 50 and 100");
        assert_eq!(c.buckets[1], 3);
        assert_eq!(
            c.buckets[PROMETHEUS_BOUNDS_US.len() - 1],
            3,
            "70 s is above 60 s"
        );
        assert_eq!(c.count, 4);
        assert_eq!(c.sum_micros, 70_000_251);
    }
}

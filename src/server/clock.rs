//! The loop's clock: `CLOCK_MONOTONIC`, read straight into nanoseconds.
//!
//! `std::time::Instant` reads the same clock, but it is a pair of seconds
//! and nanoseconds: a reading is the vDSO call plus a checked conversion,
//! and the difference of two a checked borrow between the fields, about
//! thirty instructions each (callgrind). A request served one at a time
//! takes two readings and two differences (the wake-up's clock, and the
//! moment its answer is handed to the kernel), so those were 4% of its
//! instructions. A [`Moment`] is the same reading as one `u64` of
//! nanoseconds: a difference is a subtraction, and the loop's millisecond
//! clock a division by a constant. (A `u64` of nanoseconds lasts 584 years
//! of uptime.)

use std::time::Duration;

/// A reading of the monotonic clock, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Moment(u64);

impl Moment {
    /// Reads the clock.
    pub fn now() -> Moment {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a live, writable `timespec` for the whole call,
        // which is all `clock_gettime` writes to.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
        // Its only errors are EINVAL (a clock the system lacks; every
        // Linux and BSD has CLOCK_MONOTONIC, and std's `Instant` reads it)
        // and EFAULT (a bad pointer; `ts` is a reference).
        debug_assert_eq!(rc, 0);
        // The monotonic clock counts from boot: both fields are
        // non-negative, and the nanoseconds below 10⁹.
        Moment(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
    }

    /// Time from `earlier` to this moment (zero if `earlier` is later).
    pub fn since(self, earlier: Moment) -> Duration {
        Duration::from_nanos(self.nanos_since(earlier))
    }

    /// Whole microseconds from `earlier` to this moment.
    pub fn micros_since(self, earlier: Moment) -> u64 {
        self.nanos_since(earlier) / 1_000
    }

    /// Whole milliseconds from `earlier` to this moment.
    pub fn millis_since(self, earlier: Moment) -> u64 {
        self.nanos_since(earlier) / 1_000_000
    }

    /// Whole seconds from `earlier` to this moment.
    pub fn seconds_since(self, earlier: Moment) -> u64 {
        self.nanos_since(earlier) / 1_000_000_000
    }

    /// The moment `d` after this one.
    pub fn after(self, d: Duration) -> Moment {
        Moment(
            self.0
                .saturating_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
        )
    }

    fn nanos_since(self, earlier: Moment) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn differences_are_whole_units_and_never_negative() {
        let t = Moment(5_000_000_000);
        let later = t.after(Duration::from_nanos(2_345_678_901));
        assert_eq!(later.since(t), Duration::from_nanos(2_345_678_901));
        assert_eq!(later.micros_since(t), 2_345_678);
        assert_eq!(later.millis_since(t), 2_345);
        assert_eq!(later.seconds_since(t), 2);
        assert_eq!(t.since(later), Duration::ZERO);
        assert_eq!(t.micros_since(later), 0);
    }

    /// The same clock as `Instant` (CLOCK_MONOTONIC on Linux): a span
    /// read by both, each pair of readings inside the other, is inside.
    #[test]
    fn reads_the_clock_instant_reads() {
        let outer_start = Instant::now();
        let start = Moment::now();
        let inner_start = Instant::now();
        std::thread::sleep(Duration::from_millis(2));
        let inner_end = Instant::now();
        let end = Moment::now();
        let outer_end = Instant::now();
        let span = end.since(start);
        assert!(span >= inner_end - inner_start, "{span:?}");
        assert!(span <= outer_end - outer_start, "{span:?}");
    }
}

//! Connection deadlines: O(1) to arm, re-arm and cancel, no allocation, no
//! syscall.
//!
//! Every timeout of one kind has the same length (`--header-timeout`,
//! `--keep-alive-timeout`, ...). So if each kind keeps its connections in a
//! list in the order they were armed, each list is also sorted by deadline:
//! re-arming is "unlink, append at the tail", and the next deadline of a
//! kind is its head. The lists are intrusive and doubly linked through slab
//! keys stored in the connections themselves, so arming touches two or three
//! slab entries and never the allocator; a connection is in at most one
//! list. The loop sleeps until the bound below (never later than the
//! earliest head); a binary heap or a timer wheel would buy nothing here
//! but cost memory or churn.
//!
//! Most wake-ups have no deadline due, so that answer costs one comparison,
//! not a look at every list's head: `Timers` keeps a lower bound of all
//! armed deadlines. Arming lowers it; cancelling leaves it, so it may be
//! stale, but only ever early (never later than a real deadline, which
//! would make the loop oversleep). A wake-up at or past it looks at the
//! heads and sets it to the exact earliest again; a stale bound thus costs
//! at most one early wake-up and one look.
//!
//! Time is kept in milliseconds since the epoch of the loop's statistics
//! (made just before the loop, so that durations share the clock), read
//! once per wake-up.

use super::clock::Moment;
use slab::Slab;
use std::time::Duration;

/// The kinds of deadline a connection can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerKind {
    /// The whole head must arrive by then (not reset by progress).
    Header,
    /// The body must make progress by then (reset by progress).
    Body,
    /// An idle kept-alive connection is closed then.
    KeepAlive,
    /// The client must read some of our output by then (reset by progress).
    Write,
    /// A lingering close ends then.
    Linger,
    /// A kept request is answered 504 then, and a stalled stream is cut.
    Handler,
    /// An open-ended stream (Server-Sent Events) with nothing to send
    /// sends a comment line then (reset by every write).
    Heartbeat,
}

const KINDS: usize = 7;
const NIL: u32 = u32::MAX;

impl TimerKind {
    fn index(self) -> usize {
        self as usize
    }
}

/// The links and deadline a connection carries for the timer lists.
#[derive(Clone, Copy, Debug)]
pub struct TimerLink {
    kind: Option<TimerKind>,
    deadline: u64,
    prev: u32,
    next: u32,
}

impl Default for TimerLink {
    fn default() -> TimerLink {
        TimerLink {
            kind: None,
            deadline: 0,
            prev: NIL,
            next: NIL,
        }
    }
}

impl TimerLink {
    /// The kind of deadline currently armed.
    pub fn kind(&self) -> Option<TimerKind> {
        self.kind
    }
}

/// Something stored in the slab that carries a [`TimerLink`].
pub trait HasTimer {
    /// The link.
    fn timer(&mut self) -> &mut TimerLink;
}

#[derive(Clone, Copy, Debug)]
struct List {
    head: u32,
    tail: u32,
}

/// The timer lists of one event loop.
#[derive(Debug)]
pub struct Timers {
    epoch: Moment,
    lengths: [u64; KINDS],
    lists: [List; KINDS],
    /// At or before every armed deadline (`NEVER` when none is armed).
    earliest: u64,
}

/// `earliest` when no deadline is armed, and the loop's "no deadline":
/// lengths are at most `u64::MAX / 2`, so no deadline reaches it.
pub const NEVER: u64 = u64::MAX;

impl Timers {
    /// Lists for timeouts of the given lengths, indexed by [`TimerKind`].
    pub fn new(epoch: Moment, lengths: [Duration; KINDS]) -> Timers {
        Timers {
            epoch,
            lengths: lengths.map(|d| d.as_millis().min(u128::from(u64::MAX / 2)) as u64),
            lists: [List {
                head: NIL,
                tail: NIL,
            }; KINDS],
            earliest: NEVER,
        }
    }

    /// Milliseconds since the epoch of the loop's statistics.
    pub fn millis(&self, now: Moment) -> u64 {
        now.millis_since(self.epoch)
    }

    /// (Re-)arms `kind` for the entry at `key`: its deadline becomes
    /// `now + length`, and any deadline it had is cancelled.
    pub fn arm<T: HasTimer>(&mut self, slab: &mut Slab<T>, key: usize, kind: TimerKind, now: u64) {
        self.cancel(slab, key);
        let list = &mut self.lists[kind.index()];
        let key32 = key as u32;
        let deadline = now + self.lengths[kind.index()];
        self.earliest = self.earliest.min(deadline);
        *slab[key].timer() = TimerLink {
            kind: Some(kind),
            deadline,
            prev: list.tail,
            next: NIL,
        };
        match list.tail {
            NIL => list.head = key32,
            tail => slab[tail as usize].timer().next = key32,
        }
        list.tail = key32;
    }

    /// Cancels whatever deadline the entry at `key` has.
    pub fn cancel<T: HasTimer>(&mut self, slab: &mut Slab<T>, key: usize) {
        let link = *slab[key].timer();
        let Some(kind) = link.kind else { return };
        let list = &mut self.lists[kind.index()];
        match link.prev {
            NIL => list.head = link.next,
            prev => slab[prev as usize].timer().next = link.next,
        }
        match link.next {
            NIL => list.tail = link.prev,
            next => slab[next as usize].timer().prev = link.prev,
        }
        *slab[key].timer() = TimerLink::default();
    }

    /// When the loop must look at its deadlines next, in loop
    /// milliseconds: the earliest armed deadline, or earlier after a
    /// cancellation (then [`Timers::pop_expired`] finds nothing due and
    /// works out the exact value), never later.
    pub fn next_deadline(&self) -> Option<u64> {
        (self.earliest != NEVER).then_some(self.earliest)
    }

    /// Removes and returns the entry with the earliest deadline, if that
    /// deadline is at or before `now`.
    pub fn pop_expired<T: HasTimer>(
        &mut self,
        slab: &mut Slab<T>,
        now: u64,
    ) -> Option<(usize, TimerKind)> {
        if now < self.earliest {
            return None;
        }
        let Some((key, link)) = self
            .lists
            .iter()
            .filter(|list| list.head != NIL)
            .map(|list| (list.head as usize, *slab[list.head as usize].timer()))
            .min_by_key(|(_, link)| link.deadline)
        else {
            self.earliest = NEVER;
            return None;
        };
        if link.deadline > now {
            self.earliest = link.deadline;
            return None;
        }
        self.cancel(slab, key);
        link.kind.map(|kind| (key, kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Entry(TimerLink);

    impl HasTimer for Entry {
        fn timer(&mut self) -> &mut TimerLink {
            &mut self.0
        }
    }

    fn timers() -> Timers {
        let ms = Duration::from_millis;
        Timers::new(
            Moment::now(),
            [
                ms(100),
                ms(300),
                ms(1000),
                ms(200),
                ms(50),
                ms(400),
                ms(500),
            ],
        )
    }

    fn drain(timers: &mut Timers, slab: &mut Slab<Entry>, now: u64) -> Vec<(usize, TimerKind)> {
        std::iter::from_fn(|| timers.pop_expired(slab, now)).collect()
    }

    #[test]
    fn expires_in_deadline_order_per_kind() {
        let mut slab: Slab<Entry> = (0..4).map(|_| Entry::default()).enumerate().collect();
        let mut t = timers();
        t.arm(&mut slab, 0, TimerKind::Header, 0);
        t.arm(&mut slab, 1, TimerKind::Header, 10);
        t.arm(&mut slab, 2, TimerKind::Write, 0);
        assert_eq!(t.next_deadline(), Some(100));
        assert_eq!(drain(&mut t, &mut slab, 99), vec![]);
        assert_eq!(
            drain(&mut t, &mut slab, 110),
            vec![(0, TimerKind::Header), (1, TimerKind::Header)]
        );
        assert_eq!(t.next_deadline(), Some(200));
        assert_eq!(drain(&mut t, &mut slab, 200), vec![(2, TimerKind::Write)]);
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn rearming_moves_to_the_tail() {
        let mut slab: Slab<Entry> = (0..3).map(|_| Entry::default()).enumerate().collect();
        let mut t = timers();
        for key in 0..3 {
            t.arm(&mut slab, key, TimerKind::Body, key as u64);
        }
        t.arm(&mut slab, 0, TimerKind::Body, 5);
        assert_eq!(
            drain(&mut t, &mut slab, 1000),
            vec![
                (1, TimerKind::Body),
                (2, TimerKind::Body),
                (0, TimerKind::Body)
            ]
        );
    }

    #[test]
    fn cancel_unlinks_from_anywhere() {
        let mut slab: Slab<Entry> = (0..3).map(|_| Entry::default()).enumerate().collect();
        let mut t = timers();
        for key in 0..3 {
            t.arm(&mut slab, key, TimerKind::KeepAlive, 0);
        }
        t.cancel(&mut slab, 1);
        t.cancel(&mut slab, 1);
        assert_eq!(slab[1].0.kind(), None);
        t.arm(&mut slab, 2, TimerKind::Linger, 0);
        assert_eq!(
            drain(&mut t, &mut slab, 2000),
            vec![(2, TimerKind::Linger), (0, TimerKind::KeepAlive)]
        );
    }

    #[test]
    fn a_wake_up_with_nothing_due_finds_the_exact_earliest_again() {
        let mut slab: Slab<Entry> = (0..2).map(|_| Entry::default()).enumerate().collect();
        let mut t = timers();
        t.arm(&mut slab, 0, TimerKind::Linger, 0);
        t.arm(&mut slab, 1, TimerKind::KeepAlive, 0);
        t.cancel(&mut slab, 0);
        // Stale, but early: one wake-up too many, not one too few.
        assert_eq!(t.next_deadline(), Some(50));
        assert_eq!(drain(&mut t, &mut slab, 50), vec![]);
        assert_eq!(t.next_deadline(), Some(1000));
        t.cancel(&mut slab, 1);
        assert_eq!(drain(&mut t, &mut slab, 1000), vec![]);
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn rearming_to_a_shorter_kind_brings_the_deadline_forward() {
        let mut slab: Slab<Entry> = (0..1).map(|_| Entry::default()).enumerate().collect();
        let mut t = timers();
        t.arm(&mut slab, 0, TimerKind::KeepAlive, 0);
        assert_eq!(drain(&mut t, &mut slab, 10), vec![]);
        assert_eq!(t.next_deadline(), Some(1000));
        t.arm(&mut slab, 0, TimerKind::Linger, 10);
        assert_eq!(t.next_deadline(), Some(60));
        assert_eq!(drain(&mut t, &mut slab, 60), vec![(0, TimerKind::Linger)]);
    }

    /// Against a model that knows every deadline: in any sequence of arms,
    /// cancels and wake-ups, the loop is never told to sleep past a
    /// deadline, and a wake-up pops exactly what is due.
    #[test]
    fn never_sleeps_past_a_deadline_nor_fires_early() {
        const KEYS: usize = 16;
        let kinds = [
            TimerKind::Header,
            TimerKind::Body,
            TimerKind::KeepAlive,
            TimerKind::Write,
            TimerKind::Linger,
            TimerKind::Handler,
            TimerKind::Heartbeat,
        ];
        let mut slab: Slab<Entry> = (0..KEYS).map(|_| Entry::default()).enumerate().collect();
        let mut t = timers();
        let mut model: [Option<u64>; KEYS] = [None; KEYS];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut now = 0;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let key = (seed >> 8) as usize % KEYS;
            match seed % 4 {
                0 | 1 => {
                    let kind = kinds[(seed >> 16) as usize % kinds.len()];
                    t.arm(&mut slab, key, kind, now);
                    model[key] = Some(now + t.lengths[kind.index()]);
                }
                2 => {
                    t.cancel(&mut slab, key);
                    model[key] = None;
                }
                _ => {
                    let exact = model.iter().flatten().min().copied();
                    let told = t.next_deadline();
                    if let Some(exact) = exact {
                        assert!(told.is_some_and(|told| told <= exact));
                    }
                    now = told.unwrap_or(now + 1).max(now + (seed >> 32) % 3);
                    let mut popped: Vec<usize> = drain(&mut t, &mut slab, now)
                        .into_iter()
                        .map(|(k, _)| k)
                        .collect();
                    popped.sort_unstable();
                    let due: Vec<usize> = (0..KEYS)
                        .filter(|&k| model[k].is_some_and(|d| d <= now))
                        .collect();
                    assert_eq!(popped, due);
                    for k in due {
                        model[k] = None;
                    }
                }
            }
        }
    }
}

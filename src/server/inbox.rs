//! What other threads send an event loop: late answers, stream notices,
//! and the shutdown request, all through the loop's `mio::Waker`.
//!
//! The waker is an `eventfd` (a pipe on the BSDs) registered in the loop's
//! `Poll` under the [`WAKER`](super::event_loop::WAKER) token. Writing it
//! costs a system call and wakes the loop, so the inbox wakes the loop only
//! when its queue goes from empty to non-empty (as h2o does): a thread
//! pool that answers a hundred requests while the loop is busy costs one
//! wake-up, and the loop takes the whole batch at once.

use crate::http::late::{LateEvent, Outbox, Ticket};
use mio::Waker;
use std::sync::Mutex;

/// One loop's inbox.
#[derive(Debug)]
pub struct Inbox {
    queue: Mutex<Vec<(Ticket, LateEvent)>>,
    waker: Waker,
}

impl Inbox {
    /// An inbox that wakes its loop through `waker`.
    pub fn new(waker: Waker) -> Inbox {
        Inbox {
            queue: Mutex::new(Vec::new()),
            waker,
        }
    }

    /// Wakes the loop (shutdown).
    pub fn wake(&self) {
        if let Err(e) = self.waker.wake() {
            log::error!("waking an event loop: {e}");
        }
    }

    /// Moves everything posted so far into `batch` (which the loop keeps,
    /// so its capacity is reused).
    pub fn take(&self, batch: &mut Vec<(Ticket, LateEvent)>) {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::swap(&mut *queue, batch);
    }
}

impl Outbox for Inbox {
    fn post(&self, ticket: Ticket, event: LateEvent) {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let was_empty = queue.is_empty();
        queue.push((ticket, event));
        drop(queue);
        if was_empty {
            self.wake();
        }
    }
}

//! A fixed pool of threads for work that would block the loop.
//!
//! A handler must not block its event loop, so slow work (a file
//! conversion, a call to a database without an asynchronous client) goes
//! to the pool: [`Pool::answer`] keeps the request, runs the closure on one
//! of the pool's threads, and sends what it made as the answer; the loop
//! goes on serving every other connection meanwhile. The queue is bounded:
//! when it is full the request is answered `503 Service Unavailable` at
//! once, so a burst can never pile up an unbounded backlog (or unbounded
//! memory) behind a few threads.

use crate::http::{Response, Status};
use std::collections::VecDeque;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;

type Job = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct Jobs {
    queue: Mutex<VecDeque<Job>>,
    ready: Condvar,
    stop: AtomicBool,
}

impl Jobs {
    fn lock(&self) -> MutexGuard<'_, VecDeque<Job>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next job, or `None` once the pool is dropped.
    fn next(&self) -> Option<Job> {
        let mut queue = self.lock();
        loop {
            if self.stop.load(Ordering::Acquire) {
                return None;
            }
            if let Some(job) = queue.pop_front() {
                return Some(job);
            }
            queue = self.ready.wait(queue).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Stops the threads when the last handle to the pool goes.
struct Stopper(Arc<Jobs>);

impl Drop for Stopper {
    fn drop(&mut self) {
        self.0.stop.store(true, Ordering::Release);
        self.0.ready.notify_all();
    }
}

/// A pool of threads with a bounded queue. Clones share the pool.
#[derive(Clone)]
pub struct Pool {
    jobs: Arc<Jobs>,
    capacity: usize,
    _stopper: Arc<Stopper>,
}

impl Pool {
    /// Starts `threads` threads that take jobs from a queue of at most
    /// `queue` waiting jobs.
    pub fn new(threads: usize, queue: usize) -> io::Result<Pool> {
        let jobs = Arc::new(Jobs::default());
        for index in 0..threads.max(1) {
            let jobs = Arc::clone(&jobs);
            thread::Builder::new()
                .name(format!("coffeeweb-pool-{index}"))
                .spawn(move || {
                    while let Some(job) = jobs.next() {
                        // A job that panics drops its `Later`, which
                        // answers 500; the thread lives on.
                        let _ = panic::catch_unwind(AssertUnwindSafe(job));
                    }
                })?;
        }
        Ok(Pool {
            jobs: Arc::clone(&jobs),
            capacity: queue,
            _stopper: Arc::new(Stopper(jobs)),
        })
    }

    /// Answers the request with what `work` sets on a fresh response, run
    /// on a thread of the pool; `503` at once if the queue is full. `work`
    /// is skipped when the request was cancelled (handler timeout, client
    /// gone) before its turn came.
    pub fn answer(&self, res: &mut Response, work: impl FnOnce(&mut Response) + Send + 'static) {
        let mut queue = self.jobs.lock();
        if queue.len() >= self.capacity {
            drop(queue);
            res.error(Status::SERVICE_UNAVAILABLE)
                .header("Retry-After", "1");
            return;
        }
        let later = res.later();
        queue.push_back(Box::new(move || {
            if later.is_cancelled() {
                return;
            }
            let mut answer = Response::new();
            work(&mut answer);
            later.send(answer);
        }));
        drop(queue);
        self.jobs.ready.notify_one();
    }

    /// Jobs waiting for a thread.
    pub fn queued(&self) -> usize {
        self.jobs.lock().len()
    }
}

//! Answers that come later: what a handler holds when it keeps a request
//! ([`Later`]) or streams a body ([`BodySender`], [`Producer`]).
//!
//! A handler runs on its event loop's thread and must not block. To answer
//! after slow work, it keeps the request: [`Response::later`](super::Response::later)
//! gives it a [`Later`], which it may send to any thread; the answer travels
//! back to the loop through an [`Outbox`] (the loop's inbox: a queue and the
//! loop's `mio::Waker`, which wakes the loop once per batch of answers, not
//! once per answer). Every answer carries a [`Ticket`]: the connection's slab
//! key and a number given to this one request. The connection remembers the
//! number of the request it waits for, so an answer for a connection that
//! has closed since, or whose key was reused, matches nothing and is dropped.
//!
//! Streams are pulled by the loop, never pushed into the socket: a
//! [`BodySender`] (any thread) queues pieces in a small shared queue whose
//! credit ([`STREAM_CREDIT`]) is enforced: past it the producer is refused
//! ([`BodySender::try_send`]) or blocked ([`BodySender::send`]) until the
//! client has read. A [`Producer`] runs on the loop itself and is asked for
//! the next piece only when the connection has room, which is backpressure
//! without any queue at all.
//!
//! Nothing here does IO: the loop implements [`Outbox`].

use super::Response;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// The most bytes a [`BodySender`] may have queued and not yet taken by
/// the connection: past it, the producer waits.
pub const STREAM_CREDIT: usize = 64 * 1024;

/// Which request of which connection an answer is for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ticket {
    /// The connection's slab key.
    pub key: u32,
    /// The number of the request, unique within its loop.
    pub id: u32,
}

/// What arrives at the loop for a ticket.
#[derive(Debug)]
pub enum LateEvent {
    /// The answer to a kept request.
    Answer(Box<Response>),
    /// The [`Later`] was dropped without an answer (a 500).
    Dropped,
    /// A stream has pieces (or its end) to take.
    StreamReady,
}

/// Where late answers go: the event loop's inbox.
pub trait Outbox: Send + Sync {
    /// Delivers `event` for `ticket`, waking the loop if it sleeps.
    fn post(&self, ticket: Ticket, event: LateEvent);
}

impl std::fmt::Debug for dyn Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Outbox")
    }
}

/// The binding of the response being built to the connection that waits
/// for it (set by the loop before each handler call).
#[derive(Clone, Debug)]
pub(crate) struct Binding {
    pub(crate) outbox: Arc<dyn Outbox>,
    pub(crate) ticket: Ticket,
}

/// A kept request, to be answered from any thread with [`send`](Later::send).
///
/// Dropped without an answer, it answers 500. The loop answers 504 on its
/// own when the handler timeout passes, and cancels the request when the
/// client leaves; [`is_cancelled`](Later::is_cancelled) tells a producer
/// that its work is no longer wanted.
#[derive(Debug)]
pub struct Later {
    binding: Option<Binding>,
    cancelled: Arc<AtomicBool>,
}

impl Later {
    pub(crate) fn new(binding: Binding, cancelled: Arc<AtomicBool>) -> Later {
        Later {
            binding: Some(binding),
            cancelled,
        }
    }

    /// Sends the answer. It is dropped if the request was cancelled.
    pub fn send(mut self, response: Response) {
        if let Some(binding) = self.binding.take() {
            binding
                .outbox
                .post(binding.ticket, LateEvent::Answer(Box::new(response)));
        }
    }

    /// Whether the answer is no longer wanted (timed out, or the client
    /// left).
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }
}

impl Drop for Later {
    fn drop(&mut self) {
        if let Some(binding) = self.binding.take() {
            binding.outbox.post(binding.ticket, LateEvent::Dropped);
        }
    }
}

/// A piece of a streamed body.
pub type Piece = Arc<[u8]>;

/// What a stream's queue holds, guarded by its mutex.
#[derive(Debug, Default)]
struct Queue {
    pieces: VecDeque<Piece>,
    bytes: usize,
    /// The producer said the body is complete.
    finished: bool,
    /// The producer went away without finishing.
    abandoned: bool,
    /// The connection is gone (or the body is not sent: HEAD, 204, 304).
    closed: bool,
    /// A `StreamReady` is on its way to the loop and not taken yet.
    notified: bool,
}

/// The queue between a [`BodySender`] and its connection.
#[derive(Debug, Default)]
pub struct StreamShared {
    queue: Mutex<Queue>,
    room: Condvar,
}

/// What the connection takes from a stream's queue.
#[derive(Debug, PartialEq, Eq)]
pub enum Taken {
    /// A piece to send.
    Piece(Piece),
    /// Nothing now; a `StreamReady` will come when there is.
    Empty,
    /// The body is complete.
    Finished,
    /// The producer gave up: close without completing the body.
    Abandoned,
}

impl StreamShared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A producer that panicked while holding the lock left the queue
        // consistent (every update is a single step), so carry on.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the next piece (connection side).
    pub fn take(&self) -> Taken {
        let mut queue = self.lock();
        if let Some(piece) = queue.pieces.pop_front() {
            queue.bytes -= piece.len();
            drop(queue);
            self.room.notify_all();
            return Taken::Piece(piece);
        }
        queue.notified = false;
        match (queue.finished, queue.abandoned) {
            (true, _) => Taken::Finished,
            (_, true) => Taken::Abandoned,
            _ => Taken::Empty,
        }
    }

    /// The connection will take nothing more: producers are told.
    pub fn close(&self) {
        let mut queue = self.lock();
        queue.closed = true;
        queue.pieces.clear();
        queue.bytes = 0;
        drop(queue);
        self.room.notify_all();
    }
}

/// Why a piece was not queued.
#[derive(Debug, PartialEq, Eq)]
pub enum SendError {
    /// The credit is spent: try again once the client has read.
    Full(Piece),
    /// The connection is gone, or will send no body.
    Closed(Piece),
}

/// The producing end of a streamed body, for any thread.
///
/// Each piece goes to the client as soon as the connection can take it
/// (nothing waits for a buffer to fill). [`finish`](BodySender::finish)
/// completes the body; dropping the sender without finishing abandons it,
/// and the connection closes without the terminating chunk, so the client
/// can tell a truncated body from a whole one.
#[derive(Debug)]
pub struct BodySender {
    shared: Arc<StreamShared>,
    binding: Binding,
    done: bool,
}

impl BodySender {
    pub(crate) fn new(shared: Arc<StreamShared>, binding: Binding) -> BodySender {
        BodySender {
            shared,
            binding,
            done: false,
        }
    }

    /// Queues `piece` if the credit allows; refuses it otherwise.
    pub fn try_send(&self, piece: impl Into<Piece>) -> Result<(), SendError> {
        let piece = piece.into();
        let queue = self.shared.lock();
        if queue.closed {
            return Err(SendError::Closed(piece));
        }
        if queue.bytes >= STREAM_CREDIT {
            return Err(SendError::Full(piece));
        }
        self.push(queue, piece);
        Ok(())
    }

    /// Queues `piece`, waiting while the credit is spent. Fails once the
    /// connection is gone. Not for the loop's own thread, which it would
    /// stall: use [`try_send`](BodySender::try_send) or a [`Producer`] there.
    pub fn send(&self, piece: impl Into<Piece>) -> Result<(), SendError> {
        let piece = piece.into();
        let mut queue = self.shared.lock();
        while !queue.closed && queue.bytes >= STREAM_CREDIT {
            queue = self
                .shared
                .room
                .wait(queue)
                .unwrap_or_else(|e| e.into_inner());
        }
        if queue.closed {
            return Err(SendError::Closed(piece));
        }
        self.push(queue, piece);
        Ok(())
    }

    /// Whether the connection is gone (nothing sent now will arrive).
    pub fn is_closed(&self) -> bool {
        self.shared.lock().closed
    }

    /// Completes the body.
    pub fn finish(mut self) {
        self.done = true;
        let mut queue = self.shared.lock();
        queue.finished = true;
        self.notify(queue);
    }

    fn push(&self, mut queue: MutexGuard<'_, Queue>, piece: Piece) {
        queue.bytes += piece.len();
        queue.pieces.push_back(piece);
        self.notify(queue);
    }

    /// Tells the loop, once until it has taken what is there.
    fn notify(&self, mut queue: MutexGuard<'_, Queue>) {
        if queue.notified || queue.closed {
            return;
        }
        queue.notified = true;
        drop(queue);
        let binding = &self.binding;
        binding.outbox.post(binding.ticket, LateEvent::StreamReady);
    }
}

impl Drop for BodySender {
    fn drop(&mut self) {
        if !self.done {
            let mut queue = self.shared.lock();
            queue.abandoned = true;
            self.notify(queue);
        }
    }
}

/// What a [`Producer`] gives when asked.
#[derive(Debug)]
pub enum Produced {
    /// A piece to send now; the producer is asked again when there is room.
    Piece(Piece),
    /// Nothing yet: ask again after this long (a timer of the loop, no
    /// thread).
    After(Duration),
    /// The body is complete.
    End,
    /// The body cannot be completed: close without finishing it.
    Fail,
}

/// A body produced on the loop's thread, piece by piece, when the
/// connection has room for more. It must not block.
pub trait Producer: Send + 'static {
    /// The next piece, or when to ask again.
    fn produce(&mut self) -> Produced;
}

/// A deferred answer made on the loop after a delay.
pub(crate) type AfterFn = Box<dyn FnOnce(&mut Response) + Send>;

/// What the handler chose instead of answering at once.
pub(crate) enum Deferral {
    /// [`Response::later`]: from any thread, within the handler timeout.
    Later(Arc<AtomicBool>),
    /// [`Response::answer_after`]: on the loop, after the delay.
    After(Duration, AfterFn),
    /// [`Response::stream`]: pieces from a [`BodySender`].
    Channel(Arc<StreamShared>),
    /// [`Response::stream_with`]: pieces from a [`Producer`].
    Producer(Box<dyn Producer>),
}

impl std::fmt::Debug for Deferral {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Deferral::Later(_) => "Later",
            Deferral::After(..) => "After",
            Deferral::Channel(_) => "Channel",
            Deferral::Producer(_) => "Producer",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Posts(Mutex<Vec<(Ticket, String)>>);

    impl Outbox for Posts {
        fn post(&self, ticket: Ticket, event: LateEvent) {
            let what = match event {
                LateEvent::Answer(res) => format!("answer {}", res.status().code()),
                LateEvent::Dropped => "dropped".into(),
                LateEvent::StreamReady => "ready".into(),
            };
            self.0.lock().unwrap().push((ticket, what));
        }
    }

    fn binding(posts: &Arc<Posts>) -> Binding {
        Binding {
            outbox: posts.clone(),
            ticket: Ticket { key: 3, id: 9 },
        }
    }

    #[test]
    fn a_dropped_later_says_so_and_a_sent_one_does_not() {
        let posts = Arc::new(Posts::default());
        drop(Later::new(binding(&posts), Arc::default()));
        Later::new(binding(&posts), Arc::default()).send(Response::new());
        let got: Vec<String> = posts
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|p| p.1.clone())
            .collect();
        assert_eq!(got, ["dropped", "answer 200"]);
    }

    #[test]
    fn the_credit_is_enforced_and_one_notice_covers_a_batch() {
        let posts = Arc::new(Posts::default());
        let shared = Arc::new(StreamShared::default());
        let sender = BodySender::new(shared.clone(), binding(&posts));
        let piece: Piece = vec![7u8; STREAM_CREDIT / 2].into();
        assert!(sender.try_send(piece.clone()).is_ok());
        assert!(sender.try_send(piece.clone()).is_ok());
        assert!(matches!(
            sender.try_send(piece.clone()),
            Err(SendError::Full(_))
        ));
        assert_eq!(posts.0.lock().unwrap().len(), 1, "one wake for two pieces");
        assert_eq!(shared.take(), Taken::Piece(piece.clone()));
        assert!(sender.try_send(piece.clone()).is_ok(), "room again");
        shared.close();
        assert!(matches!(sender.try_send(piece), Err(SendError::Closed(_))));
        assert!(sender.is_closed());
    }

    #[test]
    fn a_blocked_sender_resumes_when_the_connection_takes() {
        let posts = Arc::new(Posts::default());
        let shared = Arc::new(StreamShared::default());
        let sender = BodySender::new(shared.clone(), binding(&posts));
        let producer = std::thread::spawn(move || {
            for _ in 0..4 {
                sender.send(vec![1u8; STREAM_CREDIT]).unwrap();
            }
            sender.finish();
        });
        let mut bytes = 0;
        loop {
            match shared.take() {
                Taken::Piece(piece) => bytes += piece.len(),
                Taken::Finished => break,
                Taken::Empty => std::thread::yield_now(),
                Taken::Abandoned => panic!("abandoned"),
            }
        }
        producer.join().unwrap();
        assert_eq!(bytes, 4 * STREAM_CREDIT);
    }

    #[test]
    fn a_sender_dropped_midway_abandons_the_body() {
        let posts = Arc::new(Posts::default());
        let shared = Arc::new(StreamShared::default());
        let sender = BodySender::new(shared.clone(), binding(&posts));
        sender.try_send(&b"part"[..]).unwrap();
        drop(sender);
        assert!(matches!(shared.take(), Taken::Piece(_)));
        assert_eq!(shared.take(), Taken::Abandoned);
    }
}

//! Server-Sent Events to many subscribers at once.
//!
//! A [`Broadcast`] holds one [`BodySender`] per subscriber. An event is
//! made once, as a shared piece ([`Piece`], an `Arc<[u8]>`), and each
//! subscriber's stream takes a reference to it, not a copy; each connection
//! frames it as a chunk when it writes. A subscriber that is gone (its
//! client left, or the write timeout found it dead) is dropped at the next
//! event; so is one that fell a whole credit behind (a client that does
//! not read): one slow subscriber never holds back the others, and never
//! makes the server buffer without bound. The connection sends a comment
//! line when a stream has been silent for 15 s, so a client that vanished
//! without a word is found by the write timeout.

use crate::http::late::{BodySender, Piece, SendError};
use crate::http::Response;
use std::sync::{Arc, Mutex, MutexGuard};

/// Subscribers of one event stream; clones share them.
#[derive(Clone, Default)]
pub struct Broadcast {
    subscribers: Arc<Mutex<Vec<BodySender>>>,
}

impl Broadcast {
    /// A broadcast with no subscriber yet.
    pub fn new() -> Broadcast {
        Broadcast::default()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<BodySender>> {
        self.subscribers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Answers `res` with an event stream that receives every event from
    /// now on.
    pub fn subscribe(&self, res: &mut Response) {
        res.header("Content-Type", "text/event-stream")
            .header("Cache-Control", "no-cache");
        let sender = res.stream();
        self.lock().push(sender);
    }

    /// Sends `event` (whole SSE lines, ending with an empty line; see
    /// [`event`]) to every subscriber; returns how many took it.
    pub fn send(&self, event: impl Into<Piece>) -> usize {
        let piece = event.into();
        let mut subscribers = self.lock();
        subscribers.retain(|subscriber| match subscriber.try_send(Arc::clone(&piece)) {
            Ok(()) => true,
            Err(SendError::Full(_) | SendError::Closed(_)) => false,
        });
        subscribers.len()
    }

    /// Subscribers at the last event.
    pub fn subscribers(&self) -> usize {
        self.lock().len()
    }
}

/// One event as SSE lines: `id: ID` (when given), a `data:` line per line
/// of `data`, and the empty line that ends the event; made once, to be
/// shared by every subscriber.
pub fn event(id: Option<u64>, data: &str) -> Piece {
    let mut text = String::with_capacity(data.len() + 32);
    if let Some(id) = id {
        text.push_str(&format!("id: {id}\n"));
    }
    for line in data.split('\n') {
        text.push_str("data: ");
        text.push_str(line.strip_suffix('\r').unwrap_or(line));
        text.push('\n');
    }
    text.push('\n');
    Piece::from(text.into_bytes())
}

#[cfg(test)]
mod tests {
    #[test]
    fn events_are_sse_lines() {
        assert_eq!(
            &*super::event(Some(3), "a\nb"),
            b"id: 3\ndata: a\ndata: b\n\n"
        );
        assert_eq!(&*super::event(None, "x"), b"data: x\n\n");
    }
}

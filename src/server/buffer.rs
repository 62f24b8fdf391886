//! Per-connection buffers, and the pool they are lent from.
//!
//! A connection holds a buffer only while bytes are in flight: the input
//! buffer from the first byte of a request until the request is consumed,
//! the output buffer from the first response byte until the last one is
//! written. An idle keep-alive connection holds neither (nginx does the
//! same; hyper and actix keep ~10 KiB per idle connection). Buffers of the
//! standard size go back to a small per-loop pool, so the busy path does not
//! touch the allocator; buffers that grew for a large request are freed.

/// Size of a pooled buffer: room for a head at the default
/// `--max-header-bytes` (8 KiB) with space to spare for pipelining.
pub const BUFFER_SIZE: usize = 16 * 1024;

/// Free buffers kept per kind. Only the connections served in one wake-up
/// hold buffers at the same time, and a busy loop recycles them at once, so
/// a few suffice; a larger pool would only keep memory from going back.
const POOL_MAX: usize = 16;

/// The largest output buffer the pool keeps: the backpressure threshold
/// plus one inline response, rounded up.
pub const OUTPUT_KEEP_MAX: usize = 128 * 1024;

/// The input side: `data[start..end]` holds received, unconsumed bytes.
/// `data` is always initialised up to its length, so reading into the
/// spare room needs no `unsafe`.
#[derive(Debug)]
pub struct Input {
    data: Vec<u8>,
    start: usize,
    end: usize,
}

impl Input {
    /// The received bytes not yet consumed.
    pub fn bytes(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    /// The received bytes not yet consumed, mutable (the chunked decoder
    /// works in place).
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.data[self.start..self.end]
    }

    /// Number of unconsumed bytes.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether every received byte was consumed.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Marks the first `n` unconsumed bytes as consumed.
    pub fn consume(&mut self, n: usize) {
        self.start += n;
        debug_assert!(self.start <= self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Cuts `len` bytes at `at` (relative to the unconsumed bytes) out.
    pub fn remove(&mut self, at: usize, len: usize) {
        let from = self.start + at + len;
        self.data.copy_within(from..self.end, self.start + at);
        self.end -= len;
    }

    /// Room to read into, after making some if the buffer is full: first by
    /// moving unconsumed bytes to the front, then by growing the buffer up
    /// to `max` bytes of content. Empty when the buffer holds `max` bytes.
    #[inline]
    pub fn spare(&mut self, max: usize) -> &mut [u8] {
        if self.end == self.data.len() {
            self.make_room(max);
        }
        let room = max.saturating_sub(self.len());
        let end = self.data.len().min(self.end + room);
        &mut self.data[self.end..end]
    }

    /// The buffer is full to its end: compact, else grow.
    fn make_room(&mut self, max: usize) {
        if self.start > 0 {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        } else if self.len() < max {
            let grown = (self.data.len() * 2).clamp(BUFFER_SIZE, max.max(BUFFER_SIZE));
            self.data.resize(grown, 0);
        }
    }

    /// Records that `n` bytes were read into [`spare`](Self::spare).
    pub fn filled(&mut self, n: usize) {
        self.end += n;
    }
}

/// A per-loop pool of standard-size buffers.
#[derive(Debug, Default)]
pub struct BufferPool {
    inputs: Vec<Vec<u8>>,
    outputs: Vec<Vec<u8>>,
}

impl BufferPool {
    /// An empty input buffer.
    pub fn input(&mut self) -> Input {
        let data = self.inputs.pop().unwrap_or_else(|| vec![0; BUFFER_SIZE]);
        Input {
            data,
            start: 0,
            end: 0,
        }
    }

    /// Takes back an input buffer; one that grew is freed instead.
    pub fn put_input(&mut self, input: Input) {
        if input.data.len() == BUFFER_SIZE && self.inputs.len() < POOL_MAX {
            self.inputs.push(input.data);
        }
    }

    /// An empty output buffer.
    pub fn output(&mut self) -> Vec<u8> {
        self.outputs
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(BUFFER_SIZE))
    }

    /// Takes back an output buffer. One that grew to answer a pipelined
    /// batch is kept too (up to [`OUTPUT_KEEP_MAX`]), or the next batch would
    /// grow a new one again.
    #[inline]
    pub fn put_output(&mut self, mut output: Vec<u8>) {
        let capacity = output.capacity();
        if (BUFFER_SIZE..=OUTPUT_KEEP_MAX).contains(&capacity) && self.outputs.len() < POOL_MAX {
            output.clear();
            self.outputs.push(output);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consume_resets_when_empty() {
        let mut pool = BufferPool::default();
        let mut input = pool.input();
        let spare = input.spare(usize::MAX);
        spare[..5].copy_from_slice(b"hello");
        input.filled(5);
        input.consume(2);
        assert_eq!(input.bytes(), b"llo");
        input.consume(3);
        assert!(input.is_empty());
        assert_eq!(input.spare(usize::MAX).len(), BUFFER_SIZE);
    }

    #[test]
    fn spare_compacts_then_grows_up_to_max() {
        let mut pool = BufferPool::default();
        let mut input = pool.input();
        let n = input.spare(usize::MAX).len();
        input.filled(n);
        input.consume(10);
        assert_eq!(input.spare(usize::MAX).len(), 10, "compacted");
        input.filled(10);
        let max = BUFFER_SIZE + 100;
        assert_eq!(input.spare(max).len(), 100, "grown, bounded by max");
        input.filled(100);
        assert!(input.spare(max).is_empty(), "full at max");
        pool.put_input(input);
        assert!(pool.inputs.is_empty(), "grown buffers are not pooled");
    }

    #[test]
    fn remove_cuts_out_the_middle() {
        let mut pool = BufferPool::default();
        let mut input = pool.input();
        input.spare(usize::MAX)[..8].copy_from_slice(b"ab----cd");
        input.filled(8);
        input.consume(1);
        input.remove(1, 4);
        assert_eq!(input.bytes(), b"bcd");
    }

    #[test]
    fn pool_is_bounded() {
        let mut pool = BufferPool::default();
        for _ in 0..POOL_MAX + 5 {
            pool.put_output(Vec::with_capacity(BUFFER_SIZE));
        }
        assert_eq!(pool.outputs.len(), POOL_MAX);
    }
}

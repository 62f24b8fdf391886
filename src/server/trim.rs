//! Giving memory back after a crowd has gone.
//!
//! A thousand slowloris connections each hold an input buffer (16 KiB)
//! until the header timeout closes them. The buffers are freed then, but
//! glibc's allocator keeps freed memory that is not at the top of its heap,
//! so without help the server's RSS stays at the crowd's peak for good (a
//! one-minute soak: 2.2 MiB at start, 23 MiB at the peak, 21.9 MiB after
//! every client had gone). `malloc_trim(0)` returns the free pages inside
//! the heap too. It is called when the number of open connections has
//! fallen to half of its highest since the last call (and that highest was
//! at least [`CROWD`]), so a steady load never pays for it and a crowd
//! leaving costs a handful of calls. Elsewhere (other libcs) it does
//! nothing.

/// The smallest peak of connections worth trimming after.
pub const CROWD: usize = 64;

/// When to trim, from the number of open connections.
#[derive(Debug, Default)]
pub struct Trim {
    peak: usize,
}

impl Trim {
    /// Notes that `open` connections are open; trims when they have fallen
    /// to half the peak. Returns whether it trimmed.
    pub fn after_closes(&mut self, open: usize) -> bool {
        self.peak = self.peak.max(open);
        if self.peak < CROWD || open > self.peak / 2 {
            return false;
        }
        self.peak = open;
        release_free_memory();
        true
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_free_memory() {
    // SAFETY: malloc_trim only walks and shrinks the allocator's own free
    // lists; it takes no pointer of ours and is thread-safe (it locks each
    // arena).
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_free_memory() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_when_a_crowd_halves_and_not_under_steady_load() {
        let mut trim = Trim::default();
        assert!(!(0..=1000).any(|open| trim.after_closes(open)), "growing");
        assert!(!trim.after_closes(501));
        assert!(trim.after_closes(500));
        assert!(!trim.after_closes(400), "the peak is 500 again");
        assert!(trim.after_closes(250));
        let mut small = Trim::default();
        assert!(!small.after_closes(CROWD - 1));
        assert!(!small.after_closes(0), "no crowd");
    }
}

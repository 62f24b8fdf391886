//! Watching a folder for changes (`--watch`): inotify, as one more
//! readiness source of an event loop.
//!
//! The inotify descriptor is made non-blocking and registered in the
//! loop's `mio::Poll` like a socket (`SourceFd`, READABLE, under the
//! `WATCH` token, `usize::MAX - 3`): the kernel queues an event
//! per change, epoll says the descriptor is readable, the loop reads the
//! queue until `EAGAIN` (edge-triggered, as for sockets) and goes on with
//! its connections. No thread, no polling of modification times, one
//! descriptor for the whole tree: a watch per directory (`inotify_add_watch`
//! on each, found by walking the tree at start), and a directory created
//! (or moved in) later is walked and watched as soon as its event is read.
//!
//! Changes come in bursts: an editor's save is a few events (a temporary
//! file, a rename, an attribute change), a build writes hundreds of files.
//! They are coalesced into one call of `on_change`, made when the tree has
//! been quiet for [`QUIET`], or [`LONGEST`] after the first change of the
//! burst if it goes on (a loop deadline, like the connections' timers), so
//! the browser reloads once, well within a second of the change.
//!
//! Names starting with `.` are ignored (and such directories not
//! watched): the static files never serve them, and editors and version
//! control write there all the time (`.git`, `.file.swp`). Symbolic links
//! to directories are not followed (a link could make the walk endless).
//!
//! With several workers one loop watches (the first); what `on_change`
//! does reaches the others by itself (the binary's broadcast posts to
//! each subscriber's own loop).
//!
//! Only on Linux; elsewhere [`Watcher::new`] says `Unsupported`.

use std::time::Duration;

/// A burst of changes ends after this much silence.
pub const QUIET: Duration = Duration::from_millis(100);
/// The longest a change waits for its burst to end.
pub const LONGEST: Duration = Duration::from_millis(500);

/// Whether [`Watcher::new`] can work here.
pub const SUPPORTED: bool = cfg!(target_os = "linux");

/// What to call once per burst of changes.
pub type OnChange = Box<dyn FnMut() + Send>;

#[cfg(target_os = "linux")]
pub use linux::Watcher;

#[cfg(not(target_os = "linux"))]
pub use elsewhere::Watcher;

/// When a burst that began at `first` and was last seen at `last` ends.
fn burst_end(first: u64, last: u64) -> u64 {
    (last + QUIET.as_millis() as u64).min(first + LONGEST.as_millis() as u64)
}

#[cfg(target_os = "linux")]
mod linux {
    use super::{burst_end, OnChange};
    use log::{debug, trace, warn};
    use mio::unix::SourceFd;
    use mio::{Interest, Registry, Token};
    use std::collections::HashMap;
    use std::ffi::{CString, OsStr};
    use std::fs::File;
    use std::io::{self, Read};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;
    use std::path::{Path, PathBuf};

    /// What a directory watch reports.
    const MASK: u32 = libc::IN_MODIFY
        | libc::IN_ATTRIB
        | libc::IN_CLOSE_WRITE
        | libc::IN_CREATE
        | libc::IN_DELETE
        | libc::IN_MOVED_FROM
        | libc::IN_MOVED_TO
        | libc::IN_DELETE_SELF
        | libc::IN_MOVE_SELF
        | libc::IN_ONLYDIR
        | libc::IN_EXCL_UNLINK;

    /// The fixed part of a `struct inotify_event`: wd, mask, cookie, len.
    const HEADER: usize = 16;

    /// The inotify descriptor of a tree, and the burst being coalesced.
    pub struct Watcher {
        inotify: File,
        /// Watch descriptor → directory.
        dirs: HashMap<i32, PathBuf>,
        /// The burst under way: `(first change, last change)`, loop ms.
        burst: Option<(u64, u64)>,
        on_change: OnChange,
        /// Whether running out of watches was reported already.
        warned: bool,
    }

    impl std::fmt::Debug for Watcher {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Watcher")
                .field("inotify", &self.inotify)
                .field("dirs", &self.dirs.len())
                .field("burst", &self.burst)
                .finish()
        }
    }

    impl Watcher {
        /// Watches every directory under `root`; `on_change` is called
        /// once per burst of changes.
        pub fn new(root: &Path, on_change: OnChange) -> io::Result<Watcher> {
            // SAFETY: inotify_init1 takes flags only and touches no memory
            // of ours; it returns a new descriptor or -1.
            let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: `fd` was just returned by inotify_init1, is open, and
            // nothing else owns it: the OwnedFd (then the File) closes it
            // exactly once.
            let owned = unsafe { OwnedFd::from_raw_fd(fd) };
            let mut watcher = Watcher {
                inotify: File::from(owned),
                dirs: HashMap::new(),
                burst: None,
                on_change,
                warned: false,
            };
            watcher.add_tree(root)?;
            Ok(watcher)
        }

        /// Registers the descriptor in a loop, edge-triggered READABLE.
        pub fn register(&self, registry: &Registry, token: Token) -> io::Result<()> {
            let fd = self.inotify.as_raw_fd();
            registry.register(&mut SourceFd(&fd), token, Interest::READABLE)
        }

        /// How many directories are watched.
        pub fn directories(&self) -> usize {
            self.dirs.len()
        }

        /// Watches `root` and every directory under it. Only `root`
        /// failing is an error; a subdirectory that cannot be watched is
        /// logged and left out.
        fn add_tree(&mut self, root: &Path) -> io::Result<()> {
            self.add_watch(root)?;
            let mut stack = vec![root.to_path_buf()];
            while let Some(dir) = stack.pop() {
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    continue;
                };
                for entry in entries.flatten() {
                    let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
                    if !is_dir || ignored(&entry.file_name()) {
                        continue;
                    }
                    let path = entry.path();
                    match self.add_watch(&path) {
                        Ok(()) => stack.push(path),
                        Err(e) => self.cannot_watch(&path, &e),
                    }
                }
            }
            Ok(())
        }

        fn add_watch(&mut self, dir: &Path) -> io::Result<()> {
            let name = CString::new(dir.as_os_str().as_bytes())
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in a path"))?;
            // SAFETY: the descriptor is our open inotify instance, and
            // `name` is a NUL-terminated string that lives across the call;
            // the kernel only reads it.
            let wd =
                unsafe { libc::inotify_add_watch(self.inotify.as_raw_fd(), name.as_ptr(), MASK) };
            if wd < 0 {
                return Err(io::Error::last_os_error());
            }
            trace!("watch: {} is wd {wd}", dir.display());
            self.dirs.insert(wd, dir.to_path_buf());
            Ok(())
        }

        fn cannot_watch(&mut self, dir: &Path, e: &io::Error) {
            if e.raw_os_error() == Some(libc::ENOSPC) && !self.warned {
                self.warned = true;
                warn!(
                    "--watch: out of inotify watches at {} (raise fs.inotify.max_user_watches); \
                     changes there go unnoticed",
                    dir.display()
                );
            } else {
                debug!("--watch: cannot watch {}: {e}", dir.display());
            }
        }

        /// The descriptor is readable: reads every queued event (until
        /// `EAGAIN`), watches new directories, and notes the change at
        /// `now` (the loop's milliseconds).
        pub fn readable(&mut self, now: u64) {
            // Fields are read byte by byte, so the buffer needs no
            // alignment; the kernel writes whole events only.
            let mut buf = [0u8; 4096];
            loop {
                match self.inotify.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => self.events(&buf[..n], now),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        warn!("--watch: reading inotify: {e}");
                        return;
                    }
                }
            }
        }

        fn events(&mut self, mut bytes: &[u8], now: u64) {
            while bytes.len() >= HEADER {
                let word = |at: usize| [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
                let wd = i32::from_ne_bytes(word(0));
                let mask = u32::from_ne_bytes(word(4));
                let len = u32::from_ne_bytes(word(12)) as usize;
                let Some(name) = bytes.get(HEADER..HEADER + len) else {
                    return;
                };
                let name = OsStr::from_bytes(name.split(|&b| b == 0).next().unwrap_or(&[]));
                self.event(wd, mask, name, now);
                bytes = &bytes[HEADER + len..];
            }
        }

        fn event(&mut self, wd: i32, mask: u32, name: &OsStr, now: u64) {
            if mask & libc::IN_Q_OVERFLOW != 0 {
                // Events were lost: something changed; directories made
                // meanwhile may be unwatched, so walk the tree again
                // (watching a watched directory again is harmless).
                debug!("--watch: the inotify queue overflowed");
                let roots: Vec<PathBuf> = self.dirs.values().cloned().collect();
                for dir in roots {
                    if let Err(e) = self.add_tree(&dir) {
                        self.cannot_watch(&dir, &e);
                    }
                }
                return self.changed(now);
            }
            if mask & libc::IN_IGNORED != 0 {
                self.dirs.remove(&wd);
                return;
            }
            if ignored(name) {
                return;
            }
            let Some(dir) = self.dirs.get(&wd) else {
                return;
            };
            let path = dir.join(name);
            trace!("watch: {mask:#x} {}", path.display());
            let new_dir =
                mask & libc::IN_ISDIR != 0 && mask & (libc::IN_CREATE | libc::IN_MOVED_TO) != 0;
            if new_dir {
                if let Err(e) = self.add_tree(&path) {
                    self.cannot_watch(&path, &e);
                }
            }
            self.changed(now);
        }

        fn changed(&mut self, now: u64) {
            let first = self.burst.map_or(now, |(first, _)| first);
            self.burst = Some((first, now));
        }

        /// When the burst under way ends (a loop deadline), if one is.
        pub fn deadline(&self) -> Option<u64> {
            self.burst.map(|(first, last)| burst_end(first, last))
        }

        /// Calls `on_change` if the burst under way has ended by `now`.
        pub fn expire(&mut self, now: u64) {
            if self.deadline().is_some_and(|end| end <= now) {
                self.burst = None;
                debug!("--watch: files changed");
                (self.on_change)();
            }
        }
    }

    /// Names the watcher does not care about: dotfiles and dot-directories.
    fn ignored(name: &OsStr) -> bool {
        name.as_bytes().first() == Some(&b'.')
    }
}

#[cfg(not(target_os = "linux"))]
mod elsewhere {
    use super::OnChange;
    use mio::{Registry, Token};
    use std::io;
    use std::path::Path;

    /// No watcher here: [`Watcher::new`] fails with `Unsupported`.
    #[derive(Debug)]
    pub struct Watcher {
        never: std::convert::Infallible,
    }

    impl Watcher {
        /// Always `Unsupported` off Linux.
        pub fn new(_root: &Path, _on_change: OnChange) -> io::Result<Watcher> {
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "--watch needs inotify (Linux)",
            ))
        }
        pub fn register(&self, _: &Registry, _: Token) -> io::Result<()> {
            match self.never {}
        }
        pub fn directories(&self) -> usize {
            match self.never {}
        }
        pub fn readable(&mut self, _now: u64) {
            match self.never {}
        }
        pub fn deadline(&self) -> Option<u64> {
            match self.never {}
        }
        pub fn expire(&mut self, _now: u64) {
            match self.never {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_ends_after_quiet_or_at_the_longest() {
        assert_eq!(burst_end(1000, 1000), 1100);
        assert_eq!(burst_end(1000, 1350), 1450);
        assert_eq!(burst_end(1000, 1450), 1500);
        assert_eq!(burst_end(1000, 1490), 1500);
    }
}

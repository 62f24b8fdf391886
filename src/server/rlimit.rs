//! Raising the open-file limit, so that `--max-connections` can be reached.
//!
//! Each connection is a file descriptor. Many systems start processes with
//! a soft `RLIMIT_NOFILE` of 1024 and a much higher hard limit; a server
//! should raise its soft limit to the hard one at start (nginx's
//! `worker_rlimit_nofile`, systemd's `LimitNOFILE`). What it cannot raise,
//! the accept loop copes with: see EMFILE in `event_loop.rs`.

use std::io;

/// Raises the soft limit on open files to the hard limit. Returns the
/// limits as `(old soft, new soft)`.
pub fn raise_open_files_limit() -> io::Result<(libc::rlim_t, libc::rlim_t)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` through a pointer to a live,
    // properly aligned local; it reads nothing else of ours.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let old = limit.rlim_cur;
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: setrlimit reads one `rlimit` from a live local.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok((old, limit.rlim_cur))
}

#[cfg(test)]
mod tests {
    #[test]
    fn soft_limit_ends_at_the_hard_limit() {
        let (_, soft) = super::raise_open_files_limit().unwrap();
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: as above, getrlimit writes one `rlimit` into a live local.
        let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
        assert_eq!(rc, 0);
        assert_eq!(soft, limit.rlim_cur);
        assert_eq!(limit.rlim_cur, limit.rlim_max);
    }
}

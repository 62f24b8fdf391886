//! `recv` and `send` on a socket as plain system calls.
//!
//! std reads and writes a socket through glibc's `recv` and `send`, which
//! are pthread cancellation points: each call switches the thread's
//! cancellation state on and off around the system call. We never cancel a
//! thread, so that is pure cost: about 40 user-space instructions per call
//! (callgrind), a few percent of a whole request. `syscall(2)` is no
//! cancellation point. Results and errors are exactly std's: the count, or
//! `errno` as an [`io::Error`] (`EAGAIN` is `WouldBlock`, `EINTR` is
//! `Interrupted`, which the callers retry as they did before).

use std::io;
use std::os::fd::{AsFd, AsRawFd};

/// Receives into `buf`, as std's `Read::read` on a socket does
/// (`recv(fd, buf, len, 0)`).
#[inline]
pub fn recv(socket: &impl AsFd, buf: &mut [u8]) -> io::Result<usize> {
    let fd = socket.as_fd();
    // SAFETY: recvfrom writes at most `buf.len()` bytes at `buf`'s
    // pointer, which `&mut buf` makes valid and exclusively ours for the
    // call; the null address and length pointers ask it to store no peer
    // address. `fd` is a descriptor borrowed from the live socket for the
    // whole call, so it cannot be closed or reused meanwhile.
    let n = unsafe {
        libc::syscall(
            libc::SYS_recvfrom,
            fd.as_raw_fd(),
            buf.as_mut_ptr(),
            buf.len(),
            0,
            std::ptr::null_mut::<libc::sockaddr>(),
            std::ptr::null_mut::<libc::socklen_t>(),
        )
    };
    result(n)
}

/// Sends `buf`, as std's `Write::write` on a TCP socket does
/// (`send(fd, buf, len, MSG_NOSIGNAL)`: a peer that is gone is `EPIPE`,
/// never a `SIGPIPE`).
#[inline]
pub fn send(socket: &impl AsFd, buf: &[u8]) -> io::Result<usize> {
    let fd = socket.as_fd();
    // SAFETY: sendto reads at most `buf.len()` bytes at `buf`'s pointer,
    // which `&buf` makes valid for the call; a null address of length 0
    // is what `send` passes on a connected socket. `fd` is borrowed from
    // the live socket for the whole call.
    let n = unsafe {
        libc::syscall(
            libc::SYS_sendto,
            fd.as_raw_fd(),
            buf.as_ptr(),
            buf.len(),
            libc::MSG_NOSIGNAL,
            std::ptr::null::<libc::sockaddr>(),
            0 as libc::socklen_t,
        )
    };
    result(n)
}

/// The count, or the `errno` the call left, as std's `cvt` makes it.
#[inline]
fn result(n: libc::c_long) -> io::Result<usize> {
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    #[test]
    fn sends_and_receives_like_std() {
        let (a, b) = UnixStream::pair().unwrap();
        assert_eq!(send(&a, b"hello").unwrap(), 5);
        let mut buf = [0; 16];
        assert_eq!(recv(&b, &mut buf[..3]).unwrap(), 3);
        assert_eq!(&buf[..3], b"hel");
        assert_eq!(recv(&b, &mut buf).unwrap(), 2);
        assert_eq!(&buf[..2], b"lo");
    }

    #[test]
    fn errors_map_as_std_maps_them() {
        let (a, b) = UnixStream::pair().unwrap();
        b.set_nonblocking(true).unwrap();
        let mut buf = [0; 4];
        assert_eq!(
            recv(&b, &mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        drop(a);
        assert_eq!(recv(&b, &mut buf).unwrap(), 0);
        let err = send(&b, b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }
}

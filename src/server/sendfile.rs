//! Sending part of a file to a socket without copying it through our
//! memory: `sendfile(2)` on Linux, `pread` + `write` elsewhere.
//!
//! Either way the call sends what the socket accepts now and returns that
//! count; the caller advances its offset by it and waits for WRITABLE to
//! send the rest. Nothing is buffered in between, so a slow client reading
//! a huge file costs a file descriptor and an offset, not memory.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;

/// A sink that can take bytes straight from a file.
pub trait SendFile: Write {
    /// Writes bytes that more bytes will follow at once (a response head
    /// before its file body), so they may wait to share a segment with
    /// them. The default is a plain write.
    fn write_before_more(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write(buf)
    }

    /// Sends up to `count` bytes of `file` from `offset`; returns how many
    /// were sent. The default reads a chunk and writes it (what is not
    /// accepted is read again next time: the offset advances only by what
    /// was written).
    fn send_file(&mut self, file: &File, offset: u64, count: usize) -> io::Result<usize> {
        let mut chunk = [0u8; 64 * 1024];
        let want = count.min(chunk.len());
        let n = file.read_at(&mut chunk[..want], offset)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file shrank while being sent",
            ));
        }
        self.write(&chunk[..n])
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
impl SendFile for mio::net::TcpStream {
    /// `MSG_MORE`: the kernel holds a partial segment until the file data
    /// follows, instead of sending the head alone (we run with
    /// `TCP_NODELAY`). The client then receives full segments, which is
    /// what limits a loopback download: its reads.
    fn write_before_more(&mut self, buf: &[u8]) -> io::Result<usize> {
        socket2::SockRef::from(&*self).send_with_flags(buf, libc::MSG_MORE)
    }

    fn send_file(&mut self, file: &File, offset: u64, count: usize) -> io::Result<usize> {
        send_file(socket2::SockRef::from(&*self), file, offset, count)
    }
}

/// A Unix-domain socket has no segments to fill: the head goes with a
/// plain write, the file with `sendfile(2)` as for TCP.
#[cfg(any(target_os = "linux", target_os = "android"))]
impl SendFile for mio::net::UnixStream {
    fn send_file(&mut self, file: &File, offset: u64, count: usize) -> io::Result<usize> {
        send_file(socket2::SockRef::from(&*self), file, offset, count)
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn send_file(
    socket: socket2::SockRef<'_>,
    file: &File,
    offset: u64,
    count: usize,
) -> io::Result<usize> {
    let offset = usize::try_from(offset)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file offset too large"))?;
    let Some(count) = std::num::NonZeroUsize::new(count) else {
        return Ok(0);
    };
    match socket.sendfile(file, offset, Some(count))? {
        0 => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "file shrank while being sent",
        )),
        n => Ok(n),
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
impl SendFile for mio::net::TcpStream {}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
impl SendFile for mio::net::UnixStream {}

//! A connection's socket: TCP or Unix-domain, behind one type.
//!
//! An enum rather than a trait object or a type parameter: the shell stays
//! one type (one slab of connections per loop, whatever the listeners),
//! and each call is a two-way branch the predictor learns at once, with
//! the TCP arm inlined as before. Reads and writes go through
//! [`socket_io`], past glibc's cancellation points.

use super::super::sendfile::SendFile;
use super::socket_io;
use mio::event::Source;
use mio::net::{TcpStream, UnixStream};
use std::fs::File;
use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsRawFd, RawFd};

/// An accepted client socket.
#[derive(Debug)]
pub enum Stream {
    /// Through a TCP listener.
    Tcp(TcpStream),
    /// Through a Unix-domain listener.
    Unix(UnixStream),
}

impl Stream {
    /// The socket as mio registers it (once, at the accept).
    pub fn source(&mut self) -> &mut dyn Source {
        match self {
            Stream::Tcp(s) => s,
            Stream::Unix(s) => s,
        }
    }

    /// Shuts one direction (or both) of the socket.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.shutdown(how),
            Stream::Unix(s) => s.shutdown(how),
        }
    }
}

impl AsRawFd for Stream {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Unix(s) => s.as_raw_fd(),
        }
    }
}

impl Read for Stream {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => socket_io::recv(s, buf),
            Stream::Unix(s) => socket_io::recv(s, buf),
        }
    }
}

impl Write for Stream {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => socket_io::send(s, buf),
            Stream::Unix(s) => socket_io::send(s, buf),
        }
    }

    #[inline]
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write_vectored(bufs),
            Stream::Unix(s) => s.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl SendFile for Stream {
    #[inline]
    fn write_before_more(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write_before_more(buf),
            Stream::Unix(s) => s.write_before_more(buf),
        }
    }

    #[inline]
    fn send_file(&mut self, file: &File, offset: u64, count: usize) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.send_file(file, offset, count),
            Stream::Unix(s) => s.send_file(file, offset, count),
        }
    }
}

//! Every accepted connection has `TCP_NODELAY`: responses written in
//! separate wake-ups must not wait for the client's delayed ACK (Nagle).
//! On Linux it is inherited from the listener; this test checks the
//! accepted socket itself, from the server's side of a live connection.

mod common;

use coffeeweb::{Request, Response};
use common::{config, get, Client, TestServer};
use std::os::fd::RawFd;

/// Reads TCP_NODELAY of the server's socket for the requesting connection:
/// the handler runs on the loop thread, so the connection's descriptor is
/// the one whose peer is the client's local address.
fn server_side_nodelay(peer: std::net::SocketAddr) -> Option<bool> {
    for entry in std::fs::read_dir("/proc/self/fd").ok()? {
        let fd: RawFd = entry.ok()?.file_name().to_str()?.parse().ok()?;
        // SAFETY: sockaddr_storage is plain old data; all zeroes is valid.
        let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        // SAFETY: `addr` is a writable sockaddr_storage of `len` bytes;
        // getpeername fails harmlessly on descriptors that are not sockets.
        let rc = unsafe {
            libc::getpeername(
                fd,
                (&mut addr as *mut libc::sockaddr_storage).cast(),
                &mut len,
            )
        };
        if rc != 0 || addr.ss_family != libc::AF_INET as libc::sa_family_t {
            continue;
        }
        // SAFETY: the family is AF_INET, so the storage holds a sockaddr_in.
        let v4 = unsafe { *(&addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
        if u16::from_be(v4.sin_port) != peer.port() {
            continue;
        }
        let mut on: libc::c_int = 0;
        let mut size = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: `on` is a writable c_int of `size` bytes.
        let rc = unsafe {
            libc::getsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_NODELAY,
                (&mut on as *mut libc::c_int).cast(),
                &mut size,
            )
        };
        if rc == 0 {
            return Some(on != 0);
        }
    }
    None
}

#[test]
fn accepted_connections_have_nodelay() {
    let server = TestServer::with_handler(config(), |req: &Request<'_>, res: &mut Response| {
        let peer = req.header_str("x-peer").and_then(|p| p.parse().ok());
        let answer = match peer.and_then(server_side_nodelay) {
            Some(true) => "on",
            Some(false) => "off",
            None => "not found",
        };
        res.set_body(answer);
    });
    let mut client = Client::connect(server.addr);
    let peer = client.stream.local_addr().unwrap();
    let request = get("/").replace("\r\n\r\n", &format!("\r\nX-Peer: {peer}\r\n\r\n"));
    assert_eq!(client.send(request).response().text(), "on");
}

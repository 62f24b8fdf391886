//! HTTP/1.1 on the wire: parsing requests, framing bodies, encoding
//! responses. Nothing in here does IO; the server feeds it bytes.

pub mod accept_encoding;
pub mod chunked;
pub mod date;
pub mod decode;
mod error;
pub mod exchange;
pub mod framing;
pub mod json;
pub mod late;
pub mod parse;
#[cfg(test)]
mod parse_tests;
mod peer;
mod request;
mod response;
mod status;

pub use error::RequestError;
pub use parse::Version;
pub use peer::{Host, Peer};
pub use request::Request;
pub use response::{
    AddedFields, Body, ConnectionHeader, FileBody, Generated, Response, StreamLength,
    INLINE_BODY_MAX,
};
pub use status::Status;

/// Appends `n` in decimal, without allocating.
pub(crate) fn write_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

#[cfg(test)]
mod tests {
    #[test]
    fn decimal() {
        for n in [0, 7, 10, 99, 1_048_576, u64::MAX] {
            let mut out = Vec::new();
            super::write_decimal(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
    }
}

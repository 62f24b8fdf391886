//! Which path under the prefix is which endpoint, and what each answers.

use super::params::{self, BadParam};
use super::{bytes, echo, timed};
use crate::handlers::refuse_unless_get_or_head;
use crate::http::{Request, Response, Status};
use std::hash::{BuildHasher, Hasher};

/// An endpoint, with the rest of its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route<'a> {
    /// `bytes/N`.
    Bytes(&'a str),
    /// `status/CODES`.
    Status(&'a str),
    /// `anything` and `anything/…`.
    Anything,
    /// `headers`.
    Headers,
    /// `ip`.
    Ip,
    /// `delay/D`.
    Delay(&'a str),
    /// `drip`.
    Drip,
    /// `sse`.
    Sse,
    /// `stream-bytes/N`.
    StreamBytes(&'a str),
}

impl<'a> Route<'a> {
    /// The endpoint at `rest` (the path after `PREFIX/`), if it is one.
    /// The first byte picks the candidates, so a path that is no
    /// endpoint, or `bytes/N`, costs one or two comparisons.
    pub fn of(rest: &'a str) -> Option<Route<'a>> {
        match rest.as_bytes().first()? {
            b'b' => rest.strip_prefix("bytes/").map(Route::Bytes),
            b's' => match rest.strip_prefix("status/") {
                Some(codes) => Some(Route::Status(codes)),
                None if rest == "sse" => Some(Route::Sse),
                None => rest.strip_prefix("stream-bytes/").map(Route::StreamBytes),
            },
            b'd' if rest == "drip" => Some(Route::Drip),
            b'd' => rest.strip_prefix("delay/").map(Route::Delay),
            b'h' => (rest == "headers").then_some(Route::Headers),
            b'i' => (rest == "ip").then_some(Route::Ip),
            b'a' => {
                (rest == "anything" || rest.starts_with("anything/")).then_some(Route::Anything)
            }
            _ => None,
        }
    }

    /// Whether every method is answered (else GET and HEAD only).
    pub fn any_method(self) -> bool {
        self == Route::Anything
    }
}

/// A small, fast generator for the per-request choices (xorshift64*),
/// seeded from the standard library's per-process random keys on first
/// use. Not for anything secret.
#[derive(Clone, Debug, Default)]
pub struct Rng(u64);

impl Rng {
    /// A draw in [0, 1).
    fn unit(&mut self) -> f64 {
        if self.0 == 0 {
            let seed = std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish();
            self.0 = seed | 1;
        }
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Answers `req` for `route`.
pub fn serve(route: Route<'_>, req: &Request<'_>, res: &mut Response, rng: &mut Rng) {
    if !route.any_method() && refuse_unless_get_or_head(req, res) {
        return;
    }
    let outcome = match route {
        Route::Bytes(n) => serve_bytes(n, req, res),
        Route::Status(codes) => serve_status(codes, res, rng),
        Route::Anything => json(res, echo::anything(req)),
        Route::Headers => json(res, echo::headers(req)),
        Route::Ip => json(res, echo::ip(req)),
        Route::Delay(d) => timed::delay(d, req, res, rng.unit(), echo::anything(req)),
        Route::Drip => timed::drip(req, res),
        Route::Sse => timed::sse(req, res),
        Route::StreamBytes(n) => timed::stream_bytes(n, req, res),
    };
    if let Err(bad) = outcome {
        res.reset_to_error(Status::BAD_REQUEST);
        res.set_body(format!(
            "400 Bad Request\ninvalid {}: expected {}\n",
            bad.name, bad.expected
        ));
    }
}

fn json(res: &mut Response, body: Vec<u8>) -> Result<(), BadParam> {
    res.header("Content-Type", "application/json")
        .set_body(body);
    Ok(())
}

fn serve_bytes(n: &str, req: &Request<'_>, res: &mut Response) -> Result<(), BadParam> {
    let len = params::number(
        "N",
        n,
        bytes::MAX_LEN,
        "a number of bytes from 0 to 104857600",
    )?;
    let seed = match params::query_value(req.query(), "seed") {
        Some(seed) => params::number("seed", seed, u64::MAX, "a whole number from 0 to 2^64-1")?,
        None => 0,
    };
    res.header("Content-Type", "application/octet-stream")
        .set_body(bytes::body(len, seed));
    Ok(())
}

fn serve_status(codes: &str, res: &mut Response, rng: &mut Rng) -> Result<(), BadParam> {
    let code = params::choose_code(codes, rng.unit())?;
    let status = Status::from_code(code).ok_or(BadParam {
        name: "CODES",
        expected: "codes from 200 to 599",
    })?;
    res.error(status);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(Route::of("bytes/13"), Some(Route::Bytes("13")));
        assert_eq!(Route::of("status/200:1"), Some(Route::Status("200:1")));
        assert_eq!(Route::of("anything"), Some(Route::Anything));
        assert_eq!(Route::of("anything/x/y"), Some(Route::Anything));
        assert_eq!(Route::of("headers"), Some(Route::Headers));
        assert_eq!(Route::of("ip"), Some(Route::Ip));
        assert_eq!(Route::of("delay/1"), Some(Route::Delay("1")));
        assert_eq!(Route::of("stream-bytes/5"), Some(Route::StreamBytes("5")));
        assert_eq!(Route::of("drip"), Some(Route::Drip));
        assert_eq!(Route::of("sse"), Some(Route::Sse));
        for other in [
            "",
            "bytes",
            "anythingelse",
            "headers/",
            "ip/x",
            "delay",
            "sse/x",
        ] {
            assert_eq!(Route::of(other), None, "{other}");
        }
    }

    #[test]
    fn draws_are_in_the_unit_interval_and_spread() {
        let mut rng = Rng::default();
        let draws: Vec<f64> = (0..10_000).map(|_| rng.unit()).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        let below = draws.iter().filter(|d| **d < 0.1).count();
        assert!((800..1200).contains(&below), "{below}");
    }
}

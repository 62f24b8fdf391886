//! `--httpbin PREFIX`: test endpoints for load generators, proxies and
//! HTTP clients, named and shaped like httpbin's so that existing scripts
//! work (`bytes/N`, `status/CODES`, `anything`, `headers`, `ip`).
//!
//! [`Httpbin`] is an [`Endpoint`]: mounted in front of another handler, it
//! answers only the paths under its prefix that name one of its endpoints;
//! any other path goes to the handler behind, as without the flag.
//!
//! - `routes.rs`: which path is which endpoint, and the answers;
//! - `params.rs`: every parameter checked (a bad one is a 400 naming it);
//! - `bytes.rs`: the deterministic byte generator behind `bytes/N`, which
//!   any offset of can be made, so a large body is made as it is sent;
//! - `echo.rs`: the JSON of `anything`, `headers` and `ip`.

mod bytes;
mod echo;
pub mod params;
mod routes;
mod timed;

use super::mount::Endpoint;
use super::refuse_unless_get_or_head;
use crate::http::{Request, Response};
use routes::Route;

/// The test endpoints under one prefix.
#[derive(Clone, Debug)]
pub struct Httpbin {
    /// `""` for `/`, else the prefix (`/_bin`), without a trailing slash.
    prefix: String,
    rng: routes::Rng,
}

/// Whether `prefix` can be a `--httpbin` prefix: `/`, or a path that
/// starts with `/` and does not end with one.
pub fn valid_prefix(prefix: &str) -> bool {
    prefix == "/"
        || (prefix.starts_with('/')
            && !prefix.ends_with('/')
            && !prefix.contains(['?', '#', '%'])
            && !prefix.contains(|c: char| c.is_whitespace() || c.is_control()))
}

impl Httpbin {
    /// The endpoints under `prefix`; `None` if it is not a
    /// [`valid_prefix`].
    pub fn new(prefix: &str) -> Option<Httpbin> {
        bytes::seed_zero();
        valid_prefix(prefix).then(|| Httpbin {
            prefix: prefix.trim_end_matches('/').to_string(),
            rng: routes::Rng::default(),
        })
    }

    fn route<'a>(&self, req: &Request<'a>) -> Option<Route<'a>> {
        let path = req.path();
        let rest = match self.prefix.is_empty() {
            true => path,
            false => path.strip_prefix(self.prefix.as_str())?,
        };
        Route::of(rest.strip_prefix('/')?)
    }
}

impl Endpoint for Httpbin {
    fn serve(&mut self, req: &Request<'_>, res: &mut Response) -> bool {
        let Some(route) = self.route(req) else {
            return false;
        };
        routes::serve(route, req, res, &mut self.rng);
        true
    }

    fn refuse_early(&mut self, req: &Request<'_>, res: &mut Response) -> Option<bool> {
        let route = self.route(req)?;
        Some(!route.any_method() && refuse_unless_get_or_head(req, res))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        for good in ["/", "/_bin", "/a/b"] {
            assert!(valid_prefix(good), "{good}");
        }
        for bad in ["", "bin", "/bin/", "//", "/a?b", "/a b", "/a#", "/%2e"] {
            assert!(!valid_prefix(bad), "{bad}");
        }
    }
}

//! Cross-origin access (`--cors ORIGINS`, the Fetch standard's CORS
//! protocol), as a wrapper around the whole handler chain, so that every
//! answer of it gets the same treatment: files, pages, errors.
//!
//! - `--cors '*'`: every response says `Access-Control-Allow-Origin: *`,
//!   whether the request had an `Origin` or not. The field then never
//!   depends on the request, so no `Vary` is needed and a shared cache can
//!   serve one copy to everybody.
//! - `--cors 'https://a.example,https://b.example'`: a request whose
//!   `Origin` is listed gets that origin back; the others get no CORS
//!   field. The answer then depends on `Origin`, so every response says
//!   `Vary: Origin` (merged with the handler's own `Vary`), the ones
//!   without the field too: a cache that stored one of them must not give
//!   it to another origin.
//! - A preflight (`OPTIONS` with `Origin` and
//!   `Access-Control-Request-Method`) from an allowed origin is answered
//!   here, 204, with the methods the path allows
//!   ([`Handler::allowed_methods`]), the request headers asked for, and a
//!   day of `Access-Control-Max-Age`. From an origin not allowed it goes on
//!   to the handler, which answers it as any `OPTIONS`.
//!
//! Credentials (`Access-Control-Allow-Credentials`) are not offered: a
//! static server has no cookies to protect, and `*` cannot go with them.
//! The server's own framing errors (400, 413, ...) are sent before any
//! handler runs and carry no CORS field: a browser shows them as network
//! errors, which for a malformed request is what they are.

use super::Handler;
use crate::http::{Request, Response, Status};
use std::sync::Arc;

/// Which origins are allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origins {
    /// `*`: any origin.
    Any,
    /// These origins (`scheme://host[:port]`, or `null`), compared without
    /// regard to ASCII case.
    List(Vec<String>),
}

impl Origins {
    /// Parses `*` or a comma-separated list of origins.
    pub fn parse(text: &str) -> Result<Origins, String> {
        if text.trim() == "*" {
            return Ok(Origins::Any);
        }
        let list = text
            .split(',')
            .map(|origin| check_origin(origin.trim()).map(str::to_string))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Origins::List(list))
    }

    fn allows(&self, origin: &[u8]) -> bool {
        match self {
            Origins::Any => true,
            Origins::List(list) => list
                .iter()
                .any(|o| o.as_bytes().eq_ignore_ascii_case(origin)),
        }
    }
}

/// An origin as a browser sends it: `scheme://host[:port]`, no path, no
/// wildcard (or `null`, for sandboxed documents and `file:` pages).
fn check_origin(origin: &str) -> Result<&str, String> {
    if origin == "null" {
        return Ok(origin);
    }
    let well_formed = origin.split_once("://").is_some_and(|(scheme, authority)| {
        !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
            && !authority.is_empty()
            && authority
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"/*,?#".contains(&b))
    });
    if well_formed {
        Ok(origin)
    } else {
        Err(format!(
            "'{origin}' is not an origin (scheme://host[:port], or * alone)"
        ))
    }
}

/// `inner` with CORS in front of it; without origins it is `inner` alone.
#[derive(Clone, Debug)]
pub struct Cors<H> {
    inner: H,
    origins: Option<Arc<Origins>>,
}

impl<H> Cors<H> {
    /// Wraps `inner`; `None` turns CORS off.
    pub fn new(inner: H, origins: Option<Origins>) -> Cors<H> {
        Cors {
            inner,
            origins: origins.map(Arc::new),
        }
    }
}

impl<H: Handler> Cors<H> {
    /// The request's `Origin`, when it is allowed.
    fn allowed_origin<'a>(&self, req: &Request<'a>) -> Option<&'a [u8]> {
        let origins = self.origins.as_deref()?;
        req.header("origin").filter(|origin| origins.allows(origin))
    }

    /// The fields every response gets.
    fn decorate(&self, req: &Request<'_>, res: &mut Response) {
        match self.origins.as_deref() {
            None => {}
            Some(Origins::Any) => {
                res.header("Access-Control-Allow-Origin", "*");
            }
            Some(Origins::List(_)) => {
                res.vary("Origin");
                if let Some(origin) = self.allowed_origin(req) {
                    res.header("Access-Control-Allow-Origin", origin);
                }
            }
        }
    }

    fn preflight(&self, req: &Request<'_>, res: &mut Response) {
        res.set_status(Status::NO_CONTENT)
            .header(
                "Access-Control-Allow-Methods",
                self.inner.allowed_methods(req),
            )
            .header("Access-Control-Max-Age", "86400");
        if let Some(asked) = req.header("access-control-request-headers") {
            res.header("Access-Control-Allow-Headers", asked);
        }
        self.decorate(req, res);
    }
}

fn is_preflight(req: &Request<'_>) -> bool {
    req.method_is("OPTIONS") && req.header("access-control-request-method").is_some()
}

impl<H: Handler> Handler for Cors<H> {
    fn handle(&mut self, req: &Request<'_>, res: &mut Response) {
        // Without --cors, the inner handler alone (a request in front of
        // every other: callgrind counts what this saves).
        if self.origins.is_none() {
            return self.inner.handle(req, res);
        }
        if is_preflight(req) && self.allowed_origin(req).is_some() {
            self.preflight(req, res);
            return;
        }
        self.inner.handle(req, res);
        self.decorate(req, res);
    }

    fn refuse_early(&mut self, req: &Request<'_>, res: &mut Response) -> bool {
        let refused = self.inner.refuse_early(req, res);
        if refused {
            self.decorate(req, res);
        }
        refused
    }

    fn allowed_methods(&self, req: &Request<'_>) -> &'static str {
        self.inner.allowed_methods(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_parse() {
        assert_eq!(Origins::parse("*"), Ok(Origins::Any));
        assert_eq!(
            Origins::parse("https://a.example, http://localhost:5173,null"),
            Ok(Origins::List(vec![
                "https://a.example".into(),
                "http://localhost:5173".into(),
                "null".into()
            ]))
        );
        for bad in [
            "",
            "a.example",
            "https://",
            "https://a.example/",
            "https://*.example",
            "https://a.example,*",
            "https://a example",
            "://a",
            "https://a,,https://b",
        ] {
            assert!(Origins::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn origins_match_without_case() {
        let list = Origins::parse("https://A.example").unwrap();
        assert!(list.allows(b"https://a.example"));
        assert!(!list.allows(b"https://a.example:8443"));
        assert!(!list.allows(b"https://b.example"));
        assert!(Origins::Any.allows(b"null"));
    }
}

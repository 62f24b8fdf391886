//! A built-in endpoint (the statistics page, the metrics, the test
//! endpoints) mounted in front of another handler.
//!
//! Each endpoint says which requests are its own; everything else goes to
//! the handler behind, exactly as it would without the endpoint. Without
//! the flag that enables it the endpoint is `None` and costs one branch.

use super::{refuse_unless_get_or_head, Handler};
use crate::http::{Request, Response};

/// Something that answers some requests in front of a handler.
///
/// One call both decides whether a request is the endpoint's and answers
/// it, so that an endpoint that must parse its path to know (the test
/// endpoints) parses it once.
pub trait Endpoint: Send + 'static {
    /// Answers `req` if it is for this endpoint, and says whether it was
    /// (if not, `res` is untouched).
    fn serve(&mut self, req: &Request<'_>, res: &mut Response) -> bool;

    /// For a request of this endpoint, whether it is refused before its
    /// body is read (see [`Handler::refuse_early`]); `None` for a request
    /// that is not the endpoint's.
    fn refuse_early(&mut self, req: &Request<'_>, res: &mut Response) -> Option<bool>;

    /// The methods a request's path allows, if the path is the
    /// endpoint's (for CORS preflights; see [`Handler::allowed_methods`]).
    fn allowed_methods(&self, _req: &Request<'_>) -> Option<&'static str> {
        None
    }
}

/// [`Endpoint::refuse_early`] for an endpoint of GET and HEAD at one path.
pub fn refuse_at_path(path: &str, req: &Request<'_>, res: &mut Response) -> Option<bool> {
    (req.path() == path).then(|| refuse_unless_get_or_head(req, res))
}

/// `endpoint` (when there is one) in front of `inner`.
#[derive(Clone, Debug)]
pub struct Mount<E, H> {
    /// The endpoint, or `None` when its flag is off.
    pub endpoint: Option<E>,
    /// Where every other request goes.
    pub inner: H,
}

impl<E: Endpoint, H: Handler> Mount<E, H> {
    /// `endpoint` (if any) in front of `inner`.
    pub fn new(endpoint: Option<E>, inner: H) -> Mount<E, H> {
        Mount { endpoint, inner }
    }
}

impl<E: Endpoint, H: Handler> Handler for Mount<E, H> {
    fn handle(&mut self, req: &Request<'_>, res: &mut Response) {
        let served = match &mut self.endpoint {
            Some(endpoint) => endpoint.serve(req, res),
            None => false,
        };
        if !served {
            self.inner.handle(req, res);
        }
    }

    fn refuse_early(&mut self, req: &Request<'_>, res: &mut Response) -> bool {
        let refused = self
            .endpoint
            .as_mut()
            .and_then(|endpoint| endpoint.refuse_early(req, res));
        match refused {
            Some(refused) => refused,
            None => self.inner.refuse_early(req, res),
        }
    }

    fn allowed_methods(&self, req: &Request<'_>) -> &'static str {
        let endpoint = self.endpoint.as_ref();
        match endpoint.and_then(|endpoint| endpoint.allowed_methods(req)) {
            Some(methods) => methods,
            None => self.inner.allowed_methods(req),
        }
    }
}

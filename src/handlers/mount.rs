//! A built-in endpoint (the statistics page, the metrics, the test
//! endpoints) mounted in front of another handler.
//!
//! Each endpoint says which requests are its own; everything else goes to
//! the handler behind, exactly as it would without the endpoint. Without
//! the flag that enables it the endpoint is `None` and costs one branch.

use super::{refuse_unless_get_or_head, Handler};
use crate::http::{Request, Response};

/// Something that answers some requests in front of a handler.
pub trait Endpoint: Send + 'static {
    /// Whether `req` is for this endpoint.
    fn matches(&self, req: &Request<'_>) -> bool;

    /// Answers a request that [`matches`](Self::matches).
    fn serve(&mut self, req: &Request<'_>, res: &mut Response);

    /// Refuses a matching request before its body is read (see
    /// [`Handler::refuse_early`]); by default anything but GET and HEAD.
    fn refuse_early(&mut self, req: &Request<'_>, res: &mut Response) -> bool {
        refuse_unless_get_or_head(req, res)
    }
}

/// `endpoint` (when there is one) in front of `inner`.
#[derive(Clone, Debug)]
pub struct Mount<E, H> {
    /// The endpoint, or `None` when its flag is off.
    pub endpoint: Option<E>,
    /// Where every other request goes.
    pub inner: H,
}

impl<E: Endpoint, H: Handler> Handler for Mount<E, H> {
    fn handle(&mut self, req: &Request<'_>, res: &mut Response) {
        match &mut self.endpoint {
            Some(endpoint) if endpoint.matches(req) => endpoint.serve(req, res),
            _ => self.inner.handle(req, res),
        }
    }

    fn refuse_early(&mut self, req: &Request<'_>, res: &mut Response) -> bool {
        match &mut self.endpoint {
            Some(endpoint) if endpoint.matches(req) => endpoint.refuse_early(req, res),
            _ => self.inner.refuse_early(req, res),
        }
    }
}

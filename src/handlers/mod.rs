//! Handlers: what answers a request once it has been parsed and framed.
//!
//! A handler runs on its event loop's thread, in the middle of the loop. It
//! must not block: no sleeping, no blocking IO, no waiting on a lock held
//! for long. While it runs, every other connection of that loop waits.
//! With `--workers N`, each loop gets a handler of its own, made for it by
//! the factory given to `Server::bind_with` (or a clone, with
//! `Server::bind`). Handlers never import the server: what they need of it
//! (its figures, say) is given to them by whoever composes them.

use crate::http::{Request, Response, Status};

pub mod broadcast;
pub mod cors;
pub mod httpbin;
pub mod live_reload;
pub mod metrics;
pub mod mount;
pub mod pool;
pub mod static_files;
pub mod status;
pub mod welcome;

pub use broadcast::Broadcast;
pub use cors::Cors;
pub use httpbin::Httpbin;
pub use live_reload::LiveReload;
pub use metrics::MetricsPage;
pub use mount::{Endpoint, Mount};
pub use pool::Pool;
pub use static_files::StaticFiles;
pub use status::{StatusPage, WithStatus};
pub use welcome::Welcome;

/// Answers requests.
///
/// `handle` receives the whole request, body included, and fills in the
/// response. A panic inside it becomes a `500` for that request; the loop
/// and the other connections carry on.
pub trait Handler: Send + 'static {
    /// Answers one request.
    fn handle(&mut self, req: &Request<'_>, res: &mut Response);

    /// Called for a request that announced a body with
    /// `Expect: 100-continue`, before the body is read. Fill in `res` and
    /// return `true` to refuse the request without reading its body (say,
    /// 405 for a method this handler does not take); the connection closes
    /// after that response. By default every request is let through.
    fn refuse_early(&mut self, _req: &Request<'_>, _res: &mut Response) -> bool {
        false
    }

    /// The methods `req`'s path takes, as an `Allow` value: what a CORS
    /// preflight is told before the browser sends the real request. By
    /// default `GET, HEAD`, the methods of the built-in pages and the
    /// static files; a handler that takes others says so (a closure
    /// handler, which cannot, is described by the default).
    fn allowed_methods(&self, _req: &Request<'_>) -> &'static str {
        "GET, HEAD"
    }
}

/// Any `FnMut(&Request, &mut Response)` is a handler.
impl<F> Handler for F
where
    F: FnMut(&Request<'_>, &mut Response) + Send + 'static,
{
    fn handle(&mut self, req: &Request<'_>, res: &mut Response) {
        self(req, res)
    }
}

/// For handlers that serve only `GET` and `HEAD`: answers anything else
/// with `405` and `Allow: GET, HEAD`, and says whether it did.
#[inline]
pub fn refuse_unless_get_or_head(req: &Request<'_>, res: &mut Response) -> bool {
    if req.method_is("GET") || req.is_head() {
        return false;
    }
    res.error(Status::METHOD_NOT_ALLOWED)
        .header("Allow", "GET, HEAD");
    true
}

//! `--watch`: live reload. Pages get a small script that listens on
//! [`RELOAD_PATH`] (Server-Sent Events, through a [`Broadcast`]) and
//! reloads when the server says a file under the root changed.
//!
//! Who learns of the change is not this module's business: the binary
//! gives the server's file watcher (`Server::watch`, inotify in one event
//! loop) a clone of the broadcast, and calls [`announce`] from it; every
//! loop's [`LiveReload`] subscribes its clients to the same broadcast, so
//! an event made once in one loop reaches subscribers in all of them,
//! each through its own loop's waker.
//!
//! The script goes into HTML pages sent whole and as themselves (not a
//! range, not a precompressed copy: those are sent byte for byte), before
//! the last `</body>` or at the end; the static files count it in
//! `Content-Length` and give such a page an `ETag` of its own
//! ([`page_etag`]), so a cache never mixes a page with and without it.

use super::broadcast::{self, Broadcast};
use super::mount::{refuse_at_path, Endpoint};
use super::refuse_unless_get_or_head;
use crate::http::{Request, Response};

/// The event stream pages listen on.
pub const RELOAD_PATH: &str = "/.coffeeweb/reload";

/// What is inserted into a page: opens the stream, reloads on an event.
/// (A reconnection after the server restarts brings no event: the page
/// stays as it is until the next change.)
pub const SCRIPT: &str = "<script>/* coffeeweb --watch */(function(){\
var s=new EventSource(\"/.coffeeweb/reload\");\
s.onmessage=function(){s.close();location.reload();};})();</script>";

/// [`RELOAD_PATH`], answered from one broadcast: an endpoint to
/// [`Mount`](super::Mount) in front of the static files (with `None`
/// without `--watch`, where the path does not exist).
#[derive(Clone)]
pub struct LiveReload {
    reload: Broadcast,
}

impl LiveReload {
    /// Subscribes the clients of [`RELOAD_PATH`] to `reload`.
    pub fn new(reload: Broadcast) -> LiveReload {
        LiveReload { reload }
    }
}

impl Endpoint for LiveReload {
    fn serve(&mut self, req: &Request<'_>, res: &mut Response) -> bool {
        if req.path() != RELOAD_PATH {
            return false;
        }
        if !refuse_unless_get_or_head(req, res) {
            self.reload.subscribe(res);
        }
        true
    }

    fn refuse_early(&mut self, req: &Request<'_>, res: &mut Response) -> Option<bool> {
        refuse_at_path(RELOAD_PATH, req, res)
    }

    fn allowed_methods(&self, req: &Request<'_>) -> Option<&'static str> {
        (req.path() == RELOAD_PATH).then_some("GET, HEAD")
    }
}

/// Tells every open page to reload; returns how many streams took it.
pub fn announce(reload: &Broadcast) -> usize {
    reload.send(broadcast::event(None, "reload"))
}

/// `page` with [`SCRIPT`] before its last `</body>` (any case), or at
/// the end when it has none.
pub fn inject(page: &[u8]) -> Vec<u8> {
    let at = page
        .windows(7)
        .rposition(|w| w.eq_ignore_ascii_case(b"</body>"))
        .unwrap_or(page.len());
    let mut out = Vec::with_capacity(page.len() + SCRIPT.len());
    out.extend_from_slice(&page[..at]);
    out.extend_from_slice(SCRIPT.as_bytes());
    out.extend_from_slice(&page[at..]);
    out
}

/// The strong `ETag` of a page with the script, from the file's: the same
/// tag with `-w` inside the quotes.
pub fn page_etag(etag: &str) -> String {
    match etag.strip_suffix('"') {
        Some(open) => format!("{open}-w\""),
        None => format!("{etag}-w"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_goes_before_the_last_body_end_or_at_the_end() {
        let page = inject(b"<html><body><p>x</p></BODY></html>");
        let expected = format!("<html><body><p>x</p>{SCRIPT}</BODY></html>");
        assert_eq!(page, expected.as_bytes());
        let bare = inject(b"<p>no body end");
        assert_eq!(bare, format!("<p>no body end{SCRIPT}").as_bytes());
        let two = inject(b"<pre></body></pre></body>");
        assert_eq!(two, format!("<pre></body></pre>{SCRIPT}</body>").as_bytes());
    }

    #[test]
    fn a_page_etag_is_strong_and_different() {
        assert_eq!(page_etag("\"1-2-3\""), "\"1-2-3-w\"");
    }
}

//! The built-in page served when no `--root` is given.

use super::{refuse_unless_get_or_head, Handler};
use crate::http::{Request, Response, Status};

/// The welcome page, compiled into the binary.
pub const PAGE: &str = include_str!("welcome.html");

/// `GET /` → the welcome page; other paths → 404; methods other than GET
/// and HEAD → 405.
#[derive(Clone, Copy, Debug, Default)]
pub struct Welcome;

impl Handler for Welcome {
    fn handle(&mut self, req: &Request<'_>, res: &mut Response) {
        if refuse_unless_get_or_head(req, res) {
            return;
        }
        if req.path() == "/" {
            res.header("Content-Type", "text/html; charset=utf-8")
                .set_body(PAGE);
        } else {
            res.error(Status::NOT_FOUND);
        }
    }

    fn refuse_early(&mut self, req: &Request<'_>, res: &mut Response) -> bool {
        refuse_unless_get_or_head(req, res)
    }
}

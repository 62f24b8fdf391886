//! A folder at `/` and a small API under `/api/`, in one server: route by
//! path prefix, and hand everything else to the static-files handler.
//!
//! ```sh
//! cargo run --example static_plus_api -- --listen 127.0.0.1:8080 --root ./site
//! curl -s http://127.0.0.1:8080/api/time
//! curl -s http://127.0.0.1:8080/index.html
//! ```

mod common;

use coffeeweb::handlers::StaticFiles;
use coffeeweb::{Config, Handler, Request, Response, Server, Status};
use std::time::{SystemTime, UNIX_EPOCH};

/// One event loop's handler (each loop has its own file cache).
struct Site {
    files: StaticFiles,
}

impl Handler for Site {
    fn handle(&mut self, req: &Request<'_>, res: &mut Response) {
        match req.path().strip_prefix("/api/") {
            Some(route) => api(route, req, res),
            None => self.files.handle(req, res),
        }
    }

    fn refuse_early(&mut self, req: &Request<'_>, res: &mut Response) -> bool {
        !req.path().starts_with("/api/") && self.files.refuse_early(req, res)
    }
}

fn api(route: &str, req: &Request<'_>, res: &mut Response) {
    match (req.method(), route) {
        ("GET", "time") => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            res.header("Content-Type", "application/json")
                .set_body(format!("{{\"unix\":{}}}", now.as_secs()));
        }
        ("POST", "echo") => {
            res.header("Content-Type", "application/octet-stream")
                .set_body(req.body().to_vec());
        }
        _ => {
            res.error(Status::NOT_FOUND);
        }
    }
}

fn main() -> std::io::Result<()> {
    let mut config = Config::default();
    let mut root = String::from(".");
    let usage = "usage: static_plus_api [--listen ADDR]... [--root DIR]";
    common::parse_args(&mut config, usage, |_, flag, value| {
        match flag {
            "--root" => root = value()?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    let files = StaticFiles::new(&root, false)?;
    let server = Server::bind_with(config, |_| Site {
        files: files.for_another_loop(),
    })?;
    common::print_listening(&server);
    server.run()
}

//! # coffeeweb
//!
//! A small, fast, correct HTTP/1.1 server on a single-threaded readiness
//! event loop (mio: epoll on Linux, kqueue on the BSDs and macOS).
//!
//! ```no_run
//! use coffeeweb::{Config, Request, Response, Server};
//!
//! let config = Config { listen: vec!["127.0.0.1:0".parse().unwrap()], ..Config::default() };
//! let server = Server::bind(config, |req: &Request<'_>, res: &mut Response| {
//!     res.header("Content-Type", "text/plain").set_body(format!("you asked for {}\n", req.path()));
//! })?;
//! println!("listening on {}", server.local_addrs()[0].url());
//! server.run()?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! The architecture, in the order a request meets it:
//!
//! - [`server`]: the event loops, their listeners, the connection state
//!   machine, timers and buffers;
//! - [`http`]: the request parser, body framing, response encoding;
//! - [`handlers`]: what answers a parsed request (the welcome page, your
//!   own handler);
//! - [`snapshot`]: the server's figures as plain numbers, which the server
//!   produces and handlers (the status page) show.

#![deny(missing_docs)]
#![forbid(unsafe_op_in_unsafe_fn)]

pub mod cli;
mod config;
pub mod handlers;
pub mod http;
pub mod server;
pub mod snapshot;

pub use config::{AccessLogFormat, Config, ListenAddr};
pub use handlers::Handler;
pub use http::{Body, Generated, Request, Response, Status};
pub use server::{Server, ServerHandle};

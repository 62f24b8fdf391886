//! The server: N independent event loops (workers), each on its own thread
//! with its own listener, sharing nothing on the hot path.
//!
//! [`Server::bind`] does everything that can fail before any thread starts:
//! it validates the configuration, binds the listeners, creates each loop's
//! `Poll` and its `Waker`. [`Server::run`] then starts the loops and waits
//! for them. A [`ServerHandle`] stops them from any thread: it sets a flag
//! and wakes every loop, which stops accepting, closes its idle
//! connections, lets responses under way finish, and returns.

mod access_log;
mod buffer;
mod connection;
mod context;
mod event_loop;
pub mod histogram;
mod listener;
mod output;
pub mod rlimit;
mod sendfile;
pub mod stats;
mod timers;

use crate::handlers::Handler;
use crate::handlers::{MetricsPage, Mount, StatusPage};
use crate::http::Response;
use crate::Config;
use context::{Context, Limits};
use event_loop::{EventLoop, WAKER};
use mio::{Poll, Waker};
use stats::{LoopStats, Snapshot};
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Instant;

/// What the loops share: set once, read rarely.
pub(crate) struct Shared {
    config: Config,
    shutdown: AtomicBool,
    /// Bumped by [`ServerHandle::reopen_logs`]; each loop reopens its log
    /// file when it sees a new value.
    log_generation: AtomicU64,
    wakers: Vec<Waker>,
    stats: Vec<Arc<LoopStats>>,
    started: Instant,
}

/// A bound server, ready to run.
pub struct Server<H> {
    handler: H,
    loops: Vec<(Poll, TcpListener)>,
    local_addr: SocketAddr,
    shared: Arc<Shared>,
}

/// Stops a running server, from any thread; also reads its statistics.
#[derive(Clone)]
pub struct ServerHandle {
    shared: Arc<Shared>,
}

impl<H: Handler + Clone> Server<H> {
    /// Validates `config` and binds its listening address; nothing runs
    /// yet. Fails with `InvalidInput` for a configuration that cannot work,
    /// or with the reason the address cannot be bound.
    pub fn bind(config: Config, handler: H) -> io::Result<Server<H>> {
        validate(&config)?;
        if let Some(path) = config
            .access_log_path
            .as_deref()
            .filter(|_| config.access_log)
        {
            access_log::open_append(path).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot open the access log {}: {e}", path.display()),
                )
            })?;
        }
        let addr = config.listen;
        let listeners = listener::bind(addr, config.workers)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
        let local_addr = listeners[0].local_addr()?;
        let mut loops = Vec::with_capacity(listeners.len());
        let mut wakers = Vec::with_capacity(listeners.len());
        for listener in listeners {
            let poll = Poll::new()?;
            wakers.push(Waker::new(poll.registry(), WAKER)?);
            loops.push((poll, listener));
        }
        let stats = (0..loops.len()).map(|_| Arc::default()).collect();
        let shared = Arc::new(Shared {
            config,
            shutdown: AtomicBool::new(false),
            log_generation: AtomicU64::new(0),
            wakers,
            stats,
            started: Instant::now(),
        });
        Ok(Server {
            handler,
            loops,
            local_addr,
            shared,
        })
    }

    /// The address the server listens on (with the real port when port 0
    /// was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A handle that stops the server once it runs.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Runs every loop on its own thread until shutdown, and returns the
    /// first error a loop met, if any.
    pub fn run(self) -> io::Result<()> {
        let limits = Limits::new(&self.shared.config);
        let page = (self.shared.config.status_path.clone())
            .map(|path| StatusPage::new(path, self.handle()));
        let metrics = (self.shared.config.metrics_path.clone())
            .map(|path| MetricsPage::new(path, self.handle()));
        let mut threads = Vec::with_capacity(self.loops.len());
        for (index, (poll, listener)) in self.loops.into_iter().enumerate() {
            let cx = Context {
                handler: Mount {
                    endpoint: page.clone(),
                    inner: Mount {
                        endpoint: metrics.clone(),
                        inner: self.handler.clone(),
                    },
                },
                response: Response::new(),
                headers: Vec::new(),
                pool: Default::default(),
                date: Default::default(),
                limits,
                access_log: access_log(&self.shared.config)?,
                shutting_down: false,
                stats: Arc::clone(&self.shared.stats[index]),
            };
            let event_loop = EventLoop::new(poll, listener, cx, Arc::clone(&self.shared))?;
            let shared = Arc::clone(&self.shared);
            let thread = thread::Builder::new()
                .name(format!("coffeeweb-{index}"))
                .spawn(move || {
                    let result = event_loop.run();
                    if result.is_err() {
                        // One loop failing takes the others down with it.
                        ServerHandle { shared }.shutdown();
                    }
                    result
                })?;
            threads.push(thread);
        }
        let mut outcome = Ok(());
        for thread in threads {
            let result = thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("an event loop panicked")));
            if outcome.is_ok() {
                outcome = result;
            }
        }
        outcome
    }
}

impl ServerHandle {
    /// Starts a graceful shutdown: every loop stops accepting, closes idle
    /// connections and finishes responses under way, for at most
    /// `shutdown_timeout`. Returns at once; [`Server::run`] returns when
    /// the loops are done.
    pub fn shutdown(&self) {
        self.shared.shutdown.store(true, Ordering::Release);
        self.wake_all();
    }

    fn wake_all(&self) {
        for waker in &self.shared.wakers {
            if let Err(e) = waker.wake() {
                log::error!("waking an event loop: {e}");
            }
        }
    }

    /// Makes every loop flush its access log and reopen the file at its
    /// path (after log rotation: SIGUSR1). Returns at once.
    pub fn reopen_logs(&self) {
        self.shared.log_generation.fetch_add(1, Ordering::AcqRel);
        self.wake_all();
    }

    /// The counters of all loops, summed.
    pub fn stats(&self) -> Snapshot {
        stats::snapshot(&self.shared.stats)
    }

    /// The number of event loops.
    pub fn workers(&self) -> usize {
        self.shared.wakers.len()
    }

    /// Seconds since the server was bound.
    pub fn uptime_seconds(&self) -> f64 {
        self.shared.started.elapsed().as_secs_f64()
    }
}

/// A loop's access log, unless `--quiet`.
fn access_log(config: &Config) -> io::Result<Option<access_log::AccessLog>> {
    if !config.access_log {
        return Ok(None);
    }
    let path = config.access_log_path.as_deref();
    access_log::AccessLog::open(config.access_log_format, path).map(Some)
}

fn validate(config: &Config) -> io::Result<()> {
    let problem = if config.workers == 0 {
        "workers must be at least 1"
    } else if config.max_connections == 0 {
        "max_connections must be at least 1"
    } else if config.max_headers == 0 {
        "max_headers must be at least 1"
    } else if config.max_header_bytes < 16
        || config.max_header_bytes > crate::config::MAX_HEADER_BYTES_LIMIT
    {
        "max_header_bytes must be between 16 bytes and 64 MiB"
    } else {
        return Ok(());
    };
    Err(io::Error::new(io::ErrorKind::InvalidInput, problem))
}

//! The server: N independent event loops (workers), each on its own thread
//! with its own listener, sharing nothing on the hot path.
//!
//! [`Server::bind`] does everything that can fail before any thread starts:
//! it validates the configuration, binds the listeners, creates each loop's
//! `Poll` and `Waker`, registers its listener, and makes its handler.
//! [`Server::run`] then starts the loops and waits for them; if a thread
//! cannot be started, or a loop fails, the others are stopped and joined
//! before `run` returns, so no loop outlives it. A [`ServerHandle`] stops
//! them from any thread: it sets a flag and wakes every loop, which stops
//! accepting, closes its idle connections, lets responses under way finish,
//! and returns.
//!
//! The server composes nothing around the handler it is given: each loop
//! gets its own from a factory called once per loop ([`Server::bind_with`]),
//! and a status page is put in front of it by whoever wants one (the
//! binary does, with `--status-path`).

mod access_log;
mod buffer;
pub mod clock;
mod connection;
mod context;
mod event_loop;
pub mod histogram;
mod inbox;
mod listener;
mod output;
pub mod rlimit;
mod sendfile;
pub mod stats;
mod timers;
mod trim;
pub mod watch;

use crate::handlers::Handler;
use crate::http::Response;
use crate::snapshot::Snapshot;
use crate::{Config, ListenAddr};
use context::{Context, Limits};
use event_loop::{EventLoop, WAKER};
use inbox::Inbox;
use mio::{Poll, Waker};
use stats::LoopStats;
use std::io;
use std::net::SocketAddr;
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
    inboxes: Vec<Arc<Inbox>>,
    stats: Vec<Arc<LoopStats>>,
    started: Instant,
}

/// A bound server, ready to run.
pub struct Server<H> {
    loops: Vec<EventLoop<H>>,
    local_addrs: Vec<ListenAddr>,
    /// Unix socket files, removed when `run` returns (or the server is
    /// dropped unrun).
    socket_files: Vec<listener::SocketFile>,
    shared: Arc<Shared>,
}

/// Stops a running server, from any thread; also reads its statistics.
#[derive(Clone)]
pub struct ServerHandle {
    shared: Arc<Shared>,
}

impl<H: Handler + Clone> Server<H> {
    /// Validates `config` and binds its listening address; nothing runs
    /// yet. Every event loop gets a clone of `handler`. Fails with
    /// `InvalidInput` for a configuration that cannot work, or with the
    /// reason the address cannot be bound.
    pub fn bind(config: Config, handler: H) -> io::Result<Server<H>> {
        Server::bind_with(config, move |_| handler.clone())
    }
}

impl<H: Handler> Server<H> {
    /// [`bind`](Server::bind), with the handler of each event loop made by
    /// `make`, called once per loop before `bind_with` returns. Per-loop
    /// state (a cache, say) belongs in what `make` returns; the handle lets
    /// a handler show the server's figures ([`ServerHandle::stats`]).
    pub fn bind_with(
        config: Config,
        mut make: impl FnMut(&ServerHandle) -> H,
    ) -> io::Result<Server<H>> {
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
        let workers = config.workers;
        // Listener `a` of loop `w` is `per_loop[w][a]`.
        let mut per_loop: Vec<Vec<listener::Bound>> = (0..workers).map(|_| Vec::new()).collect();
        let mut local_addrs = Vec::with_capacity(config.listen.len());
        let mut socket_files = Vec::new();
        for addr in &config.listen {
            let binding = listener::bind(addr, workers, config.deferred_accept)
                .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
            local_addrs.push(binding.local);
            socket_files.extend(binding.file);
            for (own, bound) in per_loop.iter_mut().zip(binding.listeners) {
                own.push(bound);
            }
        }
        let mut polls = Vec::with_capacity(workers);
        let mut inboxes = Vec::with_capacity(workers);
        for _ in 0..workers {
            let poll = Poll::new()?;
            inboxes.push(Arc::new(Inbox::new(Waker::new(poll.registry(), WAKER)?)));
            polls.push(poll);
        }
        let stats = (0..polls.len()).map(|_| Arc::default()).collect();
        let shared = Arc::new(Shared {
            config,
            shutdown: AtomicBool::new(false),
            log_generation: AtomicU64::new(0),
            inboxes,
            stats,
            started: Instant::now(),
        });
        let handle = ServerHandle {
            shared: Arc::clone(&shared),
        };
        let limits = Limits::new(&shared.config);
        let mut loops = Vec::with_capacity(polls.len());
        for (index, (poll, listeners)) in polls.into_iter().zip(per_loop).enumerate() {
            let inbox = Arc::clone(&shared.inboxes[index]);
            // Every response of the loop is encoded from this one, the
            // server's own errors included: the added fields go with all.
            let mut response = Response::with_added_fields(shared.config.added_fields.clone());
            response.attach(inbox.clone());
            let cx = Context {
                handler: make(&handle),
                response,
                inbox,
                next_ticket: 0,
                now: 0,
                clock: clock::Moment::now(),
                headers: Vec::new(),
                pool: Default::default(),
                date: Default::default(),
                limits,
                access_log: access_log(&shared.config)?,
                shutting_down: false,
                stats: Arc::clone(&shared.stats[index]),
            };
            loops.push(EventLoop::new(poll, listeners, cx, Arc::clone(&shared))?);
        }
        Ok(Server {
            loops,
            local_addrs,
            socket_files,
            shared,
        })
    }

    /// The addresses the server listens on, in the order of
    /// `config.listen` (with the real port when port 0 was asked for).
    pub fn local_addrs(&self) -> &[ListenAddr] {
        &self.local_addrs
    }

    /// The first TCP address the server listens on, if any.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addrs.iter().find_map(|addr| match addr {
            ListenAddr::Tcp(addr) => Some(*addr),
            ListenAddr::Unix(_) => None,
        })
    }

    /// Watches the folder `root` and everything under it, and calls
    /// `on_change` once per burst of changes, on the first event loop's
    /// thread (it must not block). Inotify on Linux, read by the loop
    /// itself (see [`watch`]); elsewhere `Unsupported`.
    pub fn watch(
        &mut self,
        root: &std::path::Path,
        on_change: impl FnMut() + Send + 'static,
    ) -> io::Result<()> {
        let watcher = watch::Watcher::new(root, Box::new(on_change))?;
        log::debug!("--watch: {} directories", watcher.directories());
        match self.loops.first_mut() {
            Some(first) => first.watch(watcher),
            None => Err(io::Error::other("no event loop")),
        }
    }

    /// A handle that stops the server once it runs.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Runs every loop on its own thread until shutdown, and returns the
    /// first error a loop met, if any. Whatever happens, every loop that
    /// started has stopped when this returns.
    pub fn run(self) -> io::Result<()> {
        let handle = self.handle();
        let _socket_files = self.socket_files;
        let mut threads = Vec::with_capacity(self.loops.len());
        let mut outcome = Ok(());
        for (index, event_loop) in self.loops.into_iter().enumerate() {
            let on_error = handle.clone();
            let spawned = thread::Builder::new()
                .name(format!("coffeeweb-{index}"))
                .spawn(move || {
                    let result = event_loop.run();
                    if result.is_err() {
                        // One loop failing takes the others down with it.
                        on_error.shutdown();
                    }
                    result
                });
            match spawned {
                Ok(thread) => threads.push(thread),
                Err(e) => {
                    outcome = Err(e);
                    handle.shutdown();
                    break;
                }
            }
        }
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
        for inbox in &self.shared.inboxes {
            inbox.wake();
        }
    }

    /// Makes every loop flush its access log and reopen the file at its
    /// path (after log rotation: SIGUSR1). Returns at once.
    pub fn reopen_logs(&self) {
        self.shared.log_generation.fetch_add(1, Ordering::AcqRel);
        self.wake_all();
    }

    /// The counters of all loops, summed, with the uptime.
    pub fn stats(&self) -> Snapshot {
        Snapshot {
            uptime_seconds: self.shared.started.elapsed().as_secs_f64(),
            ..stats::snapshot(&self.shared.stats)
        }
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
    } else if config.listen.is_empty() {
        "listen must name at least one address"
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

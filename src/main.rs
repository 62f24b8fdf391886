//! The `coffeeweb` binary: parse the command line, bind, print the
//! listening line, serve until SIGINT or SIGTERM.

use coffeeweb::cli::{self, Command, Options};
use coffeeweb::handlers::live_reload::{self, LiveReload};
use coffeeweb::handlers::{Broadcast, Cors, StaticFiles, StatusPage, Welcome, WithStatus};
use coffeeweb::{Config, Handler, ListenAddr, Server, ServerHandle};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::parse(std::env::args_os().skip(1)) {
        Ok(Command::Help) => {
            print!("{}", cli::HELP);
            ExitCode::SUCCESS
        }
        Ok(Command::Version) => {
            println!("coffeeweb {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Ok(Command::Run(options)) => run(*options),
        Err(e) => {
            eprintln!("error: {e}\nTry 'coffeeweb --help' for the options.");
            ExitCode::from(2)
        }
    }
}

fn run(options: Options) -> ExitCode {
    if let Err(e) = simple_logger::SimpleLogger::new()
        .with_level(options.log_level)
        .with_utc_timestamps()
        .init()
    {
        eprintln!("error: cannot start logging: {e}");
    }
    let status_path = options.status_path.clone();
    let Some(root) = &options.root else {
        for (set, flag) in [
            (options.fallback.is_some(), "--fallback"),
            (options.watch, "--watch"),
        ] {
            if set {
                eprintln!("error: {flag} needs --root");
                return ExitCode::from(2);
            }
        }
        for (set, flag) in [
            (options.listing, "--listing"),
            (options.compress, "--compress"),
        ] {
            if set {
                log::warn!("{flag} has no effect without --root");
            }
        }
        let cors = options.cors.clone();
        return serve(options.config, None, move |server| {
            let inner = with_status(status_path.clone(), server, Welcome);
            Cors::new(inner, cors.clone())
        });
    };
    if options.watch && !coffeeweb::server::watch::SUPPORTED {
        eprintln!("error: --watch needs inotify, which this system does not have (Linux only)");
        return ExitCode::from(2);
    }
    let reload = options.watch.then(Broadcast::new);
    let watch = reload.clone().map(|reload| (root.clone(), reload));
    match static_files(root, &options) {
        Ok(files) => {
            let cors = options.cors.clone();
            serve(options.config, watch, move |server| {
                let files = LiveReload::new(reload.clone(), files.for_another_loop());
                let inner = with_status(status_path.clone(), server, files);
                Cors::new(inner, cors.clone())
            })
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// The static-file handler the options describe, or the usage error.
fn static_files(root: &Path, options: &Options) -> Result<StaticFiles, String> {
    let mut files = StaticFiles::new(root, options.listing)
        .map_err(|e| format!("invalid value '{}' for --root: {e}", root.display()))?;
    if let Some(fallback) = &options.fallback {
        files = files
            .with_fallback(fallback)
            .map_err(|e| format!("invalid value '{}' for --fallback: {e}", fallback.display()))?;
    }
    if options.compress {
        files = files
            .with_compression()
            .map_err(|e| format!("cannot start --compress: {e}"))?;
    }
    if options.watch {
        files = files.with_reload_script();
    }
    Ok(files)
}

/// `inner`, with the statistics page in front of it when `--status-path`
/// asked for one.
fn with_status<H: Handler>(
    status_path: Option<String>,
    server: &ServerHandle,
    inner: H,
) -> WithStatus<H> {
    let page = status_path.map(|path| {
        let server = server.clone();
        StatusPage::new(path, move || server.stats())
    });
    WithStatus::new(page, inner)
}

/// Binds and runs, each event loop's handler made by `make` (the CORS
/// wrapper, the status page, then the folder or the welcome page); with
/// `watch`, changes under its folder are announced to its broadcast.
fn serve<H: Handler>(
    config: Config,
    watch: Option<(PathBuf, Broadcast)>,
    make: impl FnMut(&ServerHandle) -> H,
) -> ExitCode {
    match coffeeweb::server::rlimit::raise_open_files_limit() {
        Ok((old, new)) => log::debug!("open files limit: {old} -> {new}"),
        Err(e) => log::warn!("cannot raise the open files limit: {e}"),
    }
    let mut server = match Server::bind_with(config, make) {
        Ok(server) => server,
        Err(e) if e.kind() == io::ErrorKind::InvalidInput => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    if let Some((root, reload)) = watch {
        if let Err(e) = server.watch(&root, move || {
            live_reload::announce(&reload);
        }) {
            eprintln!("error: cannot watch '{}': {e}", root.display());
            return ExitCode::from(1);
        }
    }
    if let Err(e) = stop_on_signals(server.handle()) {
        eprintln!("error: cannot install signal handlers: {e}");
        return ExitCode::from(1);
    }
    for addr in server.local_addrs() {
        match addr {
            ListenAddr::Tcp(addr) => println!("coffeeweb listening on http://{addr}"),
            ListenAddr::Unix(path) => println!("coffeeweb listening on unix:{}", path.display()),
        }
    }
    if io::stdout().flush().is_err() {
        log::warn!("stdout is closed; the listening line was lost");
    }
    match server.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            ExitCode::from(1)
        }
    }
}

/// The first SIGINT or SIGTERM starts a graceful shutdown; a second one
/// exits at once.
fn stop_on_signals(handle: coffeeweb::ServerHandle) -> io::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("coffeeweb-signals".into())
        .spawn(move || {
            let mut received = signals.forever();
            if let Some(signal) = received.next() {
                log::info!("signal {signal}: shutting down gracefully");
                handle.shutdown();
            }
            if let Some(signal) = received.next() {
                log::warn!("signal {signal} again: exiting now");
                std::process::exit(130);
            }
        })?;
    Ok(())
}

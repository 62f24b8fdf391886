//! The `coffeeweb` binary: parse the command line, bind, print the
//! listening line, serve until SIGINT or SIGTERM.

use coffeeweb::cli::{self, Command, Options};
use coffeeweb::handlers::cors::Origins;
use coffeeweb::handlers::live_reload::{self, LiveReload};
use coffeeweb::handlers::{
    Broadcast, Cors, Httpbin, MetricsPage, Mount, StaticFiles, StatusPage, Welcome, WithStatus,
};
use coffeeweb::{Config, Handler, Server, ServerHandle};
use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};
use signal_hook::iterator::Signals;
use std::io::{self, Write};
use std::path::Path;
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

fn run(mut options: Options) -> ExitCode {
    // Default-format lines on stderr are info-level log lines: a quieter
    // --log-level hides them, as it always has. A file, or another format,
    // is an access log proper: only --quiet turns it off.
    let config = &mut options.config;
    if options.log_level < log::LevelFilter::Info
        && config.access_log_path.is_none()
        && config.access_log_format == coffeeweb::AccessLogFormat::Default
    {
        config.access_log = false;
    }
    if let Err(e) = simple_logger::SimpleLogger::new()
        .with_level(options.log_level)
        .with_utc_timestamps()
        .init()
    {
        eprintln!("error: cannot start logging: {e}");
    }
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
        let front = Front::of(&options, None);
        return serve(options.config, None, move |server| {
            front.around(server, Welcome)
        });
    };
    if options.watch && !coffeeweb::server::watch::SUPPORTED {
        eprintln!("error: --watch needs inotify, which this system does not have (Linux only)");
        return ExitCode::from(2);
    }
    let reload = options.watch.then(Broadcast::new);
    let watch = reload.clone().map(|reload| (root.as_path(), reload));
    match static_files(root, &options) {
        Ok(files) => {
            let front = Front::of(&options, reload);
            serve(options.config, watch, move |server| {
                front.around(server, files.for_another_loop())
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

/// What the binary puts in front of the folder or the welcome page.
struct Front {
    cors: Option<Origins>,
    status_path: Option<String>,
    metrics_path: Option<String>,
    httpbin: Option<String>,
    /// `--watch`: the broadcast the file watcher announces changes to.
    reload: Option<Broadcast>,
}

/// One event loop's handler, outermost first.
type Handlers<H> = Cors<WithStatus<Mount<MetricsPage, Mount<Httpbin, Mount<LiveReload, H>>>>>;

impl Front {
    fn of(options: &Options, reload: Option<Broadcast>) -> Front {
        Front {
            cors: options.cors.clone(),
            status_path: options.status_path.clone(),
            metrics_path: options.metrics_path.clone(),
            httpbin: options.httpbin.clone(),
            reload,
        }
    }

    /// `inner` with CORS, the statistics page, the metrics, the test
    /// endpoints and the live-reload stream in front of it, each only when
    /// its flag asked for it.
    fn around<H: Handler>(&self, server: &ServerHandle, inner: H) -> Handlers<H> {
        let figures = |server: &ServerHandle| {
            let server = server.clone();
            move || server.stats()
        };
        // The prefix was checked on the command line.
        let httpbin = self.httpbin.as_deref().and_then(Httpbin::new);
        let metrics =
            (self.metrics_path.clone()).map(|path| MetricsPage::new(path, figures(server)));
        let status = (self.status_path.clone()).map(|path| StatusPage::new(path, figures(server)));
        let reload = self.reload.clone().map(LiveReload::new);
        let inner = Mount::new(metrics, Mount::new(httpbin, Mount::new(reload, inner)));
        Cors::new(WithStatus::new(status, inner), self.cors.clone())
    }
}

/// Binds and runs, each event loop's handler made by `make`; with
/// `watch`, changes under its folder are announced to its broadcast.
fn serve<H: Handler>(
    config: Config,
    watch: Option<(&Path, Broadcast)>,
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
        if let Err(e) = server.watch(root, move || {
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
        println!("coffeeweb listening on {}", addr.url());
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
/// exits at once. SIGUSR1 reopens the access-log file (log rotation).
fn stop_on_signals(handle: coffeeweb::ServerHandle) -> io::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGUSR1])?;
    std::thread::Builder::new()
        .name("coffeeweb-signals".into())
        .spawn(move || {
            let mut stopping = false;
            for signal in signals.forever() {
                match signal {
                    SIGUSR1 => {
                        log::info!("signal {signal}: reopening the access log");
                        handle.reopen_logs();
                    }
                    _ if stopping => {
                        log::warn!("signal {signal} again: exiting now");
                        std::process::exit(130);
                    }
                    _ => {
                        log::info!("signal {signal}: shutting down gracefully");
                        stopping = true;
                        handle.shutdown();
                    }
                }
            }
        })?;
    Ok(())
}

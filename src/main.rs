//! The `coffeeweb` binary: parse the command line, bind, print the
//! listening line, serve until SIGINT or SIGTERM.

use coffeeweb::cli::{self, Command, Options};
use coffeeweb::handlers::{Httpbin, Mount, StaticFiles, Welcome};
use coffeeweb::{Handler, Server};
use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};
use signal_hook::iterator::Signals;
use std::io::{self, Write};
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
        if options.listing {
            log::warn!("--listing has no effect without --root");
        }
        let handler = with_httpbin(&options, Welcome);
        return serve(options.config, handler);
    };
    match StaticFiles::new(root, options.listing) {
        Ok(files) => {
            let handler = with_httpbin(&options, files);
            serve(options.config, handler)
        }
        Err(e) => {
            eprintln!("error: invalid value '{}' for --root: {e}", root.display());
            ExitCode::from(2)
        }
    }
}

/// The test endpoints of `--httpbin` (if asked for) in front of `handler`.
fn with_httpbin<H>(options: &Options, handler: H) -> Mount<Httpbin, H> {
    Mount {
        // The prefix was checked on the command line.
        endpoint: options.httpbin.as_deref().and_then(Httpbin::new),
        inner: handler,
    }
}

fn serve<H: Handler + Clone>(config: coffeeweb::Config, handler: H) -> ExitCode {
    match coffeeweb::server::rlimit::raise_open_files_limit() {
        Ok((old, new)) => log::debug!("open files limit: {old} -> {new}"),
        Err(e) => log::warn!("cannot raise the open files limit: {e}"),
    }
    let server = match Server::bind(config, handler) {
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
    if let Err(e) = stop_on_signals(server.handle()) {
        eprintln!("error: cannot install signal handlers: {e}");
        return ExitCode::from(1);
    }
    println!("coffeeweb listening on http://{}", server.local_addr());
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

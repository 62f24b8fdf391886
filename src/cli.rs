//! The command line of the `coffeeweb` binary (see `coffeeweb --help`).
//!
//! Parsing is lexopt's (it gets `--flag=value`, `-lVALUE`, `--` and
//! non-UTF-8 arguments right); the values are checked here, so that every
//! error names the flag it is about in its first line.

use crate::handlers::cors::Origins;
use crate::http::AddedFields;
use crate::{AccessLogFormat, Config, ListenAddr};
use lexopt::prelude::*;
use log::LevelFilter;
use std::ffi::OsString;
use std::fmt;
use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::time::Duration;

/// `coffeeweb --help`.
pub const HELP: &str = "\
coffeeweb — a small, fast, correct HTTP/1.1 server

Usage: coffeeweb [OPTIONS]

Options:
  -l, --listen ADDR               address to bind: HOST:PORT, [IPv6]:PORT or unix:PATH; port 0
                                  picks a free port; repeatable, every worker serves every address
                                  [default: 127.0.0.1:8080]
  -r, --root DIR                  serve static files from DIR (default: the built-in welcome page)
  -w, --workers N                 independent event loops sharing the port [default: 1]
      --max-connections N         open connections per worker; past it new ones are closed [default: 10000]
      --header-timeout DUR        time allowed to receive a whole request head [default: 10s]
      --body-timeout DUR          longest pause allowed while receiving a body [default: 30s]
      --keep-alive-timeout DUR    idle time allowed between requests [default: 60s]
      --write-timeout DUR         longest pause allowed while the client does not read [default: 30s]
      --handler-timeout DUR       time a handler may keep a request before a 504 [default: 30s]
      --shutdown-timeout DUR      on SIGINT/SIGTERM, time left to responses under way [default: 10s]
      --max-header-bytes N        request line plus header fields [default: 8192]
      --max-headers N             number of header fields [default: 100]
      --max-body-bytes N          request body, after chunked decoding [default: 1048576]
      --status-path PATH          serve live statistics at PATH (JSON and HTML)
      --header 'NAME: VALUE'      add this field to every response but 1xx; repeatable
      --cors ORIGINS              allow cross-origin requests from ORIGINS: * or a comma-separated
                                  list like https://a.example,http://localhost:5173 (with preflight)
      --deferred-accept           let the kernel hold a connection until it sends (TCP_DEFER_ACCEPT):
                                  cheaper short connections, but a silent one escapes the header
                                  timeout and shutdown for about 1s
      --metrics-path PATH         serve Prometheus metrics at PATH
      --httpbin PREFIX            serve test endpoints under PREFIX (/ or /path): bytes, stream-bytes,
                                  delay, status, anything, headers, ip, drip, sse
      --listing                   with --root: list directories that have no index.html
                                  (JSON for Accept: application/json or ?format=json)
      --fallback FILE             with --root: answer paths where nothing exists with FILE, 200
                                  (single-page apps; FILE under the root, e.g. index.html)
      --compress                  with --root: gzip text files once, off the event loop, and serve
                                  the copies to clients that accept them (F.br, F.zst, F.gz beside
                                  a file are always served that way)
      --watch                     with --root: pages reload in the browser when a file under the
                                  root changes (a script in each HTML page, an event stream at
                                  /.coffeeweb/reload; inotify, Linux only)
      --access-log-format FMT     default, combined (NCSA combined) or json [default: default]
      --access-log FILE           append the access log to FILE; SIGUSR1 reopens it [default: stderr]
  -q, --quiet                     no access log
      --log-level LEVEL           error, warn, info, debug or trace [default: info]
  -h, --help                      print this help
  -V, --version                   print the version

DUR takes a unit: 250ms, 10s, 2m, 1h.
";

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Run the server.
    Run(Box<Options>),
    /// Print the help.
    Help,
    /// Print the version.
    Version,
}

/// The options of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// The server configuration.
    pub config: Config,
    /// `--root`: the folder to serve.
    pub root: Option<PathBuf>,
    /// `--listing`.
    pub listing: bool,
    /// `--status-path`: serve the statistics there.
    pub status_path: Option<String>,
    /// `--fallback`: the file for paths where nothing exists.
    pub fallback: Option<PathBuf>,
    /// `--compress`.
    pub compress: bool,
    /// `--watch`: live reload.
    pub watch: bool,
    /// `--cors`: the origins allowed cross-origin access.
    pub cors: Option<Origins>,
    /// `--metrics-path`: serve Prometheus metrics there.
    pub metrics_path: Option<String>,
    /// `--httpbin`: the prefix of the test endpoints.
    pub httpbin: Option<String>,
    /// `--log-level`.
    pub log_level: LevelFilter,
}

/// A command line that cannot be run; the message names the flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageError(String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

impl From<lexopt::Error> for UsageError {
    fn from(e: lexopt::Error) -> UsageError {
        UsageError(e.to_string())
    }
}

/// Parses the arguments (without the program name).
pub fn parse(args: impl IntoIterator<Item = impl Into<OsString>>) -> Result<Command, UsageError> {
    let mut parser = lexopt::Parser::from_args(args);
    let mut options = Options {
        config: Config::default(),
        root: None,
        listing: false,
        status_path: None,
        fallback: None,
        compress: false,
        watch: false,
        cors: None,
        metrics_path: None,
        httpbin: None,
        log_level: LevelFilter::Info,
    };
    let config = &mut options.config;
    let mut added = Vec::new();
    let mut listen = Vec::new();
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(Command::Help),
            Short('V') | Long("version") => return Ok(Command::Version),
            Short('q') | Long("quiet") => config.access_log = false,
            Long("listing") => options.listing = true,
            Long("compress") => options.compress = true,
            Long("deferred-accept") => config.deferred_accept = true,
            Long("watch") => options.watch = true,
            Short('l') | Long("listen") => listen.push(value(&mut parser, "--listen", address)?),
            Short('r') | Long("root") => options.root = Some(parser.value()?.into()),
            Long("fallback") => options.fallback = Some(parser.value()?.into()),
            Long("cors") => options.cors = Some(value(&mut parser, "--cors", Origins::parse)?),
            Short('w') | Long("workers") => {
                config.workers = value(&mut parser, "--workers", count)?
            }
            Long("max-connections") => {
                config.max_connections = value(&mut parser, "--max-connections", count)?;
            }
            Long("header-timeout") => {
                config.header_timeout = value(&mut parser, "--header-timeout", duration)?;
            }
            Long("body-timeout") => {
                config.body_timeout = value(&mut parser, "--body-timeout", duration)?;
            }
            Long("keep-alive-timeout") => {
                config.keep_alive_timeout = value(&mut parser, "--keep-alive-timeout", duration)?;
            }
            Long("write-timeout") => {
                config.write_timeout = value(&mut parser, "--write-timeout", duration)?;
            }
            Long("handler-timeout") => {
                config.handler_timeout = value(&mut parser, "--handler-timeout", duration)?;
            }
            Long("shutdown-timeout") => {
                config.shutdown_timeout = value(&mut parser, "--shutdown-timeout", duration)?;
            }
            Long("max-header-bytes") => {
                config.max_header_bytes = value(&mut parser, "--max-header-bytes", header_bytes)?;
            }
            Long("max-headers") => config.max_headers = value(&mut parser, "--max-headers", count)?,
            Long("max-body-bytes") => {
                config.max_body_bytes = value(&mut parser, "--max-body-bytes", |s| {
                    s.parse::<u64>()
                        .map_err(|_| "expected a number of bytes".into())
                })?;
            }
            Long("status-path") => {
                options.status_path = Some(value(&mut parser, "--status-path", status_path)?);
            }
            Long("httpbin") => options.httpbin = Some(value(&mut parser, "--httpbin", httpbin)?),
            Long("metrics-path") => {
                options.metrics_path = Some(value(&mut parser, "--metrics-path", status_path)?);
            }
            Long("access-log-format") => {
                config.access_log_format =
                    value(&mut parser, "--access-log-format", access_log_format)?;
            }
            Long("access-log") => config.access_log_path = Some(parser.value()?.into()),
            Long("log-level") => options.log_level = value(&mut parser, "--log-level", log_level)?,
            Long("header") => added.push(value(&mut parser, "--header", header_field)?),
            _ => return Err(arg.unexpected().into()),
        }
    }
    if !listen.is_empty() {
        config.listen = listen;
    }
    let fields = added.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    config.added_fields = AddedFields::new(fields).map_err(UsageError)?;
    Ok(Command::Run(Box::new(options)))
}

/// Takes the flag's value and checks it with `check`.
fn value<T>(
    parser: &mut lexopt::Parser,
    flag: &str,
    check: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, UsageError> {
    let raw = parser.value()?;
    let text = raw.to_string_lossy();
    check(&text).map_err(|why| UsageError(format!("invalid value '{text}' for {flag}: {why}")))
}

/// `unix:PATH`, an IP address with a port, or a host name with a port
/// (its first address).
fn address(text: &str) -> Result<ListenAddr, String> {
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    if text.starts_with("unix:") {
        return Err("expected unix:PATH".into());
    }
    text.to_socket_addrs()
        .map_err(|e| format!("expected HOST:PORT, [IPv6]:PORT or unix:PATH ({e})"))?
        .next()
        .map(ListenAddr::Tcp)
        .ok_or_else(|| "the host has no address".to_string())
}

fn count(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("expected a whole number of at least 1".into()),
    }
}

fn header_bytes(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (16..=crate::config::MAX_HEADER_BYTES_LIMIT).contains(&n) => Ok(n),
        _ => Err("expected a number of bytes from 16 to 67108864".into()),
    }
}

fn status_path(text: &str) -> Result<String, String> {
    if text.starts_with('/') && !text.contains(['?', '#']) && !text.contains(char::is_whitespace) {
        Ok(text.to_string())
    } else {
        Err("expected a path starting with '/'".into())
    }
}

/// `NAME: VALUE`, as `--header` takes it: the value's surrounding
/// whitespace is not part of it (RFC 9112 §5.1).
fn header_field(text: &str) -> Result<(String, String), String> {
    let Some((name, value)) = text.split_once(':') else {
        return Err("expected 'NAME: VALUE'".into());
    };
    let field = (
        name.to_string(),
        value.trim_matches([' ', '\t']).to_string(),
    );
    AddedFields::new([(field.0.as_str(), field.1.as_str())])?;
    Ok(field)
}

fn httpbin(text: &str) -> Result<String, String> {
    if crate::handlers::httpbin::valid_prefix(text) {
        Ok(text.to_string())
    } else {
        Err("expected '/' or a path starting with '/' and not ending with one".into())
    }
}

fn access_log_format(text: &str) -> Result<AccessLogFormat, String> {
    match text {
        "default" => Ok(AccessLogFormat::Default),
        "combined" => Ok(AccessLogFormat::Combined),
        "json" => Ok(AccessLogFormat::Json),
        _ => Err("expected default, combined or json".into()),
    }
}

fn log_level(text: &str) -> Result<LevelFilter, String> {
    match text.to_ascii_lowercase().as_str() {
        "error" => Ok(LevelFilter::Error),
        "warn" => Ok(LevelFilter::Warn),
        "info" => Ok(LevelFilter::Info),
        "debug" => Ok(LevelFilter::Debug),
        "trace" => Ok(LevelFilter::Trace),
        _ => Err("expected error, warn, info, debug or trace".into()),
    }
}

/// Parses a duration with a unit: `250ms`, `10s`, `2m`, `1h`. Zero is
/// refused: every timeout must leave some time.
pub fn duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| "expected a number with a unit, like 250ms, 10s or 2m".to_string())?;
    let millis_per_unit = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "" => return Err("missing unit (ms, s, m or h)".into()),
        _ => return Err(format!("unknown unit '{unit}' (ms, s, m or h)")),
    };
    match n.checked_mul(millis_per_unit) {
        Some(0) => Err("must be more than zero".into()),
        Some(ms) => Ok(Duration::from_millis(ms)),
        None => Err("too long".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Options {
        match parse(args.iter().copied()) {
            Ok(Command::Run(options)) => *options,
            other => panic!("{args:?} gave {other:?}"),
        }
    }

    fn error(args: &[&str]) -> String {
        match parse(args.iter().copied()) {
            Err(e) => e.to_string(),
            other => panic!("{args:?} gave {other:?}"),
        }
    }

    #[test]
    fn defaults_follow_the_contract() {
        let options = run(&[]);
        assert_eq!(options.config, Config::default());
        assert_eq!(options.config.listen, ["127.0.0.1:8080".parse().unwrap()]);
        assert_eq!(options.log_level, LevelFilter::Info);
        assert_eq!(options.root, None);
        assert!(!options.listing);
        assert_eq!(options.fallback, None);
    }

    #[test]
    fn every_flag_sets_its_field() {
        let o = run(&[
            "-l",
            "127.0.0.1:0",
            "-r",
            "/srv",
            "-w",
            "2",
            "--max-connections",
            "5",
            "--header-timeout",
            "250ms",
            "--body-timeout",
            "2s",
            "--keep-alive-timeout",
            "2m",
            "--write-timeout",
            "1h",
            "--shutdown-timeout",
            "3s",
            "--max-header-bytes",
            "1024",
            "--max-headers",
            "7",
            "--max-body-bytes",
            "0",
            "--status-path",
            "/status",
            "--metrics-path",
            "/metrics",
            "--httpbin",
            "/_bin",
            "--listing",
            "--fallback",
            "index.html",
            "--cors",
            "*",
            "--compress",
            "--deferred-accept",
            "--access-log-format",
            "json",
            "--access-log",
            "/var/log/x.log",
            "--watch",
            "-q",
            "--log-level",
            "DEBUG",
        ]);
        let c = &o.config;
        assert!(c.deferred_accept);
        assert_eq!(c.listen, ["127.0.0.1:0".parse().unwrap()]);
        assert_eq!(o.root, Some(PathBuf::from("/srv")));
        assert_eq!((c.workers, c.max_connections), (2, 5));
        assert_eq!(c.header_timeout, Duration::from_millis(250));
        assert_eq!(c.body_timeout, Duration::from_secs(2));
        assert_eq!(c.keep_alive_timeout, Duration::from_secs(120));
        assert_eq!(c.write_timeout, Duration::from_secs(3600));
        assert_eq!(c.shutdown_timeout, Duration::from_secs(3));
        assert_eq!(
            (c.max_header_bytes, c.max_headers, c.max_body_bytes),
            (1024, 7, 0)
        );
        assert_eq!(o.status_path.as_deref(), Some("/status"));
        assert!(o.listing && !c.access_log);
        assert_eq!(o.fallback, Some(PathBuf::from("index.html")));
        assert_eq!(o.cors, Some(Origins::Any));
        assert!(o.compress && o.watch);
        assert_eq!(o.metrics_path.as_deref(), Some("/metrics"));
        assert_eq!(o.httpbin.as_deref(), Some("/_bin"));
        assert_eq!(c.access_log_format, AccessLogFormat::Json);
        assert_eq!(c.access_log_path, Some(PathBuf::from("/var/log/x.log")));
        assert_eq!(o.log_level, LevelFilter::Debug);
    }

    #[test]
    fn equals_and_attached_forms() {
        assert_eq!(run(&["--workers=3"]).config.workers, 3);
        assert_eq!(run(&["-w4"]).config.workers, 4);
        assert_eq!(
            run(&["--listen=[::1]:0"]).config.listen,
            [ListenAddr::Tcp("[::1]:0".parse().unwrap())]
        );
    }

    #[test]
    fn listen_is_repeatable_in_order_and_takes_unix_paths() {
        let o = run(&[
            "-l",
            "127.0.0.1:0",
            "--listen",
            "unix:/tmp/a.sock",
            "-l[::1]:0",
        ]);
        let shown: Vec<String> = o.config.listen.iter().map(|a| a.to_string()).collect();
        assert_eq!(shown, ["127.0.0.1:0", "unix:/tmp/a.sock", "[::1]:0"]);
        assert_eq!(
            o.config.listen[1],
            ListenAddr::Unix(PathBuf::from("/tmp/a.sock"))
        );
        assert!(error(&["--listen", "unix:"]).contains("--listen"));
    }

    #[test]
    fn help_and_version() {
        assert_eq!(parse(["--help"]), Ok(Command::Help));
        assert_eq!(parse(["-h"]), Ok(Command::Help));
        assert_eq!(parse(["-V"]), Ok(Command::Version));
        assert_eq!(parse(["--version"]), Ok(Command::Version));
    }

    #[test]
    fn errors_name_the_flag() {
        for (args, flag) in [
            (&["--bogus"][..], "--bogus"),
            (&["--workers", "0"], "--workers"),
            (&["--workers", "many"], "--workers"),
            (&["--listen", "nowhere"], "--listen"),
            (&["--listen"], "--listen"),
            (&["--header-timeout", "10"], "--header-timeout"),
            (&["--body-timeout", "5x"], "--body-timeout"),
            (&["--keep-alive-timeout", "0s"], "--keep-alive-timeout"),
            (&["--max-header-bytes", "1"], "--max-header-bytes"),
            (&["--max-body-bytes", "-1"], "--max-body-bytes"),
            (&["--status-path", "status"], "--status-path"),
            (&["--metrics-path", "metrics"], "--metrics-path"),
            (&["--httpbin", "bin"], "--httpbin"),
            (&["--httpbin", "/bin/"], "--httpbin"),
            (&["--log-level", "loud"], "--log-level"),
            (&["--cors", "example.com"], "--cors"),
            (&["--cors", ""], "--cors"),
            (&["--header", "X-A"], "--header"),
            (&["--header", "Bad Name: x"], "--header"),
            (&["--header", "X-A : x"], "--header"),
            (&["--header", ": x"], "--header"),
            (&["--header", "X-A: a\x01b"], "--header"),
            (&["--header", "X-A: a\rb"], "--header"),
            (&["--header", "Server: other"], "--header"),
            (&["--header", "date: x"], "--header"),
            (&["--header", "Content-Length: 1"], "--header"),
            (&["--header", "Transfer-Encoding: chunked"], "--header"),
            (&["--header", "Connection: close"], "--header"),
            (&["--header", "Content-Encoding: gzip"], "--header"),
            (&["--header", "Content-Range: bytes 0-1/2"], "--header"),
            (&["--header", "VARY: Origin"], "--header"),
            (&["--access-log-format", "clf"], "--access-log-format"),
            (&["--access-log"], "--access-log"),
        ] {
            let message = error(args);
            assert!(message.contains(flag), "{args:?}: {message}");
        }
    }

    #[test]
    fn header_fields_are_encoded_in_order() {
        let o = run(&[
            "--header",
            "X-Frame-Options:DENY",
            "--header=Cache-Control:  no-cache \t",
        ]);
        assert_eq!(
            o.config.added_fields.as_bytes(),
            b"X-Frame-Options: DENY\r\nCache-Control: no-cache\r\n"
        );
        assert_eq!(
            run(&["--header", "X-Empty:"])
                .config
                .added_fields
                .as_bytes(),
            b"X-Empty: \r\n"
        );
    }

    #[test]
    fn help_names_every_flag() {
        for flag in [
            "--listen",
            "--root",
            "--workers",
            "--max-connections",
            "--header-timeout",
            "--body-timeout",
            "--keep-alive-timeout",
            "--write-timeout",
            "--shutdown-timeout",
            "--max-header-bytes",
            "--max-headers",
            "--max-body-bytes",
            "--status-path",
            "--header",
            "--cors",
            "--listing",
            "--fallback",
            "--compress",
            "--watch",
            "--quiet",
            "--log-level",
            "--help",
            "--version",
        ] {
            assert!(
                HELP.contains(&format!("{flag} ")),
                "{flag} missing from --help"
            );
        }
    }

    #[test]
    fn durations_need_units() {
        assert_eq!(duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(duration("2m"), Ok(Duration::from_secs(120)));
        for bad in [
            "",
            "10",
            "s",
            "1.5s",
            "-1s",
            "0ms",
            "10 s",
            "99999999999999999999h",
        ] {
            assert!(duration(bad).is_err(), "{bad:?}");
        }
    }
}

//! What the examples share: their command line (`--listen`, repeatable,
//! as the binary takes it, plus each example's own flags) and the
//! listening lines the binary prints. Each example is a crate of its own
//! and uses only part of this module.
#![allow(dead_code)]

use coffeeweb::{Config, Handler, Server};
use std::io;

/// Pulls the value of the flag being read.
pub type Value<'a> = dyn FnMut() -> io::Result<String> + 'a;

/// Reads the command line into `config`. `--listen ADDR` (repeatable:
/// `HOST:PORT`, `[IPv6]:PORT` or `unix:PATH`) is read here; any other flag
/// goes to `flag(config, name, value)`, which takes its value from
/// `value()` if it has one, and returns `false` for a flag it does not
/// know (an error that shows `usage`).
pub fn parse_args(
    config: &mut Config,
    usage: &str,
    mut flag: impl FnMut(&mut Config, &str, &mut Value<'_>) -> io::Result<bool>,
) -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut listen = Vec::new();
    while let Some(name) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| io::Error::other(format!("{usage}: {name} needs a value")))
        };
        if name == "--listen" {
            let addr = value()?;
            let addr = addr.parse().map_err(|e| bad(usage, &addr, e))?;
            listen.push(addr);
        } else if !flag(config, &name, &mut value)? {
            return Err(io::Error::other(usage.to_string()));
        }
    }
    if !listen.is_empty() {
        config.listen = listen;
    }
    Ok(())
}

/// `text` parsed, or an error that shows `usage`.
pub fn parse<T: std::str::FromStr>(usage: &str, text: &str) -> io::Result<T>
where
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|e| bad(usage, text, e))
}

fn bad(usage: &str, text: &str, why: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("{usage}: bad value {text:?}: {why}"))
}

/// One `coffeeweb listening on ...` line per address, in the order given.
pub fn print_listening<H: Handler>(server: &Server<H>) {
    for addr in server.local_addrs() {
        println!("coffeeweb listening on {}", addr.url());
    }
}

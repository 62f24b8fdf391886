//! `--watch` in headless Chromium: an open page reloads within 1 s of a
//! change under the root.
//!
//! The server runs in-process, composed as the binary composes it (the
//! static files with the script, `LiveReload` mounted in front, the folder
//! watched by `Server::watch`), and reports on a channel when the page is
//! requested and when a page's script has subscribed to the reload stream:
//! readiness signals, no sleeping. Without Chromium the test says so and
//! passes, except in CI (`CI=true`), where it fails (`common::browser`).

mod common;
mod docroot;

use coffeeweb::handlers::live_reload::{self, LiveReload, RELOAD_PATH};
use coffeeweb::handlers::{Broadcast, Handler, Mount, StaticFiles};
use coffeeweb::{Request, Response, Server};
use common::browser::{chromium, HEADLESS};
use docroot::Docroot;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Chromium showing one page, killed (and its profile removed) on drop.
struct Browser {
    child: Child,
    profile: std::path::PathBuf,
}

impl Browser {
    fn open(chromium: &str, url: &str) -> Browser {
        let profile =
            std::env::temp_dir().join(format!("coffeeweb-chromium-watch-{}", std::process::id()));
        let child = Command::new(chromium)
            .args(HEADLESS)
            // Without a task (no --dump-dom), a port keeps it running.
            .arg("--remote-debugging-port=0")
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromium");
        Browser { child, profile }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Seen {
    /// `GET /`: the page was (re)loaded.
    Page,
    /// A page's script opened the reload stream.
    Subscribed,
}

fn wait_for(rx: &mpsc::Receiver<(Seen, Instant)>, want: Seen, limit: Duration) -> Instant {
    let start = Instant::now();
    loop {
        let left = limit
            .checked_sub(start.elapsed())
            .unwrap_or_else(|| panic!("no {want:?} within {limit:?}"));
        match rx.recv_timeout(left) {
            Ok((seen, at)) if seen == want => return at,
            Ok(_) => {}
            Err(_) => panic!("no {want:?} within {limit:?}"),
        }
    }
}

#[test]
fn an_open_page_reloads_within_a_second_of_a_change() {
    let Some(chromium) = chromium("an_open_page_reloads_within_a_second_of_a_change") else {
        return;
    };
    let root = Docroot::new("browser-watch");
    root.file(
        "index.html",
        b"<!doctype html><html><body><p id=\"v\">one</p></body></html>",
    );
    let files = StaticFiles::new(&root.dir, false)
        .unwrap()
        .with_reload_script();
    let reload = Broadcast::new();
    let (tx, rx) = mpsc::channel();
    let mut server = Server::bind_with(common::config(), |_| {
        let reload = Some(LiveReload::new(reload.clone()));
        let mut inner = Mount::new(reload, files.for_another_loop());
        let tx = tx.clone();
        move |req: &Request<'_>, res: &mut Response| {
            let seen = match req.path() {
                "/" => Some(Seen::Page),
                RELOAD_PATH => Some(Seen::Subscribed),
                _ => None,
            };
            inner.handle(req, res);
            if let Some(seen) = seen {
                let _ = tx.send((seen, Instant::now()));
            }
        }
    })
    .unwrap();
    let announcer = reload.clone();
    server
        .watch(&root.dir, move || {
            live_reload::announce(&announcer);
        })
        .unwrap();
    let addr = server.local_addr().unwrap();
    let handle = server.handle();
    let thread = std::thread::spawn(move || server.run());

    let browser = Browser::open(chromium, &format!("http://{addr}/"));
    // Starting a browser on a busy machine takes a while; that is not
    // what is measured.
    wait_for(&rx, Seen::Page, Duration::from_secs(60));
    wait_for(&rx, Seen::Subscribed, Duration::from_secs(30));

    let changed = Instant::now();
    root.file(
        "index.html",
        b"<!doctype html><html><body><p id=\"v\">two</p></body></html>",
    );
    let reloaded = wait_for(&rx, Seen::Page, Duration::from_secs(5));
    let after = reloaded.duration_since(changed);
    assert!(
        after < Duration::from_secs(1),
        "the page reloaded {after:?} after the change"
    );
    // The new page's script ran: it subscribed again.
    wait_for(&rx, Seen::Subscribed, Duration::from_secs(10));
    eprintln!("reloaded {after:?} after the change");

    drop(browser);
    handle.shutdown();
    thread.join().unwrap().unwrap();
}

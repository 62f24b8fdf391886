//! Headless Chromium for the tests that check pages in a real browser.
//!
//! A test without Chromium says so and passes, except in CI (`CI=true`),
//! where a missing browser fails it: CI installs it (`.ci/run`).

use std::process::{Command, Stdio};

/// The Chromium binary, or `None` (outside CI) when there is none.
pub fn chromium(test: &str) -> Option<&'static str> {
    let found = ["chromium", "chromium-browser"].into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test}: chromium is not installed (apt-get install chromium), and CI=true needs it"
        );
        eprintln!("SKIPPED {test}: chromium is not installed (apt-get install chromium)");
    }
    found
}

/// Flags for a quiet headless Chromium (no sandbox: tests run as root).
pub const HEADLESS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// The DOM of `url` once its scripts ran for `budget_ms` of virtual time,
/// from a fresh profile (no cache: every resource comes over the wire).
pub fn dump_dom(chromium: &str, url: &str, budget_ms: u32) -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let profile =
        std::env::temp_dir().join(format!("coffeeweb-chromium-{}-{n}", std::process::id()));
    let output = Command::new(chromium)
        .args(HEADLESS)
        .arg("--dump-dom")
        .arg(format!("--virtual-time-budget={budget_ms}"))
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .stderr(Stdio::null())
        .output()
        .expect("run chromium");
    let _ = std::fs::remove_dir_all(&profile);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

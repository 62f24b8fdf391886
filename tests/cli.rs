//! The binary's command line: help and version, errors that name the flag
//! (exit 2, nothing bound), addresses that cannot be bound (exit 1), the
//! listening line, the access log and `--quiet`, `--log-level`.

mod common;

use common::{get, Binary, Client};
use std::io::Read;
use std::net::TcpListener;
use std::process::{Command, Output};
use std::time::Duration;

fn coffeeweb(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_coffeeweb"))
        .args(args)
        .output()
        .expect("run coffeeweb")
}

fn stderr_first_line(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

#[test]
fn help_and_version() {
    for flag in ["-h", "--help"] {
        let output = coffeeweb(&[flag]);
        assert!(output.status.success());
        let text = String::from_utf8_lossy(&output.stdout);
        for option in [
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
            "--listing",
            "--quiet",
            "--log-level",
            "--version",
        ] {
            assert!(text.contains(option), "{flag} does not mention {option}");
        }
    }
    for flag in ["-V", "--version"] {
        let output = coffeeweb(&[flag]);
        assert!(output.status.success());
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            format!("coffeeweb {}", env!("CARGO_PKG_VERSION"))
        );
    }
}

#[test]
fn bad_flags_and_values_exit_2_naming_the_flag() {
    for (args, flag) in [
        (&["--no-such-flag"][..], "--no-such-flag"),
        (&["--workers", "zero"], "--workers"),
        (&["--workers", "0"], "--workers"),
        (&["--max-connections", "-3"], "--max-connections"),
        (&["--header-timeout", "10"], "--header-timeout"),
        (&["--body-timeout", "1y"], "--body-timeout"),
        (&["--keep-alive-timeout", "abc"], "--keep-alive-timeout"),
        (&["--write-timeout", ""], "--write-timeout"),
        (&["--shutdown-timeout", "0s"], "--shutdown-timeout"),
        (&["--max-header-bytes", "lots"], "--max-header-bytes"),
        (&["--max-headers", "0"], "--max-headers"),
        (&["--max-body-bytes", "1MB"], "--max-body-bytes"),
        (&["--listen", "not-an-address"], "--listen"),
        (&["--log-level", "chatty"], "--log-level"),
        (&["--status-path", "no-slash"], "--status-path"),
        (&["--listen"], "--listen"),
    ] {
        let mut all = vec!["--listen", "127.0.0.1:0"];
        all.extend_from_slice(args);
        let output = coffeeweb(&all);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            stderr_first_line(&output).contains(flag),
            "{args:?}: {}",
            stderr_first_line(&output)
        );
        assert!(
            output.stdout.is_empty(),
            "{args:?} printed a listening line"
        );
    }
}

#[test]
fn an_address_in_use_exits_1_naming_it_and_the_reason() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = coffeeweb(&["--listen", &addr]);
    assert_eq!(output.status.code(), Some(1));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains(&addr), "{message}");
    assert!(message.to_lowercase().contains("in use"), "{message}");
    assert!(output.stdout.is_empty());
}

#[test]
fn a_non_local_address_exits_1_naming_it() {
    // 192.0.2.0/24 is TEST-NET-1: never assigned to this machine. Binding
    // fails locally; nothing is sent anywhere.
    let output = coffeeweb(&["--listen", "192.0.2.1:8080"]);
    assert_eq!(output.status.code(), Some(1));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("192.0.2.1:8080"), "{message}");
    assert!(
        message.contains("assign") || message.contains("not available"),
        "{message}"
    );
}

#[test]
fn exactly_one_listening_line_with_the_real_port() {
    let mut binary = Binary::start(&["--listen", "127.0.0.1:0", "-q"]);
    assert_ne!(binary.addr.port(), 0);
    assert_eq!(
        binary.stdout_line,
        format!("coffeeweb listening on http://{}\n", binary.addr)
    );
    assert_eq!(
        Client::connect(binary.addr)
            .send(get("/"))
            .response()
            .status,
        200
    );
    binary.signal(libc::SIGTERM);
    assert!(binary.wait_exit(Duration::from_secs(10)).unwrap().success());
    let rest = binary.rest_of_stdout();
    assert!(rest.is_empty(), "more on stdout: {rest:?}");
}

fn stderr_after_one_request(args: &[&str]) -> String {
    let mut all = vec!["--listen", "127.0.0.1:0"];
    all.extend_from_slice(args);
    let mut binary = Binary::start(&all);
    let mut client = Client::connect(binary.addr);
    client.send(get("/missing?q=1")).response();
    drop(client);
    binary.signal(libc::SIGTERM);
    assert!(binary.wait_exit(Duration::from_secs(10)).unwrap().success());
    let mut stderr = String::new();
    binary
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    stderr
}

#[test]
fn one_access_log_line_per_response() {
    let stderr = stderr_after_one_request(&[]);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("coffeeweb::access"))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    let line = lines[0];
    for part in ["\"GET /missing?q=1 HTTP/1.1\"", " 404 ", "ms", "127.0.0.1:"] {
        assert!(line.contains(part), "{part} not in {line}");
    }
    let bytes: Vec<&str> = line.split(' ').collect();
    let after_status = bytes.iter().position(|w| *w == "404").unwrap();
    assert!(
        bytes[after_status + 1].parse::<u64>().is_ok(),
        "bytes after the status: {line}"
    );
}

#[test]
fn quiet_means_no_access_log() {
    let stderr = stderr_after_one_request(&["--quiet"]);
    assert!(!stderr.contains("coffeeweb::access"), "{stderr}");
    assert!(
        stderr.contains("shutting down"),
        "other logs remain: {stderr}"
    );
}

#[test]
fn log_level_filters() {
    let stderr = stderr_after_one_request(&["--log-level", "error"]);
    assert!(stderr.trim().is_empty(), "{stderr}");
    let stderr = stderr_after_one_request(&["--log-level", "trace", "-q"]);
    assert!(stderr.contains("TRACE"), "{stderr}");
}

#[test]
fn root_serves_a_folder_and_an_unusable_root_exits_2() {
    let dir = std::env::temp_dir().join(format!("coffeeweb-cli-root-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "<p>from the folder</p>").unwrap();
    let binary = Binary::start(&[
        "-q",
        "--listen",
        "127.0.0.1:0",
        "--root",
        dir.to_str().unwrap(),
        "--workers",
        "2",
    ]);
    let reply = Client::connect(binary.addr).send(get("/")).response();
    assert_eq!(reply.text(), "<p>from the folder</p>");
    drop(binary);
    std::fs::remove_dir_all(&dir).unwrap();
    let output = coffeeweb(&["--listen", "127.0.0.1:0", "--root", "/no/such/folder"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr_first_line(&output).contains("--root"),
        "{}",
        stderr_first_line(&output)
    );
    assert!(output.stdout.is_empty());
}

/// The README's Usage block is what `--help` prints, so the two cannot
/// drift apart.
#[test]
fn the_readme_shows_the_real_help() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let block = readme
        .split("## Usage\n\n```text\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a Usage block in README.md");
    assert_eq!(block.trim_end(), coffeeweb::cli::HELP.trim_end());
}

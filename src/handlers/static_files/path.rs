//! From a request path to a file inside the root, and never outside it.
//!
//! The path is split on `/` first and each segment percent-decoded once,
//! so an encoded slash (`%2f`) stays inside its segment, where it is
//! refused. Then, segment by segment: empty and `.` segments are dropped
//! (normalisation); `..` (however it was encoded), backslashes, NUL bytes,
//! and names starting with a dot (except the `/.well-known/` tree) are
//! refused with a 404, as if nothing were there. Malformed percent-encoding
//! is a 400. Finally the result is canonicalised (symlinks resolved) and
//! must still be inside the canonical root: a symlink that points outside
//! is a 404 too.
//!
//! A symlink swapped between the check and the open could still escape;
//! serving a folder that untrusted users can write to needs more than this
//! (nginx has the same caveat and `disable_symlinks` for it).

use std::ffi::OsStr;
use std::fs::{self, File, Metadata};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// Why a path is not served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Nothing at all at that path (no such file or directory): 404, or
    /// the `--fallback` page.
    Missing,
    /// Nothing to serve there (or nothing we admit to): 404.
    NotFound,
    /// Bytes that cannot be a path (malformed percent-encoding): 400.
    BadRequest,
    /// The file exists but may not be read: 403.
    Forbidden,
}

impl From<io::Error> for Refusal {
    fn from(e: io::Error) -> Refusal {
        match e.kind() {
            io::ErrorKind::PermissionDenied => Refusal::Forbidden,
            io::ErrorKind::NotFound => Refusal::Missing,
            // `a.txt/b` (ENOTDIR: its kind is not stable before Rust 1.83).
            _ if e.raw_os_error() == Some(libc::ENOTDIR) => Refusal::Missing,
            _ => Refusal::NotFound,
        }
    }
}

/// Percent-decodes one segment; `None` for a `%` not followed by two hex
/// digits.
pub fn percent_decode(segment: &str) -> Option<Vec<u8>> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let hex = bytes.get(at + 1..at + 3)?;
            let text = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(text, 16).ok()?);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    Some(out)
}

/// The relative path a URL path names under the root, or why it names
/// nothing we serve. Does not touch the file system.
pub fn relative_path(url_path: &str) -> Result<PathBuf, Refusal> {
    let mut relative = PathBuf::new();
    for (index, raw) in url_path.split('/').enumerate() {
        let segment = percent_decode(raw).ok_or(Refusal::BadRequest)?;
        match segment.as_slice() {
            [] | b"." => continue,
            b".." => return Err(Refusal::NotFound),
            _ if segment.iter().any(|&b| matches!(b, b'/' | b'\\' | 0)) => {
                return Err(Refusal::NotFound)
            }
            // `index` 1 is the first segment after the leading slash.
            b".well-known" if index == 1 => {}
            [b'.', ..] => return Err(Refusal::NotFound),
            _ => {}
        }
        relative.push(OsStr::from_bytes(&segment));
    }
    Ok(relative)
}

/// Whether a path relative to the root hides nothing: no component starts
/// with a dot, except `.well-known` at the top.
fn is_visible(relative: &Path) -> bool {
    relative
        .components()
        .enumerate()
        .all(|(index, component)| match component {
            Component::Normal(name) => {
                !name.as_bytes().starts_with(b".") || (index == 0 && name == ".well-known")
            }
            _ => false,
        })
}

/// Canonicalises `path` and checks it is inside `root` (itself canonical)
/// and visible; returns the canonical path and its metadata.
pub fn inside(root: &Path, path: &Path) -> Result<(PathBuf, Metadata), Refusal> {
    let canonical = fs::canonicalize(path)?;
    let relative = canonical
        .strip_prefix(root)
        .map_err(|_| Refusal::NotFound)?;
    if !is_visible(relative) {
        return Err(Refusal::NotFound);
    }
    let metadata = fs::metadata(&canonical)?;
    Ok((canonical, metadata))
}

/// Opens a regular file found by [`inside`].
pub fn open(path: &Path) -> Result<File, Refusal> {
    Ok(File::open(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_we_may_not_read_is_forbidden_a_missing_one_missing_anything_else_not_found() {
        let refusal = |kind| Refusal::from(io::Error::from(kind));
        assert_eq!(refusal(io::ErrorKind::PermissionDenied), Refusal::Forbidden);
        // Missing (ENOENT, ENOTDIR) is what --fallback answers; other
        // failures are a plain 404.
        assert_eq!(refusal(io::ErrorKind::NotFound), Refusal::Missing);
        let not_a_dir = Refusal::from(io::Error::from_raw_os_error(libc::ENOTDIR));
        assert_eq!(not_a_dir, Refusal::Missing);
        assert_eq!(refusal(io::ErrorKind::Other), Refusal::NotFound);
    }

    #[test]
    fn decoding_happens_once() {
        assert_eq!(percent_decode("a%20b").unwrap(), b"a b");
        assert_eq!(percent_decode("%252e").unwrap(), b"%2e");
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%2"), None);
        assert_eq!(percent_decode("100%"), None);
    }

    fn assert_not_found(paths: &[&str]) {
        for path in paths {
            assert_eq!(relative_path(path), Err(Refusal::NotFound), "{path}");
        }
    }

    #[test]
    fn dot_dot_segments() {
        assert_not_found(&["/../etc/passwd", "/a/../../etc/passwd", "/a/.."]);
    }

    #[test]
    fn encoded_dot_dot() {
        assert_not_found(&["/%2e%2e/etc/passwd", "/%2E%2E/x", "/.%2e/x", "/%2e./x"]);
    }

    #[test]
    fn encoded_slashes() {
        assert_not_found(&["/..%2fetc/passwd", "/a%2f..%2f..%2fetc", "/a%2Fb"]);
    }

    #[test]
    fn backslashes() {
        assert_not_found(&["/a\\..\\b", "/..\\x", "/a%5c..%5cb", "/a%5Cb"]);
    }

    #[test]
    fn nul_bytes() {
        assert_not_found(&["/a%00.html", "/a.html%00", "/%00"]);
    }

    #[test]
    fn dotfiles() {
        assert_not_found(&["/.git/config", "/.env", "/a/.hidden", "/%2egit/config"]);
    }

    #[test]
    fn well_known_only_at_the_top() {
        assert_not_found(&["/a/.well-known/x", "/.well-known/.secret"]);
        assert!(relative_path("/.well-known/x").is_ok());
    }

    #[test]
    fn malformed_percent_encoding_is_a_bad_request() {
        for path in ["/%", "/a%2", "/%g0", "/%%30"] {
            assert_eq!(relative_path(path), Err(Refusal::BadRequest), "{path}");
        }
    }

    /// A temporary folder holding `root/` and a file next to it, outside.
    struct Tree(PathBuf);

    impl Tree {
        fn new(name: &str) -> Tree {
            let base =
                std::env::temp_dir().join(format!("coffeeweb-path-{name}-{}", std::process::id()));
            fs::create_dir_all(base.join("root/dir")).unwrap();
            fs::write(base.join("secret.txt"), b"outside").unwrap();
            fs::write(base.join("root/dir/file.txt"), b"inside").unwrap();
            Tree(base)
        }

        fn root(&self) -> PathBuf {
            fs::canonicalize(self.0.join("root")).unwrap()
        }

        fn link(&self, name: &str, target: &Path) -> PathBuf {
            let link = self.root().join(name);
            std::os::unix::fs::symlink(target, &link).unwrap();
            link
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn symlinks_that_leave_the_root() {
        let tree = Tree::new("symlinks");
        let root = tree.root();
        for (name, target) in [
            ("to-file", tree.0.join("secret.txt")),
            ("relative", PathBuf::from("../secret.txt")),
            ("to-parent", tree.0.clone()),
        ] {
            let link = tree.link(name, &target);
            assert_eq!(
                inside(&root, &link).map(|_| ()),
                Err(Refusal::NotFound),
                "{name}"
            );
        }
        let through_dir = root.join("to-parent/secret.txt");
        assert_eq!(
            inside(&root, &through_dir).map(|_| ()),
            Err(Refusal::NotFound)
        );
    }

    #[test]
    fn symlinks_inside_the_root_are_followed_but_not_into_hiding() {
        let tree = Tree::new("inside");
        let root = tree.root();
        let link = tree.link("alias.txt", Path::new("dir/file.txt"));
        let (found, metadata) = inside(&root, &link).unwrap();
        assert_eq!(found, root.join("dir/file.txt"));
        assert!(metadata.is_file());
        fs::create_dir_all(root.join(".git")).unwrap();
        fs::write(root.join(".git/config"), b"x").unwrap();
        let hidden = tree.link("config", Path::new(".git/config"));
        assert_eq!(inside(&root, &hidden).map(|_| ()), Err(Refusal::NotFound));
    }

    #[test]
    fn missing_paths_are_told_from_refused_ones() {
        let tree = Tree::new("missing");
        let root = tree.root();
        let missing = |path: &str| inside(&root, &root.join(path)).map(|_| ());
        assert_eq!(missing("nothing/here"), Err(Refusal::Missing));
        assert_eq!(missing("dir/file.txt/below"), Err(Refusal::Missing));
        assert_eq!(missing("../secret.txt"), Err(Refusal::NotFound));
    }

    #[test]
    fn ordinary_paths_normalise() {
        assert_eq!(relative_path("/").unwrap(), PathBuf::new());
        assert_eq!(relative_path("//a/./b//c").unwrap(), PathBuf::from("a/b/c"));
        assert_eq!(
            relative_path("/a%20b/c%2Bd+e").unwrap(),
            PathBuf::from("a b/c+d+e")
        );
        assert_eq!(
            relative_path("/.well-known/acme-challenge/x").unwrap(),
            PathBuf::from(".well-known/acme-challenge/x")
        );
        assert_eq!(relative_path("/caf%C3%A9").unwrap(), PathBuf::from("café"));
    }

    #[test]
    fn visibility_of_canonical_paths() {
        assert!(is_visible(Path::new("a/b.txt")));
        assert!(is_visible(Path::new(".well-known/x")));
        assert!(!is_visible(Path::new("a/.git/x")));
        assert!(!is_visible(Path::new("a/.well-known/x")));
    }
}

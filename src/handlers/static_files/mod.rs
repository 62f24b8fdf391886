//! Serving a folder (`--root DIR`), the way nginx's static module does.
//!
//! For each GET or HEAD: the request path is turned into a file inside the
//! root and never outside it ([`path`]); a directory is redirected to its
//! slash form, then served by its `index.html`, a listing ([`listing`],
//! with `--listing`; HTML, or JSON for `Accept: application/json`) or a
//! 404; a file gets `Content-Type` ([`mime`]),
//! `Last-Modified`, a strong `ETag` and `Accept-Ranges`, and may be
//! answered 304 ([`conditional`]), 206 or 416 ([`range`]).
//!
//! A file with precompressed copies beside it (`F.br`, `F.zst`, `F.gz`,
//! [`variants`]) is sent in the encoding the request's `Accept-Encoding`
//! prefers (406 when it accepts none that exists), each copy with its own
//! validators, and every response for it says `Vary: Accept-Encoding`.
//!
//! A path where nothing exists (no file, no directory: not a path refused
//! as unsafe) gets the `--fallback` file with 200 when there is one (the
//! single-page app routes it), else a 404 whose body is `ROOT/404.html`
//! when that exists.
//!
//! Small files (up to 16 KiB) are read into the response, so they leave with
//! their head in one write, pipelined with their neighbours; the hot ones
//! are then answered from a small per-loop cache ([`cache`]), per
//! encoding. Larger ones
//! are sent from the file as the client reads (`sendfile(2)`), so memory
//! stays bounded whatever the size and however slow the client.
//!
//! A HEAD gets the head a GET would get, 403 included: the file is opened
//! (as nginx does), but nothing is read, and the open file is closed when
//! the server drops the body it does not send; no output tail is made.
//!
//! Opening and `stat`-ing happen on the loop's thread, as in nginx: on a
//! local disk with a warm page cache they take microseconds. A folder on a
//! slow network file system would stall the loop; serve that from
//! something else.

pub mod cache;
pub mod compress;
pub mod conditional;
pub mod listing;
pub mod mime;
pub mod path;
pub mod range;
pub mod variants;

use super::{live_reload, refuse_unless_get_or_head, Handler};
use crate::http::accept_encoding::{AcceptEncoding, Coding};
use crate::http::date::imf_fixdate;
use crate::http::{Body, FileBody, Request, Response, Status, INLINE_BODY_MAX};
use cache::{Chosen, FileCache};
use compress::Compressor;
use conditional::Validators;
use path::Refusal;
use range::Part;
use std::fs::Metadata;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use variants::{Content, Variants};

/// A handler that serves the files under one folder. Each event loop
/// needs its own (the cache is per loop): make them with
/// [`for_another_loop`](StaticFiles::for_another_loop).
#[derive(Debug)]
pub struct StaticFiles {
    root: Arc<Path>,
    listing: bool,
    fallback: Option<Arc<Path>>,
    compressor: Option<Arc<Compressor>>,
    /// `--watch`: pages get the live-reload script, and nothing is cached.
    reload_script: bool,
    cache: FileCache,
}

/// The largest page the live-reload script is put into (read whole into
/// memory for it); a larger one is sent as it is.
pub const RELOAD_PAGE_MAX: u64 = 16 * 1024 * 1024;

impl StaticFiles {
    /// Serves `root` (canonicalised now, once); with `listing`, lists
    /// directories that have no `index.html`.
    pub fn new(root: impl AsRef<Path>, listing: bool) -> io::Result<StaticFiles> {
        let root = std::fs::canonicalize(root)?;
        if !root.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a directory",
            ));
        }
        Ok(StaticFiles {
            root: root.into(),
            listing,
            fallback: None,
            compressor: None,
            reload_script: false,
            cache: FileCache::default(),
        })
    }

    /// The same folder and options, with an empty cache of its own: the
    /// handler of another event loop.
    pub fn for_another_loop(&self) -> StaticFiles {
        StaticFiles {
            root: Arc::clone(&self.root),
            listing: self.listing,
            fallback: self.fallback.clone(),
            compressor: self.compressor.clone(),
            reload_script: self.reload_script,
            cache: FileCache::default(),
        }
    }

    /// Answers GET and HEAD for paths where nothing exists with `file`,
    /// status 200 (single-page apps: the app routes the path itself). A
    /// relative `file` is looked for under the root first, then from the
    /// current directory; either way it must be a file inside the root.
    /// Paths refused as unsafe (`..`, dotfiles, links out) stay 404.
    pub fn with_fallback(mut self, file: impl AsRef<Path>) -> io::Result<StaticFiles> {
        let file = file.as_ref();
        let under_root = self.root.join(file);
        let candidate = if file.is_relative() && under_root.exists() {
            under_root
        } else {
            file.to_path_buf()
        };
        match path::inside(&self.root, &candidate) {
            Ok((found, metadata)) if metadata.is_file() => {
                self.fallback = Some(found.into());
                Ok(self)
            }
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a file inside the root",
            )),
        }
    }

    /// Compresses text files once, off the loop, and serves the copies
    /// like precompressed ones (`--compress`; see [`compress`]). Starts
    /// the compressor thread, which all clones share.
    pub fn with_compression(mut self) -> io::Result<StaticFiles> {
        self.compressor = Some(Compressor::start()?);
        Ok(self)
    }

    /// Puts the live-reload script into every HTML page sent whole and as
    /// itself (`--watch`; see [`crate::handlers::live_reload`]),
    /// and turns the small-file cache off: after a change, the reload must
    /// get the new file, not one trusted for another second.
    pub fn with_reload_script(mut self) -> StaticFiles {
        self.reload_script = true;
        self
    }

    /// How many compressed copies were made so far (with compression).
    pub fn copies_made(&self) -> u64 {
        self.compressor.as_ref().map_or(0, |c| c.copies_made())
    }

    /// The canonical root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn serve(&mut self, req: &Request<'_>, res: &mut Response) -> Result<(), Refusal> {
        let relative = path::relative_path(req.path())?;
        let (found, metadata) = path::inside(&self.root, &self.root.join(relative))?;
        if !metadata.is_dir() {
            // `/file.txt/` names a directory that is not there (nginx: 404);
            // serving the file would give it a second URL under which its
            // relative links break.
            if req.path().ends_with('/') {
                return Err(Refusal::NotFound);
            }
            return self.serve_file(req, res, &found, &metadata);
        }
        if !req.path().ends_with('/') {
            redirect_to_slash(req, res);
            return Ok(());
        }
        match path::inside(&self.root, &found.join("index.html")) {
            Ok((index, metadata)) if metadata.is_file() => {
                self.serve_file(req, res, &index, &metadata)
            }
            _ if self.listing => serve_listing(req, res, &self.root, &found),
            _ => Err(Refusal::NotFound),
        }
    }

    /// Answers from the cache when it holds a fresh copy of the whole
    /// file in the encoding this request gets (ranges, and encodings not
    /// kept yet, take the long way).
    fn serve_cached(&self, req: &Request<'_>, res: &mut Response) -> bool {
        if req.header("range").is_some() {
            return false;
        }
        let Some(entry) = self.cache.fresh(req.path(), Instant::now()) else {
            return false;
        };
        let Some(coding) = accepted(req).choose(entry.available) else {
            return false;
        };
        let Some(cached) = entry.body(coding) else {
            return false;
        };
        vary(res, entry.varies);
        res.header("Last-Modified", cached.last_modified)
            .header("ETag", &cached.validators.etag);
        if conditional::not_modified(req, &cached.validators) {
            res.set_status(Status::NOT_MODIFIED);
            return true;
        }
        content_encoding(res, coding);
        res.header("Content-Type", entry.content_type)
            .header("Accept-Ranges", "bytes")
            .set_body(Body::Shared(Arc::clone(&cached.content)));
        true
    }

    fn serve_file(
        &mut self,
        req: &Request<'_>,
        res: &mut Response,
        found: &Path,
        metadata: &Metadata,
    ) -> Result<(), Refusal> {
        if !metadata.is_file() {
            return Err(Refusal::NotFound);
        }
        let content_type = mime::content_type(found);
        let compressor = self.compressor.as_deref();
        let variants = Variants::find(&self.root, found, metadata, content_type, compressor);
        let Some(coding) = accepted(req).choose(variants.available) else {
            res.error(Status::NOT_ACCEPTABLE);
            vary(res, variants.varies);
            return Ok(());
        };
        let Some(variant) = variants.get(coding) else {
            return Err(Refusal::NotFound);
        };
        vary(res, variants.varies);
        if self.is_reloading_page(req, coding, content_type, variant) {
            return serve_page(req, res, variant, content_type);
        }
        let validators = &variant.validators;
        res.header("Last-Modified", imf_fixdate(validators.modified))
            .header("ETag", &validators.etag);
        if conditional::not_modified(req, validators) {
            res.set_status(Status::NOT_MODIFIED);
            return Ok(());
        }
        let len = variant.len;
        let Some((offset, count)) = choose_part(req, res, len, validators) else {
            return Ok(());
        };
        content_encoding(res, coding);
        res.header("Content-Type", content_type)
            .header("Accept-Ranges", "bytes");
        let chosen = Chosen {
            variants: &variants,
            coding,
            content_type,
        };
        self.set_body(req, res, &chosen, offset, count)
    }

    /// Sets `count` bytes from `offset` of the chosen representation as
    /// the body (and keeps a small whole one in the cache).
    fn set_body(
        &mut self,
        req: &Request<'_>,
        res: &mut Response,
        chosen: &Chosen<'_>,
        offset: u64,
        count: u64,
    ) -> Result<(), Refusal> {
        let Some(variant) = chosen.variants.get(chosen.coding) else {
            return Err(Refusal::NotFound);
        };
        let whole = offset == 0 && count == variant.len;
        match &variant.content {
            Content::Memory(bytes) if whole => {
                self.remember(req, chosen, bytes);
                res.set_body(Body::Shared(Arc::clone(bytes)));
            }
            Content::Memory(bytes) => {
                let part = &bytes[offset as usize..(offset + count) as usize];
                res.set_body(part.to_vec());
            }
            Content::File(path) => {
                let file = path::open(path)?;
                if req.is_head() || count > INLINE_BODY_MAX as u64 {
                    res.set_body(Body::File(FileBody {
                        file,
                        offset,
                        len: count,
                    }));
                    return Ok(());
                }
                let mut bytes = vec![0; count as usize];
                file.read_exact_at(&mut bytes, offset)?;
                if whole && count <= cache::MAX_FILE {
                    // One copy, shared by this response and the cache.
                    let shared: Arc<[u8]> = bytes.into();
                    self.remember(req, chosen, &shared);
                    res.set_body(Body::Shared(shared));
                } else {
                    res.set_body(bytes);
                }
            }
        }
        Ok(())
    }

    /// `ROOT/404.html`, when there is one, as the body of a 404.
    fn not_found_page(&self, res: &mut Response) {
        let Ok((page, metadata)) = path::inside(&self.root, &self.root.join("404.html")) else {
            return;
        };
        if !metadata.is_file() {
            return;
        }
        if let Ok(file) = path::open(&page) {
            res.clear()
                .set_status(Status::NOT_FOUND)
                .header("Content-Type", "text/html; charset=utf-8")
                .set_body(Body::File(FileBody {
                    file,
                    offset: 0,
                    len: metadata.len(),
                }));
        }
    }

    /// Whether the response is a page that gets the live-reload script:
    /// HTML, as itself (not a copy), whole (no range asked for, or one
    /// that `If-Range` turns into the whole file), not too large.
    fn is_reloading_page(
        &self,
        req: &Request<'_>,
        coding: Coding,
        content_type: &str,
        variant: &variants::Variant,
    ) -> bool {
        self.reload_script
            && coding == Coding::Identity
            && content_type.starts_with("text/html")
            && variant.len <= RELOAD_PAGE_MAX
            && matches!(
                range::requested(req, variant.len, &variant.validators),
                Part::Whole
            )
    }

    /// Keeps a small whole response in the cache.
    fn remember(&mut self, req: &Request<'_>, chosen: &Chosen<'_>, content: &Arc<[u8]>) {
        if !self.reload_script && content.len() as u64 <= cache::MAX_FILE {
            self.cache
                .insert(req.path(), chosen, content, Instant::now());
        }
    }
}

/// A page with the live-reload script: its own `ETag`, its length with
/// the script, 304 against that tag.
fn serve_page(
    req: &Request<'_>,
    res: &mut Response,
    variant: &variants::Variant,
    content_type: &str,
) -> Result<(), Refusal> {
    let validators = Validators {
        etag: live_reload::page_etag(&variant.validators.etag),
        modified: variant.validators.modified,
    };
    res.header("Last-Modified", imf_fixdate(validators.modified))
        .header("ETag", &validators.etag);
    if conditional::not_modified(req, &validators) {
        res.set_status(Status::NOT_MODIFIED);
        return Ok(());
    }
    let page = match &variant.content {
        Content::Memory(bytes) => live_reload::inject(bytes),
        Content::File(path) => {
            let file = path::open(path)?;
            let mut bytes = vec![0; variant.len as usize];
            file.read_exact_at(&mut bytes, 0)?;
            live_reload::inject(&bytes)
        }
    };
    res.header("Content-Type", content_type)
        .header("Accept-Ranges", "bytes")
        .set_body(page);
    Ok(())
}

/// What the request's `Accept-Encoding` fields accept.
fn accepted(req: &Request<'_>) -> AcceptEncoding {
    AcceptEncoding::parse(
        req.headers()
            .filter(|(name, _)| name.eq_ignore_ascii_case("accept-encoding"))
            .map(|(_, value)| value),
    )
}

/// That the answer depended on `Accept-Encoding`: on every response for
/// a file that has copies (304, 406 and the plain file too), so that a
/// cache keeps them apart.
fn vary(res: &mut Response, varies: bool) {
    if varies {
        res.vary("Accept-Encoding");
    }
}

/// Which encoding the body is in: only on a response with a body of it
/// (not on a 304, nor on the text body of a 416).
fn content_encoding(res: &mut Response, coding: Coding) {
    if let Some(name) = coding.content_encoding() {
        res.header("Content-Encoding", name);
    }
}

impl Handler for StaticFiles {
    fn handle(&mut self, req: &Request<'_>, res: &mut Response) {
        if refuse_unless_get_or_head(req, res) || self.serve_cached(req, res) {
            return;
        }
        let mut outcome = self.serve(req, res);
        if let (Err(Refusal::Missing), Some(fallback)) = (outcome, self.fallback.clone()) {
            res.clear();
            outcome = path::inside(&self.root, &fallback)
                .and_then(|(found, metadata)| self.serve_file(req, res, &found, &metadata));
        }
        let status = match outcome {
            Ok(()) => return,
            Err(Refusal::Missing | Refusal::NotFound) => Status::NOT_FOUND,
            Err(Refusal::BadRequest) => Status::BAD_REQUEST,
            Err(Refusal::Forbidden) => Status::FORBIDDEN,
        };
        res.reset_to_error(status);
        if status == Status::NOT_FOUND {
            self.not_found_page(res);
        }
    }

    fn refuse_early(&mut self, req: &Request<'_>, res: &mut Response) -> bool {
        refuse_unless_get_or_head(req, res)
    }
}

/// The part of a `len`-byte file to send, as `(offset, count)`, with the
/// status and `Content-Range` set for it; `None` once `res` is a 416.
fn choose_part(
    req: &Request<'_>,
    res: &mut Response,
    len: u64,
    validators: &Validators,
) -> Option<(u64, u64)> {
    match range::requested(req, len, validators) {
        Part::Whole => Some((0, len)),
        Part::Range { start, end } => {
            res.set_status(Status::PARTIAL_CONTENT)
                .header("Content-Range", format!("bytes {start}-{end}/{len}"));
            Some((start, end - start + 1))
        }
        Part::Unsatisfiable => {
            // With its text/plain error body: no Content-Type of the file.
            res.error(Status::RANGE_NOT_SATISFIABLE)
                .header("Content-Range", format!("bytes */{len}"));
            None
        }
    }
}

/// 301 to the same path with a slash, query kept.
fn redirect_to_slash(req: &Request<'_>, res: &mut Response) {
    let location = match req.query() {
        Some(query) => format!("{}/?{query}", req.path()),
        None => format!("{}/", req.path()),
    };
    res.error(Status::MOVED_PERMANENTLY)
        .header("Location", location);
}

fn serve_listing(
    req: &Request<'_>,
    res: &mut Response,
    root: &Path,
    dir: &Path,
) -> Result<(), Refusal> {
    let entries = listing::entries(root, dir)?;
    res.vary("Accept");
    if wants_json(req) {
        res.header("Content-Type", "application/json")
            .set_body(listing::json(&entries));
    } else {
        res.header("Content-Type", "text/html; charset=utf-8")
            .set_body(listing::html(&entries, req.path()));
    }
    Ok(())
}

/// `?format=json` (or `html`) decides; otherwise an `Accept` that names
/// `application/json` gets JSON (a browser's never does).
fn wants_json(req: &Request<'_>) -> bool {
    match req.query_param("format") {
        Some(format) => format == "json",
        None => req
            .header_str("accept")
            .is_some_and(|accept| accept.contains("application/json")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_loop_gets_the_same_folder_and_options() {
        let dir = std::env::temp_dir();
        let files = StaticFiles::new(&dir, true).unwrap();
        let other = files.for_another_loop();
        assert_eq!((other.root(), other.listing), (files.root(), true));
        assert_eq!(other.fallback, files.fallback);
        assert_eq!(other.compressor.is_some(), files.compressor.is_some());
    }
}

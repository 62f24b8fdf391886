//! A file and its precompressed copies: `F.br`, `F.zst` and `F.gz` beside
//! `F` are other encodings of it (as nginx's `gzip_static` and
//! static-web-server's `--compression-static` have them).
//!
//! Each copy is its own representation: it is sent with its own
//! validators (a strong `ETag` from its own time, inode and size, and its
//! own `Last-Modified`), so ranges and conditionals apply to the bytes
//! actually sent, and a cache never mixes the bytes of two encodings. A
//! copy is looked up like any file: it must be a regular file inside the
//! root, so a symlinked `F.br` that leads out is not a copy.

use super::conditional::Validators;
use super::path;
use crate::http::accept_encoding::{Coding, Codings};
use std::ffi::OsString;
use std::fs::Metadata;
use std::path::{Path, PathBuf};

/// One representation on disk.
#[derive(Debug)]
pub struct Variant {
    /// The file to send.
    pub path: PathBuf,
    /// Its metadata.
    pub metadata: Metadata,
    /// Its validators.
    pub validators: Validators,
}

/// A file and the copies of it that exist.
#[derive(Debug)]
pub struct Variants {
    /// Which encodings exist (identity always does).
    pub available: Codings,
    by_coding: [Option<Variant>; 4],
}

impl Variants {
    /// `found` (a regular file inside `root`) and its copies.
    pub fn find(root: &Path, found: &Path, metadata: Metadata) -> Variants {
        let mut variants = Variants {
            available: Codings::IDENTITY,
            by_coding: Default::default(),
        };
        variants.by_coding[Coding::Identity.index()] = Some(Variant::new(found.into(), metadata));
        for (coding, suffix) in Coding::SIDECARS {
            let mut name = OsString::from(found.as_os_str());
            name.push(suffix);
            match path::inside(root, Path::new(&name)) {
                Ok((path, metadata)) if metadata.is_file() => {
                    variants.available = variants.available.with(coding);
                    variants.by_coding[coding.index()] = Some(Variant::new(path, metadata));
                }
                _ => {}
            }
        }
        variants
    }

    /// The representation in `coding`, if it exists.
    pub fn get(&self, coding: Coding) -> Option<&Variant> {
        self.by_coding[coding.index()].as_ref()
    }

    /// The validators of every representation, by coding: what a cached
    /// copy is checked against.
    pub fn signature(&self) -> [Option<Validators>; 4] {
        self.by_coding
            .each_ref()
            .map(|v| v.as_ref().map(|v| v.validators.clone()))
    }
}

impl Variant {
    fn new(path: PathBuf, metadata: Metadata) -> Variant {
        let validators = Validators::of(&metadata);
        Variant {
            path,
            metadata,
            validators,
        }
    }
}

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
//!
//! With `--compress`, a text file without copies on disk gets one in
//! memory ([`compress`]) once it is ready: it is then an
//! encoding like the others.

use super::compress::{self, Compressor};
use super::conditional::Validators;
use super::path;
use crate::http::accept_encoding::{Coding, Codings};
use std::ffi::OsString;
use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the bytes of a representation are.
#[derive(Debug)]
pub enum Content {
    /// In this file.
    File(PathBuf),
    /// In memory (a copy made by `--compress`).
    Memory(Arc<[u8]>),
}

/// One representation.
#[derive(Debug)]
pub struct Variant {
    /// Its bytes.
    pub content: Content,
    /// Its length.
    pub len: u64,
    /// Its validators.
    pub validators: Validators,
}

/// A file and the copies of it that exist.
#[derive(Debug)]
pub struct Variants {
    /// Which encodings exist (identity always does).
    pub available: Codings,
    /// Whether the answer depends on `Accept-Encoding`: there are copies,
    /// or there will be one (`--compress`, not ready yet).
    pub varies: bool,
    by_coding: [Option<Variant>; 4],
}

impl Variants {
    /// `found` (a regular file inside `root`, of type `content_type`) and
    /// its copies: on disk, else from `compressor` when there is one.
    pub fn find(
        root: &Path,
        found: &Path,
        metadata: &Metadata,
        content_type: &str,
        compressor: Option<&Compressor>,
    ) -> Variants {
        let mut variants = Variants {
            available: Codings::IDENTITY,
            varies: false,
            by_coding: Default::default(),
        };
        variants.put(Coding::Identity, Variant::file(found.into(), metadata));
        for (coding, suffix) in Coding::SIDECARS {
            let mut name = OsString::from(found.as_os_str());
            name.push(suffix);
            match path::inside(root, Path::new(&name)) {
                Ok((path, metadata)) if metadata.is_file() => {
                    variants.put(coding, Variant::file(path, &metadata));
                }
                _ => {}
            }
        }
        let compress = compressor.filter(|_| {
            !variants.varies && compress::worth_compressing(content_type, metadata.len())
        });
        if let Some(compressor) = compress {
            variants.varies = true;
            let source = &variants.by_coding[Coding::Identity.index()];
            let copy = source
                .as_ref()
                .and_then(|plain| compressor.copy(found, &plain.validators));
            if let Some(copy) = copy {
                let variant = Variant {
                    len: copy.bytes.len() as u64,
                    content: Content::Memory(Arc::clone(&copy.bytes)),
                    validators: copy.validators.clone(),
                };
                variants.put(Coding::Gzip, variant);
            }
        }
        variants
    }

    fn put(&mut self, coding: Coding, variant: Variant) {
        self.available = self.available.with(coding);
        self.varies |= coding != Coding::Identity;
        self.by_coding[coding.index()] = Some(variant);
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
    fn file(path: PathBuf, metadata: &Metadata) -> Variant {
        Variant {
            content: Content::File(path),
            len: metadata.len(),
            validators: Validators::of(metadata),
        }
    }
}

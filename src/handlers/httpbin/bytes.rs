//! The deterministic bytes of `bytes/N?seed=S`: byte `i` is a function of
//! `S` and `i` alone, so any offset can be made without making what comes
//! before it, and a body of any length is made a piece at a time as the
//! socket takes it.
//!
//! Word `k` (bytes `8k … 8k+7`, little-endian) is SplitMix64's output for
//! the counter `k` in the stream keyed by `S`: the finaliser of
//! `S + (k + 1) · φ`, a bijective mix with full avalanche. About a
//! nanosecond per 8 bytes, which keeps generation far below the cost of
//! the `write` that sends them.
//!
//! The default seed's first [`INLINE_BODY_MAX`] bytes are made once and
//! kept: a small `bytes/N` without a seed, what a load test asks for, is
//! then a slice of static bytes copied behind the head, as a page is, not
//! a computation per request (`scripts/callgrind.sh bytes13`).

use crate::http::{Body, Generated, INLINE_BODY_MAX};
use std::sync::OnceLock;

/// The largest `N` of `bytes/N`.
pub const MAX_LEN: u64 = 100 * 1024 * 1024;

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// SplitMix64's output number `k` for `seed`.
fn word(seed: u64, k: u64) -> u64 {
    let mut z = seed.wrapping_add(k.wrapping_add(1).wrapping_mul(GOLDEN));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Fills `out` with the bytes of `seed` from `offset` on.
pub fn fill(seed: u64, offset: u64, out: &mut [u8]) {
    let mut pos = offset;
    let mut out = out;
    // Up to the next word boundary.
    let lead = ((8 - pos % 8) % 8).min(out.len() as u64) as usize;
    if lead > 0 {
        let bytes = word(seed, pos / 8).to_le_bytes();
        copy_short(&mut out[..lead], &bytes[(pos % 8) as usize..]);
        out = &mut out[lead..];
        pos += lead as u64;
    }
    let mut k = pos / 8;
    let mut words = out.chunks_exact_mut(8);
    for chunk in &mut words {
        chunk.copy_from_slice(&word(seed, k).to_le_bytes());
        k += 1;
    }
    copy_short(words.into_remainder(), &word(seed, k).to_le_bytes());
}

/// Copies the first `out.len()` (< 8) bytes of `from`: a byte loop, which
/// for a few bytes is cheaper than the `memcpy` call a slice copy becomes.
fn copy_short(out: &mut [u8], from: &[u8]) {
    for (o, b) in out.iter_mut().zip(from) {
        *o = *b;
    }
}

/// The first bytes of seed 0, made on first use.
static SEED_ZERO: OnceLock<Box<[u8]>> = OnceLock::new();

/// The kept bytes of seed 0, made by the first caller (at start-up:
/// [`Httpbin::new`](super::Httpbin::new) asks, so no request pays).
pub fn seed_zero() -> &'static [u8] {
    SEED_ZERO.get_or_init(|| {
        let mut kept = vec![0; INLINE_BODY_MAX].into_boxed_slice();
        fill(0, 0, &mut kept);
        kept
    })
}

/// The body of `bytes/len?seed=seed`.
pub fn body(len: u64, seed: u64) -> Body {
    if seed == 0 && len <= INLINE_BODY_MAX as u64 {
        return Body::Static(&seed_zero()[..len as usize]);
    }
    Body::Generated(Generated {
        len,
        key: seed,
        fill,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(seed: u64, offset: u64, len: usize) -> Vec<u8> {
        let mut out = vec![0; len];
        fill(seed, offset, &mut out);
        out
    }

    #[test]
    fn any_offset_gives_the_same_bytes_as_from_the_start() {
        let whole = bytes(42, 0, 1000);
        for offset in [0, 1, 7, 8, 9, 15, 16, 333, 999] {
            for len in [0, 1, 5, 8, 13, 64] {
                let end = (offset + len).min(1000);
                let part = bytes(42, offset as u64, end - offset);
                assert_eq!(part, whole[offset..end], "{offset}+{len}");
            }
        }
    }

    #[test]
    fn kept_bytes_of_seed_zero_are_the_generated_ones() {
        for len in [
            0,
            1,
            13,
            4096,
            INLINE_BODY_MAX as u64,
            INLINE_BODY_MAX as u64 + 1,
        ] {
            let made = bytes(0, 0, len as usize);
            match body(len, 0) {
                Body::Static(kept) => assert!(kept == made, "{len}"),
                Body::Generated(g) => assert!(len > INLINE_BODY_MAX as u64 && g.len == len),
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(body(13, 1), Body::Generated(_)));
    }

    #[test]
    fn seeds_differ_and_bytes_look_random() {
        assert_ne!(bytes(1, 0, 64), bytes(2, 0, 64));
        let sample = bytes(7, 0, 1 << 16);
        let mut counts = [0u32; 256];
        for b in &sample {
            counts[usize::from(*b)] += 1;
        }
        // 256 expected per value; a fixed pattern would be far off.
        assert!(
            counts.iter().all(|&c| (150..400).contains(&c)),
            "{counts:?}"
        );
    }
}

//! Where a run of bytes of one class ends, sixteen bytes at a time.
//!
//! Most of a head's bytes are field names, values and the target, and the
//! parser's question about each of them is the same: where does the run of
//! allowed bytes stop? Asking it of sixteen bytes at once, with SSE2, costs
//! about as much as asking it of two bytes with a table. SSE2 is part of
//! x86-64 itself (every x86-64 CPU has it, and Rust's x86-64 targets enable
//! it), so there is nothing to detect at run time; wider vectors (AVX2)
//! would not pay on fields that are mostly under sixteen bytes long. Other
//! targets get the same masks from a table, byte by byte, and so do the
//! unit tests, which hold the two to the same answer for every byte value
//! at every position.
//!
//! Each `*_stops` function answers for one 16-byte chunk: bit `i` of the
//! result is set when byte `i` is *not* in the class. The classes for names
//! and hosts are the common subsets (letters, digits, `-`, and for hosts
//! `.` and `:`); the caller finishes with the exact table when a run stops
//! at a byte of the full class. `field_stops` gives the name and the value
//! stops of one chunk from one load, for a field line whose name and
//! short value are in the same sixteen bytes; `host_value_stops` the host
//! and the value stops, for a `Host` value checked while its end is found.

/// Bytes per chunk.
pub(super) const WIDTH: usize = 16;

/// Whether no bit of `stops` is set for the first `n` bytes of its chunk
/// (`n` at most [`WIDTH`]).
#[inline(always)]
pub(super) fn none_in_first(stops: u32, n: usize) -> bool {
    stops & ((1 << n) - 1) == 0
}

/// The first index from `from` in `buf` whose bit is set in `stops` of its
/// chunk, or `None` when none is. Fewer than sixteen bytes left at the end
/// are judged by the last sixteen bytes of `buf`, which overlap bytes
/// already judged (their bits are shifted out), so that the end of a head
/// costs one vector check too; only a `buf` shorter than a chunk is left
/// to `short`, which must answer for the same class (relative to `from`).
#[inline(always)]
pub(super) fn run_end(
    buf: &[u8],
    from: usize,
    stops: impl Fn(&[u8; WIDTH]) -> u32,
    short: impl Fn(&[u8]) -> Option<usize>,
) -> Option<usize> {
    let bytes = &buf[from..];
    let mut at = 0;
    while let Some(chunk) = bytes[at..].first_chunk::<WIDTH>() {
        let mask = stops(chunk);
        if mask != 0 {
            return Some(from + at + mask.trailing_zeros() as usize);
        }
        at += WIDTH;
    }
    if at == bytes.len() {
        return None;
    }
    let Some(last) = buf.len().checked_sub(WIDTH) else {
        return short(bytes).map(|n| from + n);
    };
    let chunk = buf[last..].first_chunk::<WIDTH>()?;
    // `last < from + at < buf.len() = last + 16`: the shift is 1..=15.
    let at = from + at;
    let mask = stops(chunk) >> (at - last);
    (mask != 0).then(|| at + mask.trailing_zeros() as usize)
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
// Rust 1.82 (our MSRV) makes every SSE2 intrinsic an `unsafe fn`; since
// 1.87 those that only compute on registers are safe where SSE2 is
// enabled, and their `unsafe` blocks would be reported as unused.
#[allow(unused_unsafe)]
mod vector {
    use super::WIDTH;
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_andnot_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_cmplt_epi8,
        _mm_loadu_si128, _mm_max_epu8, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8, _mm_sub_epi8,
    };

    /// The chunk in a vector register. The load is the only operation
    /// here that touches memory; the others are register arithmetic that
    /// is sound whenever SSE2 is available, which the `cfg` above
    /// guarantees.
    #[inline(always)]
    fn load(chunk: &[u8; WIDTH]) -> __m128i {
        // SAFETY: `chunk` is a reference to exactly 16 initialised bytes,
        // so the 16-byte load reads only memory we may read;
        // `_mm_loadu_si128` has no alignment requirement. SSE2 is enabled
        // for this target (`cfg(target_feature = "sse2")`).
        unsafe { _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>()) }
    }

    /// The mask of the bytes a classifier marked (all ones in a byte = in
    /// the class) inverted: the stops.
    #[inline(always)]
    fn stop_bits(class: __m128i) -> u32 {
        // SAFETY: register arithmetic only; SSE2 is enabled (see `load`).
        !(unsafe { _mm_movemask_epi8(class) } as u32) & 0xffff
    }

    #[inline(always)]
    fn stops(chunk: &[u8; WIDTH], class: impl Fn(__m128i) -> __m128i) -> u32 {
        stop_bits(class(load(chunk)))
    }

    /// Bytes `x` with `lo <= x <= lo + span` (unsigned): subtracting `lo`
    /// wraps everything else above `span`.
    #[inline(always)]
    fn in_range(x: __m128i, lo: u8, span: u8) -> __m128i {
        // SAFETY: register arithmetic only; SSE2 is enabled (see `load`).
        unsafe {
            let t = _mm_sub_epi8(x, _mm_set1_epi8(lo as i8));
            _mm_cmpeq_epi8(_mm_min_epu8(t, _mm_set1_epi8(span as i8)), t)
        }
    }

    #[inline(always)]
    fn letter(x: __m128i) -> __m128i {
        // SAFETY: register arithmetic only; SSE2 is enabled (see `load`).
        // Setting 0x20 maps `A-Z` onto `a-z` and no other byte into it.
        in_range(unsafe { _mm_or_si128(x, _mm_set1_epi8(0x20)) }, b'a', 25)
    }

    /// HTAB, SP, VCHAR, obs-text: everything but controls and DEL.
    #[inline(always)]
    fn value(x: __m128i) -> __m128i {
        // SAFETY: register arithmetic only; SSE2 is enabled (see `load`).
        unsafe {
            let not_control = _mm_cmpeq_epi8(_mm_max_epu8(x, _mm_set1_epi8(0x20)), x);
            let del = _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f));
            let tab = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'\t' as i8));
            _mm_or_si128(_mm_andnot_si128(del, not_control), tab)
        }
    }

    /// Letters, digits and `-`: the bytes of nearly every field name.
    #[inline(always)]
    fn name(x: __m128i) -> __m128i {
        // SAFETY: register arithmetic only; SSE2 is enabled (see `load`).
        unsafe {
            let dash = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'-' as i8));
            _mm_or_si128(_mm_or_si128(letter(x), in_range(x, b'0', 9)), dash)
        }
    }

    #[inline(always)]
    pub(in super::super) fn value_stops(chunk: &[u8; WIDTH]) -> u32 {
        stops(chunk, value)
    }

    /// The stops of `class` and the value stops of one chunk, from one
    /// load.
    #[inline(always)]
    fn and_value_stops(chunk: &[u8; WIDTH], class: impl Fn(__m128i) -> __m128i) -> (u32, u32) {
        let x = load(chunk);
        (stop_bits(class(x)), stop_bits(value(x)))
    }

    /// The name stops and the value stops of one chunk.
    #[inline(always)]
    pub(in super::super) fn field_stops(chunk: &[u8; WIDTH]) -> (u32, u32) {
        and_value_stops(chunk, name)
    }

    /// Visible ASCII, `0x21..=0x7E` (signed compares: bytes from 0x80 up
    /// are negative, so below 0x21).
    #[inline(always)]
    pub(in super::super) fn graphic_stops(chunk: &[u8; WIDTH]) -> u32 {
        // SAFETY: register arithmetic only; SSE2 is enabled (see `load`).
        stops(chunk, |x| unsafe {
            let above_space = _mm_cmpgt_epi8(x, _mm_set1_epi8(0x20));
            let below_del = _mm_cmplt_epi8(x, _mm_set1_epi8(0x7f));
            _mm_and_si128(above_space, below_del)
        })
    }

    #[inline(always)]
    pub(in super::super) fn name_stops(chunk: &[u8; WIDTH]) -> u32 {
        stops(chunk, name)
    }

    /// Letters, digits, `-`, `.` and `:`: the bytes of nearly every host.
    #[inline(always)]
    fn host(x: __m128i) -> __m128i {
        // SAFETY: register arithmetic only; SSE2 is enabled (see `load`).
        // `0`..`:` and `-`..`.` are contiguous.
        unsafe {
            let digit_colon = in_range(x, b'0', 10);
            let dash_dot = in_range(x, b'-', 1);
            _mm_or_si128(_mm_or_si128(letter(x), digit_colon), dash_dot)
        }
    }

    #[inline(always)]
    pub(in super::super) fn host_stops(chunk: &[u8; WIDTH]) -> u32 {
        stops(chunk, host)
    }

    /// The host stops and the value stops of one chunk.
    #[inline(always)]
    pub(in super::super) fn host_value_stops(chunk: &[u8; WIDTH]) -> (u32, u32) {
        and_value_stops(chunk, host)
    }
}

/// The same masks from the classes' definitions, a byte at a time: the
/// fallback for targets without SSE2, and the oracle of the unit tests.
pub(super) mod scalar {
    #[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
    use super::WIDTH;

    #[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
    pub(super) fn stops(chunk: &[u8; WIDTH], member: impl Fn(u8) -> bool) -> u32 {
        chunk
            .iter()
            .enumerate()
            .fold(0, |mask, (i, &b)| mask | (u32::from(!member(b)) << i))
    }

    #[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
    pub(in super::super) fn is_value(b: u8) -> bool {
        b == b'\t' || (b >= 0x20 && b != 0x7f)
    }

    #[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
    pub(in super::super) fn is_name(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b == b'-'
    }

    #[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
    pub(in super::super) fn is_host(b: u8) -> bool {
        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b':')
    }
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
mod vector {
    use super::{scalar, WIDTH};

    pub(in super::super) fn value_stops(chunk: &[u8; WIDTH]) -> u32 {
        scalar::stops(chunk, scalar::is_value)
    }

    pub(in super::super) fn graphic_stops(chunk: &[u8; WIDTH]) -> u32 {
        scalar::stops(chunk, |b| b.is_ascii_graphic())
    }

    pub(in super::super) fn name_stops(chunk: &[u8; WIDTH]) -> u32 {
        scalar::stops(chunk, scalar::is_name)
    }

    pub(in super::super) fn host_stops(chunk: &[u8; WIDTH]) -> u32 {
        scalar::stops(chunk, scalar::is_host)
    }

    pub(in super::super) fn field_stops(chunk: &[u8; WIDTH]) -> (u32, u32) {
        (name_stops(chunk), value_stops(chunk))
    }

    pub(in super::super) fn host_value_stops(chunk: &[u8; WIDTH]) -> (u32, u32) {
        (host_stops(chunk), value_stops(chunk))
    }
}

pub(super) use vector::{
    field_stops, graphic_stops, host_stops, host_value_stops, name_stops, value_stops,
};

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte value at every position of a chunk of otherwise plain
    /// bytes, with and without a second odd byte after it: the vector
    /// masks equal the definitions'.
    /// A vector mask function and the definition of its class.
    type Class = (fn(&[u8; WIDTH]) -> u32, fn(u8) -> bool);

    #[test]
    fn masks_match_the_definitions() {
        let classes: [Class; 4] = [
            (value_stops, scalar::is_value),
            (graphic_stops, |b| b.is_ascii_graphic()),
            (name_stops, scalar::is_name),
            (host_stops, scalar::is_host),
        ];
        for (vector, member) in classes {
            for b in 0..=255u8 {
                for position in 0..WIDTH {
                    for other in [b'a', 0, b':', 0x80, 0xff, b'\t', b' '] {
                        let mut chunk = [b'a'; WIDTH];
                        chunk[(position + 5) % WIDTH] = other;
                        chunk[position] = b;
                        assert_eq!(vector(&chunk), scalar::stops(&chunk, member), "{chunk:?}");
                    }
                }
            }
        }
    }

    /// The one-load pairs equal the two masks they stand for, for every
    /// byte value at every position.
    #[test]
    fn field_stops_are_the_name_and_value_stops() {
        for b in 0..=255u8 {
            for position in 0..WIDTH {
                let mut chunk = *b"Accept: */*\r\nAbc";
                chunk[position] = b;
                let expected = (
                    scalar::stops(&chunk, scalar::is_name),
                    scalar::stops(&chunk, scalar::is_value),
                );
                assert_eq!(field_stops(&chunk), expected, "{chunk:?}");
                let expected = (
                    scalar::stops(&chunk, scalar::is_host),
                    scalar::stops(&chunk, scalar::is_value),
                );
                assert_eq!(host_value_stops(&chunk), expected, "{chunk:?}");
            }
        }
    }

    /// Every start, every stop (or none), in buffers of every length
    /// around the chunk size: chunks, overlapping tails and short buffers.
    #[test]
    fn runs_end_at_the_first_stop_in_chunks_and_tails() {
        let short = |bytes: &[u8]| bytes.iter().position(|&b| !scalar::is_value(b));
        for len in 0..50 {
            for from in 0..=len {
                for stop in from..=len {
                    let mut bytes = vec![b'x'; len];
                    // A stop before `from` must not count.
                    if from > 0 {
                        bytes[from - 1] = b'\r';
                    }
                    if stop < len {
                        bytes[stop] = b'\n';
                    }
                    let expected = (stop < len).then_some(stop);
                    assert_eq!(
                        run_end(&bytes, from, value_stops, short),
                        expected,
                        "{len} {from} {stop}"
                    );
                }
            }
        }
    }
}

//! Test hook `DISTARR_TEST_POISON=1`: heap memory that no live segment addresses holds a known
//! pattern, which is verified, so that a test can prove that no operation writes outside the
//! segment (or array) it addresses. Off by default; nothing here runs then.
//!
//! With the hook on, on every rank:
//! - each heap window keeps a guard zone of [`GUARD`] bytes at both ends of this rank's memory
//!   (never allocated), and every allocation is followed by a red zone of at least
//!   [`REDZONE`] bytes (the allocator's unit is `len + REDZONE` rounded up to 64 bytes);
//! - a new window's memory is filled with the pattern (instead of zeros), and so is a segment's
//!   whole unit when it is freed: allocations start with the pattern, not zeros (they are
//!   "uninitialised" memory, as reused heap memory always is);
//! - [`Runtime::check_heap_poison`](crate::Runtime::check_heap_poison) verifies that the guards,
//!   every free block and every live segment's tail (its red zone and padding) still hold the
//!   pattern, and reports the first byte that does not. Every [`Runtime::sync`](crate::Runtime::sync)
//!   and [`Runtime::finalize`](crate::Runtime::finalize) runs that check (after their barrier, when
//!   every legitimate write is complete) and aborts the job with the report when it fails.
//!
//! The pattern has a period of 256 bytes and 256 distinct byte values, keyed by the offset in
//! the window, so a stray copy of poisoned bytes to another offset is caught as well.
//!
//! Kept self-contained (this module, one branch in window creation, alloc, free, sync and
//! finalize, and `Allocator::reserve`) so that it is easy to replace or merge with another
//! guard mechanism.

use crate::alloc::{round_up, Allocator};
use std::sync::OnceLock;

/// Bytes of guard zone at each end of every rank's memory in each heap window.
pub(crate) const GUARD: u64 = 4096;

/// Smallest red zone after every allocation.
pub(crate) const REDZONE: u64 = 64;

/// Whether `DISTARR_TEST_POISON=1` (read once per process).
pub(crate) fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var("DISTARR_TEST_POISON").is_ok_and(|v| v.trim() == "1"))
}

/// Guard bytes at each end of a window's memory: [`GUARD`] with the hook on, else 0.
pub(crate) fn guard() -> u64 {
    if enabled() {
        GUARD
    } else {
        0
    }
}

/// The allocator's unit for an allocation of `len` bytes: `round_up(len)`, plus the red zone
/// with the hook on. `None` on overflow.
pub(crate) fn unit(len: u64) -> Option<u64> {
    if enabled() {
        round_up(len.checked_add(REDZONE)?)
    } else {
        round_up(len)
    }
}

/// The pattern byte at window offset `off`: 256 distinct values per period.
#[inline]
fn byte_at(off: u64) -> u8 {
    (off as u8).wrapping_mul(0x9D) ^ 0xA7
}

/// Fills `[off, off + len)` of the window memory at `base` with the pattern.
///
/// # Safety
/// `base + off .. base + off + len` is this rank's window memory, valid for writes, and no other
/// access to it happens concurrently (the range is free: no segment addresses it).
pub(crate) unsafe fn fill(base: *mut u8, off: u64, len: u64) {
    for o in off..off + len {
        // SAFETY: inside the writable range (contract); volatile so that the compiler keeps
        // every store to memory that other processes map.
        unsafe { base.add(o as usize).write_volatile(byte_at(o)) };
    }
}

/// Where the first byte that does not hold the pattern lies, with its value.
fn first_bad(base: *const u8, off: u64, len: u64) -> Option<(u64, u8)> {
    // Whole 8-byte words compared against the expected word; single bytes at the ends.
    let end = off + len;
    let mut o = off;
    let check_byte = |o: u64| {
        // SAFETY: `o` is inside the checked range, which the caller (`check`) takes from this
        // rank's window memory; a volatile read, as other processes map the memory.
        let v = unsafe { base.add(o as usize).read_volatile() };
        (v != byte_at(o)).then_some((o, v))
    };
    while o < end && (base as usize + o as usize) % 8 != 0 {
        if let Some(bad) = check_byte(o) {
            return Some(bad);
        }
        o += 1;
    }
    while o + 8 <= end {
        let want = u64::from_le_bytes(std::array::from_fn(|k| byte_at(o + k as u64)));
        // SAFETY: the address is 8-aligned (loop above) and the word lies inside the checked
        // range (see `check_byte`).
        let got = unsafe { base.add(o as usize).cast::<u64>().read_volatile() };
        if got != want {
            return (o..o + 8).find_map(check_byte);
        }
        o += 8;
    }
    (o..end).find_map(check_byte)
}

/// One heap window as the check sees it: this rank's memory and what is allocated in it.
pub(crate) struct WindowView<'a> {
    pub base: *const u8,
    pub size: u64,
    pub alloc: &'a Allocator,
    /// `(offset, len)` of every live segment in this window.
    pub live: Vec<(u64, u64)>,
}

/// Verifies the pattern in the guards, free blocks and segment tails of every window; returns a
/// description of the first corrupted byte.
pub(crate) fn check(windows: &[WindowView<'_>]) -> Result<(), String> {
    for (wi, w) in windows.iter().enumerate() {
        let mut ranges: Vec<(u64, u64, String)> = vec![
            (0, GUARD, "the guard zone before the window's memory".to_string()),
            (
                w.size - GUARD,
                GUARD,
                "the guard zone after the window's memory".to_string(),
            ),
        ];
        ranges.extend(
            w.alloc
                .free_blocks()
                .map(|(o, l)| (o, l, format!("free block [{o}, {})", o + l))),
        );
        for &(o, l) in &w.live {
            let u = unit(l).unwrap_or(l);
            ranges.push((
                o + l,
                u - l,
                format!("the red zone after the segment at [{o}, {})", o + l),
            ));
        }
        for (o, l, what) in ranges {
            if let Some((at, v)) = first_bad(w.base, o, l) {
                return Err(format!(
                    "heap window {wi}: byte {at} (in {what}) is {v:#04x}, not the pattern's {:#04x}: \
                     something wrote outside the segment it addresses",
                    byte_at(at)
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_has_distinct_bytes_per_period() {
        let mut seen = [false; 256];
        for o in 0..256 {
            seen[usize::from(byte_at(o))] = true;
            assert_eq!(byte_at(o), byte_at(o + 256 * 7));
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn finds_the_first_bad_byte() {
        let mut mem = vec![0u64; 1024];
        let base = mem.as_mut_ptr().cast::<u8>();
        // SAFETY: `base` points to 8192 bytes owned by `mem`, used only here.
        unsafe { fill(base, 0, 8192) };
        assert_eq!(first_bad(base, 0, 8192), None);
        assert_eq!(first_bad(base, 3, 100), None);
        for at in [0u64, 5, 8, 4095, 8191] {
            // SAFETY: `at < 8192`, inside `mem`.
            unsafe { *base.add(at as usize) ^= 1 };
            assert_eq!(first_bad(base, 0, 8192), Some((at, byte_at(at) ^ 1)), "byte {at}");
            assert_eq!(first_bad(base, at + 1, 8191 - at), None, "after byte {at}");
            // SAFETY: as above.
            unsafe { *base.add(at as usize) ^= 1 };
        }
    }
}

//! The deterministic first-fit allocator that carves allocations out of one heap window.
//!
//! Every rank runs the same sequence of `alloc`/`free` calls (allocation is collective), so
//! every rank computes the same offsets: a global pointer is just (rank, segment, offset).
use std::collections::BTreeMap;

/// Alignment of every allocation inside a window, bytes (a cache line; also enough for any
/// element type and for MPI atomics).
pub const ALIGN: u64 = 64;

/// Rounds `n` up to a multiple of [`ALIGN`] (at least one unit, so allocations are distinct).
pub fn round_up(n: u64) -> Option<u64> {
    let n = n.max(1);
    n.checked_add(ALIGN - 1).map(|v| v / ALIGN * ALIGN)
}

/// Free-list allocator over `0..size`: free blocks keyed by start offset, coalesced on free.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allocator {
    size: u64,
    free: BTreeMap<u64, u64>,
}

impl Allocator {
    /// An allocator over `size` bytes, all free.
    pub fn new(size: u64) -> Allocator {
        let mut free = BTreeMap::new();
        if size > 0 {
            free.insert(0, size);
        }
        Allocator { size, free }
    }

    /// Total bytes managed.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Bytes currently free.
    pub fn free_bytes(&self) -> u64 {
        self.free.values().sum()
    }

    /// First-fit allocation of `len` bytes (rounded up to [`ALIGN`]); returns the offset.
    pub fn alloc(&mut self, len: u64) -> Option<u64> {
        let len = round_up(len)?;
        let (&off, &blk) = self.free.iter().find(|(_, &b)| b >= len)?;
        self.free.remove(&off);
        if blk > len {
            self.free.insert(off + len, blk - len);
        }
        Some(off)
    }

    /// The free blocks `(offset, len)`, in offset order.
    pub fn free_blocks(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.free.iter().map(|(&o, &l)| (o, l))
    }

    /// Takes exactly `[off, off + len)` (`off` and `len` multiples of [`ALIGN`]) out of a free block; false
    /// (nothing changed) when the range is not wholly free. For ranges kept out of use (the guard
    /// zones of the `DISTARR_TEST_POISON` hook).
    pub fn reserve(&mut self, off: u64, len: u64) -> bool {
        let Some(end) = off.checked_add(len) else { return false };
        let Some((&b, &bl)) = self.free.range(..=off).next_back() else {
            return false;
        };
        if len == 0 || len % ALIGN != 0 || off % ALIGN != 0 || b + bl < end {
            return false;
        }
        self.free.remove(&b);
        if off > b {
            self.free.insert(b, off - b);
        }
        if b + bl > end {
            self.free.insert(end, b + bl - end);
        }
        true
    }

    /// Returns `[off, off + round_up(len))` to the free list, merging with its neighbours.
    /// Returns false (and changes nothing) if the range is not wholly allocated.
    pub fn free(&mut self, off: u64, len: u64) -> bool {
        let Some(len) = round_up(len) else { return false };
        let Some(end) = off.checked_add(len) else { return false };
        if end > self.size {
            return false;
        }
        // Overlap checks against the free neighbours on both sides.
        if let Some((&p, &pl)) = self.free.range(..=off).next_back() {
            if p + pl > off {
                return false;
            }
        }
        if let Some((&n, _)) = self.free.range(off..).next() {
            if n < end {
                return false;
            }
        }
        let mut start = off;
        let mut total = len;
        if let Some((&p, &pl)) = self.free.range(..off).next_back() {
            if p + pl == off {
                self.free.remove(&p);
                start = p;
                total += pl;
            }
        }
        if let Some(&nl) = self.free.get(&end) {
            self.free.remove(&end);
            total += nl;
        }
        self.free.insert(start, total);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn simple() {
        let mut a = Allocator::new(1024);
        let x = a.alloc(10).unwrap();
        let y = a.alloc(64).unwrap();
        let z = a.alloc(65).unwrap();
        assert_eq!((x, y, z), (0, 64, 128));
        assert_eq!(a.free_bytes(), 1024 - 64 - 64 - 128);
        assert!(a.free(y, 64));
        assert!(!a.free(y, 64), "double free must be refused");
        assert_eq!(a.alloc(1).unwrap(), 64, "first fit reuses the hole");
        assert!(a.alloc(2000).is_none());
        assert!(!a.free(4096, 1));
    }

    #[test]
    fn reserve_carves_exact_ranges() {
        let mut a = Allocator::new(1024);
        assert!(a.reserve(0, 64));
        assert!(a.reserve(960, 64));
        assert!(!a.reserve(960, 64), "already taken");
        assert!(!a.reserve(100, 64), "unaligned offset");
        assert!(!a.reserve(128, 10), "length not a multiple of the unit");
        assert_eq!(a.free_blocks().collect::<Vec<_>>(), vec![(64, 896)]);
        assert_eq!(a.alloc(896), Some(64));
        assert!(a.alloc(1).is_none());
        assert!(a.free(64, 896));
        assert!(a.reserve(128, 128));
        assert_eq!(a.free_blocks().collect::<Vec<_>>(), vec![(64, 64), (256, 704)]);
    }

    proptest! {
        /// Random alloc/free sequences: live blocks never overlap, stay inside the window,
        /// and freeing everything restores one whole free block.
        #[test]
        fn no_overlap_and_full_coalesce(ops in proptest::collection::vec((any::<bool>(), 0u64..300, any::<prop::sample::Index>()), 1..200)) {
            let size = 8192;
            let mut a = Allocator::new(size);
            let mut live: Vec<(u64, u64)> = Vec::new();
            for (is_alloc, len, idx) in ops {
                if is_alloc || live.is_empty() {
                    if let Some(off) = a.alloc(len) {
                        let l = round_up(len).unwrap();
                        prop_assert!(off % ALIGN == 0);
                        prop_assert!(off + l <= size);
                        for &(o, ol) in &live {
                            prop_assert!(off + l <= o || o + ol <= off, "overlap");
                        }
                        live.push((off, l));
                    } else {
                        // Refusal only when no free block is big enough.
                        let need = round_up(len).unwrap();
                        prop_assert!(a.free.values().all(|&b| b < need));
                    }
                } else {
                    let (o, l) = live.swap_remove(idx.index(live.len()));
                    prop_assert!(a.free(o, l));
                }
                let used: u64 = live.iter().map(|x| x.1).sum();
                prop_assert_eq!(a.free_bytes() + used, size);
            }
            for (o, l) in live.drain(..) {
                prop_assert!(a.free(o, l));
            }
            prop_assert_eq!(a, Allocator::new(size));
        }
    }
}

//! The symmetric heap: MPI windows ("heap windows") carved into allocations ("segments").
use crate::alloc::Allocator;
use crate::error::{ensure, Error, ErrorKind, Result};
use distarr_ffi::Win;
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

/// Handle of a collective allocation in the symmetric heap: the same value on every rank.
///
/// It packs a slot index and a generation, so a freed (or forged) handle is detected instead
/// of reaching memory that now belongs to another allocation. `0` is never valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Seg(u32);

const SLOT_BITS: u32 = 20;
const SLOT_MASK: u32 = (1 << SLOT_BITS) - 1;
const GEN_MASK: u32 = (1 << (32 - SLOT_BITS)) - 1;

impl Seg {
    /// The raw id (for C and other front ends).
    pub fn raw(self) -> u32 {
        self.0
    }

    /// Rebuilds a handle from a raw id. Any value is accepted; invalid ones are reported by
    /// the operation that uses them.
    pub fn from_raw(raw: u32) -> Seg {
        Seg(raw)
    }

    fn new(slot: usize, gen: u32) -> Seg {
        // slot < MAX_SLOTS and gen <= GEN_MASK, so the packing is lossless.
        Seg((gen << SLOT_BITS) | (slot as u32 + 1))
    }

    fn slot(self) -> Option<usize> {
        (self.0 & SLOT_MASK).checked_sub(1).map(|s| s as usize)
    }

    fn gen(self) -> u32 {
        self.0 >> SLOT_BITS
    }
}

const MAX_SLOTS: usize = SLOT_MASK as usize - 1;

/// Where an allocation lives.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Allocation {
    pub window: usize,
    pub offset: u64,
    pub len: u64,
}

impl Allocation {
    /// The window displacement of `[offset, offset + len)` inside this allocation, after the
    /// bounds check.
    #[inline]
    pub fn disp(&self, offset: u64, len: u64) -> Result<u64> {
        let end = offset.checked_add(len);
        ensure!(
            end.is_some_and(|e| e <= self.len),
            OutOfBounds,
            "bytes [{offset}, {offset}+{len}) outside segment of {} bytes",
            self.len
        );
        Ok(self.offset + offset)
    }
}

#[derive(Debug)]
struct Slot {
    gen: u32,
    alloc: Option<Allocation>,
}

/// One heap window: the MPI window(s) and the allocator over them.
#[derive(Debug)]
pub(crate) struct HeapWindow {
    /// Window used for RMA operations, over the runtime's communicator (`None` only while the
    /// shared window itself serves RMA: see `rma()`).
    pub rma_own: Option<Win>,
    /// Node-shared window (kind `Shared`); serves RMA too when `rma_own` is `None`.
    pub shm: Option<Win>,
    /// Local base pointer and size per rank.
    pub size: u64,
    /// Base pointer of each rank's memory for load/store access (null when not reachable).
    pub peers: Vec<*mut u8>,
    pub alloc: Allocator,
    /// Memory of `Create`/`Dynamic` windows: an anonymous mapping that lives (and stays at
    /// `map_base`) until the MPI window is freed (see `free`).
    pub mapping: Option<memmap2::MmapMut>,
    /// Start of `mapping` (null without one).
    pub map_base: *mut u8,
    /// Window displacement of each rank's memory: its attached base address for dynamic RMA
    /// windows (`Dynamic`, and `Shared` over several nodes on MPICH), empty (all zero)
    /// otherwise. Every RMA operation uses `base_disp[rank] + offset`.
    pub base_disp: Vec<u64>,
    /// Do 64-bit compare-and-swap to this rank with a CPU atomic ([`HeapWindow::local_cas_u64`])
    /// instead of `MPI_Compare_and_swap`, which segfaults there on Open MPI < 4.1.5 osc/rdma
    /// (`mca_btl_vader_emu_acswap` sends to the absent self endpoint). Correct because vader
    /// executes other ranks' emulated 64-bit atomics with CPU atomics in the target process.
    pub cas_self_local: bool,
    /// Gets and puts of this window done by loads/stores (node-local fast path) and through
    /// MPI (see [`crate::Runtime::transfer_counts`]).
    pub copies: [Cell<u64>; 2],
}

impl HeapWindow {
    /// A heap window over MPI-allocated memory (no mapping, displacements from 0).
    pub fn new(rma_own: Option<Win>, shm: Option<Win>, size: u64, peers: Vec<*mut u8>) -> HeapWindow {
        HeapWindow {
            rma_own,
            shm,
            size,
            peers,
            alloc: Allocator::new(size),
            mapping: None,
            map_base: std::ptr::null_mut(),
            base_disp: Vec::new(),
            cas_self_local: false,
            copies: [Cell::new(0), Cell::new(0)],
        }
    }

    /// Counts one get or put: by loads/stores (`local`) or through MPI.
    #[inline(always)]
    fn count(&self, local: bool) {
        let c = &self.copies[usize::from(!local)];
        c.set(c.get() + 1);
    }

    /// Node-local fast path: copies `len` bytes from `rank`'s memory at window displacement
    /// `disp` ([`HeapWindow::rma_disp`]) to `dst` with a memcpy and returns true, or returns
    /// false (nothing done) when `rank`'s memory is not reachable by loads: the caller then
    /// goes through MPI. Either way the transfer is counted (`copies`).
    ///
    /// # Safety
    /// `disp + len` lies inside `rank`'s window memory (the callers bounds-check it), and `dst`
    /// is valid for `len` writes and does not overlap that memory.
    #[inline]
    pub unsafe fn load(&self, rank: usize, disp: u64, dst: *mut u8, len: usize) -> bool {
        let p = self.peers[rank];
        self.count(!p.is_null());
        if p.is_null() {
            return false;
        }
        let disp = self.local_disp(rank, disp);
        // SAFETY: `p` is the base of `rank`'s memory in a node-shared window and the range is
        // in bounds; `dst` is valid and disjoint (this function's contract). Concurrent writes by
        // other ranks are racy exactly as an MPI_Get would be.
        unsafe { std::ptr::copy_nonoverlapping(p.add(disp as usize), dst, len) };
        true
    }

    /// Node-local fast path for stores: the mirror of [`HeapWindow::load`].
    ///
    /// # Safety
    /// As [`HeapWindow::load`], with `src` valid for `len` reads.
    #[inline]
    pub unsafe fn store(&self, rank: usize, disp: u64, src: *const u8, len: usize) -> bool {
        let p = self.peers[rank];
        self.count(!p.is_null());
        if p.is_null() {
            return false;
        }
        let disp = self.local_disp(rank, disp);
        // SAFETY: as in `load`, with the copy direction reversed.
        unsafe { std::ptr::copy_nonoverlapping(src, p.add(disp as usize), len) };
        true
    }

    #[inline]
    pub fn rma(&self) -> &Win {
        match (&self.rma_own, &self.shm) {
            (Some(w), _) => w,
            (None, Some(w)) => w,
            // Construction always sets one of the two.
            (None, None) => unreachable!("heap window without an MPI window"),
        }
    }

    pub fn local_base(&self) -> *mut u8 {
        match (&self.shm, &self.mapping) {
            (Some(w), _) => w.base(),
            (None, Some(_)) => self.map_base,
            (None, None) => self.rma().base(),
        }
    }

    /// 64-bit compare-and-swap on byte `offset` of this rank's own window memory with a CPU
    /// atomic (see `cas_self_local`); returns the old value. The caller has bounds-checked
    /// `offset .. offset + 8`, checked 8-byte alignment, and flushed its operations to itself.
    pub fn local_cas_u64(&self, offset: u64, compare: u64, swap: u64) -> u64 {
        // SAFETY: `offset + 8 <= size` and `offset % 8 == 0` (caller), and the local base is
        // page-aligned, so the pointer is in bounds and aligned for an AtomicU64.
        let p = unsafe { self.local_base().add(offset as usize) }.cast::<u64>();
        // SAFETY:
        // - `p` is valid and aligned (above) for the window's life, which outlives `self`'s borrow;
        // - all concurrent accesses to the word are atomic: other ranks' 64-bit MPI atomics are
        //   executed with CPU atomics in this process (see `cas_self_local`).
        let a = unsafe { AtomicU64::from_ptr(p) };
        match a.compare_exchange(compare, swap, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(v) | Err(v) => v,
        }
    }

    /// The window displacement of byte `offset` of `rank`'s memory, for RMA calls.
    #[inline]
    pub fn rma_disp(&self, rank: usize, offset: u64) -> u64 {
        self.base_disp.get(rank).map_or(offset, |b| b + offset)
    }

    /// The byte offset in `rank`'s memory of window displacement `disp` (the inverse of
    /// [`HeapWindow::rma_disp`]), for the load/store path.
    #[inline]
    fn local_disp(&self, rank: usize, disp: u64) -> u64 {
        self.base_disp.get(rank).map_or(disp, |b| disp - b)
    }

    /// Frees the MPI windows (**collective**): the RMA window first, then the memory (the
    /// mapping of `Create`/`Dynamic` windows is unmapped when `self` drops, after the window).
    pub fn free(mut self) -> Result<()> {
        if let Some(w) = self.rma_own.take() {
            w.unlock_all()?;
            if !self.base_disp.is_empty() {
                w.detach(self.map_base)?;
            }
            w.free()?;
        }
        if let Some(w) = self.shm.take() {
            w.unlock_all()?;
            w.free()?;
        }
        Ok(())
    }
}

/// All heap windows and the allocation table.
#[derive(Debug, Default)]
pub(crate) struct Heap {
    pub windows: Vec<HeapWindow>,
    slots: Vec<Slot>,
    free_slots: Vec<usize>,
    pub total_bytes: u64,
}

impl Heap {
    /// The allocation behind a handle.
    #[inline]
    pub fn resolve(&self, seg: Seg) -> Result<Allocation> {
        let bad = || {
            Error::new(
                ErrorKind::InvalidSegment,
                format!("segment {:#x} is freed or was never allocated", seg.0),
            )
        };
        let slot = seg.slot().and_then(|s| self.slots.get(s)).ok_or_else(bad)?;
        if slot.gen != seg.gen() {
            return Err(bad());
        }
        slot.alloc.ok_or_else(bad)
    }

    /// The fast path of [`Heap::resolve`] + [`Allocation::disp`] for one-sided operations: the
    /// heap window and the displacement of `[offset, offset + len)` in it, or `None` when the
    /// handle is invalid or the range is out of bounds (the caller then reruns the checks above
    /// for the error). Builds no error value, so it inlines into a few compares.
    #[inline(always)]
    pub fn locate(&self, seg: Seg, offset: u64, len: u64) -> Option<(&HeapWindow, u64)> {
        // Slot 0 of a handle (never valid) wraps to u32::MAX, which no table reaches.
        let slot = self.slots.get((seg.0 & SLOT_MASK).wrapping_sub(1) as usize)?;
        let a = match &slot.alloc {
            Some(a) if slot.gen == seg.gen() => a,
            _ => return None,
        };
        if !offset.checked_add(len).is_some_and(|e| e <= a.len) {
            return None;
        }
        Some((self.windows.get(a.window)?, a.offset + offset))
    }

    /// Records an allocation; returns its handle.
    pub fn insert(&mut self, a: Allocation) -> Result<Seg> {
        let slot = match self.free_slots.pop() {
            Some(s) => s,
            None => {
                ensure!(
                    self.slots.len() < MAX_SLOTS,
                    OutOfMemory,
                    "more than {MAX_SLOTS} live segments"
                );
                self.slots.push(Slot { gen: 0, alloc: None });
                self.slots.len() - 1
            }
        };
        let s = &mut self.slots[slot];
        s.alloc = Some(a);
        Ok(Seg::new(slot, s.gen))
    }

    /// Forgets an allocation (the handle becomes stale) and returns it.
    pub fn remove(&mut self, seg: Seg) -> Result<Allocation> {
        let a = self.resolve(seg)?;
        if let Some(slot) = seg.slot() {
            let s = &mut self.slots[slot];
            s.alloc = None;
            s.gen = (s.gen + 1) & GEN_MASK;
            self.free_slots.push(slot);
        }
        Ok(a)
    }

    /// Every live allocation.
    pub fn allocations(&self) -> impl Iterator<Item = &Allocation> + '_ {
        self.slots.iter().filter_map(|s| s.alloc.as_ref())
    }

    /// Live allocations (for finalize diagnostics).
    pub fn live(&self) -> usize {
        self.slots.iter().filter(|s| s.alloc.is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn stale_handles_are_detected() {
        let mut h = Heap::default();
        let a = h
            .insert(Allocation {
                window: 0,
                offset: 0,
                len: 8,
            })
            .unwrap();
        assert!(h.resolve(a).is_ok());
        h.remove(a).unwrap();
        assert_eq!(h.resolve(a).unwrap_err().kind(), ErrorKind::InvalidSegment);
        let b = h
            .insert(Allocation {
                window: 0,
                offset: 64,
                len: 8,
            })
            .unwrap();
        assert_ne!(a, b, "a reused slot gets a new generation");
        assert_eq!(h.resolve(a).unwrap_err().kind(), ErrorKind::InvalidSegment);
        assert_eq!(h.resolve(b).unwrap().offset, 64);
        assert!(h.resolve(Seg::from_raw(0)).is_err());
        assert!(h.resolve(Seg::from_raw(u32::MAX)).is_err());
    }

    proptest! {
        #[test]
        fn seg_packing_round_trips(slot in 0usize..MAX_SLOTS, gen in 0u32..=GEN_MASK) {
            let s = Seg::new(slot, gen);
            prop_assert_ne!(s.raw(), 0);
            prop_assert_eq!(s.slot(), Some(slot));
            prop_assert_eq!(s.gen(), gen);
        }

        #[test]
        fn bounds_check_is_exact(len in 0u64..10_000, off in 0u64..20_000, n in 0u64..20_000) {
            let a = Allocation { window: 0, offset: 640, len };
            let r = a.disp(off, n);
            prop_assert_eq!(r.is_ok(), off + n <= len);
            if let Ok(d) = r { prop_assert_eq!(d, 640 + off); }
        }

        #[test]
        fn overflowing_ranges_are_refused(off in (u64::MAX - 100)..=u64::MAX, n in 1u64..1000) {
            let a = Allocation { window: 0, offset: 0, len: u64::MAX };
            prop_assert!(a.disp(off, n).is_err() || off.checked_add(n).is_some());
        }
    }
}

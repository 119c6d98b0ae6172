//! This rank's local block: the elements it stores, in place or as a copy.
#![allow(unsafe_code)]
use super::DistArray;
use crate::bytes;
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};

impl DistArray {
    /// This rank's elements as one box, for direct loads and stores (the C ABI's
    /// `distarr_local_block`): `Some((ptr, lo, hi))` where `ptr` points at this rank's part of
    /// the segment, holding the global box `[lo, hi)` densely in C order. When the rank holds
    /// nothing, `ptr` is null and `lo == hi` (an empty box; for a 0-d array the null pointer is
    /// the only sign, as its box `[(), ())` holds one element). `None` when `self` is a view (not the base array) or
    /// the rank's elements are not one box (block-cyclic with several blocks per rank along a
    /// dimension). The memory stays valid until the array is freed. Local; accesses through
    /// the pointer follow the rules of [`DistArray::with_local_block_mut`].
    #[allow(clippy::type_complexity)] // (pointer, lo, hi): named at the one call site
    pub fn local_block_ptr(&self) -> Result<Option<(*mut u8, Vec<usize>, Vec<usize>)>> {
        self.check_live()?;
        crate::engine::check_not_pending(self, true)?;
        if !self.is_base() {
            return Ok(None);
        }
        let me = self.base.rt.rank();
        let dist = &self.base.dist;
        let nd = self.ndim();
        let (ptr, _) = self.base.rt.local_ptr(self.base.seg()?)?;
        if dist.local_len(me) == 0 {
            return Ok(Some((std::ptr::null_mut(), vec![0; nd], vec![0; nd])));
        }
        let (mut lo, mut hi) = (Vec::with_capacity(nd), Vec::with_capacity(nd));
        for d in 0..nd {
            match dist.owned_ranges(me, d).as_slice() {
                [(g0, g1, 0)] => {
                    lo.push(*g0);
                    hi.push(*g1);
                }
                _ => return Ok(None),
            }
        }
        Ok(Some((ptr, lo, hi)))
    }

    /// Shape of this rank's local block: the dense C-order array of the elements it stores
    /// (for block-cyclic layouts, its blocks packed together, as in ScaLAPACK). Local.
    pub fn local_shape(&self) -> Vec<usize> {
        self.base.dist.local_shape(self.base.rt.rank())
    }

    /// A copy of this rank's local block of the base array as an `ndarray`. Local: it reads
    /// only this rank's memory, which only this rank's collective operations write, so it sees
    /// every collective operation this rank has completed (one-sided writes by other ranks
    /// need a [`Runtime::sync`](distarr_runtime::Runtime::sync) first). An `InvalidArgument`
    /// error while deferred operations that write the array are pending: run them first with
    /// [`crate::flush`] (or a sync; both collective).
    pub fn local_block<T: Element>(&self) -> Result<ndarray::ArrayD<T>> {
        self.check_live()?;
        crate::engine::check_not_pending(self, false)?;
        self.check_dtype::<T>()?;
        let shape = self.local_shape();
        let n: usize = shape.iter().product();
        let rt = &self.base.rt;
        let mut b = vec![0u8; n * self.dtype().size()];
        rt.get(&mut b, rt.rank(), self.base.seg()?, 0)?;
        ndarray::ArrayD::from_shape_vec(shape, bytes::to_vec(&b)).map_err(|e| Error::internal(e.to_string()))
    }

    /// Calls `f` with a mutable `ndarray` view of this rank's local block of the base array,
    /// in place in the symmetric heap (no copy). Validates the element type (not bool: its
    /// memory may hold bytes other than 0 and 1), the shape against the segment length and the
    /// pointer's alignment. Local.
    ///
    /// # Safety
    /// While `f` runs, no other rank may access this rank's block: no one-sided operation, and
    /// no collective operation still running on another rank that reads this rank's elements.
    /// Calling it between two [`Runtime::sync`](distarr_runtime::Runtime::sync) calls that all
    /// ranks make is enough (the sync after it also orders its writes before other ranks'
    /// reads).
    #[allow(unsafe_code)]
    pub unsafe fn with_local_block_mut<T: Element, R>(
        &self,
        f: impl FnOnce(ndarray::ArrayViewMutD<'_, T>) -> R,
    ) -> Result<R> {
        self.check_live()?;
        crate::engine::check_not_pending(self, true)?;
        self.check_dtype::<T>()?;
        if T::DTYPE == DType::Bool {
            return Err(Error::dtype(
                "in-place views of bool arrays are not offered; use local_block",
            ));
        }
        let shape = self.local_shape();
        let n: usize = shape.iter().product();
        let (ptr, len) = self.base.rt.local_ptr(self.base.seg()?)?;
        if (n * std::mem::size_of::<T>()) as u64 > len {
            return Err(Error::internal("local block larger than its segment"));
        }
        if (ptr as usize) % std::mem::align_of::<T>() != 0 {
            return Err(Error::internal("local block is not aligned for its element type"));
        }
        let ptr = if n == 0 {
            std::ptr::NonNull::<T>::dangling().as_ptr()
        } else {
            ptr.cast::<T>()
        };
        // SAFETY:
        // - `ptr` is aligned for T and valid for `n` elements of T (checked above; the segment
        //   is this rank's window memory, alive while `self` holds the storage);
        // - T is a non-bool numeric type, so every bit pattern is a valid value;
        // - the C-order shape has exactly `n` elements, so the view stays in bounds;
        // - exclusive access while `f` runs is the caller's contract (see # Safety).
        let view = unsafe { ndarray::ArrayViewMutD::from_shape_ptr(shape, ptr) };
        Ok(f(view))
    }
}

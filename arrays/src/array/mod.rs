//! Distributed N-d arrays on the runtime's symmetric heap.
//!
//! A [`DistArray`] is a view ([`ViewSpec`]) of a base array whose elements live in one heap
//! segment, spread over the ranks by a [`Distribution`]. Every rank holds the same metadata
//! and answers index questions locally; data moves only through one-sided gets and puts.
//!
//! The methods are grouped by concern: creation ([`create`](self::create)), one-sided regions
//! ([`region`](self::region)), collective whole-array operations ([`ops`](self::ops)), this
//! rank's local block ([`local`](self::local)) and views ([`views`](self::views)).
//!
//! Collective calls (every rank, same order, same arguments): creation, `free`, every
//! operation that produces or modifies a whole array (`copy_from`, `astype`, `fill`, …),
//! `gather`/`scatter`. One-sided (any rank, alone): region `get`/`put`/`acc`, `locate`,
//! metadata queries. How the two are ordered is described in the crate documentation.
mod create;
mod local;
mod ops;
mod region;
mod views;

pub(crate) use region::RegionRead;

use crate::dist::Distribution;
use crate::dtype::{DType, Element};
use crate::error::{Error, ErrorKind, Result};
use crate::view::ViewSpec;
use distarr_runtime::{Runtime, Seg};
use std::cell::Cell;
use std::rc::Rc;

impl From<distarr_runtime::Error> for Error {
    fn from(e: distarr_runtime::Error) -> Error {
        use distarr_runtime::ErrorKind as K;
        let kind = match e.kind() {
            K::OutOfMemory => ErrorKind::OutOfMemory,
            K::OutOfBounds | K::RankOutOfRange => ErrorKind::OutOfBounds,
            K::InvalidSegment => ErrorKind::Freed,
            K::InvalidArgument | K::Misaligned => ErrorKind::InvalidArgument,
            K::CollectiveMismatch => ErrorKind::CollectiveMismatch,
            _ => ErrorKind::Runtime,
        };
        Error::new(kind, e.message().to_string())
    }
}

/// Storage shared by an array and all its views, with the replicated bookkeeping the engine
/// synchronises by (see `crate::engine`).
pub(crate) struct Base {
    pub(crate) rt: Runtime,
    /// The heap segment, `None` until the array is first computed when it is the result of a
    /// deferred operation (a temporary that dies in the queue is never allocated).
    seg: Cell<Option<Seg>>,
    /// The allocation key (digest of shape, dtype, layout) every rank agrees on.
    key: u64,
    pub(crate) dist: Distribution,
    pub(crate) dtype: DType,
    freed: Cell<bool>,
    /// Freed by the program while deferred operations still used it: no new operation may use
    /// it (`Freed`), and the storage goes (collectively, in queue order) with the last of those
    /// operations — or is never allocated, when they turn out not to be needed.
    retired: Cell<bool>,
    /// Sync epoch of the last collective write (0: never).
    pub(crate) written: Cell<u64>,
    /// Sync epoch of the last collective operation in which a rank read another rank's part.
    pub(crate) read_remote: Cell<u64>,
}

impl Drop for Base {
    /// Frees the segment when the last view goes away — a **collective** call, made in the same
    /// order on every rank because SPMD programs drop the same values in the same order. It is
    /// skipped while unwinding a panic (other ranks would wait forever) and after finalize.
    fn drop(&mut self) {
        if !self.freed.get() && !std::thread::panicking() && !self.rt.is_finalized() {
            self.freed.set(true);
            if let Some(seg) = self.seg.get() {
                if let Err(e) = self.rt.free(seg) {
                    log::warn!(target: "distarr", "freeing an array's storage failed: {e}");
                }
            }
        }
    }
}

impl Base {
    /// The heap segment; an `InvalidArgument` error while the array has none: the result of a
    /// deferred operation not yet computed (callers flush first: see `crate::engine::queue`),
    /// or an array made by [`DistArray::empty_deferred`] not yet written.
    pub(crate) fn seg(&self) -> Result<Seg> {
        self.seg.get().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidArgument,
                "the array has no storage yet: it is to be written by a collective operation first",
            )
        })
    }

    /// The heap segment, allocated now if it is not yet (**collective**: every rank computes
    /// the same deferred operations in the same order, so every rank allocates here).
    pub(crate) fn materialize(&self) -> Result<Seg> {
        if let Some(s) = self.seg.get() {
            return Ok(s);
        }
        let bytes = (self.dist.max_local_len() as u64)
            .checked_mul(self.dtype.size() as u64)
            .ok_or_else(|| Error::new(ErrorKind::OutOfMemory, "array too large"))?;
        let seg = self.rt.alloc_keyed(bytes, self.key)?;
        self.seg.set(Some(seg));
        Ok(seg)
    }
}

/// A distributed N-d array (or a view of one). Cloning gives another view of the same data.
#[derive(Clone)]
pub struct DistArray {
    pub(crate) base: Rc<Base>,
    pub(crate) view: ViewSpec,
}

impl std::fmt::Debug for DistArray {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "DistArray(shape={:?}, dtype={}, layout={:?})",
            self.shape(),
            self.dtype().name(),
            self.base.dist.layout()
        )
    }
}

impl DistArray {
    /// A new array with unspecified contents. **Collective.**
    pub fn empty(rt: &Runtime, shape: &[usize], dtype: DType, layout: crate::dist::Layout) -> Result<DistArray> {
        let a = DistArray::unallocated(rt, shape, dtype, layout)?;
        a.base.materialize()?;
        Ok(a)
    }

    /// A new array for a collective operation to write first (an `out=` argument), whose
    /// storage is allocated by the first collective operation that uses it — or never, when it
    /// is freed while the deferred operations that write it are not needed (a temporary).
    /// One-sided and local-block access before that is an `InvalidArgument` error. Local: the
    /// allocation, when it comes, is collective (every rank runs the same operations).
    pub fn empty_deferred(
        rt: &Runtime,
        shape: &[usize],
        dtype: DType,
        layout: crate::dist::Layout,
    ) -> Result<DistArray> {
        DistArray::unallocated(rt, shape, dtype, layout)
    }

    /// A new array whose storage is allocated when it is first computed (the result of a
    /// deferred operation). Local: the allocation, when it comes, is collective.
    pub(crate) fn unallocated(
        rt: &Runtime,
        shape: &[usize],
        dtype: DType,
        layout: crate::dist::Layout,
    ) -> Result<DistArray> {
        // As NumPy: an array of more than isize::MAX bytes is a shape error ("array is too big"),
        // one that fits that but not the heap is out of memory.
        crate::shape::checked_len_bytes(shape, dtype, "an array")?;
        // Every rank must create the same array: the allocation also agrees on a digest of
        // shape, dtype and layout (same allreduce), so a mismatch is an error on every rank
        // rather than silently different arrays that happen to need the same storage.
        let mut h = std::collections::hash_map::DefaultHasher::new();
        std::hash::Hash::hash(&(shape, dtype.code(), &layout), &mut h);
        let key = std::hash::Hasher::finish(&h);
        let dist = Distribution::new(shape, layout, rt.nranks())?;
        (dist.max_local_len() as u64)
            .checked_mul(dtype.size() as u64)
            .ok_or_else(|| Error::new(ErrorKind::OutOfMemory, format!("array of shape {shape:?} is too large")))?;
        let base = Rc::new(Base {
            rt: rt.clone(),
            seg: Cell::new(None),
            key,
            dist,
            dtype,
            freed: Cell::new(false),
            retired: Cell::new(false),
            written: Cell::new(0),
            read_remote: Cell::new(0),
        });
        Ok(DistArray {
            view: ViewSpec::full(shape)?,
            base,
        })
    }

    /// The runtime this array lives on.
    pub fn runtime(&self) -> &Runtime {
        &self.base.rt
    }

    /// Shape (of this view).
    pub fn shape(&self) -> &[usize] {
        self.view.shape()
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.shape().len()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape().iter().product()
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element type.
    pub fn dtype(&self) -> DType {
        self.base.dtype
    }

    /// The base array's distribution.
    pub fn distribution(&self) -> &Distribution {
        &self.base.dist
    }

    /// Whether this is the whole base array in its own order (not a view).
    pub fn is_base(&self) -> bool {
        self.view.is_contiguous_full() && self.view.shape() == self.view.base_shape()
    }

    /// The heap segment holding the base array's elements (each rank's part is its local block
    /// in C order). Owned by the array: never free it directly. Local. While the array is the
    /// pending result of a deferred operation (it has no storage yet): an `InvalidArgument`
    /// error naming the remedy ([`crate::flush`] or a sync first) with several ranks; with one,
    /// the deferred operations run (as for one-sided accesses).
    pub fn segment(&self) -> Result<Seg> {
        self.check_live()?;
        if self.base.seg.get().is_none() {
            crate::engine::check_not_pending(self, true)?;
        }
        self.base.seg()
    }

    /// Whether two arrays are views of the same storage. Local.
    pub fn shares_storage(&self, other: &DistArray) -> bool {
        Rc::ptr_eq(&self.base, &other.base)
    }

    pub(crate) fn check_live(&self) -> Result<()> {
        if self.base.freed.get() || self.base.retired.get() {
            return Err(Error::new(ErrorKind::Freed, "the array was freed"));
        }
        if self.base.rt.is_finalized() {
            return Err(Error::new(ErrorKind::Runtime, "the runtime was finalized"));
        }
        Ok(())
    }

    /// Checks that `other` is alive and lives on the same runtime as `self`.
    pub(crate) fn check_peer(&self, other: &DistArray) -> Result<()> {
        other.check_live()?;
        if self.base.rt.id() != other.base.rt.id() {
            return Err(Error::new(
                ErrorKind::ForeignRuntime,
                "arrays belong to different runtimes",
            ));
        }
        Ok(())
    }

    pub(crate) fn check_dtype<T: Element>(&self) -> Result<()> {
        if T::DTYPE != self.dtype() {
            return Err(Error::dtype(format!(
                "array holds {}, not {}",
                self.dtype().name(),
                T::DTYPE.name()
            )));
        }
        Ok(())
    }

    /// Owner rank and byte offset (in the owner's part of the segment) of element `index` of
    /// this view. One-sided (local computation).
    pub fn locate(&self, index: &[usize]) -> Result<(usize, u64)> {
        self.check_live()?;
        if index.len() != self.ndim() || index.iter().zip(self.shape()).any(|(i, n)| i >= n) {
            return Err(Error::out_of_bounds(format!(
                "index {index:?} out of bounds for shape {:?}",
                self.shape()
            )));
        }
        let b = self.view.base_index(index)?;
        let (r, off) = self.base.dist.locate_from(self.base.rt.rank(), &b)?;
        Ok((r, (off * self.dtype().size()) as u64))
    }

    /// Frees the storage now. **Collective.** Every view of the same storage becomes invalid
    /// (operations on it return a `Freed` error).
    ///
    /// When deferred operations still use the storage, they keep it: it is freed (collectively,
    /// in the same order on every rank) when the last of them has run, or never allocated when
    /// none of them needs it — a temporary freed before the flush, as Python frees `a + b` in
    /// `(a + b) * c`, costs no memory and no pass of its own.
    pub fn free(self) -> Result<()> {
        self.check_live()?;
        if crate::engine::pending(&self, false) {
            self.base.retired.set(true);
            return Ok(());
        }
        self.base.freed.set(true);
        if let Some(seg) = self.base.seg.get() {
            self.base.rt.free(seg)?;
        }
        Ok(())
    }

    /// A view of the same storage.
    pub(crate) fn with_view(&self, view: ViewSpec) -> DistArray {
        DistArray {
            base: self.base.clone(),
            view,
        }
    }
}

//! Distributed N-d arrays on the runtime's symmetric heap.
//!
//! A [`DistArray`] is a view ([`ViewSpec`]) of a base array whose elements live in one heap
//! segment, spread over the ranks by a [`Distribution`]. Every rank holds the same metadata
//! and answers index questions locally; data moves only through one-sided gets and puts.
//!
//! Collective calls (every rank, same order, same arguments): creation, `free`, every
//! operation that produces or modifies a whole array (`copy_from`, `astype`, `fill`, …),
//! `gather`/`scatter`. One-sided (any rank, alone): region `get`/`put`/`acc`, `locate`,
//! metadata queries. Collective operations begin and end with a runtime `sync`, so they are
//! ordered after every one-sided operation any rank issued before them.
use crate::bytes;
use crate::dist::{c_strides, checked_len, Distribution, Layout};
use crate::dtype::{DType, Element, Scalar};
use crate::error::{Error, ErrorKind, Result};
use crate::view::{SliceItem, ViewSpec};
use distarr_runtime::{AccOp, Runtime, Seg};
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

/// Storage shared by an array and all its views.
pub(crate) struct Base {
    pub(crate) rt: Runtime,
    pub(crate) seg: Seg,
    pub(crate) dist: Distribution,
    pub(crate) dtype: DType,
    freed: Cell<bool>,
}

impl Drop for Base {
    /// Frees the segment when the last view goes away — a **collective** call, made in the same
    /// order on every rank because SPMD programs drop the same values in the same order. It is
    /// skipped while unwinding a panic (other ranks would wait forever) and after finalize.
    fn drop(&mut self) {
        if !self.freed.get() && !std::thread::panicking() && !self.rt.is_finalized() {
            self.freed.set(true);
            if let Err(e) = self.rt.free(self.seg) {
                log::warn!(target: "distarr", "freeing an array's storage failed: {e}");
            }
        }
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

/// Multi-index iteration in C order over the box `[lo, hi)`.
pub(crate) fn for_each_index(lo: &[usize], hi: &[usize], mut f: impl FnMut(&[usize])) {
    if lo.iter().zip(hi).any(|(l, h)| l >= h) {
        return;
    }
    let mut idx = lo.to_vec();
    loop {
        f(&idx);
        let mut d = idx.len();
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            idx[d] += 1;
            if idx[d] < hi[d] {
                break;
            }
            idx[d] = lo[d];
        }
    }
}

fn box_len(lo: &[usize], hi: &[usize]) -> usize {
    lo.iter().zip(hi).map(|(l, h)| h.saturating_sub(*l)).product()
}

impl DistArray {
    // ----- creation -----------------------------------------------------------------------

    /// A new array with unspecified contents. **Collective.**
    pub fn empty(rt: &Runtime, shape: &[usize], dtype: DType, layout: Layout) -> Result<DistArray> {
        checked_len(shape)?;
        // Every rank must create the same array: the allocation also agrees on a digest of
        // shape, dtype and layout (same allreduce), so a mismatch is an error on every rank
        // rather than silently different arrays that happen to need the same storage.
        let mut h = std::collections::hash_map::DefaultHasher::new();
        std::hash::Hash::hash(&(shape, dtype.code(), &layout), &mut h);
        let key = std::hash::Hasher::finish(&h);
        let dist = Distribution::new(shape, layout, rt.nranks())?;
        let bytes = (dist.max_local_len() as u64)
            .checked_mul(dtype.size() as u64)
            .ok_or_else(|| Error::new(ErrorKind::OutOfMemory, format!("array of shape {shape:?} is too large")))?;
        let seg = rt.alloc_keyed(bytes, key)?;
        let base = Rc::new(Base {
            rt: rt.clone(),
            seg,
            dist,
            dtype,
            freed: Cell::new(false),
        });
        Ok(DistArray {
            view: ViewSpec::full(shape)?,
            base,
        })
    }

    /// A new array filled with `value` (cast to `dtype`). **Collective.**
    pub fn full(rt: &Runtime, shape: &[usize], dtype: DType, layout: Layout, value: Scalar) -> Result<DistArray> {
        let a = DistArray::empty(rt, shape, dtype, layout)?;
        a.fill(value)?;
        Ok(a)
    }

    /// Zeros. **Collective.**
    pub fn zeros(rt: &Runtime, shape: &[usize], dtype: DType, layout: Layout) -> Result<DistArray> {
        DistArray::full(rt, shape, dtype, layout, Scalar::zero(dtype))
    }

    /// Ones. **Collective.**
    pub fn ones(rt: &Runtime, shape: &[usize], dtype: DType, layout: Layout) -> Result<DistArray> {
        DistArray::full(rt, shape, dtype, layout, Scalar::one(dtype))
    }

    /// `numpy.arange(start, stop, step)` as `dtype` (values computed in f64 then cast, like
    /// NumPy for float dtypes; exact for integer dtypes within 2^53). **Collective.**
    pub fn arange(rt: &Runtime, start: f64, stop: f64, step: f64, dtype: DType, layout: Layout) -> Result<DistArray> {
        if step == 0.0 || !step.is_finite() || !start.is_finite() || !stop.is_finite() {
            return Err(Error::invalid(format!(
                "arange: bad start/stop/step {start}, {stop}, {step}"
            )));
        }
        let n = ((stop - start) / step).ceil().max(0.0) as usize;
        let a = DistArray::empty(rt, &[n], dtype, layout)?;
        a.fill_with(|idx, _| Scalar::F64(start + idx[0] as f64 * step))?;
        Ok(a)
    }

    /// `numpy.linspace(start, stop, num, endpoint)` (float64 unless `dtype` says otherwise).
    /// **Collective.**
    pub fn linspace(
        rt: &Runtime,
        start: f64,
        stop: f64,
        num: usize,
        endpoint: bool,
        dtype: DType,
        layout: Layout,
    ) -> Result<DistArray> {
        let div = if endpoint { num.saturating_sub(1) } else { num };
        let step = if div > 0 { (stop - start) / div as f64 } else { 0.0 };
        let a = DistArray::empty(rt, &[num], dtype, layout)?;
        a.fill_with(|idx, _| {
            let i = idx[0];
            Scalar::F64(if endpoint && num > 1 && i == num - 1 {
                stop
            } else {
                start + i as f64 * step
            })
        })?;
        Ok(a)
    }

    /// `numpy.eye(n, m, k)`. **Collective.**
    pub fn eye(rt: &Runtime, n: usize, m: usize, k: isize, dtype: DType, layout: Layout) -> Result<DistArray> {
        let a = DistArray::empty(rt, &[n, m], dtype, layout)?;
        a.fill_with(|idx, _| Scalar::Bool(idx[1] as isize - idx[0] as isize == k))?;
        Ok(a)
    }

    /// Uniform random numbers in `[0, 1)` keyed by `(seed, global index)`: the same values on
    /// any number of ranks and any layout. **Collective.**
    pub fn random_uniform(rt: &Runtime, shape: &[usize], seed: u64, dtype: DType, layout: Layout) -> Result<DistArray> {
        let a = DistArray::empty(rt, shape, dtype, layout)?;
        a.fill_with(|_, lin| Scalar::F64(crate::rng::uniform_f64(seed, lin)))?;
        Ok(a)
    }

    /// Standard normal random numbers keyed by `(seed, global index)`. **Collective.**
    pub fn random_normal(rt: &Runtime, shape: &[usize], seed: u64, dtype: DType, layout: Layout) -> Result<DistArray> {
        let a = DistArray::empty(rt, shape, dtype, layout)?;
        a.fill_with(|_, lin| Scalar::F64(crate::rng::normal_f64(seed, lin)))?;
        Ok(a)
    }

    /// A new array from a C-order buffer held by `root` (other ranks pass `None`): `root` puts
    /// each owner's pieces with one-sided puts. **Collective.**
    pub fn scatter<T: Element>(
        rt: &Runtime,
        shape: &[usize],
        layout: Layout,
        root: usize,
        data: Option<&[T]>,
    ) -> Result<DistArray> {
        if root >= rt.nranks() {
            return Err(Error::out_of_bounds(format!(
                "scatter root {root} out of range 0..{}",
                rt.nranks()
            )));
        }
        let n = checked_len(shape)?;
        // Decide collectively whether the root's buffer is valid, so no rank is left waiting.
        let mut ok = [u8::from(rt.rank() != root || data.is_some_and(|d| d.len() == n))];
        rt.broadcast(&mut ok, root)?;
        if ok[0] == 0 {
            return Err(Error::shape(format!(
                "scatter: root's buffer must hold {n} elements of shape {shape:?}"
            )));
        }
        let a = DistArray::empty(rt, shape, T::DTYPE, layout)?;
        rt.sync()?;
        if let Some(d) = data.filter(|_| rt.rank() == root) {
            let lo = vec![0; shape.len()];
            a.put_base_region(&lo, shape, bytes::as_bytes(d), true)?;
        }
        rt.sync()?;
        Ok(a)
    }

    // ----- metadata -------------------------------------------------------------------------

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
    /// in C order). Owned by the array: never free it directly. Local.
    pub fn segment(&self) -> Seg {
        self.base.seg
    }

    /// This rank's elements as one box, for direct loads and stores (the C ABI's
    /// `distarr_local_block`): `Some((ptr, lo, hi))` where `ptr` points at this rank's part of
    /// the segment, holding the global box `[lo, hi)` densely in C order. `lo == hi` (an empty
    /// box) when the rank holds nothing. `None` when `self` is a view (not the base array) or
    /// the rank's elements are not one box (block-cyclic with several blocks per rank along a
    /// dimension). The memory stays valid until the array is freed; other ranks' one-sided
    /// writes are visible after the next collective operation or `sync`. Local.
    #[allow(clippy::type_complexity)] // (pointer, lo, hi): named at the one call site
    pub fn local_block_ptr(&self) -> Result<Option<(*mut u8, Vec<usize>, Vec<usize>)>> {
        self.check_live()?;
        if !self.is_base() {
            return Ok(None);
        }
        let me = self.base.rt.rank();
        let dist = &self.base.dist;
        let nd = self.ndim();
        let (ptr, _) = self.base.rt.local_ptr(self.base.seg)?;
        if dist.local_len(me) == 0 {
            return Ok(Some((ptr, vec![0; nd], vec![0; nd])));
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

    pub(crate) fn check_live(&self) -> Result<()> {
        if self.base.freed.get() {
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

    /// Owner rank and byte offset (in the owner's part of the segment) of element `index` of
    /// this view. One-sided (local computation).
    pub fn locate(&self, index: &[usize]) -> Result<(usize, u64)> {
        self.check_live()?;
        self.check_index(index)?;
        let b = self.base_of(index);
        let me = self.base.rt.rank();
        let (r, off) = self.base.dist.locate_from(me, &b)?;
        Ok((r, (off * self.dtype().size()) as u64))
    }

    fn check_index(&self, index: &[usize]) -> Result<()> {
        if index.len() != self.ndim() || index.iter().zip(self.shape()).any(|(i, n)| i >= n) {
            return Err(Error::out_of_bounds(format!(
                "index {index:?} out of bounds for shape {:?}",
                self.shape()
            )));
        }
        Ok(())
    }

    pub(crate) fn check_box(&self, lo: &[usize], hi: &[usize]) -> Result<()> {
        let nd = self.ndim();
        if lo.len() != nd || hi.len() != nd {
            return Err(Error::shape(format!(
                "region needs {nd} lower and upper bounds, got {} and {}",
                lo.len(),
                hi.len()
            )));
        }
        for d in 0..nd {
            if lo[d] > hi[d] || hi[d] > self.shape()[d] {
                return Err(Error::out_of_bounds(format!(
                    "region [{lo:?}, {hi:?}) outside shape {:?}",
                    self.shape()
                )));
            }
        }
        Ok(())
    }

    // ----- the base array's storage ---------------------------------------------------------

    /// Reads the base region `[lo, hi)` (base coordinates) as C-order bytes, with one-sided
    /// gets issued together and then completed.
    fn get_base_region(&self, lo: &[usize], hi: &[usize]) -> Result<Vec<u8>> {
        let sz = self.dtype().size();
        let n = box_len(lo, hi);
        let mut buf = vec![0u8; n * sz];
        if n == 0 {
            return Ok(buf);
        }
        let rt = &self.base.rt;
        let dist = &self.base.dist;
        let mut runs = Vec::new();
        for p in dist.pieces_from(rt.rank(), lo, hi)? {
            for r in dist.piece_runs(&p, lo, hi)? {
                runs.push((p.rank, r));
            }
        }
        runs.sort_by_key(|(_, r)| r.region_offset);
        let mut reqs = Vec::with_capacity(runs.len());
        let mut rest: &mut [u8] = &mut buf;
        let mut at = 0usize;
        for (rank, r) in runs {
            let skip = r.region_offset * sz - at;
            let (_, tail) = std::mem::take(&mut rest).split_at_mut(skip);
            let (chunk, tail) = tail.split_at_mut(r.len * sz);
            rest = tail;
            at = (r.region_offset + r.len) * sz;
            reqs.push(rt.get_nb(chunk, rank, self.base.seg, (r.local_offset * sz) as u64)?);
        }
        for q in reqs {
            q.wait()?;
        }
        Ok(buf)
    }

    /// Writes C-order bytes to the base region `[lo, hi)` with one-sided puts; remote
    /// completion (flush) before it returns. With `all_copies`, a replicated array is written
    /// on every rank's copy (used by the single writer of `scatter`/`put`).
    fn put_base_region(&self, lo: &[usize], hi: &[usize], data: &[u8], all_copies: bool) -> Result<()> {
        let sz = self.dtype().size();
        let rt = &self.base.rt;
        let dist = &self.base.dist;
        let servers: Vec<usize> = if all_copies && matches!(dist.layout(), Layout::Replicated) {
            (0..rt.nranks()).collect()
        } else {
            vec![rt.rank()]
        };
        for me in servers {
            for p in dist.pieces_from(me, lo, hi)? {
                for r in dist.piece_runs(&p, lo, hi)? {
                    let src = &data[r.region_offset * sz..(r.region_offset + r.len) * sz];
                    rt.put_nb(p.rank, self.base.seg, (r.local_offset * sz) as u64, src)?
                        .wait()?;
                }
            }
        }
        rt.flush_all()?;
        Ok(())
    }

    /// Element-wise accumulate of typed data into the base region `[lo, hi)`.
    fn acc_base_region<T: Element + distarr_runtime::Elem>(
        &self,
        lo: &[usize],
        hi: &[usize],
        data: &[T],
        op: AccOp,
    ) -> Result<()> {
        let rt = &self.base.rt;
        let dist = &self.base.dist;
        let sz = std::mem::size_of::<T>();
        for p in dist.pieces_from(rt.rank(), lo, hi)? {
            for r in dist.piece_runs(&p, lo, hi)? {
                let src = &data[r.region_offset..r.region_offset + r.len];
                rt.accumulate(src, p.rank, self.base.seg, (r.local_offset * sz) as u64, op)?;
            }
        }
        Ok(())
    }

    // ----- view boxes -----------------------------------------------------------------------

    /// Base multi-index of view element `idx` (in range: checked by the callers).
    fn base_of(&self, idx: &[usize]) -> Vec<usize> {
        let mut out = vec![0; self.view.base_shape().len()];
        self.base_of_into(idx, &mut out);
        out
    }

    fn base_of_into(&self, idx: &[usize], out: &mut [usize]) {
        let mut lin = self.view.offset() as isize;
        for (i, s) in idx.iter().zip(self.view.strides()) {
            lin += *i as isize * s;
        }
        let mut lin = lin as usize;
        let bs = self.view.base_shape();
        for d in (0..bs.len()).rev() {
            if bs[d] > 0 {
                out[d] = lin % bs[d];
                lin /= bs[d];
            }
        }
    }

    /// Base multi-indices of the view box `[lo, hi)` in C order (flattened: `ndim(base)`
    /// entries per element), and their bounding box.
    fn box_base_indices(&self, lo: &[usize], hi: &[usize]) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
        let bnd = self.base.dist.ndim();
        let mut blo = vec![usize::MAX; bnd];
        let mut bhi = vec![0usize; bnd];
        let n = box_len(lo, hi);
        let mut all = vec![0usize; n * bnd];
        let mut k = 0;
        for_each_index(lo, hi, |idx| {
            let b = &mut all[k * bnd..(k + 1) * bnd];
            self.base_of_into(idx, b);
            for d in 0..bnd {
                blo[d] = blo[d].min(b[d]);
                bhi[d] = bhi[d].max(b[d] + 1);
            }
            k += 1;
        });
        if n == 0 {
            blo = vec![0; bnd];
            bhi = vec![0; bnd];
        }
        (all, blo, bhi)
    }

    /// Offsets (elements) of flattened base indices inside the dense bounding box `[blo, bhi)`.
    fn dense_offsets(idx: &[usize], blo: &[usize], bhi: &[usize]) -> Vec<usize> {
        let bnd = blo.len();
        let ext: Vec<usize> = blo.iter().zip(bhi).map(|(l, h)| h - l).collect();
        let st = c_strides(&ext);
        if bnd == 0 {
            return vec![0; if idx.is_empty() { 0 } else { 1 }];
        }
        idx.chunks_exact(bnd)
            .map(|b| b.iter().zip(blo).zip(&st).map(|((x, l), s)| (x - l) * s).sum())
            .collect()
    }

    /// For a view that is an axis-aligned unit-stride sub-box of its base (e.g. `a[1:-1, 2:]`),
    /// the base box `[blo, bhi)` holding the view box `[lo, hi)` in the same C order.
    fn aligned_box(&self, lo: &[usize], hi: &[usize]) -> Option<(Vec<usize>, Vec<usize>)> {
        let bs = self.view.base_shape();
        if self.view.shape().len() != bs.len() || lo.iter().zip(hi).any(|(l, h)| l >= h) {
            return None;
        }
        let unit = c_strides(bs)
            .iter()
            .zip(self.view.strides())
            .all(|(&c, &v)| v == c as isize);
        if !unit {
            return None;
        }
        let blo = self.base_of(lo);
        let last: Vec<usize> = hi.iter().map(|h| h - 1).collect();
        let bhi: Vec<usize> = self.base_of(&last).iter().map(|x| x + 1).collect();
        Some((blo, bhi))
    }

    /// Reads the box `[lo, hi)` of this view as C-order bytes of the array's dtype. One-sided.
    pub fn get_region_bytes(&self, lo: &[usize], hi: &[usize]) -> Result<Vec<u8>> {
        self.check_live()?;
        self.check_box(lo, hi)?;
        if self.is_base() {
            return self.get_base_region(lo, hi);
        }
        if let Some((blo, bhi)) = self.aligned_box(lo, hi) {
            return self.get_base_region(&blo, &bhi);
        }
        let (idx, blo, bhi) = self.box_base_indices(lo, hi);
        let sz = self.dtype().size();
        let dense = self.get_base_region(&blo, &bhi)?;
        let offs = Self::dense_offsets(&idx, &blo, &bhi);
        let mut out = Vec::with_capacity(box_len(lo, hi) * sz);
        for off in offs.into_iter().take(box_len(lo, hi)) {
            out.extend_from_slice(&dense[off * sz..(off + 1) * sz]);
        }
        Ok(out)
    }

    /// Writes C-order bytes of the array's dtype to the box `[lo, hi)` of this view; complete at
    /// the targets when it returns. One-sided.
    pub fn put_region_bytes(&self, lo: &[usize], hi: &[usize], data: &[u8]) -> Result<()> {
        self.check_live()?;
        self.check_box(lo, hi)?;
        let sz = self.dtype().size();
        let n = box_len(lo, hi);
        Self::check_data_len(n, sz, data.len())?;
        if self.is_base() {
            return self.put_base_region(lo, hi, data, true);
        }
        if let Some((blo, bhi)) = self.aligned_box(lo, hi) {
            return self.put_base_region(&blo, &bhi, data, true);
        }
        let (idx, blo, bhi) = self.box_base_indices(lo, hi);
        let bnd = blo.len();
        let vol: usize = blo.iter().zip(&bhi).map(|(l, h)| h - l).product();
        if vol == n {
            // The view box covers its bounding box exactly (permuted or reversed, not strided):
            // scatter into a dense buffer and write it in bulk.
            let mut dense = vec![0u8; n * sz];
            for (k, off) in Self::dense_offsets(&idx, &blo, &bhi).into_iter().take(n).enumerate() {
                dense[off * sz..(off + 1) * sz].copy_from_slice(&data[k * sz..(k + 1) * sz]);
            }
            return self.put_base_region(&blo, &bhi, &dense, true);
        }
        // Strided: element by element (elements of a strided view are not adjacent anyway).
        for k in 0..n {
            let b = &idx[k * bnd..(k + 1) * bnd];
            let hi1: Vec<usize> = b.iter().map(|x| x + 1).collect();
            self.put_base_region(b, &hi1, &data[k * sz..(k + 1) * sz], true)?;
        }
        Ok(())
    }

    fn check_data_len(n: usize, sz: usize, got: usize) -> Result<()> {
        if got != n * sz {
            return Err(Error::shape(format!(
                "region of {n} elements needs {} bytes, got {got}",
                n * sz
            )));
        }
        Ok(())
    }

    /// Typed read of the box `[lo, hi)`; `T` must be the array's element type. One-sided.
    pub fn get_region<T: Element>(&self, lo: &[usize], hi: &[usize]) -> Result<Vec<T>> {
        self.check_dtype::<T>()?;
        Ok(bytes::to_vec(&self.get_region_bytes(lo, hi)?))
    }

    /// Typed write of the box `[lo, hi)`; `T` must be the array's element type. One-sided.
    pub fn put_region<T: Element>(&self, lo: &[usize], hi: &[usize], data: &[T]) -> Result<()> {
        self.check_dtype::<T>()?;
        self.put_region_bytes(lo, hi, bytes::as_bytes(data))
    }

    /// `region op= data`, atomically per element (Global Arrays' NGA_Acc); numeric dtypes
    /// other than bool and complex. One-sided; complete at the targets when it returns.
    pub fn acc_region_bytes(&self, lo: &[usize], hi: &[usize], data: &[u8], op: AccOp) -> Result<()> {
        self.check_live()?;
        self.check_box(lo, hi)?;
        let sz = self.dtype().size();
        let n = box_len(lo, hi);
        Self::check_data_len(n, sz, data.len())?;
        if matches!(self.base.dist.layout(), Layout::Replicated) {
            return Err(Error::invalid("accumulate into a replicated array is ambiguous"));
        }
        macro_rules! go {
            ($t:ty) => {{
                let v: Vec<$t> = bytes::to_vec(data);
                if self.is_base() {
                    self.acc_base_region(lo, hi, &v, op)?;
                } else {
                    let (idx, blo, _) = self.box_base_indices(lo, hi);
                    let bnd = blo.len();
                    for k in 0..n {
                        let b = &idx[k * bnd..(k + 1) * bnd];
                        let hi1: Vec<usize> = b.iter().map(|x| x + 1).collect();
                        self.acc_base_region(b, &hi1, &v[k..k + 1], op)?;
                    }
                }
            }};
        }
        match self.dtype() {
            DType::I32 => go!(i32),
            DType::I64 => go!(i64),
            DType::U8 => go!(u8),
            DType::U32 => go!(u32),
            DType::U64 => go!(u64),
            DType::F32 => go!(f32),
            DType::F64 => go!(f64),
            d => return Err(Error::dtype(format!("accumulate is not supported for {}", d.name()))),
        }
        Ok(())
    }

    fn check_dtype<T: Element>(&self) -> Result<()> {
        if T::DTYPE != self.dtype() {
            return Err(Error::dtype(format!(
                "array holds {}, not {}",
                self.dtype().name(),
                T::DTYPE.name()
            )));
        }
        Ok(())
    }

    /// The boxes (view coordinates) this rank computes in a collective operation that writes
    /// this array: its own pieces when the array is a base array (owner computes), else a
    /// share of the view split along its longest dimension.
    pub(crate) fn work_boxes(&self) -> Result<Vec<(Vec<usize>, Vec<usize>)>> {
        self.boxes(false)
    }

    /// The boxes (view coordinates) this rank reads when every rank takes a share of this
    /// array, e.g. in a reduction: like [`DistArray::work_boxes`], but a replicated array is
    /// shared out instead of being covered by every rank.
    pub(crate) fn read_boxes(&self) -> Result<Vec<(Vec<usize>, Vec<usize>)>> {
        self.boxes(true)
    }

    fn boxes(&self, reading: bool) -> Result<Vec<(Vec<usize>, Vec<usize>)>> {
        let rt = &self.base.rt;
        let (me, n) = (rt.rank(), rt.nranks());
        let shape = self.shape().to_vec();
        let lo0 = vec![0; shape.len()];
        let replicated = matches!(self.base.dist.layout(), Layout::Replicated);
        if self.is_base() && !(reading && replicated) {
            return Ok(self
                .base
                .dist
                .pieces_from(me, &lo0, &shape)?
                .into_iter()
                .filter(|p| p.rank == me)
                .map(|p| (p.global_lo, p.global_hi))
                .collect());
        }
        if shape.is_empty() {
            return Ok(if me == 0 { vec![(vec![], vec![])] } else { vec![] });
        }
        let d = (0..shape.len()).max_by_key(|&d| shape[d]).unwrap_or(0);
        let (a, b) = (shape[d] * me / n, shape[d] * (me + 1) / n);
        if a == b {
            return Ok(vec![]);
        }
        let mut lo = lo0;
        let mut hi = shape;
        lo[d] = a;
        hi[d] = b;
        Ok(vec![(lo, hi)])
    }

    /// Writes `f(global multi-index, global linear index)` (cast to the dtype) into every
    /// element of this (base) array. **Collective.**
    pub(crate) fn fill_with(&self, f: impl Fn(&[usize], u64) -> Scalar) -> Result<()> {
        self.check_live()?;
        let rt = self.base.rt.clone();
        rt.sync()?;
        let dt = self.dtype();
        let st = c_strides(self.shape());
        for (lo, hi) in self.work_boxes()? {
            let mut data = Vec::with_capacity(box_len(&lo, &hi) * dt.size());
            for_each_index(&lo, &hi, |idx| {
                let lin: usize = idx.iter().zip(&st).map(|(i, s)| i * s).sum();
                data.extend_from_slice(&f(idx, lin as u64).cast_to(dt).to_le_bytes());
            });
            self.write_box_local(&lo, &hi, &data)?;
        }
        rt.sync()?;
        Ok(())
    }

    /// Writes a box this rank computed in a collective operation (only this rank's copy of a
    /// replicated array).
    pub(crate) fn write_box_local(&self, lo: &[usize], hi: &[usize], data: &[u8]) -> Result<()> {
        if self.is_base() {
            self.put_base_region(lo, hi, data, false)
        } else {
            self.put_region_bytes(lo, hi, data)
        }
    }

    /// Fills the array (or view) with `value` cast to its dtype. **Collective.**
    pub fn fill(&self, value: Scalar) -> Result<()> {
        let dt = self.dtype();
        let one = value.cast_to(dt).to_le_bytes();
        self.check_live()?;
        let rt = self.base.rt.clone();
        rt.sync()?;
        for (lo, hi) in self.work_boxes()? {
            let data = one.repeat(box_len(&lo, &hi));
            self.write_box_local(&lo, &hi, &data)?;
        }
        rt.sync()?;
        Ok(())
    }

    /// Copies `src` into `self` element-wise, converting dtypes (NumPy `astype` casting) and
    /// broadcasting `src` to `self`'s shape; any distributions and views, overlapping too.
    /// **Collective.**
    pub fn copy_from(&self, src: &DistArray) -> Result<()> {
        self.check_live()?;
        self.check_peer(src)?;
        let src = src.broadcast_to(self.shape())?;
        let rt = self.base.rt.clone();
        rt.sync()?;
        let mut results = Vec::new();
        for (lo, hi) in self.work_boxes()? {
            let raw = src.get_region_bytes(&lo, &hi)?;
            results.push((lo, hi, bytes::cast(&raw, src.dtype(), self.dtype())));
        }
        // Every rank has read its inputs before anyone writes: correct when src and self overlap.
        rt.barrier()?;
        for (lo, hi, data) in results {
            self.write_box_local(&lo, &hi, &data)?;
        }
        rt.sync()?;
        Ok(())
    }

    /// A new array with `self`'s values converted to `dtype`, with the given layout.
    /// **Collective.**
    pub fn astype_with(&self, dtype: DType, layout: Layout) -> Result<DistArray> {
        self.check_live()?;
        let out = DistArray::empty(&self.base.rt, self.shape(), dtype, layout)?;
        out.copy_from(self)?;
        Ok(out)
    }

    /// `astype` keeping a block layout. **Collective.**
    pub fn astype(&self, dtype: DType) -> Result<DistArray> {
        self.astype_with(dtype, Layout::Block)
    }

    /// A new base array with the same values (a copy of a view), block layout. **Collective.**
    pub fn to_owned_array(&self) -> Result<DistArray> {
        self.astype(self.dtype())
    }

    /// Gathers the whole array (or view) to `root` as C-order bytes (`None` on other ranks).
    /// **Collective** (everyone syncs); the data moves by one-sided gets issued by `root`.
    pub fn gather_bytes(&self, root: usize) -> Result<Option<Vec<u8>>> {
        self.check_live()?;
        let rt = self.base.rt.clone();
        if root >= rt.nranks() {
            return Err(Error::out_of_bounds(format!(
                "gather root {root} out of range 0..{}",
                rt.nranks()
            )));
        }
        rt.sync()?;
        let out = if rt.rank() == root {
            let lo = vec![0; self.ndim()];
            Some(self.get_region_bytes(&lo, self.shape())?)
        } else {
            None
        };
        rt.sync()?;
        Ok(out)
    }

    /// Typed [`DistArray::gather_bytes`] into an `ndarray` on `root`. **Collective.**
    pub fn gather<T: Element>(&self, root: usize) -> Result<Option<ndarray::ArrayD<T>>> {
        self.check_dtype::<T>()?;
        match self.gather_bytes(root)? {
            Some(b) => {
                let v: Vec<T> = bytes::to_vec(&b);
                ndarray::ArrayD::from_shape_vec(self.shape().to_vec(), v)
                    .map(Some)
                    .map_err(|e| Error::internal(e.to_string()))
            }
            None => Ok(None),
        }
    }

    /// The whole array on every rank (gather to 0 and broadcast): for tests and small arrays.
    /// **Collective.**
    pub fn to_ndarray<T: Element>(&self) -> Result<ndarray::ArrayD<T>> {
        self.check_dtype::<T>()?;
        let rt = self.base.rt.clone();
        rt.sync()?;
        let lo = vec![0; self.ndim()];
        let b = self.get_region_bytes(&lo, self.shape())?;
        rt.sync()?;
        ndarray::ArrayD::from_shape_vec(self.shape().to_vec(), bytes::to_vec(&b))
            .map_err(|e| Error::internal(e.to_string()))
    }

    /// Frees the storage now. **Collective.** Every view of the same storage becomes invalid
    /// (operations on it return a `Freed` error).
    pub fn free(self) -> Result<()> {
        self.check_live()?;
        self.base.freed.set(true);
        self.base.rt.free(self.base.seg)?;
        Ok(())
    }

    // ----- this rank's local block -----------------------------------------------------------

    /// Shape of this rank's local block: the dense C-order array of the elements it stores
    /// (for block-cyclic layouts, its blocks packed together, as in ScaLAPACK). Local.
    pub fn local_shape(&self) -> Vec<usize> {
        self.base.dist.local_shape(self.base.rt.rank())
    }

    /// A copy of this rank's local block of the base array as an `ndarray`. Local (it reads
    /// only this rank's memory; call it after a collective operation or [`Runtime::sync`] to
    /// see other ranks' writes).
    pub fn local_block<T: Element>(&self) -> Result<ndarray::ArrayD<T>> {
        self.check_live()?;
        self.check_dtype::<T>()?;
        let shape = self.local_shape();
        let n: usize = shape.iter().product();
        let rt = &self.base.rt;
        let mut b = vec![0u8; n * self.dtype().size()];
        rt.get(&mut b, rt.rank(), self.base.seg, 0)?;
        ndarray::ArrayD::from_shape_vec(shape, bytes::to_vec(&b)).map_err(|e| Error::internal(e.to_string()))
    }

    /// Calls `f` with a mutable `ndarray` view of this rank's local block of the base array,
    /// in place in the symmetric heap (no copy). Validates the element type (not bool: its
    /// memory may hold bytes other than 0 and 1), the shape against the segment length and the
    /// pointer's alignment. Local.
    ///
    /// # Safety
    /// While `f` runs, no other rank may access this rank's block with one-sided operations
    /// (e.g. call it between two collective operations, which end with a `sync`).
    #[allow(unsafe_code)]
    pub unsafe fn with_local_block_mut<T: Element, R>(
        &self,
        f: impl FnOnce(ndarray::ArrayViewMutD<'_, T>) -> R,
    ) -> Result<R> {
        self.check_live()?;
        self.check_dtype::<T>()?;
        if T::DTYPE == DType::Bool {
            return Err(Error::dtype(
                "in-place views of bool arrays are not offered; use local_block",
            ));
        }
        let shape = self.local_shape();
        let n: usize = shape.iter().product();
        let (ptr, len) = self.base.rt.local_ptr(self.base.seg)?;
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

    // ----- views ----------------------------------------------------------------------------

    fn with_view(&self, view: ViewSpec) -> DistArray {
        DistArray {
            base: self.base.clone(),
            view,
        }
    }

    /// NumPy basic slicing: ranges with steps (negative too), integer indices, `NewAxis`,
    /// `Ellipsis`. A view: no data moves. Local.
    pub fn slice(&self, items: &[SliceItem]) -> Result<DistArray> {
        self.check_live()?;
        Ok(self.with_view(self.view.slice(items)?))
    }

    /// Permutes the axes (a view). Local.
    pub fn transpose(&self, axes: Option<&[usize]>) -> Result<DistArray> {
        self.check_live()?;
        let rev: Vec<usize> = (0..self.ndim()).rev().collect();
        Ok(self.with_view(self.view.transpose(axes.unwrap_or(&rev))?))
    }

    /// Swaps two axes (a view). Local.
    pub fn swapaxes(&self, a: usize, b: usize) -> Result<DistArray> {
        self.check_live()?;
        Ok(self.with_view(self.view.swapaxes(a as isize, b as isize)?))
    }

    /// Reshape: a view when the elements can be addressed without copying, else a new block
    /// array (then **collective**). `-1` is not accepted here; resolve it first.
    pub fn reshape(&self, shape: &[usize]) -> Result<DistArray> {
        self.check_live()?;
        let n = checked_len(shape)?;
        if n != self.len() {
            return Err(Error::shape(format!(
                "cannot reshape array of size {} into shape {shape:?}",
                self.len()
            )));
        }
        if let Some(v) = self.view.reshape(shape)? {
            return Ok(self.with_view(v));
        }
        let flat = self.to_owned_array()?;
        match flat.view.reshape(shape)? {
            Some(v) => Ok(flat.with_view(v)),
            None => Err(Error::internal("a contiguous array could not be reshaped")),
        }
    }

    /// A broadcast view of this array with `shape` (stride 0 along broadcast dimensions).
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<DistArray> {
        self.check_live()?;
        if self.shape() == shape {
            return Ok(self.clone());
        }
        Ok(self.with_view(crate::broadcast::broadcast_view(&self.view, shape)?))
    }
}

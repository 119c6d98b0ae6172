//! Reductions: sum, prod, min, max, mean, argmin, argmax, any, all — over all elements or
//! along one axis. Result dtypes follow NumPy 1.24 (see [`ReduceOp::types`]); `min`/`max`
//! propagate NaN; `min`/`max`/`argmin`/`argmax` of an empty array are errors, like NumPy's.
//!
//! Every reduction runs on the engine (owner computes): each rank reduces the elements it owns,
//! reading them in place, and the partial results are combined with one collective — never a
//! gather of the data.
//!
//! **Reproducible float sums.** `sum` and `mean` of float and complex arrays give bit-identical
//! results at any rank count, layout and thread count:
//! * over all elements, each row (last axis) is cut into chunks of [`CHUNK`] elements at fixed
//!   positions; each chunk is summed whole by one rank in a fixed order (the rank owning its
//!   first element fetches the few elements past a block boundary), and the chunk sums are
//!   added exactly ([`ExactSum`]), so the result is the correctly rounded sum of the chunk sums;
//! * along an axis, each output element is the strictly sequential sum of its lane, computed by
//!   the output element's owner (as `np.add.reduce` does along every axis but a contiguous last
//!   one, where NumPy sums pairwise).
#![allow(unsafe_code)]
use crate::array::DistArray;
use crate::dtype::{DType, Scalar, C128, C64};
use crate::engine::plan::Share;
use crate::engine::{self, Ready, Run, TileBufs};
use crate::error::{Error, Result};
use crate::kernel::exact::{ExactSum, WORDS};
pub use crate::kernel::ops::ReduceOp;
use crate::kernel::reduce::{fold, fold_lanes, identity, ChunkSum, Partial, SumElem, CHUNK};
use crate::kernel::{self, with_dtype, BinaryOp, Num, Src};
use crate::view::SliceItem;

/// Scratch buffer numbers in [`TileBufs`].
const BUF_ROW: usize = 0;
const BUF_ACC: usize = 1;
const BUF_ARG: usize = 2;
/// The first buffer a [`LaneSource`] may use.
pub(crate) const BUF_SRC: usize = 3;

/// Calls `f(row_offsets_of_each_arg, row_index)` for every row (last axis) of the cell, where
/// the offsets (in elements) are those of the row's first element per argument.
fn for_rows(cell: &Ready<'_>, mut f: impl FnMut(&[isize], &[usize])) {
    let nd = cell.lo.len();
    let outer_hi: Vec<usize> = cell.hi[..nd.saturating_sub(1)].to_vec();
    let outer_lo = &cell.lo[..nd.saturating_sub(1)];
    crate::shape::for_each_index(outer_lo, &outer_hi, |idx| {
        let offs: Vec<isize> = cell
            .strides
            .iter()
            .map(|st| {
                idx.iter()
                    .zip(outer_lo)
                    .zip(st.iter())
                    .map(|((&i, &l), &s)| (i - l) as isize * s)
                    .sum()
            })
            .collect();
        f(&offs, idx);
    });
}

#[allow(clippy::too_many_arguments)]
/// The `n` elements of argument `arg` from element offset `off` along the last axis, as a
/// kernel source of dtype `want`: in place when already contiguous and of that dtype, else
/// converted into buffer `buf`.
fn row_src(
    cell: &Ready<'_>,
    arg: usize,
    dt: DType,
    want: DType,
    off: isize,
    n: usize,
    bufs: &mut TileBufs,
    buf: usize,
) -> Src {
    let nd = cell.lo.len();
    let s = if nd == 0 { 0 } else { cell.strides[arg][nd - 1] };
    // SAFETY: the row lies in the argument's block of the cell (engine invariant).
    let p = unsafe { cell.ptr[arg].offset(off * dt.size() as isize) };
    if dt == want && (s == 1 || n == 1) {
        return Src { ptr: p, scalar: false };
    }
    let b = bufs.get(buf, n * want.size());
    // SAFETY: `n` strided elements of `dt` from `p`; the buffer holds `n` of `want`.
    unsafe { kernel::cast(dt, want)(n, p, s, b, 1) };
    Src {
        ptr: b.cast_const(),
        scalar: false,
    }
}

fn encode<T: Num>(p: &Partial<T>) -> Vec<u8> {
    let mut b = p.val.to_scalar().to_le_bytes();
    b.extend_from_slice(&p.idx.to_le_bytes());
    b.extend_from_slice(&p.count.to_le_bytes());
    b
}

fn decode<T: Num>(b: &[u8]) -> Result<Partial<T>> {
    let sz = T::DTYPE.size();
    let word = |o: usize| -> u64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[o..o + 8]);
        u64::from_le_bytes(w)
    };
    Ok(Partial {
        val: T::from_scalar(Scalar::from_le_bytes(T::DTYPE, &b[..sz])?),
        idx: word(sz),
        count: word(sz + 8),
    })
}

/// The value of a finished reduction (the loop dtype, or int64 for the arg ops).
fn finish<T: Num>(op: ReduceOp, p: Partial<T>) -> Scalar {
    match op {
        ReduceOp::Argmin | ReduceOp::Argmax => Scalar::I64(p.idx as i64),
        ReduceOp::Mean if p.count == 0 => T::from_scalar(Scalar::F64(f64::NAN)).to_scalar(),
        ReduceOp::Mean => T::binary(BinaryOp::Divide, p.val, T::from_scalar(Scalar::U64(p.count))).to_scalar(),
        _ => p.val.to_scalar(),
    }
}

/// Engine run over every element of `x` (a replicated array is shared out, not counted on
/// every rank).
fn all_elements<'a>(x: &'a DistArray, args: &'a [&'a DistArray], chunk: Option<usize>) -> Run<'a> {
    let replicated = matches!(x.distribution().layout(), crate::dist::Layout::Replicated);
    Run {
        shape: x.shape(),
        anchor: x,
        share: if replicated { Share::Split } else { Share::Owned },
        args,
        writes: &[],
        chunk,
        along: chunk.and(x.ndim().checked_sub(1)),
    }
}

/// A reduction other than a float sum: partials per job, combined in job order, then across
/// ranks (one allgather of the small partials, combined in rank order).
fn reduce_partials<T: Num>(x: &DistArray, op: ReduceOp, lt: DType) -> Result<Scalar> {
    let args = [x];
    let run = all_elements(x, &args, None);
    let dt = x.dtype();
    let cst = crate::shape::c_strides(x.shape());
    let parts = engine::run(
        &run,
        None,
        || Error::internal("reductions cannot fail"),
        &|cells, bufs| {
            let mut acc = Partial::<T>::empty(op);
            for c in cells {
                let nd = c.lo.len();
                let n = if nd == 0 { 1 } else { c.hi[nd - 1] - c.lo[nd - 1] };
                let col0 = if nd == 0 { 0 } else { c.lo[nd - 1] };
                for_rows(c, |offs, outer| {
                    let flat: usize = outer.iter().zip(&cst).map(|(i, s)| i * s).sum::<usize>()
                        + col0 * cst.last().copied().unwrap_or(1);
                    let src = row_src(c, 0, dt, lt, offs[0], n, bufs, BUF_ROW);
                    // SAFETY: `src` holds `n` elements of `lt` (row_src).
                    unsafe { fold(op, &mut acc, n, src, flat as u64) };
                });
            }
            acc
        },
    )?;
    let rt = x.runtime();
    let mine = parts
        .into_iter()
        .fold(Partial::<T>::empty(op), |a, b| Partial::combine(op, a, b));
    let enc = encode(&mine);
    let mut all = vec![0u8; enc.len() * rt.nranks()];
    rt.allgather(&enc, &mut all)?;
    let mut total = Partial::<T>::empty(op);
    for chunk in all.chunks(enc.len()) {
        total = Partial::combine(op, total, decode::<T>(chunk)?);
    }
    Ok(finish(op, total))
}

/// A float or complex sum (or mean) over all elements, reproducibly (see the module docs).
fn reduce_sum<T: SumElem>(x: &DistArray, op: ReduceOp) -> Result<Scalar> {
    let args = [x];
    let run = all_elements(x, &args, Some(CHUNK));
    let dt = x.dtype();
    let ncols = x.shape().last().copied().unwrap_or(1);
    let sums = engine::run(
        &run,
        None,
        || Error::internal("reductions cannot fail"),
        &|cells, bufs| {
            // The cells of one job share their rows and follow each other along the last axis.
            let (mut re, mut im, mut count) = (ExactSum::new(), ExactSum::new(), 0u64);
            let c0 = &cells[0];
            let nd = c0.lo.len();
            let outer_lo = &c0.lo[..nd.saturating_sub(1)];
            let outer_hi = &c0.hi[..nd.saturating_sub(1)];
            crate::shape::for_each_index(outer_lo, outer_hi, |idx| {
                let mut cs = ChunkSum::default();
                for c in cells {
                    let off: isize = idx
                        .iter()
                        .zip(outer_lo)
                        .zip(c.strides[0].iter())
                        .map(|((&i, &l), &s)| (i - l) as isize * s)
                        .sum();
                    let (start, end) = if nd == 0 { (0, 1) } else { (c.lo[nd - 1], c.hi[nd - 1]) };
                    let src = row_src(c, 0, dt, T::DTYPE, off, end - start, bufs, BUF_ROW);
                    // SAFETY: `src` holds `end - start` elements of T (row_src).
                    let vals = unsafe { std::slice::from_raw_parts(src.ptr.cast::<T>(), end - start) };
                    // Feed the row's elements chunk by chunk; a chunk cut by the cell's end goes on
                    // in the next cell of the job (the job's cells cover whole chunks).
                    let mut col = start;
                    while col < end {
                        let chunk_end = ((col / CHUNK + 1) * CHUNK).min(ncols);
                        let stop = chunk_end.min(end);
                        cs.push(T::parts(&vals[col - start..stop - start]));
                        col = stop;
                        if col == chunk_end {
                            let (r, i) = cs.finish(T::PARTS);
                            re.add(r);
                            im.add(i);
                            cs = ChunkSum::default();
                        }
                    }
                    count += (end - start) as u64;
                }
            });
            (re, im, count)
        },
    )?;
    let mut words = vec![0i64; 2 * WORDS + 1];
    let (mut re, mut im) = (ExactSum::new(), ExactSum::new());
    for (r, i, c) in &sums {
        re.merge(r);
        im.merge(i);
        words[2 * WORDS] += *c as i64;
    }
    words[..WORDS].copy_from_slice(&re.to_words());
    words[WORDS..2 * WORDS].copy_from_slice(&im.to_words());
    x.runtime().allreduce(&mut words, distarr_runtime::ReduceOp::Sum)?;
    let mut w = [0i64; WORDS];
    w.copy_from_slice(&words[..WORDS]);
    let re = ExactSum::from_words(&w).value();
    w.copy_from_slice(&words[WORDS..2 * WORDS]);
    let im = ExactSum::from_words(&w).value();
    let count = words[2 * WORDS] as u64;
    let sum = match T::DTYPE {
        DType::C64 | DType::C128 => Scalar::C128(C128::new(re, im)).cast_to(T::DTYPE),
        d => Scalar::F64(re).cast_to(d),
    };
    Ok(finish(
        op,
        Partial {
            val: T::from_scalar(sum),
            idx: 0,
            count,
        },
    ))
}

/// Reduces all elements to one scalar, the same on every rank. **Collective.**
pub fn reduce_all(x: &DistArray, op: ReduceOp) -> Result<Scalar> {
    x.check_live()?;
    let (lt, _) = op.types(x.dtype())?;
    if x.is_empty() {
        if !op.has_identity() {
            return Err(Error::invalid(format!(
                "zero-size array to reduction operation {op:?} which has no identity"
            )));
        }
        return Ok(with_dtype!(lt, T => finish(op, Partial::<T>::empty(op))));
    }
    match (op, lt) {
        (ReduceOp::Sum | ReduceOp::Mean, DType::F64) => reduce_sum::<f64>(x, op),
        (ReduceOp::Sum | ReduceOp::Mean, DType::F32) => reduce_sum::<f32>(x, op),
        (ReduceOp::Sum | ReduceOp::Mean, DType::C128) => reduce_sum::<C128>(x, op),
        (ReduceOp::Sum | ReduceOp::Mean, DType::C64) => reduce_sum::<C64>(x, op),
        _ => with_dtype!(lt, T => reduce_partials::<T>(x, op, lt)),
    }
}

/// Reduces along `axis`, giving a new block array of the remaining dimensions.
/// **Collective.**
pub fn reduce_axis(x: &DistArray, op: ReduceOp, axis: usize) -> Result<DistArray> {
    x.check_live()?;
    let nd = x.ndim();
    if axis >= nd {
        return Err(Error::invalid(format!(
            "axis {axis} is out of bounds for array of dimension {nd}"
        )));
    }
    let (_, out_dt) = op.types(x.dtype())?;
    let mut oshape = x.shape().to_vec();
    oshape.remove(axis);
    let out = DistArray::unallocated(x.runtime(), &oshape, out_dt, crate::dist::Layout::Block)?;
    reduce_axis_into(x, op, axis, &out)?;
    Ok(out)
}

/// [`reduce_axis`] writing into `out` (shape of `x` without `axis`; the result is cast to
/// `out`'s dtype with NumPy's `same_kind` rule). **Collective.**
pub fn reduce_axis_into(x: &DistArray, op: ReduceOp, axis: usize, out: &DistArray) -> Result<()> {
    x.check_live()?;
    x.check_peer(out)?;
    let nd = x.ndim();
    if axis >= nd {
        return Err(Error::invalid(format!(
            "axis {axis} is out of bounds for array of dimension {nd}"
        )));
    }
    let (lt, res) = op.types(x.dtype())?;
    let mut shape = x.shape().to_vec();
    let n = shape.remove(axis);
    if out.shape() != shape.as_slice() {
        return Err(Error::shape(format!(
            "reduction output has shape {:?}, expected {shape:?}",
            out.shape()
        )));
    }
    if !crate::ufunc::can_cast_same_kind(res, out.dtype()) {
        return Err(Error::dtype(format!(
            "cannot cast reduction output from {} to {} with casting rule 'same_kind'",
            res.name(),
            out.dtype().name()
        )));
    }
    if n == 0 {
        if !op.has_identity() {
            return Err(Error::invalid(format!(
                "zero-size array to reduction operation {op:?} which has no identity"
            )));
        }
        return out.fill(with_dtype!(lt, T => finish(op, Partial::<T>::empty(op))));
    }
    if out.is_empty() {
        return Ok(());
    }
    if x.shares_storage(out) {
        // The lanes would be overwritten while still being read: reduce into a new array.
        let tmp = reduce_axis(x, op, axis)?;
        out.copy_from(&tmp)?;
        return tmp.free();
    }
    // Deferred (and fused with the element-wise operations that compute `x`, when `x` is a
    // temporary), or now.
    if engine::defer_reduce(x, op, axis, out)? {
        return Ok(());
    }
    reduce_axis_now(x, op, axis, out)
}

/// The output `out` of an axis reduction as a view of the input's shape (constant along
/// `axis`): its owners compute.
/// No liveness check: the deferred queue runs reductions into arrays the program has freed
/// since (their storage goes with the queue).
fn lane_anchor(out: &DistArray, shape: &[usize], axis: usize) -> Result<DistArray> {
    let mut items = vec![SliceItem::FULL; shape.len() - 1];
    items.insert(axis, SliceItem::NewAxis);
    let v = out.view.slice(&items)?;
    Ok(out.with_view(crate::view::broadcast_view(&v, shape)?))
}

/// The engine part of [`reduce_axis_into`], arguments checked, now (no flush first: called by
/// the deferred queue too). **Collective.**
pub(crate) fn reduce_axis_now(x: &DistArray, op: ReduceOp, axis: usize, out: &DistArray) -> Result<()> {
    let n = x.shape()[axis];
    let (lt, _) = op.types(x.dtype())?;
    let anchor = lane_anchor(out, x.shape(), axis)?;
    let args = [x, &anchor];
    let run = Run {
        shape: x.shape(),
        anchor: &anchor,
        share: Share::Owned,
        args: &args,
        writes: &[1],
        chunk: None,
        along: Some(axis),
    };
    let (xdt, odt) = (x.dtype(), out.dtype());
    let src = InMemory { dt: xdt };
    with_dtype!(lt, T => {
        engine::run_now(&run, None, || Error::internal("reductions cannot fail"), &|cells, bufs| {
            lanes::<T>(cells, bufs, op, axis, n, &src, 1, odt)
        })?;
    });
    Ok(())
}

/// An axis reduction of `x` — of shape `shape`, computed on the fly by `src` from the engine
/// arguments `leaves` (views of that shape) — into `out`: a fused pass (see
/// `crate::engine::queue`). **Collective.**
pub(crate) fn reduce_axis_fused(
    shape: &[usize],
    xdt: DType,
    op: ReduceOp,
    axis: usize,
    out: &DistArray,
    leaves: &[&DistArray],
    src: &dyn LaneSource,
) -> Result<()> {
    let n = shape[axis];
    let (lt, _) = op.types(xdt)?;
    let anchor = lane_anchor(out, shape, axis)?;
    let mut args: Vec<&DistArray> = leaves.to_vec();
    args.push(&anchor);
    let writes = [leaves.len()];
    let run = Run {
        shape,
        anchor: &anchor,
        share: Share::Owned,
        args: &args,
        writes: &writes,
        chunk: None,
        along: Some(axis),
    };
    let (odt, oa) = (out.dtype(), leaves.len());
    with_dtype!(lt, T => {
        engine::run_now(&run, None, || Error::internal("reductions cannot fail"), &|cells, bufs| {
            lanes::<T>(cells, bufs, op, axis, n, src, oa, odt)
        })?;
    });
    Ok(())
}

/// Where an axis reduction reads its input, block by block: `x` in memory (engine argument 0),
/// or computed on the fly by a fused pass.
pub(crate) trait LaneSource: Sync {
    /// Most lanes per tile.
    fn lane_tile(&self, axis_is_last: bool) -> usize;
    /// Most positions per block for `nt` lanes (`None`: any number, read in place).
    fn max_positions(&self, nt: usize, want: DType) -> Option<usize>;
    /// The values of `x`, as `want`, of lanes `at[t]..at[t] + nt` (along `t`; one lane when
    /// `t` is `None`) at positions `at[axis]..at[axis] + w`, the other axes at `at` (global
    /// coordinates, inside `cell`): a pointer and the strides in elements between lanes and
    /// between positions. Buffers of `bufs` from [`BUF_SRC`] on may be used.
    #[allow(clippy::too_many_arguments)]
    fn block(
        &self,
        cell: &Ready<'_>,
        at: &[usize],
        t: Option<usize>,
        nt: usize,
        axis: usize,
        w: usize,
        want: DType,
        bufs: &mut TileBufs,
    ) -> (*const u8, isize, isize);
}

/// The input of an axis reduction in memory: engine argument 0, of dtype `dt`.
struct InMemory {
    dt: DType,
}

impl LaneSource for InMemory {
    fn lane_tile(&self, _: bool) -> usize {
        LANE_TILE
    }

    fn max_positions(&self, _: usize, want: DType) -> Option<usize> {
        (self.dt != want).then_some(LANE_BLOCK)
    }

    fn block(
        &self,
        c: &Ready<'_>,
        at: &[usize],
        t: Option<usize>,
        nt: usize,
        axis: usize,
        w: usize,
        want: DType,
        bufs: &mut TileBufs,
    ) -> (*const u8, isize, isize) {
        let st = c.strides[0];
        let off: isize = at
            .iter()
            .zip(c.lo)
            .zip(st)
            .map(|((&a, &l), &s)| (a - l) as isize * s)
            .sum();
        // SAFETY: `at` lies in the cell, so the offset addresses an element of x's block.
        let p = unsafe { c.ptr[0].offset(off * self.dt.size() as isize) };
        let (ts, is) = (t.map_or(0, |d| st[d]), st[axis]);
        if self.dt == want {
            return (p.cast_const(), ts, is);
        }
        let buf = bufs.get(BUF_SRC, nt * w * want.size());
        let f = kernel::cast(self.dt, want);
        for u in 0..nt {
            // SAFETY: lane u, positions 0..w lie in the cell; buffer row u holds w elements.
            unsafe {
                f(
                    w,
                    p.offset(u as isize * ts * self.dt.size() as isize),
                    is,
                    buf.add(u * w * want.size()),
                    1,
                )
            };
        }
        (buf.cast_const(), w as isize, 1)
    }
}

/// Lane elements converted per block when the input is not of the loop dtype.
const LANE_BLOCK: usize = 64;
/// Output elements per tile of an axis reduction.
const LANE_TILE: usize = 512;

/// One job of an axis reduction: the cells of one output box, in order along `axis`; the
/// input read through `src`, the output is engine argument `oa`.
#[allow(clippy::too_many_arguments)]
fn lanes<T: Num>(
    cells: &[Ready<'_>],
    bufs: &mut TileBufs,
    op: ReduceOp,
    axis: usize,
    n: usize,
    src: &dyn LaneSource,
    oa: usize,
    odt: DType,
) {
    let c0 = &cells[0];
    let nd = c0.lo.len();
    let track = matches!(op, ReduceOp::Argmin | ReduceOp::Argmax);
    // The tile axis: the last axis other than `axis` (none for a 1-D input).
    let t = (0..nd).rev().find(|&d| d != axis);
    let outer: Vec<usize> = (0..nd).filter(|&d| d != axis && Some(d) != t).collect();
    let olo: Vec<usize> = outer.iter().map(|&d| c0.lo[d]).collect();
    let ohi: Vec<usize> = outer.iter().map(|&d| c0.hi[d]).collect();
    let (tlo, thi) = t.map_or((0, 1), |d| (c0.lo[d], c0.hi[d]));
    let esz = T::DTYPE.size();
    let lane_tile = src.lane_tile(axis == nd - 1);
    let mut at = vec![0usize; nd];
    crate::shape::for_each_index(&olo, &ohi, |oidx| {
        let mut t0 = tlo;
        while t0 < thi {
            let nt = (thi - t0).min(lane_tile);
            let acc_p = bufs.get(BUF_ACC, nt * esz).cast::<T>();
            let arg_p = bufs.get(BUF_ARG, nt * 8).cast::<i64>();
            // SAFETY: the buffers hold nt elements each and are not used by anything else
            // while these slices live (sources use buffers from BUF_SRC on).
            let (acc, arg) = unsafe {
                (
                    std::slice::from_raw_parts_mut(acc_p, nt),
                    std::slice::from_raw_parts_mut(arg_p, if track { nt } else { 0 }),
                )
            };
            acc.fill(identity::<T>(op));
            arg.fill(0);
            let mut cnt = 0u64;
            let block = src.max_positions(nt, T::DTYPE);
            for c in cells {
                for (&d, &i) in outer.iter().zip(oidx) {
                    at[d] = i;
                }
                if let Some(d) = t {
                    at[d] = t0;
                }
                let (i0, ni) = (c.lo[axis], c.hi[axis] - c.lo[axis]);
                let w_max = block.unwrap_or(ni).max(1);
                let mut i = 0;
                while i < ni {
                    let w = (ni - i).min(w_max);
                    at[axis] = i0 + i;
                    let (p, ts, is) = src.block(c, &at, t, nt, axis, w, T::DTYPE, bufs);
                    // SAFETY: the source gives nt lanes of w positions of T at these strides.
                    unsafe { fold_lanes(op, acc, arg, cnt + i as u64, p.cast::<T>(), ts, w, is, (i0 + i) as i64) };
                    i += w;
                }
                cnt += ni as u64;
            }
            // Finish (mean, arg) and store, converted to the output's dtype.
            let ob: isize = outer
                .iter()
                .zip(oidx)
                .map(|(&d, &i)| (i - c0.lo[d]) as isize * c0.strides[oa][d])
                .sum::<isize>()
                + t.map_or(0, |d| (t0 - c0.lo[d]) as isize * c0.strides[oa][d]);
            let os = t.map_or(0, |d| c0.strides[oa][d]);
            // SAFETY: output elements t0..t0+nt of this row lie in the output's block.
            let dst = unsafe { c0.ptr[oa].offset(ob * odt.size() as isize) };
            if track {
                // SAFETY: nt int64 values to nt strided output elements.
                unsafe { kernel::cast(DType::I64, odt)(nt, arg.as_ptr().cast(), 1, dst, os) };
            } else {
                if op == ReduceOp::Mean {
                    let d = T::from_scalar(Scalar::U64(n as u64));
                    for a in acc.iter_mut() {
                        *a = T::binary(BinaryOp::Divide, *a, d);
                    }
                }
                // SAFETY: nt values of T to nt strided output elements.
                unsafe { kernel::cast(T::DTYPE, odt)(nt, acc.as_ptr().cast(), 1, dst, os) };
            }
            t0 += nt;
        }
    });
}

//! Reduction kernels.
//!
//! Three shapes of work, each with a result that does not depend on how the elements are
//! spread over ranks, threads or tiles:
//!
//! * [`fold`]: a run of consecutive elements into a [`Partial`] (value, index of the value,
//!   count). Partials combine by value with ties and NaNs broken by the smaller flat index
//!   ([`Partial::combine`]), so min/max/argmin/argmax/any/all and integer sums and products
//!   (wrapping) are the same in any grouping.
//! * [`ChunkSum`]: float sums over all elements. The elements of each row (last axis) are cut
//!   into fixed chunks of [`CHUNK`] (global positions `k·CHUNK …`), each chunk is summed in a
//!   fixed order into eight lanes, and the chunk sums go into an exact accumulator
//!   ([`crate::kernel::exact::ExactSum`]). The engine has every chunk summed whole by one rank
//!   (fetching the few elements past a rank boundary), so the bits never depend on the layout.
//! * [`fold_lanes`]: reductions along an axis, each output element strictly left to right along
//!   its lane (as `np.add.reduce` does for every axis but a contiguous last one), vectorised
//!   across neighbouring lanes.
#![allow(unsafe_code)]
use crate::dtype::{C128, C64};
use crate::kernel::elem::Num;
use crate::kernel::ops::{BinaryOp, ReduceOp};
use crate::kernel::Src;

/// Elements per chunk of a float sum over all elements (see the [module docs](self)).
pub const CHUNK: usize = 4096;

/// Lanes of a chunk sum: enough independent additions in flight to keep vector units busy.
const LANES: usize = 16;

/// A partial reduction: the value so far (loop dtype), the flat index of that value (for the
/// arg ops, and for breaking ties between equal values) and the number of elements.
#[derive(Clone, Copy, Debug)]
pub struct Partial<T> {
    /// Reduced value.
    pub val: T,
    /// Flat (C-order) index of `val` among the reduced elements.
    pub idx: u64,
    /// Elements reduced.
    pub count: u64,
}

impl<T: Num> Partial<T> {
    /// The empty partial of `op`.
    pub fn empty(op: ReduceOp) -> Self {
        Partial {
            val: identity::<T>(op),
            idx: 0,
            count: 0,
        }
    }

    /// Combines two partials of `op` (order-independent, see the [module docs](self)).
    pub fn combine(op: ReduceOp, a: Self, b: Self) -> Self {
        if a.count == 0 {
            return b;
        }
        if b.count == 0 {
            return a;
        }
        let count = a.count + b.count;
        let pick = |take_b: bool| {
            if take_b {
                Partial { count, ..b }
            } else {
                Partial { count, ..a }
            }
        };
        let (val, idx) = match op {
            ReduceOp::Sum | ReduceOp::Mean => (T::binary(BinaryOp::Add, a.val, b.val), 0),
            ReduceOp::Prod => (T::binary(BinaryOp::Multiply, a.val, b.val), 0),
            ReduceOp::Any => (T::binary(BinaryOp::LogicalOr, a.val, b.val), 0),
            ReduceOp::All => (T::binary(BinaryOp::LogicalAnd, a.val, b.val), 0),
            ReduceOp::Min | ReduceOp::Argmin | ReduceOp::Max | ReduceOp::Argmax => {
                // NaN wins (the first NaN by index); equal values keep the smaller index.
                let (an, bn) = (a.val.is_nan(), b.val.is_nan());
                if an || bn {
                    return pick(bn && (!an || b.idx < a.idx));
                }
                let less = matches!(op, ReduceOp::Min | ReduceOp::Argmin);
                let better = T::compare(if less { BinaryOp::Less } else { BinaryOp::Greater }, b.val, a.val);
                let equal = T::compare(BinaryOp::Equal, b.val, a.val);
                return pick(better || (equal && b.idx < a.idx));
            }
        };
        Partial { val, idx, count }
    }
}

/// The identity of `op` in type `T` (0 for sum/mean/any, 1 for prod/all; min/max/arg ops have
/// none and start from their first element).
pub fn identity<T: Num>(op: ReduceOp) -> T {
    match op {
        ReduceOp::Prod | ReduceOp::All => T::one(),
        _ => T::zero(),
    }
}

/// Folds `n` elements (contiguous, or one repeated when `x.scalar`) with flat indices
/// `idx0, idx0 + 1, …` into `acc`.
///
/// # Safety
/// `x` is valid for `n` reads of `T` (one when scalar), aligned.
pub unsafe fn fold<T: Num>(op: ReduceOp, acc: &mut Partial<T>, n: usize, x: Src, idx0: u64) {
    if n == 0 {
        return;
    }
    if x.scalar {
        // SAFETY: one element (contract).
        let v = unsafe { *x.ptr.cast::<T>() };
        let mut p = Partial {
            val: v,
            idx: idx0,
            count: n as u64,
        };
        match op {
            ReduceOp::Sum | ReduceOp::Mean => {
                // n copies of v: repeated addition keeps integer wrapping and float rounding
                // the same as a loop over materialised copies.
                let mut s = v;
                for _ in 1..n {
                    s = T::binary(BinaryOp::Add, s, v);
                }
                p.val = s;
            }
            ReduceOp::Prod => {
                let mut s = v;
                for _ in 1..n {
                    s = T::binary(BinaryOp::Multiply, s, v);
                }
                p.val = s;
            }
            _ => {}
        }
        *acc = Partial::combine(op, *acc, p);
        return;
    }
    // SAFETY: n contiguous elements (contract).
    let xs = unsafe { std::slice::from_raw_parts(x.ptr.cast::<T>(), n) };
    let part = match op {
        ReduceOp::Sum | ReduceOp::Mean => Partial {
            val: xs.iter().fold(T::zero(), |s, &v| T::binary(BinaryOp::Add, s, v)),
            idx: 0,
            count: n as u64,
        },
        ReduceOp::Prod => Partial {
            val: xs.iter().fold(T::one(), |s, &v| T::binary(BinaryOp::Multiply, s, v)),
            idx: 0,
            count: n as u64,
        },
        ReduceOp::Any => Partial {
            val: truth(xs.iter().any(|&v| v != T::zero())),
            idx: 0,
            count: n as u64,
        },
        ReduceOp::All => Partial {
            val: truth(xs.iter().all(|&v| v != T::zero())),
            idx: 0,
            count: n as u64,
        },
        _ => {
            // min/max and the arg ops: the first best element, NaN first.
            let less = matches!(op, ReduceOp::Min | ReduceOp::Argmin);
            let cmp = if less { BinaryOp::Less } else { BinaryOp::Greater };
            let mut best = 0usize;
            for (i, &v) in xs.iter().enumerate().skip(1) {
                let b = xs[best];
                if b.is_nan() {
                    break;
                }
                if v.is_nan() || T::compare(cmp, v, b) {
                    best = i;
                }
            }
            Partial {
                val: xs[best],
                idx: idx0 + best as u64,
                count: n as u64,
            }
        }
    };
    *acc = Partial::combine(op, *acc, part);
}

/// The running sum of one chunk (see the [module docs](self)): eight lanes fed in a fixed
/// order, so a chunk fed in several pieces sums exactly as if fed at once.
#[derive(Clone, Copy, Debug, Default)]
pub struct ChunkSum {
    lanes: [f64; LANES],
    fed: usize,
}

/// Float element types of [`ChunkSum`]: real values, or complex ones as (re, im) pairs.
pub trait SumElem: Num {
    /// The type of a part.
    type Part: Copy + Into<f64>;
    /// The scalar parts (one for real, two for complex types).
    const PARTS: usize;
    /// The elements as a slice of their parts in memory order (re, im, re, im, … for complex).
    fn parts(xs: &[Self]) -> &[Self::Part];
}

impl SumElem for f64 {
    const PARTS: usize = 1;
    type Part = f64;
    fn parts(xs: &[f64]) -> &[f64] {
        xs
    }
}

impl SumElem for f32 {
    const PARTS: usize = 1;
    type Part = f32;
    fn parts(xs: &[f32]) -> &[f32] {
        xs
    }
}

impl SumElem for C128 {
    const PARTS: usize = 2;
    type Part = f64;
    fn parts(xs: &[C128]) -> &[f64] {
        // SAFETY: C128 is #[repr(C)] { re: f64, im: f64 }: 2·len f64 values, same alignment.
        unsafe { std::slice::from_raw_parts(xs.as_ptr().cast::<f64>(), 2 * xs.len()) }
    }
}

impl SumElem for C64 {
    const PARTS: usize = 2;
    type Part = f32;
    fn parts(xs: &[C64]) -> &[f32] {
        // SAFETY: C64 is #[repr(C)] { re: f32, im: f32 }: 2·len f32 values, same alignment.
        unsafe { std::slice::from_raw_parts(xs.as_ptr().cast::<f32>(), 2 * xs.len()) }
    }
}

impl ChunkSum {
    /// Feeds the next values of the chunk, in order.
    pub fn push<P: Copy + Into<f64>>(&mut self, xs: &[P]) {
        if crate::kernel::avx2() {
            // SAFETY: AVX2 is present (checked).
            unsafe { self.push_avx2(xs) }
        } else {
            self.push_body(xs)
        }
    }

    /// [`ChunkSum::push`] compiled for AVX2.
    ///
    /// # Safety
    /// The CPU supports AVX2.
    #[cfg_attr(target_arch = "x86_64", target_feature(enable = "avx2"))]
    unsafe fn push_avx2<P: Copy + Into<f64>>(&mut self, xs: &[P]) {
        self.push_body(xs)
    }

    #[inline(always)]
    fn push_body<P: Copy + Into<f64>>(&mut self, xs: &[P]) {
        // The lanes in locals (registers), not behind `self`, so the loop vectorises.
        let mut lanes = self.lanes;
        let mut fed = self.fed;
        let mut i = 0;
        while i < xs.len() && fed % LANES != 0 {
            lanes[fed % LANES] += xs[i].into();
            fed += 1;
            i += 1;
        }
        let body = &xs[i..];
        let mut blocks = body.chunks_exact(LANES);
        for b in &mut blocks {
            for (l, &v) in lanes.iter_mut().zip(b) {
                *l += v.into();
            }
        }
        fed += body.len() - blocks.remainder().len();
        for &v in blocks.remainder() {
            lanes[fed % LANES] += v.into();
            fed += 1;
        }
        self.lanes = lanes;
        self.fed = fed;
    }

    /// Values fed so far.
    pub fn fed(&self) -> usize {
        self.fed
    }

    /// The chunk's sum: (real, imaginary) for complex values fed as pairs (lanes of even and
    /// odd position), else (sum, 0).
    pub fn finish(&self, parts: usize) -> (f64, f64) {
        // A fixed pairwise tree over the lanes (of even and odd positions for complex pairs).
        fn tree(v: &[f64]) -> f64 {
            match v {
                [] => 0.0,
                [x] => *x,
                _ => {
                    let (a, b) = v.split_at(v.len() / 2);
                    tree(a) + tree(b)
                }
            }
        }
        if parts == 2 {
            let re: Vec<f64> = self.lanes.iter().step_by(2).copied().collect();
            let im: Vec<f64> = self.lanes.iter().skip(1).step_by(2).copied().collect();
            (tree(&re), tree(&im))
        } else {
            (tree(&self.lanes), 0.0)
        }
    }
}

/// Reduces `nt` lanes of `ni` elements each into `acc[0..nt]` (and `arg[0..nt]` for the arg
/// ops, else empty): element `i` of lane `t` is at `x + t·ts + i·is` (strides in elements) and
/// has position `i0 + i` along the axis. Each lane is reduced strictly in increasing `i`,
/// continuing from its current `acc` (so a lane may be fed in pieces, in order). `cnt` is
/// the number of elements each lane has seen before this call (0: `acc` is not yet a value).
///
/// # Safety
/// Every addressed element is valid for reads of `T`, aligned.
#[allow(clippy::too_many_arguments)]
pub unsafe fn fold_lanes<T: Num>(
    op: ReduceOp,
    acc: &mut [T],
    arg: &mut [i64],
    cnt: u64,
    x: *const T,
    ts: isize,
    ni: usize,
    is: isize,
    i0: i64,
) {
    // SAFETY: forwarded contract (both calls); AVX2 is present where it is used.
    unsafe {
        if crate::kernel::avx2() {
            fold_lanes_avx2(op, acc, arg, cnt, x, ts, ni, is, i0)
        } else {
            fold_lanes_body(op, acc, arg, cnt, x, ts, ni, is, i0)
        }
    }
}

/// [`fold_lanes`] compiled for AVX2.
///
/// # Safety
/// As [`fold_lanes`], and the CPU supports AVX2.
#[allow(clippy::too_many_arguments)]
#[cfg_attr(target_arch = "x86_64", target_feature(enable = "avx2"))]
unsafe fn fold_lanes_avx2<T: Num>(
    op: ReduceOp,
    acc: &mut [T],
    arg: &mut [i64],
    cnt: u64,
    x: *const T,
    ts: isize,
    ni: usize,
    is: isize,
    i0: i64,
) {
    // SAFETY: forwarded contract.
    unsafe { fold_lanes_body(op, acc, arg, cnt, x, ts, ni, is, i0) }
}

/// Positions per lane up to which [`fold_lanes`]' contiguous-lane sums go position by position
/// instead of through the transposed blocks.
const SHORT_LANES: usize = 8;

/// Lanes and positions of one transposed block of [`fold_lanes`]' contiguous-lane path.
const TLANES: usize = 16;
const TCOLS: usize = 64;

/// The body of [`fold_lanes`].
///
/// # Safety
/// As [`fold_lanes`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn fold_lanes_body<T: Num>(
    op: ReduceOp,
    acc: &mut [T],
    arg: &mut [i64],
    cnt: u64,
    x: *const T,
    ts: isize,
    ni: usize,
    is: isize,
    i0: i64,
) {
    let nt = acc.len();
    if is == 1 && nt > 1 && ni <= SHORT_LANES && arg.is_empty() && matches!(op, ReduceOp::Sum | ReduceOp::Mean) {
        // Short lanes (a sum over an axis of 3): position by position over all lanes, the
        // accumulators staying in cache; each lane still adds its elements in order.
        for c in 0..ni {
            for (t, l) in acc.iter_mut().enumerate() {
                // SAFETY: lane t, position c is valid (contract).
                let v = unsafe { *x.offset(t as isize * ts + c as isize) };
                *l = T::binary(BinaryOp::Add, *l, v);
            }
        }
        return;
    }
    if is == 1 && nt > 1 && arg.is_empty() && matches!(op, ReduceOp::Sum | ReduceOp::Mean) {
        // Lanes contiguous along i (a sum along the last axis): blocks of TLANES lanes ×
        // TCOLS positions are transposed through a small buffer, so one vector addition
        // advances TLANES lanes by one position. Every lane still adds its elements strictly
        // in order: the same bits as the loops below.
        let mut buf = [T::zero(); TLANES * TCOLS];
        let mut t0 = 0;
        while t0 < nt {
            let w = (nt - t0).min(TLANES);
            let mut a = [T::zero(); TLANES];
            a[..w].copy_from_slice(&acc[t0..t0 + w]);
            let mut c0 = 0;
            while c0 < ni {
                let c = (ni - c0).min(TCOLS);
                for u in 0..w {
                    // SAFETY: lane t0 + u, positions c0..c0 + c are valid (contract).
                    let row = unsafe { std::slice::from_raw_parts(x.offset((t0 + u) as isize * ts + c0 as isize), c) };
                    for (j, &v) in row.iter().enumerate() {
                        buf[j * TLANES + u] = v;
                    }
                }
                for col in buf.chunks_exact(TLANES).take(c) {
                    for (l, &v) in a.iter_mut().zip(col) {
                        *l = T::binary(BinaryOp::Add, *l, v);
                    }
                }
                c0 += c;
            }
            acc[t0..t0 + w].copy_from_slice(&a[..w]);
            t0 += w;
        }
        return;
    }
    // One step of one lane: the new accumulator (and argument) after element v at position p.
    let step = |a: T, ai: i64, v: T, p: i64, first: bool| -> (T, i64) {
        if first {
            return (v, p);
        }
        match op {
            ReduceOp::Sum | ReduceOp::Mean => (T::binary(BinaryOp::Add, a, v), 0),
            ReduceOp::Prod => (T::binary(BinaryOp::Multiply, a, v), 0),
            ReduceOp::Any => (truth(a != T::zero() || v != T::zero()), 0),
            ReduceOp::All => (truth(a != T::zero() && v != T::zero()), 0),
            _ => {
                if a.is_nan() {
                    return (a, ai);
                }
                let less = matches!(op, ReduceOp::Min | ReduceOp::Argmin);
                let better = T::compare(if less { BinaryOp::Less } else { BinaryOp::Greater }, v, a);
                if v.is_nan() || better {
                    (v, p)
                } else {
                    (a, ai)
                }
            }
        }
    };
    let has_identity = op.has_identity();
    let track = !arg.is_empty();
    // SAFETY: every offset t·ts + i·is with t < nt, i < ni addresses a valid element (contract).
    let at = |t: usize, i: usize| unsafe { *x.offset(t as isize * ts + i as isize * is) };
    if ts == 1 && !track {
        // Lanes side by side in memory: sweep i outside, lanes inside (vectorises).
        for i in 0..ni {
            let first = cnt == 0 && i == 0 && !has_identity;
            // SAFETY: lanes t < nt of position i are contiguous and valid (contract).
            let row = unsafe { std::slice::from_raw_parts(x.offset(i as isize * is), nt) };
            for (a, &v) in acc.iter_mut().zip(row) {
                *a = step(*a, 0, v, 0, first).0;
            }
        }
        return;
    }
    // Otherwise four lanes at a time, each strictly sequential (independent chains).
    let mut t = 0;
    while t < nt {
        let w = (nt - t).min(4);
        for i in 0..ni {
            let first = cnt == 0 && i == 0 && !has_identity;
            for u in t..t + w {
                let ai = if track { arg[u] } else { 0 };
                let (a, ai) = step(acc[u], ai, at(u, i), i0 + i as i64, first);
                acc[u] = a;
                if track {
                    arg[u] = ai;
                }
            }
        }
        t += w;
    }
}

/// `b` as 0 or 1 of `T` (any/all results).
#[inline(always)]
pub fn truth<T: Num>(b: bool) -> T {
    if b {
        T::one()
    } else {
        T::zero()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_sum_is_the_same_fed_in_pieces() {
        let xs: Vec<f64> = (0..1000)
            .map(|i| ((i * 7919) % 1000) as f64 * 1.1e-3 + 1e8 * ((i % 3) as f64))
            .collect();
        let mut whole = ChunkSum::default();
        whole.push(&xs);
        for cut in [1usize, 3, 7, 8, 9, 500, 999] {
            let mut parts = ChunkSum::default();
            parts.push(&xs[..cut]);
            parts.push(&xs[cut..]);
            assert_eq!(parts.finish(1).0.to_bits(), whole.finish(1).0.to_bits(), "cut {cut}");
        }
        assert_eq!(whole.fed(), 1000);
        let exact: f64 = xs.iter().sum();
        assert!((whole.finish(1).0 - exact).abs() / exact < 1e-12);
    }

    #[test]
    fn lanes_reduce_left_to_right() {
        // 3 lanes of 4 elements, lanes contiguous (ts = 1) and strided (ts = 4)
        let m = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0];
        let mut acc = [0.0f64; 3];
        // SAFETY: lane t, element i at t + 3i < 12.
        unsafe { fold_lanes(ReduceOp::Sum, &mut acc, &mut [], 0, m.as_ptr(), 1, 4, 3, 0) };
        assert_eq!(acc, [22.0, 26.0, 30.0]);
        let mut acc = [0.0f64; 3];
        let mut arg = [0i64; 3];
        // SAFETY: lane t, element i at 4t + i < 12.
        unsafe { fold_lanes(ReduceOp::Argmax, &mut acc, &mut arg, 0, m.as_ptr(), 4, 4, 1, 10) };
        assert_eq!((acc, arg), ([4.0, 8.0, 12.0], [13, 13, 13]));
        let mut acc = [0.0f64; 3];
        // SAFETY: as above, fed in two pieces of two elements.
        unsafe {
            fold_lanes(ReduceOp::Min, &mut acc, &mut [], 0, m.as_ptr(), 4, 2, 1, 0);
            fold_lanes(ReduceOp::Min, &mut acc, &mut [], 2, m.as_ptr().add(2), 4, 2, 1, 2);
        }
        assert_eq!(acc, [1.0, 5.0, 9.0]);
    }

    #[test]
    fn contiguous_lane_sums_match_left_to_right() {
        // Lanes along the last axis (is = 1, lane stride ts = ni): the short-lane path (ni up to
        // SHORT_LANES), the transposed blocks (longer) and lane counts around TLANES give the
        // bits of adding each lane's elements in order, onto an accumulator already holding a
        // value.
        let val = |k: usize| ((k * 7919 % 1000) as f64 - 500.0) * 10f64.powi((k % 9) as i32 - 4);
        for ni in [1, 2, 3, SHORT_LANES, SHORT_LANES + 1, 70, 130] {
            for nt in [2, 5, TLANES, TLANES + 3, 40] {
                let x: Vec<f64> = (0..nt * ni).map(val).collect();
                let mut acc: Vec<f64> = (0..nt).map(|t| val(t + 12345)).collect();
                let want: Vec<f64> = (0..nt)
                    .map(|t| x[t * ni..(t + 1) * ni].iter().fold(acc[t], |a, &v| a + v))
                    .collect();
                // SAFETY: lane t, position i at t * ni + i < nt * ni.
                unsafe { fold_lanes(ReduceOp::Sum, &mut acc, &mut [], 1, x.as_ptr(), ni as isize, ni, 1, 0) };
                let bits = |v: &[f64]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&acc), bits(&want), "ni {ni}, nt {nt}");
            }
        }
    }

    #[test]
    fn partials_combine_in_any_order() {
        let xs = [3.0f64, -1.0, 7.0, -1.0, f64::NAN, 2.0, f64::NAN];
        for op in [ReduceOp::Min, ReduceOp::Argmax, ReduceOp::Argmin] {
            let mut fwd = Partial::<f64>::empty(op);
            let mut rev = Partial::<f64>::empty(op);
            for (i, &v) in xs.iter().enumerate() {
                let p = Partial {
                    val: v,
                    idx: i as u64,
                    count: 1,
                };
                fwd = Partial::combine(op, fwd, p);
            }
            for (i, &v) in xs.iter().enumerate().rev() {
                let p = Partial {
                    val: v,
                    idx: i as u64,
                    count: 1,
                };
                rev = Partial::combine(op, rev, p);
            }
            assert_eq!(fwd.idx, rev.idx, "{op:?}");
            assert_eq!(fwd.idx, 4, "the first NaN wins");
        }
    }
}

//! The array engine's guarantees, against plain-loop references on `ndarray`:
//! - element-wise results are bit-identical to the reference (run at several thread counts by
//!   the harness, so threads on and off agree bit for bit);
//! - synchronisation by dependency keeps stencil-like sequences right when one rank is slow
//!   (`DISTARR_TEST_SLOW_RANK`/`DISTARR_TEST_DELAY_US`): a read of another rank's elements after
//!   it wrote them (read after write) and an overwrite of elements another rank is still reading
//!   (write after read);
//! - in-place operations whose output overlaps inputs that other ranks read (`a[1:] += a[:-1]`,
//!   2-D shifts, reversed views) equal NumPy's copy semantics;
//! - one-sided puts followed by a sync are seen by collective operations;
//! - arrays where some ranks own nothing, block-cyclic and mixed layouts;
//! - no heap growth per operation: 1,000 operations in steady state allocate nothing that stays.
use distarr_arrays::reduce::{reduce_all, reduce_axis, ReduceOp};
use distarr_arrays::ufunc::{binary, unary, where_, BinaryOp, Operand, UnaryOp};
use distarr_arrays::{DType, DistArray, Layout, Scalar, SliceItem};
use distarr_mpitests::{abort_on_panic, check, finish, Rng};
use distarr_runtime::Runtime;
use ndarray::{ArrayD, IxDyn};
use std::alloc::{GlobalAlloc, Layout as AllocLayout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

/// Counts live heap bytes, for the no-growth check.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: AllocLayout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: AllocLayout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: AllocLayout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn span(a: isize, b: isize) -> SliceItem {
    SliceItem::range(a, b, 1)
}

fn from_ref(rt: &Runtime, x: &ArrayD<f64>, layout: Layout) -> DistArray {
    let flat: Vec<f64> = x.iter().copied().collect();
    let root = rt.nranks() - 1;
    DistArray::scatter(
        rt,
        x.shape(),
        layout,
        root,
        (rt.rank() == root).then_some(flat.as_slice()),
    )
    .unwrap()
}

fn values(a: &DistArray) -> ArrayD<f64> {
    a.to_ndarray::<f64>().unwrap()
}

/// Exact (bitwise) equality, NaNs equal.
fn bits_equal(got: &ArrayD<f64>, want: &ArrayD<f64>, what: &str) {
    check(got.shape() == want.shape(), || {
        format!("{what}: shape {:?} vs {:?}", got.shape(), want.shape())
    });
    for (i, (g, w)) in got.iter().zip(want.iter()).enumerate() {
        check(g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()), || {
            format!("{what}: element {i}: {g:e} vs {w:e}")
        });
    }
}

fn layouts(nd: usize) -> Vec<Layout> {
    vec![
        Layout::Block,
        Layout::BlockCyclic { block: vec![3; nd] },
        Layout::BlockCyclic { block: vec![1; nd] },
        Layout::Replicated,
        Layout::OnRank(0),
    ]
}

fn rand_array(r: &mut Rng, shape: &[usize]) -> ArrayD<f64> {
    ArrayD::from_shape_fn(IxDyn(shape), |_| {
        (r.below(1 << 20) as f64 - 524288.0) / 1024.0 + 1.0 / 3.0
    })
}

/// Element-wise chains on mixed layouts and views, bit for bit.
fn elementwise(rt: &Runtime, r: &mut Rng) {
    for (case, shape) in [vec![37usize, 23], vec![5, 1, 6], vec![3], vec![1000], vec![2, 3]]
        .into_iter()
        .enumerate()
    {
        let nd = shape.len();
        for (la, lb) in layouts(nd).into_iter().zip(layouts(nd).into_iter().rev()) {
            let x = rand_array(r, &shape);
            let y = rand_array(r, &shape);
            let a = from_ref(rt, &x, la.clone());
            let b = from_ref(rt, &y, lb.clone());
            let what = format!("case {case} {shape:?} {la:?}/{lb:?}");
            // (a + b) * a - b / 3, then sqrt(|.|), each step on the engine
            let s = binary(BinaryOp::Add, Operand::Array(&a), Operand::Array(&b), None).unwrap();
            let p = binary(BinaryOp::Multiply, Operand::Array(&s), Operand::Array(&a), None).unwrap();
            let q = binary(
                BinaryOp::Divide,
                Operand::Array(&b),
                Operand::Scalar(Scalar::F64(3.0)),
                None,
            )
            .unwrap();
            binary(BinaryOp::Subtract, Operand::Array(&p), Operand::Array(&q), Some(&p)).unwrap();
            unary(UnaryOp::Absolute, &p, Some(&p)).unwrap();
            let z = unary(UnaryOp::Sqrt, &p, None).unwrap();
            let want = x
                .iter()
                .zip(y.iter())
                .map(|(&u, &v)| (((u + v) * u) - v / 3.0).abs().sqrt());
            let want = ArrayD::from_shape_vec(IxDyn(&shape), want.collect()).unwrap();
            bits_equal(&values(&z), &want, &format!("{what}: chain"));
            // transposed and reversed views against a base of another layout
            let t = a.transpose(None).unwrap();
            let rev: Vec<SliceItem> = (0..nd)
                .map(|_| SliceItem::Range {
                    start: None,
                    stop: None,
                    step: -1,
                })
                .collect();
            let bt = b.transpose(None).unwrap().slice(&rev).unwrap();
            let d = binary(BinaryOp::Subtract, Operand::Array(&t), Operand::Array(&bt), None).unwrap();
            let yt = y.t().to_owned();
            let yr = ArrayD::from_shape_fn(IxDyn(yt.shape()), |ix| {
                let src: Vec<usize> = (0..nd).map(|d| yt.shape()[d] - 1 - ix[d]).collect();
                yt[IxDyn(&src)]
            });
            let want = &x.t() - &yr;
            bits_equal(&values(&d), &want, &format!("{what}: a.T - b.T[::-1]"));
            // where and a comparison
            let m = binary(BinaryOp::Greater, Operand::Array(&a), Operand::Array(&b), None).unwrap();
            let w = where_(
                Operand::Array(&m),
                Operand::Array(&a),
                Operand::Scalar(Scalar::F64(-1.0)),
                None,
            )
            .unwrap();
            let want = ArrayD::from_shape_vec(
                IxDyn(&shape),
                x.iter()
                    .zip(y.iter())
                    .map(|(&u, &v)| if u > v { u } else { -1.0 })
                    .collect(),
            )
            .unwrap();
            bits_equal(&values(&w), &want, &format!("{what}: where(a > b, a, -1)"));
        }
    }
}

/// `steps` steps of `work = north + south + west + east; center = work * 0.25` on an n×n grid
/// with a fixed boundary: every step reads the neighbours' halo rows (read after the previous
/// step's write) and then overwrites elements the neighbours just read (write after read).
fn stencil(rt: &Runtime, layout: Layout, n: usize, steps: usize) {
    let x = ArrayD::from_shape_fn(IxDyn(&[n, n]), |ix| ((ix[0] * 7 + ix[1] * 13) % 17) as f64);
    let g = from_ref(rt, &x, layout.clone());
    let m = n as isize;
    let v = |r0: isize, r1: isize, c0: isize, c1: isize| g.slice(&[span(r0, r1), span(c0, c1)]).unwrap();
    let (center, north, south, west, east) = (
        v(1, m - 1, 1, m - 1),
        v(0, m - 2, 1, m - 1),
        v(2, m, 1, m - 1),
        v(1, m - 1, 0, m - 2),
        v(1, m - 1, 2, m),
    );
    let work = DistArray::empty(rt, center.shape(), DType::F64, Layout::Block).unwrap();
    for _ in 0..steps {
        binary(
            BinaryOp::Add,
            Operand::Array(&north),
            Operand::Array(&south),
            Some(&work),
        )
        .unwrap();
        binary(BinaryOp::Add, Operand::Array(&work), Operand::Array(&west), Some(&work)).unwrap();
        binary(BinaryOp::Add, Operand::Array(&work), Operand::Array(&east), Some(&work)).unwrap();
        binary(
            BinaryOp::Multiply,
            Operand::Array(&work),
            Operand::Scalar(Scalar::F64(0.25)),
            Some(&center),
        )
        .unwrap();
    }
    let mut w = x.clone();
    for _ in 0..steps {
        let old = w.clone();
        for i in 1..n - 1 {
            for j in 1..n - 1 {
                w[[i, j]] = (((old[[i - 1, j]] + old[[i + 1, j]]) + old[[i, j - 1]]) + old[[i, j + 1]]) * 0.25;
            }
        }
    }
    bits_equal(&values(&g), &w, &format!("stencil {n}x{n} {layout:?}"));
}

/// In-place operations whose output overlaps inputs read by other ranks.
fn overlapping(rt: &Runtime, r: &mut Rng) {
    for layout in layouts(1) {
        let n = 41;
        let x = rand_array(r, &[n]);
        let a = from_ref(rt, &x, layout.clone());
        let hi = a
            .slice(&[SliceItem::Range {
                start: Some(1),
                stop: None,
                step: 1,
            }])
            .unwrap();
        let lo = a
            .slice(&[SliceItem::Range {
                start: None,
                stop: Some(-1),
                step: 1,
            }])
            .unwrap();
        binary(BinaryOp::Add, Operand::Array(&hi), Operand::Array(&lo), Some(&hi)).unwrap();
        let mut w = x.clone();
        for i in 1..n {
            w[[i]] = x[[i]] + x[[i - 1]];
        }
        bits_equal(&values(&a), &w, &format!("a[1:] += a[:-1] {layout:?}"));
        // a[:-1] = a[1:] * 2 (the other direction) and a[:] = a[::-1] (a full reversal)
        binary(
            BinaryOp::Multiply,
            Operand::Array(&hi),
            Operand::Scalar(Scalar::F64(2.0)),
            Some(&lo),
        )
        .unwrap();
        let mut w2 = w.clone();
        for i in 0..n - 1 {
            w2[[i]] = w[[i + 1]] * 2.0;
        }
        bits_equal(&values(&a), &w2, &format!("a[:-1] = a[1:] * 2 {layout:?}"));
        let rev = a
            .slice(&[SliceItem::Range {
                start: None,
                stop: None,
                step: -1,
            }])
            .unwrap();
        a.copy_from(&rev).unwrap();
        let w3 = ArrayD::from_shape_fn(IxDyn(&[n]), |ix| w2[[n - 1 - ix[0]]]);
        bits_equal(&values(&a), &w3, &format!("a[:] = a[::-1] {layout:?}"));
    }
    // 2-D: g[1:, :] -= g[:-1, :] on a grid split in rows and columns
    let x = rand_array(r, &[13, 11]);
    let g = from_ref(rt, &x, Layout::Block);
    let dn = g.slice(&[span(1, 13), SliceItem::FULL]).unwrap();
    let up = g.slice(&[span(0, 12), SliceItem::FULL]).unwrap();
    binary(BinaryOp::Subtract, Operand::Array(&dn), Operand::Array(&up), Some(&dn)).unwrap();
    let w = ArrayD::from_shape_fn(IxDyn(&[13, 11]), |ix| {
        if ix[0] == 0 {
            x[[0, ix[1]]]
        } else {
            x[[ix[0], ix[1]]] - x[[ix[0] - 1, ix[1]]]
        }
    });
    bits_equal(&values(&g), &w, "g[1:] -= g[:-1]");
    // the transpose into itself: g2 = g2.T (square)
    let x = rand_array(r, &[9, 9]);
    let g2 = from_ref(rt, &x, Layout::BlockCyclic { block: vec![2, 3] });
    g2.copy_from(&g2.transpose(None).unwrap()).unwrap();
    bits_equal(&values(&g2), &x.t().to_owned(), "g = g.T");
}

/// One-sided puts after a sync are seen by the next collective operation; arrays where some
/// ranks own nothing.
fn one_sided_then_collective(rt: &Runtime) {
    for layout in layouts(1) {
        let n = 3; // fewer elements than ranks at 4 ranks
        let a = DistArray::zeros(rt, &[n], DType::F64, layout.clone()).unwrap();
        rt.sync().unwrap();
        if rt.rank() == rt.nranks() - 1 {
            a.put_region::<f64>(&[0], &[n], &[1.5, 2.5, 3.5]).unwrap();
        }
        rt.sync().unwrap();
        let s = reduce_all(&a, ReduceOp::Sum).unwrap();
        check(s == Scalar::F64(7.5), || format!("sum after puts {layout:?}: {s:?}"));
        let d = binary(
            BinaryOp::Multiply,
            Operand::Array(&a),
            Operand::Scalar(Scalar::F64(2.0)),
            None,
        )
        .unwrap();
        bits_equal(
            &values(&d),
            &ArrayD::from_shape_vec(IxDyn(&[3]), vec![3.0, 5.0, 7.0]).unwrap(),
            &format!("2a {layout:?}"),
        );
    }
}

/// 0-d arrays as broadcast operands, copy sources, conditions and reshaped views.
fn zero_d(rt: &Runtime) {
    for layout in [Layout::Block, Layout::Replicated, Layout::OnRank(rt.nranks() - 1)] {
        let x0 = DistArray::full(rt, &[], DType::F64, layout.clone(), Scalar::F64(2.5)).unwrap();
        let v = DistArray::arange(rt, 0.0, 5.0, 1.0, DType::F64, Layout::Block).unwrap();
        let s = binary(BinaryOp::Add, Operand::Array(&v), Operand::Array(&x0), None).unwrap();
        bits_equal(
            &values(&s),
            &ArrayD::from_shape_vec(IxDyn(&[5]), vec![2.5, 3.5, 4.5, 5.5, 6.5]).unwrap(),
            &format!("v + 0-d {layout:?}"),
        );
        let c = DistArray::zeros(rt, &[2, 3], DType::F64, Layout::Block).unwrap();
        c.copy_from(&x0).unwrap();
        bits_equal(
            &values(&c),
            &ArrayD::from_elem(IxDyn(&[2, 3]), 2.5),
            &format!("copy 0-d {layout:?}"),
        );
        let t = DistArray::full(rt, &[], DType::Bool, layout.clone(), Scalar::Bool(true)).unwrap();
        let w = where_(
            Operand::Array(&t),
            Operand::Array(&v),
            Operand::Scalar(Scalar::F64(-1.0)),
            None,
        )
        .unwrap();
        bits_equal(&values(&w), &values(&v), &format!("where(0-d true) {layout:?}"));
        let r = x0.reshape(&[1, 1]).unwrap();
        bits_equal(
            &values(&r),
            &ArrayD::from_elem(IxDyn(&[1, 1]), 2.5),
            &format!("0-d reshape {layout:?}"),
        );
        binary(
            BinaryOp::Multiply,
            Operand::Array(&r),
            Operand::Scalar(Scalar::F64(2.0)),
            Some(&r),
        )
        .unwrap();
        let g = x0.gather::<f64>(0).unwrap();
        if rt.rank() == 0 {
            check(g.is_some_and(|g| g.iter().copied().eq([5.0])), || {
                format!("0-d written through a view {layout:?}")
            });
        }
        let m = reduce_all(&x0, ReduceOp::Max).unwrap();
        check(m == Scalar::F64(5.0), || format!("max of 0-d {layout:?}: {m:?}"));
    }
}

/// Live heap bytes must not grow over 1,000 operations once plans and buffers are warm (in the
/// cleanest of three windows: see below).
fn no_growth(rt: &Runtime) {
    let x = DistArray::random_uniform(rt, &[200, 300], 3, DType::F64, Layout::Block).unwrap();
    let y = DistArray::zeros(rt, &[198, 298], DType::F64, Layout::Block).unwrap();
    let inner = x.slice(&[span(1, -1), span(1, -1)]).unwrap();
    let north = x.slice(&[span(0, -2), span(1, -1)]).unwrap();
    let ops = |k: usize| {
        for _ in 0..k {
            binary(BinaryOp::Add, Operand::Array(&inner), Operand::Array(&north), Some(&y)).unwrap();
            binary(
                BinaryOp::Multiply,
                Operand::Array(&y),
                Operand::Scalar(Scalar::F64(0.5)),
                Some(&y),
            )
            .unwrap();
            reduce_all(&y, ReduceOp::Sum).unwrap();
            let s = reduce_axis(&y, ReduceOp::Max, 1).unwrap();
            s.free().unwrap();
            y.copy_from(&inner).unwrap();
        }
    };
    ops(20);
    rt.barrier().unwrap();
    // Three windows of 1,000 operations: a leak grows the heap in every one. A worker thread's
    // tile buffers grow once, the first time the pool gives that thread a job, which under load
    // may happen late (after the warm-up); at most one window per idle thread sees it.
    let mut grown = Vec::new();
    for _ in 0..3 {
        let before = LIVE.load(Ordering::Relaxed);
        ops(200);
        rt.barrier().unwrap();
        grown.push(LIVE.load(Ordering::Relaxed) - before);
    }
    check(grown.iter().min().is_some_and(|&g| g < 64 * 1024), || {
        format!("live heap grew by {grown:?} bytes over three windows of 1,000 operations")
    });
}

fn main() {
    abort_on_panic();
    let rt = Runtime::init().unwrap();
    let mut r = Rng::new(77, 5);
    elementwise(&rt, &mut r);
    for layout in [
        Layout::Block,
        Layout::BlockCyclic { block: vec![4, 3] },
        Layout::Replicated,
    ] {
        stencil(&rt, layout, 24, 6);
    }
    overlapping(&rt, &mut r);
    one_sided_then_collective(&rt);
    zero_d(&rt);
    no_growth(&rt);
    finish(&rt);
}

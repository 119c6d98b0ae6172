//! Deferred execution and fusion (issue 10), against references computed without them:
//! - random chains of element-wise operations, in-place updates through overlapping views,
//!   axis reductions, copies, fills, dropped temporaries and freed arrays give bit-identical
//!   results with deferral on and off, and equal a plain-loop reference on `ndarray` (every
//!   operation here is exact IEEE arithmetic, so equal means equal bits);
//! - every flush point flushes: after it, this rank's local block shows the deferred writes;
//!   without one, a local-block access to a pending array is refused (several ranks);
//! - errors come at the call (shapes, dtypes, freed arrays, bad axes), and the operations
//!   recorded before the failed call still run;
//! - a temporary that dies before the flush is never allocated, and an axis reduction of one
//!   (`(A * h).sum(axis=1)`) runs fused without storing it;
//! - ranks that record different operations get a `CollectiveMismatch` error at the flush, on
//!   every rank, instead of a hang.
use distarr_arrays::reduce::{reduce_all, reduce_axis, reduce_axis_into, ReduceOp};
use distarr_arrays::ufunc::{binary, unary, where_, BinaryOp, Operand, UnaryOp};
use distarr_arrays::{flush, set_lazy, DType, DistArray, ErrorKind, Layout, Scalar, SliceItem};
use distarr_mpitests::{abort_on_panic, check, finish, Rng};
use distarr_runtime::Runtime;
use ndarray::{ArrayD, Axis, IxDyn};

/// What a program leaves: final slots, reduced vectors and scalar totals.
type Outcome = (Vec<ArrayD<f64>>, Vec<Option<ArrayD<f64>>>, Vec<f64>);
/// A named flush point applied to two arrays.
type Point<'a> = (&'static str, Box<dyn Fn(&DistArray, &DistArray) + 'a>);

fn span(a: usize, b: usize) -> SliceItem {
    SliceItem::range(a as isize, b as isize, 1)
}

/// The values of `a` on every rank (collective).
fn values(a: &DistArray) -> ArrayD<f64> {
    let a64 = if a.dtype() == DType::F64 {
        a.clone()
    } else {
        a.astype(DType::F64).unwrap()
    };
    a64.to_ndarray::<f64>().unwrap()
}

fn bits(x: &ArrayD<f64>) -> Vec<u64> {
    x.iter().map(|v| v.to_bits()).collect()
}

fn same_bits(a: &ArrayD<f64>, b: &ArrayD<f64>) -> bool {
    a.shape() == b.shape() && bits(a) == bits(b)
}

/// A distributed array with the values of `x` (rank 0 scatters them).
fn from_ref(rt: &Runtime, x: &ArrayD<f64>, layout: Layout) -> DistArray {
    let flat: Vec<f64> = x.iter().copied().collect();
    DistArray::scatter(rt, x.shape(), layout, 0, (rt.rank() == 0).then_some(flat.as_slice())).unwrap()
}

/// Small random values with few bits, so that sums and products are exact in any order.
fn random_ref(r: &mut Rng, shape: &[usize]) -> ArrayD<f64> {
    ArrayD::from_shape_fn(IxDyn(shape), |_| (r.below(33) as f64 - 16.0) / 4.0)
}

// --- random chains -------------------------------------------------------------------------

/// A view of a slot: the whole array, or rows `lo..lo + m - 1` (the two windows of a shift).
#[derive(Clone, Copy, Debug)]
enum Win {
    Full,
    Rows(usize),
}

/// One step of a random program over slots of `(m, n)` float64 arrays.
#[derive(Clone, Debug)]
enum Step {
    /// `slot[dst] = x op y` (a new array; the old one is dropped).
    New { dst: usize, op: BinaryOp, x: Src, y: Src },
    /// `slot[dst][w] = x op y` in place (`out=`), inputs through windows of the same shape.
    InPlace {
        dst: usize,
        w: Win,
        op: BinaryOp,
        x: Src,
        y: Src,
    },
    /// `slot[dst] = -slot[src]`, `abs`, `square`.
    Unary { dst: usize, op: UnaryOp, src: usize },
    /// `slot[dst] = where(slot[a] > slot[b], slot[a], c)`.
    Where { dst: usize, a: usize, b: usize, c: f64 },
    /// `slot[dst][w1] = slot[src][w2]`.
    Copy { dst: usize, w1: Win, src: usize, w2: Win },
    /// `slot[dst].fill(c)`.
    Fill { dst: usize, c: f64 },
    /// `slot[dst] = slot[src].astype(float32).astype(float64)` (rounding).
    Round32 { dst: usize, src: usize },
    /// Drop or free (`free`) a slot and put a fresh array there.
    Replace { dst: usize, free: bool, seed: u64 },
    /// `vec[k] = slot[src].sum/max(axis)` (a temporary `slot[a] * slot[b]` when `product`).
    Reduce {
        k: usize,
        src: usize,
        other: usize,
        product: bool,
        op: ReduceOp,
        axis: usize,
    },
    /// A scalar sum of a slot: a flush point, compared on the spot.
    Total { src: usize },
    /// `flush`, `sync` or `barrier`.
    Flush(u8),
}

/// An operand: a slot through a window, a scalar, or the row vector `vec[0]` broadcast.
#[derive(Clone, Copy, Debug)]
enum Src {
    Slot(usize, Win),
    Scalar(f64),
}

const SLOTS: usize = 4;
const OPS: [BinaryOp; 5] = [
    BinaryOp::Add,
    BinaryOp::Subtract,
    BinaryOp::Multiply,
    BinaryOp::Maximum,
    BinaryOp::Minimum,
];

fn gen_program(r: &mut Rng, m: usize, len: usize) -> Vec<Step> {
    let slot = |r: &mut Rng| r.below(SLOTS as u64) as usize;
    let win = |r: &mut Rng| {
        if m > 1 && r.below(2) == 0 {
            Win::Rows(r.below(2) as usize)
        } else {
            Win::Full
        }
    };
    let scalar = |r: &mut Rng| (r.below(9) as f64 - 4.0) / 2.0;
    (0..len)
        .map(|_| match r.below(22) {
            0..=4 => {
                let (x, y) = (
                    Src::Slot(slot(r), Win::Full),
                    if r.below(3) == 0 {
                        Src::Scalar(scalar(r))
                    } else {
                        Src::Slot(slot(r), Win::Full)
                    },
                );
                Step::New {
                    dst: slot(r),
                    op: OPS[r.below(5) as usize],
                    x,
                    y,
                }
            }
            5..=8 => {
                let w = win(r);
                // Inputs through windows of the output's shape: the same or the other shift.
                let wx = match w {
                    Win::Full => Win::Full,
                    Win::Rows(_) => Win::Rows(r.below(2) as usize),
                };
                let y = if r.below(3) == 0 {
                    Src::Scalar(scalar(r))
                } else {
                    Src::Slot(slot(r), wx)
                };
                Step::InPlace {
                    dst: slot(r),
                    w,
                    op: OPS[r.below(5) as usize],
                    x: Src::Slot(slot(r), wx),
                    y,
                }
            }
            9 => Step::Unary {
                dst: slot(r),
                op: [UnaryOp::Negative, UnaryOp::Absolute, UnaryOp::Square][r.below(3) as usize],
                src: slot(r),
            },
            10 => Step::Where {
                dst: slot(r),
                a: slot(r),
                b: slot(r),
                c: scalar(r),
            },
            11 | 12 => {
                let w1 = win(r);
                let w2 = match w1 {
                    Win::Full => Win::Full,
                    Win::Rows(_) => Win::Rows(r.below(2) as usize),
                };
                Step::Copy {
                    dst: slot(r),
                    w1,
                    src: slot(r),
                    w2,
                }
            }
            13 => Step::Fill {
                dst: slot(r),
                c: scalar(r),
            },
            14 => Step::Round32 {
                dst: slot(r),
                src: slot(r),
            },
            15 | 16 => Step::Replace {
                dst: slot(r),
                free: r.below(2) == 0,
                seed: r.next_u64(),
            },
            17..=19 => Step::Reduce {
                k: r.below(2) as usize,
                src: slot(r),
                other: slot(r),
                product: r.below(2) == 0,
                op: [ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min][r.below(3) as usize],
                axis: r.below(2) as usize,
            },
            20 => Step::Total { src: slot(r) },
            _ => Step::Flush(r.below(3) as u8),
        })
        .collect()
}

/// The reference: the same program on `ndarray`, NumPy's semantics (copies of overlapping
/// inputs before an in-place update).
struct RefState {
    slots: Vec<ArrayD<f64>>,
    vecs: Vec<Option<ArrayD<f64>>>,
    totals: Vec<f64>,
}

fn ref_win(a: &ArrayD<f64>, w: Win, m: usize) -> ArrayD<f64> {
    match w {
        Win::Full => a.clone(),
        Win::Rows(lo) => a.slice_axis(Axis(0), (lo..lo + m - 1).into()).to_owned(),
    }
}

fn apply(op: BinaryOp, x: f64, y: f64) -> f64 {
    match op {
        BinaryOp::Add => x + y,
        BinaryOp::Subtract => x - y,
        BinaryOp::Multiply => x * y,
        BinaryOp::Maximum => {
            if x.is_nan() || y.is_nan() {
                f64::NAN
            } else {
                x.max(y)
            }
        }
        BinaryOp::Minimum => {
            if x.is_nan() || y.is_nan() {
                f64::NAN
            } else {
                x.min(y)
            }
        }
        _ => unreachable!("not generated"),
    }
}

fn ref_src(st: &RefState, s: Src, shape: &[usize], m: usize) -> ArrayD<f64> {
    match s {
        Src::Slot(k, w) => ref_win(&st.slots[k], w, m),
        Src::Scalar(c) => ArrayD::from_elem(IxDyn(shape), c),
    }
}

fn run_ref(prog: &[Step], init: &[ArrayD<f64>], fresh: &dyn Fn(u64) -> ArrayD<f64>) -> RefState {
    let m = init[0].shape()[0];
    let mut st = RefState {
        slots: init.to_vec(),
        vecs: vec![None, None],
        totals: Vec::new(),
    };
    let full = init[0].shape().to_vec();
    for step in prog {
        match *step {
            Step::New { dst, op, x, y } => {
                let (x, y) = (ref_src(&st, x, &full, m), ref_src(&st, y, &full, m));
                st.slots[dst] = ndarray::Zip::from(&x).and(&y).map_collect(|&a, &b| apply(op, a, b));
            }
            Step::InPlace { dst, w, op, x, y } => {
                let shape = ref_win(&st.slots[dst], w, m).shape().to_vec();
                let (x, y) = (ref_src(&st, x, &shape, m), ref_src(&st, y, &shape, m));
                let v = ndarray::Zip::from(&x).and(&y).map_collect(|&a, &b| apply(op, a, b));
                match w {
                    Win::Full => st.slots[dst] = v,
                    Win::Rows(lo) => st.slots[dst]
                        .slice_axis_mut(Axis(0), (lo..lo + m - 1).into())
                        .assign(&v),
                }
            }
            Step::Unary { dst, op, src } => {
                st.slots[dst] = st.slots[src].mapv(|v| match op {
                    UnaryOp::Negative => -v,
                    UnaryOp::Absolute => v.abs(),
                    _ => v * v,
                });
            }
            Step::Where { dst, a, b, c } => {
                let (x, y) = (st.slots[a].clone(), st.slots[b].clone());
                st.slots[dst] = ndarray::Zip::from(&x)
                    .and(&y)
                    .map_collect(|&p, &q| if p > q { p } else { c });
            }
            Step::Copy { dst, w1, src, w2 } => {
                let v = ref_win(&st.slots[src], w2, m);
                match w1 {
                    Win::Full => st.slots[dst] = v,
                    Win::Rows(lo) => st.slots[dst]
                        .slice_axis_mut(Axis(0), (lo..lo + m - 1).into())
                        .assign(&v),
                }
            }
            Step::Fill { dst, c } => st.slots[dst].fill(c),
            Step::Round32 { dst, src } => st.slots[dst] = st.slots[src].mapv(|v| v as f32 as f64),
            Step::Replace { dst, seed, .. } => st.slots[dst] = fresh(seed),
            Step::Reduce {
                k,
                src,
                other,
                product,
                op,
                axis,
            } => {
                let x = if product {
                    &st.slots[src] * &st.slots[other]
                } else {
                    st.slots[src].clone()
                };
                // Sequential lanes, as the engine sums along an axis.
                let v = x.map_axis(Axis(axis), |lane| {
                    let mut acc = match op {
                        ReduceOp::Sum => 0.0,
                        ReduceOp::Max => f64::NEG_INFINITY,
                        _ => f64::INFINITY,
                    };
                    for &e in lane.iter() {
                        acc = match op {
                            ReduceOp::Sum => acc + e,
                            ReduceOp::Max => apply(BinaryOp::Maximum, acc, e),
                            _ => apply(BinaryOp::Minimum, acc, e),
                        };
                    }
                    acc
                });
                st.vecs[k] = Some(v);
            }
            Step::Total { src } => st.totals.push(st.slots[src].sum()),
            Step::Flush(_) => {}
        }
    }
    st
}

/// A slot's window as a distributed view.
fn win(a: &DistArray, w: Win, m: usize) -> DistArray {
    match w {
        Win::Full => a.clone(),
        Win::Rows(lo) => a.slice(&[span(lo, lo + m - 1), SliceItem::FULL]).unwrap(),
    }
}

fn operand<'a>(slots: &'a [DistArray], s: Src, m: usize, keep: &'a mut Option<DistArray>) -> Operand<'a> {
    match s {
        Src::Slot(k, Win::Full) => Operand::Array(&slots[k]),
        Src::Slot(k, w) => Operand::Array(keep.insert(win(&slots[k], w, m))),
        Src::Scalar(c) => Operand::Scalar(Scalar::F64(c)),
    }
}

/// The program on distributed arrays: final slots, reduced vectors and scalar totals.
fn run_dist(rt: &Runtime, prog: &[Step], init: &[DistArray], fresh: &dyn Fn(u64) -> DistArray) -> Outcome {
    let m = init[0].shape()[0];
    let mut slots: Vec<DistArray> = init.iter().map(|a| a.astype(DType::F64).unwrap()).collect();
    let mut vecs: Vec<Option<DistArray>> = vec![None, None];
    let mut totals = Vec::new();
    for step in prog {
        match *step {
            Step::New { dst, op, x, y } => {
                let (mut kx, mut ky) = (None, None);
                let r = binary(op, operand(&slots, x, m, &mut kx), operand(&slots, y, m, &mut ky), None).unwrap();
                slots[dst] = r;
            }
            Step::InPlace { dst, w, op, x, y } => {
                let (mut kx, mut ky) = (None, None);
                let out = win(&slots[dst], w, m);
                binary(
                    op,
                    operand(&slots, x, m, &mut kx),
                    operand(&slots, y, m, &mut ky),
                    Some(&out),
                )
                .unwrap();
            }
            Step::Unary { dst, op, src } => slots[dst] = unary(op, &slots[src], None).unwrap(),
            Step::Where { dst, a, b, c } => {
                let cond = binary(
                    BinaryOp::Greater,
                    Operand::Array(&slots[a]),
                    Operand::Array(&slots[b]),
                    None,
                )
                .unwrap();
                slots[dst] = where_(
                    Operand::Array(&cond),
                    Operand::Array(&slots[a]),
                    Operand::Scalar(Scalar::F64(c)),
                    None,
                )
                .unwrap();
            }
            Step::Copy { dst, w1, src, w2 } => {
                win(&slots[dst], w1, m).copy_from(&win(&slots[src], w2, m)).unwrap();
            }
            Step::Fill { dst, c } => slots[dst].fill(Scalar::F64(c)).unwrap(),
            Step::Round32 { dst, src } => {
                slots[dst] = slots[src].astype(DType::F32).unwrap().astype(DType::F64).unwrap();
            }
            Step::Replace { dst, free, seed } => {
                let old = std::mem::replace(&mut slots[dst], fresh(seed));
                if free {
                    old.free().unwrap();
                }
            }
            Step::Reduce {
                k,
                src,
                other,
                product,
                op,
                axis,
            } => {
                let v = if product {
                    let p = binary(
                        BinaryOp::Multiply,
                        Operand::Array(&slots[src]),
                        Operand::Array(&slots[other]),
                        None,
                    )
                    .unwrap();
                    reduce_axis(&p, op, axis).unwrap()
                } else {
                    reduce_axis(&slots[src], op, axis).unwrap()
                };
                vecs[k] = Some(v);
            }
            Step::Total { src } => {
                let Scalar::F64(s) = reduce_all(&slots[src], ReduceOp::Sum).unwrap() else {
                    unreachable!("a float64 sum is float64")
                };
                totals.push(s);
            }
            Step::Flush(0) => flush(rt).unwrap(),
            Step::Flush(1) => rt.sync().unwrap(),
            Step::Flush(_) => rt.barrier().unwrap(),
        }
    }
    (
        slots.iter().map(values).collect(),
        vecs.iter().map(|v| v.as_ref().map(values)).collect(),
        totals,
    )
}

fn chains(rt: &Runtime) {
    let mut r = Rng::new(10, 1);
    for case in 0..48 {
        let (m, n) = (1 + r.below(20) as usize, 1 + r.below(24) as usize);
        let layout = match r.below(3) {
            0 => Layout::Block,
            1 => Layout::BlockCyclic { block: vec![2, 3] },
            _ => Layout::Replicated,
        };
        let len = 8 + r.below(40) as usize;
        let prog = gen_program(&mut r, m, len);
        let init_ref: Vec<ArrayD<f64>> = (0..SLOTS).map(|_| random_ref(&mut r, &[m, n])).collect();
        let fresh_ref = |seed: u64| random_ref(&mut Rng::new(seed, 3), &[m, n]);
        let want = run_ref(&prog, &init_ref, &fresh_ref);
        let init: Vec<DistArray> = init_ref.iter().map(|x| from_ref(rt, x, layout.clone())).collect();
        let fresh = |seed: u64| from_ref(rt, &fresh_ref(seed), layout.clone());
        let mut runs = Vec::new();
        for lazy in [false, true] {
            set_lazy(rt, lazy).unwrap();
            runs.push(run_dist(rt, &prog, &init, &fresh));
        }
        set_lazy(rt, true).unwrap();
        let what = || format!("case {case}: shape ({m}, {n}), {layout:?}, program {prog:?}");
        let (eager, lazy) = (&runs[0], &runs[1]);
        for k in 0..SLOTS {
            check(same_bits(&eager.0[k], &lazy.0[k]), || {
                format!("slot {k}: lazy differs from eager; {}", what())
            });
            check(same_bits(&lazy.0[k], &want.slots[k]), || {
                format!("slot {k}: {:?} != reference {:?}; {}", lazy.0[k], want.slots[k], what())
            });
        }
        for k in 0..2 {
            match (&eager.1[k], &lazy.1[k], &want.vecs[k]) {
                (Some(e), Some(l), Some(w)) => {
                    check(same_bits(e, l), || {
                        format!("reduction {k}: lazy differs from eager; {}", what())
                    });
                    check(same_bits(l, w), || {
                        format!("reduction {k}: {l:?} != reference {w:?}; {}", what())
                    });
                }
                (None, None, None) => {}
                _ => check(false, || format!("reduction {k} missing; {}", what())),
            }
        }
        check(
            eager.2.len() == want.totals.len()
                && eager.2.iter().zip(&lazy.2).all(|(a, b)| a.to_bits() == b.to_bits())
                && lazy.2.iter().zip(&want.totals).all(|(&a, &b)| close(a, b)),
            || {
                format!(
                    "totals {:?} / {:?} != reference {:?}; {}",
                    eager.2,
                    lazy.2,
                    want.totals,
                    what()
                )
            },
        );
    }
}

/// Equal within rounding (the reference sums in another order), or both the same non-finite.
fn close(a: f64, b: f64) -> bool {
    if a.is_finite() && b.is_finite() {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    } else {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }
}

// --- flush points --------------------------------------------------------------------------

/// This rank's local block of `a` (f64, block layout).
fn local(a: &DistArray) -> distarr_arrays::Result<Vec<f64>> {
    a.local_block::<f64>().map(|b| b.iter().copied().collect())
}

fn flush_points(rt: &Runtime) {
    let n = 40;
    // A directory named after rank 0's process (the same path on every rank).
    let mut pid = [u64::from(std::process::id())];
    rt.broadcast(&mut pid, 0).unwrap();
    let dir = std::env::temp_dir().join(format!("distarr-lazy-{}", pid[0]));
    if rt.rank() == 0 {
        std::fs::create_dir_all(&dir).unwrap();
    }
    rt.barrier().unwrap();
    let points: Vec<Point> = vec![
        ("flush", Box::new(|_, _| flush(rt).unwrap())),
        ("sync", Box::new(|_, _| rt.sync().unwrap())),
        ("barrier", Box::new(|_, _| rt.barrier().unwrap())),
        ("fence", Box::new(|_, _| rt.fence().unwrap())),
        (
            "reduce_all of another array",
            Box::new(|_, o| {
                reduce_all(o, ReduceOp::Max).unwrap();
            }),
        ),
        (
            "reduce_all",
            Box::new(|a, _| {
                reduce_all(a, ReduceOp::Sum).unwrap();
            }),
        ),
        (
            "to_ndarray of another array",
            Box::new(|_, o| drop(o.to_ndarray::<f64>().unwrap())),
        ),
        ("gather", Box::new(|a, _| drop(a.gather::<f64>(0).unwrap()))),
        (
            "matmul",
            Box::new(|a, _| drop(distarr_arrays::linalg::matmul(a, a).unwrap())),
        ),
        (
            "save_npy",
            Box::new(|a, _| distarr_arrays::io::save_npy(a, &dir.join("a.npy")).unwrap()),
        ),
    ];
    for (name, point) in &points {
        let a = DistArray::zeros(rt, &[n], DType::F64, Layout::Block).unwrap();
        let other = DistArray::full(rt, &[n], DType::F64, Layout::Block, Scalar::F64(2.0)).unwrap();
        binary(BinaryOp::Add, Operand::Array(&a), Operand::Array(&other), Some(&a)).unwrap();
        binary(
            BinaryOp::Multiply,
            Operand::Array(&a),
            Operand::Scalar(Scalar::F64(3.0)),
            Some(&a),
        )
        .unwrap();
        if rt.nranks() > 1 {
            let e = local(&a).expect_err("local block of a pending array");
            check(e.kind() == ErrorKind::InvalidArgument, || {
                format!("{name}: local block before the flush: {e}")
            });
        }
        point(&a, &other);
        let got = local(&a).unwrap_or_else(|e| panic!("[rank {}] {name}: local block after it: {e}", rt.rank()));
        check(got.iter().all(|&v| v == 6.0), || {
            format!("{name}: local block {got:?}, expected 6s")
        });
        rt.sync().unwrap();
    }
    rt.barrier().unwrap();
    if rt.rank() == 0 {
        let _ = std::fs::remove_dir_all(&dir);
    }
    // With one rank a one-sided read flushes by itself; with several, the region read after a
    // sync sees the deferred writes of every rank.
    let a = DistArray::zeros(rt, &[n], DType::F64, Layout::Block).unwrap();
    a.fill(Scalar::F64(5.0)).unwrap();
    if rt.nranks() == 1 {
        check(a.get_region::<f64>(&[0], &[n]).unwrap() == vec![5.0; n], || {
            "one-rank read".into()
        });
    } else {
        let e = a
            .get_region::<f64>(&[0], &[n])
            .expect_err("region read of a pending array");
        check(e.kind() == ErrorKind::InvalidArgument, || {
            format!("region read before a sync: {e}")
        });
        rt.sync().unwrap();
        check(a.get_region::<f64>(&[0], &[n]).unwrap() == vec![5.0; n], || {
            "read after sync".into()
        });
    }
    // An axis reduction is deferred too: a read of its result waits for a flush.
    let m = DistArray::full(rt, &[6, 5], DType::F64, Layout::Block, Scalar::F64(1.5)).unwrap();
    let s = reduce_axis(&m, ReduceOp::Sum, 0).unwrap();
    check(values(&s).iter().all(|&v| v == 9.0), || {
        "deferred axis reduction".into()
    });
}

// --- errors at the call --------------------------------------------------------------------

fn errors_at_call(rt: &Runtime) {
    let a = DistArray::full(rt, &[6, 4], DType::F64, Layout::Block, Scalar::F64(1.0)).unwrap();
    let b = DistArray::full(rt, &[5], DType::F64, Layout::Block, Scalar::F64(2.0)).unwrap();
    let i = DistArray::full(rt, &[6, 4], DType::I32, Layout::Block, Scalar::I32(3)).unwrap();
    // Recorded before the failing calls, and still run.
    binary(
        BinaryOp::Add,
        Operand::Array(&a),
        Operand::Scalar(Scalar::F64(1.0)),
        Some(&a),
    )
    .unwrap();
    let expect = |r: distarr_arrays::Result<DistArray>, kind: ErrorKind, what: &str| match r {
        Ok(_) => check(false, || format!("{what}: expected {kind:?}, got Ok")),
        Err(e) => check(e.kind() == kind, || format!("{what}: expected {kind:?}, got {e}")),
    };
    expect(
        binary(BinaryOp::Add, Operand::Array(&a), Operand::Array(&b), None),
        ErrorKind::Shape,
        "a + b",
    );
    expect(
        binary(BinaryOp::Add, Operand::Array(&a), Operand::Array(&a), Some(&i)),
        ErrorKind::DType,
        "int32 out= of a float64 sum",
    );
    expect(
        reduce_axis(&a, ReduceOp::Sum, 2),
        ErrorKind::InvalidArgument,
        "axis 2 of a 2-D array",
    );
    let out = DistArray::zeros(rt, &[3], DType::F64, Layout::Block).unwrap();
    check(
        reduce_axis_into(&a, ReduceOp::Sum, 0, &out).is_err_and(|e| e.kind() == ErrorKind::Shape),
        || "reduce_axis_into a wrong shape".into(),
    );
    let bc = b
        .slice(&[SliceItem::NewAxis, SliceItem::FULL])
        .unwrap()
        .broadcast_to(&[3, 5])
        .unwrap();
    check(bc.fill(Scalar::F64(0.0)).is_err(), || "fill of a broadcast view".into());
    let gone = DistArray::zeros(rt, &[6, 4], DType::F64, Layout::Block).unwrap();
    let g2 = gone.clone();
    gone.free().unwrap();
    expect(
        binary(BinaryOp::Add, Operand::Array(&a), Operand::Array(&g2), None),
        ErrorKind::Freed,
        "a freed operand",
    );
    check(values(&a).iter().all(|&v| v == 2.0), || {
        "the operation recorded first ran".into()
    });
}

// --- memory: temporaries and fused reductions ----------------------------------------------

fn used(rt: &Runtime) -> u64 {
    rt.heap_usage().unwrap().0
}

fn temporaries(rt: &Runtime) {
    let n = 1 << 16;
    let mk = |v: f64| DistArray::full(rt, &[n], DType::F64, Layout::Block, Scalar::F64(v)).unwrap();
    let (a, b, c) = (mk(1.0), mk(2.0), mk(4.0));
    // What one new array of this shape takes on this rank.
    let before = used(rt);
    let one = DistArray::empty(rt, &[n], DType::F64, Layout::Block).unwrap();
    let per_array = used(rt) - before;
    one.free().unwrap();
    // ((a + b) * c - a) / (b + 1): four temporaries that die, one result.
    let before = used(rt);
    let r = {
        let t1 = binary(BinaryOp::Add, Operand::Array(&a), Operand::Array(&b), None).unwrap();
        let t2 = binary(BinaryOp::Multiply, Operand::Array(&t1), Operand::Array(&c), None).unwrap();
        let t3 = binary(BinaryOp::Subtract, Operand::Array(&t2), Operand::Array(&a), None).unwrap();
        let t4 = binary(
            BinaryOp::Add,
            Operand::Array(&b),
            Operand::Scalar(Scalar::F64(1.0)),
            None,
        )
        .unwrap();
        binary(BinaryOp::Divide, Operand::Array(&t3), Operand::Array(&t4), None).unwrap()
    };
    flush(rt).unwrap();
    let grew = used(rt) - before;
    check(grew == per_array, || {
        format!("a fused chain allocated {grew} bytes, one array is {per_array}")
    });
    check(values(&r).iter().all(|&v| v == 11.0 / 3.0), || "chain value".into());

    // (A * h).sum(axis=1) with the product a temporary: fused, never stored.
    let (rows, cols) = (64, 96);
    let mut g = Rng::new(4, 4);
    let ar = random_ref(&mut g, &[rows, cols]);
    let hr = random_ref(&mut g, &[cols]);
    let amat = from_ref(rt, &ar, Layout::Block);
    let h = from_ref(rt, &hr, Layout::Block);
    let want: Vec<f64> = (0..rows)
        .map(|i| (0..cols).fold(0.0, |s, j| s + ar[[i, j]] * hr[j]))
        .collect();
    for lazy in [true, false] {
        set_lazy(rt, lazy).unwrap();
        flush(rt).unwrap();
        let before = used(rt);
        let s = {
            let p = binary(BinaryOp::Multiply, Operand::Array(&amat), Operand::Array(&h), None).unwrap();
            reduce_axis(&p, ReduceOp::Sum, 1).unwrap()
        };
        flush(rt).unwrap();
        let grew = used(rt) - before;
        let got: Vec<f64> = values(&s).iter().copied().collect();
        check(got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()), || {
            format!("(A*h).sum(1) lazy={lazy}: {got:?} != {want:?}")
        });
        if lazy {
            // Only the result (a row vector) is new: far below the product's size.
            check(grew < (rows * cols * 8 / rt.nranks()) as u64 / 2, || {
                format!("the fused product allocated {grew} bytes")
            });
        }
    }
    set_lazy(rt, true).unwrap();
    // Other reductions, axes and dtypes through the fused path, against eager.
    let x3r = random_ref(&mut g, &[5, 7, 9]);
    let x3 = from_ref(rt, &x3r, Layout::BlockCyclic { block: vec![2, 3, 4] });
    for axis in 0..3 {
        for op in [
            ReduceOp::Sum,
            ReduceOp::Mean,
            ReduceOp::Max,
            ReduceOp::Argmin,
            ReduceOp::Prod,
        ] {
            for dt in [DType::F64, DType::F32, DType::I64] {
                let mut res = Vec::new();
                for lazy in [false, true] {
                    set_lazy(rt, lazy).unwrap();
                    let v = {
                        let t = binary(
                            BinaryOp::Multiply,
                            Operand::Array(&x3),
                            Operand::Scalar(Scalar::F64(1.5)),
                            None,
                        )
                        .unwrap()
                        .astype(dt)
                        .unwrap();
                        reduce_axis(&t, op, axis).unwrap()
                    };
                    res.push(values(&v));
                }
                check(same_bits(&res[0], &res[1]), || {
                    format!("{op:?} along {axis} of {dt:?}: lazy {:?} != eager {:?}", res[1], res[0])
                });
            }
        }
    }
    set_lazy(rt, true).unwrap();
}

/// A stencil written the NumPy way, `work = (c + n + s + w + e) * 0.2; c[...] = work`, with
/// every iteration's `work` freed by the program while pending: inside the one flush each
/// iteration's storage is freed once its copy has run, so the next iteration reuses it: the
/// heap's high-water mark stays at one `work` array, not one per iteration (ten iterations of
/// six operations: one flush). The values match the same steps computed by ndarray.
fn iteration_storage_reused(rt: &Runtime) {
    let (n, steps) = (96, 10);
    let mut r = Rng::new(7, 7);
    let gr = random_ref(&mut r, &[n, n]);
    let g = from_ref(rt, &gr, Layout::Block);
    let inner = span(1, n - 1);
    let view = |rows: SliceItem, cols: SliceItem| g.slice(&[rows, cols]).unwrap();
    let center = view(inner, inner);
    let sides = [
        view(span(0, n - 2), inner),
        view(span(2, n), inner),
        view(inner, span(0, n - 2)),
        view(inner, span(2, n)),
    ];
    flush(rt).unwrap();
    let one = {
        let before = used(rt);
        let t = DistArray::empty(rt, center.shape(), DType::F64, Layout::Block).unwrap();
        let grew = used(rt) - before;
        t.free().unwrap();
        grew
    };
    let base = used(rt);
    rt.reset_heap_peak().unwrap();
    for _ in 0..steps {
        let mut work = binary(BinaryOp::Add, Operand::Array(&center), Operand::Array(&sides[0]), None).unwrap();
        for side in &sides[1..] {
            work = binary(BinaryOp::Add, Operand::Array(&work), Operand::Array(side), None).unwrap();
        }
        let work = binary(
            BinaryOp::Multiply,
            Operand::Array(&work),
            Operand::Scalar(Scalar::F64(0.2)),
            None,
        )
        .unwrap();
        center.copy_from(&work).unwrap();
        work.free().unwrap();
    }
    check(distarr_arrays::engine_pending(&g), || {
        "the iterations ran before the flush".into()
    });
    flush(rt).unwrap();
    let peak = rt.heap_peak().unwrap() - base;
    check(peak <= one, || {
        format!("{steps} iterations of a pending stencil took {peak} bytes at the peak; one work array is {one}")
    });
    check(used(rt) == base, || "the iterations' storage was not freed".into());
    let mut want = gr.clone();
    for _ in 0..steps {
        let old = want.clone();
        for i in 1..n - 1 {
            for j in 1..n - 1 {
                want[[i, j]] =
                    (old[[i, j]] + old[[i - 1, j]] + old[[i + 1, j]] + old[[i, j - 1]] + old[[i, j + 1]]) * 0.2;
            }
        }
    }
    check(same_bits(&values(&g), &want), || "stencil values".into());
}

// --- mismatched programs -------------------------------------------------------------------

fn mismatch(rt: &Runtime) {
    if rt.nranks() < 2 {
        return;
    }
    let a = DistArray::full(rt, &[10], DType::F64, Layout::Block, Scalar::F64(1.0)).unwrap();
    // Rank 0 records a + a, the others a + 2: different programs.
    let y = if rt.rank() == 0 {
        Operand::Array(&a)
    } else {
        Operand::Scalar(Scalar::F64(2.0))
    };
    let r = binary(BinaryOp::Add, Operand::Array(&a), y, None).unwrap();
    let e = flush(rt).expect_err("different programs on different ranks");
    check(e.kind() == ErrorKind::CollectiveMismatch, || format!("mismatch: {e}"));
    drop(r);
    // The runtime still works.
    check(values(&a).iter().all(|&v| v == 1.0), || "after a mismatch".into());
}

/// `free` of an array the queue still uses does not flush: the queue keeps the storage until
/// it has run (then it is freed), the program can no longer use the array, and a temporary
/// freed before the flush is never allocated at all.
fn free_while_pending(rt: &Runtime) {
    let n = 1 << 14;
    let mk = |v: f64| DistArray::full(rt, &[n], DType::F64, Layout::Block, Scalar::F64(v)).unwrap();
    let (a, b) = (mk(1.0), mk(2.0));
    let base = used(rt);
    // Storage of an operand: a = a * b, then b is freed before the flush.
    binary(BinaryOp::Multiply, Operand::Array(&a), Operand::Array(&b), Some(&a)).unwrap();
    let b_alias = b.clone();
    b.free().unwrap();
    check(distarr_arrays::engine_pending(&a), || {
        "free of an operand flushed the queue".into()
    });
    let e = binary(BinaryOp::Add, Operand::Array(&b_alias), Operand::Array(&a), None)
        .err()
        .map(|e| e.kind());
    check(e == Some(ErrorKind::Freed), || format!("use of a freed array: {e:?}"));
    drop(b_alias);
    // A temporary made and freed before the flush: never allocated.
    let t = binary(
        BinaryOp::Add,
        Operand::Array(&a),
        Operand::Scalar(Scalar::F64(1.0)),
        None,
    )
    .unwrap();
    binary(BinaryOp::Multiply, Operand::Array(&t), Operand::Array(&t), Some(&a)).unwrap();
    t.free().unwrap();
    let peak_before_flush = used(rt);
    flush(rt).unwrap();
    check(values(&a).iter().all(|&v| v == 9.0), || "(a * b + 1)^2".into());
    let after = used(rt);
    // b's storage went with the queue; the temporary never had any.
    check(after < base && peak_before_flush == base, || {
        format!("heap in use: {base} before, {peak_before_flush} before the flush, {after} after")
    });
}

/// Latency hiding across passes: the halo of a pass that reads nothing the pass before it
/// writes is fetched while that pass computes (counted on the ranks that read another rank's
/// elements with gets: `DISTARR_SHM_FASTPATH=0`), and never when it does read it.
fn prefetch(rt: &Runtime) {
    let n: usize = 4099;
    let a = DistArray::arange(rt, 0.0, n as f64, 1.0, DType::F64, Layout::Block).unwrap();
    let b = binary(BinaryOp::Multiply, Operand::Array(&a), Operand::Array(&a), None).unwrap();
    let (a0, b0) = (values(&a), values(&b));
    // Whether this rank reads another rank's elements of b through gets: it owns y[lo..hi)
    // (block distribution: chunks of ceil(len / ranks)) and reads b[lo..hi + 2).
    let (p, r) = (rt.nranks(), rt.rank());
    let (cy, cb) = ((n - 2).div_ceil(p), n.div_ceil(p));
    let (lo, hi) = ((r * cy).min(n - 2), ((r + 1) * cy).min(n - 2));
    let remote = hi > lo && (lo < r * cb || hi + 2 > (r + 1) * cb);
    let gets = remote && std::env::var("DISTARR_SHM_FASTPATH").is_ok_and(|v| v == "0");
    let s = |v: f64| Operand::Scalar(Scalar::F64(v));
    let halo = |b: &DistArray| {
        let (hi, lo) = (
            b.slice(&[SliceItem::Range {
                start: Some(2),
                stop: None,
                step: 1,
            }])
            .unwrap(),
            b.slice(&[SliceItem::Range {
                start: None,
                stop: Some(-2),
                step: 1,
            }])
            .unwrap(),
        );
        let y = binary(BinaryOp::Add, Operand::Array(&hi), Operand::Array(&lo), None).unwrap();
        binary(BinaryOp::Multiply, Operand::Array(&y), s(3.0), Some(&y)).unwrap();
        y
    };
    for writes_b in [false, true] {
        // b's last writes are synchronised: a pass reading it need not synchronise first.
        rt.sync().unwrap();
        let before = distarr_arrays::prefetched_passes(rt);
        // Pass 1 (x = (a + 1) * 2, or the same written into b); pass 2 reads b's halo.
        let x = if writes_b {
            b.clone()
        } else {
            DistArray::empty(rt, &[n], DType::F64, Layout::Block).unwrap()
        };
        binary(BinaryOp::Add, Operand::Array(&a), s(1.0), Some(&x)).unwrap();
        binary(BinaryOp::Multiply, Operand::Array(&x), s(2.0), Some(&x)).unwrap();
        let y = halo(&b);
        flush(rt).unwrap();
        let used = distarr_arrays::prefetched_passes(rt) - before;
        let bb = if writes_b {
            a0.mapv(|v| (v + 1.0) * 2.0)
        } else {
            b0.clone()
        };
        let want: Vec<f64> = (0..n - 2).map(|i| (bb[i + 2] + bb[i]) * 3.0).collect();
        check(values(&y).iter().copied().eq(want.iter().copied()), || {
            format!(
                "halo after a pass that {} b",
                if writes_b { "writes" } else { "does not write" }
            )
        });
        check(values(&x).iter().zip(&a0).all(|(&v, &w)| v == (w + 1.0) * 2.0), || {
            "pass 1".into()
        });
        let expect = u64::from(gets && !writes_b);
        check(used == expect, || {
            format!("{used} passes used blocks fetched ahead (writes b: {writes_b}), expected {expect}")
        });
        y.free().unwrap();
    }
}

fn main() {
    abort_on_panic();
    let rt = Runtime::init().unwrap();
    chains(&rt);
    flush_points(&rt);
    errors_at_call(&rt);
    temporaries(&rt);
    prefetch(&rt);
    free_while_pending(&rt);
    iteration_storage_reused(&rt);
    mismatch(&rt);
    finish(&rt);
}

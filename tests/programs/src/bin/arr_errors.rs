//! Errors of the array layer, which every rank must report alike and survive: two runtimes in
//! one process (arrays of different runtimes cannot be mixed: `ForeignRuntime`), operations on
//! freed arrays and their views (`Freed`), on arrays of a finalized runtime (`Runtime`),
//! out-of-bounds indices and regions, unsupported dtypes, mismatched shapes of `out`, and
//! data-dependent failures detected on one rank only. After each error the program goes on
//! with collective operations, so an error that left a rank behind would hang (the harness's
//! timeout) instead of passing.
use distarr_arrays::linalg::matmul;
use distarr_arrays::reduce::{reduce_all, reduce_axis, ReduceOp};
use distarr_arrays::ufunc::{binary, unary, BinaryOp, Operand, UnaryOp};
use distarr_arrays::{io, AccOp, DType, DistArray, ErrorKind, Layout, Scalar, SliceItem};
use distarr_mpitests::{abort_on_panic, check, finish};
use distarr_runtime::Runtime;
use std::fmt::Debug;

/// Asserts that `r` failed with `kind`.
#[track_caller]
fn expect_kind<T: Debug>(r: distarr_arrays::Result<T>, kind: ErrorKind, what: &str) {
    match r {
        Ok(v) => check(false, || format!("{what}: expected {kind:?}, got Ok({v:?})")),
        Err(e) => check(e.kind() == kind, || format!("{what}: expected {kind:?}, got {e}")),
    }
}

fn arange(rt: &Runtime, n: usize, dt: DType, layout: Layout) -> DistArray {
    DistArray::arange(rt, 0.0, n as f64, 1.0, dt, layout).unwrap()
}

fn values(a: &DistArray) -> Vec<f64> {
    a.astype(DType::F64)
        .unwrap()
        .to_ndarray::<f64>()
        .unwrap()
        .iter()
        .copied()
        .collect()
}

/// Two runtimes side by side: each works, and their arrays do not mix.
fn foreign(rt1: &Runtime, rt2: &Runtime) {
    check(rt1.id() != rt2.id(), || "two runtimes share an id".into());
    check(Runtime::current().unwrap().id() == rt2.id(), || {
        "current is the newest".into()
    });
    let a = arange(rt1, 6, DType::F64, Layout::Block);
    let b = DistArray::full(
        rt2,
        &[6],
        DType::F64,
        Layout::BlockCyclic { block: vec![1] },
        Scalar::F64(10.0),
    )
    .unwrap();
    let b2 = b.reshape(&[2, 3]).unwrap();
    let a2 = a.reshape(&[2, 3]).unwrap();
    let (aa, bb) = (Operand::Array(&a), Operand::Array(&b));
    let f = ErrorKind::ForeignRuntime;
    expect_kind(binary(BinaryOp::Add, aa.clone(), bb.clone(), None), f, "a + b");
    expect_kind(binary(BinaryOp::Add, bb.clone(), aa.clone(), None), f, "b + a");
    expect_kind(binary(BinaryOp::Add, aa.clone(), aa.clone(), Some(&b)), f, "a + a -> b");
    expect_kind(
        binary(BinaryOp::Add, Operand::Scalar(Scalar::F64(1.0)), bb.clone(), Some(&a)),
        f,
        "1 + b -> a",
    );
    expect_kind(
        binary(BinaryOp::Less, Operand::Array(&a2), Operand::Array(&b2), None),
        f,
        "views a2 < b2",
    );
    expect_kind(unary(UnaryOp::Negative, &a, Some(&b)), f, "-a -> b");
    expect_kind(unary(UnaryOp::Negative, &b2, Some(&a2)), f, "-b2 -> a2");
    expect_kind(a.copy_from(&b), f, "a.copy_from(b)");
    expect_kind(b2.copy_from(&a2), f, "b2.copy_from(a2)");
    expect_kind(
        a.copy_from(&b.slice(&[SliceItem::range(0, 1, 1)]).unwrap()),
        f,
        "a[:] = b[0:1]",
    );
    expect_kind(matmul(&a, &b), f, "a @ b");
    expect_kind(matmul(&a2.transpose(None).unwrap(), &b2), f, "a2.T @ b2");
    // Nothing was written, and both runtimes still work, interleaved.
    let c = binary(BinaryOp::Add, aa.clone(), aa, None).unwrap();
    let d = binary(BinaryOp::Multiply, bb.clone(), bb, None).unwrap();
    check(values(&c) == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0], || "a + a on rt1".into());
    check(values(&d) == [100.0; 6], || "b * b on rt2".into());
    check(values(&a) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], || "a untouched".into());
    check(values(&b) == [10.0; 6], || "b untouched".into());
    check(c.runtime().id() == rt1.id() && d.runtime().id() == rt2.id(), || {
        "results live on their operands' runtime".into()
    });
    // Moving data between runtimes goes through the host: gather on one, scatter on the other.
    let host = a.to_ndarray::<f64>().unwrap();
    let moved = DistArray::scatter(rt2, &[6], Layout::Block, 0, Some(host.as_slice().unwrap())).unwrap();
    check(values(&moved) == values(&a), || {
        "scatter onto the second runtime".into()
    });
}

/// Every operation on a freed array, or on a view of one, is a `Freed` error on every rank;
/// so is mixing a freed array into an operation on live ones.
fn freed(rt: &Runtime) {
    let a = arange(rt, 12, DType::F64, Layout::BlockCyclic { block: vec![5] })
        .reshape(&[3, 4])
        .unwrap();
    let t = a.transpose(None).unwrap();
    let s = a.slice(&[SliceItem::range(0, 2, 1)]).unwrap();
    let live = DistArray::ones(rt, &[3, 4], DType::F64, Layout::Block).unwrap();
    a.clone().free().unwrap();
    let dir = std::env::temp_dir();
    let fr = ErrorKind::Freed;
    for (name, x) in [("array", &a), ("transposed view", &t), ("sliced view", &s)] {
        let w = |op: &str| format!("{op} of a freed {name}");
        let lo = vec![0; x.ndim()];
        let one = vec![1; x.ndim()];
        expect_kind(x.get_region::<f64>(&lo, &one), fr, &w("get_region"));
        expect_kind(x.put_region::<f64>(&lo, &one, &[1.0]), fr, &w("put_region"));
        expect_kind(
            x.acc_region_bytes(&lo, &one, &1.0f64.to_le_bytes(), AccOp::Sum),
            fr,
            &w("acc_region"),
        );
        expect_kind(x.locate(&lo), fr, &w("locate"));
        expect_kind(x.fill(Scalar::F64(1.0)), fr, &w("fill"));
        expect_kind(
            x.copy_from(&live.slice(&[SliceItem::Index(0)]).unwrap()),
            fr,
            &w("copy_from"),
        );
        expect_kind(x.astype(DType::I32), fr, &w("astype"));
        expect_kind(x.to_owned_array(), fr, &w("to_owned_array"));
        expect_kind(x.gather::<f64>(0), fr, &w("gather"));
        expect_kind(x.to_ndarray::<f64>(), fr, &w("to_ndarray"));
        expect_kind(x.slice(&[SliceItem::Index(0)]), fr, &w("slice"));
        expect_kind(x.transpose(None), fr, &w("transpose"));
        expect_kind(x.swapaxes(0, 1), fr, &w("swapaxes"));
        expect_kind(x.reshape(&[x.len()]), fr, &w("reshape"));
        expect_kind(x.broadcast_to(&[2, x.shape()[0], x.shape()[1]]), fr, &w("broadcast_to"));
        expect_kind(unary(UnaryOp::Sqrt, x, None), fr, &w("sqrt"));
        expect_kind(
            binary(
                BinaryOp::Add,
                Operand::Array(x),
                Operand::Scalar(Scalar::F64(1.0)),
                None,
            ),
            fr,
            &w("x + 1"),
        );
        expect_kind(reduce_all(x, ReduceOp::Sum), fr, &w("sum"));
        expect_kind(reduce_axis(x, ReduceOp::Max, 1), fr, &w("max(axis=1)"));
        expect_kind(
            matmul(x, &x.transpose(None).unwrap_or_else(|_| live.clone())),
            fr,
            &w("matmul"),
        );
        expect_kind(io::save_npy(x, &dir.join("never-written.npy")), fr, &w("save_npy"));
        expect_kind(x.clone().free(), fr, &w("free"));
    }
    // A live array with a freed operand or output.
    expect_kind(
        binary(BinaryOp::Add, Operand::Array(&live), Operand::Array(&a), None),
        fr,
        "live + freed",
    );
    expect_kind(
        binary(BinaryOp::Add, Operand::Array(&live), Operand::Array(&live), Some(&a)),
        fr,
        "live + live -> freed",
    );
    expect_kind(unary(UnaryOp::Negative, &live, Some(&a)), fr, "-live -> freed");
    expect_kind(live.copy_from(&a), fr, "live.copy_from(freed)");
    expect_kind(live.copy_from(&s), fr, "live.copy_from(freed view)");
    expect_kind(matmul(&live, &t), fr, "live @ freed.T");
    check(values(&live) == [1.0; 12], || "live array untouched".into());
    // Freeing one array leaves the others' storage alone; new arrays reuse the space.
    let n = DistArray::full(rt, &[3, 4], DType::F64, Layout::Block, Scalar::F64(3.0)).unwrap();
    check(values(&n) == [3.0; 12] && values(&live) == [1.0; 12], || {
        "after reuse".into()
    });
}

/// Out-of-bounds indices and regions: local checks before any communication, on views too.
fn bounds(rt: &Runtime) {
    let n = rt.nranks();
    let oob = ErrorKind::OutOfBounds;
    let g = DistArray::zeros(rt, &[4, 5], DType::F64, Layout::BlockCyclic { block: vec![2, 2] }).unwrap();
    expect_kind(g.get_region::<f64>(&[0, 0], &[5, 1]), oob, "region past the end");
    expect_kind(g.get_region::<f64>(&[2, 0], &[1, 5]), oob, "region with lo > hi");
    expect_kind(
        g.get_region::<f64>(&[0], &[1]),
        ErrorKind::Shape,
        "region of the wrong rank",
    );
    expect_kind(
        g.put_region::<f64>(&[3, 4], &[4, 6], &[0.0; 2]),
        oob,
        "put past the end",
    );
    expect_kind(
        g.put_region::<f64>(&[0, 0], &[2, 2], &[0.0; 3]),
        ErrorKind::Shape,
        "put with the wrong length",
    );
    expect_kind(
        g.acc_region_bytes(&[4, 0], &[5, 1], &1.0f64.to_le_bytes(), AccOp::Sum),
        oob,
        "acc past the end",
    );
    expect_kind(g.locate(&[4, 0]), oob, "locate past the end");
    expect_kind(g.locate(&[0]), oob, "locate with too few indices");
    expect_kind(g.slice(&[SliceItem::Index(4)]), oob, "index 4 of 4");
    expect_kind(g.slice(&[SliceItem::Index(-5)]), oob, "index -5 of 4");
    expect_kind(
        g.slice(&[SliceItem::FULL, SliceItem::FULL, SliceItem::Index(0)]),
        oob,
        "too many indices",
    );
    expect_kind(g.swapaxes(0, 2), oob, "swapaxes axis 2 of 2");
    expect_kind(
        g.transpose(Some(&[0, 0])),
        ErrorKind::InvalidArgument,
        "transpose axes [0, 0]",
    );
    expect_kind(
        reduce_axis(&g, ReduceOp::Sum, 2),
        ErrorKind::InvalidArgument,
        "sum axis 2 of 2",
    );
    let t = g.transpose(None).unwrap();
    expect_kind(
        t.get_region::<f64>(&[0, 0], &[5, 5]),
        oob,
        "region past the end of a view",
    );
    expect_kind(t.locate(&[0, 4]), oob, "locate past the end of a view");
    check(t.get_region::<f64>(&[5, 4], &[5, 4]).unwrap().is_empty(), || {
        "an empty region at the end is fine".into()
    });
    expect_kind(
        DistArray::scatter::<f64>(rt, &[2], Layout::Block, n, None),
        oob,
        "scatter root n",
    );
    expect_kind(g.gather_bytes(n), oob, "gather root n");
    expect_kind(
        DistArray::empty(rt, &[3], DType::F64, Layout::OnRank(n)),
        oob,
        "layout on rank n",
    );
    // Region errors are local: one rank's bad request does not involve the others.
    if rt.rank() == n - 1 {
        expect_kind(g.get_region::<f64>(&[0, 0], &[4, 6]), oob, "one rank's bad region");
    }
    rt.sync().unwrap();
    check(values(&g) == [0.0; 20], || "nothing written".into());
}

/// Unsupported dtypes for operations and accumulates; casting rules for `out`.
fn dtypes(rt: &Runtime) {
    let dt = ErrorKind::DType;
    let c = DistArray::ones(rt, &[4], DType::C128, Layout::Block).unwrap();
    let f = arange(rt, 4, DType::F64, Layout::Block);
    let i = arange(rt, 4, DType::I32, Layout::Block);
    let b = DistArray::ones(rt, &[4], DType::Bool, Layout::Block).unwrap();
    for op in [UnaryOp::Sqrt, UnaryOp::Exp, UnaryOp::Log, UnaryOp::Floor] {
        expect_kind(unary(op, &c, None), dt, &format!("{op:?} of complex128"));
    }
    expect_kind(unary(UnaryOp::Invert, &f, None), dt, "invert float64");
    expect_kind(unary(UnaryOp::Negative, &b, None), dt, "negative bool");
    for op in [BinaryOp::BitwiseAnd, BinaryOp::BitwiseOr, BinaryOp::BitwiseXor] {
        expect_kind(
            binary(op, Operand::Array(&f), Operand::Array(&f), None),
            dt,
            &format!("{op:?} float64"),
        );
        expect_kind(
            binary(op, Operand::Array(&i), Operand::Scalar(Scalar::F64(1.0)), None),
            dt,
            &format!("{op:?} int32 with a float scalar"),
        );
    }
    expect_kind(
        binary(BinaryOp::Subtract, Operand::Array(&b), Operand::Array(&b), None),
        dt,
        "bool - bool",
    );
    expect_kind(
        binary(BinaryOp::Remainder, Operand::Array(&c), Operand::Array(&c), None),
        dt,
        "complex % complex",
    );
    expect_kind(
        binary(BinaryOp::Arctan2, Operand::Array(&c), Operand::Array(&f), None),
        dt,
        "arctan2 of complex",
    );
    expect_kind(reduce_all(&c, ReduceOp::Min), dt, "min of complex");
    expect_kind(reduce_axis(&c, ReduceOp::Argmax, 0), dt, "argmax of complex");
    for (name, a) in [("bool", &b), ("complex128", &c)] {
        let data = vec![0u8; 4 * a.dtype().size()];
        expect_kind(
            a.acc_region_bytes(&[0], &[4], &data, AccOp::Sum),
            dt,
            &format!("acc into {name}"),
        );
    }
    expect_kind(f.get_region::<i32>(&[0], &[1]), dt, "typed get with the wrong type");
    expect_kind(
        f.put_region::<f32>(&[0], &[1], &[1.0]),
        dt,
        "typed put with the wrong type",
    );
    expect_kind(f.to_ndarray::<i64>(), dt, "to_ndarray with the wrong type");
    // `out` follows NumPy's same_kind casting.
    let out_i = DistArray::zeros(rt, &[4], DType::I32, Layout::Block).unwrap();
    let out_i64 = DistArray::zeros(rt, &[4], DType::I64, Layout::Block).unwrap();
    let out_f32 = DistArray::zeros(rt, &[4], DType::F32, Layout::Block).unwrap();
    let out_b = DistArray::zeros(rt, &[4], DType::Bool, Layout::Block).unwrap();
    expect_kind(
        binary(BinaryOp::Add, Operand::Array(&f), Operand::Array(&f), Some(&out_i)),
        dt,
        "float64 result into int32",
    );
    expect_kind(
        binary(BinaryOp::Divide, Operand::Array(&i), Operand::Array(&i), Some(&out_i64)),
        dt,
        "true division into int64",
    );
    expect_kind(unary(UnaryOp::Sqrt, &i, Some(&out_i)), dt, "sqrt into int32");
    expect_kind(unary(UnaryOp::Negative, &c, Some(&f)), dt, "complex into float64");
    expect_kind(
        binary(BinaryOp::Add, Operand::Array(&i), Operand::Array(&i), Some(&out_b)),
        dt,
        "int32 result into bool",
    );
    // Allowed: same kind, narrower (float64 -> float32), and bool -> anything.
    unary(UnaryOp::Sqrt, &i, Some(&out_f32)).unwrap();
    binary(BinaryOp::Less, Operand::Array(&i), Operand::Array(&f), Some(&out_i)).unwrap();
    check(values(&out_i) == [0.0; 4], || "bool result into int32".into());
    binary(BinaryOp::Add, Operand::Array(&i), Operand::Array(&i), Some(&out_i64)).unwrap();
    check(values(&out_i64) == [0.0, 2.0, 4.0, 6.0], || {
        "int32 result into int64".into()
    });
    check(values(&f) == [0.0, 1.0, 2.0, 3.0], || "inputs untouched".into());
}

/// Shapes of `out` and of operands; data-dependent failures found on one rank only.
fn shapes(rt: &Runtime) {
    // Ranks creating different arrays (shapes whose storage happens to be equal too): refused
    // on every rank.
    if rt.nranks() > 1 {
        let mine = [4 + rt.rank()];
        expect_kind(
            DistArray::zeros(rt, &mine, DType::F64, Layout::Block),
            ErrorKind::CollectiveMismatch,
            "create with different shapes",
        );
        let dt = if rt.rank() == 0 { DType::I64 } else { DType::F64 };
        expect_kind(
            DistArray::zeros(rt, &[6], dt, Layout::Block),
            ErrorKind::CollectiveMismatch,
            "different dtypes",
        );
    }
    let sh = ErrorKind::Shape;
    let x = arange(rt, 12, DType::F64, Layout::Block).reshape(&[3, 4]).unwrap();
    let y = arange(rt, 4, DType::F64, Layout::BlockCyclic { block: vec![3] });
    let (xx, yy) = (Operand::Array(&x), Operand::Array(&y));
    for bad in [vec![4, 3], vec![1, 4], vec![3], vec![12], vec![3, 4, 1], vec![]] {
        let out = DistArray::zeros(rt, &bad, DType::F64, Layout::Block).unwrap();
        expect_kind(
            binary(BinaryOp::Add, xx.clone(), yy.clone(), Some(&out)),
            sh,
            &format!("(3, 4) result into out of shape {bad:?}"),
        );
        expect_kind(
            unary(UnaryOp::Negative, &x, Some(&out)),
            sh,
            &format!("unary (3, 4) into out of shape {bad:?}"),
        );
        check(values(&out).iter().all(|&v| v == 0.0), || {
            "refused out untouched".into()
        });
    }
    // As in NumPy, the inputs broadcast to a larger `out`.
    let big = DistArray::zeros(rt, &[2, 3, 4], DType::F64, Layout::BlockCyclic { block: vec![1, 2, 3] }).unwrap();
    binary(BinaryOp::Add, xx.clone(), yy.clone(), Some(&big)).unwrap();
    let want: Vec<f64> = (0..24).map(|k| (k % 12) as f64 + (k % 4) as f64).collect();
    check(values(&big) == want, || {
        format!("x + y into (2, 3, 4): {:?}", values(&big))
    });
    unary(UnaryOp::Negative, &y, Some(&big)).unwrap();
    let want: Vec<f64> = (0..24).map(|k| -((k % 4) as f64)).collect();
    check(values(&big) == want, || "-y into (2, 3, 4)".into());
    let z = arange(rt, 5, DType::F64, Layout::Block);
    expect_kind(
        binary(BinaryOp::Add, xx.clone(), Operand::Array(&z), None),
        sh,
        "(3, 4) + (5,)",
    );
    expect_kind(x.copy_from(&z), sh, "copy (5,) into (3, 4)");
    expect_kind(x.copy_from(&big), sh, "copy (2, 3, 4) into (3, 4)");
    expect_kind(x.reshape(&[5, 2]), sh, "reshape 12 into (5, 2)");
    expect_kind(x.broadcast_to(&[3, 5]), sh, "broadcast (3, 4) to (3, 5)");
    expect_kind(x.broadcast_to(&[4]), sh, "broadcast (3, 4) to (4,)");
    expect_kind(matmul(&x, &x), sh, "(3, 4) @ (3, 4)");
    expect_kind(matmul(&y, &z), sh, "(4,) @ (5,)");
    // The root's buffer has the wrong length: the same error on every rank.
    let data = vec![1.0f64; 5];
    let mine = (rt.rank() == 0).then_some(data.as_slice());
    expect_kind(
        DistArray::scatter(rt, &[6], Layout::Block, 0, mine),
        sh,
        "scatter 5 values as 6",
    );
    // A failure only the rank computing the last element sees: int32 ** negative.
    let base = arange(rt, 10, DType::I32, Layout::Block);
    let exps = DistArray::full(rt, &[10], DType::I32, Layout::Block, Scalar::I32(2)).unwrap();
    // One-sided writes after a collective operation on the same array need a sync first.
    rt.sync().unwrap();
    if rt.rank() == 0 {
        exps.put_region::<i32>(&[9], &[10], &[-1]).unwrap();
    }
    rt.sync().unwrap();
    let out = DistArray::zeros(rt, &[10], DType::I32, Layout::Block).unwrap();
    expect_kind(
        binary(
            BinaryOp::Power,
            Operand::Array(&base),
            Operand::Array(&exps),
            Some(&out),
        ),
        ErrorKind::InvalidArgument,
        "int32 ** -1 on one rank",
    );
    check(values(&out) == [0.0; 10], || {
        "no partial write after a one-rank failure".into()
    });
    // Zero-size reductions without an identity.
    let empty = DistArray::zeros(rt, &[0, 3], DType::F64, Layout::Block).unwrap();
    expect_kind(
        reduce_all(&empty, ReduceOp::Max),
        ErrorKind::InvalidArgument,
        "max of empty",
    );
    expect_kind(
        reduce_axis(&empty, ReduceOp::Argmin, 0),
        ErrorKind::InvalidArgument,
        "argmin axis 0 of empty",
    );
    check(
        values(&reduce_axis(&empty, ReduceOp::Max, 1).unwrap()).is_empty(),
        || "max along a non-empty axis of an empty array".into(),
    );
    // Accumulate into a replicated array is refused (whose copy would it update?).
    let rep = DistArray::zeros(rt, &[3], DType::F64, Layout::Replicated).unwrap();
    expect_kind(
        rep.acc_region_bytes(&[0], &[1], &1.0f64.to_le_bytes(), AccOp::Sum),
        ErrorKind::InvalidArgument,
        "acc into replicated",
    );
}

fn main() {
    abort_on_panic();
    let rt1 = Runtime::init().unwrap();
    // A second runtime in the same process: it reuses the running MPI with its own
    // communicator and heap.
    let rt2 = Runtime::init().unwrap();
    foreign(&rt1, &rt2);
    freed(&rt2);
    bounds(&rt1);
    dtypes(&rt2);
    shapes(&rt1);
    // An array of the second runtime outlives it: every use is an error, on every rank, and
    // mixing it with a live array is one too; the first runtime carries on.
    let late = arange(&rt2, 4, DType::F64, Layout::Block);
    let view = late.slice(&[SliceItem::range(1, 3, 1)]).unwrap();
    rt2.finalize().unwrap();
    let rte = ErrorKind::Runtime;
    expect_kind(late.to_ndarray::<f64>(), rte, "to_ndarray after finalize");
    expect_kind(view.get_region::<f64>(&[0], &[1]), rte, "view region after finalize");
    expect_kind(late.fill(Scalar::F64(0.0)), rte, "fill after finalize");
    let a = arange(&rt1, 4, DType::F64, Layout::Block);
    expect_kind(
        binary(BinaryOp::Add, Operand::Array(&a), Operand::Array(&late), None),
        rte,
        "live + finalized runtime's array",
    );
    expect_kind(a.copy_from(&late), rte, "copy from a finalized runtime's array");
    check(values(&a) == [0.0, 1.0, 2.0, 3.0], || {
        "first runtime still works".into()
    });
    check(Runtime::current().is_err(), || {
        "current() after the newest runtime finalized".into()
    });
    drop((late, view));
    finish(&rt1);
}

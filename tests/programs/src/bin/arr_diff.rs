//! Differential tests of distributed arrays against a single-process reference computed with
//! plain loops on `ndarray` (the same on every rank): random shapes (uneven, smaller than the
//! rank count, zero-length), random layouts, random views, every operation family.
use distarr_arrays::linalg::{matmul, Product};
use distarr_arrays::reduce::{reduce_all, reduce_axis, ReduceOp};
use distarr_arrays::ufunc::{binary, unary, BinaryOp, Operand, UnaryOp};
use distarr_arrays::{DType, DistArray, ErrorKind, Layout, Scalar, SliceItem};
use distarr_mpitests::{check, finish, Rng};
use distarr_runtime::Runtime;
use ndarray::{ArrayD, IxDyn};

fn random_shape(r: &mut Rng) -> Vec<usize> {
    let nd = if r.below(8) == 0 { 0 } else { r.below(4) as usize + 1 };
    (0..nd)
        .map(|_| if r.below(10) == 0 { 0 } else { r.below(7) as usize + 1 })
        .collect()
}

fn random_layout(r: &mut Rng, nd: usize, n: usize) -> Layout {
    match r.below(5) {
        0 | 1 => Layout::Block,
        2 => Layout::BlockCyclic {
            block: (0..nd).map(|_| r.below(3) as usize + 1).collect(),
        },
        3 => Layout::Replicated,
        _ => Layout::OnRank(r.below(n as u64) as usize),
    }
}

fn reference(r: &mut Rng, shape: &[usize]) -> ArrayD<f64> {
    ArrayD::from_shape_fn(IxDyn(shape), |_| (r.below(2001) as f64 - 1000.0) / 8.0)
}

fn make(rt: &Runtime, data: &ArrayD<f64>, layout: Layout) -> DistArray {
    let flat: Vec<f64> = data.iter().copied().collect();
    let root = rt.nranks() - 1;
    let mine = if rt.rank() == root { Some(flat.as_slice()) } else { None };
    DistArray::scatter(rt, data.shape(), layout, root, mine).unwrap()
}

fn same(got: &ArrayD<f64>, want: &ArrayD<f64>, what: &str) {
    check(got.shape() == want.shape(), || {
        format!("{what}: shape {:?} != {:?}", got.shape(), want.shape())
    });
    for (g, w) in got.iter().zip(want.iter()) {
        let ok = (g.is_nan() && w.is_nan()) || g == w || (g - w).abs() <= 1e-9 * (1.0 + w.abs());
        check(ok, || format!("{what}: {g} != {w}"));
    }
}

/// Python slice semantics, written independently of distarr's view code.
fn py_slice(n: usize, start: Option<isize>, stop: Option<isize>, step: isize) -> Vec<usize> {
    let n = n as isize;
    let norm = |v: isize, lo: isize, hi: isize| {
        let v = if v < 0 { v + n } else { v };
        v.clamp(lo, hi)
    };
    let mut out = Vec::new();
    if step > 0 {
        let s = start.map_or(0, |v| norm(v, 0, n));
        let e = stop.map_or(n, |v| norm(v, 0, n));
        let mut i = s;
        while i < e {
            out.push(i as usize);
            i += step;
        }
    } else {
        let s = start.map_or(n - 1, |v| norm(v, -1, n - 1));
        let e = stop.map_or(-1, |v| norm(v, -1, n - 1));
        let mut i = s;
        while i > e {
            out.push(i as usize);
            i += step;
        }
    }
    out
}

fn take(a: &ArrayD<f64>, idx: &[Vec<usize>]) -> ArrayD<f64> {
    let shape: Vec<usize> = idx.iter().map(Vec::len).collect();
    ArrayD::from_shape_fn(IxDyn(&shape), |ix| {
        let src: Vec<usize> = (0..shape.len()).map(|d| idx[d][ix[d]]).collect();
        a[IxDyn(&src)]
    })
}

fn views(rt: &Runtime, r: &mut Rng) {
    for case in 0..40 {
        let shape = random_shape(r);
        let data = reference(r, &shape);
        let layout = random_layout(r, shape.len(), rt.nranks());
        let a = make(rt, &data, layout.clone());
        same(
            &a.to_ndarray::<f64>().unwrap(),
            &data,
            &format!("case {case} scatter/gather {shape:?} {layout:?}"),
        );
        let mut items = Vec::new();
        let mut idx = Vec::new();
        for &n in &shape {
            let step = [1isize, 1, 2, 3, -1, -2][r.below(6) as usize];
            let pick = |r: &mut Rng| {
                if r.below(3) == 0 {
                    None
                } else {
                    Some(r.below(2 * n as u64 + 3) as isize - n as isize - 1)
                }
            };
            let (s, e) = (pick(r), pick(r));
            items.push(SliceItem::Range {
                start: s,
                stop: e,
                step,
            });
            idx.push(py_slice(n, s, e, step));
        }
        let v = a.slice(&items).unwrap();
        let want = take(&data, &idx);
        same(
            &v.to_ndarray::<f64>().unwrap(),
            &want,
            &format!("case {case} view {items:?} of {shape:?}"),
        );
        // A view of a view, then elementwise arithmetic on it against the reference.
        if want.ndim() >= 1 && !want.is_empty() {
            let t = v.transpose(None).unwrap();
            let wt = want.t().to_owned();
            same(&t.to_ndarray::<f64>().unwrap(), &wt, &format!("case {case} transpose"));
            let s = binary(
                BinaryOp::Multiply,
                Operand::Array(&t),
                Operand::Scalar(Scalar::F64(2.0)),
                None,
            )
            .unwrap();
            same(
                &s.to_ndarray::<f64>().unwrap(),
                &wt.mapv(|x| x * 2.0),
                &format!("case {case} transpose*2"),
            );
        }
        // Writing through a view changes exactly the viewed elements.
        v.fill(Scalar::F64(7.5)).unwrap();
        let mut w2 = data.clone();
        let sel: Vec<Vec<usize>> = idx.clone();
        let vshape: Vec<usize> = sel.iter().map(Vec::len).collect();
        for ix in ndarray::indices(IxDyn(&vshape)) {
            let src: Vec<usize> = (0..vshape.len()).map(|d| sel[d][ix[d]]).collect();
            w2[IxDyn(&src)] = 7.5;
        }
        same(
            &a.to_ndarray::<f64>().unwrap(),
            &w2,
            &format!("case {case} fill through view"),
        );
    }
}

/// Integer indices (negative too) drop axes, `NewAxis` inserts them, a trailing `Ellipsis`
/// keeps the rest; views of views.
fn index_views(rt: &Runtime, r: &mut Rng) {
    for case in 0..30 {
        let shape: Vec<usize> = (0..r.below(4) + 1).map(|_| r.below(5) as usize + 1).collect();
        let data = reference(r, &shape);
        let a = make(rt, &data, random_layout(r, shape.len(), rt.nranks()));
        let mut items = Vec::new();
        let mut lists = Vec::new();
        let mut out_shape = Vec::new();
        for &n in &shape {
            if r.below(4) == 0 {
                items.push(SliceItem::NewAxis);
                out_shape.push(1);
            }
            if r.below(3) == 0 {
                let i = r.below(n as u64) as isize;
                let neg = r.below(2) == 0;
                items.push(SliceItem::Index(if neg { i - n as isize } else { i }));
                lists.push(vec![i as usize]);
            } else {
                let step = [1isize, 2, -1][r.below(3) as usize];
                items.push(SliceItem::Range {
                    start: None,
                    stop: None,
                    step,
                });
                let l = py_slice(n, None, None, step);
                out_shape.push(l.len());
                lists.push(l);
            }
        }
        if r.below(2) == 0 {
            items.push(SliceItem::Ellipsis);
        }
        let v = a.slice(&items).unwrap();
        let want = take(&data, &lists).into_shape_with_order(IxDyn(&out_shape)).unwrap();
        same(
            &v.to_ndarray::<f64>().unwrap(),
            &want,
            &format!("case {case} index view {items:?} of {shape:?}"),
        );
        // A view of the view: reverse its first axis.
        if !out_shape.is_empty() {
            let mut it = vec![SliceItem::Range {
                start: None,
                stop: None,
                step: -1,
            }];
            it.push(SliceItem::Ellipsis);
            let vv = v.slice(&it).unwrap();
            let mut w = want.clone();
            w.invert_axis(ndarray::Axis(0));
            same(
                &vv.to_ndarray::<f64>().unwrap(),
                &w,
                &format!("case {case} view of view"),
            );
        }
    }
    // reshape: a view of a contiguous array, a copy of a transposed one; swapaxes.
    let x = reference(r, &[4, 6]);
    let a = make(rt, &x, Layout::BlockCyclic { block: vec![3, 2] });
    let v = a.reshape(&[2, 3, 4]).unwrap();
    same(
        &v.to_ndarray::<f64>().unwrap(),
        &x.clone().into_shape_with_order(IxDyn(&[2, 3, 4])).unwrap(),
        "reshape view",
    );
    let t = a.transpose(None).unwrap().reshape(&[24]).unwrap();
    let tw: Vec<f64> = x.t().iter().copied().collect();
    same(
        &t.to_ndarray::<f64>().unwrap(),
        &ArrayD::from_shape_vec(IxDyn(&[24]), tw).unwrap(),
        "reshape of transpose (copy)",
    );
    let sw = v.swapaxes(0, 2).unwrap();
    let mut want = x.clone().into_shape_with_order(IxDyn(&[2, 3, 4])).unwrap();
    want.swap_axes(0, 2);
    same(&sw.to_ndarray::<f64>().unwrap(), &want, "swapaxes");
    check(a.reshape(&[5, 5]).unwrap_err().kind() == ErrorKind::Shape, || {
        "bad reshape".into()
    });
    let e = a.slice(&[SliceItem::Index(4)]).unwrap_err();
    check(
        e.kind() == ErrorKind::OutOfBounds || e.kind() == ErrorKind::InvalidArgument,
        || format!("index 3 of 3 gave {e}"),
    );
}

fn elementwise(rt: &Runtime, r: &mut Rng) {
    for case in 0..25 {
        let shape = random_shape(r);
        let n = rt.nranks();
        let x = reference(r, &shape);
        let y = reference(r, &shape);
        let a = make(rt, &x, random_layout(r, shape.len(), n));
        let b = make(rt, &y, random_layout(r, shape.len(), n));
        type Reference = fn(f64, f64) -> f64;
        let ops: [(BinaryOp, Reference); 6] = [
            (BinaryOp::Add, |p, q| p + q),
            (BinaryOp::Subtract, |p, q| p - q),
            (BinaryOp::Multiply, |p, q| p * q),
            (BinaryOp::Divide, |p, q| p / q),
            (BinaryOp::Maximum, f64::max),
            (BinaryOp::Power, |p: f64, q: f64| p.abs().powf(q / 100.0)),
        ];
        for (op, f) in ops {
            let (aa, bb) = if op == BinaryOp::Power {
                (
                    unary(UnaryOp::Absolute, &a, None).unwrap(),
                    binary(
                        BinaryOp::Divide,
                        Operand::Array(&b),
                        Operand::Scalar(Scalar::F64(100.0)),
                        None,
                    )
                    .unwrap(),
                )
            } else {
                (a.clone(), b.clone())
            };
            let got = binary(op, Operand::Array(&aa), Operand::Array(&bb), None).unwrap();
            let want = ndarray::Zip::from(&x).and(&y).map_collect(|&p, &q| f(p, q));
            same(
                &got.to_ndarray::<f64>().unwrap(),
                &want,
                &format!("case {case} {op:?} {shape:?}"),
            );
        }
        let lt = binary(BinaryOp::Less, Operand::Array(&a), Operand::Array(&b), None).unwrap();
        check(lt.dtype() == DType::Bool, || "less gives bool".into());
        let got = lt.to_ndarray::<bool>().unwrap();
        let want = ndarray::Zip::from(&x).and(&y).map_collect(|p, q| p < q);
        check(got == want, || format!("case {case} less"));
        for (op, f) in [
            (UnaryOp::Sqrt, f64::sqrt as fn(f64) -> f64),
            (UnaryOp::Negative, |v: f64| -v),
            (UnaryOp::Floor, f64::floor),
            (UnaryOp::Sin, f64::sin),
            (UnaryOp::Exp, |v: f64| (v / 100.0).exp()),
        ] {
            let src = if op == UnaryOp::Exp {
                binary(
                    BinaryOp::Divide,
                    Operand::Array(&a),
                    Operand::Scalar(Scalar::F64(100.0)),
                    None,
                )
                .unwrap()
            } else {
                a.clone()
            };
            let got = unary(op, &src, None).unwrap();
            same(
                &got.to_ndarray::<f64>().unwrap(),
                &x.mapv(f),
                &format!("case {case} {op:?}"),
            );
        }
        // In place: a += b (out aliases an input).
        binary(BinaryOp::Add, Operand::Array(&a), Operand::Array(&b), Some(&a)).unwrap();
        same(
            &a.to_ndarray::<f64>().unwrap(),
            &(&x + &y),
            &format!("case {case} in-place add"),
        );
    }
    // Broadcasting and type promotion: (3,1,4) i32 + (5,1) f32 -> (3,5,4) f64.
    let xi = ArrayD::from_shape_fn(IxDyn(&[3, 1, 4]), |ix| (ix[0] * 4 + ix[2]) as i32 - 5);
    let yf = ArrayD::from_shape_fn(IxDyn(&[5, 1]), |ix| ix[0] as f32 * 0.5);
    let root = 0;
    let a = DistArray::scatter(
        rt,
        &[3, 1, 4],
        Layout::Block,
        root,
        (rt.rank() == root).then_some(xi.as_slice().unwrap()),
    )
    .unwrap();
    let b = DistArray::scatter(
        rt,
        &[5, 1],
        Layout::BlockCyclic { block: vec![2, 1] },
        root,
        (rt.rank() == root).then_some(yf.as_slice().unwrap()),
    )
    .unwrap();
    let c = binary(BinaryOp::Add, Operand::Array(&a), Operand::Array(&b), None).unwrap();
    check(c.dtype() == DType::F64 && c.shape() == [3, 5, 4], || {
        format!("promotion/broadcast: {:?} {:?}", c.dtype(), c.shape())
    });
    let want = ArrayD::from_shape_fn(IxDyn(&[3, 5, 4]), |ix| {
        (ix[0] * 4 + ix[2]) as f64 - 5.0 + ix[1] as f64 * 0.5
    });
    same(&c.to_ndarray::<f64>().unwrap(), &want, "broadcast i32+f32");
    // Errors are reported on every rank and leave the output untouched.
    let three = DistArray::zeros(rt, &[3], DType::F64, Layout::Block).unwrap();
    let bad = binary(BinaryOp::Add, Operand::Array(&three), Operand::Array(&c), None).unwrap_err();
    check(bad.kind() == ErrorKind::Shape, || {
        format!("broadcast mismatch gave {bad}")
    });
    let bad = binary(BinaryOp::BitwiseAnd, Operand::Array(&c), Operand::Array(&c), None).unwrap_err();
    check(bad.kind() == ErrorKind::DType, || {
        format!("bitwise on float gave {bad}")
    });
    let neg = DistArray::full(rt, &[4], DType::I64, Layout::Block, Scalar::I64(-1)).unwrap();
    let before = a.to_ndarray::<i32>().unwrap();
    let e = binary(BinaryOp::Power, Operand::Array(&a), Operand::Array(&neg), None);
    check(e.is_err(), || "int ** negative int must fail".into());
    check(a.to_ndarray::<i32>().unwrap() == before, || {
        "failed op modified its input".into()
    });
}

/// Stencils and misaligned views: a[1:] + a[:-1], 2-D 5-point average.
fn stencils(rt: &Runtime, r: &mut Rng) {
    for case in 0..6 {
        let n = r.below(30) as usize + 2;
        let x = reference(r, &[n]);
        let a = make(rt, &x, random_layout(r, 1, rt.nranks()));
        let s1 = a
            .slice(&[SliceItem::Range {
                start: Some(1),
                stop: None,
                step: 1,
            }])
            .unwrap();
        let s0 = a
            .slice(&[SliceItem::Range {
                start: None,
                stop: Some(-1),
                step: 1,
            }])
            .unwrap();
        let got = binary(BinaryOp::Add, Operand::Array(&s1), Operand::Array(&s0), None).unwrap();
        let want = ArrayD::from_shape_fn(IxDyn(&[n - 1]), |ix| x[[ix[0] + 1]] + x[[ix[0]]]);
        same(
            &got.to_ndarray::<f64>().unwrap(),
            &want,
            &format!("case {case} a[1:]+a[:-1]"),
        );
        // In place on overlapping views: a[1:] += a[:-1] (NumPy semantics with a temporary).
        binary(BinaryOp::Add, Operand::Array(&s1), Operand::Array(&s0), Some(&s1)).unwrap();
        let mut w = x.clone();
        for i in (1..n).rev() {
            w[[i]] = x[[i]] + x[[i - 1]];
        }
        same(
            &a.to_ndarray::<f64>().unwrap(),
            &w,
            &format!("case {case} a[1:] += a[:-1]"),
        );
    }
    let (h, w) = (9, 7);
    let x = ArrayD::from_shape_fn(IxDyn(&[h, w]), |ix| ((ix[0] * 31 + ix[1] * 17) % 23) as f64);
    let a = make(rt, &x, Layout::Block);
    let sl = |r0: isize, r1: isize, c0: isize, c1: isize| {
        a.slice(&[
            SliceItem::Range {
                start: Some(r0),
                stop: Some(r1),
                step: 1,
            },
            SliceItem::Range {
                start: Some(c0),
                stop: Some(c1),
                step: 1,
            },
        ])
        .unwrap()
    };
    let (c, n_, s_, e_, w_) = (
        sl(1, -1, 1, -1),
        sl(0, -2, 1, -1),
        sl(2, h as isize, 1, -1),
        sl(1, -1, 2, w as isize),
        sl(1, -1, 0, -2),
    );
    let mut acc = binary(BinaryOp::Add, Operand::Array(&c), Operand::Array(&n_), None).unwrap();
    for t in [&s_, &e_, &w_] {
        acc = binary(BinaryOp::Add, Operand::Array(&acc), Operand::Array(t), None).unwrap();
    }
    let avg = binary(
        BinaryOp::Multiply,
        Operand::Array(&acc),
        Operand::Scalar(Scalar::F64(0.2)),
        None,
    )
    .unwrap();
    let want = ArrayD::from_shape_fn(IxDyn(&[h - 2, w - 2]), |ix| {
        let (i, j) = (ix[0] + 1, ix[1] + 1);
        (x[[i, j]] + x[[i - 1, j]] + x[[i + 1, j]] + x[[i, j + 1]] + x[[i, j - 1]]) * 0.2
    });
    same(&avg.to_ndarray::<f64>().unwrap(), &want, "5-point stencil");
    // A transpose against its original.
    let sq = make(
        rt,
        &ArrayD::from_shape_fn(IxDyn(&[5, 5]), |ix| (ix[0] * 5 + ix[1]) as f64),
        Layout::BlockCyclic { block: vec![2, 3] },
    );
    let t = sq.transpose(None).unwrap();
    let d = binary(BinaryOp::Subtract, Operand::Array(&sq), Operand::Array(&t), None).unwrap();
    let want = ArrayD::from_shape_fn(IxDyn(&[5, 5]), |ix| {
        (ix[0] * 5 + ix[1]) as f64 - (ix[1] * 5 + ix[0]) as f64
    });
    same(&d.to_ndarray::<f64>().unwrap(), &want, "a - a.T");
}

fn reductions(rt: &Runtime, r: &mut Rng) {
    for case in 0..20 {
        let mut shape = random_shape(r);
        if shape.is_empty() {
            shape.push(3);
        }
        let x = reference(r, &shape);
        let a = make(rt, &x, random_layout(r, shape.len(), rt.nranks()));
        let sum = reduce_all(&a, ReduceOp::Sum).unwrap();
        let Scalar::F64(s) = sum else { panic!("sum dtype") };
        check((s - x.sum()).abs() < 1e-6, || {
            format!("case {case} sum {s} vs {}", x.sum())
        });
        if !x.is_empty() {
            let Scalar::F64(m) = reduce_all(&a, ReduceOp::Max).unwrap() else {
                panic!()
            };
            let want = x.iter().copied().fold(f64::MIN, f64::max);
            check(m == want, || format!("case {case} max {m} vs {want}"));
            let Scalar::I64(am) = reduce_all(&a, ReduceOp::Argmin).unwrap() else {
                panic!()
            };
            let (mut bi, mut bv) = (0, f64::MAX);
            for (i, &v) in x.iter().enumerate() {
                if v < bv {
                    bv = v;
                    bi = i;
                }
            }
            check(am as usize == bi, || format!("case {case} argmin {am} vs {bi}"));
        } else {
            check(reduce_all(&a, ReduceOp::Min).is_err(), || {
                "min of empty must fail".into()
            });
        }
        for (axis, &extent) in shape.iter().enumerate() {
            let got = reduce_axis(&a, ReduceOp::Sum, axis)
                .unwrap()
                .to_ndarray::<f64>()
                .unwrap();
            same(
                &got,
                &x.sum_axis(ndarray::Axis(axis)),
                &format!("case {case} sum axis {axis}"),
            );
            if extent > 0 {
                let got = reduce_axis(&a, ReduceOp::Min, axis)
                    .unwrap()
                    .to_ndarray::<f64>()
                    .unwrap();
                let want = x.fold_axis(ndarray::Axis(axis), f64::MAX, |p, q| p.min(*q));
                same(&got, &want, &format!("case {case} min axis {axis}"));
                let got = reduce_axis(&a, ReduceOp::Mean, axis)
                    .unwrap()
                    .to_ndarray::<f64>()
                    .unwrap();
                let want = x.sum_axis(ndarray::Axis(axis)) / extent as f64;
                same(&got, &want, &format!("case {case} mean axis {axis}"));
            }
        }
    }
    // Every reduction along every axis of an integer array, against plain folds.
    for case in 0..8 {
        let shape: Vec<usize> = (0..r.below(3) + 1).map(|_| r.below(5) as usize + 1).collect();
        let xi = ArrayD::from_shape_fn(IxDyn(&shape), |_| r.below(9) as i32 - 4);
        let flat: Vec<i32> = xi.iter().copied().collect();
        let a = DistArray::scatter(
            rt,
            &shape,
            random_layout(r, shape.len(), rt.nranks()),
            0,
            (rt.rank() == 0).then_some(flat.as_slice()),
        )
        .unwrap();
        for axis in 0..shape.len() {
            let lanes: Vec<Vec<i64>> = xi
                .lanes(ndarray::Axis(axis))
                .into_iter()
                .map(|l| l.iter().map(|&v| i64::from(v)).collect())
                .collect();
            let get = |op: ReduceOp| reduce_axis(&a, op, axis).unwrap();
            let as_i64 = |d: &DistArray| {
                d.astype(DType::I64)
                    .unwrap()
                    .to_ndarray::<i64>()
                    .unwrap()
                    .iter()
                    .copied()
                    .collect::<Vec<i64>>()
            };
            let want = |f: &dyn Fn(&[i64]) -> i64| lanes.iter().map(|l| f(l)).collect::<Vec<i64>>();
            check(as_i64(&get(ReduceOp::Prod)) == want(&|l| l.iter().product()), || {
                format!("case {case} prod axis {axis}")
            });
            check(
                as_i64(&get(ReduceOp::Max)) == want(&|l| *l.iter().max().unwrap()),
                || format!("case {case} max axis {axis}"),
            );
            let first = |l: &[i64], better: &dyn Fn(i64, i64) -> bool| {
                let mut b = 0;
                for (i, &v) in l.iter().enumerate() {
                    if better(v, l[b]) {
                        b = i;
                    }
                }
                b as i64
            };
            check(
                as_i64(&get(ReduceOp::Argmax)) == want(&|l| first(l, &|p, q| p > q)),
                || format!("case {case} argmax axis {axis}"),
            );
            check(
                as_i64(&get(ReduceOp::Argmin)) == want(&|l| first(l, &|p, q| p < q)),
                || format!("case {case} argmin axis {axis}"),
            );
            check(
                as_i64(&get(ReduceOp::Any)) == want(&|l| i64::from(l.iter().any(|&v| v != 0))),
                || format!("case {case} any axis {axis}"),
            );
            check(
                as_i64(&get(ReduceOp::All)) == want(&|l| i64::from(l.iter().all(|&v| v != 0))),
                || format!("case {case} all axis {axis}"),
            );
        }
    }
    let b = DistArray::arange(rt, 0.0, 10.0, 1.0, DType::I32, Layout::Block).unwrap();
    let Scalar::I64(s) = reduce_all(&b, ReduceOp::Sum).unwrap() else {
        panic!("int sum is int64")
    };
    check(s == 45, || format!("arange sum {s}"));
    let gt = binary(
        BinaryOp::Greater,
        Operand::Array(&b),
        Operand::Scalar(Scalar::I64(8)),
        None,
    )
    .unwrap();
    check(reduce_all(&gt, ReduceOp::Any).unwrap() == Scalar::Bool(true), || {
        "any".into()
    });
    check(reduce_all(&gt, ReduceOp::All).unwrap() == Scalar::Bool(false), || {
        "all".into()
    });
}

fn linalg(rt: &Runtime, r: &mut Rng) {
    for case in 0..6 {
        let (m, k, n) = (
            r.below(9) as usize + 1,
            r.below(300) as usize + 1,
            r.below(9) as usize + 1,
        );
        let x = reference(r, &[m, k]);
        let y = reference(r, &[k, n]);
        let a = make(rt, &x, random_layout(r, 2, rt.nranks()));
        let b = make(rt, &y, random_layout(r, 2, rt.nranks()));
        let Product::Array(c) = matmul(&a, &b).unwrap() else {
            panic!("2-D product")
        };
        let mut want = ArrayD::zeros(IxDyn(&[m, n]));
        for i in 0..m {
            for j in 0..n {
                want[[i, j]] = (0..k).map(|p| x[[i, p]] * y[[p, j]]).sum();
            }
        }
        same(
            &c.to_ndarray::<f64>().unwrap(),
            &want,
            &format!("case {case} matmul {m}x{k}x{n}"),
        );
        let v = reference(r, &[k]);
        let vv = make(rt, &v, Layout::Block);
        let Product::Array(mv) = matmul(&a, &vv).unwrap() else {
            panic!()
        };
        let want: Vec<f64> = (0..m).map(|i| (0..k).map(|p| x[[i, p]] * v[[p]]).sum()).collect();
        same(
            &mv.to_ndarray::<f64>().unwrap(),
            &ArrayD::from_shape_vec(IxDyn(&[m]), want).unwrap(),
            "matvec",
        );
        let Product::Scalar(Scalar::F64(d)) = matmul(&vv, &vv).unwrap() else {
            panic!()
        };
        let want: f64 = v.iter().map(|q| q * q).sum();
        check((d - want).abs() < 1e-6 * (1.0 + want), || format!("dot {d} vs {want}"));
    }
}

fn creation(rt: &Runtime) {
    let e = DistArray::eye(rt, 4, 6, 1, DType::F64, Layout::Block).unwrap();
    let want = ArrayD::from_shape_fn(IxDyn(&[4, 6]), |ix| f64::from(u8::from(ix[1] == ix[0] + 1)));
    same(&e.to_ndarray::<f64>().unwrap(), &want, "eye");
    let l = DistArray::linspace(rt, 0.0, 1.0, 11, true, DType::F64, Layout::Block).unwrap();
    let got = l.to_ndarray::<f64>().unwrap();
    check(
        (got[[10]] - 1.0).abs() < 1e-15 && (got[[3]] - 0.3).abs() < 1e-12,
        || format!("linspace {got:?}"),
    );
    let u = DistArray::random_uniform(rt, &[1000], 7, DType::F64, Layout::BlockCyclic { block: vec![7] }).unwrap();
    let g = u.to_ndarray::<f64>().unwrap();
    let mean = g.sum() / 1000.0;
    check(
        g.iter().all(|&v| (0.0..1.0).contains(&v)) && (mean - 0.5).abs() < 0.05,
        || format!("uniform mean {mean}"),
    );
    // Independent of the rank count and layout: equal to the single-rank definition.
    let want: Vec<f64> = (0..1000u64).map(|i| distarr_arrays::rng::uniform_f64(7, i)).collect();
    check(g.iter().copied().eq(want.iter().copied()), || {
        "random depends on layout/ranks".into()
    });
    let nrm =
        DistArray::random_normal(rt, &[40, 25], 3, DType::F64, Layout::BlockCyclic { block: vec![3, 4] }).unwrap();
    let g = nrm.to_ndarray::<f64>().unwrap();
    let want: Vec<f64> = (0..1000u64).map(|i| distarr_arrays::rng::normal_f64(3, i)).collect();
    check(g.iter().copied().eq(want.iter().copied()), || {
        "normal values depend on layout/ranks".into()
    });
    let (m, v) = (g.sum() / 1000.0, g.mapv(|q| q * q).sum() / 1000.0);
    check(m.abs() < 0.15 && (v - 1.0).abs() < 0.2, || {
        format!("normal moments {m} {v}")
    });
    let z = DistArray::zeros(rt, &[0, 3], DType::I64, Layout::Block).unwrap();
    check(z.to_ndarray::<i64>().unwrap().is_empty(), || "zero-length".into());
    let s0 = DistArray::full(rt, &[], DType::F32, Layout::Block, Scalar::F64(2.5)).unwrap();
    check(s0.to_ndarray::<f32>().unwrap()[IxDyn(&[])] == 2.5, || "0-d".into());
    // astype and copy between distributions.
    let x = DistArray::arange(rt, -3.0, 9.0, 1.5, DType::F64, Layout::BlockCyclic { block: vec![3] }).unwrap();
    let xi = x.astype(DType::I32).unwrap();
    let want: Vec<i32> = (0..8).map(|i| (-3.0 + 1.5 * i as f64) as i32).collect();
    check(xi.to_ndarray::<i32>().unwrap().iter().copied().eq(want), || {
        "astype".into()
    });
    let y = DistArray::empty(rt, &[8], DType::F64, Layout::OnRank(rt.nranks() - 1)).unwrap();
    y.copy_from(&x).unwrap();
    check(y.to_ndarray::<f64>().unwrap() == x.to_ndarray::<f64>().unwrap(), || {
        "copy between layouts".into()
    });
    // Region get/put/acc by one rank, seen by all.
    let g = DistArray::zeros(rt, &[6, 5], DType::F64, Layout::BlockCyclic { block: vec![2, 2] }).unwrap();
    // One-sided writes after a collective operation on the same array need a sync first.
    rt.sync().unwrap();
    if rt.rank() == 0 {
        g.put_region(&[1, 1], &[4, 4], &[1.0; 9]).unwrap();
    }
    rt.sync().unwrap();
    g.acc_region_bytes(
        &[0, 0],
        &[6, 5],
        distarr_arrays_bytes(&vec![1.0f64; 30]),
        distarr_arrays::AccOp::Sum,
    )
    .unwrap();
    rt.sync().unwrap();
    let got = g.to_ndarray::<f64>().unwrap();
    let n = rt.nranks() as f64;
    let want = ArrayD::from_shape_fn(IxDyn(&[6, 5]), |ix| {
        n + f64::from(u8::from((1..4).contains(&ix[0]) && (1..4).contains(&ix[1])))
    });
    same(&got, &want, "put_region + acc_region from every rank");
    let part = g.get_region::<f64>(&[2, 0], &[3, 5]).unwrap();
    check(part == want.slice(ndarray::s![2, ..]).to_vec(), || "get_region".into());
    check(
        g.get_region::<f64>(&[0, 0], &[7, 1]).unwrap_err().kind() == ErrorKind::OutOfBounds,
        || "region bounds".into(),
    );
    check(
        g.get_region::<i64>(&[0, 0], &[1, 1]).unwrap_err().kind() == ErrorKind::DType,
        || "region dtype".into(),
    );
    let (owner, _) = g.locate(&[5, 4]).unwrap();
    check(owner < rt.nranks(), || "locate".into());
    // Local blocks: a copy matches the distribution's map; an in-place view edits the heap.
    let x = ArrayD::from_shape_fn(IxDyn(&[7, 5]), |ix| (ix[0] * 5 + ix[1]) as f64);
    let lay = Layout::BlockCyclic { block: vec![2, 3] };
    let m = make(rt, &x, lay);
    let lb = m.local_block::<f64>().unwrap();
    let dist = m.distribution().clone();
    for (k, v) in lb.iter().enumerate() {
        let gi = dist.global_index(rt.rank(), k).unwrap();
        check(*v == x[IxDyn(&gi)], || format!("local block element {k} -> {gi:?}"));
    }
    // SAFETY: between two collective operations; no rank issues one-sided operations here.
    unsafe {
        m.with_local_block_mut::<f64, _>(|mut v| v.mapv_inplace(|q| q * 2.0))
            .unwrap()
    };
    rt.sync().unwrap();
    same(
        &m.to_ndarray::<f64>().unwrap(),
        &x.mapv(|q| q * 2.0),
        "in-place local block edit",
    );
    let f = g.clone();
    g.free().unwrap();
    check(f.to_ndarray::<f64>().unwrap_err().kind() == ErrorKind::Freed, || {
        "use after free".into()
    });
}

fn distarr_arrays_bytes(v: &[f64]) -> &[u8] {
    // SAFETY: f64 has no padding and u8 has alignment 1; the view covers exactly `v`.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast(), v.len() * 8) }
}

fn main() {
    let rt = Runtime::init().unwrap();
    let mut r = Rng::new(2024, 11);
    views(&rt, &mut r);
    index_views(&rt, &mut r);
    elementwise(&rt, &mut r);
    stencils(&rt, &mut r);
    reductions(&rt, &mut r);
    linalg(&rt, &mut r);
    creation(&rt);
    finish(&rt);
}

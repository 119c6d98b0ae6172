//! Reproducible float reductions: `sum`/`mean` over all elements and along each axis give the
//! same bits for every layout in one run (checked here) and at every rank and thread count
//! (rank 0 prints the bits as `repro:` lines; the harness compares them across runs).
//! References: axis sums are strictly left to right along the axis (the documented order),
//! computed here with plain loops and compared bit for bit; sums over all elements are compared
//! with a compensated (Kahan–Babuška) sum within 4 ulp.
use distarr_arrays::reduce::{reduce_all, reduce_axis, ReduceOp};
use distarr_arrays::{DType, DistArray, Layout, Scalar};
use distarr_mpitests::{abort_on_panic, check, finish, Rng};
use distarr_runtime::Runtime;
use ndarray::{ArrayD, Axis, IxDyn};

fn neumaier(xs: impl Iterator<Item = f64>) -> f64 {
    let (mut s, mut c) = (0.0f64, 0.0f64);
    for x in xs {
        let t = s + x;
        c += if s.abs() >= x.abs() { (s - t) + x } else { (x - t) + s };
        s = t;
    }
    s + c
}

fn bits(s: &Scalar) -> String {
    match *s {
        Scalar::F64(v) => format!("{:016x}", v.to_bits()),
        Scalar::F32(v) => format!("{:08x}", v.to_bits()),
        Scalar::C128(c) => format!("{:016x}{:016x}", c.re.to_bits(), c.im.to_bits()),
        other => format!("{other:?}"),
    }
}

fn main() {
    abort_on_panic();
    let rt = Runtime::init().unwrap();
    let mut r = Rng::new(31, 7);
    let mut lines = Vec::new();
    for (case, shape) in [vec![5000usize], vec![123, 77], vec![3, 2050], vec![7, 9, 11]]
        .into_iter()
        .enumerate()
    {
        // values over many magnitudes, both signs: rounding depends on the order of additions
        let x = ArrayD::from_shape_fn(IxDyn(&shape), |_| {
            let m = (r.below(1 << 30) as f64 - (1u64 << 29) as f64) / (1u64 << 29) as f64;
            m * 2f64.powi(r.below(40) as i32 - 20)
        });
        let flat: Vec<f64> = x.iter().copied().collect();
        let nd = shape.len();
        let mut first: Option<Vec<String>> = None;
        for layout in [
            Layout::Block,
            Layout::BlockCyclic { block: vec![5; nd] },
            Layout::BlockCyclic { block: vec![1; nd] },
            Layout::Replicated,
            Layout::OnRank(rt.nranks() - 1),
        ] {
            let root = 0;
            let a = DistArray::scatter(
                &rt,
                &shape,
                layout.clone(),
                root,
                (rt.rank() == root).then_some(flat.as_slice()),
            )
            .unwrap();
            let mut got = Vec::new();
            let s = reduce_all(&a, ReduceOp::Sum).unwrap();
            let Scalar::F64(sv) = s else {
                panic!("sum of f64 is {s:?}")
            };
            let want = neumaier(flat.iter().copied());
            check(
                (sv - want).abs() <= 4.0 * f64::EPSILON * flat.iter().map(|v| v.abs()).sum::<f64>(),
                || format!("case {case} {layout:?}: sum {sv:e} vs {want:e}"),
            );
            got.push(format!("case{case} sum f64 {}", bits(&s)));
            got.push(format!(
                "case{case} mean f64 {}",
                bits(&reduce_all(&a, ReduceOp::Mean).unwrap())
            ));
            let f = a.astype(DType::F32).unwrap();
            got.push(format!(
                "case{case} sum f32 {}",
                bits(&reduce_all(&f, ReduceOp::Sum).unwrap())
            ));
            let c = a.astype(DType::C128).unwrap();
            got.push(format!(
                "case{case} sum c128 {}",
                bits(&reduce_all(&c, ReduceOp::Sum).unwrap())
            ));
            for axis in 0..nd {
                let s = reduce_axis(&a, ReduceOp::Sum, axis)
                    .unwrap()
                    .to_ndarray::<f64>()
                    .unwrap();
                // strictly left to right along the axis
                let want = x.fold_axis(Axis(axis), 0.0, |acc, &v| acc + v);
                for (g, w) in s.iter().zip(want.iter()) {
                    check(g.to_bits() == w.to_bits(), || {
                        format!("case {case} {layout:?} axis {axis}: {g:e} vs {w:e}")
                    });
                }
                let h = s.iter().fold(0u64, |h, v| h.rotate_left(7) ^ v.to_bits());
                got.push(format!("case{case} axis{axis} {h:016x}"));
            }
            match &first {
                None => first = Some(got),
                Some(f) => check(f == &got, || {
                    format!("case {case}: layout {layout:?} gave {got:?}, Block gave {f:?}")
                }),
            }
        }
        lines.extend(first.unwrap_or_default());
    }
    if rt.rank() == 0 {
        for l in lines {
            println!("repro: {l}");
        }
    }
    finish(&rt);
}

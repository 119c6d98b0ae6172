//! Dense Jacobi iteration for `A x = b`, the benchmark of DistNumPy (PGAS'10).
//!
//! In NumPy:
//!
//! ```python
//! A = random((n, n)); A.reshape(n * n)[::n + 1] += n   # diagonally dominant
//! b = random(n)
//! d = A.reshape(n * n)[::n + 1]                        # the diagonal: a strided view
//! h = zeros(n)
//! while delta > tol:
//!     hnew = h + (b - (A * h).sum(axis=1)) / d         # h broadcasts over A's rows
//!     delta = abs(hnew - h).max()
//!     h = hnew
//! ```
//!
//! The diagonal is a view of `A` (reshape to 1-D, then every (n+1)-th element): adding `n` to
//! it writes through to `A`, and dividing by it reads `A`'s diagonal where it lives.
//!
//! Prints the iteration count, the last change, the time of the iterations (each ends with the
//! change, a value, so no deferred work is left when the clock stops) and the residual
//! `max|A h - b|` (through `matmul`).
//!
//! Run: `mpirun -n 4 target/release/examples/jacobi [N] [MAX_ITERS] [--check]`. `--check` solves
//! `A x = b` on rank 0 with Gaussian elimination and requires `|h - x| < 1e-8` and a residual
//! `|A h - b| < 1e-8` (max norms), computed with plain loops.
mod common;

use common::{conclude, Args};
use distarr::arrays::linalg::{matmul, Product};
use distarr::arrays::reduce::{reduce_all, reduce_axis, ReduceOp};
use distarr::arrays::ufunc::{binary, unary, BinaryOp, Operand, UnaryOp};
use distarr::arrays::{DType, DistArray, Layout, Result, Scalar, SliceItem};
use distarr::runtime::Runtime;

/// Iterate until no element of `h` changes by more than this.
const TOL: f64 = 1e-13;

/// `A` (diagonally dominant), `b`, and the diagonal of `A` as a view. **Collective.**
fn system(rt: &Runtime, n: usize) -> Result<(DistArray, DistArray, DistArray)> {
    let a = DistArray::random_uniform(rt, &[n, n], 7, DType::F64, Layout::Block)?;
    let b = DistArray::random_uniform(rt, &[n], 8, DType::F64, Layout::Block)?;
    let d = a.reshape(&[n * n])?.slice(&[SliceItem::Range {
        start: None,
        stop: None,
        step: n as isize + 1,
    }])?;
    binary(
        BinaryOp::Add,
        Operand::Array(&d),
        Operand::Scalar(Scalar::F64(n as f64)),
        Some(&d),
    )?;
    Ok((a, b, d))
}

/// Jacobi iterations from `h = 0`; returns `h`, the iteration count and the last change.
/// **Collective.**
fn jacobi(a: &DistArray, b: &DistArray, d: &DistArray, max_iters: usize) -> Result<(DistArray, usize, f64)> {
    use BinaryOp::*;
    use Operand::Array;
    let mut h = DistArray::zeros(a.runtime(), b.shape(), DType::F64, Layout::Block)?;
    let (mut iters, mut delta) = (0, f64::INFINITY);
    while delta > TOL && iters < max_iters {
        let ah = binary(Multiply, Array(a), Array(&h), None)?; // A * h, (n, n)
        let step = binary(Subtract, Array(b), Array(&reduce_axis(&ah, ReduceOp::Sum, 1)?), None)?;
        binary(Divide, Array(&step), Array(d), Some(&step))?;
        let hnew = binary(Add, Array(&h), Array(&step), None)?;
        let change = binary(Subtract, Array(&hnew), Array(&h), None)?;
        unary(UnaryOp::Absolute, &change, Some(&change))?;
        delta = match reduce_all(&change, ReduceOp::Max)? {
            Scalar::F64(v) => v,
            other => unreachable!("max of a float64 array is float64, got {other:?}"),
        };
        h = hnew;
        iters += 1;
    }
    Ok((h, iters, delta))
}

/// The residual `max|A h - b|` (`abs(A @ h - b).max()`). **Collective.**
fn residual(a: &DistArray, h: &DistArray, b: &DistArray) -> Result<f64> {
    let Product::Array(ah) = matmul(a, h)? else {
        unreachable!("a matrix times a vector is a vector")
    };
    let r = binary(BinaryOp::Subtract, Operand::Array(&ah), Operand::Array(b), None)?;
    unary(UnaryOp::Absolute, &r, Some(&r))?;
    match reduce_all(&r, ReduceOp::Max)? {
        Scalar::F64(v) => Ok(v),
        other => unreachable!("max of a float64 array is float64, got {other:?}"),
    }
}

/// Solves `a x = b` (`a` row-major n×n) by Gaussian elimination with partial pivoting.
fn solve(mut a: Vec<f64>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for col in 0..n {
        let p = (col..n)
            .max_by(|&i, &j| a[i * n + col].abs().total_cmp(&a[j * n + col].abs()))
            .unwrap_or(col);
        for k in 0..n {
            a.swap(col * n + k, p * n + k);
        }
        b.swap(col, p);
        for i in col + 1..n {
            let f = a[i * n + col] / a[col * n + col];
            for k in col..n {
                a[i * n + k] -= f * a[col * n + k];
            }
            b[i] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| a[i * n + k] * x[k]).sum();
        x[i] = (b[i] - s) / a[i * n + i];
    }
    x
}

/// The whole array on rank 0 as a C-order buffer (`None` elsewhere). **Collective.**
fn on_root(a: &DistArray) -> Result<Option<Vec<f64>>> {
    Ok(a.gather::<f64>(0)?.map(|g| g.iter().copied().collect()))
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse("jacobi [N] [MAX_ITERS] [--check]", 1000, 1000);
    let n = args.size.max(1);
    let rt = Runtime::init()?;
    let (a, b, d) = system(&rt, n)?;
    rt.barrier()?; // the set-up (random A and b, deferred) runs before the clock starts
    let t0 = std::time::Instant::now();
    let (h, iters, delta) = jacobi(&a, &b, &d, args.steps)?;
    let secs = t0.elapsed().as_secs_f64();
    let resid = residual(&a, &h, &b)?;
    if rt.rank() == 0 {
        println!(
            "jacobi: n = {n}, {iters} iterations (last change {delta:.3e}) on {} ranks in {secs:.3} s; max residual |A h - b| {resid:.3e}",
            rt.nranks()
        );
    }
    let (mut ok, mut report) = (true, String::new());
    if args.check {
        if let (Some(a), Some(b), Some(d), Some(h)) = (on_root(&a)?, on_root(&b)?, on_root(&d)?, on_root(&h)?) {
            let diag_ok = (0..n).all(|i| d[i] == a[i * n + i]);
            let residual = (0..n)
                .map(|i| ((0..n).map(|j| a[i * n + j] * h[j]).sum::<f64>() - b[i]).abs())
                .fold(0.0, f64::max);
            let x = solve(a, b);
            let error = h.iter().zip(&x).map(|(p, q)| (p - q).abs()).fold(0.0, f64::max);
            ok = diag_ok && residual < 1e-8 && error < 1e-8;
            report = format!(
                "diagonal view ok: {diag_ok}; |A h - b| = {residual:.1e}; |h - x| = {error:.1e} (Gaussian elimination)"
            );
        }
    }
    conclude(&rt, &args, ok, &report)
}

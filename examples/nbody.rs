//! All-pairs gravitational N-body simulation with broadcasting.
//!
//! Positions `x` and velocities `v` are `(n, 3)` arrays, masses `m` an `(n,)` array. One time
//! step, as in NumPy (units with G = 1, softening `eps`):
//!
//! ```python
//! dx = x[None, :, :] - x[:, None, :]       # (n, n, 3): dx[i, j] = x[j] - x[i]
//! r2 = (dx * dx).sum(axis=2) + eps**2      # (n, n)
//! w  = m[None, :] * r2 ** -1.5             # (n, n)
//! a  = (dx * w[:, :, None]).sum(axis=1)    # (n, 3)
//! v += a * dt
//! x += v * dt
//! ```
//!
//! `x[None, :, :]` and friends are views (no data moves); the element-wise operations broadcast
//! them and each rank computes the part of the result it owns, fetching the inputs it needs
//! with one-sided gets.
//!
//! Run: `mpirun -n 4 target/release/examples/nbody [N] [STEPS] [--check]`. `--check` repeats the
//! simulation on rank 0 with plain loops (the same operations in the same order) and compares.
mod common;

use common::{conclude, Args};
use distarr::arrays::reduce::{reduce_axis, ReduceOp};
use distarr::arrays::ufunc::{binary, BinaryOp, Operand};
use distarr::arrays::{DType, DistArray, Layout, Result, Scalar, SliceItem};
use distarr::runtime::Runtime;

const DT: f64 = 1e-3;
const EPS: f64 = 1e-2;
/// `:` and `None` (NumPy's `np.newaxis`) in an index.
const ALL: SliceItem = SliceItem::FULL;
const NEW: SliceItem = SliceItem::NewAxis;

fn f64s(v: f64) -> Operand<'static> {
    Operand::Scalar(Scalar::F64(v))
}

/// One leapfrog-free (symplectic Euler) step, updating `x` and `v` in place. **Collective.**
fn step(x: &DistArray, v: &DistArray, m: &DistArray) -> Result<()> {
    use BinaryOp::*;
    use Operand::Array;
    let xj = x.slice(&[NEW, ALL, ALL])?; // (1, n, 3)
    let xi = x.slice(&[ALL, NEW, ALL])?; // (n, 1, 3)
    let dx = binary(Subtract, Array(&xj), Array(&xi), None)?; // (n, n, 3)
    let dx2 = binary(Multiply, Array(&dx), Array(&dx), None)?;
    let r2 = reduce_axis(&dx2, ReduceOp::Sum, 2)?; // (n, n)
    binary(Add, Array(&r2), f64s(EPS * EPS), Some(&r2))?;
    let inv_r3 = binary(Power, Array(&r2), f64s(-1.5), None)?;
    let w = binary(Multiply, Array(&m.slice(&[NEW, ALL])?), Array(&inv_r3), None)?;
    let f = binary(Multiply, Array(&dx), Array(&w.slice(&[ALL, ALL, NEW])?), None)?;
    let a = reduce_axis(&f, ReduceOp::Sum, 1)?; // (n, 3)
    let a_dt = binary(Multiply, Array(&a), f64s(DT), None)?;
    binary(Add, Array(v), Array(&a_dt), Some(v))?;
    let v_dt = binary(Multiply, Array(v), f64s(DT), None)?;
    binary(Add, Array(x), Array(&v_dt), Some(x))?;
    Ok(())
}

/// Total momentum `sum(m[:, None] * v, axis=0)`. **Collective.**
fn momentum(v: &DistArray, m: &DistArray) -> Result<Vec<f64>> {
    let mv = binary(
        BinaryOp::Multiply,
        Operand::Array(&m.slice(&[ALL, NEW])?),
        Operand::Array(v),
        None,
    )?;
    Ok(reduce_axis(&mv, ReduceOp::Sum, 0)?
        .to_ndarray::<f64>()?
        .iter()
        .copied()
        .collect())
}

/// The same simulation with plain loops on C-order `(n, 3)` buffers, for `--check`.
fn reference(x: &mut [f64], v: &mut [f64], m: &[f64], steps: usize) {
    let n = m.len();
    for _ in 0..steps {
        let mut a = vec![0.0; 3 * n];
        for i in 0..n {
            for j in 0..n {
                let d: Vec<f64> = (0..3).map(|k| x[3 * j + k] - x[3 * i + k]).collect();
                let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2] + EPS * EPS;
                let w = m[j] * r2.powf(-1.5);
                for k in 0..3 {
                    a[3 * i + k] += d[k] * w;
                }
            }
        }
        for (k, ak) in a.iter().enumerate() {
            v[k] += ak * DT;
            x[k] += v[k] * DT;
        }
    }
}

/// The whole array on rank 0 as a C-order buffer (`None` elsewhere). **Collective.**
fn on_root(a: &DistArray) -> Result<Option<Vec<f64>>> {
    Ok(a.gather::<f64>(0)?.map(|g| g.iter().copied().collect()))
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse("nbody [N] [STEPS] [--check]", 256, 10);
    let (n, steps) = (args.size.max(1), args.steps);
    let rt = Runtime::init()?;
    // Bodies in the unit cube at rest, masses in [0.5, 1.5) / n.
    let x = DistArray::random_uniform(&rt, &[n, 3], 1, DType::F64, Layout::Block)?;
    let v = DistArray::zeros(&rt, &[n, 3], DType::F64, Layout::Block)?;
    let u = DistArray::random_uniform(&rt, &[n], 2, DType::F64, Layout::Block)?;
    let m = binary(BinaryOp::Add, Operand::Array(&u), f64s(0.5), None)?;
    binary(BinaryOp::Divide, Operand::Array(&m), f64s(n as f64), Some(&m))?;
    let start = if args.check {
        (on_root(&x)?, on_root(&m)?)
    } else {
        (None, None)
    };

    // The clock stops after the momentum: the steps are deferred and run when a value is needed.
    rt.barrier()?; // the set-up (random x and m, deferred) runs before the clock starts
    let t0 = std::time::Instant::now();
    for _ in 0..steps {
        step(&x, &v, &m)?;
    }
    let p = momentum(&v, &m)?;
    let secs = t0.elapsed().as_secs_f64();
    if rt.rank() == 0 {
        println!(
            "nbody: {n} bodies, {steps} steps on {} ranks in {secs:.3} s ({:.1} ms/step); |total momentum| {:.1e}",
            rt.nranks(),
            1e3 * secs / steps.max(1) as f64,
            p.iter().map(|c| c * c).sum::<f64>().sqrt()
        );
    }

    let (mut ok, mut report) = (true, String::new());
    if let ((Some(mut xr), Some(m0)), Some(xs), Some(vs)) = (start, on_root(&x)?, on_root(&v)?) {
        let mut vr = vec![0.0; 3 * n];
        reference(&mut xr, &mut vr, &m0, steps);
        let err = |got: &[f64], want: &[f64]| {
            got.iter()
                .zip(want)
                .map(|(g, w)| (g - w).abs() / (1.0 + w.abs()))
                .fold(0.0f64, f64::max)
        };
        let (ex, ev) = (err(&xs, &xr), err(&vs, &vr));
        ok = ex < 1e-12 && ev < 1e-12;
        report = format!("max relative difference to plain loops: positions {ex:.1e}, velocities {ev:.1e}");
    }
    conclude(&rt, &args, ok, &report)
}

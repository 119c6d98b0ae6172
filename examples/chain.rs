//! A fused chain: k = 8 element-wise operations on three arrays of N doubles, consumed by a
//! reduction. In NumPy:
//!
//! ```python
//! def chain(a, b, c):
//!     y = ((a + b) * c - a) / (b + 1.0) + 0.5 * a * c
//!     return float(y.sum())
//! ```
//!
//! Written with a temporary per operation, as the expression reads; the temporaries die at the
//! end of the block that makes `y`, before the sum. With deferred execution (the default) the
//! eight operations run as one fused pass at the sum and the seven temporaries are never
//! allocated: the peak memory is the three inputs and `y`. With `DISTARR_LAZY=0` every
//! operation runs at once into a new array. The application benchmark (`bench/apps/chain.py`,
//! `scripts/bench-apps.sh`) compares time and peak RSS with NumPy and numexpr.
//!
//! Run: `mpirun -n 2 target/release/examples/chain [N] [STEPS] [--check]` (default 2^25 doubles,
//! 3 evaluations); prints the time of the evaluations (each ends with the sum, a value) and the
//! mean of `y`. `--check` compares `y` on rank 0 with plain loops over the same inputs.
mod common;

use common::{conclude, Args};
use distarr::arrays::reduce::{reduce_all, ReduceOp};
use distarr::arrays::ufunc::{binary, BinaryOp, Operand};
use distarr::arrays::{DType, DistArray, Layout, Result, Scalar};
use distarr::runtime::Runtime;

/// `((a + b) * c - a) / (b + 1.0) + 0.5 * a * c`: eight operations. **Collective.**
fn chain(a: &DistArray, b: &DistArray, c: &DistArray) -> Result<DistArray> {
    use BinaryOp::*;
    use Operand::{Array, Scalar as S};
    let ab = binary(Add, Array(a), Array(b), None)?;
    let abc = binary(Multiply, Array(&ab), Array(c), None)?;
    let num = binary(Subtract, Array(&abc), Array(a), None)?;
    let den = binary(Add, Array(b), S(Scalar::F64(1.0)), None)?;
    let q = binary(Divide, Array(&num), Array(&den), None)?;
    let half_a = binary(Multiply, S(Scalar::F64(0.5)), Array(a), None)?;
    let r = binary(Multiply, Array(&half_a), Array(c), None)?;
    binary(Add, Array(&q), Array(&r), None)
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse("chain [N] [STEPS] [--check]", 1 << 25, 3);
    let (n, steps) = (args.size.max(1), args.steps.max(1));
    let rt = Runtime::init()?;
    let input = |seed| DistArray::random_uniform(&rt, &[n], seed, DType::F64, Layout::Block);
    let (a, b, c) = (input(1)?, input(2)?, input(3)?);
    rt.barrier()?; // the inputs are generated (deferred) before the clock starts
    let t0 = std::time::Instant::now();
    let mut total = 0.0;
    for _ in 0..steps {
        let y = chain(&a, &b, &c)?;
        total = match reduce_all(&y, ReduceOp::Sum)? {
            Scalar::F64(s) => s,
            other => unreachable!("the sum of float64 is float64, got {other:?}"),
        };
    }
    let secs = t0.elapsed().as_secs_f64();
    let lazy = distarr::arrays::is_lazy(&rt);
    if rt.rank() == 0 {
        println!(
            "chain: {n} doubles, 8 operations, {steps} evaluations on {} ranks (lazy {}) in {secs:.6} s; mean {:.12e}",
            rt.nranks(),
            if lazy { "on" } else { "off" },
            total / n as f64
        );
    }
    let (mut ok, mut report) = (true, String::new());
    if args.check {
        let y = chain(&a, &b, &c)?;
        let on_root = |x: &DistArray| -> Result<Option<Vec<f64>>> {
            Ok(x.gather::<f64>(0)?.map(|g| g.iter().copied().collect()))
        };
        if let (Some(a), Some(b), Some(c), Some(y)) = (on_root(&a)?, on_root(&b)?, on_root(&c)?, on_root(&y)?) {
            let err = (0..n)
                .map(|i| {
                    let want = ((a[i] + b[i]) * c[i] - a[i]) / (b[i] + 1.0) + 0.5 * a[i] * c[i];
                    (y[i] - want).abs()
                })
                .fold(0.0, f64::max);
            ok = err == 0.0;
            report = format!("max difference to plain loops {err:.1e}");
        }
    }
    conclude(&rt, &args, ok, &report)
}

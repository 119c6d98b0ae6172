//! `sum` of N doubles, reproducibly: the result is bit-identical at any rank count, layout and
//! thread count (fixed chunks summed in a fixed order, chunk sums added exactly). Prints the
//! time of the sum over an existing array, to compare with NumPy's `x.sum()`.
//!
//! Run: `mpirun -n 2 target/release/examples/sum [N] [REPS]` (default 10^8, 5 repetitions; the
//! best is printed).
mod common;

use common::{conclude, Args};
use distarr::arrays::reduce::{reduce_all, ReduceOp};
use distarr::arrays::{DType, DistArray, Layout, Scalar};
use distarr::runtime::Runtime;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse("sum [N] [REPS] [--check]", 100_000_000, 5);
    let (n, reps) = (args.size.max(1), args.steps.max(1));
    let rt = Runtime::init()?;
    let x = DistArray::random_uniform(&rt, &[n], 7, DType::F64, Layout::Block)?;
    let mut best = f64::INFINITY;
    let mut total = 0.0;
    for _ in 0..reps {
        rt.barrier()?;
        let t0 = std::time::Instant::now();
        let Scalar::F64(s) = reduce_all(&x, ReduceOp::Sum)? else {
            unreachable!("the sum of float64 is float64")
        };
        best = best.min(t0.elapsed().as_secs_f64());
        total = s;
    }
    if rt.rank() == 0 {
        println!(
            "sum: {n} doubles on {} ranks in {best:.6} s; sum {total:.12e}",
            rt.nranks()
        );
    }
    // The sum of n uniforms is within 5σ = 5·sqrt(n/12) of n/2.
    let ok = (total - n as f64 / 2.0).abs() < 5.0 * (n as f64 / 12.0).sqrt();
    conclude(&rt, &args, ok, &format!("sum {total} of {n} uniforms"))
}

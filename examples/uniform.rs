//! `random_uniform` of N doubles: a new array of uniform random numbers (Philox4x32-10, keyed by
//! seed and element index: the same values on any number of ranks), as NumPy's
//! `np.random.default_rng(seed).random(N)` makes one. Prints the time of the creation and the
//! mean (about 0.5).
//!
//! Run: `mpirun -n 2 target/release/examples/uniform [N]` (default 10^8).
mod common;

use common::{conclude, Args};
use distarr::arrays::reduce::{reduce_all, ReduceOp};
use distarr::arrays::{DType, DistArray, Layout, Scalar};
use distarr::runtime::Runtime;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse("uniform [N] [--check]", 100_000_000, 0);
    let n = args.size.max(1);
    let rt = Runtime::init()?;
    let t0 = std::time::Instant::now();
    let x = DistArray::random_uniform(&rt, &[n], 2024, DType::F64, Layout::Block)?;
    rt.barrier()?;
    let secs = t0.elapsed().as_secs_f64();
    let Scalar::F64(mean) = reduce_all(&x, ReduceOp::Mean)? else {
        unreachable!("the mean of float64 is float64")
    };
    if rt.rank() == 0 {
        println!(
            "uniform: {n} doubles on {} ranks in {secs:.6} s; mean {mean:.12e}",
            rt.nranks()
        );
    }
    // The mean of n uniforms is within 5σ = 5·sqrt(1/12/n) of 1/2.
    let ok = (mean - 0.5).abs() < 5.0 * (1.0 / 12.0 / n as f64).sqrt();
    conclude(&rt, &args, ok, &format!("mean {mean} of {n} uniforms"))
}

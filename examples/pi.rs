//! Monte Carlo estimate of π with distributed arrays.
//!
//! Throw `N` darts at the unit square: `x` and `y` are arrays of uniform random numbers, and the
//! fraction of darts with `x*x + y*y <= 1` approaches π/4. In NumPy:
//!
//! ```python
//! x, y = random.uniform(size=n), random.uniform(size=n)
//! pi = 4 * count_nonzero(x*x + y*y <= 1) / n
//! ```
//!
//! distarr's random numbers are keyed by (seed, element index), so the darts and the estimate
//! are the same on any number of ranks. Large runs go in batches of 2^20 darts (one seed pair
//! per batch) to bound memory.
//!
//! Run: `mpirun -n 4 target/release/examples/pi 10000000 [--check]`. `--check` recounts the
//! hits on rank 0 with plain loops over `rng::uniform_f64` (they must match exactly) and
//! requires |π̂ − π| < 5σ, σ = 4·sqrt(p(1−p)/N) with p = π/4.
mod common;

use common::{conclude, Args};
use distarr::arrays::reduce::{reduce_all, ReduceOp};
use distarr::arrays::ufunc::{binary, BinaryOp, Operand};
use distarr::arrays::{rng, DType, DistArray, Layout, Scalar};
use distarr::runtime::Runtime;
use std::f64::consts::PI;

/// Darts per batch.
const BATCH: usize = 1 << 20;

/// The random seeds of batch `b`'s x and y coordinates.
fn seeds(b: u64) -> (u64, u64) {
    (1000 + 2 * b, 1001 + 2 * b)
}

/// Counts the darts of one batch of `len` that land in the quarter circle. **Collective.**
fn hits_in_batch(rt: &Runtime, b: u64, len: usize) -> distarr::arrays::Result<u64> {
    use BinaryOp::*;
    use Operand::Array;
    let (sx, sy) = seeds(b);
    let x = DistArray::random_uniform(rt, &[len], sx, DType::F64, Layout::Block)?;
    let y = DistArray::random_uniform(rt, &[len], sy, DType::F64, Layout::Block)?;
    let xx = binary(Multiply, Array(&x), Array(&x), None)?;
    let yy = binary(Multiply, Array(&y), Array(&y), None)?;
    binary(Add, Array(&xx), Array(&yy), Some(&yy))?; // yy = x*x + y*y, in place
    let inside = binary(LessEqual, Array(&yy), Operand::Scalar(Scalar::F64(1.0)), None)?;
    match reduce_all(&inside, ReduceOp::Sum)? {
        Scalar::I64(count) => Ok(count as u64),
        other => unreachable!("the sum of a bool array is int64, got {other:?}"),
    }
}

/// The same count with plain loops, for `--check`.
fn hits_in_batch_locally(b: u64, len: usize) -> u64 {
    let (sx, sy) = seeds(b);
    (0..len as u64)
        .filter(|&i| {
            let (x, y) = (rng::uniform_f64(sx, i), rng::uniform_f64(sy, i));
            x * x + y * y <= 1.0
        })
        .count() as u64
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse("pi [DARTS] [--check]", 10_000_000, 0);
    let n = args.size.max(1);
    let rt = Runtime::init()?;
    let t0 = std::time::Instant::now();
    let batches: Vec<(u64, usize)> = (0..n.div_ceil(BATCH))
        .map(|b| (b as u64, BATCH.min(n - b * BATCH)))
        .collect();
    let mut hits = 0;
    for &(b, len) in &batches {
        hits += hits_in_batch(&rt, b, len)?;
    }
    let pi = 4.0 * hits as f64 / n as f64;
    let secs = t0.elapsed().as_secs_f64();
    if rt.rank() == 0 {
        println!(
            "pi ~= {pi:.8} (error {:.2e}) from {n} darts on {} ranks in {secs:.3} s",
            (pi - PI).abs(),
            rt.nranks()
        );
    }
    let (mut ok, mut report) = (true, String::new());
    if args.check && rt.rank() == 0 {
        let exact: u64 = batches.iter().map(|&(b, len)| hits_in_batch_locally(b, len)).sum();
        let p = PI / 4.0;
        let sigma = 4.0 * (p * (1.0 - p) / n as f64).sqrt();
        ok = hits == exact && (pi - PI).abs() < 5.0 * sigma;
        report = format!(
            "hits {hits} (plain loops: {exact}), |pi - π| = {:.2e} < 5σ = {:.2e}",
            (pi - PI).abs(),
            5.0 * sigma
        );
    }
    conclude(&rt, &args, ok, &report)
}

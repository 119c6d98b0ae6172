//! Heat diffusion on a 2-D grid: the 5-point stencil with sliced views.
//!
//! The grid's boundary is held fixed (a hot top edge at 1.0, a warm left edge at 0.5, the rest
//! at 0.0) and each step replaces every interior point by the average of itself and its four
//! neighbours. In NumPy:
//!
//! ```python
//! center = g[1:-1, 1:-1]
//! north, south = g[:-2, 1:-1], g[2:, 1:-1]
//! west, east = g[1:-1, :-2], g[1:-1, 2:]
//! for _ in range(steps):
//!     work = (center + north + south + west + east) * 0.2
//!     center[...] = work
//! ```
//!
//! The five views are made once: they keep referring to the grid's storage as it changes. The
//! neighbours' elements that sit on other ranks are fetched with one-sided gets.
//!
//! Run: `mpirun -n 4 target/release/examples/stencil [N] [STEPS] [--check]`. `--check` repeats
//! the steps on rank 0 with plain loops (same operations, same order) and compares.
mod common;

use common::{conclude, Args};
use distarr::arrays::reduce::{reduce_all, ReduceOp};
use distarr::arrays::ufunc::{binary, BinaryOp, Operand};
use distarr::arrays::{DType, DistArray, Layout, Result, Scalar, SliceItem};
use distarr::runtime::Runtime;

/// `start:stop` (negative bounds count from the end, `None` is open), as in `g[1:-1]`.
fn span(start: Option<isize>, stop: Option<isize>) -> SliceItem {
    SliceItem::Range { start, stop, step: 1 }
}

/// The grid with its fixed boundary values. **Collective.**
fn grid(rt: &Runtime, n: usize) -> Result<DistArray> {
    let g = DistArray::zeros(rt, &[n, n], DType::F64, Layout::Block)?;
    g.slice(&[SliceItem::Index(0), SliceItem::FULL])?
        .fill(Scalar::F64(1.0))?; // g[0, :] = 1
    g.slice(&[SliceItem::FULL, SliceItem::Index(0)])?
        .fill(Scalar::F64(0.5))?; // g[:, 0] = 0.5
    Ok(g)
}

/// `steps` stencil steps on `g`, in place. **Collective.**
fn run(g: &DistArray, steps: usize) -> Result<()> {
    use BinaryOp::*;
    use Operand::Array;
    let (inner, lo, hi) = (span(Some(1), Some(-1)), span(None, Some(-2)), span(Some(2), None));
    let center = g.slice(&[inner, inner])?;
    let north = g.slice(&[lo, inner])?;
    let south = g.slice(&[hi, inner])?;
    let west = g.slice(&[inner, lo])?;
    let east = g.slice(&[inner, hi])?;
    let work = DistArray::empty(g.runtime(), center.shape(), DType::F64, Layout::Block)?;
    for _ in 0..steps {
        binary(Add, Array(&center), Array(&north), Some(&work))?;
        for side in [&south, &west, &east] {
            binary(Add, Array(&work), Array(side), Some(&work))?;
        }
        binary(Multiply, Array(&work), Operand::Scalar(Scalar::F64(0.2)), Some(&work))?;
        center.copy_from(&work)?;
    }
    Ok(())
}

/// The same with plain loops on a row-major `n`×`n` buffer, for `--check`.
fn reference(n: usize, steps: usize) -> Vec<f64> {
    let mut g = vec![0.0; n * n];
    g[..n].fill(1.0);
    for i in 0..n {
        g[i * n] = 0.5;
    }
    for _ in 0..steps {
        let old = g.clone();
        for i in 1..n.saturating_sub(1) {
            for j in 1..n - 1 {
                let at = |r: usize, c: usize| old[r * n + c];
                g[i * n + j] = (at(i, j) + at(i - 1, j) + at(i + 1, j) + at(i, j - 1) + at(i, j + 1)) * 0.2;
            }
        }
    }
    g
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse("stencil [N] [STEPS] [--check]", 400, 50);
    let (n, steps) = (args.size.max(3), args.steps);
    let rt = Runtime::init()?;
    let g = grid(&rt, n)?;
    // The clock stops after the mean: the steps are deferred and run, fused, when a value is
    // needed (here the mean; `rt.barrier()` or `distarr::arrays::flush` would do too).
    let t0 = std::time::Instant::now();
    run(&g, steps)?;
    let heat = match reduce_all(&g, ReduceOp::Mean)? {
        Scalar::F64(v) => v,
        other => unreachable!("mean of float64 is float64, got {other:?}"),
    };
    let secs = t0.elapsed().as_secs_f64();
    if rt.rank() == 0 {
        println!(
            "stencil: {n}x{n} grid, {steps} steps on {} ranks in {secs:.3} s; mean temperature {heat:.12e}",
            rt.nranks()
        );
    }
    let (mut ok, mut report) = (true, String::new());
    if let Some(got) = g.gather::<f64>(0)?.filter(|_| args.check) {
        let want = reference(n, steps);
        let err = got.iter().zip(&want).map(|(p, q)| (p - q).abs()).fold(0.0, f64::max);
        ok = err < 1e-12;
        report = format!("max difference to plain loops {err:.1e}");
    }
    conclude(&rt, &args, ok, &report)
}

//! `distarr-bench dispatch`: the cost per operation of the sequential mode, next to SPMD.
//!
//! Both phases run in one job: the benchmark initialises MPI itself
//! (`Runtime::init_mpi`, so the runtimes it starts leave `MPI_Finalize` to it), then
//! 1. SPMD: `distarr_init_mode(SPMD)` on every rank; every rank runs the loops; rank 0's times
//!    are reported; `distarr_finalize`;
//! 2. sequential: `distarr_init_mode(SEQUENTIAL)`: the workers never return from it (they
//!    execute rank 0's commands, then finalise MPI and exit 0 when rank 0 calls
//!    `distarr_finalize`); rank 0 runs the same loops alone, then finalises MPI.
//!
//! Every operation is a collective of the C ABI on tiny data: what the sequential mode adds is
//! the command broadcast to the workers and their decoding.
use crate::capi::check;
use crate::{Cli, Via};
use distarr_c as c;
use distarr_runtime::{Config, Runtime};
use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

/// The operations, in the order measured.
const OPS: [&str; 8] = [
    "barrier",
    "sync",
    "gmem_alloc (8 B)",
    "gmem_free",
    "create (1 x f64)",
    "fill (1 x f64)",
    "free (array)",
    "binary add (1 x f64)",
];

/// Checks the options `dispatch` takes.
pub fn check_args(cli: &Cli) -> Result<(), String> {
    if cli.via == Via::Python {
        return Err("--via python: not available yet: the Python shim does not exist yet".into());
    }
    if cli.compare_mpi {
        return Err("dispatch has no raw-MPI column (it measures the C ABI's two execution modes)".into());
    }
    if cli.plot.is_some() {
        return Err("dispatch has no plot (one row per operation); use --json or --csv".into());
    }
    Ok(())
}

/// Records the time of one call in `acc` (when `timed`) and checks its status.
fn timed(acc: &mut Vec<Duration>, timed: bool, what: &str, call: impl FnOnce() -> i32) -> Result<(), String> {
    let t = Instant::now();
    let rc = call();
    if timed {
        acc.push(t.elapsed());
    }
    check(rc, what)
}

/// Mean and median of per-call times, in µs.
#[derive(Clone, Copy, Debug)]
struct Stat {
    mean: f64,
    median: f64,
}

fn stat(mut v: Vec<Duration>) -> Stat {
    v.sort_unstable();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let n = v.len().max(1);
    Stat {
        mean: v.iter().copied().map(us).sum::<f64>() / n as f64,
        median: v.get(v.len() / 2).copied().map_or(0.0, us),
    }
}

/// A 1-element f64 array.
fn create1() -> Result<c::distarr_array, String> {
    let shape = [1i64];
    let mut a = 0;
    // SAFETY: `shape` holds ndim = 1 extent; NULL block = block layout; `a` is writable.
    let rc = unsafe { c::distarr_create(1, shape.as_ptr(), c::DISTARR_DTYPE_F64, std::ptr::null(), &mut a) };
    check(rc, "distarr_create")?;
    Ok(a)
}

/// Runs every operation `warmup + iters` times; returns the statistics of each call's time.
/// Collective (in sequential mode: rank 0 alone, the workers follow its commands).
fn measure(iters: usize, warmup: usize) -> Result<Vec<Stat>, String> {
    let mut acc: Vec<Vec<Duration>> = (0..OPS.len()).map(|_| Vec::with_capacity(iters)).collect();
    let total = warmup + iters;
    check(c::distarr_barrier(), "distarr_barrier")?;
    for i in 0..total {
        timed(&mut acc[0], i >= warmup, "distarr_barrier", || c::distarr_barrier())?;
    }
    for i in 0..total {
        timed(&mut acc[1], i >= warmup, "distarr_sync", || c::distarr_sync())?;
    }
    for i in 0..total {
        let mut seg = 0u32;
        // SAFETY: `seg` is writable.
        timed(&mut acc[2], i >= warmup, "distarr_gmem_alloc", || unsafe {
            c::distarr_gmem_alloc(8, &mut seg)
        })?;
        timed(&mut acc[3], i >= warmup, "distarr_gmem_free", || {
            c::distarr_gmem_free(seg)
        })?;
    }
    let value = 1.5f64;
    for i in 0..total {
        let t = Instant::now();
        let a = create1()?;
        if i >= warmup {
            acc[4].push(t.elapsed());
        }
        // SAFETY: `value` is one readable f64, the array's dtype.
        timed(&mut acc[5], i >= warmup, "distarr_fill", || unsafe {
            c::distarr_fill(a, (&value as *const f64).cast())
        })?;
        timed(&mut acc[6], i >= warmup, "distarr_free", || c::distarr_free(a))?;
    }
    let (x, y, out) = (create1()?, create1()?, create1()?);
    for i in 0..total {
        timed(&mut acc[7], i >= warmup, "distarr_binary", || {
            c::distarr_binary(c::DISTARR_UFUNC_ADD, out, x, y)
        })?;
    }
    for a in [x, y, out] {
        check(c::distarr_free(a), "distarr_free")?;
    }
    Ok(acc.into_iter().map(stat).collect())
}

/// Starts the C ABI in `mode` (workers of the sequential mode do not return).
fn init(mode: i32) -> Result<(), String> {
    // SAFETY: NULL argc/argv are allowed (not dereferenced).
    check(
        unsafe { c::distarr_init_mode(std::ptr::null_mut(), std::ptr::null_mut(), mode) },
        "distarr_init_mode",
    )
}

/// The whole benchmark (see the module documentation).
pub fn run(cli: &Cli) -> AnyResult<ExitCode> {
    let iters = cli.iterations.unwrap_or(1000).max(1);
    let warmup = cli.warmup.unwrap_or(100);
    Runtime::init_mpi(&Config::from_env()?)?;
    init(c::DISTARR_MODE_SPMD)?;
    let rt = Runtime::current()?;
    let (rank, nranks) = (rt.rank(), rt.nranks());
    let mpi_version = rt.info().mpi_version;
    drop(rt);
    let spmd = measure(iters, warmup)?;
    check(c::distarr_finalize(), "distarr_finalize")?;
    // Sequential mode: from here on only rank 0 runs this code.
    init(c::DISTARR_MODE_SEQUENTIAL)?;
    let seq = match measure(iters, warmup) {
        Ok(v) => v,
        Err(e) => {
            // The workers wait for rank 0's next command: end the job instead of hanging.
            eprintln!("distarr-bench: dispatch (sequential mode): {e}");
            distarr_ffi::abort(1)
        }
    };
    check(c::distarr_finalize(), "distarr_finalize")?;
    distarr_ffi::finalize()?;
    if rank != 0 {
        return Ok(ExitCode::SUCCESS);
    }
    let mut text = format!(
        "# distarr dispatch ({nranks} ranks): us per collective operation through the C ABI, as rank 0 sees it\n\
         # SPMD: every rank runs the loop; sequential: only rank 0 does, the other ranks execute its commands\n\
         # {iters} timed calls per operation after {warmup} untimed; median of the per-call times (mean in parentheses)\n"
    );
    let _ = writeln!(
        text,
        "{:<28}{:>20}{:>20}{:>20}",
        "# Operation", "SPMD (us)", "Sequential (us)", "Seq - SPMD (us)"
    );
    let both = |s: Stat| format!("{:.2} ({:.2})", s.median, s.mean);
    for (k, name) in OPS.iter().enumerate() {
        let _ = writeln!(
            text,
            "{name:<28}{:>20}{:>20}{:>20.2}",
            both(spmd[k]),
            both(seq[k]),
            seq[k].median - spmd[k].median
        );
    }
    print!("{text}");
    if let Some(p) = &cli.json {
        let mut o = String::from("{\n  \"test\": \"dispatch\",\n  \"via\": \"c\",\n");
        let _ = writeln!(o, "  \"nranks\": {nranks},");
        let _ = writeln!(o, "  \"iterations\": {iters},");
        let _ = writeln!(
            o,
            "  \"mpi_version\": \"{}\",",
            mpi_version.lines().next().unwrap_or("").trim().replace(['"', '\\'], "")
        );
        o.push_str("  \"unit\": \"us\",\n  \"statistic\": \"median per call (and mean)\",\n  \"rows\": [\n");
        for (k, name) in OPS.iter().enumerate() {
            let _ = write!(
                o,
                "    {{\"op\": \"{name}\", \"spmd\": {:.4}, \"sequential\": {:.4}, \"spmd_mean\": {:.4}, \"sequential_mean\": {:.4}}}",
                spmd[k].median, seq[k].median, spmd[k].mean, seq[k].mean
            );
            o.push_str(if k + 1 < OPS.len() { ",\n" } else { "\n" });
        }
        o.push_str("  ]\n}\n");
        std::fs::write(p, o).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    if let Some(p) = &cli.csv {
        let mut o = String::from("op,spmd_median_us,sequential_median_us,spmd_mean_us,sequential_mean_us\n");
        for (k, name) in OPS.iter().enumerate() {
            let _ = writeln!(
                o,
                "{name},{:.4},{:.4},{:.4},{:.4}",
                spmd[k].median, seq[k].median, spmd[k].mean, seq[k].mean
            );
        }
        std::fs::write(p, o).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

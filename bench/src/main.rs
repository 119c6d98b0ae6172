//! `distarr-bench`: RMA microbenchmarks comparable line for line with the OSU one-sided
//! benchmarks (OSU 7.x `osu_get_latency` … `osu_cas_latency`), measured through distarr's
//! runtime and, with `--compare-mpi`, through raw MPI calls on a window of the same kind with
//! the same synchronisation, in the same process and run.
//!
//! Run on exactly 2 ranks: `mpirun -n 2 distarr-bench get_latency --compare-mpi`. Rank 0 is the
//! origin, rank 1 the target. Only rank 0 prints; progress for large sizes goes to stderr.
//! `--via c` measures through the C ABI (and the Rust layer beside it, same runtime);
//! `distarr-bench dispatch` (any rank count) measures the sequential mode's cost per operation.
mod capi;
mod dispatch;
mod dist;
mod raw;
mod report;

use clap::{Parser, ValueEnum};
use distarr_ffi::Comm;
use distarr_runtime::{CommSource, Config, Runtime, WindowKind};
use std::path::PathBuf;
use std::process::ExitCode;

/// OSU's `LARGE_MESSAGE_SIZE`: above it the large-message iteration counts apply.
const LARGE_MESSAGE_SIZE: usize = 8192;
/// OSU's `WINDOW_SIZE_LARGE`: operations per synchronisation in the bandwidth tests.
const WINDOW_SIZE: usize = 64;
/// OSU's one-sided default `max_message_size` (4 MiB).
const MAX_SIZE: usize = 1 << 22;

/// The benchmarks, named like OSU's binaries without the `osu_` prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Test {
    /// MPI_Get latency (osu_get_latency)
    GetLatency,
    /// MPI_Put latency (osu_put_latency)
    PutLatency,
    /// MPI_Get bandwidth, 64 gets per synchronisation (osu_get_bw)
    GetBw,
    /// MPI_Put bandwidth, 64 puts per synchronisation (osu_put_bw)
    PutBw,
    /// MPI_Put bi-directional bandwidth (osu_put_bibw; fence or pscw)
    PutBibw,
    /// MPI_Accumulate latency, MPI_SUM on bytes (osu_acc_latency)
    AccLatency,
    /// MPI_Get_accumulate latency, MPI_SUM on bytes (osu_get_acc_latency)
    GetAccLatency,
    /// MPI_Fetch_and_op latency, MPI_SUM on one 8-byte integer (osu_fop_latency)
    FopLatency,
    /// MPI_Compare_and_swap latency on one 8-byte integer (osu_cas_latency)
    CasLatency,
    /// Cost per collective operation through the C ABI, sequential mode vs SPMD (any rank count)
    Dispatch,
}

/// Window kinds (`DISTARR_WINDOW` for the runtime; the same kind for the raw-MPI column).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum WindowArg {
    /// MPI_Win_allocate
    Allocate,
    /// MPI_Win_create over an anonymous memory map
    Create,
    /// MPI_Win_create_dynamic + MPI_Win_attach
    Dynamic,
    /// MPI_Win_allocate_shared (distarr: node-local loads/stores)
    Shared,
}

/// OSU's synchronisation options.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Sync {
    /// MPI_Win_lock once, MPI_Win_flush after each operation (window of operations)
    Flush,
    /// as flush, with MPI_Win_flush_local
    FlushLocal,
    /// MPI_Win_lock / MPI_Win_unlock around each operation
    Lock,
    /// MPI_Win_lock_all / MPI_Win_unlock_all around each operation
    LockAll,
    /// MPI_Win_fence (both ranks)
    Fence,
    /// MPI_Win_post / start / complete / wait
    Pscw,
}

/// Which layer the distarr column measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Via {
    /// distarr_runtime::Runtime called from Rust
    Rust,
    /// the C ABI (libdistarr's extern "C" functions), with the Rust layer measured beside it
    C,
    /// the Python shim: not available yet
    Python,
}

fn parse_size(s: &str) -> Result<usize, String> {
    distarr_runtime::parse_bytes(s)
        .and_then(|b| usize::try_from(b).ok())
        .filter(|&b| b > 0)
        .ok_or_else(|| format!("{s:?} is not a size in bytes (like 8, 64K, 4M)"))
}

/// RMA microbenchmarks comparable line for line with the OSU one-sided benchmarks.
/// Run on 2 ranks: `mpirun -n 2 distarr-bench get_latency --compare-mpi`.
#[derive(Debug, Parser)]
#[command(name = "distarr-bench", version)]
pub struct Cli {
    /// Benchmark to run.
    #[arg(value_enum)]
    pub test: Test,
    /// Window kind, for the runtime's heap and the raw-MPI column alike.
    #[arg(long, value_enum, default_value_t = WindowArg::Allocate)]
    pub window: WindowArg,
    /// Synchronisation (OSU's -s). Default: flush (pscw for put_bibw, like OSU).
    #[arg(long, value_enum)]
    pub sync: Option<Sync>,
    /// Smallest message size in bytes (default 1; suffixes K, M).
    #[arg(long, value_parser = parse_size)]
    pub min_size: Option<usize>,
    /// Largest message size in bytes (default 4M).
    #[arg(long, value_parser = parse_size)]
    pub max_size: Option<usize>,
    /// Also measure raw MPI calls (same window kind and sync) and print `MPI` and `ratio` columns.
    #[arg(long)]
    pub compare_mpi: bool,
    /// Layer measured in the distarr column.
    #[arg(long, value_enum, default_value_t = Via::Rust)]
    pub via: Via,
    /// Timed iterations per size for all sizes (default: OSU's 10,000 / 1,000 above 8 KiB for
    /// latency, 100 / 20 for bandwidth).
    #[arg(long)]
    pub iterations: Option<usize>,
    /// Untimed warm-up iterations per size (default: OSU's 100 / 10 for latency, 10 / 2 for bandwidth).
    #[arg(long)]
    pub warmup: Option<usize>,
    /// Write the results as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the results as CSV.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Plot latency or bandwidth against size (log axes) to a PNG file.
    #[arg(long, value_name = "FILE.png")]
    pub plot: Option<PathBuf>,
}

/// What one iteration issues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Get,
    Put,
    PutBi,
    Acc,
    GetAcc,
    Fop,
    Cas,
}

impl Kind {
    fn of(t: Test) -> Option<Kind> {
        Some(match t {
            Test::GetLatency | Test::GetBw => Kind::Get,
            Test::PutLatency | Test::PutBw => Kind::Put,
            Test::PutBibw => Kind::PutBi,
            Test::AccLatency => Kind::Acc,
            Test::GetAccLatency => Kind::GetAcc,
            Test::FopLatency => Kind::Fop,
            Test::CasLatency => Kind::Cas,
            Test::Dispatch => return None,
        })
    }
}

/// One size's loop parameters.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub size: usize,
    /// Operations per synchronisation (1 for latency, 64 for bandwidth).
    pub nops: usize,
    pub iters: usize,
    pub skip: usize,
}

/// Everything a run needs, checked before MPI starts.
#[derive(Debug)]
pub struct Setup {
    pub cli: Cli,
    pub kind: Kind,
    pub sync: Sync,
    pub bw: bool,
    pub sizes: Vec<usize>,
}

impl Setup {
    pub fn plan(&self, size: usize) -> Plan {
        let large = size > LARGE_MESSAGE_SIZE;
        let (iters, skip) = match (self.bw, large) {
            (false, false) => (10_000, 100),
            (false, true) => (1_000, 10),
            (true, false) => (100, 10),
            (true, true) => (20, 2),
        };
        Plan {
            size,
            nops: if self.bw { WINDOW_SIZE } else { 1 },
            iters: self.cli.iterations.unwrap_or(iters).max(1),
            skip: self.cli.warmup.unwrap_or(skip),
        }
    }

    /// OSU halves the time of its fence/pscw latency loops (two operations per round trip).
    fn halved(&self) -> bool {
        !self.bw && matches!(self.sync, Sync::Fence | Sync::Pscw)
    }

    /// The number printed for `secs` of timed loop: latency (us) or bandwidth (MB/s).
    pub fn value(&self, p: &Plan, secs: f64) -> f64 {
        if self.bw {
            let mb = p.size as f64 / 1e6 * p.iters as f64 * p.nops as f64;
            let factor = if self.kind == Kind::PutBi { 2.0 } else { 1.0 };
            mb / secs * factor
        } else {
            secs * 1e6 / p.iters as f64 / if self.halved() { 2.0 } else { 1.0 }
        }
    }
}

/// Checks the arguments; the error is the message to print (exit code 2).
pub fn setup(cli: Cli) -> Result<Setup, String> {
    if cli.via == Via::Python {
        return Err("--via python: not available yet: the Python shim does not exist yet".into());
    }
    let kind = Kind::of(cli.test)
        .ok_or_else(|| "dispatch has no message sizes: `main` runs it through `dispatch::run`".to_string())?;
    let bw = matches!(cli.test, Test::GetBw | Test::PutBw | Test::PutBibw);
    let sync = cli
        .sync
        .unwrap_or(if kind == Kind::PutBi { Sync::Pscw } else { Sync::Flush });
    if kind == Kind::PutBi && !matches!(sync, Sync::Fence | Sync::Pscw) {
        return Err(format!(
            "put_bibw supports --sync fence or pscw (like osu_put_bibw), not {}",
            sync_name(sync)
        ));
    }
    let sizes = if matches!(kind, Kind::Fop | Kind::Cas) {
        // OSU 7.x: one 8-byte element, one row.
        vec![8]
    } else {
        let min = cli.min_size.unwrap_or(1);
        let max = cli.max_size.unwrap_or(MAX_SIZE);
        if min > max {
            return Err(format!("--min-size {min} is larger than --max-size {max}"));
        }
        let nops = if bw { WINDOW_SIZE } else { 1 };
        if !matches!(max.checked_mul(nops), Some(b) if b <= 1 << 31) {
            return Err(format!("--max-size {max}: more than 2 GiB per window"));
        }
        std::iter::successors(Some(min), |&s| s.checked_mul(2))
            .take_while(|&s| s <= max)
            .collect()
    };
    Ok(Setup {
        cli,
        kind,
        sync,
        bw,
        sizes,
    })
}

pub fn window_name(w: WindowArg) -> &'static str {
    match w {
        WindowArg::Allocate => "allocate",
        WindowArg::Create => "create",
        WindowArg::Dynamic => "dynamic",
        WindowArg::Shared => "shared",
    }
}

pub fn sync_name(s: Sync) -> &'static str {
    match s {
        Sync::Flush => "flush",
        Sync::FlushLocal => "flush_local",
        Sync::Lock => "lock",
        Sync::LockAll => "lock_all",
        Sync::Fence => "fence",
        Sync::Pscw => "pscw",
    }
}

pub fn via_name(v: Via) -> &'static str {
    match v {
        Via::Rust => "rust",
        Via::C => "c",
        Via::Python => "python",
    }
}

pub fn test_name(t: Test) -> &'static str {
    match t {
        Test::GetLatency => "get_latency",
        Test::PutLatency => "put_latency",
        Test::GetBw => "get_bw",
        Test::PutBw => "put_bw",
        Test::PutBibw => "put_bibw",
        Test::AccLatency => "acc_latency",
        Test::GetAccLatency => "get_acc_latency",
        Test::FopLatency => "fop_latency",
        Test::CasLatency => "cas_latency",
        Test::Dispatch => "dispatch",
    }
}

/// This process's rank as the launcher tells it (before MPI is initialised), for printing
/// argument errors once.
fn launcher_rank() -> usize {
    ["OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"]
        .iter()
        .find_map(|v| std::env::var(v).ok()?.trim().parse().ok())
        .unwrap_or(0)
}

fn main() -> ExitCode {
    let first = launcher_rank() == 0;
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            if first {
                let _ = e.print();
            }
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    if cli.test == Test::Dispatch {
        if let Err(msg) = dispatch::check_args(&cli) {
            if first {
                eprintln!("distarr-bench: {msg}");
            }
            return ExitCode::from(2);
        }
        return match dispatch::run(&cli) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("distarr-bench: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let setup = match setup(cli) {
        Ok(s) => s,
        Err(msg) => {
            if first {
                eprintln!("distarr-bench: {msg}");
            }
            return ExitCode::from(2);
        }
    };
    match run(&setup) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("distarr-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

fn run(s: &Setup) -> AnyResult<ExitCode> {
    let mut config = Config::from_env()?;
    config.window = match s.cli.window {
        WindowArg::Allocate => WindowKind::Allocate,
        WindowArg::Create => WindowKind::Create,
        WindowArg::Dynamic => WindowKind::Dynamic,
        WindowArg::Shared => WindowKind::Shared,
    };
    let need = s.sizes.last().copied().unwrap_or(8) * s.plan(1).nops;
    if std::env::var_os("DISTARR_HEAP_SEGMENT").is_none() {
        // One heap window serves every size: a grown heap would flush several windows.
        config.segment_bytes = config.segment_bytes.max(need as u64);
    }
    let via_c = s.cli.via == Via::C;
    // With `--via c` the C ABI starts the runtime (from the environment, like a C program's
    // `distarr_init`) and the Rust column uses that same runtime (`Runtime::current`): one
    // runtime, one heap, no second initialisation on the same MPI.
    let rt = if via_c {
        std::env::set_var("DISTARR_WINDOW", window_name(s.cli.window));
        std::env::set_var("DISTARR_HEAP_SEGMENT", config.segment_bytes.to_string());
        // SAFETY: NULL argc/argv are allowed (they are not dereferenced).
        let rc = unsafe {
            distarr_c::distarr_init_mode(std::ptr::null_mut(), std::ptr::null_mut(), distarr_c::DISTARR_MODE_SPMD)
        };
        capi::check(rc, "distarr_init_mode")?;
        Runtime::current()?
    } else {
        Runtime::init_with(config, CommSource::World)?
    };
    let finalize = |rt: &Runtime| -> AnyResult<()> {
        if via_c {
            capi::check(distarr_c::distarr_finalize(), "distarr_finalize")?;
        } else {
            rt.finalize()?;
        }
        Ok(())
    };
    let rank = rt.rank();
    if rt.nranks() != 2 {
        if rank == 0 {
            eprintln!(
                "distarr-bench: this test requires exactly two processes (rank 0 origin, rank 1 target), not {}",
                rt.nranks()
            );
        }
        finalize(&rt)?;
        return Ok(ExitCode::FAILURE);
    }
    let world = Comm::world();
    let node = world.split_shared(rank)?;
    let info = rt.info();
    let (dist_note, rust_note) = if via_c {
        (capi::unsupported(s.kind, s.sync), dist::unsupported(s.kind, s.sync))
    } else {
        (dist::unsupported(s.kind, s.sync), None)
    };
    let mut results = report::Results::new(s, &info.mpi_version, dist_note, rust_note);
    if rank == 0 {
        print!("{}", results.header());
    }
    let mut dbufs = dist::Bufs::new(need);
    let mut cbufs = capi::Bufs::new(if via_c { need } else { 0 });
    let mut rbufs = raw::Bufs::new(need);
    for &size in &s.sizes {
        let plan = s.plan(size);
        if rank == 0 && size >= 1 << 16 {
            eprintln!("[distarr-bench] {} size {size} ...", test_name(s.cli.test));
        }
        let bytes = (size * plan.nops).max(64);
        let (mut d, mut rust) = (None, None);
        if dist_note.is_none() || (via_c && rust_note.is_none()) {
            let seg = rt.alloc(bytes as u64)?;
            if via_c && dist_note.is_none() {
                let secs = capi::run(rank, s.kind, s.sync, &plan, seg.raw(), &mut cbufs)?;
                d = Some(s.value(&plan, secs));
            }
            if (via_c && rust_note.is_none()) || (!via_c && dist_note.is_none()) {
                let secs = dist::run(&rt, s.kind, s.sync, &plan, seg, &mut dbufs)?;
                let v = Some(s.value(&plan, secs));
                if via_c {
                    rust = v;
                } else {
                    d = v;
                }
            }
            rt.free(seg)?;
        }
        let m = if s.cli.compare_mpi {
            let w = raw::RawWin::new(s.cli.window, bytes, &world, &node)?;
            let secs = raw::run(&w, s.kind, s.sync, &plan, &world, &mut rbufs)?;
            w.free()?;
            Some(s.value(&plan, secs))
        } else {
            None
        };
        if rank == 0 {
            println!("{}", results.push(size, d, m, rust));
        }
    }
    if rank == 0 {
        if let Some(p) = &s.cli.json {
            std::fs::write(p, results.json()).map_err(|e| format!("{}: {e}", p.display()))?;
        }
        if let Some(p) = &s.cli.csv {
            std::fs::write(p, results.csv()).map_err(|e| format!("{}: {e}", p.display()))?;
        }
        if let Some(p) = &s.cli.plot {
            report::plot(&results, p)?;
        }
    }
    node.free()?;
    finalize(&rt)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Setup, String> {
        let cli = Cli::try_parse_from(std::iter::once("distarr-bench").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        setup(cli)
    }

    #[test]
    fn osu_sizes_and_counts() {
        let s = parse(&["get_latency"]).unwrap();
        assert_eq!(s.sizes.len(), 23);
        assert_eq!((s.sizes[0], *s.sizes.last().unwrap()), (1, 4 << 20));
        let p = s.plan(8192);
        assert_eq!((p.iters, p.skip, p.nops), (10_000, 100, 1));
        let p = s.plan(16384);
        assert_eq!((p.iters, p.skip), (1_000, 10));
        let s = parse(&["put_bw", "--min-size", "1M", "--max-size", "1M"]).unwrap();
        assert_eq!(s.sizes, vec![1 << 20]);
        assert_eq!((s.plan(1 << 20).iters, s.plan(1 << 20).nops), (20, 64));
        assert_eq!(parse(&["cas_latency"]).unwrap().sizes, vec![8]);
        assert_eq!(parse(&["put_bibw"]).unwrap().sync, Sync::Pscw);
    }

    #[test]
    fn unavailable_options_say_so() {
        assert_eq!(parse(&["get_latency", "--via", "c"]).unwrap().cli.via, Via::C);
        assert!(parse(&["get_latency", "--via", "python"])
            .unwrap_err()
            .contains("not exist yet"));
        assert!(parse(&["dispatch"]).unwrap_err().contains("dispatch"));
        assert!(parse(&["put_bibw", "--sync", "flush"]).is_err());
        assert!(parse(&["get_latency", "--min-size", "8", "--max-size", "4"]).is_err());
    }

    #[test]
    fn values() {
        let s = parse(&["get_latency", "--sync", "fence"]).unwrap();
        let p = s.plan(8);
        assert!((s.value(&p, 0.02) - 1.0).abs() < 1e-9, "halved for fence");
        let s = parse(&["put_bw"]).unwrap();
        let p = s.plan(1 << 20);
        let mb = (1 << 20) as f64 / 1e6 * 20.0 * 64.0;
        assert!((s.value(&p, 1.0) - mb).abs() < 1e-6);
    }
}

//! Multi-rank tests: runs the test programs of `tests/programs` (package `distarr-mpitests`)
//! under `mpirun` at several rank counts.
//!
//! # Conventions for a test program (`tests/programs/src/bin/NAME.rs`)
//! - It is run as `mpirun -n N NAME` for each rank count its test lists, with no arguments; the
//!   per-test environment variables are set for every rank.
//! - On success every rank exits 0 and, as its last output, prints exactly one line
//!   `distarr-test: ok rank=R` (R = its rank in `MPI_COMM_WORLD`) to stdout. The harness requires
//!   that line once for each rank 0..N: a rank that never gets there (a hang, a lost rank, an
//!   early `exit(0)`) fails the test.
//! - On failure it panics or exits non-zero on any rank.
//!
//! # How it runs
//! - The programs are built once per test process with `cargo build --release -p
//!   distarr-mpitests --bins`, into `$CARGO_TARGET_DIR` (default `<workspace>/target`), against
//!   the MPI that `MPICC` names (default `mpicc`, Open MPI here).
//! - Each run is `timeout --signal=TERM --kill-after=10 SECS ${DISTARR_MPIRUN:-mpirun} -n N
//!   PROG` with SECS = `DISTARR_TEST_TIMEOUT` (default 180). A deadlock is a failure, never a
//!   hang. Open MPI's run-as-root and oversubscribe variables are set for the child (see
//!   `scripts/mpi-env.sh`; MPICH ignores them).
//! - Only one `mpirun` runs at a time (the machines have 2 cores; cargo runs tests on threads).
//! - Combined stdout+stderr of every run is kept in `<target>/multirank-logs/PROG[-VAR=value...]-nN.log`.
//!
//! Add a test with `mpi_test!(name, "program", [rank counts], [("VAR", "value"), ...]);`.
//! Name tests of runtime programs `rt_*`: `scripts/test.sh` runs those on MPICH too.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The line each rank prints when it reaches the end of a test program, followed by its rank.
const OK_MARKER: &str = "distarr-test: ok rank=";

/// How many lines of output a failure report shows.
const TAIL_LINES: usize = 200;

/// The result of building the test programs: the directory holding the binaries, or the error.
static BUILD: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// Serialises the `mpirun` invocations.
static MPIRUN: Mutex<()> = Mutex::new(());

fn workspace_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The cargo target directory: `$CARGO_TARGET_DIR` (relative to the workspace) or `target`.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => workspace_dir().join(dir),
        _ => workspace_dir().join("target"),
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    let mut out = String::new();
    if start > 0 {
        out.push_str(&format!("[... {start} earlier lines omitted ...]\n"));
    }
    for line in &all[start..] {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Builds the test programs (once per process) and returns the directory of the binaries.
fn programs_dir() -> &'static Path {
    let built = BUILD.get_or_init(|| {
        let target = target_dir();
        let output = Command::new(env!("CARGO"))
            .args(["build", "--release", "-p", "distarr-mpitests", "--bins"])
            .current_dir(workspace_dir())
            .env("CARGO_TARGET_DIR", &target)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run cargo ({}): {e}", env!("CARGO")))?;
        if output.status.success() {
            Ok(target.join("release"))
        } else {
            Err(format!(
                "`cargo build --release -p distarr-mpitests --bins` failed ({}):\n{}",
                output.status,
                tail(&String::from_utf8_lossy(&output.stderr), TAIL_LINES)
            ))
        }
    });
    match built {
        Ok(dir) => dir,
        Err(e) => panic!("building the multi-rank test programs failed: {e}"),
    }
}

fn timeout_secs() -> u64 {
    match std::env::var("DISTARR_TEST_TIMEOUT") {
        Ok(s) => s
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("DISTARR_TEST_TIMEOUT={s:?} is not a number of seconds")),
        Err(_) => 180,
    }
}

/// Checks that `output` holds `distarr-test: ok rank=R` exactly once for each R in 0..ranks and
/// for no other R; returns a description of what is wrong.
fn check_ok_lines(output: &str, ranks: usize) -> Result<(), String> {
    let mut seen = vec![0usize; ranks];
    let mut problems = Vec::new();
    for line in output.lines() {
        let mut rest = line;
        while let Some(at) = rest.find(OK_MARKER) {
            rest = &rest[at + OK_MARKER.len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            match digits.parse::<usize>() {
                Ok(r) if r < ranks => seen[r] += 1,
                _ => problems.push(format!("unexpected marker line {line:?}")),
            }
        }
    }
    for (r, &count) in seen.iter().enumerate() {
        match count {
            1 => {}
            0 => problems.push(format!("rank {r} never printed `{OK_MARKER}{r}`")),
            n => problems.push(format!("rank {r} printed `{OK_MARKER}{r}` {n} times")),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// Runs test program `prog` on each rank count in `ranks` with the extra environment `env`;
/// panics with a report (and the end of the output) on the first failing run.
fn run(prog: &str, ranks: &[usize], env: &[(&str, &str)]) {
    let bin = programs_dir().join(prog);
    assert!(
        bin.is_file(),
        "test program `{prog}` not found at {} (is tests/programs/src/bin/{prog}.rs written?)",
        bin.display()
    );
    let secs = timeout_secs();
    let mpirun = std::env::var("DISTARR_MPIRUN").unwrap_or_else(|_| "mpirun".to_string());
    let log_dir = target_dir().join("multirank-logs");
    std::fs::create_dir_all(&log_dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", log_dir.display()));
    let env_desc: String = env.iter().map(|(k, v)| format!("{k}={v} ")).collect();

    // Log file names carry the environment so that tests running one program differ.
    let env_tag: String = env
        .iter()
        .map(|(k, v)| format!("-{k}={v}"))
        .collect::<String>()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_=.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();

    for &n in ranks {
        let log_path = log_dir.join(format!("{prog}{env_tag}-n{n}.log"));
        let mut cmd = Command::new("timeout");
        cmd.args(["--signal=TERM", "--kill-after=10", &secs.to_string()])
            .arg(&mpirun)
            .arg("-n")
            .arg(n.to_string())
            .arg(&bin)
            .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
            .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
            .env("OMPI_MCA_rmaps_base_oversubscribe", "1")
            .envs(env.iter().copied())
            .stdin(Stdio::null());

        let (status, elapsed) = {
            let _guard = MPIRUN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let log = File::create(&log_path).unwrap_or_else(|e| panic!("cannot create {}: {e}", log_path.display()));
            let log_err = log
                .try_clone()
                .unwrap_or_else(|e| panic!("cannot clone log handle: {e}"));
            cmd.stdout(Stdio::from(log)).stderr(Stdio::from(log_err));
            let start = Instant::now();
            let status = cmd
                .status()
                .unwrap_or_else(|e| panic!("cannot run `timeout {mpirun}`: {e}"));
            (status, start.elapsed())
        };
        let output = std::fs::read(&log_path)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_else(|e| format!("(cannot read {}: {e})", log_path.display()));

        let what = format!("`{env_desc}{mpirun} -n {n} {prog}`");
        let code = status.code();
        let timed_out =
            matches!(code, Some(124) | Some(137)) && elapsed + Duration::from_secs(1) >= Duration::from_secs(secs);
        let failure = if timed_out {
            Some(format!("deadlock or hang: killed after {secs}s ({status})"))
        } else if !status.success() {
            Some(format!("exited with {status}"))
        } else {
            check_ok_lines(&output, n).err()
        };
        if let Some(reason) = failure {
            panic!(
                "{what} failed at {n} rank(s): {reason}\n\
                 full log: {}\n\
                 --- output (stdout+stderr) ---\n{}--- end of output ---",
                log_path.display(),
                tail(&output, TAIL_LINES)
            );
        }
        eprintln!("multirank: {what} ok in {:.2}s", elapsed.as_secs_f64());
    }
}

/// `mpi_test!(name, "program", [rank counts], [("VAR", "value"), ...])` defines a `#[test]` that
/// runs `program` at each rank count with the given environment (the last list is optional).
macro_rules! mpi_test {
    ($name:ident, $prog:expr, [$($n:expr),+ $(,)?] $(,)?) => {
        mpi_test!($name, $prog, [$($n),+], []);
    };
    ($name:ident, $prog:expr, [$($n:expr),+ $(,)?], [$(($k:expr, $v:expr)),* $(,)?] $(,)?) => {
        #[test]
        fn $name() {
            run($prog, &[$($n),+], &[$(($k, $v)),*]);
        }
    };
}

// --- runtime (names start with `rt_`: also run on MPICH by scripts/test.sh) ------------------
mpi_test!(rt_ops, "rt_ops", [1, 2, 3, 4]);
mpi_test!(
    rt_ops_allocate_window,
    "rt_ops",
    [1, 2, 3, 4],
    [("DISTARR_WINDOW", "allocate")]
);
mpi_test!(
    rt_ops_create_window,
    "rt_ops",
    [1, 2, 3, 4],
    [("DISTARR_WINDOW", "create")]
);
mpi_test!(
    rt_ops_dynamic_window,
    "rt_ops",
    [1, 2, 3, 4],
    [("DISTARR_WINDOW", "dynamic")]
);
mpi_test!(
    rt_ops_no_fastpath,
    "rt_ops",
    [1, 2, 3, 4],
    [("DISTARR_SHM_FASTPATH", "0")]
);
mpi_test!(rt_stress, "rt_stress", [1, 2, 3, 4]);
mpi_test!(rt_errors, "rt_errors", [1, 2, 3, 4]);
mpi_test!(rt_progress, "rt_progress", [2, 3]);
mpi_test!(rt_large, "rt_large", [1, 2], [("DISTARR_TEST_LARGE", "1")]);

// --- distributed arrays (OpenMPI) ----------------------------------------------------------
mpi_test!(arr_diff, "arr_diff", [1, 2, 3, 4]);
mpi_test!(
    arr_diff_no_fastpath,
    "arr_diff",
    [2, 3],
    [("DISTARR_SHM_FASTPATH", "0")]
);
mpi_test!(
    arr_diff_allocate_window,
    "arr_diff",
    [3, 4],
    [("DISTARR_WINDOW", "allocate")]
);

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
//!
//! C and Fortran programs (`c-api/tests/*.c`, `*.f90`) follow the same conventions; they are
//! built against `libdistarr` through `pkg-config distarr` (see [`c_programs_dir`]) and added
//! with `mpi_c_test!` (same arguments).
//! Name tests of runtime programs `rt_*`: `scripts/test.sh` runs those on MPICH too.
//!
//! The examples of the root package (`examples/*.rs`, built with `cargo build --release -p
//! distarr --examples`) follow the same conventions when given `--check`; add one with
//! `mpi_example!(name, "example", [rank counts], ["arg", ...]);` (the arguments are passed to
//! every rank).

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

/// The result of building libdistarr and the C/Fortran test programs of `c-api/tests`.
static C_BUILD: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// Runs a build command; an error carries the command and the end of its output.
fn build_step(cmd: &mut Command) -> Result<(), String> {
    let desc = format!("{cmd:?}");
    let output = cmd
        .current_dir(workspace_dir())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {desc}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{desc} failed ({}):\n{}{}",
            output.status,
            tail(&String::from_utf8_lossy(&output.stdout), TAIL_LINES),
            tail(&String::from_utf8_lossy(&output.stderr), TAIL_LINES)
        ))
    }
}

/// Builds `libdistarr` (`cargo build --release -p distarr-capi`), writes its pkg-config file
/// (`scripts/distarr-pc.sh`), and compiles each `*.c` of `c-api/tests/` and `examples/c/` with
/// `${MPICC:-mpicc}` via `pkg-config distarr` (plus `-lm`) and each `*.f90` of `c-api/tests/`
/// and `examples/fortran/` with `${MPIF90:-mpif90}` and the `distarr_f` module, into
/// `<target>/release/c-tests/` (program names must be unique across these directories). Once
/// per test process.
fn c_programs_dir() -> &'static Path {
    let built = C_BUILD.get_or_init(|| {
        let target = target_dir();
        let release = target.join("release");
        let out = release.join("c-tests");
        build_step(
            Command::new(env!("CARGO"))
                .args(["build", "--release", "-p", "distarr-capi"])
                .env("CARGO_TARGET_DIR", &target),
        )?;
        build_step(Command::new("bash").arg("scripts/distarr-pc.sh").arg(&target))?;
        std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
        let pc_path = release.join("pkgconfig");
        let pkg = Command::new("pkg-config")
            .args(["--cflags", "--libs", "distarr"])
            .env("PKG_CONFIG_PATH", &pc_path)
            .output()
            .map_err(|e| format!("cannot run pkg-config: {e}"))?;
        if !pkg.status.success() {
            return Err(format!(
                "pkg-config distarr failed: {}",
                String::from_utf8_lossy(&pkg.stderr)
            ));
        }
        let flags: Vec<String> = String::from_utf8_lossy(&pkg.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect();
        // DT_RPATH (not RUNPATH): it wins over the LD_LIBRARY_PATH that cargo sets for tests,
        // which holds target/debug/deps and a debug libdistarr.so that may be stale.
        let rpath = format!("-Wl,--disable-new-dtags,-rpath,{}", release.display());
        let mpicc = std::env::var("MPICC").unwrap_or_else(|_| "mpicc".to_string());
        let mpif90 = std::env::var("MPIF90").unwrap_or_else(|_| "mpif90".to_string());
        let mut sources: Vec<PathBuf> = Vec::new();
        for dir in ["c-api/tests", "examples/c", "examples/fortran"] {
            let dir = workspace_dir().join(dir);
            let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
                .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            found.sort();
            sources.extend(found);
        }
        let module = workspace_dir().join("c-api/fortran/distarr_f.f90");
        let mod_dir = out.join("fortran-modules");
        std::fs::create_dir_all(&mod_dir).map_err(|e| format!("cannot create {}: {e}", mod_dir.display()))?;
        for src in sources {
            let (Some(stem), Some(ext)) = (src.file_stem(), src.extension()) else {
                continue;
            };
            let exe = out.join(stem);
            match ext.to_str() {
                Some("c") => build_step(
                    Command::new(&mpicc)
                        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-O1", "-g"])
                        .arg(&src)
                        .arg("-o")
                        .arg(&exe)
                        .args(&flags)
                        .arg(&rpath)
                        .arg("-lm"),
                )?,
                Some("f90") => build_step(
                    Command::new(&mpif90)
                        .args(["-std=f2008", "-Wall", "-Werror", "-O1", "-g", "-J"])
                        .arg(&mod_dir)
                        .arg(&module)
                        .arg(&src)
                        .arg("-o")
                        .arg(&exe)
                        .arg(format!("-L{}", release.display()))
                        .arg("-ldistarr")
                        .arg(&rpath),
                )?,
                _ => {}
            }
        }
        Ok(out)
    });
    match built {
        Ok(dir) => dir,
        Err(e) => panic!("building libdistarr or the C/Fortran test programs failed: {e}"),
    }
}

/// Runs C/Fortran test program `prog` (from `c-api/tests/`) like [`run`].
fn run_c(prog: &str, ranks: &[usize], env: &[(&str, &str)], wrapper: &[String]) {
    let bin = c_programs_dir().join(prog);
    assert!(
        bin.is_file(),
        "C/Fortran test program `{prog}` not found at {} (is c-api/tests/{prog}.c or .f90 written?)",
        bin.display()
    );
    run_bin(&bin, prog, ranks, env, wrapper);
}

/// `valgrind` with Open MPI's suppressions and distarr's, failing on any reported error.
fn valgrind() -> Vec<String> {
    let mut v = vec![
        "valgrind".to_string(),
        "-q".to_string(),
        "--error-exitcode=3".to_string(),
        format!(
            "--suppressions={}",
            workspace_dir().join("c-api/tests/valgrind.supp").display()
        ),
    ];
    let ompi = Path::new("/usr/share/openmpi/openmpi-valgrind.supp");
    if ompi.is_file() {
        v.push(format!("--suppressions={}", ompi.display()));
    }
    v
}

/// [`valgrind`] with the leak check on: every definitely or indirectly lost block is listed
/// with where it was allocated, for [`distarr_leaks`] to judge (MPI's own leaks at init and
/// finalize are not the program's, and no suppression file can name the frames of its
/// plugins).
fn valgrind_leaks() -> Vec<String> {
    let mut v = valgrind();
    v.extend(
        [
            "--leak-check=full",
            "--show-leak-kinds=definite,indirect",
            "--errors-for-leak-kinds=none",
            "--num-callers=40",
        ]
        .map(str::to_string),
    );
    v
}

/// The loss records of a valgrind log (made with [`valgrind_leaks`]) whose allocation was
/// made by distarr or the test program rather than inside MPI: a stack that reaches a frame of
/// distarr's code (`distarr…` symbols or `libdistarr`) or of the program's `main`, and no frame
/// of MPI's libraries (MPI, ORTE, OPAL, PMIx: allocations made inside an MPI call). Valgrind
/// sometimes cannot unwind through MPI's frames; a stack whose distarr frames are all in the
/// calls that initialise MPI (`distarr_init*`, `start_mpi`) is taken for MPI's then (its own
/// leaks at `MPI_Init` are the usual ones: distarr's state made there is freed at finalize).
/// The ranks' reports interleave in the log: lines are grouped by their `==PID==` prefix.
fn distarr_leaks(log: &str) -> Vec<String> {
    let mut records: Vec<Vec<&str>> = Vec::new();
    // The record each process is adding frames to (an index into `records`), if any.
    let mut open: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for line in log.lines() {
        let Some((pid, body)) = line.strip_prefix("==").and_then(|l| l.split_once("== ")) else {
            continue;
        };
        if body.contains("lost in loss record") {
            records.push(vec![body]);
            open.insert(pid, records.len() - 1);
        } else if let (Some(&k), false) = (open.get(pid), body.trim().is_empty()) {
            records[k].push(body);
        } else {
            open.remove(pid);
        }
    }
    let mpi = ["PMPI_", "MPI_", "ompi_", "orte_", "opal_", "pmix", "libmpi", "libopen-"];
    records
        .into_iter()
        .filter(|r| {
            let frames = &r[1..];
            let ours = frames
                .iter()
                .any(|f| f.contains("distarr") || f.contains(" main (") || f.contains(": main ("));
            let in_mpi = frames.iter().any(|f| mpi.iter().any(|m| f.contains(m)));
            let mpi_init = ["distarr_init", "start_mpi", "init_thread"];
            let only_init = frames
                .iter()
                .filter(|f| f.contains("distarr"))
                .all(|f| mpi_init.iter().any(|m| f.contains(m)));
            ours && !in_mpi && !only_init
        })
        .map(|r| r.join("\n"))
        .collect()
}

/// Two ranks' loss records interleaved line by line: each keeps its own frames (one lost by
/// distarr, one inside MPI).
#[test]
fn valgrind_leak_records_by_process() {
    let log = "==11== 8 bytes in 1 blocks are definitely lost in loss record 1 of 2\n\
               ==12== 4 bytes in 1 blocks are definitely lost in loss record 1 of 1\n\
               ==11==    at 0x1: malloc (vg_replace_malloc.c:1)\n\
               ==12==    at 0x1: malloc (vg_replace_malloc.c:1)\n\
               ==12==    by 0x2: ompi_mpi_init (in libmpi.so)\n\
               ==11==    by 0x3: distarr_create (array_create.rs:1)\n\
               ==12==    by 0x4: distarr_init (life.rs:1)\n\
               ==11== \n\
               ==12== \n";
    let leaks = distarr_leaks(log);
    assert_eq!(leaks.len(), 1, "{leaks:?}");
    assert!(
        leaks[0].starts_with("8 bytes") && leaks[0].contains("distarr_create"),
        "{leaks:?}"
    );
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
fn run(prog: &str, ranks: &[usize], env: &[(&str, &str)]) -> Vec<String> {
    let bin = programs_dir().join(prog);
    assert!(
        bin.is_file(),
        "test program `{prog}` not found at {} (is tests/programs/src/bin/{prog}.rs written?)",
        bin.display()
    );
    run_bin(&bin, prog, ranks, env, &[])
}

/// The result of building the root package's examples: their directory, or the error.
static EXAMPLES_BUILD: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// Builds the examples of the root package (once per process); returns their directory.
fn examples_dir() -> &'static Path {
    let built = EXAMPLES_BUILD.get_or_init(|| {
        let target = target_dir();
        build_step(
            Command::new(env!("CARGO"))
                .args(["build", "--release", "-p", "distarr", "--examples"])
                .env("CARGO_TARGET_DIR", &target),
        )?;
        Ok(target.join("release").join("examples"))
    });
    match built {
        Ok(dir) => dir,
        Err(e) => panic!("building the examples failed: {e}"),
    }
}

/// Runs example `name` (`examples/NAME.rs`) with arguments `args` like [`run`].
fn run_example(name: &str, ranks: &[usize], args: &[&str]) {
    let bin = examples_dir().join(name);
    assert!(
        bin.is_file(),
        "example `{name}` not found at {} (is examples/{name}.rs written?)",
        bin.display()
    );
    run_bin_args(&bin, name, ranks, &[], &[], args);
}

/// Runs the program at `bin` (named `prog` in reports) like [`run`], as
/// `mpirun -n N WRAPPER... BIN` (`wrapper` e.g. a valgrind command line).
fn run_bin(bin: &Path, prog: &str, ranks: &[usize], env: &[(&str, &str)], wrapper: &[String]) -> Vec<String> {
    run_bin_args(bin, prog, ranks, env, wrapper, &[])
}

/// [`run_bin`] with arguments for the program: `mpirun -n N WRAPPER... BIN ARGS...`.
fn run_bin_args(
    bin: &Path,
    prog: &str,
    ranks: &[usize],
    env: &[(&str, &str)],
    wrapper: &[String],
    args: &[&str],
) -> Vec<String> {
    let mut outputs = Vec::new();
    let secs = timeout_secs();
    let mpirun = std::env::var("DISTARR_MPIRUN").unwrap_or_else(|_| "mpirun".to_string());
    let log_dir = target_dir().join("multirank-logs");
    std::fs::create_dir_all(&log_dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", log_dir.display()));
    let env_desc: String = env.iter().map(|(k, v)| format!("{k}={v} ")).collect();

    // Log file names carry the environment so that tests running one program differ.
    let wrap_tag = wrapper
        .first()
        .and_then(|w| Path::new(w).file_name())
        .map(|w| format!("-{}", w.to_string_lossy()))
        .unwrap_or_default();
    let env_tag: String = env
        .iter()
        .map(|(k, v)| format!("-{k}={v}"))
        .chain(std::iter::once(wrap_tag))
        .chain(args.iter().map(|a| format!("-{}", a.trim_start_matches('-'))))
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
            .args(wrapper)
            .arg(bin)
            .args(args)
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

        let wrap_desc: String = wrapper.iter().map(|w| format!("{w} ")).collect();
        let args_desc: String = args.iter().map(|a| format!(" {a}")).collect();
        let what = format!("`{env_desc}{mpirun} -n {n} {wrap_desc}{prog}{args_desc}`");
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
        outputs.push(output);
    }
    outputs
}

/// The processes still alive (not zombies) whose executable is `bin`.
fn live_processes_of(bin: &Path) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let want = std::fs::canonicalize(bin).unwrap_or_else(|_| bin.to_path_buf());
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()))
        .filter(|pid| {
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // The state is the field after the parenthesised command name.
            let state = stat.rsplit(')').next().and_then(|r| r.split_whitespace().next());
            exe.as_deref() == Some(want.as_path()) && !matches!(state, Some("Z") | Some("X") | None)
        })
        .collect()
}

/// Runs test program `prog` at `n` ranks expecting the job to fail because of a fault: it must
/// exit non-zero within 30 s (a hang is a failure), its output must contain every string of
/// `expect` and none of `forbid`, and within 5 s after the launcher returns no process of the
/// program may be left (guardians included; zombies waiting to be reaped do not count). A job
/// whose only fault is a missing expected report is run again, twice at most (see below).
/// Returns the job's duration in seconds.
fn run_fault(prog: &str, n: usize, env: &[(&str, &str)], expect: &[&str], forbid: &[&str]) -> f64 {
    run_fault_bin(&programs_dir().join(prog), prog, n, env, expect, forbid)
}

/// [`run_fault`] for a C program of `c-api/tests/` (built by [`c_programs_dir`]).
fn run_fault_c(prog: &str, n: usize, env: &[(&str, &str)], expect: &[&str], forbid: &[&str]) -> f64 {
    run_fault_bin(&c_programs_dir().join(prog), prog, n, env, expect, forbid)
}

/// [`run_fault`] for the program at `bin` (named `prog` in reports).
fn run_fault_bin(bin: &Path, prog: &str, n: usize, env: &[(&str, &str)], expect: &[&str], forbid: &[&str]) -> f64 {
    const LIMIT: f64 = 30.0;
    let bin = bin.to_path_buf();
    let mpirun = std::env::var("DISTARR_MPIRUN").unwrap_or_else(|_| "mpirun".to_string());
    let log_dir = target_dir().join("multirank-logs");
    std::fs::create_dir_all(&log_dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", log_dir.display()));
    let tag: String = env
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
    for attempt in 1.. {
        let log_path = log_dir.join(format!("{prog}{tag}-fault-n{n}.log"));
        let mut cmd = Command::new("timeout");
        cmd.args(["--signal=TERM", "--kill-after=10", &timeout_secs().to_string()])
            .arg(&mpirun)
            .arg("-n")
            .arg(n.to_string())
            .arg(&bin)
            .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
            .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
            .env("OMPI_MCA_rmaps_base_oversubscribe", "1")
            .envs(env.iter().copied())
            .stdin(Stdio::null());
        let (status, secs, left) = {
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
            let secs = start.elapsed().as_secs_f64();
            let mut left = live_processes_of(&bin);
            let wait = Instant::now();
            while !left.is_empty() && wait.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(100));
                left = live_processes_of(&bin);
            }
            (status, secs, left)
        };
        let output = std::fs::read(&log_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let env_desc: String = env.iter().map(|(k, v)| format!("{k}={v} ")).collect();
        let what = format!("`{env_desc}{mpirun} -n {n} {prog}`");
        let mut problems = Vec::new();
        if status.success() {
            problems.push("exited with status 0".to_string());
        }
        if secs > LIMIT {
            problems.push(format!("took {secs:.1} s (limit {LIMIT} s; {status})"));
        }
        for e in expect {
            if !output.contains(e) {
                problems.push(format!("no {e:?} in the output"));
            }
        }
        for f in forbid {
            if output.contains(f) {
                problems.push(format!("{f:?} in the output"));
            }
        }
        if !left.is_empty() {
            problems.push(format!("processes left running: {left:?}"));
            for pid in &left {
                // SAFETY: kill(2) with a PID of a leftover test process and SIGKILL.
                unsafe { libc::kill(*pid as i32, libc::SIGKILL) };
            }
        }
        // The launcher ends the other ranks as soon as one dies, and under load that can come
        // before the dead rank's guardian has looked (it then stays quiet, taking the deaths for
        // the launcher's clean-up): a job that did end, non-zero and in time, with nothing left,
        // but without the expected report is run again (twice at most).
        let only_unreported = !problems.is_empty() && problems.iter().all(|p| p.starts_with("no "));
        if only_unreported && attempt < 3 {
            eprintln!(
                "multirank: {what}: {} (attempt {attempt}); running it again",
                problems.join("; ")
            );
            continue;
        }
        if !problems.is_empty() {
            panic!(
                "{what}: {}\nfull log: {}\n--- output ---\n{}--- end of output ---",
                problems.join("; "),
                log_path.display(),
                tail(&output, TAIL_LINES)
            );
        }
        eprintln!("multirank: {what} failed as expected ({status}) in {secs:.2}s");
        return secs;
    }
    unreachable!("the loop returns or panics")
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

/// `mpi_c_test!(name, "program", [rank counts], [("VAR", "value"), ...])`: the same for a C or
/// Fortran program of `c-api/tests/` (built by [`c_programs_dir`]).
macro_rules! mpi_c_test {
    ($name:ident, $prog:expr, [$($n:expr),+ $(,)?] $(,)?) => {
        mpi_c_test!($name, $prog, [$($n),+], []);
    };
    ($name:ident, $prog:expr, [$($n:expr),+ $(,)?], [$(($k:expr, $v:expr)),* $(,)?] $(,)?) => {
        #[test]
        fn $name() {
            run_c($prog, &[$($n),+], &[$(($k, $v)),*], &[]);
        }
    };
}

/// `mpi_example!(name, "example", [rank counts], ["arg", ...])` defines a `#[test]` that runs
/// the root package's example at each rank count with the given arguments.
macro_rules! mpi_example {
    ($name:ident, $example:expr, [$($n:expr),+ $(,)?], [$($arg:expr),* $(,)?] $(,)?) => {
        #[test]
        fn $name() {
            run_example($example, &[$($n),+], &[$($arg),*]);
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
// Node-local ranks by loads/stores, others only through MPI (one node here; two "hosts" in
// scripts/test-hosts.sh).
mpi_test!(rt_nodes, "rt_nodes", [1, 2, 3, 4]);
mpi_test!(
    rt_nodes_no_fastpath,
    "rt_nodes",
    [2, 3],
    [("DISTARR_SHM_FASTPATH", "0")]
);

// --- faults (names start with `rt_`: also on MPICH) -------------------------------------------
// A rank that dies or hangs ends the job: non-zero, within 30 s, the rank named, nothing left
// running (see `run_fault` and `tests/programs/src/bin/rt_faults.rs`).
mpi_test!(rt_faults_clean, "rt_faults", [1, 2, 3]);
#[test]
fn rt_fault_kill() {
    run_fault(
        "rt_faults",
        3,
        &[("DISTARR_TEST_FAULT", "kill")],
        &["FATAL: rank 1 (pid ", ") ended without finalizing"],
        &["FATAL: rank 0 ", "FATAL: rank 2 "],
    );
}
#[test]
fn rt_fault_abort_in_kernel() {
    run_fault(
        "rt_faults",
        3,
        &[
            ("DISTARR_TEST_FAULT", "abort"),
            ("DISTARR_TEST_SLOW_RANK", "1"),
            ("DISTARR_TEST_DELAY_US", "8000000"),
        ],
        &[
            "calling abort() inside an array operation",
            "FATAL: rank 1 (pid ",
            ") received signal 6 (SIGABRT)",
        ],
        &["FATAL: rank 0 ", "FATAL: rank 2 ", "ended without finalizing"],
    );
}
#[test]
fn rt_fault_segv() {
    run_fault(
        "rt_faults",
        2,
        &[("DISTARR_TEST_FAULT", "segv"), ("DISTARR_TEST_FAULT_RANK", "0")],
        &["FATAL: rank 0 (pid ", ") received signal 11 (SIGSEGV)"],
        &["FATAL: rank 1 ", "ended without finalizing"],
    );
}
#[test]
fn rt_fault_exit_without_finalize() {
    run_fault(
        "rt_faults",
        3,
        &[("DISTARR_TEST_FAULT", "exit"), ("DISTARR_TEST_FAULT_RANK", "2")],
        &["FATAL: rank 2 (pid ", ") ended without finalizing"],
        &["FATAL: rank 0 ", "FATAL: rank 1 "],
    );
}
/// `DISTARR_TIMEOUT`: a rank that stops taking part (it sleeps for 10 minutes) is named by the
/// others, which abort the job after the limit.
#[test]
fn rt_fault_timeout() {
    let secs = run_fault(
        "rt_faults",
        3,
        &[("DISTARR_TEST_FAULT", "hang"), ("DISTARR_TIMEOUT", "3")],
        // Whichever of ranks 0 and 2 aborts first ends the job, maybe before the other prints.
        &[
            "DISTARR_TIMEOUT=3s: rank ",
            " and rank 1 has not arrived; aborting the job",
        ],
        &["FATAL: "],
    );
    assert!(secs >= 3.0, "the job ended after {secs:.1} s, before the 3 s limit");
}
/// Ranks in different collective calls (one all-reduces while the others sync) under
/// `DISTARR_TIMEOUT`: reported at once, long before the limit.
#[test]
fn rt_fault_diverge() {
    let secs = run_fault(
        "rt_faults",
        3,
        &[("DISTARR_TEST_FAULT", "diverge"), ("DISTARR_TIMEOUT", "60")],
        // Rank 1's call as it sees it or as another rank does, whichever reports first.
        &[
            "an all-reduce (agreement on arguments, reductions) of 8 bytes with MPI_SUM",
            "the ranks' collective calls differ; aborting the job",
        ],
        &["FATAL: "],
    );
    assert!(secs < 30.0, "a divergence must not wait for the limit ({secs:.1} s)");
}
// The timed synchronisation itself (every barrier and collective through arrival notices)
// gives the same results.
mpi_test!(rt_ops_timeout, "rt_ops", [2, 3, 4], [("DISTARR_TIMEOUT", "120")]);
mpi_test!(rt_stress_timeout, "rt_stress", [3], [("DISTARR_TIMEOUT", "120")]);
// The heap poison test hook (guard zones, red zones, poisoned free memory) finds stray writes.
mpi_test!(rt_poison, "rt_poison", [1, 2, 3], [("DISTARR_TEST_POISON", "1")]);
mpi_test!(rt_poison_off, "rt_poison", [1, 2]);

// --- distributed arrays (OpenMPI) ----------------------------------------------------------
mpi_test!(arr_diff, "arr_diff", [1, 2, 3, 4]);
mpi_test!(arr_io, "arr_io", [1, 2, 3, 4]);
// Arrays of 2.2e9 uint8 elements (> 2^31) through the C ABI: 4.4 GB of heap on one rank.
mpi_test!(arr_large, "arr_large", [1, 2], [("DISTARR_TEST_LARGE", "1")]);
mpi_test!(arr_errors, "arr_errors", [1, 2, 3, 4]);
mpi_test!(arr_engine, "arr_engine", [1, 2, 3, 4]);
mpi_test!(arr_lazy, "arr_lazy", [1, 2, 3, 4]);
mpi_test!(arr_lazy_threads, "arr_lazy", [1, 2], [("DISTARR_THREADS", "2")]);
// Every remote block through gets (the case where prefetching across passes is counted).
mpi_test!(
    arr_lazy_no_fastpath,
    "arr_lazy",
    [2, 3, 4],
    [("DISTARR_SHM_FASTPATH", "0")]
);
mpi_test!(arr_engine_threads, "arr_engine", [1, 2, 3], [("DISTARR_THREADS", "3")]);
mpi_test!(
    arr_engine_no_fastpath,
    "arr_engine",
    [2, 3],
    [("DISTARR_SHM_FASTPATH", "0")]
);
// Remote blocks through a tiny arena: many batches, each fetched while the previous computes.
mpi_test!(
    arr_engine_small_arena,
    "arr_engine",
    [2, 3, 4],
    [("DISTARR_TEST_ARENA_BATCH", "64"), ("DISTARR_SHM_FASTPATH", "0")]
);
mpi_test!(
    arr_diff_small_arena,
    "arr_diff",
    [3],
    [("DISTARR_TEST_ARENA_BATCH", "64"), ("DISTARR_SHM_FASTPATH", "0")]
);
// One rank made slow (a late reader and a late writer): synchronisation by dependency must hold.
mpi_test!(
    arr_engine_slow_rank,
    "arr_engine",
    [2, 3, 4],
    [("DISTARR_TEST_SLOW_RANK", "1"), ("DISTARR_TEST_DELAY_US", "2000")]
);
mpi_test!(
    arr_engine_slow_rank_no_fastpath,
    "arr_engine",
    [2, 3],
    [
        ("DISTARR_TEST_SLOW_RANK", "0"),
        ("DISTARR_TEST_DELAY_US", "2000"),
        ("DISTARR_SHM_FASTPATH", "0")
    ]
);

/// Float sums and means give the same bits at 1-4 ranks and 1 or 2 compute threads (and every
/// layout: checked inside the program).
#[test]
fn arr_repro() {
    let mut seen: Option<(String, Vec<String>)> = None;
    for threads in ["1", "2"] {
        let outs = run("arr_repro", &[1, 2, 3, 4], &[("DISTARR_THREADS", threads)]);
        for (n, out) in outs.iter().enumerate() {
            let lines: Vec<String> = out
                .lines()
                .filter(|l| l.starts_with("repro:"))
                .map(str::to_string)
                .collect();
            assert!(!lines.is_empty(), "arr_repro printed no results at {} ranks", n + 1);
            let tag = format!("{} ranks, {threads} threads", n + 1);
            match &seen {
                None => seen = Some((tag, lines)),
                Some((t0, l0)) => assert_eq!(l0, &lines, "{tag} differs from {t0}"),
            }
        }
    }
}
mpi_test!(arr_numpy_ufuncs, "arr_numpy_ufuncs", [1, 2, 3, 4]);
mpi_test!(
    arr_io_allocate_window,
    "arr_io",
    [2, 3],
    [("DISTARR_WINDOW", "allocate")]
);
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

// --- examples of the root package, with small sizes and `--check` ----------------------------
mpi_example!(example_pi, "pi", [1, 2, 3, 4], ["200000", "--check"]);
mpi_example!(example_nbody, "nbody", [1, 2, 3, 4], ["48", "4", "--check"]);
mpi_example!(example_jacobi, "jacobi", [1, 2, 3, 4], ["50", "--check"]);
mpi_example!(example_stencil, "stencil", [1, 2, 3, 4], ["30", "15", "--check"]);
mpi_example!(example_chain, "chain", [1, 2, 3, 4], ["1000", "2", "--check"]);

// --- C ABI: the hostile-input fuzz driver (tests/programs/src/bin/capi_fuzz), every rank driven by
// one seeded generator, under the heap poison hook (a stray write outside a segment aborts the job
// at the next sync). `DISTARR_FUZZ_CASES` (default 1500 per run) and `DISTARR_FUZZ_SEED` (default
// 1) pass through from the environment: e.g. `DISTARR_FUZZ_CASES=50000 cargo test --release -p
// distarr --test multirank -- capi_fuzz` for a long run. --------------------------------------------
mpi_test!(
    capi_fuzz,
    "capi_fuzz",
    [1, 2, 3],
    [
        ("DISTARR_TEST_POISON", "1"),
        ("DISTARR_HEAP_SEGMENT", "4M"),
        ("DISTARR_HEAP_LIMIT", "256M")
    ]
);
mpi_test!(
    capi_fuzz_sequential,
    "capi_fuzz",
    [2, 3],
    [
        ("DISTARR_MODE", "sequential"),
        ("DISTARR_TEST_POISON", "1"),
        ("DISTARR_HEAP_SEGMENT", "4M"),
        ("DISTARR_HEAP_LIMIT", "256M")
    ]
);

// --- C ABI: C and Fortran programs of c-api/tests (names start with `capi_`; Open MPI) -----------
mpi_c_test!(capi_c_pgas, "c_pgas", [1, 2, 3, 4]);
mpi_c_test!(
    capi_c_pgas_sequential,
    "c_pgas",
    [1, 2, 3, 4],
    [("DISTARR_MODE", "sequential")]
);
mpi_c_test!(
    capi_c_pgas_allocate_window,
    "c_pgas",
    [2, 3],
    [("DISTARR_WINDOW", "allocate"), ("DISTARR_SHM_FASTPATH", "0")]
);
mpi_c_test!(capi_f_pi, "f_pi", [1, 2, 3, 4]);
mpi_c_test!(capi_c_array_ops, "c_array_ops", [1, 2, 3, 4]);
mpi_c_test!(
    capi_c_array_ops_sequential,
    "c_array_ops",
    [1, 2, 3, 4],
    [("DISTARR_MODE", "sequential")]
);
// Sequential mode orders one-sided and collective calls itself: the program has no
// distarr_sync, and every worker sleeps 3 ms before each command (a slow worker).
mpi_c_test!(
    capi_c_seq_sync,
    "c_seq_sync",
    [1, 2, 3, 4],
    [("DISTARR_MODE", "sequential"), ("DISTARR_TEST_WORKER_DELAY_US", "3000")]
);
// Sequential mode: a worker that dies, or a rank 0 that gives up, ends the job non-zero within
// 30 s with the cause printed and no process left (`run_fault`). Names `capi_seq_fault_*`:
// `scripts/test.sh` runs them on MPICH too.
mpi_c_test!(capi_seq_fault_clean, "c_seq_fault", [1, 3]);
// Sequential mode under DISTARR_TIMEOUT: rank 0 sends its batched commands before its arrival
// notices (the workers meet it in the same synchronisation).
mpi_c_test!(
    capi_c_arrays_sequential_timeout,
    "c_arrays",
    [3],
    [("DISTARR_MODE", "sequential"), ("DISTARR_TIMEOUT", "120")]
);
#[test]
fn capi_seq_fault_worker_kill() {
    run_fault_c(
        "c_seq_fault",
        3,
        &[("DISTARR_TEST_WORKER_FAULT", "1:12:kill")],
        &[
            "worker 1 dies (Kill) before command 12",
            "FATAL: rank 1 (pid ",
            ") ended without finalizing", // the status only when read before the launcher reaps it
        ],
        &["FATAL: rank 0 ", "FATAL: rank 2 ", "distarr-test: ok"],
    );
}
#[test]
fn capi_seq_fault_worker_abort() {
    run_fault_c(
        "c_seq_fault",
        3,
        &[("DISTARR_TEST_WORKER_FAULT", "2:12:abort")],
        &["FATAL: rank 2 (pid ", ") received signal 6 (SIGABRT)"],
        &[
            "FATAL: rank 0 ",
            "FATAL: rank 1 ",
            "ended without finalizing",
            "distarr-test: ok",
        ],
    );
}
#[test]
fn capi_seq_fault_worker_exit() {
    run_fault_c(
        "c_seq_fault",
        2,
        &[("DISTARR_TEST_WORKER_FAULT", "1:12:exit")],
        &["FATAL: rank 1 (pid ", ") ended without finalizing"],
        &["FATAL: rank 0 ", "distarr-test: ok"],
    );
}
#[test]
fn capi_seq_fault_root_exit() {
    run_fault_c(
        "c_seq_fault",
        3,
        &[("DISTARR_TEST_FAULT", "root_exit")],
        &[
            "c_seq_fault: rank 0 gives up after an error: ",
            "FATAL: rank 0 (pid ",
            ") ended without finalizing",
        ],
        &["FATAL: rank 1 ", "FATAL: rank 2 ", "distarr-test: ok"],
    );
}
#[test]
fn capi_seq_fault_root_abort() {
    run_fault_c(
        "c_seq_fault",
        3,
        &[("DISTARR_TEST_FAULT", "root_abort")],
        &["c_seq_fault: rank 0 gives up after an error: "],
        &["FATAL: ", "distarr-test: ok"],
    );
}
mpi_c_test!(capi_c_arrays, "c_arrays", [1, 2, 3, 4]);
mpi_c_test!(
    capi_c_arrays_sequential,
    "c_arrays",
    [1, 2, 3, 4],
    [("DISTARR_MODE", "sequential")]
);
mpi_c_test!(
    capi_c_arrays_no_fastpath,
    "c_arrays",
    [2, 3],
    [("DISTARR_SHM_FASTPATH", "0")]
);
// Deferred execution through the C ABI (flush points, errors at the call) and the command
// batches of sequential mode: with deferral on and off (DISTARR_LAZY=0), and with batches small
// enough that they are sent because they are full.
mpi_c_test!(capi_c_lazy, "c_lazy", [1, 2, 3, 4]);
mpi_c_test!(
    capi_c_lazy_sequential,
    "c_lazy",
    [1, 2, 3, 4],
    [("DISTARR_MODE", "sequential")]
);
mpi_c_test!(capi_c_lazy_eager, "c_lazy", [1, 3], [("DISTARR_LAZY", "0")]);
mpi_c_test!(
    capi_c_lazy_sequential_eager,
    "c_lazy",
    [2, 3],
    [("DISTARR_MODE", "sequential"), ("DISTARR_LAZY", "0")]
);
mpi_c_test!(
    capi_c_lazy_sequential_small_batches,
    "c_lazy",
    [2, 4],
    [("DISTARR_MODE", "sequential"), ("DISTARR_TEST_SEQ_BATCH_BYTES", "100")]
);
// The other C tests with small batches too: every kind of command, sent because batches fill.
mpi_c_test!(
    capi_c_arrays_sequential_small_batches,
    "c_arrays",
    [3],
    [("DISTARR_MODE", "sequential"), ("DISTARR_TEST_SEQ_BATCH_BYTES", "100")]
);
mpi_c_test!(
    capi_c_seq_sync_small_batches,
    "c_seq_sync",
    [2],
    [
        ("DISTARR_MODE", "sequential"),
        ("DISTARR_TEST_WORKER_DELAY_US", "3000"),
        ("DISTARR_TEST_SEQ_BATCH_BYTES", "100")
    ]
);

// --- examples (examples/c, examples/fortran): each checks its result when DISTARR_CHECK=1 ------
mpi_c_test!(example_c_pi, "pi", [1, 2, 3, 4], [("DISTARR_CHECK", "1")]);
mpi_c_test!(
    example_c_pi_sequential,
    "pi",
    [1, 2, 3, 4],
    [("DISTARR_CHECK", "1"), ("DISTARR_MODE", "sequential")]
);
mpi_c_test!(example_c_jacobi, "jacobi", [1, 2, 3, 4], [("DISTARR_CHECK", "1")]);
mpi_c_test!(
    example_c_jacobi_sequential,
    "jacobi",
    [1, 2, 3, 4],
    [("DISTARR_CHECK", "1"), ("DISTARR_MODE", "sequential")]
);
mpi_c_test!(example_c_stencil, "stencil", [1, 2, 3, 4], [("DISTARR_CHECK", "1")]);
mpi_c_test!(
    example_c_stencil_sequential,
    "stencil",
    [1, 2, 3, 4],
    [("DISTARR_CHECK", "1"), ("DISTARR_MODE", "sequential")]
);
mpi_c_test!(example_c_nbody, "nbody", [1, 2, 3, 4], [("DISTARR_CHECK", "1")]);
mpi_c_test!(
    example_c_nbody_sequential,
    "nbody",
    [1, 2, 3, 4],
    [("DISTARR_CHECK", "1"), ("DISTARR_MODE", "sequential")]
);
mpi_c_test!(example_f_pi_arrays, "pi_arrays", [1, 2, 3, 4], [("DISTARR_CHECK", "1")]);
mpi_c_test!(
    example_f_jacobi_arrays,
    "jacobi_arrays",
    [1, 2, 3, 4],
    [("DISTARR_CHECK", "1")]
);
mpi_c_test!(
    example_f_nbody_arrays,
    "nbody_arrays",
    [1, 2, 3, 4],
    [("DISTARR_CHECK", "1")]
);

/// The C PGAS test under valgrind at 2 ranks, in both modes: no error may be reported (only
/// MPI-internal reports are suppressed, see `c-api/tests/valgrind.supp`).
#[test]
fn capi_c_pgas_valgrind() {
    run_c("c_pgas", &[2], &[], &valgrind());
    run_c("c_pgas", &[2], &[("DISTARR_MODE", "sequential")], &valgrind());
}

/// The C array test under valgrind at 2 ranks, in both modes.
#[test]
fn capi_c_arrays_valgrind() {
    run_c("c_arrays", &[2], &[], &valgrind());
    run_c("c_arrays", &[2], &[("DISTARR_MODE", "sequential")], &valgrind());
}

/// The deferred-execution test under valgrind at 2 ranks, both modes, with the leak check: it
/// finalises with operations still deferred (and a pending result never computed), and
/// nothing distarr allocated may be lost.
#[test]
fn capi_c_lazy_valgrind() {
    for (k, env) in [&[][..], &[("DISTARR_MODE", "sequential")][..]].into_iter().enumerate() {
        let bin = c_programs_dir().join("c_lazy");
        // One log file per process: the ranks writing one stream interleave even within lines.
        let logs = target_dir().join(format!("multirank-logs/c_lazy-valgrind-{k}"));
        let _ = std::fs::remove_dir_all(&logs);
        std::fs::create_dir_all(&logs).unwrap_or_else(|e| panic!("{}: {e}", logs.display()));
        println!("valgrind's reports: {}", logs.display());
        let mut wrapper = valgrind_leaks();
        wrapper.push(format!("--log-file={}/vg.%p", logs.display()));
        run_bin(&bin, "c_lazy", &[2], env, &wrapper);
        let entries = std::fs::read_dir(&logs).unwrap_or_else(|e| panic!("{}: {e}", logs.display()));
        let mut files = 0;
        for entry in entries {
            let path = entry.expect("log directory entry").path();
            let log = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            files += 1;
            let leaks = distarr_leaks(&log);
            assert!(
                leaks.is_empty(),
                "c_lazy {env:?} at 2 ranks ({}): blocks allocated by distarr were lost:\n{}",
                path.display(),
                leaks.join("\n\n")
            );
        }
        assert!(
            files >= 2,
            "valgrind wrote {files} logs for 2 ranks in {}",
            logs.display()
        );
    }
}

/// The leak filter: MPI's leaks pass, distarr's and the program's do not.
#[test]
fn valgrind_leak_filter() {
    let log = "\
==1== 8 bytes in 1 blocks are definitely lost in loss record 1 of 3
==1==    at 0x1: malloc (in vgpreload_memcheck-amd64-linux.so)
==1==    by 0x2: ompi_mpi_init (in /usr/lib/x86_64-linux-gnu/libmpi.so.40)
==1==    by 0x3: distarr_ffi::env::init_thread (env.rs:78)
==1==
==1== 16 bytes in 1 blocks are definitely lost in loss record 2 of 3
==1==    at 0x1: malloc (in vgpreload_memcheck-amd64-linux.so)
==1==    by 0x4: alloc::raw_vec::finish_grow (raw_vec.rs:1)
==1==    by 0x5: distarr_arrays::engine::flush (mod.rs:1)
==1==
==1== 32 bytes in 1 blocks are indirectly lost in loss record 3 of 4
==1==    at 0x1: malloc (in vgpreload_memcheck-amd64-linux.so)
==1==    by 0x6: ??? (in /usr/lib/x86_64-linux-gnu/openmpi/lib/openmpi3/mca_pmix.so)
==1==    by 0x7: start_thread (pthread_create.c:442)
==1==
==1== 1 bytes in 1 blocks are definitely lost in loss record 4 of 4
==1==    at 0x1: malloc (in vgpreload_memcheck-amd64-linux.so)
==1==    by 0x8: call_once<distarr::life::distarr_init_mode::{closure_env#0}> (unwind_safe.rs:274)
==1==    by 0x8: distarr_init_mode (status.rs:168)
==1==    by 0x9: main (c_lazy.c:401)
==1==
";
    let leaks = distarr_leaks(log);
    assert_eq!(leaks.len(), 1, "{leaks:?}");
    assert!(leaks[0].contains("16 bytes") && leaks[0].contains("engine::flush"));
}

/// The C test of the NumPy front end's array functions under valgrind at 2 ranks, both modes.
#[test]
fn capi_c_array_ops_valgrind() {
    run_c("c_array_ops", &[2], &[], &valgrind());
    run_c("c_array_ops", &[2], &[("DISTARR_MODE", "sequential")], &valgrind());
}

// --- benchmarks --------------------------------------------------------------------------------

/// The result of building `distarr-bench`: the binary's path, or the error.
static BENCH_BUILD: OnceLock<Result<PathBuf, String>> = OnceLock::new();

fn bench_binary() -> &'static Path {
    let built = BENCH_BUILD.get_or_init(|| {
        let target = target_dir();
        let output = Command::new(env!("CARGO"))
            .args(["build", "--release", "-p", "distarr-bench"])
            .current_dir(workspace_dir())
            .env("CARGO_TARGET_DIR", &target)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run cargo ({}): {e}", env!("CARGO")))?;
        if output.status.success() {
            Ok(target.join("release").join("distarr-bench"))
        } else {
            Err(format!(
                "`cargo build --release -p distarr-bench` failed ({}):\n{}",
                output.status,
                tail(&String::from_utf8_lossy(&output.stderr), TAIL_LINES)
            ))
        }
    });
    match built {
        Ok(p) => p,
        Err(e) => panic!("building the benchmark failed: {e}"),
    }
}

/// Checks `distarr-bench get_latency --compare-mpi` output: OSU's header and `%-10d%20.2f` rows
/// with the `MPI (us)` and `ratio` columns, one row per size 1..=max_size.
fn check_bench_output(out: &str, max_size: usize) -> Result<(), String> {
    let mut lines = out.lines().filter(|l| !l.trim().is_empty());
    let title = lines.next().ok_or("no output")?;
    if title != "# distarr get_latency (window allocate, sync flush)" {
        return Err(format!("unexpected title line {title:?}"));
    }
    let header = lines
        .find(|l| l.starts_with("# Size"))
        .ok_or("no `# Size` header line")?;
    let want = format!(
        "{:<10}{:>20}{:>20}{:>20}",
        "# Size", "Latency (us)", "MPI (us)", "ratio"
    );
    if header != want {
        return Err(format!("header {header:?}, expected {want:?}"));
    }
    let mut size = 1;
    for line in lines {
        if line.len() != 70 {
            return Err(format!("row {line:?} is not %-10d%20.2f%20.2f%20.2f"));
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 4 || f[0].parse::<usize>() != Ok(size) {
            return Err(format!("row {line:?}: expected size {size} and three values"));
        }
        for v in &f[1..] {
            let x: f64 = v.parse().map_err(|_| format!("row {line:?}: {v:?} is not a number"))?;
            if !(x.is_finite() && x >= 0.0) || v.split('.').nth(1).map(str::len) != Some(2) {
                return Err(format!("row {line:?}: {v:?} is not a %.2f value"));
            }
        }
        size *= 2;
    }
    if size != max_size * 2 {
        return Err(format!("rows end before size {max_size}"));
    }
    Ok(())
}

/// A quick run of the benchmark on 2 ranks: it works and prints OSU's format.
#[test]
fn bench_smoke() {
    let bin = bench_binary();
    let secs = timeout_secs();
    let mpirun = std::env::var("DISTARR_MPIRUN").unwrap_or_else(|_| "mpirun".to_string());
    let mut cmd = Command::new("timeout");
    cmd.args(["--signal=TERM", "--kill-after=10", &secs.to_string()])
        .arg(&mpirun)
        .args(["-n", "2"])
        .arg(bin)
        .args(["get_latency", "--max-size", "64", "--iterations", "50", "--compare-mpi"])
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("OMPI_MCA_rmaps_base_oversubscribe", "1")
        .stdin(Stdio::null());
    let output = {
        let _guard = MPIRUN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        cmd.output()
            .unwrap_or_else(|e| panic!("cannot run `timeout {mpirun}`: {e}"))
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "distarr-bench failed ({}):\n--- stdout ---\n{stdout}--- stderr ---\n{}",
        output.status,
        tail(&stderr, TAIL_LINES)
    );
    if let Err(e) = check_bench_output(&stdout, 64) {
        panic!("distarr-bench output: {e}\n--- stdout ---\n{stdout}--- stderr ---\n{stderr}");
    }
    eprintln!("multirank: distarr-bench get_latency on 2 ranks ok");
}

/// Runs `distarr-bench ARGS` on 2 ranks under the timeout and returns its standard output.
fn run_bench(args: &[&str]) -> String {
    let mpirun = std::env::var("DISTARR_MPIRUN").unwrap_or_else(|_| "mpirun".to_string());
    let mut cmd = Command::new("timeout");
    cmd.args(["--signal=TERM", "--kill-after=10", &timeout_secs().to_string()])
        .arg(&mpirun)
        .args(["-n", "2"])
        .arg(bench_binary())
        .args(args)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("OMPI_MCA_rmaps_base_oversubscribe", "1")
        .stdin(Stdio::null());
    let output = {
        let _guard = MPIRUN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        cmd.output()
            .unwrap_or_else(|e| panic!("cannot run `timeout {mpirun}`: {e}"))
    };
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "distarr-bench {args:?} failed ({}):\n--- stdout ---\n{stdout}--- stderr ---\n{}",
        output.status,
        tail(&String::from_utf8_lossy(&output.stderr), TAIL_LINES)
    );
    stdout
}

/// The C-ABI layer column and the sequential-mode dispatch benchmark run and report numbers.
#[test]
fn bench_via_c_and_dispatch_smoke() {
    let out = run_bench(&[
        "get_latency",
        "--via",
        "c",
        "--max-size",
        "8",
        "--iterations",
        "50",
        "--compare-mpi",
    ]);
    assert!(out.contains("C-Rust (ns)"), "no C-ABI column:\n{out}");
    let rows = out.lines().filter(|l| !l.starts_with('#')).count();
    assert_eq!(rows, 4, "expected rows for 1, 2, 4, 8 bytes:\n{out}");
    let out = run_bench(&["dispatch", "--iterations", "20"]);
    for op in ["barrier", "create (1 x f64)", "binary add (1 x f64)"] {
        let line = out
            .lines()
            .find(|l| l.starts_with(op))
            .unwrap_or_else(|| panic!("no {op} row:\n{out}"));
        let nums: Vec<f64> = line[op.len()..]
            .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
            .filter_map(|w| w.parse().ok())
            .collect();
        // SPMD median (mean), sequential median (mean): non-negative times; then their difference.
        assert!(
            nums.len() == 5 && nums.iter().all(|v| v.is_finite()) && nums[..4].iter().all(|v| *v >= 0.0),
            "bad row {line:?}"
        );
    }
}

#[test]
fn bench_output_checker_rejects_bad_output() {
    let good = format!(
        "# distarr get_latency (window allocate, sync flush)\n# note\n{:<10}{:>20}{:>20}{:>20}\n{:<10}{:>20}{:>20}{:>20}\n{:<10}{:>20}{:>20}{:>20}\n",
        "# Size", "Latency (us)", "MPI (us)", "ratio", 1, "0.07", "0.06", "1.17", 2, "0.07", "0.07", "1.00"
    );
    assert_eq!(check_bench_output(&good, 2), Ok(()));
    assert!(check_bench_output(&good, 4).is_err(), "missing rows");
    assert!(check_bench_output(&good.replace("1.17", " n/a"), 2).is_err());
    assert!(check_bench_output(&good.replace("ratio", "     "), 2).is_err());
}

/// `scripts/bench-apps.sh --quick` end to end (builds, NumPy, numexpr, the Rust and C examples at
/// 1-4 ranks, the NumPy programs through `import distarr as np`, STREAM): the report has every
/// section, every row of every app's table has a time, a peak RSS and an answer that agrees with
/// NumPy's, the target tables of issues 8-10 have their rows, and the fused chain allocates no
/// array-sized temporary in the Rust example. Writes into `<target>/bench-apps-smoke/`, not
/// docs/APPS.md. A missing numexpr or Python layer (no `.venv`, see scripts/setup.sh) is a warning,
/// and a failure when `CI=true`.
#[test]
fn bench_apps_smoke() {
    let target = target_dir();
    let raw = target.join("bench-apps-smoke");
    let report = raw.join("APPS.md");
    let _ = std::fs::remove_file(&report);
    // About 100 short runs, each an mpirun or interpreter start-up: several times one test's
    // timeout in all, and each run under the per-run timeout of the script.
    let total = 4 * timeout_secs();
    let mut cmd = Command::new("timeout");
    cmd.args(["--signal=TERM", "--kill-after=10", &total.to_string()])
        .args(["bash", "scripts/bench-apps.sh", "--quick", "--timeout"])
        .arg(timeout_secs().to_string())
        .arg("--out")
        .arg(&report)
        .current_dir(workspace_dir())
        .env("CARGO_TARGET_DIR", &target)
        .env("DISTARR_BENCH_DIR", &raw)
        .stdin(Stdio::null());
    let output = {
        let _guard = MPIRUN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        cmd.output()
            .unwrap_or_else(|e| panic!("cannot run `bash scripts/bench-apps.sh`: {e}"))
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "bench-apps.sh --quick failed ({}):\n--- stdout ---\n{}--- stderr ---\n{}",
        output.status,
        tail(&stdout, TAIL_LINES),
        tail(&stderr, TAIL_LINES)
    );
    let text = std::fs::read_to_string(&report)
        .unwrap_or_else(|e| panic!("no report at {}: {e}\n--- stdout ---\n{stdout}", report.display()));
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    match check_apps_report(&text, ci) {
        Ok(warnings) => {
            for w in warnings {
                eprintln!("bench_apps_smoke: WARNING: {w}");
            }
        }
        Err(e) => panic!("{}: {e}\n--- report ---\n{text}", report.display()),
    }
}

/// The rows of each app's table in a quick report: (app, [(layer, rows)]). A layer whose program
/// is missing or that cannot run at all has one row (`| layer | all | n/a | ...`) instead.
const APPS_TABLES: &[(&str, &[(&str, usize)])] = {
    const SEED: &[(&str, usize)] = &[
        ("NumPy", 1),
        ("numexpr", 2),                // 1 process x 1 and 2 threads
        ("distarr Rust", 5),           // 1, 2, 3, 4 ranks and 1 rank x 2 threads
        ("distarr Rust, lazy off", 2), // 1 and 2 ranks
        ("distarr C", 5),
        ("distarr Python", 2), // 1 and 2 ranks
    ];
    const KERNEL: &[(&str, usize)] = &[
        ("NumPy", 1),
        ("distarr Rust", 5),
        ("distarr C", 1),
        ("distarr Python", 2),
    ];
    &[
        ("pi", SEED),
        ("stencil", SEED),
        ("nbody", SEED),
        ("jacobi", SEED),
        (
            "chain",
            &[
                ("NumPy", 1),
                ("numexpr", 2),
                ("distarr Rust", 5),
                ("distarr Rust, lazy off", 2),
                ("distarr C", 1), // Rust and Python only
                ("distarr Python", 2),
                ("distarr Python, lazy off", 2),
            ],
        ),
        ("stencil4k", &[("NumPy", 1), ("distarr Rust", 2), ("distarr Python", 2)]),
        ("uniform", KERNEL),
        ("sum", KERNEL),
    ]
};

/// Layers that may be absent from a machine without `.venv` (a warning, a failure in CI).
const APPS_OPTIONAL_LAYERS: &[&str] = &["numexpr", "distarr Python", "distarr Python, lazy off"];

/// The cells of a Markdown table row (`\|` inside a cell is text, not a separator).
fn table_cells(row: &str) -> Vec<String> {
    let inner = row.trim().trim_start_matches('|').trim_end_matches('|');
    let mut cells = vec![String::new()];
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cells.last_mut().expect("one cell").push('|');
                chars.next();
            }
            '|' => cells.push(String::new()),
            _ => cells.last_mut().expect("one cell").push(c),
        }
    }
    cells.into_iter().map(|c| c.trim().to_string()).collect()
}

/// The lines of the report from the heading that starts with `heading` to the next heading of
/// the same or a higher level.
fn report_section<'a>(text: &'a str, heading: &str) -> Option<Vec<&'a str>> {
    let level = heading.chars().take_while(|c| *c == '#').count();
    let mut lines = text.lines().skip_while(|l| !l.starts_with(heading));
    let first = lines.next()?;
    let mut out = vec![first];
    for line in lines {
        let hashes = line.chars().take_while(|c| *c == '#').count();
        if hashes > 0 && hashes <= level && line[hashes..].starts_with(' ') {
            break;
        }
        out.push(line);
    }
    Some(out)
}

/// What `bench_apps_smoke` requires of a quick report. `Ok` carries warnings: an optional layer
/// (numexpr, Python) that could not run, which is an error when `ci`.
fn check_apps_report(text: &str, ci: bool) -> Result<Vec<String>, String> {
    let mut warnings = Vec::new();
    for section in [
        "# distarr application benchmark",
        "**Quick run",
        "## Machine and versions",
        "- load average (1/5/15 min) before the runs:",
        "- NumPy: ",
        "- numexpr: ",
        "## Targets (issue 8)",
        "## Targets (issue 9: Python)",
        "## Targets (issue 10: deferred execution and fusion)",
        "## Memory bandwidth (STREAM-like)",
        "| C add `c = a + b` |",
        "**2-to-1-process bandwidth ratio (add): ",
        "## Applications",
        "## Correctness",
        "No disagreement in this run.",
    ] {
        if !text.contains(section) {
            return Err(format!("missing {section:?}"));
        }
    }
    if text.contains("**DISAGREES**: ") || text.contains("**WARNING") {
        return Err("an answer disagrees with NumPy's".into());
    }
    if text.contains("bandwidth ratio (add): n/a") {
        return Err("no STREAM bandwidth ratio".into());
    }
    let mut absent = Vec::new(); // optional layers that could not run: (layer, why)
    for (app, layers) in APPS_TABLES {
        let lines = report_section(text, &format!("### {app}:")).ok_or(format!("no table for {app}"))?;
        let header = lines
            .iter()
            .find(|l| l.starts_with("| layer |"))
            .ok_or(format!("{app}: no table header"))?;
        let columns = table_cells(header);
        let col = |name: &str| columns.iter().position(|c| c.starts_with(name));
        let (Some(time), Some(runs), Some(rss), Some(check)) =
            (col("time"), col("runs"), col("peak RSS"), col("check"))
        else {
            return Err(format!("{app}: unexpected columns {columns:?}"));
        };
        let arrays = col("arrays at the peak");
        if (*app == "chain") != arrays.is_some() {
            return Err(format!(
                "{app}: the `arrays at the peak` column belongs to the chain only"
            ));
        }
        let rows: Vec<Vec<String>> = lines
            .iter()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| layer |"))
            .map(|l| table_cells(l))
            .collect();
        for (layer, want) in layers.iter() {
            let mine: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == *layer).collect();
            let missing_layer = mine.len() == 1 && mine[0][1] == "all";
            if missing_layer {
                let why = mine[0][check].clone();
                let expected_missing = *want == 1 && *layer == "distarr C";
                if APPS_OPTIONAL_LAYERS.contains(layer) {
                    absent.push(format!("{layer} ({why})"));
                } else if !expected_missing {
                    return Err(format!("{app}: no {layer} rows: {why}"));
                }
                continue;
            }
            if mine.len() != *want {
                return Err(format!("{app}: expected {want} {layer} row(s), found {}", mine.len()));
            }
            for r in mine {
                let what = format!("{app}, {layer}, {}", r[1]);
                if r.len() != columns.len() {
                    return Err(format!("{what}: {} cells, the header has {}", r.len(), columns.len()));
                }
                let t: f64 = r[time].parse().map_err(|_| format!("{what}: no time ({})", r[check]))?;
                let n: u32 = r[runs]
                    .parse()
                    .map_err(|_| format!("{what}: bad run count {:?}", r[runs]))?;
                if !(t.is_finite() && t >= 0.0 && n >= 1) {
                    return Err(format!("{what}: bad time {t} or run count {n}"));
                }
                // `MiB` on one process, `largest / sum` on several.
                let mib: Vec<f64> = r[rss].split(" / ").filter_map(|x| x.parse().ok()).collect();
                let procs = if r[1].starts_with("1 ") { 1 } else { 2 };
                if mib.len() != procs || mib.iter().any(|m| !(m.is_finite() && *m > 1.0)) {
                    return Err(format!("{what}: bad peak RSS {:?}", r[rss]));
                }
                if !r[check].starts_with("ok: ") {
                    return Err(format!("{what}: check {:?}", r[check]));
                }
                if let Some(k) = arrays {
                    // Arrays of n alive at the peak above start-up: 3 inputs + y, plus temporaries.
                    let k: f64 = r[k]
                        .parse()
                        .map_err(|_| format!("{what}: bad arrays at the peak {:?}", r[k]))?;
                    if !(k.is_finite() && (-0.5..=16.0).contains(&k)) {
                        return Err(format!("{what}: {k} arrays at the peak"));
                    }
                    // Deferred execution allocates no temporary of the eight operations.
                    if *layer == "distarr Rust" && (r[1] == "1 rank" || r[1] == "2 ranks") && !(1.0..=4.5).contains(&k)
                    {
                        return Err(format!("{what}: {k} arrays of n at the peak, not at most 4.5"));
                    }
                }
            }
        }
        let known: Vec<&str> = layers.iter().map(|(l, _)| *l).collect();
        if let Some(r) = rows.iter().find(|r| !known.contains(&r[0].as_str())) {
            return Err(format!("{app}: unexpected row {r:?}"));
        }
    }
    absent.sort();
    absent.dedup();
    for a in absent {
        let msg = format!("optional layer not run: {a}");
        if ci {
            return Err(format!("{msg}; required in CI (CI=true)"));
        }
        warnings.push(msg);
    }
    // The target tables: each row's verdict, and the rows issues 9 and 10 ask for.
    let mut target_rows = Vec::new();
    for heading in ["## Targets (issue 8)", "## Targets (issue 9", "## Targets (issue 10"] {
        let lines = report_section(text, heading).ok_or(format!("no section {heading:?}"))?;
        for l in lines
            .iter()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| target |"))
        {
            let cells = table_cells(l);
            if cells.len() != 3
                || cells[1].is_empty()
                || !["met", "**missed**", "n/a", "—"].contains(&cells[2].as_str())
            {
                return Err(format!("{heading}: bad target row {l}"));
            }
            target_rows.push(cells);
        }
    }
    let has = |prefix: &str| target_rows.iter().find(|r| r[0].starts_with(prefix));
    for app in [
        "pi",
        "stencil",
        "nbody",
        "jacobi",
        "chain",
        "stencil4k",
        "uniform",
        "sum",
    ] {
        for ranks in ["1 rank ", "2 ranks "] {
            has(&format!(
                "{app}, distarr Python, {ranks}≥ 0.9× the speed of distarr Rust"
            ))
            .ok_or(format!("no issue 9 target row for {app} at {ranks}"))?;
        }
    }
    target_rows
        .iter()
        .find(|r| r[0].starts_with("stencil ") && r[0].contains(", distarr Python, 2 ranks ≥ 0.9 × bandwidth ratio"))
        .ok_or("no issue 9 target row for the 4000² stencil against NumPy")?;
    for layer in ["distarr Rust", "distarr C", "distarr Python"] {
        for prefix in [
            format!("pi, {layer}, 2 ranks ≥ 1.9× NumPy"),
            format!("stencil, {layer}, 2 ranks ≥ 1.1× numexpr with 2 threads"),
            format!("stencil, {layer}, 1 rank ≥ numexpr with 1 thread"),
            format!("jacobi, {layer}, 2 ranks ≥ 1.1× numexpr with 2 threads"),
        ] {
            has(&prefix).ok_or(format!("no issue 10 target row {prefix:?}"))?;
        }
    }
    for layer in ["distarr Rust", "distarr C", "distarr Python"] {
        has(&format!("nbody, {layer}, 2 ranks ≥ 1.1× numexpr with 2 threads"))
            .ok_or(format!("no issue 10 N-body target row for {layer}"))?;
    }
    for ranks in ["1 rank", "2 ranks"] {
        let r = has(&format!("chain, distarr Rust, {ranks}: no array-sized temporary"))
            .ok_or(format!("no chain memory target row at {ranks}"))?;
        if r[2] != "met" {
            return Err(format!("the fused chain allocates temporaries: {r:?}"));
        }
    }
    // The cost of a recorded operation (python/bench/recorded_ops.py): a number of µs, or n/a
    // only where the Python layer is optional.
    let r = has("Python, sequential mode, 2 ranks: ≤ 3 µs per recorded operation")
        .ok_or("no issue 10 target row for the cost of a recorded operation")?;
    match r[1].split(' ').next().map(str::parse::<f64>) {
        Some(Ok(us)) if us.is_finite() && us > 0.0 => {
            if !text.contains("## Recorded operations") {
                return Err("no Recorded operations section".into());
            }
        }
        _ if r[1].starts_with("n/a") && !ci => warnings.push(format!("recorded operations not measured: {}", r[1])),
        _ => return Err(format!("recorded operations: {:?}", r[1])),
    }
    Ok(warnings)
}

/// A quick report that `check_apps_report` accepts, built from `APPS_TABLES` (the shape of
/// bench/apps/bench.py's report, with made-up numbers).
fn synthetic_apps_report() -> String {
    let mut t = String::from(
        "# distarr application benchmark\n\n**Quick run (`--quick`)**\n\n## Machine and versions\n\n\
         - NumPy: 2.4.6\n- numexpr: 2.14.2\n- load average (1/5/15 min) before the runs: 0.1\n\n",
    );
    t += "## Targets (issue 8)\n\n| target | measured | |\n|---|---|---|\n| pi, distarr Rust, 1 rank ≥ 0.9× NumPy | 1.00× | met |\n\n";
    t += "## Targets (issue 9: Python)\n\n| target | measured | |\n|---|---|---|\n";
    for app in [
        "pi",
        "stencil",
        "nbody",
        "jacobi",
        "chain",
        "stencil4k",
        "uniform",
        "sum",
    ] {
        for ranks in ["1 rank", "2 ranks"] {
            t += &format!("| {app}, distarr Python, {ranks} ≥ 0.9× the speed of distarr Rust | 0.95× | met |\n");
        }
    }
    t += "| stencil 300×300 grid, 5 steps, distarr Python, 2 ranks ≥ 0.9 × bandwidth ratio 2.00 = 1.80× NumPy | n/a (a time of 0) | n/a |\n\n";
    t += "## Targets (issue 10: deferred execution and fusion)\n\n| target | measured | |\n|---|---|---|\n";
    for layer in ["distarr Rust", "distarr C", "distarr Python"] {
        t += &format!("| pi, {layer}, 2 ranks ≥ 1.9× NumPy | 1.95× NumPy | met |\n");
        t += &format!("| stencil, {layer}, 2 ranks ≥ 1.1× numexpr with 2 threads | 1.2× numexpr | met |\n");
        t += &format!("| stencil, {layer}, 1 rank ≥ numexpr with 1 thread | 0.9× numexpr | **missed** |\n");
        t += &format!("| nbody, {layer}, 2 ranks ≥ 1.1× numexpr with 2 threads | 1.2× numexpr | met |\n");
        t += &format!("| jacobi, {layer}, 2 ranks ≥ 1.1× numexpr with 2 threads | 1.2× numexpr | met |\n");
    }
    for ranks in ["1 rank", "2 ranks"] {
        t += &format!(
            "| chain, distarr Rust, {ranks}: no array-sized temporary (peak RSS ≤ 4.5 arrays of n above start-up) | 3.50 arrays | met |\n"
        );
    }
    t += "| Python, sequential mode, 2 ranks: ≤ 3 µs per recorded operation amortised (loops then `flush()`, median) \
          | 2.10 µs in the slowest loop | met |\n";
    t += "\n## Memory bandwidth (STREAM-like)\n\n| C add `c = a + b` | 15.0 | 30.0 | 15.0 | 2.00 | x |\n\n\
          **2-to-1-process bandwidth ratio (add): 2.00**\n\n## Applications\n\n";
    for (app, layers) in APPS_TABLES {
        let chain = *app == "chain";
        t += &format!("### {app}: something\n\n");
        t += if chain {
            "| layer | ranks | time (s) | runs | speed-up vs NumPy | peak RSS (MiB) | arrays at the peak | check |\n|---|---|---:|---:|---:|---:|---:|---|\n"
        } else {
            "| layer | ranks | time (s) | runs | speed-up vs NumPy | peak RSS (MiB) | check |\n|---|---|---:|---:|---:|---:|---|\n"
        };
        for (layer, rows) in layers.iter() {
            if *layer == "distarr C" && *rows == 1 {
                t += &format!(
                    "| {layer} | all | n/a | 0 | n/a | n/a |{} no such program |\n",
                    if chain { " n/a |" } else { "" }
                );
                continue;
            }
            let labels = [
                "1 rank",
                "2 ranks",
                "3 ranks (oversubscribed)",
                "4 ranks (oversubscribed)",
                "1 rank × 2 threads",
            ];
            for label in labels.iter().take(*rows) {
                let (label, rss) = match (*layer, label.starts_with("1 ")) {
                    ("NumPy", _) => ("1 process", "40"),
                    ("numexpr", _) => (
                        if label.starts_with("2 ") {
                            "1 process × 2 threads"
                        } else {
                            "1 process × 1 thread"
                        },
                        "40",
                    ),
                    (_, true) => (*label, "44"),
                    (_, false) => (*label, "44 / 88"),
                };
                let arrays = if chain { " 3.50 |" } else { "" };
                t += &format!("| {layer} | {label} | 0.123 | 1 | 1.00× | {rss} |{arrays} ok: \\|π̂ − π\\| small |\n");
            }
        }
        t += "\n";
    }
    t += "## Recorded operations\n\n| loop | n | deferred: flush |\n|---|---:|---:|\n| `c = a + b` | 1 | 2.10 / 2.00 |\n\n";
    t += "## Correctness\n\nNo disagreement in this run.\n";
    t
}

#[test]
fn apps_report_checker_rejects_bad_reports() {
    let good = synthetic_apps_report();
    assert_eq!(check_apps_report(&good, true), Ok(vec![]));
    let bad = |from: &str, to: &str| {
        assert!(good.contains(from), "{from:?} not in the synthetic report");
        good.replacen(from, to, 1)
    };
    for (from, to, why) in [
        ("- numexpr: 2.14.2\n", "", "no numexpr line"),
        (
            "| distarr Rust | 2 ranks | 0.123 |",
            "| distarr Rust | 2 ranks | n/a |",
            "a row without a time",
        ),
        ("| 44 / 88 |", "| n/a |", "no peak RSS"),
        ("| 44 / 88 |", "| 44 |", "one RSS for two ranks"),
        ("ok: \\|π̂", "**DISAGREES**: \\|π̂", "a disagreement"),
        (
            "| distarr Python | 1 rank | 0.123 | 1 | 1.00× | 44 | ok",
            "| distarr Python | 1 rank | 0.123 | 1 | 1.00× | 44 | n/a",
            "no check",
        ),
        (
            "| distarr Rust | 1 rank | 0.123 | 1 | 1.00× | 44 | 3.50 |",
            "| distarr Rust | 1 rank | 0.123 | 1 | 1.00× | 44 | 5.50 |",
            "a temporary in the fused chain (Rust, 1 rank)",
        ),
        (
            "3.50 arrays | met",
            "5.50 arrays | **missed**",
            "the chain's memory target missed",
        ),
        (
            "| jacobi, distarr C, 2 ranks ≥ 1.1× numexpr with 2 threads | 1.2× numexpr | met |\n",
            "",
            "an issue 10 row missing",
        ),
        (
            "| sum, distarr Python, 2 ranks ≥ 0.9× the speed of distarr Rust | 0.95× | met |\n",
            "",
            "an issue 9 row missing",
        ),
        ("| 1.2× numexpr | met |", "| 1.2× numexpr | maybe |", "a bad verdict"),
        (
            "### stencil4k: something",
            "### stencil4k-renamed: x",
            "an app table missing",
        ),
        ("| 2.10 µs in the slowest loop |", "| - |", "no recorded-operation cost"),
        (
            "## Recorded operations",
            "## Recorded",
            "no recorded operations section",
        ),
    ] {
        assert!(check_apps_report(&bad(from, to), false).is_err(), "accepted: {why}");
    }
    // A numexpr that cannot be imported: a warning, an error in CI.
    let no_numexpr: String = good
        .lines()
        .filter(|l| !l.starts_with("| numexpr | 1 process × 1 thread |"))
        .map(|l| {
            if l.starts_with("| numexpr |") {
                let chain = l.contains(" 3.50 |");
                format!(
                    "| numexpr | all | n/a | 0 | n/a | n/a |{} cannot import numexpr |\n",
                    if chain { " n/a |" } else { "" }
                )
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let warned = check_apps_report(&no_numexpr, false).expect("a warning outside CI");
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(
        check_apps_report(&no_numexpr, true).is_err(),
        "accepted a missing numexpr in CI"
    );
}

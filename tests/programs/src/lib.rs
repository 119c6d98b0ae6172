//! Helpers shared by the multi-rank test programs run by `tests/multirank.rs`.
//!
//! Convention: a program exits 0 on every rank only if every check passed, and its last act on
//! each rank is to print `distarr-test: ok rank=R` (see [`finish`]); the harness requires that
//! line from every rank.
use distarr_runtime::{ErrorKind, Runtime};
use std::fmt::Debug;

/// Unwraps a `Result` or panics with the rank, the expression, the place and the error.
#[macro_export]
macro_rules! t {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => panic!(
                "[rank {}] {} ({}:{}): {e}",
                $crate::who(),
                stringify!($e),
                file!(),
                line!()
            ),
        }
    };
}

/// The calling rank, for messages (`?` when no runtime is up).
pub fn who() -> String {
    Runtime::current().map_or_else(|_| "?".to_string(), |rt| rt.rank().to_string())
}

/// Panics with a rank-prefixed message when `cond` is false.
#[track_caller]
pub fn check(cond: bool, msg: impl FnOnce() -> String) {
    if !cond {
        panic!("[rank {}] check failed: {}", who(), msg());
    }
}

/// Asserts that `r` failed with `kind`.
#[track_caller]
pub fn expect_err<T: Debug>(r: distarr_runtime::Result<T>, kind: ErrorKind, what: &str) {
    match r {
        Ok(v) => panic!("[rank {}] {what}: expected {kind:?} error, got Ok({v:?})", who()),
        Err(e) if e.kind() == kind => {}
        Err(e) => panic!("[rank {}] {what}: expected {kind:?}, got {e}", who()),
    }
}

/// Makes a panic on any rank end the whole job at once: after the usual panic message, the
/// hook calls `MPI_Abort`. Without it a panicking rank unwinds into the runtime's destructors,
/// whose collective `MPI_Win_free` waits for ranks that are elsewhere, and the job hangs until
/// the harness's timeout. Call it first in `main`.
pub fn abort_on_panic() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default(info);
        // The message is printed: distarr's fault reporting stays quiet about this rank.
        distarr_runtime::abort(101);
    }));
}

/// Finalizes the runtime and prints the success line the harness looks for.
pub fn finish(rt: &Runtime) {
    let me = rt.rank();
    rt.finalize().unwrap_or_else(|e| panic!("[rank {me}] finalize: {e}"));
    println!("distarr-test: ok rank={me}");
}

/// SplitMix64: a tiny deterministic generator, so every rank can replay every other rank's
/// random choices and compute exact expected results.
#[derive(Clone, Debug)]
pub struct Rng(pub u64);

impl Rng {
    /// A generator for a (phase, rank)-style pair of keys.
    pub fn new(a: u64, b: u64) -> Rng {
        Rng(a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_add(0x632B_E59B_D9B4_E019))
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// A Python interpreter that can import NumPy, for the NumPy differential tests:
/// `$DISTARR_PYTHON` if set, else Debian's `/usr/bin/python3` (python3-numpy, installed by
/// `scripts/setup.sh`; a `python3` earlier on `PATH`, e.g. pyenv's, may lack NumPy), else
/// `python3`. `None` when none of them imports NumPy. Local: call it on one rank and broadcast
/// the answer (see [`numpy_python_everywhere`]).
pub fn numpy_python() -> Option<String> {
    let candidates = std::env::var("DISTARR_PYTHON")
        .ok()
        .into_iter()
        .chain(["/usr/bin/python3".to_string(), "python3".to_string()]);
    candidates.into_iter().find(|py| {
        std::process::Command::new(py)
            .args(["-c", "import numpy"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// [`numpy_python`] as found on rank 0, with every rank agreeing on whether it exists
/// (`Some` only on rank 0; other ranks get `Some(String::new())`). **Collective.**
pub fn numpy_python_everywhere(rt: &Runtime) -> Option<String> {
    let found = if rt.rank() == 0 { numpy_python() } else { None };
    let mut flag = [u8::from(found.is_some())];
    rt.broadcast(&mut flag, 0)
        .unwrap_or_else(|e| panic!("[rank {}] broadcast: {e}", rt.rank()));
    match (flag[0], found) {
        (0, _) => None,
        (_, Some(py)) => Some(py),
        (_, None) => Some(String::new()),
    }
}

/// Runs `python script args...` on rank 0 and makes its success collective: every rank panics
/// (with rank 0's output in rank 0's message) if it failed. Returns rank 0's stdout (empty
/// elsewhere). **Collective.**
pub fn run_python_on_root(rt: &Runtime, python: &str, script: &std::path::Path, args: &[&str]) -> String {
    let mut out = String::new();
    let mut ok = [1u8];
    if rt.rank() == 0 {
        match std::process::Command::new(python).arg(script).args(args).output() {
            Ok(o) if o.status.success() => out = String::from_utf8_lossy(&o.stdout).into_owned(),
            Ok(o) => {
                ok[0] = 0;
                out = format!(
                    "{python} {} {args:?} failed ({}):\n--- stdout ---\n{}--- stderr ---\n{}",
                    script.display(),
                    o.status,
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                );
            }
            Err(e) => {
                ok[0] = 0;
                out = format!("cannot run {python}: {e}");
            }
        }
    }
    rt.broadcast(&mut ok, 0)
        .unwrap_or_else(|e| panic!("[rank {}] broadcast: {e}", rt.rank()));
    check(ok[0] == 1, || {
        if rt.rank() == 0 {
            out.clone()
        } else {
            "the Python check failed on rank 0 (see its message)".to_string()
        }
    });
    out
}

/// A fresh directory under the system temp dir, named uniquely per run by rank 0 (its pid and
/// the time) and created by rank 0 before any rank returns. **Collective.**
pub fn shared_temp_dir(rt: &Runtime, tag: &str) -> std::path::PathBuf {
    let mut key = [0u64; 2];
    if rt.rank() == 0 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        key = [u64::from(std::process::id()), nanos];
    }
    rt.broadcast(&mut key, 0)
        .unwrap_or_else(|e| panic!("[rank {}] broadcast: {e}", rt.rank()));
    let dir = std::env::temp_dir().join(format!("distarr-{tag}-{}-{}", key[0], key[1]));
    if rt.rank() == 0 {
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("[rank 0] cannot create {}: {e}", dir.display()));
    }
    rt.barrier()
        .unwrap_or_else(|e| panic!("[rank {}] barrier: {e}", rt.rank()));
    dir
}

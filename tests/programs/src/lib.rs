//! Helpers shared by the multi-rank test programs run by `tests/multirank.rs`.
//!
//! Convention: a program exits 0 on every rank only if every check passed, and its last act on
//! each rank is to print `distarr-test: ok rank=R` (see [`finish`]); the harness requires that
//! line from every rank.
use distarr_runtime::{ErrorKind, Runtime};
use std::fmt::Debug;

/// The calling rank, for messages (`?` when no runtime is up).
fn who() -> String {
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

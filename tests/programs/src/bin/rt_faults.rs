//! A job in which one rank fails, for the fault tests of `tests/multirank.rs` (`rt_fault_*`):
//! they require the whole job to end non-zero, soon, with a message naming the rank.
//!
//! Every rank runs steps of `c = a + b` on distributed arrays followed by a `sync` and a
//! one-sided put to its right neighbour. Rank `DISTARR_TEST_FAULT_RANK` (default 1) fails as
//! `DISTARR_TEST_FAULT` says:
//! - `kill`: sends itself `SIGKILL` at step 3 (the others are in, or about to enter, a sync);
//! - `abort`: calls `abort()` from a second thread 0.5 s into its first array operation. Run it
//!   with `DISTARR_TEST_SLOW_RANK` = the rank and `DISTARR_TEST_DELAY_US` = several seconds: the
//!   engine's test hook then holds the operation just before its compute step, so the abort
//!   lands inside the operation;
//! - `segv`: writes through a null pointer at step 3;
//! - `exit`: exits with status 3 at step 3 without finalizing;
//! - `hang`: sleeps for 10 minutes at step 3 instead of going on (only `DISTARR_TIMEOUT` can end
//!   the job early);
//! - `diverge`: calls an all-reduce at step 3 where the others call a barrier.
//!
//! Without `DISTARR_TEST_FAULT` every rank finishes normally (the test that the program itself
//! works).
use distarr_arrays::ufunc::{binary, BinaryOp, Operand};
use distarr_arrays::{DType, DistArray, Layout};
use distarr_mpitests::{check, finish, t};
use distarr_runtime::{ReduceOp, Runtime};
use std::time::Duration;

fn main() {
    let fault = std::env::var("DISTARR_TEST_FAULT").unwrap_or_default();
    let victim: usize = std::env::var("DISTARR_TEST_FAULT_RANK")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let rt = t!(Runtime::init());
    let (me, n) = (rt.rank(), rt.nranks());
    let fails = me == victim && !fault.is_empty();
    if fails && fault == "abort" {
        std::thread::spawn(|| {
            std::thread::sleep(Duration::from_millis(500));
            eprintln!("rt_faults: calling abort() inside an array operation");
            std::process::abort();
        });
    }
    let seg = t!(rt.alloc(8 * n as u64));
    let a = t!(DistArray::arange(&rt, 0.0, 100_000.0, 1.0, DType::F64, Layout::Block));
    let b = t!(DistArray::arange(&rt, 0.0, 100_000.0, 1.0, DType::F64, Layout::Block));
    let c = t!(DistArray::zeros(&rt, &[100_000], DType::F64, Layout::Block));
    for step in 0..6u64 {
        if fails && step == 3 {
            match fault.as_str() {
                "kill" => {
                    eprintln!("rt_faults: rank {me} sends itself SIGKILL");
                    // SAFETY: kill(2) with this process's id and a valid signal number.
                    unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
                }
                "segv" => {
                    eprintln!("rt_faults: rank {me} writes through a null pointer");
                    // SAFETY: deliberately not safe: the write faults (SIGSEGV), which is the
                    // point of this mode; a volatile write cannot be optimised away.
                    unsafe { std::ptr::null_mut::<u64>().write_volatile(1) };
                }
                "exit" => {
                    eprintln!("rt_faults: rank {me} exits without finalizing");
                    std::process::exit(3);
                }
                "hang" => {
                    eprintln!("rt_faults: rank {me} stops taking part (sleeps)");
                    std::thread::sleep(Duration::from_secs(600));
                }
                "diverge" => {
                    eprintln!("rt_faults: rank {me} calls an all-reduce where the others sync");
                    let mut x = [1u64];
                    t!(rt.allreduce(&mut x, ReduceOp::Sum));
                }
                _ => {}
            }
        }
        t!(binary(BinaryOp::Add, Operand::Array(&a), Operand::Array(&b), Some(&c)));
        t!(rt.sync());
        t!(rt.put((me + 1) % n, seg, 8 * me as u64, &step.to_le_bytes()));
        t!(rt.sync());
    }
    let mut got = [0u8; 8];
    let left = (me + n - 1) % n;
    t!(rt.get(&mut got, me, seg, 8 * left as u64));
    check(u64::from_le_bytes(got) == 5, || {
        format!("last put from rank {left}: {got:?}")
    });
    finish(&rt);
}

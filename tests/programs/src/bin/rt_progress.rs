//! Progress: one-sided operations to a rank that computes without calling MPI must complete.
//!
//! The last rank ("busy") spins for up to 20 s on a flag word in its own segment memory
//! (atomic Acquire loads, plus floating-point work) without calling MPI. Meanwhile every other
//! rank gets a known pattern from it (timed, checked), accumulates into it and does a
//! fetch-and-op on it; ranks other than 0 then bump a "done" counter at the busy rank, which
//! rank 0 polls with fetch-and-op NoOp; finally rank 0 puts the flag. Only when the busy rank
//! has seen the flag does it call MPI again; then everybody syncs and the busy rank checks that
//! the accumulates and fetch-and-ops landed.
//!
//! The node-local memcpy path is switched off so that the get really goes through MPI. On Open
//! MPI (osc/sm) this passes because RMA is truly one-sided; on MPICH it passes only because the
//! runtime's progress thread (`DISTARR_PROGRESS=auto`) makes the target answer.
use distarr_mpitests::{check, finish, t};
use distarr_runtime::{AccOp, CommSource, Config, Runtime};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Byte offsets in the segment.
const FLAG: u64 = 0;
const ACC: u64 = 8;
const FOP: u64 = 16;
const DONE: u64 = 24;
const STARTED: u64 = 32;
const PAT: u64 = 64;
/// u64 words of the pattern (64 KiB: more than one eager message on every transport).
const P: usize = 8192;
const FOP_INIT: u64 = 7;
const ACC_INIT: u64 = 1000;
const TIMEOUT: Duration = Duration::from_secs(20);

/// Writes one line to stderr in one call, so lines of different ranks do not interleave.
fn say(line: String) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(format!("{line}\n").as_bytes());
}

fn pattern(k: usize) -> u64 {
    (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xDEAD_BEEF
}

fn acc_operand(o: usize) -> u64 {
    42 + o as u64
}

/// Distinct bytes for up to 7 origins, so the fetched value tells whose operations came first.
fn fop_operand(o: usize) -> u64 {
    100 << (8 * (o % 7))
}

fn main() {
    let mut cfg = t!(Config::from_env());
    cfg.shm_fastpath = false;
    let rt = t!(Runtime::init_with(cfg, CommSource::World));
    let (me, n) = (rt.rank(), rt.nranks());
    let info = rt.info();
    if me == 0 {
        say(format!(
            "rt_progress: {n} ranks, {:?}, window {:?}, shm fastpath {}, progress thread {}",
            info.flavor, info.window, info.shm_fastpath, info.progress_thread
        ));
    }
    if n < 2 {
        say("rt_progress: needs at least 2 ranks; nothing to test at 1".to_string());
        finish(&rt);
        return;
    }
    let busy = n - 1;
    let origins = n - 1; // ranks 0..busy
    let len = PAT + (P * 8) as u64;
    let seg = t!(rt.alloc(len));
    let (base, seg_len) = t!(rt.local_ptr(seg));
    check(seg_len == len && base as usize % 8 == 0, || {
        format!("segment of {seg_len} bytes at {base:p}")
    });
    if me == busy {
        let words = base.cast::<u64>();
        // SAFETY:
        // - `base` is 8-aligned and valid for `len` bytes = PAT/8 + P words of this rank's part;
        // - no other rank accesses the segment before the sync below.
        unsafe {
            words.add((FLAG / 8) as usize).write(0);
            words.add((ACC / 8) as usize).write(ACC_INIT);
            words.add((FOP / 8) as usize).write(FOP_INIT);
            words.add((DONE / 8) as usize).write(0);
            words.add((STARTED / 8) as usize).write(0);
            for k in 0..P {
                words.add((PAT / 8) as usize + k).write(pattern(k));
            }
        }
    }
    t!(rt.sync());

    if me == busy {
        // SAFETY:
        // - the flag word is 8-aligned, inside this rank's part of `seg`, and lives until the
        //   segment is freed at the end of the program;
        // - while the reference lives the word is accessed only atomically: here by loads, by
        //   other ranks through MPI (one-sided put) or node-shared stores.
        let flag = unsafe { AtomicU64::from_ptr(base.add(FLAG as usize).cast::<u64>()) };
        // SAFETY: as for `flag`; other ranks only read this word (with gets).
        let started = unsafe { AtomicU64::from_ptr(base.add(STARTED as usize).cast::<u64>()) };
        started.store(1, Ordering::Release);
        let start = Instant::now();
        let mut x = 1.0f64;
        let mut spins = 0u64;
        while flag.load(Ordering::Acquire) != 1 {
            for _ in 0..1000 {
                x = std::hint::black_box(x * 1.000_000_1 + 1e-9).sqrt() + 0.5;
            }
            spins += 1;
            if start.elapsed() > TIMEOUT {
                panic!(
                    "[rank {me}] progress: target never saw the flag ({:.1} s busy without calling MPI; \
                     did one-sided operations to a busy rank stall?)",
                    start.elapsed().as_secs_f64()
                );
            }
        }
        say(format!(
            "rt_progress: busy rank {me} saw the flag after {:.3} s ({spins} compute rounds, x={x:.3})",
            start.elapsed().as_secs_f64()
        ));
    } else {
        // Give the busy rank time to leave the sync and start computing, then make sure it
        // has: it sets STARTED just before its loop and calls no MPI until it sees the flag.
        std::thread::sleep(Duration::from_millis(200));
        let t0 = Instant::now();
        let mut word = [0u64];
        let mut reads = 0u64;
        while word[0] != 1 {
            t!(rt.get_elems(&mut word, busy, seg, STARTED));
            reads += 1;
            check(t0.elapsed() < TIMEOUT, || {
                "the busy rank never started computing".to_string()
            });
        }
        let t_started = t0.elapsed();
        let t0 = Instant::now();
        let mut buf = vec![0u64; P];
        t!(rt.get_elems(&mut buf, busy, seg, PAT));
        let t_get = t0.elapsed();
        for (k, &v) in buf.iter().enumerate() {
            check(v == pattern(k), || {
                format!("get from busy rank: word {k} = {v:#x}, want {:#x}", pattern(k))
            });
        }
        let t1 = Instant::now();
        t!(rt.accumulate(&[acc_operand(me)], busy, seg, ACC, AccOp::Sum));
        let t_acc = t1.elapsed();
        let t2 = Instant::now();
        let old: u64 = t!(rt.fetch_and_op(fop_operand(me), busy, seg, FOP, AccOp::Sum));
        let t_fop = t2.elapsed();
        // The old value is FOP_INIT plus the operands of some subset of the other origins.
        let others: Vec<u64> = (0..origins).filter(|&o| o != me).map(fop_operand).collect();
        let plausible = others.len() > 12
            || (0u32..1 << others.len()).any(|mask| {
                FOP_INIT
                    + others
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| mask >> i & 1 == 1)
                        .map(|(_, v)| v)
                        .sum::<u64>()
                    == old
            });
        check(plausible, || {
            format!("fetch_and_op on busy rank returned {old}, not {FOP_INIT} + a subset of {others:?}")
        });
        if me == 0 {
            // Wait for the other origins (each bumps DONE when finished); this polling is
            // itself a stream of atomics that the busy target must serve.
            let t3 = Instant::now();
            let mut polls = 0u64;
            loop {
                let done: u64 = t!(rt.fetch_and_op(0u64, busy, seg, DONE, AccOp::NoOp));
                polls += 1;
                if done == (origins - 1) as u64 {
                    break;
                }
                check(t3.elapsed() < TIMEOUT, || {
                    format!("other origins never finished: done counter {done}")
                });
                std::thread::sleep(Duration::from_micros(200));
            }
            t!(rt.put(busy, seg, FLAG, &1u64.to_ne_bytes()));
            say(format!(
                "rt_progress: rank 0 -> busy rank: saw it computing after {reads} gets ({:.3} ms); get {} KiB {:.3} ms, accumulate {:.3} ms, fetch_and_op {:.3} ms, \
                 {polls} done-polls, flag put at {:.3} s",
                t_started.as_secs_f64() * 1e3,
                P * 8 / 1024,
                t_get.as_secs_f64() * 1e3,
                t_acc.as_secs_f64() * 1e3,
                t_fop.as_secs_f64() * 1e3,
                t0.elapsed().as_secs_f64()
            ));
        } else {
            t!(rt.fetch_and_op(1u64, busy, seg, DONE, AccOp::Sum));
            say(format!(
                "rt_progress: rank {me} -> busy rank: get {:.3} ms, accumulate {:.3} ms, fetch_and_op {:.3} ms",
                t_get.as_secs_f64() * 1e3,
                t_acc.as_secs_f64() * 1e3,
                t_fop.as_secs_f64() * 1e3
            ));
        }
    }

    t!(rt.sync());
    if me == busy {
        let words = base.cast::<u64>().cast_const();
        // SAFETY: after the sync no rank writes the segment; the words are in bounds and aligned.
        let (acc, fop, done) = unsafe {
            (
                words.add((ACC / 8) as usize).read(),
                words.add((FOP / 8) as usize).read(),
                words.add((DONE / 8) as usize).read(),
            )
        };
        let want_acc = ACC_INIT + (0..origins).map(acc_operand).sum::<u64>();
        let want_fop = FOP_INIT + (0..origins).map(fop_operand).sum::<u64>();
        check(acc == want_acc, || {
            format!("accumulates into the busy rank: {acc}, want {want_acc}")
        });
        check(fop == want_fop, || {
            format!("fetch_and_ops into the busy rank: {fop}, want {want_fop}")
        });
        check(done == (origins - 1) as u64, || {
            format!("done counter {done}, want {}", origins - 1)
        });
    }
    t!(rt.sync());
    t!(rt.free(seg));
    finish(&rt);
}

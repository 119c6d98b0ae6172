//! The `DISTARR_TEST_POISON=1` heap hook (runtime/src/poison.rs) itself: heap memory outside
//! live segments holds the pattern, `Runtime::check_heap_poison` finds a byte written in a
//! segment's red zone, in a free block and in a guard zone (naming where), and freeing a segment
//! poisons its memory again. Legitimate writes (puts to every byte of a segment, from every
//! rank) leave the check clean. Run with `DISTARR_TEST_POISON=1` (tests/multirank.rs does);
//! without it the program checks that the hook stays off.
use distarr_mpitests::{check, finish, t};
use distarr_runtime::{CommSource, Config, ErrorKind, Runtime};

/// Flips byte `at` (relative to `p`), runs the check, restores the byte; returns the error.
///
/// # Safety
/// `p + at` is this rank's window memory, which no other rank accesses meanwhile.
unsafe fn corrupt_and_check(rt: &Runtime, p: *mut u8, at: isize) -> String {
    // SAFETY: the caller's contract.
    let q = unsafe { p.offset(at) };
    // SAFETY: as above; volatile, as other processes map the memory.
    unsafe { q.write_volatile(q.read_volatile() ^ 0x5A) };
    let r = rt.check_heap_poison();
    // SAFETY: as above.
    unsafe { q.write_volatile(q.read_volatile() ^ 0x5A) };
    match r {
        Ok(()) => panic!(
            "[rank {}] a byte written at {at} from a segment went unnoticed",
            rt.rank()
        ),
        Err(e) => {
            check(e.kind() == ErrorKind::HeapCorrupted, || format!("kind {:?}", e.kind()));
            e.message().to_string()
        }
    }
}

fn main() {
    distarr_mpitests::abort_on_panic();
    let on = std::env::var("DISTARR_TEST_POISON").is_ok_and(|v| v.trim() == "1");
    let mut cfg = t!(Config::from_env());
    cfg.heap_limit = Some(256 << 20);
    let rt = t!(Runtime::init_with(cfg, CommSource::World));
    let (me, n) = (rt.rank(), rt.nranks());
    let a = t!(rt.alloc(100));
    let b = t!(rt.alloc(64));
    t!(rt.sync());
    t!(rt.check_heap_poison());
    if !on {
        // The hook is off: fresh heap memory is zero (no pattern anywhere).
        let (p, len) = t!(rt.local_ptr(a));
        // SAFETY: `len` bytes of this rank's part of `a`, unwritten by anyone.
        let bytes = unsafe { std::slice::from_raw_parts(p, len as usize) };
        check(bytes.iter().all(|&x| x == 0), || "a fresh segment is not zero".into());
        t!(rt.sync());
        t!(rt.free(a));
        t!(rt.free(b));
        finish(&rt);
        return;
    }
    // Every byte of both segments written by every rank in turn: legitimate, check clean.
    for r in 0..n {
        if r == me {
            for to in 0..n {
                t!(rt.put(to, a, 0, &[me as u8 + 1; 100]));
                t!(rt.put(to, b, 0, &[0xEE; 64]));
            }
        }
        t!(rt.sync());
    }
    t!(rt.check_heap_poison());
    let (pa, la) = t!(rt.local_ptr(a));
    let (pb, _) = t!(rt.local_ptr(b));
    check(la == 100, || format!("segment length {la}"));
    // The offsets below stay inside this rank's window memory: the guard zone of 4096 bytes
    // before the first segment, `a`'s unit (its 100 bytes, red zone and padding: 192 bytes), the
    // free memory after `b`'s unit; no rank accesses any of it between these syncs.
    // SAFETY: see above (this rank's window memory, untouched by others now).
    let msg = unsafe { corrupt_and_check(&rt, pa, 100) };
    check(msg.contains("red zone after the segment"), || msg.clone());
    // SAFETY: see above (this rank's window memory, untouched by others now).
    let msg = unsafe { corrupt_and_check(&rt, pa, 163) };
    check(msg.contains("red zone after the segment"), || msg.clone());
    // SAFETY: see above (this rank's window memory, untouched by others now).
    let msg = unsafe { corrupt_and_check(&rt, pa, -1) };
    check(msg.contains("guard zone before"), || msg.clone());
    // `b` (64 bytes) follows `a`'s unit; free memory after `b`'s unit (64 + red zone 64).
    // SAFETY: see above (this rank's window memory, untouched by others now).
    let msg = unsafe { corrupt_and_check(&rt, pb, 64 + 64 + 5) };
    check(msg.contains("free block"), || msg.clone());
    t!(rt.check_heap_poison());
    t!(rt.sync());
    // Freeing `a` poisons its unit again: a stale pointer's write is caught there.
    t!(rt.free(a));
    t!(rt.check_heap_poison());
    // SAFETY: see above (this rank's window memory, untouched by others now).
    let msg = unsafe { corrupt_and_check(&rt, pa, 0) };
    check(msg.contains("free block"), || msg.clone());
    // A new allocation in the hole starts with the pattern (uninitialised), not zeros.
    let c = t!(rt.alloc(10));
    let (pc, _) = t!(rt.local_ptr(c));
    check(pc == pa, || "first fit reuses the hole".into());
    // SAFETY: 10 bytes of this rank's part of `c`, written by nobody yet.
    let fresh = unsafe { std::slice::from_raw_parts(pc, 10) };
    check(fresh.iter().any(|&x| x != 0), || {
        "a reused segment holds the pattern".into()
    });
    t!(rt.sync());
    t!(rt.free(c));
    t!(rt.free(b));
    t!(rt.check_heap_poison());
    finish(&rt);
}

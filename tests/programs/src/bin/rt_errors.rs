//! Bad use gives errors, not crashes, and nothing lands outside its segment: rank out of
//! range, out-of-bounds and overflowing ranges, misaligned atomics, freed and forged segment
//! handles, ops not defined for a type, mismatched collective arguments, heap exhaustion, and
//! calls before init / after finalize.
use distarr_mpitests::{check, expect_err};
use distarr_runtime::{AccOp, CommSource, Config, ErrorKind, ReduceOp, Runtime, Seg};

fn main() {
    check(Runtime::current().is_err(), || {
        "Runtime::current() before init must fail".into()
    });
    expect_err(Runtime::current(), ErrorKind::NotInitialized, "current() before init");
    let mut cfg = Config::from_env().unwrap();
    cfg.heap_limit = Some(256 << 20);
    let rt = Runtime::init_with(cfg, CommSource::World).unwrap();
    let (me, n) = (rt.rank(), rt.nranks());
    check(Runtime::current().is_ok(), || "current() after init".into());

    // Two adjacent segments; A is 100 bytes, B follows it.
    let a = rt.alloc(100).unwrap();
    let b = rt.alloc(64).unwrap();
    rt.put(me, b, 0, &[0xAB; 64]).unwrap();
    rt.sync().unwrap();
    let peer = (me + 1) % n;

    // Rank out of range.
    expect_err(rt.get(&mut [0u8; 4], n, a, 0), ErrorKind::RankOutOfRange, "get rank n");
    expect_err(
        rt.put(usize::MAX, a, 0, &[1]),
        ErrorKind::RankOutOfRange,
        "put rank MAX",
    );
    expect_err(
        rt.accumulate(&[1i64], n + 3, a, 0, AccOp::Sum),
        ErrorKind::RankOutOfRange,
        "acc rank",
    );
    expect_err(
        rt.fetch_and_op(1u64, n, a, 0, AccOp::Sum),
        ErrorKind::RankOutOfRange,
        "fop rank",
    );
    expect_err(
        rt.compare_and_swap(0u64, 1, n, a, 0),
        ErrorKind::RankOutOfRange,
        "cas rank",
    );
    expect_err(rt.flush(n), ErrorKind::RankOutOfRange, "flush rank");
    expect_err(rt.broadcast(&mut [0u8], n), ErrorKind::RankOutOfRange, "broadcast root");

    // Out of bounds: past the end, straddling into B, overflowing offsets. None may write.
    expect_err(
        rt.put(peer, a, 90, &[0xFF; 20]),
        ErrorKind::OutOfBounds,
        "put straddling into next segment",
    );
    expect_err(
        rt.put(peer, a, 100, &[0xFF]),
        ErrorKind::OutOfBounds,
        "put one past the end",
    );
    expect_err(
        rt.put(peer, a, u64::MAX, &[0xFF; 2]),
        ErrorKind::OutOfBounds,
        "put at u64::MAX",
    );
    expect_err(
        rt.get(&mut [0u8; 101], peer, a, 0),
        ErrorKind::OutOfBounds,
        "get longer than segment",
    );
    expect_err(
        rt.put_nb(peer, a, 96, &[0xFF; 8]),
        ErrorKind::OutOfBounds,
        "put_nb out of bounds",
    );
    expect_err(
        rt.get_nb(&mut [0u8; 8], peer, a, u64::MAX - 3),
        ErrorKind::OutOfBounds,
        "get_nb overflow",
    );
    expect_err(
        rt.accumulate(&[1u64; 13], peer, a, 0, AccOp::Sum),
        ErrorKind::OutOfBounds,
        "acc past end",
    );
    expect_err(
        rt.fetch_and_op(1u64, peer, a, 96, AccOp::Sum),
        ErrorKind::OutOfBounds,
        "fop past end",
    );
    expect_err(
        rt.compare_and_swap(0u64, 1, peer, a, 96),
        ErrorKind::OutOfBounds,
        "cas past end",
    );
    let mut r = [0u64; 2];
    expect_err(
        rt.get_accumulate(&[1u64; 2], &mut r, peer, a, 88, AccOp::Sum),
        ErrorKind::OutOfBounds,
        "get_acc past end",
    );

    // Misaligned atomics.
    expect_err(
        rt.fetch_and_op(1u64, peer, a, 4, AccOp::Sum),
        ErrorKind::Misaligned,
        "fop misaligned",
    );
    expect_err(
        rt.compare_and_swap(0i32, 1, peer, a, 2),
        ErrorKind::Misaligned,
        "cas misaligned",
    );
    expect_err(
        rt.accumulate(&[1.0f64], peer, a, 12, AccOp::Sum),
        ErrorKind::Misaligned,
        "acc misaligned",
    );

    // Ops not defined for the type.
    expect_err(
        rt.compare_and_swap(0.0f64, 1.0, peer, a, 0),
        ErrorKind::InvalidArgument,
        "cas on f64",
    );
    expect_err(
        rt.accumulate(&[1.0f32], peer, a, 0, AccOp::Bxor),
        ErrorKind::InvalidArgument,
        "bxor on f32",
    );
    expect_err(
        rt.fetch_and_op(1.0f64, peer, a, 0, AccOp::Band),
        ErrorKind::InvalidArgument,
        "band on f64",
    );
    expect_err(
        rt.allreduce(&mut [1.0f64], ReduceOp::Bor),
        ErrorKind::InvalidArgument,
        "bor allreduce on f64",
    );
    expect_err(
        rt.get_accumulate(&[1u64; 2], &mut [0u64; 3], peer, a, 0, AccOp::Sum),
        ErrorKind::InvalidArgument,
        "length mismatch",
    );
    expect_err(
        rt.allgather(&[1u64], &mut vec![0u64; n + 1]),
        ErrorKind::InvalidArgument,
        "allgather length",
    );

    // Nothing above wrote anything: B is intact everywhere, A is still zero.
    rt.sync().unwrap();
    let mut bb = [0u8; 64];
    rt.get(&mut bb, me, b, 0).unwrap();
    check(bb == [0xAB; 64], || format!("segment B was modified: {bb:?}"));
    let mut aa = [1u8; 100];
    rt.get(&mut aa, me, a, 0).unwrap();
    check(aa == [0u8; 100], || {
        "segment A was modified by a refused operation".into()
    });

    // Freed and forged handles.
    let c = rt.alloc(64).unwrap();
    rt.free(c).unwrap();
    expect_err(
        rt.get(&mut [0u8; 8], peer, c, 0),
        ErrorKind::InvalidSegment,
        "get on freed segment",
    );
    expect_err(
        rt.put(peer, c, 0, &[1]),
        ErrorKind::InvalidSegment,
        "put on freed segment",
    );
    expect_err(
        rt.fetch_and_op(1u64, peer, c, 0, AccOp::Sum),
        ErrorKind::InvalidSegment,
        "fop on freed segment",
    );
    expect_err(rt.local_ptr(c), ErrorKind::InvalidSegment, "local_ptr on freed segment");
    expect_err(rt.free(c), ErrorKind::InvalidSegment, "double free");
    for raw in [0u32, 12345, u32::MAX, a.raw() ^ (1 << 25)] {
        expect_err(
            rt.get(&mut [0u8; 1], peer, Seg::from_raw(raw), 0),
            ErrorKind::InvalidSegment,
            "forged segment",
        );
    }
    // A new allocation reusing the freed slot does not revive the old handle.
    let d = rt.alloc(64).unwrap();
    check(d != c, || "reused slot produced an equal handle".into());
    expect_err(
        rt.get(&mut [0u8; 8], peer, c, 0),
        ErrorKind::InvalidSegment,
        "stale handle after reuse",
    );

    // Collective argument mismatch is detected on every rank (needs two ranks to disagree).
    if n > 1 {
        expect_err(
            rt.alloc(64 + me as u64),
            ErrorKind::CollectiveMismatch,
            "alloc with different sizes",
        );
        let which = if me == 0 { a } else { d };
        expect_err(
            rt.free(which),
            ErrorKind::CollectiveMismatch,
            "free with different handles",
        );
    }

    // Heap exhaustion is a clear error on every rank, and the heap still works afterwards.
    expect_err(rt.alloc(1 << 40), ErrorKind::OutOfMemory, "1 TiB allocation");
    expect_err(rt.alloc(u64::MAX), ErrorKind::OutOfMemory, "u64::MAX allocation");
    let mut grabbed = Vec::new();
    let oom = loop {
        match rt.alloc(48 << 20) {
            Ok(s) => grabbed.push(s),
            Err(e) => break e,
        }
        check(grabbed.len() < 100, || "heap limit not enforced".into());
    };
    check(oom.kind() == ErrorKind::OutOfMemory, || {
        format!("expected OutOfMemory, got {oom}")
    });
    for s in grabbed {
        rt.free(s).unwrap();
    }
    let e = rt.alloc(8).unwrap();
    rt.put_elems(peer, e, 0, &[5u64]).unwrap();
    rt.sync().unwrap();

    // After finalize every call fails cleanly.
    let rt2 = rt.clone();
    rt.finalize().unwrap();
    expect_err(
        rt2.get(&mut [0u8; 8], peer, a, 0),
        ErrorKind::NotInitialized,
        "get after finalize",
    );
    expect_err(
        rt2.put(peer, a, 0, &[1]),
        ErrorKind::NotInitialized,
        "put after finalize",
    );
    expect_err(rt2.alloc(8), ErrorKind::NotInitialized, "alloc after finalize");
    expect_err(rt2.free(a), ErrorKind::NotInitialized, "free after finalize");
    expect_err(rt2.barrier(), ErrorKind::NotInitialized, "barrier after finalize");
    expect_err(rt2.sync(), ErrorKind::NotInitialized, "sync after finalize");
    expect_err(
        rt2.fetch_and_op(1u64, peer, a, 0, AccOp::Sum),
        ErrorKind::NotInitialized,
        "fop after finalize",
    );
    expect_err(rt2.finalize(), ErrorKind::NotInitialized, "second finalize");
    expect_err(
        Runtime::current(),
        ErrorKind::NotInitialized,
        "current() after finalize",
    );
    expect_err(Runtime::init(), ErrorKind::NotInitialized, "init after MPI_Finalize");
    println!("distarr-test: ok rank={me}");
}

//! Every runtime operation, checked against closed-form expected values at any rank count:
//! get/put (bytes, typed, blocking, non-blocking, to self and to every peer), accumulate with
//! every op and type, get-accumulate, fetch-and-op, compare-and-swap (32- and 64-bit, to self
//! too), implicit-completion (`nbi`) gets and puts, the epoch calls and the collectives.
use distarr_mpitests::{check, finish};
use distarr_runtime::{AccOp, Elem, ErrorKind, ReduceOp, Runtime, Seg};

/// Value rank `r` stores at element `k` of its part of the test segment.
fn pattern(r: usize, k: usize) -> i64 {
    (r as i64) * 1_000_000 + k as i64 * 3 - 7
}

const N: usize = 257; // elements per rank: odd on purpose

fn fill_local(rt: &Runtime, seg: Seg) {
    let (p, len) = rt.local_ptr(seg).unwrap();
    assert!(len as usize >= N * 8);
    for k in 0..N {
        // SAFETY: `p` points to this rank's part of `seg` (at least N i64, 64-byte aligned);
        // no other rank writes it before the following sync.
        unsafe { p.cast::<i64>().add(k).write(pattern(rt.rank(), k)) };
    }
    rt.sync().unwrap();
}

fn local_i64(rt: &Runtime, seg: Seg, k: usize) -> i64 {
    let (p, _) = rt.local_ptr(seg).unwrap();
    // SAFETY: in bounds (k < N); read after a sync, so no concurrent writer.
    unsafe { p.cast::<i64>().add(k).read() }
}

fn get_put(rt: &Runtime) {
    let (me, n) = (rt.rank(), rt.nranks());
    let seg = rt.alloc((N * 8) as u64).unwrap();
    fill_local(rt, seg);
    // Blocking byte gets of every peer's whole part and of a sub-range at an odd offset.
    for t in 0..n {
        let mut buf = vec![0u8; N * 8];
        rt.get(&mut buf, t, seg, 0).unwrap();
        for k in 0..N {
            let v = i64::from_le_bytes(buf[k * 8..k * 8 + 8].try_into().unwrap());
            check(v == pattern(t, k), || format!("get from {t}: element {k} = {v}"));
        }
        let mut part = vec![0u8; 13];
        rt.get(&mut part, t, seg, 8 * 5 + 3).unwrap();
        check(part[..] == buf[43..56], || format!("unaligned byte get from {t}"));
        let mut typed = vec![0i64; 10];
        rt.get_elems(&mut typed, t, seg, 8 * 100).unwrap();
        check(typed.iter().enumerate().all(|(j, &v)| v == pattern(t, 100 + j)), || {
            format!("get_elems from {t}")
        });
    }
    // Non-blocking gets from all peers at once, completed with test() then wait().
    let mut bufs: Vec<Vec<i64>> = (0..n).map(|_| vec![0i64; N]).collect();
    {
        let mut reqs = Vec::new();
        for (t, b) in bufs.iter_mut().enumerate() {
            // SAFETY-free path: reinterpret via get_nb on bytes.
            let bytes: &mut [u8] = bytemuck_i64(b);
            reqs.push(rt.get_nb(bytes, t, seg, 0).unwrap());
        }
        for mut r in reqs {
            let _ = r.test().unwrap();
            r.wait().unwrap();
        }
    }
    for (t, b) in bufs.iter().enumerate() {
        check(b.iter().enumerate().all(|(k, &v)| v == pattern(t, k)), || {
            format!("get_nb from {t}")
        });
    }
    rt.sync().unwrap();
    // Puts: rank me writes its slot (elements [me*4, me*4+4)) of every rank, blocking and
    // non-blocking alternately, then a fence.
    for t in 0..n {
        let vals: Vec<i64> = (0..4).map(|j| -((me * 10 + j) as i64) - 1000 * t as i64).collect();
        if (t + me) % 2 == 0 {
            rt.put_elems(t, seg, (me * 4 * 8) as u64, &vals).unwrap();
        } else {
            let bytes: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
            let r = rt.put_nb(t, seg, (me * 4 * 8) as u64, &bytes).unwrap();
            r.wait().unwrap();
            rt.flush(t).unwrap();
        }
    }
    rt.fence().unwrap();
    rt.win_sync().unwrap();
    for src in 0..n {
        for j in 0..4 {
            let v = local_i64(rt, seg, src * 4 + j);
            let want = -((src * 10 + j) as i64) - 1000 * me as i64;
            check(v == want, || format!("put from {src} slot {j}: {v} != {want}"));
        }
    }
    // Elements after the slots were untouched.
    for k in n * 4..N {
        check(local_i64(rt, seg, k) == pattern(me, k), || {
            format!("element {k} changed by puts")
        });
    }
    // Zero-length transfers at the very end are fine.
    rt.get(&mut [], (me + 1) % n, seg, (N * 8) as u64).unwrap();
    rt.put((me + 1) % n, seg, (N * 8) as u64, &[]).unwrap();
    rt.sync().unwrap();
    rt.free(seg).unwrap();
}

/// Implicit-completion gets and puts (`Runtime::nbi`, `get_nbi`/`put_nbi`): completed by the
/// scope's end or by a flush, node-local or not; their checks come before MPI.
fn nbi(rt: &Runtime) {
    let (me, n) = (rt.rank(), rt.nranks());
    let seg = rt.alloc((N * 8) as u64).unwrap();
    fill_local(rt, seg);
    // Every peer's part in pieces of 40 elements (the last one shorter), completed by the scope.
    let mut bufs: Vec<Vec<i64>> = (0..n).map(|_| vec![0i64; N]).collect();
    rt.nbi(|s| {
        for (t, b) in bufs.iter_mut().enumerate() {
            for (j, piece) in bytemuck_i64(b).chunks_mut(8 * 40).enumerate() {
                s.get(piece, t, seg, (j * 8 * 40) as u64)?;
            }
        }
        Ok(())
    })
    .unwrap();
    for (t, b) in bufs.iter().enumerate() {
        check(b.iter().enumerate().all(|(k, &v)| v == pattern(t, k)), || {
            format!("nbi get from {t}")
        });
    }
    rt.sync().unwrap();
    // Puts of this rank's slot at every rank, remote completion by flush(t) inside the scope.
    let slot = |t: usize| -> Vec<u8> {
        (0..4)
            .flat_map(|j| (-((me * 10 + j) as i64) - 1000 * t as i64).to_le_bytes())
            .collect()
    };
    let vals: Vec<Vec<u8>> = (0..n).map(slot).collect();
    let r = rt.nbi(|s| {
        for (t, v) in vals.iter().enumerate() {
            s.put(t, seg, (me * 4 * 8) as u64, v)?;
            rt.flush(t)?;
        }
        Ok(7)
    });
    check(r == Ok(7), || format!("nbi scope result {r:?}"));
    rt.sync().unwrap();
    for src in 0..n {
        for j in 0..4 {
            let v = local_i64(rt, seg, src * 4 + j);
            let want = -((src * 10 + j) as i64) - 1000 * me as i64;
            check(v == want, || format!("nbi put from {src} slot {j}: {v} != {want}"));
        }
    }
    // The raw forms, completed by flush_local; zero lengths (even NULL) are fine.
    let next = (me + 1) % n;
    let mut x = [0i64; 2];
    // SAFETY: `x` is 16 writable bytes, untouched until the flush_local below.
    unsafe { rt.get_nbi(x.as_mut_ptr().cast(), 16, next, seg, 8 * 100) }.unwrap();
    rt.flush_local(next).unwrap();
    check(x == [pattern(next, 100), pattern(next, 101)], || {
        format!("get_nbi: {x:?}")
    });
    // SAFETY: zero-length operations touch no memory.
    unsafe {
        rt.get_nbi(std::ptr::null_mut(), 0, next, seg, (N * 8) as u64).unwrap();
        rt.put_nbi(next, seg, (N * 8) as u64, std::ptr::null(), 0).unwrap();
    }
    rt.sync().unwrap();
    // Checks before MPI, reported through the scope.
    let mut b = [0u8; 8];
    let kind = |r: Result<(), distarr_runtime::Error>| r.map_err(|e| e.kind());
    let e = kind(rt.nbi(|s| s.get(&mut b, n, seg, 0)));
    check(e == Err(ErrorKind::RankOutOfRange), || format!("nbi rank check: {e:?}"));
    let e = kind(rt.nbi(|s| s.put(me, seg, (N * 8 - 4) as u64, &[1u8; 8])));
    check(e == Err(ErrorKind::OutOfBounds), || format!("nbi bounds check: {e:?}"));
    check(local_i64(rt, seg, N - 1) == pattern(me, N - 1), || {
        "a refused nbi put wrote memory".to_string()
    });
    rt.sync().unwrap();
    rt.free(seg).unwrap();
    let e = kind(rt.nbi(|s| s.get(&mut b, me, seg, 0)));
    check(e == Err(ErrorKind::InvalidSegment), || {
        format!("nbi stale segment: {e:?}")
    });
}

fn bytemuck_i64(b: &mut [i64]) -> &mut [u8] {
    // SAFETY: i64 has no padding and any byte pattern is a valid i64; u8 has alignment 1 and
    // the length covers exactly the same memory.
    unsafe { std::slice::from_raw_parts_mut(b.as_mut_ptr().cast(), b.len() * 8) }
}

/// Accumulate with every op on a typed slot of every rank, checked against closed forms.
fn accumulate_typed<T>(rt: &Runtime, from: fn(i64) -> T, bitwise: bool)
where
    T: Elem + Default,
{
    let (me, n) = (rt.rank(), rt.nranks());
    let sz = std::mem::size_of::<T>() as u64;
    let ops: Vec<AccOp> = AccOp::ALL
        .iter()
        .copied()
        .filter(|o| *o != AccOp::NoOp && (bitwise || !o.is_bitwise()))
        .collect();
    let seg = rt.alloc(sz * ops.len() as u64).unwrap();
    // Initial values on every rank.
    let init = |op: AccOp| -> T {
        match op {
            AccOp::Sum | AccOp::Bor | AccOp::Bxor | AccOp::Replace => from(0),
            AccOp::Prod => from(1),
            AccOp::Min => from(100),
            AccOp::Max => from(0),
            AccOp::Band => from(-1),
            AccOp::NoOp => from(0),
        }
    };
    let initial: Vec<T> = ops.iter().map(|&o| init(o)).collect();
    rt.put_elems(me, seg, 0, &initial).unwrap();
    rt.sync().unwrap();
    for t in 0..n {
        for (j, &op) in ops.iter().enumerate() {
            let x = match op {
                AccOp::Sum => from(me as i64 + 1),
                AccOp::Prod => from(2),
                AccOp::Min | AccOp::Max => from(me as i64 + 5),
                AccOp::Band => from(!(1i64 << me)),
                AccOp::Bor | AccOp::Bxor => from(1i64 << me),
                AccOp::Replace => from(42),
                AccOp::NoOp => from(0),
            };
            rt.accumulate(&[x], t, seg, j as u64 * sz, op).unwrap();
        }
    }
    rt.sync().unwrap();
    let mut got = vec![T::default(); ops.len()];
    rt.get_elems(&mut got, me, seg, 0).unwrap();
    let ni = n as i64;
    for (j, &op) in ops.iter().enumerate() {
        let want = match op {
            AccOp::Sum => from(ni * (ni + 1) / 2),
            AccOp::Prod => from(1i64 << ni),
            AccOp::Min => from(5),
            AccOp::Max => from(ni + 4),
            AccOp::Band => from(!((1i64 << ni) - 1)),
            AccOp::Bor | AccOp::Bxor => from((1i64 << ni) - 1),
            AccOp::Replace => from(42),
            AccOp::NoOp => from(0),
        };
        check(got[j] == want, || {
            format!("{} accumulate {op:?}: {:?} != {want:?}", T::NAME, got[j])
        });
    }
    rt.sync().unwrap();
    rt.free(seg).unwrap();
}

/// fetch-and-op (+1 from every rank on a counter at every rank): the fetched values are a
/// permutation of 0..n and the final value is n. Then NoOp reads and get_accumulate.
fn fetch_ops<T>(rt: &Runtime, from: fn(i64) -> T, to: fn(T) -> i64)
where
    T: Elem + Default,
{
    let (me, n) = (rt.rank(), rt.nranks());
    let seg = rt.alloc(64).unwrap();
    rt.put_elems(me, seg, 0, &[from(0), from(0)]).unwrap();
    rt.sync().unwrap();
    let mut fetched = vec![0i64; n];
    for (t, f) in fetched.iter_mut().enumerate() {
        *f = to(rt.fetch_and_op(from(1), t, seg, 0, AccOp::Sum).unwrap());
    }
    rt.sync().unwrap();
    let mut all = vec![0i64; n * n];
    rt.allgather(&fetched, &mut all).unwrap();
    for t in 0..n {
        let mut seen: Vec<i64> = (0..n).map(|r| all[r * n + t]).collect();
        seen.sort_unstable();
        check(seen == (0..n as i64).collect::<Vec<_>>(), || {
            format!("{} fetch_and_op at {t}: {seen:?}", T::NAME)
        });
    }
    rt.sync().unwrap();
    let now = rt.fetch_and_op(from(0), me, seg, 0, AccOp::NoOp).unwrap();
    check(to(now) == n as i64, || format!("{} NoOp read {}", T::NAME, to(now)));
    rt.sync().unwrap();
    // get_accumulate of two elements: +[1, 2] from everyone on rank 0.
    let mut old = [T::default(); 2];
    rt.get_accumulate(&[from(1), from(2)], &mut old, 0, seg, 0, AccOp::Sum)
        .unwrap();
    check(to(old[0]) >= n as i64 && to(old[1]) % 2 == 0, || {
        format!("get_accumulate old {old:?}")
    });
    rt.sync().unwrap();
    let mut fin = [T::default(); 2];
    rt.get_elems(&mut fin, 0, seg, 0).unwrap();
    check(to(fin[0]) == 2 * n as i64 && to(fin[1]) == 2 * n as i64, || {
        format!("get_accumulate final {fin:?}")
    });
    // Replace via fetch_and_op returns the previous value.
    rt.sync().unwrap();
    if me == 0 {
        let prev = rt
            .fetch_and_op(from(9), n - 1, seg, std::mem::size_of::<T>() as u64, AccOp::Replace)
            .unwrap();
        check(to(prev) == if n == 1 { 2 } else { 0 }, || {
            format!("{} replace returned {}", T::NAME, to(prev))
        });
    }
    rt.sync().unwrap();
    rt.free(seg).unwrap();
}

/// Compare-and-swap: every rank races to swap 0 -> me+1 on a word at every rank (itself
/// included): exactly one wins per target and the word holds winner+1.
fn cas<T>(rt: &Runtime, from: fn(i64) -> T, to: fn(T) -> i64)
where
    T: Elem + Default,
{
    let (me, n) = (rt.rank(), rt.nranks());
    let seg = rt.alloc(8).unwrap();
    rt.put_elems(me, seg, 0, &[from(0)]).unwrap();
    rt.sync().unwrap();
    let mut won = vec![0i64; n];
    for (t, w) in won.iter_mut().enumerate() {
        let old = rt.compare_and_swap(from(0), from(me as i64 + 1), t, seg, 0).unwrap();
        *w = i64::from(to(old) == 0);
        // A failing CAS leaves the value alone.
        let again = rt.compare_and_swap(from(0), from(77), t, seg, 0).unwrap();
        check(to(again) != 0, || format!("{} CAS at {t} saw 0 after a swap", T::NAME));
    }
    rt.sync().unwrap();
    let mut all = vec![0i64; n * n];
    rt.allgather(&won, &mut all).unwrap();
    for t in 0..n {
        let winners: Vec<usize> = (0..n).filter(|&r| all[r * n + t] == 1).collect();
        check(winners.len() == 1, || {
            format!("{} CAS at {t}: winners {winners:?}", T::NAME)
        });
        let mut v = [T::default()];
        rt.get_elems(&mut v, t, seg, 0).unwrap();
        check(to(v[0]) == winners[0] as i64 + 1, || {
            format!("{} CAS at {t} holds {}", T::NAME, to(v[0]))
        });
    }
    rt.sync().unwrap();
    rt.free(seg).unwrap();
}

fn collectives(rt: &Runtime) {
    let (me, n) = (rt.rank(), rt.nranks());
    for root in 0..n {
        let mut b = if me == root {
            vec![root as u64 * 3 + 1; 5]
        } else {
            vec![0; 5]
        };
        rt.broadcast(&mut b, root).unwrap();
        check(b == vec![root as u64 * 3 + 1; 5], || {
            format!("broadcast from {root}: {b:?}")
        });
    }
    let mut s = [me as i64 + 1, -(me as i64)];
    rt.allreduce(&mut s, ReduceOp::Sum).unwrap();
    let ni = n as i64;
    check(s == [ni * (ni + 1) / 2, -(ni * (ni - 1) / 2)], || {
        format!("allreduce sum {s:?}")
    });
    let mut mn = [me as f64 - 0.5];
    rt.allreduce(&mut mn, ReduceOp::Min).unwrap();
    check(mn[0] == -0.5, || format!("allreduce min {mn:?}"));
    let mut mx = [me as u32 * 2];
    rt.allreduce(&mut mx, ReduceOp::Max).unwrap();
    check(mx[0] == (n as u32 - 1) * 2, || format!("allreduce max {mx:?}"));
    let mut all = vec![0u64; 2 * n];
    rt.allgather(&[me as u64, 100 + me as u64], &mut all).unwrap();
    check(
        all == (0..n).flat_map(|r| [r as u64, 100 + r as u64]).collect::<Vec<_>>(),
        || format!("allgather {all:?}"),
    );
    rt.barrier().unwrap();
    for t in 0..n {
        rt.flush(t).unwrap();
        rt.flush_local(t).unwrap();
    }
    rt.flush_all().unwrap();
    rt.flush_local_all().unwrap();
}

/// Many small segments: allocation offsets agree on every rank (a put to a peer's segment
/// lands in the segment the peer reads), freed holes are reused, and the heap grows by new
/// windows when a request does not fit.
fn heap(rt: &Runtime) {
    let (me, n) = (rt.rank(), rt.nranks());
    let segs: Vec<Seg> = (0..20).map(|k| rt.alloc(8 * (k + 1)).unwrap()).collect();
    for (k, &s) in segs.iter().enumerate() {
        rt.put_elems((me + 1) % n, s, 0, &[(k * 100 + me) as u64]).unwrap();
    }
    rt.sync().unwrap();
    for (k, &s) in segs.iter().enumerate() {
        let mut v = [0u64];
        rt.get_elems(&mut v, me, s, 0).unwrap();
        check(v[0] == (k * 100 + (me + n - 1) % n) as u64, || {
            format!("segment {k}: {}", v[0])
        });
    }
    for &s in segs.iter().step_by(2) {
        rt.free(s).unwrap();
    }
    let (_, before) = rt.heap_usage().unwrap();
    let big = rt.alloc(before + (1 << 20)).unwrap(); // cannot fit: a new window
    let (used, after) = rt.heap_usage().unwrap();
    check(after > before && used >= before + (1 << 20), || {
        format!("heap did not grow: {before} -> {after}")
    });
    rt.put_elems((me + 1) % n, big, before, &[me as u64]).unwrap();
    rt.sync().unwrap();
    let mut v = [0u64];
    rt.get_elems(&mut v, me, big, before).unwrap();
    check(v[0] == ((me + n - 1) % n) as u64, || "put into grown heap".to_string());
    rt.free(big).unwrap();
    // The high-water mark saw the big segment; reset, it follows what is allocated now.
    let now = rt.heap_usage().unwrap().0;
    let peak = rt.heap_peak().unwrap();
    check(peak >= used && now < used, || {
        format!("heap peak {peak}, allocated {used} then {now}")
    });
    rt.reset_heap_peak().unwrap();
    check(rt.heap_peak().unwrap() == now, || "heap peak after a reset".to_string());
    for &s in segs.iter().skip(1).step_by(2) {
        rt.free(s).unwrap();
    }
}

fn main() {
    let rt = Runtime::init().unwrap();
    get_put(&rt);
    nbi(&rt);
    accumulate_typed::<i32>(&rt, |v| v as i32, true);
    accumulate_typed::<i64>(&rt, |v| v, true);
    accumulate_typed::<u32>(&rt, |v| v as u32, true);
    accumulate_typed::<u64>(&rt, |v| v as u64, true);
    accumulate_typed::<f32>(&rt, |v| v as f32, false);
    accumulate_typed::<f64>(&rt, |v| v as f64, false);
    fetch_ops::<i32>(&rt, |v| v as i32, i64::from);
    fetch_ops::<i64>(&rt, |v| v, |v| v);
    fetch_ops::<u32>(&rt, |v| v as u32, i64::from);
    fetch_ops::<u64>(&rt, |v| v as u64, |v| v as i64);
    fetch_ops::<f64>(&rt, |v| v as f64, |v| v as i64);
    fetch_ops::<f32>(&rt, |v| v as f32, |v| v as i64);
    cas::<i32>(&rt, |v| v as i32, i64::from);
    cas::<u32>(&rt, |v| v as u32, i64::from);
    cas::<i64>(&rt, |v| v, |v| v);
    cas::<u64>(&rt, |v| v as u64, |v| v as i64);
    collectives(&rt);
    heap(&rt);
    finish(&rt);
}

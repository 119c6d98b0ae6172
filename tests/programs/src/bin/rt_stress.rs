//! Randomised stress of the one-sided operations, checked exactly.
//!
//! Every rank draws its operations from `Rng::new(phase, rank)`, so every rank can replay every
//! other rank's operations and compute the exact expected contents of every part of every
//! segment. Phases are separated by `sync`; within a phase the operations are chosen so that
//! the final state does not depend on how ranks interleave:
//!
//! * (a) puts (blocking bytes, `put_nb` batches completed with `test`/`wait` + flush, typed
//!   `put_elems`) into chunks that only the issuing rank writes (one writer per byte, so the
//!   last write in program order wins), with read-backs of just-written ranges;
//! * (b) `accumulate` Sum (wrapping u64), (c) Bxor (u64), (d) Max then Min (i64), and f64 Sum of
//!   exactly representable integers, into random ranges of random ranks (one op per phase, as
//!   MPI's default `accumulate_ops=same_op_no_op` requires);
//! * (e) `fetch_and_op` Sum and `get_accumulate` Sum with positive operands: besides the final
//!   sums, the fetched values of all ranks are gathered and, per element, must form one chain
//!   `0 = v1 < v2 = v1 + op1 < …` ending at the final value (linearisability: no lost or
//!   duplicated update, no torn read);
//! * (f) compare-and-swap loops (read with `fetch_and_op` NoOp) on random u64 and i32 counters;
//!   every counter ends at the sum of the increments aimed at it;
//! * (g) every rank does K `fetch_and_op` Sum +1 on one u64 counter at rank 0 and one i32
//!   counter at the last rank; the gathered fetched values are exactly `0..K*n`.
//!
//! After each phase every rank checks its own memory (loads) and its right neighbour's part
//! (a `get`) against the replayed expectation.
use distarr_mpitests::{check, finish, t, Rng};
use distarr_runtime::{AccOp, Runtime, Seg};

use std::time::Instant;

/// Elements (8 bytes each) per rank in the main segments.
const M: usize = 4096;
/// Elements per ownership chunk in the put phase: chunk `c` is written only by rank `c % n`.
const CHUNK: usize = 32;

/// Image of one rank's part of a segment, as bytes.
type Image = Vec<u8>;

fn rd_u64(img: &[u8], j: usize) -> u64 {
    u64::from_ne_bytes(img[j * 8..j * 8 + 8].try_into().expect("8 bytes"))
}
fn wr_u64(img: &mut [u8], j: usize, v: u64) {
    img[j * 8..j * 8 + 8].copy_from_slice(&v.to_ne_bytes());
}
/// Applies `f` to u64 element `j` of an image.
fn upd_u64(img: &mut [u8], j: usize, f: impl FnOnce(u64) -> u64) {
    let v = rd_u64(img, j);
    wr_u64(img, j, f(v));
}
fn rd_i64(img: &[u8], j: usize) -> i64 {
    rd_u64(img, j) as i64
}
fn rd_f64(img: &[u8], j: usize) -> f64 {
    f64::from_bits(rd_u64(img, j))
}
fn wr_f64(img: &mut [u8], j: usize, v: f64) {
    wr_u64(img, j, v.to_bits());
}
fn rd_i32(img: &[u8], j: usize) -> i32 {
    i32::from_ne_bytes(img[j * 4..j * 4 + 4].try_into().expect("4 bytes"))
}
fn wr_i32(img: &mut [u8], j: usize, v: i32) {
    img[j * 4..j * 4 + 4].copy_from_slice(&v.to_ne_bytes());
}

/// A copy of this rank's part of `seg` (read with loads, after a sync).
fn read_local(rt: &Runtime, seg: Seg) -> Image {
    let (p, len) = t!(rt.local_ptr(seg));
    let len = usize::try_from(len).expect("segment fits in memory");
    let mut v = vec![0u8; len];
    // SAFETY:
    // - `p` is valid for `len` bytes of this rank's part of `seg` (local_ptr's contract);
    // - called only between a sync and the next phase, when no rank writes this memory;
    // - `v` is a distinct allocation of `len` bytes, so the ranges do not overlap.
    unsafe { std::ptr::copy_nonoverlapping(p, v.as_mut_ptr(), len) };
    v
}

/// Overwrites this rank's part of `seg` with `data` (stores); the caller syncs afterwards.
fn write_local(rt: &Runtime, seg: Seg, data: &[u8]) {
    let (p, len) = t!(rt.local_ptr(seg));
    check(len as usize == data.len(), || {
        format!("write_local: segment has {len} bytes, data {}", data.len())
    });
    // SAFETY:
    // - `p` is valid for `len == data.len()` bytes of this rank's part of `seg`;
    // - called between syncs, when no other rank reads or writes this memory;
    // - `data` is a distinct Rust buffer.
    unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), p, data.len()) };
}

/// Describes element `j` of an image for messages.
type Show = fn(&[u8], usize) -> String;

fn show_u64(img: &[u8], j: usize) -> String {
    format!("{:#018x}", rd_u64(img, j))
}
fn show_i64(img: &[u8], j: usize) -> String {
    rd_i64(img, j).to_string()
}
fn show_f64(img: &[u8], j: usize) -> String {
    rd_f64(img, j).to_string()
}

/// Compares `got` with `want` element by element (`width` bytes each).
fn compare(phase: &str, whose: &str, got: &[u8], want: &[u8], width: usize, show: Show) {
    check(got.len() == want.len(), || {
        format!("{phase}: {whose}: length {} != {}", got.len(), want.len())
    });
    if got != want {
        let bad: Vec<usize> = (0..got.len() / width)
            .filter(|&j| got[j * width..(j + 1) * width] != want[j * width..(j + 1) * width])
            .collect();
        let j = bad[0];
        check(false, || {
            format!(
                "{phase}: {whose}: {} of {} elements differ; first at element {j}: got {} want {}",
                bad.len(),
                got.len() / width,
                show(got, j),
                show(want, j)
            )
        });
    }
}

/// After a phase: sync, then check this rank's part (loads) and the right neighbour's part
/// (a get) against the expected images; sync again so the next phase cannot disturb a
/// neighbour's check.
fn verify(rt: &Runtime, seg: Seg, expect: &[Image], phase: &str, width: usize, show: Show) {
    let (me, n) = (rt.rank(), rt.nranks());
    t!(rt.sync());
    compare(
        phase,
        "own part (loads)",
        &read_local(rt, seg),
        &expect[me],
        width,
        show,
    );
    let nb = (me + 1) % n;
    let mut buf = vec![0u8; expect[nb].len()];
    t!(rt.get(&mut buf, nb, seg, 0));
    compare(
        phase,
        &format!("rank {nb}'s part (get)"),
        &buf,
        &expect[nb],
        width,
        show,
    );
    t!(rt.sync());
}

fn random_bytes(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        v.extend_from_slice(&rng.next_u64().to_ne_bytes());
    }
    v.truncate(len);
    v
}

/// Initial contents of rank `r`'s part of a segment: pseudo-random, known to every rank.
fn initial(seed: u64, r: usize) -> Image {
    random_bytes(&mut Rng::new(seed, r as u64), M * 8)
}

// ---------------------------------------------------------------- (a) puts

/// One write: target rank, byte offset, data.
type Write = (usize, usize, Vec<u8>);

enum PutKind {
    Blocking,
    Elems,
    NbBatch,
}

struct PutOp {
    kind: PutKind,
    writes: Vec<Write>,
    read_back: bool,
}

/// A random byte range inside a chunk owned by `o`; at one rank, sometimes a range anywhere.
fn owned_range(rng: &mut Rng, o: usize, n: usize, elem_aligned: bool) -> (usize, usize, usize) {
    let t = rng.below(n as u64) as usize;
    let chunks = M / CHUNK;
    if n == 1 && rng.below(8) == 0 {
        let (start, len) = if elem_aligned {
            let s = rng.below(M as u64) as usize;
            (s * 8, (1 + rng.below((M - s) as u64) as usize) * 8)
        } else {
            let s = rng.below((M * 8) as u64) as usize;
            (s, 1 + rng.below((M * 8 - s) as u64) as usize)
        };
        return (t, start, len);
    }
    let owned = (chunks - o).div_ceil(n);
    let c = o + n * rng.below(owned as u64) as usize;
    let base = c * CHUNK * 8;
    if elem_aligned {
        let s = rng.below(CHUNK as u64) as usize;
        let l = 1 + rng.below((CHUNK - s) as u64) as usize;
        (t, base + s * 8, l * 8)
    } else {
        let s = rng.below((CHUNK * 8) as u64) as usize;
        let l = 1 + rng.below((CHUNK * 8 - s) as u64) as usize;
        (t, base + s, l)
    }
}

fn gen_puts(o: usize, n: usize, count: usize) -> Vec<PutOp> {
    let mut rng = Rng::new(1, o as u64);
    (0..count)
        .map(|_| {
            let k = rng.below(3);
            let read_back = rng.below(4) == 0;
            let mut writes: Vec<Write> = Vec::new();
            let kind = match k {
                0 | 1 => {
                    let aligned = k == 1;
                    let (t, off, len) = owned_range(&mut rng, o, n, aligned);
                    writes.push((t, off, random_bytes(&mut rng, len)));
                    if aligned {
                        PutKind::Elems
                    } else {
                        PutKind::Blocking
                    }
                }
                _ => {
                    // Up to 4 puts in flight at once: their ranges must not overlap (MPI does
                    // not order concurrent puts to one location), so later overlapping draws
                    // are dropped.
                    for _ in 0..1 + rng.below(4) {
                        let (t, off, len) = owned_range(&mut rng, o, n, false);
                        let data = random_bytes(&mut rng, len);
                        if !writes
                            .iter()
                            .any(|(t2, o2, d2)| *t2 == t && off < o2 + d2.len() && *o2 < off + len)
                        {
                            writes.push((t, off, data));
                        }
                    }
                    PutKind::NbBatch
                }
            };
            PutOp {
                kind,
                writes,
                read_back,
            }
        })
        .collect()
}

fn phase_puts(rt: &Runtime, seg: Seg, count: usize) {
    let (me, n) = (rt.rank(), rt.nranks());
    let mut expect: Vec<Image> = (0..n).map(|r| initial(100, r)).collect();
    write_local(rt, seg, &expect[me]);
    t!(rt.sync());
    // Execute, keeping a model of every target; the bytes this rank writes are exact in it.
    let mine = gen_puts(me, n, count);
    let mut model = expect.clone();
    for (i, op) in mine.iter().enumerate() {
        match op.kind {
            PutKind::Blocking => {
                let (tr, off, d) = &op.writes[0];
                t!(rt.put(*tr, seg, *off as u64, d));
            }
            PutKind::Elems => {
                let (tr, off, d) = &op.writes[0];
                let vals: Vec<u64> = d
                    .chunks(8)
                    .map(|c| u64::from_ne_bytes(c.try_into().expect("8")))
                    .collect();
                t!(rt.put_elems(*tr, seg, *off as u64, &vals));
            }
            PutKind::NbBatch => {
                let mut reqs = Vec::new();
                for (tr, off, d) in &op.writes {
                    reqs.push(t!(rt.put_nb(*tr, seg, *off as u64, d)));
                }
                for (k, mut r) in reqs.into_iter().enumerate() {
                    if (i + k) % 2 == 0 {
                        while !t!(r.test()) {
                            std::hint::spin_loop();
                        }
                    } else {
                        t!(r.wait());
                    }
                }
                // Local completion only so far: complete at the targets before any later put
                // may touch the same bytes.
                t!(rt.flush_all());
            }
        }
        for (tr, off, d) in &op.writes {
            model[*tr][*off..*off + d.len()].copy_from_slice(d);
        }
        if op.read_back {
            for (tr, off, d) in &op.writes {
                let mut back = vec![0u8; d.len()];
                if i % 2 == 0 {
                    t!(rt.get(&mut back, *tr, seg, *off as u64));
                } else {
                    t!(t!(rt.get_nb(&mut back, *tr, seg, *off as u64)).wait());
                }
                check(back == *d, || {
                    format!(
                        "put: read-back of {} bytes at {off} of rank {tr} differs (op {i})",
                        d.len()
                    )
                });
            }
        }
    }
    // Replay every rank's writes in each rank's program order.
    for o in 0..n {
        for op in gen_puts(o, n, count) {
            for (tr, off, d) in op.writes {
                expect[tr][off..off + d.len()].copy_from_slice(&d);
            }
        }
    }
    verify(rt, seg, &expect, "(a) put", 8, show_u64);
}

// ---------------------------------------------------------------- (b)-(d) accumulates

/// One accumulate: target, first element, operands (as u64 bit patterns).
type Acc = (usize, usize, Vec<u64>);

fn gen_accs(phase: u64, o: usize, n: usize, count: usize, operand: impl Fn(&mut Rng) -> u64) -> Vec<Acc> {
    let mut rng = Rng::new(phase, o as u64);
    (0..count)
        .map(|_| {
            let t = rng.below(n as u64) as usize;
            let len = if rng.below(16) == 0 {
                1 + rng.below(M as u64) as usize
            } else {
                1 + rng.below(64) as usize
            };
            let start = rng.below((M - len + 1) as u64) as usize;
            let vals = (0..len).map(|_| operand(&mut rng)).collect();
            (t, start, vals)
        })
        .collect()
}

/// Which element type and op an accumulate phase uses.
#[derive(Clone, Copy)]
enum AccKind {
    SumU64,
    BxorU64,
    MaxI64,
    MinI64,
    SumF64,
}

fn phase_acc(rt: &Runtime, seg: Seg, kind: AccKind, phase: u64, count: usize, expect: &mut [Image]) {
    let (me, n) = (rt.rank(), rt.nranks());
    let operand = move |r: &mut Rng| -> u64 {
        match kind {
            // f64 sums stay exact: integers below 2^20, at most n*count*M of them < 2^53.
            AccKind::SumF64 => ((r.below(1 << 20) as f64) - (1 << 19) as f64).to_bits(),
            _ => r.next_u64(),
        }
    };
    let (name, show): (&str, Show) = match kind {
        AccKind::SumU64 => ("(b) accumulate Sum u64", show_u64),
        AccKind::BxorU64 => ("(c) accumulate Bxor u64", show_u64),
        AccKind::MaxI64 => ("(d) accumulate Max i64", show_i64),
        AccKind::MinI64 => ("(d) accumulate Min i64", show_i64),
        AccKind::SumF64 => ("(d) accumulate Sum f64", show_f64),
    };
    for (tr, start, vals) in gen_accs(phase, me, n, count, operand) {
        let off = (start * 8) as u64;
        match kind {
            AccKind::SumU64 => t!(rt.accumulate(&vals, tr, seg, off, AccOp::Sum)),
            AccKind::BxorU64 => t!(rt.accumulate(&vals, tr, seg, off, AccOp::Bxor)),
            AccKind::MaxI64 | AccKind::MinI64 => {
                let v: Vec<i64> = vals.iter().map(|&x| x as i64).collect();
                let op = if matches!(kind, AccKind::MaxI64) {
                    AccOp::Max
                } else {
                    AccOp::Min
                };
                t!(rt.accumulate(&v, tr, seg, off, op));
            }
            AccKind::SumF64 => {
                let v: Vec<f64> = vals.iter().map(|&x| f64::from_bits(x)).collect();
                t!(rt.accumulate(&v, tr, seg, off, AccOp::Sum));
            }
        }
    }
    for o in 0..n {
        for (tr, start, vals) in gen_accs(phase, o, n, count, operand) {
            let img = &mut expect[tr];
            for (k, &x) in vals.iter().enumerate() {
                let j = start + k;
                match kind {
                    AccKind::SumU64 => upd_u64(img, j, |v| v.wrapping_add(x)),
                    AccKind::BxorU64 => upd_u64(img, j, |v| v ^ x),
                    AccKind::MaxI64 => upd_u64(img, j, |v| (v as i64).max(x as i64) as u64),
                    AccKind::MinI64 => upd_u64(img, j, |v| (v as i64).min(x as i64) as u64),
                    AccKind::SumF64 => upd_u64(img, j, |v| (f64::from_bits(v) + f64::from_bits(x)).to_bits()),
                }
            }
        }
    }
    verify(rt, seg, expect, name, 8, show);
}

// ---------------------------------------------------------------- (e) fetching sums

/// One fetching op: target, first element, operands (1 operand = `fetch_and_op`).
fn gen_fetch(o: usize, n: usize, count: usize) -> Vec<Acc> {
    let mut rng = Rng::new(50, o as u64);
    (0..count)
        .map(|_| {
            let t = rng.below(n as u64) as usize;
            // A small hot range so that ranks really collide on elements.
            let len = if rng.below(2) == 0 {
                1
            } else {
                1 + rng.below(8) as usize
            };
            let start = rng.below((64 - len + 1) as u64) as usize;
            (t, start, (0..len).map(|_| 1 + rng.below(1000)).collect())
        })
        .collect()
}

fn phase_fetch(rt: &Runtime, seg: Seg, count: usize) {
    let (me, n) = (rt.rank(), rt.nranks());
    let mut expect: Vec<Image> = (0..n).map(|_| vec![0u8; M * 8]).collect();
    write_local(rt, seg, &expect[me]);
    t!(rt.sync());
    // Records (target, element, fetched, operand), padded to the longest rank's list.
    let all: Vec<Vec<Acc>> = (0..n).map(|o| gen_fetch(o, n, count)).collect();
    let most = all
        .iter()
        .map(|ops| ops.iter().map(|a| a.2.len()).sum::<usize>())
        .max()
        .unwrap_or(0);
    let mut rec: Vec<u64> = Vec::with_capacity(most * 4);
    for (i, (tr, start, vals)) in all[me].iter().enumerate() {
        let off = (start * 8) as u64;
        if vals.len() == 1 && i % 3 != 0 {
            let old = t!(rt.fetch_and_op(vals[0], *tr, seg, off, AccOp::Sum));
            rec.extend_from_slice(&[*tr as u64, *start as u64, old, vals[0]]);
        } else {
            let mut old = vec![0u64; vals.len()];
            t!(rt.get_accumulate(vals, &mut old, *tr, seg, off, AccOp::Sum));
            for (k, (&o, &v)) in old.iter().zip(vals).enumerate() {
                rec.extend_from_slice(&[*tr as u64, (start + k) as u64, o, v]);
            }
        }
    }
    rec.resize(most * 4, u64::MAX);
    for ops in &all {
        for (tr, start, vals) in ops {
            for (k, &v) in vals.iter().enumerate() {
                let j = start + k;
                upd_u64(&mut expect[*tr], j, |x| x + v);
            }
        }
    }
    verify(rt, seg, &expect, "(e) fetch_and_op/get_accumulate Sum", 8, show_u64);
    let mut every = vec![0u64; most * 4 * n];
    t!(rt.allgather(&rec, &mut every));
    // Per element of my part: the fetched values form one chain from 0 to the final value.
    let mut per: Vec<Vec<(u64, u64)>> = vec![Vec::new(); M];
    for r in every.chunks(4).filter(|r| r[0] == me as u64) {
        per[r[1] as usize].push((r[2], r[3]));
    }
    for (j, chain) in per.iter_mut().enumerate() {
        chain.sort_unstable();
        let mut at = 0u64;
        for &(fetched, v) in chain.iter() {
            check(fetched == at, || {
                format!("(e) element {j}: fetched values do not chain: expected a fetch of {at}, next is {fetched} (chain {chain:?})")
            });
            at += v;
        }
        check(at == rd_u64(&expect[me], j), || {
            format!(
                "(e) element {j}: chain ends at {at}, element holds {}",
                rd_u64(&expect[me], j)
            )
        });
    }
}

// ---------------------------------------------------------------- (f) CAS loops

const NCOUNT: usize = 16;
/// Counter layout: NCOUNT u64 counters, then NCOUNT i32 counters.
const CSEG: usize = NCOUNT * 8 + NCOUNT * 4;

/// One increment: target, counter, wide (u64) or not (i32), amount.
fn gen_cas(o: usize, n: usize, count: usize) -> Vec<(usize, usize, bool, u64)> {
    let mut rng = Rng::new(60, o as u64);
    (0..count)
        .map(|_| {
            let t = rng.below(n as u64) as usize;
            let c = rng.below(NCOUNT as u64) as usize;
            (t, c, rng.below(2) == 0, 1 + rng.below(100))
        })
        .collect()
}

/// Adds `d` to a counter with a read + compare-and-swap loop; returns the retries.
fn cas_add(rt: &Runtime, seg: Seg, tr: usize, c: usize, wide: bool, d: u64, last: &mut [Vec<i64>]) -> u64 {
    let mut retries = 0;
    if wide {
        let off = (c * 8) as u64;
        let mut old: u64 = t!(rt.fetch_and_op(0u64, tr, seg, off, AccOp::NoOp));
        loop {
            check(old as i64 >= last[tr][c], || {
                format!("(f) u64 counter {c} of rank {tr} went back: {old} < {}", last[tr][c])
            });
            last[tr][c] = old as i64;
            let got = t!(rt.compare_and_swap(old, old + d, tr, seg, off));
            if got == old {
                return retries;
            }
            retries += 1;
            old = got;
        }
    } else {
        let off = (NCOUNT * 8 + c * 4) as u64;
        let mut old: i32 = t!(rt.fetch_and_op(0i32, tr, seg, off, AccOp::NoOp));
        loop {
            let k = NCOUNT + c;
            check(i64::from(old) >= last[tr][k], || {
                format!("(f) i32 counter {c} of rank {tr} went back: {old} < {}", last[tr][k])
            });
            last[tr][k] = i64::from(old);
            let got = t!(rt.compare_and_swap(old, old + d as i32, tr, seg, off));
            if got == old {
                return retries;
            }
            retries += 1;
            old = got;
        }
    }
}

fn phase_cas(rt: &Runtime, seg: Seg, count: usize) -> u64 {
    let (me, n) = (rt.rank(), rt.nranks());
    let mut expect: Vec<Image> = (0..n).map(|_| vec![0u8; CSEG]).collect();
    write_local(rt, seg, &expect[me]);
    t!(rt.sync());
    let mut last = vec![vec![0i64; 2 * NCOUNT]; n];
    let mut retries = 0;
    for (tr, c, wide, d) in gen_cas(me, n, count) {
        retries += cas_add(rt, seg, tr, c, wide, d, &mut last);
    }
    for o in 0..n {
        for (tr, c, wide, d) in gen_cas(o, n, count) {
            let img = &mut expect[tr];
            if wide {
                upd_u64(img, c, |x| x + d);
            } else {
                let k = NCOUNT * 2 + c; // i32 index: the u64 counters take 2*NCOUNT i32 slots
                let x = rd_i32(img, k);
                wr_i32(img, k, x + d as i32);
            }
        }
    }
    verify(rt, seg, &expect, "(f) compare_and_swap counters", 4, |img, j| {
        rd_i32(img, j).to_string()
    });
    let mut r = [retries];
    t!(rt.allreduce(&mut r, distarr_runtime::ReduceOp::Sum));
    r[0]
}

// ---------------------------------------------------------------- (g) shared counters

fn phase_counters(rt: &Runtime, k: usize) {
    let (me, n) = (rt.rank(), rt.nranks());
    let seg = t!(rt.alloc(16));
    write_local(rt, seg, &[0u8; 16]);
    t!(rt.sync());
    let last = n - 1;
    let mut f64s = Vec::with_capacity(k);
    let mut f32s = Vec::with_capacity(k);
    for _ in 0..k {
        f64s.push(t!(rt.fetch_and_op(1u64, 0, seg, 0, AccOp::Sum)));
        f32s.push(t!(rt.fetch_and_op(1i32, last, seg, 8, AccOp::Sum)));
    }
    for w in f64s.windows(2) {
        check(w[0] < w[1], || {
            format!("(g) fetched u64 counter values must increase: {} then {}", w[0], w[1])
        });
    }
    for w in f32s.windows(2) {
        check(w[0] < w[1], || {
            format!("(g) fetched i32 counter values must increase: {} then {}", w[0], w[1])
        });
    }
    t!(rt.sync());
    let total = k * n;
    let mut all64 = vec![0u64; total];
    t!(rt.allgather(&f64s, &mut all64));
    all64.sort_unstable();
    let mut all32 = vec![0i32; total];
    t!(rt.allgather(&f32s, &mut all32));
    all32.sort_unstable();
    for (i, (&a, &b)) in all64.iter().zip(&all32).enumerate() {
        check(a == i as u64, || {
            format!("(g) u64 counter at rank 0: sorted fetched value {i} is {a}")
        });
        check(b == i as i32, || {
            format!("(g) i32 counter at rank {last}: sorted fetched value {i} is {b}")
        });
    }
    let mut c64 = [0u64];
    t!(rt.get_elems(&mut c64, 0, seg, 0));
    let mut c32 = [0i32];
    t!(rt.get_elems(&mut c32, last, seg, 8));
    check(c64[0] == total as u64, || {
        format!("(g) u64 counter ends at {}, want {total}", c64[0])
    });
    check(c32[0] == total as i32, || {
        format!("(g) i32 counter ends at {}, want {total}", c32[0])
    });
    let mine = read_local(rt, seg);
    if me == 0 {
        check(rd_u64(&mine, 0) == total as u64, || {
            format!("(g) u64 counter (loads) is {}", rd_u64(&mine, 0))
        });
    }
    if me == last {
        check(rd_i32(&mine, 2) == total as i32, || {
            format!("(g) i32 counter (loads) is {}", rd_i32(&mine, 2))
        });
    }
    t!(rt.sync());
    t!(rt.free(seg));
}

fn main() {
    let rt = t!(Runtime::init());
    let (me, n) = (rt.rank(), rt.nranks());
    let info = rt.info();
    if me == 0 {
        eprintln!(
            "rt_stress: {n} ranks, {:?}, window {:?}, shm fastpath {}, progress thread {}",
            info.flavor, info.window, info.shm_fastpath, info.progress_thread
        );
    }
    // Per-rank operation counts; the totals grow with n, so they shrink a little at high n.
    let scale = |base: usize| (base * 4 / n.max(4)).max(base / 4);
    let seg_u = t!(rt.alloc((M * 8) as u64));
    let seg_i = t!(rt.alloc((M * 8) as u64));
    let seg_c = t!(rt.alloc(CSEG as u64));
    let mut clock = Instant::now();
    let mut lap = |what: &str| {
        if me == 0 {
            eprintln!("rt_stress: {what}: {:.3} s", clock.elapsed().as_secs_f64());
        }
        clock = Instant::now();
    };

    phase_puts(&rt, seg_u, scale(2000));
    lap("(a) puts");

    // Start from the put phase's result (already verified to equal the replay).
    let mut expect_u: Vec<Image> = (0..n)
        .map(|r| {
            let mut img = vec![0u8; M * 8];
            t!(rt.get(&mut img, r, seg_u, 0));
            img
        })
        .collect();
    t!(rt.sync());
    phase_acc(&rt, seg_u, AccKind::SumU64, 20, scale(1000), &mut expect_u);
    lap("(b) accumulate Sum");
    phase_acc(&rt, seg_u, AccKind::BxorU64, 30, scale(1000), &mut expect_u);
    lap("(c) accumulate Bxor");

    let mut expect_i: Vec<Image> = (0..n).map(|r| initial(200, r)).collect();
    write_local(&rt, seg_i, &expect_i[me]);
    t!(rt.sync());
    phase_acc(&rt, seg_i, AccKind::MaxI64, 40, scale(1000), &mut expect_i);
    phase_acc(&rt, seg_i, AccKind::MinI64, 41, scale(1000), &mut expect_i);
    let mut expect_f: Vec<Image> = (0..n).map(|_| vec![0u8; M * 8]).collect();
    for img in &mut expect_f {
        for j in 0..M {
            wr_f64(img, j, j as f64 - 1000.0);
        }
    }
    write_local(&rt, seg_i, &expect_f[me]);
    t!(rt.sync());
    phase_acc(&rt, seg_i, AccKind::SumF64, 42, scale(1000), &mut expect_f);
    lap("(d) accumulate Max/Min i64, Sum f64");

    phase_fetch(&rt, seg_u, scale(3000));
    lap("(e) fetch_and_op/get_accumulate");

    let retries = phase_cas(&rt, seg_c, scale(3000));
    lap(&format!("(f) CAS loops ({retries} retries in all)"));

    let k = if n <= 4 { 1000 } else { (4000 / n).max(100) };
    phase_counters(&rt, k);
    lap(&format!("(g) shared counters, K={k}"));

    t!(rt.free(seg_c));
    t!(rt.free(seg_i));
    t!(rt.free(seg_u));
    finish(&rt);
}

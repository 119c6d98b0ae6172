//! Transfers larger than `i32::MAX` bytes through MPI (the node-local memcpy path is switched
//! off), which the runtime must split into chunks.
//!
//! With `DISTARR_TEST_LARGE=1` every rank allocates 2_254_857_830 bytes (> 2^31); otherwise a
//! 64 MiB + odd-size version runs. Rank r sends to rank (r+1) % n:
//! 1. a blocking `put` of the whole part; the receiver checks its memory (loads);
//! 2. a blocking `get` of the whole part back into a zeroed buffer;
//! 3. a `get_nb` + wait of everything from byte 1 (odd offset, still > 2 GiB);
//! 4. a `put_nb` + wait + flush of a second pattern from byte 3; the receiver checks bytes
//!    0..3 kept the first pattern and the rest carry the second.
//!
//! Byte `i` of pattern `p` is `7*i + p + 13*(i >> 16)` (mod 256): a 256-byte period inside each
//! 64 KiB block with a per-block shift, so a chunk landing at a wrong offset is caught. Peak
//! memory per rank: the segment plus one buffer of the same size.
use distarr_mpitests::{check, finish, t};
use distarr_runtime::{CommSource, Config, Runtime};

use std::time::Instant;

const LARGE: usize = 2_254_857_830;
const SMALL: usize = (64 << 20) + 12_345;

/// The 256 possible 256-byte periods: `TABLES[c][j] = 7*j + c`.
struct Tables(Vec<[u8; 256]>);

impl Tables {
    fn new() -> Tables {
        Tables(
            (0..256u32)
                .map(|c| std::array::from_fn(|j| (7 * j as u32 + c) as u8))
                .collect(),
        )
    }

    /// Calls `f(range_in_buf, expected_bytes)` for consecutive runs covering pattern `p` at
    /// absolute byte positions `start..start + len`; each run stays inside one 256-byte period.
    fn runs(&self, p: u8, start: usize, len: usize, mut f: impl FnMut(std::ops::Range<usize>, &[u8])) {
        let mut i = start;
        let end = start + len;
        while i < end {
            let j0 = i % 256;
            let n = (256 - j0).min(end - i);
            let c = (usize::from(p) + 13 * (i >> 16)) % 256;
            f(i - start..i - start + n, &self.0[c][j0..j0 + n]);
            i += n;
        }
    }

    fn fill(&self, buf: &mut [u8], p: u8, start: usize) {
        self.runs(p, start, buf.len(), |r, want| buf[r].copy_from_slice(want));
    }

    /// Index (in `buf`) of the first byte that differs from pattern `p` at `start`.
    fn first_mismatch(&self, buf: &[u8], p: u8, start: usize) -> Option<usize> {
        let mut bad = None;
        self.runs(p, start, buf.len(), |r, want| {
            if bad.is_none() && buf[r.clone()] != *want {
                bad = Some(r.start + buf[r].iter().zip(want).position(|(a, b)| a != b).unwrap_or(0));
            }
        });
        bad
    }

    fn expect(&self, buf: &[u8], p: u8, start: usize, what: &str) {
        if let Some(k) = self.first_mismatch(buf, p, start) {
            let i = start + k;
            let want = (7 * (i % 256) + usize::from(p) + 13 * (i >> 16)) as u8;
            check(false, || {
                format!(
                    "{what}: byte {i} (of {} checked from {start}) is {}, pattern {p} has {want}",
                    buf.len(),
                    buf[k]
                )
            });
        }
    }
}

/// Writes one line to stderr in one call, so lines of different ranks do not interleave.
fn say(line: String) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(format!("{line}\n").as_bytes());
}

fn main() {
    let mut cfg = t!(Config::from_env());
    cfg.shm_fastpath = false;
    let rt = t!(Runtime::init_with(cfg, CommSource::World));
    let (me, n) = (rt.rank(), rt.nranks());
    let large = std::env::var("DISTARR_TEST_LARGE").is_ok_and(|v| v.trim() == "1");
    let len = if large { LARGE } else { SMALL };
    let info = rt.info();
    if me == 0 {
        say(format!(
            "rt_large: {n} ranks, {:?}, window {:?}, shm fastpath {}, {len} bytes per rank{}",
            info.flavor,
            info.window,
            info.shm_fastpath,
            if large {
                ""
            } else {
                " (set DISTARR_TEST_LARGE=1 for > 2 GiB)"
            }
        ));
    }
    let (to, from) = ((me + 1) % n, (me + n - 1) % n);
    // Pattern ids: the first from each sender, the second 100 higher.
    let (p_mine, p_from) = (me as u8, from as u8);
    let (q_mine, q_from) = (p_mine.wrapping_add(100), p_from.wrapping_add(100));
    let tables = Tables::new();
    let seg = t!(rt.alloc(len as u64));
    let mut clock = Instant::now();
    let mut lap = |what: &str| {
        say(format!(
            "rt_large: rank {me}: {what}: {:.2} s",
            clock.elapsed().as_secs_f64()
        ));
        clock = Instant::now();
    };

    let mut buf = vec![0u8; len];
    tables.fill(&mut buf, p_mine, 0);
    lap("fill");
    t!(rt.put(to, seg, 0, &buf));
    lap(&format!("put {len} B to rank {to}"));
    t!(rt.sync());
    let (p, seg_len) = t!(rt.local_ptr(seg));
    check(seg_len as usize == len, || format!("segment length {seg_len}"));
    {
        // SAFETY:
        // - `p` is valid for `len` bytes of this rank's part of `seg` (local_ptr);
        // - between this sync and the next one no rank writes this part (the gets below only
        //   read it), and no mutable reference to it exists while this slice lives.
        let mine = unsafe { std::slice::from_raw_parts(p.cast_const(), len) };
        tables.expect(mine, p_from, 0, &format!("memory after put from rank {from}"));
    }
    lap("check own memory");

    buf.fill(0);
    t!(rt.get(&mut buf, to, seg, 0));
    lap(&format!("get {len} B from rank {to}"));
    tables.expect(&buf, p_mine, 0, &format!("get from rank {to}"));

    buf.fill(0);
    let req = t!(rt.get_nb(&mut buf[..len - 1], to, seg, 1));
    t!(req.wait());
    lap(&format!("get_nb {} B from rank {to}", len - 1));
    tables.expect(
        &buf[..len - 1],
        p_mine,
        1,
        &format!("get_nb from rank {to} at offset 1"),
    );
    check(buf[len - 1] == 0, || "get_nb wrote past its buffer".to_string());
    t!(rt.sync());

    tables.fill(&mut buf[..len - 3], q_mine, 3);
    lap("fill");
    let req = t!(rt.put_nb(to, seg, 3, &buf[..len - 3]));
    t!(req.wait());
    t!(rt.flush(to));
    lap(&format!("put_nb {} B to rank {to}", len - 3));
    t!(rt.sync());
    {
        // SAFETY: as above: after the sync nobody writes this part until the final sync.
        let mine = unsafe { std::slice::from_raw_parts(p.cast_const(), len) };
        tables.expect(
            &mine[..3],
            p_from,
            0,
            "bytes 0..3, which put_nb at offset 3 must not touch",
        );
        tables.expect(&mine[3..], q_from, 3, &format!("memory after put_nb from rank {from}"));
    }
    lap("check own memory");
    drop(buf);
    t!(rt.sync());
    t!(rt.free(seg));
    finish(&rt);
}

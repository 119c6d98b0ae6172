//! Arrays of more than 2^31 elements (uint8) through the C ABI: creation, element-wise
//! operations (array-array across two layouts, array-scalar, through a strided view), region
//! get/put around element 2^31, at the end and of the whole array (> 2^31 bytes in one call),
//! element location, and reductions (all elements: any, sum, argmax, argmin, all; along an axis
//! of a reshaped view), checked exactly against a model of every element's value.
//!
//! With `DISTARR_TEST_LARGE=1` the arrays have N = 2_200_000_006 elements (two arrays of 2.2 GB:
//! 4.4 GB of heap on one rank); otherwise N = 6_000_014 and the "2^31" boundary is moved to the
//! middle (the same code paths, quickly).
use capi::*;
use distarr_mpitests::check;
use std::collections::BTreeMap;
use std::ffi::CStr;
use std::ptr::{null, null_mut};
use std::time::Instant;

fn last_error() -> String {
    // SAFETY: distarr_last_error returns a valid NUL-terminated string owned by this thread.
    unsafe { CStr::from_ptr(distarr_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// Panics with the call, its status and the library's message unless `rc` is `DISTARR_OK`.
#[track_caller]
fn ok(rc: i32, what: &str) {
    if rc != DISTARR_OK {
        panic!("{what}: status {rc}: {}", last_error());
    }
}

/// The value every element has at the end, from the few special ones.
struct Model {
    n: usize,
    /// Elements with a value other than the base one (before the view's doubling).
    special: BTreeMap<usize, u8>,
    base: u8,
    /// Elements `view_start, view_start + 3, ...` were doubled (mod 256) when this is set.
    view_start: Option<usize>,
}

impl Model {
    fn in_view(&self, i: usize) -> bool {
        self.view_start.is_some_and(|s| i >= s && (i - s) % 3 == 0)
    }

    fn value(&self, i: usize) -> u8 {
        let v = *self.special.get(&i).unwrap_or(&self.base);
        if self.in_view(i) {
            v.wrapping_mul(2)
        } else {
            v
        }
    }

    /// Number of view elements in `[lo, hi)`.
    fn view_count(&self, lo: usize, hi: usize) -> u64 {
        let Some(s) = self.view_start else { return 0 };
        let lo = lo.max(s);
        if hi <= lo {
            return 0;
        }
        // first view index >= lo
        let first = s + (lo - s).div_ceil(3) * 3;
        if first >= hi {
            0
        } else {
            ((hi - 1 - first) / 3 + 1) as u64
        }
    }

    /// Sum of the elements in `[lo, hi)`.
    fn sum(&self, lo: usize, hi: usize) -> u64 {
        let views = self.view_count(lo, hi);
        let b = u64::from(self.base);
        let mut s = views * u64::from(self.base.wrapping_mul(2)) + ((hi - lo) as u64 - views) * b;
        for (&i, _) in self.special.range(lo..hi) {
            s = s - u64::from(if self.in_view(i) {
                self.base.wrapping_mul(2)
            } else {
                self.base
            }) + u64::from(self.value(i));
        }
        s
    }
}

fn main() {
    distarr_mpitests::abort_on_panic();
    let large = std::env::var("DISTARR_TEST_LARGE").is_ok_and(|v| v.trim() == "1");
    let n: usize = if large { 2_200_000_006 } else { 6_000_014 };
    let b31: usize = if large { 1 << 31 } else { n / 2 + 1 };
    // SAFETY: NULL argc/argv.
    ok(unsafe { distarr_init(null_mut(), null_mut()) }, "distarr_init");
    let (mut me, mut np) = (0i32, 0i32);
    // SAFETY: pointers to locals.
    unsafe {
        ok(distarr_rank(&mut me), "rank");
        ok(distarr_nranks(&mut np), "nranks");
    }
    let mut clock = Instant::now();
    let mut lap = |what: &str| {
        if me == 0 {
            eprintln!("arr_large: {what}: {:.2} s", clock.elapsed().as_secs_f64());
        }
        clock = Instant::now();
    };
    if me == 0 {
        eprintln!(
            "arr_large: {np} rank(s), N = {n}{}",
            if large {
                ""
            } else {
                " (set DISTARR_TEST_LARGE=1 for > 2^31)"
            }
        );
    }
    let shape = [n as i64];
    let (mut a, mut b) = (0i64, 0i64);
    let block = [1i64 << 20];
    // SAFETY: `shape`, `block` hold one entry; outputs writable.
    unsafe {
        ok(
            distarr_create(1, shape.as_ptr(), DISTARR_DTYPE_U8, null(), &mut a),
            "create a",
        );
        ok(
            distarr_create(1, shape.as_ptr(), DISTARR_DTYPE_U8, block.as_ptr(), &mut b),
            "create b (block-cyclic)",
        );
    }
    let mut size = 0i64;
    // SAFETY: writable.
    ok(unsafe { distarr_size(a, &mut size) }, "size");
    check(size == n as i64, || format!("size {size}"));
    let red = |op: i32, x: i64| -> Vec<u8> {
        let mut out = [0u8; 8];
        // SAFETY: 8 writable bytes hold any of these result dtypes.
        ok(
            unsafe { distarr_reduce(op, x, DISTARR_AXIS_NONE, 0, out.as_mut_ptr().cast()) },
            "reduce",
        );
        out.to_vec()
    };
    let as_u64 = |v: &[u8]| u64::from_le_bytes(v[..8].try_into().unwrap());
    // Zero-filled.
    check(red(DISTARR_REDUCE_ANY, a)[0] == 0, || "a is not all zero".into());
    lap("create two arrays, any(a)");

    // Element-wise: a = 3 (scalar add), b = 5 (fill), a = a + b (across layouts).
    let three = 3u8;
    let five = 5u8;
    // SAFETY: one u8 each.
    unsafe {
        ok(
            distarr_binary_scalar(
                DISTARR_UFUNC_ADD,
                a,
                a,
                (&three as *const u8).cast(),
                DISTARR_DTYPE_U8,
                0,
            ),
            "a += 3",
        );
        ok(distarr_fill(b, (&five as *const u8).cast()), "fill b");
    }
    ok(distarr_binary(DISTARR_UFUNC_ADD, a, a, b), "a = a + b");
    ok(distarr_free(b), "free b");
    let mut m = Model {
        n,
        special: BTreeMap::new(),
        base: 8,
        view_start: None,
    };
    // (every element is 8: the sums below say so)
    lap("a += 3, fill b, a += b");

    // Region puts by rank 0: three boxes (start, around 2^31, end), an argmax and an argmin.
    ok(distarr_sync(), "sync");
    let boxes = [(0, 1000), (b31 - 500, b31 + 500), (n - 1000, n)];
    let pattern = |i: usize| ((i.wrapping_mul(7) + 1) % 200) as u8 + 10;
    for &(lo, hi) in &boxes {
        for i in lo..hi {
            m.special.insert(i, pattern(i));
        }
    }
    let (imax, imin) = (n - 7, b31 + 17);
    m.special.insert(imax, 255);
    m.special.insert(imin, 0);
    if me == 0 {
        for &(lo, hi) in &boxes {
            let data: Vec<u8> = (lo..hi).map(|i| m.value(i)).collect();
            let (l, h) = ([lo as i64], [hi as i64]);
            // SAFETY: one bound each; `data` holds the box.
            ok(
                unsafe { distarr_put_region(a, l.as_ptr(), h.as_ptr(), data.as_ptr().cast()) },
                "put_region",
            );
        }
        for (i, v) in [(imax, 255u8), (imin, 0u8)] {
            let (l, h) = ([i as i64], [i as i64 + 1]);
            // SAFETY: one element.
            ok(
                unsafe { distarr_put_region(a, l.as_ptr(), h.as_ptr(), (&v as *const u8).cast()) },
                "put_region",
            );
        }
    }
    ok(distarr_sync(), "sync");
    let read = |lo: usize, hi: usize| -> Vec<u8> {
        let mut buf = vec![0u8; hi - lo];
        let (l, h) = ([lo as i64], [hi as i64]);
        // SAFETY: one bound each; `buf` holds the box.
        ok(
            unsafe { distarr_get_region(a, l.as_ptr(), h.as_ptr(), buf.as_mut_ptr().cast()) },
            "get_region",
        );
        buf
    };
    for (lo, hi) in [(0, 1000), (b31 - 3000, b31 + 3000), (n - 5000, n)] {
        let got = read(lo, hi);
        if let Some(k) = (lo..hi).position(|i| got[i - lo] != m.value(i)) {
            panic!("[rank {me}] element {} is {}, want {}", lo + k, got[k], m.value(lo + k));
        }
    }
    lap("region puts and gets");

    // Reductions with results beyond 2^31.
    let sum = as_u64(&red(DISTARR_REDUCE_SUM, a));
    check(sum == m.sum(0, n), || format!("sum {sum}, want {}", m.sum(0, n)));
    let am = as_u64(&red(DISTARR_REDUCE_ARGMAX, a));
    check(am == imax as u64, || format!("argmax {am}, want {imax}"));
    let an = as_u64(&red(DISTARR_REDUCE_ARGMIN, a));
    check(an == imin as u64, || format!("argmin {an}, want {imin}"));
    check(red(DISTARR_REDUCE_ALL, a)[0] == 0, || "all".into());
    lap("sum, argmax, argmin, all");

    // A strided view from beyond 2^31: v = a[2^31+1::3]; v *= 2 (in place through the view).
    let (start, stop, step) = ([b31 as i64 + 1], [DISTARR_SLICE_NONE], [3i64]);
    let mut v = 0i64;
    // SAFETY: one entry each; `v` writable.
    ok(
        unsafe { distarr_view(a, 1, start.as_ptr(), stop.as_ptr(), step.as_ptr(), &mut v) },
        "view",
    );
    let two = 2u8;
    // SAFETY: one u8.
    ok(
        unsafe {
            distarr_binary_scalar(
                DISTARR_UFUNC_MULTIPLY,
                v,
                v,
                (&two as *const u8).cast(),
                DISTARR_DTYPE_U8,
                0,
            )
        },
        "v *= 2",
    );
    m.view_start = Some(b31 + 1);
    let vsum = as_u64(&red(DISTARR_REDUCE_SUM, v));
    let want: u64 = {
        // the view's elements only
        let s = m.view_start.unwrap_or(0);
        let count = m.view_count(s, n);
        let mut t = count * 16;
        for (&i, _) in m.special.range(s..n) {
            if m.in_view(i) {
                t = t - 16 + u64::from(m.value(i));
            }
        }
        t
    };
    check(vsum == want, || format!("sum of the view {vsum}, want {want}"));
    ok(distarr_sync(), "sync");
    for (lo, hi) in [(b31 - 100, b31 + 700), (n - 1200, n)] {
        let got = read(lo, hi);
        if let Some(k) = (lo..hi).position(|i| got[i - lo] != m.value(i)) {
            panic!(
                "[rank {me}] after v *= 2: element {} is {}, want {}",
                lo + k,
                got[k],
                m.value(lo + k)
            );
        }
    }
    // Where element N-7 lives, read through its segment.
    let (mut r, mut off, mut seg) = (0i32, 0u64, 0u32);
    let idx = [imax as i64];
    // SAFETY: one index entry; outputs writable.
    unsafe {
        ok(distarr_locate(a, idx.as_ptr(), &mut r, &mut off), "locate");
        ok(distarr_segment(a, &mut seg), "segment");
    }
    let mut byte = 0u8;
    // SAFETY: one writable byte.
    ok(
        unsafe { distarr_get((&mut byte as *mut u8).cast(), r, seg, off, 1) },
        "get",
    );
    check(byte == m.value(imax), || {
        format!("element {imax} at rank {r} offset {off}: {byte}")
    });
    ok(distarr_free(v), "free v");
    lap("strided view *= 2, its sum, region reads, locate");

    // The whole array (> 2^31 bytes) out with one get_region, zeroed, back with one put_region
    // (rank 0), summed again.
    let whole = if me == 0 { read(0, n) } else { Vec::new() };
    if me == 0 {
        for i in (0..n).step_by(999_983).chain(m.special.keys().copied()) {
            check(whole[i] == m.value(i), || {
                format!("element {i} of the whole read is {}", whole[i])
            });
        }
    }
    let zero = 0u8;
    // SAFETY: one u8.
    ok(unsafe { distarr_fill(a, (&zero as *const u8).cast()) }, "fill a with 0");
    ok(distarr_sync(), "sync");
    if me == 0 {
        let (l, h) = ([0i64], [n as i64]);
        // SAFETY: one bound each; `whole` holds the whole array.
        ok(
            unsafe { distarr_put_region(a, l.as_ptr(), h.as_ptr(), whole.as_ptr().cast()) },
            "put_region (whole)",
        );
    }
    drop(whole);
    ok(distarr_sync(), "sync");
    let sum = as_u64(&red(DISTARR_REDUCE_SUM, a));
    check(sum == m.sum(0, n), || {
        format!("sum after the whole put {sum}, want {}", m.sum(0, n))
    });
    lap("whole-array get_region, fill 0, put_region, sum");

    // Along an axis: a as [2, N/2], summed along axis 1 into a uint64 [2].
    let rs = [2i64, (n / 2) as i64];
    let (mut r2, mut out) = (0i64, 0i64);
    let two_shape = [2i64];
    // SAFETY: entries as given; outputs writable.
    unsafe {
        ok(distarr_reshape(a, 2, rs.as_ptr(), &mut r2), "reshape");
        ok(
            distarr_create(1, two_shape.as_ptr(), DISTARR_DTYPE_U64, null(), &mut out),
            "create out",
        );
    }
    // SAFETY: `scalar_out` is ignored along an axis.
    ok(
        unsafe { distarr_reduce(DISTARR_REDUCE_SUM, r2, 1, out, null_mut()) },
        "sum along axis 1",
    );
    ok(distarr_sync(), "sync");
    let mut rows = [0u64; 2];
    let (l, h) = ([0i64], [2i64]);
    // SAFETY: one bound each; `rows` holds two u64.
    ok(
        unsafe { distarr_get_region(out, l.as_ptr(), h.as_ptr(), rows.as_mut_ptr().cast()) },
        "get rows",
    );
    let want = [m.sum(0, n / 2), m.sum(n / 2, n)];
    check(rows == want, || format!("row sums {rows:?}, want {want:?}"));
    lap("reshape, sum along an axis");
    ok(distarr_free(out), "free out");
    ok(distarr_free(r2), "free r2");
    ok(distarr_free(a), "free a");
    ok(distarr_finalize(), "finalize");
    let _ = m.n;
    println!("distarr-test: ok rank={me}");
}

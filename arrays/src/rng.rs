//! Counter-based random numbers, so that a random array's values depend only on the seed and
//! each element's global linear (C-order) index — never on the number of ranks or on which rank
//! computes them.
//!
//! The generator is Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2,
//! 3", SC'11; the Random123 library, also used by NumPy's `Philox` bit generator and cuRAND).
//! The 64-bit seed is the key and the 128-bit counter is
//! `(pair low 32 bits, pair high 32 bits, stream, 0)` where `pair = index / 2`: each block of
//! 128 bits serves two neighbouring elements (words 0-1 the even index, 2-3 the odd one). Each
//! distribution below uses its own stream number, so their outputs are independent.
//!
//! The values are distarr's own: they do not reproduce NumPy's `np.random` sequences.

#![allow(unsafe_code)]

use crate::engine::tile::Indices;
use crate::error::{Error, Result};

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

/// Counter stream of [`uniform_u64`] / [`uniform_f64`] / [`uniform_below`].
const STREAM_UNIFORM: u32 = 0;
/// Counter streams of the two uniforms behind [`normal_f64`].
const STREAM_NORMAL_1: u32 = 1;
const STREAM_NORMAL_2: u32 = 2;

fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = u64::from(a) * u64::from(b);
    ((p >> 32) as u32, p as u32)
}

/// The Philox4x32 bijection with 10 rounds: encrypts the 128-bit counter `ctr` under `key`.
pub fn philox4x32_10(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut c = ctr;
    let mut k = key;
    for round in 0..10 {
        if round > 0 {
            k = [k[0].wrapping_add(W0), k[1].wrapping_add(W1)];
        }
        let (hi0, lo0) = mulhilo(M0, c[0]);
        let (hi1, lo1) = mulhilo(M1, c[2]);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
    }
    c
}

fn block(seed: u64, index: u64, stream: u32) -> [u32; 4] {
    philox4x32_10(
        [index as u32, (index >> 32) as u32, stream, 0],
        [seed as u32, (seed >> 32) as u32],
    )
}

/// 64 bits of stream `stream` for element `index`: one Philox block serves two neighbouring
/// elements, its words (w0, w1) the even one and (w2, w3) the odd one.
fn u64_of(seed: u64, index: u64, stream: u32) -> u64 {
    let w = block(seed, index >> 1, stream);
    if index & 1 == 0 {
        (u64::from(w[1]) << 32) | u64::from(w[0])
    } else {
        (u64::from(w[3]) << 32) | u64::from(w[2])
    }
}

/// Maps 64 random bits to a double uniform in `[0, 1)` using the top 53 bits: `(bits >> 11) ·
/// 2⁻⁵³`. The 53-bit integer is converted as two 32-bit halves through the exponent trick
/// (`2⁵² + x` as bits, minus `2⁵²`), exactly, which vectorises where a 64-bit integer
/// conversion does not (AVX2 has none).
#[inline(always)]
fn to_unit(bits: u64) -> f64 {
    const TWO52: f64 = 4503599627370496.0;
    const BIAS: u64 = 0x4330_0000_0000_0000; // the bits of 2^52
    let v = bits >> 11;
    let hi = f64::from_bits(BIAS | (v >> 32)) - TWO52;
    let lo = f64::from_bits(BIAS | (v & 0xffff_ffff)) - TWO52;
    (hi * 4294967296.0 + lo) * (1.0 / (1u64 << 53) as f64)
}

/// 64 uniformly random bits for element `index` under `seed`.
pub fn uniform_u64(seed: u64, index: u64) -> u64 {
    u64_of(seed, index, STREAM_UNIFORM)
}

/// A double uniform in `[0, 1)` (a multiple of 2⁻⁵³) for element `index` under `seed`: the top
/// 53 bits of [`uniform_u64`].
pub fn uniform_f64(seed: u64, index: u64) -> f64 {
    to_unit(uniform_u64(seed, index))
}

/// An integer uniform in `0..bound` for element `index`, by Lemire's multiply-high mapping of
/// [`uniform_u64`] (no rejection, so the bias is below `bound / 2⁶⁴`). `bound == 0` is an
/// error.
pub fn uniform_below(seed: u64, index: u64, bound: u64) -> Result<u64> {
    if bound == 0 {
        return Err(Error::invalid("uniform_below: the bound must be positive"));
    }
    let wide = u128::from(uniform_u64(seed, index)) * u128::from(bound);
    Ok((wide >> 64) as u64)
}

/// A standard normal deviate for element `index` under `seed`, by the Box–Muller transform
/// `sqrt(-2 ln u₁) · cos(2π u₂)` of two uniforms from two counter streams of their own
/// (`u₁` is taken in `(0, 1]` so the logarithm is finite).
pub fn normal_f64(seed: u64, index: u64) -> f64 {
    let u1 = 1.0 - to_unit(u64_of(seed, index, STREAM_NORMAL_1));
    let u2 = to_unit(u64_of(seed, index, STREAM_NORMAL_2));
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

// ---- generators for the engine: values of whole tiles from their flat indices --------------

/// Counters evaluated side by side: wide enough for AVX-512 (16 lanes of 32 bits), and a
/// multiple of the narrower vector widths.
const LANES: usize = 16;

/// Philox4x32-10 of `LANES` counters `(lo, hi, stream, 0)` under one key: the four output words
/// of each. Written lane-wise on 64-bit lanes holding 32-bit words, so the compiler vectorises
/// it without shuffles (the 32×32→64-bit products are `vpmuludq`).
#[inline(always)]
fn philox_lanes(lo: &[u64; LANES], hi: &[u64; LANES], stream: u32, key: [u32; 2]) -> [[u64; LANES]; 4] {
    const MASK: u64 = 0xffff_ffff;
    let (mut c0, mut c1, mut c2, mut c3) = (*lo, *hi, [u64::from(stream); LANES], [0u64; LANES]);
    let (mut k0, mut k1) = (u64::from(key[0]), u64::from(key[1]));
    for round in 0..10 {
        if round > 0 {
            k0 = (k0 + u64::from(W0)) & MASK;
            k1 = (k1 + u64::from(W1)) & MASK;
        }
        for l in 0..LANES {
            let p0 = u64::from(M0) * (c0[l] & MASK);
            let p1 = u64::from(M1) * (c2[l] & MASK);
            let n0 = (p1 >> 32) ^ c1[l] ^ k0;
            let n2 = (p0 >> 32) ^ c3[l] ^ k1;
            c1[l] = p1 & MASK;
            c3[l] = p0 & MASK;
            c0[l] = n0;
            c2[l] = n2;
        }
    }
    [c0, c1, c2, c3]
}

/// Calls `each(i, value)` for the `n` elements of `idx` with 64 random bits per element (those
/// of [`u64_of`]: stream `stream` under `seed`). Consecutive indices take both halves of each
/// block, so a tile costs one Philox block per two elements.
#[inline(always)]
fn bits_of(seed: u64, stream: u32, n: usize, idx: Indices, mut each: impl FnMut(usize, u64)) {
    let key = [seed as u32, (seed >> 32) as u32];
    let half = |w: &[[u64; LANES]; 4], l: usize, odd: bool| {
        if odd {
            (w[3][l] << 32) | w[2][l]
        } else {
            (w[1][l] << 32) | w[0][l]
        }
    };
    match idx {
        Indices::From(s) => {
            let mut i = 0;
            while i < n {
                let first = s + i as u64;
                if first & 1 == 1 || n - i == 1 {
                    // An element without its pair in the tile.
                    each(i, u64_of(seed, first, stream));
                    i += 1;
                    continue;
                }
                let w = ((n - i) / 2).min(LANES);
                let (mut lo, mut hi) = ([0u64; LANES], [0u64; LANES]);
                for l in 0..w {
                    let c = (first >> 1) + l as u64;
                    lo[l] = c & 0xffff_ffff;
                    hi[l] = c >> 32;
                }
                let b = philox_lanes(&lo, &hi, stream, key);
                for l in 0..w {
                    each(i + 2 * l, half(&b, l, false));
                    each(i + 2 * l + 1, half(&b, l, true));
                }
                i += 2 * w;
            }
        }
        Indices::List(p) => {
            let mut i = 0;
            while i < n {
                let w = (n - i).min(LANES);
                let (mut lo, mut hi, mut odd) = ([0u64; LANES], [0u64; LANES], [false; LANES]);
                for l in 0..w {
                    // SAFETY: a list holds `n` indices (GenFn contract).
                    let x = unsafe { *p.add(i + l) };
                    lo[l] = (x >> 1) & 0xffff_ffff;
                    hi[l] = x >> 33;
                    odd[l] = x & 1 == 1;
                }
                let b = philox_lanes(&lo, &hi, stream, key);
                for (l, &o) in odd.iter().enumerate().take(w) {
                    each(i + l, half(&b, l, o));
                }
                i += w;
            }
        }
    }
}

#[inline(always)]
fn uniform_tile(seed: u64, n: usize, idx: Indices, dst: *mut f64) {
    bits_of(seed, STREAM_UNIFORM, n, idx, |i, b| {
        // SAFETY: i < n and `dst` holds n values (GenFn contract).
        unsafe { *dst.add(i) = to_unit(b) }
    });
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
/// [`uniform_tile`] compiled for AVX2.
///
/// # Safety
/// The CPU supports AVX2; `dst` as for [`uniform_tile`].
unsafe fn uniform_tile_avx2(seed: u64, n: usize, idx: Indices, dst: *mut f64) {
    uniform_tile(seed, n, idx, dst)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl")]
/// [`uniform_tile`] compiled for AVX-512.
///
/// # Safety
/// The CPU supports AVX-512 F/DQ/VL; `dst` as for [`uniform_tile`].
unsafe fn uniform_tile_avx512(seed: u64, n: usize, idx: Indices, dst: *mut f64) {
    uniform_tile(seed, n, idx, dst)
}

/// Engine generator: uniform `[0, 1)` doubles, `params[0]` the seed's bits
/// ([`uniform_f64`] of each element's index).
///
/// # Safety
/// As [`GenFn`](crate::engine::tile::GenFn).
pub(crate) unsafe fn gen_uniform(params: &[f64; 4], n: usize, idx: Indices, dst: *mut f64) {
    let seed = params[0].to_bits();
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512dq") && std::is_x86_feature_detected!("avx512vl") {
        // SAFETY: AVX-512 F/DQ/VL are present (checked; DQ and VL imply F); `dst` per contract.
        return unsafe { uniform_tile_avx512(seed, n, idx, dst) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is present (checked); `dst` per this function's contract.
        return unsafe { uniform_tile_avx2(seed, n, idx, dst) };
    }
    uniform_tile(seed, n, idx, dst)
}

/// Engine generator: standard normal doubles ([`normal_f64`] of each element's index).
///
/// # Safety
/// As [`GenFn`](crate::engine::tile::GenFn).
pub(crate) unsafe fn gen_normal(params: &[f64; 4], n: usize, idx: Indices, dst: *mut f64) {
    let seed = params[0].to_bits();
    // First u1 (stream 1) into dst, then combine with u2 (stream 2).
    bits_of(seed, STREAM_NORMAL_1, n, idx, |i, b| {
        // SAFETY: i < n (contract).
        unsafe { *dst.add(i) = 1.0 - to_unit(b) }
    });
    bits_of(seed, STREAM_NORMAL_2, n, idx, |i, b| {
        // SAFETY: i < n (contract).
        unsafe {
            let u1 = *dst.add(i);
            *dst.add(i) = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * to_unit(b)).cos();
        }
    });
}

fn index_at(idx: Indices, i: usize) -> f64 {
    match idx {
        Indices::From(s) => (s + i as u64) as f64,
        // SAFETY: a list holds the tile's indices (GenFn contract; i < n).
        Indices::List(p) => (unsafe { *p.add(i) }) as f64,
    }
}

/// Engine generator: `params[0] + index · params[1]`, except `params[3]` at index `params[2]`
/// (arange; linspace with its exact endpoint).
///
/// # Safety
/// As [`GenFn`](crate::engine::tile::GenFn).
pub(crate) unsafe fn gen_affine(params: &[f64; 4], n: usize, idx: Indices, dst: *mut f64) {
    let [start, step, last, stop] = *params;
    for i in 0..n {
        let k = index_at(idx, i);
        // SAFETY: i < n (contract).
        unsafe { *dst.add(i) = if k == last { stop } else { start + k * step } };
    }
}

/// Engine generator: 1 on the `params[1]`-th diagonal of a matrix with `params[0]` columns,
/// else 0 (eye).
///
/// # Safety
/// As [`GenFn`](crate::engine::tile::GenFn).
pub(crate) unsafe fn gen_eye(params: &[f64; 4], n: usize, idx: Indices, dst: *mut f64) {
    let (m, k) = (params[0] as u64, params[1] as i64);
    for i in 0..n {
        let flat = index_at(idx, i) as u64;
        let (r, c) = (flat / m.max(1), flat % m.max(1));
        // SAFETY: i < n (contract).
        unsafe { *dst.add(i) = f64::from(u8::from(c as i64 - r as i64 == k)) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Known-answer vectors from Random123's `kat_vectors` file.
    #[test]
    fn philox_known_answers() {
        assert_eq!(
            philox4x32_10([0, 0, 0, 0], [0, 0]),
            [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
        );
        assert_eq!(
            philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
        );
        assert_eq!(
            philox4x32_10(
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                [0xa4093822, 0x299f31d0]
            ),
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
        );
    }

    const N: u64 = 100_000;

    /// Pearson's chi-squared statistic of `counts` against a uniform expectation.
    fn chi2(counts: &[u64]) -> f64 {
        let total: u64 = counts.iter().sum();
        let e = total as f64 / counts.len() as f64;
        counts.iter().map(|&c| (c as f64 - e).powi(2) / e).sum()
    }

    #[test]
    fn uniform_f64_is_uniform() {
        let mut bins = [0u64; 100];
        let mut sum = 0.0;
        for i in 0..N {
            let u = uniform_f64(42, i);
            assert!((0.0..1.0).contains(&u));
            bins[(u * 100.0) as usize] += 1;
            sum += u;
        }
        // 99 degrees of freedom: mean 99, sd 14; 200 is > 7 sd out.
        let c = chi2(&bins);
        assert!(c < 200.0, "chi2 = {c}");
        // A broken generator (e.g. constant) gives a huge statistic; make sure the test can fail.
        let mut skewed = bins;
        skewed[0] += 2000;
        assert!(chi2(&skewed) > 200.0);
        let mean = sum / N as f64;
        assert!((mean - 0.5).abs() < 0.005, "mean = {mean}");
    }

    #[test]
    fn uniform_u64_bits_are_balanced() {
        // Every bit is set about half the time: sd of the count is 158, allow 1000.
        let mut ones = [0u64; 64];
        for i in 0..N {
            let x = uniform_u64(7, i);
            for (b, o) in ones.iter_mut().enumerate() {
                *o += (x >> b) & 1;
            }
        }
        for (b, &o) in ones.iter().enumerate() {
            assert!(o.abs_diff(N / 2) < 1000, "bit {b}: {o}");
        }
    }

    #[test]
    fn uniform_below_is_uniform() {
        let mut bins = [0u64; 7];
        for i in 0..N {
            bins[uniform_below(3, i, 7).unwrap() as usize] += 1;
        }
        // 6 degrees of freedom: chi2 > 40 has probability ~3e-7.
        assert!(chi2(&bins) < 40.0, "{bins:?}");
        assert!(uniform_below(3, 0, 0).is_err());
        assert_eq!(uniform_below(3, 5, 1).unwrap(), 0);
    }

    #[test]
    fn normal_moments() {
        let (mut s, mut s2, mut within1) = (0.0, 0.0, 0u64);
        for i in 0..N {
            let z = normal_f64(2024, i);
            assert!(z.is_finite());
            s += z;
            s2 += z * z;
            within1 += u64::from(z.abs() < 1.0);
        }
        let mean = s / N as f64;
        let var = s2 / N as f64 - mean * mean;
        // sd(mean) = 0.0032, sd(var) = 0.0045, sd(fraction) = 0.0015
        assert!(mean.abs() < 0.02, "mean = {mean}");
        assert!((var - 1.0).abs() < 0.03, "var = {var}");
        let frac = within1 as f64 / N as f64;
        assert!((frac - 0.682_689).abs() < 0.01, "P(|z|<1) = {frac}");
    }

    #[test]
    fn neighbours_uncorrelated() {
        let xs: Vec<f64> = (0..N).map(|i| uniform_f64(11, i) - 0.5).collect();
        let r: f64 = xs.windows(2).map(|w| w[0] * w[1]).sum::<f64>() / xs.iter().map(|x| x * x).sum::<f64>();
        // sd of the lag-1 autocorrelation is 1/sqrt(N) = 0.0032
        assert!(r.abs() < 0.02, "lag-1 correlation {r}");
    }

    #[test]
    fn tile_generators_match_the_element_functions() {
        let mut v = vec![0.0; 100];
        let list: Vec<u64> = (0..100u64).map(|i| i * 7919 + (1 << 40)).collect();
        // SAFETY: 100 values, 100 indices.
        unsafe {
            gen_uniform(
                &[f64::from_bits(99), 0.0, 0.0, 0.0],
                100,
                Indices::From(5),
                v.as_mut_ptr(),
            )
        };
        for (i, &x) in v.iter().enumerate() {
            assert_eq!(x.to_bits(), uniform_f64(99, 5 + i as u64).to_bits());
        }
        // SAFETY: as above.
        unsafe {
            gen_normal(
                &[f64::from_bits(7), 0.0, 0.0, 0.0],
                100,
                Indices::List(list.as_ptr()),
                v.as_mut_ptr(),
            )
        };
        for (i, &x) in v.iter().enumerate() {
            assert_eq!(x.to_bits(), normal_f64(7, list[i]).to_bits());
        }
    }

    proptest! {
        #[test]
        fn deterministic_and_seed_dependent(seed in any::<u64>(), idx in any::<u64>()) {
            prop_assert_eq!(uniform_u64(seed, idx), uniform_u64(seed, idx));
            prop_assert_eq!(normal_f64(seed, idx).to_bits(), normal_f64(seed, idx).to_bits());
            // Philox is a bijection of the counter for a fixed key, and distinct keys give
            // unrelated outputs; a collision of 64 bits has probability 2^-64.
            prop_assert_ne!(uniform_u64(seed, idx), uniform_u64(seed ^ 1, idx));
            prop_assert_ne!(uniform_u64(seed, idx), uniform_u64(seed, idx ^ 1));
            let u = uniform_f64(seed, idx);
            prop_assert!((0.0..1.0).contains(&u));
            prop_assert_eq!(u, (uniform_u64(seed, idx) >> 11) as f64 / (1u64 << 53) as f64);
        }
    }
}

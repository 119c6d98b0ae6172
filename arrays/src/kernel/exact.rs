//! Exact summation of doubles: a fixed-point accumulator wide enough for every finite `f64`
//! (a "small superaccumulator", after Neal, *Fast exact summation using small and large
//! superaccumulators*, 2015). Adding is exact, so the final sum does not depend on the order of
//! the additions — which is what makes distarr's float reductions bit-identical at any rank
//! count, layout and thread count. The result is the exact sum correctly rounded to the
//! nearest `f64` (ties to even).
//!
//! Representation: `Σ chunk[k] · 2^(32k − 1074)`. A finite double `±M · 2^E` with a 53-bit
//! integer `M` and `E ≥ −1074` is added as three 32-bit pieces into consecutive chunks, so each
//! addition changes a chunk by less than 2^32 and an `i64` chunk absorbs 2^30 additions before
//! carries must be propagated ([`ExactSum::normalize`]). Infinities and NaNs are counted apart
//! and give NaN or ±inf at the end, as IEEE addition would.

/// Chunks of 32 bits: 2098 bits of value (position 0 is 2^-1074, the top of `f64::MAX` is bit
/// 2097) plus room for carries from sums of up to 2^63 values.
const CHUNKS: usize = 68;
/// Additions between two carry propagations.
const ADDS_PER_NORMALIZE: u32 = 1 << 30;

/// An exact sum of doubles. See the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExactSum {
    chunk: [i64; CHUNKS],
    adds: u32,
    pos_inf: u64,
    neg_inf: u64,
    nan: u64,
}

impl Default for ExactSum {
    fn default() -> Self {
        ExactSum {
            chunk: [0; CHUNKS],
            adds: 0,
            pos_inf: 0,
            neg_inf: 0,
            nan: 0,
        }
    }
}

/// Number of `i64` words of [`ExactSum::to_words`].
pub const WORDS: usize = CHUNKS + 3;

impl ExactSum {
    /// The empty sum (0).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `x` exactly.
    #[inline]
    pub fn add(&mut self, x: f64) {
        let bits = x.to_bits();
        let exp = ((bits >> 52) & 0x7ff) as u32;
        let frac = bits & ((1u64 << 52) - 1);
        if exp == 0x7ff {
            if frac != 0 {
                self.nan += 1;
            } else if bits >> 63 == 0 {
                self.pos_inf += 1;
            } else {
                self.neg_inf += 1;
            }
            return;
        }
        // x = ±m · 2^(p − 1074) with p = max(exp, 1) − 1 ∈ [0, 2045].
        let (m, p) = if exp == 0 {
            (frac, 0)
        } else {
            (frac | (1u64 << 52), exp - 1)
        };
        if m == 0 {
            return;
        }
        let k = (p >> 5) as usize;
        let v = u128::from(m) << (p & 31);
        let (lo, mid, hi) = (
            (v & 0xffff_ffff) as i64,
            ((v >> 32) & 0xffff_ffff) as i64,
            (v >> 64) as i64,
        );
        if bits >> 63 == 0 {
            self.chunk[k] += lo;
            self.chunk[k + 1] += mid;
            self.chunk[k + 2] += hi;
        } else {
            self.chunk[k] -= lo;
            self.chunk[k + 1] -= mid;
            self.chunk[k + 2] -= hi;
        }
        self.adds += 1;
        if self.adds >= ADDS_PER_NORMALIZE {
            self.normalize();
        }
    }

    /// Propagates carries: afterwards every chunk but the top one is in `[0, 2^32)`.
    pub fn normalize(&mut self) {
        for k in 0..CHUNKS - 1 {
            let carry = self.chunk[k] >> 32;
            self.chunk[k] -= carry << 32;
            self.chunk[k + 1] += carry;
        }
        self.adds = 0;
    }

    /// Adds another exact sum (exact: the result is the sum of both).
    pub fn merge(&mut self, other: &ExactSum) {
        let mut o = other.clone();
        o.normalize();
        self.normalize();
        for (a, b) in self.chunk.iter_mut().zip(&o.chunk) {
            *a += b;
        }
        self.adds = 1;
        self.pos_inf += o.pos_inf;
        self.neg_inf += o.neg_inf;
        self.nan += o.nan;
    }

    /// The state as words whose element-wise integer sum over several accumulators (e.g. an
    /// `MPI_Allreduce` with `MPI_SUM` over up to 2^31 ranks) is the state of their merged sum;
    /// read it back with [`ExactSum::from_words`].
    pub fn to_words(&self) -> [i64; WORDS] {
        let mut s = self.clone();
        s.normalize();
        let mut w = [0i64; WORDS];
        w[..CHUNKS].copy_from_slice(&s.chunk);
        w[CHUNKS] = s.pos_inf as i64;
        w[CHUNKS + 1] = s.neg_inf as i64;
        w[CHUNKS + 2] = s.nan as i64;
        w
    }

    /// The accumulator of [`ExactSum::to_words`] (or of an element-wise sum of such words).
    pub fn from_words(w: &[i64; WORDS]) -> ExactSum {
        let mut chunk = [0i64; CHUNKS];
        chunk.copy_from_slice(&w[..CHUNKS]);
        let mut s = ExactSum {
            chunk,
            adds: 1,
            pos_inf: w[CHUNKS] as u64,
            neg_inf: w[CHUNKS + 1] as u64,
            nan: w[CHUNKS + 2] as u64,
        };
        s.normalize();
        s
    }

    /// The exact sum rounded to the nearest double (ties to even); NaN if a NaN was added or
    /// both infinities were, else ±inf if one was, else ±inf when the sum overflows.
    pub fn value(&self) -> f64 {
        if self.nan > 0 || (self.pos_inf > 0 && self.neg_inf > 0) {
            return f64::NAN;
        }
        if self.pos_inf > 0 {
            return f64::INFINITY;
        }
        if self.neg_inf > 0 {
            return f64::NEG_INFINITY;
        }
        let mut s = self.clone();
        s.normalize();
        let negative = s.chunk[CHUNKS - 1] < 0;
        if negative {
            for c in s.chunk.iter_mut() {
                *c = -*c;
            }
            s.normalize();
        }
        // Now every chunk is in [0, 2^32): a natural number V in units of 2^-1074.
        let Some(top) = s.chunk.iter().rposition(|&c| c != 0) else {
            return if negative { -0.0 } else { 0.0 };
        };
        // The 128 bits from the top chunk down, and whether anything below them is set.
        let mut bits: u128 = 0;
        for k in (top.saturating_sub(3)..=top).rev() {
            bits = (bits << 32) | s.chunk[k] as u128;
        }
        let below = top.saturating_sub(3);
        let sticky = s.chunk[..below].iter().any(|&c| c != 0);
        // V = bits · 2^(32·below) (exactly, but for the sticky bits below).
        let len = 128 - bits.leading_zeros() as i64; // bit length of `bits`
        let unit = 32 * below as i64; // V's bit position of `bits`' bit 0
        let magnitude = if len + unit <= 53 {
            // At most 53 bits, all inside `bits` (below == 0): exact, a subnormal or a small
            // normal number.
            (bits as u64) as f64 * f64::from_bits(1)
        } else {
            // Round the top 53 bits to nearest even.
            let shift = len - 53; // bits of `bits` below the kept 53
            let mant = (bits >> shift) as u64;
            let rest = bits & ((1u128 << shift) - 1);
            let half = 1u128 << (shift - 1);
            let up = rest > half || (rest == half && (sticky || mant & 1 == 1));
            let (mut mant, mut e) = (mant, unit + shift); // V ≈ mant · 2^e (units of 2^-1074)
            if up {
                mant += 1;
                if mant == 1u64 << 53 {
                    mant >>= 1;
                    e += 1;
                }
            }
            // value = mant · 2^(e − 1074); mant ∈ [2^52, 2^53), so the biased exponent is
            // e − 1074 + 52 + 1023.
            let biased = e - 1074 + 52 + 1023;
            if biased >= 0x7ff {
                f64::INFINITY
            } else {
                f64::from_bits(((biased as u64) << 52) | (mant & ((1u64 << 52) - 1)))
            }
        };
        if negative {
            -magnitude
        } else {
            magnitude
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sum(xs: &[f64]) -> f64 {
        let mut s = ExactSum::new();
        for &x in xs {
            s.add(x);
        }
        s.value()
    }

    #[test]
    fn exact_where_naive_loses() {
        assert_eq!(sum(&[1e100, 1.0, -1e100]), 1.0);
        assert_eq!(sum(&[0.1, 0.2, 0.3]), 0.6); // == math.fsum; naive left to right gives 0.6000000000000001
        assert_eq!(sum(&[1.0, 1e-16, 1e-16]), 1.0000000000000002);
        assert_eq!(sum(&[]), 0.0);
        assert_eq!(sum(&[f64::MAX, f64::MAX, -f64::MAX]), f64::MAX);
        assert_eq!(sum(&[f64::MAX, f64::MAX]), f64::INFINITY);
        assert_eq!(sum(&[-f64::MAX, -f64::MAX]), f64::NEG_INFINITY);
        assert_eq!(sum(&[5e-324, 5e-324]), 1e-323);
        assert_eq!(sum(&[f64::MIN_POSITIVE, -5e-324]), f64::MIN_POSITIVE - 5e-324);
        assert!(sum(&[1.0, f64::NAN]).is_nan());
        assert!(sum(&[f64::INFINITY, f64::NEG_INFINITY]).is_nan());
        assert_eq!(sum(&[f64::INFINITY, 1.0]), f64::INFINITY);
        // ties to even: 2^53 + 1 is halfway between 2^53 and 2^53 + 2
        let t = 9007199254740992.0;
        assert_eq!(sum(&[t, 1.0]), t);
        assert_eq!(sum(&[t, 1.0, 1e-300]), t + 2.0); // sticky bit breaks the tie upwards
        assert_eq!(sum(&[t + 2.0, 1.0]), t + 4.0); // tie to even upwards
    }

    #[test]
    fn words_merge_like_integers() {
        let xs = [1e300, -3.5, 7e-310, 2.0f64.powi(-1074), 1.25e17];
        let mut a = ExactSum::new();
        let mut b = ExactSum::new();
        for (i, &x) in xs.iter().enumerate() {
            if i % 2 == 0 {
                a.add(x)
            } else {
                b.add(-x)
            }
        }
        let (wa, wb) = (a.to_words(), b.to_words());
        let mut w = [0i64; WORDS];
        for k in 0..WORDS {
            w[k] = wa[k] + wb[k];
        }
        let mut m = a.clone();
        m.merge(&b);
        assert_eq!(ExactSum::from_words(&w).value(), m.value());
        let all: Vec<f64> = xs
            .iter()
            .enumerate()
            .map(|(i, &x)| if i % 2 == 0 { x } else { -x })
            .collect();
        assert_eq!(m.value(), sum(&all));
    }

    proptest! {
        /// Against exact integer arithmetic: values k · 2^e with |k| < 2^40 and e ∈ [-30, 30]
        /// are integers in units of 2^-30 whose sums fit an i128, and `as f64` rounds an i128
        /// to nearest even exactly like the accumulator must.
        #[test]
        fn matches_exact_integer_sums(
            terms in prop::collection::vec((-(1i64 << 40)..(1i64 << 40), -30i32..=30), 0..200),
        ) {
            let xs: Vec<f64> = terms.iter().map(|&(k, e)| k as f64 * 2f64.powi(e)).collect();
            let exact: i128 = terms.iter().map(|&(k, e)| (k as i128) << (e + 30)).sum();
            let want = exact as f64 * 2f64.powi(-30);
            prop_assert_eq!(sum(&xs), want);
            // and in any order, and split in two merged halves
            let mut rev = xs.clone();
            rev.reverse();
            prop_assert_eq!(sum(&rev).to_bits(), want.to_bits());
            let (a, b) = xs.split_at(xs.len() / 2);
            let (mut sa, mut sb) = (ExactSum::new(), ExactSum::new());
            a.iter().for_each(|&x| sa.add(x));
            b.iter().for_each(|&x| sb.add(x));
            sa.merge(&sb);
            prop_assert_eq!(sa.value().to_bits(), want.to_bits());
        }

        /// Any doubles: the result is the same in every order (the accumulator is exact).
        #[test]
        fn order_independent(xs in prop::collection::vec(any::<f64>().prop_filter("finite", |x| x.is_finite()), 0..100)) {
            let mut ys = xs.clone();
            ys.sort_by(|a, b| a.total_cmp(b));
            prop_assert_eq!(sum(&xs).to_bits(), sum(&ys).to_bits());
        }
    }
}

//! The element types kernels compute on — for each dtype, the type of its elements in the heap
//! — and their NumPy element semantics.
//!
//! Every function here is infallible and branch-light so that loops over slices vectorise: the
//! one operation that NumPy refuses on some values (integer `power` with a negative exponent)
//! is checked before the loop runs (see [`BinaryOp::can_fail`]); integer division and remainder
//! by zero give 0 (NumPy warns and gives 0); integer arithmetic wraps like NumPy's.
use crate::dtype::{DType, Scalar, C128, C64};
use crate::kernel::ops::{BinaryOp, UnaryOp};

/// A bool element as it lies in memory: one byte, true when non-zero (memory written through
/// the C ABI may hold bytes other than 0 and 1, so the heap is never read as Rust `bool`).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct B8(pub u8);

impl B8 {
    /// `true` as stored by distarr.
    pub const TRUE: B8 = B8(1);

    /// The canonical byte of `b`.
    #[inline(always)]
    pub fn new(b: bool) -> B8 {
        B8(u8::from(b))
    }

    /// Whether the byte is non-zero.
    #[inline(always)]
    pub fn get(self) -> bool {
        self.0 != 0
    }
}

/// An element type of the kernels (sealed to the ten dtypes).
pub trait Num: Copy + Default + Send + Sync + PartialEq + std::fmt::Debug + 'static {
    /// The dtype whose elements these are.
    const DTYPE: DType;
    /// `op(a, b)` for non-comparison binary ops valid for this dtype.
    fn binary(op: BinaryOp, a: Self, b: Self) -> Self;
    /// A comparison.
    fn compare(op: BinaryOp, a: Self, b: Self) -> bool;
    /// `op(a)` for non-predicate unary ops valid for this dtype.
    fn unary(op: UnaryOp, a: Self) -> Self;
    /// `isnan`, `isinf`, `isfinite`.
    fn pred(op: UnaryOp, a: Self) -> bool;
    /// NaN (any part NaN for complex); false for exact types.
    fn is_nan(self) -> bool;
    /// The value as a [`Scalar`] of `Self::DTYPE`.
    fn to_scalar(self) -> Scalar;
    /// A scalar of any dtype converted with NumPy `astype` semantics.
    fn from_scalar(s: Scalar) -> Self;
    /// 0 (false).
    fn zero() -> Self;
    /// 1 (true).
    fn one() -> Self;
}

#[inline(always)]
fn cmp_partial<T: PartialOrd>(op: BinaryOp, a: T, b: T) -> bool {
    use BinaryOp::*;
    match op {
        Equal => a == b,
        NotEqual => a != b,
        Less => a < b,
        LessEqual => a <= b,
        Greater => a > b,
        _ => a >= b,
    }
}

macro_rules! scalar_conv {
    ($t:ty, $variant:ident) => {
        #[inline]
        fn to_scalar(self) -> Scalar {
            Scalar::$variant(self)
        }
        #[inline]
        fn from_scalar(s: Scalar) -> Self {
            match s.cast_to(DType::$variant) {
                Scalar::$variant(v) => v,
                // cast_to(d) always returns the variant of d.
                _ => <$t>::default(),
            }
        }
    };
}

macro_rules! int_num {
    ($($t:ty, $variant:ident, $signed:expr);*) => {$(
        #[allow(unused_comparisons)]
        impl Num for $t {
            const DTYPE: DType = DType::$variant;
            #[inline(always)]
            fn binary(op: BinaryOp, a: $t, b: $t) -> $t {
                use BinaryOp::*;
                match op {
                    Add => a.wrapping_add(b),
                    Subtract => a.wrapping_sub(b),
                    Multiply => a.wrapping_mul(b),
                    FloorDivide => {
                        if b == 0 { 0 } else {
                            let q = a.wrapping_div(b);
                            if $signed && (a.wrapping_rem(b) != 0) && ((a < 0) != (b < 0)) { q.wrapping_sub(1) } else { q }
                        }
                    }
                    Remainder => {
                        if b == 0 { 0 } else {
                            let r = a.wrapping_rem(b);
                            if $signed && r != 0 && ((r < 0) != (b < 0)) { r.wrapping_add(b) } else { r }
                        }
                    }
                    Power => {
                        // Negative exponents were refused before the loop (BinaryOp::can_fail).
                        let mut acc: $t = 1;
                        let mut base = a;
                        let mut e = if b < 0 { 0 } else { b as u64 };
                        while e > 0 {
                            if e & 1 == 1 { acc = acc.wrapping_mul(base); }
                            base = base.wrapping_mul(base);
                            e >>= 1;
                        }
                        acc
                    }
                    Maximum => a.max(b),
                    Minimum => a.min(b),
                    BitwiseAnd => a & b,
                    BitwiseOr => a | b,
                    BitwiseXor => a ^ b,
                    // Refused by the type rules for integers.
                    _ => a,
                }
            }
            #[inline(always)]
            fn compare(op: BinaryOp, a: $t, b: $t) -> bool { cmp_partial(op, a, b) }
            #[inline(always)]
            fn unary(op: UnaryOp, a: $t) -> $t {
                use UnaryOp::*;
                match op {
                    Negative => (0 as $t).wrapping_sub(a),
                    Absolute => if a < 0 { (0 as $t).wrapping_sub(a) } else { a },
                    Square => a.wrapping_mul(a),
                    Sign => if a > 0 { 1 } else if a < 0 { (0 as $t).wrapping_sub(1) } else { 0 },
                    Invert => !a,
                    // Positive, and ops the type rules refuse for integers.
                    _ => a,
                }
            }
            #[inline(always)]
            fn pred(op: UnaryOp, _a: $t) -> bool { matches!(op, UnaryOp::Isfinite) }
            #[inline(always)]
            fn is_nan(self) -> bool { false }
            #[inline(always)]
            fn zero() -> $t { 0 }
            #[inline(always)]
            fn one() -> $t { 1 }
            scalar_conv!($t, $variant);
        }
    )*};
}
int_num!(i32, I32, true; i64, I64, true; u8, U8, false; u32, U32, false; u64, U64, false);

/// NumPy's `npy_divmod` (Python's float `divmod`) for `b != 0`: `(floor quotient, remainder)`.
/// The quotient is computed from `a - fmod(a, b)`, not as `floor(a / b)`, which rounds wrongly
/// when `a / b` rounds up to an integer (`1.0 // 0.1` is 9.0, while `floor(1.0 / 0.1)` is 10.0);
/// a zero remainder has the sign of `b`, a zero quotient the sign of `a / b`.
macro_rules! float_divmod {
    ($t:ty, $a:expr, $b:expr) => {{
        let (a, b): ($t, $t) = ($a, $b);
        let mut m = a % b;
        let mut div = (a - m) / b;
        if m != 0.0 {
            if (b < 0.0) != (m < 0.0) {
                m += b;
                div -= 1.0;
            }
        } else {
            m = (0.0 as $t).copysign(b);
        }
        let q = if div != 0.0 {
            let f = div.floor();
            if div - f > 0.5 {
                f + 1.0
            } else {
                f
            }
        } else {
            (0.0 as $t).copysign(a / b)
        };
        (q, m)
    }};
}

macro_rules! float_num {
    ($($t:ty, $variant:ident);*) => {$(
        impl Num for $t {
            const DTYPE: DType = DType::$variant;
            #[inline(always)]
            fn binary(op: BinaryOp, a: $t, b: $t) -> $t {
                use BinaryOp::*;
                match op {
                    Add => a + b,
                    Subtract => a - b,
                    Multiply => a * b,
                    Divide => a / b,
                    FloorDivide => if b == 0.0 { a / b } else { float_divmod!($t, a, b).0 },
                    Remainder => if b == 0.0 { a % b } else { float_divmod!($t, a, b).1 },
                    Power => a.powf(b),
                    Maximum => if a.is_nan() || b.is_nan() { <$t>::NAN } else { a.max(b) },
                    Minimum => if a.is_nan() || b.is_nan() { <$t>::NAN } else { a.min(b) },
                    Arctan2 => a.atan2(b),
                    Hypot => a.hypot(b),
                    // Refused by the type rules for floats.
                    _ => a,
                }
            }
            #[inline(always)]
            fn compare(op: BinaryOp, a: $t, b: $t) -> bool { cmp_partial(op, a, b) }
            #[inline(always)]
            fn unary(op: UnaryOp, a: $t) -> $t {
                use UnaryOp::*;
                match op {
                    Negative => -a,
                    Absolute => a.abs(),
                    Square => a * a,
                    Sign => if a.is_nan() { a } else if a > 0.0 { 1.0 } else if a < 0.0 { -1.0 } else { 0.0 },
                    Sqrt => a.sqrt(),
                    Exp => a.exp(),
                    Log => a.ln(),
                    Log2 => a.log2(),
                    Log10 => a.log10(),
                    Expm1 => a.exp_m1(),
                    Log1p => a.ln_1p(),
                    Sin => a.sin(),
                    Cos => a.cos(),
                    Tan => a.tan(),
                    Arcsin => a.asin(),
                    Arccos => a.acos(),
                    Arctan => a.atan(),
                    Sinh => a.sinh(),
                    Cosh => a.cosh(),
                    Tanh => a.tanh(),
                    Floor => a.floor(),
                    Ceil => a.ceil(),
                    Trunc => a.trunc(),
                    Rint => a.round_ties_even(),
                    // Positive, and ops the type rules refuse for floats.
                    _ => a,
                }
            }
            #[inline(always)]
            fn pred(op: UnaryOp, a: $t) -> bool {
                match op {
                    UnaryOp::Isnan => a.is_nan(),
                    UnaryOp::Isinf => a.is_infinite(),
                    _ => a.is_finite(),
                }
            }
            #[inline(always)]
            fn is_nan(self) -> bool { self != self }
            #[inline(always)]
            fn zero() -> $t { 0.0 }
            #[inline(always)]
            fn one() -> $t { 1.0 }
            scalar_conv!($t, $variant);
        }
    )*};
}
float_num!(f32, F32; f64, F64);

impl Num for B8 {
    const DTYPE: DType = DType::Bool;
    #[inline(always)]
    fn binary(op: BinaryOp, a: B8, b: B8) -> B8 {
        use BinaryOp::*;
        let (a, b) = (a.get(), b.get());
        B8::new(match op {
            Multiply | Minimum | BitwiseAnd | LogicalAnd => a & b,
            BitwiseXor | LogicalXor => a ^ b,
            // Add, Maximum, BitwiseOr, LogicalOr; other ops are refused for bool.
            _ => a | b,
        })
    }
    #[inline(always)]
    fn compare(op: BinaryOp, a: B8, b: B8) -> bool {
        cmp_partial(op, a.get(), b.get())
    }
    #[inline(always)]
    fn unary(op: UnaryOp, a: B8) -> B8 {
        match op {
            UnaryOp::Invert | UnaryOp::LogicalNot => B8::new(!a.get()),
            // Positive, Absolute, Square (identity on bool); others are refused.
            _ => B8::new(a.get()),
        }
    }
    #[inline(always)]
    fn pred(op: UnaryOp, _a: B8) -> bool {
        matches!(op, UnaryOp::Isfinite)
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        false
    }
    #[inline]
    fn to_scalar(self) -> Scalar {
        Scalar::Bool(self.get())
    }
    #[inline]
    fn from_scalar(s: Scalar) -> B8 {
        B8::new(matches!(s.cast_to(DType::Bool), Scalar::Bool(true)))
    }
    #[inline(always)]
    fn zero() -> B8 {
        B8(0)
    }
    #[inline(always)]
    fn one() -> B8 {
        B8(1)
    }
}

macro_rules! complex_num {
    ($($t:ident, $f:ty, $variant:ident);*) => {$(
        impl Num for $t {
            const DTYPE: DType = DType::$variant;
            #[inline(always)]
            fn binary(op: BinaryOp, a: $t, b: $t) -> $t {
                use BinaryOp::*;
                match op {
                    Add => $t { re: a.re + b.re, im: a.im + b.im },
                    Subtract => $t { re: a.re - b.re, im: a.im - b.im },
                    Multiply => $t { re: a.re * b.re - a.im * b.im, im: a.re * b.im + a.im * b.re },
                    Divide => {
                        let d = b.re * b.re + b.im * b.im;
                        $t { re: (a.re * b.re + a.im * b.im) / d, im: (a.im * b.re - a.re * b.im) / d }
                    }
                    // Refused by the type rules for complex numbers.
                    _ => a,
                }
            }
            #[inline(always)]
            fn compare(op: BinaryOp, a: $t, b: $t) -> bool {
                match op {
                    BinaryOp::Equal => a == b,
                    BinaryOp::NotEqual => a != b,
                    // NumPy orders complex numbers lexicographically.
                    _ => cmp_partial(op, (a.re, a.im), (b.re, b.im)),
                }
            }
            #[inline(always)]
            fn unary(op: UnaryOp, a: $t) -> $t {
                match op {
                    UnaryOp::Negative => $t { re: -a.re, im: -a.im },
                    UnaryOp::Square => $t { re: a.re * a.re - a.im * a.im, im: 2.0 as $f * a.re * a.im },
                    // Positive, and ops the type rules refuse for complex numbers.
                    _ => a,
                }
            }
            #[inline(always)]
            fn pred(op: UnaryOp, a: $t) -> bool {
                match op {
                    UnaryOp::Isnan => a.re.is_nan() || a.im.is_nan(),
                    UnaryOp::Isinf => a.re.is_infinite() || a.im.is_infinite(),
                    _ => a.re.is_finite() && a.im.is_finite(),
                }
            }
            #[inline(always)]
            fn is_nan(self) -> bool { self.re.is_nan() || self.im.is_nan() }
            #[inline(always)]
            fn zero() -> $t { $t { re: 0.0, im: 0.0 } }
            #[inline(always)]
            fn one() -> $t { $t { re: 1.0, im: 0.0 } }
            scalar_conv!($t, $variant);
        }
    )*};
}
complex_num!(C64, f32, C64; C128, f64, C128);

/// NumPy `astype` (C cast) of one element; see [`Scalar::cast_to`] for the rules (float →
/// integer truncates, saturates, NaN → 0; anything → bool is `!= 0`; complex → real keeps the
/// real part).
pub trait CastTo<U>: Copy {
    /// The converted value.
    fn cast(self) -> U;
}

/// The real numeric types, converted among themselves with Rust's `as` (which implements the
/// rules above).
pub trait Prim: Num + CastTo<f32> + CastTo<f64> {
    /// `self != 0` (NaN is non-zero).
    fn nonzero(self) -> bool;
    /// 0 or 1.
    fn of_bool(b: bool) -> Self;
}

macro_rules! prim_casts {
    ($($f:ty),*) => { $( prim_casts!(@to $f; i32, i64, u8, u32, u64, f32, f64); )* };
    (@to $f:ty; $($t:ty),*) => { $(
        impl CastTo<$t> for $f {
            #[inline(always)]
            #[allow(clippy::unnecessary_cast)]
            fn cast(self) -> $t { self as $t }
        }
    )* };
}
prim_casts!(i32, i64, u8, u32, u64, f32, f64);

macro_rules! prim {
    ($($t:ty),*) => {$(
        impl Prim for $t {
            #[inline(always)]
            #[allow(clippy::unnecessary_cast)]
            fn nonzero(self) -> bool { self != (0 as $t) }
            #[inline(always)]
            fn of_bool(b: bool) -> $t { u8::from(b) as $t }
        }
    )*};
}
prim!(i32, i64, u8, u32, u64, f32, f64);

impl<T: Prim> CastTo<B8> for T {
    #[inline(always)]
    fn cast(self) -> B8 {
        B8::new(self.nonzero())
    }
}

impl<T: Prim> CastTo<T> for B8 {
    #[inline(always)]
    fn cast(self) -> T {
        T::of_bool(self.get())
    }
}

impl CastTo<B8> for B8 {
    #[inline(always)]
    fn cast(self) -> B8 {
        B8::new(self.get())
    }
}

macro_rules! complex_casts {
    ($($c:ident, $f:ty);*) => {$(
        impl<T: Prim> CastTo<$c> for T {
            #[inline(always)]
            fn cast(self) -> $c {
                $c { re: CastTo::<$f>::cast(self), im: 0.0 }
            }
        }
        impl CastTo<$c> for B8 {
            #[inline(always)]
            fn cast(self) -> $c {
                $c { re: if self.get() { 1.0 } else { 0.0 }, im: 0.0 }
            }
        }
        impl CastTo<B8> for $c {
            #[inline(always)]
            fn cast(self) -> B8 {
                B8::new(self.re != 0.0 || self.im != 0.0)
            }
        }
        impl<T: Prim> CastTo<T> for $c where $f: CastTo<T> {
            #[inline(always)]
            fn cast(self) -> T {
                self.re.cast()
            }
        }
    )*};
}
complex_casts!(C64, f32; C128, f64);

impl CastTo<C64> for C64 {
    #[inline(always)]
    fn cast(self) -> C64 {
        self
    }
}

impl CastTo<C128> for C128 {
    #[inline(always)]
    fn cast(self) -> C128 {
        self
    }
}

impl CastTo<C128> for C64 {
    #[inline(always)]
    fn cast(self) -> C128 {
        C128 {
            re: f64::from(self.re),
            im: f64::from(self.im),
        }
    }
}

impl CastTo<C64> for C128 {
    #[inline(always)]
    fn cast(self) -> C64 {
        C64 {
            re: self.re as f32,
            im: self.im as f32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_floor_division_wraps_without_panicking() {
        use BinaryOp::{FloorDivide, Remainder};
        assert_eq!(i32::binary(FloorDivide, i32::MIN, -1), i32::MIN);
        assert_eq!(i64::binary(FloorDivide, i64::MIN, -1), i64::MIN);
        assert_eq!(i32::binary(Remainder, i32::MIN, -1), 0);
        assert_eq!(i32::binary(FloorDivide, -7, 2), -4);
        assert_eq!(i32::binary(Remainder, -7, 2), 1);
        assert_eq!(i32::binary(Remainder, 7, -2), -1);
        assert_eq!(u8::binary(FloorDivide, 7, 0), 0);
    }

    #[test]
    fn float_floor_division_is_numpy_divmod() {
        use BinaryOp::{FloorDivide, Remainder};
        let fd = |a: f64, b: f64| f64::binary(FloorDivide, a, b);
        let rem = |a: f64, b: f64| f64::binary(Remainder, a, b);
        assert_eq!(fd(1.0, 0.1), 9.0); // floor(1.0 / 0.1) would be 10.0
        assert_eq!(fd(1.0, f64::NEG_INFINITY), -1.0);
        assert_eq!(fd(-7.0, 2.0), -4.0);
        assert!(fd(0.0, 0.0).is_nan() && fd(1.0, 0.0) == f64::INFINITY);
        assert_eq!(rem(-7.0, 2.0), 1.0);
        assert!(rem(-4.0, 2.0) == 0.0 && rem(-4.0, 2.0).is_sign_positive());
        assert!(rem(4.0, -2.0) == 0.0 && rem(4.0, -2.0).is_sign_negative());
        assert!(rem(1.0, 0.0).is_nan());
        assert_eq!(f32::binary(FloorDivide, 1.0, 0.1), 9.0);
    }

    /// The element casts agree with `Scalar::cast_to` (the reference implementation of NumPy's
    /// `astype` rules) on edge values of every pair of dtypes.
    #[test]
    fn casts_match_scalar_casts() {
        fn check<F: Num + CastTo<T>, T: Num>(vals: &[f64]) {
            for &v in vals {
                let f = F::from_scalar(Scalar::F64(v));
                let got: T = f.cast();
                let want = T::from_scalar(f.to_scalar());
                let same = got == want || (got.is_nan() && want.is_nan());
                assert!(same, "{:?} {:?} -> {:?}: {got:?} vs {want:?}", F::DTYPE, f, T::DTYPE);
            }
        }
        macro_rules! all_to {
            ($f:ty; $($t:ty),*) => { $( check::<$f, $t>(&VALS); )* };
        }
        macro_rules! all {
            ($($f:ty),*) => { $( all_to!($f; B8, i32, i64, u8, u32, u64, f32, f64, C64, C128); )* };
        }
        const VALS: [f64; 15] = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            2.5,
            -2.5,
            255.0,
            256.0,
            -129.0,
            3e9,
            -3e9,
            1e20,
            -1e20,
            f64::NAN,
            f64::INFINITY,
        ];
        all!(B8, i32, i64, u8, u32, u64, f32, f64, C64, C128);
    }

    #[test]
    fn bool_bytes_other_than_one_are_true() {
        assert!(B8(7).get());
        assert_eq!(B8::binary(BinaryOp::LogicalAnd, B8(7), B8(2)), B8(1));
        assert!(B8::compare(BinaryOp::Equal, B8(7), B8(1)));
        let f: f64 = B8(9).cast();
        assert_eq!(f, 1.0);
    }
}

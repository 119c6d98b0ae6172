//! Element types: [`DType`] (the runtime tag, with its C ABI code and `.npy` descriptor),
//! NumPy type promotion, the [`Element`] trait tying Rust types to dtypes, the complex types
//! [`C64`]/[`C128`], and [`Scalar`], one value of any dtype with NumPy `astype` casting.

use std::fmt;

use crate::error::{Error, Result};

/// The element type of an array. The discriminants are the codes used by the C ABI.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    /// `bool`, one byte, 0 or 1.
    Bool = 0,
    /// `int32`.
    I32 = 1,
    /// `int64`.
    I64 = 2,
    /// `uint8`.
    U8 = 3,
    /// `uint32`.
    U32 = 4,
    /// `uint64`.
    U64 = 5,
    /// `float32`.
    F32 = 6,
    /// `float64`.
    F64 = 7,
    /// `complex64`: two `float32` (real, imaginary).
    C64 = 8,
    /// `complex128`: two `float64` (real, imaginary).
    C128 = 9,
}

/// The kind of a Python scalar operand, for NEP 50 "weak scalar" promotion
/// ([`DType::promote_scalar`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScalarKind {
    /// A Python `bool`.
    Bool,
    /// A Python `int`.
    Int,
    /// A Python `float`.
    Float,
    /// A Python `complex`.
    Complex,
}

impl DType {
    /// Every dtype, in code order.
    pub const ALL: [DType; 10] = [
        DType::Bool,
        DType::I32,
        DType::I64,
        DType::U8,
        DType::U32,
        DType::U64,
        DType::F32,
        DType::F64,
        DType::C64,
        DType::C128,
    ];

    /// The C ABI code (the enum discriminant).
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The dtype for a C ABI code; an `InvalidArgument` error for an unknown code.
    pub fn from_code(code: i32) -> Result<DType> {
        DType::ALL
            .iter()
            .copied()
            .find(|d| d.code() == code)
            .ok_or_else(|| Error::invalid(format!("unknown dtype code {code}")))
    }

    /// Size of one element in bytes.
    pub fn size(self) -> usize {
        match self {
            DType::Bool | DType::U8 => 1,
            DType::I32 | DType::U32 | DType::F32 => 4,
            DType::I64 | DType::U64 | DType::F64 | DType::C64 => 8,
            DType::C128 => 16,
        }
    }

    /// The NumPy name (`"bool"`, `"int32"`, …, `"complex128"`).
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::U8 => "uint8",
            DType::U32 => "uint32",
            DType::U64 => "uint64",
            DType::F32 => "float32",
            DType::F64 => "float64",
            DType::C64 => "complex64",
            DType::C128 => "complex128",
        }
    }

    /// The dtype with NumPy name `name` (as returned by [`DType::name`]).
    pub fn from_name(name: &str) -> Result<DType> {
        DType::ALL
            .iter()
            .copied()
            .find(|d| d.name() == name)
            .ok_or_else(|| Error::dtype(format!("unsupported dtype name {name:?}")))
    }

    /// The NumPy array-protocol type string as written in `.npy` headers (`"<f8"`, `"|b1"`, …).
    pub fn npy_descr(self) -> &'static str {
        match self {
            DType::Bool => "|b1",
            DType::I32 => "<i4",
            DType::I64 => "<i8",
            DType::U8 => "|u1",
            DType::U32 => "<u4",
            DType::U64 => "<u8",
            DType::F32 => "<f4",
            DType::F64 => "<f8",
            DType::C64 => "<c8",
            DType::C128 => "<c16",
        }
    }

    /// Parses an array-protocol type string such as `"<f8"`.
    ///
    /// The byte-order character may be `<` (little), `|` (not applicable), `=` (native, accepted
    /// only on little-endian hosts) or absent (native). `>` (big-endian) is rejected for
    /// multi-byte types; for one-byte types byte order is meaningless and `>` is accepted.
    /// Kinds other than `b`, `i`, `u`, `f`, `c` (e.g. `O` object, `U` unicode) are rejected.
    pub fn from_npy_descr(descr: &str) -> Result<DType> {
        let (order, rest) = match descr.chars().next() {
            Some(c @ ('<' | '>' | '|' | '=')) => (Some(c), &descr[1..]),
            _ => (None, descr),
        };
        let mut chars = rest.chars();
        let kind = chars
            .next()
            .ok_or_else(|| Error::dtype(format!("unsupported dtype descriptor {descr:?}")))?;
        let size: usize = chars
            .as_str()
            .parse()
            .map_err(|_| Error::dtype(format!("unsupported dtype descriptor {descr:?}")))?;
        let dtype = match (kind, size) {
            ('b', 1) => DType::Bool,
            ('i', 4) => DType::I32,
            ('i', 8) => DType::I64,
            ('u', 1) => DType::U8,
            ('u', 4) => DType::U32,
            ('u', 8) => DType::U64,
            ('f', 4) => DType::F32,
            ('f', 8) => DType::F64,
            ('c', 8) => DType::C64,
            ('c', 16) => DType::C128,
            _ => return Err(Error::dtype(format!("unsupported dtype {descr:?}"))),
        };
        let native_is_little = cfg!(target_endian = "little");
        match order {
            Some('>') if dtype.size() > 1 => Err(Error::dtype(format!("big-endian dtype {descr:?} is not supported"))),
            Some('=') | None if dtype.size() > 1 && !native_is_little => Err(Error::dtype(format!(
                "native byte order of {descr:?} is big-endian on this host"
            ))),
            _ => Ok(dtype),
        }
    }

    /// `true` for `bool`.
    pub fn is_bool(self) -> bool {
        self == DType::Bool
    }

    /// `true` for the integer types (not `bool`).
    pub fn is_int(self) -> bool {
        matches!(self, DType::I32 | DType::I64 | DType::U8 | DType::U32 | DType::U64)
    }

    /// `true` for signed integers.
    pub fn is_signed(self) -> bool {
        matches!(self, DType::I32 | DType::I64)
    }

    /// `true` for real floating-point types.
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64)
    }

    /// `true` for complex types.
    pub fn is_complex(self) -> bool {
        matches!(self, DType::C64 | DType::C128)
    }

    /// Bytes of the smallest float (4 or 8) that holds every value of `self` exactly, as NumPy
    /// uses it when mixing kinds. Only meaningful for non-bool types.
    fn float_precision(self) -> usize {
        match self {
            DType::Bool | DType::U8 | DType::F32 | DType::C64 => 4,
            _ => 8,
        }
    }

    /// NumPy's array–array type promotion, equal to `np.result_type(a, b)` (= `np.promote_types`)
    /// restricted to distarr's dtypes.
    ///
    /// * `bool` with anything gives the other type.
    /// * Two signed (or two unsigned) integers give the larger one.
    /// * Signed `s` with unsigned `u`: `s` if it is wider than `u`, else the signed type twice as
    ///   wide as `u` (`int64` for `uint32`), else `float64` (`int64 + uint64`).
    /// * Otherwise the result is float, or complex if either side is complex, wide enough for
    ///   both: `uint8` fits `float32`; `int32`/`int64`/`uint32`/`uint64` need `float64`.
    #[doc(alias = "result_type")]
    pub fn promote(a: DType, b: DType) -> DType {
        if a == b {
            return a;
        }
        if a.is_bool() {
            return b;
        }
        if b.is_bool() {
            return a;
        }
        if a.is_int() && b.is_int() {
            if a.is_signed() == b.is_signed() {
                return if a.size() >= b.size() { a } else { b };
            }
            let (s, u) = if a.is_signed() { (a, b) } else { (b, a) };
            if s.size() > u.size() {
                return s;
            }
            return match u.size() {
                1 => DType::I32, // unreachable in practice: every signed type here is wider
                4 => DType::I64,
                _ => DType::F64,
            };
        }
        let complex = a.is_complex() || b.is_complex();
        let wide = a.float_precision().max(b.float_precision()) == 8;
        match (complex, wide) {
            (false, false) => DType::F32,
            (false, true) => DType::F64,
            (true, false) => DType::C64,
            (true, true) => DType::C128,
        }
    }

    /// NumPy 2 (NEP 50) promotion of an array of dtype `array` with a Python scalar of kind
    /// `scalar`. Python scalars are "weak": they adopt the array's dtype when it is of the same
    /// or a higher kind (bool < int < float < complex); otherwise the result is the default type
    /// of the scalar's kind, keeping the array's precision where NumPy does:
    ///
    /// | array \ scalar | bool  | int     | float   | complex                        |
    /// |----------------|-------|---------|---------|--------------------------------|
    /// | bool           | bool  | int64   | float64 | complex128                     |
    /// | integer        | array | array   | float64 | complex128                     |
    /// | float32        | array | array   | array   | complex64                      |
    /// | float64        | array | array   | array   | complex128                     |
    /// | complex        | array | array   | array   | array                          |
    ///
    /// NumPy raises `OverflowError` when a Python int does not fit the integer array dtype
    /// (`uint8_array + 300`); that value check is the caller's job (see [`Scalar::fits`]).
    pub fn promote_scalar(array: DType, scalar: ScalarKind) -> DType {
        let array_rank = if array.is_bool() {
            0
        } else if array.is_int() {
            1
        } else if array.is_float() {
            2
        } else {
            3
        };
        let scalar_rank = match scalar {
            ScalarKind::Bool => 0,
            ScalarKind::Int => 1,
            ScalarKind::Float => 2,
            ScalarKind::Complex => 3,
        };
        if array_rank >= scalar_rank {
            return array;
        }
        match scalar {
            ScalarKind::Bool => array, // unreachable: bool is the lowest kind
            ScalarKind::Int => DType::I64,
            ScalarKind::Float => DType::F64,
            ScalarKind::Complex => {
                if array == DType::F32 {
                    DType::C64
                } else {
                    DType::C128
                }
            }
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A single-precision complex number, layout-compatible with NumPy `complex64` and C
/// `float _Complex`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct C64 {
    /// Real part.
    pub re: f32,
    /// Imaginary part.
    pub im: f32,
}

/// A double-precision complex number, layout-compatible with NumPy `complex128` and C
/// `double _Complex`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct C128 {
    /// Real part.
    pub re: f64,
    /// Imaginary part.
    pub im: f64,
}

impl C64 {
    /// `re + im·i`.
    pub const fn new(re: f32, im: f32) -> Self {
        C64 { re, im }
    }
}

impl C128 {
    /// `re + im·i`.
    pub const fn new(re: f64, im: f64) -> Self {
        C128 { re, im }
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A Rust type that is the element type of some [`DType`]. Sealed: implemented exactly for
/// `bool`, `i32`, `i64`, `u8`, `u32`, `u64`, `f32`, `f64`, [`C64`] and [`C128`].
pub trait Element: Copy + Send + Sync + 'static + PartialEq + fmt::Debug + Default + sealed::Sealed {
    /// The dtype whose elements have this Rust type.
    const DTYPE: DType;

    /// Wraps the value in a [`Scalar`].
    fn into_scalar(self) -> Scalar;

    /// Converts any scalar to this type with NumPy `astype` semantics ([`Scalar::cast_to`]).
    fn from_scalar(s: Scalar) -> Self;
}

macro_rules! impl_element {
    ($($t:ty => $variant:ident),* $(,)?) => {$(
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const DTYPE: DType = DType::$variant;
            fn into_scalar(self) -> Scalar {
                Scalar::$variant(self)
            }
            fn from_scalar(s: Scalar) -> Self {
                match s.cast_to(DType::$variant) {
                    Scalar::$variant(v) => v,
                    // cast_to(d) always returns the variant of d, so this arm is never taken.
                    _ => <$t>::default(),
                }
            }
        }
    )*};
}

impl_element!(
    bool => Bool, i32 => I32, i64 => I64, u8 => U8, u32 => U32, u64 => U64,
    f32 => F32, f64 => F64, C64 => C64, C128 => C128,
);

/// One value of any dtype.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar {
    /// A `bool`.
    Bool(bool),
    /// An `int32`.
    I32(i32),
    /// An `int64`.
    I64(i64),
    /// A `uint8`.
    U8(u8),
    /// A `uint32`.
    U32(u32),
    /// A `uint64`.
    U64(u64),
    /// A `float32`.
    F32(f32),
    /// A `float64`.
    F64(f64),
    /// A `complex64`.
    C64(C64),
    /// A `complex128`.
    C128(C128),
}

/// A scalar's value in a form every cast can start from without losing precision.
enum Wide {
    Bool(bool),
    Int(i128),
    F32(f32),
    F64(f64),
}

impl Scalar {
    /// The dtype of the value.
    pub fn dtype(&self) -> DType {
        match self {
            Scalar::Bool(_) => DType::Bool,
            Scalar::I32(_) => DType::I32,
            Scalar::I64(_) => DType::I64,
            Scalar::U8(_) => DType::U8,
            Scalar::U32(_) => DType::U32,
            Scalar::U64(_) => DType::U64,
            Scalar::F32(_) => DType::F32,
            Scalar::F64(_) => DType::F64,
            Scalar::C64(_) => DType::C64,
            Scalar::C128(_) => DType::C128,
        }
    }

    /// The zero of a dtype (`false` for bool).
    pub fn zero(dtype: DType) -> Scalar {
        Scalar::Bool(false).cast_to(dtype)
    }

    /// The one of a dtype (`true` for bool).
    pub fn one(dtype: DType) -> Scalar {
        Scalar::Bool(true).cast_to(dtype)
    }

    /// The real part, dropping any imaginary part (NumPy's complex → real cast).
    fn real_wide(&self) -> Wide {
        match *self {
            Scalar::Bool(v) => Wide::Bool(v),
            Scalar::I32(v) => Wide::Int(v.into()),
            Scalar::I64(v) => Wide::Int(v.into()),
            Scalar::U8(v) => Wide::Int(v.into()),
            Scalar::U32(v) => Wide::Int(v.into()),
            Scalar::U64(v) => Wide::Int(v.into()),
            Scalar::F32(v) => Wide::F32(v),
            Scalar::F64(v) => Wide::F64(v),
            Scalar::C64(c) => Wide::F32(c.re),
            Scalar::C128(c) => Wide::F64(c.re),
        }
    }

    /// The imaginary part as the precision of the real part (0 for real types).
    fn imag_wide(&self) -> Wide {
        match *self {
            Scalar::C64(c) => Wide::F32(c.im),
            Scalar::C128(c) => Wide::F64(c.im),
            _ => Wide::Bool(false),
        }
    }

    /// Converts to `dtype` with NumPy `astype` (C cast) semantics:
    ///
    /// * integer → narrower integer wraps modulo 2ⁿ (`-1` → `uint8` 255);
    /// * float → integer truncates toward zero. NumPy leaves NaN and out-of-range values
    ///   undefined (they follow the C compiler); distarr defines them as Rust's `as`:
    ///   NaN → 0 and out-of-range values saturate to the type's min/max;
    /// * anything → bool is `value != 0` (NaN → `true`; complex: either part non-zero);
    /// * bool → number is 0 or 1;
    /// * integer/float → float rounds to nearest (ties to even), directly from the exact value;
    /// * complex → real keeps the real part (NumPy warns `ComplexWarning`);
    /// * real → complex has imaginary part 0.
    pub fn cast_to(&self, dtype: DType) -> Scalar {
        fn to_bool(w: &Wide) -> bool {
            match *w {
                Wide::Bool(b) => b,
                Wide::Int(i) => i != 0,
                Wide::F32(f) => f != 0.0,
                Wide::F64(f) => f != 0.0,
            }
        }
        macro_rules! conv {
            ($w:expr, $t:ty) => {
                match $w {
                    Wide::Bool(b) => <$t>::from(u8::from(b)),
                    // `as` from i128: integers wrap, floats round to nearest.
                    Wide::Int(i) => i as $t,
                    // `as` from floats: truncate toward zero, NaN → 0, saturate.
                    Wide::F32(f) => f as $t,
                    Wide::F64(f) => f as $t,
                }
            };
        }
        let re = self.real_wide();
        match dtype {
            DType::Bool => {
                let b = to_bool(&re) || to_bool(&self.imag_wide());
                Scalar::Bool(b)
            }
            DType::I32 => Scalar::I32(conv!(re, i32)),
            DType::I64 => Scalar::I64(conv!(re, i64)),
            DType::U8 => Scalar::U8(conv!(re, u8)),
            DType::U32 => Scalar::U32(conv!(re, u32)),
            DType::U64 => Scalar::U64(conv!(re, u64)),
            DType::F32 => Scalar::F32(conv!(re, f32)),
            DType::F64 => Scalar::F64(conv!(re, f64)),
            DType::C64 => Scalar::C64(C64::new(conv!(re, f32), conv!(self.imag_wide(), f32))),
            DType::C128 => Scalar::C128(C128::new(conv!(re, f64), conv!(self.imag_wide(), f64))),
        }
    }

    /// Whether the value converts to `dtype` without change (round trip equality; NaN counts as
    /// representable in float types). Used to reject, as NumPy 2 does, a Python int that does
    /// not fit an integer array's dtype.
    pub fn fits(&self, dtype: DType) -> bool {
        let there = self.cast_to(dtype);
        let back = there.cast_to(self.dtype());
        let nan = |s: &Scalar| match *s {
            Scalar::F32(v) => v.is_nan(),
            Scalar::F64(v) => v.is_nan(),
            Scalar::C64(c) => c.re.is_nan() || c.im.is_nan(),
            Scalar::C128(c) => c.re.is_nan() || c.im.is_nan(),
            _ => false,
        };
        if nan(self) {
            return dtype.is_float() || dtype.is_complex();
        }
        // Integer wrap-around can survive a round trip (-1 → u64::MAX → -1); it always flips
        // the sign, so compare the exact integer values too.
        let exact = match (self.as_i128(), there.as_i128()) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        exact && back == *self
    }

    /// The exact value of a bool or integer scalar.
    fn as_i128(&self) -> Option<i128> {
        match self.real_wide() {
            Wide::Bool(b) => Some(i128::from(b)),
            Wide::Int(i) => Some(i),
            Wide::F32(_) | Wide::F64(_) => None,
        }
    }

    /// The value's little-endian bytes (`dtype().size()` of them; bool is one byte 0/1).
    pub fn to_le_bytes(&self) -> Vec<u8> {
        match *self {
            Scalar::Bool(v) => vec![u8::from(v)],
            Scalar::I32(v) => v.to_le_bytes().to_vec(),
            Scalar::I64(v) => v.to_le_bytes().to_vec(),
            Scalar::U8(v) => vec![v],
            Scalar::U32(v) => v.to_le_bytes().to_vec(),
            Scalar::U64(v) => v.to_le_bytes().to_vec(),
            Scalar::F32(v) => v.to_le_bytes().to_vec(),
            Scalar::F64(v) => v.to_le_bytes().to_vec(),
            Scalar::C64(c) => [c.re.to_le_bytes(), c.im.to_le_bytes()].concat(),
            Scalar::C128(c) => [c.re.to_le_bytes(), c.im.to_le_bytes()].concat(),
        }
    }

    /// Reads one value of `dtype` from exactly `dtype.size()` little-endian bytes. A bool byte
    /// is `true` when non-zero. Wrong length is an `InvalidArgument` error.
    pub fn from_le_bytes(dtype: DType, bytes: &[u8]) -> Result<Scalar> {
        fn arr<const N: usize>(b: &[u8]) -> [u8; N] {
            let mut a = [0u8; N];
            a.copy_from_slice(&b[..N]);
            a
        }
        if bytes.len() != dtype.size() {
            return Err(Error::invalid(format!(
                "{} bytes given for one {} element of {} bytes",
                bytes.len(),
                dtype,
                dtype.size()
            )));
        }
        // The length check above makes every fixed-size read below in bounds.
        Ok(match dtype {
            DType::Bool => Scalar::Bool(bytes[0] != 0),
            DType::I32 => Scalar::I32(i32::from_le_bytes(arr(bytes))),
            DType::I64 => Scalar::I64(i64::from_le_bytes(arr(bytes))),
            DType::U8 => Scalar::U8(bytes[0]),
            DType::U32 => Scalar::U32(u32::from_le_bytes(arr(bytes))),
            DType::U64 => Scalar::U64(u64::from_le_bytes(arr(bytes))),
            DType::F32 => Scalar::F32(f32::from_le_bytes(arr(bytes))),
            DType::F64 => Scalar::F64(f64::from_le_bytes(arr(bytes))),
            DType::C64 => Scalar::C64(C64::new(
                f32::from_le_bytes(arr(bytes)),
                f32::from_le_bytes(arr(&bytes[4..])),
            )),
            DType::C128 => Scalar::C128(C128::new(
                f64::from_le_bytes(arr(bytes)),
                f64::from_le_bytes(arr(&bytes[8..])),
            )),
        })
    }
}

impl<T: Element> From<T> for Scalar {
    fn from(v: T) -> Scalar {
        v.into_scalar()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::{C128 as Cx128, C64 as Cx64};
    use proptest::prelude::*;
    use DType::{Bool, C128, C64, F32, F64, I32, I64, U32, U64, U8};

    #[test]
    fn codes_sizes_names_descrs() {
        let table = [
            (Bool, 0, 1, "bool", "|b1"),
            (I32, 1, 4, "int32", "<i4"),
            (I64, 2, 8, "int64", "<i8"),
            (U8, 3, 1, "uint8", "|u1"),
            (U32, 4, 4, "uint32", "<u4"),
            (U64, 5, 8, "uint64", "<u8"),
            (F32, 6, 4, "float32", "<f4"),
            (F64, 7, 8, "float64", "<f8"),
            (C64, 8, 8, "complex64", "<c8"),
            (C128, 9, 16, "complex128", "<c16"),
        ];
        for (d, code, size, name, descr) in table {
            assert_eq!(d.code(), code);
            assert_eq!(DType::from_code(code).unwrap(), d);
            assert_eq!(d.size(), size);
            assert_eq!(d.name(), name);
            assert_eq!(d.to_string(), name);
            assert_eq!(DType::from_name(name).unwrap(), d);
            assert_eq!(d.npy_descr(), descr);
            assert_eq!(DType::from_npy_descr(descr).unwrap(), d);
        }
        assert!(DType::from_code(10).is_err());
        assert!(DType::from_code(-1).is_err());
        assert!(DType::from_name("float16").is_err());
    }

    #[test]
    fn element_sizes_match_dtype() {
        assert_eq!(std::mem::size_of::<Cx64>(), C64.size());
        assert_eq!(std::mem::size_of::<Cx128>(), C128.size());
        assert_eq!(std::mem::align_of::<Cx64>(), 4);
        assert_eq!(<f64 as Element>::DTYPE, F64);
        assert_eq!(<bool as Element>::DTYPE, Bool);
        assert_eq!(<Cx128 as Element>::DTYPE, C128);
    }

    #[test]
    fn descr_parsing() {
        assert_eq!(DType::from_npy_descr("=f8").unwrap(), F64);
        assert_eq!(DType::from_npy_descr("f8").unwrap(), F64);
        assert_eq!(DType::from_npy_descr("<u1").unwrap(), U8);
        assert_eq!(DType::from_npy_descr(">u1").unwrap(), U8);
        assert_eq!(
            DType::from_npy_descr(">f8").unwrap_err().kind(),
            crate::ErrorKind::DType
        );
        assert!(DType::from_npy_descr(">i4").is_err());
        for bad in ["", "<", "<f", "<f2", "|O", "<U10", "<M8", "<i2", "<fx", "<f8 "] {
            assert!(DType::from_npy_descr(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn kind_predicates() {
        for d in DType::ALL {
            let n = [d.is_bool(), d.is_int(), d.is_float(), d.is_complex()]
                .iter()
                .filter(|&&b| b)
                .count();
            assert_eq!(n, 1, "{d}");
            assert!(!d.is_signed() || d.is_int());
        }
        assert!(I32.is_signed() && I64.is_signed());
        assert!(!U8.is_signed() && !U32.is_signed() && !U64.is_signed());
    }

    /// `np.promote_types(a, b)` for every pair, written out from NumPy 2.1 (hand-checked).
    #[test]
    fn promote_full_table() {
        // Row/column order: Bool I32 I64 U8 U32 U64 F32 F64 C64 C128.
        let t: [[DType; 10]; 10] = [
            [Bool, I32, I64, U8, U32, U64, F32, F64, C64, C128],
            [I32, I32, I64, I32, I64, F64, F64, F64, C128, C128],
            [I64, I64, I64, I64, I64, F64, F64, F64, C128, C128],
            [U8, I32, I64, U8, U32, U64, F32, F64, C64, C128],
            [U32, I64, I64, U32, U32, U64, F64, F64, C128, C128],
            [U64, F64, F64, U64, U64, U64, F64, F64, C128, C128],
            [F32, F64, F64, F32, F64, F64, F32, F64, C64, C128],
            [F64, F64, F64, F64, F64, F64, F64, F64, C128, C128],
            [C64, C128, C128, C64, C128, C128, C64, C128, C64, C128],
            [C128, C128, C128, C128, C128, C128, C128, C128, C128, C128],
        ];
        for (i, a) in DType::ALL.iter().enumerate() {
            for (j, b) in DType::ALL.iter().enumerate() {
                assert_eq!(DType::promote(*a, *b), t[i][j], "{a} + {b}");
            }
        }
    }

    #[test]
    fn promote_spot_checks() {
        assert_eq!(DType::promote(I32, U32), I64);
        assert_eq!(DType::promote(I64, U64), F64);
        assert_eq!(DType::promote(U8, I32), I32);
        assert_eq!(DType::promote(I32, F32), F64);
        assert_eq!(DType::promote(Bool, Bool), Bool);
        assert_eq!(DType::promote(F32, C64), C64);
        assert_eq!(DType::promote(F64, C64), C128);
    }

    #[test]
    fn promote_scalar_nep50() {
        use ScalarKind as K;
        // Python int
        assert_eq!(DType::promote_scalar(I32, K::Int), I32);
        assert_eq!(DType::promote_scalar(U8, K::Int), U8);
        assert_eq!(DType::promote_scalar(Bool, K::Int), I64);
        assert_eq!(DType::promote_scalar(F32, K::Int), F32);
        assert_eq!(DType::promote_scalar(C64, K::Int), C64);
        // Python float
        assert_eq!(DType::promote_scalar(I32, K::Float), F64);
        assert_eq!(DType::promote_scalar(U8, K::Float), F64);
        assert_eq!(DType::promote_scalar(Bool, K::Float), F64);
        assert_eq!(DType::promote_scalar(F32, K::Float), F32);
        assert_eq!(DType::promote_scalar(C64, K::Float), C64);
        // Python complex
        assert_eq!(DType::promote_scalar(F32, K::Complex), C64);
        assert_eq!(DType::promote_scalar(F64, K::Complex), C128);
        assert_eq!(DType::promote_scalar(I32, K::Complex), C128);
        assert_eq!(DType::promote_scalar(C64, K::Complex), C64);
        // Python bool
        for d in DType::ALL {
            assert_eq!(DType::promote_scalar(d, K::Bool), d);
        }
    }

    #[test]
    fn casts_follow_astype() {
        // float -> int truncates toward zero
        assert_eq!(Scalar::F64(-2.7).cast_to(I32), Scalar::I32(-2));
        assert_eq!(Scalar::F64(2.7).cast_to(I64), Scalar::I64(2));
        assert_eq!(Scalar::F32(255.9).cast_to(U8), Scalar::U8(255));
        // NaN -> 0 (documented choice), saturation
        assert_eq!(Scalar::F64(f64::NAN).cast_to(I64), Scalar::I64(0));
        assert_eq!(Scalar::F64(1e300).cast_to(I32), Scalar::I32(i32::MAX));
        // int wrap-around
        assert_eq!(Scalar::I64(-1).cast_to(U8), Scalar::U8(255));
        assert_eq!(Scalar::I64(300).cast_to(U8), Scalar::U8(44));
        assert_eq!(Scalar::U64(u64::MAX).cast_to(I64), Scalar::I64(-1));
        assert_eq!(Scalar::I64(1 << 40).cast_to(I32), Scalar::I32(0));
        // -> bool
        assert_eq!(Scalar::I32(-3).cast_to(Bool), Scalar::Bool(true));
        assert_eq!(Scalar::F64(0.0).cast_to(Bool), Scalar::Bool(false));
        assert_eq!(Scalar::F64(-0.0).cast_to(Bool), Scalar::Bool(false));
        assert_eq!(Scalar::F64(f64::NAN).cast_to(Bool), Scalar::Bool(true));
        assert_eq!(Scalar::C64(Cx64::new(0.0, 1.0)).cast_to(Bool), Scalar::Bool(true));
        // bool -> numbers
        assert_eq!(Scalar::Bool(true).cast_to(F64), Scalar::F64(1.0));
        assert_eq!(Scalar::Bool(true).cast_to(C128), Scalar::C128(Cx128::new(1.0, 0.0)));
        // complex -> real takes real part
        assert_eq!(Scalar::C128(Cx128::new(2.5, -7.0)).cast_to(F32), Scalar::F32(2.5));
        assert_eq!(Scalar::C128(Cx128::new(-2.5, 7.0)).cast_to(I32), Scalar::I32(-2));
        assert_eq!(
            Scalar::C128(Cx128::new(0.1, 0.2)).cast_to(C64),
            Scalar::C64(Cx64::new(0.1f64 as f32, 0.2f64 as f32))
        );
        // u64 -> f32 rounds directly (no double rounding through f64):
        // 2^63 + 2^39 + 1 is just above the f32 midpoint 2^63 + 2^39, so it rounds up.
        let v = (1u64 << 63) + (1u64 << 39) + 1;
        assert_eq!(Scalar::U64(v).cast_to(F32), Scalar::F32(v as f32));
        assert_eq!(v as f32, 9223373136366403584.0f32);
        assert_eq!(Scalar::zero(C64), Scalar::C64(Cx64::new(0.0, 0.0)));
        assert_eq!(Scalar::one(U32), Scalar::U32(1));
    }

    #[test]
    fn fits_checks_range() {
        assert!(Scalar::I64(255).fits(U8));
        assert!(!Scalar::I64(256).fits(U8));
        assert!(!Scalar::I64(-1).fits(U64));
        assert!(Scalar::I64(-1).fits(I32));
        assert!(!Scalar::I64(1 << 31).fits(I32));
        assert!(Scalar::F64(0.5).fits(F32));
        assert!(!Scalar::F64(0.1).fits(F32));
        assert!(Scalar::F64(f64::NAN).fits(F32));
        assert!(!Scalar::F64(f64::NAN).fits(I32));
    }

    #[test]
    fn bytes_known_values() {
        assert_eq!(Scalar::I32(-2).to_le_bytes(), vec![0xfe, 0xff, 0xff, 0xff]);
        assert_eq!(Scalar::F64(1.0).to_le_bytes(), vec![0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
        assert_eq!(Scalar::Bool(true).to_le_bytes(), vec![1]);
        assert_eq!(Scalar::from_le_bytes(Bool, &[7]).unwrap(), Scalar::Bool(true));
        assert!(Scalar::from_le_bytes(F64, &[0; 7]).is_err());
        assert_eq!(
            Scalar::C64(Cx64::new(1.0, 2.0)).to_le_bytes(),
            [1.0f32.to_le_bytes(), 2.0f32.to_le_bytes()].concat()
        );
    }

    #[test]
    fn element_roundtrip() {
        assert_eq!(f64::from_scalar(Scalar::I32(3)), 3.0);
        assert_eq!(u8::from_scalar(Scalar::F64(-1.5)), 0);
        assert!(bool::from_scalar(Scalar::U64(2)));
        assert_eq!(Scalar::from(5i32), Scalar::I32(5));
        assert_eq!(Cx128::from_scalar(Scalar::F32(1.5)), Cx128::new(1.5, 0.0));
    }

    fn any_scalar() -> impl Strategy<Value = Scalar> {
        prop_oneof![
            any::<bool>().prop_map(Scalar::Bool),
            any::<i32>().prop_map(Scalar::I32),
            any::<i64>().prop_map(Scalar::I64),
            any::<u8>().prop_map(Scalar::U8),
            any::<u32>().prop_map(Scalar::U32),
            any::<u64>().prop_map(Scalar::U64),
            any::<f32>().prop_map(Scalar::F32),
            any::<f64>().prop_map(Scalar::F64),
            (any::<f32>(), any::<f32>()).prop_map(|(a, b)| Scalar::C64(Cx64::new(a, b))),
            (any::<f64>(), any::<f64>()).prop_map(|(a, b)| Scalar::C128(Cx128::new(a, b))),
        ]
    }

    fn same_bits(a: &Scalar, b: &Scalar) -> bool {
        a.to_le_bytes() == b.to_le_bytes()
    }

    proptest! {
        #[test]
        fn bytes_roundtrip(s in any_scalar()) {
            let b = s.to_le_bytes();
            prop_assert_eq!(b.len(), s.dtype().size());
            let back = Scalar::from_le_bytes(s.dtype(), &b).unwrap();
            prop_assert!(same_bits(&back, &s));
        }

        #[test]
        fn cast_to_own_type_is_identity(s in any_scalar()) {
            prop_assert!(same_bits(&s.cast_to(s.dtype()), &s));
        }

        #[test]
        fn cast_yields_target_dtype(s in any_scalar(), code in 0i32..10) {
            let d = DType::from_code(code).unwrap();
            prop_assert_eq!(s.cast_to(d).dtype(), d);
        }

        #[test]
        fn widening_casts_are_exact(v in any::<i32>(), w in any::<u32>()) {
            prop_assert_eq!(Scalar::I32(v).cast_to(I64), Scalar::I64(i64::from(v)));
            prop_assert_eq!(Scalar::I32(v).cast_to(F64), Scalar::F64(f64::from(v)));
            prop_assert_eq!(Scalar::U32(w).cast_to(I64), Scalar::I64(i64::from(w)));
            prop_assert_eq!(Scalar::I64(i64::from(v)).cast_to(I32), Scalar::I32(v));
        }

        #[test]
        fn float_to_int_truncates(f in -1e9f64..1e9) {
            let Scalar::I64(i) = Scalar::F64(f).cast_to(I64) else { unreachable!() };
            prop_assert_eq!(i as f64, f.trunc());
        }

        #[test]
        fn promote_is_symmetric_and_lossless(a in 0i32..10, b in 0i32..10) {
            let (a, b) = (DType::from_code(a).unwrap(), DType::from_code(b).unwrap());
            let p = DType::promote(a, b);
            prop_assert_eq!(p, DType::promote(b, a));
            prop_assert_eq!(DType::promote(p, a), p);
            // Mixed-kind results never lose the higher kind.
            prop_assert!(!(a.is_complex() || b.is_complex()) || p.is_complex());
            prop_assert!(!(a.is_float() || b.is_float()) || p.is_float() || p.is_complex());
        }
    }
}

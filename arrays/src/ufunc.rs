//! Element-wise operations (NumPy ufuncs) with broadcasting, type promotion and `out`.
//!
//! Type rules follow NumPy 1.24 (Debian 12's NumPy, the reference of the differential tests,
//! `tests/programs/src/bin/arr_numpy_ufuncs.rs`): arithmetic promotes with [`DType::promote`];
//! `divide` gives float64 for integers (float32 for float32); math functions give float64 for
//! integer inputs except uint8, and float32 for uint8 and bool (NumPy gives float16 there,
//! which is not a distarr dtype); comparisons and logical ops give bool; bitwise ops need
//! integers or bools. Where NumPy's result would be int8 (bool `floor_divide`, `remainder`,
//! `power`, `square`), which distarr lacks, the operation is an error, as is `positive` of
//! bool (as in NumPy). Integer arithmetic wraps like NumPy's; integer division and remainder by
//! zero give 0 (NumPy warns and gives 0); integers to negative integer powers are an error, as
//! in NumPy. Float `floor_divide` and `remainder` follow NumPy's `divmod` (`1.0 // 0.1 == 9.0`,
//! a zero remainder takes the divisor's sign). Python scalars ([`Operand::Scalar`]) promote
//! weakly (NEP 50, see [`DType::promote_scalar`]), not with NumPy 1.24's value-based casting.
use crate::array::DistArray;
use crate::bytes;
use crate::dtype::{DType, Element, Scalar, C128, C64};
use crate::error::{Error, Result};

/// Binary ufuncs, named like NumPy's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum BinaryOp {
    Add,
    Subtract,
    Multiply,
    Divide,
    FloorDivide,
    Remainder,
    Power,
    Maximum,
    Minimum,
    Equal,
    NotEqual,
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
    LogicalAnd,
    LogicalOr,
    LogicalXor,
    BitwiseAnd,
    BitwiseOr,
    BitwiseXor,
    Arctan2,
    Hypot,
}

/// Unary ufuncs, named like NumPy's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum UnaryOp {
    Negative,
    Positive,
    Absolute,
    Square,
    Sign,
    Invert,
    LogicalNot,
    Sqrt,
    Exp,
    Log,
    Log2,
    Log10,
    Expm1,
    Log1p,
    Sin,
    Cos,
    Tan,
    Arcsin,
    Arccos,
    Arctan,
    Sinh,
    Cosh,
    Tanh,
    Floor,
    Ceil,
    Trunc,
    Rint,
    Isnan,
    Isinf,
    Isfinite,
}

impl BinaryOp {
    fn is_comparison(self) -> bool {
        use BinaryOp::*;
        matches!(self, Equal | NotEqual | Less | LessEqual | Greater | GreaterEqual)
    }

    fn is_logical(self) -> bool {
        matches!(self, BinaryOp::LogicalAnd | BinaryOp::LogicalOr | BinaryOp::LogicalXor)
    }

    fn is_bitwise(self) -> bool {
        matches!(self, BinaryOp::BitwiseAnd | BinaryOp::BitwiseOr | BinaryOp::BitwiseXor)
    }

    /// (loop dtype, result dtype) for operands of dtypes `a` and `b`.
    pub fn types(self, a: DType, b: DType) -> Result<(DType, DType)> {
        use BinaryOp::*;
        let p = DType::promote(a, b);
        let bad = || {
            Error::dtype(format!(
                "ufunc {self:?} is not supported for {} and {}",
                a.name(),
                b.name()
            ))
        };
        if self.is_logical() {
            return Ok((DType::Bool, DType::Bool));
        }
        if self.is_comparison() {
            return Ok((p, DType::Bool));
        }
        if self.is_bitwise() {
            return if p.is_float() || p.is_complex() {
                Err(bad())
            } else {
                Ok((p, p))
            };
        }
        match self {
            Divide | Arctan2 | Hypot => {
                let f = if p.is_float() || p.is_complex() {
                    p
                } else if p == DType::U8 || p == DType::Bool {
                    DType::F32
                } else {
                    DType::F64
                };
                if f.is_complex() && self != Divide {
                    return Err(bad());
                }
                let f = if self == Divide && (p.is_int() || p.is_bool()) {
                    DType::F64
                } else {
                    f
                };
                Ok((f, f))
            }
            Subtract if p.is_bool() => Err(Error::dtype("numpy boolean subtract is not supported; use logical_xor")),
            FloorDivide | Remainder | Power if p.is_bool() => Err(bad()),
            FloorDivide | Remainder | Maximum | Minimum if p.is_complex() => Err(bad()),
            _ => Ok((p, p)),
        }
    }
}

impl UnaryOp {
    fn is_math(self) -> bool {
        use UnaryOp::*;
        !matches!(
            self,
            Negative | Positive | Absolute | Square | Sign | Invert | LogicalNot | Isnan | Isinf | Isfinite
        )
    }

    /// (loop dtype, result dtype) for an operand of dtype `a`.
    pub fn types(self, a: DType) -> Result<(DType, DType)> {
        use UnaryOp::*;
        let bad = || Error::dtype(format!("ufunc {self:?} is not supported for {}", a.name()));
        match self {
            LogicalNot => Ok((DType::Bool, DType::Bool)),
            Isnan | Isinf | Isfinite => Ok((a, DType::Bool)),
            Invert if a.is_float() || a.is_complex() => Err(bad()),
            Negative if a.is_bool() => Err(Error::dtype("numpy boolean negative is not supported; use logical_not")),
            // NumPy refuses `positive` of bool and gives int8 (not a distarr dtype) for `square`.
            Positive | Square if a.is_bool() => Err(bad()),
            Sign if a.is_bool() || a.is_complex() => Err(bad()),
            _ if self.is_math() => {
                let f = match a {
                    DType::F32 | DType::F64 => a,
                    DType::U8 | DType::Bool => DType::F32,
                    DType::C64 | DType::C128 => return Err(bad()),
                    _ => DType::F64,
                };
                Ok((f, f))
            }
            Absolute if a.is_complex() => Err(bad()),
            _ => Ok((a, a)),
        }
    }
}

/// Per-type arithmetic used by the kernels.
pub(crate) trait Arith: Element {
    fn arith(op: BinaryOp, a: Self, b: Self) -> std::result::Result<Self, &'static str>;
    fn compare(op: BinaryOp, a: Self, b: Self) -> bool;
    fn unary(op: UnaryOp, a: Self) -> std::result::Result<Self, &'static str>;
    fn pred(op: UnaryOp, a: Self) -> bool;
}

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

macro_rules! int_arith {
    ($($t:ty, $signed:expr);*) => {$(
        #[allow(unused_comparisons)]
        impl Arith for $t {
            fn arith(op: BinaryOp, a: $t, b: $t) -> std::result::Result<$t, &'static str> {
                use BinaryOp::*;
                Ok(match op {
                    Add => a.wrapping_add(b),
                    Subtract => a.wrapping_sub(b),
                    Multiply => a.wrapping_mul(b),
                    FloorDivide => {
                        if b == 0 { 0 } else {
                            let q = a.wrapping_div(b);
                            if $signed && (a.wrapping_rem(b) != 0) && ((a < 0) != (b < (0 as $t))) { q.wrapping_sub(1) } else { q }
                        }
                    }
                    Remainder => {
                        if b == 0 { 0 } else {
                            let r = a.wrapping_rem(b);
                            if $signed && r != 0 && ((r < 0) != (b < (0 as $t))) { r.wrapping_add(b) } else { r }
                        }
                    }
                    Power => {
                        #[allow(unused_comparisons)]
                        if b < 0 { return Err("integers to negative integer powers are not allowed"); }
                        let mut acc: $t = 1;
                        let mut base = a;
                        let mut e = b as u64;
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
                    _ => return Err("unsupported integer operation"),
                })
            }
            fn compare(op: BinaryOp, a: $t, b: $t) -> bool { cmp_partial(op, a, b) }
            fn unary(op: UnaryOp, a: $t) -> std::result::Result<$t, &'static str> {
                use UnaryOp::*;
                Ok(match op {
                    Negative => (0 as $t).wrapping_sub(a),
                    Positive => a,
                    #[allow(unused_comparisons)]
                    Absolute => if a < 0 { (0 as $t).wrapping_sub(a) } else { a },
                    Square => a.wrapping_mul(a),
                    #[allow(unused_comparisons)]
                    Sign => if a > 0 { 1 } else if a < 0 { (0 as $t).wrapping_sub(1) } else { 0 },
                    Invert => !a,
                    _ => return Err("unsupported integer operation"),
                })
            }
            fn pred(op: UnaryOp, _a: $t) -> bool { matches!(op, UnaryOp::Isfinite) }
        }
    )*};
}
int_arith!(i32, true; i64, true; u8, false; u32, false; u64, false);

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

macro_rules! float_arith {
    ($($t:ty),*) => {$(
        impl Arith for $t {
            fn arith(op: BinaryOp, a: $t, b: $t) -> std::result::Result<$t, &'static str> {
                use BinaryOp::*;
                Ok(match op {
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
                    _ => return Err("unsupported float operation"),
                })
            }
            fn compare(op: BinaryOp, a: $t, b: $t) -> bool { cmp_partial(op, a, b) }
            fn unary(op: UnaryOp, a: $t) -> std::result::Result<$t, &'static str> {
                use UnaryOp::*;
                Ok(match op {
                    Negative => -a,
                    Positive => a,
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
                    _ => return Err("unsupported float operation"),
                })
            }
            fn pred(op: UnaryOp, a: $t) -> bool {
                match op {
                    UnaryOp::Isnan => a.is_nan(),
                    UnaryOp::Isinf => a.is_infinite(),
                    _ => a.is_finite(),
                }
            }
        }
    )*};
}
float_arith!(f32, f64);

impl Arith for bool {
    fn arith(op: BinaryOp, a: bool, b: bool) -> std::result::Result<bool, &'static str> {
        use BinaryOp::*;
        Ok(match op {
            Add | Maximum | BitwiseOr | LogicalOr => a | b,
            Multiply | Minimum | BitwiseAnd | LogicalAnd => a & b,
            BitwiseXor | LogicalXor => a ^ b,
            _ => return Err("unsupported boolean operation"),
        })
    }
    fn compare(op: BinaryOp, a: bool, b: bool) -> bool {
        cmp_partial(op, a, b)
    }
    fn unary(op: UnaryOp, a: bool) -> std::result::Result<bool, &'static str> {
        use UnaryOp::*;
        Ok(match op {
            Positive | Absolute | Square => a,
            Invert | LogicalNot => !a,
            _ => return Err("unsupported boolean operation"),
        })
    }
    fn pred(op: UnaryOp, _a: bool) -> bool {
        matches!(op, UnaryOp::Isfinite)
    }
}

macro_rules! complex_arith {
    ($($t:ident, $f:ty);*) => {$(
        impl Arith for $t {
            fn arith(op: BinaryOp, a: $t, b: $t) -> std::result::Result<$t, &'static str> {
                use BinaryOp::*;
                Ok(match op {
                    Add => $t { re: a.re + b.re, im: a.im + b.im },
                    Subtract => $t { re: a.re - b.re, im: a.im - b.im },
                    Multiply => $t { re: a.re * b.re - a.im * b.im, im: a.re * b.im + a.im * b.re },
                    Divide => {
                        let d = b.re * b.re + b.im * b.im;
                        $t { re: (a.re * b.re + a.im * b.im) / d, im: (a.im * b.re - a.re * b.im) / d }
                    }
                    _ => return Err("unsupported complex operation"),
                })
            }
            fn compare(op: BinaryOp, a: $t, b: $t) -> bool {
                match op {
                    BinaryOp::Equal => a == b,
                    BinaryOp::NotEqual => a != b,
                    // NumPy orders complex numbers lexicographically.
                    _ => cmp_partial(op, (a.re, a.im), (b.re, b.im)),
                }
            }
            fn unary(op: UnaryOp, a: $t) -> std::result::Result<$t, &'static str> {
                Ok(match op {
                    UnaryOp::Negative => $t { re: -a.re, im: -a.im },
                    UnaryOp::Positive => a,
                    UnaryOp::Square => $t { re: a.re * a.re - a.im * a.im, im: 2.0 as $f * a.re * a.im },
                    _ => return Err("unsupported complex operation"),
                })
            }
            fn pred(op: UnaryOp, a: $t) -> bool {
                match op {
                    UnaryOp::Isnan => a.re.is_nan() || a.im.is_nan(),
                    UnaryOp::Isinf => a.re.is_infinite() || a.im.is_infinite(),
                    _ => a.re.is_finite() && a.im.is_finite(),
                }
            }
        }
    )*};
}
complex_arith!(C64, f32; C128, f64);

/// Calls `$body` with `$t` bound to the Rust type of dtype `$d`.
macro_rules! dispatch {
    ($d:expr, $t:ident => $body:expr) => {
        match $d {
            DType::Bool => {
                type $t = bool;
                $body
            }
            DType::I32 => {
                type $t = i32;
                $body
            }
            DType::I64 => {
                type $t = i64;
                $body
            }
            DType::U8 => {
                type $t = u8;
                $body
            }
            DType::U32 => {
                type $t = u32;
                $body
            }
            DType::U64 => {
                type $t = u64;
                $body
            }
            DType::F32 => {
                type $t = f32;
                $body
            }
            DType::F64 => {
                type $t = f64;
                $body
            }
            DType::C64 => {
                type $t = $crate::dtype::C64;
                $body
            }
            DType::C128 => {
                type $t = $crate::dtype::C128;
                $body
            }
        }
    };
}
pub(crate) use dispatch;

fn kernel_binary<T: Arith>(op: BinaryOp, a: &[u8], b: &[u8]) -> std::result::Result<Vec<u8>, &'static str> {
    let x: Vec<T> = bytes::to_vec(a);
    let y: Vec<T> = bytes::to_vec(b);
    if op.is_comparison() {
        let r: Vec<bool> = x.iter().zip(&y).map(|(&p, &q)| T::compare(op, p, q)).collect();
        return Ok(bytes::as_bytes(&r).to_vec());
    }
    let r: Vec<T> = x
        .iter()
        .zip(&y)
        .map(|(&p, &q)| T::arith(op, p, q))
        .collect::<std::result::Result<_, _>>()?;
    Ok(bytes::as_bytes(&r).to_vec())
}

fn kernel_unary<T: Arith>(op: UnaryOp, a: &[u8]) -> std::result::Result<Vec<u8>, &'static str> {
    let x: Vec<T> = bytes::to_vec(a);
    if matches!(op, UnaryOp::Isnan | UnaryOp::Isinf | UnaryOp::Isfinite) {
        let r: Vec<bool> = x.iter().map(|&p| T::pred(op, p)).collect();
        return Ok(bytes::as_bytes(&r).to_vec());
    }
    let r: Vec<T> = x
        .iter()
        .map(|&p| T::unary(op, p))
        .collect::<std::result::Result<_, _>>()?;
    Ok(bytes::as_bytes(&r).to_vec())
}

/// NumPy's `same_kind` casting rule for writing results into an `out` array.
pub fn can_cast_same_kind(from: DType, to: DType) -> bool {
    fn kind(d: DType) -> u8 {
        match d {
            DType::Bool => 0,
            DType::U8 | DType::U32 | DType::U64 => 1,
            DType::I32 | DType::I64 => 2,
            DType::F32 | DType::F64 => 3,
            DType::C64 | DType::C128 => 4,
        }
    }
    kind(from) <= kind(to)
}

/// An operand of an element-wise operation: an array or a scalar.
#[derive(Clone, Debug)]
pub enum Operand<'a> {
    /// A distributed array (or view).
    Array(&'a DistArray),
    /// A scalar, with NumPy 1.24 value-based casting replaced by its dtype's rules.
    Scalar(Scalar),
}

impl Operand<'_> {
    fn dtype(&self) -> DType {
        match self {
            Operand::Array(a) => a.dtype(),
            Operand::Scalar(s) => s.dtype(),
        }
    }

    fn shape(&self) -> Vec<usize> {
        match self {
            Operand::Array(a) => a.shape().to_vec(),
            Operand::Scalar(_) => Vec::new(),
        }
    }

    /// The operand's values over the box `[lo, hi)` of the broadcast shape, cast to `dt`.
    fn read(&self, lo: &[usize], hi: &[usize], shape: &[usize], dt: DType) -> Result<Vec<u8>> {
        let n: usize = lo.iter().zip(hi).map(|(l, h)| h - l).product();
        match self {
            Operand::Scalar(s) => Ok(s.cast_to(dt).to_le_bytes().repeat(n)),
            Operand::Array(a) => {
                let b = a.broadcast_to(shape)?;
                Ok(bytes::cast(&b.get_region_bytes(lo, hi)?, a.dtype(), dt))
            }
        }
    }
}

/// Scalar operand dtype under NumPy's rules for Python scalars: a Python int/float/complex
/// scalar does not widen an array's dtype of the same or higher kind.
fn effective_dtype(this: &Operand<'_>, other: &Operand<'_>) -> DType {
    match (this, other) {
        (Operand::Scalar(s), Operand::Array(a)) => {
            let kind = match s {
                Scalar::Bool(_) => crate::dtype::ScalarKind::Bool,
                Scalar::F32(_) | Scalar::F64(_) => crate::dtype::ScalarKind::Float,
                Scalar::C64(_) | Scalar::C128(_) => crate::dtype::ScalarKind::Complex,
                _ => crate::dtype::ScalarKind::Int,
            };
            DType::promote_scalar(a.dtype(), kind)
        }
        _ => this.dtype(),
    }
}

/// Evaluates `out = f(inputs)` collectively: every rank computes the boxes of `out` it is
/// responsible for (its own pieces when `out` is a base array), reading the inputs it needs
/// with one-sided gets; an error on any rank is reported on every rank before anything is
/// written (no partial writes); then every rank writes its results.
pub(crate) fn evaluate(
    out: &DistArray,
    compute: impl Fn(&[usize], &[usize]) -> Result<std::result::Result<Vec<u8>, String>>,
) -> Result<()> {
    let rt = out.runtime().clone();
    rt.sync()?;
    let mut results = Vec::new();
    let mut failure: Option<String> = None;
    for (lo, hi) in out.work_boxes()? {
        match compute(&lo, &hi)? {
            Ok(v) => results.push((lo, hi, v)),
            Err(m) => {
                failure = Some(m);
                break;
            }
        }
    }
    let mut flag = [u8::from(failure.is_some())];
    rt.allreduce(&mut flag, distarr_runtime::ReduceOp::Max)?;
    if flag[0] != 0 {
        rt.sync()?;
        return Err(Error::invalid(
            failure.unwrap_or_else(|| "the operation failed on another rank".into()),
        ));
    }
    for (lo, hi, v) in results {
        out.write_box_local(&lo, &hi, &v)?;
    }
    rt.sync()?;
    Ok(())
}

/// Checks `out` for a result of broadcast shape `shape` and dtype `result`. As in NumPy, the
/// inputs are broadcast to `out`'s shape, which may have more or longer dimensions than
/// `shape`; `out` itself is never broadcast.
fn check_out(out: &DistArray, shape: &[usize], result: DType) -> Result<()> {
    let fits = crate::broadcast::broadcast_shapes(&[shape, out.shape()]).is_ok_and(|s| s == out.shape());
    if !fits {
        return Err(Error::shape(format!(
            "non-broadcastable output operand with shape {:?} doesn't match the broadcast shape {shape:?}",
            out.shape()
        )));
    }
    if !can_cast_same_kind(result, out.dtype()) {
        return Err(Error::dtype(format!(
            "cannot cast ufunc output from {} to {} with casting rule 'same_kind'",
            result.name(),
            out.dtype().name()
        )));
    }
    Ok(())
}

/// `out = op(x, y)` element-wise with broadcasting. Returns `out` (a new block array when
/// `out` is `None`). **Collective.**
pub fn binary(op: BinaryOp, x: Operand<'_>, y: Operand<'_>, out: Option<&DistArray>) -> Result<DistArray> {
    let anchor = match (&x, &y, out) {
        (_, _, Some(o)) => o.clone(),
        (Operand::Array(a), _, None) | (_, Operand::Array(a), None) => (*a).clone(),
        _ => return Err(Error::invalid("at least one operand must be an array")),
    };
    anchor.check_live()?;
    for o in [&x, &y] {
        if let Operand::Array(a) = o {
            anchor.check_peer(a)?;
        }
    }
    let shape = crate::broadcast::broadcast_shapes(&[&x.shape(), &y.shape()])?;
    let (lt, rt_) = op.types(effective_dtype(&x, &y), effective_dtype(&y, &x))?;
    let out = match out {
        Some(o) => {
            check_out(o, &shape, rt_)?;
            o.clone()
        }
        None => DistArray::empty(anchor.runtime(), &shape, rt_, crate::dist::Layout::Block)?,
    };
    let shape = out.shape().to_vec();
    let od = out.dtype();
    evaluate(&out, |lo, hi| {
        let a = x.read(lo, hi, &shape, lt)?;
        let b = y.read(lo, hi, &shape, lt)?;
        let r = dispatch!(lt, T => kernel_binary::<T>(op, &a, &b));
        Ok(r.map(|v| bytes::cast(&v, rt_, od)).map_err(|m| format!("{op:?}: {m}")))
    })?;
    Ok(out)
}

/// `out = op(x)` element-wise. Returns `out` (a new block array when `None`). **Collective.**
pub fn unary(op: UnaryOp, x: &DistArray, out: Option<&DistArray>) -> Result<DistArray> {
    x.check_live()?;
    let shape = x.shape().to_vec();
    let (lt, rt_) = op.types(x.dtype())?;
    let out = match out {
        Some(o) => {
            x.check_peer(o)?;
            check_out(o, &shape, rt_)?;
            o.clone()
        }
        None => DistArray::empty(x.runtime(), &shape, rt_, crate::dist::Layout::Block)?,
    };
    let shape = out.shape().to_vec();
    let od = out.dtype();
    let xo = Operand::Array(x);
    evaluate(&out, |lo, hi| {
        let a = xo.read(lo, hi, &shape, lt)?;
        let r = dispatch!(lt, T => kernel_unary::<T>(op, &a));
        Ok(r.map(|v| bytes::cast(&v, rt_, od)).map_err(|m| format!("{op:?}: {m}")))
    })?;
    Ok(out)
}

/// `numpy.where(cond, x, y)`: element-wise `x` where `cond` is true, else `y`, with
/// broadcasting; the result dtype is `promote(x, y)` (scalars weakly, as in [`binary`]);
/// `cond` is converted to bool (non-zero is true). Returns `out` (a new block array when
/// `None`). **Collective.**
pub fn where_(cond: Operand<'_>, x: Operand<'_>, y: Operand<'_>, out: Option<&DistArray>) -> Result<DistArray> {
    let anchor = match (&cond, &x, &y, out) {
        (_, _, _, Some(o)) => o.clone(),
        (Operand::Array(a), _, _, None) | (_, Operand::Array(a), _, None) | (_, _, Operand::Array(a), None) => {
            (*a).clone()
        }
        _ => return Err(Error::invalid("where: at least one operand must be an array")),
    };
    anchor.check_live()?;
    for o in [&cond, &x, &y] {
        if let Operand::Array(a) = o {
            anchor.check_peer(a)?;
        }
    }
    let shape = crate::broadcast::broadcast_shapes(&[&cond.shape(), &x.shape(), &y.shape()])?;
    let rt_ = match (&x, &y) {
        (Operand::Scalar(_), Operand::Scalar(_)) => DType::promote(x.dtype(), y.dtype()),
        _ => DType::promote(effective_dtype(&x, &y), effective_dtype(&y, &x)),
    };
    let out = match out {
        Some(o) => {
            check_out(o, &shape, rt_)?;
            o.clone()
        }
        None => DistArray::empty(anchor.runtime(), &shape, rt_, crate::dist::Layout::Block)?,
    };
    let shape = out.shape().to_vec();
    let od = out.dtype();
    let sz = rt_.size();
    evaluate(&out, |lo, hi| {
        let c = cond.read(lo, hi, &shape, DType::Bool)?;
        let a = x.read(lo, hi, &shape, rt_)?;
        let b = y.read(lo, hi, &shape, rt_)?;
        let mut r = Vec::with_capacity(a.len());
        for (k, &t) in c.iter().enumerate() {
            let src = if t != 0 { &a } else { &b };
            r.extend_from_slice(&src[k * sz..(k + 1) * sz]);
        }
        Ok(Ok(bytes::cast(&r, rt_, od)))
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_floor_division_wraps_without_panicking() {
        use BinaryOp::{FloorDivide, Remainder};
        assert_eq!(i32::arith(FloorDivide, i32::MIN, -1), Ok(i32::MIN));
        assert_eq!(i64::arith(FloorDivide, i64::MIN, -1), Ok(i64::MIN));
        assert_eq!(i32::arith(Remainder, i32::MIN, -1), Ok(0));
        assert_eq!(i32::arith(FloorDivide, -7, 2), Ok(-4));
        assert_eq!(i32::arith(Remainder, -7, 2), Ok(1));
        assert_eq!(i32::arith(Remainder, 7, -2), Ok(-1));
        assert_eq!(u8::arith(FloorDivide, 7, 0), Ok(0));
    }

    #[test]
    fn float_floor_division_is_numpy_divmod() {
        use BinaryOp::{FloorDivide, Remainder};
        let fd = |a: f64, b: f64| f64::arith(FloorDivide, a, b).unwrap();
        let rem = |a: f64, b: f64| f64::arith(Remainder, a, b).unwrap();
        assert_eq!(fd(1.0, 0.1), 9.0); // floor(1.0 / 0.1) would be 10.0
        assert_eq!(fd(1.0, f64::NEG_INFINITY), -1.0);
        assert_eq!(fd(-7.0, 2.0), -4.0);
        assert!(fd(0.0, 0.0).is_nan() && fd(1.0, 0.0) == f64::INFINITY);
        assert_eq!(rem(-7.0, 2.0), 1.0);
        assert!(rem(-4.0, 2.0) == 0.0 && rem(-4.0, 2.0).is_sign_positive());
        assert!(rem(4.0, -2.0) == 0.0 && rem(4.0, -2.0).is_sign_negative());
        assert!(rem(1.0, 0.0).is_nan());
        assert_eq!(f32::arith(FloorDivide, 1.0, 0.1), Ok(9.0));
    }

    #[test]
    fn bool_square_and_positive_are_refused() {
        assert!(UnaryOp::Square.types(DType::Bool).is_err());
        assert!(UnaryOp::Positive.types(DType::Bool).is_err());
        assert_eq!(
            UnaryOp::Absolute.types(DType::Bool).unwrap(),
            (DType::Bool, DType::Bool)
        );
        assert_eq!(UnaryOp::Sqrt.types(DType::Bool).unwrap(), (DType::F32, DType::F32));
    }
}

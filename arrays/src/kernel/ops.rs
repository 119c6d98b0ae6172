//! The operations kernels implement, named like NumPy's, and their type rules.
//!
//! Type rules follow NumPy 1.24 (Debian 12's NumPy, the reference of the differential tests,
//! `tests/programs/src/bin/arr_numpy_ufuncs.rs`): arithmetic promotes with [`DType::promote`];
//! `divide` gives float64 for integers (float32 for float32); math functions give float64 for
//! integer inputs except uint8, and float32 for uint8 and bool (NumPy gives float16 there,
//! which is not a distarr dtype); comparisons and logical ops give bool; bitwise ops need
//! integers or bools. Where NumPy's result would be int8 (bool `floor_divide`, `remainder`,
//! `power`, `square`), which distarr lacks, the operation is an error, as is `positive` of
//! bool (as in NumPy). Reductions on 64-bit Linux: `sum`/`prod` of bool and signed integers
//! give int64, of unsigned integers uint64; `mean` gives float64 (float32 for float32);
//! `argmin`/`argmax` give int64 indices into the C-order flattening; `any`/`all` give bool;
//! `min`/`max` keep the dtype.
use crate::dtype::DType;
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
    /// Every binary op, in declaration order (`ALL[op.id()] == op`).
    pub const ALL: [BinaryOp; 23] = {
        use BinaryOp::*;
        [
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
        ]
    };

    /// Position in [`BinaryOp::ALL`] (the kernels' compile-time op number).
    pub const fn id(self) -> u8 {
        self as u8
    }

    /// The op numbered `id` (see [`BinaryOp::id`]); `Add` for an unknown number.
    pub const fn from_id(id: u8) -> BinaryOp {
        if (id as usize) < BinaryOp::ALL.len() {
            BinaryOp::ALL[id as usize]
        } else {
            BinaryOp::Add
        }
    }

    /// Whether the op can fail on some values of its loop dtype (integer `power` with a
    /// negative exponent): such values are found in a check pass before anything is written.
    pub fn can_fail(self, loop_dtype: DType) -> bool {
        self == BinaryOp::Power && (loop_dtype.is_int())
    }

    /// `==`, `!=`, `<`, `<=`, `>`, `>=`: bool results.
    pub fn is_comparison(self) -> bool {
        use BinaryOp::*;
        matches!(self, Equal | NotEqual | Less | LessEqual | Greater | GreaterEqual)
    }

    /// `logical_and/or/xor`.
    pub fn is_logical(self) -> bool {
        matches!(self, BinaryOp::LogicalAnd | BinaryOp::LogicalOr | BinaryOp::LogicalXor)
    }

    /// `bitwise_and/or/xor`.
    pub fn is_bitwise(self) -> bool {
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
    /// Every unary op, in declaration order (`ALL[op.id()] == op`).
    pub const ALL: [UnaryOp; 30] = {
        use UnaryOp::*;
        [
            Negative, Positive, Absolute, Square, Sign, Invert, LogicalNot, Sqrt, Exp, Log, Log2, Log10, Expm1, Log1p,
            Sin, Cos, Tan, Arcsin, Arccos, Arctan, Sinh, Cosh, Tanh, Floor, Ceil, Trunc, Rint, Isnan, Isinf, Isfinite,
        ]
    };

    /// Position in [`UnaryOp::ALL`].
    pub const fn id(self) -> u8 {
        self as u8
    }

    /// The op numbered `id`; `Positive` for an unknown number.
    pub const fn from_id(id: u8) -> UnaryOp {
        if (id as usize) < UnaryOp::ALL.len() {
            UnaryOp::ALL[id as usize]
        } else {
            UnaryOp::Positive
        }
    }

    /// `isnan`, `isinf`, `isfinite`: bool results.
    pub fn is_predicate(self) -> bool {
        matches!(self, UnaryOp::Isnan | UnaryOp::Isinf | UnaryOp::Isfinite)
    }

    /// Math functions (float results for integer inputs).
    pub fn is_math(self) -> bool {
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

/// Reduction operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ReduceOp {
    Sum,
    Prod,
    Min,
    Max,
    Mean,
    Argmin,
    Argmax,
    Any,
    All,
}

impl ReduceOp {
    /// (loop dtype, result dtype) for an input of dtype `d`.
    pub fn types(self, d: DType) -> Result<(DType, DType)> {
        use ReduceOp::*;
        Ok(match self {
            Sum | Prod => {
                let t = match d {
                    DType::Bool | DType::I32 | DType::I64 => DType::I64,
                    DType::U8 | DType::U32 | DType::U64 => DType::U64,
                    f => f,
                };
                (t, t)
            }
            Mean => {
                let t = match d {
                    DType::F32 | DType::C64 | DType::C128 | DType::F64 => d,
                    _ => DType::F64,
                };
                (t, t)
            }
            Min | Max | Argmin | Argmax => {
                if d.is_complex() {
                    return Err(Error::dtype(format!("{self:?} is not supported for {}", d.name())));
                }
                (d, if matches!(self, Argmin | Argmax) { DType::I64 } else { d })
            }
            Any | All => (DType::Bool, DType::Bool),
        })
    }

    /// Whether the op is defined on an empty input.
    pub fn has_identity(self) -> bool {
        matches!(
            self,
            ReduceOp::Sum | ReduceOp::Prod | ReduceOp::Any | ReduceOp::All | ReduceOp::Mean
        )
    }
}

//! Element types of typed one-sided operations, and the operations allowed on them.
use crate::error::{ensure, Result};
use distarr_ffi::{Equivalence, Op};

/// Broad class of an element type: decides which operations apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElemClass {
    /// Fixed-width integers: every operation.
    Int,
    /// IEEE floats: no bitwise operations, no compare-and-swap.
    Float,
}

/// Element types of typed get/put, accumulate, fetch-and-op and compare-and-swap:
/// `i32 i64 u32 u64 f32 f64` (and `i8 u8` for get/put/accumulate).
pub trait Elem: Equivalence + PartialEq + std::fmt::Debug {
    /// Its class.
    const CLASS: ElemClass;
    /// Its name, for messages.
    const NAME: &'static str;
}

macro_rules! elem {
    ($($t:ty => $c:ident),*) => {$(
        impl Elem for $t {
            const CLASS: ElemClass = ElemClass::$c;
            const NAME: &'static str = stringify!($t);
        }
    )*};
}
elem!(i8 => Int, u8 => Int, i32 => Int, u32 => Int, i64 => Int, u64 => Int, f32 => Float, f64 => Float);

/// Accumulate / fetch-and-op operations (`MPI_Accumulate` semantics: `target = target op x`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccOp {
    /// `+`
    Sum,
    /// `*`
    Prod,
    /// minimum
    Min,
    /// maximum
    Max,
    /// bitwise and (integers only)
    Band,
    /// bitwise or (integers only)
    Bor,
    /// bitwise xor (integers only)
    Bxor,
    /// `target = x` (atomic per element)
    Replace,
    /// leaves the target unchanged: with get-accumulate / fetch-and-op, an atomic read
    NoOp,
}

impl AccOp {
    /// All operations, for tests and tables.
    pub const ALL: [AccOp; 9] = [
        AccOp::Sum,
        AccOp::Prod,
        AccOp::Min,
        AccOp::Max,
        AccOp::Band,
        AccOp::Bor,
        AccOp::Bxor,
        AccOp::Replace,
        AccOp::NoOp,
    ];

    pub(crate) fn mpi(self) -> Op {
        match self {
            AccOp::Sum => Op::Sum,
            AccOp::Prod => Op::Prod,
            AccOp::Min => Op::Min,
            AccOp::Max => Op::Max,
            AccOp::Band => Op::Band,
            AccOp::Bor => Op::Bor,
            AccOp::Bxor => Op::Bxor,
            AccOp::Replace => Op::Replace,
            AccOp::NoOp => Op::NoOp,
        }
    }

    /// Whether the op is bitwise (integers only).
    pub fn is_bitwise(self) -> bool {
        matches!(self, AccOp::Band | AccOp::Bor | AccOp::Bxor)
    }

    /// Checks that the op applies to `T`.
    pub(crate) fn check<T: Elem>(self) -> Result<()> {
        ensure!(
            !(self.is_bitwise() && T::CLASS == ElemClass::Float),
            InvalidArgument,
            "{self:?} is not defined for {}",
            T::NAME
        );
        Ok(())
    }
}

/// Reduction operations of [`crate::Runtime::allreduce`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceOp {
    /// sum
    Sum,
    /// product
    Prod,
    /// minimum
    Min,
    /// maximum
    Max,
    /// bitwise and (integers only)
    Band,
    /// bitwise or (integers only)
    Bor,
    /// bitwise xor (integers only)
    Bxor,
}

impl ReduceOp {
    pub(crate) fn mpi(self) -> Op {
        match self {
            ReduceOp::Sum => Op::Sum,
            ReduceOp::Prod => Op::Prod,
            ReduceOp::Min => Op::Min,
            ReduceOp::Max => Op::Max,
            ReduceOp::Band => Op::Band,
            ReduceOp::Bor => Op::Bor,
            ReduceOp::Bxor => Op::Bxor,
        }
    }

    pub(crate) fn check<T: Elem>(self) -> Result<()> {
        let bitwise = matches!(self, ReduceOp::Band | ReduceOp::Bor | ReduceOp::Bxor);
        ensure!(
            !(bitwise && T::CLASS == ElemClass::Float),
            InvalidArgument,
            "{self:?} is not defined for {}",
            T::NAME
        );
        Ok(())
    }
}

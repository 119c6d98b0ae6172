//! Integer codes of the C ABI: dtypes, accumulate/reduce operations, ufuncs, layouts, index
//! kinds, execution modes. Their conversions to the layers' types are in [`crate::args`].
use crate::status::{CError, CResult, DISTARR_ERR_ARG};

// --- dtypes (the same numbering as distarr-arrays' DType) ------------------------------------
/// `bool`, one byte holding 0 or 1.
pub const DISTARR_DTYPE_BOOL: i32 = 0;
/// `int32_t`.
pub const DISTARR_DTYPE_I32: i32 = 1;
/// `int64_t`.
pub const DISTARR_DTYPE_I64: i32 = 2;
/// `uint8_t`.
pub const DISTARR_DTYPE_U8: i32 = 3;
/// `uint32_t`.
pub const DISTARR_DTYPE_U32: i32 = 4;
/// `uint64_t`.
pub const DISTARR_DTYPE_U64: i32 = 5;
/// `float`.
pub const DISTARR_DTYPE_F32: i32 = 6;
/// `double`.
pub const DISTARR_DTYPE_F64: i32 = 7;
/// `float complex` (two floats). Not accepted by the PGAS atomics.
pub const DISTARR_DTYPE_C64: i32 = 8;
/// `double complex` (two doubles). Not accepted by the PGAS atomics.
pub const DISTARR_DTYPE_C128: i32 = 9;

// --- accumulate / fetch-op / reduce operations ------------------------------------------------
/// `target += x`.
pub const DISTARR_OP_SUM: i32 = 0;
/// `target *= x`.
pub const DISTARR_OP_PROD: i32 = 1;
/// `target = min(target, x)`.
pub const DISTARR_OP_MIN: i32 = 2;
/// `target = max(target, x)`.
pub const DISTARR_OP_MAX: i32 = 3;
/// `target &= x` (integers and bool).
pub const DISTARR_OP_BAND: i32 = 4;
/// `target |= x` (integers and bool).
pub const DISTARR_OP_BOR: i32 = 5;
/// `target ^= x` (integers and bool).
pub const DISTARR_OP_BXOR: i32 = 6;
/// `target = x` (atomic per element). Not a reduction.
pub const DISTARR_OP_REPLACE: i32 = 7;
/// Leaves the target unchanged: with `distarr_fetch_op`, an atomic read. Not a reduction, not
/// accepted by `distarr_acc`.
pub const DISTARR_OP_NO_OP: i32 = 8;

// --- ufuncs (NumPy names; used by the array functions) -----------------------------------------
/// `np.add`
pub const DISTARR_UFUNC_ADD: i32 = 0;
/// `np.subtract`
pub const DISTARR_UFUNC_SUBTRACT: i32 = 1;
/// `np.multiply`
pub const DISTARR_UFUNC_MULTIPLY: i32 = 2;
/// `np.divide` (true division)
pub const DISTARR_UFUNC_DIVIDE: i32 = 3;
/// `np.floor_divide`
pub const DISTARR_UFUNC_FLOOR_DIVIDE: i32 = 4;
/// `np.remainder`
pub const DISTARR_UFUNC_REMAINDER: i32 = 5;
/// `np.power`
pub const DISTARR_UFUNC_POWER: i32 = 6;
/// `np.maximum`
pub const DISTARR_UFUNC_MAXIMUM: i32 = 7;
/// `np.minimum`
pub const DISTARR_UFUNC_MINIMUM: i32 = 8;
/// `np.equal`
pub const DISTARR_UFUNC_EQUAL: i32 = 9;
/// `np.not_equal`
pub const DISTARR_UFUNC_NOT_EQUAL: i32 = 10;
/// `np.less`
pub const DISTARR_UFUNC_LESS: i32 = 11;
/// `np.less_equal`
pub const DISTARR_UFUNC_LESS_EQUAL: i32 = 12;
/// `np.greater`
pub const DISTARR_UFUNC_GREATER: i32 = 13;
/// `np.greater_equal`
pub const DISTARR_UFUNC_GREATER_EQUAL: i32 = 14;
/// `np.logical_and`
pub const DISTARR_UFUNC_LOGICAL_AND: i32 = 15;
/// `np.logical_or`
pub const DISTARR_UFUNC_LOGICAL_OR: i32 = 16;
/// `np.logical_xor`
pub const DISTARR_UFUNC_LOGICAL_XOR: i32 = 17;
/// `np.bitwise_and`
pub const DISTARR_UFUNC_BITWISE_AND: i32 = 18;
/// `np.bitwise_or`
pub const DISTARR_UFUNC_BITWISE_OR: i32 = 19;
/// `np.bitwise_xor`
pub const DISTARR_UFUNC_BITWISE_XOR: i32 = 20;
/// `np.arctan2`
pub const DISTARR_UFUNC_ARCTAN2: i32 = 21;
/// `np.hypot`
pub const DISTARR_UFUNC_HYPOT: i32 = 22;
/// `np.negative` (unary ufuncs from here on)
pub const DISTARR_UFUNC_NEGATIVE: i32 = 64;
/// `np.absolute`
pub const DISTARR_UFUNC_ABSOLUTE: i32 = 65;
/// `np.sqrt`
pub const DISTARR_UFUNC_SQRT: i32 = 66;
/// `np.exp`
pub const DISTARR_UFUNC_EXP: i32 = 67;
/// `np.log`
pub const DISTARR_UFUNC_LOG: i32 = 68;
/// `np.sin`
pub const DISTARR_UFUNC_SIN: i32 = 69;
/// `np.cos`
pub const DISTARR_UFUNC_COS: i32 = 70;
/// `np.tan`
pub const DISTARR_UFUNC_TAN: i32 = 71;
/// `np.floor`
pub const DISTARR_UFUNC_FLOOR: i32 = 72;
/// `np.ceil`
pub const DISTARR_UFUNC_CEIL: i32 = 73;
/// `np.logical_not`
pub const DISTARR_UFUNC_LOGICAL_NOT: i32 = 74;
/// `np.invert` (bitwise not)
pub const DISTARR_UFUNC_INVERT: i32 = 75;
/// `np.square`
pub const DISTARR_UFUNC_SQUARE: i32 = 76;
/// `np.sign`
pub const DISTARR_UFUNC_SIGN: i32 = 77;
/// `np.log10`
pub const DISTARR_UFUNC_LOG10: i32 = 78;
/// `np.log2`
pub const DISTARR_UFUNC_LOG2: i32 = 79;
/// `np.tanh`
pub const DISTARR_UFUNC_TANH: i32 = 80;
/// `np.arcsin`
pub const DISTARR_UFUNC_ARCSIN: i32 = 81;
/// `np.arccos`
pub const DISTARR_UFUNC_ARCCOS: i32 = 82;
/// `np.arctan`
pub const DISTARR_UFUNC_ARCTAN: i32 = 83;
/// `np.isnan`
pub const DISTARR_UFUNC_ISNAN: i32 = 84;
/// `np.isinf`
pub const DISTARR_UFUNC_ISINF: i32 = 85;
/// `np.isfinite`
pub const DISTARR_UFUNC_ISFINITE: i32 = 86;
/// `np.reciprocal` (floating-point and complex arrays only; integer arrays →
/// `DISTARR_ERR_UNSUPPORTED`)
pub const DISTARR_UFUNC_RECIPROCAL: i32 = 87;
/// `np.positive`
pub const DISTARR_UFUNC_POSITIVE: i32 = 88;
/// `np.expm1`
pub const DISTARR_UFUNC_EXPM1: i32 = 89;
/// `np.log1p`
pub const DISTARR_UFUNC_LOG1P: i32 = 90;
/// `np.sinh`
pub const DISTARR_UFUNC_SINH: i32 = 91;
/// `np.cosh`
pub const DISTARR_UFUNC_COSH: i32 = 92;
/// `np.trunc`
pub const DISTARR_UFUNC_TRUNC: i32 = 93;
/// `np.rint`
pub const DISTARR_UFUNC_RINT: i32 = 94;

// --- reductions (distarr_reduce) ---------------------------------------------------------------
/// `np.sum` (the same value as `DISTARR_OP_SUM`). Result dtype as NumPy: int64 for bool and
/// signed integers, uint64 for unsigned integers, else the input dtype.
pub const DISTARR_REDUCE_SUM: i32 = 0;
/// `np.prod` (= `DISTARR_OP_PROD`); result dtype as `DISTARR_REDUCE_SUM`.
pub const DISTARR_REDUCE_PROD: i32 = 1;
/// `np.min` (= `DISTARR_OP_MIN`); keeps the dtype, propagates NaN; not for complex.
pub const DISTARR_REDUCE_MIN: i32 = 2;
/// `np.max` (= `DISTARR_OP_MAX`); keeps the dtype, propagates NaN; not for complex.
pub const DISTARR_REDUCE_MAX: i32 = 3;
/// `np.mean`: float64 (float32 for float32, complex for complex).
pub const DISTARR_REDUCE_MEAN: i32 = 16;
/// `np.argmin`: int64 index (into the C-order flattening for `axis = -1`).
pub const DISTARR_REDUCE_ARGMIN: i32 = 17;
/// `np.argmax`: int64 index.
pub const DISTARR_REDUCE_ARGMAX: i32 = 18;
/// `np.any`: bool.
pub const DISTARR_REDUCE_ANY: i32 = 19;
/// `np.all`: bool.
pub const DISTARR_REDUCE_ALL: i32 = 20;

// --- array layouts (distarr_create_layout) -------------------------------------------------------
/// One contiguous block per rank along each dimension of a balanced process grid (the layout of
/// `distarr_create` with `block == NULL`).
pub const DISTARR_LAYOUT_BLOCK: i32 = 0;
/// Blocks of the given extents dealt round-robin over the balanced process grid (ScaLAPACK).
pub const DISTARR_LAYOUT_BLOCK_CYCLIC: i32 = 1;
/// Every rank holds a full copy.
pub const DISTARR_LAYOUT_REPLICATED: i32 = 2;
/// One rank holds the whole array.
pub const DISTARR_LAYOUT_ON_RANK: i32 = 3;
/// Flag OR-ed into the layout of `distarr_create_layout`: the array is an output to be written
/// by a collective operation first (its values are unspecified, as NumPy's `empty`); its
/// storage is allocated by the first collective operation that uses it, or never when it is
/// freed while the deferred operations that write it are not needed (a temporary of an
/// expression: `distarr_free` of an array deferred operations still use leaves the storage to
/// them). One-sided and local-block access before the first collective use: `DISTARR_ERR_ARG`.
pub const DISTARR_LAYOUT_DEFERRED: i32 = 0x100;

// --- slicing (distarr_view) ----------------------------------------------------------------------
/// An omitted `start` or `stop` of `distarr_view` and `distarr_index` (Python's `None`: the end
/// that depends on the step's sign). `INT64_MIN`.
pub const DISTARR_SLICE_NONE: i64 = i64::MIN;

// --- index items (distarr_index) -------------------------------------------------------------------
/// `start:stop:step` (Python's slice; `DISTARR_SLICE_NONE` for an omitted bound).
pub const DISTARR_INDEX_RANGE: i32 = 0;
/// A single index `start` (negative counts from the end); removes the axis.
pub const DISTARR_INDEX_INT: i32 = 1;
/// `numpy.newaxis` (`None`): a new axis of length 1.
pub const DISTARR_INDEX_NEWAXIS: i32 = 2;
/// `...`: as many full slices as needed (at most one per index).
pub const DISTARR_INDEX_ELLIPSIS: i32 = 3;

// --- axes ------------------------------------------------------------------------------------------
/// "No axis": `distarr_roll` and `distarr_concatenate` work on the flattened arrays (NumPy's
/// `axis=None`), `distarr_reduce` reduces every element. `INT32_MIN` (`-1` is a valid axis, the
/// last one, except in `distarr_reduce`, where it also means every element).
pub const DISTARR_AXIS_NONE: i32 = i32::MIN;

// --- execution modes -----------------------------------------------------------------------------
/// `distarr_init_mode`: take the mode from `DISTARR_MODE` (`spmd`, the default, or `sequential`).
pub const DISTARR_MODE_ENV: i32 = 0;
/// Every rank runs the program (SPMD).
pub const DISTARR_MODE_SPMD: i32 = 1;
/// Only rank 0 runs the program; the other ranks serve its commands (see the header's preamble).
pub const DISTARR_MODE_SEQUENTIAL: i32 = 2;

/// Execution mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Spmd,
    Sequential,
}

impl Mode {
    pub fn code(self) -> i32 {
        match self {
            Mode::Spmd => DISTARR_MODE_SPMD,
            Mode::Sequential => DISTARR_MODE_SEQUENTIAL,
        }
    }

    /// The mode for a `DISTARR_MODE_*` code (`DISTARR_MODE_ENV` reads `DISTARR_MODE`).
    pub fn from_code(code: i32) -> CResult<Mode> {
        match code {
            DISTARR_MODE_SPMD => Ok(Mode::Spmd),
            DISTARR_MODE_SEQUENTIAL => Ok(Mode::Sequential),
            DISTARR_MODE_ENV => {
                let v = std::env::var("DISTARR_MODE").unwrap_or_default();
                match v.trim().to_ascii_lowercase().as_str() {
                    "" | "spmd" => Ok(Mode::Spmd),
                    "sequential" | "seq" => Ok(Mode::Sequential),
                    other => Err(CError::new(
                        DISTARR_ERR_ARG,
                        format!("DISTARR_MODE={other:?}: expected `spmd` or `sequential`"),
                    )),
                }
            }
            _ => Err(CError::new(DISTARR_ERR_ARG, format!("unknown mode code {code}"))),
        }
    }
}

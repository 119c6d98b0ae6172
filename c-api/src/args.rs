//! Argument conversion and checking for the exported functions: the integer codes (dtypes,
//! operations, ufuncs, reductions, layouts, axes) as the layers' types, C pointers as slices,
//! shapes, boxes and paths. Everything here is local: no communication and no library state.
use crate::codes::*;
use crate::status::*;
use distarr_arrays::reduce::ReduceOp as ArrayReduce;
use distarr_arrays::ufunc::{can_cast_same_kind, BinaryOp, UnaryOp};
use distarr_arrays::{DType, DistArray, Layout, SliceItem};
use distarr_runtime::{AccOp, Elem, ReduceOp};
use std::borrow::Cow;
use std::ffi::{c_char, c_void, CStr};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Most dimensions an array argument may have (NumPy's limit, and the array engine's).
pub(crate) const MAX_NDIM: i32 = 64;

// --- pointers and counts ------------------------------------------------------------------------

/// A rank argument as an index (negative → `DISTARR_ERR_RANK`; the runtime checks the top).
pub(crate) fn rank_arg(rank: i32) -> CResult<usize> {
    usize::try_from(rank).map_err(|_| CError::new(DISTARR_ERR_RANK, format!("rank {rank} is negative")))
}

/// A byte or element count as `usize`.
pub(crate) fn len_arg(n: u64) -> CResult<usize> {
    Ok(distarr_runtime::to_usize(n)?)
}

/// Checks that a buffer of `n` bytes fits in the address space (as Rust slices require).
pub(crate) fn check_span(n: usize) -> CResult<()> {
    check!(
        isize::try_from(n).is_ok(),
        DISTARR_ERR_BOUNDS,
        "{n} bytes exceed the address space"
    );
    Ok(())
}

/// `DISTARR_ERR_NULL` naming the argument `name` when `p` is NULL and `n > 0`.
pub(crate) fn nonnull_if<T>(p: *const T, n: usize, name: &str) -> CResult<()> {
    check!(
        n == 0 || !p.is_null(),
        DISTARR_ERR_NULL,
        "argument `{name}` is NULL ({n} bytes/elements)"
    );
    Ok(())
}

/// The `n` bytes at `p` (NULL allowed when `n == 0`), `name` being the argument's name.
///
/// # Safety
/// When `n > 0`, `p` is non-null and valid for reads of `n` bytes for `'a`, unwritten meanwhile.
pub(crate) unsafe fn in_bytes<'a>(p: *const c_void, n: usize, name: &str) -> CResult<&'a [u8]> {
    nonnull_if(p, n, name)?;
    if n == 0 {
        return Ok(&[]);
    }
    check_span(n)?;
    // SAFETY: `p` is non-null and valid for `n` bytes (this function's contract); u8 needs no
    // alignment; `n <= isize::MAX` was checked.
    Ok(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), n) })
}

/// The `n` writable bytes at `p` (NULL allowed when `n == 0`).
///
/// # Safety
/// When `n > 0`, `p` is non-null and valid for writes of `n` bytes for `'a`, not otherwise
/// accessed meanwhile.
pub(crate) unsafe fn out_bytes<'a>(p: *mut c_void, n: usize, name: &str) -> CResult<&'a mut [u8]> {
    nonnull_if(p, n, name)?;
    if n == 0 {
        return Ok(&mut []);
    }
    check_span(n)?;
    // SAFETY: as `in_bytes`, with exclusive access from the contract.
    Ok(unsafe { std::slice::from_raw_parts_mut(p.cast::<u8>(), n) })
}

/// `n` elements of `T` at `p`, borrowed when `p` is aligned for `T`, else copied.
///
/// # Safety
/// When `n > 0`, `p` is non-null and valid for reads of `n * size_of::<T>()` bytes for `'a`.
pub(crate) unsafe fn in_elems<'a, T: Elem + Copy>(p: *const c_void, n: usize, name: &str) -> CResult<Cow<'a, [T]>> {
    let bytes = n
        .checked_mul(std::mem::size_of::<T>())
        .ok_or_else(|| CError::new(DISTARR_ERR_BOUNDS, format!("{n} elements exceed the address space")))?;
    // SAFETY: the contract covers `bytes` bytes at `p`.
    let raw = unsafe { in_bytes(p, bytes, name)? };
    if n == 0 {
        return Ok(Cow::Borrowed(&[]));
    }
    let p = raw.as_ptr().cast::<T>();
    if p.is_aligned() {
        // SAFETY: `p` is aligned and valid for `n` elements of T (checked span); Elem types
        // accept every bit pattern.
        Ok(Cow::Borrowed(unsafe { std::slice::from_raw_parts(p, n) }))
    } else {
        // SAFETY: every `p.add(k)` for k < n lies inside the readable span; unaligned reads.
        Ok(Cow::Owned(
            (0..n).map(|k| unsafe { p.add(k).read_unaligned() }).collect(),
        ))
    }
}

/// Reads one `T` from a C pointer (any alignment).
///
/// # Safety
/// `p` is non-null and valid for reads of `size_of::<T>()` bytes.
pub(crate) unsafe fn read_one<T: Elem + Copy>(p: *const c_void) -> T {
    // SAFETY: the contract; Elem types accept every bit pattern.
    unsafe { p.cast::<T>().read_unaligned() }
}

/// Writes one `T` to a C pointer (any alignment).
///
/// # Safety
/// `p` is non-null and valid for writes of `size_of::<T>()` bytes.
pub(crate) unsafe fn write_one<T: Elem + Copy>(p: *mut c_void, v: T) {
    // SAFETY: the contract.
    unsafe { p.cast::<T>().write_unaligned(v) }
}

// --- operation codes ----------------------------------------------------------------------------

/// The accumulate operation for an op code.
pub(crate) fn acc_op(op: i32) -> CResult<AccOp> {
    Ok(match op {
        DISTARR_OP_SUM => AccOp::Sum,
        DISTARR_OP_PROD => AccOp::Prod,
        DISTARR_OP_MIN => AccOp::Min,
        DISTARR_OP_MAX => AccOp::Max,
        DISTARR_OP_BAND => AccOp::Band,
        DISTARR_OP_BOR => AccOp::Bor,
        DISTARR_OP_BXOR => AccOp::Bxor,
        DISTARR_OP_REPLACE => AccOp::Replace,
        DISTARR_OP_NO_OP => AccOp::NoOp,
        _ => return Err(CError::new(DISTARR_ERR_OP, format!("unknown operation code {op}"))),
    })
}

/// The reduction for an op code (`REPLACE` and `NO_OP` are not reductions).
pub(crate) fn reduce_op(op: i32) -> CResult<ReduceOp> {
    Ok(match op {
        DISTARR_OP_SUM => ReduceOp::Sum,
        DISTARR_OP_PROD => ReduceOp::Prod,
        DISTARR_OP_MIN => ReduceOp::Min,
        DISTARR_OP_MAX => ReduceOp::Max,
        DISTARR_OP_BAND => ReduceOp::Band,
        DISTARR_OP_BOR => ReduceOp::Bor,
        DISTARR_OP_BXOR => ReduceOp::Bxor,
        DISTARR_OP_REPLACE | DISTARR_OP_NO_OP => {
            return Err(CError::new(
                DISTARR_ERR_OP,
                format!("operation code {op} (REPLACE/NO_OP) is not a reduction"),
            ))
        }
        _ => return Err(CError::new(DISTARR_ERR_OP, format!("unknown operation code {op}"))),
    })
}

/// Checks that a dtype code is one of `DISTARR_DTYPE_*` that the PGAS atomics accept, and that
/// `op` (by whether it is bitwise, `bitwise`; or arithmetic, `arith`) applies to it.
pub(crate) fn check_dtype_op(dtype: i32, bitwise: bool, arith: bool) -> CResult<()> {
    check!(
        (DISTARR_DTYPE_BOOL..=DISTARR_DTYPE_C128).contains(&dtype),
        DISTARR_ERR_DTYPE,
        "unknown dtype code {dtype}"
    );
    check!(
        dtype != DISTARR_DTYPE_C64 && dtype != DISTARR_DTYPE_C128,
        DISTARR_ERR_DTYPE,
        "complex dtypes are not supported by one-sided accumulate/atomics"
    );
    let float = dtype == DISTARR_DTYPE_F32 || dtype == DISTARR_DTYPE_F64;
    check!(
        !(bitwise && float),
        DISTARR_ERR_DTYPE,
        "bitwise operations are not defined for floating-point dtype {dtype}"
    );
    check!(
        !(arith && dtype == DISTARR_DTYPE_BOOL),
        DISTARR_ERR_DTYPE,
        "SUM/PROD are not defined for BOOL (use BOR/BAND/BXOR, MIN/MAX, or DTYPE_U8)"
    );
    Ok(())
}

/// Runs `$body` with `$t` bound to the Rust type of a checked dtype code (call
/// [`check_dtype_op`] first; complex dtypes do not reach here).
macro_rules! with_dtype {
    ($dtype:expr, $t:ident => $body:expr) => {
        match $dtype {
            $crate::codes::DISTARR_DTYPE_BOOL | $crate::codes::DISTARR_DTYPE_U8 => {
                type $t = u8;
                $body
            }
            $crate::codes::DISTARR_DTYPE_I32 => {
                type $t = i32;
                $body
            }
            $crate::codes::DISTARR_DTYPE_I64 => {
                type $t = i64;
                $body
            }
            $crate::codes::DISTARR_DTYPE_U32 => {
                type $t = u32;
                $body
            }
            $crate::codes::DISTARR_DTYPE_U64 => {
                type $t = u64;
                $body
            }
            $crate::codes::DISTARR_DTYPE_F32 => {
                type $t = f32;
                $body
            }
            $crate::codes::DISTARR_DTYPE_F64 => {
                type $t = f64;
                $body
            }
            other => Err($crate::status::CError::new(
                $crate::status::DISTARR_ERR_DTYPE,
                format!("dtype code {other} is not supported here"),
            )),
        }
    };
}
pub(crate) use with_dtype;

// --- array codes ----------------------------------------------------------------------------------

/// The dtype of a `DISTARR_DTYPE_*` code.
pub(crate) fn dtype_arg(code: i32) -> CResult<DType> {
    DType::from_code(code).map_err(|_| CError::new(DISTARR_ERR_DTYPE, format!("unknown dtype code {code}")))
}

/// The binary ufunc of a `DISTARR_UFUNC_*` code.
pub(crate) fn binary_op(code: i32) -> CResult<BinaryOp> {
    use BinaryOp::*;
    Ok(match code {
        DISTARR_UFUNC_ADD => Add,
        DISTARR_UFUNC_SUBTRACT => Subtract,
        DISTARR_UFUNC_MULTIPLY => Multiply,
        DISTARR_UFUNC_DIVIDE => Divide,
        DISTARR_UFUNC_FLOOR_DIVIDE => FloorDivide,
        DISTARR_UFUNC_REMAINDER => Remainder,
        DISTARR_UFUNC_POWER => Power,
        DISTARR_UFUNC_MAXIMUM => Maximum,
        DISTARR_UFUNC_MINIMUM => Minimum,
        DISTARR_UFUNC_EQUAL => Equal,
        DISTARR_UFUNC_NOT_EQUAL => NotEqual,
        DISTARR_UFUNC_LESS => Less,
        DISTARR_UFUNC_LESS_EQUAL => LessEqual,
        DISTARR_UFUNC_GREATER => Greater,
        DISTARR_UFUNC_GREATER_EQUAL => GreaterEqual,
        DISTARR_UFUNC_LOGICAL_AND => LogicalAnd,
        DISTARR_UFUNC_LOGICAL_OR => LogicalOr,
        DISTARR_UFUNC_LOGICAL_XOR => LogicalXor,
        DISTARR_UFUNC_BITWISE_AND => BitwiseAnd,
        DISTARR_UFUNC_BITWISE_OR => BitwiseOr,
        DISTARR_UFUNC_BITWISE_XOR => BitwiseXor,
        DISTARR_UFUNC_ARCTAN2 => Arctan2,
        DISTARR_UFUNC_HYPOT => Hypot,
        _ => {
            return Err(CError::new(
                DISTARR_ERR_OP,
                format!("{code} is not a binary DISTARR_UFUNC_* code"),
            ))
        }
    })
}

/// A unary ufunc: one of the array layer's, or `reciprocal` (computed as `1 / x`).
#[derive(Clone, Copy)]
pub(crate) enum Unary {
    Op(UnaryOp),
    Reciprocal,
}

/// The unary ufunc of a `DISTARR_UFUNC_*` code.
pub(crate) fn unary_op(code: i32) -> CResult<Unary> {
    use UnaryOp::*;
    Ok(Unary::Op(match code {
        DISTARR_UFUNC_NEGATIVE => Negative,
        DISTARR_UFUNC_ABSOLUTE => Absolute,
        DISTARR_UFUNC_SQRT => Sqrt,
        DISTARR_UFUNC_EXP => Exp,
        DISTARR_UFUNC_LOG => Log,
        DISTARR_UFUNC_SIN => Sin,
        DISTARR_UFUNC_COS => Cos,
        DISTARR_UFUNC_TAN => Tan,
        DISTARR_UFUNC_FLOOR => Floor,
        DISTARR_UFUNC_CEIL => Ceil,
        DISTARR_UFUNC_LOGICAL_NOT => LogicalNot,
        DISTARR_UFUNC_INVERT => Invert,
        DISTARR_UFUNC_SQUARE => Square,
        DISTARR_UFUNC_SIGN => Sign,
        DISTARR_UFUNC_LOG10 => Log10,
        DISTARR_UFUNC_LOG2 => Log2,
        DISTARR_UFUNC_TANH => Tanh,
        DISTARR_UFUNC_ARCSIN => Arcsin,
        DISTARR_UFUNC_ARCCOS => Arccos,
        DISTARR_UFUNC_ARCTAN => Arctan,
        DISTARR_UFUNC_ISNAN => Isnan,
        DISTARR_UFUNC_ISINF => Isinf,
        DISTARR_UFUNC_ISFINITE => Isfinite,
        DISTARR_UFUNC_POSITIVE => Positive,
        DISTARR_UFUNC_EXPM1 => Expm1,
        DISTARR_UFUNC_LOG1P => Log1p,
        DISTARR_UFUNC_SINH => Sinh,
        DISTARR_UFUNC_COSH => Cosh,
        DISTARR_UFUNC_TRUNC => Trunc,
        DISTARR_UFUNC_RINT => Rint,
        DISTARR_UFUNC_RECIPROCAL => return Ok(Unary::Reciprocal),
        _ => {
            return Err(CError::new(
                DISTARR_ERR_OP,
                format!("{code} is not a unary DISTARR_UFUNC_* code"),
            ))
        }
    }))
}

/// The array reduction of a `DISTARR_REDUCE_*` code.
pub(crate) fn reduce_code(code: i32) -> CResult<ArrayReduce> {
    use ArrayReduce::*;
    Ok(match code {
        DISTARR_REDUCE_SUM => Sum,
        DISTARR_REDUCE_PROD => Prod,
        DISTARR_REDUCE_MIN => Min,
        DISTARR_REDUCE_MAX => Max,
        DISTARR_REDUCE_MEAN => Mean,
        DISTARR_REDUCE_ARGMIN => Argmin,
        DISTARR_REDUCE_ARGMAX => Argmax,
        DISTARR_REDUCE_ANY => Any,
        DISTARR_REDUCE_ALL => All,
        _ => {
            return Err(CError::new(
                DISTARR_ERR_OP,
                format!("{code} is not a DISTARR_REDUCE_* code"),
            ))
        }
    })
}

/// The layout of `distarr_create_layout`'s arguments.
pub(crate) fn layout_arg(layout: i32, block: &[u64], rank: i32, ndim: usize, nranks: usize) -> CResult<Layout> {
    Ok(match layout {
        DISTARR_LAYOUT_BLOCK => Layout::Block,
        DISTARR_LAYOUT_BLOCK_CYCLIC => {
            check!(
                block.len() == ndim,
                DISTARR_ERR_ARG,
                "block-cyclic layout needs {ndim} block extents, got {}",
                block.len()
            );
            check!(
                block.iter().all(|&b| b >= 1),
                DISTARR_ERR_ARG,
                "block extents must be >= 1, got {block:?}"
            );
            let block = block
                .iter()
                .map(|&b| usize::try_from(b).map_err(|_| CError::new(DISTARR_ERR_ARG, "block extent too large")))
                .collect::<CResult<Vec<usize>>>()?;
            Layout::BlockCyclic { block }
        }
        DISTARR_LAYOUT_REPLICATED => Layout::Replicated,
        DISTARR_LAYOUT_ON_RANK => {
            let r = rank_arg(rank)?;
            check!(r < nranks, DISTARR_ERR_RANK, "rank {r} out of range 0..{nranks}");
            Layout::OnRank(r)
        }
        _ => return Err(CError::new(DISTARR_ERR_ARG, format!("unknown layout code {layout}"))),
    })
}

/// Counts as `usize` (too large → `code`).
pub(crate) fn usizes(v: &[u64], code: i32, what: &str) -> CResult<Vec<usize>> {
    v.iter()
        .map(|&x| usize::try_from(x).map_err(|_| CError::new(code, format!("{what} {x} too large"))))
        .collect()
}

/// A path from its bytes (as sent in a command).
pub(crate) fn path_of(bytes: &[u8]) -> &Path {
    Path::new(std::ffi::OsStr::from_bytes(bytes))
}

/// `n` `int64_t`s from C (`n` from a dimension count).
///
/// # Safety
/// When `n > 0`, `p` is NULL or valid for reads of `n` `int64_t`s.
pub(crate) unsafe fn i64s(p: *const i64, n: usize, name: &str) -> CResult<Vec<i64>> {
    // SAFETY: the contract.
    Ok(unsafe { in_elems::<i64>(p.cast(), n, name)? }.into_owned())
}

/// `n` `int64_t`s from C, or `n` copies of `default` when `p` is NULL.
///
/// # Safety
/// `p` is NULL or valid for reads of `n` `int64_t`s.
pub(crate) unsafe fn i64s_or(p: *const i64, n: usize, default: i64, name: &str) -> CResult<Vec<i64>> {
    if p.is_null() {
        return Ok(vec![default; n]);
    }
    // SAFETY: non-null and readable for `n` elements (contract).
    unsafe { i64s(p, n, name) }
}

/// A dimension count argument.
pub(crate) fn ndim_arg(ndim: i32) -> CResult<usize> {
    check!(
        (0..=MAX_NDIM).contains(&ndim),
        DISTARR_ERR_ARG,
        "ndim {ndim} outside 0..={MAX_NDIM}"
    );
    Ok(ndim as usize)
}

/// Non-negative `int64_t`s as `u64` (negative → `code`).
pub(crate) fn nonneg(v: &[i64], code: i32, what: &str) -> CResult<Vec<u64>> {
    v.iter()
        .map(|&x| u64::try_from(x).map_err(|_| CError::new(code, format!("negative {what} {x} in {v:?}"))))
        .collect()
}

/// An index or box bound of `a` (`ndim` entries, each non-negative) as `usize`.
///
/// # Safety
/// `p` is NULL or valid for reads of `ndim` `int64_t`s.
pub(crate) unsafe fn index_arg(p: *const i64, ndim: usize, name: &str) -> CResult<Vec<usize>> {
    // SAFETY: the contract.
    let v = unsafe { i64s(p, ndim, name)? };
    v.iter()
        .map(|&x| usize::try_from(x).map_err(|_| CError::new(DISTARR_ERR_BOUNDS, format!("negative {name} {v:?}"))))
        .collect()
}

/// The byte size of the box `[lo, hi)` of `a`, checked against its shape.
pub(crate) fn box_elems(lo: &[usize], hi: &[usize], a: &DistArray) -> CResult<usize> {
    // Validated by the array layer too; checked here so the buffer size is computed safely.
    let nd = a.ndim();
    for d in 0..nd {
        check!(
            lo[d] <= hi[d] && hi[d] <= a.shape()[d],
            DISTARR_ERR_BOUNDS,
            "region [{lo:?}, {hi:?}) outside shape {:?}",
            a.shape()
        );
    }
    let n: usize = lo.iter().zip(hi).map(|(l, h)| h - l).product();
    n.checked_mul(a.dtype().size())
        .ok_or_else(|| CError::new(DISTARR_ERR_BOUNDS, "region too large"))
}

/// Writes `v` to `n` `int64_t`s at `p`.
///
/// # Safety
/// `p` is valid for writes of `v.len()` `int64_t`s (any alignment).
pub(crate) unsafe fn write_i64s(p: *mut i64, v: &[usize]) -> CResult<()> {
    for (k, &x) in v.iter().enumerate() {
        let x = i64::try_from(x).map_err(|_| CError::new(DISTARR_ERR_BOUNDS, "extent exceeds int64_t"))?;
        // SAFETY: `k < v.len()`, within the writable span (contract).
        unsafe { p.add(k).write_unaligned(x) };
    }
    Ok(())
}

/// The bytes of a C path argument.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
pub(crate) unsafe fn path_arg(path: *const c_char) -> CResult<Vec<u8>> {
    nonnull!(path);
    // SAFETY: non-null and NUL-terminated (contract).
    let b = unsafe { CStr::from_ptr(path) }.to_bytes().to_vec();
    check!(!b.is_empty(), DISTARR_ERR_ARG, "empty path");
    Ok(b)
}

/// A root rank argument of a collective call among `nranks` ranks.
pub(crate) fn root_arg(root: i32, nranks: usize) -> CResult<usize> {
    let r = rank_arg(root)?;
    check!(r < nranks, DISTARR_ERR_RANK, "root {r} out of range 0..{nranks}");
    Ok(r)
}

/// Checks that `out` can receive a result of `shape` and dtype `result` (same_kind casting).
pub(crate) fn check_out(out: &DistArray, shape: &[usize], result: DType, what: &str) -> CResult<()> {
    check!(
        out.shape() == shape,
        DISTARR_ERR_SHAPE,
        "{what}: out has shape {:?}, the result has shape {shape:?}",
        out.shape()
    );
    check!(
        can_cast_same_kind(result, out.dtype()),
        DISTARR_ERR_DTYPE,
        "{what}: cannot cast the result ({}) to out's dtype {} (same_kind)",
        result.name(),
        out.dtype().name()
    );
    Ok(())
}

/// An axis of an array of `ndim` dimensions; a negative axis counts from the end (NumPy). Out
/// of range → `DISTARR_ERR_ARG`.
pub(crate) fn axis_index(axis: i64, ndim: usize) -> CResult<usize> {
    let n = i64::try_from(ndim).unwrap_or(i64::MAX);
    let a = if axis < 0 { axis.saturating_add(n) } else { axis };
    check!(
        (0..n).contains(&a),
        DISTARR_ERR_ARG,
        "axis {axis} is out of bounds for an array of dimension {ndim}"
    );
    Ok(a as usize)
}

/// An axis argument: `DISTARR_AXIS_NONE` → `None` (the flattened array), else as
/// [`axis_index`].
pub(crate) fn axis_arg(axis: i32, ndim: usize) -> CResult<Option<usize>> {
    if axis == DISTARR_AXIS_NONE {
        return Ok(None);
    }
    axis_index(i64::from(axis), ndim).map(Some)
}

/// One element of `dtype` at `p` as little-endian bytes (a scalar argument).
///
/// # Safety
/// `p` is NULL (→ `DISTARR_ERR_NULL`) or valid for reads of one element of `dtype`.
pub(crate) unsafe fn scalar_arg(p: *const c_void, dtype: DType, name: &str) -> CResult<Vec<u8>> {
    nonnull_if(p, 1, name)?;
    // SAFETY: non-null and readable for one element (contract).
    Ok(unsafe { in_bytes(p, dtype.size(), name)? }.to_vec())
}

/// A slice bound of `distarr_view`/`distarr_index`: `DISTARR_SLICE_NONE` → `None`.
fn bound_arg(v: i64) -> CResult<Option<isize>> {
    if v == DISTARR_SLICE_NONE {
        return Ok(None);
    }
    isize::try_from(v)
        .map(Some)
        .map_err(|_| CError::new(DISTARR_ERR_ARG, "slice bound too large"))
}

/// The NumPy basic index of `distarr_index`: item `k` is `kind[k]` (`DISTARR_INDEX_*`) with
/// `start[k]`, `stop[k]`, `step[k]` (read as the kind needs them). Errors: an unknown kind,
/// a zero step, an integer index `DISTARR_SLICE_NONE` → `DISTARR_ERR_ARG`.
pub(crate) fn index_items(kind: &[i64], start: &[i64], stop: &[i64], step: &[i64]) -> CResult<Vec<SliceItem>> {
    let n = kind.len();
    check!(
        start.len() == n && stop.len() == n && step.len() == n,
        DISTARR_ERR_ARG,
        "index: {n} kinds but {}/{}/{} starts/stops/steps",
        start.len(),
        stop.len(),
        step.len()
    );
    (0..n)
        .map(|k| {
            let item = match i32::try_from(kind[k]).unwrap_or(-1) {
                DISTARR_INDEX_RANGE => {
                    check!(step[k] != 0, DISTARR_ERR_ARG, "index item {k}: slice step is 0");
                    SliceItem::Range {
                        start: bound_arg(start[k])?,
                        stop: bound_arg(stop[k])?,
                        step: isize::try_from(step[k])
                            .map_err(|_| CError::new(DISTARR_ERR_ARG, "slice step too large"))?,
                    }
                }
                DISTARR_INDEX_INT => SliceItem::Index(bound_arg(start[k])?.ok_or_else(|| {
                    CError::new(
                        DISTARR_ERR_ARG,
                        format!("index item {k}: an integer index needs `start` (not DISTARR_SLICE_NONE)"),
                    )
                })?),
                DISTARR_INDEX_NEWAXIS => SliceItem::NewAxis,
                DISTARR_INDEX_ELLIPSIS => SliceItem::Ellipsis,
                other => {
                    return Err(CError::new(
                        DISTARR_ERR_ARG,
                        format!("index item {k}: unknown kind {other} (DISTARR_INDEX_*)"),
                    ))
                }
            };
            Ok(item)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtype_codes_match_the_array_layer() {
        for (code, dt) in [
            (DISTARR_DTYPE_BOOL, DType::Bool),
            (DISTARR_DTYPE_I32, DType::I32),
            (DISTARR_DTYPE_I64, DType::I64),
            (DISTARR_DTYPE_U8, DType::U8),
            (DISTARR_DTYPE_U32, DType::U32),
            (DISTARR_DTYPE_U64, DType::U64),
            (DISTARR_DTYPE_F32, DType::F32),
            (DISTARR_DTYPE_F64, DType::F64),
            (DISTARR_DTYPE_C64, DType::C64),
            (DISTARR_DTYPE_C128, DType::C128),
        ] {
            assert_eq!(dt.code(), code, "{dt:?}");
            assert_eq!(dtype_arg(code).unwrap(), dt);
        }
        assert_eq!(DType::ALL.len(), 10, "every dtype has a DISTARR_DTYPE_* code");
        assert_eq!(dtype_arg(10).unwrap_err().code, DISTARR_ERR_DTYPE);
        assert_eq!(dtype_arg(-1).unwrap_err().code, DISTARR_ERR_DTYPE);
    }

    #[test]
    fn axes_and_index_items() {
        assert_eq!(axis_arg(DISTARR_AXIS_NONE, 3).unwrap(), None);
        assert_eq!(axis_arg(-1, 3).unwrap(), Some(2));
        assert_eq!(axis_arg(-3, 3).unwrap(), Some(0));
        assert_eq!(axis_arg(2, 3).unwrap(), Some(2));
        for bad in [3, -4, i32::MAX] {
            assert_eq!(axis_arg(bad, 3).unwrap_err().code, DISTARR_ERR_ARG, "{bad}");
        }
        assert_eq!(axis_index(i64::MIN, 2).unwrap_err().code, DISTARR_ERR_ARG);
        assert_eq!(axis_arg(0, 0).unwrap_err().code, DISTARR_ERR_ARG);
        let none = DISTARR_SLICE_NONE;
        let items = index_items(&[0, 1, 2, 3], &[none, -2, 9, 9], &[4, 9, 9, 9], &[-1, 0, 0, 0]).unwrap();
        assert_eq!(
            items,
            vec![
                SliceItem::Range {
                    start: None,
                    stop: Some(4),
                    step: -1
                },
                SliceItem::Index(-2),
                SliceItem::NewAxis,
                SliceItem::Ellipsis
            ]
        );
        let err = |k: i64, s: i64, st: i64| index_items(&[k], &[s], &[none], &[st]).unwrap_err().code;
        assert_eq!(err(0, 0, 0), DISTARR_ERR_ARG, "zero step");
        assert_eq!(err(1, none, 1), DISTARR_ERR_ARG, "integer index without a value");
        assert_eq!(err(4, 0, 1), DISTARR_ERR_ARG, "unknown kind");
        assert_eq!(err(i64::from(i32::MAX) + 1, 0, 1), DISTARR_ERR_ARG, "kind beyond int32");
        assert_eq!(index_items(&[0], &[], &[], &[]).unwrap_err().code, DISTARR_ERR_ARG);
    }

    #[test]
    fn op_codes_map() {
        for c in 0..=22 {
            assert!(binary_op(c).is_ok(), "binary {c}");
            assert_eq!(unary_op(c).err().map(|e| e.code), Some(DISTARR_ERR_OP));
        }
        for c in 64..=94 {
            assert!(unary_op(c).is_ok(), "unary {c}");
            assert_eq!(binary_op(c).err().map(|e| e.code), Some(DISTARR_ERR_OP));
        }
        assert_eq!(reduce_code(DISTARR_OP_SUM).unwrap(), ArrayReduce::Sum);
        assert_eq!(reduce_code(DISTARR_OP_MAX).unwrap(), ArrayReduce::Max);
        assert_eq!(reduce_code(DISTARR_OP_BAND).unwrap_err().code, DISTARR_ERR_OP);
        assert_eq!(reduce_code(DISTARR_REDUCE_ALL).unwrap(), ArrayReduce::All);
    }
}

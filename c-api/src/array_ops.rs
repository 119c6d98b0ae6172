//! The exported whole-array operations: deferred execution (flush, lazy on or off), fill and
//! random values, copies, element-wise ufuncs and `where`, reductions, matmul, boolean masks,
//! roll and concatenate. All are **collective** except `distarr_is_lazy`.
#![allow(non_camel_case_types)]

use crate::args::{dtype_arg, i64s, out_bytes, reduce_code, scalar_arg};
use crate::codes::DISTARR_AXIS_NONE;
use crate::collective::{collective, create_into};
use crate::exec::Local;
use crate::handle::distarr_array;
use crate::state::{lookup, running, with_state};
use crate::status::{boundary, nonnull, CError, CResult, DISTARR_ERR_ARG};
use crate::wire::Cmd;
use std::ffi::{c_int, c_void};

/// Runs the deferred array operations now (see DEFERRED EXECUTION): afterwards every array
/// holds the values of every operation called before, and one-sided and local-block access to
/// them is allowed (after a `distarr_sync` where other ranks wrote them, as always). Fused and
/// synchronised only as their data dependencies need; nothing happens when nothing is pending.
/// **Collective** (in sequential mode one command, sent with the operations it runs). Errors:
/// `DISTARR_ERR_STATE` (not initialized or finalized); a failure of the deferred work itself
/// (e.g. `DISTARR_ERR_NOMEM` for its results) is reported on every rank.
#[no_mangle]
pub extern "C" fn distarr_flush_deferred() -> c_int {
    boundary!("distarr_flush_deferred", {
        collective(Cmd::FlushDeferred, &mut Local::default())?;
        Ok(())
    })
}

/// Turns deferred execution of element-wise operations on (`on` non-zero) or off (`on == 0`;
/// what is deferred runs first), on every rank. Initially on, unless `DISTARR_LAZY=0` was set
/// at `distarr_init`. Results are bit-identical either way; off, every operation runs within
/// its call. **Collective**: every rank passes the same `on`. Errors: `DISTARR_ERR_STATE`
/// (not initialized or finalized).
#[no_mangle]
pub extern "C" fn distarr_set_lazy(on: i32) -> c_int {
    boundary!("distarr_set_lazy", {
        collective(Cmd::SetLazy { on: on != 0 }, &mut Local::default())?;
        Ok(())
    })
}

/// `*on` = 1 if element-wise operations are deferred (see `distarr_set_lazy`), else 0. Local
/// (every rank has the same setting). Errors: `DISTARR_ERR_NULL`, `DISTARR_ERR_STATE` (not
/// initialized or finalized).
///
/// # Safety
/// `on` is NULL (→ `DISTARR_ERR_NULL`) or valid for writing an `int32_t`.
#[no_mangle]
pub unsafe extern "C" fn distarr_is_lazy(on: *mut i32) -> c_int {
    boundary!("distarr_is_lazy", {
        with_state(|st| {
            nonnull!(on);
            let lazy = distarr_arrays::is_lazy(&st.rt);
            // SAFETY: `on` is non-null and writable (contract).
            unsafe { on.write(i32::from(lazy)) };
            Ok(())
        })
    })
}

/// Sets every element of an array or view to `*value`, one element of the array's dtype.
/// **Collective.** Errors: `DISTARR_ERR_HANDLE`, `DISTARR_ERR_NULL`.
///
/// # Safety
/// `value` is valid for reads of one element of the array's dtype (any alignment).
#[no_mangle]
pub unsafe extern "C" fn distarr_fill(a: distarr_array, value: *const c_void) -> c_int {
    boundary!("distarr_fill", {
        running()?;
        let arr = lookup(a)?;
        // SAFETY: readable for one element of the dtype (contract).
        let value = unsafe { scalar_arg(value, arr.dtype(), "value")? };
        collective(Cmd::Fill { a, value }, &mut Local::default())?;
        Ok(())
    })
}

/// Fills an array or view with uniform random numbers in [0, 1), keyed by `(seed, C-order
/// index)`: the same values for any number of ranks and any layout (cast to the dtype: integer
/// arrays get 0). **Collective.**
#[no_mangle]
pub extern "C" fn distarr_random(a: distarr_array, seed: u64) -> c_int {
    boundary!("distarr_random", {
        collective(Cmd::Random { a, seed, normal: false }, &mut Local::default())?;
        Ok(())
    })
}

/// As `distarr_random` with standard normal numbers. **Collective.**
#[no_mangle]
pub extern "C" fn distarr_random_normal(a: distarr_array, seed: u64) -> c_int {
    boundary!("distarr_random_normal", {
        collective(Cmd::Random { a, seed, normal: true }, &mut Local::default())?;
        Ok(())
    })
}

/// `dst[...] = src`: copies element-wise with NumPy casting (any dtypes) and broadcasting of
/// `src` to `dst`'s shape; any layouts and views, overlapping too. **Collective.** Errors:
/// `DISTARR_ERR_HANDLE`, `DISTARR_ERR_SHAPE` (not broadcastable).
#[no_mangle]
pub extern "C" fn distarr_copy(dst: distarr_array, src: distarr_array) -> c_int {
    boundary!("distarr_copy", {
        collective(Cmd::Copy { dst, src }, &mut Local::default())?;
        Ok(())
    })
}

/// `out = op(x)` element-wise (`op` a unary `DISTARR_UFUNC_*` code). `out` must exist with
/// `x`'s shape and a dtype the result can be cast to under NumPy's `same_kind` rule; it may be
/// `x` itself. Result dtypes follow NumPy (e.g. `sqrt` of an int array is float64).
/// **Collective.** Errors: `DISTARR_ERR_OP` (not a unary code), `DISTARR_ERR_HANDLE`,
/// `DISTARR_ERR_SHAPE`, `DISTARR_ERR_DTYPE` (op undefined for the dtype, or out's dtype),
/// `DISTARR_ERR_UNSUPPORTED` (reciprocal of an integer array).
#[no_mangle]
pub extern "C" fn distarr_unary(op: i32, out: distarr_array, x: distarr_array) -> c_int {
    boundary!("distarr_unary", {
        collective(Cmd::Unary { op, out, x }, &mut Local::default())?;
        Ok(())
    })
}

/// `out = op(x, y)` element-wise with NumPy broadcasting and type promotion (`op` a binary
/// `DISTARR_UFUNC_*` code). `out` must exist with the broadcast shape and a dtype the result
/// can be cast to (`same_kind`); it may be `x` or `y`. **Collective.** Errors:
/// `DISTARR_ERR_OP`, `DISTARR_ERR_HANDLE`, `DISTARR_ERR_SHAPE`, `DISTARR_ERR_DTYPE`,
/// `DISTARR_ERR_ARG` (an element-wise failure such as an integer to a negative power, reported on
/// every rank; nothing is written then).
#[no_mangle]
pub extern "C" fn distarr_binary(op: i32, out: distarr_array, x: distarr_array, y: distarr_array) -> c_int {
    boundary!("distarr_binary", {
        collective(Cmd::Binary { op, out, x, y }, &mut Local::default())?;
        Ok(())
    })
}

/// `out = op(x, s)` (or `op(s, x)` when `scalar_first` is non-zero) with the scalar `s`, one
/// element of `scalar_dtype` at `scalar`. Promotion follows NumPy's rule for Python scalars: a
/// scalar does not widen an array of the same or a higher kind (`f32_array * 2.0` stays
/// float32). `out` as in `distarr_binary`. **Collective.** Errors as `distarr_binary`, plus
/// `DISTARR_ERR_DTYPE` (unknown `scalar_dtype`) and `DISTARR_ERR_NULL`.
///
/// # Safety
/// `scalar` is valid for reads of one element of `scalar_dtype` (any alignment).
#[no_mangle]
pub unsafe extern "C" fn distarr_binary_scalar(
    op: i32,
    out: distarr_array,
    x: distarr_array,
    scalar: *const c_void,
    scalar_dtype: i32,
    scalar_first: i32,
) -> c_int {
    boundary!("distarr_binary_scalar", {
        // SAFETY: readable for one element of `scalar_dtype` (contract).
        unsafe {
            with_scalar(scalar, scalar_dtype, |scalar| Cmd::BinaryScalar {
                op,
                out,
                x,
                scalar,
                sdtype: scalar_dtype,
                first: scalar_first != 0,
            })
        }
    })
}

/// `out = numpy.where(cond, x, y)`: element-wise `x` where `cond` is true (non-zero), else `y`,
/// with NumPy broadcasting of the three to `out`'s shape; the result dtype is the promotion of
/// `x`'s and `y`'s, cast to `out`'s dtype under `same_kind`. `out` may be any of the inputs
/// (`a = where(mask, b, a)` is `a[mask] = b[mask]`). **Collective.** Errors:
/// `DISTARR_ERR_HANDLE`, `DISTARR_ERR_SHAPE` (not broadcastable to `out`), `DISTARR_ERR_DTYPE`
/// (out's dtype).
#[no_mangle]
pub extern "C" fn distarr_where(out: distarr_array, cond: distarr_array, x: distarr_array, y: distarr_array) -> c_int {
    boundary!("distarr_where", {
        collective(Cmd::Where { out, cond, x, y }, &mut Local::default())?;
        Ok(())
    })
}

/// `out = numpy.where(cond, x, s)` (or `where(cond, s, x)` when `scalar_first` is non-zero)
/// with the scalar `s`, one element of `scalar_dtype` at `scalar`; promotion as
/// `distarr_binary_scalar` (a scalar does not widen an array of its kind), otherwise as
/// `distarr_where`. `a[mask] = 3.0` is `distarr_where_scalar(a, mask, a, &three, F64, 1)` (pass
/// the scalar in `a`'s dtype for NumPy's item-assignment casting). **Collective.** Errors as
/// `distarr_where`, plus `DISTARR_ERR_DTYPE` (unknown `scalar_dtype`) and `DISTARR_ERR_NULL`.
///
/// # Safety
/// `scalar` is valid for reads of one element of `scalar_dtype` (any alignment).
#[no_mangle]
pub unsafe extern "C" fn distarr_where_scalar(
    out: distarr_array,
    cond: distarr_array,
    x: distarr_array,
    scalar: *const c_void,
    scalar_dtype: i32,
    scalar_first: i32,
) -> c_int {
    boundary!("distarr_where_scalar", {
        // SAFETY: readable for one element of `scalar_dtype` (contract).
        unsafe {
            with_scalar(scalar, scalar_dtype, |scalar| Cmd::WhereScalar {
                out,
                cond,
                x,
                scalar,
                sdtype: scalar_dtype,
                first: scalar_first != 0,
            })
        }
    })
}

/// Runs the collective command that `cmd` makes of the bytes of a scalar argument (one element
/// of `dtype` at `scalar`).
///
/// # Safety
/// `scalar` is NULL (→ `DISTARR_ERR_NULL`) or valid for reads of one element of `dtype`.
unsafe fn with_scalar(scalar: *const c_void, dtype: i32, cmd: impl FnOnce(Vec<u8>) -> Cmd) -> CResult<()> {
    running()?;
    // SAFETY: the contract.
    let bytes = unsafe { scalar_arg(scalar, dtype_arg(dtype)?, "scalar")? };
    collective(cmd(bytes), &mut Local::default())?;
    Ok(())
}

/// `*result_dtype` = the dtype of reduction `op` (`DISTARR_REDUCE_*`) of an array of `dtype`,
/// as NumPy: the dtype `distarr_reduce` writes to `scalar_out`. Local; callable before init.
///
/// # Safety
/// `result_dtype` is NULL (→ `DISTARR_ERR_NULL`) or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_reduce_dtype(op: i32, dtype: i32, result_dtype: *mut i32) -> c_int {
    boundary!("distarr_reduce_dtype", {
        nonnull!(result_dtype);
        let (_, res) = reduce_code(op)?.types(dtype_arg(dtype)?)?;
        // SAFETY: non-null and writable (contract).
        unsafe { result_dtype.write(res.code()) };
        Ok(())
    })
}

/// Reduces `x` with `op` (`DISTARR_REDUCE_*`; SUM, PROD, MIN, MAX equal `DISTARR_OP_*`).
/// `axis == DISTARR_AXIS_NONE` (or `-1`, kept for compatibility: here `-1` is not the last axis):
/// over all elements; `*scalar_out` receives one element of the result dtype
/// (`distarr_reduce_dtype`: e.g. SUM of int32 is int64, MEAN of ints is double, ARGMIN/ARGMAX are
/// int64 C-order indices) on every rank (rank 0 in sequential mode); `out` is ignored (pass 0).
/// `axis >= 0`: along that axis into `out`, which must exist with `x`'s shape without `axis` and
/// a dtype the result casts to (`same_kind`); `scalar_out` is ignored (may be NULL).
/// **Collective.** Errors: `DISTARR_ERR_OP`, `DISTARR_ERR_HANDLE`, `DISTARR_ERR_ARG` (axis out
/// of range; MIN/MAX/ARGMIN/ARGMAX of an empty array), `DISTARR_ERR_SHAPE`, `DISTARR_ERR_DTYPE`
/// (complex MIN/MAX; out's dtype), `DISTARR_ERR_NULL` (`scalar_out` for all elements).
///
/// # Safety
/// With `axis == -1` or `DISTARR_AXIS_NONE`, `scalar_out` is valid for writing one element of the result dtype.
#[no_mangle]
pub unsafe extern "C" fn distarr_reduce(
    op: i32,
    x: distarr_array,
    axis: i32,
    out: distarr_array,
    scalar_out: *mut c_void,
) -> c_int {
    boundary!("distarr_reduce", {
        running()?;
        if axis == -1 || axis == DISTARR_AXIS_NONE {
            nonnull!(scalar_out);
        }
        let mut local = Local::default();
        collective(Cmd::Reduce { op, x, axis, out }, &mut local)?;
        if let Some(v) = local.scalar {
            // SAFETY: writable for one element of the result dtype (contract), `v.len()` bytes.
            let dst = unsafe { out_bytes(scalar_out, v.len(), "scalar_out")? };
            dst.copy_from_slice(&v);
        }
        Ok(())
    })
}

/// `out = a @ b` (`numpy.matmul` for 1-D and 2-D operands): (n,k)@(k,m) → (n,m),
/// (n,k)@(k) → (n), (k)@(k,m) → (m), (k)@(k) → a 0-d `out`. `out` must exist with that shape and
/// a dtype the promoted result casts to (`same_kind`); it must not overlap `a` or `b`.
/// **Collective.** Errors: `DISTARR_ERR_HANDLE`, `DISTARR_ERR_SHAPE`, `DISTARR_ERR_DTYPE`.
#[no_mangle]
pub extern "C" fn distarr_matmul(out: distarr_array, a: distarr_array, b: distarr_array) -> c_int {
    boundary!("distarr_matmul", {
        collective(Cmd::Matmul { out, a, b }, &mut Local::default())?;
        Ok(())
    })
}

// --- boolean masks, roll, concatenate ------------------------------------------------------------

/// `a[mask]`: a new 1-D block-layout array of the elements of `a` where `mask` is true, in C
/// order (`*out` receives it; ownership as `distarr_create`). `mask` has dtype bool and `a`'s
/// shape, or a shape that broadcasts to it (NumPy broadcasting). The selected elements move
/// between their owners and their places in the result only (each rank counts the selections
/// in its share, an all-gather of the counts places them). **Collective.** Errors:
/// `DISTARR_ERR_HANDLE`, `DISTARR_ERR_DTYPE` (mask not bool), `DISTARR_ERR_SHAPE` (mask not
/// broadcastable to `a`), `DISTARR_ERR_NULL`, `DISTARR_ERR_NOMEM`.
///
/// # Safety
/// `out` is valid for writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_mask_select(a: distarr_array, mask: distarr_array, out: *mut distarr_array) -> c_int {
    boundary!("distarr_mask_select", {
        running()?;
        nonnull!(out);
        // SAFETY: `out` was checked non-null and is writable (contract).
        unsafe { create_into(Cmd::MaskSelect { a, mask }, out) }
    })
}

/// `a[mask] = values` (`mask` as in `distarr_mask_select`). `values` is either
/// - a 1-D array of exactly `count_nonzero(mask)` elements: they go, in order, to the selected
///   elements in C order (NumPy's assignment of a compacted vector; this reading wins when both
///   apply);
/// - or an array that broadcasts to `a`'s shape: `a = where(mask, values, a)` (`values` of one
///   element sets every selected element).
///
/// Values are converted to `a`'s dtype as NumPy's item assignment does (any cast, as
/// `distarr_copy`). `values` may be a view of `a`. **Collective.** Errors: `DISTARR_ERR_HANDLE`,
/// `DISTARR_ERR_DTYPE` (mask not bool), `DISTARR_ERR_SHAPE` (mask not broadcastable to `a`;
/// `values` neither of the two: a 1-D `values` of the wrong length that does not broadcast is
/// reported on every rank after counting).
#[no_mangle]
pub extern "C" fn distarr_mask_assign(a: distarr_array, mask: distarr_array, values: distarr_array) -> c_int {
    boundary!("distarr_mask_assign", {
        collective(Cmd::MaskAssign { a, mask, values }, &mut Local::default())?;
        Ok(())
    })
}

/// `out = numpy.roll(a, shift, axis)`: the elements shifted by `shift` positions along `axis`
/// (negative `shift`: backwards; a negative `axis` counts from the end, `-1` is the last axis),
/// those leaving at one end coming back at the other. `axis == DISTARR_AXIS_NONE`: NumPy's
/// `axis=None`, the C-order flattening is rolled (the shape stays). `out` must exist with `a`'s
/// shape, any dtype (values converted as `distarr_copy`); it may be `a` itself. **Collective.**
/// Errors: `DISTARR_ERR_HANDLE`, `DISTARR_ERR_ARG` (axis out of range), `DISTARR_ERR_SHAPE`
/// (out's shape).
#[no_mangle]
pub extern "C" fn distarr_roll(out: distarr_array, a: distarr_array, shift: i64, axis: i32) -> c_int {
    boundary!("distarr_roll", {
        collective(Cmd::Roll { out, a, shift, axis }, &mut Local::default())?;
        Ok(())
    })
}

/// `numpy.concatenate(arrays[0..n], axis)`: a new block-layout array (`*out`; ownership as
/// `distarr_create`) of the arrays joined along `axis` (negative counts from the end), whose
/// extents must agree except along `axis`; `axis == DISTARR_AXIS_NONE` joins their C-order
/// flattenings into a 1-D array. The dtype is the NumPy promotion of the inputs' dtypes.
/// **Collective.** Errors: `DISTARR_ERR_ARG` (n < 1, axis out of range), `DISTARR_ERR_SHAPE`
/// (different numbers of dimensions or extents, 0-d arrays along an axis),
/// `DISTARR_ERR_HANDLE`, `DISTARR_ERR_NULL`, `DISTARR_ERR_NOMEM`.
///
/// # Safety
/// `arrays` is valid for reads of `n` handles; `out` is valid for writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_concatenate(
    n: i32,
    arrays: *const distarr_array,
    axis: i32,
    out: *mut distarr_array,
) -> c_int {
    boundary!("distarr_concatenate", {
        running()?;
        nonnull!(out);
        let n = usize::try_from(n).ok().filter(|&n| n >= 1).ok_or_else(|| {
            CError::new(
                DISTARR_ERR_ARG,
                format!("concatenate: n = {n}, need at least one array"),
            )
        })?;
        // SAFETY: `arrays` is readable for `n` handles (contract).
        let arrays = unsafe { i64s(arrays, n, "arrays")? };
        // SAFETY: `out` was checked non-null and is writable (contract).
        unsafe { create_into(Cmd::Concatenate { arrays, axis }, out) }
    })
}

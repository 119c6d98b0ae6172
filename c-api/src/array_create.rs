//! The exported functions that create and free arrays, and the local metadata queries.
#![allow(non_camel_case_types)]

use crate::args::{i64s, ndim_arg, nonneg, nonnull_if, write_i64s};
use crate::codes::{DISTARR_LAYOUT_BLOCK, DISTARR_LAYOUT_BLOCK_CYCLIC, DISTARR_LAYOUT_DEFERRED};
use crate::collective::{collective, create_into, onesided};
use crate::exec::Local;
use crate::handle::distarr_array;
use crate::state::{lookup, running, with_state};
use crate::status::{boundary, nonnull, DISTARR_ERR_ARG, DISTARR_ERR_SHAPE};
use crate::wire::Cmd;
use std::ffi::c_int;

/// Creates a zero-filled array of `ndim` dimensions with extents `shape[0..ndim]` and dtype
/// `dtype`; `*out` receives its handle (the same id on every rank). `block == NULL`: block layout
/// (one box per rank on a balanced process grid); else block-cyclic with block extents
/// `block[0..ndim]` (each >= 1). **Collective**, same arguments on every rank. The caller owns
/// the array until `distarr_free` (or `distarr_finalize`, which frees every array).
/// Errors: `DISTARR_ERR_ARG` (ndim outside 0..=64, block extent < 1), `DISTARR_ERR_SHAPE`
/// (negative extent, size overflow), `DISTARR_ERR_DTYPE`, `DISTARR_ERR_NULL`,
/// `DISTARR_ERR_NOMEM` (the heap cannot hold it).
///
/// # Safety
/// `shape` (and `block` unless NULL) are valid for reads of `ndim` `int64_t`s; `out` is valid for
/// writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_create(
    ndim: i32,
    shape: *const i64,
    dtype: i32,
    block: *const i64,
    out: *mut distarr_array,
) -> c_int {
    // SAFETY: forwarded with the same contract.
    unsafe {
        if block.is_null() {
            distarr_create_layout(ndim, shape, dtype, DISTARR_LAYOUT_BLOCK, block, 0, out)
        } else {
            distarr_create_layout(ndim, shape, dtype, DISTARR_LAYOUT_BLOCK_CYCLIC, block, 0, out)
        }
    }
}

/// `distarr_create` with an explicit layout: `DISTARR_LAYOUT_BLOCK`, `_BLOCK_CYCLIC` (block
/// extents in `block`, non-NULL), `_REPLICATED` (every rank holds a copy; `distarr_put_region`
/// writes every copy, collective operations keep them equal), `_ON_RANK` (rank `rank` holds it
/// all). `block` is ignored (may be NULL) except for block-cyclic, `rank` except for on-rank.
/// With `DISTARR_LAYOUT_DEFERRED` OR-ed in, the array is an output whose storage comes with
/// its first collective use (see that flag). **Collective.** Errors as `distarr_create`, plus
/// `DISTARR_ERR_ARG` (unknown layout) and `DISTARR_ERR_RANK`.
///
/// # Safety
/// As `distarr_create`.
#[no_mangle]
pub unsafe extern "C" fn distarr_create_layout(
    ndim: i32,
    shape: *const i64,
    dtype: i32,
    layout: i32,
    block: *const i64,
    rank: i32,
    out: *mut distarr_array,
) -> c_int {
    boundary!("distarr_create", {
        running()?;
        nonnull!(out);
        let nd = ndim_arg(ndim)?;
        // SAFETY: `shape` is readable for `ndim` elements (contract).
        let shape = nonneg(&unsafe { i64s(shape, nd, "shape")? }, DISTARR_ERR_SHAPE, "extent")?;
        let block = if layout & !DISTARR_LAYOUT_DEFERRED == DISTARR_LAYOUT_BLOCK_CYCLIC {
            nonnull_if(block, 1, "block")?;
            // SAFETY: `block` is readable for `ndim` elements (contract).
            nonneg(&unsafe { i64s(block, nd, "block")? }, DISTARR_ERR_ARG, "block extent")?
        } else {
            Vec::new()
        };
        // SAFETY: `out` was checked non-null and is writable (contract).
        unsafe {
            create_into(
                Cmd::Create {
                    shape,
                    dtype,
                    layout,
                    block,
                    rank,
                },
                out,
            )
        }
    })
}

/// Creates the 1-D array `numpy.arange(start, stop, step)` of dtype `dtype` (values computed as
/// `start + i * step` in double precision, then cast), block layout; `*out` receives it.
/// Length `max(0, ceil((stop - start) / step))`. **Collective.** Errors: `DISTARR_ERR_ARG`
/// (step 0, non-finite values), `DISTARR_ERR_DTYPE`, `DISTARR_ERR_NULL`, `DISTARR_ERR_NOMEM`.
/// Ownership as `distarr_create`.
///
/// # Safety
/// `out` is valid for writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_arange(
    start: f64,
    stop: f64,
    step: f64,
    dtype: i32,
    out: *mut distarr_array,
) -> c_int {
    boundary!("distarr_arange", {
        running()?;
        nonnull!(out);
        // SAFETY: `out` was checked non-null and is writable (contract).
        unsafe {
            create_into(
                Cmd::Arange {
                    start,
                    stop,
                    step,
                    dtype,
                },
                out,
            )
        }
    })
}

/// Creates the 1-D array `numpy.linspace(start, stop, num, endpoint)` of dtype `dtype`, block
/// layout: `num` values from `start` in steps of `(stop - start) / (num - 1)` when `endpoint` is
/// non-zero (the last value is exactly `stop`), `(stop - start) / num` when it is 0. Values are
/// computed in double precision, then cast to `dtype` (toward zero for integer dtypes, as
/// `distarr_copy`). **Collective.** Errors: `DISTARR_ERR_ARG` (non-finite `start`/`stop`),
/// `DISTARR_ERR_SHAPE` (`num < 0`), `DISTARR_ERR_DTYPE`, `DISTARR_ERR_NULL`, `DISTARR_ERR_NOMEM`.
/// Ownership as `distarr_create`.
///
/// # Safety
/// `out` is valid for writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_linspace(
    start: f64,
    stop: f64,
    num: i64,
    endpoint: i32,
    dtype: i32,
    out: *mut distarr_array,
) -> c_int {
    boundary!("distarr_linspace", {
        running()?;
        nonnull!(out);
        let num = nonneg(&[num], DISTARR_ERR_SHAPE, "num")?[0];
        let cmd = Cmd::Linspace {
            start,
            stop,
            num,
            endpoint: endpoint != 0,
            dtype,
        };
        // SAFETY: `out` was checked non-null and is writable (contract).
        unsafe { create_into(cmd, out) }
    })
}

/// Creates the `n` x `m` array `numpy.eye(n, m, k)` of dtype `dtype` (ones on the diagonal
/// `j - i == k`: `k > 0` above the main diagonal, `k < 0` below; zeros elsewhere), block layout.
/// Pass `m = n` for a square matrix. **Collective.** Errors: `DISTARR_ERR_SHAPE` (negative `n` or
/// `m`, size overflow), `DISTARR_ERR_DTYPE`, `DISTARR_ERR_NULL`, `DISTARR_ERR_NOMEM`. Ownership as
/// `distarr_create`.
///
/// # Safety
/// `out` is valid for writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_eye(n: i64, m: i64, k: i64, dtype: i32, out: *mut distarr_array) -> c_int {
    boundary!("distarr_eye", {
        running()?;
        nonnull!(out);
        let nm = nonneg(&[n, m], DISTARR_ERR_SHAPE, "extent")?;
        let cmd = Cmd::Eye {
            n: nm[0],
            m: nm[1],
            k,
            dtype,
        };
        // SAFETY: `out` was checked non-null and is writable (contract).
        unsafe { create_into(cmd, out) }
    })
}

/// A new block-layout array with the values of the array or view `a` converted to `dtype`
/// (`a.astype(dtype)`: any conversion, as `distarr_copy` casts); `*out` receives it (ownership
/// as `distarr_create`; `a` is unchanged). **Collective.** Errors: `DISTARR_ERR_HANDLE`,
/// `DISTARR_ERR_DTYPE`, `DISTARR_ERR_NULL`, `DISTARR_ERR_NOMEM`.
///
/// # Safety
/// `out` is valid for writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_astype(a: distarr_array, dtype: i32, out: *mut distarr_array) -> c_int {
    boundary!("distarr_astype", {
        running()?;
        nonnull!(out);
        // SAFETY: `out` was checked non-null and is writable (contract).
        unsafe { create_into(Cmd::Astype { a, dtype }, out) }
    })
}

/// Frees an array (its storage) or a view (the handle only). **Collective**: every rank frees
/// the same handles in the same order. The id is stale afterwards (`DISTARR_ERR_HANDLE`); the
/// views of a freed array stay valid handles until freed, but every use of them returns
/// `DISTARR_ERR_HANDLE`. Freeing does not run deferred operations: storage they still use is
/// released once they have run (at the next flush), and a temporary they write but nothing
/// needs is never allocated. Errors: `DISTARR_ERR_HANDLE` (freed, forged, 0).
#[no_mangle]
pub extern "C" fn distarr_free(a: distarr_array) -> c_int {
    boundary!("distarr_free", {
        collective(Cmd::Free { a }, &mut Local::default())?;
        Ok(())
    })
}

// --- metadata (local) -----------------------------------------------------------------------------

/// `*ndim` = number of dimensions of an array or view. Local.
///
/// # Safety
/// `ndim` is NULL (→ `DISTARR_ERR_NULL`) or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_ndim(a: distarr_array, ndim: *mut i32) -> c_int {
    boundary!("distarr_ndim", {
        running()?;
        let a = lookup(a)?;
        nonnull!(ndim);
        // SAFETY: non-null and writable (contract); ndim <= 64 fits.
        unsafe { ndim.write(a.ndim() as i32) };
        Ok(())
    })
}

/// Writes the extents of an array or view to `shape[0..ndim]` (get `ndim` from
/// `distarr_ndim`; nothing is written for a 0-d array, and `shape` may then be NULL). Local.
///
/// # Safety
/// `shape` is valid for writes of `ndim` `int64_t`s.
#[no_mangle]
pub unsafe extern "C" fn distarr_shape(a: distarr_array, shape: *mut i64) -> c_int {
    boundary!("distarr_shape", {
        running()?;
        let a = lookup(a)?;
        nonnull_if(shape, a.ndim(), "shape")?;
        // SAFETY: writable for ndim elements (contract).
        unsafe { write_i64s(shape, a.shape()) }
    })
}

/// `*size` = number of elements (the product of the extents). Local.
///
/// # Safety
/// `size` is NULL (→ `DISTARR_ERR_NULL`) or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_size(a: distarr_array, size: *mut i64) -> c_int {
    boundary!("distarr_size", {
        running()?;
        let a = lookup(a)?;
        nonnull!(size);
        // SAFETY: writable for one element (contract).
        unsafe { write_i64s(size, &[a.len()]) }
    })
}

/// `*dtype` = the element type (`DISTARR_DTYPE_*`). Local.
///
/// # Safety
/// `dtype` is NULL (→ `DISTARR_ERR_NULL`) or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_dtype(a: distarr_array, dtype: *mut i32) -> c_int {
    boundary!("distarr_dtype", {
        running()?;
        let a = lookup(a)?;
        nonnull!(dtype);
        // SAFETY: non-null and writable (contract).
        unsafe { dtype.write(a.dtype().code()) };
        Ok(())
    })
}

/// `*seg` = the global-memory segment holding the array's elements: each rank's part holds its
/// local block in C order, addressed by the byte offsets of `distarr_locate` (use with
/// `distarr_get`/`distarr_put`). Owned by the array: never `distarr_gmem_free` it. Local. The
/// segment of an array that a collective operation just computed exists once the operation
/// has run: as for one-sided accesses (see SYNCHRONISATION), call `distarr_sync` between the
/// two in SPMD mode with several ranks, else `DISTARR_ERR_ARG` (sequential mode synchronises
/// itself; one rank runs the operation now). Errors: `DISTARR_ERR_HANDLE`, `DISTARR_ERR_NULL`,
/// `DISTARR_ERR_ARG`.
///
/// # Safety
/// `seg` is NULL (→ `DISTARR_ERR_NULL`) or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_segment(a: distarr_array, seg: *mut u32) -> c_int {
    boundary!("distarr_segment", {
        with_state(|st| {
            let a = lookup(a)?;
            nonnull!(seg);
            // Sequential mode: synchronise (and run deferred operations) first.
            onesided(st)?;
            // SAFETY: non-null and writable (contract).
            unsafe { seg.write(a.segment()?.raw()) };
            Ok(())
        })
    })
}

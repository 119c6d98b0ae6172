//! The exported functions that make views: NumPy basic indexing (`distarr_view`,
//! `distarr_index`), axis permutations, reshapes and broadcasts. A view shares its array's
//! storage (no data moves; writes through it change the array). Creating one is **collective**
//! without communication: the handle must get the same id on every rank. A view handle is freed
//! with `distarr_free` (which leaves the array alone); freeing the array makes every use of its
//! views return `DISTARR_ERR_HANDLE`.
#![allow(non_camel_case_types)]

use crate::args::{i64s, i64s_or, ndim_arg, nonneg, nonnull_if, MAX_NDIM};
use crate::codes::{DISTARR_INDEX_RANGE, DISTARR_SLICE_NONE};
use crate::collective::create_into;
use crate::handle::distarr_array;
use crate::state::{lookup, running};
use crate::status::{boundary, check, nonnull, DISTARR_ERR_SHAPE};
use crate::wire::Cmd;
use std::ffi::c_int;

/// A view of `a` with NumPy basic slicing `a[start[0]:stop[0]:step[0], ...]` over the first `n`
/// dimensions (the others are kept whole); `*out` receives a new handle. Negative bounds count
/// from the end, out-of-range bounds are clipped (Python semantics); `DISTARR_SLICE_NONE`
/// (`INT64_MIN`) is an omitted bound. `start`/`stop` NULL: all omitted; `step` NULL: all 1.
/// The view shares `a`'s storage (no data moves): writes through it change `a`. **Collective**
/// (no communication, but the handle must get the same id on every rank). The view handle is
/// freed with `distarr_free` (which leaves `a` alone); freeing `a` makes every use of the view
/// return `DISTARR_ERR_HANDLE`. Errors: `DISTARR_ERR_ARG` (n outside 0..=ndim, step 0),
/// `DISTARR_ERR_HANDLE`, `DISTARR_ERR_NULL` (`out`).
///
/// # Safety
/// Non-NULL `start`, `stop`, `step` are valid for reads of `n` `int64_t`s; `out` is valid for
/// writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_view(
    a: distarr_array,
    n: i32,
    start: *const i64,
    stop: *const i64,
    step: *const i64,
    out: *mut distarr_array,
) -> c_int {
    boundary!("distarr_view", {
        running()?;
        nonnull!(out);
        let n = ndim_arg(n)?;
        let nd = lookup(a)?.ndim();
        check!(
            n <= nd,
            DISTARR_ERR_ARG,
            "view: {n} slices for an array of {nd} dimensions"
        );
        // SAFETY: non-NULL pointers are readable for `n` elements (contract).
        let (start, stop, step) = unsafe {
            (
                i64s_or(start, n, DISTARR_SLICE_NONE, "start")?,
                i64s_or(stop, n, DISTARR_SLICE_NONE, "stop")?,
                i64s_or(step, n, 1, "step")?,
            )
        };
        let cmd = Cmd::Index {
            a,
            kind: vec![i64::from(DISTARR_INDEX_RANGE); n],
            start,
            stop,
            step,
        };
        // SAFETY: `out` was checked non-null and is writable (contract).
        unsafe { create_into(cmd, out) }
    })
}

/// A view of `a` with a full NumPy basic index of `nitems` items (`0..=64`): item `k` is
/// `kind[k]`, one of
/// - `DISTARR_INDEX_RANGE`: the slice `start[k]:stop[k]:step[k]` (as `distarr_view`;
///   `DISTARR_SLICE_NONE` for an omitted bound);
/// - `DISTARR_INDEX_INT`: the single index `start[k]` (negative counts from the end), which
///   removes the axis;
/// - `DISTARR_INDEX_NEWAXIS`: a new axis of length 1 (`numpy.newaxis`);
/// - `DISTARR_INDEX_ELLIPSIS`: as many full slices as needed (`...`, at most one).
///
/// Axes not indexed are kept whole (a missing trailing `...`). `start`/`stop`/`step` entries of
/// items that do not use them are ignored; `start`/`stop` NULL: all `DISTARR_SLICE_NONE`;
/// `step` NULL: all 1. E.g. `a[1:-1, ::2, None, 3]`. `*out` receives the view (a 0-d view when
/// every axis is indexed by an integer). **Collective** (a view, as `distarr_view`). Errors:
/// `DISTARR_ERR_ARG` (nitems outside 0..=64, unknown kind, zero step, an integer item with
/// `DISTARR_SLICE_NONE`, two ellipses), `DISTARR_ERR_BOUNDS` (an integer index out of range,
/// more range/integer items than `a` has axes, a view of more than 64 dimensions: NumPy's
/// limit), `DISTARR_ERR_HANDLE`, `DISTARR_ERR_NULL`
/// (`out`, `kind` with `nitems > 0`).
///
/// # Safety
/// `kind` and the non-NULL `start`, `stop`, `step` are valid for reads of `nitems` elements;
/// `out` is valid for writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_index(
    a: distarr_array,
    nitems: i32,
    kind: *const i32,
    start: *const i64,
    stop: *const i64,
    step: *const i64,
    out: *mut distarr_array,
) -> c_int {
    boundary!("distarr_index", {
        running()?;
        nonnull!(out);
        check!(
            (0..=MAX_NDIM).contains(&nitems),
            DISTARR_ERR_ARG,
            "nitems {nitems} outside 0..={MAX_NDIM}"
        );
        let n = nitems as usize;
        nonnull_if(kind, n, "kind")?;
        // SAFETY: `kind` is readable for `n` int32_t when n > 0 (contract, checked non-NULL).
        let kinds = unsafe { crate::args::in_elems::<i32>(kind.cast(), n, "kind")? };
        // SAFETY: non-NULL pointers are readable for `n` elements (contract).
        let (start, stop, step) = unsafe {
            (
                i64s_or(start, n, DISTARR_SLICE_NONE, "start")?,
                i64s_or(stop, n, DISTARR_SLICE_NONE, "stop")?,
                i64s_or(step, n, 1, "step")?,
            )
        };
        let cmd = Cmd::Index {
            a,
            kind: kinds.iter().map(|&k| i64::from(k)).collect(),
            start,
            stop,
            step,
        };
        // SAFETY: `out` was checked non-null and is writable (contract).
        unsafe { create_into(cmd, out) }
    })
}

/// A view of `a` with the axes reversed (`a.T`). **Collective** (a view, as `distarr_view`). Errors:
/// `DISTARR_ERR_HANDLE`, `DISTARR_ERR_NULL`.
///
/// # Safety
/// `out` is valid for writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_transpose(a: distarr_array, out: *mut distarr_array) -> c_int {
    boundary!("distarr_transpose", {
        running()?;
        nonnull!(out);
        let nd = lookup(a)?.ndim() as i64;
        let axes = (0..nd).rev().collect();
        // SAFETY: `out` was checked non-null and is writable (contract).
        unsafe { create_into(Cmd::Permute { a, axes }, out) }
    })
}

/// A view of `a` with its axes permuted (`numpy.transpose(a, axes)`): axis `k` of the view is
/// axis `axes[k]` of `a` (negative axes count from the end). `ndim` must be `a`'s number of
/// dimensions and `axes` a permutation of its axes. **Collective** (a view, as `distarr_view`).
/// Errors: `DISTARR_ERR_ARG` (ndim outside 0..=64 or not `a`'s, an axis out of range or
/// repeated), `DISTARR_ERR_HANDLE`, `DISTARR_ERR_NULL`.
///
/// # Safety
/// `axes` is valid for reads of `ndim` `int64_t`s; `out` is valid for writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_permute(
    a: distarr_array,
    ndim: i32,
    axes: *const i64,
    out: *mut distarr_array,
) -> c_int {
    boundary!("distarr_permute", {
        running()?;
        nonnull!(out);
        let n = ndim_arg(ndim)?;
        // SAFETY: `axes` is readable for `ndim` elements (contract).
        let axes = unsafe { i64s(axes, n, "axes")? };
        // SAFETY: `out` was checked non-null and is writable (contract).
        unsafe { create_into(Cmd::Permute { a, axes }, out) }
    })
}

/// `numpy.reshape(a, shape)` with `ndim` extents, one of which may be `-1` (whatever is left):
/// a view of `a` when its elements can be addressed in the new shape without copying (always
/// for an array that is not a view), else a new block-layout array holding a copy (C order).
/// `*out` receives the handle; it is freed with `distarr_free` either way (a view's free leaves
/// `a` alone; a copy's frees its storage). **Collective.** Errors: `DISTARR_ERR_ARG` (ndim
/// outside 0..=32), `DISTARR_ERR_SHAPE` (several `-1`, another negative extent, a size other
/// than `a`'s), `DISTARR_ERR_HANDLE`, `DISTARR_ERR_NULL`, `DISTARR_ERR_NOMEM` (a copy).
///
/// # Safety
/// `shape` is valid for reads of `ndim` `int64_t`s; `out` is valid for writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_reshape(
    a: distarr_array,
    ndim: i32,
    shape: *const i64,
    out: *mut distarr_array,
) -> c_int {
    boundary!("distarr_reshape", {
        running()?;
        nonnull!(out);
        let n = ndim_arg(ndim)?;
        // SAFETY: `shape` is readable for `ndim` elements (contract).
        let shape = unsafe { i64s(shape, n, "shape")? };
        // SAFETY: `out` was checked non-null and is writable (contract).
        unsafe { create_into(Cmd::Reshape { a, shape }, out) }
    })
}

/// A view of `a` broadcast to `shape` (`ndim` extents; `numpy.broadcast_to`): `a`'s axes are
/// aligned at the end, new leading axes and axes of length 1 repeat `a`'s elements. Several
/// elements of the view are one element of `a`: treat it as read-only (NumPy's is; writing
/// through it writes those elements several times, in no specified order). **Collective** (see
/// the views above). Errors: `DISTARR_ERR_ARG` (ndim outside 0..=64), `DISTARR_ERR_SHAPE`
/// (negative extent, `a` not broadcastable to `shape`), `DISTARR_ERR_HANDLE`, `DISTARR_ERR_NULL`.
///
/// # Safety
/// `shape` is valid for reads of `ndim` `int64_t`s; `out` is valid for writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_broadcast_to(
    a: distarr_array,
    ndim: i32,
    shape: *const i64,
    out: *mut distarr_array,
) -> c_int {
    boundary!("distarr_broadcast_to", {
        running()?;
        nonnull!(out);
        let n = ndim_arg(ndim)?;
        // SAFETY: `shape` is readable for `ndim` elements (contract).
        let shape = nonneg(&unsafe { i64s(shape, n, "shape")? }, DISTARR_ERR_SHAPE, "extent")?;
        // SAFETY: `out` was checked non-null and is writable (contract).
        unsafe { create_into(Cmd::BroadcastTo { a, shape }, out) }
    })
}

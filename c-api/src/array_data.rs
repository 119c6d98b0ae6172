//! The exported functions that move array data to and from the program: gather and scatter
//! (collective), `.npy` files (collective), and the one-sided region access, element location
//! and local blocks.
#![allow(non_camel_case_types)]

use crate::args::{acc_op, box_elems, in_bytes, index_arg, nonnull_if, out_bytes, path_arg, write_i64s};
use crate::codes::Mode;
use crate::collective::{collective, create_into, onesided};
use crate::exec::Local;
use crate::handle::distarr_array;
use crate::state::{lookup, running, with_state};
use crate::status::{boundary, check, nonnull, CError, CResult, DISTARR_ERR_BOUNDS, DISTARR_ERR_UNSUPPORTED};
use crate::wire::Cmd;
use distarr_arrays::{AccOp, DistArray};
use std::ffi::{c_char, c_int, c_void};
use std::rc::Rc;

/// The byte size of the root's buffer of a gather or scatter of `a` when this rank is `root`
/// and its buffer is used; `None` on the other ranks, and for the root's NULL buffer with data to
/// move (which `exec` reports on every rank). In sequential mode the program runs on rank 0
/// only: another root is refused (`DISTARR_ERR_RANK`).
fn root_buffer(a: distarr_array, root: i32, null: bool) -> CResult<Option<usize>> {
    let me = with_state(|st| {
        check!(
            st.mode == Mode::Spmd || root == 0,
            DISTARR_ERR_RANK,
            "in sequential mode the root must be 0 (the rank running the program), got {root}"
        );
        Ok(st.rt.rank())
    })?;
    let arr = lookup(a)?;
    let n = arr
        .len()
        .checked_mul(arr.dtype().size())
        .ok_or_else(|| CError::new(DISTARR_ERR_BOUNDS, "array too large"))?;
    Ok(((n == 0 || !null) && usize::try_from(root).is_ok_and(|r| r == me)).then_some(n))
}

/// Copies the whole array or view, C order, into `buf` on `root` (`size * element size` bytes;
/// other ranks' `buf` is ignored and may be NULL). **Collective**; the data moves by one-sided
/// gets issued by the root. In sequential mode `root` must be 0. Errors: `DISTARR_ERR_HANDLE`,
/// `DISTARR_ERR_RANK`, `DISTARR_ERR_NULL` (the root's `buf`: reported on every rank).
///
/// # Safety
/// On `root`, `buf` is valid for writes of the array's size in bytes.
#[no_mangle]
pub unsafe extern "C" fn distarr_gather(a: distarr_array, root: i32, buf: *mut c_void) -> c_int {
    boundary!("distarr_gather", {
        let mut local = Local::default();
        if let Some(n) = root_buffer(a, root, buf.is_null())? {
            // SAFETY: writable for the array's size on the root (contract).
            local.dst = Some(unsafe { out_bytes(buf, n, "buf")? });
        }
        collective(Cmd::Gather { a, root }, &mut local)?;
        Ok(())
    })
}

/// Writes the whole array or view from `buf` on `root` (C order, `size * element size` bytes
/// of the array's dtype; other ranks' `buf` is ignored and may be NULL). **Collective**; the
/// root writes with one-sided puts. In sequential mode `root` must be 0. Errors as
/// `distarr_gather`.
///
/// # Safety
/// On `root`, `buf` is valid for reads of the array's size in bytes.
#[no_mangle]
pub unsafe extern "C" fn distarr_scatter(a: distarr_array, root: i32, buf: *const c_void) -> c_int {
    boundary!("distarr_scatter", {
        let mut local = Local::default();
        if let Some(n) = root_buffer(a, root, buf.is_null())? {
            // SAFETY: readable for the array's size on the root (contract).
            local.src = Some(unsafe { in_bytes(buf, n, "buf")? });
        }
        collective(Cmd::Scatter { a, root }, &mut local)?;
        Ok(())
    })
}

/// Saves an array or view as a C-order `.npy` file at `path` (every rank writes its part of the
/// file: the path must name the same file on every rank, e.g. on a shared file system).
/// **Collective.** Errors: `DISTARR_ERR_HANDLE`, `DISTARR_ERR_NULL`, `DISTARR_ERR_IO`.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn distarr_save_npy(a: distarr_array, path: *const c_char) -> c_int {
    boundary!("distarr_save_npy", {
        running()?;
        // SAFETY: the contract.
        let path = unsafe { path_arg(path)? };
        collective(Cmd::Save { a, path }, &mut Local::default())?;
        Ok(())
    })
}

/// Loads a `.npy` file (little-endian, C order, a distarr dtype) into a new block-layout array;
/// `*out` receives it (ownership as `distarr_create`). Every rank reads its part of the file.
/// **Collective.** Errors: `DISTARR_ERR_NULL`, `DISTARR_ERR_IO` (missing or malformed file),
/// `DISTARR_ERR_DTYPE` (unsupported dtype in the file), `DISTARR_ERR_NOMEM`.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; `out` is valid for writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_load_npy(path: *const c_char, out: *mut distarr_array) -> c_int {
    boundary!("distarr_load_npy", {
        running()?;
        nonnull!(out);
        // SAFETY: the contract.
        let path = unsafe { path_arg(path)? };
        // SAFETY: `out` was checked non-null and is writable (contract).
        unsafe { create_into(Cmd::Load { path }, out) }
    })
}

// --- one-sided region access ------------------------------------------------------------------------

/// An array with a box `[lo, hi)` of it and the box's size in bytes.
type Region = (Rc<DistArray>, Vec<usize>, Vec<usize>, usize);

/// The array and its box `[lo, hi)` with the byte size of the box.
///
/// # Safety
/// `lo` and `hi` are NULL or valid for reads of the array's `ndim` `int64_t`s.
unsafe fn region_args(a: distarr_array, lo: *const i64, hi: *const i64) -> CResult<Region> {
    let arr = lookup(a)?;
    let nd = arr.ndim();
    // SAFETY: readable for ndim elements (contract).
    let (lo, hi) = unsafe { (index_arg(lo, nd, "lo")?, index_arg(hi, nd, "hi")?) };
    let n = box_elems(&lo, &hi, &arr)?;
    Ok((arr, lo, hi, n))
}

/// Copies the box `[lo, hi)` (`hi` exclusive, `ndim` entries each) of an array or view into
/// `buf`, C order, elements of the array's dtype. **One-sided** (`MPI_Get`s to the owners),
/// blocking: the data is in `buf` on return. Sees every write completed before it (writes by
/// other ranks and by collective operations: after a `distarr_sync` ordered them; see
/// SYNCHRONISATION). Errors:
/// `DISTARR_ERR_HANDLE`, `DISTARR_ERR_BOUNDS` (negative or `lo > hi` or `hi > shape`),
/// `DISTARR_ERR_NULL` (`lo`/`hi` of a non-0-d array, `buf` for a non-empty box).
///
/// # Safety
/// `lo`/`hi` are valid for reads of `ndim` `int64_t`s; `buf` for writes of the box's bytes.
#[no_mangle]
pub unsafe extern "C" fn distarr_get_region(
    a: distarr_array,
    lo: *const i64,
    hi: *const i64,
    buf: *mut c_void,
) -> c_int {
    boundary!("distarr_get_region", {
        with_state(|st| {
            // SAFETY: the contract.
            let (arr, lo, hi, n) = unsafe { region_args(a, lo, hi)? };
            // SAFETY: `buf` is writable for `n` bytes (contract).
            let dst = unsafe { out_bytes(buf, n, "buf")? };
            onesided(st)?;
            let data = arr.get_region_bytes(&lo, &hi)?;
            dst.copy_from_slice(&data);
            Ok(())
        })
    })
}

/// Writes `buf` (C order, the array's dtype) to the box `[lo, hi)` of an array or view (every
/// copy of a replicated array). **One-sided** (`MPI_Put`s), complete at the targets on return.
/// Concurrent writes of one element by several ranks without synchronisation are a race.
/// Errors as `distarr_get_region`.
///
/// # Safety
/// `lo`/`hi` are valid for reads of `ndim` `int64_t`s; `buf` for reads of the box's bytes.
#[no_mangle]
pub unsafe extern "C" fn distarr_put_region(
    a: distarr_array,
    lo: *const i64,
    hi: *const i64,
    buf: *const c_void,
) -> c_int {
    boundary!("distarr_put_region", {
        with_state(|st| {
            // SAFETY: the contract.
            let (arr, lo, hi, n) = unsafe { region_args(a, lo, hi)? };
            // SAFETY: `buf` is readable for `n` bytes (contract).
            let src = unsafe { in_bytes(buf, n, "buf")? };
            onesided(st)?;
            arr.put_region_bytes(&lo, &hi, src)?;
            Ok(())
        })
    })
}

/// `region op= buf` element-wise and atomically per element (Global Arrays' `NGA_Acc`;
/// `MPI_Accumulate`), `op` one of `DISTARR_OP_SUM, PROD, MIN, MAX, REPLACE`, and BAND/BOR/BXOR
/// for integer arrays. **One-sided**, complete at the targets on return; concurrent
/// accumulates with the same op are safe. Errors as `distarr_get_region`, plus
/// `DISTARR_ERR_OP` (unknown op, NO_OP), `DISTARR_ERR_DTYPE` (bool and complex arrays, bitwise
/// ops on floats), `DISTARR_ERR_ARG` (replicated arrays).
///
/// # Safety
/// As `distarr_put_region`.
#[no_mangle]
pub unsafe extern "C" fn distarr_acc_region(
    a: distarr_array,
    lo: *const i64,
    hi: *const i64,
    buf: *const c_void,
    op: i32,
) -> c_int {
    boundary!("distarr_acc_region", {
        let accop = acc_op(op)?;
        check!(
            accop != AccOp::NoOp,
            DISTARR_ERR_OP,
            "DISTARR_OP_NO_OP does nothing in distarr_acc_region"
        );
        with_state(|st| {
            // SAFETY: the contract.
            let (arr, lo, hi, n) = unsafe { region_args(a, lo, hi)? };
            if accop.is_bitwise() {
                check!(
                    !arr.dtype().is_float() && !arr.dtype().is_complex(),
                    DISTARR_ERR_DTYPE,
                    "bitwise accumulate on a {} array",
                    arr.dtype().name()
                );
            }
            // SAFETY: `buf` is readable for `n` bytes (contract).
            let src = unsafe { in_bytes(buf, n, "buf")? };
            onesided(st)?;
            arr.acc_region_bytes(&lo, &hi, src, accop)?;
            Ok(())
        })
    })
}

/// `*rank`, `*offset` = the owner of element `index` (`ndim` entries) of an array or view and
/// its byte offset in the owner's part of the array's segment (`distarr_segment`). For a
/// replicated array, the calling rank's own copy. Local (no communication). Errors:
/// `DISTARR_ERR_HANDLE`, `DISTARR_ERR_BOUNDS`, `DISTARR_ERR_NULL`.
///
/// # Safety
/// `index` is valid for reads of `ndim` `int64_t`s; `rank` and `offset` for writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_locate(
    a: distarr_array,
    index: *const i64,
    rank: *mut i32,
    offset: *mut u64,
) -> c_int {
    boundary!("distarr_locate", {
        running()?;
        let arr = lookup(a)?;
        nonnull!(rank, offset);
        // SAFETY: readable for ndim elements (contract).
        let idx = unsafe { index_arg(index, arr.ndim(), "index")? };
        let (r, off) = arr.locate(&idx)?;
        // SAFETY: both non-null and writable (contract); ranks fit int32 (MPI ranks are ints).
        unsafe {
            rank.write(r as i32);
            offset.write(off);
        }
        Ok(())
    })
}

/// This rank's part of an array as one box: `*ptr` = its elements in this rank's memory (C
/// order, dense), holding the global box `[lo, hi)` (`ndim` entries each). When the rank holds
/// nothing, `*ptr` is NULL and `lo == hi` (for a 0-d array, whose box always holds one element,
/// NULL is the only sign). Direct loads and stores: the memory belongs to the array (never free
/// it), valid until the array is freed. Loads and stores through the pointer are one-sided
/// accesses: separate them from collective operations on the array with `distarr_sync` (see
/// SYNCHRONISATION; in sequential mode this call synchronises after collective operations, and
/// a pointer kept across later collective calls needs `distarr_sync` there too). Local. Errors: `DISTARR_ERR_HANDLE`, `DISTARR_ERR_NULL`, `DISTARR_ERR_UNSUPPORTED` (a view,
/// or a block-cyclic layout with several blocks per rank along a dimension).
///
/// # Safety
/// `ptr` is valid for writing; `lo`, `hi` for writes of `ndim` `int64_t`s.
#[no_mangle]
pub unsafe extern "C" fn distarr_local_block(
    a: distarr_array,
    ptr: *mut *mut c_void,
    lo: *mut i64,
    hi: *mut i64,
) -> c_int {
    boundary!("distarr_local_block", {
        with_state(|st| {
            let arr = lookup(a)?;
            nonnull!(ptr);
            nonnull_if(lo, arr.ndim(), "lo")?;
            nonnull_if(hi, arr.ndim(), "hi")?;
            // Sequential mode: synchronise (and run deferred operations) first.
            onesided(st)?;
            let (p, l, h) = arr.local_block_ptr()?.ok_or_else(|| {
                CError::new(
                    DISTARR_ERR_UNSUPPORTED,
                    "this rank's part is not one box (a view, or several block-cyclic blocks)",
                )
            })?;
            // SAFETY: all pointers are valid for writing (contract; lengths ndim).
            unsafe {
                write_i64s(lo, &l)?;
                write_i64s(hi, &h)?;
                ptr.write(p.cast());
            }
            Ok(())
        })
    })
}

//! The exported PGAS-level functions: global memory, one-sided operations (blocking,
//! request-based and implicit-completion), completion, epochs and collectives.

use crate::args::{
    acc_op, check_dtype_op, check_span, in_bytes, in_elems, len_arg, nonnull_if, out_bytes, rank_arg, read_one,
    reduce_op, with_dtype, write_one,
};
use crate::collective::{collective, onesided};
use crate::exec::Local;
use crate::handle::distarr_request;
use crate::state::{running, with_state, REQUESTS};
use crate::status::{boundary, check, nonnull, CError, CResult};
use crate::wire::Cmd;
use distarr_runtime::{AccOp, Seg};
use std::ffi::{c_int, c_void};

// --- global memory ------------------------------------------------------------------------------

/// Allocates `bytes_per_rank` bytes of global memory on every rank; `*seg` receives the segment
/// id, the same on every rank. **Collective**: every rank passes the same size (else
/// `DISTARR_ERR_COLLECTIVE` on every rank). Memory is zero on a fresh heap window, otherwise
/// uninitialised. `DISTARR_ERR_NOMEM` (on every rank) when the symmetric heap is exhausted.
/// The segment is owned collectively until `distarr_gmem_free` (or `distarr_finalize`).
///
/// # Safety
/// `seg` is NULL (→ `DISTARR_ERR_NULL`) or valid for writing a `uint32_t`.
#[no_mangle]
pub unsafe extern "C" fn distarr_gmem_alloc(bytes_per_rank: u64, seg: *mut u32) -> c_int {
    boundary!("distarr_gmem_alloc", {
        running()?;
        nonnull!(seg);
        let id = collective(Cmd::GmemAlloc { bytes: bytes_per_rank }, &mut Local::default())?;
        let id = u32::try_from(id).map_err(|_| CError::new(crate::status::DISTARR_ERR_INTERNAL, "segment id"))?;
        // SAFETY: `seg` is non-null and writable (contract).
        unsafe { seg.write(id) };
        Ok(())
    })
}

/// Frees a segment on every rank after completing this rank's operations on it. **Collective**:
/// same id on every rank (else `DISTARR_ERR_COLLECTIVE`). The id is stale afterwards: any use
/// → `DISTARR_ERR_SEGMENT`.
#[no_mangle]
pub extern "C" fn distarr_gmem_free(seg: u32) -> c_int {
    boundary!("distarr_gmem_free", {
        collective(Cmd::GmemFree { seg }, &mut Local::default())?;
        Ok(())
    })
}

/// `*base`, `*bytes` = this rank's part of a segment: its address and length. Local. The
/// memory belongs to distarr (never free it) and is valid until the segment is freed; other
/// ranks may write it: read it after `distarr_sync` (or a flush by the writer + barrier).
/// Loads and stores through the pointer are one-sided accesses (see SYNCHRONISATION): in
/// sequential mode this call synchronises after collective operations, as one-sided calls do.
///
/// # Safety
/// `base` and `bytes` are NULL (→ `DISTARR_ERR_NULL`) or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_gmem_local(seg: u32, base: *mut *mut c_void, bytes: *mut u64) -> c_int {
    boundary!("distarr_gmem_local", {
        with_state(|st| {
            nonnull!(base, bytes);
            let (p, len) = st.rt.local_ptr(Seg::from_raw(seg))?;
            onesided(st)?;
            // SAFETY: both pointers are non-null and writable (contract).
            unsafe {
                base.write(p.cast());
                bytes.write(len);
            }
            Ok(())
        })
    })
}

// --- one-sided operations -----------------------------------------------------------------------

/// Copies `bytes` bytes from `rank`'s part of `seg` at byte `offset` into `dst` (`MPI_Get` +
/// flush, or a memory copy on the node). **One-sided**, blocking: the data is in `dst` on
/// return. Errors: `DISTARR_ERR_RANK`, `DISTARR_ERR_SEGMENT`, `DISTARR_ERR_BOUNDS`
/// (`offset + bytes` beyond the segment), `DISTARR_ERR_NULL` (`dst` NULL with `bytes > 0`).
///
/// # Safety
/// `dst` is valid for writes of `bytes` bytes and does not overlap the source range.
#[no_mangle]
pub unsafe extern "C" fn distarr_get(dst: *mut c_void, rank: i32, seg: u32, offset: u64, bytes: u64) -> c_int {
    boundary!("distarr_get", {
        with_state(|st| {
            let rank = rank_arg(rank)?;
            // SAFETY: `dst` is writable for `bytes` bytes (contract).
            let dst = unsafe { out_bytes(dst, len_arg(bytes)?, "dst")? };
            onesided(st)?;
            st.rt.get(dst, rank, Seg::from_raw(seg), offset)?;
            Ok(())
        })
    })
}

/// Copies `bytes` bytes from `src` into `rank`'s part of `seg` at byte `offset` (`MPI_Put` +
/// flush). **One-sided**, blocking with remote completion: the data is in the target's memory on
/// return (the target's own loads see it after its next `distarr_sync`). Errors as `distarr_get`.
///
/// # Safety
/// `src` is valid for reads of `bytes` bytes.
#[no_mangle]
pub unsafe extern "C" fn distarr_put(rank: i32, seg: u32, offset: u64, src: *const c_void, bytes: u64) -> c_int {
    boundary!("distarr_put", {
        with_state(|st| {
            let rank = rank_arg(rank)?;
            // SAFETY: `src` is readable for `bytes` bytes (contract).
            let src = unsafe { in_bytes(src, len_arg(bytes)?, "src")? };
            onesided(st)?;
            st.rt.put(rank, Seg::from_raw(seg), offset, src)?;
            Ok(())
        })
    })
}

/// Starts a get (`MPI_Rget`); `*req` receives a request to complete with `distarr_wait` or
/// `distarr_test`. **One-sided**, non-blocking. The caller keeps `dst` valid and untouched until
/// the request completes. Errors as `distarr_get` (then no request is created), plus
/// `DISTARR_ERR_NULL` for `req`.
///
/// # Safety
/// `dst` is valid for writes of `bytes` bytes until the request completes (`distarr_wait`,
/// `distarr_test` reporting completion, or `distarr_finalize`); `req` is valid for writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_get_nb(
    dst: *mut c_void,
    rank: i32,
    seg: u32,
    offset: u64,
    bytes: u64,
    req: *mut distarr_request,
) -> c_int {
    boundary!("distarr_get_nb", {
        with_state(|st| {
            nonnull!(req);
            let rank = rank_arg(rank)?;
            let n = len_arg(bytes)?;
            nonnull_if(dst, n, "dst")?;
            check_span(n)?;
            onesided(st)?;
            // SAFETY: `dst` is writable for `n` bytes until the request completes (contract); the
            // request table holds the request until it is waited, tested complete, or finalize
            // completes it before the runtime ends.
            let r = unsafe { st.rt.get_nb_raw(dst.cast(), n, rank, Seg::from_raw(seg), offset)? };
            let id = REQUESTS.with(|t| t.borrow_mut().insert(r))?;
            // SAFETY: `req` is non-null and writable (contract).
            unsafe { req.write(id) };
            Ok(())
        })
    })
}

/// Starts a put (`MPI_Rput`); `*req` receives a request. **One-sided**, non-blocking. The caller
/// keeps `src` valid and unmodified until the request completes (local completion); remote
/// completion needs `distarr_flush`. Errors as `distarr_get_nb`.
///
/// # Safety
/// `src` is valid for reads of `bytes` bytes until the request completes; `req` is valid for
/// writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_put_nb(
    rank: i32,
    seg: u32,
    offset: u64,
    src: *const c_void,
    bytes: u64,
    req: *mut distarr_request,
) -> c_int {
    boundary!("distarr_put_nb", {
        with_state(|st| {
            nonnull!(req);
            let rank = rank_arg(rank)?;
            let n = len_arg(bytes)?;
            nonnull_if(src, n, "src")?;
            check_span(n)?;
            onesided(st)?;
            // SAFETY: as in distarr_get_nb, for reads of `src`.
            let r = unsafe { st.rt.put_nb_raw(rank, Seg::from_raw(seg), offset, src.cast(), n)? };
            let id = REQUESTS.with(|t| t.borrow_mut().insert(r))?;
            // SAFETY: `req` is non-null and writable (contract).
            unsafe { req.write(id) };
            Ok(())
        })
    })
}

/// Blocks until the request completes locally (`MPI_Wait`), frees it and sets `*req = 0`.
/// `*req == 0` returns at once. A freed, completed-and-copied, or forged id →
/// `DISTARR_ERR_HANDLE` (`*req` unchanged). Local.
///
/// # Safety
/// `req` is NULL (→ `DISTARR_ERR_NULL`) or valid for reading and writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_wait(req: *mut distarr_request) -> c_int {
    boundary!("distarr_wait", {
        running()?;
        nonnull!(req);
        // SAFETY: `req` is non-null and readable (contract).
        let id = unsafe { req.read() };
        if id == 0 {
            return Ok(());
        }
        let r = REQUESTS.with(|t| t.borrow_mut().remove(id))?;
        r.wait()?;
        // SAFETY: `req` is writable (contract).
        unsafe { req.write(0) };
        Ok(())
    })
}

/// Tests a request (`MPI_Test`): `*done = 1` and `*req = 0` (request freed) if it has completed
/// locally, else `*done = 0`. Never blocks. `*req == 0` gives `*done = 1`. Errors as
/// `distarr_wait`. Local.
///
/// # Safety
/// `req` and `done` are NULL (→ `DISTARR_ERR_NULL`) or valid for reading/writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_test(req: *mut distarr_request, done: *mut i32) -> c_int {
    boundary!("distarr_test", {
        running()?;
        nonnull!(req, done);
        // SAFETY: `req` is non-null and readable (contract).
        let id = unsafe { req.read() };
        let complete = id == 0
            || REQUESTS.with(|t| -> CResult<bool> {
                let mut t = t.borrow_mut();
                if t.get_mut(id)?.test()? {
                    // Complete: waiting on it again returns at once.
                    t.remove(id)?.wait()?;
                    Ok(true)
                } else {
                    Ok(false)
                }
            })?;
        // SAFETY: both pointers are non-null and writable (contract).
        unsafe {
            if complete {
                req.write(0);
            }
            done.write(i32::from(complete));
        }
        Ok(())
    })
}

/// `target[k] = target[k] op src[k]` for `count` elements of `dtype`, atomically per element
/// (`MPI_Accumulate` + flush), at byte `offset` of `rank`'s part of `seg`. **One-sided**, blocking
/// with remote completion. `offset` must be a multiple of the element size
/// (`DISTARR_ERR_MISALIGNED`). dtypes: BOOL, I32, I64, U8, U32, U64, F32, F64 (complex →
/// `DISTARR_ERR_DTYPE`); ops: SUM, PROD, MIN, MAX, REPLACE, and BAND/BOR/BXOR on integers and
/// BOOL (on floats → `DISTARR_ERR_DTYPE`); NO_OP or an unknown op → `DISTARR_ERR_OP`.
/// Concurrent accumulates to one element should use the same op.
///
/// # Safety
/// `src` is valid for reads of `count` elements of `dtype` (any alignment).
#[no_mangle]
pub unsafe extern "C" fn distarr_acc(
    rank: i32,
    seg: u32,
    offset: u64,
    src: *const c_void,
    count: u64,
    dtype: i32,
    op: i32,
) -> c_int {
    boundary!("distarr_acc", {
        with_state(|st| {
            let op = acc_op(op)?;
            check!(
                op != AccOp::NoOp,
                DISTARR_ERR_OP,
                "DISTARR_OP_NO_OP does nothing in distarr_acc (use distarr_fetch_op for an atomic read)"
            );
            check_dtype_op(dtype, op.is_bitwise(), matches!(op, AccOp::Sum | AccOp::Prod))?;
            let rank = rank_arg(rank)?;
            let n = len_arg(count)?;
            let seg = Seg::from_raw(seg);
            with_dtype!(dtype, T => {
                // SAFETY: `src` is readable for `n` elements of T (contract).
                let v = unsafe { in_elems::<T>(src, n, "src")? };
                onesided(st)?;
                st.rt.accumulate::<T>(&v, rank, seg, offset, op).map_err(CError::from)
            })
        })
    })
}

/// Atomically applies `op` with `*operand` to one element of `dtype` at byte `offset` of `rank`'s
/// part of `seg`, and stores the element's previous value in `*result` (`MPI_Fetch_and_op` +
/// flush). **One-sided**, blocking. `DISTARR_OP_NO_OP` makes it an atomic read. dtype/op rules
/// and alignment as `distarr_acc`.
///
/// # Safety
/// `result` and `operand` are valid for one element of `dtype` (any alignment).
#[no_mangle]
pub unsafe extern "C" fn distarr_fetch_op(
    result: *mut c_void,
    operand: *const c_void,
    rank: i32,
    seg: u32,
    offset: u64,
    dtype: i32,
    op: i32,
) -> c_int {
    boundary!("distarr_fetch_op", {
        with_state(|st| {
            nonnull!(result, operand);
            let op = acc_op(op)?;
            check_dtype_op(dtype, op.is_bitwise(), matches!(op, AccOp::Sum | AccOp::Prod))?;
            let rank = rank_arg(rank)?;
            let seg = Seg::from_raw(seg);
            onesided(st)?;
            with_dtype!(dtype, T => {
                // SAFETY: `operand` is readable for one T (contract).
                let x = unsafe { read_one::<T>(operand) };
                let old = st.rt.fetch_and_op::<T>(x, rank, seg, offset, op)?;
                // SAFETY: `result` is writable for one T (contract).
                unsafe { write_one::<T>(result, old) };
                Ok(())
            })
        })
    })
}

/// Atomically replaces one element of `dtype` at byte `offset` of `rank`'s part of `seg` with
/// `*swap` if it equals `*compare`; `*result` receives the previous value
/// (`MPI_Compare_and_swap` + flush). **One-sided**, blocking. dtypes: BOOL and integers (F32/F64
/// and complex → `DISTARR_ERR_DTYPE`). Alignment as `distarr_acc`.
///
/// # Safety
/// `result`, `compare` and `swap` are valid for one element of `dtype` (any alignment).
#[no_mangle]
pub unsafe extern "C" fn distarr_cas(
    result: *mut c_void,
    compare: *const c_void,
    swap: *const c_void,
    rank: i32,
    seg: u32,
    offset: u64,
    dtype: i32,
) -> c_int {
    boundary!("distarr_cas", {
        with_state(|st| {
            nonnull!(result, compare, swap);
            check_dtype_op(dtype, false, false)?;
            check!(
                dtype != crate::codes::DISTARR_DTYPE_F32 && dtype != crate::codes::DISTARR_DTYPE_F64,
                DISTARR_ERR_DTYPE,
                "compare-and-swap needs an integer or BOOL dtype, not the floating-point dtype {dtype}"
            );
            let rank = rank_arg(rank)?;
            let seg = Seg::from_raw(seg);
            onesided(st)?;
            with_dtype!(dtype, T => {
                // SAFETY: `compare` and `swap` are readable for one T (contract).
                let (c, s) = unsafe { (read_one::<T>(compare), read_one::<T>(swap)) };
                let old = st.rt.compare_and_swap::<T>(c, s, rank, seg, offset)?;
                // SAFETY: `result` is writable for one T (contract).
                unsafe { write_one::<T>(result, old) };
                Ok(())
            })
        })
    })
}

// --- implicit completion ---------------------------------------------------------------------

/// Starts a get of `bytes` bytes from `rank`'s part of `seg` at byte `offset` into `dst` with
/// implicit completion (OpenSHMEM's `shmem_getmem_nbi`: an `MPI_Get` without a request; a memory
/// copy on the node, complete at once). **One-sided**, non-blocking: the data is in `dst` once
/// one of `distarr_flush_local(rank)`, `distarr_flush(rank)`, `distarr_flush_local_all`,
/// `distarr_flush_all`, `distarr_fence`, `distarr_sync` or `distarr_finalize` has returned on
/// this rank. Until then `dst` must stay valid and must be neither read nor written (the buffer
/// belongs to distarr between the call and the completion call). Checks and errors as
/// `distarr_get`, all before anything is started (then nothing is in flight).
///
/// # Safety
/// `dst` is valid for writes of `bytes` bytes until a completion call above returns, and does
/// not overlap the source range.
#[no_mangle]
pub unsafe extern "C" fn distarr_get_nbi(dst: *mut c_void, rank: i32, seg: u32, offset: u64, bytes: u64) -> c_int {
    boundary!("distarr_get_nbi", {
        with_state(|st| {
            let rank = rank_arg(rank)?;
            let n = len_arg(bytes)?;
            nonnull_if(dst, n, "dst")?;
            check_span(n)?;
            onesided(st)?;
            // SAFETY: `dst` is writable for `n` bytes and untouched until a completion call
            // (contract); finalize completes every operation before the runtime ends.
            unsafe { st.rt.get_nbi(dst.cast(), n, rank, Seg::from_raw(seg), offset)? };
            Ok(())
        })
    })
}

/// Starts a put of the `bytes` bytes at `src` into `rank`'s part of `seg` at byte `offset` with
/// implicit completion (`shmem_putmem_nbi`: an `MPI_Put` without a request). **One-sided**,
/// non-blocking: `src` may be reused (local completion) once `distarr_flush_local(rank)`,
/// `distarr_flush_local_all` or any of the calls below has returned; the data is at the target
/// (remote completion) once `distarr_flush(rank)`, `distarr_flush_all`, `distarr_fence`,
/// `distarr_sync` or `distarr_finalize` has returned. Until local completion `src` must stay
/// valid and unmodified. Checks and errors as `distarr_put`.
///
/// # Safety
/// `src` is valid for reads of `bytes` bytes until a call that completes the operation locally
/// returns, and does not overlap the target range.
#[no_mangle]
pub unsafe extern "C" fn distarr_put_nbi(rank: i32, seg: u32, offset: u64, src: *const c_void, bytes: u64) -> c_int {
    boundary!("distarr_put_nbi", {
        with_state(|st| {
            let rank = rank_arg(rank)?;
            let n = len_arg(bytes)?;
            nonnull_if(src, n, "src")?;
            check_span(n)?;
            onesided(st)?;
            // SAFETY: `src` is readable for `n` bytes and unmodified until a completion call
            // (contract); finalize completes every operation before the runtime ends.
            unsafe { st.rt.put_nbi(rank, Seg::from_raw(seg), offset, src.cast(), n)? };
            Ok(())
        })
    })
}

// --- completion, epochs, collectives -------------------------------------------------------------

/// Completes every operation this rank issued to `rank`, at origin and target (`MPI_Win_flush`):
/// gets have landed, puts are visible at the target. **One-sided.**
#[no_mangle]
pub extern "C" fn distarr_flush(rank: i32) -> c_int {
    boundary!("distarr_flush", {
        with_state(|st| {
            st.rt.flush(rank_arg(rank)?)?;
            Ok(())
        })
    })
}

/// Completes every operation this rank issued to `rank` at the origin only
/// (`MPI_Win_flush_local`): gets have landed and put buffers may be reused, but puts may not be
/// visible at the target yet. **One-sided.**
#[no_mangle]
pub extern "C" fn distarr_flush_local(rank: i32) -> c_int {
    boundary!("distarr_flush_local", {
        with_state(|st| {
            st.rt.flush_local(rank_arg(rank)?)?;
            Ok(())
        })
    })
}

/// Completes every operation this rank issued, to all ranks (`MPI_Win_flush_all`). **One-sided.**
#[no_mangle]
pub extern "C" fn distarr_flush_all() -> c_int {
    boundary!("distarr_flush_all", {
        with_state(|st| {
            st.rt.flush_all()?;
            Ok(())
        })
    })
}

/// Local completion of every operation this rank issued (`MPI_Win_flush_local_all`): gets have
/// landed, put buffers may be reused. **One-sided.**
#[no_mangle]
pub extern "C" fn distarr_flush_local_all() -> c_int {
    boundary!("distarr_flush_local_all", {
        with_state(|st| {
            st.rt.flush_local_all()?;
            Ok(())
        })
    })
}

/// A BSP fence (like `MPI_Win_fence`): when it returns on any rank, every one-sided operation
/// issued by any rank before it is complete at its target. **Collective.**
#[no_mangle]
pub extern "C" fn distarr_fence() -> c_int {
    boundary!("distarr_fence", {
        collective(Cmd::Fence, &mut Local::default())?;
        Ok(())
    })
}

/// `MPI_Barrier`. **Collective.** Orders no memory operations by itself (use `distarr_sync`).
#[no_mangle]
pub extern "C" fn distarr_barrier() -> c_int {
    boundary!("distarr_barrier", {
        collective(Cmd::Barrier, &mut Local::default())?;
        Ok(())
    })
}

/// Flush all + memory synchronisation + barrier: afterwards every rank sees, through one-sided
/// reads and through loads of its own `distarr_gmem_local` memory, every write any rank made
/// before the call. **Collective.**
#[no_mangle]
pub extern "C" fn distarr_sync() -> c_int {
    boundary!("distarr_sync", {
        collective(Cmd::Sync, &mut Local::default())?;
        Ok(())
    })
}

/// Broadcasts `bytes` bytes at `buf` from `root` to every rank (`MPI_Bcast`). **Collective**;
/// every rank passes the same `bytes` and `root`. SPMD mode only (`DISTARR_ERR_STATE` in
/// sequential mode).
///
/// # Safety
/// `buf` is valid for reads and writes of `bytes` bytes.
#[no_mangle]
pub unsafe extern "C" fn distarr_bcast(buf: *mut c_void, bytes: u64, root: i32) -> c_int {
    boundary!("distarr_bcast", {
        with_state(|st| {
            st.spmd_only("distarr_bcast")?;
            let root = rank_arg(root)?;
            check!(
                root < st.rt.nranks(),
                DISTARR_ERR_RANK,
                "root {root} out of range 0..{}",
                st.rt.nranks()
            );
            // SAFETY: `buf` is valid for `bytes` bytes (contract).
            let b = unsafe { out_bytes(buf, len_arg(bytes)?, "buf")? };
            st.rt.broadcast(b, root)?;
            Ok(())
        })
    })
}

/// In-place all-reduce of `count` elements of `dtype` at `buf` with `op` (SUM, PROD, MIN, MAX;
/// BAND, BOR, BXOR on integers and BOOL) (`MPI_Allreduce`). **Collective**; same `count`,
/// `dtype`, `op` on every rank. SPMD mode only (`DISTARR_ERR_STATE` in sequential mode).
/// `buf` is written only on success.
///
/// # Safety
/// `buf` is valid for reads and writes of `count` elements of `dtype` (any alignment).
#[no_mangle]
pub unsafe extern "C" fn distarr_allreduce(buf: *mut c_void, count: u64, dtype: i32, op: i32) -> c_int {
    boundary!("distarr_allreduce", {
        with_state(|st| {
            st.spmd_only("distarr_allreduce")?;
            let rop = reduce_op(op)?;
            let bitwise = matches!(
                rop,
                distarr_runtime::ReduceOp::Band | distarr_runtime::ReduceOp::Bor | distarr_runtime::ReduceOp::Bxor
            );
            let arith = matches!(rop, distarr_runtime::ReduceOp::Sum | distarr_runtime::ReduceOp::Prod);
            check_dtype_op(dtype, bitwise, arith)?;
            let n = len_arg(count)?;
            with_dtype!(dtype, T => {
                // SAFETY: `buf` is readable for `n` elements of T (contract).
                let mut v = unsafe { in_elems::<T>(buf, n, "buf")? }.into_owned();
                st.rt.allreduce(&mut v, rop)?;
                let out = buf.cast::<T>();
                for (k, x) in v.into_iter().enumerate() {
                    // SAFETY: `buf` is writable for `n` elements of T (contract), k < n.
                    unsafe { out.add(k).write_unaligned(x) };
                }
                Ok(())
            })
        })
    })
}

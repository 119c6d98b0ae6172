//! The exported PGAS-level functions: life cycle, global memory, one-sided operations, epochs
//! and collectives.
#![allow(non_camel_case_types)]

use crate::codes::{acc_op, check_dtype_op, reduce_op, with_dtype, Mode};
use crate::state::{self, collective, spmd_only, state, Cmd, REQUESTS};
use crate::status::{boundary, check, nonnull, CError, CResult, DISTARR_ERR_ARG, DISTARR_ERR_BOUNDS, DISTARR_ERR_RANK};
use distarr_runtime::{AccOp, CommSource, Elem, Seg};
use std::borrow::Cow;
use std::ffi::{c_char, c_int, c_void};

/// A non-blocking get or put in flight (from `distarr_get_nb` / `distarr_put_nb`). `0` is the
/// null request: never issued, or already completed by `distarr_wait` / `distarr_test`.
/// Owned by the caller until completed; completing it frees it.
pub type distarr_request = i64;

/// A distributed array (array functions; 0 is never a valid array).
pub type distarr_array = i64;

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
unsafe fn read_one<T: Elem + Copy>(p: *const c_void) -> T {
    // SAFETY: the contract; Elem types accept every bit pattern.
    unsafe { p.cast::<T>().read_unaligned() }
}

/// Writes one `T` to a C pointer (any alignment).
///
/// # Safety
/// `p` is non-null and valid for writes of `size_of::<T>()` bytes.
unsafe fn write_one<T: Elem + Copy>(p: *mut c_void, v: T) {
    // SAFETY: the contract.
    unsafe { p.cast::<T>().write_unaligned(v) }
}

// --- life cycle -------------------------------------------------------------------------------

/// Initialises distarr (and MPI, unless the program already did) on `MPI_COMM_WORLD`.
/// **Collective** over all processes. The mode comes from `DISTARR_MODE` (`spmd`, the default,
/// or `sequential`); in sequential mode this call returns on rank 0 only (see the preamble).
/// Settings come from the `DISTARR_*` environment variables (a malformed one → `DISTARR_ERR_ARG`).
///
/// `argc` and `argv` may be NULL; they are accepted for symmetry with `MPI_Init` and not modified.
/// Returns `DISTARR_ERR_STATE` if distarr is already initialized on this thread, or if MPI was
/// finalized.
///
/// # Safety
/// `argc`/`argv` are NULL or point to `main`'s arguments (they are not dereferenced).
#[no_mangle]
pub unsafe extern "C" fn distarr_init(argc: *mut c_int, argv: *mut *mut *mut c_char) -> c_int {
    // SAFETY: forwarded with the same contract.
    unsafe { distarr_init_mode(argc, argv, crate::codes::DISTARR_MODE_ENV) }
}

/// `distarr_init` with an explicit mode: `DISTARR_MODE_SPMD`, `DISTARR_MODE_SEQUENTIAL`, or
/// `DISTARR_MODE_ENV` (read `DISTARR_MODE`). An unknown code → `DISTARR_ERR_ARG`. **Collective.**
///
/// # Safety
/// As `distarr_init`.
#[no_mangle]
pub unsafe extern "C" fn distarr_init_mode(argc: *mut c_int, argv: *mut *mut *mut c_char, mode: i32) -> c_int {
    let _ = (argc, argv);
    boundary!("distarr_init_mode", {
        let mode = Mode::from_code(mode)?;
        state::init(mode, || Ok(CommSource::World))
    })
}

/// Initialises distarr on a communicator from Fortran (an `MPI_Fint`, e.g. `MPI_COMM_WORLD` of
/// the `mpi` module, or `comm%MPI_VAL` of `mpi_f08`), which distarr duplicates (the caller keeps
/// and frees its own). The program must have initialised MPI (else `DISTARR_ERR_STATE`) and
/// finalises it after `distarr_finalize`. Mode from `DISTARR_MODE`. **Collective** over the
/// communicator. A handle that is not a communicator → `DISTARR_ERR_ARG`.
#[no_mangle]
pub extern "C" fn distarr_init_fortran(fortran_comm: i64) -> c_int {
    boundary!("distarr_init_fortran", {
        let mode = Mode::from_code(crate::codes::DISTARR_MODE_ENV)?;
        state::init(mode, || {
            check!(
                distarr_ffi::initialized()?,
                DISTARR_ERR_STATE,
                "MPI is not initialized: call MPI_Init before distarr_init_fortran"
            );
            let f = distarr_ffi::Fint::try_from(fortran_comm).map_err(|_| {
                CError::new(
                    DISTARR_ERR_ARG,
                    format!("{fortran_comm} is not a Fortran MPI handle (out of range)"),
                )
            })?;
            let comm = distarr_runtime::Comm::from_fortran(f)
                .map_err(|e| CError::new(DISTARR_ERR_ARG, format!("bad Fortran communicator: {e}")))?;
            Ok(CommSource::Borrowed(comm))
        })
    })
}

/// Finalises distarr: completes outstanding requests (their buffers must still be valid),
/// frees all global memory, and finalises MPI if distarr initialised it. **Collective.**
/// In sequential mode rank 0's call also ends the workers (they exit with status 0).
/// Every later call (except `distarr_strerror`, `distarr_last_error`, `distarr_initialized`)
/// returns `DISTARR_ERR_STATE`.
#[no_mangle]
pub extern "C" fn distarr_finalize() -> c_int {
    boundary!("distarr_finalize", { state::finalize() })
}

/// `*flag = 1` if distarr is initialized on this thread (and not finalized), else 0. Local;
/// callable at any time.
///
/// # Safety
/// `flag` is NULL (→ `DISTARR_ERR_NULL`) or valid for writing an `int32_t`.
#[no_mangle]
pub unsafe extern "C" fn distarr_initialized(flag: *mut i32) -> c_int {
    boundary!("distarr_initialized", {
        nonnull!(flag);
        let up = state().is_ok();
        // SAFETY: `flag` is non-null and writable (contract).
        unsafe { flag.write(i32::from(up)) };
        Ok(())
    })
}

/// `*mode` = the running mode: `DISTARR_MODE_SPMD` or `DISTARR_MODE_SEQUENTIAL`. Local.
///
/// # Safety
/// `mode` is NULL (→ `DISTARR_ERR_NULL`) or valid for writing an `int32_t`.
#[no_mangle]
pub unsafe extern "C" fn distarr_mode(mode: *mut i32) -> c_int {
    boundary!("distarr_mode", {
        let st = state()?;
        nonnull!(mode);
        // SAFETY: `mode` is non-null and writable (contract).
        unsafe { mode.write(st.mode.code()) };
        Ok(())
    })
}

/// `*rank` = this process's rank in distarr's communicator (0 for the program in sequential
/// mode). Local.
///
/// # Safety
/// `rank` is NULL (→ `DISTARR_ERR_NULL`) or valid for writing an `int32_t`.
#[no_mangle]
pub unsafe extern "C" fn distarr_rank(rank: *mut i32) -> c_int {
    boundary!("distarr_rank", {
        let st = state()?;
        nonnull!(rank);
        let r = i32::try_from(st.rt.rank()).map_err(|_| CError::new(DISTARR_ERR_RANK, "rank exceeds int32_t"))?;
        // SAFETY: `rank` is non-null and writable (contract).
        unsafe { rank.write(r) };
        Ok(())
    })
}

/// `*nranks` = number of ranks (in sequential mode too: every rank holds global memory). Local.
///
/// # Safety
/// `nranks` is NULL (→ `DISTARR_ERR_NULL`) or valid for writing an `int32_t`.
#[no_mangle]
pub unsafe extern "C" fn distarr_nranks(nranks: *mut i32) -> c_int {
    boundary!("distarr_nranks", {
        let st = state()?;
        nonnull!(nranks);
        let n = i32::try_from(st.rt.nranks()).map_err(|_| CError::new(DISTARR_ERR_RANK, "nranks exceeds int32_t"))?;
        // SAFETY: `nranks` is non-null and writable (contract).
        unsafe { nranks.write(n) };
        Ok(())
    })
}

/// `*is_root` = 1 on rank 0, else 0. Local.
///
/// # Safety
/// `is_root` is NULL (→ `DISTARR_ERR_NULL`) or valid for writing an `int32_t`.
#[no_mangle]
pub unsafe extern "C" fn distarr_is_root(is_root: *mut i32) -> c_int {
    boundary!("distarr_is_root", {
        let st = state()?;
        nonnull!(is_root);
        // SAFETY: `is_root` is non-null and writable (contract).
        unsafe { is_root.write(i32::from(st.rt.rank() == 0)) };
        Ok(())
    })
}

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
        state()?;
        nonnull!(seg);
        let id = collective(Cmd::GmemAlloc { bytes: bytes_per_rank }, |_| Ok(()))?;
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
        collective(Cmd::GmemFree { seg }, |rt| {
            rt.seg_len(Seg::from_raw(seg))?;
            Ok(())
        })?;
        Ok(())
    })
}

/// `*base`, `*bytes` = this rank's part of a segment: its address and length. Local. The
/// memory belongs to distarr (never free it) and is valid until the segment is freed; other
/// ranks may write it: read it after `distarr_sync` (or a flush by the writer + barrier).
///
/// # Safety
/// `base` and `bytes` are NULL (→ `DISTARR_ERR_NULL`) or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_gmem_local(seg: u32, base: *mut *mut c_void, bytes: *mut u64) -> c_int {
    boundary!("distarr_gmem_local", {
        let st = state()?;
        nonnull!(base, bytes);
        let (p, len) = st.rt.local_ptr(Seg::from_raw(seg))?;
        // SAFETY: both pointers are non-null and writable (contract).
        unsafe {
            base.write(p.cast());
            bytes.write(len);
        }
        Ok(())
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
        let st = state()?;
        let rank = rank_arg(rank)?;
        // SAFETY: `dst` is writable for `bytes` bytes (contract).
        let dst = unsafe { out_bytes(dst, len_arg(bytes)?, "dst")? };
        st.rt.get(dst, rank, Seg::from_raw(seg), offset)?;
        Ok(())
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
        let st = state()?;
        let rank = rank_arg(rank)?;
        // SAFETY: `src` is readable for `bytes` bytes (contract).
        let src = unsafe { in_bytes(src, len_arg(bytes)?, "src")? };
        st.rt.put(rank, Seg::from_raw(seg), offset, src)?;
        Ok(())
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
        let st = state()?;
        nonnull!(req);
        let rank = rank_arg(rank)?;
        let n = len_arg(bytes)?;
        nonnull_if(dst, n, "dst")?;
        check_span(n)?;
        // SAFETY: `dst` is writable for `n` bytes until the request completes (contract); the
        // request table holds the request until it is waited, tested complete, or finalize
        // completes it before the runtime ends.
        let r = unsafe { st.rt.get_nb_raw(dst.cast(), n, rank, Seg::from_raw(seg), offset)? };
        let id = REQUESTS.with(|t| t.borrow_mut().insert(r))?;
        // SAFETY: `req` is non-null and writable (contract).
        unsafe { req.write(id) };
        Ok(())
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
        let st = state()?;
        nonnull!(req);
        let rank = rank_arg(rank)?;
        let n = len_arg(bytes)?;
        nonnull_if(src, n, "src")?;
        check_span(n)?;
        // SAFETY: as in distarr_get_nb, for reads of `src`.
        let r = unsafe { st.rt.put_nb_raw(rank, Seg::from_raw(seg), offset, src.cast(), n)? };
        let id = REQUESTS.with(|t| t.borrow_mut().insert(r))?;
        // SAFETY: `req` is non-null and writable (contract).
        unsafe { req.write(id) };
        Ok(())
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
        state()?;
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
        state()?;
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
        let st = state()?;
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
            st.rt.accumulate::<T>(&v, rank, seg, offset, op).map_err(CError::from)
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
        let st = state()?;
        nonnull!(result, operand);
        let op = acc_op(op)?;
        check_dtype_op(dtype, op.is_bitwise(), matches!(op, AccOp::Sum | AccOp::Prod))?;
        let rank = rank_arg(rank)?;
        let seg = Seg::from_raw(seg);
        with_dtype!(dtype, T => {
            // SAFETY: `operand` is readable for one T (contract).
            let x = unsafe { read_one::<T>(operand) };
            let old = st.rt.fetch_and_op::<T>(x, rank, seg, offset, op)?;
            // SAFETY: `result` is writable for one T (contract).
            unsafe { write_one::<T>(result, old) };
            Ok(())
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
        let st = state()?;
        nonnull!(result, compare, swap);
        check_dtype_op(dtype, false, false)?;
        check!(
            dtype != crate::codes::DISTARR_DTYPE_F32 && dtype != crate::codes::DISTARR_DTYPE_F64,
            DISTARR_ERR_DTYPE,
            "compare-and-swap needs an integer or BOOL dtype, not the floating-point dtype {dtype}"
        );
        let rank = rank_arg(rank)?;
        let seg = Seg::from_raw(seg);
        with_dtype!(dtype, T => {
            // SAFETY: `compare` and `swap` are readable for one T (contract).
            let (c, s) = unsafe { (read_one::<T>(compare), read_one::<T>(swap)) };
            let old = st.rt.compare_and_swap::<T>(c, s, rank, seg, offset)?;
            // SAFETY: `result` is writable for one T (contract).
            unsafe { write_one::<T>(result, old) };
            Ok(())
        })
    })
}

// --- completion, epochs, collectives -------------------------------------------------------------

/// Completes every operation this rank issued to `rank`, at origin and target (`MPI_Win_flush`).
/// **One-sided.**
#[no_mangle]
pub extern "C" fn distarr_flush(rank: i32) -> c_int {
    boundary!("distarr_flush", {
        let st = state()?;
        st.rt.flush(rank_arg(rank)?)?;
        Ok(())
    })
}

/// Completes every operation this rank issued, to all ranks (`MPI_Win_flush_all`). **One-sided.**
#[no_mangle]
pub extern "C" fn distarr_flush_all() -> c_int {
    boundary!("distarr_flush_all", {
        state()?.rt.flush_all()?;
        Ok(())
    })
}

/// A BSP fence (like `MPI_Win_fence`): when it returns on any rank, every one-sided operation
/// issued by any rank before it is complete at its target. **Collective.**
#[no_mangle]
pub extern "C" fn distarr_fence() -> c_int {
    boundary!("distarr_fence", {
        collective(Cmd::Fence, |_| Ok(()))?;
        Ok(())
    })
}

/// `MPI_Barrier`. **Collective.** Orders no memory operations by itself (use `distarr_sync`).
#[no_mangle]
pub extern "C" fn distarr_barrier() -> c_int {
    boundary!("distarr_barrier", {
        collective(Cmd::Barrier, |_| Ok(()))?;
        Ok(())
    })
}

/// Flush all + memory synchronisation + barrier: afterwards every rank sees, through one-sided
/// reads and through loads of its own `distarr_gmem_local` memory, every write any rank made
/// before the call. **Collective.**
#[no_mangle]
pub extern "C" fn distarr_sync() -> c_int {
    boundary!("distarr_sync", {
        collective(Cmd::Sync, |_| Ok(()))?;
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
        let st = state()?;
        spmd_only(&st, "distarr_bcast")?;
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
        let st = state()?;
        spmd_only(&st, "distarr_allreduce")?;
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
}

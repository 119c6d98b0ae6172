//! The exported life-cycle functions: initialisation (SPMD or sequential mode), finalisation
//! and the local queries of the running library.

use crate::codes::Mode;
use crate::collective;
use crate::state::{running, with_state};
use crate::status::{boundary, check, nonnull, CError, DISTARR_ERR_ARG, DISTARR_ERR_RANK};
use distarr_runtime::CommSource;
use std::ffi::{c_char, c_int};

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
        collective::init(mode, || Ok(CommSource::World))
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
        collective::init(mode, || {
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
    boundary!("distarr_finalize", { collective::finalize() })
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
        let up = running().is_ok();
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
        with_state(|st| {
            nonnull!(mode);
            // SAFETY: `mode` is non-null and writable (contract).
            unsafe { mode.write(st.mode.code()) };
            Ok(())
        })
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
        with_state(|st| {
            nonnull!(rank);
            let r = i32::try_from(st.rt.rank()).map_err(|_| CError::new(DISTARR_ERR_RANK, "rank exceeds int32_t"))?;
            // SAFETY: `rank` is non-null and writable (contract).
            unsafe { rank.write(r) };
            Ok(())
        })
    })
}

/// `*nranks` = number of ranks (in sequential mode too: every rank holds global memory). Local.
///
/// # Safety
/// `nranks` is NULL (→ `DISTARR_ERR_NULL`) or valid for writing an `int32_t`.
#[no_mangle]
pub unsafe extern "C" fn distarr_nranks(nranks: *mut i32) -> c_int {
    boundary!("distarr_nranks", {
        with_state(|st| {
            nonnull!(nranks);
            let n =
                i32::try_from(st.rt.nranks()).map_err(|_| CError::new(DISTARR_ERR_RANK, "nranks exceeds int32_t"))?;
            // SAFETY: `nranks` is non-null and writable (contract).
            unsafe { nranks.write(n) };
            Ok(())
        })
    })
}

/// `*is_root` = 1 on rank 0, else 0. Local.
///
/// # Safety
/// `is_root` is NULL (→ `DISTARR_ERR_NULL`) or valid for writing an `int32_t`.
#[no_mangle]
pub unsafe extern "C" fn distarr_is_root(is_root: *mut i32) -> c_int {
    boundary!("distarr_is_root", {
        with_state(|st| {
            nonnull!(is_root);
            // SAFETY: `is_root` is non-null and writable (contract).
            unsafe { is_root.write(i32::from(st.rt.rank() == 0)) };
            Ok(())
        })
    })
}

/// `*messages`, `*commands` = how many command messages rank 0 of sequential mode has sent to
/// the other ranks since `distarr_init`, and how many commands they carried (see SEQUENTIAL
/// MODE: commands travel in batches, sent when the other ranks must act). 0 and 0 on the other
/// ranks, in SPMD mode and at one rank. Local; a diagnostic.
///
/// # Safety
/// `messages` and `commands` are NULL (→ `DISTARR_ERR_NULL`) or valid for writing a `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn distarr_seq_stats(messages: *mut u64, commands: *mut u64) -> c_int {
    boundary!("distarr_seq_stats", {
        with_state(|st| {
            nonnull!(messages, commands);
            let (m, c) = st.batch.as_ref().map_or((0, 0), |b| b.stats());
            // SAFETY: both are non-null and writable (contract).
            unsafe {
                messages.write(m);
                commands.write(c);
            }
            Ok(())
        })
    })
}

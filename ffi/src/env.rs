//! Initialisation, finalisation and facts about the MPI library.
use crate::consts::*;
use crate::error::{check, MpiError, Result};
use crate::Flavor;

/// MPI thread support levels (`MPI_THREAD_*`), ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ThreadLevel {
    /// `MPI_THREAD_SINGLE`
    Single,
    /// `MPI_THREAD_FUNNELED`
    Funneled,
    /// `MPI_THREAD_SERIALIZED`
    Serialized,
    /// `MPI_THREAD_MULTIPLE`
    Multiple,
}

impl ThreadLevel {
    fn raw(self) -> i32 {
        match self {
            ThreadLevel::Single => thread_single(),
            ThreadLevel::Funneled => thread_funneled(),
            ThreadLevel::Serialized => thread_serialized(),
            ThreadLevel::Multiple => thread_multiple(),
        }
    }

    fn from_raw(v: i32) -> ThreadLevel {
        if v == thread_multiple() {
            ThreadLevel::Multiple
        } else if v == thread_serialized() {
            ThreadLevel::Serialized
        } else if v == thread_funneled() {
            ThreadLevel::Funneled
        } else {
            ThreadLevel::Single
        }
    }
}

/// `MPI_Initialized`. Local; may be called at any time.
#[doc(alias = "MPI_Initialized")]
pub fn initialized() -> Result<bool> {
    let mut flag = 0;
    // SAFETY: `flag` is a valid out-parameter; MPI_Initialized may be called at any time.
    check(unsafe { mpi_sys::MPI_Initialized(&mut flag) }, "MPI_Initialized")?;
    Ok(flag != 0)
}

/// `MPI_Finalized`. Local; may be called at any time.
#[doc(alias = "MPI_Finalized")]
pub fn finalized() -> Result<bool> {
    let mut flag = 0;
    // SAFETY: `flag` is a valid out-parameter; MPI_Finalized may be called at any time.
    check(unsafe { mpi_sys::MPI_Finalized(&mut flag) }, "MPI_Finalized")?;
    Ok(flag != 0)
}

/// True when MPI cannot be called any more (never initialised or already finalised). Used by
/// `Drop` impls, which must not call MPI then.
pub(crate) fn finalized_quiet() -> bool {
    !initialized().unwrap_or(false) || finalized().unwrap_or(true)
}

/// `MPI_Init_thread(NULL, NULL, required, &provided)`: **collective** over all processes.
/// Returns the provided level. Sets `MPI_ERRORS_RETURN` on `MPI_COMM_WORLD` and
/// `MPI_COMM_SELF` so failures come back as errors instead of aborting.
#[doc(alias = "MPI_Init_thread")]
pub fn init_thread(required: ThreadLevel) -> Result<ThreadLevel> {
    let mut provided = 0;
    check(
        // SAFETY:
        // - MPI allows NULL argc/argv;
        // - `provided` is a valid out-parameter; the caller checked MPI is not initialised
        //   (a second init is reported by MPI as an error, not UB, in both implementations).
        unsafe {
            mpi_sys::MPI_Init_thread(
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                required.raw(),
                &mut provided,
            )
        },
        "MPI_Init_thread",
    )?;
    crate::Comm::world().set_errors_return()?;
    crate::Comm::self_().set_errors_return()?;
    Ok(ThreadLevel::from_raw(provided))
}

/// `MPI_Query_thread`: the thread level of the running MPI.
#[doc(alias = "MPI_Query_thread")]
pub fn query_thread() -> Result<ThreadLevel> {
    let mut provided = 0;
    // SAFETY: `provided` is a valid out-parameter; MPI is initialised (caller's duty: MPI
    // reports an error otherwise).
    check(unsafe { mpi_sys::MPI_Query_thread(&mut provided) }, "MPI_Query_thread")?;
    Ok(ThreadLevel::from_raw(provided))
}

/// `MPI_Finalize`: **collective** over all processes. All windows and communicators
/// created by distarr must be freed first.
#[doc(alias = "MPI_Finalize")]
pub fn finalize() -> Result<()> {
    // SAFETY: no arguments; MPI reports an error if it is not initialised.
    check(unsafe { mpi_sys::MPI_Finalize() }, "MPI_Finalize")
}

/// `MPI_Abort(MPI_COMM_WORLD, code)`: ends every process of the job. Used once ranks are inside
/// a collective that failed and cannot agree to continue.
#[doc(alias = "MPI_Abort")]
pub fn abort(code: i32) -> ! {
    // SAFETY: MPI_Abort takes a communicator and an int; it does not return when MPI is
    // initialised. If it returns (MPI not initialised), we exit the process below.
    unsafe {
        mpi_sys::MPI_Abort(comm_world(), code);
    }
    std::process::exit(code.max(1))
}

/// `MPI_Wtime`.
#[doc(alias = "MPI_Wtime")]
pub fn wtime() -> f64 {
    // SAFETY: no arguments; MPI_Wtime may be called at any time after init.
    unsafe { mpi_sys::RSMPI_Wtime() }
}

/// `MPI_Get_library_version`: the implementation's version string. Local; callable before init.
#[doc(alias = "MPI_Get_library_version")]
pub fn library_version() -> Result<String> {
    let n = usize::try_from(max_library_version_string())
        .map_err(|_| MpiError::local("MPI_Get_library_version", "bad buffer size".into()))?;
    let mut buf = vec![0u8; n.max(1)];
    let mut len = 0;
    check(
        // SAFETY:
        // - `buf` holds MPI_MAX_LIBRARY_VERSION_STRING bytes, the most MPI writes;
        // - `len` is a valid out-parameter; the call is allowed before MPI_Init.
        unsafe { mpi_sys::MPI_Get_library_version(buf.as_mut_ptr().cast(), &mut len) },
        "MPI_Get_library_version",
    )?;
    let len = usize::try_from(len).unwrap_or(0).min(buf.len());
    Ok(String::from_utf8_lossy(&buf[..len])
        .trim_end_matches('\0')
        .trim()
        .to_string())
}

/// The MPI implementation distarr was compiled against.
pub fn flavor() -> Flavor {
    compiled_flavor()
}

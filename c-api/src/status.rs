//! Status codes, the thread-local error message, the panic boundary and argument-check macros.
use distarr_runtime::ErrorKind;
use std::cell::RefCell;
use std::ffi::{c_char, c_int, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Success.
pub const DISTARR_OK: i32 = 0;

// --- 1x: arguments --------------------------------------------------------------------------
/// An argument is invalid (a negative count, an unknown mode, a malformed environment
/// variable, …).
pub const DISTARR_ERR_ARG: i32 = 10;
/// A required pointer argument is NULL.
pub const DISTARR_ERR_NULL: i32 = 11;
/// Unknown dtype code, or an operation not defined for the dtype (bitwise ops on floats,
/// compare-and-swap on floats, atomics on complex numbers).
pub const DISTARR_ERR_DTYPE: i32 = 12;
/// Unknown operation code, or an operation the call does not accept (`DISTARR_OP_NO_OP` in
/// `distarr_acc`).
pub const DISTARR_ERR_OP: i32 = 13;
/// Shapes do not match or are invalid (array functions).
pub const DISTARR_ERR_SHAPE: i32 = 14;
/// A typed operation's byte offset is not a multiple of the element size.
pub const DISTARR_ERR_MISALIGNED: i32 = 15;

// --- 2x: handles ----------------------------------------------------------------------------
/// A handle (`distarr_request`, `distarr_array`) that was freed, completed, never issued, or
/// is of another kind.
pub const DISTARR_ERR_HANDLE: i32 = 20;
/// A global-memory segment id that was freed or never allocated.
pub const DISTARR_ERR_SEGMENT: i32 = 21;

// --- 3x: ranges -----------------------------------------------------------------------------
/// A byte range or index outside its segment or array.
pub const DISTARR_ERR_BOUNDS: i32 = 30;
/// A rank outside `0 .. nranks`.
pub const DISTARR_ERR_RANK: i32 = 31;

// --- 4x: resources --------------------------------------------------------------------------
/// The symmetric heap (or this process's memory) cannot hold the request.
pub const DISTARR_ERR_NOMEM: i32 = 40;

// --- 5x: state ------------------------------------------------------------------------------
/// The call is not allowed now: distarr is not initialized, already initialized, finalized,
/// used from a thread other than the one that initialized it, or the call is not available in
/// the current mode (e.g. `distarr_bcast` in sequential mode).
pub const DISTARR_ERR_STATE: i32 = 50;
/// Ranks passed different arguments to a collective call (reported on every rank).
pub const DISTARR_ERR_COLLECTIVE: i32 = 51;
/// The operation is not supported in this configuration.
pub const DISTARR_ERR_UNSUPPORTED: i32 = 52;

// --- 6x: system -----------------------------------------------------------------------------
/// The MPI library reported an error.
pub const DISTARR_ERR_MPI: i32 = 60;
/// A file could not be read or written.
pub const DISTARR_ERR_IO: i32 = 61;

// --- 9x: bugs -------------------------------------------------------------------------------
/// An internal error in distarr (a caught panic: please report it with the message).
pub const DISTARR_ERR_INTERNAL: i32 = 90;

/// A failure inside the library: a status code and a message for `distarr_last_error`.
#[derive(Debug)]
pub(crate) struct CError {
    pub code: i32,
    pub msg: String,
}

impl CError {
    pub fn new(code: i32, msg: impl Into<String>) -> CError {
        CError { code, msg: msg.into() }
    }
}

/// The status code for a runtime error kind.
pub(crate) fn code_of(kind: ErrorKind) -> i32 {
    match kind {
        ErrorKind::InvalidArgument => DISTARR_ERR_ARG,
        ErrorKind::RankOutOfRange => DISTARR_ERR_RANK,
        ErrorKind::OutOfBounds => DISTARR_ERR_BOUNDS,
        ErrorKind::Misaligned => DISTARR_ERR_MISALIGNED,
        ErrorKind::InvalidSegment => DISTARR_ERR_SEGMENT,
        ErrorKind::OutOfMemory => DISTARR_ERR_NOMEM,
        ErrorKind::NotInitialized => DISTARR_ERR_STATE,
        ErrorKind::CollectiveMismatch => DISTARR_ERR_COLLECTIVE,
        ErrorKind::Mpi => DISTARR_ERR_MPI,
        ErrorKind::Unsupported => DISTARR_ERR_UNSUPPORTED,
        // ErrorKind is non-exhaustive: a kind added later is still an error, reported as such.
        _ => DISTARR_ERR_INTERNAL,
    }
}

impl From<distarr_runtime::Error> for CError {
    fn from(e: distarr_runtime::Error) -> CError {
        CError::new(code_of(e.kind()), e.message())
    }
}

/// The status code for an array-layer error kind.
pub(crate) fn array_code_of(kind: distarr_arrays::ErrorKind) -> i32 {
    use distarr_arrays::ErrorKind as K;
    match kind {
        K::InvalidArgument => DISTARR_ERR_ARG,
        K::Shape => DISTARR_ERR_SHAPE,
        K::DType => DISTARR_ERR_DTYPE,
        K::OutOfBounds => DISTARR_ERR_BOUNDS,
        // A freed array, or one of another runtime (an id kept across finalize/init): both are
        // handles that no longer name a live array.
        K::Freed | K::ForeignRuntime => DISTARR_ERR_HANDLE,
        K::CollectiveMismatch => DISTARR_ERR_COLLECTIVE,
        K::Io => DISTARR_ERR_IO,
        K::OutOfMemory => DISTARR_ERR_NOMEM,
        // The array layer folds the runtime's communication failures into one kind (state
        // errors such as "not initialized" never get there: every entry point checks first).
        K::Runtime => DISTARR_ERR_MPI,
        K::Internal => DISTARR_ERR_INTERNAL,
        // ErrorKind is non-exhaustive.
        _ => DISTARR_ERR_INTERNAL,
    }
}

impl From<distarr_arrays::Error> for CError {
    fn from(e: distarr_arrays::Error) -> CError {
        CError::new(array_code_of(e.kind()), e.message())
    }
}

impl From<distarr_ffi::MpiError> for CError {
    fn from(e: distarr_ffi::MpiError) -> CError {
        CError::new(DISTARR_ERR_MPI, e.to_string())
    }
}

pub(crate) type CResult<T> = Result<T, CError>;

/// Returns early with a `CError` of the given code when the condition is false.
macro_rules! check {
    ($cond:expr, $code:ident, $($fmt:tt)+) => {
        if !$cond {
            return Err($crate::status::CError::new($crate::status::$code, format!($($fmt)+)));
        }
    };
}
pub(crate) use check;

/// Returns `DISTARR_ERR_NULL` naming the argument when a pointer argument is NULL.
macro_rules! nonnull {
    ($($p:ident),+ $(,)?) => {
        $(
            if $p.is_null() {
                return Err($crate::status::CError::new(
                    $crate::status::DISTARR_ERR_NULL,
                    concat!("argument `", stringify!($p), "` is NULL"),
                ));
            }
        )+
    };
}
pub(crate) use nonnull;

/// The panic boundary around every exported function body: runs the body, records the message
/// of a failure for `distarr_last_error`, catches panics (→ `DISTARR_ERR_INTERNAL`) and returns
/// the status code. Usage: `boundary!("distarr_name", { ...; Ok(()) })`.
macro_rules! boundary {
    ($name:literal, $body:block) => {
        $crate::status::run_boundary($name, || -> $crate::status::CResult<()> { $body })
    };
}
pub(crate) use boundary;

/// See [`boundary!`]. Inlined into every exported function, so the success path is the body
/// plus one compare; recording a failure and catching a panic are out of line.
#[inline(always)]
pub(crate) fn run_boundary(name: &'static str, f: impl FnOnce() -> CResult<()>) -> c_int {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => DISTARR_OK,
        Ok(Err(e)) => failed(name, e),
        Err(payload) => panicked(name, payload),
    }
}

/// Records a failure's message for `distarr_last_error` and returns its code.
#[cold]
#[inline(never)]
fn failed(name: &'static str, e: CError) -> c_int {
    set_last_error(name, &e.msg);
    e.code
}

/// Records a caught panic for `distarr_last_error`: `DISTARR_ERR_INTERNAL`.
#[cold]
#[inline(never)]
fn panicked(name: &'static str, payload: Box<dyn std::any::Any + Send>) -> c_int {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".to_string());
    set_last_error(name, &format!("internal error (panic): {what}"));
    DISTARR_ERR_INTERNAL
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::from(c"no error"));
}

fn set_last_error(name: &str, msg: &str) {
    let text = format!("{name}: {msg}").replace('\0', "\\0");
    let c = CString::new(text).unwrap_or_else(|_| CString::from(c"(message with NUL)"));
    // A failure inside a thread-local destructor has nowhere to go; ignore it.
    let _ = LAST_ERROR.try_with(|e| *e.borrow_mut() = c);
}

/// The message of the calling thread's most recent failed distarr call ("no error" if none
/// failed), e.g. `"distarr_get: bytes [96, 96+64) outside segment of 128 bytes"`.
///
/// The string belongs to distarr and stays valid until the next failing distarr call on the
/// same thread; copy it to keep it. Never NULL. Local; thread-safe.
#[no_mangle]
pub extern "C" fn distarr_last_error() -> *const c_char {
    LAST_ERROR
        .try_with(|e| e.borrow().as_ptr())
        .unwrap_or(c"(thread is exiting)".as_ptr())
}

/// A static description of a status code (e.g. `"rank out of range"`); unknown codes give
/// `"unknown distarr status code"`. Never NULL; never freed. Local; thread-safe.
#[no_mangle]
pub extern "C" fn distarr_strerror(code: c_int) -> *const c_char {
    let s: &'static CStr = match code {
        DISTARR_OK => c"success",
        DISTARR_ERR_ARG => c"invalid argument",
        DISTARR_ERR_NULL => c"NULL pointer argument",
        DISTARR_ERR_DTYPE => c"invalid dtype, or operation not defined for the dtype",
        DISTARR_ERR_OP => c"invalid operation code",
        DISTARR_ERR_SHAPE => c"invalid or mismatched shape",
        DISTARR_ERR_MISALIGNED => c"offset not aligned to the element size",
        DISTARR_ERR_HANDLE => c"invalid, freed or stale handle",
        DISTARR_ERR_SEGMENT => c"invalid or freed segment",
        DISTARR_ERR_BOUNDS => c"out of bounds",
        DISTARR_ERR_RANK => c"rank out of range",
        DISTARR_ERR_NOMEM => c"out of memory",
        DISTARR_ERR_STATE => c"call not allowed in this state (not initialized, finalized, or wrong mode)",
        DISTARR_ERR_COLLECTIVE => c"ranks passed different arguments to a collective call",
        DISTARR_ERR_UNSUPPORTED => c"not supported in this configuration",
        DISTARR_ERR_MPI => c"MPI error",
        DISTARR_ERR_IO => c"I/O error",
        DISTARR_ERR_INTERNAL => c"internal error in distarr",
        _ => c"unknown distarr status code",
    };
    s.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last() -> String {
        // SAFETY: distarr_last_error returns a valid NUL-terminated string owned by this thread.
        unsafe { CStr::from_ptr(distarr_last_error()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn boundary_reports_errors_and_catches_panics() {
        assert_eq!(boundary!("distarr_ok", { Ok(()) }), DISTARR_OK);
        let rc = boundary!("distarr_fails", {
            check!(1 + 1 == 3, DISTARR_ERR_BOUNDS, "arithmetic is {}", "fine");
            Ok(())
        });
        assert_eq!(rc, DISTARR_ERR_BOUNDS);
        assert_eq!(last(), "distarr_fails: arithmetic is fine");
        let p: *const u8 = std::ptr::null();
        let rc = boundary!("distarr_null", {
            nonnull!(p);
            Ok(())
        });
        assert_eq!(rc, DISTARR_ERR_NULL);
        assert_eq!(last(), "distarr_null: argument `p` is NULL");
        let rc = boundary!("distarr_panics", {
            let v: Vec<u8> = Vec::new();
            let _ = v[usize::from(v.is_empty())];
            Ok(())
        });
        assert_eq!(rc, DISTARR_ERR_INTERNAL);
        assert!(last().starts_with("distarr_panics: internal error (panic): index out of bounds"));
        assert_eq!(boundary!("distarr_ok", { Ok(()) }), DISTARR_OK);
        assert!(
            last().starts_with("distarr_panics"),
            "a success keeps the last failure's message"
        );
    }

    #[test]
    fn every_code_has_a_description_and_kinds_map() {
        let unknown = distarr_strerror(-1);
        for code in [
            DISTARR_OK,
            DISTARR_ERR_ARG,
            DISTARR_ERR_NULL,
            DISTARR_ERR_DTYPE,
            DISTARR_ERR_OP,
            DISTARR_ERR_SHAPE,
            DISTARR_ERR_MISALIGNED,
            DISTARR_ERR_HANDLE,
            DISTARR_ERR_SEGMENT,
            DISTARR_ERR_BOUNDS,
            DISTARR_ERR_RANK,
            DISTARR_ERR_NOMEM,
            DISTARR_ERR_STATE,
            DISTARR_ERR_COLLECTIVE,
            DISTARR_ERR_UNSUPPORTED,
            DISTARR_ERR_MPI,
            DISTARR_ERR_IO,
            DISTARR_ERR_INTERNAL,
        ] {
            assert_ne!(distarr_strerror(code), unknown, "code {code}");
        }
        assert_eq!(code_of(ErrorKind::RankOutOfRange), DISTARR_ERR_RANK);
        assert_eq!(code_of(ErrorKind::InvalidSegment), DISTARR_ERR_SEGMENT);
        assert_eq!(code_of(ErrorKind::NotInitialized), DISTARR_ERR_STATE);
        assert_eq!(code_of(ErrorKind::Misaligned), DISTARR_ERR_MISALIGNED);
        use distarr_arrays::ErrorKind as K;
        for (k, c) in [
            (K::InvalidArgument, DISTARR_ERR_ARG),
            (K::Shape, DISTARR_ERR_SHAPE),
            (K::DType, DISTARR_ERR_DTYPE),
            (K::OutOfBounds, DISTARR_ERR_BOUNDS),
            (K::Freed, DISTARR_ERR_HANDLE),
            (K::ForeignRuntime, DISTARR_ERR_HANDLE),
            (K::Io, DISTARR_ERR_IO),
            (K::OutOfMemory, DISTARR_ERR_NOMEM),
            (K::Runtime, DISTARR_ERR_MPI),
            (K::Internal, DISTARR_ERR_INTERNAL),
        ] {
            assert_eq!(array_code_of(k), c, "{k:?}");
        }
    }
}

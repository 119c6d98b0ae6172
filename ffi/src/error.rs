//! MPI error codes turned into Rust errors.
use std::fmt;

/// A failed MPI call: which call, the MPI error code, and MPI's own message for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MpiError {
    /// The MPI function that failed, e.g. `"MPI_Win_allocate"`.
    pub call: &'static str,
    /// The code it returned (`-1` for an argument refused before MPI was called).
    pub code: i32,
    /// `MPI_Error_string` of the code, or the reason the argument was refused.
    pub message: String,
}

impl MpiError {
    /// An argument refused on the Rust side, before calling MPI.
    pub(crate) fn local(call: &'static str, message: String) -> Self {
        MpiError {
            call,
            code: -1,
            message,
        }
    }
}

impl fmt::Display for MpiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.code >= 0 {
            write!(f, "{} failed (MPI error {}): {}", self.call, self.code, self.message)
        } else {
            write!(f, "{}: {}", self.call, self.message)
        }
    }
}

impl std::error::Error for MpiError {}

/// Result of an MPI binding.
pub type Result<T> = std::result::Result<T, MpiError>;

/// Turns an MPI return code into a `Result`.
#[inline]
pub(crate) fn check(code: i32, call: &'static str) -> Result<()> {
    if code == crate::consts::success() {
        Ok(())
    } else {
        Err(MpiError {
            call,
            code,
            message: error_string(code),
        })
    }
}

fn error_string(code: i32) -> String {
    let n = usize::try_from(crate::consts::max_error_string()).unwrap_or(256);
    let mut buf = vec![0u8; n.max(1)];
    let mut len: i32 = 0;
    // SAFETY:
    // - `buf` holds MPI_MAX_ERROR_STRING bytes, the most MPI_Error_string writes;
    // - `len` is a valid out-parameter; MPI_Error_string may be called at any time.
    let rc = unsafe { mpi_sys::MPI_Error_string(code, buf.as_mut_ptr().cast(), &mut len) };
    if rc != crate::consts::success() {
        return format!("unknown MPI error code {code}");
    }
    let len = usize::try_from(len).unwrap_or(0).min(buf.len());
    String::from_utf8_lossy(&buf[..len]).into_owned()
}

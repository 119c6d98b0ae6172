//! The runtime's error type.
use std::fmt;

/// What went wrong, broadly. New kinds may be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An argument is invalid (bad op for the element type, mismatched lengths, …).
    InvalidArgument,
    /// A rank outside `0..nranks`.
    RankOutOfRange,
    /// A byte range outside its segment.
    OutOfBounds,
    /// A typed atomic/accumulate at an offset not aligned to the element size.
    Misaligned,
    /// A segment handle that was freed, never existed, or belongs to another runtime.
    InvalidSegment,
    /// The symmetric heap cannot hold the request.
    OutOfMemory,
    /// The runtime is not initialised, or was finalised.
    NotInitialized,
    /// Ranks disagree on a collective's arguments (detected, reported on every rank).
    CollectiveMismatch,
    /// The MPI library reported an error.
    Mpi,
    /// The operation is not supported in this configuration.
    Unsupported,
    /// Work a layer above the runtime deferred (array operations) failed when a
    /// synchronisation ran it.
    Deferred,
    /// Heap memory outside every live segment was written (found by the `DISTARR_TEST_POISON`
    /// test hook: a bug in distarr).
    HeapCorrupted,
}

/// An error from the runtime: a kind and a message saying what and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    msg: String,
}

impl Error {
    /// A new error.
    pub fn new(kind: ErrorKind, msg: impl Into<String>) -> Error {
        Error { kind, msg: msg.into() }
    }

    /// The broad kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.msg
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.msg)
    }
}

impl std::error::Error for Error {}

impl From<distarr_ffi::MpiError> for Error {
    fn from(e: distarr_ffi::MpiError) -> Error {
        Error::new(ErrorKind::Mpi, e.to_string())
    }
}

/// Result of a runtime call.
pub type Result<T> = std::result::Result<T, Error>;

/// Early-returns an error of the given kind when the condition is false.
macro_rules! ensure {
    ($cond:expr, $kind:ident, $($fmt:tt)+) => {
        if !$cond {
            return Err($crate::Error::new($crate::ErrorKind::$kind, format!($($fmt)+)));
        }
    };
}
pub(crate) use ensure;

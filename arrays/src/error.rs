//! The crate's error type: an [`Error`] carrying an [`ErrorKind`] and a human-readable message.
//!
//! Errors in this crate are returned for bad arguments (shapes, dtypes, indices) before any
//! communication happens; the message is meant to be shown to a user as is (the C API makes it
//! retrievable after a failed call, the Python bindings raise it as an exception).

use std::fmt;

/// The broad class of an [`Error`]. New kinds may be added, so match with a wildcard arm.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// An argument has an invalid value (e.g. a zero slice step, an unknown dtype code).
    InvalidArgument,
    /// Shapes do not match, cannot be broadcast or reshaped.
    Shape,
    /// A dtype is unsupported or dtypes do not match.
    DType,
    /// An index or region lies outside an array or a rank range.
    OutOfBounds,
    /// The array or handle was already freed.
    Freed,
    /// An object belongs to a different runtime instance.
    ForeignRuntime,
    /// Ranks passed different arguments to a collective call (reported on every rank).
    CollectiveMismatch,
    /// An I/O operation failed or a file is malformed.
    Io,
    /// An allocation failed or would exceed limits.
    OutOfMemory,
    /// The communication runtime reported a failure.
    Runtime,
    /// A bug in distarr itself: an internal invariant did not hold.
    Internal,
}

impl ErrorKind {
    /// A short lowercase name for the kind, used as the prefix of [`Error`]'s `Display`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "invalid argument",
            ErrorKind::Shape => "shape error",
            ErrorKind::DType => "dtype error",
            ErrorKind::OutOfBounds => "out of bounds",
            ErrorKind::Freed => "freed",
            ErrorKind::ForeignRuntime => "foreign runtime",
            ErrorKind::CollectiveMismatch => "collective mismatch",
            ErrorKind::Io => "i/o error",
            ErrorKind::OutOfMemory => "out of memory",
            ErrorKind::Runtime => "runtime error",
            ErrorKind::Internal => "internal error",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error from distarr's array layer: a kind plus a message.
///
/// `Display` prints `"<kind>: <message>"`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {msg}")]
pub struct Error {
    kind: ErrorKind,
    msg: String,
}

impl Error {
    /// Creates an error of the given kind with a message.
    pub fn new(kind: ErrorKind, msg: impl Into<String>) -> Self {
        Error { kind, msg: msg.into() }
    }

    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The error's message (without the kind prefix).
    pub fn message(&self) -> &str {
        &self.msg
    }

    /// Shorthand for `Error::new(ErrorKind::InvalidArgument, msg)`.
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidArgument, msg)
    }

    /// Shorthand for `Error::new(ErrorKind::Shape, msg)`.
    pub fn shape(msg: impl Into<String>) -> Self {
        Error::new(ErrorKind::Shape, msg)
    }

    /// Shorthand for `Error::new(ErrorKind::DType, msg)`.
    pub fn dtype(msg: impl Into<String>) -> Self {
        Error::new(ErrorKind::DType, msg)
    }

    /// Shorthand for `Error::new(ErrorKind::OutOfBounds, msg)`.
    pub fn out_of_bounds(msg: impl Into<String>) -> Self {
        Error::new(ErrorKind::OutOfBounds, msg)
    }

    /// Shorthand for `Error::new(ErrorKind::Io, msg)`.
    pub fn io(msg: impl Into<String>) -> Self {
        Error::new(ErrorKind::Io, msg)
    }

    /// Shorthand for `Error::new(ErrorKind::Internal, msg)`.
    pub fn internal(msg: impl Into<String>) -> Self {
        Error::new(ErrorKind::Internal, msg)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        let kind = if e.kind() == std::io::ErrorKind::OutOfMemory {
            ErrorKind::OutOfMemory
        } else {
            ErrorKind::Io
        };
        Error::new(kind, e.to_string())
    }
}

/// Makes a rank-local outcome collective (**collective**: one allreduce): every rank learns
/// whether any rank failed; the failing ranks return their own error, the others an error of
/// `kind` saying that another rank failed. The one way the crate turns a local failure into a
/// collective one, so that no rank goes on while another has given up.
pub(crate) fn agree<T>(rt: &distarr_runtime::Runtime, local: Result<T>, kind: ErrorKind) -> Result<T> {
    let ok = rt.all_ok(local.is_ok())?;
    match local {
        Err(e) => Err(e),
        Ok(_) if !ok => Err(Error::new(kind, "the operation failed on another rank")),
        Ok(v) => Ok(v),
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_has_kind_and_message() {
        let e = Error::new(ErrorKind::Shape, "shapes (2,3) and (4,) differ");
        assert_eq!(e.kind(), ErrorKind::Shape);
        assert_eq!(e.message(), "shapes (2,3) and (4,) differ");
        assert_eq!(e.to_string(), "shape error: shapes (2,3) and (4,) differ");
    }

    #[test]
    fn helpers_set_kind() {
        assert_eq!(Error::invalid("x").kind(), ErrorKind::InvalidArgument);
        assert_eq!(Error::shape("x").kind(), ErrorKind::Shape);
        assert_eq!(Error::dtype("x").kind(), ErrorKind::DType);
        assert_eq!(Error::out_of_bounds("x").kind(), ErrorKind::OutOfBounds);
        assert_eq!(Error::io("x").kind(), ErrorKind::Io);
        assert_eq!(Error::internal("x").kind(), ErrorKind::Internal);
    }

    #[test]
    fn from_io_error() {
        let e: Error = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file").into();
        assert_eq!(e.kind(), ErrorKind::Io);
        assert!(e.message().contains("no such file"));
        let e: Error = std::io::Error::from(std::io::ErrorKind::OutOfMemory).into();
        assert_eq!(e.kind(), ErrorKind::OutOfMemory);
    }

    #[test]
    fn is_std_error_send_sync() {
        fn check<T: std::error::Error + Send + Sync + 'static>() {}
        check::<Error>();
    }
}

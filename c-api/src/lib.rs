//! `libdistarr`: the C ABI of distarr (`c-api/include/distarr.h`), for C, Fortran (through the
//! `bind(C)` module in `c-api/fortran/`) and Python (ctypes).
//!
//! Conventions (rustls-ffi style):
//! * every exported function returns an `int` status: `DISTARR_OK` (0) or a grouped
//!   `DISTARR_ERR_*` code; `distarr_last_error()` gives the calling thread's last message;
//! * every exported body runs inside one panic boundary ([`status::run_boundary`] through the
//!   `boundary!` macro): a panic becomes `DISTARR_ERR_INTERNAL`, never unwinds into C;
//! * output parameters are written only on success;
//! * objects handed to C are `int64_t` handles checked on every use ([`handle`]);
//! * the state lives in thread-locals: use the library from the thread that initialised it.
//!
//! The header is generated from this crate by cbindgen (`c-api/cbindgen.toml`) and committed;
//! the test `tests/header.rs` fails when they disagree (`DISTARR_BLESS=1` rewrites it).

mod arrays;
mod codes;
mod handle;
mod pgas;
mod state;
mod status;

pub use arrays::*;
pub use codes::*;
pub use pgas::*;
pub use status::*;

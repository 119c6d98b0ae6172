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
//! Modules, each using only those above it: [`status`] (codes, errors, the boundary), [`codes`]
//! (integer constants), [`args`] (argument conversion), [`handle`] (handle tables), [`batch`]
//! (sequential mode's command batch), [`state`] (per-thread state, array table,
//! sequential-mode sync tracking), [`wire`] (the command format), [`exec`] (the executor),
//! [`collective`] (collective calls, one-sided synchronisation, life cycle, the workers' loop);
//! then the exported functions: [`life`], [`pgas`], [`array_create`], [`array_views`],
//! [`array_ops`], [`array_data`].
//!
//! The header is generated from this crate by cbindgen (`c-api/cbindgen.toml`) and committed;
//! the test `tests/header.rs` fails when they disagree (`DISTARR_BLESS=1` rewrites it).

// The exported functions, in the header's order (cbindgen follows these declarations):
// status codes and messages; life cycle; the PGAS level; arrays (creation and metadata, views,
// operations, data movement). Then the internals.
mod status;

mod codes;

mod life;
mod pgas;

mod array_create;

mod array_views;

mod array_ops;

mod array_data;

mod args;
mod batch;
mod collective;
mod exec;
mod handle;
mod state;
mod wire;

pub use array_create::*;
pub use array_data::*;
pub use array_ops::*;
pub use array_views::*;
pub use codes::*;
pub use handle::{distarr_array, distarr_request};
pub use life::*;
pub use pgas::*;
pub use status::*;

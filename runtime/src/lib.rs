//! distarr's PGAS runtime: a symmetric heap over MPI-3 windows, global pointers
//! `(rank, segment, offset)`, one-sided get/put/accumulate/atomics, epochs and collectives.
//!
//! Read `shared/DESIGN.md` for the measured MPI facts these choices rest on.
//!
//! * [`Runtime::init`] initialises MPI if needed; the heap's windows live in one permanent
//!   `MPI_Win_lock_all(MPI_MODE_NOCHECK)` epoch; operations complete with flushes.
//! * [`Runtime::alloc`] / [`Runtime::free`] are collective and give the same [`Seg`] on every
//!   rank; heap windows are added as the heap grows (never one window per allocation).
//! * Every one-sided operation validates rank, handle and bounds before MPI is called.
//! * Ranks on one node reach each other's memory with loads/stores when the heap uses
//!   [`WindowKind::Shared`] (`DISTARR_SHM_FASTPATH=0` turns that off).
//!
//! Errors: argument errors are returned before any communication. Once ranks are inside a
//! collective, an MPI failure aborts the job with a message (peers cannot recover).
//!
//! Faults: a rank that dies ends the job with a message naming it (a handler for fatal signals,
//! and a guardian process per rank for deaths no handler sees; `DISTARR_FAULT_REPORT=0` turns
//! both off). With `DISTARR_TIMEOUT=<seconds>` ([`Config::timeout`]) every synchronisation
//! gives up at the limit, names the ranks that have not arrived and aborts the job (exit
//! status 75); ranks in different collective calls are reported at once (status 76). [`abort`]
//! ends the job at once after the program has said why. A runtime dropped without
//! [`Runtime::finalize`] (its process exiting early) leaks its windows rather than freeing them
//! collectively alone.
#![deny(missing_docs)]

mod alloc;
mod config;
mod elem;
mod error;
mod fault;
mod heap;
mod logger;
mod ops;
mod poison;
mod runtime;
mod seq;

pub use config::{parse_bytes, Config, Progress, WindowKind};
pub use distarr_ffi::{Flavor, ThreadLevel};
pub use elem::{AccOp, Elem, ElemClass, ReduceOp};
pub use error::{Error, ErrorKind, Result};
pub use heap::Seg;
pub use ops::{to_usize, Nbi, Request};
pub use runtime::{abort, CommSource, FlushHook, Runtime, RuntimeInfo};
pub use seq::{SEQ_HEADER_BYTES, SEQ_INLINE_BYTES};

/// Re-exported so front ends can pass communicators in (e.g. from Fortran) without naming
/// `distarr-ffi` themselves.
pub use distarr_ffi::Comm;

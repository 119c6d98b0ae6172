//! distarr's MPI bindings: the only code in distarr that calls `MPI_*`.
//!
//! Functions and types come from `mpi-sys` (bindgen over `mpi.h`); the constants `mpi.h` defines
//! as macros come from `shim.c`, compiled with the same MPI's compiler wrapper. On top of that sit
//! safe newtypes, one owner per raw handle: [`Comm`], [`Win`], [`Info`], [`Datatype`], [`Group`],
//! [`Request`], [`Arrivals`]. Every MPI return code is checked and turned into an [`MpiError`].
//!
//! Collective calls are marked **collective** in their docs: every process of the communicator
//! must make them, in the same order.
#![deny(missing_docs)]

mod arrival;
mod comm;
mod consts;
mod datatype;
mod env;
mod error;
mod win;

pub use arrival::{Arrival, Arrivals, Notice};
pub use comm::{Comm, Group, ProgressComm};
pub use consts::{Flavor, Op};
pub use datatype::{Datatype, Equivalence};
pub use env::{
    abort, finalize, finalized, flavor, init_thread, initialized, library_version, query_thread, wtime, ThreadLevel,
};
pub use error::{MpiError, Result};
pub use win::{Info, LockType, Request, Win, WinFlavor};

/// Address-sized integer used by MPI for displacements and window sizes (`MPI_Aint`).
pub type Aint = mpi_sys::MPI_Aint;
/// Fortran handle integer (`MPI_Fint`).
pub type Fint = mpi_sys::RSMPI_Fint;

/// Largest element count a single MPI call accepts (`int` counts).
pub const MAX_COUNT: usize = i32::MAX as usize;

/// Converts a count to the `int` MPI expects, refusing values that do not fit.
#[inline]
pub(crate) fn count(n: usize, call: &'static str) -> Result<i32> {
    i32::try_from(n).map_err(|_| MpiError::local(call, format!("count {n} exceeds INT_MAX")))
}

/// Converts a rank to the `int` MPI expects.
#[inline]
pub(crate) fn rank_int(r: usize, call: &'static str) -> Result<i32> {
    i32::try_from(r).map_err(|_| MpiError::local(call, format!("rank {r} exceeds INT_MAX")))
}

/// Converts a byte displacement to `MPI_Aint`.
#[inline]
pub(crate) fn aint(d: u64, call: &'static str) -> Result<Aint> {
    Aint::try_from(d).map_err(|_| MpiError::local(call, format!("displacement {d} exceeds MPI_Aint")))
}

//! distarr: a PGAS runtime and distributed N-dimensional arrays on MPI-3 one-sided RMA.
//!
//! This facade re-exports the layers: [`runtime`] (global memory, one-sided operations, epochs,
//! collectives) and [`arrays`] (distributed N-d arrays on the runtime).

pub use distarr_arrays as arrays;
pub use distarr_runtime as runtime;

/// The MPI compiler wrapper this build was compiled against (`MPICC`, default `mpicc`).
pub const BUILD_MPICC: &str = env!("DISTARR_BUILD_MPICC");

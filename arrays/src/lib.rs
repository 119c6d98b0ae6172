//! # distarr-arrays
//!
//! Distributed N-dimensional arrays for distarr, a PGAS runtime on MPI one-sided
//! communication (a descendant of DistNumPy).
//!
//! This crate's foundation modules are pure Rust and free of MPI; they hold the maths that
//! every rank evaluates identically and locally:
//!
//! * [`error`]: the crate's [`Error`] / [`ErrorKind`] / [`Result`];
//! * [`dtype`]: element types ([`DType`]), NumPy type promotion, [`Scalar`] casts;
//! * [`grid`]: process grids, `MPI_Dims_create`-compatible factorisation;
//! * [`dist`]: block / block-cyclic / replicated distributions, index maps and the region
//!   decomposition behind one-sided region get/put;
//! * [`view`]: strided views (NumPy basic slicing, transpose, no-copy reshape);
//! * [`broadcast`]: NumPy broadcasting of shapes and views;
//! * [`npy`]: the `.npy` file header;
//! * [`rng`]: counter-based random numbers independent of the rank count.

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod array;
pub mod broadcast;
mod bytes;
pub mod dist;
pub mod dtype;
pub mod error;
pub mod grid;
pub mod io;
pub mod linalg;
pub mod manip;
pub mod npy;
pub mod reduce;
pub mod rng;
pub mod ufunc;
pub mod view;

// ---------------------------------------------------------------------------------------------
// Runtime-backed modules (distributed arrays, operations) are added here by the lead once
// `distarr-runtime` compiles, e.g. `mod array; mod ops;` and their re-exports.
// ---------------------------------------------------------------------------------------------

pub use array::DistArray;
pub use dist::{Distribution, Layout, Piece, Run};
pub use distarr_runtime::AccOp;
pub use dtype::{DType, Element, Scalar, ScalarKind, C128, C64};
pub use error::{Error, ErrorKind, Result};
pub use grid::ProcessGrid;
pub use view::{SliceItem, ViewSpec};

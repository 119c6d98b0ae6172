//! # distarr-arrays
//!
//! Distributed N-dimensional arrays for distarr, a PGAS runtime on MPI one-sided
//! communication (a descendant of DistNumPy).
//!
//! * [`DistArray`]: an array (or a view of one) whose elements live in one heap segment of the
//!   runtime, spread over the ranks by a [`Distribution`] (block, block-cyclic, replicated, on
//!   one rank); views ([`ViewSpec`]) never copy.
//! * [`ufunc`], [`reduce`], [`linalg`]: NumPy's element-wise operations, reductions and matrix
//!   products; [`io`]: `.npy` files; [`rng`]: counter-based random numbers.
//! * The pure foundations, the same on every rank: [`dtype`] (element types, promotion,
//!   casts), [`shape`] (shape arithmetic, broadcasting), [`view`] (strided views), [`dist`]
//!   (distributions), [`grid`] (process grids), [`npy`] (the `.npy` header), [`error`].
//! * The engine every collective operation runs on (`engine`: plan → fetch → compute → agree
//!   → write, owner computes) and its typed kernels ([`kernel`]).
//!
//! # Collective and one-sided calls, and how they are ordered
//!
//! Collective calls are made by every rank in the same order with the same arguments: array
//! creation and `free`, every operation that produces or modifies whole arrays (ufuncs,
//! reductions, `copy_from`, `fill`, `matmul`, …), `gather`/`scatter`, `.npy` I/O. One-sided
//! calls involve the calling rank only: region `get`/`put`/`acc`, `locate`, local-block
//! access, metadata.
//!
//! Collective operations synchronise among themselves only where a data dependency requires
//! it (see the engine's documentation): an operation whose every operand element lives where
//! its output element lives communicates and synchronises not at all.
//!
//! **The rule for one-sided accesses.** One-sided operations are not ordered with collective
//! operations automatically. Between a collective operation and a one-sided access to the
//! same array by another rank than the element's owner — either order — and between a
//! one-sided write and a collective operation that reads the data, call
//! [`Runtime::sync`](distarr_runtime::Runtime::sync) (collective). A rank's accesses to its
//! own local block ([`DistArray::local_block`]) after its own collective operations need no
//! sync — only the owner writes an element in a collective operation — but deferred
//! operations must have run: [`flush`] (collective, no synchronisation of its own). (The C
//! ABI's sequential mode inserts these syncs itself.)
//!
//! # Deferred execution
//!
//! Element-wise operations (ufuncs, `where`, `copy_from`, `fill`, `astype`, creation with a
//! value, random numbers) and reductions along an axis are checked when called (every error a
//! call can return, it returns then) and recorded; they run at the next *flush*, fused into as
//! few tiled passes over memory as their dependencies allow (a small register machine over
//! tiles, in the manner of numexpr; an axis reduction of a temporary reduces the tiles the pass
//! computes), and temporaries that die before it are never allocated. Every other collective
//! operation flushes first (reductions to a scalar, gathers, matrix products, I/O), and so do
//! [`Runtime::sync`](distarr_runtime::Runtime::sync), `barrier`, `fence` and `finalize`;
//! [`flush`] does it on request, and a queue of 256 operations flushes itself. `free` of an array
//! the queue still uses does not flush: the storage goes with the queue (or is never allocated).
//! One-sided and local-block accesses to an array with pending deferred operations return an
//! `InvalidArgument` error rather than stale data (flushing is collective, so a one-sided call
//! cannot do it); on one rank they flush. Each rank's queue is checked at the flush to hold the
//! same operations as every other rank's (`CollectiveMismatch` otherwise; one small allreduce),
//! except when one program makes every rank's calls
//! ([`Runtime::set_lockstep`](distarr_runtime::Runtime::set_lockstep), sequential mode): then
//! the ranks cannot differ, and a flush of aligned operations communicates nothing. While a
//! fused pass computes, the remote blocks of the next one are already being fetched when it
//! reads nothing the current pass writes. `DISTARR_LAZY=0` (or [`set_lazy`]) runs every operation at once;
//! results are bit-identical either way.

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod array;
mod bytes;
pub mod dist;
pub mod dtype;
pub(crate) mod engine;
pub mod error;
pub mod grid;
pub mod io;
pub mod kernel;
pub mod linalg;
pub mod manip;
pub mod npy;
pub mod reduce;
pub mod rng;
pub mod shape;
pub mod ufunc;
pub mod view;

pub use array::DistArray;
pub use dist::{Distribution, Layout, Piece, Run};
pub use distarr_runtime::AccOp;
pub use dtype::{DType, Element, Scalar, ScalarKind, C128, C64};
pub use error::{Error, ErrorKind, Result};
pub use grid::ProcessGrid;
pub use view::{SliceItem, ViewSpec};

/// Runs the deferred array operations of `rt` now (see [Deferred execution](crate#deferred-execution)).
/// **Collective**; synchronises only where the operations need it.
pub fn flush(rt: &distarr_runtime::Runtime) -> Result<()> {
    engine::flush(rt)
}

/// Turns deferral of element-wise operations on or off for `rt` (initially on unless
/// `DISTARR_LAZY=0`); turning it off flushes first. **Collective.**
pub fn set_lazy(rt: &distarr_runtime::Runtime, on: bool) -> Result<()> {
    engine::set_lazy(rt, on)
}

/// Whether element-wise operations of `rt` are deferred. Local.
pub fn is_lazy(rt: &distarr_runtime::Runtime) -> bool {
    engine::is_lazy(rt)
}

/// How many fused passes of `rt` on this rank found their first remote blocks already fetched
/// while the pass before them computed (latency hiding across operations; a test and
/// benchmark hook). Local.
#[doc(hidden)]
pub fn prefetched_passes(rt: &distarr_runtime::Runtime) -> u64 {
    engine::prefetched(rt)
}

/// Whether deferred operations still refer to `a`'s storage (a test hook). Local.
#[doc(hidden)]
pub fn engine_pending(a: &DistArray) -> bool {
    engine::pending(a, false)
}

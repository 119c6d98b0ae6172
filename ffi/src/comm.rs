//! Communicators and groups.
use crate::consts::*;
use crate::datatype::Equivalence;
use crate::error::{check, MpiError, Result};
use crate::{count, rank_int, Fint, Op};
use mpi_sys::{MPI_Comm, MPI_Group};

/// An MPI communicator. Borrowed ones (`MPI_COMM_WORLD`, a caller's communicator) are never
/// freed; owned ones (from [`Comm::dup`], [`Comm::split_shared`]) are freed on drop.
///
/// Dropping an owned `Comm` calls `MPI_Comm_free`, which is **collective**: owners drop them in
/// the same order on every process (distarr's runtime frees them explicitly at finalize).
#[derive(Debug)]
pub struct Comm {
    raw: MPI_Comm,
    owned: bool,
}

impl Comm {
    /// `MPI_COMM_WORLD` (borrowed).
    pub fn world() -> Comm {
        Comm {
            raw: comm_world(),
            owned: false,
        }
    }

    /// `MPI_COMM_SELF` (borrowed).
    pub fn self_() -> Comm {
        Comm {
            raw: comm_self(),
            owned: false,
        }
    }

    /// Borrows a communicator handed over from C.
    ///
    /// # Safety
    /// `raw` must be a valid communicator that outlives every use of the returned value.
    pub unsafe fn from_raw(raw: MPI_Comm) -> Comm {
        Comm { raw, owned: false }
    }

    /// Borrows a communicator handed over from Fortran (`MPI_Comm_f2c`). Returns an error if
    /// the handle converts to `MPI_COMM_NULL`. An invalid Fortran handle is reported by the MPI
    /// library where it can be (Open MPI checks the index table); MPICH's handles are plain
    /// integers checked by the first call that uses them.
    pub fn from_fortran(f: Fint) -> Result<Comm> {
        // SAFETY: MPI_Comm_f2c takes any integer; invalid handles yield MPI_COMM_NULL (Open MPI)
        // or a handle that MPI validates on use (MPICH, with MPI_ERRORS_RETURN set).
        let raw = unsafe { distarr_mpi_comm_f2c(f) };
        if raw == comm_null() {
            return Err(MpiError::local(
                "MPI_Comm_f2c",
                format!("Fortran handle {f} is MPI_COMM_NULL"),
            ));
        }
        let c = Comm { raw, owned: false };
        c.size()?;
        Ok(c)
    }

    pub(crate) fn raw(&self) -> MPI_Comm {
        self.raw
    }

    /// Sets `MPI_ERRORS_RETURN` so failures come back as codes. Local.
    pub fn set_errors_return(&self) -> Result<()> {
        // SAFETY: `raw` is a valid communicator; MPI_ERRORS_RETURN is predefined.
        check(
            unsafe { mpi_sys::MPI_Comm_set_errhandler(self.raw, errors_return()) },
            "MPI_Comm_set_errhandler",
        )
    }

    /// `MPI_Comm_rank`. Local.
    #[doc(alias = "MPI_Comm_rank")]
    pub fn rank(&self) -> Result<usize> {
        let mut r = 0;
        // SAFETY: `raw` is a valid communicator; `r` is a valid out-parameter.
        check(unsafe { mpi_sys::MPI_Comm_rank(self.raw, &mut r) }, "MPI_Comm_rank")?;
        usize::try_from(r).map_err(|_| MpiError::local("MPI_Comm_rank", format!("negative rank {r}")))
    }

    /// `MPI_Comm_size`. Local.
    #[doc(alias = "MPI_Comm_size")]
    pub fn size(&self) -> Result<usize> {
        let mut n = 0;
        // SAFETY: `raw` is a valid communicator; `n` is a valid out-parameter.
        check(unsafe { mpi_sys::MPI_Comm_size(self.raw, &mut n) }, "MPI_Comm_size")?;
        usize::try_from(n).map_err(|_| MpiError::local("MPI_Comm_size", format!("negative size {n}")))
    }

    /// `MPI_Comm_dup`: **collective**. The result is owned.
    #[doc(alias = "MPI_Comm_dup")]
    pub fn dup(&self) -> Result<Comm> {
        let mut raw = comm_null();
        // SAFETY: `raw` is a valid out-parameter; `self.raw` a valid communicator.
        check(unsafe { mpi_sys::MPI_Comm_dup(self.raw, &mut raw) }, "MPI_Comm_dup")?;
        let c = Comm { raw, owned: true };
        c.set_errors_return()?;
        Ok(c)
    }

    /// `MPI_Comm_split_type(MPI_COMM_TYPE_SHARED, key)`: **collective**. The processes that can
    /// share memory with this one, ordered by `key`. The result is owned.
    #[doc(alias = "MPI_Comm_split_type")]
    pub fn split_shared(&self, key: usize) -> Result<Comm> {
        let key = rank_int(key, "MPI_Comm_split_type")?;
        let mut raw = comm_null();
        check(
            // SAFETY: valid communicator, predefined split type, MPI_INFO_NULL, valid out-parameter.
            unsafe { mpi_sys::MPI_Comm_split_type(self.raw, comm_type_shared(), key, info_null(), &mut raw) },
            "MPI_Comm_split_type",
        )?;
        let c = Comm { raw, owned: true };
        c.set_errors_return()?;
        Ok(c)
    }

    /// `MPI_Barrier`: **collective**.
    #[doc(alias = "MPI_Barrier")]
    pub fn barrier(&self) -> Result<()> {
        // SAFETY: `raw` is a valid communicator.
        check(unsafe { mpi_sys::MPI_Barrier(self.raw) }, "MPI_Barrier")
    }

    /// `MPI_Bcast` of a typed buffer from `root`: **collective**; every process passes a buffer
    /// of the same length. Buffers longer than `INT_MAX` elements are sent in chunks.
    #[doc(alias = "MPI_Bcast")]
    pub fn bcast<T: Equivalence>(&self, buf: &mut [T], root: usize) -> Result<()> {
        let root = rank_int(root, "MPI_Bcast")?;
        let dt = T::datatype();
        for chunk in buf.chunks_mut(crate::MAX_COUNT) {
            let n = count(chunk.len(), "MPI_Bcast")?;
            check(
                // SAFETY:
                // - `chunk` is valid for `n` elements of T, whose MPI type is `dt` (Equivalence);
                // - MPI writes at most `n` elements into it on non-root processes.
                unsafe { mpi_sys::MPI_Bcast(chunk.as_mut_ptr().cast(), n, dt.raw(), root, self.raw) },
                "MPI_Bcast",
            )?;
        }
        Ok(())
    }

    /// `MPI_Allreduce(MPI_IN_PLACE, buf, …)`: **collective**; `buf` holds this process's
    /// contribution and receives the reduction.
    #[doc(alias = "MPI_Allreduce")]
    pub fn allreduce_in_place<T: Equivalence>(&self, buf: &mut [T], op: Op) -> Result<()> {
        let dt = T::datatype();
        for chunk in buf.chunks_mut(crate::MAX_COUNT) {
            let n = count(chunk.len(), "MPI_Allreduce")?;
            check(
                // SAFETY:
                // - MPI_IN_PLACE tells MPI to read and write `chunk`, valid for `n` elements of T;
                // - `dt` matches T (Equivalence); `op` is predefined.
                unsafe {
                    mpi_sys::MPI_Allreduce(in_place(), chunk.as_mut_ptr().cast(), n, dt.raw(), op.raw(), self.raw)
                },
                "MPI_Allreduce",
            )?;
        }
        Ok(())
    }

    /// `MPI_Allgather`: **collective**; `recv.len()` must be `send.len() * size()`.
    #[doc(alias = "MPI_Allgather")]
    pub fn allgather<T: Equivalence>(&self, send: &[T], recv: &mut [T]) -> Result<()> {
        let size = self.size()?;
        if send.len().checked_mul(size) != Some(recv.len()) {
            return Err(MpiError::local(
                "MPI_Allgather",
                format!(
                    "receive buffer holds {} elements, need {} x {size}",
                    recv.len(),
                    send.len()
                ),
            ));
        }
        let n = count(send.len(), "MPI_Allgather")?;
        count(recv.len(), "MPI_Allgather")?;
        let dt = T::datatype();
        // SAFETY:
        // - `send` is valid for `n` elements and `recv` for `n * size` (checked above);
        // - both use the datatype matching T.
        check(
            unsafe {
                mpi_sys::MPI_Allgather(
                    send.as_ptr().cast(),
                    n,
                    dt.raw(),
                    recv.as_mut_ptr().cast(),
                    n,
                    dt.raw(),
                    self.raw,
                )
            },
            "MPI_Allgather",
        )
    }

    /// `MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG)`: local; returns whether a message is waiting.
    /// distarr's progress thread calls it to drive MPI's progress engine.
    #[doc(alias = "MPI_Iprobe")]
    pub fn iprobe(&self) -> Result<bool> {
        let mut flag = 0;
        check(
            // SAFETY: valid communicator; `flag` a valid out-parameter; status ignored.
            unsafe { mpi_sys::MPI_Iprobe(any_source(), any_tag(), self.raw, &mut flag, status_ignore()) },
            "MPI_Iprobe",
        )?;
        Ok(flag != 0)
    }

    /// `MPI_Comm_group`: the group of this communicator (owned).
    #[doc(alias = "MPI_Comm_group")]
    pub fn group(&self) -> Result<Group> {
        let mut raw = group_null();
        // SAFETY: valid communicator; `raw` a valid out-parameter.
        check(unsafe { mpi_sys::MPI_Comm_group(self.raw, &mut raw) }, "MPI_Comm_group")?;
        Ok(Group { raw })
    }

    /// Explicit **collective** free of an owned communicator (same as dropping it, but
    /// reports the error). Borrowed communicators are left alone.
    pub fn free(mut self) -> Result<()> {
        let r = self.free_inner();
        std::mem::forget(self);
        r
    }

    fn free_inner(&mut self) -> Result<()> {
        if self.owned && !crate::env::finalized_quiet() {
            self.owned = false;
            // SAFETY: `raw` is a communicator this value owns; it is freed exactly once.
            check(unsafe { mpi_sys::MPI_Comm_free(&mut self.raw) }, "MPI_Comm_free")?;
        }
        Ok(())
    }
}

impl Drop for Comm {
    /// Frees an owned communicator (collective) — except while a panic unwinds, when the
    /// collective would hang the job (see `Win`'s `Drop`).
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = self.free_inner();
        }
    }
}

/// An MPI group (owned, freed on drop; freeing a group is local).
#[derive(Debug)]
pub struct Group {
    raw: MPI_Group,
}

impl Group {
    pub(crate) fn raw(&self) -> MPI_Group {
        self.raw
    }

    /// `MPI_Group_incl`: the sub-group of the given ranks. Local.
    #[doc(alias = "MPI_Group_incl")]
    pub fn incl(&self, ranks: &[usize]) -> Result<Group> {
        let r: Vec<i32> = ranks
            .iter()
            .map(|&r| rank_int(r, "MPI_Group_incl"))
            .collect::<Result<_>>()?;
        let n = count(r.len(), "MPI_Group_incl")?;
        let mut raw = group_null();
        check(
            // SAFETY: `r` holds `n` ints; `raw` is a valid out-parameter; MPI checks rank validity.
            unsafe { mpi_sys::MPI_Group_incl(self.raw, n, r.as_ptr(), &mut raw) },
            "MPI_Group_incl",
        )?;
        Ok(Group { raw })
    }

    /// `MPI_Group_translate_ranks`: the ranks in `other` of `ranks` in this group
    /// (`None` where a process is not in `other`). Local.
    #[doc(alias = "MPI_Group_translate_ranks")]
    pub fn translate(&self, ranks: &[usize], other: &Group) -> Result<Vec<Option<usize>>> {
        let r: Vec<i32> = ranks
            .iter()
            .map(|&r| rank_int(r, "MPI_Group_translate_ranks"))
            .collect::<Result<_>>()?;
        let n = count(r.len(), "MPI_Group_translate_ranks")?;
        let mut out = vec![0i32; r.len()];
        check(
            // SAFETY: `r` and `out` hold `n` ints each; both groups are valid.
            unsafe { mpi_sys::MPI_Group_translate_ranks(self.raw, n, r.as_ptr(), other.raw, out.as_mut_ptr()) },
            "MPI_Group_translate_ranks",
        )?;
        Ok(out
            .into_iter()
            .map(|x| {
                if x == undefined() {
                    None
                } else {
                    usize::try_from(x).ok()
                }
            })
            .collect())
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if !crate::env::finalized_quiet() {
            // SAFETY: `raw` is a group this value owns, freed exactly once; freeing is local.
            let _ = unsafe { mpi_sys::MPI_Group_free(&mut self.raw) };
        }
    }
}

/// A duplicated communicator that may be moved to another thread, for distarr's progress
/// thread. It exists only when MPI runs at `MPI_THREAD_MULTIPLE`, which is what makes calling
/// MPI from a second thread sound. It offers only [`ProgressComm::poke`].
#[derive(Debug)]
pub struct ProgressComm {
    comm: Comm,
}

// SAFETY:
// - `ProgressComm::new` succeeds only when `MPI_Query_thread` reports MPI_THREAD_MULTIPLE, under
//   which any thread may call MPI concurrently with others;
// - the wrapped communicator is a private duplicate used by nobody else, so moving it between
//   threads cannot race with other users of the handle. Its `Drop` (MPI_Comm_free) must run
//   before MPI_Finalize: the runtime joins the thread and frees it at finalize.
unsafe impl Send for ProgressComm {}

impl ProgressComm {
    /// Duplicates `comm` (**collective**) for use by a progress thread. Errors unless MPI
    /// provides `MPI_THREAD_MULTIPLE`.
    pub fn new(comm: &Comm) -> Result<ProgressComm> {
        if crate::env::query_thread()? != crate::ThreadLevel::Multiple {
            return Err(MpiError::local("ProgressComm::new", "needs MPI_THREAD_MULTIPLE".into()));
        }
        Ok(ProgressComm { comm: comm.dup()? })
    }

    /// Drives MPI's progress engine once (`MPI_Iprobe` on the private communicator).
    pub fn poke(&self) -> Result<()> {
        self.comm.iprobe().map(|_| ())
    }

    /// Frees the communicator (**collective** over the processes that created it).
    pub fn free(self) -> Result<()> {
        self.comm.free()
    }
}

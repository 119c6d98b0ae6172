//! RMA windows, their epochs and operations, requests and info objects.
use crate::comm::{Comm, Group};
use crate::consts::*;
use crate::datatype::{Datatype, Equivalence};
use crate::error::{check, MpiError, Result};
use crate::{aint, count, rank_int, Aint, Op};
use mpi_sys::{MPI_Info, MPI_Request, MPI_Win};
use std::ffi::{c_void, CString};

/// An `MPI_Info` object (owned, freed on drop; local).
#[derive(Debug)]
pub struct Info {
    raw: MPI_Info,
}

impl Info {
    /// `MPI_Info_create`.
    #[doc(alias = "MPI_Info_create")]
    pub fn new() -> Result<Info> {
        let mut raw = info_null();
        // SAFETY: `raw` is a valid out-parameter.
        check(unsafe { mpi_sys::MPI_Info_create(&mut raw) }, "MPI_Info_create")?;
        Ok(Info { raw })
    }

    /// `MPI_Info_set(key, value)`.
    #[doc(alias = "MPI_Info_set")]
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let k = CString::new(key).map_err(|_| MpiError::local("MPI_Info_set", "key contains NUL".into()))?;
        let v = CString::new(value).map_err(|_| MpiError::local("MPI_Info_set", "value contains NUL".into()))?;
        // SAFETY: `raw` is a valid info object; `k` and `v` are NUL-terminated strings MPI copies.
        check(
            unsafe { mpi_sys::MPI_Info_set(self.raw, k.as_ptr(), v.as_ptr()) },
            "MPI_Info_set",
        )
    }

    fn raw(&self) -> MPI_Info {
        self.raw
    }
}

impl Drop for Info {
    fn drop(&mut self) {
        if !crate::env::finalized_quiet() {
            // SAFETY: `raw` is an info object this value owns, freed exactly once.
            let _ = unsafe { mpi_sys::MPI_Info_free(&mut self.raw) };
        }
    }
}

fn info_raw(info: Option<&Info>) -> MPI_Info {
    info.map_or_else(info_null, Info::raw)
}

/// How a window's memory was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WinFlavor {
    /// `MPI_Win_allocate`
    Allocate,
    /// `MPI_Win_allocate_shared`
    Shared,
    /// `MPI_Win_create` over caller memory
    Create,
    /// `MPI_Win_create_dynamic` (memory attached later)
    Dynamic,
}

/// Lock type for `MPI_Win_lock`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockType {
    /// `MPI_LOCK_SHARED`
    Shared,
    /// `MPI_LOCK_EXCLUSIVE`
    Exclusive,
}

/// An MPI window with displacement unit 1 (byte displacements), owned.
///
/// Dropping it calls `MPI_Win_free`, which is **collective**; prefer the explicit [`Win::free`]
/// made by every process in the same order. Windows are not `Send`: their epochs belong to the
/// thread that opened them.
#[derive(Debug)]
pub struct Win {
    raw: MPI_Win,
    base: *mut u8,
    size: usize,
    flavor: WinFlavor,
}

impl Win {
    fn finish(raw: MPI_Win, base: *mut u8, size: usize, flavor: WinFlavor) -> Result<Win> {
        let w = Win {
            raw,
            base,
            size,
            flavor,
        };
        check(
            // SAFETY: `raw` is the window just created; MPI_ERRORS_RETURN is predefined.
            unsafe { mpi_sys::MPI_Win_set_errhandler(w.raw, errors_return()) },
            "MPI_Win_set_errhandler",
        )?;
        Ok(w)
    }

    /// `MPI_Win_allocate(size, 1, info, comm)`: **collective**. MPI allocates `size` bytes here.
    #[doc(alias = "MPI_Win_allocate")]
    pub fn allocate(size: usize, info: Option<&Info>, comm: &Comm) -> Result<Win> {
        let sz = aint(size as u64, "MPI_Win_allocate")?;
        let mut base: *mut c_void = std::ptr::null_mut();
        let mut raw = win_null();
        check(
            // SAFETY:
            // - `base` receives a pointer to `size` bytes MPI owns until MPI_Win_free;
            // - `raw` is a valid out-parameter; `comm` a valid communicator.
            unsafe {
                mpi_sys::MPI_Win_allocate(
                    sz,
                    1,
                    info_raw(info),
                    comm.raw(),
                    (&mut base as *mut *mut c_void).cast(),
                    &mut raw,
                )
            },
            "MPI_Win_allocate",
        )?;
        Win::finish(raw, base.cast(), size, WinFlavor::Allocate)
    }

    /// `MPI_Win_allocate_shared(size, 1, info, comm)`: **collective**; every process of `comm`
    /// must be able to share memory (use a communicator from [`Comm::split_shared`]).
    #[doc(alias = "MPI_Win_allocate_shared")]
    pub fn allocate_shared(size: usize, info: Option<&Info>, comm: &Comm) -> Result<Win> {
        let sz = aint(size as u64, "MPI_Win_allocate_shared")?;
        let mut base: *mut c_void = std::ptr::null_mut();
        let mut raw = win_null();
        check(
            // SAFETY: as for `allocate`; the memory is shared with the other processes of `comm`.
            unsafe {
                mpi_sys::MPI_Win_allocate_shared(
                    sz,
                    1,
                    info_raw(info),
                    comm.raw(),
                    (&mut base as *mut *mut c_void).cast(),
                    &mut raw,
                )
            },
            "MPI_Win_allocate_shared",
        )?;
        Win::finish(raw, base.cast(), size, WinFlavor::Shared)
    }

    /// `MPI_Win_create(base, size, 1, info, comm)`: **collective**.
    ///
    /// # Safety
    /// `base` must point to `size` bytes that stay allocated until this window is freed, and
    /// that are accessed only as MPI's RMA rules allow while it exists.
    #[doc(alias = "MPI_Win_create")]
    pub unsafe fn create(base: *mut u8, size: usize, info: Option<&Info>, comm: &Comm) -> Result<Win> {
        let sz = aint(size as u64, "MPI_Win_create")?;
        let mut raw = win_null();
        check(
            // SAFETY: the caller guarantees `base`/`size`; `raw` is a valid out-parameter.
            unsafe { mpi_sys::MPI_Win_create(base.cast(), sz, 1, info_raw(info), comm.raw(), &mut raw) },
            "MPI_Win_create",
        )?;
        Win::finish(raw, base, size, WinFlavor::Create)
    }

    /// `MPI_Win_create_dynamic(info, comm)`: **collective**. Memory is attached later with
    /// [`Win::attach`]; displacements are then absolute addresses (see [`Win::address`]).
    #[doc(alias = "MPI_Win_create_dynamic")]
    pub fn create_dynamic(info: Option<&Info>, comm: &Comm) -> Result<Win> {
        let mut raw = win_null();
        check(
            // SAFETY: `raw` is a valid out-parameter; `comm` a valid communicator.
            unsafe { mpi_sys::MPI_Win_create_dynamic(info_raw(info), comm.raw(), &mut raw) },
            "MPI_Win_create_dynamic",
        )?;
        Win::finish(raw, std::ptr::null_mut(), 0, WinFlavor::Dynamic)
    }

    /// `MPI_Win_attach`: local.
    ///
    /// # Safety
    /// `base` must point to `size` bytes that stay allocated until detached or the window freed.
    #[doc(alias = "MPI_Win_attach")]
    pub unsafe fn attach(&self, base: *mut u8, size: usize) -> Result<()> {
        let sz = aint(size as u64, "MPI_Win_attach")?;
        // SAFETY: the caller guarantees the memory; `raw` is a valid dynamic window.
        check(
            unsafe { mpi_sys::MPI_Win_attach(self.raw, base.cast(), sz) },
            "MPI_Win_attach",
        )
    }

    /// `MPI_Win_detach`: local.
    #[doc(alias = "MPI_Win_detach")]
    pub fn detach(&self, base: *mut u8) -> Result<()> {
        // SAFETY: MPI checks that `base` was attached; it does not dereference it.
        check(
            unsafe { mpi_sys::MPI_Win_detach(self.raw, base as *const c_void) },
            "MPI_Win_detach",
        )
    }

    /// `MPI_Get_address`: the displacement of local memory in a dynamic window.
    #[doc(alias = "MPI_Get_address")]
    pub fn address(ptr: *const u8) -> Result<u64> {
        let mut a: crate::Aint = 0;
        check(
            // SAFETY: MPI_Get_address only computes the address; it does not dereference `ptr`.
            unsafe { mpi_sys::MPI_Get_address(ptr.cast(), &mut a) },
            "MPI_Get_address",
        )?;
        u64::try_from(a).map_err(|_| MpiError::local("MPI_Get_address", "negative address".into()))
    }

    /// `MPI_Win_shared_query(rank)`: base pointer and size of `rank`'s memory in a shared window.
    /// Local. Errors on windows that are not shared.
    #[doc(alias = "MPI_Win_shared_query")]
    pub fn shared_query(&self, rank: usize) -> Result<(*mut u8, usize)> {
        let r = rank_int(rank, "MPI_Win_shared_query")?;
        let mut size: crate::Aint = 0;
        let mut du = 0;
        let mut base: *mut c_void = std::ptr::null_mut();
        check(
            // SAFETY: all out-parameters are valid; MPI validates `r` and the window flavor.
            unsafe {
                mpi_sys::MPI_Win_shared_query(self.raw, r, &mut size, &mut du, (&mut base as *mut *mut c_void).cast())
            },
            "MPI_Win_shared_query",
        )?;
        let size =
            usize::try_from(size).map_err(|_| MpiError::local("MPI_Win_shared_query", "negative size".into()))?;
        Ok((base.cast(), size))
    }

    /// Whether the window uses the unified memory model (`MPI_WIN_MODEL == MPI_WIN_UNIFIED`).
    pub fn is_unified(&self) -> Result<bool> {
        let mut val: *mut c_void = std::ptr::null_mut();
        let mut flag = 0;
        check(
            // SAFETY: out-parameters are valid; for MPI_WIN_MODEL MPI stores a pointer to an int.
            unsafe {
                mpi_sys::MPI_Win_get_attr(self.raw, win_model(), (&mut val as *mut *mut c_void).cast(), &mut flag)
            },
            "MPI_Win_get_attr",
        )?;
        if flag == 0 || val.is_null() {
            return Ok(false);
        }
        // SAFETY: MPI sets `val` to a pointer to an int that lives as long as the window.
        Ok(unsafe { *(val as *const i32) } == win_unified())
    }

    /// Local base address of this process's window memory (null for dynamic windows).
    pub fn base(&self) -> *mut u8 {
        self.base
    }

    /// Bytes of window memory at this process.
    pub fn size(&self) -> usize {
        self.size
    }

    /// How the window was created.
    pub fn flavor(&self) -> WinFlavor {
        self.flavor
    }

    #[inline]
    fn sync_call(&self, rc: i32, call: &'static str) -> Result<()> {
        check(rc, call)
    }

    /// `MPI_Win_lock_all(nocheck ? MPI_MODE_NOCHECK : 0)`: local; opens a passive-target access
    /// epoch to every process.
    #[doc(alias = "MPI_Win_lock_all")]
    pub fn lock_all(&self, nocheck: bool) -> Result<()> {
        let a = if nocheck { mode_nocheck() } else { 0 };
        // SAFETY: `raw` is a valid window; MPI reports misuse (nested epochs) as an error.
        self.sync_call(unsafe { mpi_sys::MPI_Win_lock_all(a, self.raw) }, "MPI_Win_lock_all")
    }

    /// `MPI_Win_unlock_all`: completes every operation of the epoch and closes it.
    #[doc(alias = "MPI_Win_unlock_all")]
    pub fn unlock_all(&self) -> Result<()> {
        // SAFETY: `raw` is a valid window.
        self.sync_call(unsafe { mpi_sys::MPI_Win_unlock_all(self.raw) }, "MPI_Win_unlock_all")
    }

    /// `MPI_Win_lock(type, rank, nocheck ? MPI_MODE_NOCHECK : 0)`.
    #[doc(alias = "MPI_Win_lock")]
    pub fn lock(&self, lt: LockType, rank: usize, nocheck: bool) -> Result<()> {
        let r = rank_int(rank, "MPI_Win_lock")?;
        let t = match lt {
            LockType::Shared => lock_shared(),
            LockType::Exclusive => lock_exclusive(),
        };
        let a = if nocheck { mode_nocheck() } else { 0 };
        // SAFETY: `raw` is a valid window; MPI validates `r`.
        self.sync_call(unsafe { mpi_sys::MPI_Win_lock(t, r, a, self.raw) }, "MPI_Win_lock")
    }

    /// `MPI_Win_unlock(rank)`.
    #[doc(alias = "MPI_Win_unlock")]
    pub fn unlock(&self, rank: usize) -> Result<()> {
        let r = rank_int(rank, "MPI_Win_unlock")?;
        // SAFETY: `raw` is a valid window; MPI validates `r`.
        self.sync_call(unsafe { mpi_sys::MPI_Win_unlock(r, self.raw) }, "MPI_Win_unlock")
    }

    /// `MPI_Win_flush(rank)`: operations to `rank` are complete at origin and target.
    #[inline]
    #[doc(alias = "MPI_Win_flush")]
    pub fn flush(&self, rank: usize) -> Result<()> {
        let r = rank_int(rank, "MPI_Win_flush")?;
        // SAFETY: `raw` is a valid window; MPI validates `r`.
        self.sync_call(unsafe { mpi_sys::MPI_Win_flush(r, self.raw) }, "MPI_Win_flush")
    }

    /// `MPI_Win_flush_local(rank)`: operations to `rank` are complete at the origin (buffers
    /// reusable), not necessarily at the target.
    #[inline]
    #[doc(alias = "MPI_Win_flush_local")]
    pub fn flush_local(&self, rank: usize) -> Result<()> {
        let r = rank_int(rank, "MPI_Win_flush_local")?;
        // SAFETY: `raw` is a valid window; MPI validates `r`.
        self.sync_call(
            unsafe { mpi_sys::MPI_Win_flush_local(r, self.raw) },
            "MPI_Win_flush_local",
        )
    }

    /// `MPI_Win_flush_all`.
    #[inline]
    #[doc(alias = "MPI_Win_flush_all")]
    pub fn flush_all(&self) -> Result<()> {
        // SAFETY: `raw` is a valid window.
        self.sync_call(unsafe { mpi_sys::MPI_Win_flush_all(self.raw) }, "MPI_Win_flush_all")
    }

    /// `MPI_Win_flush_local_all`.
    #[doc(alias = "MPI_Win_flush_local_all")]
    pub fn flush_local_all(&self) -> Result<()> {
        // SAFETY: `raw` is a valid window.
        self.sync_call(
            unsafe { mpi_sys::MPI_Win_flush_local_all(self.raw) },
            "MPI_Win_flush_local_all",
        )
    }

    /// `MPI_Win_sync`: synchronises the public and private copies of local window memory (a
    /// memory barrier for load/store access to shared windows).
    #[doc(alias = "MPI_Win_sync")]
    pub fn sync(&self) -> Result<()> {
        // SAFETY: `raw` is a valid window.
        self.sync_call(unsafe { mpi_sys::MPI_Win_sync(self.raw) }, "MPI_Win_sync")
    }

    /// `MPI_Win_fence(assert)`: **collective** over the window's group. `noprecede` /
    /// `nosucceed` map to `MPI_MODE_NOPRECEDE` / `MPI_MODE_NOSUCCEED`.
    #[doc(alias = "MPI_Win_fence")]
    pub fn fence(&self, noprecede: bool, nosucceed: bool) -> Result<()> {
        let mut a = 0;
        if noprecede {
            a |= mode_noprecede();
        }
        if nosucceed {
            a |= mode_nosucceed();
        }
        // SAFETY: `raw` is a valid window.
        self.sync_call(unsafe { mpi_sys::MPI_Win_fence(a, self.raw) }, "MPI_Win_fence")
    }

    /// `MPI_Win_post(group, 0)`: opens an exposure epoch to the origins in `group`.
    #[doc(alias = "MPI_Win_post")]
    pub fn post(&self, group: &Group) -> Result<()> {
        // SAFETY: valid window and group.
        self.sync_call(
            unsafe { mpi_sys::MPI_Win_post(group.raw(), 0, self.raw) },
            "MPI_Win_post",
        )
    }

    /// `MPI_Win_start(group, 0)`: opens an access epoch to the targets in `group`.
    #[doc(alias = "MPI_Win_start")]
    pub fn start(&self, group: &Group) -> Result<()> {
        // SAFETY: valid window and group.
        self.sync_call(
            unsafe { mpi_sys::MPI_Win_start(group.raw(), 0, self.raw) },
            "MPI_Win_start",
        )
    }

    /// `MPI_Win_complete`: closes the access epoch opened by [`Win::start`].
    #[doc(alias = "MPI_Win_complete")]
    pub fn complete(&self) -> Result<()> {
        // SAFETY: valid window.
        self.sync_call(unsafe { mpi_sys::MPI_Win_complete(self.raw) }, "MPI_Win_complete")
    }

    /// `MPI_Win_wait`: closes the exposure epoch opened by [`Win::post`].
    #[doc(alias = "MPI_Win_wait")]
    pub fn wait(&self) -> Result<()> {
        // SAFETY: valid window.
        self.sync_call(unsafe { mpi_sys::MPI_Win_wait(self.raw) }, "MPI_Win_wait")
    }

    /// `MPI_Get` of `len` bytes from `rank` at byte displacement `disp` into `origin`, split
    /// into calls of at most `INT_MAX` bytes. Complete after a flush/unlock/fence.
    ///
    /// # Safety
    /// `origin` must be valid for `len` byte writes until the operation completes; the caller
    /// is inside an access epoch to `rank`; `disp + len` lies inside `rank`'s window memory.
    #[inline]
    #[doc(alias = "MPI_Get")]
    pub unsafe fn get_bytes(&self, origin: *mut u8, len: usize, rank: usize, disp: u64) -> Result<()> {
        // Fast path: a single call whenever rank, count and displacement fit MPI's types
        // (every message of 1 to INT_MAX bytes); no datatype object, no chunk loop.
        // Zero-length messages take the general path (which makes no MPI call).
        if let (true, Ok(r), Ok(c), Ok(d)) = (len != 0, i32::try_from(rank), i32::try_from(len), Aint::try_from(disp)) {
            // SAFETY: the shim constant is a `const MPI_Datatype` (MPI_BYTE), never written.
            let bt = unsafe { DISTARR_MPI_BYTE };
            // SAFETY: the caller guarantees `origin[..len]` is writable until completion and that
            // the target range is inside the window; `bt` is MPI_BYTE and `c` is `len`.
            let rc = unsafe { mpi_sys::MPI_Get(origin.cast(), c, bt, r, d, c, bt, self.raw) };
            return check(rc, "MPI_Get");
        }
        // SAFETY: forwarded with this function's contract.
        unsafe { self.get_bytes_chunked(origin, len, rank, disp) }
    }

    /// [`Win::get_bytes`] for empty messages, messages above `INT_MAX` bytes, and argument errors.
    ///
    /// # Safety
    /// As [`Win::get_bytes`].
    #[cold]
    #[inline(never)]
    unsafe fn get_bytes_chunked(&self, origin: *mut u8, len: usize, rank: usize, disp: u64) -> Result<()> {
        let r = rank_int(rank, "MPI_Get")?;
        let bt = Datatype::byte();
        let mut done = 0usize;
        while done < len {
            let n = (len - done).min(crate::MAX_COUNT);
            let c = count(n, "MPI_Get")?;
            let d = aint(disp + done as u64, "MPI_Get")?;
            check(
                // SAFETY: the caller guarantees `origin[done..done+n]` is writable until completion
                // and that the target range is inside the window; `bt` is MPI_BYTE.
                unsafe { mpi_sys::MPI_Get(origin.add(done).cast(), c, bt.raw(), r, d, c, bt.raw(), self.raw) },
                "MPI_Get",
            )?;
            done += n;
        }
        Ok(())
    }

    /// `MPI_Put` of `len` bytes, chunked like [`Win::get_bytes`].
    ///
    /// # Safety
    /// `origin` must be valid for `len` byte reads until the operation completes locally; the
    /// caller is inside an access epoch to `rank`; the target range lies inside the window.
    #[inline]
    #[doc(alias = "MPI_Put")]
    pub unsafe fn put_bytes(&self, origin: *const u8, len: usize, rank: usize, disp: u64) -> Result<()> {
        // Fast path as in `get_bytes`.
        // Zero-length messages take the general path (which makes no MPI call).
        if let (true, Ok(r), Ok(c), Ok(d)) = (len != 0, i32::try_from(rank), i32::try_from(len), Aint::try_from(disp)) {
            // SAFETY: the shim constant is a `const MPI_Datatype` (MPI_BYTE), never written.
            let bt = unsafe { DISTARR_MPI_BYTE };
            // SAFETY: as for `get_bytes`, with the origin read instead of written.
            let rc = unsafe { mpi_sys::MPI_Put(origin.cast(), c, bt, r, d, c, bt, self.raw) };
            return check(rc, "MPI_Put");
        }
        // SAFETY: forwarded with this function's contract.
        unsafe { self.put_bytes_chunked(origin, len, rank, disp) }
    }

    /// [`Win::put_bytes`] for empty messages, messages above `INT_MAX` bytes, and argument errors.
    ///
    /// # Safety
    /// As [`Win::put_bytes`].
    #[cold]
    #[inline(never)]
    unsafe fn put_bytes_chunked(&self, origin: *const u8, len: usize, rank: usize, disp: u64) -> Result<()> {
        let r = rank_int(rank, "MPI_Put")?;
        let bt = Datatype::byte();
        let mut done = 0usize;
        while done < len {
            let n = (len - done).min(crate::MAX_COUNT);
            let c = count(n, "MPI_Put")?;
            let d = aint(disp + done as u64, "MPI_Put")?;
            check(
                // SAFETY: as for `get_bytes`, with the origin read instead of written.
                unsafe { mpi_sys::MPI_Put(origin.add(done).cast(), c, bt.raw(), r, d, c, bt.raw(), self.raw) },
                "MPI_Put",
            )?;
            done += n;
        }
        Ok(())
    }

    /// `MPI_Rget` of at most `INT_MAX` bytes: a request that completes locally on its own.
    ///
    /// # Safety
    /// As [`Win::get_bytes`], until the returned request completes.
    #[inline]
    #[doc(alias = "MPI_Rget")]
    pub unsafe fn rget_bytes(&self, origin: *mut u8, len: usize, rank: usize, disp: u64) -> Result<Request> {
        let r = rank_int(rank, "MPI_Rget")?;
        let c = count(len, "MPI_Rget")?;
        let d = aint(disp, "MPI_Rget")?;
        let bt = Datatype::byte();
        let mut req = request_null();
        check(
            // SAFETY: the caller guarantees the origin buffer until the request completes.
            unsafe { mpi_sys::MPI_Rget(origin.cast(), c, bt.raw(), r, d, c, bt.raw(), self.raw, &mut req) },
            "MPI_Rget",
        )?;
        Ok(Request { raw: req })
    }

    /// `MPI_Rput` of at most `INT_MAX` bytes.
    ///
    /// # Safety
    /// As [`Win::put_bytes`], until the returned request completes.
    #[inline]
    #[doc(alias = "MPI_Rput")]
    pub unsafe fn rput_bytes(&self, origin: *const u8, len: usize, rank: usize, disp: u64) -> Result<Request> {
        let r = rank_int(rank, "MPI_Rput")?;
        let c = count(len, "MPI_Rput")?;
        let d = aint(disp, "MPI_Rput")?;
        let bt = Datatype::byte();
        let mut req = request_null();
        check(
            // SAFETY: the caller guarantees the origin buffer until the request completes.
            unsafe { mpi_sys::MPI_Rput(origin.cast(), c, bt.raw(), r, d, c, bt.raw(), self.raw, &mut req) },
            "MPI_Rput",
        )?;
        Ok(Request { raw: req })
    }

    /// `MPI_Accumulate` of `n` elements of `T` with `op`, element-wise atomic.
    ///
    /// # Safety
    /// `origin` valid for `n` reads until local completion; access epoch open; target range
    /// `disp .. disp + n * size_of::<T>()` inside the window.
    #[inline]
    #[doc(alias = "MPI_Accumulate")]
    pub unsafe fn accumulate<T: Equivalence>(
        &self,
        origin: *const T,
        n: usize,
        rank: usize,
        disp: u64,
        op: Op,
    ) -> Result<()> {
        let r = rank_int(rank, "MPI_Accumulate")?;
        let dt = T::datatype();
        let sz = std::mem::size_of::<T>();
        let mut done = 0usize;
        while done < n {
            let k = (n - done).min(crate::MAX_COUNT);
            let c = count(k, "MPI_Accumulate")?;
            let d = aint(disp + (done * sz) as u64, "MPI_Accumulate")?;
            check(
                // SAFETY: the caller guarantees origin and target ranges; `dt` matches T.
                unsafe {
                    mpi_sys::MPI_Accumulate(
                        origin.add(done).cast(),
                        c,
                        dt.raw(),
                        r,
                        d,
                        c,
                        dt.raw(),
                        op.raw(),
                        self.raw,
                    )
                },
                "MPI_Accumulate",
            )?;
            done += k;
        }
        Ok(())
    }

    /// `MPI_Get_accumulate`: fetches the old target contents into `result` and applies `op`.
    ///
    /// # Safety
    /// `origin` valid for `n` reads and `result` for `n` writes until completion; epoch open;
    /// target range inside the window.
    #[inline]
    #[doc(alias = "MPI_Get_accumulate")]
    pub unsafe fn get_accumulate<T: Equivalence>(
        &self,
        origin: *const T,
        result: *mut T,
        n: usize,
        rank: usize,
        disp: u64,
        op: Op,
    ) -> Result<()> {
        let r = rank_int(rank, "MPI_Get_accumulate")?;
        let dt = T::datatype();
        let sz = std::mem::size_of::<T>();
        let mut done = 0usize;
        while done < n {
            let k = (n - done).min(crate::MAX_COUNT);
            let c = count(k, "MPI_Get_accumulate")?;
            let d = aint(disp + (done * sz) as u64, "MPI_Get_accumulate")?;
            check(
                // SAFETY: the caller guarantees all three ranges; `dt` matches T.
                unsafe {
                    mpi_sys::MPI_Get_accumulate(
                        origin.add(done).cast(),
                        c,
                        dt.raw(),
                        result.add(done).cast(),
                        c,
                        dt.raw(),
                        r,
                        d,
                        c,
                        dt.raw(),
                        op.raw(),
                        self.raw,
                    )
                },
                "MPI_Get_accumulate",
            )?;
            done += k;
        }
        Ok(())
    }

    /// `MPI_Fetch_and_op` on one element of `T`.
    ///
    /// # Safety
    /// `origin` and `result` valid until completion; epoch open; target element inside window.
    #[inline]
    #[doc(alias = "MPI_Fetch_and_op")]
    pub unsafe fn fetch_and_op<T: Equivalence>(
        &self,
        origin: *const T,
        result: *mut T,
        rank: usize,
        disp: u64,
        op: Op,
    ) -> Result<()> {
        let r = rank_int(rank, "MPI_Fetch_and_op")?;
        let d = aint(disp, "MPI_Fetch_and_op")?;
        let dt = T::datatype();
        // SAFETY: the caller guarantees the buffers and the target element; `dt` matches T.
        check(
            unsafe { mpi_sys::MPI_Fetch_and_op(origin.cast(), result.cast(), dt.raw(), r, d, op.raw(), self.raw) },
            "MPI_Fetch_and_op",
        )
    }

    /// `MPI_Compare_and_swap` on one element of `T`.
    ///
    /// # Safety
    /// The three buffers valid until completion; epoch open; target element inside window.
    #[inline]
    #[doc(alias = "MPI_Compare_and_swap")]
    pub unsafe fn compare_and_swap<T: Equivalence>(
        &self,
        origin: *const T,
        compare: *const T,
        result: *mut T,
        rank: usize,
        disp: u64,
    ) -> Result<()> {
        let r = rank_int(rank, "MPI_Compare_and_swap")?;
        let d = aint(disp, "MPI_Compare_and_swap")?;
        let dt = T::datatype();
        // SAFETY: the caller guarantees the buffers and the target element; `dt` matches T.
        check(
            unsafe {
                mpi_sys::MPI_Compare_and_swap(origin.cast(), compare.cast(), result.cast(), dt.raw(), r, d, self.raw)
            },
            "MPI_Compare_and_swap",
        )
    }

    /// `MPI_Win_free`: **collective**. Reports the error instead of ignoring it.
    #[doc(alias = "MPI_Win_free")]
    pub fn free(mut self) -> Result<()> {
        let r = self.free_inner();
        std::mem::forget(self);
        r
    }

    fn free_inner(&mut self) -> Result<()> {
        if self.raw != win_null() && !crate::env::finalized_quiet() {
            // SAFETY: `raw` is a window this value owns; it is freed exactly once (set to
            // MPI_WIN_NULL by MPI afterwards).
            let rc = unsafe { mpi_sys::MPI_Win_free(&mut self.raw) };
            self.raw = win_null();
            check(rc, "MPI_Win_free")?;
        }
        Ok(())
    }
}

impl Drop for Win {
    /// Frees the window (collective) — except while a panic unwinds: the other processes are
    /// not freeing it, so the collective would hang the job. The process then exits with the
    /// panic and the launcher ends the job.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = self.free_inner();
        }
    }
}

/// A request from `MPI_Rget`/`MPI_Rput`. Dropping an incomplete request waits for it, so the
/// buffer it uses is never written after the owner is gone.
#[derive(Debug)]
pub struct Request {
    raw: MPI_Request,
}

impl Request {
    /// `MPI_Wait`: blocks until the operation completes locally.
    #[doc(alias = "MPI_Wait")]
    pub fn wait(&mut self) -> Result<()> {
        if self.raw == request_null() {
            return Ok(());
        }
        // SAFETY: `raw` is an active request owned by this value; MPI sets it to
        // MPI_REQUEST_NULL when it completes.
        check(unsafe { mpi_sys::MPI_Wait(&mut self.raw, status_ignore()) }, "MPI_Wait")
    }

    /// `MPI_Test`: true once the operation has completed locally.
    #[doc(alias = "MPI_Test")]
    pub fn test(&mut self) -> Result<bool> {
        if self.raw == request_null() {
            return Ok(true);
        }
        let mut flag = 0;
        check(
            // SAFETY: as for `wait`; `flag` is a valid out-parameter.
            unsafe { mpi_sys::MPI_Test(&mut self.raw, &mut flag, status_ignore()) },
            "MPI_Test",
        )?;
        Ok(flag != 0)
    }

    /// Whether the request has completed (was waited or tested to completion).
    pub fn is_done(&self) -> bool {
        self.raw == request_null()
    }
}

impl Drop for Request {
    fn drop(&mut self) {
        if !crate::env::finalized_quiet() {
            let _ = self.wait();
        }
    }
}

/// Makes the unused-in-some-builds accessors visible to the compiler (they are part of the
/// constant table and used by the benchmarks through `Win`).
#[allow(dead_code)]
fn _uses() -> (i32, i32, *mut c_void) {
    (mode_nostore(), mode_noput(), in_place())
}

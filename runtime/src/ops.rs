//! One-sided operations on the symmetric heap. Every operation checks the rank range, the
//! segment handle and `offset + len <= segment length` before touching MPI.
use crate::elem::{AccOp, Elem, ElemClass};
use crate::error::{ensure, Error, ErrorKind, Result};
use crate::heap::{HeapWindow, Seg};
use crate::runtime::Runtime;
use std::marker::PhantomData;

/// Views a slice of plain elements as bytes.
fn as_bytes<T: Elem>(s: &[T]) -> &[u8] {
    // SAFETY: `Elem` types are fixed-width integers and floats: no padding, every byte is
    // initialised, and u8 has alignment 1; the length covers exactly the same memory.
    unsafe { std::slice::from_raw_parts(s.as_ptr().cast(), std::mem::size_of_val(s)) }
}

/// Views a mutable slice of plain elements as bytes.
fn as_bytes_mut<T: Elem>(s: &mut [T]) -> &mut [u8] {
    // SAFETY: as `as_bytes`; in addition every byte pattern is a valid integer/float, so
    // writing arbitrary bytes through the view cannot create an invalid `T`.
    unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr().cast(), std::mem::size_of_val(s)) }
}

/// A non-blocking get or put in flight. [`Request::wait`] / [`Request::test`] give *local*
/// completion (a get's data has arrived; a put's buffer may be reused); remote completion of a
/// put needs [`Runtime::flush`]. Dropping a request waits for it.
#[derive(Debug)]
#[must_use = "a request must be waited for (dropping it waits)"]
pub struct Request<'a> {
    reqs: Vec<distarr_ffi::Request>,
    _buf: PhantomData<&'a mut [u8]>,
}

impl Request<'_> {
    fn done() -> Self {
        Request {
            reqs: Vec::new(),
            _buf: PhantomData,
        }
    }

    /// Blocks until the operation is complete locally (`MPI_Wait`).
    #[doc(alias = "MPI_Wait")]
    pub fn wait(mut self) -> Result<()> {
        for r in &mut self.reqs {
            r.wait()?;
        }
        Ok(())
    }

    /// Whether the operation is complete locally (`MPI_Test`); never blocks.
    #[doc(alias = "MPI_Test")]
    pub fn test(&mut self) -> Result<bool> {
        let mut all = true;
        for r in &mut self.reqs {
            all &= r.test()?;
        }
        Ok(all)
    }
}

impl Runtime {
    /// Resolves a target: rank range, segment handle, bounds. Returns the window displacement
    /// (for dynamic windows it includes the target's base address; the load/store path, which
    /// adds it to `peers[rank]`, only exists on windows where that base is zero).
    #[inline(always)]
    fn target<'h>(
        &self,
        heap: &'h crate::heap::Heap,
        rank: usize,
        seg: Seg,
        offset: u64,
        len: usize,
    ) -> Result<(&'h HeapWindow, u64)> {
        // Fast path: the same checks as `target_error`, without building error values.
        if rank < self.inner.nranks {
            if let Some((w, d)) = heap.locate(seg, offset, len as u64) {
                return Ok((w, w.rma_disp(rank, d)));
            }
        }
        Err(self.target_error(heap, rank, seg, offset, len))
    }

    /// The error `target` reports: the checks in their documented order (rank, handle, bounds).
    #[cold]
    #[inline(never)]
    fn target_error(&self, heap: &crate::heap::Heap, rank: usize, seg: Seg, offset: u64, len: usize) -> Error {
        let checked = self
            .check_rank(rank)
            .and_then(|()| heap.resolve(seg))
            .and_then(|a| a.disp(offset, len as u64));
        match checked {
            Err(e) => e,
            Ok(_) => Error::new(
                ErrorKind::InvalidSegment,
                format!("segment {:#x}: allocation table inconsistent", seg.raw()),
            ),
        }
    }

    fn check_aligned<T>(offset: u64) -> Result<()> {
        let sz = std::mem::size_of::<T>() as u64;
        ensure!(
            offset % sz == 0,
            Misaligned,
            "offset {offset} is not a multiple of the element size {sz}"
        );
        Ok(())
    }

    /// Copies `dst.len()` bytes from `rank`'s part of `seg` at byte `offset` into `dst`
    /// (`MPI_Get` + `MPI_Win_flush`, or a memcpy from node-shared memory). One-sided; blocking:
    /// the data is in `dst` when it returns.
    #[inline]
    #[doc(alias = "MPI_Get")]
    pub fn get(&self, dst: &mut [u8], rank: usize, seg: Seg, offset: u64) -> Result<()> {
        let i = self.live()?;
        let heap = i.heap.borrow();
        let (w, disp) = self.target(&heap, rank, seg, offset, dst.len())?;
        // SAFETY: `target` bounds-checked the range; the destination is a distinct Rust buffer.
        if unsafe { w.load(rank, disp, dst.as_mut_ptr(), dst.len()) } {
            return Ok(());
        }
        let win = w.rma();
        // SAFETY: `dst` is valid for writes of its length until the flush below completes the
        // get; the target range was bounds-checked; the window is in a lock_all epoch.
        unsafe { win.get_bytes(dst.as_mut_ptr(), dst.len(), rank, disp)? };
        Ok(win.flush_local(rank)?)
    }

    /// Copies `src` into `rank`'s part of `seg` at byte `offset` (`MPI_Put` + `MPI_Win_flush`,
    /// or a memcpy into node-shared memory). One-sided; blocking with remote completion: the
    /// data is in the target's memory when it returns (visible to the target's own loads after
    /// its next [`Runtime::win_sync`] / [`Runtime::sync`]).
    #[inline]
    #[doc(alias = "MPI_Put")]
    pub fn put(&self, rank: usize, seg: Seg, offset: u64, src: &[u8]) -> Result<()> {
        let i = self.live()?;
        let heap = i.heap.borrow();
        let (w, disp) = self.target(&heap, rank, seg, offset, src.len())?;
        // SAFETY: `target` bounds-checked the range; the source is a distinct Rust buffer.
        if unsafe { w.store(rank, disp, src.as_ptr(), src.len()) } {
            return Ok(());
        }
        let win = w.rma();
        // SAFETY: `src` stays borrowed until the flush below completes the put; bounds checked.
        unsafe { win.put_bytes(src.as_ptr(), src.len(), rank, disp)? };
        Ok(win.flush(rank)?)
    }

    /// Starts a get (`MPI_Rget`, chunked above `INT_MAX` bytes). One-sided, non-blocking: `dst`
    /// stays borrowed until the returned request completes.
    #[inline]
    #[doc(alias = "MPI_Rget")]
    pub fn get_nb<'a>(&self, dst: &'a mut [u8], rank: usize, seg: Seg, offset: u64) -> Result<Request<'a>> {
        let i = self.live()?;
        let heap = i.heap.borrow();
        let (w, disp) = self.target(&heap, rank, seg, offset, dst.len())?;
        // SAFETY: `target` bounds-checked the range; the destination is a distinct Rust buffer.
        if unsafe { w.load(rank, disp, dst.as_mut_ptr(), dst.len()) } {
            return Ok(Request::done());
        }
        let mut reqs = Vec::new();
        for (k, chunk) in dst.chunks_mut(distarr_ffi::MAX_COUNT).enumerate() {
            let d = disp + (k * distarr_ffi::MAX_COUNT) as u64;
            // SAFETY: `chunk` is borrowed (through the request's lifetime) until the request
            // completes; the target range was bounds-checked as a whole.
            reqs.push(unsafe { w.rma().rget_bytes(chunk.as_mut_ptr(), chunk.len(), rank, d)? });
        }
        Ok(Request {
            reqs,
            _buf: PhantomData,
        })
    }

    /// Starts a put (`MPI_Rput`). One-sided, non-blocking: `src` stays borrowed until the
    /// request completes (local completion); remote completion needs [`Runtime::flush`].
    #[inline]
    #[doc(alias = "MPI_Rput")]
    pub fn put_nb<'a>(&self, rank: usize, seg: Seg, offset: u64, src: &'a [u8]) -> Result<Request<'a>> {
        let i = self.live()?;
        let heap = i.heap.borrow();
        let (w, disp) = self.target(&heap, rank, seg, offset, src.len())?;
        // SAFETY: `target` bounds-checked the range; the source is a distinct Rust buffer.
        if unsafe { w.store(rank, disp, src.as_ptr(), src.len()) } {
            return Ok(Request::done());
        }
        let mut reqs = Vec::new();
        for (k, chunk) in src.chunks(distarr_ffi::MAX_COUNT).enumerate() {
            let d = disp + (k * distarr_ffi::MAX_COUNT) as u64;
            // SAFETY: `chunk` stays borrowed until the request completes; bounds checked.
            reqs.push(unsafe { w.rma().rput_bytes(chunk.as_ptr(), chunk.len(), rank, d)? });
        }
        Ok(Request {
            reqs,
            _buf: PhantomData,
        })
    }

    /// Typed [`Runtime::get`]: `offset` is in bytes.
    pub fn get_elems<T: Elem>(&self, dst: &mut [T], rank: usize, seg: Seg, offset: u64) -> Result<()> {
        self.get(as_bytes_mut(dst), rank, seg, offset)
    }

    /// Typed [`Runtime::put`]: `offset` is in bytes.
    pub fn put_elems<T: Elem>(&self, rank: usize, seg: Seg, offset: u64, src: &[T]) -> Result<()> {
        self.put(rank, seg, offset, as_bytes(src))
    }

    /// `target[k] = target[k] op src[k]`, atomically per element (`MPI_Accumulate` +
    /// `MPI_Win_flush`). One-sided; blocking with remote completion. `offset` (bytes) must be
    /// a multiple of the element size. Concurrent accumulates to one element should use the
    /// same op (or `NoOp`), as MPI's default `accumulate_ops=same_op_no_op` assumes.
    #[doc(alias = "MPI_Accumulate")]
    pub fn accumulate<T: Elem>(&self, src: &[T], rank: usize, seg: Seg, offset: u64, op: AccOp) -> Result<()> {
        op.check::<T>()?;
        ensure!(
            op != AccOp::NoOp,
            InvalidArgument,
            "accumulate with NoOp does nothing; use get_accumulate"
        );
        Self::check_aligned::<T>(offset)?;
        let i = self.live()?;
        let heap = i.heap.borrow();
        let (w, disp) = self.target(&heap, rank, seg, offset, std::mem::size_of_val(src))?;
        // SAFETY: `src` is borrowed until the flush below; the target range was bounds-checked
        // and is aligned to T; the window is in a lock_all epoch.
        unsafe { w.rma().accumulate(src.as_ptr(), src.len(), rank, disp, op.mpi())? };
        Ok(w.rma().flush(rank)?)
    }

    /// Fetches the old target contents into `result` and applies `op` with `src`, atomically per
    /// element (`MPI_Get_accumulate` + flush). One-sided; blocking.
    #[doc(alias = "MPI_Get_accumulate")]
    pub fn get_accumulate<T: Elem>(
        &self,
        src: &[T],
        result: &mut [T],
        rank: usize,
        seg: Seg,
        offset: u64,
        op: AccOp,
    ) -> Result<()> {
        op.check::<T>()?;
        ensure!(
            src.len() == result.len(),
            InvalidArgument,
            "get_accumulate: {} operands, {} results",
            src.len(),
            result.len()
        );
        Self::check_aligned::<T>(offset)?;
        let i = self.live()?;
        let heap = i.heap.borrow();
        let (w, disp) = self.target(&heap, rank, seg, offset, std::mem::size_of_val(src))?;
        // SAFETY: both buffers are borrowed until the flush below; target range checked/aligned.
        unsafe {
            w.rma()
                .get_accumulate(src.as_ptr(), result.as_mut_ptr(), src.len(), rank, disp, op.mpi())?
        };
        Ok(w.rma().flush(rank)?)
    }

    /// Atomically applies `op` with `operand` to one element and returns its old value
    /// (`MPI_Fetch_and_op` + flush). One-sided; blocking.
    #[doc(alias = "MPI_Fetch_and_op")]
    pub fn fetch_and_op<T: Elem>(&self, operand: T, rank: usize, seg: Seg, offset: u64, op: AccOp) -> Result<T> {
        op.check::<T>()?;
        Self::check_aligned::<T>(offset)?;
        let i = self.live()?;
        let heap = i.heap.borrow();
        let (w, disp) = self.target(&heap, rank, seg, offset, std::mem::size_of::<T>())?;
        let mut result = operand;
        // SAFETY: `operand` and `result` live on this stack frame until the flush below; the
        // target element was bounds-checked and is aligned.
        unsafe { w.rma().fetch_and_op(&operand, &mut result, rank, disp, op.mpi())? };
        w.rma().flush(rank)?;
        Ok(result)
    }

    /// Atomically replaces one integer element with `swap` if it equals `compare`; returns the
    /// old value (`MPI_Compare_and_swap` + flush). One-sided; blocking. Integers only.
    #[doc(alias = "MPI_Compare_and_swap")]
    pub fn compare_and_swap<T: Elem>(&self, compare: T, swap: T, rank: usize, seg: Seg, offset: u64) -> Result<T> {
        ensure!(
            T::CLASS == ElemClass::Int,
            InvalidArgument,
            "compare_and_swap needs an integer type, not {}",
            T::NAME
        );
        Self::check_aligned::<T>(offset)?;
        let i = self.live()?;
        let heap = i.heap.borrow();
        let (w, disp) = self.target(&heap, rank, seg, offset, std::mem::size_of::<T>())?;
        if rank == i.rank && w.cas_self_local && std::mem::size_of::<T>() == 8 {
            // MPI_Compare_and_swap would segfault here (see HeapWindow::cas_self_local).
            w.rma().flush(rank)?;
            // SAFETY: T is an 8-byte integer type (integer class, size checked above): same
            // size as u64, and every bit pattern is valid for both.
            let c = unsafe { std::mem::transmute_copy::<T, u64>(&compare) };
            // SAFETY: as above.
            let s = unsafe { std::mem::transmute_copy::<T, u64>(&swap) };
            let old = w.local_cas_u64(disp - w.rma_disp(rank, 0), c, s);
            // SAFETY: as above.
            return Ok(unsafe { std::mem::transmute_copy::<u64, T>(&old) });
        }
        let mut result = compare;
        // SAFETY: the three values live on this stack frame until the flush below; the target
        // element was bounds-checked and is aligned.
        unsafe { w.rma().compare_and_swap(&swap, &compare, &mut result, rank, disp)? };
        w.rma().flush(rank)?;
        Ok(result)
    }
}

/// Converts a byte count to `usize` for local buffers.
pub fn to_usize(n: u64) -> Result<usize> {
    usize::try_from(n).map_err(|_| Error::new(ErrorKind::OutOfBounds, format!("{n} bytes exceed the address space")))
}

impl Runtime {
    /// [`Runtime::get_nb`] into memory the caller owns by other means (a C buffer): the request
    /// does not borrow it. One-sided, non-blocking; `len` bytes land at `dst` once the request
    /// completes ([`Request::wait`], [`Request::test`] returning true, or dropping it).
    ///
    /// # Safety
    /// - `dst` is valid for writes of `len` bytes (it may be dangling when `len == 0`);
    /// - nothing reads or writes those bytes, and they are not freed, until the request has
    ///   completed;
    /// - the request is completed (or dropped) before the runtime is finalized.
    #[doc(alias = "MPI_Rget")]
    pub unsafe fn get_nb_raw(
        &self,
        dst: *mut u8,
        len: usize,
        rank: usize,
        seg: Seg,
        offset: u64,
    ) -> Result<Request<'static>> {
        let dst: &'static mut [u8] = if len == 0 {
            &mut []
        } else {
            // SAFETY: `dst` is valid for `len` writable bytes that nothing else touches until the
            // request completes (this function's contract); the request carries the `'static`
            // lifetime, whose honesty the same contract provides.
            unsafe { std::slice::from_raw_parts_mut(dst, len) }
        };
        self.get_nb(dst, rank, seg, offset)
    }

    /// [`Runtime::put_nb`] from memory the caller owns by other means (a C buffer): the request
    /// does not borrow it. One-sided, non-blocking; `src` may be reused once the request
    /// completes locally; remote completion needs [`Runtime::flush`].
    ///
    /// # Safety
    /// - `src` is valid for reads of `len` bytes (it may be dangling when `len == 0`);
    /// - nothing writes those bytes, and they are not freed, until the request has completed;
    /// - the request is completed (or dropped) before the runtime is finalized.
    #[doc(alias = "MPI_Rput")]
    pub unsafe fn put_nb_raw(
        &self,
        rank: usize,
        seg: Seg,
        offset: u64,
        src: *const u8,
        len: usize,
    ) -> Result<Request<'static>> {
        let src: &'static [u8] = if len == 0 {
            &[]
        } else {
            // SAFETY: `src` is valid for `len` readable bytes that nobody writes until the
            // request completes (this function's contract).
            unsafe { std::slice::from_raw_parts(src, len) }
        };
        self.put_nb(rank, seg, offset, src)
    }
}

/// Implicit-completion gets and puts (OpenSHMEM's `_nbi` operations) inside a
/// [`Runtime::nbi`] scope: each is a plain `MPI_Get` / `MPI_Put` with no request object,
/// completed by a later flush, like OSU's bandwidth loops. The buffers are borrowed for `'buf`,
/// which outlives the scope; the scope completes every operation before it returns.
#[derive(Debug)]
pub struct Nbi<'r, 'buf> {
    rt: &'r Runtime,
    /// Invariant in `'buf`: a scope for long-lived buffers must not accept shorter-lived ones.
    _buf: PhantomData<&'buf mut &'buf ()>,
}

impl<'buf> Nbi<'_, 'buf> {
    /// Starts a get of `dst.len()` bytes from `rank`'s part of `seg` at byte `offset`
    /// (`MPI_Get`, or a memcpy from node-shared memory, complete at once). The data is in `dst`
    /// after [`Runtime::flush_local`] / [`Runtime::flush`] to `rank`, any flush-all, fence or
    /// sync, and at the latest when the scope ends. Checks as [`Runtime::get`].
    #[inline]
    #[doc(alias = "shmem_getmem_nbi")]
    pub fn get(&self, dst: &'buf mut [u8], rank: usize, seg: Seg, offset: u64) -> Result<()> {
        // SAFETY: `dst` is exclusively borrowed for `'buf`, which outlives the `nbi` call, and
        // the scope completes every operation (flush_local_all) before `nbi` returns or unwinds.
        unsafe { self.rt.get_nbi(dst.as_mut_ptr(), dst.len(), rank, seg, offset) }
    }

    /// Starts a put of `src` into `rank`'s part of `seg` at byte `offset` (`MPI_Put`, or a
    /// memcpy into node-shared memory). Remote completion: [`Runtime::flush`] to `rank`, a
    /// flush-all, fence or sync; the scope's end gives local completion only. Checks as
    /// [`Runtime::put`].
    #[inline]
    #[doc(alias = "shmem_putmem_nbi")]
    pub fn put(&self, rank: usize, seg: Seg, offset: u64, src: &'buf [u8]) -> Result<()> {
        // SAFETY: `src` is borrowed (unwritable) for `'buf`, which outlives the `nbi` call; the
        // scope completes every operation locally before `nbi` returns or unwinds.
        unsafe { self.rt.put_nbi(rank, seg, offset, src.as_ptr(), src.len()) }
    }
}

impl Runtime {
    /// Runs `f` with an [`Nbi`] handle for implicit-completion gets and puts, then completes
    /// every operation this rank issued locally (`MPI_Win_flush_local_all`): gets have landed
    /// and put buffers may be reused (remote completion of puts still needs a flush, fence or
    /// sync, which `f` may also call). One-sided. The buffers must outlive the call, so the
    /// borrow checker keeps them untouched while operations may be in flight:
    ///
    /// ```no_run
    /// # fn demo(rt: &distarr_runtime::Runtime, seg: distarr_runtime::Seg) -> distarr_runtime::Result<()> {
    /// let mut parts = vec![[0u8; 64]; 16];
    /// rt.nbi(|s| {
    ///     for (k, p) in parts.iter_mut().enumerate() {
    ///         s.get(p, 1, seg, 64 * k as u64)?;
    ///     }
    ///     Ok(())
    /// })?;
    /// // every `parts[k]` holds its data here
    /// # Ok(()) }
    /// ```
    ///
    /// If `f` unwinds, the operations are completed before the unwinding continues. If they
    /// cannot be completed (an MPI failure in the flush), the job is aborted: returning would
    /// let MPI write into buffers the caller may free.
    pub fn nbi<'buf, R>(&self, f: impl for<'r> FnOnce(&Nbi<'r, 'buf>) -> Result<R>) -> Result<R> {
        /// Completes the scope's operations when `f` unwinds.
        struct Complete<'a>(&'a Runtime);
        impl Drop for Complete<'_> {
            fn drop(&mut self) {
                self.0.complete_nbi();
            }
        }
        let guard = Complete(self);
        let r = f(&Nbi {
            rt: self,
            _buf: PhantomData,
        });
        std::mem::forget(guard);
        self.complete_nbi();
        r
    }

    /// Local completion of every operation of this rank, or a job abort (see [`Runtime::nbi`]).
    /// A finalized runtime completed everything when it finalized.
    fn complete_nbi(&self) {
        if self.is_finalized() {
            return;
        }
        if let Err(e) = self.flush_local_all() {
            log::error!(target: "distarr", "cannot complete implicit-completion operations; aborting the job: {e}");
            distarr_ffi::abort(70)
        }
    }

    /// Starts a get of `len` bytes into `dst` with implicit completion (`MPI_Get` without a
    /// request; a memcpy from node-shared memory, complete at once). One-sided, non-blocking:
    /// the data is in `dst` after [`Runtime::flush_local`] / [`Runtime::flush`] to `rank`,
    /// [`Runtime::flush_all`], [`Runtime::flush_local_all`], [`Runtime::fence`] or
    /// [`Runtime::sync`]. Checks (rank, segment, bounds) as [`Runtime::get`], before MPI.
    /// [`Runtime::nbi`] is the safe form.
    ///
    /// # Safety
    /// - `dst` is valid for writes of `len` bytes (it may be dangling or null when `len == 0`)
    ///   and does not overlap the source range;
    /// - nothing reads or writes those bytes, and they are not freed, until one of the
    ///   completion calls above has returned (or the runtime was finalized).
    #[inline]
    #[doc(alias = "shmem_getmem_nbi")]
    pub unsafe fn get_nbi(&self, dst: *mut u8, len: usize, rank: usize, seg: Seg, offset: u64) -> Result<()> {
        let i = self.live()?;
        let heap = i.heap.borrow();
        let (w, disp) = self.target(&heap, rank, seg, offset, len)?;
        if len == 0 {
            return Ok(());
        }
        // SAFETY: `target` bounds-checked the range; the destination is the caller's distinct buffer.
        if unsafe { w.load(rank, disp, dst, len) } {
            return Ok(());
        }
        // SAFETY: `dst` stays valid and untouched until a completion call (contract); the
        // target range was bounds-checked; the window is in a lock_all epoch.
        unsafe { w.rma().get_bytes(dst, len, rank, disp)? };
        Ok(())
    }

    /// Starts a put of the `len` bytes at `src` with implicit completion (`MPI_Put` without a
    /// request; a memcpy into node-shared memory, complete at once). One-sided, non-blocking:
    /// `src` may be reused after [`Runtime::flush_local`] to `rank` (or any call that completes
    /// [`Runtime::get_nbi`]); the data is at the target after [`Runtime::flush`] to `rank`,
    /// [`Runtime::flush_all`], [`Runtime::fence`] or [`Runtime::sync`]. Checks as
    /// [`Runtime::put`], before MPI. [`Runtime::nbi`] is the safe form.
    ///
    /// # Safety
    /// - `src` is valid for reads of `len` bytes (it may be dangling or null when `len == 0`)
    ///   and does not overlap the target range;
    /// - nothing writes those bytes, and they are not freed, until a call that completes the
    ///   operation locally has returned (or the runtime was finalized).
    #[inline]
    #[doc(alias = "shmem_putmem_nbi")]
    pub unsafe fn put_nbi(&self, rank: usize, seg: Seg, offset: u64, src: *const u8, len: usize) -> Result<()> {
        let i = self.live()?;
        let heap = i.heap.borrow();
        let (w, disp) = self.target(&heap, rank, seg, offset, len)?;
        if len == 0 {
            return Ok(());
        }
        // SAFETY: `target` bounds-checked the range; the source is the caller's distinct buffer.
        if unsafe { w.store(rank, disp, src, len) } {
            return Ok(());
        }
        // SAFETY: `src` stays valid and unwritten until a completion call (contract); bounds
        // checked; the window is in a lock_all epoch.
        unsafe { w.rma().put_bytes(src, len, rank, disp)? };
        Ok(())
    }
}

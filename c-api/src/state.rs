//! The library's per-thread state: the runtime and the execution mode, the handle tables of
//! requests and arrays, what rank 0 of sequential mode issued since the last synchronisation
//! ([`SyncTracker`]) and the commands it has not sent yet ([`Batch`]).
//!
//! distarr's runtime belongs to the thread that initialised it (MPI epochs and the heap are not
//! shared between threads), so the C ABI keeps its state in thread-locals: calls from another
//! thread see "not initialized" (`DISTARR_ERR_STATE`). The exported functions borrow the state
//! for the length of a call ([`with_state`]); nothing is cloned on the way.
use crate::batch::Batch;
use crate::codes::Mode;
use crate::handle::{Kind, Table};
use crate::status::{check, CError, CResult, DISTARR_ERR_STATE};
use distarr_arrays::DistArray;
use distarr_runtime::{Request, Runtime};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// Where the calling thread is in the library's life cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Uninit,
    Running,
    Finalized,
}

/// The running library on this thread.
#[derive(Clone, Debug)]
pub(crate) struct State {
    pub rt: Runtime,
    pub mode: Mode,
    /// Sequential mode on rank 0: what was issued since the last synchronisation.
    pub track: SyncTracker,
    /// Sequential mode on rank 0 with several ranks: the commands not yet sent to the workers.
    pub batch: Option<Rc<Batch>>,
}

impl State {
    /// The state of a runtime just initialised; on rank 0 of sequential mode with several
    /// ranks, installs the command batch (see [`Batch::install`]).
    pub(crate) fn new(rt: Runtime, mode: Mode) -> State {
        let leads = mode == Mode::Sequential && rt.rank() == 0 && rt.nranks() > 1;
        let batch = leads.then(|| Batch::install(&rt));
        State {
            rt,
            mode,
            track: SyncTracker::new(leads),
            batch,
        }
    }

    /// Fails with `DISTARR_ERR_STATE` in sequential mode (calls that exchange the user program's
    /// data between ranks have no meaning when only rank 0 runs the program).
    pub(crate) fn spmd_only(&self, what: &str) -> CResult<()> {
        check!(
            self.mode == Mode::Spmd,
            DISTARR_ERR_STATE,
            "{what} exchanges data between the program's ranks; in sequential mode only rank 0 runs the program"
        );
        Ok(())
    }
}

/// Sequential mode's automatic synchronisation between one-sided and collective calls, as rank
/// 0 sees them: collective array operations do not order themselves with one-sided accesses
/// (the program separates them with `distarr_sync` in SPMD mode); in sequential mode the C ABI
/// does it for the program. Rank 0 remembers whether one-sided operations and whether collective
/// operations that touch array data were issued since the last synchronisation:
/// - a one-sided operation after such collective operations is preceded by a `Sync` command
///   ([`SyncTracker::onesided_needs_sync`]);
/// - a data-touching collective command after one-sided operations carries the `SYNC_FIRST`
///   flag: every rank synchronises before executing it (no extra message;
///   [`SyncTracker::before_collective`]).
///
/// Outside sequential mode's rank 0 the tracker stays quiet: one load and compare per call.
#[derive(Clone, Debug)]
pub(crate) struct SyncTracker(Cell<u8>);

impl SyncTracker {
    /// This rank leads (sequential mode, rank 0, several ranks).
    const LEADS: u8 = 1;
    /// One-sided operations since the last synchronisation.
    const ONESIDED: u8 = 2;
    /// Data-touching collective operations since the last synchronisation.
    const COLLECTIVE: u8 = 4;

    pub(crate) fn new(leads: bool) -> SyncTracker {
        SyncTracker(Cell::new(if leads { Self::LEADS } else { 0 }))
    }

    #[inline]
    fn leads(&self) -> bool {
        self.0.get() & Self::LEADS != 0
    }

    /// Whether a one-sided call needs no bookkeeping: not leading, or one-sided calls already
    /// follow the last synchronisation with no collective operation since (the fast path).
    #[inline(always)]
    pub(crate) fn quiet(&self) -> bool {
        let t = self.0.get();
        t & Self::LEADS == 0 || t == Self::LEADS | Self::ONESIDED
    }

    /// Whether a one-sided call must first synchronise every rank (collective operations
    /// touched data since the last synchronisation).
    pub(crate) fn onesided_needs_sync(&self) -> bool {
        self.0.get() & Self::COLLECTIVE != 0
    }

    /// Records a one-sided call (after the synchronisation it needed, if any).
    pub(crate) fn note_onesided(&self) {
        if self.leads() {
            self.0.set(Self::LEADS | Self::ONESIDED);
        }
    }

    /// Records a collective command about to be issued and returns whether it must synchronise
    /// every rank first: it touches array data (`touches_data`) after one-sided calls. A
    /// synchronisation (`is_sync`) clears everything; commands that touch no data change nothing.
    pub(crate) fn before_collective(&self, touches_data: bool, is_sync: bool) -> bool {
        let t = self.0.get();
        if t & Self::LEADS == 0 {
            return false;
        }
        if is_sync {
            self.0.set(Self::LEADS);
            return false;
        }
        if !touches_data {
            return false;
        }
        self.0.set(Self::LEADS | Self::COLLECTIVE);
        t & Self::ONESIDED != 0
    }

    /// Whether [`SyncTracker::before_collective`] would ask for a synchronisation first (it
    /// changes nothing).
    pub(crate) fn would_sync(&self, touches_data: bool, is_sync: bool) -> bool {
        let t = self.0.get();
        t & Self::LEADS != 0 && !is_sync && touches_data && t & Self::ONESIDED != 0
    }

    /// The tracker's state, to put back with [`SyncTracker::restore`] (a command that was taken
    /// back: see `Batch::retract`).
    pub(crate) fn snapshot(&self) -> u8 {
        self.0.get()
    }

    pub(crate) fn restore(&self, state: u8) {
        self.0.set(state);
    }
}

thread_local! {
    static PHASE: Cell<Phase> = const { Cell::new(Phase::Uninit) };
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
    /// Outstanding non-blocking gets/puts (`distarr_request`).
    pub(crate) static REQUESTS: RefCell<Table<Request<'static>>> = const { RefCell::new(Table::new(Kind::Request)) };
    /// Live arrays and views (`distarr_array`). Every rank inserts and removes entries in the
    /// same order (all are collective), so an array has the same id on every rank.
    static ARRAYS: RefCell<Table<ArrayEntry>> = const { RefCell::new(Table::new(Kind::Array)) };
    /// Creation counter of array entries (finalize frees the arrays in creation order).
    static ARRAY_SEQ: Cell<u64> = const { Cell::new(0) };
}

/// Runs `f` with the running library's state, borrowed for the call, or fails with
/// `DISTARR_ERR_STATE` before init, after finalize, or on a thread that did not initialise it.
/// `f` must not initialise or finalise the library (no exported function calls another).
///
/// This is every call's fast path: the thread-local is read in place, without a `Ref` guard
/// (whose bookkeeping, and the closure that `LocalKey::with` would run it in, cost more than the
/// rest of a small call). What the guard would protect is kept by construction: the state is
/// replaced only by [`install`] and [`uninstall`], which run outside any `with_state` call.
#[inline(always)]
pub(crate) fn with_state<R>(f: impl FnOnce(&State) -> CResult<R>) -> CResult<R> {
    let state = STATE.with(|s| {
        // SAFETY: fails (no reference made) while `install`/`uninstall` hold the mutable borrow;
        // otherwise the reference is used only during this call, on this thread, and nothing
        // replaces the state meanwhile (see above), so it stays valid and unaliased by writes.
        unsafe { s.try_borrow_unguarded() }.map(|o| o.as_ref().map(|st| st as *const State))
    });
    match state {
        // SAFETY: as above: the thread-local outlives this call and is not written during it.
        Ok(Some(st)) => f(unsafe { &*st }),
        _ => Err(not_running()),
    }
}

/// Fails with `DISTARR_ERR_STATE` unless the library is running on this thread.
#[inline]
pub(crate) fn running() -> CResult<()> {
    with_state(|_| Ok(()))
}

#[cold]
#[inline(never)]
fn not_running() -> CError {
    let msg = match PHASE.with(Cell::get) {
        Phase::Finalized => "distarr was finalized",
        _ => "distarr is not initialized (call distarr_init first, from this thread)",
    };
    CError::new(DISTARR_ERR_STATE, msg)
}

/// A copy of the running state, for the life-cycle calls that replace it.
pub(crate) fn current() -> CResult<State> {
    with_state(|st| Ok(st.clone()))
}

/// Fails unless the library can be initialised on this thread now.
pub(crate) fn check_not_running() -> CResult<()> {
    check!(
        PHASE.with(Cell::get) != Phase::Running,
        DISTARR_ERR_STATE,
        "distarr is already initialized"
    );
    Ok(())
}

/// Makes `st` the running state of this thread.
pub(crate) fn install(st: State) {
    STATE.with(|s| *s.borrow_mut() = Some(st));
    PHASE.with(|p| p.set(Phase::Running));
}

/// Ends the running state (after finalize).
fn uninstall() {
    STATE.with(|s| *s.borrow_mut() = None);
    PHASE.with(|p| p.set(Phase::Finalized));
}

// --- arrays -------------------------------------------------------------------------------------

/// A `distarr_array`: an array or a view, and whether the handle owns the storage.
pub(crate) struct ArrayEntry {
    /// Shared with the calls that use it ([`lookup`]): a reference count, not a copy of the
    /// view's description, per use.
    arr: Rc<DistArray>,
    /// Created by a creation call (owns the storage, freed by `distarr_free`) rather than a
    /// view of another handle's storage.
    owner: bool,
    /// Shared by an owner and its views: false once the owner freed the storage.
    alive: Rc<Cell<bool>>,
    /// Creation order.
    seq: u64,
}

/// The storage flag of an array's handle, shared with the views made from it.
pub(crate) type Storage = Rc<Cell<bool>>;

/// The array behind an id and its storage flag (the array may be a view of freed storage:
/// [`lookup`] refuses those); `DISTARR_ERR_HANDLE` for a bad id.
pub(crate) fn entry(id: i64) -> CResult<(Rc<DistArray>, Storage)> {
    ARRAYS.with(|t| {
        let t = t.borrow();
        let e = t.get(id)?;
        Ok((e.arr.clone(), e.alive.clone()))
    })
}

/// The live array behind an id: `DISTARR_ERR_HANDLE` for a freed, forged or other-kind id, or
/// a view whose storage was freed with the array it views.
pub(crate) fn lookup(id: i64) -> CResult<Rc<DistArray>> {
    ARRAYS.with(|t| {
        let t = t.borrow();
        let e = t.get(id)?;
        check!(
            e.alive.get(),
            DISTARR_ERR_HANDLE,
            "distarr_array {id:#x} is a view of an array that was freed"
        );
        Ok(e.arr.clone())
    })
}

fn insert(arr: DistArray, owner: bool, alive: Storage) -> CResult<i64> {
    let seq = ARRAY_SEQ.with(|s| {
        let v = s.get();
        s.set(v + 1);
        v
    });
    let arr = Rc::new(arr);
    ARRAYS.with(|t| t.borrow_mut().insert(ArrayEntry { arr, owner, alive, seq }))
}

/// A new handle owning a new array's storage.
pub(crate) fn insert_owner(arr: DistArray) -> CResult<i64> {
    insert(arr, true, Rc::new(Cell::new(true)))
}

/// A new handle of a view of the storage behind `storage` (the flag of the handle it came from).
pub(crate) fn insert_view(arr: DistArray, storage: Storage) -> CResult<i64> {
    insert(arr, false, storage)
}

/// Removes an array handle; frees the storage if the handle owns it (**collective**: every
/// rank removes the same handles in the same order).
pub(crate) fn free_array(id: i64) -> CResult<()> {
    let e = ARRAYS.with(|t| t.borrow_mut().remove(id))?;
    free_entry(e)
}

fn free_entry(e: ArrayEntry) -> CResult<()> {
    if e.owner && e.alive.get() {
        e.alive.set(false);
        Rc::unwrap_or_clone(e.arr).free()?;
    }
    Ok(())
}

/// What finalize releases before the runtime goes: frees every live array collectively (every
/// rank, in creation order; then the views go), then completes every outstanding request (their
/// buffers must still be valid). Returns the first error.
pub(crate) fn release_all() -> CResult<()> {
    let mut all = ARRAYS.with(|t| t.borrow_mut().drain());
    all.sort_by_key(|e| e.seq);
    let mut first_err = None;
    for e in all {
        if let Err(err) = free_entry(e) {
            first_err.get_or_insert(err);
        }
    }
    let pending = REQUESTS.with(|t| t.borrow_mut().drain());
    for r in pending {
        if let Err(e) = r.wait() {
            first_err.get_or_insert(e.into());
        }
    }
    first_err.map_or(Ok(()), Err)
}

/// Finalises on this rank: releases arrays and requests, finalises the runtime, ends the state.
pub(crate) fn finalize_local(st: &State) -> CResult<()> {
    let released = release_all();
    let fin = st.rt.finalize();
    uninstall();
    fin?;
    released
}

#[cfg(test)]
mod tests {
    use super::SyncTracker;

    #[test]
    fn tracker_orders_onesided_and_collective_calls() {
        let t = SyncTracker::new(true);
        // fresh: one-sided calls need no sync; the first records itself
        assert!(!t.quiet() && !t.onesided_needs_sync());
        t.note_onesided();
        assert!(t.quiet(), "repeated one-sided calls take the fast path");
        // a view (no data) after one-sided calls: no sync, state unchanged
        assert!(!t.before_collective(false, false));
        assert!(t.quiet());
        // a data-touching collective after one-sided calls synchronises first
        assert!(t.before_collective(true, false));
        // ... and a second one does not
        assert!(!t.before_collective(true, false));
        // a one-sided call after collective ones needs a sync
        assert!(!t.quiet() && t.onesided_needs_sync());
        t.note_onesided();
        assert!(t.quiet() && !t.onesided_needs_sync());
        // an explicit sync clears everything
        assert!(!t.before_collective(false, true));
        assert!(!t.onesided_needs_sync());
        assert!(!t.before_collective(true, false), "nothing one-sided since the sync");
    }

    #[test]
    fn tracker_is_quiet_unless_leading() {
        let t = SyncTracker::new(false);
        for _ in 0..3 {
            assert!(t.quiet());
            assert!(!t.before_collective(true, false));
            t.note_onesided();
            assert!(!t.onesided_needs_sync());
        }
    }
}

//! The library's per-thread state: the runtime, the execution mode, the request table; and the
//! sequential-mode command encoding and worker loop.
//!
//! distarr's runtime belongs to the thread that initialised it (MPI epochs and the heap are not
//! shared between threads), so the C ABI keeps its state in thread-locals: calls from another
//! thread see "not initialized" (`DISTARR_ERR_STATE`).
use crate::arrays::ArrCmd;
use crate::codes::Mode;
use crate::handle::{Kind, Table};
use crate::status::{check, CError, CResult, DISTARR_ERR_INTERNAL, DISTARR_ERR_STATE};
use distarr_arrays::DistArray;
use distarr_runtime::{CommSource, Config, Request, Runtime, Seg};
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
#[derive(Clone)]
pub(crate) struct State {
    pub rt: Runtime,
    pub mode: Mode,
}

impl State {
    /// Whether this rank issues commands to workers (sequential mode, rank 0, more than 1 rank).
    pub(crate) fn leads(&self) -> bool {
        self.mode == Mode::Sequential && self.rt.nranks() > 1
    }
}

thread_local! {
    static PHASE: Cell<Phase> = const { Cell::new(Phase::Uninit) };
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
    /// Outstanding non-blocking gets/puts (`distarr_request`).
    pub(crate) static REQUESTS: RefCell<Table<Request<'static>>> = const { RefCell::new(Table::new(Kind::Request)) };
    /// Live arrays and views (`distarr_array`). Every rank inserts and removes entries in the
    /// same order (all are collective), so an array has the same id on every rank.
    pub(crate) static ARRAYS: RefCell<Table<ArrayEntry>> = const { RefCell::new(Table::new(Kind::Array)) };
    /// Creation counter of array entries (finalize frees the arrays in creation order).
    pub(crate) static ARRAY_SEQ: Cell<u64> = const { Cell::new(0) };
}

/// A `distarr_array`: an array or a view, and whether the handle owns the storage.
pub(crate) struct ArrayEntry {
    pub arr: DistArray,
    /// Created by a creation call (owns the storage, freed by `distarr_free`) rather than a
    /// view of another handle's storage.
    pub owner: bool,
    /// Shared by an owner and its views: false once the owner freed the storage.
    pub alive: Rc<Cell<bool>>,
    /// Creation order.
    pub seq: u64,
}

/// Frees every live array collectively (every rank, in creation order), then drops the views.
fn free_arrays() -> CResult<()> {
    let mut all = ARRAYS.with(|t| t.borrow_mut().drain());
    all.sort_by_key(|e| e.seq);
    let mut first_err = None;
    for e in all {
        if e.owner && e.alive.get() {
            e.alive.set(false);
            if let Err(err) = e.arr.free() {
                first_err.get_or_insert(CError::from(err));
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The running library, or `DISTARR_ERR_STATE` before init, after finalize, or on a thread
/// that did not initialise it.
pub(crate) fn state() -> CResult<State> {
    if let Some(s) = STATE.with(|s| s.borrow().clone()) {
        return Ok(s);
    }
    let msg = match PHASE.with(Cell::get) {
        Phase::Finalized => "distarr was finalized",
        _ => "distarr is not initialized (call distarr_init first, from this thread)",
    };
    Err(CError::new(DISTARR_ERR_STATE, msg))
}

/// Initialises the runtime and, on the workers of sequential mode, serves rank 0's commands
/// until it finalises (the process then exits 0: this function does not return there).
pub(crate) fn init(mode: Mode, source: impl FnOnce() -> CResult<CommSource>) -> CResult<()> {
    check!(
        PHASE.with(Cell::get) != Phase::Running,
        DISTARR_ERR_STATE,
        "distarr is already initialized"
    );
    let config = Config::from_env()?;
    let rt = Runtime::init_with(config, source()?)?;
    let st = State { rt, mode };
    STATE.with(|s| *s.borrow_mut() = Some(st.clone()));
    PHASE.with(|p| p.set(Phase::Running));
    if mode == Mode::Sequential && st.rt.rank() != 0 {
        serve(&st)
    }
    Ok(())
}

/// Completes every outstanding request (their buffers must still be valid), frees every live
/// array (collectively, in creation order), then finalises.
fn finalize_local(st: &State) -> CResult<()> {
    let arrays = free_arrays();
    let pending = REQUESTS.with(|t| t.borrow_mut().drain());
    let mut first_err = None;
    for r in pending {
        if let Err(e) = r.wait() {
            first_err.get_or_insert(e);
        }
    }
    let fin = st.rt.finalize();
    STATE.with(|s| *s.borrow_mut() = None);
    PHASE.with(|p| p.set(Phase::Finalized));
    fin?;
    arrays?;
    match first_err {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// `distarr_finalize`: in sequential mode rank 0 first tells the workers.
pub(crate) fn finalize() -> CResult<()> {
    let st = state()?;
    if st.leads() {
        st.rt.seq_send(&Cmd::Finalize.encode())?;
    }
    finalize_local(&st)
}

// --- sequential mode ------------------------------------------------------------------------

/// A collective command: what rank 0 sends to the workers in sequential mode, and what every
/// rank executes. Encoding: a little-endian `u32` opcode, 4 bytes of padding, then `u64`
/// arguments; small enough to travel inside the channel's single header broadcast.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Cmd {
    Finalize,
    GmemAlloc {
        bytes: u64,
    },
    GmemFree {
        seg: u32,
    },
    Barrier,
    Fence,
    Sync,
    /// An array command (opcodes from [`ArrCmd::FIRST_OPCODE`]).
    Array(ArrCmd),
}

impl Cmd {
    pub fn encode(&self) -> Vec<u8> {
        let (op, args): (u32, &[u64]) = match *self {
            Cmd::Finalize => (1, &[]),
            Cmd::GmemAlloc { bytes } => (2, &[bytes]),
            Cmd::GmemFree { seg } => (3, &[u64::from(seg)]),
            Cmd::Barrier => (4, &[]),
            Cmd::Fence => (5, &[]),
            Cmd::Sync => (6, &[]),
            Cmd::Array(ref a) => return a.encode(),
        };
        let mut v = Vec::with_capacity(8 + 8 * args.len());
        v.extend_from_slice(&op.to_le_bytes());
        v.extend_from_slice(&[0; 4]);
        for a in args {
            v.extend_from_slice(&a.to_le_bytes());
        }
        v
    }

    pub fn decode(msg: &[u8]) -> CResult<Cmd> {
        let bad = || CError::new(DISTARR_ERR_INTERNAL, format!("malformed command {msg:02x?}"));
        let word = |k: usize| -> CResult<u64> {
            let b = msg.get(8 + 8 * k..16 + 8 * k).ok_or_else(bad)?;
            Ok(u64::from_le_bytes(b.try_into().map_err(|_| bad())?))
        };
        let op = u32::from_le_bytes(msg.get(..4).ok_or_else(bad)?.try_into().map_err(|_| bad())?);
        Ok(match op {
            1 => Cmd::Finalize,
            2 => Cmd::GmemAlloc { bytes: word(0)? },
            3 => Cmd::GmemFree {
                seg: u32::try_from(word(0)?).map_err(|_| bad())?,
            },
            4 => Cmd::Barrier,
            5 => Cmd::Fence,
            6 => Cmd::Sync,
            op if op >= ArrCmd::FIRST_OPCODE => Cmd::Array(ArrCmd::decode(msg)?),
            _ => return Err(bad()),
        })
    }

    /// Executes the command on this rank (every rank executes it, in the same order). Returns
    /// the command's value (the new segment id of `GmemAlloc`, else 0).
    fn exec(&self, rt: &Runtime) -> CResult<u64> {
        match *self {
            Cmd::GmemAlloc { bytes } => Ok(u64::from(rt.alloc(bytes)?.raw())),
            Cmd::GmemFree { seg } => rt.free(Seg::from_raw(seg)).map(|()| 0).map_err(Into::into),
            Cmd::Barrier => rt.barrier().map(|()| 0).map_err(Into::into),
            Cmd::Fence => rt.fence().map(|()| 0).map_err(Into::into),
            Cmd::Sync => rt.sync().map(|()| 0).map_err(Into::into),
            Cmd::Array(ref a) => crate::arrays::exec(a, rt, &mut Default::default(), false).map(|id| id as u64),
            Cmd::Finalize => Err(CError::new(DISTARR_ERR_INTERNAL, "finalize is not executed by exec")),
        }
    }
}

/// Runs a collective command: in SPMD mode every rank calls this; in sequential mode rank 0
/// calls it and the workers receive the command from it. `precheck` runs first on rank 0 in
/// sequential mode, so a command that would fail everywhere is refused without communication.
pub(crate) fn collective(cmd: Cmd, precheck: impl FnOnce(&Runtime) -> CResult<()>) -> CResult<u64> {
    let st = state()?;
    if st.leads() {
        precheck(&st.rt)?;
        st.rt.seq_send(&cmd.encode())?;
    }
    cmd.exec(&st.rt)
}

/// Fails with `DISTARR_ERR_STATE` in sequential mode (calls that exchange the user program's data
/// between ranks have no meaning when only rank 0 runs the program).
pub(crate) fn spmd_only(st: &State, what: &str) -> CResult<()> {
    check!(
        st.mode == Mode::Spmd,
        DISTARR_ERR_STATE,
        "{what} exchanges data between the program's ranks; in sequential mode only rank 0 runs the program"
    );
    Ok(())
}

/// The worker loop of sequential mode: executes rank 0's commands until it finalises, then
/// finalises MPI (if the program had initialised it itself) and exits the process with 0.
fn serve(st: &State) -> ! {
    let mut buf = Vec::with_capacity(distarr_runtime::SEQ_HEADER_BYTES);
    loop {
        let cmd = st
            .rt
            .seq_recv(&mut buf)
            .map_err(CError::from)
            .and_then(|()| Cmd::decode(&buf));
        match cmd {
            Ok(Cmd::Finalize) => break,
            Ok(cmd) => {
                // Collective commands fail the same way on every rank; rank 0 reports it.
                if let Err(e) = cmd.exec(&st.rt) {
                    log::debug!(target: "distarr", "command {cmd:?} failed on this worker (as on rank 0): {}", e.msg);
                }
            }
            Err(e) => {
                log::error!(target: "distarr", "sequential-mode worker cannot continue: {}", e.msg);
                distarr_ffi::abort(71)
            }
        }
    }
    let code = match finalize_local(st) {
        Ok(()) => 0,
        Err(e) => {
            log::error!(target: "distarr", "sequential-mode worker: finalize failed: {}", e.msg);
            1
        }
    };
    if distarr_ffi::initialized().unwrap_or(false) && !distarr_ffi::finalized().unwrap_or(true) {
        if let Err(e) = distarr_ffi::finalize() {
            log::error!(target: "distarr", "sequential-mode worker: MPI_Finalize failed: {e}");
        }
    }
    std::process::exit(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_round_trip() {
        for c in [
            Cmd::Finalize,
            Cmd::GmemAlloc { bytes: u64::MAX },
            Cmd::GmemFree { seg: 0xdead_beef },
            Cmd::Barrier,
            Cmd::Fence,
            Cmd::Sync,
        ] {
            let m = c.encode();
            assert!(
                m.len() <= distarr_runtime::SEQ_INLINE_BYTES,
                "{c:?} fits in one broadcast"
            );
            assert_eq!(Cmd::decode(&m).unwrap(), c);
        }
        assert!(Cmd::decode(&[]).is_err());
        assert!(Cmd::decode(&[2, 0, 0, 0, 0, 0, 0, 0]).is_err(), "missing argument");
        assert!(Cmd::decode(&[99, 0, 0, 0, 0, 0, 0, 0]).is_err(), "unknown opcode");
    }
}

//! Collective calls and the life cycle. [`collective`] runs a command on every rank: in SPMD
//! mode every rank calls it; in sequential mode rank 0 validates the command, appends it to
//! the batch of commands for the workers (`crate::batch`: sent when they must act) and runs
//! it, while the other ranks receive and run the batches in [`serve`]. [`onesided`] is the
//! sequential-mode synchronisation in front of every one-sided call (see
//! `state::SyncTracker`). [`init`] and [`finalize`] start and end the library (and the
//! workers' loop).
use crate::codes::Mode;
use crate::exec::{exec, run, Local};
use crate::handle::distarr_array;
use crate::state::{self, with_state, State};
use crate::status::{CError, CResult};
use crate::wire::{frames, Cmd, SYNC_FIRST};
use distarr_runtime::{CommSource, Config, Runtime};

/// Runs a collective command: in SPMD mode on this rank; in sequential mode rank 0 appends it
/// to the workers' batch and runs it. Returns the command's value (see [`exec`]).
///
/// Errors come at the call and reach no other rank: a command that fails on rank 0 before it
/// communicates — every argument error: `exec` checks before it acts, and the array layer
/// before it communicates — is taken back from the batch (and the synchronisation tracker
/// restored), so the workers never see it. One that must synchronise every rank first
/// (`SYNC_FIRST`) is checked before anything (`exec` with `dry`), since the synchronisation
/// sends the batch.
pub(crate) fn collective(cmd: Cmd, local: &mut Local<'_>) -> CResult<i64> {
    with_state(|st| issue(st, &cmd, local))
}

fn issue(st: &State, cmd: &Cmd, local: &mut Local<'_>) -> CResult<i64> {
    let Some(batch) = &st.batch else {
        return run(cmd, 0, &st.rt, local);
    };
    let (touches, is_sync) = (cmd.touches_data(), *cmd == Cmd::Sync);
    if st.track.would_sync(touches, is_sync) {
        exec(cmd, &st.rt, local, true)?;
    }
    let tracked = st.track.snapshot();
    let flags = if st.track.before_collective(touches, is_sync) {
        SYNC_FIRST
    } else {
        0
    };
    // Recorded before it runs here: should it communicate, the collective hook sends the batch,
    // this command last, and the workers meet rank 0 in the same collective call.
    let mark = batch.push(&st.rt, |out| cmd.encode_frame(flags, out))?;
    let done = run(cmd, flags, &st.rt, local);
    if done.is_err() && batch.retract(mark) {
        st.track.restore(tracked);
    }
    done
}

/// Runs a command that creates an array or view on every rank and writes its handle to `out`.
///
/// # Safety
/// `out` must be non-null and valid for writing (the exported functions check the first and
/// take the second from their contract).
pub(crate) unsafe fn create_into(cmd: Cmd, out: *mut distarr_array) -> CResult<()> {
    let id = collective(cmd, &mut Local::default())?;
    // SAFETY: non-null and writable, by this function's contract.
    unsafe { out.write(id) };
    Ok(())
}

/// Call before every one-sided operation (gets, puts, accumulates, atomics, region access, local
/// pointers). In sequential mode, rank 0 first has every rank synchronise when collective
/// operations touched array data since the last synchronisation. Nothing else happens (in SPMD
/// mode the program calls `distarr_sync` itself).
#[inline(always)]
pub(crate) fn onesided(st: &State) -> CResult<()> {
    if st.track.quiet() {
        return Ok(());
    }
    onesided_slow(st)
}

#[cold]
#[inline(never)]
fn onesided_slow(st: &State) -> CResult<()> {
    if st.track.onesided_needs_sync() {
        issue(st, &Cmd::Sync, &mut Local::default())?;
    }
    st.track.note_onesided();
    Ok(())
}

/// Initialises the runtime and, on the workers of sequential mode, serves rank 0's commands
/// until it finalises (the process then exits: this function does not return there).
pub(crate) fn init(mode: Mode, source: impl FnOnce() -> CResult<CommSource>) -> CResult<()> {
    state::check_not_running()?;
    let config = Config::from_env()?;
    let rt = Runtime::init_with(config, source()?)?;
    // Sequential mode: rank 0's program makes every rank's calls (see Runtime::set_lockstep).
    rt.set_lockstep(mode == Mode::Sequential);
    let st = State::new(rt, mode);
    state::install(st.clone());
    if mode == Mode::Sequential && st.rt.rank() != 0 {
        serve(&st)
    }
    Ok(())
}

/// `distarr_finalize`: in sequential mode rank 0 first tells the workers (the last batch ends
/// with `Finalize`).
pub(crate) fn finalize() -> CResult<()> {
    let st = state::current()?;
    if let Some(batch) = &st.batch {
        batch.push(&st.rt, |out| Cmd::Finalize.encode_frame(0, out))?;
        batch.send(&st.rt)?;
    }
    state::finalize_local(&st)
}

/// `DISTARR_TEST_WORKER_DELAY_US`: a test hook making every worker of sequential mode sleep
/// this long before it executes each command (a slow worker, for the synchronisation tests).
fn worker_delay() -> Option<std::time::Duration> {
    let us: u64 = std::env::var("DISTARR_TEST_WORKER_DELAY_US")
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (us > 0).then(|| std::time::Duration::from_micros(us))
}

/// The worker loop of sequential mode: executes the batches of rank 0's commands until it
/// finalises, then releases every array and request and ends the process
/// (`Runtime::finalize_and_exit`: the runtime and MPI are finalised, the exit status is 0
/// unless that failed).
fn serve(st: &State) -> ! {
    let delay = worker_delay();
    let mut buf = Vec::with_capacity(distarr_runtime::SEQ_HEADER_BYTES);
    'serve: loop {
        if let Err(e) = st.rt.seq_recv(&mut buf) {
            worker_fails(&e.into())
        }
        for frame in frames(&buf) {
            match frame.and_then(Cmd::decode) {
                Ok((Cmd::Finalize, _)) => break 'serve,
                Ok((cmd, flags)) => {
                    if let Some(d) = delay {
                        std::thread::sleep(d);
                    }
                    // Collective commands fail the same way on every rank; rank 0 reports it.
                    if let Err(e) = run(&cmd, flags, &st.rt, &mut Local::default()) {
                        log::debug!(target: "distarr", "command {cmd:?} failed on this worker (as on rank 0): {}", e.msg);
                    }
                }
                Err(e) => worker_fails(&e),
            }
        }
    }
    let status = match state::release_all() {
        Ok(()) => 0,
        Err(e) => {
            log::error!(target: "distarr", "sequential-mode worker: releasing arrays failed: {}", e.msg);
            1
        }
    };
    st.rt.finalize_and_exit(status)
}

/// A worker that cannot receive or decode rank 0's commands ends the job.
#[cold]
fn worker_fails(e: &CError) -> ! {
    log::error!(target: "distarr", "sequential-mode worker cannot continue: {}", e.msg);
    distarr_ffi::abort(71)
}

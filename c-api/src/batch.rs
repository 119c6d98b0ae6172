//! Sequential mode's command batch: rank 0 appends each collective command it issues to a
//! batch (framed by `wire::Cmd::encode_frame`) and sends the batch to the other ranks as one
//! message (`Runtime::seq_send`) only when they must act: just before rank 0 itself enters a
//! collective communication (the runtime's collective hook, installed by [`Batch::install`]),
//! at finalize, or when the batch is full ([`BATCH_BYTES_OWN_CPUS`], [`BATCH_BYTES`]).
//!
//! Why that is enough: the workers replay the batch in order and so reach, in the last command
//! sent, the collective call rank 0 is entering. A command that has communicated collectively
//! on rank 0 has been sent by then, so the batch held back never holds one: the workers can run
//! a full batch sent early without waiting for rank 0. Every other interaction with the workers
//! goes through collective calls too (one-sided accesses after collective operations are
//! preceded by a `Sync` command, see `state::SyncTracker`), so the workers running later than
//! under one message per command changes nothing that rank 0 can observe.
//!
//! A command is appended before rank 0 runs it (its collective calls must find it in the
//! batch). When it fails before the batch went out — every argument error: they are found
//! before any communication — it is taken back ([`Batch::retract`]): the workers never see a
//! call that failed at rank 0's call site. One that fails after communicating was sent, and
//! fails in the same way on every rank.
//!
//! Array operations are deferred in the engine as well, and in sequential mode a flush of the
//! engine's queue communicates only when its operations must (a synchronisation for data other
//! ranks read or wrote, an allocation): one program makes every rank's calls, so there is
//! nothing to agree on (`Runtime::set_lockstep`). A loop of element-wise operations thus costs
//! rank 0 no message at all; the workers replay it, as one batch, when they next must act.
use crate::status::CResult;
use distarr_runtime::Runtime;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// Most bytes of one batch (about 2,000 small commands): a command that would make the batch
/// longer is sent in the next one (a single longer command travels alone).
/// `DISTARR_TEST_SEQ_BATCH_BYTES` lowers it for tests (batches sent because they are full).
pub(crate) const BATCH_BYTES: usize = 64 << 10;

/// The batch limit when every rank of rank 0's node has a CPU of its own (about 500 small
/// commands): the workers then replay one batch while rank 0 records the next, so a program
/// that synchronises after a long loop waits for the replay of the last batch only. On an
/// oversubscribed node the replay would take CPU time from rank 0, so batches stay at
/// [`BATCH_BYTES`] there. (2 ranks on 2 cores, `python/bench/recorded_ops.py`: `c = a + b`
/// with the `sync()` 2.4 µs per operation against 2.8 µs; 3-4 ranks: rank 0 slower with small
/// batches.)
pub(crate) const BATCH_BYTES_OWN_CPUS: usize = 16 << 10;

/// Where [`Batch::push`] appended a command: its offset in the batch, and the number of
/// messages sent when it was appended.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mark {
    at: usize,
    sent: u64,
}

/// The commands rank 0 issued and has not yet sent, and what it has sent so far.
#[derive(Debug)]
pub(crate) struct Batch {
    buf: RefCell<Vec<u8>>,
    /// Commands in `buf`.
    pending: Cell<u64>,
    limit: usize,
    /// Messages and commands sent.
    messages: Cell<u64>,
    commands: Cell<u64>,
}

impl Batch {
    /// A new batch that `rt`'s collective hook sends: `rt` must be rank 0 of sequential mode
    /// with several ranks. Local.
    pub(crate) fn install(rt: &Runtime) -> Rc<Batch> {
        let default = if rt.node_has_cpu_per_rank() {
            BATCH_BYTES_OWN_CPUS
        } else {
            BATCH_BYTES
        };
        let limit = std::env::var("DISTARR_TEST_SEQ_BATCH_BYTES")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
            .map_or(default, |n| n.min(BATCH_BYTES));
        let b = Rc::new(Batch {
            buf: RefCell::new(Vec::with_capacity(limit.min(4096))),
            pending: Cell::new(0),
            limit,
            messages: Cell::new(0),
            commands: Cell::new(0),
        });
        let hooked = b.clone();
        rt.set_collective_hook(Some(Rc::new(move |rt: &Runtime| hooked.send(rt))));
        b
    }

    /// Appends one command (`frame` writes it) and sends the batch before it when the command
    /// would overfill it; returns where the command went (for [`Batch::retract`]).
    /// **Collective** when it sends (the workers receive).
    pub(crate) fn push(&self, rt: &Runtime, frame: impl FnOnce(&mut Vec<u8>)) -> CResult<Mark> {
        // The buffer is taken out while a message goes, so that the collective hook, which
        // `seq_send` runs, finds nothing to send.
        let mut buf = std::mem::take(&mut *self.buf.borrow_mut());
        let mut at = buf.len();
        frame(&mut buf);
        let mut sent = Ok(());
        if buf.len() > self.limit && at > 0 {
            let next = buf.split_off(at);
            sent = rt.seq_send(&buf);
            self.count(self.pending.replace(0));
            buf = next;
            at = 0;
        }
        self.pending.set(self.pending.get() + 1);
        *self.buf.borrow_mut() = buf;
        sent?;
        Ok(Mark {
            at,
            sent: self.messages.get(),
        })
    }

    /// Takes back the command appended at `mark` if the batch holding it has not been sent
    /// (the command failed on rank 0 before communicating); returns whether it did. Local.
    pub(crate) fn retract(&self, mark: Mark) -> bool {
        let mut buf = self.buf.borrow_mut();
        let unsent = self.messages.get() == mark.sent && mark.at <= buf.len();
        if unsent {
            buf.truncate(mark.at);
            self.pending.set(self.pending.get().saturating_sub(1));
        }
        unsent
    }

    /// Sends the batch when it holds commands. **Collective** then (the workers receive).
    pub(crate) fn send(&self, rt: &Runtime) -> distarr_runtime::Result<()> {
        let mut buf = std::mem::take(&mut *self.buf.borrow_mut());
        if buf.is_empty() {
            return Ok(());
        }
        let sent = rt.seq_send(&buf);
        self.count(self.pending.replace(0));
        buf.clear();
        *self.buf.borrow_mut() = buf;
        sent
    }

    fn count(&self, commands: u64) {
        self.messages.set(self.messages.get() + 1);
        self.commands.set(self.commands.get() + commands);
    }

    /// Messages and commands sent so far. Local.
    pub(crate) fn stats(&self) -> (u64, u64) {
        (self.messages.get(), self.commands.get())
    }
}

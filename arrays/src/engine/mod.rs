//! The array engine: the one pipeline every collective array operation runs through.
//!
//! **plan → fetch → compute → agree → write**, owner computes:
//!
//! 1. *plan* ([`plan`]): the cells of the iteration space this rank computes — the elements of
//!    the anchor (usually the output) it owns — and for every operand where each cell's
//!    elements live. Plans are cached per (shapes, layouts, views).
//! 2. *fetch*: operand blocks held by ranks this rank cannot load from are requested with
//!    implicit-completion gets into a reused arena; blocks of node-local ranks are read in place
//!    through the shared heap window; blocks that overlap the output in another order are copied.
//! 3. *compute*: cells whose operands are all at hand run first (latency hiding: the interior
//!    while the halos travel), then the gets are completed and the remaining cells run. Cells
//!    are cut into jobs for the compute threads ([`pool`]); each job works in tiles ([`tile`]).
//! 4. *agree*: an operation that can fail on some values (integer `power` with a negative
//!    exponent) checks them first and agrees with one allreduce, so no rank writes unless all
//!    can.
//! 5. *write*: results go straight into the owner's part of the output; no rank writes another
//!    rank's memory.
//!
//! # Synchronisation: by dependency, not by habit
//! Every rank computes every operation's plan, for every rank, from replicated metadata, so
//! every rank knows without communication which operands any rank reads from other ranks'
//! memory. Each base array records (in its replicated metadata) the synchronisation epoch
//! ([`Runtime::sync_epoch`]) in which it was last written and last read by a non-owner. An
//! operation synchronises (one [`Runtime::sync`]) before it starts only when it reads other
//! ranks' memory of an array written since the last sync (read after write), or writes an array
//! that another rank may still be reading (write after read); and once more after its fetches
//! when its output is also one of its remotely read inputs (`a[1:] += a[:-1]`: every rank reads
//! before any rank writes). An aligned operation — every operand element where its output
//! element is — never synchronises.
//!
//! One-sided operations (region get/put/accumulate, local blocks, raw segment access) are not
//! part of this bookkeeping: separate them from collective operations on the same data with
//! [`Runtime::sync`] (see the crate documentation).
#![allow(unsafe_code)]
pub(crate) mod plan;
mod pool;
pub(crate) mod queue;
pub(crate) mod tile;

use crate::array::DistArray;
use crate::error::{Error, Result};
use distarr_runtime::Runtime;
use plan::{Cell, OpRef, Share, Spec};
use pool::Pool;
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::rc::Rc;
use std::sync::Mutex;
pub(crate) use tile::{Input, MapSpec, Ready, TileBufs, Work, MAX_ARGS};

/// Elements per compute job when an operation is shared among threads (below this a cell is
/// not split).
const MIN_JOB: usize = 1 << 15;
/// Plans kept per runtime.
const PLAN_CACHE: usize = 256;

/// A plan for this rank, and what every rank's plan does.
pub(crate) struct PlanSet {
    /// This rank's cells.
    pub cells: Vec<Cell>,
    /// Per operand: whether some rank reads elements of it held by another rank.
    pub nonlocal: Vec<bool>,
    /// How this rank runs the plan (built on first use, then reused).
    exec: std::cell::OnceCell<ExecPlan>,
}

/// Where one operand of one cell is read from when the plan runs.
#[derive(Clone, Copy)]
enum Src0 {
    /// In place on `rank`, `off` bytes into its part of the operand's segment.
    Direct { rank: usize, off: usize },
    /// In the arena, `off` bytes in (after the copies and gets of the fetch phase).
    Arena { off: usize },
}

/// A contiguous run moved into the arena: operand, source rank, byte offset in the rank's part
/// of the segment, bytes, arena offset.
#[derive(Clone, Copy)]
struct Move {
    arg: usize,
    rank: usize,
    off: usize,
    bytes: usize,
    at: usize,
}

/// Everything about running a plan that does not depend on addresses: decided once per plan.
struct ExecPlan {
    /// `src[cell * nargs + arg]`.
    src: Vec<Src0>,
    nargs: usize,
    /// Whether the output is also read from other ranks in this operation (read everything,
    /// then sync, then write).
    intra: bool,
    jobs: Vec<Vec<JobCell>>,
    /// Jobs that read nothing through the arena: computed first, while the gets travel.
    free: Vec<usize>,
    /// The other jobs, in batches whose blocks fit the arena budget; consecutive batches use
    /// the two halves of the arena in turn, so one batch's gets fly while the previous one
    /// computes.
    batches: Vec<Batch>,
    arena_len: usize,
}

/// Jobs and the blocks they read through the arena: runs copied from memory this rank can load
/// (node-local ranks; overlap copies of its own) and runs fetched with gets.
#[derive(Default)]
struct Batch {
    jobs: Vec<usize>,
    copies: Vec<Move>,
    gets: Vec<Move>,
}

/// Arena bytes per batch (each of the two halves).
const ARENA_BATCH: usize = 8 << 20;

/// Per-runtime engine state, reused from operation to operation: the plan cache, the arena
/// that receives fetched blocks, the compute threads and their tile buffers.
pub(crate) struct Ctx {
    cache: HashMap<u64, Vec<(Key, Rc<PlanSet>)>>,
    cached: usize,
    arena: Vec<u64>,
    pool: Pool,
    bufs: Vec<Mutex<TileBufs>>,
    /// Per-rank loadability of heap memory (see `run`), filled on first use.
    reach: Vec<bool>,
    /// Scratch of `run`: operand base addresses per (operand, rank), and per (cell, operand).
    addr: Vec<*mut u8>,
    base: Vec<*mut u8>,
    /// Arena bytes per batch: [`ARENA_BATCH`], or `DISTARR_TEST_ARENA_BATCH` (a test hook
    /// forcing many batches).
    arena_batch: usize,
    /// Test hook: this rank sleeps this long before computing each operation
    /// (`DISTARR_TEST_SLOW_RANK`, `DISTARR_TEST_DELAY_US`), to make it a slow reader and writer.
    delay: Option<std::time::Duration>,
    /// Deferred element-wise operations, in program order ([`queue`]).
    queue: Vec<queue::Deferred>,
    /// Whether element-wise operations are deferred (`DISTARR_LAZY`, default on).
    lazy: bool,
    /// The first batch of a later run, issued ahead ([`prefetch`]), and a spare arena.
    ahead: Option<Ahead>,
    spare: Vec<u64>,
    /// Runs whose first batch was issued ahead and then used (a test hook: [`prefetched`]).
    prefetched: u64,
}

/// Gets issued ahead for a run into an arena of their own: the run's plan (whose first batch
/// they are), the arena, and whether gets are in flight.
struct Ahead {
    set: Rc<PlanSet>,
    arena: Vec<u64>,
    pending: bool,
}

/// What a plan depends on (compared in full on a cache hit; the hash only finds candidates).
#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    shape: Vec<usize>,
    anchor: (crate::dist::Distribution, crate::view::ViewSpec),
    share: Share,
    /// Per operand: distribution, view, whether it shares storage with the output, and its
    /// element size (the execution plan is in bytes).
    ops: Vec<(crate::dist::Distribution, crate::view::ViewSpec, bool, usize)>,
    writes: Vec<usize>,
    chunk: Option<usize>,
    along: Option<usize>,
}

/// A small fast hasher for plan keys (FxHash's multiply-rotate; the keys are not adversarial).
#[derive(Default)]
pub(crate) struct Fx(u64);

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        for c in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(w));
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, x: usize) {
        self.write_u64(x as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

thread_local! {
    /// The engine state of each runtime of this thread, with a token the runtime's flush hook
    /// holds: when the runtime is finalized (or dropped) the hook goes, and the state with it.
    static CTX: RefCell<Vec<CtxEntry>> = const { RefCell::new(Vec::new()) };
}

/// A runtime's id, the token of its flush hook (alive while the runtime is), its engine state.
type CtxEntry = (u64, std::rc::Weak<()>, Rc<RefCell<Ctx>>);

/// The engine state of runtime `rt` (created on first use).
fn ctx(rt: &Runtime) -> Rc<RefCell<Ctx>> {
    if let Some(x) = existing_ctx(rt) {
        return x;
    }
    let threads = rt.threads();
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    let delay = match (env("DISTARR_TEST_SLOW_RANK"), env("DISTARR_TEST_DELAY_US")) {
        (Some(r), Some(us)) if r == rt.rank() as u64 => Some(std::time::Duration::from_micros(us)),
        _ => None,
    };
    let x = Rc::new(RefCell::new(Ctx {
        cache: HashMap::new(),
        cached: 0,
        arena: Vec::new(),
        pool: Pool::new(threads),
        bufs: (0..threads).map(|_| Mutex::new(TileBufs::default())).collect(),
        reach: Vec::new(),
        addr: Vec::new(),
        base: Vec::new(),
        arena_batch: env("DISTARR_TEST_ARENA_BATCH").map_or(ARENA_BATCH, |b| b as usize),
        delay,
        queue: Vec::new(),
        lazy: queue::lazy_from_env(),
        ahead: None,
        spare: Vec::new(),
        prefetched: 0,
    }));
    // Every synchronisation (and finalize) first runs what is deferred.
    let token = Rc::new(());
    let alive = Rc::downgrade(&token);
    rt.set_flush_hook(Some(Rc::new(move |rt: &Runtime| {
        let _owner = &token;
        flush(rt).map_err(queue::hook_error)
    })));
    CTX.with(|c| {
        let mut all = c.borrow_mut();
        // States of finalized runtimes are not used again.
        all.retain(|(_, alive, _)| alive.strong_count() > 0);
        all.push((rt.id(), alive, x.clone()));
    });
    x
}

/// One engine run: the iteration space, the anchor whose owners compute, the operands (views
/// of the iteration space's shape), which operand is written, and how cells group into jobs.
pub(crate) struct Run<'a> {
    pub shape: &'a [usize],
    pub anchor: &'a DistArray,
    pub share: Share,
    pub args: &'a [&'a DistArray],
    /// The operands written (outputs; all owned where the anchor is).
    pub writes: &'a [usize],
    pub chunk: Option<usize>,
    /// `Some(d)`: cells that differ only along axis `d` form one job, in increasing order along
    /// `d` (reductions along `d`); `None`: every cell is a job (split further for threads).
    pub along: Option<usize>,
}

fn same_base(a: &DistArray, b: &DistArray) -> bool {
    Rc::ptr_eq(&a.base, &b.base)
}

impl Run<'_> {
    /// The written operand that `j` reads another view of, or the same view of — `Some(w)` when
    /// `j` is not itself written and shares storage with written operand `w`.
    fn alias_of(&self, j: usize) -> Option<usize> {
        if self.writes.contains(&j) {
            return None;
        }
        self.writes
            .iter()
            .copied()
            .find(|&w| same_base(self.args[j], self.args[w]))
    }

    /// Whether operand `j` shares storage with a written operand.
    fn alias(&self, j: usize) -> bool {
        self.alias_of(j).is_some()
    }

    /// The hash of this run's [`Key`], computed from references (no copies on a cache hit).
    fn key_hash(&self) -> u64 {
        let mut h = Fx::default();
        self.shape.hash(&mut h);
        self.anchor.base.dist.hash(&mut h);
        self.anchor.view.hash(&mut h);
        self.share.hash(&mut h);
        h.write_usize(self.args.len());
        for (j, a) in self.args.iter().enumerate() {
            a.base.dist.hash(&mut h);
            a.view.hash(&mut h);
            self.alias(j).hash(&mut h);
            h.write_usize(a.dtype().size());
        }
        self.writes.hash(&mut h);
        self.chunk.hash(&mut h);
        self.along.hash(&mut h);
        h.finish()
    }

    fn matches(&self, k: &Key) -> bool {
        k.shape == self.shape
            && k.anchor.0 == self.anchor.base.dist
            && k.anchor.1 == self.anchor.view
            && k.share == self.share
            && k.ops.len() == self.args.len()
            && k.ops.iter().zip(self.args).enumerate().all(|(j, ((d, v, al, sz), a))| {
                *d == a.base.dist && *v == a.view && *al == self.alias(j) && *sz == a.dtype().size()
            })
            && k.writes == self.writes
            && k.chunk == self.chunk
            && k.along == self.along
    }

    fn key(&self) -> Key {
        Key {
            shape: self.shape.to_vec(),
            anchor: (self.anchor.base.dist.clone(), self.anchor.view.clone()),
            share: self.share,
            ops: self
                .args
                .iter()
                .enumerate()
                .map(|(j, a)| (a.base.dist.clone(), a.view.clone(), self.alias(j), a.dtype().size()))
                .collect(),
            writes: self.writes.to_vec(),
            chunk: self.chunk,
            along: self.along,
        }
    }

    /// Whether every block must be fetched before anything is written: the output is read
    /// from other ranks in this operation ([`ExecPlan::intra`]), or another view of it is read
    /// (then it is copied whole first, as NumPy does).
    fn read_all_first(&self, set: &PlanSet) -> bool {
        (0..self.args.len()).any(|j| {
            self.alias_of(j)
                .is_some_and(|w| set.nonlocal[j] || self.args[j].view != self.args[w].view)
        })
    }

    /// Operands that must be copied even when local: another view of the output's memory, so
    /// computing in place would overwrite elements still to be read (NumPy copies too).
    fn snapshots(&self) -> Vec<bool> {
        (0..self.args.len())
            .map(|j| self.alias_of(j).is_some_and(|w| self.args[j].view != self.args[w].view))
            .collect()
    }

    fn plan(&self, rt: &Runtime, ctx: &mut Ctx) -> Rc<PlanSet> {
        let h = self.key_hash();
        if let Some(p) = ctx
            .cache
            .get(&h)
            .and_then(|v| v.iter().find(|(k, _)| self.matches(k)))
            .map(|(_, p)| p.clone())
        {
            return p;
        }
        let snapshot = self.snapshots();
        let ops: Vec<OpRef> = self
            .args
            .iter()
            .map(|a| OpRef {
                dist: &a.base.dist,
                view: &a.view,
            })
            .collect();
        let spec = Spec {
            shape: self.shape,
            anchor: OpRef {
                dist: &self.anchor.base.dist,
                view: &self.anchor.view,
            },
            share: self.share,
            ops: &ops,
            snapshot: &snapshot,
            chunk: self.chunk,
        };
        let (me, n) = (rt.rank(), rt.nranks());
        let mut nonlocal = vec![false; ops.len()];
        let mut mine = Vec::new();
        for r in 0..n {
            let cells = plan::plan(r, n, &spec);
            for c in &cells {
                for (j, a) in c.acc.iter().enumerate() {
                    nonlocal[j] |= a.rank != r;
                }
            }
            if r == me {
                mine = cells;
            }
        }
        let set = Rc::new(PlanSet {
            cells: mine,
            nonlocal,
            exec: std::cell::OnceCell::new(),
        });
        if ctx.cached >= PLAN_CACHE {
            ctx.cache.clear();
            ctx.cached = 0;
        }
        ctx.cache.entry(h).or_default().push((self.key(), set.clone()));
        ctx.cached += 1;
        set
    }

    /// How this rank runs `set` (see [`ExecPlan`]); `reach[r]`: whether this rank can load
    /// from rank `r`'s memory.
    fn exec_plan(
        &self,
        set: &PlanSet,
        me: usize,
        reach: &[bool],
        threads: usize,
        budget: usize,
        unbounded: bool,
    ) -> ExecPlan {
        let snapshot = self.snapshots();
        let nargs = self.args.len();
        let esize: Vec<usize> = self.args.iter().map(|a| a.dtype().size()).collect();
        let intra = (0..nargs).any(|j| self.alias(j) && set.nonlocal[j]);
        let cells = &set.cells;
        // Which (cell, operand) blocks go through the arena.
        let through_arena = |a: &plan::Access, j: usize| match &a.copy {
            None => !reach[a.rank],
            Some(_) => !(reach[a.rank] && a.rank != me && !snapshot[j] && !(intra && self.alias(j))),
        };
        let groups = group_cells(cells, self.along);
        let total: usize = cells.iter().map(Cell::len).sum();
        let jobs = split_jobs(cells, &groups, self.along, threads, total);
        let mut src = vec![Src0::Arena { off: 0 }; cells.len() * nargs];
        for (ci, c) in cells.iter().enumerate() {
            for (j, a) in c.acc.iter().enumerate() {
                src[ci * nargs + j] = Src0::Direct {
                    rank: a.rank,
                    off: a.offset * esize[j],
                };
            }
        }
        // Jobs in order; those using the arena go into batches. The parts of one cell (split
        // for threads) stay in one batch, so each block has one place in the arena. Offsets are
        // relative to the batch first; odd batches then move past the largest even one, so two
        // consecutive batches never overlap (one fetches while the other computes).
        let mut free = Vec::new();
        let mut batches: Vec<Batch> = Vec::new();
        let mut fills: Vec<usize> = Vec::new();
        let mut placed: HashMap<(usize, usize), usize> = HashMap::new(); // (cell, arg) -> batch
        let mut src_batch: Vec<Option<usize>> = vec![None; cells.len() * nargs];
        for (ji, job) in jobs.iter().enumerate() {
            let need: Vec<(usize, usize)> = job
                .iter()
                .flat_map(|e| (0..nargs).map(move |j| (e.cell, j)))
                .filter(|&(ci, j)| through_arena(&cells[ci].acc[j], j))
                .collect();
            if need.is_empty() {
                free.push(ji);
                continue;
            }
            let bytes: usize = need
                .iter()
                .filter_map(|&(ci, j)| {
                    cells[ci].acc[j]
                        .copy
                        .as_ref()
                        .map(|c| (c.len * esize[j]).next_multiple_of(16))
                })
                .sum();
            let shares_cell = need
                .iter()
                .any(|&(ci, _)| (0..nargs).any(|j| placed.get(&(ci, j)) == Some(&(batches.len().wrapping_sub(1)))));
            let start_new = match fills.last() {
                None => true,
                Some(&f) => !unbounded && !shares_cell && f + bytes > budget,
            };
            if start_new {
                batches.push(Batch::default());
                fills.push(0);
            }
            let b = batches.len() - 1;
            batches[b].jobs.push(ji);
            for (ci, j) in need {
                if placed.get(&(ci, j)) == Some(&b) {
                    continue;
                }
                placed.insert((ci, j), b);
                let a = &cells[ci].acc[j];
                let Some(c) = &a.copy else {
                    continue; // an unreachable block always has a copy spec (planner)
                };
                let at = fills[b].next_multiple_of(16);
                fills[b] = at + c.len * esize[j];
                let mut off = at;
                for &(lo, len) in &c.runs {
                    let m = Move {
                        arg: j,
                        rank: a.rank,
                        off: lo * esize[j],
                        bytes: len * esize[j],
                        at: off,
                    };
                    if reach[a.rank] {
                        batches[b].copies.push(m);
                    } else {
                        batches[b].gets.push(m);
                    }
                    off += len * esize[j];
                }
                src[ci * nargs + j] = Src0::Arena {
                    off: at + c.offset * esize[j],
                };
                src_batch[ci * nargs + j] = Some(b);
            }
        }
        let even = fills.iter().step_by(2).copied().max().unwrap_or(0).next_multiple_of(64);
        let odd = fills.iter().skip(1).step_by(2).copied().max().unwrap_or(0);
        for batch in batches.iter_mut().skip(1).step_by(2) {
            for m in batch.copies.iter_mut().chain(batch.gets.iter_mut()) {
                m.at += even;
            }
        }
        for (k, sb) in src_batch.iter().enumerate() {
            if let (Some(b), Src0::Arena { off }) = (sb, &mut src[k]) {
                if b % 2 == 1 {
                    *off += even;
                }
            }
        }
        let arena_len = if odd > 0 { even + odd } else { even };
        ExecPlan {
            src,
            nargs,
            intra,
            jobs,
            free,
            batches,
            arena_len,
        }
    }
}

/// Runs `job` over this rank's cells of `run`, grouped into jobs (see [`Run::along`]), on the
/// compute threads, and returns the jobs' results in a fixed order (the order of the plan's
/// cells, split for threads the same way on every run with the same thread count).
///
/// `check`, if given, runs first over all cells once every operand is at hand; when it returns
/// `false` on any rank (agreed with one allreduce) nothing is written and `check_error` is
/// returned on every rank. Deferred operations run first. **Collective.**
pub(crate) fn run<R: Send>(
    run: &Run<'_>,
    check: Option<&(dyn Fn(&Ready<'_>) -> bool + Sync)>,
    check_error: impl FnOnce() -> Error,
    job: &(dyn Fn(&[Ready<'_>], &mut TileBufs) -> R + Sync),
) -> Result<Vec<R>> {
    flush(run.anchor.runtime())?;
    run_now(run, check, check_error, job)
}

/// [`run`] without running the deferred operations first (the queue itself, and runs whose
/// operands are known not to be pending). **Collective.**
pub(crate) fn run_now<R: Send>(
    run: &Run<'_>,
    check: Option<&(dyn Fn(&Ready<'_>) -> bool + Sync)>,
    check_error: impl FnOnce() -> Error,
    job: &(dyn Fn(&[Ready<'_>], &mut TileBufs) -> R + Sync),
) -> Result<Vec<R>> {
    let rt = run.anchor.runtime();
    let me = rt.rank();
    // Sequential mode: the other ranks get the command now and work alongside this one, when
    // the work is worth a message (small work waits for the next communication, as before).
    if run.shape.iter().product::<usize>() >= BEFORE_WORK_MIN {
        rt.before_work()?;
    }
    // Outputs get their storage now; so do inputs that were never written (an array created
    // to be written, read first: its values are unspecified, as `empty`'s).
    for a in run.args {
        a.base.materialize()?;
    }
    let ctx_rc = ctx(rt);
    let mut guard = ctx_rc.borrow_mut();
    let ctx = &mut *guard;
    if ctx.reach.is_empty() {
        // Whether each rank's memory can be loaded from: a property of the heap's windows,
        // the same for every segment.
        ctx.reach = (0..rt.nranks())
            .map(|r| Ok(rt.addr_of(r, run.anchor.base.seg()?)?.is_some()))
            .collect::<Result<_>>()?;
    }
    let set = run.plan(rt, ctx);
    let ex = exec_of(run, &set, me, ctx, check.is_some());
    // The first batch, when it was issued ahead for this very plan.
    let ahead = match ctx.ahead.take() {
        Some(a) if Rc::ptr_eq(&a.set, &set) => Some(a),
        other => {
            ctx.ahead = other;
            None
        }
    };

    // --- synchronise by dependency ---------------------------------------------------------
    let epoch = rt.sync_epoch();
    let raw = run
        .args
        .iter()
        .enumerate()
        .any(|(j, a)| set.nonlocal[j] && a.base.written.get() == epoch);
    let war = run.writes.iter().any(|&w| run.args[w].base.read_remote.get() == epoch);
    if raw || war {
        rt.sync()?;
    }

    // --- fetch -------------------------------------------------------------------------------
    // Base address of each operand on each rank it is loaded from (own memory always).
    let nr = rt.nranks();
    ctx.addr.clear();
    ctx.addr.resize(ex.nargs * nr, std::ptr::null_mut());
    let early = ahead.map(|a| {
        ctx.spare = std::mem::replace(&mut ctx.arena, a.arena);
        ctx.prefetched += 1;
        a.pending
    });
    if ctx.arena.len() * 8 < ex.arena_len {
        ctx.arena.resize(ex.arena_len.div_ceil(8), 0);
    }
    let arena = ctx.arena.as_mut_ptr().cast::<u8>();
    let addr_tab = &mut ctx.addr;
    let mut addr = |j: usize, r: usize| -> Result<*mut u8> {
        let slot = &mut addr_tab[j * nr + r];
        if slot.is_null() {
            *slot = rt
                .addr_of(r, run.args[j].base.seg()?)?
                .map(|(p, _)| p)
                .ok_or_else(|| Error::internal("an operand's memory is not loadable"))?;
        }
        Ok(*slot)
    };
    let mut base = std::mem::take(&mut ctx.base);
    base.clear();
    for (k, s) in ex.src.iter().enumerate() {
        base.push(match *s {
            // SAFETY: `off` lies inside the rank's part of the segment (planner).
            Src0::Direct { rank, off } => unsafe { addr(k % ex.nargs, rank)?.add(off) },
            // SAFETY: the offset lies inside the arena (planned with its length).
            Src0::Arena { off } => unsafe { arena.add(off) },
        });
    }
    // Starts a batch: copies now, gets in flight (complete at the next flush_local_all).
    let mut issue = |b: &Batch| -> Result<bool> { issue_batch(run, b, arena, &mut addr) };
    let mut pending = match (early, ex.batches.first()) {
        (Some(p), _) => p,
        (None, Some(b)) => issue(b)?,
        (None, None) => false,
    };
    if ex.intra {
        if pending {
            rt.flush_local_all()?;
            pending = false;
        }
        rt.sync()?;
    }
    let mut esize = [0usize; MAX_ARGS];
    for (e, a) in esize.iter_mut().zip(run.args) {
        *e = a.dtype().size();
    }
    let res = Resolver {
        cells: &set.cells,
        src: &ex.src,
        base: &base,
        nargs: ex.nargs,
        esize,
    };

    // --- agree ---------------------------------------------------------------------------------
    if let Some(check) = check {
        if pending {
            rt.flush_local_all()?;
            pending = false;
        }
        let ok = ex.jobs.iter().flatten().all(|e| check(&res.ready(e)));
        if !rt.all_ok(ok)? {
            record(rt, run, &set, false);
            return Err(check_error());
        }
    }

    // --- compute: arena-free jobs first, then the batches as their blocks arrive -------------
    if let Some(d) = ctx.delay {
        std::thread::sleep(d);
    }
    let run_job = |ji: usize, b: &mut TileBufs| -> R {
        match ex.jobs[ji].as_slice() {
            [one] => job(std::slice::from_ref(&res.ready(one)), b),
            many => {
                let cells: Vec<Ready> = many.iter().map(|e| res.ready(e)).collect();
                job(&cells, b)
            }
        }
    };
    let results: Vec<R> = if ex.jobs.len() == 1 && ex.batches.len() <= 1 && !pending {
        // One job (small operations): run it here, no pool, no result slots.
        let mut b = ctx.bufs[0].lock().unwrap_or_else(|e| e.into_inner());
        vec![run_job(0, &mut b)]
    } else {
        let slots: Vec<Mutex<Option<R>>> = (0..ex.jobs.len()).map(|_| Mutex::new(None)).collect();
        let bufs = &ctx.bufs;
        let exec = |which: &[usize]| {
            ctx.pool.run(which.len(), &|i, t| {
                let ji = which[i];
                let mut b = bufs[t.min(bufs.len() - 1)].lock().unwrap_or_else(|e| e.into_inner());
                let r = run_job(ji, &mut b);
                *slots[ji].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
            });
        };
        exec(&ex.free);
        for (bi, b) in ex.batches.iter().enumerate() {
            if pending {
                rt.flush_local_all()?;
            }
            // The next batch's blocks travel while this one computes (the other arena half).
            pending = match ex.batches.get(bi + 1) {
                Some(next) => issue(next)?,
                None => false,
            };
            exec(&b.jobs);
        }
        slots
            .into_iter()
            .map(|s| {
                s.into_inner()
                    .unwrap_or_else(|e| e.into_inner())
                    .ok_or_else(|| Error::internal("a compute job did not run"))
            })
            .collect::<Result<_>>()?
    };
    record(rt, run, &set, true);
    ctx.base = base;
    Ok(results)
}

/// The execution plan of `run` (planned `set`), made on first use. Everything must be at hand
/// before anything is written when the output is read from other ranks too, or when values
/// are `checked` first: then one batch, however large.
fn exec_of<'s>(run: &Run<'_>, set: &'s PlanSet, me: usize, ctx: &Ctx, checked: bool) -> &'s ExecPlan {
    set.exec.get_or_init(|| {
        run.exec_plan(
            set,
            me,
            &ctx.reach,
            ctx.pool.threads(),
            ctx.arena_batch,
            checked || run.read_all_first(set),
        )
    })
}

/// Starts batch `b` of `run` into `arena`: the copies now, the gets in flight (complete at the
/// next `flush_local_all`). `addr(arg, rank)` is where an operand lies on a rank this one can
/// load from. Whether gets were issued.
fn issue_batch(
    run: &Run<'_>,
    b: &Batch,
    arena: *mut u8,
    addr: &mut dyn FnMut(usize, usize) -> Result<*mut u8>,
) -> Result<bool> {
    let rt = run.anchor.runtime();
    for m in &b.copies {
        let p = addr(m.arg, m.rank)?;
        // SAFETY: the source run is inside a loadable segment, the destination inside the
        // arena (planned with its length); a segment never overlaps the arena.
        unsafe { std::ptr::copy_nonoverlapping(p.add(m.off), arena.add(m.at), m.bytes) };
    }
    for m in &b.gets {
        // SAFETY: the destination range lies in the arena, which is neither read nor moved
        // until the gets are completed (a flush_local_all before the batch computes, or
        // `cancel_prefetch`).
        unsafe {
            rt.get_nbi(
                arena.add(m.at),
                m.bytes,
                m.rank,
                run.args[m.arg].base.seg()?,
                m.off as u64,
            )?
        };
    }
    Ok(!b.gets.is_empty())
}

/// Latency hiding across operations: issues the first batch of `run` (a fused pass that runs
/// right after the one now starting, which writes `written`) into an arena of its own, so that
/// its remote blocks travel while the current pass computes; [`run_now`] of the same plan then
/// uses them. Nothing is issued (`false`) when that could read a value other than the one the
/// run would read: `run` reads storage the current pass writes, or storage written since the
/// last synchronisation (the run will synchronise first), or shares storage with its own
/// outputs, or reads node-local memory directly within the operation (`intra`). Local: only
/// one-sided gets, and the decision is the same on every rank (replicated metadata).
pub(crate) fn prefetch(run: &Run<'_>, written: &[&DistArray]) -> Result<bool> {
    let rt = run.anchor.runtime();
    let ctx_rc = ctx(rt);
    let mut guard = ctx_rc.borrow_mut();
    let ctx = &mut *guard;
    if ctx.ahead.is_some() || ctx.reach.is_empty() || (0..run.args.len()).any(|j| run.alias(j)) {
        return Ok(false);
    }
    let set = run.plan(rt, ctx);
    let epoch = rt.sync_epoch();
    let changes =
        run.args.iter().enumerate().any(|(j, a)| {
            set.nonlocal[j] && (a.base.written.get() == epoch || written.iter().any(|w| same_base(w, a)))
        });
    if changes {
        return Ok(false);
    }
    let ex = exec_of(run, &set, rt.rank(), ctx, false);
    let Some(first) = ex.batches.first().filter(|b| !ex.intra && !b.gets.is_empty()) else {
        return Ok(false);
    };
    let mut arena = std::mem::take(&mut ctx.spare);
    if arena.len() * 8 < ex.arena_len {
        arena.resize(ex.arena_len.div_ceil(8), 0);
    }
    let mut addr = |j: usize, r: usize| -> Result<*mut u8> {
        rt.addr_of(r, run.args[j].base.seg()?)?
            .map(|(p, _)| p)
            .ok_or_else(|| Error::internal("an operand's memory is not loadable"))
    };
    // The arena's heap buffer does not move while it is in `ctx.ahead` (never resized there).
    let pending = issue_batch(run, first, arena.as_mut_ptr().cast(), &mut addr)?;
    ctx.ahead = Some(Ahead { set, arena, pending });
    Ok(true)
}

/// Completes and drops gets issued ahead that no run used (the end of a flush). Local.
pub(crate) fn cancel_prefetch(rt: &Runtime) -> Result<()> {
    let Some(x) = existing_ctx(rt) else { return Ok(()) };
    let mut ctx = x.borrow_mut();
    if let Some(a) = ctx.ahead.take() {
        if a.pending {
            rt.flush_local_all()?;
        }
        ctx.spare = a.arena;
    }
    Ok(())
}

/// How many runs used blocks fetched ahead ([`prefetch`]) on this rank so far (a test hook).
pub(crate) fn prefetched(rt: &Runtime) -> u64 {
    existing_ctx(rt).map_or(0, |x| x.borrow().prefetched)
}

/// Records in the operands' replicated metadata what this operation did (see the module docs).
fn record(rt: &Runtime, run: &Run<'_>, set: &PlanSet, wrote: bool) {
    let now = rt.sync_epoch();
    for (j, a) in run.args.iter().enumerate() {
        if set.nonlocal[j] {
            a.base.read_remote.set(now);
        }
    }
    if wrote {
        for &w in run.writes {
            run.args[w].base.written.set(now);
        }
    }
}

/// Turns job cells into [`Ready`] cells: operand addresses and strides.
struct Resolver<'a> {
    cells: &'a [Cell],
    src: &'a [Src0],
    /// Address of each (cell, operand) block: `base[cell * nargs + arg]`.
    base: &'a [*mut u8],
    nargs: usize,
    esize: [usize; MAX_ARGS],
}

// SAFETY: a Resolver only computes addresses from plain data; it never dereferences them. The
// jobs that use the addresses touch disjoint output elements (each element is in one job's
// box) and read operands nobody writes during the compute phase (an operand that overlaps the
// output in another order was copied to the arena before it).
unsafe impl Sync for Resolver<'_> {}

impl Resolver<'_> {
    fn ready<'s>(&'s self, e: &'s JobCell) -> Ready<'s> {
        let c = &self.cells[e.cell];
        let mut r = Ready {
            lo: &e.lo,
            hi: &e.hi,
            ptr: [std::ptr::null_mut(); MAX_ARGS],
            strides: [&[]; MAX_ARGS],
        };
        for (j, a) in c.acc.iter().enumerate().take(MAX_ARGS) {
            let k = e.cell * self.nargs + j;
            let st: &[isize] = match (self.src[k], &a.copy) {
                (Src0::Arena { .. }, Some(cp)) => &cp.strides,
                _ => &a.strides,
            };
            let shift: isize =
                e.lo.iter()
                    .zip(&c.lo)
                    .zip(st)
                    .map(|((&x, &l0), &s)| (x - l0) as isize * s)
                    .sum();
            // SAFETY: the sub-cell starts inside the cell, so the shifted address is an element
            // of the operand's block.
            r.ptr[j] = unsafe { self.base[k].offset(shift * self.esize[j] as isize) };
            r.strides[j] = st;
        }
        r
    }
}

/// A piece of a cell that one job computes: the cell and the box `[lo, hi)` inside it.
struct JobCell {
    cell: usize,
    lo: Vec<usize>,
    hi: Vec<usize>,
}

/// Groups of cells that form one job before splitting: single cells, or (with `along = d`) the
/// cells that differ only along `d`, ordered along `d`.
fn group_cells(cells: &[Cell], along: Option<usize>) -> Vec<Vec<usize>> {
    let Some(d) = along else {
        return (0..cells.len()).map(|i| vec![i]).collect();
    };
    let mut order: Vec<usize> = (0..cells.len()).collect();
    let key = |i: usize| {
        let c = &cells[i];
        let mut k: Vec<usize> = Vec::with_capacity(2 * c.lo.len());
        for a in 0..c.lo.len() {
            if a != d {
                k.push(c.lo[a]);
                k.push(c.hi[a]);
            }
        }
        k
    };
    order.sort_by(|&a, &b| key(a).cmp(&key(b)).then(cells[a].lo[d].cmp(&cells[b].lo[d])));
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for i in order {
        match groups.last_mut() {
            Some(g) if key(g[0]) == key(i) => g.push(i),
            _ => groups.push(vec![i]),
        }
    }
    groups
}

/// Cuts groups into jobs for `threads` threads: a group larger than its share is split along
/// its outermost axis (other than `along`) with an extent above 1, every cell of the group the
/// same way. With one thread every group is one job.
fn split_jobs(
    cells: &[Cell],
    groups: &[Vec<usize>],
    along: Option<usize>,
    threads: usize,
    total: usize,
) -> Vec<Vec<JobCell>> {
    let whole = |i: usize| JobCell {
        cell: i,
        lo: cells[i].lo.clone(),
        hi: cells[i].hi.clone(),
    };
    let target = (total / (4 * threads)).max(MIN_JOB);
    let mut jobs = Vec::new();
    for g in groups {
        let size: usize = g.iter().map(|&i| cells[i].len()).sum();
        let c0 = &cells[g[0]];
        let axis = (0..c0.lo.len()).find(|&a| Some(a) != along && c0.hi[a] - c0.lo[a] > 1);
        match axis {
            Some(a) if threads > 1 && size > target => {
                let ext = c0.hi[a] - c0.lo[a];
                let parts = size.div_ceil(target).min(ext);
                for p in 0..parts {
                    let (s, e) = (c0.lo[a] + ext * p / parts, c0.lo[a] + ext * (p + 1) / parts);
                    jobs.push(
                        g.iter()
                            .map(|&i| {
                                let mut jc = whole(i);
                                jc.lo[a] = s;
                                jc.hi[a] = e;
                                jc
                            })
                            .collect(),
                    );
                }
            }
            _ => jobs.push(g.iter().map(|&i| whole(i)).collect()),
        }
    }
    jobs
}

/// `out = work(inputs)` element-wise over the output's elements, each computed by its owner.
/// `args[0]` is the output; the other arguments are operand views already broadcast to its
/// shape, referred to by [`Input::Arg`]. `check` as in [`run`].
///
/// Without a `check`, and unless deferral is off or the call comes from inside another
/// operation, the operation is recorded and runs at the next flush ([`queue`]); its arguments
/// are checked now. **Collective.**
pub(crate) fn map(
    args: &[&DistArray],
    inputs: &[Input],
    work: Work,
    check: Option<&(dyn Fn(&Ready<'_>) -> bool + Sync)>,
    check_error: impl FnOnce() -> Error,
) -> Result<()> {
    let out = args[0];
    if !out.is_empty()
        && out
            .view
            .shape()
            .iter()
            .zip(out.view.strides())
            .any(|(&n, &s)| n > 1 && s == 0)
    {
        return Err(Error::invalid(
            "the output is a broadcast view (several elements share memory) and cannot be written",
        ));
    }
    let rt = out.runtime();
    if check.is_none() {
        let op = queue::Deferred {
            args: args.iter().map(|&a| a.clone()).collect(),
            inputs: inputs.iter().cloned().collect(),
            work,
            reduce: None,
        };
        if defer(rt, op)? {
            return Ok(());
        }
    }
    flush(rt)?;
    map_now(args, inputs, work, check, check_error)
}

/// [`map`], now. **Collective.**
pub(crate) fn map_now(
    args: &[&DistArray],
    inputs: &[Input],
    work: Work,
    check: Option<&(dyn Fn(&Ready<'_>) -> bool + Sync)>,
    check_error: impl FnOnce() -> Error,
) -> Result<()> {
    let out = args[0];
    out.base.materialize()?;
    let space_strides = crate::shape::c_strides(out.shape());
    let spec = MapSpec {
        work,
        out: 0,
        out_dt: out.dtype(),
        inputs,
        space_strides: &space_strides,
    };
    let r = Run {
        shape: out.shape(),
        anchor: out,
        share: Share::Owned,
        args,
        writes: &[0],
        chunk: None,
        along: None,
    };
    run_now(&r, check, check_error, &|cells, bufs| {
        for c in cells {
            tile::map_cell(c, &spec, bufs);
        }
    })?;
    Ok(())
}

/// Records `op` when deferral is on (and the call does not come from inside another
/// operation); `false` when it must run now. A full queue is flushed. **Collective.**
fn defer(rt: &Runtime, op: queue::Deferred) -> Result<bool> {
    if EAGER.with(|e| e.get()) != 0 {
        return Ok(false);
    }
    let c = ctx(rt);
    let full = {
        let mut c = c.borrow_mut();
        if !c.lazy {
            return Ok(false);
        }
        c.queue.push(op);
        c.queue.len() >= queue::QUEUE_LIMIT
    };
    if full {
        flush(rt)?;
    }
    Ok(true)
}

/// Records the axis reduction `out = op(x, axis)` (arguments checked) when deferral is on;
/// `false` when it must run now. **Collective.**
pub(crate) fn defer_reduce(x: &DistArray, op: crate::reduce::ReduceOp, axis: usize, out: &DistArray) -> Result<bool> {
    let d = queue::Deferred {
        args: smallvec::smallvec![out.clone(), x.clone()],
        inputs: queue::Inputs::new(),
        work: Work::Copy,
        reduce: Some((op, axis)),
    };
    defer(x.runtime(), d)
}

/// Elements of a run from which its ranks are brought in before this rank computes its share
/// (see [`Runtime::before_work`]): about 50 µs of memory-bound work, against a few µs for the
/// message.
const BEFORE_WORK_MIN: usize = 1 << 16;

thread_local! {
    /// Above 0 while an operation outside the cell pipeline runs ([`collective`]): engine
    /// operations it makes run at once (it reads their results itself).
    static EAGER: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Runs the deferred operations of `rt` (see [`queue`]). Does nothing when nothing is
/// deferred, or when called from inside the engine (a synchronisation it makes). **Collective.**
pub(crate) fn flush(rt: &Runtime) -> Result<()> {
    let Some(c) = existing_ctx(rt) else {
        return Ok(());
    };
    let mut ops = match c.try_borrow_mut() {
        Ok(mut c) if !c.queue.is_empty() => std::mem::take(&mut c.queue),
        _ => return Ok(()),
    };
    let r = queue::execute(rt, &mut ops);
    ops.clear();
    // The emptied queue goes back for the next operations: recording then never grows a
    // vector (a queue of small operations would otherwise pay a reallocation every doubling).
    if let Ok(mut c) = c.try_borrow_mut() {
        if c.queue.is_empty() {
            c.queue = ops;
        }
    }
    r
}

/// Whether deferred operations write `arr`'s storage (`writes_only`), or refer to it at all.
/// Local.
pub(crate) fn pending(arr: &DistArray, writes_only: bool) -> bool {
    let Some(c) = existing_ctx(arr.runtime()) else {
        return false;
    };
    let Ok(c) = c.try_borrow() else {
        return false;
    };
    c.queue.iter().any(|op| op.touches(&arr.base, writes_only))
}

/// Makes a one-sided or local access to `arr` safe from deferred operations: those that
/// write it (`write == false`: the access would see stale data) or refer to it at all (`write`:
/// they would see or undo the access). With one rank they run now; with several, running them
/// is collective, which a one-sided call cannot be, so the access fails with an
/// `InvalidArgument` error naming the remedy (a sync or flush first). Local.
pub(crate) fn check_not_pending(arr: &DistArray, write: bool) -> Result<()> {
    if !pending(arr, !write) {
        return Ok(());
    }
    let rt = arr.runtime();
    if rt.nranks() == 1 {
        return flush(rt);
    }
    Err(Error::invalid(
        "deferred array operations on this array are pending: run them first (a collective sync or flush) before one-sided or local-block access",
    ))
}

/// See [`crate::set_lazy`]. **Collective.**
pub(crate) fn set_lazy(rt: &Runtime, on: bool) -> Result<()> {
    if !on {
        flush(rt)?;
    }
    ctx(rt).borrow_mut().lazy = on;
    Ok(())
}

/// See [`crate::is_lazy`]. Local.
pub(crate) fn is_lazy(rt: &Runtime) -> bool {
    ctx(rt).borrow().lazy
}

/// The engine state of `rt` if it was created.
fn existing_ctx(rt: &Runtime) -> Option<Rc<RefCell<Ctx>>> {
    CTX.with(|c| {
        c.borrow()
            .iter()
            .find(|(id, alive, _)| *id == rt.id() && alive.strong_count() > 0)
            .map(|(_, _, x)| x.clone())
    })
}

/// A collective operation outside the cell pipeline (gathers, `to_ndarray`, matrix products):
/// ranks read other ranks' parts of `reads` with one-sided gets inside `f`, and each rank
/// writes only its own elements of `write`. Synchronises first when a read array was written,
/// or the written one read by other ranks, since the last sync, and records what `f` did (reads
/// count as remote whenever there are several ranks). Deferred operations run first; engine
/// operations inside `f` run at once. **Collective.**
pub(crate) fn collective<T>(
    reads: &[&DistArray],
    write: Option<&DistArray>,
    f: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let Some(rt) = reads.first().or(write.as_ref()).map(|a| a.runtime().clone()) else {
        return f();
    };
    flush(&rt)?;
    // Arrays made to be written first get their storage here (see `DistArray::empty_deferred`).
    for a in reads.iter().chain(write.as_ref()) {
        a.base.materialize()?;
    }
    let many = rt.nranks() > 1;
    let epoch = rt.sync_epoch();
    let raw = many && reads.iter().any(|a| a.base.written.get() == epoch);
    let war = write.is_some_and(|w| w.base.read_remote.get() == epoch);
    if raw || war {
        rt.sync()?;
    }
    EAGER.with(|e| e.set(e.get() + 1));
    let r = f();
    EAGER.with(|e| e.set(e.get() - 1));
    let now = rt.sync_epoch();
    if many {
        for a in reads {
            a.base.read_remote.set(now);
        }
    }
    if let Some(w) = write {
        w.base.written.set(now);
    }
    r
}

/// This rank's cells of `arr` (the elements it owns, a replicated array: all of them) with
/// their addresses: `(lo, hi, first element, strides in elements)`. Local.
#[allow(clippy::type_complexity)]
pub(crate) fn owned_cells(arr: &DistArray) -> Result<Vec<(Vec<usize>, Vec<usize>, *mut u8, Vec<isize>)>> {
    let rt = arr.runtime();
    let op = OpRef {
        dist: &arr.base.dist,
        view: &arr.view,
    };
    let spec = Spec {
        shape: arr.shape(),
        anchor: op,
        share: Share::Owned,
        ops: &[op],
        snapshot: &[false],
        chunk: None,
    };
    let Some((base, _)) = rt.addr_of(rt.rank(), arr.base.seg()?)? else {
        return Err(Error::internal("own memory is not addressable"));
    };
    let esize = arr.dtype().size();
    Ok(plan::plan(rt.rank(), rt.nranks(), &spec)
        .into_iter()
        .map(|c| {
            let a = &c.acc[0];
            // SAFETY: the cell's first element is in this rank's part of the segment.
            let p = unsafe { base.add(a.offset * esize) };
            (c.lo.clone(), c.hi.clone(), p, a.strides.clone())
        })
        .collect())
}

/// Runs `f(job, thread)` for `njobs` jobs on the compute threads of `rt` (no MPI inside `f`).
pub(crate) fn parallel(rt: &Runtime, njobs: usize, f: &(dyn Fn(usize, usize) + Sync)) {
    let c = ctx(rt);
    let c = c.borrow();
    c.pool.run(njobs, f);
}

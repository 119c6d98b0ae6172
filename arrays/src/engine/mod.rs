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
pub(crate) mod tile;

use crate::array::{Base, DistArray};
use crate::error::{Error, Result};
use distarr_runtime::Runtime;
use plan::{Cell, OpRef, Share, Spec};
use pool::Pool;
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::rc::Rc;
use std::sync::Mutex;
pub(crate) use tile::{Input, MapSpec, Ready, TileBufs, Work};

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
}

/// Per-runtime engine state, reused from operation to operation: the plan cache, the arena
/// that receives fetched blocks, the compute threads and their tile buffers.
pub(crate) struct Ctx {
    cache: HashMap<u64, Vec<(Key, Rc<PlanSet>)>>,
    cached: usize,
    arena: Vec<u64>,
    pool: Pool,
    bufs: Vec<Mutex<TileBufs>>,
    /// Test hook: this rank sleeps this long before computing each operation
    /// (`DISTARR_TEST_SLOW_RANK`, `DISTARR_TEST_DELAY_US`), to make it a slow reader and writer.
    delay: Option<std::time::Duration>,
}

/// What a plan depends on (compared in full on a cache hit; the hash only finds candidates).
#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    shape: Vec<usize>,
    anchor: (crate::dist::Distribution, crate::view::ViewSpec),
    share: Share,
    ops: Vec<(crate::dist::Distribution, crate::view::ViewSpec, bool)>,
    chunk: Option<usize>,
}

thread_local! {
    static CTX: RefCell<Vec<(u64, Rc<RefCell<Ctx>>)>> = const { RefCell::new(Vec::new()) };
}

/// The engine state of runtime `rt` (created on first use).
fn ctx(rt: &Runtime) -> Rc<RefCell<Ctx>> {
    CTX.with(|c| {
        let mut all = c.borrow_mut();
        if let Some((_, x)) = all.iter().find(|(id, _)| *id == rt.id()) {
            return x.clone();
        }
        // Contexts of finalized runtimes are not used again; keep the table short.
        all.retain(|(_, x)| Rc::strong_count(x) > 1);
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
            delay,
        }));
        all.push((rt.id(), x.clone()));
        x
    })
}

/// One engine run: the iteration space, the anchor whose owners compute, the operands (views
/// of the iteration space's shape), which operand is written, and how cells group into jobs.
pub(crate) struct Run<'a> {
    pub shape: &'a [usize],
    pub anchor: &'a DistArray,
    pub share: Share,
    pub args: &'a [&'a DistArray],
    pub write: Option<usize>,
    pub chunk: Option<usize>,
    /// `Some(d)`: cells that differ only along axis `d` form one job, in increasing order along
    /// `d` (reductions along `d`); `None`: every cell is a job (split further for threads).
    pub along: Option<usize>,
}

fn same_base(a: &DistArray, b: &DistArray) -> bool {
    Rc::ptr_eq(&a.base, &b.base)
}

impl Run<'_> {
    fn key(&self, snapshot: &[bool]) -> (u64, Key) {
        let key = Key {
            shape: self.shape.to_vec(),
            anchor: (self.anchor.base.dist.clone(), self.anchor.view.clone()),
            share: self.share,
            ops: self
                .args
                .iter()
                .zip(snapshot)
                .map(|(a, &s)| (a.base.dist.clone(), a.view.clone(), s))
                .collect(),
            chunk: self.chunk,
        };
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut h);
        (h.finish(), key)
    }

    /// Operands that must be copied even when local: another view of the output's memory, so
    /// computing in place would overwrite elements still to be read (NumPy copies too).
    fn snapshots(&self) -> Vec<bool> {
        self.args
            .iter()
            .enumerate()
            .map(|(j, a)| match self.write {
                Some(w) if w != j => same_base(a, self.args[w]) && a.view != self.args[w].view,
                _ => false,
            })
            .collect()
    }

    fn plan(&self, rt: &Runtime, ctx: &mut Ctx, snapshot: &[bool]) -> Rc<PlanSet> {
        let (h, key) = self.key(snapshot);
        if let Some(p) = ctx
            .cache
            .get(&h)
            .and_then(|v| v.iter().find(|(k, _)| *k == key))
            .map(|(_, p)| p.clone())
        {
            return p;
        }
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
            snapshot,
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
        let set = Rc::new(PlanSet { cells: mine, nonlocal });
        if ctx.cached >= PLAN_CACHE {
            ctx.cache.clear();
            ctx.cached = 0;
        }
        ctx.cache.entry(h).or_default().push((key, set.clone()));
        ctx.cached += 1;
        set
    }
}

/// Where a cell's operand is read from, once resolved.
#[derive(Clone, Copy)]
enum Loc {
    /// At this address (own memory, a node-local rank's, or a copy already complete).
    Ready(*mut u8),
    /// At this arena offset (bytes), after the pending gets complete.
    Arena(usize),
}

/// Runs `job` over this rank's cells of `run`, grouped into jobs (see [`Run::along`]), on the
/// compute threads, and returns the jobs' results in a fixed order (the order of the plan's
/// cells, split for threads the same way on every run with the same thread count).
///
/// `check`, if given, runs first over all cells once every operand is at hand; when it returns
/// `false` on any rank (agreed with one allreduce) nothing is written and `check_error` is
/// returned on every rank. **Collective.**
pub(crate) fn run<R: Send>(
    run: &Run<'_>,
    check: Option<&(dyn Fn(&Ready<'_>) -> bool + Sync)>,
    check_error: impl FnOnce() -> Error,
    job: &(dyn Fn(&[Ready<'_>], &mut TileBufs) -> R + Sync),
) -> Result<Vec<R>> {
    let rt = run.anchor.runtime().clone();
    let me = rt.rank();
    let ctx_rc = ctx(&rt);
    let mut guard = ctx_rc.borrow_mut();
    let ctx = &mut *guard;
    let snapshot = run.snapshots();
    let set = run.plan(&rt, ctx, &snapshot);
    let bases: Vec<&Base> = run.args.iter().map(|a| &*a.base).collect();

    // --- synchronise by dependency ---------------------------------------------------------
    let epoch = rt.sync_epoch();
    let raw = (0..bases.len()).any(|j| set.nonlocal[j] && bases[j].written.get() == epoch);
    let war = run.write.is_some_and(|w| bases[w].read_remote.get() == epoch);
    if raw || war {
        rt.sync()?;
    }
    let intra = run
        .write
        .is_some_and(|w| (0..bases.len()).any(|j| j != w && set.nonlocal[j] && same_base(run.args[j], run.args[w])));

    // --- fetch -------------------------------------------------------------------------------
    // Addresses of every operand on every rank this rank can load from (own memory always).
    let nr = rt.nranks();
    let mut addr: Vec<Vec<Option<*mut u8>>> = Vec::with_capacity(bases.len());
    for b in &bases {
        let mut v = Vec::with_capacity(nr);
        for r in 0..nr {
            v.push(rt.addr_of(r, b.seg)?.map(|(p, _)| p));
        }
        addr.push(v);
    }
    let mut locs: Vec<Vec<Loc>> = Vec::with_capacity(set.cells.len());
    let mut remote = vec![false; set.cells.len()];
    let mut arena_len = 0usize;
    let mut gets: Vec<(usize, usize, usize, usize, usize)> = Vec::new(); // (arg, rank, local off, len, arena off) in elements / bytes
    let mut copies: Vec<(usize, *const u8, usize)> = Vec::new(); // (arena off, source, bytes)
    for (ci, cell) in set.cells.iter().enumerate() {
        let mut row = Vec::with_capacity(cell.acc.len());
        for (j, a) in cell.acc.iter().enumerate() {
            let esize = bases[j].dtype.size();
            let reach = addr[j][a.rank];
            let in_place = match (&a.copy, reach) {
                (None, Some(_)) => true,
                (Some(_), Some(_)) => {
                    a.rank != me
                        && !snapshot[j]
                        && !(intra && run.write.is_some_and(|w| same_base(run.args[j], run.args[w])))
                }
                _ => false,
            };
            if in_place {
                let base = reach.unwrap_or(std::ptr::null_mut());
                // SAFETY: the access addresses elements of the operand's block on `a.rank`
                // (planner invariant), whose part of the segment starts at `base`.
                row.push(Loc::Ready(unsafe { base.add(a.offset * esize) }));
                continue;
            }
            let Some(c) = &a.copy else {
                return Err(Error::internal("an operand block is neither reachable nor copied"));
            };
            let at = arena_len.next_multiple_of(16);
            arena_len = at + c.len * esize;
            let mut off = at;
            for &(lo, len) in &c.runs {
                match reach {
                    // SAFETY: the run lies inside the rank's part of the segment (planner).
                    Some(p) => copies.push((off, unsafe { p.add(lo * esize) }.cast_const(), len * esize)),
                    None => {
                        gets.push((j, a.rank, lo * esize, len * esize, off));
                        remote[ci] = true;
                    }
                }
                off += len * esize;
            }
            row.push(Loc::Arena(at + c.offset * esize));
        }
        locs.push(row);
    }
    if ctx.arena.len() * 8 < arena_len {
        ctx.arena.resize(arena_len.div_ceil(8), 0);
    }
    let arena = ctx.arena.as_mut_ptr().cast::<u8>();
    for &(off, src, bytes) in &copies {
        // SAFETY: the source run is inside a loadable segment; the arena holds `arena_len`
        // bytes; a segment never overlaps the arena (heap memory vs this Vec).
        unsafe { std::ptr::copy_nonoverlapping(src, arena.add(off), bytes) };
    }
    for &(j, rank, off, bytes, at) in &gets {
        // SAFETY: the destination range lies in the arena, which is neither read nor moved
        // until the gets are completed (flush_local_all below, before any compute reads it).
        unsafe { rt.get_nbi(arena.add(at), bytes, rank, bases[j].seg, off as u64)? };
    }
    let mut pending = !gets.is_empty();
    if intra {
        if pending {
            rt.flush_local_all()?;
            pending = false;
        }
        rt.sync()?;
    }

    // --- jobs ----------------------------------------------------------------------------------
    let cells = &set.cells;
    let threads = ctx.pool.threads();
    let groups = group_cells(cells, run.along);
    let total: usize = cells.iter().map(Cell::len).sum();
    let jobs = split_jobs(cells, &groups, run.along, threads, total);
    let esize: Vec<usize> = bases.iter().map(|b| b.dtype.size()).collect();
    let res = Resolver {
        cells,
        locs: &locs,
        arena,
        esize,
    };
    let remote_job: Vec<bool> = jobs.iter().map(|j| j.iter().any(|e| remote[e.cell])).collect();

    // --- agree ---------------------------------------------------------------------------------
    if let Some(check) = check {
        if pending {
            rt.flush_local_all()?;
            pending = false;
        }
        let ok = jobs.iter().flatten().all(|e| check(&res.ready(e)));
        if !rt.all_ok(ok)? {
            record(&rt, run, &bases, &set, false);
            return Err(check_error());
        }
    }

    // --- compute (local cells first, remote ones once their gets are complete) ---------------
    if let Some(d) = ctx.delay {
        std::thread::sleep(d);
    }
    let slots: Vec<Mutex<Option<R>>> = (0..jobs.len()).map(|_| Mutex::new(None)).collect();
    let bufs = &ctx.bufs;
    let exec = |which: &[usize]| {
        ctx.pool.run(which.len(), &|i, t| {
            let ji = which[i];
            let cells: Vec<Ready> = jobs[ji].iter().map(|e| res.ready(e)).collect();
            let mut b = bufs[t.min(bufs.len() - 1)].lock().unwrap_or_else(|e| e.into_inner());
            let r = job(&cells, &mut b);
            *slots[ji].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
        });
    };
    let (first, later): (Vec<usize>, Vec<usize>) = (0..jobs.len()).partition(|&j| !remote_job[j] || !pending);
    exec(&first);
    if pending {
        rt.flush_local_all()?;
    }
    exec(&later);
    record(&rt, run, &bases, &set, true);
    slots
        .into_iter()
        .map(|s| {
            s.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .ok_or_else(|| Error::internal("a compute job did not run"))
        })
        .collect()
}

/// Records in the operands' replicated metadata what this operation did (see the module docs).
fn record(rt: &Runtime, run: &Run<'_>, bases: &[&Base], set: &PlanSet, wrote: bool) {
    let now = rt.sync_epoch();
    for (j, b) in bases.iter().enumerate() {
        if set.nonlocal[j] {
            b.read_remote.set(now);
        }
    }
    if let (true, Some(w)) = (wrote, run.write) {
        bases[w].written.set(now);
    }
}

/// Turns job cells into [`Ready`] cells: operand addresses and strides.
struct Resolver<'a> {
    cells: &'a [Cell],
    locs: &'a [Vec<Loc>],
    arena: *mut u8,
    esize: Vec<usize>,
}

// SAFETY: a Resolver only computes addresses from plain data; it never dereferences them. The
// jobs that use the addresses touch disjoint output elements (each element is in one job's
// box) and read operands nobody writes during the compute phase (an operand that overlaps the
// output in another order was copied to the arena before it).
unsafe impl Sync for Resolver<'_> {}

impl Resolver<'_> {
    fn ready<'s>(&'s self, e: &'s JobCell) -> Ready<'s> {
        let c = &self.cells[e.cell];
        let mut ptr = Vec::with_capacity(c.acc.len());
        let mut strides = Vec::with_capacity(c.acc.len());
        for (j, (l, a)) in self.locs[e.cell].iter().zip(&c.acc).enumerate() {
            let (base, st) = match (*l, &a.copy) {
                // SAFETY: the offset lies inside the arena (computed with its length).
                (Loc::Arena(o), Some(cp)) => (unsafe { self.arena.add(o) }, cp.strides.as_slice()),
                (Loc::Arena(o), None) => (unsafe { self.arena.add(o) }, a.strides.as_slice()),
                (Loc::Ready(p), _) => (p, a.strides.as_slice()),
            };
            let shift: isize =
                e.lo.iter()
                    .zip(&c.lo)
                    .zip(st)
                    .map(|((&x, &l0), &s)| (x - l0) as isize * s)
                    .sum();
            // SAFETY: the sub-cell starts inside the cell, so the shifted address is an element
            // of the operand's block.
            ptr.push(unsafe { base.offset(shift * self.esize[j] as isize) });
            strides.push(st);
        }
        Ready {
            lo: &e.lo,
            hi: &e.hi,
            ptr,
            strides,
        }
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
/// shape, referred to by [`Input::Arg`]. `check` as in [`run`]. **Collective.**
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
        write: Some(0),
        chunk: None,
        along: None,
    };
    run(&r, check, check_error, &|cells, bufs| {
        for c in cells {
            tile::map_cell(c, &spec, bufs);
        }
    })?;
    Ok(())
}

/// A collective operation outside the cell pipeline (gathers, `to_ndarray`, matrix products):
/// ranks read other ranks' parts of `reads` with one-sided gets inside `f`, and each rank
/// writes only its own elements of `write`. Synchronises first when a read array was written,
/// or the written one read by other ranks, since the last sync, and records what `f` did (reads
/// count as remote whenever there are several ranks). **Collective.**
pub(crate) fn collective<T>(
    reads: &[&DistArray],
    write: Option<&DistArray>,
    f: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let Some(rt) = reads.first().or(write.as_ref()).map(|a| a.runtime().clone()) else {
        return f();
    };
    let many = rt.nranks() > 1;
    let epoch = rt.sync_epoch();
    let raw = many && reads.iter().any(|a| a.base.written.get() == epoch);
    let war = write.is_some_and(|w| w.base.read_remote.get() == epoch);
    if raw || war {
        rt.sync()?;
    }
    let r = f();
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
    let Some((base, _)) = rt.addr_of(rt.rank(), arr.base.seg)? else {
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

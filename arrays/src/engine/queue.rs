//! Deferred execution and fusion.
//!
//! Element-wise operations (ufuncs, `where`, copies, fills, generators) are recorded here
//! instead of running, once their arguments are checked (so errors still come at the call).
//! They run at a flush: when a value is needed (a reduction, a gather, a matrix product, I/O,
//! any operation outside the queue), at a synchronisation (`Runtime::sync`, `barrier`, `fence`),
//! when an array the queue uses is freed, when the queue is full, or on request. Every rank
//! records the same operations in the same order and flushes at the same points (all of them
//! are collective), so the queues agree.
//!
//! At a flush, runs of operations over one iteration space become **one tiled pass**: a small
//! register machine runs each operation's kernel on a tile after the other (one indirect call
//! per operation per tile), keeping intermediate values in tile-sized registers. A result is
//! written to memory (and its storage allocated) only when it is *materialised*: when an array
//! outside the queue still refers to it, or a later pass reads it. A temporary that dies inside
//! the queue — `(a + b) * c` frees `a + b` — is never allocated. Remote operands are fetched
//! once per pass.
//!
//! A pass stops before an operation that would read, through another view, an array the pass
//! writes (a stencil's halo after the pass wrote the grid), or write an array the pass read
//! through another view: both need the elements in another order than a tile walk gives.
//! `DISTARR_LAZY=0` turns deferral off.
#![allow(unsafe_code)]
use super::tile::{self, index_stream, walk, Stream, TileAt, MAX_DIMS, MAX_STREAMS};
use super::{Input, Ready, Run, TileBufs, Work};
use crate::array::{Base, DistArray};
use crate::dtype::DType;
use crate::engine::plan::Share;
use crate::error::{Error, Result};
use crate::kernel::{self, Src};
use distarr_runtime::Runtime;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::rc::Rc;

/// Operations kept before a flush is forced (also the size of the agreement at a flush).
pub(crate) const QUEUE_LIMIT: usize = 256;
/// Most operations fused into one pass.
const MAX_FUSED: usize = 24;

/// A deferred operation's arrays (output first): inline up to three, an element-wise binary
/// operation's count, so that recording one allocates nothing.
pub(crate) type Args = smallvec::SmallVec<[DistArray; 3]>;
/// A deferred operation's sources, inline up to two.
pub(crate) type Inputs = smallvec::SmallVec<[Input; 2]>;

/// One recorded element-wise operation: `args[0]` is the output; inputs refer to `args` by
/// index, as in [`super::map`].
pub(crate) struct Deferred {
    pub args: Args,
    pub inputs: Inputs,
    pub work: Work,
    /// An axis reduction instead (`op` along `axis`): `args` are the output and the input;
    /// `inputs` and `work` are unused.
    pub reduce: Option<(crate::reduce::ReduceOp, usize)>,
}

impl Deferred {
    fn out(&self) -> &DistArray {
        &self.args[0]
    }

    /// Whether this operation writes `base` (`writes_only`), or refers to it at all.
    pub(crate) fn touches(&self, base: &Rc<Base>, writes_only: bool) -> bool {
        let args = if writes_only { &self.args[..1] } else { &self.args[..] };
        args.iter().any(|a| Rc::ptr_eq(&a.base, base))
    }

    /// A digest of what the operation is (kind, shapes, dtypes, layouts, views): equal on
    /// every rank when the ranks recorded the same program.
    fn digest(&self, h: &mut impl Hasher) {
        for a in &self.args {
            a.base.dist.hash(h);
            a.view.hash(h);
            a.dtype().code().hash(h);
        }
        for inp in &self.inputs {
            match inp {
                Input::Arg { arg, dt, kdt } => (0u8, *arg, dt.code(), kdt.code()).hash(h),
                Input::Const { dt, .. } => (1u8, dt.code()).hash(h),
            }
        }
        std::mem::discriminant(&self.work).hash(h);
        self.reduce.map(|(op, axis)| (op as u8, axis)).hash(h);
    }
}

/// Whether `DISTARR_LAZY` leaves deferral on (anything but `0`, `off`, `false`, `no`).
pub(crate) fn lazy_from_env() -> bool {
    match std::env::var("DISTARR_LAZY") {
        Ok(v) => !matches!(v.trim().to_ascii_lowercase().as_str(), "0" | "off" | "false" | "no"),
        Err(_) => true,
    }
}

/// An error of deferred work, as the runtime reports it from a synchronisation that ran it.
pub(crate) fn hook_error(e: Error) -> distarr_runtime::Error {
    use crate::error::ErrorKind as A;
    use distarr_runtime::ErrorKind as K;
    let kind = match e.kind() {
        A::OutOfMemory => K::OutOfMemory,
        A::CollectiveMismatch => K::CollectiveMismatch,
        _ => K::Deferred,
    };
    distarr_runtime::Error::new(kind, format!("deferred array operations: {e}"))
}

fn base_ptr(a: &DistArray) -> *const Base {
    Rc::as_ptr(&a.base)
}

/// Whether two arrays are the same view of the same storage.
fn same_view(a: &DistArray, b: &DistArray) -> bool {
    base_ptr(a) == base_ptr(b) && a.view == b.view
}

/// What a pass being formed writes and reads, to decide in a few comparisons whether the next
/// operation may join it ([`Pass::admits`]).
struct Pass<'a> {
    /// Operations in the pass.
    len: usize,
    /// The pass is an axis reduction (which stands alone).
    reduce: bool,
    /// The iteration space: the first operation's output shape.
    shape: &'a [usize],
    /// Each storage the pass writes, with the view it writes through (one per storage: a
    /// write through another view is refused).
    written: Vec<(*const Base, &'a DistArray)>,
    /// Each storage the pass reads, with every distinct view it reads through.
    read: Vec<(*const Base, &'a DistArray)>,
}

impl<'a> Pass<'a> {
    /// A pass of the one operation `op`.
    fn new(op: &'a Deferred) -> Pass<'a> {
        let mut p = Pass {
            len: 0,
            reduce: op.reduce.is_some(),
            shape: op.out().shape(),
            written: Vec::new(),
            read: Vec::new(),
        };
        p.add(op);
        p
    }

    fn add(&mut self, op: &'a Deferred) {
        self.len += 1;
        let out = op.out();
        if !self.written.iter().any(|&(b, _)| b == base_ptr(out)) {
            self.written.push((base_ptr(out), out));
        }
        for inp in &op.inputs {
            if let Input::Arg { arg, .. } = inp {
                let v = &op.args[*arg];
                if !self.read.iter().any(|&(b, r)| b == base_ptr(v) && r.view == v.view) {
                    self.read.push((base_ptr(v), v));
                }
            }
        }
    }

    /// Whether `op` may join the pass: every input written earlier in the pass is read
    /// through the very view it was written through (then it is a register), and every
    /// earlier read or write of the storage this operation writes is through the view it
    /// writes.
    fn admits(&self, op: &Deferred) -> bool {
        if self.len >= MAX_FUSED || self.reduce || op.reduce.is_some() || op.out().shape() != self.shape {
            return false;
        }
        for inp in &op.inputs {
            if let Input::Arg { arg, .. } = inp {
                let v = &op.args[*arg];
                if self.written.iter().any(|&(b, w)| b == base_ptr(v) && w.view != v.view) {
                    return false;
                }
            }
        }
        let out = op.out();
        let other_view = |&(b, a): &(*const Base, &DistArray)| b == base_ptr(out) && a.view != out.view;
        !self.written.iter().any(other_view) && !self.read.iter().any(other_view)
    }
}

/// Runs the recorded operations. **Collective.**
pub(crate) fn execute(rt: &Runtime, ops: &mut [Deferred]) -> Result<()> {
    if ops.is_empty() {
        return Ok(());
    }
    // Which results are still referred to outside the queue: those must be written. A rank
    // could hold a reference the others do not, so the ranks agree — and check that they
    // recorded the same operations — in one small allreduce of fixed size: a flag per
    // operation, then a digest of the queue and its complement (a byte-wise maximum equal to
    // both on every rank means every rank has the same digest). When one program makes every
    // rank's calls (`Runtime::is_lockstep`: sequential mode), the ranks hold the same
    // references and record the same operations by construction: no agreement, and a flush of
    // aligned operations communicates nothing.
    let mut refs: HashMap<*const Base, usize, BuildHasherDefault<super::Fx>> = HashMap::default();
    for op in ops.iter() {
        for a in &op.args {
            *refs.entry(base_ptr(a)).or_default() += 1;
        }
    }
    let mut buf = [0u8; QUEUE_LIMIT + 16];
    for (b, op) in buf.iter_mut().zip(ops.iter()) {
        *b = u8::from(Rc::strong_count(&op.out().base) > refs[&base_ptr(op.out())]);
    }
    if !rt.is_lockstep() {
        let mut h = super::Fx::default();
        ops.len().hash(&mut h);
        for op in ops.iter() {
            op.digest(&mut h);
        }
        let d = h.finish().to_le_bytes();
        buf[QUEUE_LIMIT..QUEUE_LIMIT + 8].copy_from_slice(&d);
        for (b, x) in buf[QUEUE_LIMIT + 8..].iter_mut().zip(d) {
            *b = !x;
        }
        rt.allreduce(&mut buf, distarr_runtime::ReduceOp::Max)?;
        let same =
            buf[QUEUE_LIMIT..QUEUE_LIMIT + 8] == d && buf[QUEUE_LIMIT + 8..].iter().zip(d).all(|(&b, x)| b == !x);
        if !same {
            return Err(Error::new(
                crate::error::ErrorKind::CollectiveMismatch,
                "ranks recorded different array operations since the last flush (shapes, dtypes or order differ)",
            ));
        }
    }
    let live = &buf[..ops.len()];
    // Passes: runs of element-wise operations that may share a tile walk; an axis reduction
    // is a pass of its own, fused into the pass before it when that pass computes its input.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut pass: Option<Pass<'_>> = None;
    for (k, op) in ops.iter().enumerate() {
        match (groups.last_mut(), &mut pass) {
            (Some(g), Some(p)) if p.admits(op) => {
                g.push(k);
                p.add(op);
            }
            _ => {
                groups.push(vec![k]);
                pass = Some(Pass::new(op));
            }
        }
    }
    // Whether storage `b` is referred to by an operation of the passes from `from` on.
    let used_from = |from: usize, b: *const Base| {
        groups[from.min(groups.len())..]
            .iter()
            .flatten()
            .any(|&k| ops[k].args.iter().any(|a| base_ptr(a) == b))
    };
    // The steps, decided before anything runs (so that a pass can look at the next one).
    let mut steps: Vec<Step> = Vec::new();
    let mut gi = 0;
    while gi < groups.len() {
        let g = &groups[gi];
        if ops[g[0]].reduce.is_some() {
            steps.push(Step::Reduce(g[0]));
            gi += 1;
            continue;
        }
        // The last writer of each storage in the pass is materialised when the storage is live
        // or used after the pass.
        let outputs_if = |later: usize| -> Vec<usize> {
            let mut outputs = Vec::new();
            for (pos, &k) in g.iter().enumerate() {
                let b = base_ptr(ops[k].out());
                let last = !g[pos + 1..].iter().any(|&j| base_ptr(ops[j].out()) == b);
                if last && (live[k] != 0 || used_from(later, b)) {
                    outputs.push(k);
                }
            }
            outputs
        };
        // An axis reduction right after this pass, of a temporary this pass computes and
        // nothing else needs: computed tile by tile and reduced at once, never stored.
        if let Some(&rk) = groups.get(gi + 1).filter(|n| ops[n[0]].reduce.is_some()).map(|n| &n[0]) {
            let x = &ops[rk].args[1];
            let writer = g.iter().rev().find(|&&k| base_ptr(ops[k].out()) == base_ptr(x));
            if let Some(&xk) = writer {
                if same_view(ops[xk].out(), x)
                    && live[xk] == 0
                    && !used_from(gi + 2, base_ptr(x))
                    && outputs_if(gi + 2).is_empty()
                {
                    steps.push(Step::Fused {
                        gi,
                        xk,
                        rk,
                        outputs: outputs_if(gi + 1),
                    });
                    gi += 2;
                    continue;
                }
            }
        }
        let outputs = outputs_if(gi + 1);
        if !outputs.is_empty() {
            steps.push(Step::Pass { gi, outputs }); // else nothing of this pass is ever seen
        }
        gi += 1;
    }
    let ran = run_steps(ops, &groups, &steps);
    // Gets issued ahead for a pass that did not run as planned (an error, a fallback) are
    // completed before their buffer is reused.
    let cancelled = super::cancel_prefetch(rt);
    ran.and(cancelled)
}

/// What a flush does with a pass ([`execute`]).
enum Step {
    /// An axis reduction (operation `k`) on its own.
    Reduce(usize),
    /// Pass `gi` fused with the axis reduction `rk` of the result of its operation `xk`;
    /// `outputs` are the pass's outputs should the fusion not be possible.
    Fused {
        gi: usize,
        xk: usize,
        rk: usize,
        outputs: Vec<usize>,
    },
    /// Pass `gi`, writing the results of `outputs`.
    Pass { gi: usize, outputs: Vec<usize> },
}

/// Runs the steps of a flush in order. After each step the queue lets go of that step's
/// arrays: storage that nothing else refers to any more (a temporary the program freed while
/// the operation was pending, such as the previous iteration's result) is freed there and
/// then, so that the next step's new arrays reuse it instead of growing the heap by one array
/// per iteration. The steps and their order are the same on every rank, so these frees
/// (collective) are too.
fn run_steps(ops: &mut [Deferred], groups: &[Vec<usize>], steps: &[Step]) -> Result<()> {
    for (si, step) in steps.iter().enumerate() {
        run_step(ops, groups, steps, si)?;
        let (done, reduction): (&[usize], Option<usize>) = match step {
            Step::Reduce(rk) => (std::slice::from_ref(rk), None),
            Step::Fused { gi, rk, .. } => (&groups[*gi], Some(*rk)),
            Step::Pass { gi, .. } => (&groups[*gi], None),
        };
        for &k in done.iter().chain(&reduction) {
            drop(std::mem::take(&mut ops[k].args));
        }
    }
    Ok(())
}

/// The axis reduction `ops[rk]`, run on its own.
fn reduce_now(ops: &[Deferred], rk: usize) -> Result<()> {
    let r = &ops[rk];
    let (op, axis) = r.reduce.ok_or_else(|| Error::internal("not a reduction"))?;
    crate::reduce::reduce_axis_now(&r.args[1], op, axis, &r.args[0])
}

/// Runs step `si` of [`run_steps`].
fn run_step(ops: &[Deferred], groups: &[Vec<usize>], steps: &[Step], si: usize) -> Result<()> {
    match &steps[si] {
        Step::Reduce(rk) => reduce_now(ops, *rk),
        Step::Fused { gi, xk, rk, outputs } => {
            let r = &ops[*rk];
            let (op, axis) = r.reduce.ok_or_else(|| Error::internal("not a reduction"))?;
            if !fused_reduce(ops, &groups[*gi], *xk, op, axis, &r.args[0])? {
                run_group(ops, &groups[*gi], outputs)?;
                reduce_now(ops, *rk)?;
            }
            Ok(())
        }
        Step::Pass { gi, outputs } => {
            // Latency hiding across passes: the next pass's remote blocks travel while this one
            // computes, when nothing this pass writes is among them.
            if let Some(Step::Pass { gi: ni, outputs: no }) = steps.get(si + 1) {
                if fusable(ops, &groups[*ni], no) {
                    let written: Vec<&DistArray> = outputs.iter().map(|&k| ops[k].out()).collect();
                    with_pass(ops, &groups[*ni], no, |_, r| super::prefetch(r, &written))?;
                }
            }
            run_group(ops, &groups[*gi], outputs)
        }
    }
}

/// Whether pass `group` with `outputs` runs as one fused pass (else operation by operation).
fn fusable(ops: &[Deferred], group: &[usize], outputs: &[usize]) -> bool {
    let anchor = ops[outputs[0]].out();
    group.len() > 1
        && outputs.iter().all(|&k| {
            let o = ops[k].out();
            o.base.dist == anchor.base.dist && o.view == anchor.view
        })
}

/// Runs pass `group`, writing the results of `outputs` (not empty): fused when it can be,
/// else operation by operation.
fn run_group(ops: &[Deferred], group: &[usize], outputs: &[usize]) -> Result<()> {
    if !fusable(ops, group, outputs) || !run_pass(ops, group, outputs)? {
        for &k in group {
            run_one(&ops[k])?;
        }
    }
    Ok(())
}

/// One operation as it would run undeferred.
fn run_one(op: &Deferred) -> Result<()> {
    op.out().base.materialize()?;
    let args: Vec<&DistArray> = op.args.iter().collect();
    super::map_now(&args, &op.inputs, op.work, None, || {
        Error::internal("deferred operations cannot fail")
    })
}

/// Where an instruction's source comes from.
#[derive(Clone, Copy, Debug)]
enum Operand {
    /// Engine argument (a leaf input).
    Leaf(usize),
    /// The register of instruction `i`.
    Reg(usize),
    /// A constant (its bytes, as [`Input::Const`] holds them).
    Const([u64; 2]),
}

/// One operation of a pass: its sources (with the dtype the kernel wants for each), and the
/// dtype of its register (its output array's dtype: a register holds what memory would).
struct Instr {
    work: Work,
    srcs: Vec<(Operand, DType)>,
    reg_dt: DType,
}

/// A fused pass as the tile loop runs it.
struct Program {
    /// The instructions still needed (for an output or the result), in program order.
    instrs: Vec<Instr>,
    /// Outputs: `(engine argument, instruction)`. Engine arguments are the outputs, then the
    /// leaves.
    outputs: Vec<(usize, usize)>,
    /// The instruction whose register is the pass's result (a fused reduction's input).
    result: Option<usize>,
    leaf_dt: Vec<DType>,
    nargs: usize,
    index: bool,
    space_strides: Vec<usize>,
    /// The tile buffer of each instruction's register (registers share buffers when their
    /// lifetimes do not overlap) and the number of register buffers.
    slot: Vec<usize>,
    nslots: usize,
    /// Per instruction: the output argument it may compute straight into (when that is
    /// contiguous over the tile and of its dtype) instead of a register that is then stored.
    /// Only outputs that no instruction from this one on reads another view of (or the same
    /// view, except this instruction's own source: the kernels' one permitted overlap), and
    /// that share storage with no other output.
    direct: Vec<Option<usize>>,
}

/// Translates the operations `group` of `ops` into a program that stores the results of the
/// operations `outputs` and keeps the register of `result`; the engine arguments (`args`,
/// which holds the outputs on entry) receive its leaves. `None` when the pass needs more
/// operands than a walk takes.
fn program<'a>(
    ops: &'a [Deferred],
    group: &[usize],
    outputs: &[usize],
    result: Option<usize>,
    args: &mut Vec<&'a DistArray>,
) -> Option<Program> {
    let nout = args.len();
    // Which operations are needed: backwards from the outputs and the result.
    let mut needed = vec![false; group.len()];
    let pos = |k: usize| group.iter().position(|&g| g == k);
    for &k in outputs.iter().chain(result.iter()) {
        if let Some(p) = pos(k) {
            needed[p] = true;
        }
    }
    for i in (0..group.len()).rev() {
        if !needed[i] {
            continue;
        }
        let op = &ops[group[i]];
        for inp in &op.inputs {
            if let Input::Arg { arg, .. } = inp {
                let v = &op.args[*arg];
                if let Some(j) = (0..i).rev().find(|&j| same_view(ops[group[j]].out(), v)) {
                    needed[j] = true;
                }
            }
        }
    }
    // Instruction numbers of the needed operations.
    let mut num = vec![usize::MAX; group.len()];
    let mut instrs: Vec<Instr> = Vec::new();
    let mut index = false;
    for (i, &k) in group.iter().enumerate() {
        if !needed[i] {
            continue;
        }
        let op = &ops[k];
        let mut srcs = Vec::with_capacity(op.inputs.len());
        for inp in &op.inputs {
            srcs.push(match inp {
                Input::Const { bytes, dt } => (Operand::Const(*bytes), *dt),
                Input::Arg { arg, kdt, .. } => {
                    let v = &op.args[*arg];
                    // A register when an earlier operation of the pass wrote this view.
                    match (0..i).rev().find(|&j| same_view(ops[group[j]].out(), v)) {
                        Some(j) => (Operand::Reg(num[j]), *kdt),
                        None => {
                            let at = match args[nout..].iter().position(|a| same_view(a, v)) {
                                Some(p) => nout + p,
                                None => {
                                    args.push(v);
                                    args.len() - 1
                                }
                            };
                            (Operand::Leaf(at), *kdt)
                        }
                    }
                }
            });
        }
        index |= matches!(op.work, Work::Generate { .. });
        num[i] = instrs.len();
        instrs.push(Instr {
            work: op.work,
            srcs,
            reg_dt: op.out().dtype(),
        });
    }
    if args.len() + usize::from(index) > MAX_STREAMS.min(super::MAX_ARGS) {
        return None;
    }
    let out_pos: Vec<(usize, usize)> = outputs
        .iter()
        .enumerate()
        .filter_map(|(a, &k)| pos(k).map(|p| (a, num[p])))
        .collect();
    let result = result.and_then(pos).map(|p| num[p]);
    let keep: Vec<usize> = out_pos.iter().map(|&(_, i)| i).chain(result).collect();
    let (slot, nslots) = registers(&instrs, &keep);
    let mut direct = vec![None; instrs.len()];
    for &(arg, i) in &out_pos {
        let shares = |a: usize| base_ptr(args[a]) == base_ptr(args[arg]);
        let lone = out_pos.iter().all(|&(o, _)| o == arg || !shares(o));
        let unread = instrs[i..].iter().enumerate().all(|(d, ins)| {
            ins.srcs.iter().all(|(o, _)| match *o {
                Operand::Leaf(l) => !shares(l) || (d == 0 && same_view(args[l], args[arg])),
                _ => true,
            })
        });
        let kernel_dt = match instrs[i].work {
            Work::Kernel { res_dt, .. } => res_dt == instrs[i].reg_dt,
            Work::Copy => true,
            // Generators make f64: straight into an f64 output.
            Work::Generate { .. } => instrs[i].reg_dt == DType::F64,
        };
        if lone && unread && kernel_dt && instrs[i].reg_dt == args[arg].dtype() {
            direct[i] = Some(arg);
        }
    }
    Some(Program {
        leaf_dt: args.iter().map(|a| a.dtype()).collect(),
        nargs: args.len(),
        instrs,
        outputs: out_pos,
        result,
        index,
        space_strides: crate::shape::c_strides(ops[group[0]].out().shape()),
        slot,
        nslots,
        direct,
    })
}

/// Runs the operations `group` of `ops` as one pass, writing `outputs`. `false` (nothing done)
/// when the pass has too many operands for one walk.
fn run_pass(ops: &[Deferred], group: &[usize], outputs: &[usize]) -> Result<bool> {
    for &k in outputs {
        ops[k].out().base.materialize()?;
    }
    let ran = with_pass(ops, group, outputs, |prog, r| {
        super::run_now(
            r,
            None,
            || Error::internal("fused passes cannot fail"),
            &|cells, bufs| {
                for c in cells {
                    prog.cell(c, bufs);
                }
            },
        )
    })?;
    Ok(ran.is_some())
}

/// Calls `f` with the program and the engine run of the pass `group` writing `outputs`;
/// `None` when the pass has too many operands for one walk.
fn with_pass<R>(
    ops: &[Deferred],
    group: &[usize],
    outputs: &[usize],
    f: impl FnOnce(&Program, &Run<'_>) -> Result<R>,
) -> Result<Option<R>> {
    let mut args: Vec<&DistArray> = outputs.iter().map(|&k| ops[k].out()).collect();
    let Some(prog) = program(ops, group, outputs, None, &mut args) else {
        return Ok(None);
    };
    let writes: Vec<usize> = (0..outputs.len()).collect();
    let anchor = args[0];
    let r = Run {
        shape: anchor.shape(),
        anchor,
        share: Share::Owned,
        args: &args,
        writes: &writes,
        chunk: None,
        along: None,
    };
    f(&prog, &r).map(Some)
}

/// Runs the operations `group` of `ops` and the axis reduction (`op` along `axis` into `out`)
/// of the result of operation `xk` as one pass: the reduction's lanes read tiles the program
/// computes. `false` (nothing done) when the pass has too many operands for one walk.
fn fused_reduce(
    ops: &[Deferred],
    group: &[usize],
    xk: usize,
    op: crate::reduce::ReduceOp,
    axis: usize,
    out: &DistArray,
) -> Result<bool> {
    let mut args: Vec<&DistArray> = Vec::new();
    let Some(prog) = program(ops, group, &[], Some(xk), &mut args) else {
        return Ok(false);
    };
    let x = ops[xk].out();
    let src = FusedLanes {
        prog: &prog,
        xdt: x.dtype(),
    };
    crate::reduce::reduce_axis_fused(x.shape(), x.dtype(), op, axis, out, &args, &src)?;
    Ok(true)
}

/// A fused pass as the input of an axis reduction ([`crate::reduce::LaneSource`]): each block
/// of lanes is computed into a register, lanes as rows when the reduction runs along the last
/// axis, positions as rows otherwise (rows of the last axis, which is contiguous in memory).
struct FusedLanes<'p> {
    prog: &'p Program,
    xdt: DType,
}

/// Elements per block a fused reduction computes at once.
const FUSED_BLOCK: usize = tile::TILE;
/// Lanes per tile of a fused reduction along the last axis (lanes are rows of the blocks).
const FUSED_LANES: usize = 8;

impl crate::reduce::LaneSource for FusedLanes<'_> {
    fn lane_tile(&self, axis_is_last: bool) -> usize {
        if axis_is_last {
            FUSED_LANES
        } else {
            FUSED_BLOCK
        }
    }

    fn max_positions(&self, nt: usize, _: DType) -> Option<usize> {
        Some((FUSED_BLOCK / nt).max(1))
    }

    fn block(
        &self,
        cell: &Ready<'_>,
        at: &[usize],
        t: Option<usize>,
        nt: usize,
        axis: usize,
        w: usize,
        want: DType,
        bufs: &mut TileBufs,
    ) -> (*const u8, isize, isize) {
        let p = self.prog;
        let nd = at.len();
        // Rows and columns of the block: the columns run along the last axis.
        let lanes_are_rows = axis == nd - 1 || t.is_none();
        let (row_axis, k, col_axis, n) = if lanes_are_rows {
            (t, if t.is_some() { nt } else { 1 }, axis, w)
        } else {
            (Some(axis), w, t.unwrap_or(axis), nt)
        };
        let mut streams = [Stream::new(std::ptr::null_mut(), 0, &[]); MAX_STREAMS];
        for (a, s) in streams.iter_mut().enumerate().take(p.nargs) {
            let st = cell.strides[a];
            let off: isize = at
                .iter()
                .zip(cell.lo)
                .zip(st)
                .map(|((&x, &l), &s)| (x - l) as isize * s)
                .sum();
            let size = p.leaf_dt[a].size();
            // SAFETY: `at` lies in the cell, so this addresses an element of the leaf's block.
            let ptr = unsafe { cell.ptr[a].offset(off * size as isize) };
            *s = Stream::new(ptr, size, &[row_axis.map_or(0, |d| st[d]), st[col_axis]]);
        }
        let mut ns = p.nargs;
        let flat0: usize = at.iter().zip(&p.space_strides).map(|(x, s)| x * s).sum();
        if p.index {
            let ss = &p.space_strides;
            streams[ns] = Stream::new(
                std::ptr::null_mut(),
                1,
                &[row_axis.map_or(0, |d| ss[d] as isize), ss[col_axis] as isize],
            );
            ns += 1;
        }
        let zero = [0isize; MAX_STREAMS];
        let tile = TileAt::new(&streams[..ns], &zero[..ns], n, k, 2);
        // Buffers from BUF_SRC on: those below are the reduction's.
        let b0 = crate::reduce::BUF_SRC;
        let reg = p.compute(&tile, ns, flat0, b0, false, bufs);
        let r = p.result.unwrap_or(0);
        let have = p.instrs[r].reg_dt;
        debug_assert_eq!(have, self.xdt);
        let total = n * k;
        let vals = if have == want {
            reg.cast_const()
        } else {
            let b = bufs.get(b0 + REGS + p.nslots + 4 + MAX_LEAF_SRCS, total * want.size());
            // SAFETY: the register holds `total` values of `have`; the buffer room for `total`
            // of `want`; distinct buffers.
            unsafe { kernel::cast(have, want)(total, reg, 1, b, 1) };
            b.cast_const()
        };
        // Dense rows of n: lanes × positions, or positions × lanes.
        if lanes_are_rows {
            (vals, n as isize, 1)
        } else {
            (vals, 1, n as isize)
        }
    }
}

/// Register buffers for `instrs`: an instruction's register lives from its instruction to its
/// last reader (to the end for the registers in `keep`: outputs and the result); a buffer is
/// reused once its register is dead. Returns the buffer of each register and the number of
/// buffers.
fn registers(instrs: &[Instr], keep: &[usize]) -> (Vec<usize>, usize) {
    let n = instrs.len();
    let mut last: Vec<usize> = (0..n).collect();
    for (i, ins) in instrs.iter().enumerate() {
        for &(o, _) in &ins.srcs {
            if let Operand::Reg(j) = o {
                last[j] = last[j].max(i);
            }
        }
    }
    for &i in keep {
        last[i] = usize::MAX;
    }
    let mut slot = vec![0; n];
    let mut free: Vec<usize> = Vec::new();
    let mut nslots = 0;
    for i in 0..n {
        // Registers last read by the previous instruction are dead now (a register read by
        // this instruction is not reused for its result: kernels take no aliased operands).
        if i > 0 {
            for j in 0..i {
                if last[j] == i - 1 {
                    free.push(slot[j]);
                }
            }
        }
        slot[i] = free.pop().unwrap_or_else(|| {
            nslots += 1;
            nslots - 1
        });
    }
    (slot, nslots)
}

/// Buffer numbers in [`TileBufs`]: scratch, flat indices, the register buffers, four buffers
/// for registers converted to an instruction's operand dtype, the packed leaves
/// ([`MAX_LEAF_SRCS`]), then one for a converted result.
const SCRATCH: usize = 0;
const INDEX: usize = 1;
const REGS: usize = 2;
/// Leaf sources (leaf, dtype) kept per tile.
const MAX_LEAF_SRCS: usize = 32;

impl Program {
    fn cell(&self, cell: &Ready<'_>, bufs: &mut TileBufs) {
        let nd = cell.lo.len();
        let mut shape = [0usize; MAX_DIMS];
        for ((s, h), l) in shape.iter_mut().zip(cell.hi).zip(cell.lo) {
            *s = h - l;
        }
        let mut streams = [Stream::new(std::ptr::null_mut(), 0, &[]); MAX_STREAMS];
        for (a, s) in streams.iter_mut().enumerate().take(self.nargs) {
            *s = Stream::new(cell.ptr[a], self.leaf_dt[a].size(), cell.strides[a]);
        }
        let mut ns = self.nargs;
        let flat0: usize = cell.lo.iter().zip(&self.space_strides).map(|(l, s)| l * s).sum();
        if self.index {
            streams[ns] = index_stream(&self.space_strides);
            ns += 1;
        }
        walk(&shape[..nd], &mut streams[..ns], |t| {
            self.compute(t, ns, flat0, 0, true, bufs);
            self.store(t, bufs);
        });
    }

    /// Writes the outputs' registers of the tile to memory.
    fn store(&self, t: &TileAt<'_>, bufs: &mut TileBufs) {
        let total = t.total();
        for &(arg, i) in &self.outputs {
            if self.direct_at(t, i).is_some() {
                continue; // computed in place
            }
            let reg = bufs.get(REGS + self.slot[i], total * self.instrs[i].reg_dt.size());
            t.store(arg, reg, self.instrs[i].reg_dt, self.leaf_dt[arg]);
        }
    }

    /// Where instruction `i` computes straight into its output on tile `t`, if it does.
    fn direct_at(&self, t: &TileAt<'_>, i: usize) -> Option<*mut u8> {
        self.direct[i].filter(|&a| t.contiguous(a)).map(|a| t.at(a))
    }

    /// Runs the instructions over tile `t` (its streams: the engine arguments, then the index
    /// stream when the program generates values; `flat0` the flat index the index stream
    /// counts from); with `direct`, outputs that allow it are computed in place (see
    /// [`Program::direct`]). Returns the register of the last instruction.
    fn compute(
        &self,
        t: &TileAt<'_>,
        ns: usize,
        flat0: usize,
        b0: usize,
        direct: bool,
        bufs: &mut TileBufs,
    ) -> *mut u8 {
        let total = t.total();
        let nregs = self.nslots;
        let (scratch, index, regs) = (b0 + SCRATCH, b0 + INDEX, b0 + REGS);
        // Leaf sources, converted on demand and kept for the tile: (arg, dtype, source).
        let none = Src {
            ptr: std::ptr::null(),
            scalar: true,
        };
        let mut leaves = [(usize::MAX, DType::Bool, none); MAX_LEAF_SRCS];
        let mut nleaves = 0;
        let mut reg = std::ptr::null_mut();
        // Each instruction's register: a tile buffer, or the output's memory (direct).
        let mut at = [std::ptr::null_mut(); MAX_FUSED];
        for (i, ins) in self.instrs.iter().enumerate() {
            reg = match self.direct_at(t, i).filter(|_| direct) {
                Some(p) => p,
                None => bufs.get(regs + self.slot[i], total * ins.reg_dt.size()),
            };
            at[i] = reg;
            let mut srcs = [none; 4];
            for (c, (operand, want)) in ins.srcs.iter().enumerate() {
                let want = *want;
                srcs[c] = match *operand {
                    // The constant's bytes in the program (alive while the pass runs).
                    Operand::Const(ref bytes) => Src {
                        ptr: bytes.as_ptr().cast::<u8>(),
                        scalar: true,
                    },
                    Operand::Leaf(a) => match leaves[..nleaves].iter().find(|(x, d, _)| *x == a && *d == want) {
                        Some(&(_, _, s)) => s,
                        None => {
                            // Kept for the tile while there is room, else sourced for this use
                            // only (into the last slot's buffer, not kept).
                            let slot = nleaves.min(MAX_LEAF_SRCS - 1);
                            let s = t.source(a, self.leaf_dt[a], want, regs + nregs + 4 + slot, bufs);
                            if nleaves < MAX_LEAF_SRCS - 1 {
                                leaves[nleaves] = (a, want, s);
                                nleaves += 1;
                            }
                            s
                        }
                    },
                    Operand::Reg(j) => {
                        let have = self.instrs[j].reg_dt;
                        let p = at[j];
                        if have == want {
                            Src {
                                ptr: p.cast_const(),
                                scalar: false,
                            }
                        } else {
                            let b = bufs.get(regs + nregs + c, total * want.size());
                            // SAFETY: the register holds `total` values of `have`, the buffer
                            // room for `total` of `want`; distinct buffers.
                            unsafe { kernel::cast(have, want)(total, p, 1, b, 1) };
                            Src {
                                ptr: b.cast_const(),
                                scalar: false,
                            }
                        }
                    }
                };
            }
            match ins.work {
                Work::Kernel { f, res_dt } => {
                    let dst = if res_dt == ins.reg_dt {
                        reg
                    } else {
                        bufs.get(scratch, total * res_dt.size())
                    };
                    // SAFETY: every source holds `total` values of the kernel's dtype (or one),
                    // registers and buffers are distinct from `dst`, which holds `total`
                    // results.
                    unsafe { f(total, &srcs[..ins.srcs.len()], dst) };
                    if dst != reg {
                        // SAFETY: `total` values of res_dt into the register (distinct buffers).
                        unsafe { kernel::cast(res_dt, ins.reg_dt)(total, dst, 1, reg, 1) };
                    }
                }
                Work::Copy => {
                    let (s, from) = (srcs[0], ins.srcs[0].1);
                    // SAFETY: the source holds `total` values of `from` (or one), the register
                    // `total` of its dtype; distinct memory.
                    unsafe { kernel::cast(from, ins.reg_dt)(total, s.ptr, if s.scalar { 0 } else { 1 }, reg, 1) };
                }
                Work::Generate { f, params } => {
                    let idx = t.indices(ns - 1, flat0, bufs, index);
                    if ins.reg_dt == DType::F64 {
                        // SAFETY: the register (a buffer, or the output's contiguous memory)
                        // holds `total` f64.
                        unsafe { f(&params, total, idx, reg.cast()) };
                    } else {
                        let g = bufs.get(scratch, total * 8);
                        // SAFETY: the scratch buffer holds `total` f64; the register `total`
                        // values of its dtype.
                        unsafe {
                            f(&params, total, idx, g.cast());
                            kernel::cast(DType::F64, ins.reg_dt)(total, g, 1, reg, 1);
                        }
                    }
                }
            }
        }
        reg
    }
}

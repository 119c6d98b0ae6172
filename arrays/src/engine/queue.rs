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
use super::tile::{index_stream, walk, Stream, TileAt, MAX_DIMS, MAX_STREAMS};
use super::{Input, Ready, Run, TileBufs, Work};
use crate::array::{Base, DistArray};
use crate::dtype::DType;
use crate::engine::plan::Share;
use crate::error::{Error, Result};
use crate::kernel::{self, Src};
use distarr_runtime::Runtime;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::rc::Rc;

/// Operations kept before a flush is forced (also the size of the agreement at a flush).
pub(crate) const QUEUE_LIMIT: usize = 64;
/// Most operations fused into one pass.
const MAX_FUSED: usize = 24;

/// One recorded element-wise operation: `args[0]` is the output; inputs refer to `args` by
/// index, as in [`super::map`].
pub(crate) struct Deferred {
    pub args: Vec<DistArray>,
    pub inputs: Vec<Input>,
    pub work: Work,
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

/// Whether `op` may join the pass `group` (operations of `ops`).
fn can_join(ops: &[Deferred], group: &[usize], k: usize) -> bool {
    let op = &ops[k];
    if group.len() >= MAX_FUSED || op.out().shape() != ops[group[0]].out().shape() {
        return false;
    }
    // Every input written earlier in the pass must be read through the very view it was
    // written through (then it is a register), and every earlier read of the storage this
    // operation writes must be through the view it writes.
    for inp in &op.inputs {
        if let Input::Arg { arg, .. } = inp {
            let v = &op.args[*arg];
            let writer = group.iter().rev().find(|&&j| base_ptr(ops[j].out()) == base_ptr(v));
            if let Some(&j) = writer {
                if !same_view(ops[j].out(), v) {
                    return false;
                }
            }
        }
    }
    let out = op.out();
    for &j in group {
        let earlier = &ops[j];
        if base_ptr(earlier.out()) == base_ptr(out) && !same_view(earlier.out(), out) {
            return false;
        }
        for inp in &earlier.inputs {
            if let Input::Arg { arg, .. } = inp {
                let v = &earlier.args[*arg];
                if base_ptr(v) == base_ptr(out) && !same_view(v, out) {
                    return false;
                }
            }
        }
    }
    true
}

/// Runs the recorded operations. **Collective.**
pub(crate) fn execute(rt: &Runtime, ops: Vec<Deferred>) -> Result<()> {
    if ops.is_empty() {
        return Ok(());
    }
    // Which results are still referred to outside the queue: those must be written. A rank
    // could hold a reference the others do not, so the ranks agree — and check that they
    // recorded the same operations — in one small allreduce of fixed size: a flag per
    // operation, then a digest of the queue and its complement (a byte-wise maximum equal to
    // both on every rank means every rank has the same digest).
    let mut refs: HashMap<*const Base, usize> = HashMap::new();
    for op in &ops {
        for a in &op.args {
            *refs.entry(base_ptr(a)).or_default() += 1;
        }
    }
    let mut h = super::Fx::default();
    ops.len().hash(&mut h);
    for op in &ops {
        op.digest(&mut h);
    }
    let d = h.finish().to_le_bytes();
    let mut buf = [0u8; QUEUE_LIMIT + 16];
    for (b, op) in buf.iter_mut().zip(&ops) {
        *b = u8::from(Rc::strong_count(&op.out().base) > refs[&base_ptr(op.out())]);
    }
    buf[QUEUE_LIMIT..QUEUE_LIMIT + 8].copy_from_slice(&d);
    for (b, x) in buf[QUEUE_LIMIT + 8..].iter_mut().zip(d) {
        *b = !x;
    }
    rt.allreduce(&mut buf, distarr_runtime::ReduceOp::Max)?;
    let same = buf[QUEUE_LIMIT..QUEUE_LIMIT + 8] == d && buf[QUEUE_LIMIT + 8..].iter().zip(d).all(|(&b, x)| b == !x);
    if !same {
        return Err(Error::new(
            crate::error::ErrorKind::CollectiveMismatch,
            "ranks recorded different array operations since the last flush (shapes, dtypes or order differ)",
        ));
    }
    let live = &buf[..ops.len()];
    // Passes.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for k in 0..ops.len() {
        match groups.last_mut() {
            Some(g) if can_join(&ops, g, k) => g.push(k),
            _ => groups.push(vec![k]),
        }
    }
    for (gi, g) in groups.iter().enumerate() {
        // The last writer of each storage in the pass is materialised when the storage is live
        // or used after the pass.
        let later: Vec<&Deferred> = groups[gi + 1..].iter().flatten().map(|&k| &ops[k]).collect();
        let used_later = |b: *const Base| later.iter().any(|op| op.args.iter().any(|a| base_ptr(a) == b));
        let mut outputs: Vec<usize> = Vec::new();
        for (pos, &k) in g.iter().enumerate() {
            let b = base_ptr(ops[k].out());
            let last = !g[pos + 1..].iter().any(|&j| base_ptr(ops[j].out()) == b);
            if last && (live[k] != 0 || used_later(b)) {
                outputs.push(k);
            }
        }
        if outputs.is_empty() {
            continue; // nothing of this pass is ever seen
        }
        let anchor = ops[outputs[0]].out();
        let aligned = outputs.iter().all(|&k| {
            let o = ops[k].out();
            o.base.dist == anchor.base.dist && o.view == anchor.view
        });
        if g.len() == 1 || !aligned {
            for &k in g {
                run_one(&ops[k])?;
            }
        } else {
            run_pass(&ops, g, &outputs)?;
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
    instrs: Vec<Instr>,
    /// Engine arguments: outputs first (`(arg, instruction)`), then the leaves.
    outputs: Vec<(usize, usize)>,
    leaf_dt: Vec<DType>,
    nargs: usize,
    index: bool,
    space_strides: Vec<usize>,
    /// The tile buffer of each instruction's register (registers share buffers when their
    /// lifetimes do not overlap) and the number of register buffers.
    slot: Vec<usize>,
    nslots: usize,
}

/// Runs the operations `group` of `ops` as one pass, writing `outputs`.
fn run_pass(ops: &[Deferred], group: &[usize], outputs: &[usize]) -> Result<()> {
    let mut args: Vec<&DistArray> = Vec::new();
    for &k in outputs {
        ops[k].out().base.materialize()?;
        args.push(ops[k].out());
    }
    let writes: Vec<usize> = (0..outputs.len()).collect();
    let mut instrs: Vec<Instr> = Vec::with_capacity(group.len());
    let mut index = false;
    for (i, &k) in group.iter().enumerate() {
        let op = &ops[k];
        let mut srcs = Vec::with_capacity(op.inputs.len());
        for inp in &op.inputs {
            srcs.push(match inp {
                Input::Const { bytes, dt } => (Operand::Const(*bytes), *dt),
                Input::Arg { arg, kdt, .. } => {
                    let v = &op.args[*arg];
                    // A register when an earlier instruction of the pass wrote this view.
                    let reg = (0..i).rev().find(|&j| same_view(ops[group[j]].out(), v));
                    match reg {
                        Some(j) => (Operand::Reg(j), *kdt),
                        None => {
                            let at = match args[outputs.len()..].iter().position(|a| same_view(a, v)) {
                                Some(p) => outputs.len() + p,
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
        instrs.push(Instr {
            work: op.work,
            srcs,
            reg_dt: op.out().dtype(),
        });
    }
    if args.len() + usize::from(index) > MAX_STREAMS.min(super::MAX_ARGS) {
        // Too many operands for one pass: run the operations one by one.
        for &k in group {
            run_one(&ops[k])?;
        }
        return Ok(());
    }
    let out_pos: Vec<(usize, usize)> = outputs
        .iter()
        .enumerate()
        .map(|(a, &k)| (a, group.iter().position(|&g| g == k).unwrap_or(0)))
        .collect();
    let (slot, nslots) = registers(&instrs, &out_pos);
    let prog = Program {
        leaf_dt: args.iter().map(|a| a.dtype()).collect(),
        nargs: args.len(),
        instrs,
        outputs: out_pos,
        index,
        space_strides: crate::shape::c_strides(ops[group[0]].out().shape()),
        slot,
        nslots,
    };
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
    super::run_now(
        &r,
        None,
        || Error::internal("fused passes cannot fail"),
        &|cells, bufs| {
            for c in cells {
                prog.cell(c, bufs);
            }
        },
    )?;
    Ok(())
}

/// Register buffers for `instrs`: an instruction's register lives from its instruction to its
/// last reader (to the end for the pass's outputs); a buffer is reused once its register is
/// dead. Returns the buffer of each register and the number of buffers.
fn registers(instrs: &[Instr], outputs: &[(usize, usize)]) -> (Vec<usize>, usize) {
    let n = instrs.len();
    let mut last: Vec<usize> = (0..n).collect();
    for (i, ins) in instrs.iter().enumerate() {
        for &(o, _) in &ins.srcs {
            if let Operand::Reg(j) = o {
                last[j] = last[j].max(i);
            }
        }
    }
    for &(_, i) in outputs {
        last[i] = usize::MAX;
    }
    let mut slot = vec![0; n];
    let mut free: Vec<usize> = Vec::new();
    let mut nslots = 0;
    for i in 0..n {
        // Registers last read before this instruction are dead (a register read by this
        // instruction is not reused for its result: kernels do not take aliased operands).
        for j in 0..i {
            if last[j] + 1 == i {
                free.push(slot[j]);
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
/// for registers converted to an instruction's operand dtype, then packed leaves.
const SCRATCH: usize = 0;
const INDEX: usize = 1;
const REGS: usize = 2;

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
        walk(&shape[..nd], &mut streams[..ns], |t| self.tile(t, ns, flat0, bufs));
    }

    fn tile(&self, t: &TileAt<'_>, ns: usize, flat0: usize, bufs: &mut TileBufs) {
        let total = t.total();
        let nregs = self.nslots;
        // Leaf sources, converted on demand and kept for the tile: (arg, dtype) -> source.
        let mut leaves: Vec<(usize, DType, Src)> = Vec::new();
        for (i, ins) in self.instrs.iter().enumerate() {
            let reg = bufs.get(REGS + self.slot[i], total * ins.reg_dt.size());
            let mut srcs = [Src {
                ptr: std::ptr::null(),
                scalar: true,
            }; 4];
            for (c, (operand, want)) in ins.srcs.iter().enumerate() {
                let want = *want;
                srcs[c] = match *operand {
                    // The constant's bytes in the program (alive while the pass runs).
                    Operand::Const(ref bytes) => Src {
                        ptr: bytes.as_ptr().cast::<u8>(),
                        scalar: true,
                    },
                    Operand::Leaf(a) => match leaves.iter().find(|(x, d, _)| *x == a && *d == want) {
                        Some(&(_, _, s)) => s,
                        None => {
                            let b = REGS + nregs + 4 + leaves.len();
                            let s = t.source(a, self.leaf_dt[a], want, b, bufs);
                            leaves.push((a, want, s));
                            s
                        }
                    },
                    Operand::Reg(j) => {
                        let have = self.instrs[j].reg_dt;
                        let p = bufs.get(REGS + self.slot[j], total * have.size());
                        if have == want {
                            Src {
                                ptr: p.cast_const(),
                                scalar: false,
                            }
                        } else {
                            let b = bufs.get(REGS + nregs + c, total * want.size());
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
                        bufs.get(SCRATCH, total * res_dt.size())
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
                    let idx = t.indices(ns - 1, flat0, bufs, INDEX);
                    let g = bufs.get(SCRATCH, total * 8);
                    // SAFETY: the scratch buffer holds `total` f64; the register `total` values.
                    unsafe {
                        f(&params, total, idx, g.cast());
                        kernel::cast(DType::F64, ins.reg_dt)(total, g, 1, reg, 1);
                    }
                }
            }
        }
        for &(arg, i) in &self.outputs {
            let reg = bufs.get(REGS + self.slot[i], total * self.instrs[i].reg_dt.size());
            t.store(arg, reg, self.instrs[i].reg_dt, self.leaf_dt[arg]);
        }
    }
}

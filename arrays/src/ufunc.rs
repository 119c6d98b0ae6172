//! Element-wise operations (NumPy ufuncs) with broadcasting, type promotion and `out`.
//!
//! Type rules: see [`crate::kernel::ops`] (NumPy 1.24's, checked against NumPy by the
//! differential tests). Python scalars ([`Operand::Scalar`]) promote weakly (NEP 50, see
//! [`DType::promote_scalar`]), not with NumPy 1.24's value-based casting. Every operation runs
//! on the engine ([`crate::engine`]): owner computes, typed kernels over tiles.
#![allow(unsafe_code)]
use crate::array::DistArray;
use crate::dtype::{DType, Scalar};
use crate::engine::{self, Input, Ready, Work};
use crate::error::{Error, Result};
pub use crate::kernel::ops::{BinaryOp, UnaryOp};
use crate::kernel::{self, Src};
use smallvec::SmallVec;

/// NumPy's `same_kind` casting rule for writing results into an `out` array.
pub fn can_cast_same_kind(from: DType, to: DType) -> bool {
    fn kind(d: DType) -> u8 {
        match d {
            DType::Bool => 0,
            DType::U8 | DType::U32 | DType::U64 => 1,
            DType::I32 | DType::I64 => 2,
            DType::F32 | DType::F64 => 3,
            DType::C64 | DType::C128 => 4,
        }
    }
    kind(from) <= kind(to)
}

/// An operand of an element-wise operation: an array or a scalar.
#[derive(Clone, Debug)]
pub enum Operand<'a> {
    /// A distributed array (or view).
    Array(&'a DistArray),
    /// A scalar, with NumPy 1.24 value-based casting replaced by its dtype's rules.
    Scalar(Scalar),
}

impl Operand<'_> {
    fn dtype(&self) -> DType {
        match self {
            Operand::Array(a) => a.dtype(),
            Operand::Scalar(s) => s.dtype(),
        }
    }

    fn shape(&self) -> &[usize] {
        match self {
            Operand::Array(a) => a.shape(),
            Operand::Scalar(_) => &[],
        }
    }
}

/// Scalar operand dtype under NumPy's rules for Python scalars: a Python int/float/complex
/// scalar does not widen an array's dtype of the same or higher kind.
fn effective_dtype(this: &Operand<'_>, other: &Operand<'_>) -> DType {
    match (this, other) {
        (Operand::Scalar(s), Operand::Array(a)) => {
            let kind = match s {
                Scalar::Bool(_) => crate::dtype::ScalarKind::Bool,
                Scalar::F32(_) | Scalar::F64(_) => crate::dtype::ScalarKind::Float,
                Scalar::C64(_) | Scalar::C128(_) => crate::dtype::ScalarKind::Complex,
                _ => crate::dtype::ScalarKind::Int,
            };
            DType::promote_scalar(a.dtype(), kind)
        }
        _ => this.dtype(),
    }
}

/// Checks `out` for a result of broadcast shape `shape` and dtype `result`. As in NumPy, the
/// inputs are broadcast to `out`'s shape, which may have more or longer dimensions than
/// `shape`; `out` itself is never broadcast.
fn check_out(out: &DistArray, shape: &[usize], result: DType) -> Result<()> {
    let fits =
        shape == out.shape() || crate::shape::broadcast_shapes(&[shape, out.shape()]).is_ok_and(|s| s == out.shape());
    if !fits {
        return Err(Error::shape(format!(
            "non-broadcastable output operand with shape {:?} doesn't match the broadcast shape {shape:?}",
            out.shape()
        )));
    }
    if !can_cast_same_kind(result, out.dtype()) {
        return Err(Error::dtype(format!(
            "cannot cast ufunc output from {} to {} with casting rule 'same_kind'",
            result.name(),
            out.dtype().name()
        )));
    }
    Ok(())
}

/// An operation's engine arguments (the output first) and kernel sources.
type Sources<'a> = (SmallVec<[&'a DistArray; 4]>, SmallVec<[Input; 3]>);

/// The engine arguments and kernel sources of the operands for output `out`: `out` is
/// argument 0, arrays become arguments 1, 2, … (broadcast to `out`'s shape where their shape
/// differs: a new view, kept in `owned`), scalars become constants in the kernel dtype of their
/// position. Inline vectors: an operation allocates nothing here.
fn sources<'a>(
    out: &'a DistArray,
    ops: &[(&'a Operand<'a>, DType)],
    owned: &'a mut [Option<DistArray>; 3],
) -> Result<Sources<'a>> {
    let shape = out.shape();
    for (slot, (o, _)) in owned.iter_mut().zip(ops) {
        if let Operand::Array(a) = o {
            if a.shape() != shape {
                *slot = Some(a.broadcast_to(shape)?);
            }
        }
    }
    let mut args = SmallVec::new();
    args.push(out);
    let mut inputs = SmallVec::new();
    for ((o, kdt), slot) in ops.iter().zip(owned.iter()) {
        match o {
            Operand::Array(a) => {
                inputs.push(Input::Arg {
                    arg: args.len(),
                    dt: a.dtype(),
                    kdt: *kdt,
                });
                args.push(slot.as_ref().unwrap_or(*a));
            }
            Operand::Scalar(s) => inputs.push(Input::constant(*s, *kdt)),
        }
    }
    Ok((args, inputs))
}

/// The output: `out` checked against the broadcast shape and result dtype, or a new block array.
fn output(anchor: &DistArray, out: Option<&DistArray>, shape: &[usize], result: DType) -> Result<DistArray> {
    match out {
        Some(o) => {
            anchor.check_peer(o)?;
            check_out(o, shape, result)?;
            Ok(o.clone())
        }
        None => DistArray::unallocated(anchor.runtime(), shape, result, crate::dist::Layout::Block),
    }
}

/// The first array among the operands and `out` (every operation needs one).
fn anchor_of<'a>(ops: &[&Operand<'a>], out: Option<&'a DistArray>) -> Result<&'a DistArray> {
    if let Some(o) = out {
        return Ok(o);
    }
    ops.iter()
        .find_map(|o| match o {
            Operand::Array(a) => Some(*a),
            Operand::Scalar(_) => None,
        })
        .ok_or_else(|| Error::invalid("at least one operand must be an array"))
}

/// Whether any element of argument `arg` in the cell is negative (integer `power` check).
fn cell_has_negative(cell: &Ready<'_>, arg: usize, dt: DType) -> bool {
    let shape: Vec<usize> = cell.hi.iter().zip(cell.lo).map(|(h, l)| h - l).collect();
    let mut neg = false;
    let zeros = vec![0; shape.len()];
    crate::shape::for_each_index(&zeros, &shape, |idx| {
        let off: isize = idx.iter().zip(cell.strides[arg]).map(|(&i, &s)| i as isize * s).sum();
        // SAFETY: the element lies in the argument's block of the cell (engine invariant).
        let p = unsafe { cell.ptr[arg].offset(off * dt.size() as isize) };
        // SAFETY: one readable element of `dt`.
        neg |= unsafe { kernel::any_negative(dt, 1, Src { ptr: p, scalar: true }) };
    });
    neg
}

/// `out = op(x, y)` element-wise with broadcasting. Returns `out` (a new block array when
/// `out` is `None`). **Collective.**
pub fn binary(op: BinaryOp, x: Operand<'_>, y: Operand<'_>, out: Option<&DistArray>) -> Result<DistArray> {
    let anchor = anchor_of(&[&x, &y], out)?;
    anchor.check_live()?;
    for o in [&x, &y] {
        if let Operand::Array(a) = o {
            anchor.check_peer(a)?;
        }
    }
    let shape = crate::shape::broadcast_shapes(&[x.shape(), y.shape()])?;
    let (lt, res) = op.types(effective_dtype(&x, &y), effective_dtype(&y, &x))?;
    let negative = || Error::invalid(format!("{op:?}: integers to negative integer powers are not allowed"));
    if op.can_fail(lt) {
        if let Operand::Scalar(s) = &y {
            // The same scalar on every rank: refused everywhere without communication.
            if matches!(s.cast_to(DType::I64), Scalar::I64(v) if v < 0) {
                return Err(negative());
            }
        }
    }
    let out = output(anchor, out, &shape, res)?;
    let mut owned = [None, None, None];
    let (all, inputs) = sources(&out, &[(&x, lt), (&y, lt)], &mut owned)?;
    let work = Work::Kernel {
        f: kernel::binary(op, lt),
        res_dt: res,
    };
    let exp_arg = match inputs.get(1) {
        Some(Input::Arg { arg, dt, .. }) if op.can_fail(lt) => Some((*arg, *dt)),
        _ => None,
    };
    let check = |c: &Ready<'_>| exp_arg.map_or(true, |(a, dt)| !cell_has_negative(c, a, dt));
    let check: Option<&(dyn Fn(&Ready<'_>) -> bool + Sync)> = if exp_arg.is_some() { Some(&check) } else { None };
    engine::map(&all, &inputs, work, check, negative)?;
    drop(all); // (it borrows `out`)
    Ok(out)
}

/// `out = op(x)` element-wise. Returns `out` (a new block array when `None`). **Collective.**
pub fn unary(op: UnaryOp, x: &DistArray, out: Option<&DistArray>) -> Result<DistArray> {
    x.check_live()?;
    let (lt, res) = op.types(x.dtype())?;
    let out = output(x, out, x.shape(), res)?;
    let xo = Operand::Array(x);
    let mut owned = [None, None, None];
    let (all, inputs) = sources(&out, &[(&xo, lt)], &mut owned)?;
    let work = Work::Kernel {
        f: kernel::unary(op, lt),
        res_dt: res,
    };
    engine::map(&all, &inputs, work, None, || Error::internal("unary ops cannot fail"))?;
    drop(all); // (it borrows `out`)
    Ok(out)
}

/// `numpy.where(cond, x, y)`: element-wise `x` where `cond` is true, else `y`, with
/// broadcasting; the result dtype is `promote(x, y)` (scalars weakly, as in [`binary`]);
/// `cond` is converted to bool (non-zero is true). Returns `out` (a new block array when
/// `None`). **Collective.**
pub fn where_(cond: Operand<'_>, x: Operand<'_>, y: Operand<'_>, out: Option<&DistArray>) -> Result<DistArray> {
    let anchor = anchor_of(&[&cond, &x, &y], out)?;
    anchor.check_live()?;
    for o in [&cond, &x, &y] {
        if let Operand::Array(a) = o {
            anchor.check_peer(a)?;
        }
    }
    let shape = crate::shape::broadcast_shapes(&[cond.shape(), x.shape(), y.shape()])?;
    let res = match (&x, &y) {
        (Operand::Scalar(_), Operand::Scalar(_)) => DType::promote(x.dtype(), y.dtype()),
        _ => DType::promote(effective_dtype(&x, &y), effective_dtype(&y, &x)),
    };
    let out = output(anchor, out, &shape, res)?;
    let mut owned = [None, None, None];
    let (all, inputs) = sources(&out, &[(&cond, DType::Bool), (&x, res), (&y, res)], &mut owned)?;
    let work = Work::Kernel {
        f: kernel::select(res),
        res_dt: res,
    };
    engine::map(&all, &inputs, work, None, || Error::internal("where cannot fail"))?;
    drop(all); // (it borrows `out`)
    Ok(out)
}

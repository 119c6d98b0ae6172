//! The executor: what every rank does for a collective command ([`Cmd`]). In SPMD mode every
//! rank executes the commands its own calls make; in sequential mode rank 0 records a command
//! for the workers (`crate::batch`) and executes it, and the workers execute it when they
//! receive it. [`exec`] checks its arguments (handles, codes, shapes) before it changes or
//! communicates anything; with `dry = true` it only checks. The array ids a command creates are the
//! same on every rank because every rank inserts and removes table entries in the same order.
use crate::args::*;
use crate::codes::{DISTARR_AXIS_NONE, DISTARR_LAYOUT_DEFERRED};
use crate::state::{entry, free_array, insert_owner, insert_view, lookup};
use crate::status::*;
use crate::wire::{Cmd, SYNC_FIRST};
use distarr_arrays::linalg::{matmul_into, matmul_shape};
use distarr_arrays::manip;
use distarr_arrays::reduce::{reduce_all, reduce_axis_into};
use distarr_arrays::shape::resolve_shape;
use distarr_arrays::ufunc::{binary, unary, where_, BinaryOp, Operand};
use distarr_arrays::{DType, DistArray, Layout, Scalar};
use distarr_runtime::{Runtime, Seg};

/// Rank-local inputs and outputs of a command (never sent): the root's buffer of a scatter or
/// gather, and the scalar result of a full reduction.
#[derive(Default)]
pub(crate) struct Local<'a> {
    pub src: Option<&'a [u8]>,
    pub dst: Option<&'a mut [u8]>,
    pub scalar: Option<Vec<u8>>,
}

/// Executes a command as issued or received with its flags: first the synchronisation that
/// [`SYNC_FIRST`] asks for, then the command.
pub(crate) fn run(cmd: &Cmd, flags: u8, rt: &Runtime, local: &mut Local<'_>) -> CResult<i64> {
    if flags & SYNC_FIRST != 0 {
        rt.sync()?;
    }
    exec(cmd, rt, local, false)
}

/// Executes a command on this rank (every rank does, in the same order). With `dry`, only
/// validates (handles, codes, shapes) and changes nothing. Returns the id of a created array or
/// the new segment of `GmemAlloc`, else 0.
pub(crate) fn exec(cmd: &Cmd, rt: &Runtime, local: &mut Local<'_>, dry: bool) -> CResult<i64> {
    macro_rules! done {
        () => {
            if dry {
                return Ok(0);
            }
        };
    }
    match cmd {
        Cmd::Finalize => Err(CError::new(DISTARR_ERR_INTERNAL, "finalize is not executed by exec")),
        Cmd::GmemAlloc { bytes } => {
            done!();
            Ok(i64::from(rt.alloc(*bytes)?.raw()))
        }
        Cmd::GmemFree { seg } => {
            let seg = Seg::from_raw(*seg);
            rt.seg_len(seg)?;
            done!();
            rt.free(seg)?;
            Ok(0)
        }
        Cmd::Barrier => {
            done!();
            rt.barrier()?;
            Ok(0)
        }
        Cmd::Fence => {
            done!();
            rt.fence()?;
            Ok(0)
        }
        Cmd::Sync => {
            done!();
            rt.sync()?;
            Ok(0)
        }
        Cmd::FlushDeferred => {
            done!();
            distarr_arrays::flush(rt)?;
            Ok(0)
        }
        Cmd::SetLazy { on } => {
            done!();
            distarr_arrays::set_lazy(rt, *on)?;
            Ok(0)
        }
        Cmd::Create {
            shape,
            dtype,
            layout,
            block,
            rank,
        } => {
            let shape = usizes(shape, DISTARR_ERR_SHAPE, "extent")?;
            check_elems(&shape)?;
            let dt = dtype_arg(*dtype)?;
            let deferred = *layout & DISTARR_LAYOUT_DEFERRED != 0;
            let layout = layout_arg(
                *layout & !DISTARR_LAYOUT_DEFERRED,
                block,
                *rank,
                shape.len(),
                rt.nranks(),
            )?;
            done!();
            insert_owner(if deferred {
                DistArray::empty_deferred(rt, &shape, dt, layout)?
            } else {
                DistArray::zeros(rt, &shape, dt, layout)?
            })
        }
        Cmd::Arange {
            start,
            stop,
            step,
            dtype,
        } => {
            let dt = dtype_arg(*dtype)?;
            check!(
                *step != 0.0 && step.is_finite() && start.is_finite() && stop.is_finite(),
                DISTARR_ERR_ARG,
                "arange: start, stop, step must be finite and step non-zero (got {start}, {stop}, {step})"
            );
            done!();
            insert_owner(DistArray::arange(rt, *start, *stop, *step, dt, Layout::Block)?)
        }
        Cmd::Linspace {
            start,
            stop,
            num,
            endpoint,
            dtype,
        } => {
            let dt = dtype_arg(*dtype)?;
            check!(
                start.is_finite() && stop.is_finite(),
                DISTARR_ERR_ARG,
                "linspace: start and stop must be finite (got {start}, {stop})"
            );
            let num = usizes(&[*num], DISTARR_ERR_SHAPE, "num")?[0];
            done!();
            insert_owner(DistArray::linspace(
                rt,
                *start,
                *stop,
                num,
                *endpoint,
                dt,
                Layout::Block,
            )?)
        }
        Cmd::Eye { n, m, k, dtype } => {
            let dt = dtype_arg(*dtype)?;
            let nm = usizes(&[*n, *m], DISTARR_ERR_SHAPE, "extent")?;
            check_elems(&nm)?;
            let k = isize::try_from(*k).map_err(|_| CError::new(DISTARR_ERR_ARG, "eye: diagonal offset too large"))?;
            done!();
            insert_owner(DistArray::eye(rt, nm[0], nm[1], k, dt, Layout::Block)?)
        }
        Cmd::Load { path } => {
            done!();
            insert_owner(distarr_arrays::io::load_npy(rt, path_of(path), Layout::Block)?)
        }
        Cmd::Free { a } => {
            entry(*a)?;
            done!();
            free_array(*a)?;
            Ok(0)
        }
        Cmd::Fill { a, value } => {
            let a = lookup(*a)?;
            let v = Scalar::from_le_bytes(a.dtype(), value)?;
            done!();
            a.fill(v)?;
            Ok(0)
        }
        Cmd::Random { a, seed, normal } => {
            let a = lookup(*a)?;
            done!();
            // Values keyed by (seed, C-order index of a's shape): the same for any rank count
            // and layout, generated in place by each element's owner.
            a.fill_random(*seed, *normal)?;
            Ok(0)
        }
        Cmd::Index {
            a,
            kind,
            start,
            stop,
            step,
        } => {
            let (arr, storage) = live_entry(*a)?;
            let v = arr.slice(&index_items(kind, start, stop, step)?)?;
            done!();
            insert_view(v, storage)
        }
        Cmd::Permute { a, axes } => {
            let (arr, storage) = live_entry(*a)?;
            let nd = arr.ndim();
            check!(
                axes.len() == nd,
                DISTARR_ERR_ARG,
                "permute: {} axes for an array of {nd} dimensions",
                axes.len()
            );
            let axes = axes
                .iter()
                .map(|&x| axis_index(x, nd))
                .collect::<CResult<Vec<usize>>>()?;
            let v = arr.transpose(Some(&axes))?;
            done!();
            insert_view(v, storage)
        }
        Cmd::Reshape { a, shape } => {
            let (arr, storage) = live_entry(*a)?;
            let shape = shape
                .iter()
                .map(|&x| {
                    isize::try_from(x).map_err(|_| CError::new(DISTARR_ERR_SHAPE, format!("extent {x} too large")))
                })
                .collect::<CResult<Vec<isize>>>()?;
            let shape = resolve_shape(arr.len(), &shape)?;
            done!();
            let r = arr.reshape(&shape)?;
            if r.shares_storage(&arr) {
                insert_view(r, storage)
            } else {
                insert_owner(r)
            }
        }
        Cmd::BroadcastTo { a, shape } => {
            let (arr, storage) = live_entry(*a)?;
            let v = arr.broadcast_to(&usizes(shape, DISTARR_ERR_SHAPE, "extent")?)?;
            done!();
            insert_view(v, storage)
        }
        Cmd::Astype { a, dtype } => {
            let arr = lookup(*a)?;
            let dt = dtype_arg(*dtype)?;
            done!();
            insert_owner(arr.astype(dt)?)
        }
        Cmd::Unary { op, out, x } => {
            let u = unary_op(*op)?;
            let (o, xa) = (lookup(*out)?, lookup(*x)?);
            check!(
                o.shape() == xa.shape(),
                DISTARR_ERR_SHAPE,
                "unary: out has shape {:?}, x has shape {:?}",
                o.shape(),
                xa.shape()
            );
            match u {
                Unary::Op(op) => {
                    let (_, res) = op.types(xa.dtype())?;
                    check_out(&o, xa.shape(), res, "unary")?;
                    done!();
                    unary(op, &xa, Some(&o))?;
                }
                Unary::Reciprocal => {
                    check!(
                        xa.dtype().is_float() || xa.dtype().is_complex(),
                        DISTARR_ERR_UNSUPPORTED,
                        "reciprocal of {} arrays is not supported (floating-point and complex only)",
                        xa.dtype().name()
                    );
                    check_out(&o, xa.shape(), xa.dtype(), "reciprocal")?;
                    done!();
                    let one = Operand::Scalar(Scalar::one(xa.dtype()));
                    binary(BinaryOp::Divide, one, Operand::Array(&xa), Some(&o))?;
                }
            }
            Ok(0)
        }
        Cmd::Binary { op, out, x, y } => {
            let op = binary_op(*op)?;
            let (o, xa, ya) = (lookup(*out)?, lookup(*x)?, lookup(*y)?);
            done!();
            binary(op, Operand::Array(&xa), Operand::Array(&ya), Some(&o))?;
            Ok(0)
        }
        Cmd::BinaryScalar {
            op,
            out,
            x,
            scalar,
            sdtype,
            first,
        } => {
            let op = binary_op(*op)?;
            let (o, xa) = (lookup(*out)?, lookup(*x)?);
            let s = Scalar::from_le_bytes(dtype_arg(*sdtype)?, scalar)?;
            done!();
            let (l, r) = with_scalar(&xa, s, *first);
            binary(op, l, r, Some(&o))?;
            Ok(0)
        }
        Cmd::Where { out, cond, x, y } => {
            let (o, c, xa, ya) = (lookup(*out)?, lookup(*cond)?, lookup(*x)?, lookup(*y)?);
            done!();
            where_(Operand::Array(&c), Operand::Array(&xa), Operand::Array(&ya), Some(&o))?;
            Ok(0)
        }
        Cmd::WhereScalar {
            out,
            cond,
            x,
            scalar,
            sdtype,
            first,
        } => {
            let (o, c, xa) = (lookup(*out)?, lookup(*cond)?, lookup(*x)?);
            let s = Scalar::from_le_bytes(dtype_arg(*sdtype)?, scalar)?;
            done!();
            let (l, r) = with_scalar(&xa, s, *first);
            where_(Operand::Array(&c), l, r, Some(&o))?;
            Ok(0)
        }
        Cmd::Reduce { op, x, axis, out } => {
            let rop = reduce_code(*op)?;
            let xa = lookup(*x)?;
            let (_, res) = rop.types(xa.dtype())?;
            if *axis == -1 || *axis == DISTARR_AXIS_NONE {
                done!();
                let s = reduce_all(&xa, rop)?;
                local.scalar = Some(s.cast_to(res).to_le_bytes());
                return Ok(0);
            }
            let nd = xa.ndim();
            let ax = usize::try_from(*axis).ok().filter(|&a| a < nd).ok_or_else(|| {
                CError::new(
                    DISTARR_ERR_ARG,
                    format!("axis {axis} out of range for a {nd}-d array (-1 or DISTARR_AXIS_NONE: all elements)"),
                )
            })?;
            let o = lookup(*out)?;
            let mut shape = xa.shape().to_vec();
            shape.remove(ax);
            check_out(&o, &shape, res, "reduce")?;
            done!();
            reduce_axis_into(&xa, rop, ax, &o)?;
            Ok(0)
        }
        Cmd::Matmul { out, a, b } => {
            let (o, aa, ba) = (lookup(*out)?, lookup(*a)?, lookup(*b)?);
            let shape = matmul_shape(aa.shape(), ba.shape())?;
            check_out(&o, &shape, DType::promote(aa.dtype(), ba.dtype()), "matmul")?;
            done!();
            matmul_into(&aa, &ba, &o)?;
            Ok(0)
        }
        Cmd::Copy { dst, src } => {
            let (d, s) = (lookup(*dst)?, lookup(*src)?);
            done!();
            d.copy_from(&s)?;
            Ok(0)
        }
        Cmd::MaskSelect { a, mask } => {
            let (arr, m) = (lookup(*a)?, lookup(*mask)?);
            manip::check_mask(&arr, &m)?;
            done!();
            insert_owner(manip::mask_select(&arr, &m)?)
        }
        Cmd::MaskAssign { a, mask, values } => {
            let (arr, m, v) = (lookup(*a)?, lookup(*mask)?, lookup(*values)?);
            manip::check_mask_assign(&arr, &m, &v)?;
            done!();
            manip::mask_assign(&arr, &m, &v)?;
            Ok(0)
        }
        Cmd::Roll { out, a, shift, axis } => {
            let (o, arr) = (lookup(*out)?, lookup(*a)?);
            let ax = axis_arg(*axis, arr.ndim())?;
            manip::check_roll(&arr, ax, &o)?;
            done!();
            manip::roll_into(&arr, *shift, ax, &o)?;
            Ok(0)
        }
        Cmd::Concatenate { arrays, axis } => {
            check!(
                !arrays.is_empty(),
                DISTARR_ERR_ARG,
                "concatenate: need at least one array"
            );
            let arrs = arrays.iter().map(|&id| lookup(id)).collect::<CResult<Vec<_>>>()?;
            let ax = match arrs[0].ndim() {
                // concatenate_shape reports 0-d arrays along an axis as NumPy does
                0 if *axis != DISTARR_AXIS_NONE => Some(0),
                nd => axis_arg(*axis, nd)?,
            };
            let refs: Vec<&DistArray> = arrs.iter().map(|a| &**a).collect();
            let shapes: Vec<&[usize]> = arrs.iter().map(|a| a.shape()).collect();
            manip::concatenate_shape(&shapes, ax)?;
            done!();
            insert_owner(manip::concatenate(&refs, ax)?)
        }
        Cmd::Gather { a, root } => {
            let arr = lookup(*a)?;
            let root = root_arg(*root, rt.nranks())?;
            done!();
            agree_buffer(rt, root, local.dst.is_some(), "buf")?;
            if let Some(bytes) = arr.gather_bytes(root)? {
                if let Some(dst) = local.dst.as_deref_mut() {
                    dst.copy_from_slice(&bytes);
                }
            }
            Ok(0)
        }
        Cmd::Scatter { a, root } => {
            let arr = lookup(*a)?;
            let root = root_arg(*root, rt.nranks())?;
            done!();
            agree_buffer(rt, root, local.src.is_some(), "buf")?;
            rt.sync()?;
            let written = match local.src.filter(|_| rt.rank() == root) {
                Some(src) => {
                    let lo = vec![0; arr.ndim()];
                    arr.put_region_bytes(&lo, arr.shape(), src)
                }
                None => Ok(()),
            };
            rt.sync()?;
            written?;
            Ok(0)
        }
        Cmd::Save { a, path } => {
            let arr = lookup(*a)?;
            done!();
            distarr_arrays::io::save_npy(&arr, path_of(path))?;
            Ok(0)
        }
    }
}

/// The entry of a live array (for the commands that make a view of it).
fn live_entry(id: i64) -> CResult<(std::rc::Rc<DistArray>, crate::state::Storage)> {
    lookup(id)?;
    entry(id)
}

/// Checks that an array of `shape` has a countable number of elements.
fn check_elems(shape: &[usize]) -> CResult<()> {
    check!(
        shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).is_some(),
        DISTARR_ERR_SHAPE,
        "an array of shape {shape:?} has too many elements"
    );
    Ok(())
}

/// The operands `(x, s)`, or `(s, x)` when the scalar comes first.
fn with_scalar(x: &DistArray, s: Scalar, scalar_first: bool) -> (Operand<'_>, Operand<'_>) {
    if scalar_first {
        (Operand::Scalar(s), Operand::Array(x))
    } else {
        (Operand::Array(x), Operand::Scalar(s))
    }
}

/// Makes the root's "my buffer is NULL" collective (one broadcast), so every rank returns
/// `DISTARR_ERR_NULL` instead of waiting for the root.
fn agree_buffer(rt: &Runtime, root: usize, have: bool, name: &str) -> CResult<()> {
    let mut ok = [u8::from(rt.rank() != root || have)];
    rt.broadcast(&mut ok, root)?;
    check!(
        ok[0] != 0,
        DISTARR_ERR_NULL,
        "argument `{name}` is NULL on the root rank {root}"
    );
    Ok(())
}

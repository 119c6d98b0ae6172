//! The exported array functions (`distarr_array` handles), their sequential-mode commands and
//! the code that every rank executes for them.
//!
//! Every collective array call is an [`ArrCmd`]. In SPMD mode each rank calls [`exec`] with
//! it. In sequential mode rank 0 first validates it (`exec` with `dry = true`: handle lookups,
//! codes, shapes; nothing is communicated or changed), broadcasts it, and then every rank runs
//! it: the array ids a command creates are the same on every rank because every rank inserts
//! and removes table entries in the same order. One-sided and local calls (regions, `locate`,
//! `local_block`, metadata) do not go through commands.
#![allow(non_camel_case_types)]

use crate::codes::*;
use crate::pgas::{distarr_array, in_bytes, in_elems, nonnull_if, out_bytes, rank_arg};
use crate::state::{state, ArrayEntry, ARRAYS, ARRAY_SEQ};
use crate::status::*;
use distarr_arrays::linalg::{matmul, Product};
use distarr_arrays::reduce::{reduce_all, reduce_axis, ReduceOp};
use distarr_arrays::ufunc::{binary, can_cast_same_kind, unary, BinaryOp, Operand, UnaryOp};
use distarr_arrays::{AccOp, DType, DistArray, Layout, Scalar, SliceItem};
use distarr_runtime::Runtime;
use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::rc::Rc;

/// Most dimensions an array may have (NumPy's limit is 64; distarr's C ABI takes 32).
const MAX_NDIM: i32 = 32;

// --- commands -----------------------------------------------------------------------------------

/// A collective array call, as rank 0 sends it in sequential mode. Array ids are the
/// `distarr_array` values (the same on every rank).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ArrCmd {
    Create {
        shape: Vec<u64>,
        dtype: i32,
        layout: i32,
        block: Vec<u64>,
        rank: i32,
    },
    Arange {
        start: f64,
        stop: f64,
        step: f64,
        dtype: i32,
    },
    Load {
        path: Vec<u8>,
    },
    Free {
        a: i64,
    },
    Fill {
        a: i64,
        value: Vec<u8>,
    },
    Random {
        a: i64,
        seed: u64,
        normal: bool,
    },
    View {
        a: i64,
        start: Vec<i64>,
        stop: Vec<i64>,
        step: Vec<i64>,
    },
    Transpose {
        a: i64,
    },
    Unary {
        op: i32,
        out: i64,
        x: i64,
    },
    Binary {
        op: i32,
        out: i64,
        x: i64,
        y: i64,
    },
    BinaryScalar {
        op: i32,
        out: i64,
        x: i64,
        scalar: Vec<u8>,
        sdtype: i32,
        first: bool,
    },
    Reduce {
        op: i32,
        x: i64,
        axis: i32,
        out: i64,
    },
    Matmul {
        out: i64,
        a: i64,
        b: i64,
    },
    Copy {
        dst: i64,
        src: i64,
    },
    Gather {
        a: i64,
        root: i32,
    },
    Scatter {
        a: i64,
        root: i32,
    },
    Save {
        a: i64,
        path: Vec<u8>,
    },
}

/// Encoder of command words (little-endian `u64`s after the opcode).
struct Words(Vec<u8>);

impl Words {
    fn new(op: u32) -> Words {
        let mut v = Vec::with_capacity(64);
        v.extend_from_slice(&op.to_le_bytes());
        v.extend_from_slice(&[0; 4]);
        Words(v)
    }
    fn u(mut self, x: u64) -> Words {
        self.0.extend_from_slice(&x.to_le_bytes());
        self
    }
    fn i(self, x: i64) -> Words {
        self.u(x as u64)
    }
    fn i32(self, x: i32) -> Words {
        self.i(i64::from(x))
    }
    fn f(self, x: f64) -> Words {
        self.u(x.to_bits())
    }
    fn us(self, v: &[u64]) -> Words {
        v.iter().fold(self.u(v.len() as u64), |w, &x| w.u(x))
    }
    fn is(self, v: &[i64]) -> Words {
        v.iter().fold(self.u(v.len() as u64), |w, &x| w.i(x))
    }
    fn bytes(mut self, b: &[u8]) -> Words {
        self = self.u(b.len() as u64);
        self.0.extend_from_slice(b);
        // Pad to a whole word.
        self.0.resize(self.0.len().next_multiple_of(8), 0);
        self
    }
}

/// Decoder of command words.
struct Reader<'a> {
    msg: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn bad(&self) -> CError {
        CError::new(DISTARR_ERR_INTERNAL, "malformed array command")
    }
    fn u(&mut self) -> CResult<u64> {
        let b = self.msg.get(self.at..self.at + 8).ok_or_else(|| self.bad())?;
        self.at += 8;
        Ok(u64::from_le_bytes(b.try_into().map_err(|_| self.bad())?))
    }
    fn i(&mut self) -> CResult<i64> {
        Ok(self.u()? as i64)
    }
    fn i32(&mut self) -> CResult<i32> {
        i32::try_from(self.i()?).map_err(|_| self.bad())
    }
    fn f(&mut self) -> CResult<f64> {
        Ok(f64::from_bits(self.u()?))
    }
    fn len(&mut self) -> CResult<usize> {
        let n = usize::try_from(self.u()?).map_err(|_| self.bad())?;
        check!(
            n <= self.msg.len(),
            DISTARR_ERR_INTERNAL,
            "malformed array command (length {n})"
        );
        Ok(n)
    }
    fn us(&mut self) -> CResult<Vec<u64>> {
        let n = self.len()?;
        (0..n).map(|_| self.u()).collect()
    }
    fn is(&mut self) -> CResult<Vec<i64>> {
        let n = self.len()?;
        (0..n).map(|_| self.i()).collect()
    }
    fn bytes(&mut self) -> CResult<Vec<u8>> {
        let n = self.len()?;
        let b = self.msg.get(self.at..self.at + n).ok_or_else(|| self.bad())?.to_vec();
        self.at += n.next_multiple_of(8);
        Ok(b)
    }
}

impl ArrCmd {
    /// Opcodes of array commands start here (below are the PGAS commands of `state::Cmd`).
    pub const FIRST_OPCODE: u32 = 100;

    pub fn encode(&self) -> Vec<u8> {
        let op = |k: u32| Words::new(ArrCmd::FIRST_OPCODE + k);
        let w = match self {
            ArrCmd::Create {
                shape,
                dtype,
                layout,
                block,
                rank,
            } => op(0).us(shape).i32(*dtype).i32(*layout).us(block).i32(*rank),
            ArrCmd::Arange {
                start,
                stop,
                step,
                dtype,
            } => op(1).f(*start).f(*stop).f(*step).i32(*dtype),
            ArrCmd::Load { path } => op(2).bytes(path),
            ArrCmd::Free { a } => op(3).i(*a),
            ArrCmd::Fill { a, value } => op(4).i(*a).bytes(value),
            ArrCmd::Random { a, seed, normal } => op(5).i(*a).u(*seed).u(u64::from(*normal)),
            ArrCmd::View { a, start, stop, step } => op(6).i(*a).is(start).is(stop).is(step),
            ArrCmd::Transpose { a } => op(7).i(*a),
            ArrCmd::Unary { op: o, out, x } => op(8).i32(*o).i(*out).i(*x),
            ArrCmd::Binary { op: o, out, x, y } => op(9).i32(*o).i(*out).i(*x).i(*y),
            ArrCmd::BinaryScalar {
                op: o,
                out,
                x,
                scalar,
                sdtype,
                first,
            } => op(10)
                .i32(*o)
                .i(*out)
                .i(*x)
                .bytes(scalar)
                .i32(*sdtype)
                .u(u64::from(*first)),
            ArrCmd::Reduce { op: o, x, axis, out } => op(11).i32(*o).i(*x).i32(*axis).i(*out),
            ArrCmd::Matmul { out, a, b } => op(12).i(*out).i(*a).i(*b),
            ArrCmd::Copy { dst, src } => op(13).i(*dst).i(*src),
            ArrCmd::Gather { a, root } => op(14).i(*a).i32(*root),
            ArrCmd::Scatter { a, root } => op(15).i(*a).i32(*root),
            ArrCmd::Save { a, path } => op(16).i(*a).bytes(path),
        };
        w.0
    }

    pub fn decode(msg: &[u8]) -> CResult<ArrCmd> {
        let mut r = Reader { msg, at: 8 };
        let op = u32::from_le_bytes(msg.get(..4).ok_or_else(|| r.bad())?.try_into().map_err(|_| r.bad())?);
        let c = match op.checked_sub(ArrCmd::FIRST_OPCODE).ok_or_else(|| r.bad())? {
            0 => ArrCmd::Create {
                shape: r.us()?,
                dtype: r.i32()?,
                layout: r.i32()?,
                block: r.us()?,
                rank: r.i32()?,
            },
            1 => ArrCmd::Arange {
                start: r.f()?,
                stop: r.f()?,
                step: r.f()?,
                dtype: r.i32()?,
            },
            2 => ArrCmd::Load { path: r.bytes()? },
            3 => ArrCmd::Free { a: r.i()? },
            4 => ArrCmd::Fill {
                a: r.i()?,
                value: r.bytes()?,
            },
            5 => ArrCmd::Random {
                a: r.i()?,
                seed: r.u()?,
                normal: r.u()? != 0,
            },
            6 => ArrCmd::View {
                a: r.i()?,
                start: r.is()?,
                stop: r.is()?,
                step: r.is()?,
            },
            7 => ArrCmd::Transpose { a: r.i()? },
            8 => ArrCmd::Unary {
                op: r.i32()?,
                out: r.i()?,
                x: r.i()?,
            },
            9 => ArrCmd::Binary {
                op: r.i32()?,
                out: r.i()?,
                x: r.i()?,
                y: r.i()?,
            },
            10 => ArrCmd::BinaryScalar {
                op: r.i32()?,
                out: r.i()?,
                x: r.i()?,
                scalar: r.bytes()?,
                sdtype: r.i32()?,
                first: r.u()? != 0,
            },
            11 => ArrCmd::Reduce {
                op: r.i32()?,
                x: r.i()?,
                axis: r.i32()?,
                out: r.i()?,
            },
            12 => ArrCmd::Matmul {
                out: r.i()?,
                a: r.i()?,
                b: r.i()?,
            },
            13 => ArrCmd::Copy {
                dst: r.i()?,
                src: r.i()?,
            },
            14 => ArrCmd::Gather {
                a: r.i()?,
                root: r.i32()?,
            },
            15 => ArrCmd::Scatter {
                a: r.i()?,
                root: r.i32()?,
            },
            16 => ArrCmd::Save {
                a: r.i()?,
                path: r.bytes()?,
            },
            _ => return Err(r.bad()),
        };
        check!(
            r.at == msg.len(),
            DISTARR_ERR_INTERNAL,
            "malformed array command (trailing bytes)"
        );
        Ok(c)
    }
}

/// Rank-local inputs and outputs of a command (never sent): the root's buffer of a scatter or
/// gather, and the scalar result of a full reduction.
#[derive(Default)]
pub(crate) struct Local<'a> {
    src: Option<&'a [u8]>,
    dst: Option<&'a mut [u8]>,
    scalar: Option<Vec<u8>>,
}

// --- the handle table -------------------------------------------------------------------------------

/// The entry's array and its storage flag; `DISTARR_ERR_HANDLE` for a bad id.
fn entry(id: i64) -> CResult<(DistArray, Rc<Cell<bool>>)> {
    ARRAYS.with(|t| {
        let t = t.borrow();
        let e = t.get(id)?;
        Ok((e.arr.clone(), e.alive.clone()))
    })
}

/// The live array behind an id: `DISTARR_ERR_HANDLE` for a freed, forged or other-kind id, or
/// a view whose storage was freed with the array it views.
fn lookup(id: i64) -> CResult<DistArray> {
    let (a, alive) = entry(id)?;
    check!(
        alive.get(),
        DISTARR_ERR_HANDLE,
        "distarr_array {id:#x} is a view of an array that was freed"
    );
    Ok(a)
}

fn insert(arr: DistArray, owner: bool, alive: Rc<Cell<bool>>) -> CResult<i64> {
    let seq = ARRAY_SEQ.with(|s| {
        let v = s.get();
        s.set(v + 1);
        v
    });
    ARRAYS.with(|t| t.borrow_mut().insert(ArrayEntry { arr, owner, alive, seq }))
}

fn insert_owner(arr: DistArray) -> CResult<i64> {
    insert(arr, true, Rc::new(Cell::new(true)))
}

// --- codes --------------------------------------------------------------------------------------

fn dtype_arg(code: i32) -> CResult<DType> {
    DType::from_code(code).map_err(|_| CError::new(DISTARR_ERR_DTYPE, format!("unknown dtype code {code}")))
}

fn binary_op(code: i32) -> CResult<BinaryOp> {
    use BinaryOp::*;
    Ok(match code {
        DISTARR_UFUNC_ADD => Add,
        DISTARR_UFUNC_SUBTRACT => Subtract,
        DISTARR_UFUNC_MULTIPLY => Multiply,
        DISTARR_UFUNC_DIVIDE => Divide,
        DISTARR_UFUNC_FLOOR_DIVIDE => FloorDivide,
        DISTARR_UFUNC_REMAINDER => Remainder,
        DISTARR_UFUNC_POWER => Power,
        DISTARR_UFUNC_MAXIMUM => Maximum,
        DISTARR_UFUNC_MINIMUM => Minimum,
        DISTARR_UFUNC_EQUAL => Equal,
        DISTARR_UFUNC_NOT_EQUAL => NotEqual,
        DISTARR_UFUNC_LESS => Less,
        DISTARR_UFUNC_LESS_EQUAL => LessEqual,
        DISTARR_UFUNC_GREATER => Greater,
        DISTARR_UFUNC_GREATER_EQUAL => GreaterEqual,
        DISTARR_UFUNC_LOGICAL_AND => LogicalAnd,
        DISTARR_UFUNC_LOGICAL_OR => LogicalOr,
        DISTARR_UFUNC_LOGICAL_XOR => LogicalXor,
        DISTARR_UFUNC_BITWISE_AND => BitwiseAnd,
        DISTARR_UFUNC_BITWISE_OR => BitwiseOr,
        DISTARR_UFUNC_BITWISE_XOR => BitwiseXor,
        DISTARR_UFUNC_ARCTAN2 => Arctan2,
        DISTARR_UFUNC_HYPOT => Hypot,
        _ => {
            return Err(CError::new(
                DISTARR_ERR_OP,
                format!("{code} is not a binary DISTARR_UFUNC_* code"),
            ))
        }
    })
}

/// A unary ufunc: one of the array layer's, or `reciprocal` (computed as `1 / x`).
#[derive(Clone, Copy)]
enum Unary {
    Op(UnaryOp),
    Reciprocal,
}

fn unary_op(code: i32) -> CResult<Unary> {
    use UnaryOp::*;
    Ok(Unary::Op(match code {
        DISTARR_UFUNC_NEGATIVE => Negative,
        DISTARR_UFUNC_ABSOLUTE => Absolute,
        DISTARR_UFUNC_SQRT => Sqrt,
        DISTARR_UFUNC_EXP => Exp,
        DISTARR_UFUNC_LOG => Log,
        DISTARR_UFUNC_SIN => Sin,
        DISTARR_UFUNC_COS => Cos,
        DISTARR_UFUNC_TAN => Tan,
        DISTARR_UFUNC_FLOOR => Floor,
        DISTARR_UFUNC_CEIL => Ceil,
        DISTARR_UFUNC_LOGICAL_NOT => LogicalNot,
        DISTARR_UFUNC_INVERT => Invert,
        DISTARR_UFUNC_SQUARE => Square,
        DISTARR_UFUNC_SIGN => Sign,
        DISTARR_UFUNC_LOG10 => Log10,
        DISTARR_UFUNC_LOG2 => Log2,
        DISTARR_UFUNC_TANH => Tanh,
        DISTARR_UFUNC_ARCSIN => Arcsin,
        DISTARR_UFUNC_ARCCOS => Arccos,
        DISTARR_UFUNC_ARCTAN => Arctan,
        DISTARR_UFUNC_ISNAN => Isnan,
        DISTARR_UFUNC_ISINF => Isinf,
        DISTARR_UFUNC_ISFINITE => Isfinite,
        DISTARR_UFUNC_POSITIVE => Positive,
        DISTARR_UFUNC_EXPM1 => Expm1,
        DISTARR_UFUNC_LOG1P => Log1p,
        DISTARR_UFUNC_SINH => Sinh,
        DISTARR_UFUNC_COSH => Cosh,
        DISTARR_UFUNC_TRUNC => Trunc,
        DISTARR_UFUNC_RINT => Rint,
        DISTARR_UFUNC_RECIPROCAL => return Ok(Unary::Reciprocal),
        _ => {
            return Err(CError::new(
                DISTARR_ERR_OP,
                format!("{code} is not a unary DISTARR_UFUNC_* code"),
            ))
        }
    }))
}

fn reduce_code(code: i32) -> CResult<ReduceOp> {
    use ReduceOp::*;
    Ok(match code {
        DISTARR_REDUCE_SUM => Sum,
        DISTARR_REDUCE_PROD => Prod,
        DISTARR_REDUCE_MIN => Min,
        DISTARR_REDUCE_MAX => Max,
        DISTARR_REDUCE_MEAN => Mean,
        DISTARR_REDUCE_ARGMIN => Argmin,
        DISTARR_REDUCE_ARGMAX => Argmax,
        DISTARR_REDUCE_ANY => Any,
        DISTARR_REDUCE_ALL => All,
        _ => {
            return Err(CError::new(
                DISTARR_ERR_OP,
                format!("{code} is not a DISTARR_REDUCE_* code"),
            ))
        }
    })
}

fn layout_arg(layout: i32, block: &[u64], rank: i32, ndim: usize, nranks: usize) -> CResult<Layout> {
    Ok(match layout {
        DISTARR_LAYOUT_BLOCK => Layout::Block,
        DISTARR_LAYOUT_BLOCK_CYCLIC => {
            check!(
                block.len() == ndim,
                DISTARR_ERR_ARG,
                "block-cyclic layout needs {ndim} block extents, got {}",
                block.len()
            );
            check!(
                block.iter().all(|&b| b >= 1),
                DISTARR_ERR_ARG,
                "block extents must be >= 1, got {block:?}"
            );
            let block = block
                .iter()
                .map(|&b| usize::try_from(b).map_err(|_| CError::new(DISTARR_ERR_ARG, "block extent too large")))
                .collect::<CResult<Vec<usize>>>()?;
            Layout::BlockCyclic { block }
        }
        DISTARR_LAYOUT_REPLICATED => Layout::Replicated,
        DISTARR_LAYOUT_ON_RANK => {
            let r = rank_arg(rank)?;
            check!(r < nranks, DISTARR_ERR_RANK, "rank {r} out of range 0..{nranks}");
            Layout::OnRank(r)
        }
        _ => return Err(CError::new(DISTARR_ERR_ARG, format!("unknown layout code {layout}"))),
    })
}

fn usizes(v: &[u64], code: i32, what: &str) -> CResult<Vec<usize>> {
    v.iter()
        .map(|&x| usize::try_from(x).map_err(|_| CError::new(code, format!("{what} {x} too large"))))
        .collect()
}

fn path_of(bytes: &[u8]) -> &Path {
    Path::new(std::ffi::OsStr::from_bytes(bytes))
}

/// The shape of `matmul(a, b)` (1-D and 2-D operands).
fn matmul_shape(a: &[usize], b: &[usize]) -> CResult<Vec<usize>> {
    let bad = || {
        CError::new(
            DISTARR_ERR_SHAPE,
            format!("matmul: shapes {a:?} and {b:?} not aligned (1-D and 2-D operands)"),
        )
    };
    match (a, b) {
        ([k], [k2]) if k == k2 => Ok(vec![]),
        ([n, k], [k2, m]) if k == k2 => Ok(vec![*n, *m]),
        ([n, k], [k2]) if k == k2 => Ok(vec![*n]),
        ([k], [k2, m]) if k == k2 => Ok(vec![*m]),
        _ => Err(bad()),
    }
}

fn check_out(out: &DistArray, shape: &[usize], result: DType, what: &str) -> CResult<()> {
    check!(
        out.shape() == shape,
        DISTARR_ERR_SHAPE,
        "{what}: out has shape {:?}, the result has shape {shape:?}",
        out.shape()
    );
    check!(
        can_cast_same_kind(result, out.dtype()),
        DISTARR_ERR_DTYPE,
        "{what}: cannot cast the result ({}) to out's dtype {} (same_kind)",
        result.name(),
        out.dtype().name()
    );
    Ok(())
}

// --- execution ------------------------------------------------------------------------------------

/// Executes an array command on this rank (every rank does, in the same order). With `dry`, only
/// validates (handles, codes, shapes) and changes nothing. Returns the id of a created array,
/// else 0.
pub(crate) fn exec(cmd: &ArrCmd, rt: &Runtime, local: &mut Local<'_>, dry: bool) -> CResult<i64> {
    macro_rules! done {
        () => {
            if dry {
                return Ok(0);
            }
        };
    }
    match cmd {
        ArrCmd::Create {
            shape,
            dtype,
            layout,
            block,
            rank,
        } => {
            let shape = usizes(shape, DISTARR_ERR_SHAPE, "extent")?;
            check!(
                shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).is_some(),
                DISTARR_ERR_SHAPE,
                "an array of shape {shape:?} has too many elements"
            );
            let dt = dtype_arg(*dtype)?;
            let layout = layout_arg(*layout, block, *rank, shape.len(), rt.nranks())?;
            done!();
            insert_owner(DistArray::zeros(rt, &shape, dt, layout)?)
        }
        ArrCmd::Arange {
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
        ArrCmd::Load { path } => {
            done!();
            insert_owner(distarr_arrays::io::load_npy(rt, path_of(path), Layout::Block)?)
        }
        ArrCmd::Free { a } => {
            entry(*a)?;
            done!();
            let e = ARRAYS.with(|t| t.borrow_mut().remove(*a))?;
            if e.owner && e.alive.get() {
                e.alive.set(false);
                e.arr.free()?;
            }
            Ok(0)
        }
        ArrCmd::Fill { a, value } => {
            let a = lookup(*a)?;
            let v = Scalar::from_le_bytes(a.dtype(), value)?;
            done!();
            a.fill(v)?;
            Ok(0)
        }
        ArrCmd::Random { a, seed, normal } => {
            let a = lookup(*a)?;
            done!();
            // Values keyed by (seed, C-order index of a's shape): the same for any rank count
            // and layout. Generated into a temporary, copied (cast) into `a`.
            let tmp = if *normal {
                DistArray::random_normal(rt, a.shape(), *seed, a.dtype(), Layout::Block)?
            } else {
                DistArray::random_uniform(rt, a.shape(), *seed, a.dtype(), Layout::Block)?
            };
            a.copy_from(&tmp)?;
            tmp.free()?;
            Ok(0)
        }
        ArrCmd::View { a, start, stop, step } => {
            let (arr, alive) = entry(*a)?;
            lookup(*a)?;
            let n = step.len();
            check!(
                n <= arr.ndim() && start.len() == n && stop.len() == n,
                DISTARR_ERR_ARG,
                "view: {n} slices for an array of {} dimensions",
                arr.ndim()
            );
            check!(step.iter().all(|&s| s != 0), DISTARR_ERR_ARG, "view: a slice step is 0");
            let bound = |v: i64| -> CResult<Option<isize>> {
                if v == DISTARR_SLICE_NONE {
                    return Ok(None);
                }
                isize::try_from(v)
                    .map(Some)
                    .map_err(|_| CError::new(DISTARR_ERR_ARG, "slice bound too large"))
            };
            let items = (0..n)
                .map(|d| {
                    Ok(SliceItem::Range {
                        start: bound(start[d])?,
                        stop: bound(stop[d])?,
                        step: isize::try_from(step[d])
                            .map_err(|_| CError::new(DISTARR_ERR_ARG, "slice step too large"))?,
                    })
                })
                .collect::<CResult<Vec<_>>>()?;
            let v = arr.slice(&items)?;
            done!();
            insert(v, false, alive)
        }
        ArrCmd::Transpose { a } => {
            let (arr, alive) = entry(*a)?;
            lookup(*a)?;
            let v = arr.transpose(None)?;
            done!();
            insert(v, false, alive)
        }
        ArrCmd::Unary { op, out, x } => {
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
        ArrCmd::Binary { op, out, x, y } => {
            let op = binary_op(*op)?;
            let (o, xa, ya) = (lookup(*out)?, lookup(*x)?, lookup(*y)?);
            done!();
            binary(op, Operand::Array(&xa), Operand::Array(&ya), Some(&o))?;
            Ok(0)
        }
        ArrCmd::BinaryScalar {
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
            let (l, r) = if *first {
                (Operand::Scalar(s), Operand::Array(&xa))
            } else {
                (Operand::Array(&xa), Operand::Scalar(s))
            };
            binary(op, l, r, Some(&o))?;
            Ok(0)
        }
        ArrCmd::Reduce { op, x, axis, out } => {
            let rop = reduce_code(*op)?;
            let xa = lookup(*x)?;
            let (_, res) = rop.types(xa.dtype())?;
            if *axis == -1 {
                done!();
                let s = reduce_all(&xa, rop)?;
                local.scalar = Some(s.cast_to(res).to_le_bytes());
                return Ok(0);
            }
            let nd = xa.ndim();
            let ax = usize::try_from(*axis).ok().filter(|&a| a < nd).ok_or_else(|| {
                CError::new(
                    DISTARR_ERR_ARG,
                    format!("axis {axis} out of range for a {nd}-d array (-1: all elements)"),
                )
            })?;
            let o = lookup(*out)?;
            let mut shape = xa.shape().to_vec();
            shape.remove(ax);
            check_out(&o, &shape, res, "reduce")?;
            done!();
            let r = reduce_axis(&xa, rop, ax)?;
            o.copy_from(&r)?;
            r.free()?;
            Ok(0)
        }
        ArrCmd::Matmul { out, a, b } => {
            let (o, aa, ba) = (lookup(*out)?, lookup(*a)?, lookup(*b)?);
            let shape = matmul_shape(aa.shape(), ba.shape())?;
            check_out(&o, &shape, DType::promote(aa.dtype(), ba.dtype()), "matmul")?;
            done!();
            match matmul(&aa, &ba)? {
                Product::Scalar(s) => o.fill(s)?,
                Product::Array(r) => {
                    o.copy_from(&r)?;
                    r.free()?;
                }
            }
            Ok(0)
        }
        ArrCmd::Copy { dst, src } => {
            let (d, s) = (lookup(*dst)?, lookup(*src)?);
            done!();
            d.copy_from(&s)?;
            Ok(0)
        }
        ArrCmd::Gather { a, root } => {
            let arr = lookup(*a)?;
            let root = root_arg(*root, rt)?;
            done!();
            agree_buffer(rt, root, local.dst.is_some(), "buf")?;
            if let Some(bytes) = arr.gather_bytes(root)? {
                if let Some(dst) = local.dst.as_deref_mut() {
                    dst.copy_from_slice(&bytes);
                }
            }
            Ok(0)
        }
        ArrCmd::Scatter { a, root } => {
            let arr = lookup(*a)?;
            let root = root_arg(*root, rt)?;
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
        ArrCmd::Save { a, path } => {
            let arr = lookup(*a)?;
            done!();
            distarr_arrays::io::save_npy(&arr, path_of(path))?;
            Ok(0)
        }
    }
}

fn root_arg(root: i32, rt: &Runtime) -> CResult<usize> {
    let r = rank_arg(root)?;
    check!(
        r < rt.nranks(),
        DISTARR_ERR_RANK,
        "root {r} out of range 0..{}",
        rt.nranks()
    );
    Ok(r)
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

/// Runs a collective array command: in SPMD mode on this rank; in sequential mode rank 0
/// validates it, sends it to the workers and runs it.
fn collective(cmd: ArrCmd, local: &mut Local<'_>) -> CResult<i64> {
    let st = state()?;
    if st.leads() {
        exec(&cmd, &st.rt, local, true)?;
        st.rt.seq_send(&cmd.encode())?;
    }
    exec(&cmd, &st.rt, local, false)
}

/// Runs a command that creates an array or view on every rank and writes its handle to `out`.
///
/// # Safety
/// `out` must be non-null and valid for writing (the exported functions check the first and
/// take the second from their contract).
unsafe fn create_into(cmd: ArrCmd, out: *mut distarr_array) -> CResult<()> {
    let id = collective(cmd, &mut Local::default())?;
    // SAFETY: non-null and writable, by this function's contract.
    unsafe { out.write(id) };
    Ok(())
}

/// In sequential mode the program runs on rank 0 only: a root buffer elsewhere is unreachable.
fn seq_root(root: i32) -> CResult<()> {
    let st = state()?;
    check!(
        st.mode == Mode::Spmd || root == 0,
        DISTARR_ERR_RANK,
        "in sequential mode the root must be 0 (the rank running the program), got {root}"
    );
    Ok(())
}

// --- argument helpers ----------------------------------------------------------------------------

/// `n` `int64_t`s from C (`n` from a dimension count).
///
/// # Safety
/// When `n > 0`, `p` is NULL or valid for reads of `n` `int64_t`s.
unsafe fn i64s(p: *const i64, n: usize, name: &str) -> CResult<Vec<i64>> {
    // SAFETY: the contract.
    Ok(unsafe { in_elems::<i64>(p.cast(), n, name)? }.into_owned())
}

/// A dimension count argument.
fn ndim_arg(ndim: i32) -> CResult<usize> {
    check!(
        (0..=MAX_NDIM).contains(&ndim),
        DISTARR_ERR_ARG,
        "ndim {ndim} outside 0..={MAX_NDIM}"
    );
    Ok(ndim as usize)
}

/// Non-negative `int64_t`s as `u64` (negative → `code`).
fn nonneg(v: &[i64], code: i32, what: &str) -> CResult<Vec<u64>> {
    v.iter()
        .map(|&x| u64::try_from(x).map_err(|_| CError::new(code, format!("negative {what} {x} in {v:?}"))))
        .collect()
}

/// An index or box bound of `a` (`ndim` entries, each non-negative) as `usize`.
///
/// # Safety
/// `p` is NULL or valid for reads of `ndim` `int64_t`s.
unsafe fn index_arg(p: *const i64, ndim: usize, name: &str) -> CResult<Vec<usize>> {
    // SAFETY: the contract.
    let v = unsafe { i64s(p, ndim, name)? };
    v.iter()
        .map(|&x| usize::try_from(x).map_err(|_| CError::new(DISTARR_ERR_BOUNDS, format!("negative {name} {v:?}"))))
        .collect()
}

fn box_elems(lo: &[usize], hi: &[usize], a: &DistArray) -> CResult<usize> {
    // Validated by the array layer too; checked here so the buffer size is computed safely.
    let nd = a.ndim();
    for d in 0..nd {
        check!(
            lo[d] <= hi[d] && hi[d] <= a.shape()[d],
            DISTARR_ERR_BOUNDS,
            "region [{lo:?}, {hi:?}) outside shape {:?}",
            a.shape()
        );
    }
    let n: usize = lo.iter().zip(hi).map(|(l, h)| h - l).product();
    n.checked_mul(a.dtype().size())
        .ok_or_else(|| CError::new(DISTARR_ERR_BOUNDS, "region too large"))
}

/// Writes `v` to `n` `int64_t`s at `p`.
///
/// # Safety
/// `p` is valid for writes of `v.len()` `int64_t`s (any alignment).
unsafe fn write_i64s(p: *mut i64, v: &[usize]) -> CResult<()> {
    for (k, &x) in v.iter().enumerate() {
        let x = i64::try_from(x).map_err(|_| CError::new(DISTARR_ERR_BOUNDS, "extent exceeds int64_t"))?;
        // SAFETY: `k < v.len()`, within the writable span (contract).
        unsafe { p.add(k).write_unaligned(x) };
    }
    Ok(())
}

// --- creation and freeing ------------------------------------------------------------------------

/// Creates a zero-filled array of `ndim` dimensions with extents `shape[0..ndim]` and dtype
/// `dtype`; `*out` receives its handle (the same id on every rank). `block == NULL`: block layout
/// (one box per rank on a balanced process grid); else block-cyclic with block extents
/// `block[0..ndim]` (each >= 1). **Collective**, same arguments on every rank. The caller owns
/// the array until `distarr_free` (or `distarr_finalize`, which frees every array).
/// Errors: `DISTARR_ERR_ARG` (ndim outside 0..=32, block extent < 1), `DISTARR_ERR_SHAPE`
/// (negative extent, size overflow), `DISTARR_ERR_DTYPE`, `DISTARR_ERR_NULL`,
/// `DISTARR_ERR_NOMEM` (the heap cannot hold it).
///
/// # Safety
/// `shape` (and `block` unless NULL) are valid for reads of `ndim` `int64_t`s; `out` is valid for
/// writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_create(
    ndim: i32,
    shape: *const i64,
    dtype: i32,
    block: *const i64,
    out: *mut distarr_array,
) -> c_int {
    // SAFETY: forwarded with the same contract.
    unsafe {
        if block.is_null() {
            distarr_create_layout(ndim, shape, dtype, DISTARR_LAYOUT_BLOCK, block, 0, out)
        } else {
            distarr_create_layout(ndim, shape, dtype, DISTARR_LAYOUT_BLOCK_CYCLIC, block, 0, out)
        }
    }
}

/// `distarr_create` with an explicit layout: `DISTARR_LAYOUT_BLOCK`, `_BLOCK_CYCLIC` (block
/// extents in `block`, non-NULL), `_REPLICATED` (every rank holds a copy; `distarr_put_region`
/// writes every copy, collective operations keep them equal), `_ON_RANK` (rank `rank` holds it
/// all). `block` is ignored (may be NULL) except for block-cyclic, `rank` except for on-rank.
/// **Collective.** Errors as `distarr_create`, plus `DISTARR_ERR_ARG` (unknown layout) and
/// `DISTARR_ERR_RANK`.
///
/// # Safety
/// As `distarr_create`.
#[no_mangle]
pub unsafe extern "C" fn distarr_create_layout(
    ndim: i32,
    shape: *const i64,
    dtype: i32,
    layout: i32,
    block: *const i64,
    rank: i32,
    out: *mut distarr_array,
) -> c_int {
    boundary!("distarr_create", {
        state()?;
        nonnull!(out);
        let nd = ndim_arg(ndim)?;
        // SAFETY: `shape` is readable for `ndim` elements (contract).
        let shape = nonneg(&unsafe { i64s(shape, nd, "shape")? }, DISTARR_ERR_SHAPE, "extent")?;
        let block = if layout == DISTARR_LAYOUT_BLOCK_CYCLIC {
            nonnull_if(block, 1, "block")?;
            // SAFETY: `block` is readable for `ndim` elements (contract).
            nonneg(&unsafe { i64s(block, nd, "block")? }, DISTARR_ERR_ARG, "block extent")?
        } else {
            Vec::new()
        };
        // SAFETY: `out` was checked non-null and is writable (contract).
        unsafe {
            create_into(
                ArrCmd::Create {
                    shape,
                    dtype,
                    layout,
                    block,
                    rank,
                },
                out,
            )
        }
    })
}

/// Creates the 1-D array `numpy.arange(start, stop, step)` of dtype `dtype` (values computed as
/// `start + i * step` in double precision, then cast), block layout; `*out` receives it.
/// Length `max(0, ceil((stop - start) / step))`. **Collective.** Errors: `DISTARR_ERR_ARG`
/// (step 0, non-finite values), `DISTARR_ERR_DTYPE`, `DISTARR_ERR_NULL`, `DISTARR_ERR_NOMEM`.
/// Ownership as `distarr_create`.
///
/// # Safety
/// `out` is valid for writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_arange(
    start: f64,
    stop: f64,
    step: f64,
    dtype: i32,
    out: *mut distarr_array,
) -> c_int {
    boundary!("distarr_arange", {
        state()?;
        nonnull!(out);
        // SAFETY: `out` was checked non-null and is writable (contract).
        unsafe {
            create_into(
                ArrCmd::Arange {
                    start,
                    stop,
                    step,
                    dtype,
                },
                out,
            )
        }
    })
}

/// Frees an array (its storage) or a view (the handle only). **Collective**: every rank frees
/// the same handles in the same order. The id is stale afterwards (`DISTARR_ERR_HANDLE`); the
/// views of a freed array stay valid handles until freed, but every use of them returns
/// `DISTARR_ERR_HANDLE`. Errors: `DISTARR_ERR_HANDLE` (freed, forged, 0).
#[no_mangle]
pub extern "C" fn distarr_free(a: distarr_array) -> c_int {
    boundary!("distarr_free", {
        collective(ArrCmd::Free { a }, &mut Local::default())?;
        Ok(())
    })
}

// --- metadata (local) ------------------------------------------------------------------------------

/// `*ndim` = number of dimensions of an array or view. Local.
///
/// # Safety
/// `ndim` is NULL (→ `DISTARR_ERR_NULL`) or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_ndim(a: distarr_array, ndim: *mut i32) -> c_int {
    boundary!("distarr_ndim", {
        state()?;
        let a = lookup(a)?;
        nonnull!(ndim);
        // SAFETY: non-null and writable (contract); ndim <= 64 fits.
        unsafe { ndim.write(a.ndim() as i32) };
        Ok(())
    })
}

/// Writes the extents of an array or view to `shape[0..ndim]` (get `ndim` from
/// `distarr_ndim`; nothing is written for a 0-d array, and `shape` may then be NULL). Local.
///
/// # Safety
/// `shape` is valid for writes of `ndim` `int64_t`s.
#[no_mangle]
pub unsafe extern "C" fn distarr_shape(a: distarr_array, shape: *mut i64) -> c_int {
    boundary!("distarr_shape", {
        state()?;
        let a = lookup(a)?;
        nonnull_if(shape, a.ndim(), "shape")?;
        // SAFETY: writable for ndim elements (contract).
        unsafe { write_i64s(shape, a.shape()) }
    })
}

/// `*size` = number of elements (the product of the extents). Local.
///
/// # Safety
/// `size` is NULL (→ `DISTARR_ERR_NULL`) or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_size(a: distarr_array, size: *mut i64) -> c_int {
    boundary!("distarr_size", {
        state()?;
        let a = lookup(a)?;
        nonnull!(size);
        // SAFETY: writable for one element (contract).
        unsafe { write_i64s(size, &[a.len()]) }
    })
}

/// `*dtype` = the element type (`DISTARR_DTYPE_*`). Local.
///
/// # Safety
/// `dtype` is NULL (→ `DISTARR_ERR_NULL`) or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_dtype(a: distarr_array, dtype: *mut i32) -> c_int {
    boundary!("distarr_dtype", {
        state()?;
        let a = lookup(a)?;
        nonnull!(dtype);
        // SAFETY: non-null and writable (contract).
        unsafe { dtype.write(a.dtype().code()) };
        Ok(())
    })
}

/// `*seg` = the global-memory segment holding the array's elements: each rank's part holds its
/// local block in C order, addressed by the byte offsets of `distarr_locate` (use with
/// `distarr_get`/`distarr_put`). Owned by the array: never `distarr_gmem_free` it. Local.
///
/// # Safety
/// `seg` is NULL (→ `DISTARR_ERR_NULL`) or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_segment(a: distarr_array, seg: *mut u32) -> c_int {
    boundary!("distarr_segment", {
        state()?;
        let a = lookup(a)?;
        nonnull!(seg);
        // SAFETY: non-null and writable (contract).
        unsafe { seg.write(a.segment().raw()) };
        Ok(())
    })
}

// --- whole-array operations (collective) ------------------------------------------------------------

/// Sets every element of an array or view to `*value`, one element of the array's dtype.
/// **Collective.** Errors: `DISTARR_ERR_HANDLE`, `DISTARR_ERR_NULL`.
///
/// # Safety
/// `value` is valid for reads of one element of the array's dtype (any alignment).
#[no_mangle]
pub unsafe extern "C" fn distarr_fill(a: distarr_array, value: *const c_void) -> c_int {
    boundary!("distarr_fill", {
        state()?;
        let arr = lookup(a)?;
        nonnull!(value);
        // SAFETY: readable for one element of the dtype (contract).
        let value = unsafe { in_bytes(value, arr.dtype().size(), "value")? }.to_vec();
        collective(ArrCmd::Fill { a, value }, &mut Local::default())?;
        Ok(())
    })
}

/// Fills an array or view with uniform random numbers in [0, 1), keyed by `(seed, C-order
/// index)`: the same values for any number of ranks and any layout (cast to the dtype: integer
/// arrays get 0). **Collective.**
#[no_mangle]
pub extern "C" fn distarr_random(a: distarr_array, seed: u64) -> c_int {
    boundary!("distarr_random", {
        collective(ArrCmd::Random { a, seed, normal: false }, &mut Local::default())?;
        Ok(())
    })
}

/// As `distarr_random` with standard normal numbers. **Collective.**
#[no_mangle]
pub extern "C" fn distarr_random_normal(a: distarr_array, seed: u64) -> c_int {
    boundary!("distarr_random_normal", {
        collective(ArrCmd::Random { a, seed, normal: true }, &mut Local::default())?;
        Ok(())
    })
}

/// `dst[...] = src`: copies element-wise with NumPy casting (any dtypes) and broadcasting of
/// `src` to `dst`'s shape; any layouts and views, overlapping too. **Collective.** Errors:
/// `DISTARR_ERR_HANDLE`, `DISTARR_ERR_SHAPE` (not broadcastable).
#[no_mangle]
pub extern "C" fn distarr_copy(dst: distarr_array, src: distarr_array) -> c_int {
    boundary!("distarr_copy", {
        collective(ArrCmd::Copy { dst, src }, &mut Local::default())?;
        Ok(())
    })
}

/// A view of `a` with NumPy basic slicing `a[start[0]:stop[0]:step[0], ...]` over the first `n`
/// dimensions (the others are kept whole); `*out` receives a new handle. Negative bounds count
/// from the end, out-of-range bounds are clipped (Python semantics); `DISTARR_SLICE_NONE`
/// (`INT64_MIN`) is an omitted bound. `start`/`stop` NULL: all omitted; `step` NULL: all 1.
/// The view shares `a`'s storage (no data moves): writes through it change `a`. **Collective**
/// (no communication, but the handle must get the same id on every rank). The view handle is
/// freed with `distarr_free` (which leaves `a` alone); freeing `a` makes every use of the view
/// return `DISTARR_ERR_HANDLE`. Errors: `DISTARR_ERR_ARG` (n outside 0..=ndim, step 0),
/// `DISTARR_ERR_HANDLE`, `DISTARR_ERR_NULL` (`out`).
///
/// # Safety
/// Non-NULL `start`, `stop`, `step` are valid for reads of `n` `int64_t`s; `out` is valid for
/// writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_view(
    a: distarr_array,
    n: i32,
    start: *const i64,
    stop: *const i64,
    step: *const i64,
    out: *mut distarr_array,
) -> c_int {
    boundary!("distarr_view", {
        state()?;
        nonnull!(out);
        let n = ndim_arg(n)?;
        let read = |p: *const i64, dflt: i64, name: &str| -> CResult<Vec<i64>> {
            if p.is_null() {
                Ok(vec![dflt; n])
            } else {
                // SAFETY: non-null pointers are readable for `n` elements (contract).
                unsafe { i64s(p, n, name) }
            }
        };
        let cmd = ArrCmd::View {
            a,
            start: read(start, DISTARR_SLICE_NONE, "start")?,
            stop: read(stop, DISTARR_SLICE_NONE, "stop")?,
            step: read(step, 1, "step")?,
        };
        // SAFETY: `out` was checked non-null and is writable (contract).
        unsafe { create_into(cmd, out) }
    })
}

/// A view of `a` with the axes reversed (`a.T`); otherwise as `distarr_view`. **Collective**.
///
/// # Safety
/// `out` is valid for writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_transpose(a: distarr_array, out: *mut distarr_array) -> c_int {
    boundary!("distarr_transpose", {
        state()?;
        nonnull!(out);
        // SAFETY: `out` was checked non-null and is writable (contract).
        unsafe { create_into(ArrCmd::Transpose { a }, out) }
    })
}

/// `out = op(x)` element-wise (`op` a unary `DISTARR_UFUNC_*` code). `out` must exist with
/// `x`'s shape and a dtype the result can be cast to under NumPy's `same_kind` rule; it may be
/// `x` itself. Result dtypes follow NumPy (e.g. `sqrt` of an int array is float64).
/// **Collective.** Errors: `DISTARR_ERR_OP` (not a unary code), `DISTARR_ERR_HANDLE`,
/// `DISTARR_ERR_SHAPE`, `DISTARR_ERR_DTYPE` (op undefined for the dtype, or out's dtype),
/// `DISTARR_ERR_UNSUPPORTED` (reciprocal of an integer array).
#[no_mangle]
pub extern "C" fn distarr_unary(op: i32, out: distarr_array, x: distarr_array) -> c_int {
    boundary!("distarr_unary", {
        collective(ArrCmd::Unary { op, out, x }, &mut Local::default())?;
        Ok(())
    })
}

/// `out = op(x, y)` element-wise with NumPy broadcasting and type promotion (`op` a binary
/// `DISTARR_UFUNC_*` code). `out` must exist with the broadcast shape and a dtype the result
/// can be cast to (`same_kind`); it may be `x` or `y`. **Collective.** Errors:
/// `DISTARR_ERR_OP`, `DISTARR_ERR_HANDLE`, `DISTARR_ERR_SHAPE`, `DISTARR_ERR_DTYPE`,
/// `DISTARR_ERR_ARG` (an element-wise failure such as an integer to a negative power, reported on
/// every rank; nothing is written then).
#[no_mangle]
pub extern "C" fn distarr_binary(op: i32, out: distarr_array, x: distarr_array, y: distarr_array) -> c_int {
    boundary!("distarr_binary", {
        collective(ArrCmd::Binary { op, out, x, y }, &mut Local::default())?;
        Ok(())
    })
}

/// `out = op(x, s)` (or `op(s, x)` when `scalar_first` is non-zero) with the scalar `s`, one
/// element of `scalar_dtype` at `scalar`. Promotion follows NumPy's rule for Python scalars: a
/// scalar does not widen an array of the same or a higher kind (`f32_array * 2.0` stays
/// float32). `out` as in `distarr_binary`. **Collective.** Errors as `distarr_binary`, plus
/// `DISTARR_ERR_DTYPE` (unknown `scalar_dtype`) and `DISTARR_ERR_NULL`.
///
/// # Safety
/// `scalar` is valid for reads of one element of `scalar_dtype` (any alignment).
#[no_mangle]
pub unsafe extern "C" fn distarr_binary_scalar(
    op: i32,
    out: distarr_array,
    x: distarr_array,
    scalar: *const c_void,
    scalar_dtype: i32,
    scalar_first: i32,
) -> c_int {
    boundary!("distarr_binary_scalar", {
        state()?;
        nonnull!(scalar);
        let sdt = dtype_arg(scalar_dtype)?;
        // SAFETY: readable for one element of `scalar_dtype` (contract).
        let bytes = unsafe { in_bytes(scalar, sdt.size(), "scalar")? }.to_vec();
        let cmd = ArrCmd::BinaryScalar {
            op,
            out,
            x,
            scalar: bytes,
            sdtype: scalar_dtype,
            first: scalar_first != 0,
        };
        collective(cmd, &mut Local::default())?;
        Ok(())
    })
}

/// `*result_dtype` = the dtype of reduction `op` (`DISTARR_REDUCE_*`) of an array of `dtype`,
/// as NumPy: the dtype `distarr_reduce` writes to `scalar_out`. Local; callable before init.
///
/// # Safety
/// `result_dtype` is NULL (→ `DISTARR_ERR_NULL`) or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_reduce_dtype(op: i32, dtype: i32, result_dtype: *mut i32) -> c_int {
    boundary!("distarr_reduce_dtype", {
        nonnull!(result_dtype);
        let (_, res) = reduce_code(op)?.types(dtype_arg(dtype)?)?;
        // SAFETY: non-null and writable (contract).
        unsafe { result_dtype.write(res.code()) };
        Ok(())
    })
}

/// Reduces `x` with `op` (`DISTARR_REDUCE_*`; SUM, PROD, MIN, MAX equal `DISTARR_OP_*`).
/// `axis == -1`: over all elements; `*scalar_out` receives one element of the result dtype
/// (`distarr_reduce_dtype`: e.g. SUM of int32 is int64, MEAN of ints is double, ARGMIN/ARGMAX are
/// int64 C-order indices) on every rank (rank 0 in sequential mode); `out` is ignored (pass 0).
/// `axis >= 0`: along that axis into `out`, which must exist with `x`'s shape without `axis` and
/// a dtype the result casts to (`same_kind`); `scalar_out` is ignored (may be NULL).
/// **Collective.** Errors: `DISTARR_ERR_OP`, `DISTARR_ERR_HANDLE`, `DISTARR_ERR_ARG` (axis out
/// of range; MIN/MAX/ARGMIN/ARGMAX of an empty array), `DISTARR_ERR_SHAPE`, `DISTARR_ERR_DTYPE`
/// (complex MIN/MAX; out's dtype), `DISTARR_ERR_NULL` (`scalar_out` with `axis == -1`).
///
/// # Safety
/// With `axis == -1`, `scalar_out` is valid for writing one element of the result dtype.
#[no_mangle]
pub unsafe extern "C" fn distarr_reduce(
    op: i32,
    x: distarr_array,
    axis: i32,
    out: distarr_array,
    scalar_out: *mut c_void,
) -> c_int {
    boundary!("distarr_reduce", {
        state()?;
        if axis == -1 {
            nonnull!(scalar_out);
        }
        let mut local = Local::default();
        collective(ArrCmd::Reduce { op, x, axis, out }, &mut local)?;
        if let Some(v) = local.scalar {
            // SAFETY: writable for one element of the result dtype (contract), `v.len()` bytes.
            let dst = unsafe { out_bytes(scalar_out, v.len(), "scalar_out")? };
            dst.copy_from_slice(&v);
        }
        Ok(())
    })
}

/// `out = a @ b` (`numpy.matmul` for 1-D and 2-D operands): (n,k)@(k,m) → (n,m),
/// (n,k)@(k) → (n), (k)@(k,m) → (m), (k)@(k) → a 0-d `out`. `out` must exist with that shape and
/// a dtype the promoted result casts to (`same_kind`); it must not overlap `a` or `b`.
/// **Collective.** Errors: `DISTARR_ERR_HANDLE`, `DISTARR_ERR_SHAPE`, `DISTARR_ERR_DTYPE`.
#[no_mangle]
pub extern "C" fn distarr_matmul(out: distarr_array, a: distarr_array, b: distarr_array) -> c_int {
    boundary!("distarr_matmul", {
        collective(ArrCmd::Matmul { out, a, b }, &mut Local::default())?;
        Ok(())
    })
}

/// Copies the whole array or view, C order, into `buf` on `root` (`size * element size` bytes;
/// other ranks' `buf` is ignored and may be NULL). **Collective**; the data moves by one-sided
/// gets issued by the root. In sequential mode `root` must be 0. Errors: `DISTARR_ERR_HANDLE`,
/// `DISTARR_ERR_RANK`, `DISTARR_ERR_NULL` (the root's `buf`: reported on every rank).
///
/// # Safety
/// On `root`, `buf` is valid for writes of the array's size in bytes.
#[no_mangle]
pub unsafe extern "C" fn distarr_gather(a: distarr_array, root: i32, buf: *mut c_void) -> c_int {
    boundary!("distarr_gather", {
        let st = state()?;
        seq_root(root)?;
        let arr = lookup(a)?;
        let mut local = Local::default();
        let n = arr
            .len()
            .checked_mul(arr.dtype().size())
            .ok_or_else(|| CError::new(DISTARR_ERR_BOUNDS, "array too large"))?;
        // The root's NULL `buf` (with data to move) is reported on every rank by `exec`.
        if (n == 0 || !buf.is_null()) && usize::try_from(root).is_ok_and(|r| r == st.rt.rank()) {
            // SAFETY: writable for the array's size on the root (contract).
            local.dst = Some(unsafe { out_bytes(buf, n, "buf")? });
        }
        collective(ArrCmd::Gather { a, root }, &mut local)?;
        Ok(())
    })
}

/// Writes the whole array or view from `buf` on `root` (C order, `size * element size` bytes
/// of the array's dtype; other ranks' `buf` is ignored and may be NULL). **Collective**; the
/// root writes with one-sided puts. In sequential mode `root` must be 0. Errors as
/// `distarr_gather`.
///
/// # Safety
/// On `root`, `buf` is valid for reads of the array's size in bytes.
#[no_mangle]
pub unsafe extern "C" fn distarr_scatter(a: distarr_array, root: i32, buf: *const c_void) -> c_int {
    boundary!("distarr_scatter", {
        let st = state()?;
        seq_root(root)?;
        let arr = lookup(a)?;
        let mut local = Local::default();
        let n = arr
            .len()
            .checked_mul(arr.dtype().size())
            .ok_or_else(|| CError::new(DISTARR_ERR_BOUNDS, "array too large"))?;
        // The root's NULL `buf` (with data to move) is reported on every rank by `exec`.
        if (n == 0 || !buf.is_null()) && usize::try_from(root).is_ok_and(|r| r == st.rt.rank()) {
            // SAFETY: readable for the array's size on the root (contract).
            local.src = Some(unsafe { in_bytes(buf, n, "buf")? });
        }
        collective(ArrCmd::Scatter { a, root }, &mut local)?;
        Ok(())
    })
}

/// The bytes of a C path argument.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
unsafe fn path_arg(path: *const c_char) -> CResult<Vec<u8>> {
    nonnull!(path);
    // SAFETY: non-null and NUL-terminated (contract).
    let b = unsafe { CStr::from_ptr(path) }.to_bytes().to_vec();
    check!(!b.is_empty(), DISTARR_ERR_ARG, "empty path");
    Ok(b)
}

/// Saves an array or view as a C-order `.npy` file at `path` (every rank writes its part of the
/// file: the path must name the same file on every rank, e.g. on a shared file system).
/// **Collective.** Errors: `DISTARR_ERR_HANDLE`, `DISTARR_ERR_NULL`, `DISTARR_ERR_IO`.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn distarr_save_npy(a: distarr_array, path: *const c_char) -> c_int {
    boundary!("distarr_save_npy", {
        state()?;
        // SAFETY: the contract.
        let path = unsafe { path_arg(path)? };
        collective(ArrCmd::Save { a, path }, &mut Local::default())?;
        Ok(())
    })
}

/// Loads a `.npy` file (little-endian, C order, a distarr dtype) into a new block-layout array;
/// `*out` receives it (ownership as `distarr_create`). Every rank reads its part of the file.
/// **Collective.** Errors: `DISTARR_ERR_NULL`, `DISTARR_ERR_IO` (missing or malformed file),
/// `DISTARR_ERR_DTYPE` (unsupported dtype in the file), `DISTARR_ERR_NOMEM`.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; `out` is valid for writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_load_npy(path: *const c_char, out: *mut distarr_array) -> c_int {
    boundary!("distarr_load_npy", {
        state()?;
        nonnull!(out);
        // SAFETY: the contract.
        let path = unsafe { path_arg(path)? };
        // SAFETY: `out` was checked non-null and is writable (contract).
        unsafe { create_into(ArrCmd::Load { path }, out) }
    })
}

// --- one-sided region access ------------------------------------------------------------------------

/// The array and its box `[lo, hi)` with the byte size of the box.
///
/// # Safety
/// `lo` and `hi` are NULL or valid for reads of the array's `ndim` `int64_t`s.
unsafe fn region_args(
    a: distarr_array,
    lo: *const i64,
    hi: *const i64,
) -> CResult<(DistArray, Vec<usize>, Vec<usize>, usize)> {
    state()?;
    let arr = lookup(a)?;
    let nd = arr.ndim();
    // SAFETY: readable for ndim elements (contract).
    let (lo, hi) = unsafe { (index_arg(lo, nd, "lo")?, index_arg(hi, nd, "hi")?) };
    let n = box_elems(&lo, &hi, &arr)?;
    Ok((arr, lo, hi, n))
}

/// Copies the box `[lo, hi)` (`hi` exclusive, `ndim` entries each) of an array or view into
/// `buf`, C order, elements of the array's dtype. **One-sided** (`MPI_Get`s to the owners),
/// blocking: the data is in `buf` on return. Sees every write completed before it (writes by
/// other ranks: after a collective call or `distarr_sync` ordered them). Errors:
/// `DISTARR_ERR_HANDLE`, `DISTARR_ERR_BOUNDS` (negative or `lo > hi` or `hi > shape`),
/// `DISTARR_ERR_NULL` (`lo`/`hi` of a non-0-d array, `buf` for a non-empty box).
///
/// # Safety
/// `lo`/`hi` are valid for reads of `ndim` `int64_t`s; `buf` for writes of the box's bytes.
#[no_mangle]
pub unsafe extern "C" fn distarr_get_region(
    a: distarr_array,
    lo: *const i64,
    hi: *const i64,
    buf: *mut c_void,
) -> c_int {
    boundary!("distarr_get_region", {
        // SAFETY: the contract.
        let (arr, lo, hi, n) = unsafe { region_args(a, lo, hi)? };
        // SAFETY: `buf` is writable for `n` bytes (contract).
        let dst = unsafe { out_bytes(buf, n, "buf")? };
        let data = arr.get_region_bytes(&lo, &hi)?;
        dst.copy_from_slice(&data);
        Ok(())
    })
}

/// Writes `buf` (C order, the array's dtype) to the box `[lo, hi)` of an array or view (every
/// copy of a replicated array). **One-sided** (`MPI_Put`s), complete at the targets on return.
/// Concurrent writes of one element by several ranks without synchronisation are a race.
/// Errors as `distarr_get_region`.
///
/// # Safety
/// `lo`/`hi` are valid for reads of `ndim` `int64_t`s; `buf` for reads of the box's bytes.
#[no_mangle]
pub unsafe extern "C" fn distarr_put_region(
    a: distarr_array,
    lo: *const i64,
    hi: *const i64,
    buf: *const c_void,
) -> c_int {
    boundary!("distarr_put_region", {
        // SAFETY: the contract.
        let (arr, lo, hi, n) = unsafe { region_args(a, lo, hi)? };
        // SAFETY: `buf` is readable for `n` bytes (contract).
        let src = unsafe { in_bytes(buf, n, "buf")? };
        arr.put_region_bytes(&lo, &hi, src)?;
        Ok(())
    })
}

/// `region op= buf` element-wise and atomically per element (Global Arrays' `NGA_Acc`;
/// `MPI_Accumulate`), `op` one of `DISTARR_OP_SUM, PROD, MIN, MAX, REPLACE`, and BAND/BOR/BXOR
/// for integer arrays. **One-sided**, complete at the targets on return; concurrent
/// accumulates with the same op are safe. Errors as `distarr_get_region`, plus
/// `DISTARR_ERR_OP` (unknown op, NO_OP), `DISTARR_ERR_DTYPE` (bool and complex arrays, bitwise
/// ops on floats), `DISTARR_ERR_ARG` (replicated arrays).
///
/// # Safety
/// As `distarr_put_region`.
#[no_mangle]
pub unsafe extern "C" fn distarr_acc_region(
    a: distarr_array,
    lo: *const i64,
    hi: *const i64,
    buf: *const c_void,
    op: i32,
) -> c_int {
    boundary!("distarr_acc_region", {
        let accop = acc_op(op)?;
        check!(
            accop != AccOp::NoOp,
            DISTARR_ERR_OP,
            "DISTARR_OP_NO_OP does nothing in distarr_acc_region"
        );
        // SAFETY: the contract.
        let (arr, lo, hi, n) = unsafe { region_args(a, lo, hi)? };
        if accop.is_bitwise() {
            check!(
                !arr.dtype().is_float() && !arr.dtype().is_complex(),
                DISTARR_ERR_DTYPE,
                "bitwise accumulate on a {} array",
                arr.dtype().name()
            );
        }
        // SAFETY: `buf` is readable for `n` bytes (contract).
        let src = unsafe { in_bytes(buf, n, "buf")? };
        arr.acc_region_bytes(&lo, &hi, src, accop)?;
        Ok(())
    })
}

/// `*rank`, `*offset` = the owner of element `index` (`ndim` entries) of an array or view and
/// its byte offset in the owner's part of the array's segment (`distarr_segment`). For a
/// replicated array, the calling rank's own copy. Local (no communication). Errors:
/// `DISTARR_ERR_HANDLE`, `DISTARR_ERR_BOUNDS`, `DISTARR_ERR_NULL`.
///
/// # Safety
/// `index` is valid for reads of `ndim` `int64_t`s; `rank` and `offset` for writing.
#[no_mangle]
pub unsafe extern "C" fn distarr_locate(
    a: distarr_array,
    index: *const i64,
    rank: *mut i32,
    offset: *mut u64,
) -> c_int {
    boundary!("distarr_locate", {
        state()?;
        let arr = lookup(a)?;
        nonnull!(rank, offset);
        // SAFETY: readable for ndim elements (contract).
        let idx = unsafe { index_arg(index, arr.ndim(), "index")? };
        let (r, off) = arr.locate(&idx)?;
        // SAFETY: both non-null and writable (contract); ranks fit int32 (MPI ranks are ints).
        unsafe {
            rank.write(r as i32);
            offset.write(off);
        }
        Ok(())
    })
}

/// This rank's part of an array as one box: `*ptr` = its elements in this rank's memory (C
/// order, dense), holding the global box `[lo, hi)` (`ndim` entries each; `lo == hi` when the
/// rank holds nothing). Direct loads and stores: the memory belongs to the array (never free
/// it), valid until the array is freed; writes by other ranks are visible after the next
/// collective call or `distarr_sync`, and local stores are visible to others after one.
/// Local. Errors: `DISTARR_ERR_HANDLE`, `DISTARR_ERR_NULL`, `DISTARR_ERR_UNSUPPORTED` (a view,
/// or a block-cyclic layout with several blocks per rank along a dimension).
///
/// # Safety
/// `ptr` is valid for writing; `lo`, `hi` for writes of `ndim` `int64_t`s.
#[no_mangle]
pub unsafe extern "C" fn distarr_local_block(
    a: distarr_array,
    ptr: *mut *mut c_void,
    lo: *mut i64,
    hi: *mut i64,
) -> c_int {
    boundary!("distarr_local_block", {
        state()?;
        let arr = lookup(a)?;
        nonnull!(ptr);
        nonnull_if(lo, arr.ndim(), "lo")?;
        nonnull_if(hi, arr.ndim(), "hi")?;
        let (p, l, h) = arr.local_block_ptr()?.ok_or_else(|| {
            CError::new(
                DISTARR_ERR_UNSUPPORTED,
                "this rank's part is not one box (a view, or several block-cyclic blocks)",
            )
        })?;
        // SAFETY: all pointers are valid for writing (contract; lengths ndim).
        unsafe {
            write_i64s(lo, &l)?;
            write_i64s(hi, &h)?;
            ptr.write(p.cast());
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Cmd;

    #[test]
    fn dtype_codes_match_the_array_layer() {
        for (code, dt) in [
            (DISTARR_DTYPE_BOOL, DType::Bool),
            (DISTARR_DTYPE_I32, DType::I32),
            (DISTARR_DTYPE_I64, DType::I64),
            (DISTARR_DTYPE_U8, DType::U8),
            (DISTARR_DTYPE_U32, DType::U32),
            (DISTARR_DTYPE_U64, DType::U64),
            (DISTARR_DTYPE_F32, DType::F32),
            (DISTARR_DTYPE_F64, DType::F64),
            (DISTARR_DTYPE_C64, DType::C64),
            (DISTARR_DTYPE_C128, DType::C128),
        ] {
            assert_eq!(dt.code(), code, "{dt:?}");
            assert_eq!(dtype_arg(code).unwrap(), dt);
        }
        assert_eq!(DType::ALL.len(), 10, "every dtype has a DISTARR_DTYPE_* code");
        assert_eq!(dtype_arg(10).unwrap_err().code, DISTARR_ERR_DTYPE);
        assert_eq!(dtype_arg(-1).unwrap_err().code, DISTARR_ERR_DTYPE);
    }

    #[test]
    fn op_codes_map() {
        for c in 0..=22 {
            assert!(binary_op(c).is_ok(), "binary {c}");
            assert_eq!(unary_op(c).err().map(|e| e.code), Some(DISTARR_ERR_OP));
        }
        for c in 64..=94 {
            assert!(unary_op(c).is_ok(), "unary {c}");
            assert_eq!(binary_op(c).err().map(|e| e.code), Some(DISTARR_ERR_OP));
        }
        assert_eq!(reduce_code(DISTARR_OP_SUM).unwrap(), ReduceOp::Sum);
        assert_eq!(reduce_code(DISTARR_OP_MAX).unwrap(), ReduceOp::Max);
        assert_eq!(reduce_code(DISTARR_OP_BAND).unwrap_err().code, DISTARR_ERR_OP);
        assert_eq!(reduce_code(DISTARR_REDUCE_ALL).unwrap(), ReduceOp::All);
    }

    #[test]
    fn commands_round_trip() {
        let cmds = [
            ArrCmd::Create {
                shape: vec![3, 0, u64::MAX],
                dtype: 7,
                layout: 1,
                block: vec![1, 2, 3],
                rank: -1,
            },
            ArrCmd::Arange {
                start: -1.5,
                stop: 1e300,
                step: f64::MIN_POSITIVE,
                dtype: 2,
            },
            ArrCmd::Load {
                path: b"/tmp/some file \xff.npy".to_vec(),
            },
            ArrCmd::Free { a: i64::MAX },
            ArrCmd::Fill {
                a: 5,
                value: vec![1, 2, 3],
            },
            ArrCmd::Random {
                a: 1,
                seed: u64::MAX,
                normal: true,
            },
            ArrCmd::View {
                a: 9,
                start: vec![i64::MIN, -3],
                stop: vec![4, i64::MIN],
                step: vec![1, -2],
            },
            ArrCmd::Transpose { a: 3 },
            ArrCmd::Unary { op: 64, out: 1, x: 2 },
            ArrCmd::Binary {
                op: 0,
                out: 1,
                x: 2,
                y: 3,
            },
            ArrCmd::BinaryScalar {
                op: 3,
                out: 1,
                x: 2,
                scalar: 2.5f64.to_le_bytes().to_vec(),
                sdtype: 7,
                first: true,
            },
            ArrCmd::Reduce {
                op: 16,
                x: 1,
                axis: -1,
                out: 0,
            },
            ArrCmd::Matmul { out: 1, a: 2, b: 3 },
            ArrCmd::Copy { dst: 1, src: 2 },
            ArrCmd::Gather { a: 1, root: 0 },
            ArrCmd::Scatter { a: 1, root: 0 },
            ArrCmd::Save {
                a: 1,
                path: vec![b'x'; 300],
            },
        ];
        for c in cmds {
            let m = Cmd::Array(c.clone()).encode();
            assert_eq!(Cmd::decode(&m).unwrap(), Cmd::Array(c.clone()), "{c:?}");
            assert!(ArrCmd::decode(&m[..m.len() - 1]).is_err(), "truncated {c:?}");
        }
        let small = Cmd::Array(ArrCmd::Binary {
            op: 0,
            out: 1,
            x: 2,
            y: 3,
        })
        .encode();
        assert!(
            small.len() <= distarr_runtime::SEQ_INLINE_BYTES,
            "an element-wise command fits in one broadcast"
        );
    }

    #[test]
    fn matmul_shapes() {
        assert_eq!(matmul_shape(&[3], &[3]).unwrap(), Vec::<usize>::new());
        assert_eq!(matmul_shape(&[2, 3], &[3, 4]).unwrap(), vec![2, 4]);
        assert_eq!(matmul_shape(&[2, 3], &[3]).unwrap(), vec![2]);
        assert_eq!(matmul_shape(&[3], &[3, 4]).unwrap(), vec![4]);
        assert_eq!(matmul_shape(&[2, 3], &[4, 3]).unwrap_err().code, DISTARR_ERR_SHAPE);
        assert_eq!(matmul_shape(&[2, 3, 4], &[4]).unwrap_err().code, DISTARR_ERR_SHAPE);
    }
}

//! Reductions: sum, prod, min, max, mean, argmin, argmax, any, all — over all elements or
//! along one axis. Result dtypes follow NumPy 1.24 on 64-bit Linux: `sum`/`prod` of bool and
//! signed integers give int64, of unsigned integers uint64; `mean` gives float64 (float32 for
//! float32); `argmin`/`argmax` give int64 indices into the C-order flattening; `any`/`all`
//! give bool; `min`/`max` keep the dtype and propagate NaN. `min`/`max`/`argmin`/`argmax` of an
//! empty array are errors, like NumPy's.
use crate::array::DistArray;
use crate::bytes;
use crate::dtype::{DType, Element, Scalar, C128, C64};
use crate::error::{Error, Result};
use crate::ufunc::{dispatch, Arith, BinaryOp};

/// Reduction operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ReduceOp {
    Sum,
    Prod,
    Min,
    Max,
    Mean,
    Argmin,
    Argmax,
    Any,
    All,
}

impl ReduceOp {
    /// (loop dtype, result dtype) for an input of dtype `d`.
    pub fn types(self, d: DType) -> Result<(DType, DType)> {
        use ReduceOp::*;
        Ok(match self {
            Sum | Prod => {
                let t = match d {
                    DType::Bool | DType::I32 | DType::I64 => DType::I64,
                    DType::U8 | DType::U32 | DType::U64 => DType::U64,
                    f => f,
                };
                (t, t)
            }
            Mean => {
                let t = match d {
                    DType::F32 | DType::C64 | DType::C128 | DType::F64 => d,
                    _ => DType::F64,
                };
                (t, t)
            }
            Min | Max | Argmin | Argmax => {
                if d.is_complex() {
                    return Err(Error::dtype(format!("{self:?} is not supported for {}", d.name())));
                }
                (d, if matches!(self, Argmin | Argmax) { DType::I64 } else { d })
            }
            Any | All => (DType::Bool, DType::Bool),
        })
    }

    fn has_identity(self) -> bool {
        matches!(
            self,
            ReduceOp::Sum | ReduceOp::Prod | ReduceOp::Any | ReduceOp::All | ReduceOp::Mean
        )
    }
}

/// A partial result: value (loop dtype), index of that value (arg ops), and element count.
#[derive(Clone, Copy, Debug)]
struct Partial<T> {
    val: T,
    idx: u64,
    count: u64,
}

trait Reducer: Arith + Element {
    fn identity(op: ReduceOp) -> Self;
    fn is_nan(self) -> bool;
    fn combine(op: ReduceOp, a: Partial<Self>, b: Partial<Self>) -> Partial<Self> {
        if a.count == 0 {
            return b;
        }
        if b.count == 0 {
            return a;
        }
        let count = a.count + b.count;
        let pick = |take_b: bool| {
            if take_b {
                Partial { count, ..b }
            } else {
                Partial { count, ..a }
            }
        };
        match op {
            ReduceOp::Sum | ReduceOp::Mean => Partial {
                val: Self::arith(BinaryOp::Add, a.val, b.val).unwrap_or(a.val),
                idx: 0,
                count,
            },
            ReduceOp::Prod => Partial {
                val: Self::arith(BinaryOp::Multiply, a.val, b.val).unwrap_or(a.val),
                idx: 0,
                count,
            },
            ReduceOp::Any => Partial {
                val: Self::arith(BinaryOp::LogicalOr, a.val, b.val).unwrap_or(a.val),
                idx: 0,
                count,
            },
            ReduceOp::All => Partial {
                val: Self::arith(BinaryOp::LogicalAnd, a.val, b.val).unwrap_or(a.val),
                idx: 0,
                count,
            },
            ReduceOp::Min | ReduceOp::Argmin | ReduceOp::Max | ReduceOp::Argmax => {
                // NaN wins (first NaN by index); ties keep the smaller index.
                let an = a.val.is_nan();
                let bn = b.val.is_nan();
                if an || bn {
                    return pick(bn && (!an || b.idx < a.idx));
                }
                let less = matches!(op, ReduceOp::Min | ReduceOp::Argmin);
                let better = if less {
                    Self::compare(BinaryOp::Less, b.val, a.val)
                } else {
                    Self::compare(BinaryOp::Greater, b.val, a.val)
                };
                let equal = Self::compare(BinaryOp::Equal, b.val, a.val);
                pick(better || (equal && b.idx < a.idx))
            }
        }
    }
}

macro_rules! reducer_num {
    ($($t:ty: $zero:expr, $one:expr, $nan:expr);*) => {$(
        impl Reducer for $t {
            fn identity(op: ReduceOp) -> $t { if op == ReduceOp::Prod { $one } else { $zero } }
            #[allow(clippy::redundant_closure_call)]
            fn is_nan(self) -> bool { ($nan)(self) }
        }
    )*};
}
reducer_num!(i32: 0, 1, |_| false; i64: 0, 1, |_| false; u8: 0, 1, |_| false; u32: 0, 1, |_| false;
    u64: 0, 1, |_| false; f32: 0.0, 1.0, |x: f32| x.is_nan(); f64: 0.0, 1.0, |x: f64| x.is_nan());

impl Reducer for bool {
    fn identity(op: ReduceOp) -> bool {
        op == ReduceOp::All
    }
    fn is_nan(self) -> bool {
        false
    }
}

impl Reducer for C64 {
    fn identity(op: ReduceOp) -> C64 {
        C64 {
            re: if op == ReduceOp::Prod { 1.0 } else { 0.0 },
            im: 0.0,
        }
    }
    fn is_nan(self) -> bool {
        self.re.is_nan() || self.im.is_nan()
    }
}

impl Reducer for C128 {
    fn identity(op: ReduceOp) -> C128 {
        C128 {
            re: if op == ReduceOp::Prod { 1.0 } else { 0.0 },
            im: 0.0,
        }
    }
    fn is_nan(self) -> bool {
        self.re.is_nan() || self.im.is_nan()
    }
}

/// Reduces a strided lane (`n` values starting at `start`, `stride` apart) of `v`, whose
/// first value has flat index `idx0` and whose flat indices advance by `idx_step`.
fn reduce_lane<T: Reducer>(
    op: ReduceOp,
    v: &[T],
    start: usize,
    stride: usize,
    n: usize,
    idx0: u64,
    idx_step: u64,
) -> Partial<T> {
    let mut acc = Partial {
        val: T::identity(op),
        idx: 0,
        count: 0,
    };
    for k in 0..n {
        let p = Partial {
            val: v[start + k * stride],
            idx: idx0 + k as u64 * idx_step,
            count: 1,
        };
        acc = T::combine(op, acc, p);
    }
    acc
}

fn finish<T: Reducer>(op: ReduceOp, p: Partial<T>) -> Scalar {
    match op {
        ReduceOp::Argmin | ReduceOp::Argmax => Scalar::I64(p.idx as i64),
        ReduceOp::Mean => {
            let n = Scalar::U64(p.count).cast_to(T::DTYPE);
            let nv = T::from_scalar(n);
            let v = if p.count == 0 {
                T::from_scalar(Scalar::F64(f64::NAN))
            } else {
                T::arith(BinaryOp::Divide, p.val, nv).unwrap_or(p.val)
            };
            v.into_scalar()
        }
        _ => p.val.into_scalar(),
    }
}

fn encode<T: Reducer>(p: &Partial<T>) -> Vec<u8> {
    let mut b = bytes::as_bytes(std::slice::from_ref(&p.val)).to_vec();
    b.extend_from_slice(&p.idx.to_le_bytes());
    b.extend_from_slice(&p.count.to_le_bytes());
    b
}

fn decode<T: Reducer>(b: &[u8]) -> Partial<T> {
    let sz = std::mem::size_of::<T>();
    let val = bytes::to_vec::<T>(&b[..sz])[0];
    let idx = u64::from_le_bytes(b[sz..sz + 8].try_into().unwrap_or([0; 8]));
    let count = u64::from_le_bytes(b[sz + 8..sz + 16].try_into().unwrap_or([0; 8]));
    Partial { val, idx, count }
}

fn reduce_all_typed<T: Reducer>(x: &DistArray, op: ReduceOp, lt: DType) -> Result<Scalar> {
    let rt = x.runtime().clone();
    rt.sync()?;
    let shape = x.shape().to_vec();
    let st = crate::dist::c_strides(&shape);
    let mut acc = Partial {
        val: T::identity(op),
        idx: 0,
        count: 0,
    };
    for (lo, hi) in x.read_boxes()? {
        let v: Vec<T> = bytes::to_vec(&bytes::cast(&x.get_region_bytes(&lo, &hi)?, x.dtype(), lt));
        // Flat index of each element: walk the box in C order.
        let mut k = 0;
        crate::array::for_each_index(&lo, &hi, |idx| {
            let flat: usize = idx.iter().zip(&st).map(|(i, s)| i * s).sum();
            acc = T::combine(
                op,
                acc,
                Partial {
                    val: v[k],
                    idx: flat as u64,
                    count: 1,
                },
            );
            k += 1;
        });
    }
    let mine = encode(&acc);
    let mut all = vec![0u8; mine.len() * rt.nranks()];
    rt.allgather(&mine, &mut all)?;
    rt.sync()?;
    let mut total = Partial {
        val: T::identity(op),
        idx: 0,
        count: 0,
    };
    for chunk in all.chunks(mine.len()) {
        total = T::combine(op, total, decode::<T>(chunk));
    }
    Ok(finish(op, total))
}

/// Reduces all elements to one scalar, the same on every rank. **Collective.**
pub fn reduce_all(x: &DistArray, op: ReduceOp) -> Result<Scalar> {
    x.check_live()?;
    let (lt, _) = op.types(x.dtype())?;
    if x.is_empty() && !op.has_identity() {
        return Err(Error::invalid(format!(
            "zero-size array to reduction operation {op:?} which has no identity"
        )));
    }
    dispatch!(lt, T => reduce_all_typed::<T>(x, op, lt))
}

/// Reduces along `axis`, giving a new block array of the remaining dimensions.
/// **Collective.**
pub fn reduce_axis(x: &DistArray, op: ReduceOp, axis: usize) -> Result<DistArray> {
    x.check_live()?;
    let nd = x.ndim();
    if axis >= nd {
        return Err(Error::invalid(format!(
            "axis {axis} is out of bounds for array of dimension {nd}"
        )));
    }
    let (lt, out_dt) = op.types(x.dtype())?;
    let n = x.shape()[axis];
    if n == 0 && !op.has_identity() {
        return Err(Error::invalid(format!(
            "zero-size array to reduction operation {op:?} which has no identity"
        )));
    }
    let mut oshape = x.shape().to_vec();
    oshape.remove(axis);
    let out = DistArray::empty(x.runtime(), &oshape, out_dt, crate::dist::Layout::Block)?;
    crate::ufunc::evaluate(&out, |lo, hi| {
        let mut ilo = lo.to_vec();
        let mut ihi = hi.to_vec();
        ilo.insert(axis, 0);
        ihi.insert(axis, n);
        let raw = bytes::cast(&x.get_region_bytes(&ilo, &ihi)?, x.dtype(), lt);
        let ext: Vec<usize> = ilo.iter().zip(&ihi).map(|(l, h)| h - l).collect();
        let stride: usize = ext[axis + 1..].iter().product();
        let outer: usize = ext[..axis].iter().product();
        let res: Vec<u8> = dispatch!(lt, T => {
            let v: Vec<T> = bytes::to_vec(&raw);
            let mut r = Vec::with_capacity(outer * stride * out_dt.size());
            for o in 0..outer {
                for i in 0..stride {
                    let p = reduce_lane::<T>(op, &v, o * n * stride + i, stride, n, 0, 1);
                    r.extend_from_slice(&finish(op, p).cast_to(out_dt).to_le_bytes());
                }
            }
            r
        });
        Ok(Ok(res))
    })?;
    Ok(out)
}

/// [`reduce_axis`] writing into `out` (shape of `x` without `axis`; the result is cast to
/// `out`'s dtype with NumPy's `same_kind` rule). **Collective.**
pub fn reduce_axis_into(x: &DistArray, op: ReduceOp, axis: usize, out: &DistArray) -> Result<()> {
    x.check_live()?;
    x.check_peer(out)?;
    let nd = x.ndim();
    if axis >= nd {
        return Err(Error::invalid(format!(
            "axis {axis} is out of bounds for array of dimension {nd}"
        )));
    }
    let (_, res) = op.types(x.dtype())?;
    let mut shape = x.shape().to_vec();
    shape.remove(axis);
    if out.shape() != shape.as_slice() {
        return Err(Error::shape(format!(
            "reduction output has shape {:?}, expected {shape:?}",
            out.shape()
        )));
    }
    if !crate::ufunc::can_cast_same_kind(res, out.dtype()) {
        return Err(Error::dtype(format!(
            "cannot cast reduction output from {} to {} with casting rule 'same_kind'",
            res.name(),
            out.dtype().name()
        )));
    }
    let r = reduce_axis(x, op, axis)?;
    out.copy_from(&r)?;
    r.free()
}

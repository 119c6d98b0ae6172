//! `dot` / `matmul` for 1-D and 2-D arrays, SUMMA-style: the rank owning each block of the
//! result fetches the row panel of `a` and the column panel of `b` it needs, one k-panel at a
//! time, with one-sided gets, and multiplies locally. No operand is gathered on one rank.
use crate::array::DistArray;
use crate::bytes;
use crate::dtype::{DType, Scalar};
use crate::error::{Error, Result};
use crate::reduce::{reduce_all, ReduceOp};
use crate::ufunc::{binary, dispatch, Arith, BinaryOp, Operand};
use crate::view::SliceItem;

/// Width of the k-panels fetched per step (elements).
const PANEL: usize = 256;

fn gemm_acc<T: Arith>(c: &mut [T], a: &[T], b: &[T], m: usize, k: usize, n: usize) {
    for i in 0..m {
        for p in 0..k {
            let av = a[i * k + p];
            let row = &b[p * n..(p + 1) * n];
            let out = &mut c[i * n..(i + 1) * n];
            for (o, &bv) in out.iter_mut().zip(row) {
                let prod = T::arith(BinaryOp::Multiply, av, bv).unwrap_or(*o);
                *o = T::arith(BinaryOp::Add, *o, prod).unwrap_or(*o);
            }
        }
    }
}

fn gemm_f64(c: &mut [f64], a: &[f64], b: &[f64], m: usize, k: usize, n: usize) {
    let av = ndarray::ArrayView2::from_shape((m, k), a);
    let bv = ndarray::ArrayView2::from_shape((k, n), b);
    let cv = ndarray::ArrayViewMut2::from_shape((m, n), c);
    if let (Ok(av), Ok(bv), Ok(mut cv)) = (av, bv, cv) {
        ndarray::linalg::general_mat_mul(1.0, &av, &bv, 1.0, &mut cv);
    }
}

fn gemm_f32(c: &mut [f32], a: &[f32], b: &[f32], m: usize, k: usize, n: usize) {
    let av = ndarray::ArrayView2::from_shape((m, k), a);
    let bv = ndarray::ArrayView2::from_shape((k, n), b);
    let cv = ndarray::ArrayViewMut2::from_shape((m, n), c);
    if let (Ok(av), Ok(bv), Ok(mut cv)) = (av, bv, cv) {
        ndarray::linalg::general_mat_mul(1.0, &av, &bv, 1.0, &mut cv);
    }
}

trait Gemm: Arith {
    fn gemm(c: &mut [Self], a: &[Self], b: &[Self], m: usize, k: usize, n: usize) {
        gemm_acc(c, a, b, m, k, n)
    }
}
macro_rules! gemm_generic { ($($t:ty),*) => {$(impl Gemm for $t {})*}; }
gemm_generic!(bool, i32, i64, u8, u32, u64, crate::dtype::C64, crate::dtype::C128);
impl Gemm for f64 {
    fn gemm(c: &mut [f64], a: &[f64], b: &[f64], m: usize, k: usize, n: usize) {
        gemm_f64(c, a, b, m, k, n)
    }
}
impl Gemm for f32 {
    fn gemm(c: &mut [f32], a: &[f32], b: &[f32], m: usize, k: usize, n: usize) {
        gemm_f32(c, a, b, m, k, n)
    }
}

fn matmul2(a: &DistArray, b: &DistArray) -> Result<DistArray> {
    let (m, k) = (a.shape()[0], a.shape()[1]);
    let (k2, n) = (b.shape()[0], b.shape()[1]);
    if k != k2 {
        return Err(Error::shape(format!(
            "matmul: input operand 1 has a mismatch in its core dimension 0 (size {k2} is different from {k})"
        )));
    }
    let lt = DType::promote(a.dtype(), b.dtype());
    let out = DistArray::empty(a.runtime(), &[m, n], lt, crate::dist::Layout::Block)?;
    crate::ufunc::evaluate(&out, |lo, hi| {
        let (i0, i1, j0, j1) = (lo[0], hi[0], lo[1], hi[1]);
        let (bm, bn) = (i1 - i0, j1 - j0);
        let res = dispatch!(lt, T => {
            let mut c = vec![T::default(); bm * bn];
            let mut k0 = 0;
            while k0 < k {
                let k1 = (k0 + PANEL).min(k);
                let ap: Vec<T> = bytes::to_vec(&bytes::cast(&a.get_region_bytes(&[i0, k0], &[i1, k1])?, a.dtype(), lt));
                let bp: Vec<T> = bytes::to_vec(&bytes::cast(&b.get_region_bytes(&[k0, j0], &[k1, j1])?, b.dtype(), lt));
                T::gemm(&mut c, &ap, &bp, bm, k1 - k0, bn);
                k0 = k1;
            }
            bytes::as_bytes(&c).to_vec()
        });
        Ok(Ok(res))
    })?;
    Ok(out)
}

/// The result of [`matmul`]: a scalar for 1-D · 1-D, an array otherwise.
#[derive(Debug)]
pub enum Product {
    /// 1-D · 1-D.
    Scalar(Scalar),
    /// Everything else.
    Array(DistArray),
}

/// `numpy.matmul` / `numpy.dot` for 1-D and 2-D operands. **Collective.**
pub fn matmul(a: &DistArray, b: &DistArray) -> Result<Product> {
    a.check_live()?;
    a.check_peer(b)?;
    match (a.ndim(), b.ndim()) {
        (1, 1) => {
            if a.shape() != b.shape() {
                return Err(Error::shape(format!(
                    "shapes {:?} and {:?} not aligned",
                    a.shape(),
                    b.shape()
                )));
            }
            let prod = binary(BinaryOp::Multiply, Operand::Array(a), Operand::Array(b), None)?;
            let s = reduce_all(&prod, ReduceOp::Sum)?;
            // Sum promotes small integers to int64; the dot product keeps the promoted dtype.
            Ok(Product::Scalar(s.cast_to(prod.dtype())))
        }
        (2, 2) => Ok(Product::Array(matmul2(a, b)?)),
        (2, 1) => {
            let col = b.slice(&[SliceItem::FULL, SliceItem::NewAxis])?;
            let r = matmul2(a, &col)?;
            Ok(Product::Array(r.reshape(&[a.shape()[0]])?))
        }
        (1, 2) => {
            let row = a.slice(&[SliceItem::NewAxis, SliceItem::FULL])?;
            let r = matmul2(&row, b)?;
            Ok(Product::Array(r.reshape(&[b.shape()[1]])?))
        }
        (x, y) => Err(Error::shape(format!(
            "matmul supports 1-D and 2-D operands, got {x}-D and {y}-D"
        ))),
    }
}

/// The shape of `matmul(a, b)` for 1-D and 2-D operands (`[]` for 1-D · 1-D), or the error
/// NumPy gives.
pub fn matmul_shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let bad = || {
        Error::shape(format!(
            "matmul: shapes {a:?} and {b:?} not aligned (1-D and 2-D operands only)"
        ))
    };
    match (a, b) {
        ([k], [k2]) if k == k2 => Ok(vec![]),
        ([m, k], [k2, n]) if k == k2 => Ok(vec![*m, *n]),
        ([m, k], [k2]) if k == k2 => Ok(vec![*m]),
        ([k], [k2, n]) if k == k2 => Ok(vec![*n]),
        _ => Err(bad()),
    }
}

/// `numpy.matmul(a, b, out=out)`: writes the product into `out` (shape [`matmul_shape`], 0-d
/// for 1-D · 1-D; the result is cast to `out`'s dtype with `same_kind`). **Collective.**
pub fn matmul_into(a: &DistArray, b: &DistArray, out: &DistArray) -> Result<()> {
    a.check_live()?;
    a.check_peer(b)?;
    a.check_peer(out)?;
    let shape = matmul_shape(a.shape(), b.shape())?;
    if out.shape() != shape.as_slice() {
        return Err(Error::shape(format!(
            "matmul: out has shape {:?}, expected {shape:?}",
            out.shape()
        )));
    }
    let res = DType::promote(a.dtype(), b.dtype());
    if !crate::ufunc::can_cast_same_kind(res, out.dtype()) {
        return Err(Error::dtype(format!(
            "cannot cast matmul output from {} to {} with casting rule 'same_kind'",
            res.name(),
            out.dtype().name()
        )));
    }
    match matmul(a, b)? {
        Product::Scalar(s) => out.fill(s),
        Product::Array(r) => {
            out.copy_from(&r)?;
            r.free()
        }
    }
}

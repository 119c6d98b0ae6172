//! `dot` / `matmul` for 1-D and 2-D arrays, SUMMA-style, owner computes: the rank owning each
//! block of the result multiplies the row panel of `a` by the column panel of `b` one k-panel
//! at a time. Panels this rank holds are used in place; others are fetched with one-sided gets,
//! the next panel's gets in flight while the current panel multiplies. No operand is gathered on
//! one rank. Float products use the `matrixmultiply` kernels (through `ndarray`); the block's
//! rows are shared among the compute threads.
#![allow(unsafe_code)]
use crate::array::{DistArray, RegionRead};
use crate::dtype::{DType, Scalar};
use crate::engine;
use crate::error::{Error, Result};
use crate::kernel::{self, with_dtype, BinaryOp, Num};
use crate::reduce::{reduce_all, ReduceOp};
use crate::ufunc::{binary, Operand};
use crate::view::SliceItem;

/// Width of the k-panels (elements).
const PANEL: usize = 256;

/// `c[m×n] += a[m×k] · b[k×n]`, all dense row-major with the given row strides (elements).
trait Gemm: Num {
    /// # Safety
    /// The three blocks are valid for their extents and strides; `c` does not overlap `a`/`b`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm(
        m: usize,
        k: usize,
        n: usize,
        a: *const Self,
        lda: usize,
        b: *const Self,
        ldb: usize,
        c: *mut Self,
        ldc: usize,
    ) {
        for i in 0..m {
            for p in 0..k {
                // SAFETY: i < m, p < k inside `a`; row p of `b` and row i of `c` hold n elements.
                unsafe {
                    let av = *a.add(i * lda + p);
                    for j in 0..n {
                        let cp = c.add(i * ldc + j);
                        *cp = Self::binary(
                            BinaryOp::Add,
                            *cp,
                            Self::binary(BinaryOp::Multiply, av, *b.add(p * ldb + j)),
                        );
                    }
                }
            }
        }
    }
}

macro_rules! gemm_generic { ($($t:ty),*) => {$(impl Gemm for $t {})*}; }
gemm_generic!(
    crate::kernel::B8,
    i32,
    i64,
    u8,
    u32,
    u64,
    crate::dtype::C64,
    crate::dtype::C128
);

macro_rules! gemm_float {
    ($($t:ty),*) => {$(
        impl Gemm for $t {
            unsafe fn gemm(m: usize, k: usize, n: usize, a: *const $t, lda: usize, b: *const $t, ldb: usize, c: *mut $t, ldc: usize) {
                // SAFETY: the views cover exactly the blocks of the contract.
                unsafe {
                    let av = ndarray::ArrayView2::from_shape_ptr(ndarray::ShapeBuilder::strides((m, k), (lda, 1)), a);
                    let bv = ndarray::ArrayView2::from_shape_ptr(ndarray::ShapeBuilder::strides((k, n), (ldb, 1)), b);
                    let mut cv = ndarray::ArrayViewMut2::from_shape_ptr(ndarray::ShapeBuilder::strides((m, n), (ldc, 1)), c);
                    ndarray::linalg::general_mat_mul(1.0, &av, &bv, 1.0, &mut cv);
                }
            }
        }
    )*};
}
gemm_float!(f32, f64);

/// A panel: the region as contiguous row-major bytes of the loop dtype.
fn panel_bytes(raw: Vec<u8>, from: DType, to: DType) -> Vec<u8> {
    if from == to {
        return raw;
    }
    let n = raw.len() / from.size();
    let mut out = vec![0u8; n * to.size()];
    // SAFETY: `raw` holds n elements of `from`, `out` n of `to`.
    unsafe { kernel::cast(from, to)(n, raw.as_ptr(), 1, out.as_mut_ptr(), 1) };
    out
}

/// `out[m×n] = a[m×k] · b[k×n]` for 2-D operands (out a view of the right shape and any dtype).
fn matmul2_into(a: &DistArray, b: &DistArray, out: &DistArray, lt: DType) -> Result<()> {
    let k = a.shape()[1];
    let (adt, bdt, odt) = (a.dtype(), b.dtype(), out.dtype());
    let threads = a.runtime().threads();
    engine::collective(&[a, b], Some(out), || {
        with_dtype!(lt, T => {
            for (lo, hi, optr, ost) in engine::owned_cells(out)? {
                let (i0, i1, j0, j1) = (lo[0], hi[0], lo[1], hi[1]);
                let (bm, bn) = (i1 - i0, j1 - j0);
                // The C block accumulates in the output in place when it can, else in a buffer.
                let direct = odt == lt && ost[1] == 1 && ost[0] >= 0;
                let mut cbuf: Vec<T> = if direct { Vec::new() } else { vec![T::zero(); bm * bn] };
                let (cptr, ldc) = if direct {
                    for i in 0..bm {
                        // SAFETY: row i of the C block lies in the output's block.
                        unsafe { std::slice::from_raw_parts_mut(optr.cast::<T>().offset(i as isize * ost[0]), bn).fill(T::zero()) };
                    }
                    (optr.cast::<T>(), ost[0] as usize)
                } else {
                    (cbuf.as_mut_ptr(), bn)
                };
                let start = |k0: usize| -> Result<(RegionRead, RegionRead, usize)> {
                    let k1 = (k0 + PANEL).min(k);
                    Ok((a.start_region_read(&[i0, k0], &[i1, k1])?, b.start_region_read(&[k0, j0], &[k1, j1])?, k1))
                };
                let mut next = if k > 0 { Some(start(0)?) } else { None };
                let mut k0 = 0;
                while let Some((ra, rb, k1)) = next.take() {
                    let ap = panel_bytes(ra.finish()?, adt, lt);
                    let bp = panel_bytes(rb.finish()?, bdt, lt);
                    if k1 < k {
                        next = Some(start(k1)?);
                    }
                    let kk = k1 - k0;
                    let (ap, bp) = (ap.as_ptr().cast::<T>() as usize, bp.as_ptr().cast::<T>() as usize);
                    let c = cptr as usize;
                    // Rows of the block shared among the compute threads (no MPI inside).
                    let parts = threads.min(bm.max(1));
                    engine::parallel(a.runtime(), parts, &|p, _| {
                        let (r0, r1) = (bm * p / parts, bm * (p + 1) / parts);
                        // SAFETY: the panels hold bm×kk and kk×bn elements of T; rows r0..r1 of
                        // the C block belong to this part alone.
                        unsafe {
                            T::gemm(r1 - r0, kk, bn, (ap as *const T).add(r0 * kk), kk, bp as *const T, bn, (c as *mut T).add(r0 * ldc), ldc)
                        }
                    });
                    k0 = k1;
                }
                if !direct {
                    let cd: Vec<isize> = vec![bn as isize, 1];
                    // SAFETY: the buffer holds the bm×bn block; the output block is this rank's.
                    unsafe { engine::tile::strided_copy(&[bm, bn], cbuf.as_ptr().cast(), &cd, optr, &ost, lt, odt) };
                }
            }
            Ok(())
        })
    })
}

/// The result of [`matmul`]: a scalar for 1-D · 1-D, an array otherwise.
#[derive(Debug)]
pub enum Product {
    /// 1-D · 1-D.
    Scalar(Scalar),
    /// Everything else.
    Array(DistArray),
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

/// `numpy.matmul` / `numpy.dot` for 1-D and 2-D operands. **Collective.**
pub fn matmul(a: &DistArray, b: &DistArray) -> Result<Product> {
    a.check_live()?;
    a.check_peer(b)?;
    let shape = matmul_shape(a.shape(), b.shape())?;
    if shape.is_empty() {
        let prod = binary(BinaryOp::Multiply, Operand::Array(a), Operand::Array(b), None)?;
        let s = reduce_all(&prod, ReduceOp::Sum)?;
        let dt = prod.dtype();
        prod.free()?;
        // Sum promotes small integers to int64; the dot product keeps the promoted dtype.
        return Ok(Product::Scalar(s.cast_to(dt)));
    }
    let out = DistArray::empty(
        a.runtime(),
        &shape,
        DType::promote(a.dtype(), b.dtype()),
        crate::dist::Layout::Block,
    )?;
    matmul_into(a, b, &out)?;
    Ok(Product::Array(out))
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
    if out.shares_storage(a) || out.shares_storage(b) {
        // The operands would change while being read: compute into a new array first.
        let tmp = DistArray::empty(a.runtime(), &shape, res, crate::dist::Layout::Block)?;
        matmul_into(a, b, &tmp)?;
        out.copy_from(&tmp)?;
        return tmp.free();
    }
    if shape.is_empty() {
        return match matmul(a, b)? {
            Product::Scalar(s) => out.fill(s),
            Product::Array(r) => Err(Error::internal(format!("1-D · 1-D gave an array {r:?}"))),
        };
    }
    let row = [SliceItem::NewAxis, SliceItem::FULL];
    let col = [SliceItem::FULL, SliceItem::NewAxis];
    match (a.ndim(), b.ndim()) {
        (2, 2) => matmul2_into(a, b, out, res),
        (2, 1) => matmul2_into(a, &b.slice(&col)?, &out.slice(&col)?, res),
        (1, 2) => matmul2_into(&a.slice(&row)?, b, &out.slice(&row)?, res),
        (x, y) => Err(Error::shape(format!(
            "matmul supports 1-D and 2-D operands, got {x}-D and {y}-D"
        ))),
    }
}

//! Shape arithmetic shared by every module: element counts, C-order strides, broadcasting of
//! shapes, Python slice and axis normalisation, reshape targets, and iteration over boxes.
//! Pure functions, no MPI.

use crate::error::{Error, Result};

/// Row-major (C-order) strides, in elements, of a dense array of the given shape. Saturating:
/// only an empty array (an extent 0 after huge ones) can overflow, and its strides are never
/// used to address anything.
pub fn c_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1usize; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        strides[d] = strides[d + 1].saturating_mul(shape[d + 1]);
    }
    strides
}

/// Most dimensions an array or view may have (NumPy's `NPY_MAXDIMS`): views refuse more
/// (`OutOfBounds`, NumPy's `IndexError`), the engine's fixed-size index arrays hold this many.
pub const MAX_NDIM: usize = 64;

/// `OutOfBounds` unless `ndim <= MAX_NDIM`.
pub fn check_ndim(ndim: usize) -> Result<()> {
    if ndim > MAX_NDIM {
        return Err(Error::out_of_bounds(format!(
            "number of dimensions must be within [0, {MAX_NDIM}], but is {ndim}"
        )));
    }
    Ok(())
}

/// Number of elements of a shape, or a `Shape` error if it overflows `usize` (as the C ABI
/// documents for every call that makes a shape: a size overflow is a shape error).
pub fn checked_len(shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &n| acc.checked_mul(n))
        .ok_or_else(|| Error::shape(format!("array of shape {shape:?} is too large")))
}

/// The element count of `shape` for elements of `dtype`, checked as NumPy does: more than
/// `isize::MAX` bytes is a `Shape` error ("array is too big"), naming `what` (an array, a
/// view).
pub fn checked_len_bytes(shape: &[usize], dtype: crate::dtype::DType, what: &str) -> Result<usize> {
    let len = checked_len(shape)?;
    if !matches!(len.checked_mul(dtype.size()), Some(b) if isize::try_from(b).is_ok()) {
        return Err(Error::shape(format!(
            "array is too big: {what} of shape {shape:?} of {} has more than isize::MAX bytes",
            dtype.name()
        )));
    }
    Ok(len)
}

/// Formats a shape as NumPy prints it: `(2,3)`, `(4,)`, `()`.
pub fn shape_str(shape: &[usize]) -> String {
    match shape {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        _ => {
            let parts: Vec<String> = shape.iter().map(|n| n.to_string()).collect();
            format!("({})", parts.join(","))
        }
    }
}

/// Like [`shape_str`] for a shape that may hold `-1` placeholders.
pub fn shape_str_signed(shape: &[isize]) -> String {
    match shape {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        _ => {
            let parts: Vec<String> = shape.iter().map(|n| n.to_string()).collect();
            format!("({})", parts.join(","))
        }
    }
}

/// The broadcast shape of several shapes (`np.broadcast_shapes`): shapes are aligned at their
/// last axis; along each axis the extents must be equal or 1 (a missing axis counts as 1), and
/// the result is the extent that is not 1 (so `1` with `0` gives `0`).
///
/// The error message follows NumPy: `operands could not be broadcast together with shapes
/// (2,3) (4,)`.
pub fn broadcast_shapes(shapes: &[&[usize]]) -> Result<Vec<usize>> {
    if let [first, rest @ ..] = shapes {
        if rest.iter().all(|s| s == first) {
            return Ok(first.to_vec());
        }
    }
    let nd = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = vec![1usize; nd];
    for s in shapes {
        let pad = nd - s.len();
        for (k, &n) in s.iter().enumerate() {
            let o = &mut out[pad + k];
            if *o == 1 {
                *o = n;
            } else if n != 1 && n != *o {
                let list: Vec<String> = shapes.iter().map(|s| shape_str(s)).collect();
                return Err(Error::shape(format!(
                    "operands could not be broadcast together with shapes {}",
                    list.join(" ")
                )));
            }
        }
    }
    Ok(out)
}

/// Resolves a slice on an axis of length `n` exactly as Python's `slice.indices` /
/// `PySlice_AdjustIndices`: returns `(start, step, len)` of the selected indices
/// `start, start + step, …` (`len` of them).
pub fn adjust_slice(n: usize, start: Option<isize>, stop: Option<isize>, step: isize) -> Result<(isize, isize, usize)> {
    if step == 0 {
        return Err(Error::invalid("slice step cannot be zero"));
    }
    let n = isize::try_from(n).map_err(|_| Error::invalid("axis too long"))?;
    let clip = |v: Option<isize>, default: isize| -> isize {
        match v {
            None => default,
            Some(mut v) => {
                if v < 0 {
                    v += n;
                    if v < 0 {
                        v = if step < 0 { -1 } else { 0 };
                    }
                } else if v >= n {
                    v = if step < 0 { n - 1 } else { n };
                }
                v
            }
        }
    };
    let (start, stop) = if step > 0 {
        (clip(start, 0), clip(stop, n))
    } else {
        (clip(start, n - 1), clip(stop, -1))
    };
    // Both differences are positive where used; `unsigned_abs` also keeps `isize::MIN` steps
    // from overflowing.
    let len = if step > 0 && start < stop {
        (stop - start - 1).unsigned_abs() / step.unsigned_abs() + 1
    } else if step < 0 && stop < start {
        (start - stop - 1).unsigned_abs() / step.unsigned_abs() + 1
    } else {
        0
    };
    Ok((start, step, len))
}

/// Normalises a possibly negative axis number (`-1` is the last axis) for `ndim` axes.
pub fn normalize_axis(axis: isize, ndim: usize) -> Result<usize> {
    let n = isize::try_from(ndim).map_err(|_| Error::invalid("too many axes"))?;
    let a = if axis < 0 { axis + n } else { axis };
    if a < 0 || a >= n {
        return Err(Error::out_of_bounds(format!(
            "axis {axis} is out of bounds for array of dimension {ndim}"
        )));
    }
    Ok(a.unsigned_abs())
}

/// Resolves a reshape target that may contain one `-1` ("whatever is left") for an array of
/// `total` elements, as NumPy does. Errors: more than one `-1`, other negative extents, or a
/// product different from `total`.
pub fn resolve_shape(total: usize, shape: &[isize]) -> Result<Vec<usize>> {
    let mut unknown = None;
    let mut known: usize = 1;
    for (d, &n) in shape.iter().enumerate() {
        if n == -1 {
            if unknown.replace(d).is_some() {
                return Err(Error::shape("can only specify one unknown dimension"));
            }
        } else if n < 0 {
            return Err(Error::shape(format!("negative dimension {n} in reshape")));
        } else {
            known = known
                .checked_mul(n.unsigned_abs())
                .ok_or_else(|| Error::shape("reshape target is too large"))?;
        }
    }
    let mut out: Vec<usize> = shape.iter().map(|&n| n.max(0).unsigned_abs()).collect();
    let bad = || {
        Error::shape(format!(
            "cannot reshape array of size {total} into shape {}",
            shape_str_signed(shape)
        ))
    };
    match unknown {
        Some(d) => {
            if known == 0 || total % known != 0 {
                return Err(bad());
            }
            out[d] = total / known;
        }
        None if known != total => return Err(bad()),
        None => {}
    }
    Ok(out)
}

/// Multi-index iteration in C order over the box `[lo, hi)`.
pub(crate) fn for_each_index(lo: &[usize], hi: &[usize], mut f: impl FnMut(&[usize])) {
    if lo.iter().zip(hi).any(|(l, h)| l >= h) {
        return;
    }
    let mut idx = lo.to_vec();
    loop {
        f(&idx);
        let mut d = idx.len();
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            idx[d] += 1;
            if idx[d] < hi[d] {
                break;
            }
            idx[d] = lo[d];
        }
    }
}

pub(crate) fn box_len(lo: &[usize], hi: &[usize]) -> usize {
    lo.iter().zip(hi).map(|(l, h)| h.saturating_sub(*l)).product()
}

/// The contiguous runs of the box `[lo, hi)` of a dense C-order array of shape `shape`, as
/// `(offset, len)` in elements, in C order of the box: one run per row along the last axis,
/// merged across axes wherever the box covers the whole extent of the axes after it.
pub(crate) fn box_runs(shape: &[usize], lo: &[usize], hi: &[usize]) -> Vec<(usize, usize)> {
    let nd = shape.len();
    if lo.iter().zip(hi).any(|(l, h)| l >= h) {
        return Vec::new();
    }
    let st = c_strides(shape);
    // Axes j.. form one contiguous chunk when every axis after j is covered completely.
    let mut j = nd;
    let mut chunk = 1;
    while j > 0 {
        j -= 1;
        chunk *= hi[j] - lo[j];
        if j == 0 || hi[j] - lo[j] != shape[j] {
            break;
        }
    }
    let outer = if nd == 0 { 0 } else { j };
    let mut runs = Vec::new();
    for_each_index(&lo[..outer], &hi[..outer], |idx| {
        let mut off: usize = idx.iter().zip(&st).map(|(i, s)| i * s).sum();
        off += lo[outer..].iter().zip(&st[outer..]).map(|(i, s)| i * s).sum::<usize>();
        runs.push((off, chunk));
    });
    runs
}

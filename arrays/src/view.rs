//! Strided views over the global index space of a base array, as NumPy's basic indexing
//! produces them. A [`ViewSpec`] holds no data: element `v` of the view is the base element at
//! base linear C-order offset `offset + Σ v[d]·strides[d]`.
//!
//! Strides are counted in base elements and may be negative (reversed slices) or zero (new and
//! broadcast axes).

use crate::error::{Error, Result};
use crate::shape::{adjust_slice, c_strides, checked_len, normalize_axis, shape_str};
use std::rc::Rc;

/// One entry of a NumPy basic index (`a[1:5:2, -1, np.newaxis, ...]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SliceItem {
    /// `start:stop:step`; `None` bounds are the ends that depend on the step's sign. Negative
    /// bounds count from the end; out-of-range bounds are clipped. `step == 0` is an error.
    Range {
        /// First index, or `None`.
        start: Option<isize>,
        /// One-past-last index (in the direction of `step`), or `None`.
        stop: Option<isize>,
        /// Step, non-zero.
        step: isize,
    },
    /// A single index, removing the axis; negative counts from the end; out of range is an
    /// error.
    Index(isize),
    /// `np.newaxis` / `None`: a new axis of length 1.
    NewAxis,
    /// `...`: as many full slices as needed to index every axis. At most one per index.
    Ellipsis,
}

impl SliceItem {
    /// The full slice `:`.
    pub const FULL: SliceItem = SliceItem::Range {
        start: None,
        stop: None,
        step: 1,
    };

    /// `start:stop:step` with explicit bounds.
    pub fn range(start: isize, stop: isize, step: isize) -> SliceItem {
        SliceItem::Range {
            start: Some(start),
            stop: Some(stop),
            step,
        }
    }
}

/// A strided view of a base array's index space. See the [module docs](self).
///
/// The extents and strides are shared (`Rc`): the deferred queue keeps a copy of every
/// argument of every operation it records, and a copy then costs no allocation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ViewSpec {
    shape: Rc<[usize]>,
    strides: Rc<[isize]>,
    offset: usize,
    base_shape: Rc<[usize]>,
}

impl ViewSpec {
    /// The whole base array, in C order. Errors if the base has more than `isize::MAX`
    /// elements.
    pub fn full(base_shape: &[usize]) -> Result<ViewSpec> {
        crate::shape::check_ndim(base_shape.len())?;
        let len = checked_len(base_shape)?;
        isize::try_from(len).map_err(|_| Error::shape(format!("array of shape {base_shape:?} is too large")))?;
        Ok(ViewSpec {
            shape: base_shape.into(),
            // Every stride is at most `len`, which fits `isize`, unless the array is empty (an
            // extent 0 after huge ones): then the strides are never used, and saturate.
            strides: c_strides(base_shape)
                .into_iter()
                .map(|s| isize::try_from(s).unwrap_or(isize::MAX))
                .collect(),
            offset: 0,
            base_shape: base_shape.into(),
        })
    }

    /// A view from raw parts, validated: `shape` and `strides` have equal length and, unless the
    /// view is empty, every element lies inside the base.
    pub fn from_parts(
        shape: Vec<usize>,
        strides: Vec<isize>,
        offset: usize,
        base_shape: Vec<usize>,
    ) -> Result<ViewSpec> {
        if shape.len() != strides.len() {
            return Err(Error::invalid("shape and strides differ in length"));
        }
        crate::shape::check_ndim(shape.len())?;
        let base_len = checked_len(&base_shape)?;
        isize::try_from(base_len).map_err(|_| Error::shape(format!("array of shape {base_shape:?} is too large")))?;
        let len = checked_len(&shape)?;
        if len > 0 {
            let mut lo = offset as i128;
            let mut hi = offset as i128;
            for (&n, &s) in shape.iter().zip(&strides) {
                let span = (n as i128 - 1) * s as i128;
                if span < 0 {
                    lo += span;
                } else {
                    hi += span;
                }
            }
            if lo < 0 || hi >= base_len as i128 {
                return Err(Error::out_of_bounds("view reaches outside its base array"));
            }
        }
        Ok(ViewSpec {
            shape: shape.into(),
            strides: strides.into(),
            offset,
            base_shape: base_shape.into(),
        })
    }

    /// The view's shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Strides in base elements.
    pub fn strides(&self) -> &[isize] {
        &self.strides
    }

    /// Base linear C-order offset of view element `[0, …, 0]` (meaningless for empty views).
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The base array's shape.
    pub fn base_shape(&self) -> &[usize] {
        &self.base_shape
    }

    /// Number of view dimensions.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// Number of view elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the view has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Applies a NumPy basic index (`view[items]`). Follows NumPy: a missing trailing part is
    /// `...`; negative indices count from the end; slice bounds are clipped; errors for a zero
    /// step, an out-of-range integer index, more than one ellipsis or too many indices.
    pub fn slice(&self, items: &[SliceItem]) -> Result<ViewSpec> {
        let consumed = items
            .iter()
            .filter(|it| matches!(it, SliceItem::Range { .. } | SliceItem::Index(_)))
            .count();
        let ellipses = items.iter().filter(|it| matches!(it, SliceItem::Ellipsis)).count();
        if ellipses > 1 {
            return Err(Error::invalid("an index can only have a single ellipsis ('...')"));
        }
        if consumed > self.ndim() {
            return Err(Error::out_of_bounds(format!(
                "too many indices for array: array is {}-dimensional, but {consumed} were indexed",
                self.ndim()
            )));
        }
        let mut shape = Vec::new();
        let mut strides = Vec::new();
        // `offset` and every reachable offset fit `isize` (the base length does).
        let mut offset = self.offset as isize;
        let mut d = 0;
        let mut apply =
            |item: SliceItem, d: &mut usize, shape: &mut Vec<usize>, strides: &mut Vec<isize>| -> Result<()> {
                match item {
                    SliceItem::Range { start, stop, step } => {
                        let (n, s) = (self.shape[*d], self.strides[*d]);
                        let (start, step, len) = adjust_slice(n, start, stop, step)?;
                        if len > 0 {
                            offset += start * s;
                        }
                        shape.push(len);
                        // With len >= 2 the product is a distance inside the base, so it fits;
                        // with len <= 1 the stride is never used.
                        strides.push(if len > 1 { s * step } else { 0 });
                        *d += 1;
                    }
                    SliceItem::Index(i) => {
                        let (n, s) = (self.shape[*d], self.strides[*d]);
                        let ni = isize::try_from(n).map_err(|_| Error::invalid("axis too long"))?;
                        let j = if i < 0 { i + ni } else { i };
                        if j < 0 || j >= ni {
                            return Err(Error::out_of_bounds(format!(
                                "index {i} is out of bounds for axis {} with size {n}",
                                *d
                            )));
                        }
                        offset += j * s;
                        *d += 1;
                    }
                    SliceItem::NewAxis => {
                        shape.push(1);
                        strides.push(0);
                    }
                    SliceItem::Ellipsis => {
                        for _ in 0..self.ndim() - consumed {
                            shape.push(self.shape[*d]);
                            strides.push(self.strides[*d]);
                            *d += 1;
                        }
                    }
                }
                Ok(())
            };
        for &item in items {
            apply(item, &mut d, &mut shape, &mut strides)?;
        }
        while d < self.ndim() {
            apply(SliceItem::FULL, &mut d, &mut shape, &mut strides)?;
        }
        crate::shape::check_ndim(shape.len())?;
        let offset = if shape.contains(&0) {
            self.offset
        } else {
            usize::try_from(offset).map_err(|_| Error::internal("slice produced a negative base offset"))?
        };
        Ok(ViewSpec {
            shape: shape.into(),
            strides: strides.into(),
            offset,
            base_shape: self.base_shape.clone(),
        })
    }

    /// Permutes the axes: axis `k` of the result is axis `axes[k]` of `self`
    /// (`np.transpose(a, axes)`). `axes` must be a permutation of `0..ndim`.
    pub fn transpose(&self, axes: &[usize]) -> Result<ViewSpec> {
        let mut seen = vec![false; self.ndim()];
        if axes.len() != self.ndim() {
            return Err(Error::invalid("axes don't match array"));
        }
        for &a in axes {
            match seen.get_mut(a) {
                Some(s) if !*s => *s = true,
                _ => return Err(Error::invalid("axes don't match array")),
            }
        }
        Ok(ViewSpec {
            shape: axes.iter().map(|&a| self.shape[a]).collect(),
            strides: axes.iter().map(|&a| self.strides[a]).collect(),
            offset: self.offset,
            base_shape: self.base_shape.clone(),
        })
    }

    /// Reverses the axis order (`a.T`).
    pub fn reversed_axes(&self) -> ViewSpec {
        let mut v = self.clone();
        v.shape = self.shape.iter().rev().copied().collect();
        v.strides = self.strides.iter().rev().copied().collect();
        v
    }

    /// Exchanges two axes (`np.swapaxes`); negative axes count from the end.
    pub fn swapaxes(&self, a: isize, b: isize) -> Result<ViewSpec> {
        let a = normalize_axis(a, self.ndim())?;
        let b = normalize_axis(b, self.ndim())?;
        let (mut shape, mut strides) = (self.shape.to_vec(), self.strides.to_vec());
        shape.swap(a, b);
        strides.swap(a, b);
        Ok(ViewSpec {
            shape: shape.into(),
            strides: strides.into(),
            ..self.clone()
        })
    }

    /// Reshapes in C order without copying, if the strides allow it (NumPy's
    /// `_attempt_nocopy_reshape`): `Ok(Some(view))` when expressible as a view, `Ok(None)` when
    /// a copy is needed, an error when the element counts differ. Use [`resolve_shape`] for a
    /// target containing `-1`.
    pub fn reshape(&self, new_shape: &[usize]) -> Result<Option<ViewSpec>> {
        crate::shape::check_ndim(new_shape.len())?;
        let total = self.len();
        if checked_len(new_shape)? != total {
            return Err(Error::shape(format!(
                "cannot reshape array of size {total} into shape {}",
                shape_str(new_shape)
            )));
        }
        let make = |strides: Vec<isize>| ViewSpec {
            shape: new_shape.into(),
            strides: strides.into(),
            offset: self.offset,
            base_shape: self.base_shape.clone(),
        };
        if total == 0 {
            // No element is ever addressed, so any strides are valid; use zeros.
            return Ok(Some(make(vec![0; new_shape.len()])));
        }
        // Axes of length 1 carry no stride information; drop them.
        let (olddims, oldstrides): (Vec<usize>, Vec<isize>) = self
            .shape
            .iter()
            .zip(self.strides.iter())
            .filter(|(&n, _)| n != 1)
            .map(|(&n, &s)| (n, s))
            .unzip();
        let newdims = new_shape;
        let (oldnd, newnd) = (olddims.len(), newdims.len());
        let mut newstrides = vec![0isize; newnd];
        let (mut oi, mut oj, mut ni, mut nj) = (0, 1, 0, 1);
        while ni < newnd && oi < oldnd {
            let mut np = newdims[ni];
            let mut op = olddims[oi];
            while np != op {
                if np < op {
                    // Misses trailing 1s; those are handled below.
                    match newdims.get(nj) {
                        Some(&n) => np *= n,
                        None => return Ok(None),
                    }
                    nj += 1;
                } else {
                    match olddims.get(oj) {
                        Some(&n) => op *= n,
                        None => return Ok(None),
                    }
                    oj += 1;
                }
            }
            // The old axes oi..oj must be mergeable (C-contiguous relative to each other).
            for ok in oi..oj - 1 {
                if oldstrides[ok] != olddims[ok + 1] as isize * oldstrides[ok + 1] {
                    return Ok(None);
                }
            }
            newstrides[nj - 1] = oldstrides[oj - 1];
            for nk in (ni + 1..nj).rev() {
                newstrides[nk - 1] = newstrides[nk] * newdims[nk] as isize;
            }
            ni = nj;
            nj += 1;
            oi = oj;
            oj += 1;
        }
        // Trailing 1s of the new shape: any stride works; NumPy uses the last stride.
        let last = if ni >= 1 { newstrides[ni - 1] } else { 1 };
        for s in newstrides.iter_mut().skip(ni) {
            *s = last;
        }
        Ok(Some(make(newstrides)))
    }

    /// Base linear C-order offset of view element `view_idx`.
    pub fn base_offset(&self, view_idx: &[usize]) -> Result<usize> {
        if view_idx.len() != self.ndim() {
            return Err(Error::invalid(format!(
                "index of {} entries for a {}-d view",
                view_idx.len(),
                self.ndim()
            )));
        }
        if view_idx.iter().zip(self.shape.iter()).any(|(&i, &n)| i >= n) {
            return Err(Error::out_of_bounds(format!(
                "index {view_idx:?} is out of bounds for view of shape {:?}",
                self.shape
            )));
        }
        // All reachable offsets lie in 0..base_len <= isize::MAX.
        let mut off = self.offset as isize;
        for (&i, &s) in view_idx.iter().zip(self.strides.iter()) {
            off += i as isize * s;
        }
        usize::try_from(off).map_err(|_| Error::internal("view offset below the base start"))
    }

    /// Base global multi-index of view element `view_idx`.
    pub fn base_index(&self, view_idx: &[usize]) -> Result<Vec<usize>> {
        let mut lin = self.base_offset(view_idx)?;
        let mut idx = vec![0; self.base_shape.len()];
        for (slot, &n) in idx.iter_mut().zip(self.base_shape.iter()).rev() {
            *slot = lin % n;
            lin /= n;
        }
        Ok(idx)
    }

    /// Base linear offsets of all view elements, in the view's C order.
    pub fn base_offsets(&self) -> BaseOffsets<'_> {
        BaseOffsets {
            view: self,
            idx: vec![0; self.ndim()],
            cur: self.offset as isize,
            left: self.len(),
        }
    }

    /// The view as one base-axis move per view axis ([`AxisMap`]), when it is one: slices,
    /// integer indices, new and broadcast axes and transposes are; reshapes that merge or split
    /// base axes (and views of them such as a strided diagonal) are not, and give `None`, as
    /// does an empty view. Then every view box is a base box, which is what lets the engine
    /// work on boxes instead of elements.
    pub fn axis_map(&self) -> Option<AxisMap> {
        if self.is_empty() {
            return None;
        }
        let bnd = self.base_shape.len();
        let mut origin = vec![0usize; bnd];
        let mut lin = self.offset;
        for k in (0..bnd).rev() {
            origin[k] = lin % self.base_shape[k];
            lin /= self.base_shape[k];
        }
        let cs = c_strides(&self.base_shape[..]);
        let mut used = vec![false; bnd];
        let mut axes = Vec::with_capacity(self.ndim());
        for (&n, &s) in self.shape.iter().zip(self.strides.iter()) {
            if n <= 1 || s == 0 {
                axes.push(None);
                continue;
            }
            // The base axis whose stride divides `s` and along which all n positions stay
            // inside the base; unique when it exists (a larger base stride is a multiple of
            // the whole extent of every smaller one).
            let found = (0..bnd).find(|&k| {
                let c = cs[k] as isize;
                if used[k] || c == 0 || s % c != 0 {
                    return false;
                }
                let end = origin[k] as isize + (s / c) * (n as isize - 1);
                (0..self.base_shape[k] as isize).contains(&end)
            })?;
            used[found] = true;
            axes.push(Some((found, s / cs[found] as isize)));
        }
        Some(AxisMap { origin, axes })
    }

    /// Whether the view is the whole base array in the base's C order (possibly with a
    /// different shape, e.g. after a reshape): then view and base share one linear order.
    pub fn is_contiguous_full(&self) -> bool {
        let len = self.len();
        if len != self.base_shape.iter().product::<usize>() {
            return false;
        }
        if len == 0 {
            return true;
        }
        if self.offset != 0 {
            return false;
        }
        let mut expect: isize = 1;
        for (&n, &s) in self.shape.iter().zip(self.strides.iter()).rev() {
            if n != 1 && s != expect {
                return false;
            }
            expect *= n as isize;
        }
        true
    }
}

/// A view as one move along one base axis per view axis: the engine's view-to-base map
/// ([`ViewSpec::axis_map`]). View element `i` is the base element whose index along base axis
/// `k` is `origin[k] + Σ step_d · i[d]` over the view axes `d` mapped to `k` (at most one).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AxisMap {
    /// Base multi-index of view element `[0, …, 0]`.
    pub origin: Vec<usize>,
    /// For each view axis: the base axis it moves along and the step there (in base indices,
    /// non-zero), or `None` when moving along the view axis stays on the same base element (a
    /// new or broadcast axis, or an axis of extent 1).
    pub axes: Vec<Option<(usize, isize)>>,
}

impl AxisMap {
    /// The base box `[lo, hi)` covered by the view box `[vlo, vhi)` (non-empty).
    pub fn base_box(&self, vlo: &[usize], vhi: &[usize]) -> (Vec<usize>, Vec<usize>) {
        let mut lo = self.origin.clone();
        let mut hi: Vec<usize> = self.origin.iter().map(|x| x + 1).collect();
        for (d, ax) in self.axes.iter().enumerate() {
            if let Some((k, m)) = *ax {
                // Both ends lie inside the base (checked when the map was built).
                let a = self.origin[k] as isize + m * vlo[d] as isize;
                let b = self.origin[k] as isize + m * (vhi[d] as isize - 1);
                lo[k] = a.min(b) as usize;
                hi[k] = a.max(b) as usize + 1;
            }
        }
        (lo, hi)
    }

    /// The view indices `i` in `[vlo, vhi)` along view axis `d` whose base index lies in
    /// `[glo, ghi)` along the base axis `d` maps to, as a range (possibly empty).
    pub fn view_range(&self, d: usize, vlo: usize, vhi: usize, glo: usize, ghi: usize) -> (usize, usize) {
        let Some((k, m)) = self.axes[d] else {
            return (vlo, vhi);
        };
        let o = self.origin[k] as isize;
        let (glo, ghi) = (glo as isize, ghi as isize);
        // o + m i ∈ [glo, ghi)  ⇔  i ∈ [ceil((glo - o) / m), ceil((ghi - o) / m)) for m > 0,
        // and i ∈ [floor((ghi - o) / m) + 1, floor((glo - o) / m) + 1) for m < 0.
        let (a, b) = if m > 0 {
            (div_ceil(glo - o, m), div_ceil(ghi - o, m))
        } else {
            (div_floor(ghi - o, m) + 1, div_floor(glo - o, m) + 1)
        };
        let lo = a.max(vlo as isize).min(vhi as isize) as usize;
        let hi = b.max(lo as isize).min(vhi as isize) as usize;
        (lo, hi.max(lo))
    }
}

fn div_floor(a: isize, b: isize) -> isize {
    let q = a / b;
    if (a % b != 0) && ((a < 0) != (b < 0)) {
        q - 1
    } else {
        q
    }
}

fn div_ceil(a: isize, b: isize) -> isize {
    -div_floor(-a, b)
}

/// Iterator over a view's base linear offsets in C order ([`ViewSpec::base_offsets`]).
#[derive(Clone, Debug)]
pub struct BaseOffsets<'a> {
    view: &'a ViewSpec,
    idx: Vec<usize>,
    cur: isize,
    left: usize,
}

impl Iterator for BaseOffsets<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let out = self.cur.unsigned_abs();
        // Advance the odometer (last axis fastest) and the running offset. Every step and
        // rewind is a distance between two elements of the view (or zero for stride-0 axes),
        // so it fits `isize` like the base length does.
        for d in (0..self.idx.len()).rev() {
            let (n, s) = (self.view.shape[d], self.view.strides[d]);
            if self.idx[d] + 1 < n {
                self.idx[d] += 1;
                self.cur += s;
                break;
            }
            self.cur -= s * (n - 1) as isize;
            self.idx[d] = 0;
        }
        Some(out)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for BaseOffsets<'_> {}

/// A view of `view` broadcast to `target` (`np.broadcast_to`): new leading axes and axes of
/// length 1 stretched to another length get stride 0. Errors if `view`'s shape does not
/// broadcast to exactly `target`.
pub fn broadcast_view(view: &ViewSpec, target: &[usize]) -> Result<ViewSpec> {
    let shape = view.shape();
    let err = || {
        Error::shape(format!(
            "cannot broadcast an array of shape {} to shape {}",
            shape_str(shape),
            shape_str(target)
        ))
    };
    if shape.len() > target.len() {
        return Err(err());
    }
    let pad = target.len() - shape.len();
    let mut strides = vec![0isize; target.len()];
    for (k, (&n, &s)) in shape.iter().zip(view.strides()).enumerate() {
        let t = target[pad + k];
        strides[pad + k] = if n == t {
            s
        } else if n == 1 {
            0
        } else {
            return Err(err());
        };
    }
    ViewSpec::from_parts(target.to_vec(), strides, view.offset(), view.base_shape().to_vec())
}

#[cfg(test)]
mod hostile_tests {
    use super::*;
    use crate::error::ErrorKind;

    /// Regressions found by the C ABI fuzz driver (issue 11).
    #[test]
    fn sizes_and_dimensions_beyond_the_limits() {
        // more elements than usize holds, or than isize: a shape error (DISTARR_ERR_SHAPE)
        assert_eq!(checked_len(&[usize::MAX, 2]).unwrap_err().kind(), ErrorKind::Shape);
        assert_eq!(
            ViewSpec::full(&[isize::MAX as usize, 2]).unwrap_err().kind(),
            ErrorKind::Shape
        );
        // an empty array with huge extents: strides saturate instead of overflowing
        assert_eq!(c_strides(&[0, usize::MAX, 4]), vec![usize::MAX, 4, 1]);
        let v = ViewSpec::full(&[0, 1 << 62, 4]).unwrap();
        assert_eq!(v.len(), 0);
        // at most 64 dimensions (NumPy's limit), through slicing with new axes too
        assert!(ViewSpec::full(&[1; 64]).is_ok());
        assert_eq!(ViewSpec::full(&[1; 65]).unwrap_err().kind(), ErrorKind::OutOfBounds);
        let v = ViewSpec::full(&[2, 3]).unwrap();
        assert_eq!(v.slice(&[SliceItem::NewAxis; 62]).unwrap().shape().len(), 64);
        let e = v.slice(&[SliceItem::NewAxis; 63]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::OutOfBounds, "{e}");
        assert!(v.reshape(&[1; 65]).is_err());
        // extreme slice bounds and steps (Python semantics, no overflow)
        let w = v
            .slice(&[
                SliceItem::Range {
                    start: Some(isize::MIN),
                    stop: Some(isize::MAX),
                    step: isize::MIN,
                },
                SliceItem::Range {
                    start: Some(isize::MAX),
                    stop: None,
                    step: -isize::MAX,
                },
            ])
            .unwrap();
        assert_eq!(w.shape(), &[0, 1]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::resolve_shape;
    use ndarray::{ArrayD, Axis, IxDyn, Slice};
    use proptest::prelude::*;

    fn base(shape: &[usize]) -> ArrayD<usize> {
        let n: usize = shape.iter().product();
        ArrayD::from_shape_vec(IxDyn(shape), (0..n).collect()).unwrap()
    }

    fn elems(v: &ViewSpec) -> Vec<usize> {
        v.base_offsets().collect()
    }

    /// Python's slice semantics written from the language reference: clamp the bounds, then walk.
    fn py_slice(n: usize, start: Option<isize>, stop: Option<isize>, step: isize) -> Vec<usize> {
        let n = n as isize;
        let fix = |v: isize| if v < 0 { v + n } else { v };
        let mut out = vec![];
        if step > 0 {
            let i = start.map_or(0, fix).clamp(0, n);
            let j = stop.map_or(n, fix).clamp(0, n);
            let mut x = i;
            while x < j {
                out.push(x as usize);
                x += step;
            }
        } else {
            let i = start.map_or(n - 1, fix).clamp(-1, n - 1);
            let j = stop.map_or(-1, fix).clamp(-1, n - 1);
            let mut x = i;
            while x > j {
                out.push(x as usize);
                x += step;
            }
        }
        out
    }

    #[test]
    fn adjust_slice_hand_checked() {
        // list(range(10))[slice] in Python
        let sel = |start, stop, step| {
            let (s, st, len) = adjust_slice(10, start, stop, step).unwrap();
            (0..len as isize).map(|k| s + k * st).collect::<Vec<_>>()
        };
        assert_eq!(sel(None, None, 3), vec![0, 3, 6, 9]);
        assert_eq!(sel(None, None, -3), vec![9, 6, 3, 0]);
        assert_eq!(sel(Some(-3), None, 1), vec![7, 8, 9]);
        assert_eq!(sel(Some(8), Some(2), -2), vec![8, 6, 4]);
        assert_eq!(sel(Some(100), None, -4), vec![9, 5, 1]);
        assert_eq!(sel(Some(-100), Some(3), 1), vec![0, 1, 2]);
        assert_eq!(sel(None, Some(-1), -1), Vec::<isize>::new());
        assert_eq!(sel(Some(2), Some(2), 1), Vec::<isize>::new());
        assert_eq!(sel(Some(5), Some(-100), -2), vec![5, 3, 1]);
        assert!(adjust_slice(10, None, None, 0).is_err());
        assert_eq!(adjust_slice(10, None, None, isize::MIN).unwrap(), (9, isize::MIN, 1));
        assert_eq!(adjust_slice(10, None, None, isize::MAX).unwrap(), (0, isize::MAX, 1));
        assert_eq!(adjust_slice(0, None, None, -1).unwrap().2, 0);
    }

    #[test]
    fn slicing_examples() {
        // a = np.arange(24).reshape(2, 3, 4)
        let v = ViewSpec::full(&[2, 3, 4]).unwrap();
        // a[1, ::-1, 1:3] -> [[21,22],[17,18],[13,14]]
        let s = v
            .slice(&[
                SliceItem::Index(1),
                SliceItem::Range {
                    start: None,
                    stop: None,
                    step: -1,
                },
                SliceItem::range(1, 3, 1),
            ])
            .unwrap();
        assert_eq!(s.shape(), &[3, 2]);
        assert_eq!(elems(&s), vec![21, 22, 17, 18, 13, 14]);
        // a[..., -1] -> [[3,7,11],[15,19,23]]
        let s = v.slice(&[SliceItem::Ellipsis, SliceItem::Index(-1)]).unwrap();
        assert_eq!(s.shape(), &[2, 3]);
        assert_eq!(elems(&s), vec![3, 7, 11, 15, 19, 23]);
        // a[None, 0, ..., None, 2].shape == (1, 3, 1)
        let s = v
            .slice(&[
                SliceItem::NewAxis,
                SliceItem::Index(0),
                SliceItem::Ellipsis,
                SliceItem::NewAxis,
                SliceItem::Index(2),
            ])
            .unwrap();
        assert_eq!(s.shape(), &[1, 3, 1]);
        assert_eq!(elems(&s), vec![2, 6, 10]);
        assert_eq!(s.base_index(&[0, 2, 0]).unwrap(), vec![0, 2, 2]);
        // errors
        assert!(v.slice(&[SliceItem::Index(2)]).is_err());
        assert!(v.slice(&[SliceItem::Index(-3)]).is_err());
        assert!(v.slice(&[SliceItem::Ellipsis, SliceItem::Ellipsis]).is_err());
        assert!(v.slice(&[SliceItem::Index(0); 4]).is_err());
        assert!(v.slice(&[SliceItem::range(0, 1, 0)]).is_err());
        // 0-d: a[()] and a[None]
        let z = ViewSpec::full(&[]).unwrap();
        assert_eq!(elems(&z.slice(&[]).unwrap()), vec![0]);
        assert_eq!(z.slice(&[SliceItem::NewAxis]).unwrap().shape(), &[1]);
    }

    #[test]
    fn reshape_examples() {
        let v = ViewSpec::full(&[4, 6]).unwrap();
        // contiguous: any reshape works
        assert!(v.reshape(&[2, 3, 4]).unwrap().unwrap().is_contiguous_full());
        // a[:, ::2] (shape 4x3, strides 6,2) is evenly strided: reshape(12) has stride 2
        let s = v.slice(&[SliceItem::FULL, SliceItem::range(0, 6, 2)]).unwrap();
        assert_eq!(s.reshape(&[12]).unwrap().unwrap().strides(), &[2]);
        // a[:, 1:4] (shape 4x3, strides 6,1) → reshape(12) needs a copy, reshape(2,2,3) doesn't
        let s = v.slice(&[SliceItem::FULL, SliceItem::range(1, 4, 1)]).unwrap();
        assert_eq!(s.reshape(&[12]).unwrap(), None);
        let r = s.reshape(&[2, 2, 3]).unwrap().unwrap();
        assert_eq!(r.strides(), &[12, 6, 1]);
        assert_eq!(r.offset(), 1);
        // a[:, 1:4].reshape(4, 1, 3, 1): NumPy gives strides (48, 24, 8, 8) bytes = (6, 3, 1, 1)
        assert_eq!(s.reshape(&[4, 1, 3, 1]).unwrap().unwrap().strides(), &[6, 3, 1, 1]);
        // transpose → reshape needs a copy
        assert_eq!(v.reversed_axes().reshape(&[24]).unwrap(), None);
        assert!(v.reshape(&[5, 5]).is_err());
        assert_eq!(resolve_shape(24, &[2, -1, 3]).unwrap(), vec![2, 4, 3]);
        assert!(resolve_shape(24, &[5, -1]).is_err());
        assert!(resolve_shape(24, &[-1, -1]).is_err());
        assert!(resolve_shape(24, &[-2, 12]).is_err());
        assert!(resolve_shape(0, &[0, -1]).is_err());
        assert_eq!(resolve_shape(0, &[3, 0]).unwrap(), vec![3, 0]);
        assert!(!v.slice(&[SliceItem::range(1, 4, 1)]).unwrap().is_contiguous_full());
        assert!(!v.reversed_axes().is_contiguous_full());
        assert!(ViewSpec::full(&[3, 1, 2])
            .unwrap()
            .swapaxes(0, 1)
            .unwrap()
            .is_contiguous_full());
    }

    #[test]
    fn from_parts_validates() {
        assert!(ViewSpec::from_parts(vec![3], vec![2], 0, vec![5]).is_ok());
        assert!(ViewSpec::from_parts(vec![3], vec![2], 1, vec![5]).is_err());
        assert!(ViewSpec::from_parts(vec![3], vec![-2], 3, vec![5]).is_err());
        assert!(ViewSpec::from_parts(vec![3], vec![-2], 4, vec![5]).is_ok());
        assert!(ViewSpec::from_parts(vec![0], vec![99], 99, vec![5]).is_ok());
        assert!(ViewSpec::from_parts(vec![3], vec![2, 1], 0, vec![5]).is_err());
    }

    #[derive(Clone, Debug)]
    enum Op {
        Slice(Vec<SliceItem>),
        Transpose(Vec<usize>),
        Reshape(Vec<usize>),
    }

    fn item() -> impl Strategy<Value = SliceItem> {
        let bound = prop::option::of(-9isize..=9);
        prop_oneof![
            4 => (bound.clone(), bound, prop_oneof![-3isize..=-1, 1isize..=3])
                .prop_map(|(start, stop, step)| SliceItem::Range { start, stop, step }),
            2 => (-6isize..=6).prop_map(SliceItem::Index),
            1 => Just(SliceItem::NewAxis),
            1 => Just(SliceItem::Ellipsis),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => prop::collection::vec(item(), 0..=4).prop_map(Op::Slice),
            1 => prop::collection::vec(any::<usize>(), 0..=5).prop_map(Op::Transpose),
            1 => prop::collection::vec(1usize..=4, 0..=4).prop_map(Op::Reshape),
        ]
    }

    /// NumPy basic indexing done with ndarray's own per-axis operations, given Python slice
    /// semantics through `py_slice`. None when the index is invalid for this shape.
    fn nd_slice<'a>(a: ndarray::ArrayViewD<'a, usize>, items: &[SliceItem]) -> Option<ndarray::ArrayViewD<'a, usize>> {
        if items.iter().filter(|i| matches!(i, SliceItem::Ellipsis)).count() > 1 {
            return None;
        }
        let consumed = items
            .iter()
            .filter(|i| matches!(i, SliceItem::Range { .. } | SliceItem::Index(_)))
            .count();
        if consumed > a.ndim() {
            return None;
        }
        let mut expanded = vec![];
        for &it in items {
            if it == SliceItem::Ellipsis {
                expanded.extend(std::iter::repeat(SliceItem::FULL).take(a.ndim() - consumed));
            } else {
                expanded.push(it);
            }
        }
        let used = expanded.iter().filter(|i| !matches!(i, SliceItem::NewAxis)).count();
        expanded.extend(std::iter::repeat(SliceItem::FULL).take(a.ndim() - used));
        let mut cur = a;
        let mut ax = 0;
        for it in expanded {
            match it {
                SliceItem::Range { start, stop, step } => {
                    let sel = py_slice(cur.shape()[ax], start, stop, step);
                    let sl = match (sel.first(), sel.last()) {
                        (Some(&f), Some(&l)) if step > 0 => Slice::new(f as isize, Some(l as isize + 1), step),
                        (Some(&f), Some(&l)) => Slice::new(l as isize, Some(f as isize + 1), step),
                        _ => Slice::new(0, Some(0), 1),
                    };
                    cur.slice_axis_inplace(Axis(ax), sl);
                    ax += 1;
                }
                SliceItem::Index(i) => {
                    let n = cur.shape()[ax] as isize;
                    let j = if i < 0 { i + n } else { i };
                    if j < 0 || j >= n {
                        return None;
                    }
                    cur = cur.index_axis_move(Axis(ax), j as usize);
                }
                SliceItem::NewAxis => {
                    cur = cur.insert_axis(Axis(ax));
                    ax += 1;
                }
                SliceItem::Ellipsis => unreachable!(),
            }
        }
        Some(cur)
    }

    /// Applies `op` to an ndarray view with ndarray's own per-axis operations, given NumPy's
    /// semantics through `py_slice`. Returns None when the op is invalid for this shape.
    fn ndarray_apply(a: ndarray::ArrayViewD<'_, usize>, op: &Op) -> Option<ndarray::ArrayD<usize>> {
        match op {
            Op::Slice(items) => nd_slice(a, items).map(|v| v.to_owned()),
            Op::Transpose(raw) => {
                let nd = a.ndim();
                if raw.len() != nd {
                    return None;
                }
                // Turn random numbers into a permutation (or leave it invalid if they repeat).
                let axes: Vec<usize> = raw.iter().map(|&x| x % nd.max(1)).collect();
                let mut sorted = axes.clone();
                sorted.sort_unstable();
                sorted.dedup();
                if sorted.len() != nd {
                    return None;
                }
                Some(a.permuted_axes(IxDyn(&axes)).to_owned())
            }
            Op::Reshape(shape) => {
                if shape.iter().product::<usize>() != a.len() {
                    return None;
                }
                Some(a.to_shape(IxDyn(shape)).ok()?.into_owned())
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn views_match_ndarray(
            base_shape in prop::collection::vec(0usize..=5, 0..=4),
            ops in prop::collection::vec(op(), 1..=3),
        ) {
            let arr = base(&base_shape);
            let mut v = ViewSpec::full(&base_shape).unwrap();
            let mut reference = arr.clone();
            for op in &ops {
                let want = ndarray_apply(reference.view(), op);
                let got = match op {
                    Op::Slice(items) => v.slice(items).ok(),
                    Op::Transpose(raw) => {
                        let nd = v.ndim();
                        let axes: Vec<usize> = raw.iter().map(|&x| x % nd.max(1)).collect();
                        v.transpose(&axes).ok()
                    }
                    Op::Reshape(shape) => match v.reshape(shape) {
                        Ok(Some(r)) => Some(r),
                        // a copy is needed: NumPy would copy; the element order still must
                        // agree, continue from a fresh contiguous base holding the same values
                        Ok(None) => None,
                        Err(_) => None,
                    },
                };
                match (want, got) {
                    // both reject the operation (bad index, bad axes, wrong size)
                    (None, None) => return Ok(()),
                    (Some(w), Some(g)) => {
                        prop_assert_eq!(w.shape(), g.shape());
                        let got_vals: Vec<usize> = elems(&g).into_iter().map(|o| arr.as_slice().unwrap()[o]).collect();
                        prop_assert_eq!(got_vals, w.iter().copied().collect::<Vec<_>>());
                        // base_index agrees with base_offsets for a sample element
                        if !g.is_empty() {
                            let first = vec![0; g.ndim()];
                            let bi = g.base_index(&first).unwrap();
                            let lin = bi.iter().zip(&base_shape).fold(0, |acc, (&i, &n)| acc * n + i);
                            prop_assert_eq!(lin, g.base_offset(&first).unwrap());
                        }
                        reference = w;
                        v = g;
                    }
                    (w, g) => {
                        // the only allowed disagreement: a reshape ndarray can do as a copy
                        if let (Op::Reshape(_), Some(_), None) = (op, &w, &g) {
                            return Ok(());
                        }
                        prop_assert!(false, "ndarray {:?} vs ours {:?} for {:?}", w.map(|x| x.shape().to_vec()), g, op);
                    }
                }
            }
        }

        #[test]
        fn reshape_nocopy_agrees_with_ndarray(
            base_shape in prop::collection::vec(1usize..=4, 1..=4),
            items in prop::collection::vec(item(), 0..=4),
            perm_seed in any::<u64>(),
            target in prop::collection::vec(1usize..=4, 0..=4),
        ) {
            let arr = base(&base_shape);
            let Ok(mut v) = ViewSpec::full(&base_shape).unwrap().slice(&items) else { return Ok(()); };
            // a pseudo-random permutation
            let nd = v.ndim();
            let mut axes: Vec<usize> = (0..nd).collect();
            let mut s = perm_seed;
            for k in (1..nd).rev() {
                axes.swap(k, (s % (k as u64 + 1)) as usize);
                s /= k as u64 + 1;
            }
            v = v.transpose(&axes).unwrap();
            if target.iter().product::<usize>() != v.len() {
                prop_assert!(v.reshape(&target).is_err());
                return Ok(());
            }
            let vals: Vec<usize> = elems(&v).into_iter().map(|o| arr.as_slice().unwrap()[o]).collect();
            match v.reshape(&target).unwrap() {
                Some(r) => {
                    prop_assert_eq!(r.shape(), &target[..]);
                    let rv: Vec<usize> = elems(&r).into_iter().map(|o| arr.as_slice().unwrap()[o]).collect();
                    prop_assert_eq!(rv, vals);
                }
                None => {
                    // A copy is required. ndarray (independent code) must not find a no-copy
                    // reshape either, and the view cannot be the contiguous base.
                    prop_assert!(!v.is_contiguous_full());
                    let nv = nd_slice(arr.view(), &items).unwrap().permuted_axes(IxDyn(&axes));
                    let cow = nv.to_shape(IxDyn(&target)).unwrap();
                    prop_assert!(!cow.is_view(), "ndarray reshapes {:?} without copy", v);
                }
            }
        }

        #[test]
        fn slice_matches_python_reference(n in 0usize..=12, start in prop::option::of(-15isize..=15),
                                          stop in prop::option::of(-15isize..=15),
                                          step in prop_oneof![-4isize..=-1, 1isize..=4]) {
            let (s, st, len) = adjust_slice(n, start, stop, step).unwrap();
            let got: Vec<usize> = (0..len as isize).map(|k| (s + k * st) as usize).collect();
            prop_assert_eq!(got, py_slice(n, start, stop, step));
        }
    }
}

#[cfg(test)]
mod broadcast_tests {
    use super::*;
    use crate::shape::{broadcast_shapes, shape_str};
    use ndarray::{ArrayD, IxDyn};
    use proptest::prelude::*;

    #[test]
    fn numpy_examples() {
        assert_eq!(broadcast_shapes(&[&[2, 3], &[3]]).unwrap(), vec![2, 3]);
        assert_eq!(
            broadcast_shapes(&[&[8, 1, 6, 1], &[7, 1, 5]]).unwrap(),
            vec![8, 7, 6, 5]
        );
        assert_eq!(broadcast_shapes(&[&[1], &[0]]).unwrap(), vec![0]);
        assert_eq!(broadcast_shapes(&[&[], &[2, 1]]).unwrap(), vec![2, 1]);
        assert_eq!(broadcast_shapes(&[]).unwrap(), Vec::<usize>::new());
        let e = broadcast_shapes(&[&[2, 3], &[4]]).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Shape);
        assert_eq!(
            e.message(),
            "operands could not be broadcast together with shapes (2,3) (4,)"
        );
        assert!(broadcast_shapes(&[&[0], &[2]]).is_err());
        assert_eq!(shape_str(&[]), "()");
    }

    #[test]
    fn broadcast_view_example() {
        // np.arange(3)[:, None] broadcast to (2, 3, 4)
        let v = ViewSpec::full(&[3]).unwrap();
        let v = v.slice(&[crate::SliceItem::FULL, crate::SliceItem::NewAxis]).unwrap();
        let b = broadcast_view(&v, &[2, 3, 4]).unwrap();
        assert_eq!(b.strides(), &[0, 1, 0]);
        let got: Vec<usize> = b.base_offsets().collect();
        let want: Vec<usize> = (0..2)
            .flat_map(|_| (0..3).flat_map(|j| std::iter::repeat(j).take(4)))
            .collect();
        assert_eq!(got, want);
        assert!(broadcast_view(&v, &[3, 2]).is_ok());
        assert!(broadcast_view(&v, &[2, 4]).is_err());
        assert!(broadcast_view(&v, &[4]).is_err());
    }

    fn shape() -> impl Strategy<Value = Vec<usize>> {
        prop::collection::vec(prop_oneof![Just(1usize), 0usize..=3], 0..=4)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn agrees_with_ndarray(a in shape(), b in shape()) {
            let got = broadcast_shapes(&[&a, &b]);
            // Reference from the definition, element by element over the padded shapes.
            let nd = a.len().max(b.len());
            let pad = |s: &Vec<usize>| -> Vec<usize> {
                let mut p = vec![1; nd - s.len()];
                p.extend(s);
                p
            };
            let (pa, pb) = (pad(&a), pad(&b));
            let mut want = Some(vec![]);
            for (&x, &y) in pa.iter().zip(&pb) {
                let r = if x == y { Some(x) } else if x == 1 { Some(y) } else if y == 1 { Some(x) } else { None };
                want = match (want, r) { (Some(mut w), Some(r)) => { w.push(r); Some(w) } _ => None };
            }
            prop_assert_eq!(got.clone().ok(), want.clone());
            if let Some(target) = want {
                // Broadcasting each operand's view matches ndarray's broadcast.
                for s in [&a, &b] {
                    let n: usize = s.iter().product();
                    let arr = ArrayD::from_shape_vec(IxDyn(s), (0..n).collect::<Vec<usize>>()).unwrap();
                    let nd_b = arr.broadcast(IxDyn(&target)).unwrap();
                    let v = broadcast_view(&ViewSpec::full(s).unwrap(), &target).unwrap();
                    prop_assert_eq!(v.shape(), nd_b.shape());
                    let ours: Vec<usize> = v.base_offsets().collect();
                    prop_assert_eq!(ours, nd_b.iter().copied().collect::<Vec<_>>());
                }
            }
        }
    }
}

#[cfg(test)]
mod axis_map_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// `view_range` against brute force: the view indices whose base index falls in a range.
        #[test]
        fn view_range_is_exact(o in 0usize..20, m in prop_oneof![-4isize..=-1, 1isize..=4], n in 1usize..8,
                               glo in 0usize..30, len in 0usize..10, vlo in 0usize..8, vlen in 0usize..8) {
            let vhi = (vlo + vlen).min(n);
            let vlo = vlo.min(vhi);
            // keep every position inside [0, ∞)
            let o = if m < 0 { o + (n as isize * -m) as usize } else { o };
            let map = AxisMap { origin: vec![o], axes: vec![Some((0, m))] };
            let (a, b) = map.view_range(0, vlo, vhi, glo, glo + len);
            let want: Vec<usize> = (vlo..vhi).filter(|&i| {
                let g = o as isize + m * i as isize;
                g >= glo as isize && g < (glo + len) as isize
            }).collect();
            let got: Vec<usize> = (a..b).collect();
            prop_assert_eq!(got, want);
        }
    }
}

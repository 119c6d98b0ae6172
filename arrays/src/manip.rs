//! Data movement built on the public array API only (views, [`DistArray::copy_from`],
//! [`crate::ufunc::where_`], region get/put, runtime collectives): boolean-mask selection and
//! assignment (`a[mask]`, `a[mask] = values`), [`roll_into`] and [`concatenate`]. Every
//! operation here is **collective**: every rank calls it with the same arguments.
//!
//! Synchronisation: [`mask_select`] and [`mask_assign`] move data with one-sided region gets and
//! puts, so each begins with a runtime `sync` (it reads what earlier operations wrote) and ends
//! with one after its puts (later operations read what it wrote). [`roll_into`] and
//! [`concatenate`] are sequences of collective copies and need nothing more.
//!
//! Boolean masks: every rank takes a contiguous share of the C-order flattening of the indexed
//! array (its share of the mask's true elements is contiguous in `a[mask]`), counts the selected
//! elements, and an all-gather of the counts gives each rank where its elements go: the data
//! moves between the owners and the share holders only, never through one rank.
use crate::dist::Layout;
use crate::dtype::{DType, Scalar};
use crate::error::{Error, ErrorKind, Result};
use crate::shape::{broadcast_shapes, shape_str};
use crate::ufunc::{where_, Operand};
use crate::view::SliceItem;
use crate::DistArray;
use distarr_runtime::Runtime;

/// A box `[lo, hi)` of multi-indices.
type Box = (Vec<usize>, Vec<usize>);

/// The boxes covering the elements `start..end` of the C-order flattening of `shape`, in C
/// order (at most `2 * ndim - 1` boxes). A 0-d shape has one element, the box `([], [])`.
pub fn flat_boxes(shape: &[usize], start: usize, end: usize) -> Vec<Box> {
    let mut out = Vec::new();
    push_flat_boxes(shape, start, end, &mut Vec::new(), &mut out);
    out
}

/// [`flat_boxes`] of the trailing dimensions `shape` under the fixed leading indices `prefix`.
fn push_flat_boxes(shape: &[usize], start: usize, end: usize, prefix: &mut Vec<usize>, out: &mut Vec<Box>) {
    if start >= end {
        return;
    }
    let Some((_, rest)) = shape.split_first() else {
        // A 0-d array: its one element.
        out.push((prefix.clone(), one_past(prefix)));
        return;
    };
    let inner: usize = rest.iter().product();
    if inner == 0 {
        return;
    }
    // Elements `a..b` of row `row` (of the leading dimension).
    let in_row = |row: usize, a: usize, b: usize, prefix: &mut Vec<usize>, out: &mut Vec<Box>| {
        prefix.push(row);
        push_flat_boxes(rest, a, b, prefix, out);
        prefix.pop();
    };
    let (r0, o0, r1, o1) = (start / inner, start % inner, end / inner, end % inner);
    if r0 == r1 {
        in_row(r0, o0, o1, prefix, out);
        return;
    }
    let mut full = r0;
    if o0 != 0 {
        in_row(r0, o0, inner, prefix, out);
        full += 1;
    }
    if full < r1 {
        let mut lo = prefix.clone();
        lo.push(full);
        lo.resize(prefix.len() + shape.len(), 0);
        let mut hi = one_past(prefix);
        hi.push(r1);
        hi.extend_from_slice(rest);
        out.push((lo, hi));
    }
    if o1 != 0 {
        in_row(r1, 0, o1, prefix, out);
    }
}

fn one_past(idx: &[usize]) -> Vec<usize> {
    idx.iter().map(|x| x + 1).collect()
}

/// This rank's share of the C-order flattening of `shape`: a contiguous range of about
/// `len / nranks` elements, as boxes.
fn my_share(rt: &Runtime, shape: &[usize]) -> Vec<Box> {
    let n = shape.iter().product::<usize>() as u128;
    let (me, p) = (rt.rank() as u128, rt.nranks() as u128);
    // n * (me + 1) / p <= n, which fits usize.
    let part = |r: u128| (n * r / p) as usize;
    flat_boxes(shape, part(me), part(me + 1))
}

/// Where this rank's `count` items start in the concatenation of every rank's items (rank
/// order), and the total. **Collective** (one all-gather).
fn exclusive_prefix(rt: &Runtime, count: usize) -> Result<(usize, usize)> {
    let mut all = vec![0u64; rt.nranks()];
    rt.allgather(&[count as u64], &mut all)?;
    let before: u64 = all[..rt.rank()].iter().sum();
    let total: u64 = all.iter().sum();
    let to_usize = |x: u64| usize::try_from(x).map_err(|_| Error::internal("element count exceeds usize"));
    Ok((to_usize(before)?, to_usize(total)?))
}

fn same_runtime(a: &DistArray, b: &DistArray) -> Result<()> {
    if a.runtime().id() != b.runtime().id() {
        return Err(Error::new(
            ErrorKind::ForeignRuntime,
            "arrays belong to different runtimes",
        ));
    }
    Ok(())
}

/// The index items selecting `lo..hi` along axis `axis` (all of the other axes).
fn along(axis: usize, lo: usize, hi: usize) -> Vec<SliceItem> {
    let mut items = vec![SliceItem::FULL; axis];
    // Extents of live arrays fit isize.
    items.push(SliceItem::range(lo as isize, hi as isize, 1));
    items
}

/// `x` as a 1-D array of its elements in C order: a view when possible (`false`), else a new
/// array that the caller frees (`true`). **Collective** (when it copies).
fn flattened(x: &DistArray) -> Result<(DistArray, bool)> {
    let f = x.reshape(&[x.len()])?;
    let copied = !f.shares_storage(x);
    Ok((f, copied))
}

/// `mask` as a boolean index of `a`: bool dtype, broadcastable to `a`'s shape; broadcast to it.
fn mask_view(a: &DistArray, mask: &DistArray) -> Result<DistArray> {
    same_runtime(a, mask)?;
    if mask.dtype() != DType::Bool {
        return Err(Error::dtype(format!(
            "a boolean index must have dtype bool, not {}",
            mask.dtype().name()
        )));
    }
    mask.broadcast_to(a.shape()).map_err(|e| match e.kind() {
        ErrorKind::Shape => Error::shape(format!(
            "boolean index of shape {} does not match (or broadcast to) the indexed array's shape {}",
            shape_str(mask.shape()),
            shape_str(a.shape())
        )),
        _ => e,
    })
}

/// Checks the arguments of [`mask_select`] without communicating: `mask` has dtype bool
/// (else a `DType` error) and broadcasts to `a`'s shape (NumPy's rule; else `Shape`).
pub fn check_mask(a: &DistArray, mask: &DistArray) -> Result<()> {
    mask_view(a, mask).map(|_| ())
}

/// `a[mask]`: a new 1-D block array of the elements of `a` where `mask` (bool, broadcast to
/// `a`'s shape) is true, in C order. **Collective.**
pub fn mask_select(a: &DistArray, mask: &DistArray) -> Result<DistArray> {
    let m = mask_view(a, mask)?;
    let rt = a.runtime().clone();
    let sz = a.dtype().size();
    rt.sync()?;
    let mut picked = Vec::new();
    for (lo, hi) in my_share(&rt, a.shape()) {
        let flags = m.get_region_bytes(&lo, &hi)?;
        if flags.iter().all(|&f| f == 0) {
            continue;
        }
        let vals = a.get_region_bytes(&lo, &hi)?;
        for (k, _) in flags.iter().enumerate().filter(|(_, &f)| f != 0) {
            picked.extend_from_slice(&vals[k * sz..(k + 1) * sz]);
        }
    }
    let count = picked.len() / sz;
    let (at, total) = exclusive_prefix(&rt, count)?;
    let out = DistArray::empty(&rt, &[total], a.dtype(), Layout::Block)?;
    out.put_region_bytes(&[at], &[at + count], &picked)?;
    rt.sync()?;
    Ok(out)
}

/// Whether `values` broadcasts to `a`'s shape.
fn broadcasts_to(values: &DistArray, a: &DistArray) -> bool {
    broadcast_shapes(&[values.shape(), a.shape()]).is_ok_and(|s| s == a.shape())
}

/// Checks the arguments of [`mask_assign`] as far as that is possible without communicating:
/// the mask as [`check_mask`]; `values` 1-D or broadcastable to `a`'s shape (else `Shape`).
pub fn check_mask_assign(a: &DistArray, mask: &DistArray, values: &DistArray) -> Result<()> {
    check_mask(a, mask)?;
    same_runtime(a, values)?;
    if values.ndim() != 1 && !broadcasts_to(values, a) {
        return Err(Error::shape(format!(
            "cannot assign values of shape {} through a boolean index of an array of shape {}",
            shape_str(values.shape()),
            shape_str(a.shape())
        )));
    }
    Ok(())
}

/// `a[mask] = values` (mask bool, broadcast to `a`'s shape). `values` is either
/// - 1-D with exactly `count_nonzero(mask)` elements: they go, in order, to the selected
///   elements in C order (NumPy's assignment of a compacted vector); this reading wins when both
///   apply;
/// - or broadcastable to `a`'s shape: `a = where(mask, values, a)`.
///
/// Values are cast to `a`'s dtype as NumPy's item assignment does (any cast, like
/// [`DistArray::copy_from`]). `values` may overlap `a`. **Collective.**
pub fn mask_assign(a: &DistArray, mask: &DistArray, values: &DistArray) -> Result<()> {
    check_mask_assign(a, mask, values)?;
    if values.ndim() == 1 {
        let m = mask_view(a, mask)?;
        let rt = a.runtime().clone();
        rt.sync()?;
        let share = my_share(&rt, a.shape());
        let flags = share
            .iter()
            .map(|(lo, hi)| m.get_region_bytes(lo, hi))
            .collect::<Result<Vec<_>>>()?;
        let count = flags.iter().flatten().filter(|&&f| f != 0).count();
        let (at, total) = exclusive_prefix(&rt, count)?;
        if values.len() == total {
            return assign_compacted(a, values, &share, &flags, at, count);
        }
        if !broadcasts_to(values, a) {
            return Err(Error::shape(format!(
                "NumPy boolean array indexing assignment cannot assign {} input values to the {total} output values where the mask is true",
                values.len()
            )));
        }
    }
    let cast = (values.dtype() != a.dtype())
        .then(|| values.astype(a.dtype()))
        .transpose()?;
    where_(
        Operand::Array(mask),
        Operand::Array(cast.as_ref().unwrap_or(values)),
        Operand::Array(a),
        Some(a),
    )?;
    cast.map_or(Ok(()), DistArray::free)
}

/// The compacted form of [`mask_assign`]: this rank's `count` selected elements (flags per box
/// of its share) receive `values[at..at + count]`.
fn assign_compacted(
    a: &DistArray,
    values: &DistArray,
    share: &[Box],
    flags: &[Vec<u8>],
    at: usize,
    count: usize,
) -> Result<()> {
    let rt = a.runtime().clone();
    let cast = (values.dtype() != a.dtype())
        .then(|| values.astype(a.dtype()))
        .transpose()?;
    if cast.is_some() {
        // The cast is a collective operation: read what it wrote after a sync.
        rt.sync()?;
    }
    let sz = a.dtype().size();
    let mine = cast.as_ref().unwrap_or(values).get_region_bytes(&[at], &[at + count])?;
    let mut next = mine.chunks_exact(sz);
    let mut writes = Vec::new();
    for ((lo, hi), f) in share.iter().zip(flags) {
        if f.iter().all(|&x| x == 0) {
            continue;
        }
        let mut cur = a.get_region_bytes(lo, hi)?;
        for (k, _) in f.iter().enumerate().filter(|(_, &x)| x != 0) {
            let v = next
                .next()
                .ok_or_else(|| Error::internal("mask_assign: fewer values than selected elements"))?;
            cur[k * sz..(k + 1) * sz].copy_from_slice(v);
        }
        writes.push((lo, hi, cur));
    }
    // Every rank has read `values` (which may be a view of `a`) before any rank writes `a`.
    rt.barrier()?;
    for (lo, hi, data) in writes {
        a.put_region_bytes(lo, hi, &data)?;
    }
    rt.sync()?;
    cast.map_or(Ok(()), DistArray::free)
}

/// Checks the arguments of [`roll_into`] without communicating: `out` has `a`'s shape
/// (`Shape`), `axis` is an axis of `a` (`InvalidArgument`).
pub fn check_roll(a: &DistArray, axis: Option<usize>, out: &DistArray) -> Result<()> {
    same_runtime(a, out)?;
    if out.shape() != a.shape() {
        return Err(Error::shape(format!(
            "roll: out has shape {}, the array has shape {}",
            shape_str(out.shape()),
            shape_str(a.shape())
        )));
    }
    if let Some(ax) = axis.filter(|&ax| ax >= a.ndim()) {
        return Err(Error::invalid(format!(
            "axis {ax} is out of bounds for array of dimension {}",
            a.ndim()
        )));
    }
    Ok(())
}

/// `out = numpy.roll(a, shift, axis)`: elements shifted by `shift` positions along `axis`
/// (negative: backwards), those leaving at one end entering at the other; `axis == None` rolls
/// the C-order flattening (the shape stays). `out` has `a`'s shape and any dtype (values cast as
/// [`DistArray::copy_from`] does); it may overlap `a`. **Collective.**
pub fn roll_into(a: &DistArray, shift: i64, axis: Option<usize>, out: &DistArray) -> Result<()> {
    check_roll(a, axis, out)?;
    if a.is_empty() {
        return Ok(());
    }
    let by = |n: usize| shift.rem_euclid(n as i64) as usize;
    let k = by(axis.map_or(a.len(), |ax| a.shape()[ax]));
    if k == 0 {
        return out.copy_from(a);
    }
    // Rolling in place would overwrite elements before they are read: read a copy.
    let own = a.shares_storage(out).then(|| a.to_owned_array()).transpose()?;
    let src = own.as_ref().unwrap_or(a);
    let result = match axis {
        Some(ax) => roll_along(src, out, ax, k),
        None => roll_flat(src, out, k),
    };
    if let Some(o) = own {
        o.free()?;
    }
    result
}

/// `dst = roll(src, k, axis)` for `0 <= k < n` (`n` the axis length); `src` and `dst` do not
/// overlap.
fn roll_along(src: &DistArray, dst: &DistArray, axis: usize, k: usize) -> Result<()> {
    if k == 0 {
        return dst.copy_from(src);
    }
    let n = src.shape()[axis];
    dst.slice(&along(axis, k, n))?
        .copy_from(&src.slice(&along(axis, 0, n - k))?)?;
    dst.slice(&along(axis, 0, k))?
        .copy_from(&src.slice(&along(axis, n - k, n))?)
}

/// Roll of the flattened arrays (`src` and `dst` do not overlap).
fn roll_flat(src: &DistArray, dst: &DistArray, k: usize) -> Result<()> {
    let n = src.len();
    let (flat_src, src_copied) = flattened(src)?;
    // A base array has a flat view; a view of one is rolled into a temporary, then copied.
    let (flat_dst, dst_tmp) = if dst.is_base() {
        flattened(dst)?
    } else {
        (DistArray::empty(dst.runtime(), &[n], dst.dtype(), Layout::Block)?, true)
    };
    roll_along(&flat_src, &flat_dst, 0, k)?;
    if dst_tmp {
        dst.copy_from(&flat_dst.reshape(dst.shape())?)?;
        flat_dst.free()?;
    }
    if src_copied {
        flat_src.free()?;
    }
    Ok(())
}

/// The shape of [`concatenate`]'s result for inputs of `shapes`, or NumPy's error: at least
/// one input (`InvalidArgument`); along an axis, no 0-d inputs, equal numbers of dimensions and
/// equal extents except along `axis` (`Shape`), `axis` in range (`InvalidArgument`). Local.
pub fn concatenate_shape(shapes: &[&[usize]], axis: Option<usize>) -> Result<Vec<usize>> {
    let first = *shapes
        .first()
        .ok_or_else(|| Error::invalid("need at least one array to concatenate"))?;
    let too_large = || Error::shape("the concatenation is too large");
    let Some(ax) = axis else {
        let total = shapes
            .iter()
            .try_fold(0usize, |t, s| t.checked_add(s.iter().product()))
            .ok_or_else(too_large)?;
        return Ok(vec![total]);
    };
    if first.is_empty() {
        return Err(Error::shape("zero-dimensional arrays cannot be concatenated"));
    }
    if ax >= first.len() {
        return Err(Error::invalid(format!(
            "axis {ax} is out of bounds for array of dimension {}",
            first.len()
        )));
    }
    let mut out = first.to_vec();
    out[ax] = 0;
    for (i, s) in shapes.iter().enumerate() {
        if s.len() != first.len() {
            return Err(Error::shape(format!(
                "all the input arrays must have same number of dimensions, but the array at index 0 has {} dimension(s) and the array at index {i} has {} dimension(s)",
                first.len(),
                s.len()
            )));
        }
        if let Some(d) = (0..s.len()).find(|&d| d != ax && s[d] != first[d]) {
            return Err(Error::shape(format!(
                "all the input array dimensions except for the concatenation axis must match exactly, but along dimension {d}, the array at index 0 has size {} and the array at index {i} has size {}",
                first[d], s[d]
            )));
        }
        out[ax] = out[ax].checked_add(s[ax]).ok_or_else(too_large)?;
    }
    Ok(out)
}

/// `numpy.concatenate(arrays, axis)`: a new block array of the inputs joined along `axis`
/// (`None`: their C-order flattenings joined into a 1-D array), dtype the NumPy promotion of
/// theirs. Errors as [`concatenate_shape`]. **Collective.**
pub fn concatenate(arrays: &[&DistArray], axis: Option<usize>) -> Result<DistArray> {
    let shapes: Vec<&[usize]> = arrays.iter().map(|x| x.shape()).collect();
    let shape = concatenate_shape(&shapes, axis)?;
    let first = arrays[0];
    for x in &arrays[1..] {
        same_runtime(first, x)?;
    }
    let dtype = arrays.iter().map(|x| x.dtype()).fold(first.dtype(), DType::promote);
    let out = DistArray::empty(first.runtime(), &shape, dtype, Layout::Block)?;
    let mut at = 0;
    for x in arrays {
        match axis {
            Some(ax) => {
                let n = x.shape()[ax];
                if n > 0 {
                    out.slice(&along(ax, at, at + n))?.copy_from(x)?;
                }
                at += n;
            }
            None if x.ndim() == 0 => {
                // The engine does not address views of 0-d arrays with other shapes (a
                // reshape or broadcast of one reads nothing): move the one value as a scalar,
                // read one-sidedly after a sync (earlier collective operations may write it).
                x.runtime().sync()?;
                let v = Scalar::from_le_bytes(x.dtype(), &x.get_region_bytes(&[], &[])?)?;
                out.slice(&along(0, at, at + 1))?.fill(v)?;
                at += 1;
            }
            None => {
                let n = x.len();
                if n > 0 {
                    let (flat, copied) = flattened(x)?;
                    out.slice(&along(0, at, at + n))?.copy_from(&flat)?;
                    if copied {
                        flat.free()?;
                    }
                }
                at += n;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The C-order flat indices of the elements of `boxes`, box after box.
    fn flat_indices(shape: &[usize], boxes: &[Box]) -> Vec<usize> {
        let strides = crate::shape::c_strides(shape);
        let mut out = Vec::new();
        for (lo, hi) in boxes {
            assert_eq!(lo.len(), shape.len());
            let n: usize = lo.iter().zip(hi).map(|(l, h)| h - l).product();
            let ext: Vec<usize> = lo.iter().zip(hi).map(|(l, h)| h - l).collect();
            for k in 0..n {
                // k-th element of the box in C order
                let mut rem = k;
                let mut flat = 0;
                for d in (0..shape.len()).rev() {
                    flat += (lo[d] + rem % ext[d]) * strides[d];
                    rem /= ext[d];
                }
                out.push(flat);
            }
        }
        out
    }

    #[test]
    fn flat_boxes_examples() {
        assert_eq!(flat_boxes(&[], 0, 1), vec![(vec![], vec![])]);
        assert_eq!(flat_boxes(&[5], 1, 4), vec![(vec![1], vec![4])]);
        // rows 1..3 of a 4x3, starting mid-row 0 and ending mid-row 3
        assert_eq!(
            flat_boxes(&[4, 3], 2, 10),
            vec![
                (vec![0, 2], vec![1, 3]),
                (vec![1, 0], vec![3, 3]),
                (vec![3, 0], vec![4, 1])
            ]
        );
        assert!(flat_boxes(&[4, 0, 2], 0, 0).is_empty());
        assert!(flat_boxes(&[3, 3], 4, 4).is_empty());
    }

    proptest! {
        #[test]
        fn flat_boxes_cover_the_range_in_order(
            shape in proptest::collection::vec(0usize..5, 0..5),
            a in 0usize..700,
            b in 0usize..700,
        ) {
            let n: usize = shape.iter().product();
            let (a, b) = (a % (n + 1), b % (n + 1));
            let (start, end) = (a.min(b), a.max(b));
            let boxes = flat_boxes(&shape, start, end);
            prop_assert!(boxes.len() <= (2 * shape.len()).max(1));
            prop_assert!(boxes.iter().all(|(lo, hi)| lo.iter().zip(hi).all(|(l, h)| l < h)));
            prop_assert_eq!(flat_indices(&shape, &boxes), (start..end).collect::<Vec<_>>());
        }
    }

    #[test]
    fn concatenate_shapes_follow_numpy() {
        assert_eq!(concatenate_shape(&[&[2, 3], &[4, 3]], Some(0)).unwrap(), vec![6, 3]);
        assert_eq!(concatenate_shape(&[&[2, 3], &[2, 0]], Some(1)).unwrap(), vec![2, 3]);
        assert_eq!(concatenate_shape(&[&[2, 3], &[], &[4]], None).unwrap(), vec![11]);
        let kind = |r: Result<Vec<usize>>| r.unwrap_err().kind();
        assert_eq!(kind(concatenate_shape(&[], None)), ErrorKind::InvalidArgument);
        assert_eq!(kind(concatenate_shape(&[&[], &[]], Some(0))), ErrorKind::Shape);
        assert_eq!(kind(concatenate_shape(&[&[2, 3], &[2, 4]], Some(0))), ErrorKind::Shape);
        assert_eq!(kind(concatenate_shape(&[&[2, 3], &[2]], Some(0))), ErrorKind::Shape);
        assert_eq!(kind(concatenate_shape(&[&[2, 3]], Some(2))), ErrorKind::InvalidArgument);
    }
}

//! NumPy broadcasting of shapes and views.

use crate::error::{Error, Result};
use crate::view::ViewSpec;

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
mod tests {
    use super::*;
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

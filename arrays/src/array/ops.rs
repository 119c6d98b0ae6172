//! Collective whole-array operations: fill, copy with conversion, gathers. All run on the
//! engine (`crate::engine`): each rank computes the elements it owns.
use super::DistArray;
use crate::bytes;
use crate::dist::Layout;
use crate::dtype::{DType, Element, Scalar};
use crate::engine::{self, Input, Work};
use crate::error::{Error, Result};

impl DistArray {
    /// Fills the array (or view) with `value` cast to its dtype. **Collective.**
    pub fn fill(&self, value: Scalar) -> Result<()> {
        self.check_live()?;
        let dt = self.dtype();
        let inputs = [Input::constant(value, dt)];
        engine::map(&[self], &inputs, Work::Copy, None, || {
            Error::internal("fill cannot fail")
        })
    }

    /// Copies `src` into `self` element-wise, converting dtypes (NumPy `astype` casting) and
    /// broadcasting `src` to `self`'s shape; any distributions and views, overlapping too.
    /// **Collective.**
    pub fn copy_from(&self, src: &DistArray) -> Result<()> {
        self.check_live()?;
        self.check_peer(src)?;
        let src = src.broadcast_to(self.shape())?;
        if self.shares_storage(&src) && self.view == src.view {
            return Ok(());
        }
        let inputs = [Input::Arg {
            arg: 1,
            dt: src.dtype(),
            kdt: src.dtype(),
        }];
        engine::map(&[self, &src], &inputs, Work::Copy, None, || {
            Error::internal("copy cannot fail")
        })
    }

    /// A new array with `self`'s values converted to `dtype`, with the given layout.
    /// **Collective.**
    pub fn astype_with(&self, dtype: DType, layout: Layout) -> Result<DistArray> {
        self.check_live()?;
        let out = DistArray::unallocated(&self.base.rt, self.shape(), dtype, layout)?;
        out.copy_from(self)?;
        Ok(out)
    }

    /// `astype` keeping a block layout. **Collective.**
    pub fn astype(&self, dtype: DType) -> Result<DistArray> {
        self.astype_with(dtype, Layout::Block)
    }

    /// A new base array with the same values (a copy of a view), block layout. **Collective.**
    pub fn to_owned_array(&self) -> Result<DistArray> {
        self.astype(self.dtype())
    }

    /// Gathers the whole array (or view) to `root` as C-order bytes (`None` on other ranks).
    /// **Collective**; the data moves by one-sided gets issued by `root` alone.
    pub fn gather_bytes(&self, root: usize) -> Result<Option<Vec<u8>>> {
        self.check_live()?;
        let rt = self.base.rt.clone();
        if root >= rt.nranks() {
            return Err(Error::out_of_bounds(format!(
                "gather root {root} out of range 0..{}",
                rt.nranks()
            )));
        }
        engine::collective(&[self], None, || {
            if rt.rank() == root {
                let lo = vec![0; self.ndim()];
                self.get_region_bytes(&lo, self.shape()).map(Some)
            } else {
                Ok(None)
            }
        })
    }

    /// Typed [`DistArray::gather_bytes`] into an `ndarray` on `root`. **Collective.**
    pub fn gather<T: Element>(&self, root: usize) -> Result<Option<ndarray::ArrayD<T>>> {
        self.check_dtype::<T>()?;
        match self.gather_bytes(root)? {
            Some(b) => {
                let v: Vec<T> = bytes::to_vec(&b);
                ndarray::ArrayD::from_shape_vec(self.shape().to_vec(), v)
                    .map(Some)
                    .map_err(|e| Error::internal(e.to_string()))
            }
            None => Ok(None),
        }
    }

    /// The whole array on every rank (every rank reads it with one-sided gets): for tests and
    /// small arrays. **Collective.**
    pub fn to_ndarray<T: Element>(&self) -> Result<ndarray::ArrayD<T>> {
        self.check_live()?;
        self.check_dtype::<T>()?;
        let b = engine::collective(&[self], None, || {
            let lo = vec![0; self.ndim()];
            self.get_region_bytes(&lo, self.shape())
        })?;
        ndarray::ArrayD::from_shape_vec(self.shape().to_vec(), bytes::to_vec(&b))
            .map_err(|e| Error::internal(e.to_string()))
    }
}

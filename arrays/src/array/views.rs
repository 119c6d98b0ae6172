//! Views: slicing, transposes, reshapes and broadcasts. No data moves (but for a reshape that
//! cannot be a view, which copies).
use super::DistArray;
use crate::error::{Error, Result};
use crate::view::SliceItem;

impl DistArray {
    /// NumPy basic slicing: ranges with steps (negative too), integer indices, `NewAxis`,
    /// `Ellipsis`. A view: no data moves. Local.
    pub fn slice(&self, items: &[SliceItem]) -> Result<DistArray> {
        self.check_live()?;
        Ok(self.with_view(self.view.slice(items)?))
    }

    /// Permutes the axes (a view; all axes reversed for `None`). Local.
    pub fn transpose(&self, axes: Option<&[usize]>) -> Result<DistArray> {
        self.check_live()?;
        let rev: Vec<usize> = (0..self.ndim()).rev().collect();
        Ok(self.with_view(self.view.transpose(axes.unwrap_or(&rev))?))
    }

    /// Swaps two axes (a view). Local.
    pub fn swapaxes(&self, a: usize, b: usize) -> Result<DistArray> {
        self.check_live()?;
        Ok(self.with_view(self.view.swapaxes(a as isize, b as isize)?))
    }

    /// Reshape: a view when the elements can be addressed without copying, else a new block
    /// array (then **collective**). `-1` is not accepted here; resolve it first
    /// ([`crate::shape::resolve_shape`]).
    pub fn reshape(&self, shape: &[usize]) -> Result<DistArray> {
        self.check_live()?;
        let n = crate::shape::checked_len(shape)?;
        if n != self.len() {
            return Err(Error::shape(format!(
                "cannot reshape array of size {} into shape {shape:?}",
                self.len()
            )));
        }
        if let Some(v) = self.view.reshape(shape)? {
            return Ok(self.with_view(v));
        }
        let flat = self.to_owned_array()?;
        match flat.view.reshape(shape)? {
            Some(v) => Ok(flat.with_view(v)),
            None => Err(Error::internal("a contiguous array could not be reshaped")),
        }
    }

    /// A broadcast view of this array with `shape` (stride 0 along broadcast dimensions).
    /// Local. As NumPy, a view of more than `isize::MAX` bytes is refused (a `Shape` error):
    /// only a broadcast makes a view larger than its array.
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<DistArray> {
        self.check_live()?;
        if self.shape() == shape {
            return Ok(self.clone());
        }
        crate::shape::checked_len_bytes(shape, self.dtype(), "a view")?;
        Ok(self.with_view(crate::view::broadcast_view(&self.view, shape)?))
    }
}

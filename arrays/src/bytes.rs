//! Conversions between the public typed element buffers ([`Element`] slices) and raw bytes.
#![allow(unsafe_code)]

use crate::dtype::{DType, Element, Scalar};

/// Views elements as their little-endian in-memory bytes (x86-64 and aarch64 are
/// little-endian; distarr's `.npy` I/O declares `<` accordingly).
pub fn as_bytes<T: Element>(v: &[T]) -> &[u8] {
    // SAFETY:
    // - every `Element` type is `bool`, a fixed-width integer, a float, or a `#[repr(C)]` pair
    //   of floats: no padding bytes, so every byte of the slice is initialised;
    // - `u8` has alignment 1 and the length is exactly the slice's size in bytes.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
}

/// Builds typed elements from raw bytes (`b.len()` must be a multiple of the element size;
/// trailing bytes are ignored). `bool` is built as `byte != 0`, so any byte pattern is safe.
pub fn to_vec<T: Element>(b: &[u8]) -> Vec<T> {
    let sz = std::mem::size_of::<T>();
    let n = b.len() / sz;
    if T::DTYPE == DType::Bool {
        return b[..n].iter().map(|&x| T::from_scalar(Scalar::Bool(x != 0))).collect();
    }
    let mut out: Vec<T> = vec![T::default(); n];
    // SAFETY:
    // - `out` owns `n * sz` initialised bytes and `b` has at least that many (n = len / sz);
    // - T is not bool here, so it is an integer, a float or a pair of floats: every bit
    //   pattern is a valid value, so overwriting its bytes cannot create an invalid T;
    // - the two buffers are distinct allocations, so they do not overlap.
    unsafe { std::ptr::copy_nonoverlapping(b.as_ptr(), out.as_mut_ptr().cast::<u8>(), n * sz) };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let v = vec![1.5f64, -2.0, 3.25];
        assert_eq!(to_vec::<f64>(as_bytes(&v)), v);
        let b = vec![0u8, 1, 7];
        assert_eq!(to_vec::<bool>(&b), vec![false, true, true]);
    }
}

//! Conversions between typed element buffers and the raw bytes the runtime moves.
//!
//! The only module of this crate with `unsafe` code: two reinterpretations, each justified.
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

/// Real numeric element types converted with Rust's `as`, which matches
/// [`Scalar::cast_to`] for them (integers wrap, floats to integers truncate and saturate with
/// NaN to 0, as documented there).
trait Prim: Element {
    fn to_i32(self) -> i32;
    fn to_i64(self) -> i64;
    fn to_u8(self) -> u8;
    fn to_u32(self) -> u32;
    fn to_u64(self) -> u64;
    fn to_f32(self) -> f32;
    fn to_f64(self) -> f64;
}

macro_rules! prim {
    ($($t:ty),*) => {$(
        impl Prim for $t {
            fn to_i32(self) -> i32 { self as i32 }
            fn to_i64(self) -> i64 { self as i64 }
            fn to_u8(self) -> u8 { self as u8 }
            fn to_u32(self) -> u32 { self as u32 }
            fn to_u64(self) -> u64 { self as u64 }
            fn to_f32(self) -> f32 { self as f32 }
            fn to_f64(self) -> f64 { self as f64 }
        }
    )*};
}
prim!(i32, i64, u8, u32, u64, f32, f64);

fn cast_from<F: Prim>(b: &[u8], to: DType) -> Option<Vec<u8>> {
    fn conv<F: Prim, T: Element>(b: &[u8], f: fn(F) -> T) -> Vec<u8> {
        let v: Vec<T> = to_vec::<F>(b).into_iter().map(f).collect();
        as_bytes(&v).to_vec()
    }
    Some(match to {
        DType::I32 => conv(b, F::to_i32),
        DType::I64 => conv(b, F::to_i64),
        DType::U8 => conv(b, F::to_u8),
        DType::U32 => conv(b, F::to_u32),
        DType::U64 => conv(b, F::to_u64),
        DType::F32 => conv(b, F::to_f32),
        DType::F64 => conv(b, F::to_f64),
        _ => return None,
    })
}

/// Converts a buffer of `from` elements (raw bytes) to a buffer of `to` elements with NumPy
/// `astype` semantics.
pub fn cast(b: &[u8], from: DType, to: DType) -> Vec<u8> {
    if from == to {
        return b.to_vec();
    }
    // Fast path between real numeric dtypes; bool and complex go through `Scalar`.
    let fast = match from {
        DType::I32 => cast_from::<i32>(b, to),
        DType::I64 => cast_from::<i64>(b, to),
        DType::U8 => cast_from::<u8>(b, to),
        DType::U32 => cast_from::<u32>(b, to),
        DType::U64 => cast_from::<u64>(b, to),
        DType::F32 => cast_from::<f32>(b, to),
        DType::F64 => cast_from::<f64>(b, to),
        _ => None,
    };
    if let Some(v) = fast {
        return v;
    }
    let fs = from.size();
    let mut out = Vec::with_capacity(b.len() / fs * to.size());
    for chunk in b.chunks_exact(fs) {
        // from_le_bytes cannot fail: the chunk has exactly the dtype's size.
        if let Ok(s) = Scalar::from_le_bytes(from, chunk) {
            out.extend_from_slice(&s.cast_to(to).to_le_bytes());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast numeric path agrees with `Scalar::cast_to` on edge values of every pair.
    #[test]
    fn fast_casts_match_scalar_casts() {
        let real = [
            DType::I32,
            DType::I64,
            DType::U8,
            DType::U32,
            DType::U64,
            DType::F32,
            DType::F64,
        ];
        let vals = [
            0.0,
            1.0,
            -1.0,
            2.5,
            -2.5,
            255.0,
            256.0,
            -129.0,
            3e9,
            -3e9,
            1e20,
            -1e20,
            f64::NAN,
            f64::INFINITY,
        ];
        for &from in &real {
            let src: Vec<u8> = vals
                .iter()
                .flat_map(|&v| Scalar::F64(v).cast_to(from).to_le_bytes())
                .collect();
            for &to in &real {
                let slow: Vec<u8> = src
                    .chunks_exact(from.size())
                    .flat_map(|c| Scalar::from_le_bytes(from, c).unwrap().cast_to(to).to_le_bytes())
                    .collect();
                let fast = cast(&src, from, to);
                let same = fast
                    .chunks_exact(to.size())
                    .zip(slow.chunks_exact(to.size()))
                    .all(|(a, b)| {
                        a == b
                            || (to.is_float()
                                && Scalar::from_le_bytes(to, a).unwrap() != Scalar::from_le_bytes(to, a).unwrap())
                    });
                assert!(same && fast.len() == slow.len(), "{from:?} -> {to:?}");
            }
        }
    }

    #[test]
    fn round_trips() {
        let v = vec![1.5f64, -2.0, 3.25];
        assert_eq!(to_vec::<f64>(as_bytes(&v)), v);
        let b = vec![0u8, 1, 7];
        assert_eq!(to_vec::<bool>(&b), vec![false, true, true]);
        let c = cast(as_bytes(&[1.9f64, -1.9]), DType::F64, DType::I32);
        assert_eq!(to_vec::<i32>(&c), vec![1, -1]);
    }
}

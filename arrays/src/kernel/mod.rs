//! Typed kernels: one monomorphised loop per (operation, element type), over tiles.
//!
//! A kernel computes `n` results into `dst` from sources that are each either `n` contiguous
//! elements or one value repeated ([`Src`]); the engine (`crate::engine`) hands it cache-sized
//! tiles, reading operands in place where their layout allows and packing (and casting) them
//! into tile buffers where it does not. The op is a compile-time constant of each kernel, so the
//! per-element `match` of [`Num`] folds away and the loops vectorise; kernels are reached
//! through tables of function pointers ([`binary`], [`unary`], [`select`], [`cast`]): one
//! indirect call per tile. The same tables are what a fused expression (a register machine over
//! tiles) will call.
//!
//! `dst` may be the very memory of a source (`a += b` computed in place); any other overlap is
//! the engine's to prevent (it copies an input that overlaps the output differently, as NumPy
//! does).
#![allow(unsafe_code)]

pub mod elem;
pub mod exact;
pub mod ops;
pub mod reduce;

pub use elem::{CastTo, Num, B8};
pub use ops::{BinaryOp, ReduceOp, UnaryOp};

use crate::dtype::DType;
use std::mem::size_of;

/// Binds the type alias `$t` to the kernel element type of dtype `$d` (the type of its
/// elements in memory: [`B8`] for bool) and evaluates `$body` — the crate's one dtype
/// dispatch.
macro_rules! with_dtype {
    ($d:expr, $t:ident => $body:expr) => {
        match $d {
            $crate::dtype::DType::Bool => {
                type $t = $crate::kernel::B8;
                $body
            }
            $crate::dtype::DType::I32 => {
                type $t = i32;
                $body
            }
            $crate::dtype::DType::I64 => {
                type $t = i64;
                $body
            }
            $crate::dtype::DType::U8 => {
                type $t = u8;
                $body
            }
            $crate::dtype::DType::U32 => {
                type $t = u32;
                $body
            }
            $crate::dtype::DType::U64 => {
                type $t = u64;
                $body
            }
            $crate::dtype::DType::F32 => {
                type $t = f32;
                $body
            }
            $crate::dtype::DType::F64 => {
                type $t = f64;
                $body
            }
            $crate::dtype::DType::C64 => {
                type $t = $crate::dtype::C64;
                $body
            }
            $crate::dtype::DType::C128 => {
                type $t = $crate::dtype::C128;
                $body
            }
        }
    };
}
pub(crate) use with_dtype;

/// One source of a kernel: `n` contiguous elements at `ptr`, or (when `scalar`) the one element
/// at `ptr` repeated.
#[derive(Clone, Copy, Debug)]
pub struct Src {
    /// First (or only) element; aligned for the kernel's element type.
    pub ptr: *const u8,
    /// Whether `ptr` holds one value standing for all `n`.
    pub scalar: bool,
}

/// `dst[0..n] = f(src...)`.
///
/// # Safety
/// Each non-scalar source is valid for `n` reads of the kernel's input type, `dst` for `n`
/// writes of its output type; all aligned. A source either does not overlap `dst` or is exactly
/// `dst` (same address, same element size).
pub type KernelFn = unsafe fn(n: usize, src: &[Src], dst: *mut u8);

/// Converting copy of `n` elements: `dst[i · dstride] = cast(src[i · sstride])` (strides in
/// elements; `sstride == 0` repeats one element).
///
/// # Safety
/// `src` and `dst` are valid for the strided reads and writes of their element types, aligned,
/// and do not overlap.
pub type CastFn = unsafe fn(n: usize, src: *const u8, sstride: isize, dst: *mut u8, dstride: isize);

/// Whether `s` is exactly the kernel's destination (an in-place operation).
#[inline(always)]
fn is_dst<T, R>(s: Src, dst: *mut u8) -> bool {
    !s.scalar && s.ptr == dst.cast_const() && size_of::<T>() == size_of::<R>()
}

/// An element function of one argument, a type per (op, dtype) so that it inlines into the
/// kernel's loop (a closure would be an opaque call per element and stop vectorisation).
trait F1<T, R>: Copy {
    fn f(self, a: T) -> R;
}

/// An element function of two arguments (see [`F1`]).
trait F2<T, R>: Copy {
    fn f(self, a: T, b: T) -> R;
}

/// `T::binary(OP, a, b)`.
#[derive(Clone, Copy)]
struct Bin<const OP: u8>;
/// `T::compare(OP, a, b)` as [`B8`].
#[derive(Clone, Copy)]
struct Cmp<const OP: u8>;
/// `T::unary(OP, a)`.
#[derive(Clone, Copy)]
struct Un<const OP: u8>;
/// `T::pred(OP, a)` as [`B8`].
#[derive(Clone, Copy)]
struct Pred<const OP: u8>;

impl<const OP: u8> Bin<OP> {
    const OP: BinaryOp = BinaryOp::from_id(OP);
}
impl<const OP: u8> Cmp<OP> {
    const OP: BinaryOp = BinaryOp::from_id(OP);
}
impl<const OP: u8> Un<OP> {
    const OP: UnaryOp = UnaryOp::from_id(OP);
}
impl<const OP: u8> Pred<OP> {
    const OP: UnaryOp = UnaryOp::from_id(OP);
}

impl<T: Num, const OP: u8> F2<T, T> for Bin<OP> {
    #[inline(always)]
    fn f(self, a: T, b: T) -> T {
        T::binary(Self::OP, a, b)
    }
}
impl<T: Num, const OP: u8> F2<T, B8> for Cmp<OP> {
    #[inline(always)]
    fn f(self, a: T, b: T) -> B8 {
        B8::new(T::compare(Self::OP, a, b))
    }
}
impl<T: Num, const OP: u8> F1<T, T> for Un<OP> {
    #[inline(always)]
    fn f(self, a: T) -> T {
        T::unary(Self::OP, a)
    }
}
impl<T: Num, const OP: u8> F1<T, B8> for Pred<OP> {
    #[inline(always)]
    fn f(self, a: T) -> B8 {
        B8::new(T::pred(Self::OP, a))
    }
}

/// `dst[i] = f(a[i])`.
///
/// # Safety
/// As [`KernelFn`], for input `T` and output `R`.
#[inline(always)]
unsafe fn map1<T: Copy, R: Copy>(n: usize, a: Src, dst: *mut u8, f: impl F1<T, R>) {
    if n == 0 {
        return;
    }
    let pa = a.ptr.cast::<T>();
    // SAFETY: `dst` is valid for n writes of R and each source for n reads of T (or one when
    // scalar), aligned (the kernel contract); a non-scalar source that is not `dst` itself does
    // not overlap it, so shared and mutable slices never alias; the in-place form reads every
    // element through the one mutable slice before writing it.
    unsafe {
        let out = std::slice::from_raw_parts_mut(dst.cast::<R>(), n);
        if a.scalar {
            out.fill(f.f(*pa));
        } else if is_dst::<T, R>(a, dst) {
            for o in out.iter_mut() {
                *o = f.f(std::ptr::read((o as *mut R).cast::<T>()));
            }
        } else {
            let x = std::slice::from_raw_parts(pa, n);
            for (o, &p) in out.iter_mut().zip(x) {
                *o = f.f(p);
            }
        }
    }
}

/// `dst[i] = f(a[i], b[i])`.
///
/// # Safety
/// As [`KernelFn`], for inputs `T` and output `R`.
#[inline(always)]
unsafe fn map2<T: Copy, R: Copy>(n: usize, a: Src, b: Src, dst: *mut u8, f: impl F2<T, R>) {
    if n == 0 {
        return;
    }
    let (pa, pb) = (a.ptr.cast::<T>(), b.ptr.cast::<T>());
    let (da, db) = (is_dst::<T, R>(a, dst), is_dst::<T, R>(b, dst));
    // SAFETY: as in `map1`; each arm forms slices only over memory that does not overlap `dst`
    // (or reads `dst` through the mutable slice itself), and `read` of an in-place element reads
    // a value of the same size the slice holds (T and R are plain numeric types of equal size).
    unsafe {
        let out = std::slice::from_raw_parts_mut(dst.cast::<R>(), n);
        let cur = |o: &mut R| std::ptr::read((o as *mut R).cast::<T>());
        match (a.scalar, b.scalar, da, db) {
            (true, true, _, _) => out.fill(f.f(*pa, *pb)),
            (false, false, false, false) => {
                let (x, y) = (std::slice::from_raw_parts(pa, n), std::slice::from_raw_parts(pb, n));
                for ((o, &p), &q) in out.iter_mut().zip(x).zip(y) {
                    *o = f.f(p, q);
                }
            }
            (false, true, false, _) => {
                let (x, q) = (std::slice::from_raw_parts(pa, n), *pb);
                for (o, &p) in out.iter_mut().zip(x) {
                    *o = f.f(p, q);
                }
            }
            (true, false, _, false) => {
                let (p, y) = (*pa, std::slice::from_raw_parts(pb, n));
                for (o, &q) in out.iter_mut().zip(y) {
                    *o = f.f(p, q);
                }
            }
            (false, true, true, _) => {
                let q = *pb;
                for o in out.iter_mut() {
                    *o = f.f(cur(o), q);
                }
            }
            (true, false, _, true) => {
                let p = *pa;
                for o in out.iter_mut() {
                    *o = f.f(p, cur(o));
                }
            }
            (false, false, true, false) => {
                let y = std::slice::from_raw_parts(pb, n);
                for (o, &q) in out.iter_mut().zip(y) {
                    *o = f.f(cur(o), q);
                }
            }
            (false, false, false, true) => {
                let x = std::slice::from_raw_parts(pa, n);
                for (o, &p) in out.iter_mut().zip(x) {
                    *o = f.f(p, cur(o));
                }
            }
            (false, false, true, true) => {
                for o in out.iter_mut() {
                    let v = cur(o);
                    *o = f.f(v, v);
                }
            }
        }
    }
}

/// The kernel of a binary op for loop dtype `T` (comparisons write [`B8`]).
///
/// # Safety
/// As [`KernelFn`]; `src` has two entries.
#[inline(always)]
unsafe fn binary_k<T: Num, const OP: u8>(n: usize, src: &[Src], dst: *mut u8) {
    // SAFETY: forwarded kernel contract.
    unsafe {
        if Bin::<OP>::OP.is_comparison() {
            map2::<T, B8>(n, src[0], src[1], dst, Cmp::<OP>)
        } else {
            map2::<T, T>(n, src[0], src[1], dst, Bin::<OP>)
        }
    }
}

/// The kernel of a unary op for loop dtype `T` (predicates write [`B8`]).
///
/// # Safety
/// As [`KernelFn`]; `src` has one entry.
#[inline(always)]
unsafe fn unary_k<T: Num, const OP: u8>(n: usize, src: &[Src], dst: *mut u8) {
    // SAFETY: forwarded kernel contract.
    unsafe {
        if Un::<OP>::OP.is_predicate() {
            map1::<T, B8>(n, src[0], dst, Pred::<OP>)
        } else {
            map1::<T, T>(n, src[0], dst, Un::<OP>)
        }
    }
}

/// `dst[i] = if cond[i] { x[i] } else { y[i] }` (sources: [`B8`] condition, then `T`, `T`).
///
/// # Safety
/// As [`KernelFn`]; `src` has three entries.
#[inline(always)]
unsafe fn select_k<T: Num>(n: usize, src: &[Src], dst: *mut u8) {
    let (c, x, y) = (src[0], src[1], src[2]);
    let d = dst.cast::<T>();
    let at = |s: Src, i: usize, size: usize| -> *const u8 {
        if s.scalar {
            s.ptr
        } else {
            // SAFETY: i < n and non-scalar sources hold n elements of `size` bytes.
            unsafe { s.ptr.add(i * size) }
        }
    };
    // SAFETY: every pointer formed below is inside a source or `dst` (kernel contract); reads
    // and writes go through raw pointers, element by element, each element read before it is
    // written, so the in-place forms (`a[mask] = v` is `where(mask, v, a)` into `a`) are exact.
    unsafe {
        if !c.scalar && !x.scalar && !y.scalar && x.ptr != dst.cast_const() && y.ptr != dst.cast_const() {
            let cs = std::slice::from_raw_parts(c.ptr.cast::<B8>(), n);
            let xs = std::slice::from_raw_parts(x.ptr.cast::<T>(), n);
            let ys = std::slice::from_raw_parts(y.ptr.cast::<T>(), n);
            let out = std::slice::from_raw_parts_mut(d, n);
            for (((o, &k), &p), &q) in out.iter_mut().zip(cs).zip(xs).zip(ys) {
                *o = if k.get() { p } else { q };
            }
            return;
        }
        for i in 0..n {
            let k = *at(c, i, 1).cast::<B8>();
            let p = *at(x, i, size_of::<T>()).cast::<T>();
            let q = *at(y, i, size_of::<T>()).cast::<T>();
            *d.add(i) = if k.get() { p } else { q };
        }
    }
}

/// A converting copy from `F` to `T`.
///
/// # Safety
/// As [`CastFn`].
#[inline(always)]
unsafe fn cast_k<F: CastTo<T>, T: Copy>(n: usize, src: *const u8, sstride: isize, dst: *mut u8, dstride: isize) {
    let (s, d) = (src.cast::<F>(), dst.cast::<T>());
    // SAFETY: the strided ranges are valid, aligned and disjoint (CastFn contract), so the
    // contiguous forms may be slices.
    unsafe {
        match (sstride, dstride) {
            (1, 1) => {
                let (x, out) = (std::slice::from_raw_parts(s, n), std::slice::from_raw_parts_mut(d, n));
                for (o, &v) in out.iter_mut().zip(x) {
                    *o = v.cast();
                }
            }
            (0, 1) => std::slice::from_raw_parts_mut(d, n).fill((*s).cast()),
            _ => {
                for i in 0..n as isize {
                    *d.offset(i * dstride) = (*s.offset(i * sstride)).cast();
                }
            }
        }
    }
}

/// Whether the kernels compiled for AVX2 can run here (detected once; the result is cached by
/// the standard library). The AVX2 versions compute exactly what the baseline ones do (no
/// contraction into fused multiply-adds, the same library calls), only with wider vectors.
#[inline]
pub fn avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Defines `$name` (baseline) and `$name_avx2` (AVX2) copies of a kernel body.
macro_rules! versions {
    ($base:ident, $avx2:ident, $body:ident, <$($g:ident: $b:path),*; $(const $c:ident: $ct:ty),*>, ($($a:ident: $t:ty),*)) => {
        /// Baseline build of the kernel body of the same name.
        ///
        /// # Safety
        /// The body's contract.
        unsafe fn $base<$($g: $b,)* $(const $c: $ct,)*>($($a: $t),*) {
            // SAFETY: forwarded contract.
            unsafe { $body::<$($g,)* $($c,)*>($($a),*) }
        }
        /// AVX2 build of the kernel body of the same name.
        ///
        /// # Safety
        /// The body's contract, and the CPU supports AVX2 (see [`avx2`]).
        #[cfg_attr(target_arch = "x86_64", target_feature(enable = "avx2"))]
        unsafe fn $avx2<$($g: $b,)* $(const $c: $ct,)*>($($a: $t),*) {
            // SAFETY: forwarded contract.
            unsafe { $body::<$($g,)* $($c,)*>($($a),*) }
        }
    };
}

versions!(binary_base, binary_avx2, binary_k, <T: Num; const OP: u8>, (n: usize, src: &[Src], dst: *mut u8));
versions!(unary_base, unary_avx2, unary_k, <T: Num; const OP: u8>, (n: usize, src: &[Src], dst: *mut u8));
versions!(select_base, select_avx2, select_k, <T: Num;>, (n: usize, src: &[Src], dst: *mut u8));

/// Baseline build of [`cast_k`].
///
/// # Safety
/// As [`CastFn`].
unsafe fn cast_base<F: CastTo<T>, T: Copy>(n: usize, src: *const u8, sstride: isize, dst: *mut u8, dstride: isize) {
    // SAFETY: forwarded contract.
    unsafe { cast_k::<F, T>(n, src, sstride, dst, dstride) }
}

/// AVX2 build of [`cast_k`].
///
/// # Safety
/// As [`CastFn`], and the CPU supports AVX2.
#[cfg_attr(target_arch = "x86_64", target_feature(enable = "avx2"))]
unsafe fn cast_avx2<F: CastTo<T>, T: Copy>(n: usize, src: *const u8, sstride: isize, dst: *mut u8, dstride: isize) {
    // SAFETY: forwarded contract.
    unsafe { cast_k::<F, T>(n, src, sstride, dst, dstride) }
}

/// The kernel of `op` for loop dtype `dt` (its sources are `dt`; its result is `dt`, or bool
/// for comparisons). Valid for the (op, dtype) pairs [`BinaryOp::types`] accepts.
pub fn binary(op: BinaryOp, dt: DType) -> KernelFn {
    macro_rules! table {
        ($($o:ident),*) => {
            match (op, avx2()) { $(
                (BinaryOp::$o, true) => with_dtype!(dt, T => binary_avx2::<T, { BinaryOp::$o as u8 }> as KernelFn),
                (BinaryOp::$o, false) => with_dtype!(dt, T => binary_base::<T, { BinaryOp::$o as u8 }> as KernelFn),
            )* }
        };
    }
    table!(
        Add,
        Subtract,
        Multiply,
        Divide,
        FloorDivide,
        Remainder,
        Power,
        Maximum,
        Minimum,
        Equal,
        NotEqual,
        Less,
        LessEqual,
        Greater,
        GreaterEqual,
        LogicalAnd,
        LogicalOr,
        LogicalXor,
        BitwiseAnd,
        BitwiseOr,
        BitwiseXor,
        Arctan2,
        Hypot
    )
}

/// The kernel of `op` for loop dtype `dt` (result `dt`, or bool for predicates).
pub fn unary(op: UnaryOp, dt: DType) -> KernelFn {
    macro_rules! table {
        ($($o:ident),*) => {
            match (op, avx2()) { $(
                (UnaryOp::$o, true) => with_dtype!(dt, T => unary_avx2::<T, { UnaryOp::$o as u8 }> as KernelFn),
                (UnaryOp::$o, false) => with_dtype!(dt, T => unary_base::<T, { UnaryOp::$o as u8 }> as KernelFn),
            )* }
        };
    }
    table!(
        Negative, Positive, Absolute, Square, Sign, Invert, LogicalNot, Sqrt, Exp, Log, Log2, Log10, Expm1, Log1p, Sin,
        Cos, Tan, Arcsin, Arccos, Arctan, Sinh, Cosh, Tanh, Floor, Ceil, Trunc, Rint, Isnan, Isinf, Isfinite
    )
}

/// The kernel of `where(cond, x, y)` with `x`, `y` and the result of dtype `dt`.
pub fn select(dt: DType) -> KernelFn {
    if avx2() {
        with_dtype!(dt, T => select_avx2::<T> as KernelFn)
    } else {
        with_dtype!(dt, T => select_base::<T> as KernelFn)
    }
}

/// The converting copy from `from` to `to` (NumPy `astype`).
pub fn cast(from: DType, to: DType) -> CastFn {
    if avx2() {
        with_dtype!(from, F => with_dtype!(to, T => cast_avx2::<F, T> as CastFn))
    } else {
        with_dtype!(from, F => with_dtype!(to, T => cast_base::<F, T> as CastFn))
    }
}

/// Whether `x` holds a negative value (for the check pass of integer `power`).
///
/// # Safety
/// `x` is valid for `n` reads of `dt` elements (one when `scalar`).
pub unsafe fn any_negative(dt: DType, n: usize, x: Src) -> bool {
    fn neg<T: PartialOrd + Default + Copy>(v: &[T]) -> bool {
        v.iter().any(|&e| e < T::default())
    }
    let n = if x.scalar { n.min(1) } else { n };
    // SAFETY: valid for n reads (contract).
    unsafe {
        match dt {
            DType::I32 => neg(std::slice::from_raw_parts(x.ptr.cast::<i32>(), n)),
            DType::I64 => neg(std::slice::from_raw_parts(x.ptr.cast::<i64>(), n)),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src<T>(v: &[T]) -> Src {
        Src {
            ptr: v.as_ptr().cast(),
            scalar: false,
        }
    }

    #[test]
    fn binary_forms_agree() {
        let a = [1.0f64, 2.0, 3.0, 4.0, 5.0];
        let b = [10.0f64, 20.0, 30.0, 40.0, 50.0];
        let k = binary(BinaryOp::Subtract, DType::F64);
        let mut out = [0.0f64; 5];
        // SAFETY: 5 elements everywhere; out does not overlap the sources.
        unsafe { k(5, &[src(&a), src(&b)], out.as_mut_ptr().cast()) };
        assert_eq!(out, [-9.0, -18.0, -27.0, -36.0, -45.0]);
        let two = 2.0f64;
        let s = Src {
            ptr: (&two as *const f64).cast(),
            scalar: true,
        };
        // SAFETY: as above; scalar source holds one element.
        unsafe { k(5, &[s, src(&b)], out.as_mut_ptr().cast()) };
        assert_eq!(out, [-8.0, -18.0, -28.0, -38.0, -48.0]);
        // in place: out = out - b
        let mut c = a;
        let p = c.as_mut_ptr();
        // SAFETY: the first source is exactly the destination (allowed in-place form).
        unsafe {
            k(
                5,
                &[
                    Src {
                        ptr: p.cast_const().cast(),
                        scalar: false,
                    },
                    src(&b),
                ],
                p.cast(),
            )
        };
        assert_eq!(c, [-9.0, -18.0, -27.0, -36.0, -45.0]);
        // second operand in place: out = a - out
        let mut d = b;
        let p = d.as_mut_ptr();
        // SAFETY: as above, for the second source.
        unsafe {
            k(
                5,
                &[
                    src(&a),
                    Src {
                        ptr: p.cast_const().cast(),
                        scalar: false,
                    },
                ],
                p.cast(),
            )
        };
        assert_eq!(d, [-9.0, -18.0, -27.0, -36.0, -45.0]);
        // comparisons write bools
        let lt = binary(BinaryOp::Less, DType::F64);
        let mut m = [B8(9); 5];
        // SAFETY: 5 elements; distinct buffers.
        unsafe { lt(5, &[src(&a), s], m.as_mut_ptr().cast()) };
        assert_eq!(m, [B8(1), B8(0), B8(0), B8(0), B8(0)]);
    }

    #[test]
    fn select_in_place_is_mask_assignment() {
        let mask = [B8(1), B8(0), B8(5), B8(0)];
        let mut a = [1i64, 2, 3, 4];
        let v = 0i64;
        let p = a.as_mut_ptr();
        // SAFETY: 4 elements; the third source is the destination itself.
        unsafe {
            select(DType::I64)(
                4,
                &[
                    src(&mask),
                    Src {
                        ptr: (&v as *const i64).cast(),
                        scalar: true,
                    },
                    Src {
                        ptr: p.cast_const().cast(),
                        scalar: false,
                    },
                ],
                p.cast(),
            )
        };
        assert_eq!(a, [0, 2, 0, 4]);
    }

    #[test]
    fn strided_casts() {
        let x = [1.9f64, -1.9, 300.0, f64::NAN];
        let mut y = [0u8; 8];
        // SAFETY: 4 reads of f64 at stride 1, 4 writes of u8 at stride 2 inside an 8-byte buffer.
        unsafe { cast(DType::F64, DType::U8)(4, x.as_ptr().cast(), 1, y.as_mut_ptr(), 2) };
        assert_eq!(y, [1, 0, 0, 0, 255, 0, 0, 0]);
        let mut z = [0i32; 3];
        // SAFETY: one element repeated into 3.
        unsafe { cast(DType::F64, DType::I32)(3, x.as_ptr().cast(), 0, z.as_mut_ptr().cast(), 1) };
        assert_eq!(z, [1, 1, 1]);
    }
}

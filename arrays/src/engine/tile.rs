//! Element-wise work on one cell, in cache-sized tiles.
//!
//! The cell's axes are put in the output's memory order and merged where every operand is
//! contiguous across them; then the cell is walked in tiles of at most [`TILE`] elements (a
//! piece of one row, or several short rows). For each tile an operand is handed to the kernel
//! in place when it is contiguous there and of the loop dtype, as one value when it does not
//! vary over the tile, and otherwise packed (and cast) into a tile buffer; the output is written
//! in place when it is contiguous and of the result dtype, else through a buffer.
#![allow(unsafe_code)]
use crate::dtype::DType;
use crate::kernel::{self, KernelFn, Src};

/// Elements per tile: a few KiB per operand, so a tile's operands stay in L1/L2.
pub(crate) const TILE: usize = 2048;

/// A generator of values from flat indices: `dst[i] = f(params, index(i))` as `f64`.
///
/// # Safety
/// `dst` is valid for `n` writes of `f64`; with `Indices::List`, the list holds `n` indices.
pub(crate) type GenFn = unsafe fn(params: &[f64; 4], n: usize, idx: Indices, dst: *mut f64);

/// The flat (C-order) indices of a tile's elements for a [`GenFn`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum Indices {
    /// `start, start + 1, …`.
    From(u64),
    /// Explicit indices (`n` of them).
    List(*const u64),
}

/// What an element-wise task computes.
#[derive(Clone, Copy)]
pub(crate) enum Work {
    /// `out = cast(kernel(sources))`, each source converted to the kernel's dtype for it
    /// ([`Input`]), the kernel's result of `res_dt`.
    Kernel { f: KernelFn, res_dt: DType },
    /// `out = cast(source 0)` (copy, astype, fill with a constant).
    Copy,
    /// `out = cast(f(params, flat index))` (arange, linspace, eye, random numbers).
    Generate { f: GenFn, params: [f64; 4] },
}

/// A source of an element-wise task.
#[derive(Clone, Debug)]
pub(crate) enum Input {
    /// Engine argument `arg`, elements of dtype `dt`, given to the kernel as `kdt`.
    Arg { arg: usize, dt: DType, kdt: DType },
    /// One value of dtype `dt` (the kernel's dtype for this source), as its little-endian
    /// bytes in 8-byte aligned storage (any element type may be read from it in place).
    Const { bytes: [u64; 2], dt: DType },
}

impl Input {
    /// The constant `value` converted to `dt`.
    pub fn constant(value: crate::dtype::Scalar, dt: DType) -> Input {
        let mut bytes = [0u64; 2];
        let le = value.cast_to(dt).to_le_bytes();
        for (i, c) in le.chunks(8).enumerate() {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            bytes[i] = u64::from_le_bytes(w);
        }
        Input::Const { bytes, dt }
    }
}

/// An element-wise task over the cells of a run.
pub(crate) struct MapSpec<'a> {
    pub work: Work,
    /// Engine argument written (the output) and its dtype.
    pub out: usize,
    pub out_dt: DType,
    pub inputs: &'a [Input],
    /// C-order strides of the iteration space (the flat indices of `Generate`).
    pub space_strides: &'a [usize],
}

/// Most engine arguments of one operation (the output and three inputs of `where`, with room).
pub(crate) const MAX_ARGS: usize = 6;

/// A cell with its operands' addresses resolved: `ptr[j]` is argument `j`'s first element of
/// the cell and `strides[j]` its strides (in elements) along the cell's axes.
pub(crate) struct Ready<'c> {
    pub lo: &'c [usize],
    pub hi: &'c [usize],
    pub ptr: [*mut u8; MAX_ARGS],
    pub strides: [&'c [isize]; MAX_ARGS],
}

/// Per-thread scratch of the compute phase, reused from operation to operation.
#[derive(Default)]
pub(crate) struct TileBufs {
    bufs: Vec<Vec<u64>>,
}

impl TileBufs {
    /// Buffer `i`, at least `bytes` long (8-byte aligned).
    pub fn get(&mut self, i: usize, bytes: usize) -> *mut u8 {
        if self.bufs.len() <= i {
            self.bufs.resize_with(i + 1, Vec::new);
        }
        let words = bytes.div_ceil(8).max(1);
        if self.bufs[i].len() < words {
            self.bufs[i].resize(words, 0);
        }
        self.bufs[i].as_mut_ptr().cast()
    }
}

/// Most axes of an array (NumPy's limit).
pub(crate) const MAX_DIMS: usize = 32;

/// One stream of a tile walk: pointer, element size, strides per (merged) axis.
#[derive(Clone, Copy)]
struct Stream {
    ptr: *mut u8,
    size: isize,
    strides: [isize; MAX_DIMS],
}

impl Stream {
    fn new(ptr: *mut u8, size: usize, strides: &[isize]) -> Stream {
        let mut st = [0isize; MAX_DIMS];
        st[..strides.len()].copy_from_slice(strides);
        Stream {
            ptr,
            size: size as isize,
            strides: st,
        }
    }
}

/// Puts the axes in the output's memory order (largest stride first) and merges neighbours
/// where every stream is contiguous across them. Returns the merged extents (in `ext[..n]`)
/// and their number.
fn merge_axes(shape: &[usize], streams: &mut [Stream], out: usize) -> ([usize; MAX_DIMS], usize) {
    let nd = shape.len();
    let mut order = [0usize; MAX_DIMS];
    for (d, o) in order.iter_mut().enumerate().take(nd) {
        *o = d;
    }
    let key = streams[out].strides;
    order[..nd].sort_by_key(|&d| std::cmp::Reverse(key[d].unsigned_abs()));
    // Keep axes of extent above 1, in that order.
    let mut ext = [0usize; MAX_DIMS];
    let mut n = 0;
    let mut pick = [0usize; MAX_DIMS];
    for &d in &order[..nd] {
        if shape[d] != 1 {
            ext[n] = shape[d];
            pick[n] = d;
            n += 1;
        }
    }
    for s in streams.iter_mut() {
        let old = s.strides;
        for k in 0..n {
            s.strides[k] = old[pick[k]];
        }
    }
    // Merge (a, b) when stride[a] == stride[b] * ext[b] for every stream.
    let mut d = n;
    while d > 1 {
        d -= 1;
        let mergeable = streams
            .iter()
            .all(|s| s.strides[d - 1] == s.strides[d] * ext[d] as isize);
        if mergeable {
            ext[d - 1] *= ext[d];
            for k in d..n - 1 {
                ext[k] = ext[k + 1];
            }
            for s in streams.iter_mut() {
                s.strides[d - 1] = s.strides[d];
                for k in d..n - 1 {
                    s.strides[k] = s.strides[k + 1];
                }
            }
            n -= 1;
        }
    }
    if n == 0 {
        ext[0] = 1;
        for s in streams.iter_mut() {
            s.strides[0] = 0;
        }
        n = 1;
    }
    (ext, n)
}

/// Runs an element-wise task on one cell.
pub(crate) fn map_cell(cell: &Ready<'_>, spec: &MapSpec<'_>, bufs: &mut TileBufs) {
    let nd0 = cell.lo.len();
    let mut shape = [0usize; MAX_DIMS];
    for ((s, h), l) in shape.iter_mut().zip(cell.hi).zip(cell.lo) {
        *s = h - l;
    }
    let shape = &shape[..nd0];
    if shape.contains(&0) {
        return;
    }
    // Streams: the output, each array input, and the flat index (for generators).
    let mut streams = [Stream::new(std::ptr::null_mut(), 0, &[]); MAX_ARGS + 1];
    streams[0] = Stream::new(cell.ptr[spec.out], spec.out_dt.size(), cell.strides[spec.out]);
    let mut ns = 1;
    for inp in spec.inputs {
        if let Input::Arg { arg, dt, .. } = *inp {
            streams[ns] = Stream::new(cell.ptr[arg], dt.size(), cell.strides[arg]);
            ns += 1;
        }
    }
    let gen_index = matches!(spec.work, Work::Generate { .. });
    let flat0: usize = cell.lo.iter().zip(spec.space_strides).map(|(l, s)| l * s).sum();
    if gen_index {
        let mut st = [0isize; MAX_DIMS];
        for (d, &s) in spec.space_strides.iter().enumerate() {
            st[d] = s as isize;
        }
        streams[ns] = Stream {
            ptr: std::ptr::null_mut(),
            size: 1,
            strides: st,
        };
        ns += 1;
    }
    let streams = &mut streams[..ns];
    let (ext, nd) = merge_axes(shape, streams, 0);
    let ext = &ext[..nd];
    let len = ext[nd - 1];
    // Several short rows per tile when rows are short and there is an axis above them.
    let rows_per_tile = if len < TILE / 2 && nd >= 2 {
        (TILE / len).max(1)
    } else {
        1
    };
    let outer = &ext[..nd - 1];
    let mut idx = [0usize; MAX_DIMS];
    let mut row_off = [0isize; MAX_ARGS + 1];
    loop {
        // Offsets (elements) of this row start.
        for (o, s) in row_off.iter_mut().zip(streams.iter()) {
            *o = idx[..nd - 1]
                .iter()
                .zip(&s.strides)
                .map(|(&i, &st)| i as isize * st)
                .sum();
        }
        let k = if rows_per_tile > 1 {
            rows_per_tile.min(ext[nd - 2] - idx[nd - 2])
        } else {
            1
        };
        let mut j0 = 0;
        while j0 < len {
            let n_row = if k > 1 { len } else { (len - j0).min(TILE) };
            tile(spec, streams, &row_off[..ns], j0, n_row, k, nd, flat0, bufs);
            j0 += n_row;
        }
        // Advance the outer odometer (by k rows along the second-to-last axis).
        if nd == 1 {
            return;
        }
        let mut d = nd - 1;
        let mut step = k;
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            idx[d] += step;
            step = 1;
            if idx[d] < outer[d] {
                break;
            }
            idx[d] = 0;
        }
    }
}

/// One tile: `k` rows (consecutive along the second-to-last merged axis) of `n` elements from
/// column `j0`.
#[allow(clippy::too_many_arguments)]
fn tile(
    spec: &MapSpec<'_>,
    streams: &[Stream],
    row_off: &[isize],
    j0: usize,
    n: usize,
    k: usize,
    nd: usize,
    flat0: usize,
    bufs: &mut TileBufs,
) {
    let inner = |s: &Stream| s.strides[nd - 1];
    let row = |s: &Stream| if nd >= 2 { s.strides[nd - 2] } else { 0 };
    let at = |si: usize| -> *mut u8 {
        let s = &streams[si];
        // SAFETY: the offset addresses an element of the cell (row start + column j0), which
        // lies inside the operand's memory (the engine resolved it).
        unsafe { s.ptr.offset((row_off[si] + j0 as isize * inner(s)) * s.size) }
    };
    // Whether stream `si` is contiguous (unit inner stride, rows back to back) over the tile.
    let contiguous = |si: usize| {
        let s = &streams[si];
        inner(s) == 1 && (k == 1 || row(s) == n as isize)
    };
    let uniform = |si: usize| {
        let s = &streams[si];
        inner(s) == 0 && (k == 1 || row(s) == 0)
    };
    let total = n * k;
    // Packs stream `si` (dtype `from`) into buffer `b` as `to`; returns the buffer.
    let pack = |si: usize, from: DType, to: DType, b: usize, bufs: &mut TileBufs| -> *mut u8 {
        let s = &streams[si];
        let dst = bufs.get(b, total * to.size());
        let f = kernel::cast(from, to);
        for r in 0..k {
            // SAFETY: row r of the tile lies in the operand (k rows exist from this row start)
            // and the buffer holds total elements of `to`.
            unsafe {
                f(
                    n,
                    at(si).offset(r as isize * row(s) * s.size),
                    inner(s),
                    dst.add(r * n * to.size()),
                    1,
                )
            };
        }
        dst
    };
    match spec.work {
        Work::Copy => {
            let (src_dt, sp, ss, srow) = match &spec.inputs[0] {
                Input::Arg { dt, .. } => (*dt, at(1).cast_const(), inner(&streams[1]), row(&streams[1])),
                Input::Const { bytes, dt } => (*dt, bytes.as_ptr().cast::<u8>(), 0, 0),
            };
            let f = kernel::cast(src_dt, spec.out_dt);
            let o = &streams[0];
            for r in 0..k as isize {
                // SAFETY: row r of source and output lie in their operands; they do not overlap
                // (an overlapping source was copied by the engine).
                unsafe {
                    f(
                        n,
                        sp.offset(r * srow * src_dt.size() as isize),
                        ss,
                        at(0).offset(r * row(o) * o.size),
                        inner(o),
                    )
                };
            }
        }
        Work::Generate { f, params } => {
            let ist = &streams[streams.len() - 1];
            let start = flat0 as isize + row_off[streams.len() - 1] + j0 as isize * inner(ist);
            let indices = if contiguous(streams.len() - 1) {
                Indices::From(start as u64)
            } else {
                let list = bufs.get(1, total * 8).cast::<u64>();
                for r in 0..k {
                    for j in 0..n {
                        let v = start + r as isize * row(ist) + j as isize * inner(ist);
                        // SAFETY: r·n + j < total, inside the buffer.
                        unsafe { *list.add(r * n + j) = v as u64 };
                    }
                }
                Indices::List(list.cast_const())
            };
            let direct = spec.out_dt == DType::F64 && contiguous(0);
            let dst = if direct { at(0) } else { bufs.get(0, total * 8) };
            // SAFETY: dst holds `total` f64 (the output in place, or the buffer).
            unsafe { f(&params, total, indices, dst.cast()) };
            if !direct {
                store(spec, streams, &at, dst, DType::F64, n, k, nd);
            }
        }
        Work::Kernel { f, res_dt } => {
            let mut srcs = [Src {
                ptr: std::ptr::null(),
                scalar: true,
            }; 4];
            let mut si = 1;
            for (i, inp) in spec.inputs.iter().enumerate() {
                srcs[i] = match inp {
                    Input::Const { bytes, .. } => Src {
                        ptr: bytes.as_ptr().cast::<u8>(),
                        scalar: true,
                    },
                    Input::Arg { dt, kdt, .. } => {
                        let loop_dt = *kdt;
                        let s = if *dt == loop_dt && contiguous(si) {
                            Src {
                                ptr: at(si).cast_const(),
                                scalar: false,
                            }
                        } else if *dt == loop_dt && uniform(si) {
                            Src {
                                ptr: at(si).cast_const(),
                                scalar: true,
                            }
                        } else if uniform(si) {
                            let b = bufs.get(2 + i, loop_dt.size());
                            // SAFETY: one element from the operand into the buffer.
                            unsafe { kernel::cast(*dt, loop_dt)(1, at(si), 0, b, 1) };
                            Src {
                                ptr: b.cast_const(),
                                scalar: true,
                            }
                        } else {
                            Src {
                                ptr: pack(si, *dt, loop_dt, 2 + i, bufs).cast_const(),
                                scalar: false,
                            }
                        };
                        si += 1;
                        s
                    }
                };
            }
            let direct = spec.out_dt == res_dt && contiguous(0);
            let dst = if direct {
                at(0)
            } else {
                bufs.get(0, total * res_dt.size())
            };
            // SAFETY: sources hold `total` elements of the loop dtype (or one, when scalar) and
            // do not overlap `dst` except as the identical in-place operand; dst holds `total`
            // results.
            unsafe { f(total, &srcs[..spec.inputs.len()], dst) };
            if !direct {
                store(spec, streams, &at, dst, res_dt, n, k, nd);
            }
        }
    }
}

/// Writes a tile computed into a buffer (of dtype `from`) to the output, casting.
#[allow(clippy::too_many_arguments)]
fn store(
    spec: &MapSpec<'_>,
    streams: &[Stream],
    at: &dyn Fn(usize) -> *mut u8,
    buf: *mut u8,
    from: DType,
    n: usize,
    k: usize,
    nd: usize,
) {
    let o = &streams[0];
    let (inner, row) = (o.strides[nd - 1], if nd >= 2 { o.strides[nd - 2] } else { 0 });
    let f = kernel::cast(from, spec.out_dt);
    for r in 0..k {
        // SAFETY: row r of the buffer holds n values of `from`; row r of the output tile lies in
        // the output; buffer and output are distinct memory.
        unsafe {
            f(
                n,
                buf.add(r * n * from.size()),
                1,
                at(0).offset(r as isize * row * o.size),
                inner,
            )
        };
    }
}

/// Copies (and converts, `from` → `to`) the box of extents `shape` from `src` to `dst`, both
/// addressed with strides in elements.
///
/// # Safety
/// Every addressed element of `src` and `dst` is valid (for reads of `from`, writes of `to`)
/// and aligned; the two do not overlap.
pub(crate) unsafe fn strided_copy(
    shape: &[usize],
    src: *const u8,
    sst: &[isize],
    dst: *mut u8,
    dst_st: &[isize],
    from: DType,
    to: DType,
) {
    if shape.contains(&0) {
        return;
    }
    let mut streams = [
        Stream::new(dst, to.size(), dst_st),
        Stream::new(src.cast_mut(), from.size(), sst),
    ];
    let (ext, nd) = merge_axes(shape, &mut streams, 0);
    let ext = &ext[..nd];
    let f = kernel::cast(from, to);
    let zeros = vec![0; nd - 1];
    crate::shape::for_each_index(&zeros, &ext[..nd - 1], |idx| {
        let off = |s: &Stream| {
            idx.iter()
                .zip(&s.strides)
                .map(|(&i, &st)| i as isize * st)
                .sum::<isize>()
                * s.size
        };
        let (d, sr) = (&streams[0], &streams[1]);
        // SAFETY: the row lies in both boxes (contract).
        unsafe {
            f(
                ext[nd - 1],
                sr.ptr.offset(off(sr)),
                sr.strides[nd - 1],
                d.ptr.offset(off(d)),
                d.strides[nd - 1],
            )
        };
    });
}

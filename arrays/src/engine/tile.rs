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

/// Most axes of an array (NumPy's limit; views refuse more: `crate::shape::check_ndim`).
pub(crate) const MAX_DIMS: usize = crate::shape::MAX_NDIM;

/// One stream of a tile walk: pointer, element size, strides per (merged) axis.
#[derive(Clone, Copy)]
pub(crate) struct Stream {
    pub ptr: *mut u8,
    pub size: isize,
    pub strides: [isize; MAX_DIMS],
}

impl Stream {
    pub fn new(ptr: *mut u8, size: usize, strides: &[isize]) -> Stream {
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
pub(crate) fn merge_axes(shape: &[usize], streams: &mut [Stream], out: usize) -> ([usize; MAX_DIMS], usize) {
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

/// Rows shorter than this are packed by [`copy_rows`] (same dtype) instead of a kernel call per
/// row.
const SHORT_ROWS: usize = 32;

/// Copies `k` rows of `n` elements of type `T`, strided by `inner` within a row and `row`
/// between rows (in elements, possibly 0 or negative), from `src` into `dst`, densely.
///
/// # Safety
/// Every element addressed from `src` is readable as a `T`; `dst` is writable for `n * k`
/// values of `T` and does not overlap the source.
unsafe fn copy_rows<T: Copy>(src: *const u8, inner: isize, row: isize, n: usize, k: usize, dst: *mut u8) {
    let (src, dst) = (src.cast::<T>(), dst.cast::<T>());
    for r in 0..k {
        // SAFETY: row r and its n elements are inside the source; the destination row inside
        // the buffer (contract). Unaligned accesses: the buffer and heap are aligned for every
        // dtype, but nothing here needs it.
        unsafe {
            let s = src.offset(r as isize * row);
            let d = dst.add(r * n);
            for j in 0..n {
                d.add(j).write_unaligned(s.offset(j as isize * inner).read_unaligned());
            }
        }
    }
}

/// Most streams of one walk (operands, outputs and the flat index).
pub(crate) const MAX_STREAMS: usize = 16;

/// One tile of a walk ([`walk`]): `k` rows (consecutive along the second-to-last merged axis)
/// of `n` elements from column `j0`, over the walk's streams.
pub(crate) struct TileAt<'a> {
    streams: &'a [Stream],
    row_off: &'a [isize],
    j0: usize,
    /// Elements per row of the tile.
    pub n: usize,
    /// Rows of the tile.
    pub k: usize,
    nd: usize,
}

impl<'a> TileAt<'a> {
    /// A tile of `k` rows of `n` elements at the start of each stream plus its `row_off`, over
    /// streams of `nd` (merged) axes: the last axis runs along the rows, the one before it
    /// across them.
    pub fn new(streams: &'a [Stream], row_off: &'a [isize], n: usize, k: usize, nd: usize) -> TileAt<'a> {
        TileAt {
            streams,
            row_off,
            j0: 0,
            n,
            k,
            nd,
        }
    }

    /// Elements in the tile.
    pub fn total(&self) -> usize {
        self.n * self.k
    }

    fn inner(&self, si: usize) -> isize {
        self.streams[si].strides[self.nd - 1]
    }

    fn row(&self, si: usize) -> isize {
        if self.nd >= 2 {
            self.streams[si].strides[self.nd - 2]
        } else {
            0
        }
    }

    /// Address of stream `si`'s first element of the tile.
    pub fn at(&self, si: usize) -> *mut u8 {
        let s = &self.streams[si];
        // SAFETY: the offset addresses an element of the cell (row start + column j0), which
        // lies inside the operand's memory (the engine resolved it).
        unsafe {
            s.ptr
                .offset((self.row_off[si] + self.j0 as isize * self.inner(si)) * s.size)
        }
    }

    /// The flat index of the tile's first element of an index stream `si` (whose "pointer"
    /// is the cell's first flat index).
    pub fn index_start(&self, si: usize, flat0: usize) -> isize {
        flat0 as isize + self.row_off[si] + self.j0 as isize * self.inner(si)
    }

    /// Whether stream `si` is contiguous over the tile (unit inner stride, rows back to back).
    pub fn contiguous(&self, si: usize) -> bool {
        self.inner(si) == 1 && (self.k == 1 || self.row(si) == self.n as isize)
    }

    /// Whether the rows of stream `si` follow one another with its inner stride (so the tile
    /// is one strided run of `total` elements), and there is more than one.
    fn back_to_back(&self, si: usize) -> bool {
        self.k > 1 && self.row(si) == self.n as isize * self.inner(si)
    }

    /// Whether stream `si` is one value over the tile.
    pub fn uniform(&self, si: usize) -> bool {
        self.inner(si) == 0 && (self.k == 1 || self.row(si) == 0)
    }

    /// Packs stream `si` (elements of `from`) into buffer `b` as `to` (dense, row after row).
    pub fn pack(&self, si: usize, from: DType, to: DType, b: usize, bufs: &mut TileBufs) -> *mut u8 {
        let s = &self.streams[si];
        let dst = bufs.get(b, self.total() * to.size());
        let f = kernel::cast(from, to);
        if self.back_to_back(si) {
            // SAFETY: the tile's elements are `total` elements with the inner stride in the
            // operand; the buffer holds `total` of `to`.
            unsafe { f(self.total(), self.at(si), self.inner(si), dst, 1) };
            return dst;
        }
        if from == to && from != DType::Bool && self.n < SHORT_ROWS {
            // Short rows (a broadcast `x[:, None, :]` of 3 columns, a `w[:, :, None]`): one
            // inline loop over the tile rather than a kernel call per row (bool: the kernel
            // makes every true byte 1).
            let (src, inner, row) = (self.at(si).cast_const(), self.inner(si), self.row(si));
            let (n, k) = (self.n, self.k);
            // SAFETY: the tile's k rows of n elements (these strides, in elements) lie in the
            // operand; the buffer holds total elements of `to`, the same type.
            unsafe {
                match to.size() {
                    1 => copy_rows::<u8>(src, inner, row, n, k, dst),
                    2 => copy_rows::<u16>(src, inner, row, n, k, dst),
                    4 => copy_rows::<u32>(src, inner, row, n, k, dst),
                    8 => copy_rows::<u64>(src, inner, row, n, k, dst),
                    _ => copy_rows::<[u64; 2]>(src, inner, row, n, k, dst),
                }
            }
            return dst;
        }
        for r in 0..self.k {
            // SAFETY: row r of the tile lies in the operand (k rows exist from this row start)
            // and the buffer holds total elements of `to`.
            unsafe {
                f(
                    self.n,
                    self.at(si).offset(r as isize * self.row(si) * s.size),
                    self.inner(si),
                    dst.add(r * self.n * to.size()),
                    1,
                )
            };
        }
        dst
    }

    /// Stream `si` as a kernel source of dtype `to`: in place when contiguous (or uniform) and
    /// of that dtype, else packed into buffer `b`.
    pub fn source(&self, si: usize, from: DType, to: DType, b: usize, bufs: &mut TileBufs) -> Src {
        if from == to && self.contiguous(si) {
            Src {
                ptr: self.at(si).cast_const(),
                scalar: false,
            }
        } else if self.uniform(si) {
            if from == to {
                return Src {
                    ptr: self.at(si).cast_const(),
                    scalar: true,
                };
            }
            let buf = bufs.get(b, to.size());
            // SAFETY: one element from the operand into the buffer.
            unsafe { kernel::cast(from, to)(1, self.at(si), 0, buf, 1) };
            Src {
                ptr: buf.cast_const(),
                scalar: true,
            }
        } else {
            Src {
                ptr: self.pack(si, from, to, b, bufs).cast_const(),
                scalar: false,
            }
        }
    }

    /// Writes `total` values of `from` (dense, row after row) at `src` to stream `si`, converted
    /// to `to`.
    pub fn store(&self, si: usize, src: *const u8, from: DType, to: DType) {
        let f = kernel::cast(from, to);
        let s = &self.streams[si];
        if self.back_to_back(si) {
            // SAFETY: as below, the tile's rows being one run of `total` elements.
            unsafe { f(self.total(), src, 1, self.at(si), self.inner(si)) };
            return;
        }
        for r in 0..self.k {
            // SAFETY: row r of the source holds n values of `from`; row r of the tile lies in
            // the stream's memory; the two are distinct memory (a buffer and an operand).
            unsafe {
                f(
                    self.n,
                    src.add(r * self.n * from.size()),
                    1,
                    self.at(si).offset(r as isize * self.row(si) * s.size),
                    self.inner(si),
                )
            };
        }
    }

    /// The flat indices of the tile's elements, from index stream `si`.
    pub fn indices(&self, si: usize, flat0: usize, bufs: &mut TileBufs, b: usize) -> Indices {
        let start = self.index_start(si, flat0);
        if self.contiguous(si) {
            return Indices::From(start as u64);
        }
        let list = bufs.get(b, self.total() * 8).cast::<u64>();
        for r in 0..self.k {
            for j in 0..self.n {
                let v = start + r as isize * self.row(si) + j as isize * self.inner(si);
                // SAFETY: r·n + j < total, inside the buffer.
                unsafe { *list.add(r * self.n + j) = v as u64 };
            }
        }
        Indices::List(list.cast_const())
    }
}

/// Walks a box of extents `shape` over `streams` in tiles (see the module docs): the axes in
/// the memory order of stream 0, merged where possible; calls `f` once per tile.
pub(crate) fn walk(shape: &[usize], streams: &mut [Stream], mut f: impl FnMut(&TileAt<'_>)) {
    if shape.contains(&0) {
        return;
    }
    let ns = streams.len();
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
    let mut row_off = [0isize; MAX_STREAMS];
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
            let n = if k > 1 { len } else { (len - j0).min(TILE) };
            f(&TileAt {
                streams,
                row_off: &row_off[..ns],
                j0,
                n,
                k,
                nd,
            });
            j0 += n;
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

/// The index stream of a cell: "pointer" 0, strides the iteration space's C-order strides.
pub(crate) fn index_stream(space_strides: &[usize]) -> Stream {
    let mut st = [0isize; MAX_DIMS];
    for (d, &s) in space_strides.iter().enumerate() {
        st[d] = s as isize;
    }
    Stream {
        ptr: std::ptr::null_mut(),
        size: 1,
        strides: st,
    }
}

/// Runs an element-wise task on one cell.
pub(crate) fn map_cell(cell: &Ready<'_>, spec: &MapSpec<'_>, bufs: &mut TileBufs) {
    let nd0 = cell.lo.len();
    let mut shape = [0usize; MAX_DIMS];
    for ((s, h), l) in shape.iter_mut().zip(cell.hi).zip(cell.lo) {
        *s = h - l;
    }
    // Streams: the output, each array input, and the flat index (for generators).
    let mut streams = [Stream::new(std::ptr::null_mut(), 0, &[]); MAX_STREAMS];
    streams[0] = Stream::new(cell.ptr[spec.out], spec.out_dt.size(), cell.strides[spec.out]);
    let mut ns = 1;
    for inp in spec.inputs {
        if let Input::Arg { arg, dt, .. } = *inp {
            streams[ns] = Stream::new(cell.ptr[arg], dt.size(), cell.strides[arg]);
            ns += 1;
        }
    }
    let flat0: usize = cell.lo.iter().zip(spec.space_strides).map(|(l, s)| l * s).sum();
    if matches!(spec.work, Work::Generate { .. }) {
        streams[ns] = index_stream(spec.space_strides);
        ns += 1;
    }
    walk(&shape[..nd0], &mut streams[..ns], |t| tile(spec, t, ns, flat0, bufs));
}

/// One tile of an element-wise task.
fn tile(spec: &MapSpec<'_>, t: &TileAt<'_>, ns: usize, flat0: usize, bufs: &mut TileBufs) {
    let total = t.total();
    match spec.work {
        Work::Copy => match &spec.inputs[0] {
            Input::Arg { dt, .. } => {
                // Stream to stream, converting: no buffer.
                let f = kernel::cast(*dt, spec.out_dt);
                for r in 0..t.k as isize {
                    // SAFETY: row r of source and output lie in their operands; they do not
                    // overlap (an overlapping source was copied by the engine).
                    unsafe {
                        f(
                            t.n,
                            t.at(1).offset(r * t.row(1) * dt.size() as isize),
                            t.inner(1),
                            t.at(0).offset(r * t.row(0) * spec.out_dt.size() as isize),
                            t.inner(0),
                        )
                    };
                }
            }
            Input::Const { bytes, dt } => {
                let f = kernel::cast(*dt, spec.out_dt);
                for r in 0..t.k as isize {
                    // SAFETY: one constant repeated into row r of the output.
                    unsafe {
                        f(
                            t.n,
                            bytes.as_ptr().cast::<u8>(),
                            0,
                            t.at(0).offset(r * t.row(0) * spec.out_dt.size() as isize),
                            t.inner(0),
                        )
                    };
                }
            }
        },
        Work::Generate { f, params } => {
            let indices = t.indices(ns - 1, flat0, bufs, 1);
            let direct = spec.out_dt == DType::F64 && t.contiguous(0);
            let dst = if direct { t.at(0) } else { bufs.get(0, total * 8) };
            // SAFETY: dst holds `total` f64 (the output in place, or the buffer).
            unsafe { f(&params, total, indices, dst.cast()) };
            if !direct {
                t.store(0, dst, DType::F64, spec.out_dt);
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
                        let s = t.source(si, *dt, *kdt, 2 + i, bufs);
                        si += 1;
                        s
                    }
                };
            }
            let direct = spec.out_dt == res_dt && t.contiguous(0);
            let dst = if direct {
                t.at(0)
            } else {
                bufs.get(0, total * res_dt.size())
            };
            // SAFETY: sources hold `total` elements of the loop dtype (or one, when scalar) and
            // do not overlap `dst` except as the identical in-place operand; dst holds `total`
            // results.
            unsafe { f(total, &srcs[..spec.inputs.len()], dst) };
            if !direct {
                t.store(0, dst, res_dt, spec.out_dt);
            }
        }
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

#[cfg(test)]
mod tests {
    use super::copy_rows;

    #[test]
    fn copy_rows_follows_the_strides() {
        let src: Vec<u64> = (0..12).collect();
        let mut dst = vec![0u64; 6];
        // 3 rows of 2: inner stride 2, rows 4 apart; then a row repeated (row stride 0) and an
        // element repeated along the row (inner stride 0).
        // SAFETY: every index stays below 12; the destination holds 6.
        unsafe { copy_rows::<u64>(src.as_ptr().cast(), 2, 4, 2, 3, dst.as_mut_ptr().cast()) };
        assert_eq!(dst, [0, 2, 4, 6, 8, 10]);
        // SAFETY: as above.
        unsafe { copy_rows::<u64>(src.as_ptr().add(9).cast(), 1, 0, 3, 2, dst.as_mut_ptr().cast()) };
        assert_eq!(dst, [9, 10, 11, 9, 10, 11]);
        // SAFETY: as above.
        unsafe { copy_rows::<u64>(src.as_ptr().add(11).cast(), 0, -1, 2, 3, dst.as_mut_ptr().cast()) };
        assert_eq!(dst, [11, 11, 10, 10, 9, 9]);
        let pairs: Vec<[u64; 2]> = (0..4).map(|k| [k, 100 + k]).collect();
        let mut out = vec![[0u64; 2]; 4];
        // SAFETY: 16-byte elements (complex128), 2 rows of 2 in reverse order.
        unsafe { copy_rows::<[u64; 2]>(pairs.as_ptr().add(3).cast(), -1, -2, 2, 2, out.as_mut_ptr().cast()) };
        assert_eq!(out, [[3, 103], [2, 102], [1, 101], [0, 100]]);
    }
}

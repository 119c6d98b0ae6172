//! Planning: which elements of an operation this rank computes ("owner computes"), cut into
//! *cells* — boxes of the iteration space in which every operand is one strided block of one
//! rank's memory — and, for each operand of each cell, where that block is.
//!
//! Two ways to cut, chosen per operation:
//! * **boxes** when every operand's view moves along one base axis per view axis
//!   ([`ViewSpec::axis_map`]: slices, integer indices, new and broadcast axes, transposes): the
//!   anchor's own boxes (the pieces this rank owns) are cut along each axis where some operand
//!   changes owner, so cells are few and large;
//! * **rows** otherwise (reshapes that merge base axes, and views of them such as a strided
//!   diagonal): rows of the last axis, cut where an operand changes owner or local stride.
//!
//! A plan holds no pointers: the engine resolves addresses when it runs a plan, so a plan can be
//! cached and reused by every operation of the same shapes, layouts and views.
use crate::dist::Distribution;
use crate::shape::{box_runs, c_strides};
use crate::view::{AxisMap, ViewSpec};

/// Most elements of one cell: larger boxes are cut along their outermost axis.
pub(crate) const MAX_CELL: usize = 1 << 20;

/// An operand as the planner sees it: its base array's distribution and its view, already in
/// the shape of the iteration space (broadcast, with stride-0 axes where it does not vary).
#[derive(Clone, Copy)]
pub(crate) struct OpRef<'a> {
    pub dist: &'a Distribution,
    pub view: &'a ViewSpec,
}

/// A dense copy of one operand's block of a cell: the runs `(local offset, len)` of the owner's
/// local block that hold it, concatenated in order (`len` elements in all), and where the cell's
/// elements are inside the copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CopySpec {
    pub runs: Vec<(usize, usize)>,
    pub len: usize,
    pub offset: usize,
    pub strides: Vec<isize>,
}

/// Where one operand's elements of one cell are: cell element `i` (counted from the cell's
/// first element) is element `offset + Σ i[d]·strides[d]` of `rank`'s local block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Access {
    pub rank: usize,
    pub offset: usize,
    pub strides: Vec<isize>,
    /// The block as a dense copy, for operands read from another rank or copied to break an
    /// overlap with the output (`None` when neither applies).
    pub copy: Option<CopySpec>,
}

/// A box `[lo, hi)` of the iteration space and one [`Access`] per operand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Cell {
    pub lo: Vec<usize>,
    pub hi: Vec<usize>,
    pub acc: Vec<Access>,
}

impl Cell {
    /// The cell's extent along each axis.
    pub fn shape(&self) -> Vec<usize> {
        self.hi.iter().zip(&self.lo).map(|(h, l)| h - l).collect()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.hi.iter().zip(&self.lo).map(|(h, l)| h - l).product()
    }
}

/// How the anchor's elements are shared out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Share {
    /// Each rank takes the elements it owns (a replicated anchor: all of them).
    Owned,
    /// Each rank takes an even share of the first axis (reading a replicated array in a
    /// reduction, where owning everything must not mean counting everything on every rank).
    Split,
    /// The calling rank takes everything (one-sided region reads and writes).
    All,
}

/// What to plan: the iteration space, the anchor whose ownership decides who computes what,
/// the operands, which operands must be copied even when local (they overlap the output in
/// another order), and whether work boxes are aligned to chunks of the last axis (float sums).
pub(crate) struct Spec<'a> {
    pub shape: &'a [usize],
    pub anchor: OpRef<'a>,
    pub share: Share,
    pub ops: &'a [OpRef<'a>],
    pub snapshot: &'a [bool],
    pub chunk: Option<usize>,
}

/// The cells rank `me` computes.
pub(crate) fn plan(me: usize, nranks: usize, spec: &Spec<'_>) -> Vec<Cell> {
    let mut out = Vec::new();
    if spec.shape.contains(&0) {
        return out;
    }
    let amap = spec.anchor.view.axis_map();
    let maps: Option<Vec<AxisMap>> = spec.ops.iter().map(|o| o.view.axis_map()).collect();
    match (amap, maps) {
        (Some(a), Some(m)) => plan_boxes(me, nranks, spec, &a, &m, &mut out),
        _ => plan_rows(me, nranks, spec, &mut out),
    }
    out
}

/// `x` rounded up to a multiple of `c`.
fn round_up(x: usize, c: usize) -> usize {
    x.div_ceil(c) * c
}

/// The even share of `[0, n)` of rank `me` among `nranks`.
fn split(n: usize, me: usize, nranks: usize) -> (usize, usize) {
    (n * me / nranks, n * (me + 1) / nranks)
}

/// Aligns the last-axis range `[a, b)` of a work box to chunk boundaries: the box takes the
/// chunks that start inside it, whole (`n` is the axis length).
fn align_chunk(a: usize, b: usize, n: usize, c: usize) -> (usize, usize) {
    let start = if a == 0 { 0 } else { round_up(a, c).min(n) };
    let end = if b == n { n } else { round_up(b, c).min(n) };
    (start, end.max(start))
}

fn plan_boxes(me: usize, nranks: usize, spec: &Spec<'_>, amap: &AxisMap, maps: &[AxisMap], out: &mut Vec<Cell>) {
    let shape = spec.shape;
    let nd = shape.len();
    let mut boxes: Vec<(Vec<usize>, Vec<usize>)> = Vec::new();
    if spec.share == Share::All {
        boxes.push((vec![0; nd], shape.to_vec()));
    } else if spec.share == Share::Split {
        let mut lo = vec![0; nd];
        let mut hi = shape.to_vec();
        if nd == 0 {
            if me == 0 {
                boxes.push((lo, hi));
            }
        } else {
            (lo[0], hi[0]) = split(shape[0], me, nranks);
            boxes.push((lo, hi));
        }
    } else {
        let zeros = vec![0; nd];
        let (blo, bhi) = amap.base_box(&zeros, shape);
        let pieces = spec.anchor.dist.pieces_from(me, &blo, &bhi).unwrap_or_default();
        for p in pieces.into_iter().filter(|p| p.rank == me) {
            let mut lo = vec![0; nd];
            let mut hi = shape.to_vec();
            for d in 0..nd {
                if let Some((k, _)) = amap.axes[d] {
                    (lo[d], hi[d]) = amap.view_range(d, 0, shape[d], p.global_lo[k], p.global_hi[k]);
                }
            }
            boxes.push((lo, hi));
        }
    }
    for (mut lo, mut hi) in boxes {
        if let (Some(c), Some(last)) = (spec.chunk, nd.checked_sub(1)) {
            (lo[last], hi[last]) = align_chunk(lo[last], hi[last], shape[last], c);
        }
        if lo.iter().zip(&hi).any(|(l, h)| l >= h) {
            continue;
        }
        cells_in_box(me, spec, maps, &lo, &hi, out);
    }
}

/// The base range along base axis `k` that view axis `d` covers over `[vlo, vhi)`.
fn base_range(map: &AxisMap, d: usize, vlo: usize, vhi: usize) -> Option<(usize, usize, usize, isize)> {
    let (k, m) = map.axes[d]?;
    let o = map.origin[k] as isize;
    let a = o + m * vlo as isize;
    let b = o + m * (vhi as isize - 1);
    Some((k, a.min(b) as usize, a.max(b) as usize + 1, m))
}

fn cells_in_box(me: usize, spec: &Spec<'_>, maps: &[AxisMap], vlo: &[usize], vhi: &[usize], out: &mut Vec<Cell>) {
    let nd = vlo.len();
    let mut cuts: Vec<Vec<usize>> = (0..nd).map(|d| vec![vlo[d], vhi[d]]).collect();
    for (op, map) in spec.ops.iter().zip(maps) {
        for d in 0..nd {
            if let Some((k, gl, gh, m)) = base_range(map, d, vlo[d], vhi[d]) {
                for g in op.dist.cuts(k, gl, gh) {
                    let (r0, r1) = map.view_range(d, vlo[d], vhi[d], g, usize::MAX / 4);
                    cuts[d].push(if m > 0 { r0 } else { r1 });
                }
            }
        }
    }
    // Cap the cell size (cut the outermost axis), so that no single block copied from another
    // rank is larger than the engine's arena budget.
    let volume: usize = (0..nd).map(|d| vhi[d] - vlo[d]).product();
    if volume > MAX_CELL {
        if let Some(d0) = (0..nd).find(|&d| vhi[d] - vlo[d] > 1) {
            let ext = vhi[d0] - vlo[d0];
            let step = (MAX_CELL / (volume / ext)).max(1);
            cuts[d0].extend((vlo[d0]..vhi[d0]).step_by(step).skip(1));
        }
    }
    for c in &mut cuts {
        c.sort_unstable();
        c.dedup();
    }
    let mut pick = vec![0usize; nd];
    loop {
        let lo: Vec<usize> = (0..nd).map(|d| cuts[d][pick[d]]).collect();
        let hi: Vec<usize> = (0..nd).map(|d| cuts[d][pick[d] + 1]).collect();
        let acc = spec
            .ops
            .iter()
            .zip(maps)
            .zip(spec.snapshot)
            .map(|((op, map), &snap)| box_access(me, op.dist, map, &lo, &hi, snap))
            .collect();
        out.push(Cell { lo, hi, acc });
        let mut d = nd;
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            pick[d] += 1;
            if pick[d] + 1 < cuts[d].len() {
                break;
            }
            pick[d] = 0;
        }
    }
}

/// The access of an operand with axis map `map` to the cell `[lo, hi)` (inside one ownership
/// run along every axis).
fn box_access(me: usize, dist: &Distribution, map: &AxisMap, lo: &[usize], hi: &[usize], snap: bool) -> Access {
    let mut bidx = map.origin.clone();
    for (d, ax) in map.axes.iter().enumerate() {
        if let Some((k, m)) = *ax {
            bidx[k] = (map.origin[k] as isize + m * lo[d] as isize) as usize;
        }
    }
    let (rank, lidx, lshape) = dist.resolve(me, &bidx);
    let lstr = c_strides(&lshape);
    let offset = lidx.iter().zip(&lstr).map(|(i, s)| i * s).sum();
    let strides = map
        .axes
        .iter()
        .map(|ax| ax.map_or(0, |(k, m)| m * lstr[k] as isize))
        .collect();
    let copy = (rank != me || snap).then(|| {
        let mut llo = lidx.clone();
        let mut lhi: Vec<usize> = lidx.iter().map(|x| x + 1).collect();
        for (d, ax) in map.axes.iter().enumerate() {
            if let Some((k, m)) = *ax {
                let end = (lidx[k] as isize + m * (hi[d] - lo[d]) as isize - m) as usize;
                llo[k] = lidx[k].min(end);
                lhi[k] = lidx[k].max(end) + 1;
            }
        }
        let ext: Vec<usize> = lhi.iter().zip(&llo).map(|(h, l)| h - l).collect();
        let bstr = c_strides(&ext);
        CopySpec {
            runs: box_runs(&lshape, &llo, &lhi),
            len: ext.iter().product(),
            offset: lidx.iter().zip(&llo).zip(&bstr).map(|((i, l), s)| (i - l) * s).sum(),
            strides: map
                .axes
                .iter()
                .map(|ax| ax.map_or(0, |(k, m)| m * bstr[k] as isize))
                .collect(),
        }
    });
    Access {
        rank,
        offset,
        strides,
        copy,
    }
}

/// A run of one operand along one row of the iteration space: positions `[j0, j1)` of the row
/// are elements `off + (j − j0)·stride` of `rank`'s local block.
#[derive(Clone, Copy, Debug)]
struct RowSeg {
    j0: usize,
    j1: usize,
    rank: usize,
    off: usize,
    stride: isize,
}

/// Base multi-index of base linear offset `lin`.
fn unravel(mut lin: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for k in (0..shape.len()).rev() {
        idx[k] = lin % shape[k];
        lin /= shape[k];
    }
    idx
}

fn local_offset(lidx: &[usize], lshape: &[usize]) -> usize {
    lidx.iter().zip(lshape).fold(0, |acc, (&i, &n)| acc * n + i)
}

/// The runs of `view`'s row `outer` (indices of every axis but the last) of length `len`.
fn row_segments(me: usize, dist: &Distribution, view: &ViewSpec, outer: &[usize], len: usize) -> Vec<RowSeg> {
    let st = view.strides();
    let nd = st.len();
    let bshape = view.base_shape();
    let start = view.offset() as isize + outer.iter().zip(st).map(|(&i, &s)| i as isize * s).sum::<isize>();
    let step = st[nd - 1];
    let at = |j: usize| (start + j as isize * step) as usize;
    let resolve = |lin: usize| {
        let (rank, lidx, lshape) = dist.resolve(me, &unravel(lin, bshape));
        (rank, local_offset(&lidx, &lshape), lshape, lidx)
    };
    if step == 0 || len == 1 {
        let (rank, off, _, _) = resolve(at(0));
        return vec![RowSeg {
            j0: 0,
            j1: len,
            rank,
            off,
            stride: 0,
        }];
    }
    // The row moves along one base axis k: cut it where that axis changes owner.
    let cs = c_strides(bshape);
    let b0 = unravel(at(0), bshape);
    let axis = (0..bshape.len()).find(|&k| {
        let c = cs[k] as isize;
        c != 0 && step % c == 0 && {
            let end = b0[k] as isize + (step / c) * (len as isize - 1);
            (0..bshape[k] as isize).contains(&end)
        }
    });
    if let Some(k) = axis {
        let m = step / cs[k] as isize;
        let map = AxisMap {
            origin: b0.clone(),
            axes: vec![Some((k, m))],
        };
        let (_, gl, gh, _) = base_range(&map, 0, 0, len).unwrap_or((k, 0, 0, m));
        let mut bounds = vec![0, len];
        for g in dist.cuts(k, gl, gh) {
            let (r0, r1) = map.view_range(0, 0, len, g, usize::MAX / 4);
            bounds.push(if m > 0 { r0 } else { r1 });
        }
        bounds.sort_unstable();
        bounds.dedup();
        return bounds
            .windows(2)
            .map(|w| {
                let (rank, off, lshape, _) = resolve(at(w[0]));
                RowSeg {
                    j0: w[0],
                    j1: w[1],
                    rank,
                    off,
                    stride: m * c_strides(&lshape)[k] as isize,
                }
            })
            .collect();
    }
    // Element by element, merging runs with one rank and a constant local stride.
    let mut segs: Vec<RowSeg> = Vec::new();
    for j in 0..len {
        let (rank, off, _, _) = resolve(at(j));
        if let Some(s) = segs.last_mut() {
            let expect = s.off as isize + (j - s.j0) as isize * s.stride;
            if s.rank == rank && (s.j1 - s.j0 == 1 || expect == off as isize) {
                if s.j1 - s.j0 == 1 {
                    s.stride = off as isize - s.off as isize;
                }
                s.j1 = j + 1;
                continue;
            }
        }
        segs.push(RowSeg {
            j0: j,
            j1: j + 1,
            rank,
            off,
            stride: 0,
        });
    }
    segs
}

fn plan_rows(me: usize, nranks: usize, spec: &Spec<'_>, out: &mut Vec<Cell>) {
    let shape = spec.shape;
    let nd = shape.len();
    let len = shape[nd - 1];
    let outer_shape = &shape[..nd - 1];
    let zeros = vec![0; nd - 1];
    let split_rows = (spec.share == Share::Split).then(|| if nd == 1 { (0, 1) } else { split(shape[0], me, nranks) });
    crate::shape::for_each_index(&zeros, outer_shape, |o| {
        let mine: Vec<(usize, usize)> = match split_rows {
            Some((a, b)) if nd == 1 => {
                let (c, e) = split(len, me, nranks);
                if a < b {
                    vec![(c, e)]
                } else {
                    vec![]
                }
            }
            Some((a, b)) => {
                if (a..b).contains(&o[0]) {
                    vec![(0, len)]
                } else {
                    vec![]
                }
            }
            None if spec.share == Share::All => vec![(0, len)],
            None => row_segments(me, spec.anchor.dist, spec.anchor.view, o, len)
                .into_iter()
                .filter(|s| s.rank == me)
                .map(|s| (s.j0, s.j1))
                .collect(),
        };
        if mine.is_empty() {
            return;
        }
        let segs: Vec<Vec<RowSeg>> = spec
            .ops
            .iter()
            .map(|op| row_segments(me, op.dist, op.view, o, len))
            .collect();
        for (a, b) in mine {
            let (a, b) = match spec.chunk {
                Some(c) => align_chunk(a, b, len, c),
                None => (a, b),
            };
            if a >= b {
                continue;
            }
            let mut cuts = vec![a, b];
            for s in segs.iter().flatten() {
                if s.j0 > a && s.j0 < b {
                    cuts.push(s.j0);
                }
            }
            cuts.sort_unstable();
            cuts.dedup();
            for w in cuts.windows(2) {
                let (c0, c1) = (w[0], w[1]);
                let acc = segs
                    .iter()
                    .zip(spec.snapshot)
                    .map(|(ss, &snap)| {
                        let s = ss.iter().find(|s| s.j0 <= c0 && c0 < s.j1).copied().unwrap_or(ss[0]);
                        let offset = (s.off as isize + (c0 - s.j0) as isize * s.stride) as usize;
                        let mut strides = vec![0isize; nd];
                        strides[nd - 1] = s.stride;
                        let copy = (s.rank != me || snap).then(|| {
                            let last = offset as isize + (c1 - c0 - 1) as isize * s.stride;
                            let (first, end) = (offset.min(last as usize), offset.max(last as usize) + 1);
                            CopySpec {
                                runs: vec![(first, end - first)],
                                len: end - first,
                                offset: offset - first,
                                strides: strides.clone(),
                            }
                        });
                        Access {
                            rank: s.rank,
                            offset,
                            strides,
                            copy,
                        }
                    })
                    .collect();
                let mut lo = o.to_vec();
                let mut hi: Vec<usize> = o.iter().map(|x| x + 1).collect();
                lo.push(c0);
                hi.push(c1);
                out.push(Cell { lo, hi, acc });
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::Layout;
    use crate::view::SliceItem;
    use proptest::prelude::*;

    /// Checks a plan against the definition, element by element: every element of the space
    /// is computed by exactly one rank (its anchor owner, or the even share), and for every
    /// operand the access gives the element's owner and local offset (directly and through
    /// the copy spec).
    fn check(
        shape: &[usize],
        nranks: usize,
        anchor: (&Distribution, &ViewSpec),
        ops: &[(&Distribution, &ViewSpec)],
        share: Share,
        chunk: Option<usize>,
    ) {
        let opr: Vec<OpRef> = ops.iter().map(|(d, v)| OpRef { dist: d, view: v }).collect();
        let snap: Vec<bool> = (0..ops.len()).map(|j| j % 2 == 1).collect();
        let spec = Spec {
            shape,
            anchor: OpRef {
                dist: anchor.0,
                view: anchor.1,
            },
            share,
            ops: &opr,
            snapshot: &snap,
            chunk,
        };
        let n: usize = shape.iter().product();
        let mut seen = vec![0usize; n];
        let cst = c_strides(shape);
        for me in 0..nranks {
            for cell in plan(me, nranks, &spec) {
                crate::shape::for_each_index(&cell.lo, &cell.hi, |idx| {
                    let flat: usize = idx.iter().zip(&cst).map(|(i, s)| i * s).sum();
                    seen[flat] += 1;
                    if share == Share::Owned && chunk.is_none() {
                        let b = anchor.1.base_index(idx).unwrap();
                        assert_eq!(anchor.0.locate_from(me, &b).unwrap().0, me, "anchor element not owned");
                    }
                    let rel: Vec<usize> = idx.iter().zip(&cell.lo).map(|(i, l)| i - l).collect();
                    for (j, (d, v)) in ops.iter().enumerate() {
                        let a = &cell.acc[j];
                        let b = v.base_index(idx).unwrap();
                        let (r, off) = d.locate_from(me, &b).unwrap();
                        let got = a.offset as isize
                            + rel.iter().zip(&a.strides).map(|(&i, &s)| i as isize * s).sum::<isize>();
                        assert_eq!((a.rank, got as usize), (r, off), "operand {j} at {idx:?}");
                        match &a.copy {
                            Some(c) => {
                                let k = c.offset as isize
                                    + rel.iter().zip(&c.strides).map(|(&i, &s)| i as isize * s).sum::<isize>();
                                // element k of the concatenated runs is local offset `off`
                                let mut left = k as usize;
                                let mut found = None;
                                for &(o, l) in &c.runs {
                                    if left < l {
                                        found = Some(o + left);
                                        break;
                                    }
                                    left -= l;
                                }
                                assert_eq!(found, Some(off), "copy of operand {j} at {idx:?}");
                                assert_eq!(c.len, c.runs.iter().map(|r| r.1).sum::<usize>());
                            }
                            None => assert!(a.rank == me && j % 2 == 0, "missing copy spec"),
                        }
                    }
                });
            }
        }
        // A replicated anchor is computed whole by every rank (each writes its own copy).
        let want = if share == Share::Owned && matches!(anchor.0.layout(), Layout::Replicated) {
            nranks
        } else {
            1
        };
        assert!(seen.iter().all(|&c| c == want), "coverage {seen:?}, want {want}");
    }

    fn layout(ndim: usize, k: u8) -> Layout {
        match k % 4 {
            0 => Layout::Block,
            1 => Layout::BlockCyclic { block: vec![2; ndim] },
            2 => Layout::Replicated,
            _ => Layout::OnRank(0),
        }
    }

    fn slice_items(shape: &[usize], seed: u64) -> Vec<SliceItem> {
        let mut s = seed;
        let mut next = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 33) as usize
        };
        shape
            .iter()
            .map(|&n| {
                let n = n as isize;
                match next() % 4 {
                    0 => SliceItem::FULL,
                    1 => SliceItem::range(next() as isize % n.max(1), n, 1),
                    2 => SliceItem::Range {
                        start: None,
                        stop: None,
                        step: -1 - (next() % 2) as isize,
                    },
                    _ => SliceItem::range(0, n, 1 + (next() % 2) as isize),
                }
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Sliced, reversed, strided and transposed operands on every layout, boxes and rows
        /// (a reshaped view forces rows), with and without chunk alignment.
        #[test]
        fn plans_cover_and_address_correctly(
            shape in prop::collection::vec(1usize..=7, 1..=3),
            nranks in 1usize..=4,
            kinds in prop::collection::vec(0u8..4, 3),
            seeds in prop::collection::vec(any::<u64>(), 3),
            transpose in any::<bool>(),
            reshape in any::<bool>(),
            chunk in prop::option::of(1usize..=4),
            split in any::<bool>(),
        ) {
            let nd = shape.len();
            // the output: a base array of `shape`
            let od = Distribution::new(&shape, layout(nd, kinds[0]), nranks).unwrap();
            let ov = ViewSpec::full(&shape).unwrap();
            // operand 1: a sliced view of a bigger base, broadcast/cut to `shape`
            let big: Vec<usize> = shape.iter().map(|n| n + 3).collect();
            let d1 = Distribution::new(&big, layout(nd, kinds[1]), nranks).unwrap();
            let mut v1 = ViewSpec::full(&big).unwrap().slice(&slice_items(&big, seeds[0])).unwrap();
            // cut to shape: take the first shape[d] (or 1, broadcast) of each axis
            let items: Vec<SliceItem> = v1.shape().iter().zip(&shape).map(|(&have, &want)| SliceItem::range(0, want.min(have) as isize, 1)).collect();
            v1 = v1.slice(&items).unwrap();
            let bshape: Vec<usize> = v1.shape().iter().zip(&shape).map(|(&h, &w)| if h == w { h } else { 1 }).collect();
            let sel: Vec<SliceItem> = bshape.iter().map(|&n| SliceItem::range(0, n as isize, 1)).collect();
            v1 = crate::view::broadcast_view(&v1.slice(&sel).unwrap(), &shape).unwrap();
            // operand 2: the transpose of an array of reversed shape, or a reshape of a 1-D one
            let rev: Vec<usize> = shape.iter().rev().copied().collect();
            let (d2, v2) = if reshape {
                let n: usize = shape.iter().product();
                let d = Distribution::new(&[n], layout(1, kinds[2]), nranks).unwrap();
                let v = ViewSpec::full(&[n]).unwrap().reshape(&shape).unwrap().unwrap();
                (d, v)
            } else if transpose {
                let d = Distribution::new(&rev, layout(nd, kinds[2]), nranks).unwrap();
                (d, ViewSpec::full(&rev).unwrap().reversed_axes())
            } else {
                let d = Distribution::new(&shape, layout(nd, kinds[2]), nranks).unwrap();
                let v = ViewSpec::full(&shape).unwrap().slice(&slice_items(&shape, seeds[1])).unwrap();
                let v = if v.shape() == shape.as_slice() { v } else { ViewSpec::full(&shape).unwrap() };
                (d, v)
            };
            let share = if split { Share::Split } else { Share::Owned };
            let anchor_dist = if split { &d2 } else { &od };
            let anchor_view = if split { &v2 } else { &ov };
            check(&shape, nranks, (anchor_dist, anchor_view), &[(&od, &ov), (&d1, &v1), (&d2, &v2)], share, chunk);
        }
    }

    #[test]
    fn chunk_alignment_gives_whole_chunks() {
        // 10 elements on 3 ranks (blocks of 4): chunks of 3 start at 0, 3, 6, 9
        let d = Distribution::new(&[10], Layout::Block, 3).unwrap();
        let v = ViewSpec::full(&[10]).unwrap();
        let ops = [OpRef { dist: &d, view: &v }];
        let spec = Spec {
            shape: &[10],
            anchor: OpRef { dist: &d, view: &v },
            share: Share::Owned,
            ops: &ops,
            snapshot: &[false],
            chunk: Some(3),
        };
        let ranges: Vec<Vec<(usize, usize)>> = (0..3)
            .map(|me| plan(me, 3, &spec).iter().map(|c| (c.lo[0], c.hi[0])).collect())
            .collect();
        // rank 0 owns 0..4: chunks 0, 3 -> [0, 6) read as [0, 4) local + [4, 6) from rank 1
        assert_eq!(ranges[0], vec![(0, 4), (4, 6)]);
        assert_eq!(ranges[1], vec![(6, 8), (8, 9)]);
        assert_eq!(ranges[2], vec![(9, 10)]);
    }
}

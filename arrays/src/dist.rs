//! Distributions: which rank owns each element of a global N-d array, and where in that rank's
//! local buffer it lives.
//!
//! Every layout is described the same way. A process grid ([`ProcessGrid`]) has one extent
//! `P_d` per array dimension; along dimension `d` (length `n_d`) the global indices are cut into
//! blocks of `b_d` consecutive indices and block `k` goes to grid coordinate `k % P_d`
//! (ScaLAPACK / DistNumPy block-cyclic layout). A rank stores its elements as one dense C-order
//! N-d array whose extent along `d` is the number of indices of `d` its coordinate owns
//! (ScaLAPACK `numroc`), in increasing global order.
//!
//! * [`Layout::Block`]: the grid of [`dims_create`](crate::grid::dims_create)`(nranks, ndim)`
//!   with `b_d = ceil(n_d / P_d)`, i.e. one block per coordinate (the last ones may be short or
//!   empty).
//! * [`Layout::BlockCyclic`]: the same grid with user-given block extents.
//! * [`Layout::Replicated`]: every rank holds the whole array (a 1×…×1 grid whose single position
//!   every rank occupies).
//! * [`Layout::OnRank`]: one rank holds the whole array, the others nothing.
//!
//! A 0-d array has one element, held by rank 0 (or by every rank when replicated, or by the
//! chosen rank for `OnRank`). Ranks outside the grid hold nothing.

use crate::error::{Error, Result};
use crate::grid::ProcessGrid;
use crate::shape::{c_strides, checked_len};

/// How an array is spread over ranks. See the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Layout {
    /// One contiguous block per rank along each dimension of a balanced process grid.
    Block,
    /// Blocks of the given extent (one per dimension, each ≥ 1) dealt round-robin over the
    /// balanced process grid.
    BlockCyclic {
        /// Block extent per dimension.
        block: Vec<usize>,
    },
    /// Every rank holds a full copy.
    Replicated,
    /// Only the given rank holds the array.
    OnRank(usize),
}

/// Ownership along one dimension: blocks of `b` indices dealt round-robin over `p` coordinates.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct DimMap {
    n: usize,
    p: usize,
    /// Effective block extent, `1 <= b`, and `b <= max(n, 1)` (a longer block is equivalent).
    b: usize,
    /// `b * p`, checked not to overflow at construction.
    cycle: usize,
}

/// A maximal run of one coordinate's ownership along one dimension, restricted to a range.
#[derive(Clone, Copy, Debug)]
struct Segment {
    coord: usize,
    glo: usize,
    ghi: usize,
    llo: usize,
}

impl DimMap {
    fn new(n: usize, p: usize, b: usize) -> Result<Self> {
        let b = b.min(n).max(1);
        let cycle = b
            .checked_mul(p)
            .ok_or_else(|| Error::invalid("block extent times grid extent overflows"))?;
        Ok(DimMap { n, p, b, cycle })
    }

    fn coord_of(&self, i: usize) -> usize {
        (i / self.b) % self.p
    }

    fn local_of(&self, i: usize) -> usize {
        (i / self.cycle) * self.b + i % self.b
    }

    fn global_of(&self, c: usize, l: usize) -> usize {
        (l / self.b) * self.cycle + c * self.b + l % self.b
    }

    /// Number of indices owned by coordinate `c` (ScaLAPACK `numroc` with source coordinate 0).
    fn count(&self, c: usize) -> usize {
        let full = (self.n / self.cycle) * self.b;
        let rem = self.n % self.cycle;
        full + rem.saturating_sub(c * self.b).min(self.b)
    }

    /// The maximal runs of coordinate `c`'s ownership within `[lo, hi)`, in increasing order.
    fn segments(&self, lo: usize, hi: usize) -> Vec<Segment> {
        let mut out: Vec<Segment> = Vec::new();
        let mut i = lo;
        while i < hi {
            let end = (i / self.b + 1).saturating_mul(self.b).min(hi);
            let seg = Segment {
                coord: self.coord_of(i),
                glo: i,
                ghi: end,
                llo: self.local_of(i),
            };
            match out.last_mut() {
                Some(prev)
                    if prev.coord == seg.coord
                        && prev.ghi == seg.glo
                        && prev.llo + (prev.ghi - prev.glo) == seg.llo =>
                {
                    prev.ghi = seg.ghi;
                }
                _ => out.push(seg),
            }
            i = end;
        }
        out
    }
}

/// A box `[global_lo, global_hi)` of a region, owned by one rank and stored contiguously along
/// every dimension of that rank's local array, starting at local multi-index `local_lo`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Piece {
    /// The rank holding the box.
    pub rank: usize,
    /// Global multi-index of the box's first element.
    pub global_lo: Vec<usize>,
    /// Global multi-index one past the box's last element along each dimension.
    pub global_hi: Vec<usize>,
    /// Local multi-index (in the rank's local array) of the box's first element.
    pub local_lo: Vec<usize>,
}

impl Piece {
    /// The box's extent along each dimension.
    pub fn shape(&self) -> Vec<usize> {
        self.global_hi.iter().zip(&self.global_lo).map(|(h, l)| h - l).collect()
    }

    /// The number of elements in the box.
    pub fn len(&self) -> usize {
        self.shape().iter().product()
    }

    /// Whether the box has no elements (never true for boxes returned by
    /// [`Distribution::pieces`]).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A contiguous run of elements shared by a rank's local buffer and a region buffer: `len`
/// elements starting at element offset `local_offset` in the local buffer and `region_offset`
/// in the C-order buffer of the whole region. Offsets are in elements, not bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Run {
    /// Element offset in the owning rank's local buffer.
    pub local_offset: usize,
    /// Element offset in the C-order buffer of the region.
    pub region_offset: usize,
    /// Number of elements.
    pub len: usize,
}

/// The map between a global N-d array and its ranks' local arrays. Pure arithmetic: every rank
/// builds the same value and answers every query locally, without communication.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Distribution {
    shape: Vec<usize>,
    layout: Layout,
    nranks: usize,
    grid: ProcessGrid,
    dims: Vec<DimMap>,
}

impl Distribution {
    /// Distributes an array of `shape` over `nranks` ranks with `layout`.
    ///
    /// Errors: `nranks == 0`; an `OnRank` rank `>= nranks`; a block-cyclic block list whose
    /// length is not `shape.len()` or with a zero extent; element counts overflowing `usize`.
    pub fn new(shape: &[usize], layout: Layout, nranks: usize) -> Result<Self> {
        if nranks == 0 {
            return Err(Error::invalid("a distribution needs at least one rank"));
        }
        // Every rank-local count is at most the global count, so local index arithmetic cannot
        // overflow once the global count fits `usize`.
        checked_len(shape)?;
        let ndim = shape.len();
        let (grid, dims) = match &layout {
            Layout::Block | Layout::BlockCyclic { .. } => {
                let grid = ProcessGrid::balanced(nranks, ndim)?;
                let dims = match &layout {
                    Layout::BlockCyclic { block } => {
                        if block.len() != ndim {
                            return Err(Error::invalid(format!(
                                "block-cyclic block {block:?} has {} extents for a {ndim}-d array",
                                block.len()
                            )));
                        }
                        if block.contains(&0) {
                            return Err(Error::invalid(format!(
                                "block-cyclic block extents must be positive, got {block:?}"
                            )));
                        }
                        shape
                            .iter()
                            .zip(grid.dims())
                            .zip(block)
                            .map(|((&n, &p), &b)| DimMap::new(n, p, b))
                            .collect::<Result<Vec<_>>>()?
                    }
                    _ => shape
                        .iter()
                        .zip(grid.dims())
                        .map(|(&n, &p)| DimMap::new(n, p, n.div_ceil(p)))
                        .collect::<Result<Vec<_>>>()?,
                };
                (grid, dims)
            }
            Layout::Replicated | Layout::OnRank(_) => {
                if let Layout::OnRank(r) = layout {
                    if r >= nranks {
                        return Err(Error::out_of_bounds(format!(
                            "rank {r} does not exist among {nranks} ranks"
                        )));
                    }
                }
                let grid = ProcessGrid::new(vec![1; ndim])?;
                let dims = shape
                    .iter()
                    .map(|&n| DimMap::new(n, 1, n))
                    .collect::<Result<Vec<_>>>()?;
                (grid, dims)
            }
        };
        Ok(Distribution {
            shape: shape.to_vec(),
            layout,
            nranks,
            grid,
            dims,
        })
    }

    /// The global shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// Number of global elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Number of ranks the distribution is defined for.
    pub fn nranks(&self) -> usize {
        self.nranks
    }

    /// The process grid (all ones for `Replicated` and `OnRank`).
    pub fn grid(&self) -> &ProcessGrid {
        &self.grid
    }

    /// The effective block extent along each dimension (`ceil(n_d / P_d)` for `Block`, the
    /// given block clamped to `[1, max(n_d, 1)]` for `BlockCyclic`, `max(n_d, 1)` otherwise).
    pub fn block(&self) -> Vec<usize> {
        self.dims.iter().map(|m| m.b).collect()
    }

    /// The grid position a rank occupies, if any.
    fn position(&self, rank: usize) -> Option<usize> {
        match self.layout {
            Layout::Block | Layout::BlockCyclic { .. } => (rank < self.grid.size()).then_some(rank),
            Layout::OnRank(r) => (rank == r).then_some(0),
            Layout::Replicated => (rank < self.nranks).then_some(0),
        }
    }

    /// The rank that serves grid position `pos` to rank `me`.
    fn server(&self, pos: usize, me: usize) -> usize {
        match self.layout {
            Layout::Block | Layout::BlockCyclic { .. } => pos,
            Layout::OnRank(r) => r,
            Layout::Replicated => me,
        }
    }

    fn coords_of_rank(&self, rank: usize) -> Option<Vec<usize>> {
        let pos = self.position(rank)?;
        self.grid.coords(pos).ok()
    }

    fn local_shape_at(&self, coords: &[usize]) -> Vec<usize> {
        self.dims.iter().zip(coords).map(|(m, &c)| m.count(c)).collect()
    }

    /// Whether `rank` has a place in the distribution (a grid position). Only such ranks can
    /// hold elements; for a 0-d array this is the test for holding its one element.
    pub fn holds(&self, rank: usize) -> bool {
        self.position(rank).is_some() && self.local_len(rank) > 0
    }

    /// The shape of `rank`'s local block, stored as a dense C-order array. Ranks without a
    /// grid position get all-zero extents; note that for a 0-d array the local shape is `[]`
    /// either way, so use [`local_len`](Self::local_len) or [`holds`](Self::holds) to tell
    /// whether the rank stores the element.
    pub fn local_shape(&self, rank: usize) -> Vec<usize> {
        match self.coords_of_rank(rank) {
            Some(c) => self.local_shape_at(&c),
            None => vec![0; self.ndim()],
        }
    }

    /// Number of elements `rank` stores (0 for ranks without a grid position).
    pub fn local_len(&self, rank: usize) -> usize {
        match self.coords_of_rank(rank) {
            Some(c) => self.local_shape_at(&c).iter().product(),
            None => 0,
        }
    }

    /// The largest [`local_len`](Self::local_len) over all ranks: the per-rank size of a
    /// symmetric allocation.
    pub fn max_local_len(&self) -> usize {
        // `count(c)` is non-increasing in `c`, so grid coordinate (0, …, 0) — always occupied —
        // stores the most.
        self.dims.iter().map(|m| m.count(0)).product()
    }

    fn check_index(&self, idx: &[usize]) -> Result<()> {
        if idx.len() != self.ndim() {
            return Err(Error::invalid(format!(
                "index {idx:?} has {} entries for a {}-d array",
                idx.len(),
                self.ndim()
            )));
        }
        if idx.iter().zip(&self.shape).any(|(&i, &n)| i >= n) {
            return Err(Error::out_of_bounds(format!(
                "index {idx:?} is out of bounds for shape {:?}",
                self.shape
            )));
        }
        Ok(())
    }

    fn check_me(&self, me: usize) -> Result<()> {
        if me >= self.nranks {
            return Err(Error::out_of_bounds(format!(
                "rank {me} does not exist among {} ranks",
                self.nranks
            )));
        }
        Ok(())
    }

    /// Owner rank and local C-order element offset of a global multi-index. For `Replicated`
    /// the canonical owner rank 0 is returned (see [`locate_from`](Self::locate_from)).
    pub fn locate(&self, idx: &[usize]) -> Result<(usize, usize)> {
        self.locate_from(0, idx)
    }

    /// Like [`locate`](Self::locate), as seen from rank `me`: a replicated array is read from
    /// `me`'s own copy.
    pub fn locate_from(&self, me: usize, idx: &[usize]) -> Result<(usize, usize)> {
        self.check_me(me)?;
        self.check_index(idx)?;
        let coords: Vec<usize> = self.dims.iter().zip(idx).map(|(m, &i)| m.coord_of(i)).collect();
        let pos = self.grid.rank(&coords)?;
        let mut offset = 0;
        for (m, (&i, &c)) in self.dims.iter().zip(idx.iter().zip(&coords)) {
            offset = offset * m.count(c) + m.local_of(i);
        }
        Ok((self.server(pos, me), offset))
    }

    /// The global multi-index stored at element `local_offset` of `rank`'s local buffer
    /// (inverse of [`locate_from`](Self::locate_from)).
    pub fn global_index(&self, rank: usize, local_offset: usize) -> Result<Vec<usize>> {
        let coords = self
            .coords_of_rank(rank)
            .ok_or_else(|| Error::out_of_bounds(format!("rank {rank} holds no part of the array")))?;
        let lshape = self.local_shape_at(&coords);
        let len: usize = lshape.iter().product();
        if local_offset >= len {
            return Err(Error::out_of_bounds(format!(
                "local offset {local_offset} is outside rank {rank}'s {len} elements"
            )));
        }
        let mut rest = local_offset;
        let mut idx = vec![0; self.ndim()];
        for d in (0..self.ndim()).rev() {
            let l = rest % lshape[d];
            rest /= lshape[d];
            idx[d] = self.dims[d].global_of(coords[d], l);
        }
        Ok(idx)
    }

    /// Where base element `bidx` (in range) is read from by rank `me`: the serving rank, the
    /// element's multi-index in that rank's local block and the block's shape. Moving by one
    /// along base axis `k` inside one ownership run (see [`Distribution::cuts`]) moves by one
    /// along local axis `k`. Used by the engine on hot paths: it does not re-check arguments.
    pub(crate) fn resolve(&self, me: usize, bidx: &[usize]) -> (usize, Vec<usize>, Vec<usize>) {
        let coords: Vec<usize> = self.dims.iter().zip(bidx).map(|(m, &i)| m.coord_of(i)).collect();
        let pos = self.grid.rank(&coords).unwrap_or(0);
        let lidx = self.dims.iter().zip(bidx).map(|(m, &i)| m.local_of(i)).collect();
        (self.server(pos, me), lidx, self.local_shape_at(&coords))
    }

    /// The global indices in `(lo, hi)` along base axis `k` where ownership changes (another
    /// grid coordinate, or a jump in the local block), in increasing order.
    pub(crate) fn cuts(&self, k: usize, lo: usize, hi: usize) -> Vec<usize> {
        let segs = self.dims[k].segments(lo, hi);
        segs.iter().skip(1).map(|s| s.glo).collect()
    }

    /// Runs of contiguous ownership of `rank` along dimension `dim`, as
    /// `(global_start, global_end, local_start)` in increasing order. Empty when `rank` holds
    /// nothing along `dim` or `dim >= ndim()`.
    pub fn owned_ranges(&self, rank: usize, dim: usize) -> Vec<(usize, usize, usize)> {
        let (Some(coords), Some(m)) = (self.coords_of_rank(rank), self.dims.get(dim)) else {
            return Vec::new();
        };
        m.segments(0, m.n)
            .into_iter()
            .filter(|s| s.coord == coords[dim])
            .map(|s| (s.glo, s.ghi, s.llo))
            .collect()
    }

    fn check_region(&self, lo: &[usize], hi: &[usize]) -> Result<()> {
        if lo.len() != self.ndim() || hi.len() != self.ndim() {
            return Err(Error::invalid(format!(
                "region [{lo:?}, {hi:?}) does not have {} dimensions",
                self.ndim()
            )));
        }
        for ((&l, &h), &n) in lo.iter().zip(hi).zip(&self.shape) {
            if l > h || h > n {
                return Err(Error::out_of_bounds(format!(
                    "region [{lo:?}, {hi:?}) is not inside shape {:?}",
                    self.shape
                )));
            }
        }
        Ok(())
    }

    /// Decomposes the region `[lo, hi)` into [`Piece`]s: boxes each held by one rank and
    /// contiguous in that rank's local array along every dimension. Every element of the region
    /// is in exactly one piece. Pieces are the products of maximal per-dimension runs, listed in
    /// C order of their first element. A `Replicated` array is served by rank 0 (see
    /// [`pieces_from`](Self::pieces_from)).
    pub fn pieces(&self, lo: &[usize], hi: &[usize]) -> Result<Vec<Piece>> {
        self.pieces_from(0, lo, hi)
    }

    /// Like [`pieces`](Self::pieces) as seen from rank `me`: a replicated array is served from
    /// `me`'s own copy.
    pub fn pieces_from(&self, me: usize, lo: &[usize], hi: &[usize]) -> Result<Vec<Piece>> {
        self.check_me(me)?;
        self.check_region(lo, hi)?;
        let segs: Vec<Vec<Segment>> = self
            .dims
            .iter()
            .zip(lo.iter().zip(hi))
            .map(|(m, (&l, &h))| m.segments(l, h))
            .collect();
        if segs.iter().any(Vec::is_empty) {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        let mut pick = vec![0usize; segs.len()];
        loop {
            let chosen: Vec<&Segment> = pick.iter().zip(&segs).map(|(&k, s)| &s[k]).collect();
            let coords: Vec<usize> = chosen.iter().map(|s| s.coord).collect();
            let pos = self.grid.rank(&coords)?;
            out.push(Piece {
                rank: self.server(pos, me),
                global_lo: chosen.iter().map(|s| s.glo).collect(),
                global_hi: chosen.iter().map(|s| s.ghi).collect(),
                local_lo: chosen.iter().map(|s| s.llo).collect(),
            });
            // Odometer over the per-dimension segment lists, last dimension fastest.
            let mut d = segs.len();
            loop {
                if d == 0 {
                    return Ok(out);
                }
                d -= 1;
                pick[d] += 1;
                if pick[d] < segs[d].len() {
                    break;
                }
                pick[d] = 0;
            }
        }
    }

    /// The contiguous element runs that move `piece` between its rank's local buffer and the
    /// C-order buffer of the region `[lo, hi)` it came from. Runs follow the last dimension and
    /// are merged across dimensions whenever both sides are contiguous; they are listed in
    /// increasing order of both offsets.
    pub fn piece_runs(&self, piece: &Piece, lo: &[usize], hi: &[usize]) -> Result<Vec<Run>> {
        self.check_region(lo, hi)?;
        let nd = self.ndim();
        if piece.global_lo.len() != nd || piece.global_hi.len() != nd || piece.local_lo.len() != nd {
            return Err(Error::invalid("piece does not match the array's dimensions"));
        }
        let coords = self
            .coords_of_rank(piece.rank)
            .ok_or_else(|| Error::out_of_bounds(format!("rank {} holds no part of the array", piece.rank)))?;
        let lshape = self.local_shape_at(&coords);
        let ext = piece.shape_checked()?;
        let rext: Vec<usize> = hi.iter().zip(lo).map(|(h, l)| h - l).collect();
        for d in 0..nd {
            if piece.global_lo[d] < lo[d] || piece.global_hi[d] > hi[d] || piece.local_lo[d] + ext[d] > lshape[d] {
                return Err(Error::out_of_bounds(
                    "piece lies outside the region or the rank's local array",
                ));
            }
        }
        if ext.contains(&0) {
            return Ok(Vec::new());
        }
        let lstr = c_strides(&lshape);
        let rstr = c_strides(&rext);
        // Dimensions j.. form one contiguous chunk on both sides when every dimension after j
        // is covered completely by the piece in both the local array and the region.
        let mut j = nd;
        let mut chunk = 1;
        while j > 0 {
            j -= 1;
            chunk *= ext[j];
            if j == 0 || ext[j] != lshape[j] || ext[j] != rext[j] {
                break;
            }
        }
        let outer = if nd == 0 { 0 } else { j };
        let mut runs: Vec<Run> = Vec::new();
        let mut i = vec![0usize; outer];
        loop {
            let mut loff = 0;
            let mut roff = 0;
            for d in 0..nd {
                let k = if d < outer { i[d] } else { 0 };
                loff += (piece.local_lo[d] + k) * lstr[d];
                roff += (piece.global_lo[d] - lo[d] + k) * rstr[d];
            }
            match runs.last_mut() {
                Some(r) if r.local_offset + r.len == loff && r.region_offset + r.len == roff => {
                    r.len += chunk;
                }
                _ => runs.push(Run {
                    local_offset: loff,
                    region_offset: roff,
                    len: chunk,
                }),
            }
            let mut d = outer;
            loop {
                if d == 0 {
                    return Ok(runs);
                }
                d -= 1;
                i[d] += 1;
                if i[d] < ext[d] {
                    break;
                }
                i[d] = 0;
            }
        }
    }
}

impl Piece {
    fn shape_checked(&self) -> Result<Vec<usize>> {
        self.global_hi
            .iter()
            .zip(&self.global_lo)
            .map(|(&h, &l)| {
                h.checked_sub(l)
                    .ok_or_else(|| Error::invalid("piece has global_hi < global_lo"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn all_indices(shape: &[usize]) -> Vec<Vec<usize>> {
        let mut out = vec![vec![]];
        for &n in shape {
            out = out
                .into_iter()
                .flat_map(|p| {
                    (0..n).map(move |i| {
                        let mut q = p.clone();
                        q.push(i);
                        q
                    })
                })
                .collect();
        }
        out
    }

    /// Brute-force owner and local index along one dim for block-cyclic, straight from the
    /// definition: enumerate blocks.
    fn brute_owner_1d(n: usize, p: usize, b: usize, i: usize) -> (usize, usize) {
        let mut local = vec![0usize; p];
        for g in 0..n {
            let c = (g / b) % p;
            if g == i {
                return (c, local[c]);
            }
            local[c] += 1;
        }
        unreachable!()
    }

    #[test]
    fn block_1d_examples() {
        // 10 elements on 4 ranks: blocks of 3 → 3,3,3,1
        let d = Distribution::new(&[10], Layout::Block, 4).unwrap();
        assert_eq!((0..4).map(|r| d.local_len(r)).collect::<Vec<_>>(), [3, 3, 3, 1]);
        assert_eq!(d.locate(&[0]).unwrap(), (0, 0));
        assert_eq!(d.locate(&[5]).unwrap(), (1, 2));
        assert_eq!(d.locate(&[9]).unwrap(), (3, 0));
        assert!(d.locate(&[10]).is_err());
        assert_eq!(d.max_local_len(), 3);
        // 3 elements on 6 ranks: ranks 3..5 empty
        let d = Distribution::new(&[3], Layout::Block, 6).unwrap();
        assert_eq!((0..6).map(|r| d.local_len(r)).collect::<Vec<_>>(), [1, 1, 1, 0, 0, 0]);
        assert!(!d.holds(4));
    }

    #[test]
    fn block_cyclic_2d_example() {
        // 5x7 on 4 ranks → grid 2x2, block (2,3).
        let d = Distribution::new(&[5, 7], Layout::BlockCyclic { block: vec![2, 3] }, 4).unwrap();
        assert_eq!(d.grid().dims(), &[2, 2]);
        // dim 0 rows: coord0 {0,1,4}, coord1 {2,3}; dim 1 cols: coord0 {0,1,2,6}, coord1 {3,4,5}
        assert_eq!(d.local_shape(0), vec![3, 4]);
        assert_eq!(d.local_shape(1), vec![3, 3]);
        assert_eq!(d.local_shape(2), vec![2, 4]);
        assert_eq!(d.local_shape(3), vec![2, 3]);
        assert_eq!(d.locate(&[4, 6]).unwrap(), (0, 2 * 4 + 3));
        assert_eq!(d.locate(&[3, 4]).unwrap(), (3, 3 + 1));
        assert_eq!(d.global_index(0, 11).unwrap(), vec![4, 6]);
        assert_eq!(d.owned_ranges(0, 1), vec![(0, 3, 0), (6, 7, 3)]);
        assert_eq!(d.owned_ranges(1, 0), vec![(0, 2, 0), (4, 5, 2)]);
        assert_eq!(d.max_local_len(), 12);
    }

    #[test]
    fn replicated_and_on_rank() {
        let d = Distribution::new(&[2, 3], Layout::Replicated, 3).unwrap();
        assert_eq!(d.locate(&[1, 2]).unwrap(), (0, 5));
        assert_eq!(d.locate_from(2, &[1, 2]).unwrap(), (2, 5));
        assert!(d.locate_from(3, &[1, 2]).is_err());
        assert_eq!(d.local_len(2), 6);
        assert_eq!(d.global_index(1, 4).unwrap(), vec![1, 1]);
        let p = d.pieces_from(1, &[0, 1], &[2, 3]).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].rank, 1);
        let d = Distribution::new(&[2, 3], Layout::OnRank(1), 3).unwrap();
        assert_eq!(d.locate_from(2, &[1, 0]).unwrap(), (1, 3));
        assert_eq!(d.local_len(0), 0);
        assert_eq!(d.local_shape(0), vec![0, 0]);
        assert_eq!(d.local_len(1), 6);
        assert!(Distribution::new(&[2], Layout::OnRank(3), 3).is_err());
    }

    #[test]
    fn zero_d() {
        let d = Distribution::new(&[], Layout::Block, 3).unwrap();
        assert_eq!(d.local_len(0), 1);
        assert_eq!(d.local_len(1), 0);
        assert!(d.holds(0) && !d.holds(1));
        assert_eq!(d.locate(&[]).unwrap(), (0, 0));
        let p = d.pieces(&[], &[]).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(
            d.piece_runs(&p[0], &[], &[]).unwrap(),
            vec![Run {
                local_offset: 0,
                region_offset: 0,
                len: 1
            }]
        );
        let d = Distribution::new(&[], Layout::Replicated, 3).unwrap();
        assert_eq!(d.local_len(2), 1);
        assert_eq!(d.locate_from(2, &[]).unwrap(), (2, 0));
    }

    #[test]
    fn bad_arguments() {
        assert!(Distribution::new(&[4], Layout::Block, 0).is_err());
        assert!(Distribution::new(&[4], Layout::BlockCyclic { block: vec![0] }, 2).is_err());
        assert!(Distribution::new(&[4], Layout::BlockCyclic { block: vec![1, 1] }, 2).is_err());
        assert!(Distribution::new(&[usize::MAX, 2], Layout::Block, 2).is_err());
        let d = Distribution::new(&[4, 4], Layout::Block, 2).unwrap();
        assert!(d.locate(&[1]).is_err());
        assert!(d.pieces(&[0, 0], &[5, 1]).is_err());
        assert!(d.pieces(&[2, 0], &[1, 1]).is_err());
        assert!(d.global_index(2, 0).is_err());
        assert!(d.global_index(0, 8).is_err());
        // a huge block is the same as a block of the whole dimension
        let d = Distribution::new(
            &[4],
            Layout::BlockCyclic {
                block: vec![usize::MAX],
            },
            3,
        )
        .unwrap();
        assert_eq!(d.local_len(0), 4);
    }

    #[test]
    fn pieces_and_runs_example() {
        // 6x6 block on 4 ranks (2x2 grid, blocks 3x3); region rows 1..5, cols 2..4.
        let d = Distribution::new(&[6, 6], Layout::Block, 4).unwrap();
        let p = d.pieces(&[1, 2], &[5, 4]).unwrap();
        let got: Vec<_> = p
            .iter()
            .map(|p| (p.rank, p.global_lo.clone(), p.global_hi.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (0, vec![1, 2], vec![3, 3]),
                (1, vec![1, 3], vec![3, 4]),
                (2, vec![3, 2], vec![5, 3]),
                (3, vec![3, 3], vec![5, 4]),
            ]
        );
        // rank 1's piece: local rows 1..3, col 0; local shape 3x3; region shape 4x2
        let runs = d.piece_runs(&p[1], &[1, 2], &[5, 4]).unwrap();
        assert_eq!(
            runs,
            vec![
                Run {
                    local_offset: 3,
                    region_offset: 1,
                    len: 1
                },
                Run {
                    local_offset: 6,
                    region_offset: 3,
                    len: 1
                },
            ]
        );
        // whole-array region on one rank merges into a single run
        let d = Distribution::new(&[3, 4], Layout::Block, 1).unwrap();
        let p = d.pieces(&[0, 0], &[3, 4]).unwrap();
        assert_eq!(
            d.piece_runs(&p[0], &[0, 0], &[3, 4]).unwrap(),
            vec![Run {
                local_offset: 0,
                region_offset: 0,
                len: 12
            }]
        );
        // full rows merge: rows 1..3 of a 4x5 single-rank array
        let p = Distribution::new(&[4, 5], Layout::Block, 1)
            .unwrap()
            .pieces(&[1, 0], &[3, 5])
            .unwrap();
        assert_eq!(p.len(), 1);
    }

    fn layout_strategy(ndim: usize) -> impl Strategy<Value = Layout> {
        prop_oneof![
            Just(Layout::Block),
            prop::collection::vec(1usize..=4, ndim).prop_map(|block| Layout::BlockCyclic { block }),
            Just(Layout::Replicated),
            (0usize..6).prop_map(Layout::OnRank),
        ]
    }

    fn case() -> impl Strategy<Value = (Vec<usize>, Layout, usize, usize)> {
        (prop::collection::vec(0usize..=9, 0..=4), 1usize..=6).prop_flat_map(|(shape, nranks)| {
            let nd = shape.len();
            (
                Just(shape),
                layout_strategy(nd).prop_map(move |l| match l {
                    Layout::OnRank(r) => Layout::OnRank(r % nranks),
                    l => l,
                }),
                Just(nranks),
                0..nranks,
            )
        })
    }

    fn region(shape: &[usize]) -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
        let per_dim: Vec<_> = shape
            .iter()
            .map(|&n| (0..=n, 0..=n).prop_map(|(a, b)| (a.min(b), a.max(b))))
            .collect();
        per_dim.prop_map(|v| v.into_iter().unzip())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn ownership_is_a_bijection((shape, layout, nranks, me) in case()) {
            let d = Distribution::new(&shape, layout.clone(), nranks).unwrap();
            let mut seen: HashMap<(usize, usize), Vec<usize>> = HashMap::new();
            for idx in all_indices(&shape) {
                let (r, off) = d.locate_from(me, &idx).unwrap();
                prop_assert!(off < d.local_len(r));
                prop_assert_eq!(d.global_index(r, off).unwrap(), idx.clone());
                prop_assert!(seen.insert((r, off), idx).is_none());
                match &layout {
                    Layout::Replicated => prop_assert_eq!(r, me),
                    Layout::OnRank(o) => prop_assert_eq!(r, *o),
                    _ => {}
                }
            }
            let total: usize = shape.iter().product();
            let mut max = 0;
            for r in 0..nranks {
                let len = d.local_len(r);
                if shape.is_empty() {
                    // 0-d: the local shape is [] either way; local_len says who holds it
                    prop_assert_eq!(len, usize::from(d.holds(r)));
                } else {
                    prop_assert_eq!(len, d.local_shape(r).iter().product::<usize>());
                }
                max = max.max(len);
                let count_r = seen.keys().filter(|(rr, _)| *rr == r).count();
                match &layout {
                    // every rank has a full copy, but each element is located at `me`
                    Layout::Replicated => prop_assert_eq!(len, total),
                    // local offsets of r are exactly 0..len
                    _ => {
                        prop_assert_eq!(count_r, len);
                        for off in 0..len {
                            prop_assert!(seen.contains_key(&(r, off)));
                        }
                    }
                }
            }
            prop_assert_eq!(d.max_local_len(), max);
            if !matches!(layout, Layout::Replicated) {
                let sum: usize = (0..nranks).map(|r| d.local_len(r)).sum();
                prop_assert_eq!(sum, total);
            }
        }

        #[test]
        fn block_cyclic_matches_brute_force(
            (shape, nranks) in (prop::collection::vec(0usize..=9, 1..=3), 1usize..=6),
            bs in prop::collection::vec(1usize..=4, 3),
        ) {
            let block = bs[..shape.len()].to_vec();
            let d = Distribution::new(&shape, Layout::BlockCyclic { block: block.clone() }, nranks).unwrap();
            let grid = d.grid().clone();
            for idx in all_indices(&shape) {
                let mut coords = vec![];
                let mut local = vec![];
                for k in 0..shape.len() {
                    let (c, l) = brute_owner_1d(shape[k], grid.dims()[k], block[k], idx[k]);
                    coords.push(c);
                    local.push(l);
                }
                let rank = grid.rank(&coords).unwrap();
                let lshape = d.local_shape(rank);
                let off = local.iter().zip(&lshape).fold(0, |acc, (&l, &n)| acc * n + l);
                prop_assert_eq!(d.locate(&idx).unwrap(), (rank, off));
            }
        }

        #[test]
        fn owned_ranges_match_locate((shape, layout, nranks, _me) in case()) {
            let d = Distribution::new(&shape, layout, nranks).unwrap();
            for r in 0..nranks {
                for dim in 0..shape.len() {
                    let ranges = d.owned_ranges(r, dim);
                    let covered: usize = ranges.iter().map(|(a, b, _)| b - a).sum();
                    prop_assert_eq!(covered, d.local_shape(r)[dim]);
                    let mut next_local = 0;
                    for &(gs, ge, ls) in &ranges {
                        prop_assert!(gs < ge);
                        prop_assert_eq!(ls, next_local);
                        next_local += ge - gs;
                        if d.local_len(r) > 0 {
                            // check through locate on an index that is 0 in other dims
                            for g in gs..ge {
                                let mut idx = vec![0; shape.len()];
                                idx[dim] = g;
                                // find a representative index owned by r in other dims
                                for (k, v) in idx.iter_mut().enumerate() {
                                    if k != dim {
                                        *v = d.owned_ranges(r, k)[0].0;
                                    }
                                }
                                let (rr, off) = d.locate_from(r, &idx).unwrap();
                                prop_assert_eq!(rr, r);
                                let lstr = c_strides(&d.local_shape(r));
                                prop_assert_eq!((off / lstr[dim]) % d.local_shape(r)[dim], ls + g - gs);
                            }
                        }
                    }
                }
            }
        }

        #[test]
        fn pieces_cover_region_exactly_once(
            ((shape, layout, nranks, me), (lo, hi)) in case().prop_flat_map(|c| {
                let r = region(&c.0);
                (Just(c), r)
            })
        ) {
            let d = Distribution::new(&shape, layout, nranks).unwrap();
            let pieces = d.pieces_from(me, &lo, &hi).unwrap();
            let rext: Vec<usize> = hi.iter().zip(&lo).map(|(h, l)| h - l).collect();
            let rlen: usize = rext.iter().product();
            // region buffer offset -> (rank, local offset), filled from runs
            let mut from_runs: HashMap<usize, (usize, usize)> = HashMap::new();
            for p in &pieces {
                prop_assert!(!p.is_empty());
                // every element of the piece is owned by p.rank, at local_lo + (i - global_lo)
                for idx in all_indices(&p.shape()) {
                    let g: Vec<usize> = idx.iter().zip(&p.global_lo).map(|(a, b)| a + b).collect();
                    let (r, off) = d.locate_from(me, &g).unwrap();
                    prop_assert_eq!(r, p.rank);
                    let l: Vec<usize> = idx.iter().zip(&p.local_lo).map(|(a, b)| a + b).collect();
                    let lshape = d.local_shape(r);
                    let want = l.iter().zip(&lshape).fold(0, |acc, (&x, &n)| acc * n + x);
                    prop_assert_eq!(off, want);
                }
                let runs = d.piece_runs(p, &lo, &hi).unwrap();
                let mut run_total = 0;
                for run in &runs {
                    prop_assert!(run.len > 0);
                    for k in 0..run.len {
                        let prev = from_runs.insert(run.region_offset + k, (p.rank, run.local_offset + k));
                        prop_assert!(prev.is_none(), "region element covered twice");
                    }
                    run_total += run.len;
                }
                prop_assert_eq!(run_total, p.len());
                // runs are maximal: consecutive runs are not mergeable
                for w in runs.windows(2) {
                    prop_assert!(!(w[0].local_offset + w[0].len == w[1].local_offset
                        && w[0].region_offset + w[0].len == w[1].region_offset));
                }
            }
            prop_assert_eq!(from_runs.len(), rlen);
            // brute force: region element at C-order offset k maps to locate(lo + unravel(k))
            for (k, idx) in all_indices(&rext).into_iter().enumerate() {
                let g: Vec<usize> = idx.iter().zip(&lo).map(|(a, b)| a + b).collect();
                prop_assert_eq!(from_runs.get(&k).copied(), Some(d.locate_from(me, &g).unwrap()));
            }
        }
    }
}

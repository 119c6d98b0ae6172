//! Cartesian process grids: [`dims_create`] (the factorisation `MPI_Dims_create` computes) and
//! [`ProcessGrid`], the row-major map between ranks and grid coordinates.

use crate::error::{Error, Result};

/// Factorises `nranks` into `ndim` grid extents that are as balanced as possible, in
/// non-increasing order, like `MPI_Dims_create(nranks, ndim, dims)` with `dims` all zero.
///
/// "Balanced" is made precise as: among all non-increasing factorisations, the
/// lexicographically smallest (smallest largest extent, then smallest second extent, …).
/// Examples: `(12, 2) → [4, 3]`, `(6, 3) → [3, 2, 1]`, `(8, 3) → [2, 2, 2]`, `(7, 2) → [7, 1]`.
/// `ndim == 0` gives `[]` (a 0-d grid has one position). `nranks == 0` is an error.
#[doc(alias = "MPI_Dims_create")]
pub fn dims_create(nranks: usize, ndim: usize) -> Result<Vec<usize>> {
    if nranks == 0 {
        return Err(Error::invalid("dims_create: the number of ranks must be positive"));
    }
    if ndim == 0 {
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(ndim);
    if best_factorisation(nranks, ndim, nranks, &mut out) {
        Ok(out)
    } else {
        // [nranks, 1, 1, …] is always feasible, so the search cannot fail.
        Err(Error::internal(format!(
            "dims_create({nranks}, {ndim}) found no factorisation"
        )))
    }
}

/// Pushes onto `out` the lexicographically smallest non-increasing factorisation of `m` into
/// `k` factors, each at most `cap`; returns `false` (leaving `out` unchanged) if none exists.
fn best_factorisation(m: usize, k: usize, cap: usize, out: &mut Vec<usize>) -> bool {
    if k == 1 {
        if m <= cap {
            out.push(m);
            return true;
        }
        return false;
    }
    // The first (largest) factor f satisfies f^k >= m; try the candidates in increasing order.
    let mut f = 1usize;
    while f <= cap && f <= m {
        if m % f == 0 && pow_at_least(f, k, m) {
            let len = out.len();
            out.push(f);
            if best_factorisation(m / f, k - 1, f, out) {
                return true;
            }
            out.truncate(len);
        }
        f += 1;
    }
    false
}

/// Whether `f^k >= m`, without overflow.
fn pow_at_least(f: usize, k: usize, m: usize) -> bool {
    let mut p: usize = 1;
    for _ in 0..k {
        p = p.saturating_mul(f);
        if p >= m {
            return true;
        }
    }
    p >= m
}

/// A Cartesian grid of processes. Rank `r` sits at the row-major (C-order) coordinates of `r`
/// over `dims`, as in `MPI_Cart_create` with `reorder = 0`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ProcessGrid {
    dims: Vec<usize>,
}

impl ProcessGrid {
    /// A grid with the given extents; every extent must be positive.
    pub fn new(dims: Vec<usize>) -> Result<Self> {
        if dims.contains(&0) {
            return Err(Error::invalid(format!(
                "process grid extents must be positive, got {dims:?}"
            )));
        }
        dims.iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| Error::invalid("process grid size overflows"))?;
        Ok(ProcessGrid { dims })
    }

    /// The balanced grid of `nranks` processes in `ndim` dimensions ([`dims_create`]).
    pub fn balanced(nranks: usize, ndim: usize) -> Result<Self> {
        Self::new(dims_create(nranks, ndim)?)
    }

    /// Grid extents.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// Number of grid dimensions.
    pub fn ndim(&self) -> usize {
        self.dims.len()
    }

    /// Number of positions (ranks) in the grid; 1 for a 0-d grid.
    pub fn size(&self) -> usize {
        self.dims.iter().product()
    }

    /// Coordinates of `rank`, or an `OutOfBounds` error if `rank >= size()`.
    #[doc(alias = "MPI_Cart_coords")]
    pub fn coords(&self, rank: usize) -> Result<Vec<usize>> {
        if rank >= self.size() {
            return Err(Error::out_of_bounds(format!(
                "rank {rank} is outside a process grid of {} ranks",
                self.size()
            )));
        }
        let mut c = vec![0; self.dims.len()];
        let mut r = rank;
        for (ci, &d) in c.iter_mut().zip(&self.dims).rev() {
            *ci = r % d;
            r /= d;
        }
        Ok(c)
    }

    /// Rank at `coords`, or an error if the length or a coordinate is out of range.
    #[doc(alias = "MPI_Cart_rank")]
    pub fn rank(&self, coords: &[usize]) -> Result<usize> {
        if coords.len() != self.dims.len() {
            return Err(Error::invalid(format!(
                "{} coordinates given for a {}-d process grid",
                coords.len(),
                self.dims.len()
            )));
        }
        let mut r = 0;
        for (&c, &d) in coords.iter().zip(&self.dims) {
            if c >= d {
                return Err(Error::out_of_bounds(format!(
                    "grid coordinates {coords:?} outside grid {:?}",
                    self.dims
                )));
            }
            r = r * d + c;
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn mpi_examples() {
        let cases: &[(usize, usize, &[usize])] = &[
            (12, 2, &[4, 3]),
            (4, 2, &[2, 2]),
            (3, 2, &[3, 1]),
            (1, 3, &[1, 1, 1]),
            (8, 3, &[2, 2, 2]),
            (6, 3, &[3, 2, 1]),
            (6, 2, &[3, 2]),
            (7, 2, &[7, 1]),
            (16, 3, &[4, 2, 2]),
            (24, 3, &[4, 3, 2]),
            (36, 2, &[6, 6]),
            (30, 2, &[6, 5]),
            (5, 1, &[5]),
            (5, 0, &[]),
        ];
        for &(n, d, want) in cases {
            assert_eq!(dims_create(n, d).unwrap(), want, "dims_create({n}, {d})");
        }
        assert!(dims_create(0, 2).is_err());
    }

    #[test]
    fn grid_coords() {
        let g = ProcessGrid::new(vec![2, 3]).unwrap();
        assert_eq!(g.size(), 6);
        assert_eq!(g.coords(0).unwrap(), vec![0, 0]);
        assert_eq!(g.coords(1).unwrap(), vec![0, 1]);
        assert_eq!(g.coords(3).unwrap(), vec![1, 0]);
        assert_eq!(g.coords(5).unwrap(), vec![1, 2]);
        assert!(g.coords(6).is_err());
        assert_eq!(g.rank(&[1, 1]).unwrap(), 4);
        assert!(g.rank(&[2, 0]).is_err());
        assert!(g.rank(&[0]).is_err());
        let g0 = ProcessGrid::new(vec![]).unwrap();
        assert_eq!(g0.size(), 1);
        assert_eq!(g0.coords(0).unwrap(), Vec::<usize>::new());
        assert_eq!(g0.rank(&[]).unwrap(), 0);
        assert!(ProcessGrid::new(vec![2, 0]).is_err());
    }

    /// All non-increasing factorisations of `n` into `d` factors, by brute force.
    fn all_factorisations(n: usize, d: usize) -> Vec<Vec<usize>> {
        if d == 0 {
            return if n == 1 { vec![vec![]] } else { vec![] };
        }
        let mut out = vec![];
        for f in 1..=n {
            if n % f == 0 {
                for mut rest in all_factorisations(n / f, d - 1) {
                    if rest.first().map_or(true, |&r| r <= f) {
                        rest.insert(0, f);
                        out.push(rest);
                    }
                }
            }
        }
        out
    }

    proptest! {
        #[test]
        fn dims_create_is_lexicographic_min(n in 1usize..=200, d in 1usize..=4) {
            prop_assert_eq!(dims_create(n, 0).unwrap(), Vec::<usize>::new());
            let got = dims_create(n, d).unwrap();
            let best = all_factorisations(n, d).into_iter().min().unwrap();
            prop_assert_eq!(got, best);
        }

        #[test]
        fn rank_coords_roundtrip(dims in prop::collection::vec(1usize..=5, 0..=4)) {
            let g = ProcessGrid::new(dims.clone()).unwrap();
            let mut expect_rank = 0;
            // Brute-force row-major enumeration: the last coordinate varies fastest.
            let mut c = vec![0usize; dims.len()];
            'outer: loop {
                prop_assert_eq!(g.rank(&c).unwrap(), expect_rank);
                prop_assert_eq!(g.coords(expect_rank).unwrap(), c.clone());
                expect_rank += 1;
                let mut k = dims.len();
                loop {
                    if k == 0 {
                        prop_assert_eq!(expect_rank, g.size());
                        break 'outer;
                    }
                    k -= 1;
                    c[k] += 1;
                    if c[k] < dims[k] { break; }
                    c[k] = 0;
                }
            }
        }
    }
}

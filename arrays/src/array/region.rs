//! One-sided access to a box of an array (or view): get, put and accumulate, Global Arrays
//! style. The box is cut into cells by the engine's planner (the one view-to-base mapping of
//! the crate); each cell is one strided block of one rank's memory, read or written in place
//! when this rank can load from that memory, else moved with one-sided gets/puts of its
//! contiguous runs.
#![allow(unsafe_code)]
use super::DistArray;
use crate::bytes;
use crate::dist::Layout;
use crate::dtype::Element;
use crate::engine::plan::{self, Cell, OpRef, Share, Spec};
use crate::engine::tile::strided_copy;
use crate::error::{Error, Result};
use crate::shape::{box_len, c_strides};
use crate::view::SliceItem;
use distarr_runtime::AccOp;

impl DistArray {
    pub(crate) fn check_box(&self, lo: &[usize], hi: &[usize]) -> Result<()> {
        let nd = self.ndim();
        if lo.len() != nd || hi.len() != nd {
            return Err(Error::shape(format!(
                "region needs {nd} lower and upper bounds, got {} and {}",
                lo.len(),
                hi.len()
            )));
        }
        for d in 0..nd {
            if lo[d] > hi[d] || hi[d] > self.shape()[d] {
                return Err(Error::out_of_bounds(format!(
                    "region [{lo:?}, {hi:?}) outside shape {:?}",
                    self.shape()
                )));
            }
        }
        Ok(())
    }

    fn check_data_len(n: usize, sz: usize, got: usize) -> Result<()> {
        if got != n * sz {
            return Err(Error::shape(format!(
                "region of {n} elements needs {} bytes, got {got}",
                n * sz
            )));
        }
        Ok(())
    }

    /// The cells of the box `[lo, hi)` as rank `me` sees it (a replicated array is served from
    /// `me`'s copy), with the box's shape.
    fn region_cells(&self, me: usize, lo: &[usize], hi: &[usize]) -> Result<(Vec<usize>, Vec<Cell>)> {
        let items: Vec<SliceItem> = lo
            .iter()
            .zip(hi)
            .map(|(&l, &h)| SliceItem::range(l as isize, h as isize, 1))
            .collect();
        let sub = self.view.slice(&items)?;
        let shape: Vec<usize> = hi.iter().zip(lo).map(|(h, l)| h - l).collect();
        let op = OpRef {
            dist: &self.base.dist,
            view: &sub,
        };
        // Copy specs for every cell (`snapshot`): the caller may be another rank than `me` (a
        // write to every copy of a replicated array) and then needs them for `me`'s cells too.
        let spec = Spec {
            shape: &shape,
            anchor: op,
            share: Share::All,
            ops: &[op],
            snapshot: &[true],
            chunk: None,
        };
        let cells = plan::plan(me, self.base.rt.nranks(), &spec);
        Ok((shape, cells))
    }

    /// Reads the box `[lo, hi)` of this view as C-order bytes of the array's dtype. One-sided;
    /// the data is in the result when it returns.
    pub fn get_region_bytes(&self, lo: &[usize], hi: &[usize]) -> Result<Vec<u8>> {
        self.start_region_read(lo, hi)?.finish()
    }

    /// Starts reading the box `[lo, hi)`: blocks this rank can load from are copied now, the
    /// others requested with implicit-completion gets; [`RegionRead::finish`] completes them.
    /// One-sided. Lets a caller compute while the next block travels.
    pub(crate) fn start_region_read(&self, lo: &[usize], hi: &[usize]) -> Result<RegionRead> {
        self.check_live()?;
        self.check_box(lo, hi)?;
        crate::engine::check_not_pending(self, false)?;
        let dt = self.dtype();
        let sz = dt.size();
        let mut read = RegionRead {
            out: vec![0u8; box_len(lo, hi) * sz],
            staged: Vec::new(),
            dt,
            rt: self.base.rt.clone(),
        };
        if read.out.is_empty() {
            return Ok(read);
        }
        let rt = &self.base.rt;
        let (shape, cells) = self.region_cells(rt.rank(), lo, hi)?;
        let bst = c_strides(&shape);
        let dst_strides: Vec<isize> = bst.iter().map(|&s| s as isize).collect();
        for c in cells {
            let a = &c.acc[0];
            let at: usize = c.lo.iter().zip(&bst).map(|(l, s)| l * s).sum();
            match rt.addr_of(a.rank, self.base.seg()?)? {
                Some((p, _)) => {
                    // SAFETY: the block lies in `a.rank`'s part of the segment (planner), the
                    // destination inside `out`; they are distinct memory.
                    unsafe {
                        strided_copy(
                            &c.shape(),
                            p.add(a.offset * sz),
                            &a.strides,
                            read.out.as_mut_ptr().add(at * sz),
                            &dst_strides,
                            dt,
                            dt,
                        )
                    }
                }
                None => {
                    let cp = a
                        .copy
                        .clone()
                        .ok_or_else(|| Error::internal("remote block without copy spec"))?;
                    let mut buf = vec![0u8; cp.len * sz];
                    let mut off = 0;
                    for &(l, n) in &cp.runs {
                        // SAFETY: `buf` is moved into `staged` without reallocation (its heap
                        // storage stays put) and outlives the gets, which complete in `finish`
                        // (or in the flush of the RegionRead's drop) before it is read or freed.
                        unsafe {
                            rt.get_nbi(
                                buf.as_mut_ptr().add(off),
                                n * sz,
                                a.rank,
                                self.base.seg()?,
                                (l * sz) as u64,
                            )?
                        };
                        off += n * sz;
                    }
                    read.staged.push(Staged {
                        shape: c.shape(),
                        at,
                        dst_strides: dst_strides.clone(),
                        offset: cp.offset,
                        strides: cp.strides,
                        buf,
                    });
                }
            }
        }
        Ok(read)
    }

    /// The ranks whose copy a write must reach: this rank's view of the owner, or every rank
    /// for a replicated array.
    fn writers(&self) -> Vec<usize> {
        let rt = &self.base.rt;
        if matches!(self.base.dist.layout(), Layout::Replicated) {
            (0..rt.nranks()).collect()
        } else {
            vec![rt.rank()]
        }
    }

    /// Writes C-order bytes of the array's dtype to the box `[lo, hi)` of this view (every
    /// copy of a replicated array); complete at the targets when it returns. One-sided.
    pub fn put_region_bytes(&self, lo: &[usize], hi: &[usize], data: &[u8]) -> Result<()> {
        self.check_live()?;
        self.check_box(lo, hi)?;
        let dt = self.dtype();
        let sz = dt.size();
        Self::check_data_len(box_len(lo, hi), sz, data.len())?;
        crate::engine::check_not_pending(self, true)?;
        if data.is_empty() {
            return Ok(());
        }
        let rt = &self.base.rt;
        let mut staged: Vec<Vec<u8>> = Vec::new();
        for me in self.writers() {
            let (shape, cells) = self.region_cells(me, lo, hi)?;
            let bst = c_strides(&shape);
            let src_strides: Vec<isize> = bst.iter().map(|&s| s as isize).collect();
            for c in &cells {
                let a = &c.acc[0];
                let at: usize = c.lo.iter().zip(&bst).map(|(l, s)| l * s).sum();
                match rt.addr_of(a.rank, self.base.seg()?)? {
                    // SAFETY: as in get_region_bytes, with the copy direction reversed.
                    Some((p, _)) => unsafe {
                        strided_copy(
                            &c.shape(),
                            data.as_ptr().add(at * sz),
                            &src_strides,
                            p.add(a.offset * sz),
                            &a.strides,
                            dt,
                            dt,
                        )
                    },
                    None => {
                        let cp = a
                            .copy
                            .as_ref()
                            .ok_or_else(|| Error::internal("remote block without copy spec"))?;
                        // The block's runs, read back from the target first where the cell does
                        // not cover them (a strided view): a put must not clobber elements
                        // between the view's.
                        let mut buf = vec![0u8; cp.len * sz];
                        if cp.len != c.len() {
                            let mut off = 0;
                            for &(l, n) in &cp.runs {
                                rt.get(&mut buf[off..off + n * sz], a.rank, self.base.seg()?, (l * sz) as u64)?;
                                off += n * sz;
                            }
                        }
                        // SAFETY: `buf` holds the block, `data` the box.
                        unsafe {
                            strided_copy(
                                &c.shape(),
                                data.as_ptr().add(at * sz),
                                &src_strides,
                                buf.as_mut_ptr().add(cp.offset * sz),
                                &cp.strides,
                                dt,
                                dt,
                            )
                        };
                        let mut off = 0;
                        for &(l, n) in &cp.runs {
                            // SAFETY: `buf` is kept in `staged` until flush_all below completes
                            // the puts.
                            unsafe {
                                rt.put_nbi(a.rank, self.base.seg()?, (l * sz) as u64, buf.as_ptr().add(off), n * sz)?
                            };
                            off += n * sz;
                        }
                        staged.push(buf);
                    }
                }
            }
        }
        rt.flush_all()?;
        drop(staged);
        Ok(())
    }

    /// Typed read of the box `[lo, hi)`; `T` must be the array's element type. One-sided.
    pub fn get_region<T: Element>(&self, lo: &[usize], hi: &[usize]) -> Result<Vec<T>> {
        self.check_dtype::<T>()?;
        Ok(bytes::to_vec(&self.get_region_bytes(lo, hi)?))
    }

    /// Typed write of the box `[lo, hi)`; `T` must be the array's element type. One-sided.
    pub fn put_region<T: Element>(&self, lo: &[usize], hi: &[usize], data: &[T]) -> Result<()> {
        self.check_dtype::<T>()?;
        self.put_region_bytes(lo, hi, bytes::as_bytes(data))
    }

    /// `region op= data`, atomically per element (Global Arrays' NGA_Acc); numeric dtypes
    /// other than bool and complex. One-sided; complete at the targets when it returns.
    pub fn acc_region_bytes(&self, lo: &[usize], hi: &[usize], data: &[u8], op: AccOp) -> Result<()> {
        self.check_live()?;
        self.check_box(lo, hi)?;
        let dt = self.dtype();
        let sz = dt.size();
        Self::check_data_len(box_len(lo, hi), sz, data.len())?;
        if matches!(self.base.dist.layout(), Layout::Replicated) {
            return Err(Error::invalid("accumulate into a replicated array is ambiguous"));
        }
        if dt.is_bool() || dt.is_complex() {
            return Err(Error::dtype(format!("accumulate is not supported for {}", dt.name())));
        }
        crate::engine::check_not_pending(self, true)?;
        if data.is_empty() {
            return Ok(());
        }
        let rt = &self.base.rt;
        let (shape, cells) = self.region_cells(rt.rank(), lo, hi)?;
        let bst = c_strides(&shape);
        let src_strides: Vec<isize> = bst.iter().map(|&s| s as isize).collect();
        for c in &cells {
            let a = &c.acc[0];
            let at: usize = c.lo.iter().zip(&bst).map(|(l, s)| l * s).sum();
            // The cell's elements in C order, accumulated in runs of consecutive local offsets.
            let n = c.len();
            let mut vals = vec![0u8; n * sz];
            let dense: Vec<isize> = c_strides(&c.shape()).iter().map(|&s| s as isize).collect();
            // SAFETY: `data` holds the box, `vals` the cell.
            unsafe {
                strided_copy(
                    &c.shape(),
                    data.as_ptr().add(at * sz),
                    &src_strides,
                    vals.as_mut_ptr(),
                    &dense,
                    dt,
                    dt,
                )
            };
            let mut runs: Vec<(usize, usize)> = Vec::new(); // (local offset, len)
            crate::shape::for_each_index(&vec![0; c.lo.len()], &c.shape(), |idx| {
                let off = (a.offset as isize + idx.iter().zip(&a.strides).map(|(&i, &s)| i as isize * s).sum::<isize>())
                    as usize;
                match runs.last_mut() {
                    Some((o, l)) if *o + *l == off => *l += 1,
                    _ => runs.push((off, 1)),
                }
            });
            let mut k = 0;
            for (off, len) in runs {
                acc_typed(
                    rt,
                    dt,
                    &vals[k * sz..(k + len) * sz],
                    a.rank,
                    self.base.seg()?,
                    (off * sz) as u64,
                    op,
                )?;
                k += len;
            }
        }
        Ok(())
    }
}

/// `MPI_Accumulate` of `data` (elements of `dt`) into `rank`'s part of `seg` at byte `offset`.
fn acc_typed(
    rt: &distarr_runtime::Runtime,
    dt: crate::dtype::DType,
    data: &[u8],
    rank: usize,
    seg: distarr_runtime::Seg,
    offset: u64,
    op: AccOp,
) -> Result<()> {
    use crate::dtype::DType;
    macro_rules! go {
        ($t:ty) => {{
            let v: Vec<$t> = bytes::to_vec(data);
            rt.accumulate(&v, rank, seg, offset, op)?;
        }};
    }
    match dt {
        DType::I32 => go!(i32),
        DType::I64 => go!(i64),
        DType::U8 => go!(u8),
        DType::U32 => go!(u32),
        DType::U64 => go!(u64),
        DType::F32 => go!(f32),
        DType::F64 => go!(f64),
        d => return Err(Error::dtype(format!("accumulate is not supported for {}", d.name()))),
    }
    Ok(())
}

/// A block fetched into a buffer, to be copied into place once the gets complete.
struct Staged {
    shape: Vec<usize>,
    at: usize,
    dst_strides: Vec<isize>,
    offset: usize,
    strides: Vec<isize>,
    buf: Vec<u8>,
}

/// A region read in flight ([`DistArray::start_region_read`]).
pub(crate) struct RegionRead {
    out: Vec<u8>,
    staged: Vec<Staged>,
    dt: crate::dtype::DType,
    rt: distarr_runtime::Runtime,
}

impl RegionRead {
    /// Completes the gets (every get this rank issued: `flush_local_all`) and returns the box
    /// as C-order bytes.
    pub(crate) fn finish(mut self) -> Result<Vec<u8>> {
        if !self.staged.is_empty() {
            self.rt.flush_local_all()?;
        }
        let sz = self.dt.size();
        for s in std::mem::take(&mut self.staged) {
            // SAFETY: the staged buffer holds the block (its gets completed above) and `out`
            // the box; distinct memory.
            unsafe {
                strided_copy(
                    &s.shape,
                    s.buf.as_ptr().add(s.offset * sz),
                    &s.strides,
                    self.out.as_mut_ptr().add(s.at * sz),
                    &s.dst_strides,
                    self.dt,
                    self.dt,
                )
            };
        }
        Ok(std::mem::take(&mut self.out))
    }
}

impl Drop for RegionRead {
    /// A read dropped before `finish` (an error in between) must not leave gets writing into
    /// freed buffers: complete them first.
    fn drop(&mut self) {
        if !self.staged.is_empty() && !self.rt.is_finalized() && self.rt.flush_local_all().is_err() {
            log::error!(target: "distarr", "cannot complete one-sided gets into a dropped buffer; aborting");
            std::process::abort();
        }
    }
}

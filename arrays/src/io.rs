//! `.npy` save and load in parallel: every rank maps the file (memmap2) and writes or reads the
//! rows of the boxes it owns; only rank 0 writes the header.
use crate::array::{for_each_index, DistArray};
use crate::dist::{c_strides, Layout};
use crate::error::{Error, Result};
use crate::npy;
use distarr_runtime::{ReduceOp, Runtime};
use std::fs::OpenOptions;
use std::path::Path;

/// Makes a rank-local failure collective: every rank learns whether any rank failed, and the
/// failing rank's message (or a generic one) is returned everywhere.
fn agree(rt: &Runtime, local: Result<()>) -> Result<()> {
    let mut flag = [u8::from(local.is_err())];
    rt.allreduce(&mut flag, ReduceOp::Max)?;
    match local {
        Err(e) => Err(e),
        Ok(()) if flag[0] != 0 => Err(Error::io("the operation failed on another rank")),
        Ok(()) => Ok(()),
    }
}

/// Calls `f(file_byte_offset, box_byte_offset, len)` for each C-order row of the box `[lo, hi)`
/// of an array of `shape` with elements of `sz` bytes.
fn rows(shape: &[usize], lo: &[usize], hi: &[usize], sz: usize, mut f: impl FnMut(usize, usize, usize)) {
    let nd = shape.len();
    if nd == 0 {
        f(0, 0, sz);
        return;
    }
    let st = c_strides(shape);
    let row = (hi[nd - 1] - lo[nd - 1]) * sz;
    if row == 0 {
        return;
    }
    let mut hi_outer = hi.to_vec();
    hi_outer[nd - 1] = lo[nd - 1] + 1;
    let mut k = 0;
    for_each_index(lo, &hi_outer, |idx| {
        let lin: usize = idx.iter().zip(&st).map(|(i, s)| i * s).sum();
        f(lin * sz, k * row, row);
        k += 1;
    });
}

/// Saves the array (or view) as a C-order `.npy` file. **Collective.**
pub fn save_npy(a: &DistArray, path: &Path) -> Result<()> {
    a.check_live()?;
    let rt = a.runtime().clone();
    let shape = a.shape().to_vec();
    let sz = a.dtype().size();
    let header = npy::write_header(a.dtype(), &shape, false)?;
    let total = header.len() + a.len() * sz;
    let created = if rt.rank() == 0 {
        (|| -> Result<()> {
            let f = OpenOptions::new().create(true).write(true).truncate(true).open(path)?;
            f.set_len(total as u64)?;
            std::io::Write::write_all(&mut &f, &header)?;
            Ok(())
        })()
    } else {
        Ok(())
    };
    agree(&rt, created)?;
    rt.sync()?;
    let written = (|| -> Result<()> {
        let boxes = a.read_boxes()?;
        if boxes.is_empty() || a.is_empty() {
            return Ok(());
        }
        let f = OpenOptions::new().read(true).write(true).open(path)?;
        let mut map = map_mut(&f)?;
        for (lo, hi) in boxes {
            let data = a.get_region_bytes(&lo, &hi)?;
            rows(&shape, &lo, &hi, sz, |fo, bo, len| {
                map[header.len() + fo..header.len() + fo + len].copy_from_slice(&data[bo..bo + len]);
            });
        }
        map.flush()?;
        Ok(())
    })();
    agree(&rt, written)?;
    rt.sync()?;
    Ok(())
}

/// Loads a `.npy` file into a new array with `layout`. The header is validated on every rank
/// (bad magic, version, dtype, big-endian data, Fortran order and a size that does not match
/// the header are clear errors). **Collective.**
pub fn load_npy(rt: &Runtime, path: &Path, layout: Layout) -> Result<DistArray> {
    let parsed = (|| -> Result<(npy::NpyHeader, std::fs::File)> {
        let f = OpenOptions::new().read(true).open(path)?;
        let len = f.metadata()?.len();
        let mut head = vec![0u8; len.min(1 << 20) as usize];
        std::io::Read::read_exact(&mut &f, &mut head)?;
        let h = npy::parse_header(&head)?;
        npy::validate_len(&h, len)?;
        Ok((h, f))
    })();
    let (h, f) = match parsed {
        Ok(v) => {
            agree(rt, Ok(()))?;
            v
        }
        Err(e) => {
            agree(rt, Err(e.clone()))?;
            return Err(e);
        }
    };
    let a = DistArray::empty(rt, &h.shape, h.dtype, layout)?;
    let sz = h.dtype.size();
    let shape = h.shape.clone();
    rt.sync()?;
    let read = (|| -> Result<()> {
        let boxes = a.work_boxes()?;
        if boxes.is_empty() || a.is_empty() {
            return Ok(());
        }
        let map = map_ro(&f)?;
        for (lo, hi) in boxes {
            let n: usize = lo.iter().zip(&hi).map(|(l, h)| h - l).product();
            let mut data = vec![0u8; n * sz];
            rows(&shape, &lo, &hi, sz, |fo, bo, len| {
                data[bo..bo + len].copy_from_slice(&map[h.data_offset + fo..h.data_offset + fo + len]);
            });
            a.write_box_local(&lo, &hi, &data)?;
        }
        Ok(())
    })();
    agree(rt, read)?;
    rt.sync()?;
    Ok(a)
}

#[allow(unsafe_code)]
fn map_mut(f: &std::fs::File) -> Result<memmap2::MmapMut> {
    // SAFETY: the mapping is of a file this job created for this save; other processes of the
    // job write disjoint byte ranges, and nothing else is expected to modify or truncate it
    // while mapped (the same contract as any parallel writer of one file).
    Ok(unsafe { memmap2::MmapMut::map_mut(f)? })
}

#[allow(unsafe_code)]
fn map_ro(f: &std::fs::File) -> Result<memmap2::Mmap> {
    // SAFETY: the file is only read; its length was validated against the header, and a
    // concurrent truncation by another program is outside distarr's contract (as for any
    // reader of a memory-mapped file).
    Ok(unsafe { memmap2::Mmap::map(f)? })
}

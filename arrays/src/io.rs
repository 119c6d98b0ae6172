//! `.npy` save and load in parallel: every rank maps the file (memmap2) and writes or reads the
//! elements it owns, in place from or into its memory (on the engine: owner computes); only
//! rank 0 writes the header.
#![allow(unsafe_code)]
use crate::array::DistArray;
use crate::dist::Layout;
use crate::dtype::DType;
use crate::engine::plan::Share;
use crate::engine::{self, Ready, Run};
use crate::error::{agree, Error, ErrorKind, Result};
use crate::npy;
use crate::shape::c_strides;
use distarr_runtime::Runtime;
use std::fs::OpenOptions;
use std::path::Path;

/// Most bytes of a `.npy` file read to find its header (NumPy's own reader refuses headers
/// beyond 10000 bytes unless told otherwise).
pub const MAX_HEADER_BYTES: u64 = 1 << 20;

/// Alignment the typed kernels need for elements of `dt`.
fn align_of(dt: DType) -> usize {
    match dt {
        DType::C64 => 4,
        DType::C128 => 8,
        d => d.size(),
    }
}

/// Copies every row (last axis) of a cell between the array's memory and a C-order file image
/// at `file` (the data part): `to_file` chooses the direction. Reading from a file image whose
/// data is not aligned for the dtype (a hand-made header of any length) goes byte by byte, and
/// bool bytes read from a file become 0 or 1 (NumPy's `!= 0`), as every kernel assumes.
fn copy_rows(c: &Ready<'_>, shape: &[usize], file: *mut u8, dt: DType, to_file: bool) {
    let nd = shape.len();
    let sz = dt.size();
    let cst = c_strides(shape);
    let n = if nd == 0 { 1 } else { c.hi[nd - 1] - c.lo[nd - 1] };
    let s = if nd == 0 { 0 } else { c.strides[0][nd - 1] };
    let outer_lo = &c.lo[..nd.saturating_sub(1)];
    let outer_hi = &c.hi[..nd.saturating_sub(1)];
    let f = crate::kernel::cast(dt, dt);
    let bytewise = !to_file && (file as usize % align_of(dt) != 0 || dt == DType::Bool);
    crate::shape::for_each_index(outer_lo, outer_hi, |idx| {
        let off: isize = idx
            .iter()
            .zip(outer_lo)
            .zip(c.strides[0].iter())
            .map(|((&i, &l), &st)| (i - l) as isize * st)
            .sum();
        let flat: usize =
            idx.iter().zip(&cst).map(|(i, s)| i * s).sum::<usize>() + if nd == 0 { 0 } else { c.lo[nd - 1] };
        // SAFETY: the row lies in the array's block of the cell (engine invariant) and at
        // `flat` in the file image, which holds every element of the array.
        unsafe {
            let mem = c.ptr[0].offset(off * sz as isize);
            let img = file.add(flat * sz);
            if to_file {
                f(n, mem, s, img, 1);
            } else if bytewise {
                for k in 0..n {
                    let d = mem.offset(k as isize * s * sz as isize);
                    std::ptr::copy_nonoverlapping(img.add(k * sz), d, sz);
                    if dt == DType::Bool {
                        *d = u8::from(*d != 0);
                    }
                }
            } else {
                f(n, img, 1, mem, s);
            }
        }
    });
}

/// An engine run over the elements of `a` each rank owns (a replicated array shared out).
fn owned<'a>(a: &'a DistArray, args: &'a [&'a DistArray], write: bool) -> Run<'a> {
    let replicated = matches!(a.distribution().layout(), Layout::Replicated);
    Run {
        shape: a.shape(),
        anchor: a,
        share: if replicated && !write {
            Share::Split
        } else {
            Share::Owned
        },
        args,
        writes: if write { &[0] } else { &[] },
        chunk: None,
        along: None,
    }
}

/// Saves the array (or view) as a C-order `.npy` file. **Collective.**
pub fn save_npy(a: &DistArray, path: &Path) -> Result<()> {
    a.check_live()?;
    let rt = a.runtime().clone();
    let shape = a.shape().to_vec();
    let dt = a.dtype();
    let header = npy::write_header(dt, &shape, false)?;
    let total = header.len() + a.len() * dt.size();
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
    agree(&rt, created, ErrorKind::Io)?;
    // Rank 0 created the file before anyone maps it.
    rt.barrier()?;
    let mapped = (|| -> Result<Option<memmap2::MmapMut>> {
        if a.is_empty() {
            return Ok(None);
        }
        let f = OpenOptions::new().read(true).write(true).open(path)?;
        Ok(Some(map_mut(&f)?))
    })();
    let mut map = agree(&rt, mapped, ErrorKind::Io)?;
    if let Some(m) = map.as_mut() {
        let data = m[header.len()..].as_mut_ptr() as usize;
        let args = [a];
        engine::run(
            &owned(a, &args, false),
            None,
            || Error::internal("save cannot fail"),
            &|cells, _| {
                for c in cells {
                    copy_rows(c, &shape, data as *mut u8, dt, true);
                }
            },
        )?;
    }
    let flushed = map.as_ref().map_or(Ok(()), |m| m.flush().map_err(Error::from));
    agree(&rt, flushed, ErrorKind::Io)?;
    // Every rank's part is in the file when any rank returns.
    rt.barrier()?;
    Ok(())
}

/// Loads a `.npy` file into a new array with `layout`. The header is validated on every rank
/// (bad magic, version, dtype, big-endian data, Fortran order and a size that does not match
/// the header are clear errors). **Collective.**
pub fn load_npy(rt: &Runtime, path: &Path, layout: Layout) -> Result<DistArray> {
    let parsed = (|| -> Result<(npy::NpyHeader, std::fs::File)> {
        // Only regular files: opening a FIFO would block, a device has no length to check.
        if !std::fs::metadata(path)?.is_file() {
            return Err(Error::io(format!("{} is not a regular file", path.display())));
        }
        let f = OpenOptions::new().read(true).open(path)?;
        let len = f.metadata()?.len();
        let mut head = vec![0u8; len.min(MAX_HEADER_BYTES) as usize];
        std::io::Read::read_exact(&mut &f, &mut head)?;
        let (_, data_offset) = npy::header_len(&head)?;
        if data_offset as u64 > MAX_HEADER_BYTES && len >= MAX_HEADER_BYTES {
            return Err(Error::io(format!(
                "npy header of {data_offset} bytes: distarr reads headers of at most {MAX_HEADER_BYTES} bytes"
            )));
        }
        let h = npy::parse_header(&head)?;
        if h.shape.len() > crate::shape::MAX_NDIM {
            return Err(Error::io(format!(
                "npy array of {} dimensions: at most {} are supported",
                h.shape.len(),
                crate::shape::MAX_NDIM
            )));
        }
        npy::validate_len(&h, len)?;
        Ok((h, f))
    })();
    let (h, f) = agree(rt, parsed, ErrorKind::Io)?;
    let a = DistArray::empty(rt, &h.shape, h.dtype, layout)?;
    let mapped = if a.is_empty() { Ok(None) } else { map_ro(&f).map(Some) };
    let map = agree(rt, mapped, ErrorKind::Io)?;
    if let Some(m) = map.as_ref() {
        let data = m[h.data_offset..].as_ptr() as usize;
        let args = [&a];
        let shape = h.shape.clone();
        let dt = h.dtype;
        engine::run(
            &owned(&a, &args, true),
            None,
            || Error::internal("load cannot fail"),
            &|cells, _| {
                for c in cells {
                    copy_rows(c, &shape, data as *mut u8, dt, false);
                }
            },
        )?;
    }
    Ok(a)
}

fn map_mut(f: &std::fs::File) -> Result<memmap2::MmapMut> {
    // SAFETY: the mapping is of a file this job created for this save; other processes of the
    // job write disjoint byte ranges, and nothing else is expected to modify or truncate it
    // while mapped (the same contract as any parallel writer of one file).
    Ok(unsafe { memmap2::MmapMut::map_mut(f)? })
}

fn map_ro(f: &std::fs::File) -> Result<memmap2::Mmap> {
    // SAFETY: the file is only read; its length was validated against the header, and a
    // concurrent truncation by another program is outside distarr's contract (as for any
    // reader of a memory-mapped file).
    Ok(unsafe { memmap2::Mmap::map(f)? })
}

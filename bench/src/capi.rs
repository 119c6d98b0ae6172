//! The `--via c` column: the same loops as `dist.rs`, through the C ABI's `extern "C"`
//! functions (`libdistarr`, linked as a Rust library so the calls are the exported symbols'
//! bodies, exactly what a C program runs, minus the PLT indirection of a shared library).
use crate::{Kind, Plan, Sync};
use distarr_c as c;
use std::ffi::{c_int, CStr};

type Result<T> = std::result::Result<T, String>;

/// Turns a status code into a result with `distarr_last_error`'s message. The success test
/// inlines to one compare, as a C caller's `if (rc != DISTARR_OK)`.
#[inline(always)]
pub fn check(rc: c_int, what: &str) -> Result<()> {
    if rc == c::DISTARR_OK {
        return Ok(());
    }
    Err(failure(rc, what))
}

#[cold]
#[inline(never)]
fn failure(rc: c_int, what: &str) -> String {
    // SAFETY: distarr_last_error returns a valid NUL-terminated string owned by this thread.
    let msg = unsafe { CStr::from_ptr(c::distarr_last_error()) };
    format!("{what}: status {rc}: {}", msg.to_string_lossy())
}

/// Why the C ABI has no counterpart of this test/sync (`None`: it has one). Adds to
/// `dist::unsupported` the calls the C ABI does not export.
pub fn unsupported(kind: Kind, sync: Sync) -> Option<&'static str> {
    if kind == Kind::GetAcc {
        return Some("the C ABI has no get-accumulate call (distarr_fetch_op is one element)");
    }
    crate::dist::unsupported(kind, sync)
}

/// Origin buffers (8-byte aligned for the 64-bit atomics).
pub struct Bufs {
    pub send: Vec<u64>,
    pub recv: Vec<u64>,
    pub reqs: Vec<c::distarr_request>,
}

impl Bufs {
    pub fn new(bytes: usize) -> Bufs {
        let words = bytes.div_ceil(8).max(1);
        Bufs {
            send: vec![0x0101_0101_0101_0101; words],
            recv: vec![0; words],
            reqs: Vec::new(),
        }
    }
}

/// One blocking operation (completion built in; `flush_local` puts: put_nb + wait).
fn blocking(kind: Kind, sync: Sync, size: usize, target: i32, seg: u32, b: &mut Bufs) -> Result<()> {
    let n = size as u64;
    let s = b.send.as_ptr().cast::<std::ffi::c_void>();
    let r = b.recv.as_mut_ptr().cast::<std::ffi::c_void>();
    // SAFETY: for every arm, the buffers hold at least `size` bytes (Bufs::new(size * nops))
    // and 8-byte aligned words for the 64-bit atomics; the request is waited for before the
    // buffer is touched again; the segment holds at least `size` bytes per rank.
    let rc = unsafe {
        match (kind, sync) {
            (Kind::Get, _) => c::distarr_get(r, target, seg, 0, n),
            (Kind::Put, Sync::FlushLocal) => {
                let mut req = 0;
                let rc = c::distarr_put_nb(target, seg, 0, s, n, &mut req);
                if rc == c::DISTARR_OK {
                    c::distarr_wait(&mut req)
                } else {
                    rc
                }
            }
            (Kind::Put, _) => c::distarr_put(target, seg, 0, s, n),
            (Kind::Acc, _) => c::distarr_acc(target, seg, 0, s, n, c::DISTARR_DTYPE_U8, c::DISTARR_OP_SUM),
            (Kind::Fop, _) => {
                let one = 1i64;
                let mut old = 0i64;
                c::distarr_fetch_op(
                    (&mut old as *mut i64).cast(),
                    (&one as *const i64).cast(),
                    target,
                    seg,
                    0,
                    c::DISTARR_DTYPE_I64,
                    c::DISTARR_OP_SUM,
                )
            }
            (Kind::Cas, _) => {
                let (cmp, swap, mut old) = (0i64, 0i64, 0i64);
                c::distarr_cas(
                    (&mut old as *mut i64).cast(),
                    (&cmp as *const i64).cast(),
                    (&swap as *const i64).cast(),
                    target,
                    seg,
                    0,
                    c::DISTARR_DTYPE_I64,
                )
            }
            (Kind::GetAcc | Kind::PutBi, _) => unreachable!("checked by `unsupported` / not a blocking test"),
        }
    };
    check(rc, "distarr operation")
}

/// Starts `nops` non-blocking gets or puts (`distarr_get_nb` / `distarr_put_nb`) of `size`
/// bytes at consecutive offsets; the requests go to `b.reqs`.
fn start(kind: Kind, size: usize, nops: usize, target: i32, seg: u32, b: &mut Bufs) -> Result<()> {
    b.reqs.clear();
    for j in 0..nops {
        let off = (j * size) as u64;
        let mut req = 0;
        // SAFETY: `[j * size, (j + 1) * size)` lies inside the buffers (Bufs::new(size * nops)),
        // which are not touched until `finish` waits for every request.
        let rc = unsafe {
            if kind == Kind::Get {
                let dst = b.recv.as_mut_ptr().cast::<u8>().add(j * size);
                c::distarr_get_nb(dst.cast(), target, seg, off, size as u64, &mut req)
            } else {
                let src = b.send.as_ptr().cast::<u8>().add(j * size);
                c::distarr_put_nb(target, seg, off, src.cast(), size as u64, &mut req)
            }
        };
        check(rc, "distarr_get_nb/put_nb")?;
        b.reqs.push(req);
    }
    Ok(())
}

/// Waits for every request of `start`.
fn finish(b: &mut Bufs) -> Result<()> {
    for req in &mut b.reqs {
        // SAFETY: `req` is a live request id from `start` (or 0), valid for reading/writing.
        check(unsafe { c::distarr_wait(req) }, "distarr_wait")?;
    }
    Ok(())
}

/// Runs one size through the C ABI. **Collective**; returns rank 0's timed seconds.
pub fn run(rank: usize, kind: Kind, sync: Sync, plan: &Plan, seg: u32, b: &mut Bufs) -> Result<f64> {
    let peer = 1 - rank as i32;
    let (size, nops) = (plan.size, plan.nops);
    let total = plan.skip + plan.iters;
    let mut t0 = std::time::Instant::now();
    let mut secs = 0.0;
    check(c::distarr_barrier(), "distarr_barrier")?;
    match sync {
        Sync::Flush | Sync::FlushLocal => {
            if rank == 0 {
                for i in 0..total {
                    if i == plan.skip {
                        t0 = std::time::Instant::now();
                    }
                    if nops == 1 {
                        blocking(kind, sync, size, 1, seg, b)?;
                    } else {
                        start(kind, size, nops, 1, seg, b)?;
                        if sync == Sync::Flush {
                            check(c::distarr_flush(1), "distarr_flush")?;
                        }
                        // flush_local: waiting for the requests is the local completion.
                        finish(b)?;
                    }
                }
                secs = t0.elapsed().as_secs_f64();
            }
        }
        Sync::Fence => {
            let fence = || check(c::distarr_fence(), "distarr_fence");
            for i in 0..total {
                if i == plan.skip {
                    t0 = std::time::Instant::now();
                }
                if kind == Kind::PutBi {
                    fence()?;
                    start(Kind::Put, size, nops, peer, seg, b)?;
                    fence()?;
                    finish(b)?;
                } else if nops > 1 {
                    fence()?;
                    if rank == 0 {
                        start(kind, size, nops, 1, seg, b)?;
                    }
                    fence()?;
                    finish(b)?;
                } else if rank == 0 {
                    fence()?;
                    start(kind, size, 1, 1, seg, b)?;
                    fence()?;
                    finish(b)?;
                    fence()?;
                } else {
                    fence()?;
                    fence()?;
                    start(kind, size, 1, 0, seg, b)?;
                    fence()?;
                    finish(b)?;
                }
            }
            secs = t0.elapsed().as_secs_f64();
        }
        Sync::Lock | Sync::LockAll | Sync::Pscw => unreachable!("checked by `unsupported`"),
    }
    check(c::distarr_barrier(), "distarr_barrier")?;
    Ok(if rank == 0 { secs } else { 0.0 })
}

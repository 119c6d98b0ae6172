//! The raw-MPI column: OSU's one-sided patterns written with `distarr_ffi` calls only, on a
//! window of the same kind as distarr's heap, in the same process and run.
use crate::{Kind, Plan, Sync, WindowArg};
use distarr_ffi::{Comm, Group, LockType, Op, Win};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A window of one kind over `bytes` bytes per rank, as OSU's `allocate_memory_one_sided`
/// makes it, plus the displacement of the peer's memory.
pub struct RawWin {
    win: Win,
    /// Window displacement of each rank's memory (its attached address for dynamic windows).
    disp: Vec<u64>,
    /// Memory of `create`/`dynamic` windows; unmapped after the window is freed.
    mapping: Option<memmap2::MmapMut>,
    /// Whether `mapping` is attached to a dynamic window (detached before the free).
    attached: bool,
}

impl RawWin {
    /// **Collective** over `comm` (and `node` for shared windows).
    pub fn new(kind: WindowArg, bytes: usize, comm: &Comm, node: &Comm) -> Result<RawWin> {
        let n = comm.size()?;
        let mut disp = vec![0u64; n];
        let mut mapping = None;
        let win = match kind {
            WindowArg::Allocate => Win::allocate(bytes, None, comm)?,
            WindowArg::Shared => Win::allocate_shared(bytes, None, node)?,
            WindowArg::Create | WindowArg::Dynamic => {
                let mut m = memmap2::MmapMut::map_anon(bytes).map_err(|e| format!("mmap of {bytes} bytes: {e}"))?;
                let base = m.as_mut_ptr();
                let w = if kind == WindowArg::Create {
                    // SAFETY: `base` points to the `bytes` bytes of `m`, which is kept in
                    // `mapping` and unmapped only after the window is freed (see `free`).
                    unsafe { Win::create(base, bytes, None, comm)? }
                } else {
                    let w = Win::create_dynamic(None, comm)?;
                    // SAFETY: as above; `free` detaches the memory before freeing the window.
                    unsafe { w.attach(base, bytes)? };
                    comm.allgather(&[Win::address(base)?], &mut disp)?;
                    w
                };
                mapping = Some(m);
                w
            }
        };
        comm.barrier()?;
        Ok(RawWin {
            win,
            disp,
            mapping,
            attached: kind == WindowArg::Dynamic,
        })
    }

    /// **Collective.** Frees the window, then the memory.
    pub fn free(mut self) -> Result<()> {
        if let (true, Some(m)) = (self.attached, self.mapping.as_mut()) {
            self.win.detach(m.as_mut_ptr())?;
        }
        self.win.free()?;
        drop(self.mapping.take());
        Ok(())
    }
}

/// Origin-side buffers: 8-byte aligned so fetch-and-op / compare-and-swap can use them.
pub struct Bufs {
    pub send: Vec<u64>,
    pub recv: Vec<u64>,
    pub compare: Vec<u64>,
}

impl Bufs {
    pub fn new(bytes: usize) -> Bufs {
        let words = bytes.div_ceil(8).max(1);
        Bufs {
            send: vec![0x0101_0101_0101_0101; words],
            recv: vec![0; words],
            compare: vec![0; words],
        }
    }
}

/// Issues operation number `j` of an iteration (no completion).
fn issue(w: &RawWin, kind: Kind, size: usize, target: usize, j: usize, b: &mut Bufs) -> distarr_ffi::Result<()> {
    let off = (j * size) as u64;
    let disp = w.disp[target] + off;
    let s = b.send.as_ptr().cast::<u8>();
    let r = b.recv.as_mut_ptr().cast::<u8>();
    // SAFETY: for every arm:
    // - the buffers hold at least `size * window_size` bytes (Bufs::new(size * nops)), so
    //   `[j * size, (j + 1) * size)` is inside them, and they outlive the completion call the
    //   caller makes before touching them again;
    // - the target range `[disp, disp + size)` is inside the peer's window of
    //   `size * nops` bytes; the caller holds an access epoch to `target`;
    // - the 8-byte atomics use 8-aligned buffers (u64 vectors) and displacement 0.
    unsafe {
        match kind {
            Kind::Get => w.win.get_bytes(r.add(j * size), size, target, disp),
            Kind::Put | Kind::PutBi => w.win.put_bytes(s.add(j * size), size, target, disp),
            Kind::Acc => w
                .win
                .accumulate(s.add(j * size).cast::<i8>(), size, target, disp, Op::Sum),
            Kind::GetAcc => w.win.get_accumulate(
                s.add(j * size).cast::<i8>(),
                r.add(j * size).cast::<i8>(),
                size,
                target,
                disp,
                Op::Sum,
            ),
            Kind::Fop => w.win.fetch_and_op(
                b.send.as_ptr().cast::<i64>(),
                b.recv.as_mut_ptr().cast::<i64>(),
                target,
                disp,
                Op::Sum,
            ),
            Kind::Cas => w.win.compare_and_swap(
                b.send.as_ptr().cast::<i64>(),
                b.compare.as_ptr().cast::<i64>(),
                b.recv.as_mut_ptr().cast::<i64>(),
                target,
                disp,
            ),
        }
    }
}

/// Runs OSU's loop for one size and returns rank 0's timed seconds (0 on other ranks).
/// **Collective** over `comm`; ends with a barrier like OSU.
pub fn run(w: &RawWin, kind: Kind, sync: Sync, plan: &Plan, comm: &Comm, b: &mut Bufs) -> Result<f64> {
    let rank = comm.rank()?;
    let peer = 1 - rank;
    let (size, nops) = (plan.size, plan.nops);
    let total = plan.skip + plan.iters;
    let mut t0 = std::time::Instant::now();
    let mut secs = 0.0;
    let bi = kind == Kind::PutBi;
    let world = comm.group()?;
    let gpeer: Group = world.incl(&[peer])?;
    let ops = |b: &mut Bufs, target: usize| -> Result<()> {
        for j in 0..nops {
            issue(w, kind, size, target, j, b)?;
        }
        Ok(())
    };
    match sync {
        Sync::Flush | Sync::FlushLocal | Sync::Lock | Sync::LockAll => {
            if rank == 0 {
                let hold = matches!(sync, Sync::Flush | Sync::FlushLocal);
                if hold {
                    w.win.lock(LockType::Shared, 1, false)?;
                }
                for i in 0..total {
                    if i == plan.skip {
                        t0 = std::time::Instant::now();
                    }
                    match sync {
                        Sync::Flush => {
                            ops(b, 1)?;
                            w.win.flush(1)?;
                        }
                        Sync::FlushLocal => {
                            ops(b, 1)?;
                            w.win.flush_local(1)?;
                        }
                        Sync::Lock => {
                            w.win.lock(LockType::Shared, 1, false)?;
                            ops(b, 1)?;
                            w.win.unlock(1)?;
                        }
                        _ => {
                            w.win.lock_all(false)?;
                            ops(b, 1)?;
                            w.win.unlock_all()?;
                        }
                    }
                }
                secs = t0.elapsed().as_secs_f64();
                if hold {
                    w.win.unlock(1)?;
                }
            }
        }
        Sync::Fence => {
            comm.barrier()?;
            for i in 0..total {
                if i == plan.skip {
                    t0 = std::time::Instant::now();
                }
                if bi {
                    w.win.fence(false, false)?;
                    ops(b, peer)?;
                    w.win.fence(false, false)?;
                } else if nops > 1 {
                    // Bandwidth: rank 0 issues a window of operations per fence pair.
                    w.win.fence(false, false)?;
                    if rank == 0 {
                        ops(b, 1)?;
                    }
                    w.win.fence(false, false)?;
                } else if rank == 0 {
                    // Latency: a round trip of two fenced operations, reported halved.
                    w.win.fence(false, false)?;
                    ops(b, 1)?;
                    w.win.fence(false, false)?;
                    w.win.fence(false, false)?;
                } else {
                    w.win.fence(false, false)?;
                    w.win.fence(false, false)?;
                    ops(b, 0)?;
                    w.win.fence(false, false)?;
                }
            }
            secs = t0.elapsed().as_secs_f64();
        }
        Sync::Pscw => {
            comm.barrier()?;
            for i in 0..total {
                if i == plan.skip {
                    t0 = std::time::Instant::now();
                }
                if bi {
                    w.win.post(&gpeer)?;
                    w.win.start(&gpeer)?;
                    ops(b, peer)?;
                    w.win.complete()?;
                    w.win.wait()?;
                } else if nops > 1 {
                    if rank == 0 {
                        w.win.start(&gpeer)?;
                        ops(b, 1)?;
                        w.win.complete()?;
                    } else {
                        w.win.post(&gpeer)?;
                        w.win.wait()?;
                    }
                } else if rank == 0 {
                    w.win.start(&gpeer)?;
                    ops(b, 1)?;
                    w.win.complete()?;
                    w.win.post(&gpeer)?;
                    w.win.wait()?;
                } else {
                    w.win.post(&gpeer)?;
                    w.win.wait()?;
                    w.win.start(&gpeer)?;
                    ops(b, 0)?;
                    w.win.complete()?;
                }
            }
            secs = t0.elapsed().as_secs_f64();
        }
    }
    comm.barrier()?;
    Ok(if rank == 0 { secs } else { 0.0 })
}

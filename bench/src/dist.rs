//! The distarr column: the same loops through `distarr_runtime::Runtime` on a heap segment
//! (bandwidth tests: implicit-completion operations in a `Runtime::nbi` scope).
use crate::{Kind, Plan, Sync};
use distarr_runtime::{AccOp, Result, Runtime, Seg};

/// Why the runtime has no counterpart of OSU's `sync` for this test (`None`: it has one).
pub fn unsupported(kind: Kind, sync: Sync) -> Option<&'static str> {
    let atomic = matches!(kind, Kind::Acc | Kind::GetAcc | Kind::Fop | Kind::Cas);
    match sync {
        Sync::Flush if kind == Kind::PutBi => Some("OSU's put_bibw has active-target syncs only"),
        Sync::Flush => None,
        Sync::FlushLocal if atomic => {
            Some("the runtime's atomics are blocking with remote completion (no local-completion variant)")
        }
        Sync::FlushLocal if kind == Kind::PutBi => Some("OSU's put_bibw has active-target syncs only"),
        Sync::FlushLocal => None,
        Sync::Fence if atomic => {
            Some("the runtime's atomics complete on their own; a fence would add to, not replace, that")
        }
        Sync::Fence => None,
        Sync::Lock | Sync::LockAll => {
            Some("the runtime holds one lock_all epoch for the heap's life; it has no per-operation lock epochs")
        }
        Sync::Pscw => Some("the runtime has no post/start/complete/wait (generalized active target) epochs"),
    }
}

/// Rank 0's buffers.
pub struct Bufs {
    pub send: Vec<u8>,
    pub recv: Vec<u8>,
    pub send_i8: Vec<i8>,
    pub recv_i8: Vec<i8>,
}

impl Bufs {
    pub fn new(bytes: usize) -> Bufs {
        Bufs {
            send: vec![1; bytes.max(1)],
            recv: vec![0; bytes.max(1)],
            send_i8: vec![1; bytes.max(1)],
            recv_i8: vec![0; bytes.max(1)],
        }
    }
}

/// One blocking operation with completion built in (the runtime's `flush` semantics) or, for
/// `flush_local`, local completion only.
fn blocking(rt: &Runtime, kind: Kind, sync: Sync, size: usize, target: usize, seg: Seg, b: &mut Bufs) -> Result<()> {
    match (kind, sync) {
        (Kind::Get, _) => rt.get(&mut b.recv[..size], target, seg, 0),
        (Kind::Put, Sync::FlushLocal) => rt.put_nb(target, seg, 0, &b.send[..size])?.wait(),
        (Kind::Put, _) => rt.put(target, seg, 0, &b.send[..size]),
        (Kind::Acc, _) => rt.accumulate(&b.send_i8[..size], target, seg, 0, AccOp::Sum),
        (Kind::GetAcc, _) => rt.get_accumulate(&b.send_i8[..size], &mut b.recv_i8[..size], target, seg, 0, AccOp::Sum),
        (Kind::Fop, _) => rt.fetch_and_op(1i64, target, seg, 0, AccOp::Sum).map(drop),
        (Kind::Cas, _) => rt.compare_and_swap(0i64, 0i64, target, seg, 0).map(drop),
        (Kind::PutBi, _) => unreachable!("put_bibw is not a blocking-operation test"),
    }
}

/// Issues `nops` gets or puts of `size` bytes at consecutive offsets with implicit completion
/// (`Runtime::nbi`: plain `MPI_Get`/`MPI_Put`, no request objects, as OSU's loops), then runs
/// `complete` (a flush or fence) inside the scope; the scope ends with local completion.
#[allow(clippy::too_many_arguments)]
fn window(
    rt: &Runtime,
    kind: Kind,
    size: usize,
    nops: usize,
    target: usize,
    seg: Seg,
    b: &mut Bufs,
    complete: impl FnOnce() -> Result<()>,
) -> Result<()> {
    let (recv, send) = (&mut b.recv, &b.send);
    rt.nbi(|s| {
        if kind == Kind::Get {
            for (j, chunk) in recv.chunks_mut(size).take(nops).enumerate() {
                s.get(chunk, target, seg, (j * size) as u64)?;
            }
        } else {
            for (j, chunk) in send.chunks(size).take(nops).enumerate() {
                s.put(target, seg, (j * size) as u64, chunk)?;
            }
        }
        complete()
    })
}

/// Runs one size through the runtime. **Collective**; returns rank 0's timed seconds.
pub fn run(rt: &Runtime, kind: Kind, sync: Sync, plan: &Plan, seg: Seg, b: &mut Bufs) -> Result<f64> {
    let rank = rt.rank();
    let peer = 1 - rank;
    let (size, nops) = (plan.size, plan.nops);
    let total = plan.skip + plan.iters;
    let mut t0 = std::time::Instant::now();
    let mut secs = 0.0;
    rt.barrier()?;
    match sync {
        Sync::Flush | Sync::FlushLocal => {
            if rank == 0 {
                for i in 0..total {
                    if i == plan.skip {
                        t0 = std::time::Instant::now();
                    }
                    if nops == 1 {
                        blocking(rt, kind, sync, size, 1, seg, b)?;
                    } else if sync == Sync::Flush {
                        window(rt, kind, size, nops, 1, seg, b, || rt.flush(1))?;
                    } else {
                        window(rt, kind, size, nops, 1, seg, b, || rt.flush_local(1))?;
                    }
                }
                secs = t0.elapsed().as_secs_f64();
            }
        }
        Sync::Fence => {
            for i in 0..total {
                if i == plan.skip {
                    t0 = std::time::Instant::now();
                }
                if kind == Kind::PutBi {
                    rt.fence()?;
                    window(rt, Kind::Put, size, nops, peer, seg, b, || rt.fence())?;
                } else if nops > 1 {
                    rt.fence()?;
                    if rank == 0 {
                        window(rt, kind, size, nops, 1, seg, b, || rt.fence())?;
                    } else {
                        rt.fence()?;
                    }
                } else if rank == 0 {
                    rt.fence()?;
                    window(rt, kind, size, 1, 1, seg, b, || rt.fence())?;
                    rt.fence()?;
                } else {
                    rt.fence()?;
                    rt.fence()?;
                    window(rt, kind, size, 1, 0, seg, b, || rt.fence())?;
                }
            }
            secs = t0.elapsed().as_secs_f64();
        }
        Sync::Lock | Sync::LockAll | Sync::Pscw => unreachable!("checked by `unsupported`"),
    }
    rt.barrier()?;
    Ok(if rank == 0 { secs } else { 0.0 })
}

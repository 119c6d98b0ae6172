//! Node-local ranks reach each other's memory with loads and stores; ranks on other nodes only
//! through MPI. Run on one host by `tests/multirank.rs` and over two "hosts" (network
//! namespaces with their own hostnames) by `scripts/test-hosts.sh`.
//!
//! The reference for "same node" is independent of MPI's: the ranks' hostnames (gathered).
//! Checks, on every rank:
//! - `RuntimeInfo`: `node_size` = ranks with this hostname; the default heap window is `Shared`;
//!   the node-local fast path is on unless `DISTARR_SHM_FASTPATH=0`;
//! - `Runtime::addr_of(r, seg)` is `Some` exactly for ranks `r` on this node (with the fast path
//!   on; only for this rank with it off), and a store through it is what a `get` of rank `r`'s
//!   memory returns;
//! - every get and put (blocking and implicit-completion) to a rank of this node goes by loads and
//!   stores, and every one to a rank of another node through MPI (`Runtime::transfer_counts`;
//!   all through MPI with the fast path off);
//! - puts, gets, accumulates, fetch-and-ops and compare-and-swaps between every pair of ranks
//!   (node-local and not) give the right values.
//!
//! `DISTARR_TEST_NODES_BYTES=B` also makes every rank read (and check) B bytes of every rank
//! on another node, and rank 0 print the total (`rt_nodes: N bytes read from other nodes`).
//! `DISTARR_TEST_EXPECT_NODES=K` also requires the job to span exactly K nodes (the two-host
//! script sets 2, so a launcher that put every rank on one node fails the test).
use distarr_mpitests::{check, finish, t};
use distarr_runtime::{AccOp, Runtime, WindowKind};

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: `buf` is valid for 256 bytes; gethostname writes at most that many.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    assert_eq!(rc, 0, "gethostname failed");
    let n = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Rank `r`'s hostname from the gathered table (64 bytes per rank, NUL-padded).
fn host_of_str(all: &[u8], r: usize) -> String {
    String::from_utf8_lossy(&all[64 * r..64 * (r + 1)])
        .trim_end_matches('\0')
        .to_string()
}

fn main() {
    distarr_mpitests::abort_on_panic();
    let rt = t!(Runtime::init());
    let (me, n) = (rt.rank(), rt.nranks());
    let info = rt.info();
    let fastpath_wanted = std::env::var("DISTARR_SHM_FASTPATH").map_or(true, |v| v.trim() != "0");

    // Hostnames of every rank, padded to 64 bytes.
    let mut mine = [0u8; 64];
    let h = hostname();
    mine[..h.len().min(64)].copy_from_slice(&h.as_bytes()[..h.len().min(64)]);
    let mut all = vec![0u8; 64 * n];
    t!(rt.allgather(&mine, &mut all));
    let host_of = |r: usize| &all[64 * r..64 * (r + 1)];
    let local: Vec<bool> = (0..n).map(|r| host_of(r) == &mine[..]).collect();
    let mut hosts: Vec<&[u8]> = (0..n).map(host_of).collect();
    hosts.sort();
    hosts.dedup();
    if let Ok(k) = std::env::var("DISTARR_TEST_EXPECT_NODES") {
        let k: usize = k.parse().expect("DISTARR_TEST_EXPECT_NODES");
        check(hosts.len() == k, || {
            format!("the job spans {} hosts, expected {k}", hosts.len())
        });
    }
    let node_size = local.iter().filter(|&&l| l).count();
    check(info.node_size == node_size, || {
        format!("node_size {} but {node_size} ranks share hostname {h}", info.node_size)
    });
    if std::env::var_os("DISTARR_WINDOW").is_none() {
        check(info.window == WindowKind::Shared, || {
            format!("default window {:?}, expected Shared", info.window)
        });
        check(info.shm_fastpath == fastpath_wanted, || {
            format!(
                "shm_fastpath {} with DISTARR_SHM_FASTPATH wanted {fastpath_wanted}",
                info.shm_fastpath
            )
        });
    }

    // Each rank's part: 8 bytes per rank (a slot written by that rank) + 8-byte counters.
    let seg = t!(rt.alloc(16 * n as u64 + 8));
    for (r, &is_local) in local.iter().enumerate() {
        let reach = t!(rt.addr_of(r, seg));
        let expect = r == me || (info.shm_fastpath && is_local);
        check(reach.is_some() == expect, || {
            format!(
                "addr_of(rank {r}) is {} but rank {r} is {} (host {}), fast path {}",
                if reach.is_some() { "Some" } else { "None" },
                if is_local { "node-local" } else { "on another node" },
                host_of_str(&all, r),
                info.shm_fastpath
            )
        });
    }

    // Which path each get and put takes: loads/stores exactly to the ranks of this node (with the
    // fast path on), MPI to every other rank (and to all with it off).
    for (r, &is_local) in local.iter().enumerate() {
        let by_loads = info.shm_fastpath && is_local;
        let path = |c: (u64, u64)| if by_loads { c.0 } else { c.1 };
        let what = if by_loads { "loads/stores" } else { "MPI" };
        let c0 = t!(rt.transfer_counts());
        let mut got = [0u8; 8];
        // Slots only this rank touches until the next sync (no race with the other ranks).
        let (mine_put, mine_get) = (8 * me as u64, 8 * (n + me) as u64);
        t!(rt.get(&mut got, r, seg, mine_get));
        let c1 = t!(rt.transfer_counts());
        check(path(c1) == path(c0) + 1 && c1.0 + c1.1 == c0.0 + c0.1 + 1, || {
            format!(
                "get from rank {r} (host {}): counts {c0:?} -> {c1:?}, expected one by {what}",
                host_of_str(&all, r)
            )
        });
        t!(rt.put(r, seg, mine_put, &[0u8; 8]));
        let mut parts = [[0u8; 8]; 2];
        t!(rt.nbi(|s| {
            let [a, b] = &mut parts;
            s.get(a, r, seg, mine_get)?;
            s.get(b, r, seg, mine_get)
        }));
        let c2 = t!(rt.transfer_counts());
        check(path(c2) == path(c1) + 3 && c2.0 + c2.1 == c1.0 + c1.1 + 3, || {
            format!(
                "put + 2 nbi gets to rank {r} (host {}): counts {c1:?} -> {c2:?}, expected 3 by {what}",
                host_of_str(&all, r)
            )
        });
    }
    t!(rt.sync());

    // Stores through addr_of land where gets of that rank's memory read.
    for r in 0..n {
        if let Some((p, len)) = t!(rt.addr_of(r, seg)) {
            check(len == 16 * n as u64 + 8, || format!("addr_of length {len}"));
            let v = 0x1000 * (me as u64 + 1) + r as u64;
            // SAFETY: `p` addresses rank r's part of `seg` (at least 16n + 8 bytes); this rank
            // is the only writer of slot `n + me` of every part until the sync below.
            unsafe { p.add(8 * (n + me)).cast::<u64>().write_unaligned(v) };
        }
    }
    t!(rt.sync());
    for r in 0..n {
        for w in 0..n {
            let mut got = [0u8; 8];
            t!(rt.get(&mut got, r, seg, 8 * (n + w) as u64));
            let v = u64::from_le_bytes(got);
            // Rank w stored into rank r's part iff w reached it by load/store.
            let stored = w == r || (info.shm_fastpath && host_of(w) == host_of(r));
            let want = if stored { 0x1000 * (w as u64 + 1) + r as u64 } else { 0 };
            check(v == want, || {
                format!("rank {r} slot of rank {w}: {v:#x}, expected {want:#x}")
            });
        }
    }
    t!(rt.sync());

    // One-sided operations between every pair.
    for r in 0..n {
        let v = 0x100 * (me as u64 + 1) + r as u64;
        t!(rt.put(r, seg, 8 * me as u64, &v.to_le_bytes()));
        t!(rt.accumulate(&[me as u64 + 1], r, seg, 16 * n as u64, AccOp::Sum));
    }
    t!(rt.sync());
    for r in 0..n {
        for w in 0..n {
            let mut got = [0u8; 8];
            t!(rt.get(&mut got, r, seg, 8 * w as u64));
            let want = 0x100 * (w as u64 + 1) + r as u64;
            check(u64::from_le_bytes(got) == want, || {
                format!(
                    "put by rank {w} to rank {r}: {:#x}, expected {want:#x}",
                    u64::from_le_bytes(got)
                )
            });
        }
        let mut got = [0u8; 8];
        t!(rt.get(&mut got, r, seg, 16 * n as u64));
        let want = (n * (n + 1) / 2) as u64;
        check(u64::from_le_bytes(got) == want, || {
            format!(
                "accumulate sum on rank {r}: {}, expected {want}",
                u64::from_le_bytes(got)
            )
        });
    }
    t!(rt.sync());
    // Fetch-and-add from everyone to the last rank's counter, then a compare-and-swap race: exactly
    // one rank wins.
    let old = t!(rt.fetch_and_op(1u64, n - 1, seg, 16 * n as u64, AccOp::Sum));
    check(old >= (n * (n + 1) / 2) as u64, || {
        format!("fetch-and-add returned {old}")
    });
    t!(rt.sync());
    let total = (n * (n + 1) / 2 + n) as u64;
    let prev = t!(rt.compare_and_swap(total, 1000 + me as u64, n - 1, seg, 16 * n as u64));
    t!(rt.sync());
    let mut won = [u64::from(prev == total)];
    t!(rt.allreduce(&mut won, distarr_runtime::ReduceOp::Sum));
    check(won[0] == 1, || format!("{} ranks won the compare-and-swap", won[0]));
    // `DISTARR_TEST_NODES_BYTES=B`: every rank reads B bytes of every rank on another node (a
    // pattern that names the owner and the position), for the two-host script, which checks that
    // at least that much crossed the network between the hosts.
    if let Ok(b) = std::env::var("DISTARR_TEST_NODES_BYTES") {
        let b: usize = b.trim().parse().expect("DISTARR_TEST_NODES_BYTES");
        let big = t!(rt.alloc(b as u64));
        let pattern = |owner: usize, k: usize| (k as u64).wrapping_mul(0x9E37_79B9).wrapping_add(owner as u64) as u8;
        {
            // SAFETY: this rank's part of `big`, which nobody else accesses before the sync.
            let mine = t!(unsafe { rt.local_slice_mut(big) });
            for (k, x) in mine.iter_mut().enumerate() {
                *x = pattern(me, k);
            }
        }
        t!(rt.sync());
        let mut buf = vec![0u8; b];
        let mut crossed = 0usize;
        for (r, &is_local) in local.iter().enumerate() {
            if is_local {
                continue;
            }
            buf.fill(0);
            t!(rt.get(&mut buf, r, big, 0));
            let bad = buf.iter().enumerate().position(|(k, &x)| x != pattern(r, k));
            check(bad.is_none(), || {
                format!("byte {} of rank {r}'s part read wrong", bad.unwrap_or(0))
            });
            crossed += b;
        }
        let mut total = [crossed as u64];
        t!(rt.allreduce(&mut total, distarr_runtime::ReduceOp::Sum));
        if me == 0 {
            println!("rt_nodes: {} bytes read from other nodes", total[0]);
        }
        t!(rt.free(big));
    }
    if me == 0 {
        println!(
            "rt_nodes: {n} ranks on {} node(s), this node {node_size}, window {:?}, fast path {}",
            hosts.len(),
            info.window,
            info.shm_fastpath
        );
    }
    finish(&rt);
}

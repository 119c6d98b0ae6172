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
//! - puts, gets, accumulates, fetch-and-ops and compare-and-swaps between every pair of ranks
//!   (node-local and not) give the right values.
//!
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
    for r in 0..n {
        let reach = t!(rt.addr_of(r, seg));
        let expect = r == me || (info.shm_fastpath && local[r]);
        check(reach.is_some() == expect, || {
            format!(
                "addr_of(rank {r}) is {} but rank {r} is {} (host {}), fast path {}",
                if reach.is_some() { "Some" } else { "None" },
                if local[r] { "node-local" } else { "on another node" },
                String::from_utf8_lossy(host_of(r)).trim_end_matches('\0'),
                info.shm_fastpath
            )
        });
    }

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

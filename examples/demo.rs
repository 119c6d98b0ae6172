//! The setup demo: a Monte Carlo estimate of π on the PGAS runtime.
//!
//! Every rank throws darts with its own counter-based random stream and adds its hits to a
//! counter on rank 0 with an atomic fetch-and-add; rank 0 then reads the total with a one-sided
//! get and prints the estimate. Run: `mpirun -n 2 target/release/examples/demo [darts-per-rank]`.
use distarr::runtime::{AccOp, Runtime};

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn unit(x: u64) -> f64 {
    (x >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let darts: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000_000);
    let rt = Runtime::init()?;
    let (me, n) = (rt.rank(), rt.nranks());
    let counter = rt.alloc(8)?;
    rt.sync()?;
    let t0 = std::time::Instant::now();
    let mut hits = 0u64;
    for k in 0..darts {
        let idx = (me as u64) * darts + k;
        let x = unit(splitmix(2 * idx));
        let y = unit(splitmix(2 * idx + 1));
        hits += u64::from(x * x + y * y <= 1.0);
    }
    rt.fetch_and_op(hits, 0, counter, 0, AccOp::Sum)?;
    rt.sync()?;
    if me == 0 {
        let mut total = [0u64];
        rt.get_elems(&mut total, 0, counter, 0)?;
        let pi = 4.0 * total[0] as f64 / (darts * n as u64) as f64;
        let info = rt.info();
        println!(
            "distarr demo: pi ~= {pi:.6} (error {:.1e}) from {} darts on {n} ranks in {:.3} s",
            (pi - std::f64::consts::PI).abs(),
            darts * n as u64,
            t0.elapsed().as_secs_f64()
        );
        println!(
            "  MPI: {} | window {:?} | node-local fast path {} | progress thread {}",
            info.mpi_version.lines().next().unwrap_or(""),
            info.window,
            info.shm_fastpath,
            info.progress_thread
        );
    }
    rt.free(counter)?;
    rt.finalize()?;
    Ok(())
}

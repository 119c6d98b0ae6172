use distarr::arrays::{DType, DistArray, Layout};
fn main() {
    let rt = distarr::runtime::Runtime::init().unwrap();
    let n: usize = std::env::args().nth(1).map_or(100_000_000, |s| s.parse().unwrap());
    let a = DistArray::empty(&rt, &[n], DType::F64, Layout::Block).unwrap();
    a.fill_random(1, false).unwrap();
    rt.barrier().unwrap();
    let t = std::time::Instant::now();
    a.fill_random(2, false).unwrap();
    rt.barrier().unwrap();
    if rt.rank() == 0 {
        println!("random_uniform {n}: {:.3} s", t.elapsed().as_secs_f64());
    }
    rt.finalize().unwrap();
}

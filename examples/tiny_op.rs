use distarr::arrays::ufunc::{binary, BinaryOp, Operand};
use distarr::arrays::{DType, DistArray, Layout};
fn main() {
    let rt = distarr::runtime::Runtime::init().unwrap();
    let a = DistArray::ones(&rt, &[1], DType::F64, Layout::Block).unwrap();
    let b = DistArray::ones(&rt, &[1], DType::F64, Layout::Block).unwrap();
    let c = DistArray::zeros(&rt, &[1], DType::F64, Layout::Block).unwrap();
    for _ in 0..1000 {
        binary(BinaryOp::Add, Operand::Array(&a), Operand::Array(&b), Some(&c)).unwrap();
    }
    rt.barrier().unwrap();
    let t = std::time::Instant::now();
    let n = 200000;
    for _ in 0..n {
        binary(BinaryOp::Add, Operand::Array(&a), Operand::Array(&b), Some(&c)).unwrap();
    }
    let dt = t.elapsed().as_secs_f64();
    if rt.rank() == 0 {
        println!("{:.3} us per op", dt / n as f64 * 1e6);
    }
    rt.finalize().unwrap();
}

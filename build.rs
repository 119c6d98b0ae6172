//! Records which MPI compiler wrapper this build of `distarr` is for, so a binary can report it
//! and a rebuild happens when `MPICC` changes (OpenMPI and MPICH are not ABI compatible).
fn main() {
    println!("cargo:rerun-if-env-changed=MPICC");
    let mpicc = std::env::var("MPICC").unwrap_or_else(|_| "mpicc".to_string());
    println!("cargo:rustc-env=DISTARR_BUILD_MPICC={mpicc}");
}

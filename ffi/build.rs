//! Builds `shim.c`, the constants `mpi.h` defines as macros (which bindgen cannot see), with the
//! MPI compiler wrapper. The wrapper is `$MPICC` or `mpicc`; `mpi-sys` links libmpi itself.
use std::env;

fn main() {
    println!("cargo:rerun-if-changed=src/shim.c");
    println!("cargo:rerun-if-env-changed=MPICC");
    let lib = match build_probe_mpi::probe() {
        Ok(lib) => lib,
        Err(errs) => {
            let mut msg = String::from(
                "distarr-ffi: no MPI library found. Install one (scripts/setup.sh installs \
                 OpenMPI and MPICH) or set MPICC to its compiler wrapper. Probes tried:\n",
            );
            for (i, e) in errs.iter().enumerate() {
                msg.push_str(&format!("  probe #{}: {}\n", i + 1, e));
            }
            panic!("{msg}");
        }
    };
    let mut build = cc::Build::new();
    build.file("src/shim.c").warnings(true);
    match &lib.mpicc {
        Some(mpicc) => {
            build.compiler(mpicc);
        }
        None => {
            for inc in &lib.include_paths {
                build.include(inc);
            }
        }
    }
    build.compile("distarr_mpi_shim");
    for dir in &lib.lib_paths {
        println!("cargo:rustc-link-search=native={}", dir.display());
    }
    for l in &lib.libs {
        println!("cargo:rustc-link-lib={l}");
    }
    let mpicc = env::var("MPICC").unwrap_or_else(|_| "mpicc".into());
    println!("cargo:rustc-env=DISTARR_FFI_MPICC={mpicc}");
    println!("cargo:rustc-env=DISTARR_FFI_MPI_VERSION={}", lib.version);
}

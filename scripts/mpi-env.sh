# shellcheck shell=bash
# Environment for running distarr programs under mpirun. Source it:
#
#     . scripts/mpi-env.sh
#     distarr_mpirun 4 target/release/examples/demo
#
# Open MPI refuses to run as root and to start more ranks than cores unless told; these variables
# tell it (they are ignored when not root, and by MPICH). Oversubscription also makes idle ranks
# yield the core, which matters on small machines (4 ranks on 2 cores: 0.5 s instead of 24 s).
export OMPI_ALLOW_RUN_AS_ROOT=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1

# distarr_mpirun N PROGRAM [ARGS...]: run PROGRAM on N ranks with ${DISTARR_MPIRUN:-mpirun}
# (set DISTARR_MPIRUN=mpirun.mpich for MPICH, with a build made with MPICC=mpicc.mpich).
distarr_mpirun() {
    if [ "$#" -lt 2 ]; then
        echo "usage: distarr_mpirun N PROGRAM [ARGS...]" >&2
        return 2
    fi
    local n="$1"
    shift
    "${DISTARR_MPIRUN:-mpirun}" -n "$n" "$@"
}

#!/usr/bin/env bash
# Runs every distarr test and prints a summary; exits non-zero if any step failed.
#
#   1. lint:   cargo fmt --check; cargo clippy -D warnings      (skip with DISTARR_SKIP_LINT=1)
#   2. tests:  cargo test --release --workspace on Open MPI: unit tests, property tests and the
#              multi-rank harness tests/multirank.rs (programs at 1-4 ranks under mpirun)
#   3. mpich:  the runtime's multi-rank tests (names rt_*) and the sequential-mode fault tests
#              (capi_seq_fault_*) on MPICH, built into target/mpich (skipped with a warning when
#              MPICH is missing, unless CI=true: then it fails)
#  3b. hosts:  scripts/test-hosts.sh: runtime, array, C and Python tests and faults over two
#              "hosts" (network namespaces) on both MPIs; root only (skipped with a message
#              otherwise, unless CI=true: then it fails)
#   4. python: the Python front end (.venv from scripts/setup.sh; skipped with a warning when
#              missing, unless CI=true): pytest under mpirun at 1-4 ranks in sequential and SPMD
#              mode (python/tests: Hypothesis differential tests against NumPy, API and error
#              parity, hostile inputs: test_hostile.py), the job-behaviour tests
#              (python/tests_launch), and the examples of
#              examples/python under NumPy and distarr (scripts/check-python-examples.py).
#              DISTARR_HYPOTHESIS_SCALE multiplies the number of Hypothesis cases of every run
#              (default: 1, and 0.5 in SPMD mode at 3-4 ranks, where every rank runs Hypothesis);
#              DISTARR_SKIP_PYTHON=1 skips the step.
#
# The last line is "N passed, N failed" (steps). Multi-rank timeout per run: DISTARR_TEST_TIMEOUT
# seconds (default 180). Extra arguments are passed to the test binaries of step 2
# (e.g. `bash scripts/test.sh rt_ops`).
set -euo pipefail

cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1 && [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then
    export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi

# shellcheck source=scripts/mpi-env.sh
. scripts/mpi-env.sh

passed=0
failed=0
results=()

# step NAME COMMAND...: run one step, record and report its outcome; never exits the script.
step() {
    local name="$1"
    shift
    local start=$SECONDS
    echo
    echo "=== [$name] $*"
    local rc=0
    "$@" || rc=$?
    local took=$((SECONDS - start))
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        results+=("PASS  $name (${took}s)")
        echo "=== [$name] passed in ${took}s"
    else
        failed=$((failed + 1))
        results+=("FAIL  $name (exit $rc, ${took}s)")
        echo "=== [$name] FAILED (exit $rc) after ${took}s"
    fi
}

skip() {
    results+=("SKIP  $1 ($2)")
    echo
    echo "=== [$1] SKIPPED: $2"
}

fail_now() {
    echo "$1" >&2
    return 1
}

# --- 1. lint ---------------------------------------------------------------------------------
if [ "${DISTARR_SKIP_LINT:-0}" = "1" ]; then
    skip fmt "DISTARR_SKIP_LINT=1"
    skip clippy "DISTARR_SKIP_LINT=1"
else
    step fmt cargo fmt --all -- --check
    step clippy cargo clippy --workspace --all-targets --release -- -D warnings
fi

# --- 2. unit, property and multi-rank tests on Open MPI (the default mpicc/mpirun) --------------
step test-openmpi cargo test --release --workspace --no-fail-fast -- "$@"

# --- 3. runtime multi-rank tests on MPICH ------------------------------------------------------
if command -v mpicc.mpich >/dev/null 2>&1 && command -v mpirun.mpich >/dev/null 2>&1; then
    step test-mpich env MPICC=mpicc.mpich MPIF90=mpif90.mpich CARGO_TARGET_DIR=target/mpich \
        DISTARR_MPIRUN=mpirun.mpich \
        cargo test --release --no-fail-fast -p distarr --test multirank -- rt_ capi_seq_fault --skip rt_large
elif [ "${CI:-}" = "true" ]; then
    step test-mpich fail_now "mpicc.mpich/mpirun.mpich not found (run scripts/setup.sh); required in CI"
else
    echo
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    echo "!!! MPICH (mpicc.mpich, mpirun.mpich) not found: the MPICH tests are NOT run."
    echo "!!! Install it with: bash scripts/setup.sh --install-only"
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    skip test-mpich "MPICH not installed"
fi

# --- 3b. two hosts: network namespaces on this machine (root only) -----------------------------
# can_make_netns: whether this process may create network namespaces (root in a container may
# not).
can_make_netns() {
    local probe="distarr-probe-$$"
    ip netns add "$probe" 2>/dev/null || return 1
    ip netns del "$probe" 2>/dev/null || true
}

if [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null 2>&1 && can_make_netns; then
    step test-hosts timeout --signal=TERM --kill-after=30 900 bash scripts/test-hosts.sh
elif [ "${CI:-}" = "true" ]; then
    step test-hosts fail_now "scripts/test-hosts.sh needs root and network namespaces (iproute2); required in CI"
else
    echo
    echo "!!! Not root, or no network namespaces here: the two-host tests (scripts/test-hosts.sh) are NOT run."
    skip test-hosts "needs root and network namespaces (run bash scripts/test-hosts.sh as root)"
fi

# --- 4. the Python front end -------------------------------------------------------------------
# python_pytest N MODE: the pytest suite on N ranks in MODE, under the timeout (a hang prints
# every rank's Python stack first); pytest's "no tests collected" (5) fails like any error.
python_pytest() {
    local n="$1" mode="$2" scale secs
    secs="${DISTARR_TEST_TIMEOUT:-180}"
    if [ -n "${DISTARR_HYPOTHESIS_SCALE:-}" ]; then
        scale="$DISTARR_HYPOTHESIS_SCALE"
    elif [ "$mode" = sequential ]; then
        scale=1
    elif [ "$n" -le 2 ]; then
        scale=1
    else
        scale=0.5
    fi
    DISTARR_MODE="$mode" DISTARR_HYPOTHESIS_SCALE="$scale" DISTARR_TEST_STACKS_AFTER=$((secs - 15)) \
        timeout --signal=TERM --kill-after=10 "$secs" \
        "${DISTARR_MPIRUN:-mpirun}" -n "$n" .venv/bin/python python/tests/mpi_pytest.py -q python/tests
}

python_launch() {
    timeout --signal=TERM --kill-after=10 900 \
        .venv/bin/python -m pytest -q -p no:cacheprovider python/tests_launch
}

if [ "${DISTARR_SKIP_PYTHON:-0}" = "1" ]; then
    skip python "DISTARR_SKIP_PYTHON=1"
elif [ -x .venv/bin/python ]; then
    step python-build cargo build --release -p distarr-capi
    for mode in sequential spmd; do
        for n in 1 2 3 4; do
            step "python-$mode-n$n" python_pytest "$n" "$mode"
        done
    done
    step python-launch python_launch
    step python-examples .venv/bin/python scripts/check-python-examples.py .venv/bin/python
elif [ "${CI:-}" = "true" ]; then
    step python fail_now ".venv missing (run scripts/setup.sh); required in CI"
else
    echo
    echo "!!! .venv not found: the Python tests are NOT run. Make it with: bash scripts/setup.sh --install-only"
    skip python ".venv missing"
fi

# --- summary -----------------------------------------------------------------------------------
echo
echo "=== summary"
for line in "${results[@]}"; do
    echo "  $line"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# Sets up a Debian 12 machine for distarr, builds the workspace and runs the demo on 2 ranks.
#
#   bash scripts/setup.sh                 install what is missing, build, run the demo
#   bash scripts/setup.sh --no-demo       install and build, no demo
#   bash scripts/setup.sh --install-only  only install the system packages and the Python .venv
#
# Idempotent: when every package is present it installs nothing and prints one line.
# The Python environment: .venv (made by DISTARR_PYTHON, default Debian's /usr/bin/python3) with
# python/requirements-dev.txt (NumPy from PyPI, pytest, Hypothesis, numexpr for the application
# benchmark) and the distarr package (python/, editable).
# Open MPI stays the default `mpicc`/`mpirun`; MPICH is used through `mpicc.mpich`/`mpirun.mpich`.
set -euo pipefail

cd "$(dirname "$0")/.."

usage() {
    sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
}

run_demo=1
build=1
for arg in "$@"; do
    case "$arg" in
        --no-demo) run_demo=0 ;;
        --install-only) build=0; run_demo=0 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "setup.sh: unknown argument: $arg" >&2; usage >&2; exit 2 ;;
    esac
done

log() { echo "setup: $*"; }

# --- system packages -----------------------------------------------------------------------
# fonts-dejavu-core: the TrueType font `distarr-bench --plot` draws its labels with.
# python3-venv: the project's Python environment (.venv, below).
packages=(openmpi-bin libopenmpi-dev mpich libmpich-dev libclang-dev pkg-config gfortran valgrind
          python3-numpy python3-venv fonts-dejavu-core)

missing=()
for pkg in "${packages[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
    if [ "$status" != "install ok installed" ]; then
        missing+=("$pkg")
    fi
done

as_root=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        as_root=(sudo)
    elif [ "${#missing[@]}" -gt 0 ]; then
        echo "setup: not root and no sudo; cannot install: ${missing[*]}" >&2
        exit 1
    fi
fi

if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    "${as_root[@]}" apt-get update -qq
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    log "system packages present"
fi

# Installing MPICH may move the `mpi`/`mpirun` alternatives; Open MPI must stay the default.
if [ -e /usr/bin/mpicc.openmpi ] && command -v mpicc >/dev/null 2>&1; then
    if [ "$(readlink -f "$(command -v mpicc)")" != "$(readlink -f /usr/bin/mpicc.openmpi)" ]; then
        log "making Open MPI the default mpicc"
        "${as_root[@]}" update-alternatives --set mpi /usr/bin/mpicc.openmpi >/dev/null
    fi
fi
if [ -e /usr/bin/mpirun.openmpi ] && command -v mpirun >/dev/null 2>&1; then
    if [ "$(readlink -f "$(command -v mpirun)")" != "$(readlink -f /usr/bin/mpirun.openmpi)" ]; then
        log "making Open MPI the default mpirun"
        "${as_root[@]}" update-alternatives --set mpirun /usr/bin/mpirun.openmpi >/dev/null
    fi
fi

# --- Rust toolchain --------------------------------------------------------------------------
if ! command -v cargo >/dev/null 2>&1 && [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then
    export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: cargo not found; install Rust (rustup) first" >&2
    exit 1
fi
# scripts/test.sh needs rustfmt and clippy; add them if rustup can (best effort).
for component in rustfmt clippy; do
    subcommand="${component/rustfmt/fmt}"
    if ! cargo "$subcommand" --version >/dev/null 2>&1; then
        if command -v rustup >/dev/null 2>&1 && rustup component add "$component" >/dev/null 2>&1
        then
            log "added rustup component $component"
        else
            log "warning: no $component (the lint step of scripts/test.sh will fail)"
        fi
    fi
done

# --- Python environment (.venv) ----------------------------------------------------------------
# Debian's python3 by default: it is on every Debian machine (python3-venv above), while the
# python3 first on PATH may be another installation (pyenv here) that a fresh machine lacks. It
# has NumPy 1.24 but refuses `pip install` (PEP 668), so the venv does not see system packages
# and takes NumPy 2 from PyPI: NumPy 2's NEP 50 promotion is the reference distarr follows.
venv_python="${DISTARR_PYTHON:-/usr/bin/python3}"
if [ ! -x "$venv_python" ]; then
    venv_python="$(command -v python3)"
fi
stamp=".venv/.distarr-setup"
want="$(cat python/requirements-dev.txt python/pyproject.toml | sha256sum | cut -d' ' -f1) $venv_python"
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    log "python environment .venv present"
else
    log "making the python environment .venv ($venv_python)"
    [ -x .venv/bin/python ] || "$venv_python" -m venv .venv
    # pip's output (build-backend notices included) only when it fails.
    pip_log=.venv/pip-install.log
    if ! { .venv/bin/python -m pip install -q --disable-pip-version-check -r python/requirements-dev.txt &&
           .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e ./python; } \
           >"$pip_log" 2>&1; then
        cat "$pip_log" >&2
        echo "setup: installing the python environment failed" >&2
        exit 1
    fi
    echo "$want" > "$stamp"
fi

if [ "$build" -eq 0 ]; then
    exit 0
fi

# --- build -----------------------------------------------------------------------------------
log "building (release)"
cargo build --release --workspace
cargo build --release --workspace --examples
# pkg-config file of libdistarr (the C ABI): <target>/release/pkgconfig/distarr.pc
pc="$(bash scripts/distarr-pc.sh)"
log "wrote $pc (use: PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --cflags --libs distarr)"

if [ "$run_demo" -eq 0 ]; then
    exit 0
fi

# --- demo ------------------------------------------------------------------------------------
demo="${CARGO_TARGET_DIR:-target}/release/examples/demo"
log "running the demo on 2 ranks: $demo"
# distarr_mpirun and the Open MPI root/oversubscribe variables come from scripts/mpi-env.sh.
# shellcheck disable=SC2016 # $1 expands in the inner shell
timeout --signal=TERM --kill-after=10 300 \
    bash -c '. scripts/mpi-env.sh && distarr_mpirun 2 "$1"' _ "$demo"
log "done"

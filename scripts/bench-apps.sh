#!/usr/bin/env bash
# Runs the application benchmark (issues 8, 9 and 10) and writes docs/APPS.md: the four seed apps
# (Monte Carlo pi, 2-D stencil, N-body, dense Jacobi) in plain NumPy on 1 process, with numexpr at
# 1 and 2 threads, as distarr's Rust examples (deferred execution on and off) and C examples at 1-4
# ranks (and 1 rank x 2 threads), and as the NumPy programs themselves through `import distarr as
# np` (sequential mode, 1 and 2 ranks); a fused chain of element-wise operations (time and peak
# memory), issue 9's 4000^2 stencil, two engine kernels, the cost of a recorded operation through
# Python (python/bench/recorded_ops.py, 2 ranks), and STREAM-like copy/add at 1 and 2 processes.
# Times as ratios, peak RSS per run, each answer checked against NumPy's.
#
#   bash scripts/bench-apps.sh                  the full run (see docs/APPS.md for its duration)
#   bash scripts/bench-apps.sh --quick          small sizes, 1 repetition (a smoke test, ~2 min)
#   bash scripts/bench-apps.sh --reps N         best of N runs per configuration (default 3)
#   bash scripts/bench-apps.sh --apps pi,stencil    only these apps (pi, stencil, nbody, jacobi,
#                                               chain, stencil4k, uniform, sum)
#   bash scripts/bench-apps.sh --out FILE       write FILE instead of docs/APPS.md
#   bash scripts/bench-apps.sh --timeout SECS   per-run timeout (default 300)
#   bash scripts/bench-apps.sh --repeat-below SECS  runs this long or longer are not repeated (10)
#
# NumPy's interpreter (numexpr's and the Python rows' too): $DISTARR_BENCH_PYTHON, else
# .venv/bin/python if it exists, else /usr/bin/python3. numexpr comes from the .venv
# (scripts/setup.sh). Raw logs and results.json go to $DISTARR_BENCH_DIR (default
# target/bench-apps). A layer that cannot be built or run is reported as n/a with the reason (a
# warning on stderr; tests/multirank.rs bench_apps_smoke fails on a missing numexpr or Python
# layer when CI=true); the report is always written (exit status 3 if an answer disagrees with
# NumPy's). Run it on a quiet machine: the report records the load average.
set -euo pipefail

cd "$(dirname "$0")/.."
started="$(date +%s)"

usage() {
    sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'
}

quick=0
reps=3
apps="$(python3 bench/apps/bench.py --list-apps | tr ' ' ,)"
out=docs/APPS.md
timeout_s=300
repeat_below=10
while [ "$#" -gt 0 ]; do
    case "$1" in
        --quick) quick=1 ;;
        --reps | --apps | --out | --timeout | --repeat-below)
            if [ "$#" -lt 2 ]; then
                echo "bench-apps.sh: $1 needs a value" >&2
                exit 2
            fi
            case "$1" in
                --reps) reps="$2" ;;
                --apps) apps="$2" ;;
                --out) out="$2" ;;
                --timeout) timeout_s="$2" ;;
                --repeat-below) repeat_below="$2" ;;
            esac
            shift
            ;;
        -h | --help) usage; exit 0 ;;
        *) echo "bench-apps.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
for n in "$reps" "$timeout_s"; do
    case "$n" in
        '' | *[!0-9]* | 0) echo "bench-apps.sh: --reps and --timeout take a positive integer, got '$n'" >&2; exit 2 ;;
    esac
done

known_apps="$(python3 bench/apps/bench.py --list-apps)"
for app in ${apps//,/ }; do
    case " $known_apps " in
        *" $app "*) ;;
        *) echo "bench-apps.sh: unknown app '$app' (known: $known_apps)" >&2; exit 2 ;;
    esac
done

if ! command -v cargo >/dev/null 2>&1 && [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then
    export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi
# shellcheck source=scripts/mpi-env.sh
. scripts/mpi-env.sh

target="${CARGO_TARGET_DIR:-target}"
raw="${DISTARR_BENCH_DIR:-target/bench-apps}"
mkdir -p "$raw" "$(dirname "$out")"
rm -rf "$raw/logs"
mkdir -p "$raw/logs" "$raw/c"
mpicc="${MPICC:-mpicc}"

# build NAME LOG COMMAND...: runs a build step with its output in $raw/LOG; prints why it failed.
build() {
    local name="$1" log="$raw/$2"
    shift 2
    echo "bench-apps: building $name: $*" >&2
    if "$@" >"$log" 2>&1; then
        return 0
    fi
    echo "bench-apps: building $name FAILED (see $log)" >&2
    return 1
}

# --- NumPy -------------------------------------------------------------------------------------
if [ -n "${DISTARR_BENCH_PYTHON:-}" ]; then
    python="$DISTARR_BENCH_PYTHON"
elif [ -x .venv/bin/python ]; then
    python=.venv/bin/python
else
    python=/usr/bin/python3
fi
numpy_reason=""
numpy_version="n/a"
if ! numpy_version="$("$python" -c 'import numpy, sys; print(numpy.__version__, "on Python", sys.version.split()[0])' 2>&1)"; then
    numpy_reason="$python cannot import numpy: $(echo "$numpy_version" | tail -1)"
    numpy_version="n/a: $numpy_reason"
fi
# warn_missing WHAT WHY: a layer that will be n/a, said loudly (the report says it too).
warn_missing() {
    echo "bench-apps: !!! $1 will be n/a: $2" >&2
}
numexpr_reason=""
numexpr_version="n/a"
if [ -n "$numpy_reason" ]; then
    numexpr_reason="no NumPy ($numpy_reason)"
elif ! numexpr_version="$("$python" -c 'import numexpr; print(numexpr.__version__)' 2>&1)"; then
    numexpr_reason="$python cannot import numexpr (install it with \`bash scripts/setup.sh --install-only\`): $(echo "$numexpr_version" | tail -1)"
fi
if [ -n "$numexpr_reason" ]; then
    numexpr_version="n/a: $numexpr_reason"
    warn_missing "numexpr" "$numexpr_reason"
fi

# --- Rust examples (release) -------------------------------------------------------------------
rust_reason=""
if ! build "Rust examples" build-rust.log cargo build --release -p distarr --examples; then
    rust_reason="\`cargo build --release -p distarr --examples\` failed (see $raw/build-rust.log)"
fi

# --- C examples (libdistarr release, pkg-config, mpicc -O2) ----------------------------------------
c_reason=""
if build "libdistarr" build-capi.log cargo build --release -p distarr-capi &&
    build "pkg-config file" build-pc.log bash scripts/distarr-pc.sh "$target"; then
    release="$(cd "$target/release" && pwd)"
    if pkg_flags="$(PKG_CONFIG_PATH="$release/pkgconfig" pkg-config --cflags --libs distarr 2>"$raw/build-pkg.log")"; then
        for src in examples/c/*.c; do
            name="$(basename "$src" .c)"
            # shellcheck disable=SC2086 # pkg-config's flags are words
            if ! build "C $name" "build-c-$name.log" "$mpicc" -std=c11 -O2 "$src" -o "$raw/c/$name" \
                $pkg_flags "-Wl,--disable-new-dtags,-rpath,$release" -lm; then
                c_reason="building examples/c/$name.c failed (see $raw/build-c-$name.log)"
            fi
        done
    else
        c_reason="pkg-config distarr failed (see $raw/build-pkg.log)"
    fi
else
    c_reason="building libdistarr failed (see $raw/build-capi.log, $raw/build-pc.log)"
fi

# --- the Python front end (this checkout's python/ and libdistarr) -------------------------------
# One import on one rank (MPI singleton) before the runs: a broken front end is one reason in the
# report rather than a failure in every row.
python_reason=""
library="$target/release/libdistarr.so"
if [ -n "$numpy_reason" ]; then
    python_reason="no NumPy ($numpy_reason)"
elif [ -n "$c_reason" ] && [ ! -f "$library" ]; then
    python_reason="no libdistarr ($c_reason)"
elif ! probe="$(DISTARR_LIBRARY="$library" PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}" \
    timeout --signal=TERM --kill-after=10 120 "$python" -c 'import distarr; print(distarr.nranks)' 2>&1)"; then
    python_reason="\`import distarr\` failed: $(echo "$probe" | tail -1)"
fi
if [ -n "$python_reason" ]; then
    warn_missing "distarr Python" "$python_reason"
fi

# --- STREAM ------------------------------------------------------------------------------------
stream_reason=""
if ! build "STREAM" build-stream.log "$mpicc" -std=c11 -O3 bench/apps/stream.c -o "$raw/stream"; then
    stream_reason="building bench/apps/stream.c failed (see $raw/build-stream.log)"
fi

# --- machine facts -----------------------------------------------------------------------------
cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
caches="$(lscpu 2>/dev/null | sed -n 's/^\(L[23] cache\):[[:space:]]*/\1 /p' | paste -sd ';' - | sed 's/;/; /g' || true)"
mem="$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
mpi_version="$("${DISTARR_MPIRUN:-mpirun}" --version 2>/dev/null | head -1 || echo unknown)"
cc_version="$("$mpicc" --version 2>/dev/null | head -1 || echo unknown)"
rev="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain 2>/dev/null | grep -v '^??' || true)" ]; then
    rev="$rev + uncommitted changes"
fi
distarr_env="$(env | grep '^DISTARR_' | sort | paste -sd ' ' - || true)"

facts="$(DATE="$(date -u '+%Y-%m-%d %H:%M UTC')" NPROC="$(nproc)" CPU="$cpu" CACHES="$caches" MEM="$mem" \
    MPI="$mpi_version" MPIRUN="${DISTARR_MPIRUN:-mpirun}" RUSTC="$(rustc --version 2>/dev/null || echo n/a)" \
    CC="$cc_version" NUMPY="$numpy_version" NUMEXPR="$numexpr_version" PY="$python" REV="$rev" \
    DENV="${distarr_env:-none}" \
    python3 - <<'PY'
import json, os
e = os.environ
print(json.dumps([
    ["date", e["DATE"]],
    ["machine", f"{e['NPROC']} cores, {e['CPU']}; {e['CACHES'] or 'caches unknown'}; {e['MEM']} memory"],
    ["MPI", f"{e['MPI']} (launcher `{e['MPIRUN']}`; scripts/mpi-env.sh: oversubscription allowed)"],
    ["compilers", f"{e['RUSTC']}; C: {e['CC']} (`mpicc -O2` for the C examples, `-O3` for STREAM)"],
    ["NumPy", f"{e['NUMPY']} (interpreter `{e['PY']}`)"],
    ["numexpr", e["NUMEXPR"]],
    ["distarr", f"commit {e['REV']}; release build"],
    ["DISTARR_* set in the environment", e["DENV"]],
]))
PY
)"

# --- run ---------------------------------------------------------------------------------------
driver=(python3 bench/apps/bench.py
    --reps "$reps" --apps "$apps" --out "$out" --raw "$raw" --timeout "$timeout_s"
    --repeat-below "$repeat_below" --python "$python" --numpy-reason "$numpy_reason"
    --rust-dir "$target/release/examples" --rust-reason "$rust_reason"
    --c-dir "$raw/c" --c-reason "$c_reason"
    --numexpr-reason "$numexpr_reason" --python-reason "$python_reason" --library "$library"
    --stream-bin "$raw/stream" --stream-reason "$stream_reason"
    --facts "$facts" --started "$started")
if [ "$quick" -eq 1 ]; then
    driver+=(--quick)
fi
"${driver[@]}"

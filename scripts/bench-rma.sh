#!/usr/bin/env bash
# Runs distarr's standard RMA benchmark set on 2 ranks and writes docs/PERFORMANCE.md.
#
#   bash scripts/bench-rma.sh                 the full set with OSU's iteration counts (~5-10 min)
#   bash scripts/bench-rma.sh --quick         100 iterations per size (a check, not a measurement)
#   bash scripts/bench-rma.sh --out FILE      write FILE instead of docs/PERFORMANCE.md
#
# The set: get/put latency (sync flush) on `allocate` and `shared` windows, get/put bandwidth at
# 1 MiB, accumulate, fetch-and-op and compare-and-swap latency, each with --compare-mpi (raw MPI
# calls on a window of the same kind with the same sync, same process). Raw outputs (text, JSON,
# plots) go to $DISTARR_BENCH_DIR (default target/bench-rma); the report goes to docs/.
# Run it on a quiet machine: the report records the load average it saw.
set -euo pipefail

cd "$(dirname "$0")/.."

usage() {
    sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
}

quick=0
out=docs/PERFORMANCE.md
while [ "$#" -gt 0 ]; do
    case "$1" in
        --quick) quick=1 ;;
        --out) out="$2"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "bench-rma.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

if ! command -v cargo >/dev/null 2>&1 && [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then
    export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi
# shellcheck source=scripts/mpi-env.sh
. scripts/mpi-env.sh

target="${CARGO_TARGET_DIR:-target}"
echo "bench-rma: building distarr-bench (release)"
cargo build --release -q -p distarr-bench
bench="$target/release/distarr-bench"
raw="${DISTARR_BENCH_DIR:-target/bench-rma}"
mkdir -p "$raw" "$(dirname "$out")"
rm -f "$raw"/*.json "$raw"/*.txt

extra=()
if [ "$quick" -eq 1 ]; then
    extra=(--iterations 100 --warmup 10)
fi

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

# run NAME ARGS...: one benchmark on 2 ranks; text to $raw/NAME.txt, JSON to $raw/NAME.json.
run() {
    local name="$1"
    shift
    echo "bench-rma: $name: distarr-bench $*"
    timeout --signal=TERM --kill-after=10 1200 \
        "${DISTARR_MPIRUN:-mpirun}" -n 2 "$bench" "$@" --compare-mpi "${extra[@]}" \
        --json "$raw/$name.json" >"$raw/$name.txt"
    cat "$raw/$name.txt"
}

run get_latency_allocate get_latency --window allocate --sync flush --plot "$raw/get_latency_allocate.png"
run put_latency_allocate put_latency --window allocate --sync flush --plot "$raw/put_latency_allocate.png"
run get_latency_shared get_latency --window shared --sync flush --plot "$raw/get_latency_shared.png"
run put_latency_shared put_latency --window shared --sync flush
run get_bw_allocate get_bw --window allocate --sync flush --min-size 1M --max-size 1M
run put_bw_allocate put_bw --window allocate --sync flush --min-size 1M --max-size 1M
run acc_latency_allocate acc_latency --window allocate --sync flush --max-size 64K
run fop_latency_allocate fop_latency --window allocate --sync flush
run cas_latency_allocate cas_latency --window allocate --sync flush

load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

# Plots that the report shows live next to it.
plots="$(dirname "$out")/perf"
mkdir -p "$plots"
cp "$raw"/get_latency_allocate.png "$raw"/put_latency_allocate.png "$raw"/get_latency_shared.png "$plots/"

cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
ompi="$(mpirun --version 2>/dev/null | head -1 || true)"
mpich="$(mpichversion 2>/dev/null | sed -n 's/^MPICH Version:[[:space:]]*//p' || true)"
rev="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain 2>/dev/null | grep -v '^??' || true)" ]; then
    rev="$rev + uncommitted changes"
fi

RAW="$raw" OUT="$out" QUICK="$quick" DATE="$(date -u '+%Y-%m-%d %H:%M UTC')" NPROC="$(nproc)" CPU="$cpu" \
    OMPI="$ompi" MPICH="${mpich:-not installed}" RUSTC="$(rustc --version)" REV="$rev" \
    LOAD_BEFORE="$load_before" LOAD_AFTER="$load_after" PLOTS="$(basename "$plots")" \
    python3 - <<'PY'
import json, os

raw, out = os.environ["RAW"], os.environ["OUT"]
def load(name):
    with open(os.path.join(raw, name + ".json")) as f:
        return json.load(f)

def fmt(v, unit):
    if v is None:
        return "n/a"
    # Latencies in µs need a third decimal on fast paths; OSU's own text keeps two.
    return f"{v:.3f}" if unit == "us" else f"{v:.0f}"

def table(r):
    u = r["unit"]
    lines = [f"| size (B) | distarr ({u}) | raw MPI ({u}) | distarr / MPI |", "|---:|---:|---:|---:|"]
    for row in r["rows"]:
        ratio = "n/a" if row["ratio"] is None else f"{row['ratio']:.2f}"
        lines.append(f"| {row['size']} | {fmt(row['distarr'], u)} | {fmt(row['mpi'], u)} | {ratio} |")
    return "\n".join(lines)

def row(r, size):
    return next((x for x in r["rows"] if x["size"] == size), None)

sets = [
    ("get_latency_allocate", "Get latency, `MPI_Win_allocate` window, sync flush"),
    ("put_latency_allocate", "Put latency, `MPI_Win_allocate` window, sync flush"),
    ("get_latency_shared", "Get latency, `MPI_Win_allocate_shared` window (distarr: node-local load/store path), sync flush"),
    ("put_latency_shared", "Put latency, `MPI_Win_allocate_shared` window (distarr: node-local load/store path), sync flush"),
    ("get_bw_allocate", "Get bandwidth at 1 MiB, 64 gets per flush, `allocate` window"),
    ("put_bw_allocate", "Put bandwidth at 1 MiB, 64 puts per flush, `allocate` window"),
    ("acc_latency_allocate", "Accumulate latency (`MPI_SUM` on bytes), `allocate` window, sync flush"),
    ("fop_latency_allocate", "Fetch-and-op latency (`MPI_SUM`, one 8-byte integer), `allocate` window, sync flush"),
    ("cas_latency_allocate", "Compare-and-swap latency (one 8-byte integer), `allocate` window, sync flush"),
]
res = {k: load(k) for k, _ in sets}

def verdict(ok):
    return "met" if ok else "**missed**"

targets = []
for test in ("get", "put"):
    r = row(res[f"{test}_latency_allocate"], 8)
    ok = r and r["ratio"] is not None and r["ratio"] <= 1.10
    targets.append((f"{test} 8 B ≤ 1.10× raw MPI (allocate, flush)",
                    f"{r['distarr']:.3f} µs vs {r['mpi']:.3f} µs = {r['ratio']:.2f}×", verdict(ok)))
for test in ("get", "put"):
    r = row(res[f"{test}_latency_shared"], 8)
    a = row(res[f"{test}_latency_allocate"], 8)
    ok = r["distarr"] < r["mpi"] and r["distarr"] < a["mpi"]
    targets.append((f"node-local {test} 8 B below raw `MPI_{test.capitalize()}`+flush",
                    f"{r['distarr']:.3f} µs vs {r['mpi']:.3f} µs (shared window), {a['mpi']:.3f} µs (allocate)",
                    verdict(ok)))
for test in ("get", "put"):
    r = row(res[f"{test}_bw_allocate"], 1 << 20)
    ok = r["ratio"] is not None and r["ratio"] >= 0.95
    targets.append((f"{test} bandwidth at 1 MiB ≥ 0.95× raw MPI",
                    f"{r['distarr']:.0f} MB/s vs {r['mpi']:.0f} MB/s = {r['ratio']:.2f}×", verdict(ok)))
targets.append(("C ABI adds ≤ 20 ns per call", "not measured: `--via c` waits for the C ABI's one-sided calls", "open"))

e = os.environ
doc = []
doc.append("# distarr RMA performance\n")
doc.append("Generated by `bash scripts/bench-rma.sh` (do not edit by hand; re-run it instead). Every number "
           "is OSU's statistic: the mean over the timed iterations of a loop on rank 0 (origin) against "
           "rank 1 (target), 2 ranks on one node. The *raw MPI* column runs OSU's loop through raw MPI "
           "calls on a window of the same kind with the same synchronisation, in the same process and "
           "run as the distarr column (`distarr-bench --compare-mpi`); the ratio is distarr / MPI (for "
           "latency lower is better, for bandwidth higher is better).\n")
if e["QUICK"] == "1":
    doc.append("**Quick run (`--quick`, 100 iterations per size): a check, not a measurement.**\n")
doc.append("## Machine and versions\n")
doc.append(f"- date: {e['DATE']}")
doc.append(f"- machine: {e['NPROC']} cores, {e['CPU']}")
doc.append(f"- load average (1/5/15 min) before: {e['LOAD_BEFORE']}, after: {e['LOAD_AFTER']} "
           "(more than ~0.5 means other work shared the cores: treat small differences as noise)")
doc.append(f"- MPI used: {res['get_latency_allocate']['mpi_version']}")
doc.append(f"- launcher: {e['OMPI']}; MPICH on the machine: {e['MPICH']}")
doc.append(f"- Open MPI settings: the runtime sets `OMPI_MCA_osc=sm,rdma,pt2pt` and "
           "`OMPI_MCA_osc_rdma_priority=50` before `MPI_Init` (see README), so `allocate` and `shared` "
           "windows use osc/sm — in both columns, since they share the process")
doc.append(f"- {e['RUSTC']}; distarr {e['REV']}\n")
doc.append("## Targets (issue 5)\n")
doc.append("| target | measured | |")
doc.append("|---|---|---|")
for t, m, v in targets:
    doc.append(f"| {t} | {m} | {v} |")
doc.append("""
Why the misses, and what would close them (at the time of writing; re-check against the tables):

- **Small get/put on `allocate` (osc/sm)**: raw `MPI_Get`+flush on osc/sm takes 0.03-0.06 µs,
  so the 1.10× target leaves 3-6 ns for the runtime, while the measured difference is ~10-20 ns
  per call. That difference is the runtime's per-call path before and after MPI (read from the
  code, not yet profiled): the finalised check, the `RefCell` borrow of the heap, the
  segment-handle lookup (slot + generation), the rank and bounds checks, the `HeapWindow`
  indirection, then `MPI_Get` + `MPI_Win_flush_local` (put: `MPI_Put` + `MPI_Win_flush`).
  Closing it: profile first (`perf record` on `distarr-bench get_latency --max-size 8`); likely
  fixes are a checked handle resolved once outside hot loops (window + displacement cached),
  `#[inline]` on the lookup path, and fewer indirections; the checks themselves are the safe
  API's point and stay.
- **Bandwidth**: the runtime's non-blocking calls (`get_nb`/`put_nb`) are request-based
  (`MPI_Rget`/`MPI_Rput`, one `MPI_Request` and one `Vec` per call, each waited on), where OSU
  issues plain `MPI_Get`/`MPI_Put` and one flush per 64 operations. At 1 MiB the per-operation cost
  is small next to the copy, so that target is mostly about memory bandwidth and noise; at small
  sizes the request overhead dominates (see `distarr-bench get_bw`). Closing it: an implicit-handle
  variant (`get_nbi`/`put_nbi`: plain `MPI_Get`/`MPI_Put`, completed by `flush`), as OpenSHMEM has.
- **Node-local path**: a memcpy through the shared window plus the same checks; it should be
  below raw `MPI_Get`+flush whenever the checks cost less than MPI's own call path.
""")
doc.append("## Results\n")
doc.append(f"![get latency, allocate]({e['PLOTS']}/get_latency_allocate.png)\n")
doc.append(f"![put latency, allocate]({e['PLOTS']}/put_latency_allocate.png)\n")
doc.append(f"![get latency, shared]({e['PLOTS']}/get_latency_shared.png)\n")
for k, title in sets:
    r = res[k]
    doc.append(f"### {title}\n")
    doc.append(f"`mpirun -n 2 distarr-bench {r['test']} --window {r['window']} --sync {r['sync']} --compare-mpi`\n")
    if r.get("distarr_note"):
        doc.append(f"distarr column n/a: {r['distarr_note']}\n")
    doc.append(table(r) + "\n")
doc.append("""## Not measured yet

- `--via c` (the same operations through `libdistarr`'s C ABI, target ≤ 20 ns added per call) and
  `--via python`: the C ABI's one-sided calls and the Python shim do not exist yet.
- `distarr-bench dispatch` (sequential mode, target ≤ 10 µs per operation): needs the C ABI's
  sequential mode.
- Syncs other than flush for the distarr column: `lock`, `lock_all` and `pscw` are raw-MPI epoch
  styles the runtime does not offer (it keeps one `lock_all` epoch for the heap's life), so the
  benchmark prints `n/a` there rather than a number for something else; `fence` maps to
  `Runtime::fence` (flush_all + barrier) for get/put.
""")
with open(out, "w") as f:
    f.write("\n".join(doc))
print(f"bench-rma: wrote {out}")
PY

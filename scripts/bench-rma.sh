#!/usr/bin/env bash
# Runs distarr's standard RMA benchmark set on 2 ranks and writes docs/PERFORMANCE.md.
#
#   bash scripts/bench-rma.sh                 the full set with OSU's iteration counts (~5-10 min)
#   bash scripts/bench-rma.sh --quick         100 iterations per size (a check, not a measurement)
#   bash scripts/bench-rma.sh --out FILE      write FILE instead of docs/PERFORMANCE.md
#
# The set: get/put latency (sync flush) on `allocate` windows through the C ABI and the Rust
# runtime (`--via c`: both layers, same run) and on `shared` windows, get/put bandwidth 1 B-1 MiB,
# accumulate, fetch-and-op and compare-and-swap latency (`--via c`), each with --compare-mpi (raw
# MPI calls on a window of the same kind with the same sync, same process); and `dispatch`
# (sequential mode vs SPMD through the C ABI). Raw outputs (text, JSON, plots) go to
# $DISTARR_BENCH_DIR (default target/bench-rma); the report goes to docs/.
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
uptime_before="$(uptime)"

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

run get_latency_allocate get_latency --window allocate --sync flush --via c --plot "$raw/get_latency_allocate.png"
run put_latency_allocate put_latency --window allocate --sync flush --via c --plot "$raw/put_latency_allocate.png"
run get_latency_shared get_latency --window shared --sync flush --plot "$raw/get_latency_shared.png"
run put_latency_shared put_latency --window shared --sync flush
run get_bw_allocate get_bw --window allocate --sync flush --max-size 1M --plot "$raw/get_bw_allocate.png"
run put_bw_allocate put_bw --window allocate --sync flush --max-size 1M
run acc_latency_allocate acc_latency --window allocate --sync flush --max-size 64K --via c
run fop_latency_allocate fop_latency --window allocate --sync flush --via c
run cas_latency_allocate cas_latency --window allocate --sync flush --via c

# dispatch: any rank count; 2 like the rest. No raw-MPI column.
dispatch_extra=()
if [ "$quick" -eq 1 ]; then
    dispatch_extra=(--iterations 200 --warmup 20)
fi
echo "bench-rma: dispatch: distarr-bench dispatch"
timeout --signal=TERM --kill-after=10 1200 \
    "${DISTARR_MPIRUN:-mpirun}" -n 2 "$bench" dispatch "${dispatch_extra[@]}" --json "$raw/dispatch.json" >"$raw/dispatch.txt"
cat "$raw/dispatch.txt"

load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
uptime_after="$(uptime)"

# Plots that the report shows live next to it.
plots="$(dirname "$out")/perf"
mkdir -p "$plots"
cp "$raw"/get_latency_allocate.png "$raw"/put_latency_allocate.png "$raw"/get_latency_shared.png \
    "$raw"/get_bw_allocate.png "$plots/"

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
    UPTIME_BEFORE="$uptime_before" UPTIME_AFTER="$uptime_after" \
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

NOTES = """
Why, and what the numbers rest on. The machine is shared (see the load above): at 0.03-0.1 µs per
operation a run's time ratios swing by ±30 % from run to run, so the small-operation analysis
below uses **instruction counts**, which are repeatable. They come from callgrind (not regenerated
by this script; re-measure with the command) on rank 0 of
`mpirun -n 2 valgrind --tool=callgrind distarr-bench {get,put}_latency --via c --compare-mpi
--min-size 8 --max-size 8 --iterations 10000 --warmup 0`: the inclusive count of each column's
timed loop function (`raw::run`, `dist::run`, `capi::run`) divided by 10,000 (loop bookkeeping
included, two barriers amortised; the C ABI rows of issue 9 exclude the two barriers, whose
spinning while the other rank catches up varies by up to 60 instructions per operation). Open MPI's own share (osc/sm): `MPI_Get` 238, `MPI_Win_flush` /
`MPI_Win_flush_local` 42 instructions.

| instructions per 8-byte operation | get | put |
|---|---:|---:|
| raw MPI loop, before → after the `distarr_ffi::Win` fast path below | 414 → 384 | 408 → 378 |
| Rust runtime, before this issue's runtime changes | 505 (1.22× raw) | 520 (1.27× raw) |
| Rust runtime, now | 373 (0.97× raw) | 413 (1.09× raw) |
| C ABI, before issue 9 (barriers excluded; Rust 378 / 374 in the same runs) | 510 (+132 over Rust) | 505 (+131 over Rust) |
| C ABI, now (state borrowed in place, boundary inlined) | 440 (+62 over Rust) | 435 (+61 over Rust) |
| `get_bw`/`put_bw` 64 B, per operation (64 per flush): raw MPI | 284 | 278 |
| … distarr before (`get_nb`/`put_nb`, one `MPI_Request` + `Vec` each) | 1141 (3.7× raw) | 1167 (3.9× raw) |
| … distarr now (`Runtime::nbi`) | 364 (1.28× raw) | 358 (1.29× raw) |

- **Small get/put (Rust layer)**: met in instruction count, within noise in time. What changed in
  the runtime's path (checks unchanged and still before MPI: rank, segment handle + generation,
  bounds): the lookup returns no `Result` on the hot path (`Heap::locate`; on failure a cold
  function reruns the original checks in order for the same error), the finalized check's error is
  built out of line, the heap window's MPI window is looked up once, and `Win::get_bytes` /
  `put_bytes` make one `MPI_Get`/`MPI_Put` for 1 B-2 GiB messages without the chunk loop or a
  `Datatype` value (whose `Drop` was not inlined). What is left (~30 instructions, mostly register
  saves around the inlined checks and the `RefCell` borrow of the heap) is below run-to-run noise.
- **C ABI ≤ 20 ns**: +61-62 instructions per call over the Rust layer (was +131-132). The call
  used to clone the thread-local `State` (an `Rc` increment/decrement and a `RefCell` borrow) and
  run its body through a non-inlined generic panic boundary and a non-inlined `LocalKey::with`
  (closure environments spilled to the stack, `Runtime::get` not inlined). Now the boundary is
  `#[inline(always)]` with its error and panic paths cold and out of line, and the state is read in
  place (`c-api/src/state.rs`, `with_state`: the thread-local's `RefCell` read without a guard,
  which the life cycle makes safe), so `distarr_get` is one function with the runtime's `get`
  inlined. What is left: the six callee-saved registers of the combined body, the thread-local
  access, the argument checks (rank, NULL, span) and the sequential-mode tracker test (one load
  and compare). Measured in time, the C ABI − Rust column of the two latency tables is the number
  to read (its median over 1-64 B is the target row).
- **Bandwidth**: the Rust column now uses implicit-completion operations (`Runtime::nbi` scope:
  plain `MPI_Get`/`MPI_Put`, no `MPI_Request`, no `Vec` per call, one flush per 64 operations, like
  OSU). Before (request-based `get_nb`/`put_nb`, same machine, load ~1.4-4): 0.15-0.53× raw MPI over
  8 B-4 KiB for get and 0.17-0.50× for put. The C ABI has implicit-completion calls now
  (`distarr_get_nbi`/`put_nbi`, completed by `distarr_flush_local`/`flush`/`..._all`); the
  benchmark's `--via c` bandwidth loops still use the request-based `distarr_get_nb`/`put_nb`.
- **Node-local path**: a memcpy through the shared window plus the same checks.
- **Dispatch**: every sequential-mode command is one 64-byte `MPI_Bcast` from rank 0 plus decoding;
  the median adds ~0.4-3.3 µs per operation at 2 ranks (the runs made for this report). The means can be far higher on a loaded
  2-core machine (seen: tens to hundreds of µs): a descheduled worker holds up every collective
  (read the medians for the cost of the mode, the means for what a shared machine does to it).
"""

NOT_MEASURED = """## Not measured yet

- `--via python`: the Python shim does not exist yet.
- The C ABI's bandwidth (`--via c` on `get_bw`/`put_bw` works, through the request-based
  `distarr_get_nb`/`distarr_put_nb`, not yet the implicit-completion `distarr_get_nbi`/`put_nbi`);
  the report's bandwidth tables show the Rust layer.
- Syncs other than flush for the distarr column: `lock`, `lock_all` and `pscw` are raw-MPI epoch
  styles the runtime does not offer (it keeps one `lock_all` epoch for the heap's life), so the
  benchmark prints `n/a` there rather than a number for something else; `fence` maps to
  `Runtime::fence` (flush_all + barrier) for get/put.
- get-accumulate through the C ABI (it has no such call); the Rust column measures it.
"""

def table(r):
    u = r["unit"]
    rows = r["rows"]
    if r.get("via") == "c":
        lat = u == "us"
        head = f"| size (B) | C ABI ({u}) | Rust ({u}) | raw MPI ({u}) | Rust / MPI | C ABI / MPI |"
        sep = "|---:|---:|---:|---:|---:|---:|"
        if lat:
            head += " C ABI − Rust (ns) |"
            sep += "---:|"
        lines = [head, sep]
        for row in rows:
            rr = ratio(row.get("rust"), row["mpi"])
            cr = "n/a" if row["ratio"] is None else f"{row['ratio']:.2f}"
            line = (f"| {row['size']} | {fmt(row['distarr'], u)} | {fmt(row.get('rust'), u)} | "
                    f"{fmt(row['mpi'], u)} | {rr} | {cr} |")
            if lat:
                d = row.get("c_minus_rust_ns")
                line += " n/a |" if d is None else f" {d:.1f} |"
            lines.append(line)
        return "\n".join(lines)
    lines = [f"| size (B) | distarr ({u}) | raw MPI ({u}) | distarr / MPI |", "|---:|---:|---:|---:|"]
    for row in rows:
        ratio_s = "n/a" if row["ratio"] is None else f"{row['ratio']:.2f}"
        lines.append(f"| {row['size']} | {fmt(row['distarr'], u)} | {fmt(row['mpi'], u)} | {ratio_s} |")
    return "\n".join(lines)

def ratio(a, b):
    return "n/a" if a is None or not b else f"{a / b:.2f}"

def row(r, size):
    return next((x for x in r["rows"] if x["size"] == size), None)

def rust_of(r, size):
    """The Rust layer's value at `size` (the `rust` field of --via c runs, else `distarr`)."""
    x = row(r, size)
    return x.get("rust") if r.get("via") == "c" else x["distarr"]

sets = [
    ("get_latency_allocate", "Get latency, `MPI_Win_allocate` window, sync flush: C ABI, Rust runtime, raw MPI"),
    ("put_latency_allocate", "Put latency, `MPI_Win_allocate` window, sync flush: C ABI, Rust runtime, raw MPI"),
    ("get_latency_shared", "Get latency, `MPI_Win_allocate_shared` window (distarr: node-local load/store path), sync flush"),
    ("put_latency_shared", "Put latency, `MPI_Win_allocate_shared` window (distarr: node-local load/store path), sync flush"),
    ("get_bw_allocate", "Get bandwidth, 64 gets per flush, `allocate` window (distarr: `Runtime::nbi` implicit-completion gets)"),
    ("put_bw_allocate", "Put bandwidth, 64 puts per flush, `allocate` window (distarr: `Runtime::nbi` implicit-completion puts)"),
    ("acc_latency_allocate", "Accumulate latency (`MPI_SUM` on bytes), `allocate` window, sync flush"),
    ("fop_latency_allocate", "Fetch-and-op latency (`MPI_SUM`, one 8-byte integer), `allocate` window, sync flush"),
    ("cas_latency_allocate", "Compare-and-swap latency (one 8-byte integer), `allocate` window, sync flush"),
]
res = {k: load(k) for k, _ in sets}
disp = load("dispatch")

def verdict(ok):
    return "met" if ok else "**missed**"

targets = []
for test in ("get", "put"):
    r = res[f"{test}_latency_allocate"]
    v, m = rust_of(r, 8), row(r, 8)["mpi"]
    ok = v is not None and m and v / m <= 1.10
    targets.append((f"{test} 8 B ≤ 1.10× raw MPI (allocate, flush; Rust layer)",
                    f"{v:.3f} µs vs {m:.3f} µs = {v / m:.2f}×", verdict(ok)))
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
for test in ("get", "put"):
    rs = [x["ratio"] for x in res[f"{test}_bw_allocate"]["rows"] if x["size"] <= 4096 and x["ratio"] is not None]
    targets.append((f"{test} bandwidth ≤ 4 KiB (informational; no target)",
                    f"{min(rs):.2f}-{max(rs):.2f}× raw MPI over 1 B-4 KiB", "—"))
meds = []
for t in ("get", "put"):
    d = sorted(x["c_minus_rust_ns"] for x in res[f"{t}_latency_allocate"]["rows"]
               if x["size"] <= 64 and x.get("c_minus_rust_ns") is not None)
    meds.append((t, d[len(d) // 2], d[0], d[-1]))
targets.append(("C ABI adds ≤ 20 ns per call",
                "; ".join(f"{t}: median C ABI − Rust over 1-64 B {m:.1f} ns (range {lo:.1f} to {hi:.1f})"
                          for t, m, lo, hi in meds),
                verdict(all(m <= 20 for _, m, _, _ in meds))))
worst = max(disp["rows"], key=lambda x: x["sequential"])
targets.append((f"dispatch (sequential mode) ≤ 10 µs per operation ({disp['nranks']} ranks)",
                f"median per call ≤ {worst['sequential']:.2f} µs (worst: {worst['op']}); "
                f"means up to {max(x['sequential_mean'] for x in disp['rows']):.1f} µs under load",
                verdict(worst["sequential"] <= 10)))

e = os.environ
doc = []
doc.append("# distarr RMA performance\n")
doc.append("Generated by `bash scripts/bench-rma.sh` (do not edit by hand; re-run it instead). Every number "
           "is OSU's statistic: the mean over the timed iterations of a loop on rank 0 (origin) against "
           "rank 1 (target), 2 ranks on one node. The *raw MPI* column runs OSU's loop through raw MPI "
           "calls on a window of the same kind with the same synchronisation, in the same process and "
           "run as the distarr column (`distarr-bench --compare-mpi`); the ratio is distarr / MPI (for "
           "latency lower is better, for bandwidth higher is better). With `--via c` the distarr column "
           "goes through the C ABI (`libdistarr`'s `extern \"C\"` functions) and a *Rust* column measures "
           "the same runtime called from Rust in the same run.\n")
if e["QUICK"] == "1":
    doc.append("**Quick run (`--quick`, 100 iterations per size): a check, not a measurement.**\n")
doc.append("## Machine and versions\n")
doc.append(f"- date: {e['DATE']}")
doc.append(f"- machine: {e['NPROC']} cores, {e['CPU']}")
doc.append(f"- load average (1/5/15 min) before: {e['LOAD_BEFORE']}, after: {e['LOAD_AFTER']} "
           "(more than ~0.5 means other work shared the cores: treat small differences as noise)")
doc.append(f"- `uptime` before: `{e['UPTIME_BEFORE'].strip()}`; after: `{e['UPTIME_AFTER'].strip()}`")
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
doc.append(NOTES)
doc.append("## Results\n")
doc.append(f"![get latency, allocate]({e['PLOTS']}/get_latency_allocate.png)\n")
doc.append(f"![put latency, allocate]({e['PLOTS']}/put_latency_allocate.png)\n")
doc.append(f"![get latency, shared]({e['PLOTS']}/get_latency_shared.png)\n")
doc.append(f"![get bandwidth, allocate]({e['PLOTS']}/get_bw_allocate.png)\n")
for k, title in sets:
    r = res[k]
    doc.append(f"### {title}\n")
    via = " --via c" if r.get("via") == "c" else ""
    doc.append(f"`mpirun -n 2 distarr-bench {r['test']} --window {r['window']} --sync {r['sync']}{via} --compare-mpi`\n")
    if r.get("distarr_note"):
        doc.append(f"{'C ABI' if via else 'distarr'} column n/a: {r['distarr_note']}\n")
    if r.get("rust_note"):
        doc.append(f"Rust column n/a: {r['rust_note']}\n")
    doc.append(table(r) + "\n")
doc.append("### Dispatch: sequential mode vs SPMD, through the C ABI\n")
doc.append(f"`mpirun -n {disp['nranks']} distarr-bench dispatch` — µs per collective call as rank 0 sees it, "
           f"{disp['iterations']} timed calls each; **median** per call (the mean, in the last two columns, "
           "can be dominated by descheduling on a loaded machine). SPMD: every rank runs the loop; sequential: "
           "only rank 0 does, the workers execute its commands (one 64-byte broadcast per command).\n")
doc.append("| operation | SPMD (µs) | sequential (µs) | sequential − SPMD (µs) | SPMD mean | sequential mean |")
doc.append("|---|---:|---:|---:|---:|---:|")
for x in disp["rows"]:
    doc.append(f"| {x['op']} | {x['spmd']:.2f} | {x['sequential']:.2f} | {x['sequential'] - x['spmd']:.2f} | "
               f"{x['spmd_mean']:.2f} | {x['sequential_mean']:.2f} |")
doc.append("")
# The two-host section, measured by `scripts/test-hosts.sh --bench` (root only), kept as is.
hosts = os.path.join(os.path.dirname(out), "perf", "hosts.md")
if os.path.exists(hosts):
    with open(hosts) as f:
        doc.append(f.read())
doc.append(NOT_MEASURED)
with open(out, "w") as f:
    f.write("\n".join(doc))
print(f"bench-rma: wrote {out}")
PY

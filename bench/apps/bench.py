"""Runs the application benchmark side by side and writes docs/APPS.md (driver of
scripts/bench-apps.sh, which builds what it needs and passes the paths; run that script, not this
file). Standard library only: it runs under any python3.

What runs, for each app of APPS (sizes chosen so that NumPy on 1 process takes 0.5-5 s):
  - every layer of LAYERS at each of its configurations (ranks x DISTARR_THREADS), the best of
    --reps runs each (a configuration whose run takes --repeat-below seconds or more is not
    repeated: one long run is measured well enough, and the old engine would take an hour);
  - STREAM-like copy/add at 1 and 2 processes (bench/apps/stream.c) and NumPy's at 1 process.
Every run is under `timeout`; a failure, timeout or missing layer is reported as `n/a` with the
reason and never stops the report. Each run's answer is checked against NumPy's (see `check`);
the report is written either way, and the exit status is 3 when any answer disagrees.

To add rows (issues 9 and 10): add a Layer to LAYERS (its command, environment, configurations
and output parser) and, if it has targets, a function to TARGET_RULES. Raw logs and a JSON
record of every run go to --raw (default target/bench-apps).
"""
import argparse
import json
import math
import os
import re
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple


# --- the applications --------------------------------------------------------------------------

@dataclass
class App:
    key: str
    title: str
    kind: str                 # "compute" or "memory": which 2-rank target applies
    size: int                 # the full run's size and steps
    steps: Optional[int]
    quick: Tuple[int, Optional[int]]
    describe: str             # what SIZE and STEPS mean

    def args(self, quick: bool) -> List[str]:
        size, steps = self.quick if quick else (self.size, self.steps)
        return [str(size)] + ([] if steps is None else [str(steps)])

    def size_text(self, quick: bool) -> str:
        size, steps = self.quick if quick else (self.size, self.steps)
        return self.describe.format(size=size, steps=steps)


# NumPy on 1 process, this machine (Xeon, 2 cores, NumPy 1.24), when these were chosen:
# pi 1e8 darts 0.81 s; stencil 3000^2 x 20 steps 1.36-1.49 s (x 15: ~1.05 s); nbody 1000 x 20
# steps 0.85-0.88 s; jacobi n = 4000 x 20 iterations 0.77 s (n = 5000: 1.31-1.77 s). Jacobi
# converges (change <= 1e-13) after ~31 iterations at these sizes: 20 keeps every run at exactly
# 20 iterations.
APPS: Dict[str, App] = {
    "pi": App("pi", "Monte Carlo π", "compute", 100_000_000, None, (2_500_000, None),
              "{size} darts in batches of 2^20"),
    "stencil": App("stencil", "2-D 5-point stencil", "memory", 3000, 15, (200, 5),
                   "{size}×{size} grid, {steps} steps"),
    "nbody": App("nbody", "all-pairs N-body (broadcasting)", "compute", 1000, 20, (64, 3),
                 "{size} bodies, {steps} steps"),
    "jacobi": App("jacobi", "dense Jacobi `h = h + (b - sum(A*h, 1))/d`", "memory", 4000, 20, (200, 5),
                  "n = {size}, {steps} iterations"),
    # Kernels of the engine with targets of their own (issue 8): random numbers and the
    # reproducible sum.
    "uniform": App("uniform", "random_uniform of N doubles (a new array)", "kernel", 100_000_000, None,
                  (1_000_000, None), "{size} doubles"),
    "sum": App("sum", "sum of N doubles (reproducible in distarr)", "kernel", 100_000_000, 5,
               (1_000_000, 2), "{size} doubles, best of {steps}"),
}


# --- parsing each layer's output ---------------------------------------------------------------

NUM = r"([-+]?(?:[0-9]*\.[0-9]+|[0-9]+\.?)(?:[eE][-+]?[0-9]+)?|inf|nan)"


def parse_keyvalue(app: str, out: str) -> Dict[str, float]:
    """The `bench-apps: key=value ...` line of bench/apps/*.py."""
    for line in out.splitlines():
        if line.startswith("bench-apps: "):
            kv = dict(w.split("=", 1) for w in line.split()[1:] if "=" in w)
            res = {"seconds": float(kv["seconds"])}
            name = {"pi": "pi", "stencil": "mean", "nbody": "momentum", "jacobi": "delta",
                    "uniform": "mean", "sum": "sum"}[app]
            res[name] = float(kv["value"])
            for k in ("iters", "hnorm"):
                if k in kv:
                    res[k] = float(kv[k])
            return res
    raise ValueError("no `bench-apps:` line in the output")


def parse_regex(patterns: Dict[str, str]) -> Callable[[str, str], Dict[str, float]]:
    """A parser from one regular expression per app, with named groups (`seconds` and the
    app's result fields)."""
    def parse(app: str, out: str) -> Dict[str, float]:
        if app not in patterns:
            raise ValueError(f"no parser for {app}")
        m = re.search(patterns[app], out)
        if not m:
            raise ValueError(f"output does not match /{patterns[app]}/")
        return {k: float(v) for k, v in m.groupdict().items()}
    return parse


# The Rust examples' lines (examples/*.rs; owned by the engine's author: parse, don't change).
RUST_PATTERNS = {
    "pi": rf"pi ~= (?P<pi>{NUM}) .* in (?P<seconds>{NUM}) s",
    "stencil": rf"in (?P<seconds>{NUM}) s; mean temperature (?P<mean>{NUM})",
    "nbody": rf"in (?P<seconds>{NUM}) s .*\|total momentum\| (?P<momentum>{NUM})",
    "jacobi": rf"(?P<iters>\d+) iterations \(last change (?P<delta>{NUM})\) .* in (?P<seconds>{NUM}) s",
    "uniform": rf"in (?P<seconds>{NUM}) s; mean (?P<mean>{NUM})",
    "sum": rf"in (?P<seconds>{NUM}) s; sum (?P<sum>{NUM})",
}
# The C examples' lines (examples/c/*.c).
C_PATTERNS = {
    "pi": rf"pi ~ (?P<pi>{NUM}) .* in (?P<seconds>{NUM}) s",
    "stencil": rf"mean temperature (?P<mean>{NUM}) in (?P<seconds>{NUM}) s",
    "jacobi": rf"(?P<iters>\d+) iterations on \d+ ranks, max residual (?P<residual>{NUM}) in (?P<seconds>{NUM}) s",
}


# --- layers ------------------------------------------------------------------------------------

@dataclass
class Config:
    ranks: int
    threads: int = 1          # DISTARR_THREADS (the engine's worker pool; 1 = none)

    def label(self, cores: int) -> str:
        s = f"{self.ranks} rank{'s' if self.ranks > 1 else ''}"
        if self.threads > 1:
            s += f" × {self.threads} threads"
        if self.ranks * self.threads > cores:
            s += " (oversubscribed)"
        return s


DISTARR_CONFIGS = [Config(1), Config(1, 2), Config(2), Config(3), Config(4)]


@dataclass
class Layer:
    key: str
    label: str
    command: Callable[[str], Optional[List[str]]]   # app -> argv before the app's size arguments
    parse: Callable[[str, str], Dict[str, float]]
    configs: List[Config]
    mpi: bool                                        # launched with mpirun -n RANKS
    env: Dict[str, str] = field(default_factory=dict)
    missing: Dict[str, str] = field(default_factory=dict)   # app -> why there is no program
    unavailable: str = ""                                    # why the whole layer is n/a
    distarr: bool = True                                     # judged against the targets
    source: Callable[[str], str] = lambda app: ""


def make_layers(a) -> List[Layer]:
    py = a.python
    layers = [
        Layer("numpy", "NumPy", lambda app: [py, os.path.join("bench", "apps", f"{app}.py")],
              parse_keyvalue, [Config(1)], mpi=False, env={"DISTARR_NP": "numpy"},
              unavailable=a.numpy_reason, distarr=False,
              source=lambda app: f"bench/apps/{app}.py"),
        Layer("rust", "distarr Rust", lambda app: [os.path.join(a.rust_dir, app)],
              parse_regex(RUST_PATTERNS), DISTARR_CONFIGS, mpi=True, unavailable=a.rust_reason,
              source=lambda app: f"examples/{app}.rs"),
        Layer("c", "distarr C", lambda app: [os.path.join(a.c_dir, app)],
              parse_regex(C_PATTERNS), DISTARR_CONFIGS, mpi=True, unavailable=a.c_reason,
              missing={"nbody": "no C N-body example: the C ABI has no `newaxis`/reshape view, "
                                "which `x[:, None, :]` and `w[:, :, None]` need",
                       "uniform": "kernel benchmark: Rust only", "sum": "kernel benchmark: Rust only"},
              source=lambda app: f"examples/c/{app}.c"),
        # Issue 9 adds here: Layer("python", "distarr Python (sequential)", lambda app: [py,
        #   f"bench/apps/{app}.py"], parse_keyvalue, DISTARR_CONFIGS, mpi=True,
        #   env={"DISTARR_NP": "distarr", "DISTARR_MODE": "sequential"}, ...)
        # Issue 10 adds numexpr rows the same way (mpi=False, env NUMEXPR_NUM_THREADS=1|2).
    ]
    return layers


# --- checks: does a run's answer agree with NumPy's? ---------------------------------------------

def check(app: str, size: int, got: Dict[str, float], ref: Optional[Dict[str, float]]) -> Tuple[str, str]:
    """("ok" | "DISAGREES", explanation) for one run's result fields against NumPy's."""
    def need(*names):
        missing = [n for n in names if n not in got]
        if missing:
            raise KeyError(", ".join(missing))
    try:
        if app == "pi":
            # Different random numbers (distarr's generator is not NumPy's): the hit counts
            # cannot be equal, so each estimate is held to the statistical bound instead.
            need("pi")
            p = math.pi / 4
            bound = 5 * 4 * math.sqrt(p * (1 - p) / size)
            err = abs(got["pi"] - math.pi)
            return ("ok" if err < bound else "DISAGREES",
                    f"|π̂ − π| = {err:.1e} {'<' if err < bound else '≥'} 5σ = {bound:.1e}")
        if app == "stencil":
            # Deterministic: same grid, same operations. The Rust example prints 6 decimals.
            need("mean")
            if ref is None or "mean" not in ref:
                return ("n/a", "no NumPy result to compare with")
            diff = abs(got["mean"] - ref["mean"])
            tol = 1e-6 + 1e-9 * abs(ref["mean"])
            return ("ok" if diff <= tol else "DISAGREES",
                    f"mean {got['mean']:.6g} vs NumPy {ref['mean']:.6g} (|Δ| = {diff:.1e}, tolerance {tol:.0e})")
        if app == "nbody":
            # Random initial positions (different generators): compare a conserved quantity.
            # Bodies start at rest, so the total momentum stays zero up to rounding (~1e-18).
            need("momentum")
            ok = got["momentum"] <= 1e-12
            r = f" (NumPy {ref['momentum']:.1e})" if ref and "momentum" in ref else ""
            return ("ok" if ok else "DISAGREES",
                    f"|total momentum| {got['momentum']:.1e} {'≤' if ok else '>'} 1e-12{r}")
        if app == "jacobi":
            if "residual" in got:
                # examples/c/jacobi.c solves its own fixed system: it is held to its residual.
                ok = got["residual"] < 1e-8
                return ("ok" if ok else "DISAGREES",
                        f"own system (not NumPy's): max |A h − b| {got['residual']:.1e} {'<' if ok else '≥'} 1e-8")
            need("iters", "delta")
            if ref is None or "delta" not in ref:
                return ("n/a", "no NumPy result to compare with")
            # Random A and b (different generators): same iteration count, and the last change
            # within a factor 2 of NumPy's (NumPy over 5 seeds: 2.4e-10 ± 3 % at n = 4000 after
            # 20 iterations, 1.6e-4 ± 10 % at n = 200 after 5).
            ok = (int(got["iters"]) == int(ref["iters"]) and
                  ref["delta"] / 2 <= got["delta"] <= ref["delta"] * 2)
            return ("ok" if ok else "DISAGREES",
                    f"{int(got['iters'])} iterations (NumPy {int(ref['iters'])}), last change "
                    f"{got['delta']:.1e} (NumPy {ref['delta']:.1e}, within 2× required)")
        if app == "uniform":
            # Different generators: the mean of N uniforms within 5σ of 1/2.
            need("mean")
            bound = 5 * math.sqrt(1 / 12 / size)
            err = abs(got["mean"] - 0.5)
            return ("ok" if err < bound else "DISAGREES", f"|mean − 1/2| = {err:.1e} {'<' if err < bound else '≥'} 5σ = {bound:.1e}")
        if app == "sum":
            need("sum")
            bound = 5 * math.sqrt(size / 12)
            err = abs(got["sum"] - size / 2)
            return ("ok" if err < bound else "DISAGREES", f"|sum − N/2| = {err:.1e} {'<' if err < bound else '≥'} 5σ = {bound:.1e}")
    except KeyError as e:
        return ("DISAGREES", f"result field(s) missing from the output: {e}")
    return ("n/a", "no check for this app")


CHECK_RULES = {
    "pi": "each estimate within 5σ of π (σ = 4·sqrt(p(1−p)/N), p = π/4); the hit counts differ "
          "from NumPy's because the random numbers do",
    "stencil": "mean temperature equal to NumPy's within 1e-6 (the Rust example prints 6 decimals); "
               "same grid and operations",
    "nbody": "|total momentum| ≤ 1e-12 (conserved, zero from the start; the initial positions differ "
             "from NumPy's because the random numbers do)",
    "uniform": "mean of the N uniforms within 5σ of 1/2 (the generators differ)",
    "sum": "sum of N uniforms within 5σ of N/2 (the data differ: the generators do)",
    "jacobi": "Rust: same iteration count as NumPy and last change within 2× of NumPy's (random "
              "A and b differ); C: its own fixed system, max residual |A h − b| < 1e-8",
}


# --- running -----------------------------------------------------------------------------------

@dataclass
class Cell:
    """The runs of one (app, layer, configuration)."""
    times: List[float] = field(default_factory=list)
    result: Dict[str, float] = field(default_factory=dict)
    error: str = ""           # why there is no (further) time
    check: Tuple[str, str] = ("n/a", "")
    command: str = ""

    @property
    def best(self) -> Optional[float]:
        return min(self.times) if self.times else None


class Runner:
    def __init__(self, a):
        self.a = a
        self.log_dir = os.path.join(a.raw, "logs")
        os.makedirs(self.log_dir, exist_ok=True)

    def run(self, argv: List[str], env: Dict[str, str], log: str) -> Tuple[int, str]:
        """Runs argv under `timeout`; returns (status, combined output). Status 124: timed out."""
        full = ["timeout", "--signal=TERM", "--kill-after=10", str(self.a.timeout)] + argv
        e = dict(os.environ)
        e.update(env)
        try:
            p = subprocess.run(full, env=e, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=self.a.timeout + 60)
            status, out = p.returncode, p.stdout.decode(errors="replace")
        except subprocess.TimeoutExpired as ex:
            status, out = 124, (ex.stdout or b"").decode(errors="replace")
        except OSError as ex:
            status, out = 127, f"cannot run {argv[0]}: {ex}"
        with open(os.path.join(self.log_dir, log), "w") as f:
            f.write("$ " + " ".join(shlex.quote(x) for x in full) + "\n")
            for k, v in sorted(env.items()):
                f.write(f"# {k}={v}\n")
            f.write(out)
            f.write(f"\n# exit status {status}\n")
        return status, out

    def cell(self, app: App, layer: Layer, cfg: Config, reps: int) -> Cell:
        c = Cell()
        if layer.unavailable:
            c.error = layer.unavailable
            return c
        if app.key in layer.missing:
            c.error = layer.missing[app.key]
            return c
        argv = layer.command(app.key) + app.args(self.a.quick)
        if layer.mpi:
            # Threads need cores: Open MPI binds each rank to one core by default (np <= 2).
            bind = ["--bind-to", "none"] if cfg.threads > 1 and "mpich" not in self.a.mpirun else []
            argv = [self.a.mpirun, "-n", str(cfg.ranks)] + bind + argv
        env = dict(layer.env)
        if layer.distarr:
            env["DISTARR_THREADS"] = str(cfg.threads)
        c.command = " ".join(f"{k}={v}" for k, v in sorted(env.items())) + " " + " ".join(argv)
        for rep in range(reps):
            log = f"{app.key}-{layer.key}-n{cfg.ranks}-t{cfg.threads}-{rep + 1}.log"
            status, out = self.run(argv, env, log)
            if status == 124:
                c.error = f"timeout (> {self.a.timeout} s)"
                break
            if status != 0:
                tail = " | ".join(out.strip().splitlines()[-2:])[:300]
                c.error = f"exit status {status}: {tail}"
                break
            try:
                res = layer.parse(app.key, out)
            except (ValueError, KeyError) as ex:
                c.error = f"unparsable output ({ex}); see {log}"
                break
            c.times.append(res["seconds"])
            c.result = {k: v for k, v in res.items() if k != "seconds"}
            print(f"bench-apps:   {app.key:8s} {layer.label:14s} {cfg.label(self.a.cores):36s} "
                  f"run {rep + 1}: {res['seconds']:.3f} s", flush=True)
            if res["seconds"] >= self.a.repeat_below:
                break
        return c


def run_stream(r: Runner, session: str, stream: Optional[Dict] = None) -> Dict:
    """Runs the STREAM programs once (`session`: "before" or "after" the apps) and merges the
    results into `stream` (each kernel and process count keeps its best session):
    {"kernels": {kernel: {procs: {"gbs": aggregate, "per": per process, "sessions": {...}}}},
     "errors": [...], "elements": N, "reps": R}."""
    a = r.a
    if stream is None:
        stream = {"kernels": {}, "errors": [], "elements": 1 << 20 if a.quick else 1 << 25,
                  "reps": 2 if a.quick else 10}
    elements, reps = str(stream["elements"]), str(stream["reps"])
    runs = []
    if a.stream_reason:
        if session == "before":
            stream["errors"].append(f"C STREAM: {a.stream_reason}")
    else:
        for p in (1, 2):
            runs.append((f"stream-c-n{p}-{session}.log", [a.mpirun, "-n", str(p), a.stream_bin, elements, reps]))
    if a.numpy_reason:
        if session == "before":
            stream["errors"].append(f"NumPy: {a.numpy_reason}")
    else:
        runs.append((f"stream-numpy-{session}.log",
                     [a.python, os.path.join("bench", "apps", "stream.py"), elements, reps]))
    for log, argv in runs:
        status, text = r.run(argv, {}, log)
        if status != 0:
            stream["errors"].append(f"{session}: `{' '.join(argv)}`: " +
                                    ("timeout" if status == 124 else f"exit status {status}"))
            continue
        for line in text.splitlines():
            if line.startswith("stream: "):
                kv = dict(w.split("=", 1) for w in line.split()[1:] if "=" in w)
                gbs, per = float(kv["aggregate_gbs"]), float(kv["per_process_gbs"])
                d = stream["kernels"].setdefault(kv["kernel"], {}).setdefault(
                    int(kv["procs"]), {"gbs": 0.0, "per": 0.0, "sessions": {}})
                d["sessions"][session] = gbs
                if gbs > d["gbs"]:
                    d["gbs"], d["per"] = gbs, per
                print(f"bench-apps:   stream {kv['kernel']:14s} {kv['procs']} process(es): "
                      f"{gbs:.1f} GB/s", flush=True)
    return stream


# --- the report --------------------------------------------------------------------------------

def esc(text: str) -> str:
    """Text for a Markdown table cell (a `|` would end the cell)."""
    return text.replace("|", "\\|")


def fmt_t(t: Optional[float]) -> str:
    if t is None:
        return "n/a"
    return f"{t:.3f}" if t < 10 else f"{t:.1f}"


def fmt_x(x: Optional[float]) -> str:
    if x is None:
        return "n/a"
    return f"{x:.2f}×" if x < 10 else f"{x:.1f}×"


def bw_ratio(stream: Dict, kernel: str) -> Optional[float]:
    k = stream["kernels"].get(kernel, {})
    if 1 in k and 2 in k and k[1]["gbs"] > 0:
        return k[2]["gbs"] / k[1]["gbs"]
    return None


def speedup(numpy_cell: Optional[Cell], c: Cell) -> Optional[float]:
    if numpy_cell is None or numpy_cell.best is None or c.best is None or c.best <= 0:
        return None
    return numpy_cell.best / c.best


def verdict(ok: Optional[bool]) -> str:
    return "n/a" if ok is None else ("met" if ok else "**missed**")


def targets(a, layers: List[Layer], results, stream) -> List[Tuple[str, str, str]]:
    """Issue 8's targets, per app and distarr layer: (target, measured, verdict)."""
    rows = []
    ratio = bw_ratio(stream, "add")
    for app in a.apps:
        kind = APPS[app].kind
        if kind == "kernel":
            continue
        ref = results[app].get(("numpy", 1, 1))
        for layer in layers:
            if not layer.distarr:
                continue
            def get(ranks, threads=1):
                return results[app].get((layer.key, ranks, threads))
            one, two, thr = get(1), get(2), get(1, 2)
            if one is None:
                continue
            if app in layer.missing:
                rows.append((f"{app}, {layer.label}", f"n/a: {layer.missing[app]}", "n/a"))
                continue
            s1 = speedup(ref, one)
            rows.append((f"{app}, {layer.label}, 1 rank ≥ 0.9× NumPy", fmt_x(s1) if s1 else f"n/a ({one.error or 'no NumPy time'})",
                         verdict(None if s1 is None else s1 >= 0.9)))
            s2 = speedup(ref, two) if two else None
            if kind == "compute":
                goal, what = 1.7, "≥ 1.7× NumPy"
            else:
                goal = None if ratio is None else 0.9 * ratio
                what = (f"≥ 0.9 × bandwidth ratio {ratio:.2f} = {goal:.2f}× NumPy" if goal
                        else "≥ 0.9 × the 2:1 bandwidth ratio (not measured)")
            m = fmt_x(s2) if s2 else f"n/a ({two.error if two and two.error else 'no NumPy time'})"
            rows.append((f"{app}, {layer.label}, 2 ranks {what}", m,
                         verdict(None if s2 is None or goal is None else s2 >= goal)))
            st = speedup(ref, thr) if thr else None
            rows.append((f"{app}, {layer.label}: 1 rank × 2 threads vs 2 ranks × 1 thread (no target)",
                         f"{fmt_x(st)} vs {fmt_x(s2)} NumPy", "—"))
    return rows


def kernel_targets(a, layers: List[Layer], results, stream) -> List[Tuple[str, str, str]]:
    """Issue 8's kernel targets: random numbers at least 0.7× NumPy's speed; the reproducible
    sum's cost against NumPy's pairwise sum (reported, no target)."""
    rows = []
    for app in [x for x in a.apps if APPS[x].kind == "kernel"]:
        ref = results[app].get(("numpy", 1, 1))
        for ranks in (1, 2):
            got = results[app].get(("rust", ranks, 1))
            s = speedup(ref, got) if got else None
            m = fmt_x(s) if s else "n/a"
            if app == "uniform":
                rows.append((f"random_uniform 1e8, distarr Rust, {ranks} rank{'s' if ranks > 1 else ''} ≥ 0.7× NumPy default_rng().random",
                             m, verdict(None if s is None else s >= 0.7) if ranks == 1 else "—"))
            else:
                rows.append((f"reproducible sum 1e8, distarr Rust, {ranks} rank{'s' if ranks > 1 else ''} vs NumPy x.sum() (cost of reproducibility; no target)", m, "—"))
    return rows


TARGET_RULES = [targets, kernel_targets]   # issue 9/10 rows: append functions with the same signature


def write_report(a, layers, results, stream, facts, elapsed):
    doc = []
    w = doc.append
    w("# distarr application benchmark\n")
    w("Generated by `bash scripts/bench-apps.sh` (do not edit by hand; re-run it instead). The four seed "
      "applications run side by side in one run on one machine: written once in plain NumPy "
      "(`bench/apps/*.py`, 1 process) and as distarr's Rust examples (`examples/*.rs`) and C examples "
      "(`examples/c/*.c`) at 1-4 ranks, same algorithm and sizes. Each time is the program's own timing of "
      f"its timed loop (set-up, start-up and the final result excluded), the **best** of up to {a.reps} "
      f"run(s) (a configuration whose run takes {a.repeat_below:g} s or more is run once); "
      "**speed-up = NumPy time / distarr time** (above 1: distarr is faster). The STREAM-like "
      "bandwidth measured in the same run is the ceiling for the memory-bound apps (stencil, Jacobi).\n")
    if a.quick:
        w("**Quick run (`--quick`: small sizes, 1 repetition): a smoke test, not a measurement.**\n")
    disagree = [(app, lk, c) for app in a.apps for (lk, _, _), c in results[app].items()
                if c.check[0] == "DISAGREES"]
    if disagree:
        w(f"**WARNING: {len(disagree)} run(s) DISAGREE with NumPy — see [Correctness](#correctness). "
          "Their times are marked ✗ and must not be read as results.**\n")
    w("## Machine and versions\n")
    for k, v in facts:
        w(f"- {k}: {v}")
    if elapsed:
        w(f"- the whole run (builds included) took {elapsed:.0f} s")
    w("")

    w("## Targets (issue 8)\n")
    w("Ratios to NumPy on 1 process in this run. Memory-bound apps at 2 ranks are judged against "
      "0.9 × the 2-to-1-process bandwidth ratio of the STREAM add kernel (the apps' operations are "
      "binary element-wise ufuncs) measured below.\n")
    w("| target | measured (speed-up vs NumPy) | |")
    w("|---|---|---|")
    for rule in TARGET_RULES:
        for t, m, v in rule(a, layers, results, stream):
            w(f"| {esc(t)} | {esc(m)} | {v} |")
    w("")

    w("## Memory bandwidth (STREAM-like)\n")
    w(f"`bench/apps/stream.c` (MPI, C, `-O3`): each process streams its own three float64 arrays of "
      f"{stream['elements']:,} elements ({stream['elements'] * 8 / 2**20:.0f} MiB each), all processes at "
      "once after a barrier; aggregate = all processes' bytes / the slowest process's time, best of "
      f"{stream['reps']} repetitions in each of two sessions, before and after the apps (the table "
      "shows the better session, the last column both, aggregate GB/s: a large difference means "
      "other work took bandwidth during the run); bytes counted as STREAM does (copy 16 B, add 24 B "
      "per element). "
      "`bench/apps/stream.py`: NumPy on 1 process, `np.copyto(c, a)`, `np.add(a, b, out=c)` and "
      "`c = a + b` (a new array each time, as the apps' NumPy code does).\n")
    for e in stream["errors"]:
        w(f"- n/a: {e}")
    w("| kernel | 1 process (GB/s) | 2 processes, aggregate (GB/s) | 2 processes, per process (GB/s) "
      "| 2:1 ratio | sessions before / after: 1 process; 2 processes |")
    w("|---|---:|---:|---:|---:|---|")
    labels = {"copy": "C copy `c = a`", "add": "C add `c = a + b`", "numpy-copyto": "NumPy `np.copyto(c, a)`",
              "numpy-add-out": "NumPy `np.add(a, b, out=c)`", "numpy-add-new": "NumPy `c = a + b` (new array)"}
    for k in ["copy", "add", "numpy-copyto", "numpy-add-out", "numpy-add-new"]:
        d = stream["kernels"].get(k, {})
        one, two, r = d.get(1), d.get(2), bw_ratio(stream, k)
        absent = "—" if k.startswith("numpy") else "n/a"   # NumPy runs on 1 process only
        cells = ["n/a" if one is None else f"{one['gbs']:.1f}",
                 absent if two is None else f"{two['gbs']:.1f}",
                 absent if two is None else f"{two['per']:.1f}",
                 absent if r is None else f"{r:.2f}"]
        sessions = []
        for procs in (1, 2):
            ss = d.get(procs, {}).get("sessions", {})
            if ss:
                sessions.append(" / ".join(f"{ss[x]:.1f}" if x in ss else "n/a" for x in ("before", "after")))
        cells.append("; ".join(sessions) or "n/a")
        w(f"| {labels[k]} | " + " | ".join(cells) + " |")
    ra = bw_ratio(stream, "add")
    w("")
    w(f"**2-to-1-process bandwidth ratio (add): {f'{ra:.2f}' if ra else 'n/a'}**; memory-bound target at 2 ranks: "
      f"{f'{0.9 * ra:.2f}' if ra else 'n/a'}× NumPy.\n")

    w("## Applications\n")
    w(f"Time = best of the runs in seconds; speed-up = NumPy / this. `DISTARR_THREADS` is set for every "
      f"distarr run (rows × 2 threads: the engine's worker pool; until the engine reads it, those rows "
      f"equal 1 rank). Ranks × threads above the {a.cores} cores are marked oversubscribed. Check: does the "
      "answer agree with NumPy's (see [Correctness](#correctness)).\n")
    for app in a.apps:
        A = APPS[app]
        w(f"### {app}: {A.title}, {A.size_text(a.quick)}\n")
        for layer in layers:
            src = layer.source(app)
            if app in layer.missing:
                w(f"- {layer.label}: n/a — {layer.missing[app]}")
            elif src:
                w(f"- {layer.label}: `{src}`")
        w("")
        w("| layer | ranks | time (s) | runs | speed-up vs NumPy | check |")
        w("|---|---|---:|---:|---:|---|")
        ref = results[app].get(("numpy", 1, 1))
        for layer in layers:
            if app in layer.missing or layer.unavailable:
                why = layer.missing.get(app) or layer.unavailable
                w(f"| {layer.label} | all | n/a | 0 | n/a | {esc(why)} |")
                continue
            for cfg in layer.configs:
                c = results[app].get((layer.key, cfg.ranks, cfg.threads))
                if c is None:
                    continue
                if c.best is None:
                    w(f"| {layer.label} | {cfg.label(a.cores)} | n/a | 0 | n/a | {esc(c.error)} |")
                    continue
                bad = c.check[0] == "DISAGREES"
                mark = " ✗" if bad else ""
                sp = "1 (reference)" if layer.key == "numpy" else fmt_x(speedup(ref, c))
                chk = ("**DISAGREES**: " if bad else f"{c.check[0]}: ") + c.check[1]
                if c.error:
                    chk += f"; stopped: {c.error}"
                w(f"| {layer.label} | {cfg.label(a.cores)} | {fmt_t(c.best)}{mark} | {len(c.times)} | {sp}{mark} | {esc(chk)} |")
        w("")

    w("## Correctness\n")
    w("Every run's printed answer is compared with the NumPy run's; a disagreement is marked "
      "**DISAGREES** in the tables above and listed here. The rules:\n")
    for app in a.apps:
        w(f"- {app}: {CHECK_RULES[app]}")
    w("")
    if disagree:
        for app, lk, c in disagree:
            w(f"- **{app}, {lk}: DISAGREES** — {c.check[1]} (`{c.command}`)")
    else:
        w("No disagreement in this run.")
    w("")

    w("## Notes\n")
    w("- The C Jacobi (`examples/c/jacobi.c`) solves a fixed system (`a_ij = 1/(1+|i-j|)`, `2n` on the "
      "diagonal, `diag(A)` a separate array) with 5 operations per iteration and no convergence test; "
      "the Rust example and NumPy compute the change `max|h_new − h|` every iteration (two more "
      "O(n) operations and a reduction to a scalar). The O(n²) work per iteration (`A * h` and its row "
      "sums) is the same.")
    w("- The Rust and C stencils add into one preallocated array each step (`out=`); the NumPy "
      "program makes temporaries, as a NumPy user writes it.")
    w("- Sizes: chosen so that NumPy on 1 process takes 0.5-5 s here (quiet machine, NumPy 1.24: "
      "π 0.81 s, stencil ~1.05 s, N-body 0.85-0.88 s, Jacobi 0.77 s); the Rust and C programs get "
      "the same sizes on their command lines.")
    w("- π: NumPy draws with `default_rng().random` (PCG64), distarr with its own counter-based "
      "generator; every program draws its darts in batches of 2^20.")
    w(f"- Raw outputs of every run: `{a.raw}/logs/`; all numbers: `{a.raw}/results.json`.")
    w("")
    with open(a.out, "w") as f:
        f.write("\n".join(doc))


# --- main --------------------------------------------------------------------------------------

def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--apps", default=",".join(APPS))
    p.add_argument("--out", default="docs/APPS.md")
    p.add_argument("--raw", default="target/bench-apps")
    p.add_argument("--timeout", type=int, default=300)
    p.add_argument("--repeat-below", type=float, default=10.0)
    p.add_argument("--list-apps", action="store_true", help="print the app names and exit")
    p.add_argument("--python", default="")
    p.add_argument("--numpy-reason", default="")
    p.add_argument("--rust-dir", default="")
    p.add_argument("--rust-reason", default="")
    p.add_argument("--c-dir", default="")
    p.add_argument("--c-reason", default="")
    p.add_argument("--stream-bin", default="")
    p.add_argument("--stream-reason", default="")
    p.add_argument("--mpirun", default=os.environ.get("DISTARR_MPIRUN", "mpirun"))
    p.add_argument("--facts", default="", help="JSON list of [name, value] lines for the report")
    p.add_argument("--started", type=float, default=0.0, help="epoch seconds when the script began")
    a = p.parse_args()
    if a.list_apps:
        print(" ".join(APPS))
        return
    if not a.python:
        p.error("--python is required")
    a.apps = [x for x in a.apps.split(",") if x]
    if not a.apps:
        p.error("--apps names no app")
    unknown = [x for x in a.apps if x not in APPS]
    if unknown:
        p.error(f"unknown app(s) {unknown}; known: {', '.join(APPS)}")
    a.cores = os.cpu_count() or 1
    if a.quick:
        a.reps = 1

    runner = Runner(a)
    layers = make_layers(a)
    load_before = open("/proc/loadavg").read().split()[:3]
    uptime_before = subprocess.run(["uptime"], stdout=subprocess.PIPE, text=True).stdout.strip()

    print("bench-apps: STREAM, before the apps", flush=True)
    stream = run_stream(runner, "before")
    results: Dict[str, Dict[Tuple[str, int, int], Cell]] = {}
    for app in a.apps:
        print(f"bench-apps: {app} ({APPS[app].size_text(a.quick)})", flush=True)
        results[app] = {}
        for layer in layers:
            for cfg in layer.configs:
                results[app][(layer.key, cfg.ranks, cfg.threads)] = runner.cell(APPS[app], layer, cfg, a.reps)
        ref = results[app].get(("numpy", 1, 1))
        size = int(APPS[app].args(a.quick)[0])
        for (lk, _, _), c in results[app].items():
            if c.times:
                c.check = check(app, size, c.result, ref.result if ref and ref.times else None)
                if c.check[0] == "DISAGREES":
                    print(f"bench-apps: !!! {app} {lk}: answer DISAGREES with NumPy: {c.check[1]}", flush=True)
    print("bench-apps: STREAM, after the apps", flush=True)
    stream = run_stream(runner, "after", stream)

    load_after = open("/proc/loadavg").read().split()[:3]
    uptime_after = subprocess.run(["uptime"], stdout=subprocess.PIPE, text=True).stdout.strip()
    facts = json.loads(a.facts) if a.facts else []
    facts.append(["load average (1/5/15 min) before the runs", " ".join(load_before) +
                  f"; after: {' '.join(load_after)} (above ~0.5, other work shared the cores: "
                  "treat small differences as noise)"])
    facts.append(["`uptime` before / after", f"`{uptime_before}` / `{uptime_after}`"])
    facts.append(["repetitions", f"best of up to {a.reps}; not repeated once a run takes ≥ "
                  f"{a.repeat_below:g} s; timeout {a.timeout} s per run"])
    elapsed = time.time() - a.started if a.started else 0.0
    write_report(a, layers, results, stream, facts, elapsed)

    record = {
        "quick": a.quick, "reps": a.reps, "facts": facts, "stream": stream,
        "apps": {app: {"size": APPS[app].args(a.quick),
                       "runs": [{"layer": lk, "ranks": r, "threads": t, "times": c.times,
                                 "best": c.best, "median": statistics.median(c.times) if c.times else None,
                                 "result": c.result, "error": c.error, "check": list(c.check),
                                 "command": c.command}
                                for (lk, r, t), c in results[app].items()]}
                 for app in a.apps},
    }
    with open(os.path.join(a.raw, "results.json"), "w") as f:
        json.dump(record, f, indent=1)
    print(f"bench-apps: wrote {a.out} ({elapsed:.0f} s)")
    bad = sum(c.check[0] == "DISAGREES" for app in a.apps for c in results[app].values())
    if bad:
        print(f"bench-apps: !!! {bad} run(s) DISAGREE with NumPy (see {a.out})", file=sys.stderr)
        sys.exit(3)


if __name__ == "__main__":
    main()

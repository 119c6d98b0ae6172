"""Runs the application benchmark side by side and writes docs/APPS.md (driver of
scripts/bench-apps.sh, which builds what it needs and passes the paths; run that script, not this
file). Standard library only: it runs under any python3.

What runs, for each app of APPS (sizes chosen so that NumPy on 1 process takes 0.5-5 s):
  - every layer of make_layers() at each of its configurations (ranks x threads): NumPy, numexpr
    (1 and 2 threads), the Rust examples (deferred execution on, and off), the C examples and the
    same NumPy programs through `import distarr as np` (sequential mode), the best of --reps runs
    each (a configuration whose run takes --repeat-below seconds or more is not repeated: one
    long run is measured well enough, and the old engine would take an hour);
  - every run under bench/apps/peakrss.py, which reports each rank's peak RSS;
  - STREAM-like copy/add at 1 and 2 processes (bench/apps/stream.c) and NumPy's at 1 process.
Every run is under `timeout`; a failure, timeout or missing layer is reported as `n/a` with the
reason and never stops the report. Each run's answer is checked against NumPy's (see `check`);
the report is written either way, and the exit status is 3 when any answer disagrees.

To add rows: add a Layer to make_layers() (its command, environment, configurations and output
parser) and, if it has targets, a function to TARGET_SECTIONS. Raw logs and a JSON record of
every run go to --raw (default target/bench-apps).
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
    kind: str                 # "compute" or "memory" (which 2-rank target applies), "kernel", "chain"
    size: int                 # the full run's size and steps
    steps: Optional[int]
    quick: Tuple[int, Optional[int]]
    describe: str             # what SIZE and STEPS mean
    program: str = ""         # bench/apps/P.py, examples/P.rs, examples/c/P.c (default: key)
    layers: Optional[Tuple[str, ...]] = None   # only these layers (default: every layer)
    ranks: Optional[Tuple[int, ...]] = None    # MPI layers: only these rank counts, 1 thread

    @property
    def prog(self) -> str:
        return self.program or self.key

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
# 20 iterations. The fused chain: 2^25 doubles (256 MiB an array, as STREAM's), 3 evaluations;
# its quick size, 2^23, still makes an array (64 MiB on 1 rank, 32 MiB on 2) at least a distarr
# heap segment (32 MiB by default, faulted in when created: start-up memory that hides smaller
# arrays from the peak RSS).
SEED_APPS = ("pi", "stencil", "nbody", "jacobi")
APPS: Dict[str, App] = {
    "pi": App("pi", "Monte Carlo π", "compute", 100_000_000, None, (2_500_000, None),
              "{size} darts in batches of 2^20"),
    "stencil": App("stencil", "2-D 5-point stencil", "memory", 3000, 15, (200, 5),
                   "{size}×{size} grid, {steps} steps"),
    "nbody": App("nbody", "all-pairs N-body (broadcasting)", "compute", 1000, 20, (64, 3),
                 "{size} bodies, {steps} steps"),
    "jacobi": App("jacobi", "dense Jacobi `h = h + (b - sum(A*h, 1))/d`", "memory", 4000, 20, (200, 5),
                  "n = {size}, {steps} iterations"),
    # Issue 10: a chain of element-wise operations consumed by a reduction; time and peak memory.
    "chain": App("chain", "fused chain `y = ((a + b) * c - a) / (b + 1.0) + 0.5 * a * c; y.sum()` "
                 "(8 element-wise operations)", "chain", 1 << 25, 3, (1 << 23, 2),
                 "{size} doubles an array, {steps} evaluations"),
    # Issue 9's named case: the NumPy stencil through Python at 2 ranks, on a larger grid.
    "stencil4k": App("stencil4k", "2-D 5-point stencil, issue 9's case", "memory", 4000, 40, (300, 5),
                     "{size}×{size} grid, {steps} steps", program="stencil",
                     layers=("numpy", "rust", "python"), ranks=(1, 2)),
    # Kernels of the engine with targets of their own (issue 8): random numbers and the
    # reproducible sum.
    "uniform": App("uniform", "random_uniform of N doubles (a new array)", "kernel", 100_000_000, None,
                  (1_000_000, None), "{size} doubles"),
    "sum": App("sum", "sum of N doubles (reproducible in distarr)", "kernel", 100_000_000, 10,
               (1_000_000, 2), "{size} doubles, best of {steps}"),
}
# The chain's baseline run (start-up, libraries, the heap's first segment): this many elements.
CHAIN_BASELINE = 1024
# The chain's inputs are uniform in [0, 1): E[y] = 5/8 - (3/4) ln 2, std(y) = 0.3010 (NumPy, 1e7
# samples).
CHAIN_MEAN, CHAIN_STD = 5 / 8 - 0.75 * math.log(2), 0.3010


# --- parsing each layer's output ---------------------------------------------------------------

NUM = r"([-+]?(?:[0-9]*\.[0-9]+|[0-9]+\.?)(?:[eE][-+]?[0-9]+)?|inf|nan)"


def parse_keyvalue(prog: str, out: str) -> Dict[str, float]:
    """The `bench-apps: key=value ...` line of bench/apps/*.py (on stdout)."""
    for line in out.splitlines():
        if line.startswith("bench-apps: "):
            kv = dict(w.split("=", 1) for w in line.split()[1:] if "=" in w)
            res = {"seconds": float(kv["seconds"])}
            name = {"pi": "pi", "stencil": "mean", "nbody": "momentum", "jacobi": "delta",
                    "uniform": "mean", "sum": "sum", "chain": "mean"}[prog]
            res[name] = float(kv["value"])
            for k in ("iters", "hnorm", "residual", "kinetic", "threads"):
                if k in kv:
                    res[k] = float(kv[k])
            return res
    raise ValueError("no `bench-apps:` line on stdout")


def parse_regex(patterns: Dict[str, str]) -> Callable[[str, str], Dict[str, float]]:
    """A parser from one regular expression per program, with named groups (`seconds` and the
    app's result fields)."""
    def parse(prog: str, out: str) -> Dict[str, float]:
        if prog not in patterns:
            raise ValueError(f"no parser for {prog}")
        m = re.search(patterns[prog], out)
        if not m:
            raise ValueError(f"output does not match /{patterns[prog]}/")
        return {k: float(v) for k, v in m.groupdict().items()}
    return parse


def parse_rss(err: str) -> Dict[int, int]:
    """Peak RSS in KiB per rank from bench/apps/peakrss.py's `bench-apps-rss:` lines (stderr;
    found anywhere in a line: mpirun may join another rank's text to it)."""
    return {int(m.group(1)): int(m.group(2))
            for m in re.finditer(r"bench-apps-rss: rank=(\d+) peak_kib=(\d+)", err)}


def parse_fallbacks(err: str) -> List[str]:
    """NumPy functions the Python front end ran on gathered data: the `name: count` lines under
    `NumPy fallback (N calls):` of the `DISTARR_REPORT_COVERAGE=1` report (stderr)."""
    names, inside = [], False
    for line in err.splitlines():
        if line.strip().startswith("NumPy fallback ("):
            inside = True
            continue
        m = re.match(r"^ {4}(\S.*): (\d+)$", line) if inside else None
        if m:
            names.append(f"{m.group(1)} ({m.group(2)} calls)")
        elif line.strip() != "(none)":
            inside = False
    return names


# The Rust examples' lines (examples/*.rs).
RUST_PATTERNS = {
    "pi": rf"pi ~= (?P<pi>{NUM}) .* in (?P<seconds>{NUM}) s",
    "stencil": rf"in (?P<seconds>{NUM}) s; mean temperature (?P<mean>{NUM})",
    "nbody": rf"in (?P<seconds>{NUM}) s .*\|total momentum\| (?P<momentum>{NUM})",
    "jacobi": (rf"(?P<iters>\d+) iterations \(last change (?P<delta>{NUM})\) .* in (?P<seconds>{NUM}) s; "
               rf"max residual \|A h - b\| (?P<residual>{NUM})"),
    "chain": rf"in (?P<seconds>{NUM}) s; mean (?P<mean>{NUM})",
    "uniform": rf"in (?P<seconds>{NUM}) s; mean (?P<mean>{NUM})",
    "sum": rf"in (?P<seconds>{NUM}) s; sum (?P<sum>{NUM})",
}
# The C examples' lines (examples/c/*.c). The C Jacobi solves its own system: `own_residual`.
C_PATTERNS = {
    "pi": rf"pi ~ (?P<pi>{NUM}) .* in (?P<seconds>{NUM}) s",
    "stencil": rf"mean temperature (?P<mean>{NUM}) in (?P<seconds>{NUM}) s",
    "jacobi": rf"(?P<iters>\d+) iterations on \d+ ranks, max residual (?P<own_residual>{NUM}) in (?P<seconds>{NUM}) s",
    "nbody": rf"in (?P<seconds>{NUM}) s .*\|total momentum\| (?P<momentum>{NUM})",
}


# --- layers ------------------------------------------------------------------------------------

@dataclass
class Config:
    ranks: int
    threads: int = 1          # DISTARR_THREADS (the engine's worker pool; 1 = none), or numexpr's
    show_threads: bool = False   # label the thread count even when it is 1 (numexpr)

    def label(self, cores: int, mpi: bool = True) -> str:
        s = f"{self.ranks} {'rank' if mpi else 'process'}"
        if self.ranks > 1:
            s += "s" if mpi else "es"
        if self.threads > 1 or self.show_threads:
            s += f" × {self.threads} thread{'s' if self.threads > 1 else ''}"
        if self.ranks * self.threads > cores:
            s += " (oversubscribed)"
        return s


def numexpr_config(threads: int) -> Config:
    return Config(1, threads, show_threads=True)


DISTARR_CONFIGS = [Config(1), Config(1, 2), Config(2), Config(3), Config(4)]
ONE_TWO = [Config(1), Config(2)]


@dataclass
class Layer:
    key: str
    label: str
    command: Callable[[App], List[str]]              # app -> argv before the app's size arguments
    parse: Callable[[str, str], Dict[str, float]]    # (program, output) -> result fields
    configs: List[Config]
    mpi: bool                                        # launched with mpirun -n RANKS
    env: Dict[str, str] = field(default_factory=dict)
    missing: Dict[str, str] = field(default_factory=dict)   # app -> why there is no program
    unavailable: str = ""                                    # why the whole layer is n/a
    distarr: bool = True                                     # a distarr layer
    issue8: bool = False                                     # judged against issue 8's targets
    source: Callable[[App], str] = lambda app: ""            # the program, as Markdown
    thread_var: str = "DISTARR_THREADS"                      # how configs' threads are set
    apps: Optional[Tuple[str, ...]] = None                   # only these apps (default: all)
    same_data: bool = False                                  # NumPy's random numbers, NumPy's data

    def runs(self, app: App) -> bool:
        """Whether this layer has rows in `app`'s table."""
        return ((self.apps is None or app.key in self.apps) and
                (app.layers is None or self.key in app.layers))

    def configs_for(self, app: App) -> List[Config]:
        if self.mpi and app.ranks is not None:
            return [c for c in self.configs if c.ranks in app.ranks and c.threads == 1]
        return self.configs


def make_layers(a) -> List[Layer]:
    py = a.python
    kernel = {"uniform": "kernel benchmark: Rust only", "sum": "kernel benchmark: Rust only"}
    rust = lambda app: [os.path.join(a.rust_dir, app.prog)]             # noqa: E731
    rust_src = lambda app: f"`examples/{app.prog}.rs`"                   # noqa: E731
    python = lambda app: [py, os.path.join("bench", "apps", f"{app.prog}.py")]   # noqa: E731
    python_src = lambda app: f"`bench/apps/{app.prog}.py`"               # noqa: E731
    # The checkout's own front end and library (the venv may hold another checkout's, editable).
    python_env = {"DISTARR_NP": "distarr", "DISTARR_MODE": "sequential", "DISTARR_REPORT_COVERAGE": "1",
                  "PYTHONPATH": os.pathsep.join(x for x in [os.path.abspath("python"),
                                                            os.environ.get("PYTHONPATH", "")] if x),
                  "DISTARR_LIBRARY": os.path.abspath(a.library) if a.library else ""}
    layers = [
        Layer("numpy", "NumPy", python, parse_keyvalue, [Config(1)], mpi=False,
              env={"DISTARR_NP": "numpy"}, unavailable=a.numpy_reason, distarr=False, source=python_src),
        Layer("numexpr", "numexpr", lambda app: [py, os.path.join("bench", "apps", f"{app.prog}_numexpr.py")],
              parse_keyvalue, [numexpr_config(1), numexpr_config(2)], mpi=False,
              unavailable=a.numpy_reason or a.numexpr_reason, distarr=False, same_data=True,
              thread_var="NUMEXPR_NUM_THREADS", apps=SEED_APPS + ("chain",),
              source=lambda app: f"`bench/apps/{app.prog}_numexpr.py`"),
        Layer("rust", "distarr Rust", rust, parse_regex(RUST_PATTERNS), DISTARR_CONFIGS, mpi=True,
              unavailable=a.rust_reason, issue8=True, source=rust_src),
        Layer("rust-eager", "distarr Rust, lazy off", rust, parse_regex(RUST_PATTERNS), ONE_TWO, mpi=True,
              env={"DISTARR_LAZY": "0"}, unavailable=a.rust_reason, apps=SEED_APPS + ("chain",),
              source=lambda app: f"{rust_src(app)} with `DISTARR_LAZY=0`"),
        Layer("c", "distarr C", lambda app: [os.path.join(a.c_dir, app.prog)],
              parse_regex(C_PATTERNS), DISTARR_CONFIGS, mpi=True, unavailable=a.c_reason, issue8=True,
              missing={"chain": "Rust and Python only", **kernel},
              source=lambda app: f"`examples/c/{app.prog}.c`"),
        Layer("python", "distarr Python", python, parse_keyvalue, ONE_TWO, mpi=True,
              env=python_env, unavailable=a.numpy_reason or a.python_reason, source=python_src),
        Layer("python-eager", "distarr Python, lazy off", python, parse_keyvalue, ONE_TWO, mpi=True,
              env={**python_env, "DISTARR_LAZY": "0"}, unavailable=a.numpy_reason or a.python_reason,
              apps=("chain",), source=lambda app: f"{python_src(app)} with `DISTARR_LAZY=0`"),
    ]
    return layers


# --- checks: does a run's answer agree with NumPy's? ---------------------------------------------

def rel(x: float, y: float) -> float:
    """|x - y| relative to |y| (absolute when y is 0)."""
    return abs(x - y) / abs(y) if y else abs(x - y)


def check(prog: str, size: int, got: Dict[str, float], ref: Optional[Dict[str, float]],
          same_data: bool = False) -> Tuple[str, str]:
    """("ok" | "DISAGREES", explanation) for one run's result fields against NumPy's. `same_data`:
    the run used NumPy's random numbers (numexpr), so its answer must equal NumPy's up to
    rounding, not only statistically."""
    def need(*names):
        missing = [n for n in names if n not in got]
        if missing:
            raise KeyError(", ".join(missing))

    def verdict(ok: bool, text: str) -> Tuple[str, str]:
        return ("ok" if ok else "DISAGREES", text)
    try:
        if prog == "pi":
            # Different random numbers (distarr's generator is not NumPy's): the hit counts
            # cannot be equal, so each estimate is held to the statistical bound instead.
            need("pi")
            p = math.pi / 4
            bound = 5 * 4 * math.sqrt(p * (1 - p) / size)
            err = abs(got["pi"] - math.pi)
            ok, text = err < bound, f"|π̂ − π| = {err:.1e} {'<' if err < bound else '≥'} 5σ = {bound:.1e}"
            if same_data and ref and "pi" in ref:
                same = abs(got["pi"] - ref["pi"]) <= 1e-12
                ok, text = ok and same, text + f"; {'same' if same else 'NOT the same'} estimate as NumPy's"
            return verdict(ok, text)
        if prog == "stencil":
            # Deterministic: same grid, same operations in the same order (every program prints
            # 13 significant digits); only the mean's summation order differs.
            need("mean")
            if ref is None or "mean" not in ref:
                return ("n/a", "no NumPy result to compare with")
            diff = abs(got["mean"] - ref["mean"])
            tol = 1e-11 * abs(ref["mean"])
            return verdict(diff <= tol, f"mean {got['mean']:.12e} vs NumPy {ref['mean']:.12e} "
                                        f"(|Δ| = {diff:.1e}, tolerance 1e-11 relative)")
        if prog == "nbody":
            # Random initial positions (different generators): compare a conserved quantity.
            # Bodies start at rest, so the total momentum stays zero up to rounding (~1e-18).
            need("momentum")
            ok = got["momentum"] <= 1e-12
            r = f" (NumPy {ref['momentum']:.1e})" if ref and "momentum" in ref else ""
            text = f"|total momentum| {got['momentum']:.1e} {'≤' if ok else '>'} 1e-12{r}"
            if same_data and ref and "kinetic" in ref:
                need("kinetic")
                d = rel(got["kinetic"], ref["kinetic"])
                ok, text = ok and d <= 1e-9, text + f"; kinetic energy within {d:.0e} of NumPy's (≤ 1e-9)"
            return verdict(ok, text)
        if prog == "jacobi":
            if "own_residual" in got:
                # examples/c/jacobi.c solves its own fixed system: it is held to its residual.
                ok = got["own_residual"] < 1e-8
                return verdict(ok, f"own system (not NumPy's): max |A h − b| {got['own_residual']:.1e} "
                                   f"{'<' if ok else '≥'} 1e-8")
            need("iters", "delta", "residual")
            if ref is None or "delta" not in ref or "residual" not in ref:
                return ("n/a", "no NumPy result to compare with")
            if same_data:
                # NumPy's A and b: the same iterates up to rounding.
                dd, dr = rel(got["delta"], ref["delta"]), rel(got["residual"], ref["residual"])
                ok = int(got["iters"]) == int(ref["iters"]) and dd <= 1e-6 and dr <= 1e-6
                return verdict(ok, f"{int(got['iters'])} iterations (NumPy {int(ref['iters'])}), last change "
                                   f"{got['delta']:.3e} and residual {got['residual']:.3e} within {max(dd, dr):.0e} "
                                   "of NumPy's (same A and b; ≤ 1e-6 required)")
            # Random A and b (different generators): same iteration count, and the last change
            # and the residual max|A h - b| within a factor 2 of NumPy's (NumPy over 5 seeds:
            # last change 2.4e-10 ± 3 % at n = 4000 after 20 iterations, 1.6e-4 ± 10 % at n = 200
            # after 5).
            ok = (int(got["iters"]) == int(ref["iters"]) and
                  ref["delta"] / 2 <= got["delta"] <= ref["delta"] * 2 and
                  ref["residual"] / 2 <= got["residual"] <= ref["residual"] * 2)
            return verdict(ok, f"{int(got['iters'])} iterations (NumPy {int(ref['iters'])}), last change "
                               f"{got['delta']:.1e} (NumPy {ref['delta']:.1e}), residual {got['residual']:.1e} "
                               f"(NumPy {ref['residual']:.1e}), both within 2× required")
        if prog == "chain":
            # Uniform inputs: the mean of y within 5σ of its expectation; with NumPy's inputs,
            # NumPy's mean up to rounding.
            need("mean")
            bound = 5 * CHAIN_STD / math.sqrt(size)
            err = abs(got["mean"] - CHAIN_MEAN)
            ok = err < bound
            text = f"|mean − E[y]| = {err:.1e} {'<' if ok else '≥'} 5σ = {bound:.1e}"
            if same_data and ref and "mean" in ref:
                d = rel(got["mean"], ref["mean"])
                ok, text = ok and d <= 1e-12, text + f"; NumPy's mean within {d:.0e} (≤ 1e-12)"
            return verdict(ok, text)
        if prog == "uniform":
            # Different generators: the mean of N uniforms within 5σ of 1/2.
            need("mean")
            bound = 5 * math.sqrt(1 / 12 / size)
            err = abs(got["mean"] - 0.5)
            return verdict(err < bound, f"|mean − 1/2| = {err:.1e} {'<' if err < bound else '≥'} 5σ = {bound:.1e}")
        if prog == "sum":
            need("sum")
            bound = 5 * math.sqrt(size / 12)
            err = abs(got["sum"] - size / 2)
            return verdict(err < bound, f"|sum − N/2| = {err:.1e} {'<' if err < bound else '≥'} 5σ = {bound:.1e}")
    except KeyError as e:
        return ("DISAGREES", f"result field(s) missing from the output: {e}")
    return ("n/a", "no check for this app")


CHECK_RULES = {
    "pi": "each estimate within 5σ of π (σ = 4·sqrt(p(1−p)/N), p = π/4); the hit counts differ "
          "from NumPy's because the random numbers do (numexpr: NumPy's darts, so the same estimate)",
    "stencil": "mean temperature equal to NumPy's within 1e-11 relative (every program prints 13 "
               "significant digits; same grid and operations, only the mean's summation order differs)",
    "stencil4k": "as stencil",
    "nbody": "|total momentum| ≤ 1e-12 (conserved, zero from the start; the initial positions differ "
             "from NumPy's because the random numbers do; numexpr: NumPy's bodies, so also the kinetic "
             "energy within 1e-9 of NumPy's)",
    "jacobi": "Rust and Python: same iteration count as NumPy, and the last change and the residual "
              "max|A h − b| within 2× of NumPy's (random A and b differ; numexpr: NumPy's A and b, "
              "both within 1e-6 relative); C: its own fixed system, max residual |A h − b| < 1e-8",
    "chain": "mean of y within 5σ of its expectation 5/8 − (3/4)·ln 2 (σ = 0.301/sqrt(N); the "
             "inputs differ from NumPy's because the random numbers do; numexpr: NumPy's inputs, so "
             "NumPy's mean within 1e-12 relative)",
    "uniform": "mean of the N uniforms within 5σ of 1/2 (the generators differ)",
    "sum": "sum of N uniforms within 5σ of N/2 (the data differ: the generators do)",
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
    rss: Dict[int, int] = field(default_factory=dict)        # rank -> peak RSS (KiB), max over runs
    base_rss: Dict[int, int] = field(default_factory=dict)   # the chain's baseline run (KiB)
    fallbacks: List[str] = field(default_factory=list)       # Python: NumPy fallbacks used
    argv: List[str] = field(default_factory=list)            # the command and its environment
    env: Dict[str, str] = field(default_factory=dict)
    done: bool = False        # no further run (an error, or a run of repeat_below s or more)

    @property
    def best(self) -> Optional[float]:
        return min(self.times) if self.times else None

    def rss_text(self) -> str:
        """`max rank / all ranks` in MiB (one number for one process)."""
        if not self.rss:
            return "n/a"
        top, total = max(self.rss.values()) / 1024, sum(self.rss.values()) / 1024
        return f"{top:.0f}" if len(self.rss) == 1 else f"{top:.0f} / {total:.0f}"

    def arrays_at_peak(self, n: int, ranks: int) -> Optional[float]:
        """The chain: peak RSS above the baseline run's, in arrays of n doubles per rank (the
        largest rank's share of a block-distributed array), on the rank with the highest peak."""
        if not self.rss or not self.base_rss:
            return None
        share = 8 * -(-n // ranks) / 1024       # KiB
        return max(self.rss[r] - self.base_rss.get(r, 0) for r in self.rss) / share


class Runner:
    def __init__(self, a):
        self.a = a
        self.log_dir = os.path.join(a.raw, "logs")
        os.makedirs(self.log_dir, exist_ok=True)

    def run(self, argv: List[str], env: Dict[str, str], log: str) -> Tuple[int, str, str]:
        """Runs argv under `timeout`; returns (status, stdout, stderr). Status 124: timed out.
        The two streams are read apart: mpirun forwards each rank's stdout and stderr in chunks
        of its own and may join a line of one to the other."""
        full = ["timeout", "--signal=TERM", "--kill-after=10", str(self.a.timeout)] + argv
        e = dict(os.environ)
        e.update(env)
        try:
            p = subprocess.run(full, env=e, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=self.a.timeout + 60)
            status, out, err = p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
        except subprocess.TimeoutExpired as ex:
            status = 124
            out, err = ((x or b"").decode(errors="replace") for x in (ex.stdout, ex.stderr))
        except OSError as ex:
            status, out, err = 127, "", f"cannot run {argv[0]}: {ex}"
        with open(os.path.join(self.log_dir, log), "w") as f:
            f.write("$ " + " ".join(shlex.quote(x) for x in full) + "\n")
            for k, v in sorted(env.items()):
                f.write(f"# {k}={v}\n")
            f.write("# --- stdout ---\n" + out)
            f.write("\n# --- stderr ---\n" + err)
            f.write(f"\n# exit status {status}\n")
        return status, out, err

    def argv(self, app: App, layer: Layer, cfg: Config, args: List[str]) -> List[str]:
        """The command line of one run: the program under bench/apps/peakrss.py, under mpirun for
        the MPI layers."""
        argv = [sys.executable, os.path.join("bench", "apps", "peakrss.py")] + layer.command(app) + args
        if layer.mpi:
            # Threads need cores: Open MPI binds each rank to one core by default (np <= 2).
            bind = ["--bind-to", "none"] if cfg.threads > 1 and "mpich" not in self.a.mpirun else []
            argv = [self.a.mpirun, "-n", str(cfg.ranks)] + bind + argv
        return argv

    def cells(self, app: App, configs: List[Tuple[Layer, Config]], reps: int) -> List[Cell]:
        """The cells of `app` in `configs`, each the best of up to `reps` runs. The runs go
        round the configurations (run 1 of each, then run 2 ...): a slower spell of the
        machine (another job, another tenant of the host) then falls on every configuration
        alike instead of on the ones measured during it, which would skew their ratios."""
        cells = [self.start(app, layer, cfg) for layer, cfg in configs]
        for rep in range(reps):
            for (layer, cfg), c in zip(configs, cells):
                if not c.done:
                    self.run_once(app, layer, cfg, c, rep)
        for (layer, cfg), c in zip(configs, cells):
            if app.kind == "chain" and c.times:
                # The same program on CHAIN_BASELINE elements: what the process holds besides
                # the arrays (interpreter, libraries, MPI, the heap's first segment).
                args = [str(CHAIN_BASELINE)] + app.args(self.a.quick)[1:]
                log = f"{app.key}-{layer.key}-n{cfg.ranks}-t{cfg.threads}-baseline.log"
                status, _, err = self.run(self.argv(app, layer, cfg, args), c.env, log)
                if status == 0:
                    c.base_rss = parse_rss(err)
        return cells

    def start(self, app: App, layer: Layer, cfg: Config) -> Cell:
        """The cell of (`app`, `layer`, `cfg`) before its runs: its command, or why it has none."""
        c = Cell()
        if layer.unavailable:
            c.error, c.done = layer.unavailable, True
            return c
        if app.key in layer.missing:
            c.error, c.done = layer.missing[app.key], True
            return c
        c.argv = self.argv(app, layer, cfg, app.args(self.a.quick))
        c.env = dict(layer.env)
        if layer.distarr or layer.thread_var != "DISTARR_THREADS":
            c.env[layer.thread_var] = str(cfg.threads)
        c.command = " ".join(f"{k}={v}" for k, v in sorted(c.env.items())) + " " + " ".join(c.argv)
        return c

    def run_once(self, app: App, layer: Layer, cfg: Config, c: Cell, rep: int) -> None:
        """Run `rep` (from 0) of cell `c`; marks it done after an error or a run of
        `repeat_below` seconds or more."""
        log = f"{app.key}-{layer.key}-n{cfg.ranks}-t{cfg.threads}-{rep + 1}.log"
        status, out, err = self.run(c.argv, c.env, log)
        c.done = True
        if status == 124:
            c.error = f"timeout (> {self.a.timeout} s)"
            return
        if status != 0:
            tail = " | ".join((out + "\n" + err).strip().splitlines()[-2:])[:300]
            c.error = f"exit status {status}: {tail}"
            return
        try:
            res = layer.parse(app.prog, out)
        except (ValueError, KeyError) as ex:
            c.error = f"unparsable output ({ex}); see {log}"
            return
        c.times.append(res["seconds"])
        c.result = {k: v for k, v in res.items() if k != "seconds"}
        for r, kib in parse_rss(err).items():
            c.rss[r] = max(c.rss.get(r, 0), kib)
        c.fallbacks = sorted(set(c.fallbacks) | set(parse_fallbacks(err)))
        label = cfg.label(self.a.cores, layer.mpi)
        print(f"bench-apps:   {app.key:9s} {layer.label:24s} {label:28s} "
              f"run {rep + 1}: {res['seconds']:.3f} s, peak RSS {c.rss_text()} MiB", flush=True)
        c.done = res["seconds"] >= self.a.repeat_below


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
        status, text, _ = r.run(argv, {}, log)
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


# Issue 10's cost of a recorded operation: python/bench/recorded_ops.py --lines, sequential mode.
RECORDED_RANKS = 2
RECORDED_GOAL_US = 3.0
RECORDED_LOOPS = {"add": "`c = a + b`", "iadd": "`a += 1.0`", "chain": "chain of 5"}


def run_recorded(r: Runner, layers: List[Layer]) -> Dict:
    """Runs `python/bench/recorded_ops.py --lines` at RECORDED_RANKS ranks in sequential mode
    with the Python layer's environment: {"rows": [{loop, n, deferred, flush_median, ...}],
    "error": why there are none, "command": ...}."""
    a = r.a
    py = layers_by_key(layers).get("python")
    rec: Dict = {"rows": [], "error": "", "command": ""}
    if py is None or py.unavailable:
        rec["error"] = py.unavailable if py else "no Python layer"
        return rec
    env = dict(py.env, OPS="200" if a.quick else "1000", REPS="3" if a.quick else "21")
    env.pop("DISTARR_REPORT_COVERAGE", None)
    argv = [a.mpirun, "-n", str(RECORDED_RANKS), a.python,
            os.path.join("python", "bench", "recorded_ops.py"), "--lines"]
    rec["command"] = " ".join(f"{k}={v}" for k, v in sorted(env.items())) + " " + " ".join(argv)
    status, out, _ = r.run(argv, env, "recorded-ops.log")
    if status != 0:
        rec["error"] = "timeout" if status == 124 else f"exit status {status} (see recorded-ops.log)"
        return rec
    for line in out.splitlines():
        if line.startswith("recorded: "):
            kv = dict(w.split("=", 1) for w in line.split()[1:])
            rec["rows"].append({k: (v if k == "loop" else float(v)) for k, v in kv.items()})
    if not rec["rows"]:
        rec["error"] = "no result lines (see recorded-ops.log)"
    for row in rec["rows"]:
        if row["deferred"]:
            print(f"bench-apps:   recorded {row['loop']:6s} n={row['n']:<5.0f} "
                  f"{row['flush_median']:.2f} us per operation (median)", flush=True)
    return rec


# --- the report --------------------------------------------------------------------------------

def esc(text: str) -> str:
    """Text for a Markdown table cell (a `|` would end the cell)."""
    return text.replace("|", "\\|")


def fmt_t(t: Optional[float]) -> str:
    if t is None:
        return "n/a"
    if t < 0.01:
        return f"{t:.1e}"        # quick runs: 3 decimals would print 0.000
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


def speedup(ref: Optional[Cell], c: Optional[Cell]) -> Optional[float]:
    """ref's time / c's time (above 1: c is faster); None unless both have a time above 0."""
    if ref is None or c is None or not ref.best or not c.best or ref.best <= 0 or c.best <= 0:
        return None
    return ref.best / c.best


def missing_why(*cells: Optional[Cell]) -> str:
    """Why no ratio of these cells' times can be given."""
    for x in cells:
        if x is None:
            return "not run"
        if x.best is None:
            return x.error or "no time"
        if x.best <= 0:
            return "a time of 0 (below the program's printed resolution at this size)"
    return "no time"


def ratio_text(ref: Optional[Cell], c: Optional[Cell], unit: str = "") -> Tuple[Optional[float], str]:
    """(ref time / c time, its text: `1.23×` and unit, or `n/a (why)`)."""
    s = speedup(ref, c)
    return s, (f"{fmt_x(s)}{unit}" if s is not None else f"n/a ({missing_why(c, ref)})")


def verdict(ok: Optional[bool]) -> str:
    return "n/a" if ok is None else ("met" if ok else "**missed**")


def at_least(x: Optional[float], goal: Optional[float]) -> str:
    return verdict(None if x is None or goal is None else x >= goal)


def plural(ranks: int) -> str:
    return f"{ranks} rank{'s' if ranks > 1 else ''}"


def targets(a, layers: List[Layer], results, stream) -> List[Tuple[str, str, str]]:
    """Issue 8's targets, per seed app and distarr layer (Rust, C): (target, measured, verdict)."""
    rows = []
    ratio = bw_ratio(stream, "add")
    for app in [x for x in a.apps if x in SEED_APPS]:
        kind = APPS[app].kind
        ref = results[app].get(("numpy", 1, 1))
        for layer in layers:
            if not layer.issue8:
                continue
            def get(ranks, threads=1):
                return results[app].get((layer.key, ranks, threads))
            one, two, thr = get(1), get(2), get(1, 2)
            if one is None:
                continue
            if app in layer.missing:
                rows.append((f"{app}, {layer.label}", f"n/a: {layer.missing[app]}", "n/a"))
                continue
            s1, m1 = ratio_text(ref, one)
            rows.append((f"{app}, {layer.label}, 1 rank ≥ 0.9× NumPy", m1, at_least(s1, 0.9)))
            if kind == "compute":
                goal, what = 1.7, "≥ 1.7× NumPy"
            else:
                goal = None if ratio is None else 0.9 * ratio
                what = (f"≥ 0.9 × bandwidth ratio {ratio:.2f} = {goal:.2f}× NumPy" if goal
                        else "≥ 0.9 × the 2:1 bandwidth ratio (not measured)")
            s2, m2 = ratio_text(ref, two)
            rows.append((f"{app}, {layer.label}, 2 ranks {what}", m2, at_least(s2, goal)))
            rows.append((f"{app}, {layer.label}: 1 rank × 2 threads vs 2 ranks × 1 thread (no target)",
                         f"{fmt_x(speedup(ref, thr))} vs {fmt_x(s2)} NumPy", "—"))
    return rows


def kernel_targets(a, layers: List[Layer], results, stream) -> List[Tuple[str, str, str]]:
    """Issue 8's kernel targets: random numbers at least 0.7× NumPy's speed; the reproducible
    sum's cost against NumPy's pairwise sum (reported, no target)."""
    rows = []
    for app in [x for x in a.apps if APPS[x].kind == "kernel"]:
        ref = results[app].get(("numpy", 1, 1))
        for ranks in (1, 2):
            s, m = ratio_text(ref, results[app].get(("rust", ranks, 1)))
            if app == "uniform":
                rows.append((f"random_uniform 1e8, distarr Rust, {plural(ranks)} ≥ 0.7× NumPy default_rng().random",
                             m, at_least(s, 0.7) if ranks == 1 else "—"))
            else:
                rows.append((f"reproducible sum 1e8, distarr Rust, {plural(ranks)} vs NumPy x.sum() "
                             "(cost of reproducibility; no target)", m, "—"))
    return rows


def python_targets(a, layers: List[Layer], results, stream) -> List[Tuple[str, str, str]]:
    """Issue 9's targets: each app through Python (sequential mode) at ≥ 0.9× the speed of the
    same app's Rust example at the same rank count; the stencil at 4000², 40 steps, 2 ranks ≥
    0.9 × the 2:1 bandwidth ratio faster than NumPy."""
    rows = []
    for app in a.apps:
        for ranks in (1, 2):
            py, rust = results[app].get(("python", ranks, 1)), results[app].get(("rust", ranks, 1))
            if py is None or rust is None:
                continue
            s, m = ratio_text(rust, py)
            if s is not None:
                m += f" (Python {fmt_t(py.best)} s, Rust {fmt_t(rust.best)} s)"
            rows.append((f"{app}, distarr Python, {plural(ranks)} ≥ 0.9× the speed of distarr Rust", m,
                         at_least(s, 0.9)))
    if "stencil4k" in a.apps:
        ratio = bw_ratio(stream, "add")
        ref, py = results["stencil4k"].get(("numpy", 1, 1)), results["stencil4k"].get(("python", 2, 1))
        goal = 0.9 * ratio if ratio else None
        what = (f"0.9 × bandwidth ratio {ratio:.2f} = {goal:.2f}× NumPy" if goal
                else "0.9 × the 2:1 bandwidth ratio (not measured)")
        s, m = ratio_text(ref, py, " NumPy")
        rows.append((f"stencil {APPS['stencil4k'].size_text(a.quick)}, distarr Python, 2 ranks ≥ {what}",
                     m, at_least(s, goal)))
    return rows


def fusion_targets(a, layers: List[Layer], results, stream) -> List[Tuple[str, str, str]]:
    """Issue 10's targets, for each distarr layer with deferred execution (Rust, C, Python): the
    stencil at 2 ranks ≥ 1.1× numexpr with 2 threads and at 1 rank ≥ numexpr with 1 thread; π at
    2 ranks ≥ 1.9× NumPy; N-body and Jacobi at 2 ranks ≥ 1.1× numexpr with 2 threads; the fused
    chain with no array-sized temporary (peak RSS); deferred against eager (no target)."""
    rows = []
    goals = {"stencil": [(2, 2, 1.1), (1, 1, 1.0)], "nbody": [(2, 2, 1.1)], "jacobi": [(2, 2, 1.1)]}
    lazy_layers = [x for x in layers if x.key in ("rust", "c", "python")]
    for app in [x for x in a.apps if x in SEED_APPS]:
        ref = results[app].get(("numpy", 1, 1))
        for layer in lazy_layers:
            if app in layer.missing or not layer.runs(APPS[app]):
                continue
            if app == "pi":
                s, m = ratio_text(ref, results[app].get((layer.key, 2, 1)), " NumPy")
                rows.append((f"pi, {layer.label}, 2 ranks ≥ 1.9× NumPy", m, at_least(s, 1.9)))
                continue
            for ranks, threads, goal in goals[app]:
                c = results[app].get((layer.key, ranks, 1))
                ne = results[app].get(("numexpr", 1, threads))
                s, m = ratio_text(ne, c, " numexpr")
                if s is not None:
                    m += f" ({fmt_x(speedup(ref, c))} vs {fmt_x(speedup(ref, ne))} NumPy)"
                ge = "≥ numexpr" if goal == 1.0 else f"≥ {goal:g}× numexpr"
                rows.append((f"{app}, {layer.label}, {plural(ranks)} {ge} with {threads} "
                             f"thread{'s' if threads > 1 else ''}", m, at_least(s, goal)))
    if "chain" in a.apps:
        n = int(APPS["chain"].args(a.quick)[0])
        for layer in [x for x in layers if x.key in ("rust", "python")]:
            for ranks in (1, 2):
                c = results["chain"].get((layer.key, ranks, 1))
                k = c.arrays_at_peak(n, ranks) if c else None
                m = (f"{k:.2f} arrays of n at the peak (3 inputs + y = 4)" if k is not None
                     else f"n/a ({missing_why(c)}{'; no baseline run' if c and c.best else ''})")
                rows.append((f"chain, {layer.label}, {plural(ranks)}: no array-sized temporary "
                             "(peak RSS ≤ 4.5 arrays of n above start-up)", m,
                             verdict(None if k is None else k <= 4.5)))
    rec = a.recorded_result
    if rec is not None:
        deferred = [x for x in rec["rows"] if x["deferred"]]
        what = (f"Python, sequential mode, {RECORDED_RANKS} ranks: ≤ {RECORDED_GOAL_US:g} µs per "
                "recorded operation amortised (loops then `flush()`, median)")
        if deferred:
            worst = max(deferred, key=lambda x: x["flush_median"])
            sync = max(x["sync_median"] for x in deferred)
            m = (f"{worst['flush_median']:.2f} µs in the slowest loop ({RECORDED_LOOPS[worst['loop']]}, "
                 f"n = {worst['n']:.0f}); {sync:.2f} µs with the other ranks' replay at a "
                 "following `sync()` (see [Recorded operations](#recorded-operations))")
            rows.append((what, m, verdict(worst["flush_median"] <= RECORDED_GOAL_US)))
        else:
            rows.append((what, f"n/a ({rec['error']})", verdict(None)))
    by_key = layers_by_key(layers)
    for app in [x for x in a.apps if x in SEED_APPS + ("chain",)]:
        for lazy, eager in (("rust", "rust-eager"), ("python", "python-eager")):
            if lazy not in by_key or eager not in by_key or not by_key[eager].runs(APPS[app]):
                continue
            for ranks in (1, 2):
                on, off = results[app].get((lazy, ranks, 1)), results[app].get((eager, ranks, 1))
                if on is None or off is None:
                    continue
                _, m = ratio_text(off, on, " (`DISTARR_LAZY=0` time / deferred time)")
                rows.append((f"{app}, {by_key[lazy].label}, {plural(ranks)}: deferred vs "
                             "`DISTARR_LAZY=0` (no target)", m, "—"))
    return rows


def layers_by_key(layers: List[Layer]) -> Dict[str, Layer]:
    return {x.key: x for x in layers}


# (heading, explanation, rules): the report's target tables, in order.
TARGET_SECTIONS = [
    ("Targets (issue 8)",
     "Ratios to NumPy on 1 process in this run. Memory-bound apps at 2 ranks are judged against "
     "0.9 × the 2-to-1-process bandwidth ratio of the STREAM add kernel (the apps' operations are "
     "binary element-wise ufuncs) measured below.",
     [targets, kernel_targets]),
    ("Targets (issue 9: Python)",
     "The NumPy programs of `bench/apps/` unchanged but for the import (`DISTARR_NP=distarr`: "
     "`import distarr as np`), sequential mode, against the Rust examples at the same rank count "
     "(speed ratio = Rust time / Python time) and, for issue 9's named case (the stencil at "
     "4000², 40 steps), against NumPy.",
     [python_targets]),
    ("Targets (issue 10: deferred execution and fusion)",
     "numexpr (`bench/apps/*_numexpr.py`: the same apps with `numexpr.evaluate` for the fused "
     "element-wise expressions, NumPy for the rest) is the reference for fusion; ratios are "
     "numexpr time / distarr time. The same targets apply to the Python rows (\"the same rows "
     "through Python\"). The fused chain's peak memory is measured per rank with "
     "`bench/apps/peakrss.py` (see the chain's table).",
     [fusion_targets]),
]


def write_report(a, layers, results, stream, facts, elapsed):
    doc = []
    w = doc.append
    w("# distarr application benchmark\n")
    w("Generated by `bash scripts/bench-apps.sh` (do not edit by hand; re-run it instead). The four seed "
      "applications run side by side in one run on one machine: written once in plain NumPy "
      "(`bench/apps/*.py`, 1 process), with numexpr for their fused expressions "
      "(`bench/apps/*_numexpr.py`, 1 process, 1 and 2 threads), as distarr's Rust examples "
      "(`examples/*.rs`, deferred execution on and off) and C examples (`examples/c/*.c`) at 1-4 ranks, "
      "and as the NumPy programs themselves through `import distarr as np` (sequential mode, 1 and 2 "
      "ranks), same algorithm and sizes; plus a fused chain of element-wise operations (time and peak "
      "memory), issue 9's larger stencil, two engine kernels, and the cost of a recorded operation "
      "through Python. Each time is the program's own timing "
      "of its timed loop up to the value it prints (set-up and start-up excluded; distarr defers "
      "element-wise work until a value is needed, so the clock stops after the reduction that "
      "gives the answer, in every version), the **best** of up to "
      f"{a.reps} run(s) (a configuration whose run takes {a.repeat_below:g} s or more is run once; "
      "an app's runs go round its configurations, run 1 of each, then run 2 …, so that a slower "
      "spell of the machine falls on all of them alike); "
      "**speed-up = NumPy time / distarr time** (above 1: distarr is faster). Peak RSS is each "
      "process's high-water mark (`bench/apps/peakrss.py`). The STREAM-like bandwidth measured in "
      "the same run is the ceiling for the memory-bound apps (stencil, Jacobi). A full run takes "
      "about 15-20 minutes on the 2-core machine (see below for this one).\n")
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

    for heading, text, rules in TARGET_SECTIONS:
        w(f"## {heading}\n")
        w(text + "\n")
        w("| target | measured | |")
        w("|---|---|---|")
        for rule in rules:
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
      f"distarr run (rows × 2 threads: the engine's worker pool), `NUMEXPR_NUM_THREADS` for numexpr. "
      f"Ranks × threads above the {a.cores} cores are marked oversubscribed. Peak RSS: the largest "
      "process's high-water mark and the sum over the processes (MPI shared-memory pages count for "
      "every process that touched them), MiB, the largest over the runs. Check: does the answer "
      "agree with NumPy's (see [Correctness](#correctness)).\n")
    for app in a.apps:
        A = APPS[app]
        n = int(A.args(a.quick)[0])
        chain = A.kind == "chain"
        w(f"### {app}: {A.title}, {A.size_text(a.quick)}\n")
        for layer in layers:
            if not layer.runs(A):
                continue
            src = layer.source(A)
            if app in layer.missing:
                w(f"- {layer.label}: n/a — {layer.missing[app]}")
            elif src:
                w(f"- {layer.label}: {src}")
        w("")
        if chain:
            w(f"Arrays at the peak: (peak RSS − the same program's peak on {CHAIN_BASELINE} elements) "
              "/ (one rank's share of an array of n doubles), on the rank with the highest peak. "
              "Three inputs and the result `y` make 4; every temporary held at once adds 1. The "
              "baseline run's heap (its first segment) is counted in the baseline, so distarr's "
              "figures can be a little below 4.\n")
            w("| layer | ranks | time (s) | runs | speed-up vs NumPy | peak RSS (MiB) | arrays at the peak | check |")
            w("|---|---|---:|---:|---:|---:|---:|---|")
        else:
            w("| layer | ranks | time (s) | runs | speed-up vs NumPy | peak RSS (MiB) | check |")
            w("|---|---|---:|---:|---:|---:|---|")
        ref = results[app].get(("numpy", 1, 1))
        extra = " n/a |" if chain else ""
        for layer in layers:
            if not layer.runs(A):
                continue
            if app in layer.missing or layer.unavailable:
                why = layer.missing.get(app) or layer.unavailable
                w(f"| {layer.label} | all | n/a | 0 | n/a | n/a |{extra} {esc(why)} |")
                continue
            for cfg in layer.configs_for(A):
                c = results[app].get((layer.key, cfg.ranks, cfg.threads))
                if c is None:
                    continue
                label = cfg.label(a.cores, layer.mpi)
                if c.best is None:
                    w(f"| {layer.label} | {label} | n/a | 0 | n/a | n/a |{extra} {esc(c.error)} |")
                    continue
                bad = c.check[0] == "DISAGREES"
                mark = " ✗" if bad else ""
                sp = "1 (reference)" if layer.key == "numpy" else fmt_x(speedup(ref, c))
                chk = ("**DISAGREES**: " if bad else f"{c.check[0]}: ") + c.check[1]
                if c.fallbacks:
                    chk += "; NumPy fallback used: " + ", ".join(c.fallbacks)
                if c.error:
                    chk += f"; stopped: {c.error}"
                k = c.arrays_at_peak(n, cfg.ranks) if chain else None
                more = (f" {k:.2f} |" if k is not None else " n/a |") if chain else ""
                w(f"| {layer.label} | {label} | {fmt_t(c.best)}{mark} | {len(c.times)} | {sp}{mark} | "
                  f"{c.rss_text()} |{more} {esc(chk)} |")
        w("")

    rec = a.recorded_result
    if rec is not None:
        w("## Recorded operations\n")
        w(f"`python/bench/recorded_ops.py` at {RECORDED_RANKS} ranks, sequential mode: loops of "
          "element-wise operations on arrays of n elements (1 and 8: on rank 0, as distarr places "
          "small arrays; 4096: distributed), then `distarr.flush()`; microseconds per operation, "
          "median and best of the runs. *flush*: the loop and its flush, what the program waits "
          "for; *+ sync*: then `distarr.sync()` too (the other ranks replay the batch of commands "
          "they receive there). Deferred execution on, and off (`distarr.set_lazy(False)`).\n")
        if rec["command"]:
            w(f"Command: `{rec['command']}`\n")
        if rec["error"]:
            w(f"n/a: {esc(rec['error'])}\n")
        w("| loop | n | deferred: flush | deferred: + sync | at once: flush | at once: + sync | messages |")
        w("|---|---:|---:|---:|---:|---:|---:|")
        by = {(x["loop"], x["n"], x["deferred"]): x for x in rec["rows"]}
        for key, label in RECORDED_LOOPS.items():
            for n in sorted({x["n"] for x in rec["rows"] if x["loop"] == key}):
                on, off = by.get((key, n, 1.0)), by.get((key, n, 0.0))
                cell = lambda x, k: f"{x[k + '_median']:.2f} / {x[k + '_best']:.2f}" if x else "n/a"  # noqa: E731
                msgs = "/".join(f"{x['messages']:.0f}" for x in (on, off) if x)
                w(f"| {label} | {n:.0f} | {cell(on, 'flush')} | {cell(on, 'sync')} | {cell(off, 'flush')} "
                  f"| {cell(off, 'sync')} | {msgs} |")
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
    w("- Timing: every program's clock stops after the value it prints is computed (the stencil's "
      "mean, the N-body's momentum, Jacobi's last change, π's count, the chain's sum; the C Jacobi, "
      "which has no value in its loop, ends it with `distarr_barrier()`), because distarr defers "
      "element-wise operations and runs them, fused, when a value is needed (a reduction, a gather, "
      "`sync`/`barrier`, `distarr::arrays::flush`). `bench/apps/uniform.py` reads one element "
      "(free in NumPy) so that distarr's Python rows include the generation. The clocks start "
      "after the set-up has run: the Rust examples with deferred set-up (Jacobi, N-body, the chain) "
      "call `rt.barrier()` first, the Python programs take a value of it (Jacobi `sum(b)`, N-body "
      "`sum(m)`, the chain the inputs' sums; free in NumPy), as a user timing a lazy library does.")
    w("- The C Jacobi (`examples/c/jacobi.c`) solves a fixed system (`a_ij = 1/(1+|i-j|)`, `2n` on the "
      "diagonal, `diag(A)` a separate array) with 5 operations per iteration and no convergence test; "
      "the Rust example and NumPy compute the change `max|h_new − h|` every iteration (two more "
      "O(n) operations and a reduction to a scalar). The O(n²) work per iteration (`A * h` and its row "
      "sums) is the same. Every Jacobi program prints the residual `max|A h − b|` after the clock "
      "stops (`A @ h`, through `matmul`).")
    w("- The Rust and C stencils add into one preallocated array each step (`out=`); the NumPy "
      "program makes temporaries, as a NumPy user writes it, and so do its Python rows (the same "
      "program).")
    w("- numexpr (`bench/apps/*_numexpr.py`, NumPy's random numbers, so its answers must equal "
      "NumPy's): the stencil's 5-point average is one `ne.evaluate` into a work array allocated once "
      "(`out=`), copied into the grid with NumPy (it cannot be written in place: the neighbours are "
      "still being read); "
      "π's `x*x + y*y <= 1.0` is one expression, the count NumPy's; N-body and Jacobi put their "
      "axis reductions inside the expression (`sum(dx * dx, axis=2)`, `sum(dx * w3, axis=1)`, "
      "`sum(A * h, axis=1)`: no n×n(×3) temporary), which numexpr runs on one thread; the (n, 3) "
      "updates stay NumPy. Threads: `NUMEXPR_NUM_THREADS`.")
    w("- distarr Python: `bench/apps/*.py` with `DISTARR_NP=distarr` under `mpirun -n R` in sequential "
      "mode (rank 0 runs the program, the other ranks serve it), with this checkout's front end "
      "(`PYTHONPATH=python`) and library (`DISTARR_LIBRARY`) and `DISTARR_REPORT_COVERAGE=1`: a "
      "NumPy function the front end lacks would run on gathered data and is named in the check "
      "column.")
    w("- Lazy off: the Rust examples (and the chain through Python) with `DISTARR_LAZY=0`: every "
      "operation runs when called, into a new array where the program asks for one.")
    w(f"- The fused chain (`bench/apps/chain.py`, `chain_numexpr.py`, `examples/chain.rs`): three "
      f"inputs of n doubles, summed once before the clock starts (so they exist); each evaluation "
      "computes `y` (8 operations) and its sum. NumPy makes a temporary per operation and reuses "
      "dying ones in place (its temporary elision), so about 2 are alive at once; numexpr "
      "evaluates in blocks into `y`; distarr, deferring, runs the 8 operations as one pass at the "
      "sum and never allocates the temporaries (Rust); with `DISTARR_LAZY=0` every temporary of "
      "the Rust function is alive until it returns. Peak RSS counts pages touched: memory a "
      "process freed and reuses counts once.")
    w("- Sizes: chosen so that NumPy on 1 process takes 0.5-5 s here (quiet machine, NumPy 1.24: "
      "π 0.81 s, stencil ~1.05 s, N-body 0.85-0.88 s, Jacobi 0.77 s); the Rust and C programs get "
      "the same sizes on their command lines. stencil4k is issue 9's named case (4000², 40 "
      "steps), run by NumPy, Rust and Python at 1 and 2 ranks.")
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
    p.add_argument("--numexpr-reason", default="", help="why numexpr cannot run (empty: it can)")
    p.add_argument("--python-reason", default="", help="why `import distarr` cannot run (empty: it can)")
    p.add_argument("--library", default="", help="libdistarr.so for the Python rows (DISTARR_LIBRARY)")
    p.add_argument("--stream-bin", default="")
    p.add_argument("--stream-reason", default="")
    p.add_argument("--mpirun", default=os.environ.get("DISTARR_MPIRUN", "mpirun"))
    p.add_argument("--facts", default="", help="JSON list of [name, value] lines for the report")
    p.add_argument("--started", type=float, default=0.0, help="epoch seconds when the script began")
    p.add_argument("--no-recorded", action="store_true",
                   help="skip python/bench/recorded_ops.py (issue 10's cost of a recorded operation)")
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
        configs = [(layer, cfg) for layer in layers if layer.runs(APPS[app])
                   for cfg in layer.configs_for(APPS[app])]
        for (layer, cfg), c in zip(configs, runner.cells(APPS[app], configs, a.reps)):
            results[app][(layer.key, cfg.ranks, cfg.threads)] = c
        ref = results[app].get(("numpy", 1, 1))
        size = int(APPS[app].args(a.quick)[0])
        same = {x.key for x in layers if x.same_data}
        for (lk, _, _), c in results[app].items():
            if c.times:
                c.check = check(APPS[app].prog, size, c.result, ref.result if ref and ref.times else None,
                                same_data=lk in same)
                if c.check[0] == "DISAGREES":
                    print(f"bench-apps: !!! {app} {lk}: answer DISAGREES with NumPy: {c.check[1]}", flush=True)
    a.recorded_result = None
    if not a.no_recorded:
        print(f"bench-apps: recorded operations (Python, {RECORDED_RANKS} ranks)", flush=True)
        a.recorded_result = run_recorded(runner, layers)
    print("bench-apps: STREAM, after the apps", flush=True)
    stream = run_stream(runner, "after", stream)

    load_after = open("/proc/loadavg").read().split()[:3]
    uptime_after = subprocess.run(["uptime"], stdout=subprocess.PIPE, text=True).stdout.strip()
    facts = json.loads(a.facts) if a.facts else []
    facts.append(["load average (1/5/15 min) before the runs", " ".join(load_before) +
                  f"; after: {' '.join(load_after)} (above ~0.5, other work shared the cores: "
                  "treat small differences as noise)"])
    facts.append(["`uptime` before / after", f"`{uptime_before}` / `{uptime_after}`"])
    facts.append(["repetitions", f"best of up to {a.reps}, taken round each app's configurations; "
                  f"not repeated once a run takes ≥ {a.repeat_below:g} s; timeout {a.timeout} s per run"])
    elapsed = time.time() - a.started if a.started else 0.0
    write_report(a, layers, results, stream, facts, elapsed)

    record = {
        "quick": a.quick, "reps": a.reps, "facts": facts, "stream": stream,
        "apps": {app: {"size": APPS[app].args(a.quick),
                       "runs": [{"layer": lk, "ranks": r, "threads": t, "times": c.times,
                                 "best": c.best, "median": statistics.median(c.times) if c.times else None,
                                 "result": c.result, "error": c.error, "check": list(c.check),
                                 "peak_rss_kib": c.rss, "baseline_rss_kib": c.base_rss,
                                 "fallbacks": c.fallbacks, "command": c.command}
                                for (lk, r, t), c in results[app].items()]}
                 for app in a.apps},
        "recorded": a.recorded_result,
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

"""A fused chain: k = 8 element-wise operations on three arrays of N doubles, consumed by a
reduction, the way a NumPy user writes it (the benchmark's NumPy version of examples/chain.rs).
It measures what fusion saves: time, and memory (the benchmark records each run's peak RSS).

    python bench/apps/chain.py [N] [STEPS]

The inputs are summed once before the clock starts (a check that makes a lazy library (distarr)
generate them first); then STEPS evaluations of `chain`, each ending with its sum (a value).
NumPy makes a temporary per operation (reusing dying ones in place where it can); a fusing
library needs only the inputs and `y`.

DISTARR_NP selects the array module (default numpy; `distarr` for `import distarr as np`).
Prints one line `bench-apps: app=chain ... seconds=S value=MEAN` (MEAN: the mean of y).
"""
import importlib
import os
import sys
import time

np = importlib.import_module(os.environ.get("DISTARR_NP", "numpy"))


def chain(a, b, c):
    y = ((a + b) * c - a) / (b + 1.0) + 0.5 * a * c
    return float(y.sum())


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1 << 25
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    rng = np.random.default_rng(3)
    a, b, c = rng.random(n), rng.random(n), rng.random(n)
    inputs = float(a.sum()) + float(b.sum()) + float(c.sum())
    t0 = time.perf_counter()
    total = 0.0
    for _ in range(steps):
        total = chain(a, b, c)
    secs = time.perf_counter() - t0
    print(f"bench-apps: app=chain np={np.__name__} size={n} steps={steps} seconds={secs:.6f} "
          f"value={total / n:.12e} inputs={inputs / (3 * n):.6f}")


if __name__ == "__main__":
    main()

"""Monte Carlo estimate of pi, the way a NumPy user writes it (the benchmark's NumPy version of
examples/pi.rs and examples/c/pi.c).

Throw N darts at the unit square in batches of 2**20: x and y uniform in [0, 1), count the darts
with x*x + y*y <= 1; pi ~ 4 * hits / N.

    python bench/apps/pi.py [DARTS]

DISTARR_NP selects the array module (default numpy; `distarr` for `import distarr as np`).
Prints one line `bench-apps: app=pi ... seconds=S value=PI` (S: the timed loop only).
"""
import importlib
import os
import sys
import time

np = importlib.import_module(os.environ.get("DISTARR_NP", "numpy"))

BATCH = 1 << 20


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    rng = np.random.default_rng(1000)
    t0 = time.perf_counter()
    hits = 0
    for start in range(0, n, BATCH):
        m = min(BATCH, n - start)
        x = rng.random(m)
        y = rng.random(m)
        hits += int(np.count_nonzero(x * x + y * y <= 1.0))
    pi = 4.0 * hits / n
    secs = time.perf_counter() - t0
    print(f"bench-apps: app=pi np={np.__name__} size={n} steps=0 seconds={secs:.6f} "
          f"value={pi:.10f} hits={hits}")


if __name__ == "__main__":
    main()

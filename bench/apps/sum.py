"""sum of N doubles: x.sum() over an existing array, the best of REPS (compare examples/sum.rs).
Usage: sum.py [N] [REPS] (default 1e8, 5)."""
import importlib
import os
import sys
import time

np = importlib.import_module(os.environ.get("DISTARR_NP", "numpy"))

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000_000
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
x = np.random.default_rng(7).random(n)
best, total = float("inf"), 0.0
for _ in range(reps):
    t0 = time.perf_counter()
    total = float(x.sum())
    best = min(best, time.perf_counter() - t0)
print(f"bench-apps: app=sum np={np.__name__} size={n} steps={reps} seconds={best:.6f} value={total:.12e}")

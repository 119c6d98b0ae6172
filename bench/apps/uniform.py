"""random_uniform of N doubles: np.random.default_rng(seed).random(N), a new array, as a user
writes it (compare examples/uniform.rs). The clock stops after one element has been read: free in
NumPy, it makes a lazy array library (distarr) finish generating. Usage: uniform.py [N] (default 1e8)."""
import importlib
import os
import sys
import time

np = importlib.import_module(os.environ.get("DISTARR_NP", "numpy"))

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000_000
rng = np.random.default_rng(2024)
t0 = time.perf_counter()
x = rng.random(n)
last = float(x[-1])   # a value: a lazy array library (distarr) runs deferred work when one is needed
secs = time.perf_counter() - t0
print(f"bench-apps: app=uniform np={np.__name__} size={n} seconds={secs:.6f} value={float(x.mean()):.12e} "
      f"last={last:.6f}")

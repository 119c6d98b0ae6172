"""Heat diffusion on a 2-D grid with the 5-point stencil on views, the way a NumPy user writes it
(the benchmark's NumPy version of examples/stencil.rs and examples/c/stencil.c).

The boundary is fixed (top edge 1.0, then left edge 0.5, the rest 0.0); each step replaces every
interior point by the average of itself and its four neighbours.

    python bench/apps/stencil.py [N] [STEPS]

DISTARR_NP selects the array module (default numpy; `distarr` for `import distarr as np`).
Prints one line `bench-apps: app=stencil ... seconds=S value=MEAN` (MEAN: the grid's mean
temperature afterwards; S: the steps and that mean: a lazy array library (distarr) runs deferred
work when a value is needed, so the clock stops after the answer, in every version of the app).
"""
import importlib
import os
import sys
import time

np = importlib.import_module(os.environ.get("DISTARR_NP", "numpy"))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    g = np.zeros((n, n))
    g[0, :] = 1.0
    g[:, 0] = 0.5
    center = g[1:-1, 1:-1]
    north, south = g[:-2, 1:-1], g[2:, 1:-1]
    west, east = g[1:-1, :-2], g[1:-1, 2:]
    t0 = time.perf_counter()
    for _ in range(steps):
        work = (center + north + south + west + east) * 0.2
        center[...] = work
    heat = float(g.mean())
    secs = time.perf_counter() - t0
    print(f"bench-apps: app=stencil np={np.__name__} size={n} steps={steps} seconds={secs:.6f} "
          f"value={heat:.12e}")


if __name__ == "__main__":
    main()

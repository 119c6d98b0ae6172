"""Heat diffusion on a 2-D grid: the five-point stencil on views of one array.

    mpirun -n 4 .venv/bin/python examples/python/stencil.py [N] [STEPS]

The boundary is fixed (top edge 1, left edge 0.5); each step replaces every interior point by
the average of itself and its four neighbours. DISTARR_NP selects the array module (default
distarr; `numpy` for NumPy).
"""
import importlib
import os
import sys

np = importlib.import_module(os.environ.get("DISTARR_NP", "distarr"))

n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 50

grid = np.zeros((n, n))
grid[0, :] = 1.0
grid[:, 0] = 0.5
center = grid[1:-1, 1:-1]
north, south = grid[:-2, 1:-1], grid[2:, 1:-1]
west, east = grid[1:-1, :-2], grid[1:-1, 2:]
for _ in range(steps):
    center[...] = (center + north + south + west + east) * 0.2
print(f"stencil: n={n} steps={steps} value={float(grid.mean()):.12e} "
      f"max={float(center.max()):.12e}")

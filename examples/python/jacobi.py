"""Dense Jacobi iteration for A h = b in DistNumPy's form (PGAS'10):
``h += (b - sum(A * h, axis=1)) / diag(A)`` until the update is below a tolerance.

    mpirun -n 4 .venv/bin/python examples/python/jacobi.py [N] [MAX_ITERS]

A is a smooth matrix plus n on the diagonal (diagonally dominant, so the iteration
converges), b a smooth vector: both deterministic, so NumPy and distarr give the same answer.
DISTARR_NP selects the array module (default distarr; `numpy` for NumPy).
"""
import importlib
import os
import sys

np = importlib.import_module(os.environ.get("DISTARR_NP", "distarr"))

n = int(sys.argv[1]) if len(sys.argv) > 1 else 400
max_iters = int(sys.argv[2]) if len(sys.argv) > 2 else 200
tol = 1e-12

A = np.sin(np.arange(n * n, dtype=np.float64).reshape(n, n) * 0.01)
A.reshape(n * n)[:: n + 1] += n                    # the diagonal, through a strided view
b = np.cos(np.arange(n, dtype=np.float64) * 0.1)
d = A.reshape(n * n)[:: n + 1]                     # diag(A)
h = np.zeros(n)
delta, iters = 1.0, 0
while delta > tol and iters < max_iters:
    hnew = h + (b - np.sum(A * h, axis=1)) / d
    delta = float(np.max(np.abs(hnew - h)))
    h = hnew
    iters += 1
residual = float(np.max(np.abs(A @ h - b)))
print(f"jacobi: n={n} iters={iters} value={float(np.sum(h)):.12e} residual={residual:.3e}")

"""Dense Jacobi iteration for A h = b, DistNumPy's benchmark (PGAS'10), the way a NumPy user
writes it (the benchmark's NumPy version of examples/jacobi.rs).

A is uniform random plus n on the diagonal (diagonally dominant), b uniform random, d the
diagonal of A as a strided view. Iterates from h = 0 until no element changes by more than TOL
or MAX_ITERS iterations (the benchmark picks MAX_ITERS below the convergence count, so every
run does exactly MAX_ITERS iterations).

    python bench/apps/jacobi.py [N] [MAX_ITERS]

DISTARR_NP selects the array module (default numpy; `distarr` for `import distarr as np`).
Prints one line `bench-apps: app=jacobi ... seconds=S value=DELTA iters=K residual=R hnorm=H
setup=B` (S: the iterations, each ending with the change, a value; DELTA: the last change; R: the
residual max|A h - b| afterwards; H: the 2-norm of h; B: sum(b), a value taken before the clock
starts, so that a lazy array library (distarr) finishes the set-up outside the timed loop).
"""
import importlib
import os
import sys
import time

np = importlib.import_module(os.environ.get("DISTARR_NP", "numpy"))

TOL = 1e-13


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    max_iters = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    rng = np.random.default_rng(7)
    A = rng.random((n, n))
    A.reshape(n * n)[:: n + 1] += n               # diagonally dominant
    b = rng.random(n)
    d = A.reshape(n * n)[:: n + 1]                # the diagonal: a strided view
    h = np.zeros(n)
    # A value from the set-up: a lazy array library (distarr) finishes it here, before the clock.
    setup = float(b.sum())
    t0 = time.perf_counter()
    iters, delta = 0, float("inf")
    while delta > TOL and iters < max_iters:
        hnew = h + (b - (A * h).sum(axis=1)) / d
        delta = float(np.abs(hnew - h).max())
        h = hnew
        iters += 1
    secs = time.perf_counter() - t0
    residual = float(np.abs(A @ h - b).max())
    hnorm = float(np.sqrt((h * h).sum()))
    print(f"bench-apps: app=jacobi np={np.__name__} size={n} steps={max_iters} seconds={secs:.6f} "
          f"value={delta:.6e} iters={iters} residual={residual:.6e} hnorm={hnorm:.10e} "
          f"setup={setup:.6e}")


if __name__ == "__main__":
    main()

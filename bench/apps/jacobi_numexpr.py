"""Dense Jacobi iteration for A h = b with numexpr, the way a numexpr user writes it:
bench/apps/jacobi.py with `sum(A * h, axis=1)` evaluated by `numexpr.evaluate` (the product is
fused into the row sums: no n×n temporary), the update and the change as numexpr expressions
too, and NumPy for the rest (set-up, the residual).

    python bench/apps/jacobi_numexpr.py [N] [MAX_ITERS]

numexpr's threads: NUMEXPR_NUM_THREADS, else numexpr's default (numexpr runs reductions on one
thread). Prints one line `bench-apps: app=jacobi np=numexpr ... seconds=S value=DELTA iters=K
residual=R threads=T` as bench/apps/jacobi.py.
"""
import sys
import time

import numexpr as ne
import numpy as np

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
        s = ne.evaluate("sum(A * h, axis=1)")
        hnew = ne.evaluate("h + (b - s) / d")
        delta = float(ne.evaluate("max(abs(hnew - h))"))
        h = hnew
        iters += 1
    secs = time.perf_counter() - t0
    residual = float(np.abs(A @ h - b).max())
    hnorm = float(np.sqrt((h * h).sum()))
    print(f"bench-apps: app=jacobi np=numexpr size={n} steps={max_iters} seconds={secs:.6f} "
          f"value={delta:.6e} iters={iters} residual={residual:.6e} hnorm={hnorm:.10e} "
          f"setup={setup:.6e} threads={ne.get_num_threads()}")


if __name__ == "__main__":
    main()

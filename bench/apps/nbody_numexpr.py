"""All-pairs gravitational N-body simulation with numexpr, the way a numexpr user writes it:
bench/apps/nbody.py with each element-wise expression over the (n, n, 3) and (n, n) arrays
evaluated by `numexpr.evaluate` (broadcasting the same views), its reductions along an axis
inside the expression where the reduction is the expression's last operation (numexpr's
`sum(..., axis=k)`: no (n, n, 3) temporary), and NumPy for the (n, 3) updates.

    python bench/apps/nbody_numexpr.py [N] [STEPS]

numexpr's threads: NUMEXPR_NUM_THREADS, else numexpr's default (numexpr runs reductions on one
thread). Prints one line `bench-apps: app=nbody np=numexpr ... seconds=S value=P threads=T`
(S: the timed loop and the final momentum, as bench/apps/nbody.py).
"""
import sys
import time

import numexpr as ne
import numpy as np

DT = 1e-3
EPS = 1e-2


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    rng = np.random.default_rng(1)
    x = rng.random((n, 3))
    v = np.zeros((n, 3))
    m = (rng.random(n) + 0.5) / n
    # A value from the set-up: a lazy array library (distarr) finishes it here, before the clock.
    setup = float(m.sum())
    eps2 = EPS**2
    t0 = time.perf_counter()
    for _ in range(steps):
        xj, xi = x[None, :, :], x[:, None, :]
        dx = ne.evaluate("xj - xi")                     # (n, n, 3): dx[i, j] = x[j] - x[i]
        r2 = ne.evaluate("sum(dx * dx, axis=2)")        # (n, n)
        w = ne.evaluate("m * (r2 + eps2) ** -1.5")      # (n, n); m broadcasts along rows
        w3 = w[:, :, None]
        a = ne.evaluate("sum(dx * w3, axis=1)")         # (n, 3)
        v += a * DT
        x += v * DT
    p = (m[:, None] * v).sum(axis=0)
    momentum = float(np.sqrt((p * p).sum()))
    secs = time.perf_counter() - t0
    energy = float((0.5 * m * (v * v).sum(axis=1)).sum())
    print(f"bench-apps: app=nbody np=numexpr size={n} steps={steps} seconds={secs:.6f} "
          f"value={momentum:.3e} kinetic={energy:.10e} setup={setup:.6e} threads={ne.get_num_threads()}")


if __name__ == "__main__":
    main()

"""All-pairs gravitational N-body simulation with broadcasting, the way a NumPy user writes it
(the benchmark's NumPy version of examples/nbody.rs).

Positions x and velocities v are (n, 3) arrays, masses m an (n,) array; units with G = 1,
softening EPS, symplectic Euler steps of DT. Bodies start at rest, uniform in the unit cube,
masses uniform in [0.5, 1.5) / n.

    python bench/apps/nbody.py [N] [STEPS]

DISTARR_NP selects the array module (default numpy; `distarr` for `import distarr as np`).
Prints one line `bench-apps: app=nbody ... seconds=S value=P` (P: the magnitude of the total
momentum afterwards, which is conserved: zero up to rounding; S: the steps and that momentum: a
lazy array library (distarr) runs deferred work when a value is needed, so the clock stops after
the answer, in every version of the app; and it starts after a value of the set-up, sum(m)).
"""
import importlib
import os
import sys
import time

np = importlib.import_module(os.environ.get("DISTARR_NP", "numpy"))

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
    t0 = time.perf_counter()
    for _ in range(steps):
        dx = x[None, :, :] - x[:, None, :]        # (n, n, 3): dx[i, j] = x[j] - x[i]
        r2 = (dx * dx).sum(axis=2) + EPS**2       # (n, n)
        w = m[None, :] * r2 ** -1.5               # (n, n)
        a = (dx * w[:, :, None]).sum(axis=1)      # (n, 3)
        v += a * DT
        x += v * DT
    p = (m[:, None] * v).sum(axis=0)
    momentum = float(np.sqrt((p * p).sum()))
    secs = time.perf_counter() - t0
    energy = float((0.5 * m * (v * v).sum(axis=1)).sum())
    print(f"bench-apps: app=nbody np={np.__name__} size={n} steps={steps} seconds={secs:.6f} "
          f"value={momentum:.3e} kinetic={energy:.10e} setup={setup:.6e}")


if __name__ == "__main__":
    main()

"""Heat diffusion on a 2-D grid with numexpr, the way a numexpr user writes it: bench/apps/stencil.py
with the 5-point average `(center + north + south + west + east) * 0.2` evaluated by
`numexpr.evaluate` over the same five views (one fused, multi-threaded pass, no temporaries) into
a work array allocated once (`out=`: no new array, so no fresh pages to fault in, each step), then
copied into the grid's interior with NumPy. The copy cannot be fused: the result must not
overwrite the grid while its neighbours are still being read.

    python bench/apps/stencil_numexpr.py [N] [STEPS]

numexpr's threads: NUMEXPR_NUM_THREADS, else numexpr's default. Prints one line
`bench-apps: app=stencil np=numexpr ... seconds=S value=MEAN threads=T` (S: the steps and the
mean, as bench/apps/stencil.py).
"""
import sys
import time

import numexpr as ne
import numpy as np


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    g = np.zeros((n, n))
    g[0, :] = 1.0
    g[:, 0] = 0.5
    center = g[1:-1, 1:-1]
    north, south = g[:-2, 1:-1], g[2:, 1:-1]
    west, east = g[1:-1, :-2], g[1:-1, 2:]
    work = np.empty_like(center)
    t0 = time.perf_counter()
    for _ in range(steps):
        ne.evaluate("(center + north + south + west + east) * 0.2", out=work)
        center[...] = work
    heat = float(g.mean())
    secs = time.perf_counter() - t0
    print(f"bench-apps: app=stencil np=numexpr size={n} steps={steps} seconds={secs:.6f} "
          f"value={heat:.12e} threads={ne.get_num_threads()}")


if __name__ == "__main__":
    main()

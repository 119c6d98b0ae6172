"""The fused chain of bench/apps/chain.py with numexpr, the way a numexpr user writes it: the
8-operation expression evaluated by `numexpr.evaluate` (one pass over the inputs in blocks,
multi-threaded, into a new array `y`), the sum with NumPy.

    python bench/apps/chain_numexpr.py [N] [STEPS]

numexpr's threads: NUMEXPR_NUM_THREADS, else numexpr's default. Prints one line
`bench-apps: app=chain np=numexpr ... seconds=S value=MEAN threads=T` as bench/apps/chain.py.
"""
import sys
import time

import numexpr as ne
import numpy as np


def chain(a, b, c):
    y = ne.evaluate("((a + b) * c - a) / (b + 1.0) + 0.5 * a * c")
    return float(y.sum())


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1 << 25
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    rng = np.random.default_rng(3)
    a, b, c = rng.random(n), rng.random(n), rng.random(n)
    inputs = float(a.sum()) + float(b.sum()) + float(c.sum())
    t0 = time.perf_counter()
    total = 0.0
    for _ in range(steps):
        total = chain(a, b, c)
    secs = time.perf_counter() - t0
    print(f"bench-apps: app=chain np=numexpr size={n} steps={steps} seconds={secs:.6f} "
          f"value={total / n:.12e} inputs={inputs / (3 * n):.6f} threads={ne.get_num_threads()}")


if __name__ == "__main__":
    main()

"""Monte Carlo estimate of pi with numexpr, the way a numexpr user writes it: bench/apps/pi.py
with the element-wise expression `x*x + y*y <= 1.0` evaluated by `numexpr.evaluate` (one fused,
multi-threaded pass, no temporaries) and NumPy for the rest (random numbers, the count).

    python bench/apps/pi_numexpr.py [DARTS]

numexpr's threads: NUMEXPR_NUM_THREADS (numexpr's own variable, read at import), else numexpr's
default (the machine's cores). Prints one line `bench-apps: app=pi np=numexpr ... seconds=S
value=PI threads=T` (S: the timed loop only).
"""
import sys
import time

import numexpr as ne
import numpy as np

BATCH = 1 << 20


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    rng = np.random.default_rng(1000)
    t0 = time.perf_counter()
    hits = 0
    for start in range(0, n, BATCH):
        m = min(BATCH, n - start)
        x = rng.random(m)
        y = rng.random(m)
        hits += int(np.count_nonzero(ne.evaluate("x*x + y*y <= 1.0")))
    pi = 4.0 * hits / n
    secs = time.perf_counter() - t0
    print(f"bench-apps: app=pi np=numexpr size={n} steps=0 seconds={secs:.6f} "
          f"value={pi:.10f} hits={hits} threads={ne.get_num_threads()}")


if __name__ == "__main__":
    main()

"""STREAM-like memory bandwidth of NumPy on one process: copy `np.copyto(c, a)` and add
`np.add(a, b, out=c)` over float64 arrays much larger than cache, plus the add as a NumPy user
writes it, `c = a + b` (a fresh result array each time: its pages are faulted in on every
repetition). Bytes counted as STREAM does (copy 16, add 24 per element); best of REPS.

    python bench/apps/stream.py [ELEMENTS [REPS]]     (default 2**25 elements, 10 reps)

Prints one line per kernel: `stream: kernel=K procs=1 elements=N reps=R best_s=T
aggregate_gbs=G per_process_gbs=G`.
"""
import sys
import time

import numpy as np


def best(f, reps):
    t = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        t = min(t, time.perf_counter() - t0)
    return t


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1 << 25
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    a = np.arange(n, dtype=np.float64) % 7 + 1.0
    b = np.full(n, 2.0)
    c = np.zeros(n)
    kernels = [
        ("numpy-copyto", 16, lambda: np.copyto(c, a)),
        ("numpy-add-out", 24, lambda: np.add(a, b, out=c)),
        ("numpy-add-new", 24, lambda: a + b),
    ]
    for name, per_elem, f in kernels:
        t = best(f, reps)
        gbs = per_elem * n / t / 1e9
        print(f"stream: kernel={name} procs=1 elements={n} reps={reps} best_s={t:.6f} "
              f"aggregate_gbs={gbs:.3f} per_process_gbs={gbs:.3f}")


if __name__ == "__main__":
    main()

"""Cost of a recorded (deferred) element-wise operation through the Python front end, amortised
over a loop that ends with one flush (issue 10's target: sequential mode at 2 ranks <= 3 us per
operation), against the same loop with deferral off.

    . scripts/mpi-env.sh
    mpirun -n 2 .venv/bin/python python/bench/recorded_ops.py             # sequential mode
    DISTARR_MODE=spmd mpirun -n 2 .venv/bin/python python/bench/recorded_ops.py

Each loop runs ``OPS`` operations on arrays of ``n`` elements (1 and 8, on one rank as
``distarr`` makes small arrays; and 4096, distributed), then ``distarr.flush()``:

* ``c = a + b``: a new result each time (from the result pool after the first);
* ``a += 1``: in place;
* ``chain``: ``c = a + b; c *= 2.0; c -= a; d = c * b; d += 1.0`` (5 operations).

Prints the median over ``REPS`` runs of microseconds per operation, flush included, with
deferral on and off (``distarr.set_lazy``), and in sequential mode the command messages rank 0
sent to the other ranks per loop (with deferral on: one per flush, the engine's queue flushing
every 64 operations).
"""
import os
import statistics
import sys
import time

import distarr as np
from distarr._runtime import seq_stats

OPS = int(os.environ.get("OPS", "1000"))
REPS = int(os.environ.get("REPS", "9"))


def add_new(a, b, c, d):
    for _ in range(OPS):
        c = a + b
    return c


def add_inplace(a, b, c, d):
    for _ in range(OPS):
        a += 1.0
    return a


def chain(a, b, c, d):
    for _ in range(OPS // 5):
        c = a + b
        c *= 2.0
        c -= a
        d = c * b
        d += 1.0
    return d


def measure(loop, n):
    """(median us per operation, messages per loop) of ``loop`` on fresh arrays of ``n``."""
    a, b = np.ones(n), np.full(n, 3.0)
    c, d = np.empty(n), np.empty(n)
    loop(a, b, c, d)  # warm the pool and the plan caches
    np.flush()
    times, msgs = [], []
    for _ in range(REPS):
        np.sync()
        m0 = seq_stats()[0]
        start = time.perf_counter()
        loop(a, b, c, d)
        np.flush()
        times.append(1e6 * (time.perf_counter() - start) / OPS)
        msgs.append(seq_stats()[0] - m0)
    return statistics.median(times), statistics.median(msgs)


def main():
    print(f"# {np.nranks} rank(s), {np.mode} mode; {OPS} operations then flush(); "
          f"median of {REPS}; us per operation (messages per loop)")
    print(f"{'loop':14s} {'n':>5s} {'deferred':>18s} {'at once':>18s}")
    initial = np.is_lazy()
    for name, loop in (("c = a + b", add_new), ("a += 1", add_inplace), ("chain of 5", chain)):
        for n in (1, 8, 4096):
            cells = []
            for on in (True, False):
                np.set_lazy(on)
                us, msgs = measure(loop, n)
                cells.append(f"{us:8.2f} ({msgs:5.0f})" if np.mode == "sequential" else f"{us:8.2f}")
            print(f"{name:14s} {n:5d} {cells[0]:>18s} {cells[1]:>18s}")
            sys.stdout.flush()
    np.set_lazy(initial)


main()

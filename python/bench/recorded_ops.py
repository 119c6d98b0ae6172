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

For each, with deferral on and off (``distarr.set_lazy``), the microseconds per operation of
the loop and its flush (what the program waits for), and of the loop, the flush and a
``distarr.sync()`` (every rank has done everything: in sequential mode the other ranks replay
the calls when they must act, here at the sync), as the median and the best of ``REPS`` runs
(on a machine shared with other jobs the median measures them too); in sequential mode also
the command messages rank 0 sent per loop, sync included.
"""
import os
import statistics
import sys
import time

import distarr as np
from distarr._runtime import seq_stats

OPS = int(os.environ.get("OPS", "1000"))
REPS = int(os.environ.get("REPS", "21"))


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
    """Times of ``loop`` on arrays of ``n`` elements: ``([loop + flush], [... + sync],
    messages per run)`` in us per operation."""
    a, b = np.ones(n), np.full(n, 3.0)
    c, d = np.empty(n), np.empty(n)
    loop(a, b, c, d)  # warm the pool and the plan caches
    np.sync()
    flushed, synced, msgs = [], [], []
    for _ in range(REPS):
        m0 = seq_stats()[0]
        start = time.perf_counter()
        loop(a, b, c, d)
        np.flush()
        t1 = time.perf_counter()
        np.sync()
        t2 = time.perf_counter()
        flushed.append(1e6 * (t1 - start) / OPS)
        synced.append(1e6 * (t2 - start) / OPS)
        msgs.append(seq_stats()[0] - m0)
    return flushed, synced, statistics.median(msgs)


def cell(times):
    return f"{statistics.median(times):6.2f} /{min(times):5.2f}"


def main():
    seq = np.mode == "sequential"
    print(f"# {np.nranks} rank(s), {np.mode} mode; {OPS} operations then flush(); us per operation, "
          f"median / best of {REPS}")
    print(f"{'':20s} {'deferred':^31s} {'at once':^31s}")
    print(f"{'loop':14s} {'n':>5s} {'flush':>14s} {'+ sync':>14s}  {'flush':>14s} {'+ sync':>14s}"
          + ("  messages" if seq else ""))
    initial = np.is_lazy()
    for name, loop in (("c = a + b", add_new), ("a += 1", add_inplace), ("chain of 5", chain)):
        for n in (1, 8, 4096):
            cols, msgs = [], []
            for on in (True, False):
                np.set_lazy(on)
                flushed, synced, m = measure(loop, n)
                cols += [cell(flushed), cell(synced)]
                msgs.append(f"{m:.0f}")
            print(f"{name:14s} {n:5d} {cols[0]:>14s} {cols[1]:>14s}  {cols[2]:>14s} {cols[3]:>14s}"
                  + (f"  {'/'.join(msgs):>8s}" if seq else ""))
            sys.stdout.flush()
    np.set_lazy(initial)


main()

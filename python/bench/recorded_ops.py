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
the loop and its flush (what the program waits for; in parentheses the CPU time this rank spent
on it, which other jobs on the machine do not inflate), and of the loop, the flush and a
``distarr.sync()`` (every rank has done everything: in sequential mode the other ranks replay
the calls when they must act, here at the sync, or when a batch of 16 KiB is full: 64 KiB
when the node has more ranks than CPUs), as the
median and the best of ``REPS`` runs (on a machine shared with other jobs the median measures
them too; the runs go round the loops, so a slower spell of the machine touches every row
alike); in sequential mode also the command messages rank 0 sent per loop, sync included.

``--lines`` prints, after the table, one line per loop, size and mode for scripts
(``scripts/bench-apps.sh``): ``recorded: loop=add n=1 deferred=1 flush_median=... flush_best=...
cpu_median=... sync_median=... sync_best=... messages=...`` (microseconds per operation).
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


class Case:
    """One loop on arrays of ``n`` elements with deferral ``on`` or off, and its times per run:
    the loop and its flush, its CPU time on this rank, the loop, flush and sync (us per
    operation), and the command messages rank 0 sent."""

    def __init__(self, loop, n, on):
        self.loop, self.on = loop, on
        self.arrays = (np.ones(n), np.full(n, 3.0), np.empty(n), np.empty(n))
        self.flushed, self.cpu, self.synced, self.msgs = [], [], [], []

    def run(self, record=True):
        np.set_lazy(self.on)
        m0 = seq_stats()[0]
        start, cpu0 = time.perf_counter(), time.process_time()
        self.loop(*self.arrays)
        np.flush()
        t1, cpu1 = time.perf_counter(), time.process_time()
        np.sync()
        t2 = time.perf_counter()
        if record:
            self.flushed.append(1e6 * (t1 - start) / OPS)
            self.cpu.append(1e6 * (cpu1 - cpu0) / OPS)
            self.synced.append(1e6 * (t2 - start) / OPS)
            self.msgs.append(seq_stats()[0] - m0)


def measure(cases):
    """Runs every case ``REPS`` times, after one untimed run each (it warms the pool and the
    plan caches). The runs go round the cases (run 1 of every case, then run 2 …): a spell
    when the machine is slower (another job, another tenant of the host) then touches every
    row alike, instead of the rows that happened to be measured during it."""
    for c in cases:
        c.run(record=False)
    for _ in range(REPS):
        for c in cases:
            c.run()


def cell(times, cpu=None):
    c = "" if cpu is None else f" ({statistics.median(cpu):4.2f})"
    return f"{statistics.median(times):6.2f} /{min(times):5.2f}{c}"


def main():
    seq = np.mode == "sequential"
    print(f"# {np.nranks} rank(s), {np.mode} mode; {OPS} operations then flush(); us per operation, "
          f"median / best of {REPS}")
    print(f"{'':20s} {'deferred':^38s} {'at once':^38s}")
    print(f"{'loop':14s} {'n':>5s} {'flush (cpu)':>21s} {'+ sync':>14s}  {'flush (cpu)':>21s} "
          f"{'+ sync':>14s}" + ("  messages" if seq else ""))
    initial = np.is_lazy()
    loops = (("add", "c = a + b", add_new), ("iadd", "a += 1", add_inplace), ("chain", "chain of 5", chain))
    cases = {(key, n, on): Case(loop, n, on) for key, _, loop in loops for n in (1, 8, 4096)
             for on in (True, False)}
    measure(list(cases.values()))
    lines = []
    med = statistics.median
    for key, name, _ in loops:
        for n in (1, 8, 4096):
            cols, msgs = [], []
            for on in (True, False):
                c = cases[(key, n, on)]
                cols += [cell(c.flushed, c.cpu), cell(c.synced)]
                m = med(c.msgs)
                msgs.append(f"{m:.0f}")
                lines.append(f"recorded: loop={key} n={n} deferred={int(on)} "
                             f"flush_median={med(c.flushed):.3f} flush_best={min(c.flushed):.3f} "
                             f"cpu_median={med(c.cpu):.3f} sync_median={med(c.synced):.3f} "
                             f"sync_best={min(c.synced):.3f} messages={m:.0f}")
            print(f"{name:14s} {n:5d} {cols[0]:>21s} {cols[1]:>14s}  {cols[2]:>21s} {cols[3]:>14s}"
                  + (f"  {'/'.join(msgs):>8s}" if seq else ""))
            sys.stdout.flush()
    np.set_lazy(initial)
    if "--lines" in sys.argv[1:]:
        print("\n".join(lines))


main()

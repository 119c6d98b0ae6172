"""Cost per recorded element-wise operation of the Python front end, amortised over a chain that
is flushed at its end (issue 10's target: sequential mode at 2 ranks <= 3 us per operation).

    . scripts/mpi-env.sh
    mpirun -n 2 .venv/bin/python python/bench/recorded_ops.py            # sequential mode
    DISTARR_LAZY=0 mpirun -n 2 .venv/bin/python python/bench/recorded_ops.py   # eager, to compare

The chain is ``c = a + b; c *= 2.0; c -= a; d = c * b; d += 1.0`` (5 operations, one-element
and 8-element arrays; the results of ``+`` and ``*`` come from the result pool after the first
round), repeated ``ROUNDS`` times, then one flush (``distarr.flush()``, or a reduction where
that does not exist). Prints medians of ``REPS`` runs and, when the library exports it, the
number of command messages rank 0 sent to the workers per flush.
"""
import ctypes
import os
import statistics
import sys
import time

import distarr as np
from distarr._lib import _dll

ROUNDS = int(os.environ.get("ROUNDS", "2000"))
REPS = int(os.environ.get("REPS", "7"))
OPS_PER_ROUND = 5


def flush(d):
    if hasattr(np, "flush"):
        np.flush()
    else:
        float(d.sum())


def chain(a, b):
    d = None
    for _ in range(ROUNDS):
        c = a + b
        c *= 2.0
        c -= a
        d = c * b
        d += 1.0
    return d


def messages():
    """Command messages rank 0 has sent (None when the library does not count them)."""
    try:
        f = _dll.distarr_debug_seq_messages
    except AttributeError:
        return None
    f.argtypes = [ctypes.POINTER(ctypes.c_uint64)]
    v = ctypes.c_uint64()
    return v.value if f(ctypes.byref(v)) == 0 else None


def per_op(n):
    a, b = np.ones(n), np.full(n, 3.0)
    flush(chain(a, b))  # warm the pool and the plan caches
    times = []
    m0 = messages()
    for _ in range(REPS):
        start = time.perf_counter()
        d = chain(a, b)
        flush(d)
        times.append(1e6 * (time.perf_counter() - start) / (ROUNDS * OPS_PER_ROUND))
    m1 = messages()
    got = d.to_numpy()
    want = ((1.0 + 3.0) * 2.0 - 1.0) * 3.0 + 1.0
    assert (got == want).all(), (got, want)
    return statistics.median(times), (None if m0 is None else (m1 - m0) / REPS)


lazy = np.is_lazy() if hasattr(np, "is_lazy") else False
print(f"# {np.nranks} rank(s), {np.mode} mode, lazy={lazy}; {ROUNDS} x {OPS_PER_ROUND} ops, "
      f"median of {REPS}")
for n in (1, 8):
    us, msgs = per_op(n)
    extra = "" if msgs is None else f"   {msgs:.1f} messages per chain+flush"
    print(f"n={n:<3d} {us:8.2f} us per recorded operation{extra}")
sys.stdout.flush()

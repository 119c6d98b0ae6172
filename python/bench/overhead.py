"""Per-operation overhead of the Python front end on one-element arrays (issue 9's target:
``c = a + b`` in sequential mode at 2 ranks <= 15 us), and the time of ``import distarr``.

    . scripts/mpi-env.sh
    mpirun -n 2 .venv/bin/python python/bench/overhead.py

Prints the median and the best of 5 runs of 20,000 operations each (on a machine shared with
other jobs the median measures them too): ``c = a + b`` with the result pool (the default) and
without, ``np.add(a, b, out=c)``, and the bare library call ``distarr_binary`` (ctypes only)
for comparison. The operations are deferred (see ``recorded_ops.py``) unless ``DISTARR_LAZY=0``.
"""
import statistics
import time

t0 = time.perf_counter()
import numpy  # noqa: E402,F401
t1 = time.perf_counter()
import distarr as np  # noqa: E402
t2 = time.perf_counter()
from distarr import _array  # noqa: E402
from distarr._lib import lib  # noqa: E402

N, REPS = 20000, 5


def per_op(fn):
    times = []
    for _ in range(REPS):
        start = time.perf_counter()
        for _ in range(N):
            fn()
        times.append(1e6 * (time.perf_counter() - start) / N)
    return f"{statistics.median(times):8.2f} {min(times):8.2f}"


a, b, out = np.ones(1), np.ones(1), np.empty(1)
ha, hb, ho = a.handle, b.handle, out.handle
binary = lib.distarr_binary
rows = [("c = a + b (result pool)", lambda: a + b)]
rows.append(("np.add(a, b, out=c)", lambda: np.add(a, b, out=out)))
rows.append(("distarr_binary through ctypes", lambda: binary(0, ho, ha, hb)))
print(f"# {np.nranks} rank(s), {np.mode} mode, deferred={np.is_lazy()}; us per operation over "
      f"{REPS} x {N}: median, best")
for label, fn in rows:
    print(f"{label:40s} {per_op(fn)}")
cap = _array.POOL_MAX_BYTES
_array.POOL_MAX_BYTES = 0
print(f"{'c = a + b (no pool: create, add, free)':40s} {per_op(lambda: a + b)}")
_array.POOL_MAX_BYTES = cap
print(f"import numpy {1e3 * (t1 - t0):.0f} ms; import distarr after it {1e3 * (t2 - t1):.0f} ms "
      "(MPI and runtime initialisation included)")

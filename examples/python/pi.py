"""Monte Carlo estimate of pi: the fraction of random points of the unit square inside the
quarter circle, times 4.

    mpirun -n 4 .venv/bin/python examples/python/pi.py [N]

DISTARR_NP selects the array module (default distarr; `numpy` runs the same program on NumPy).
The random streams of the two differ, so their estimates agree only statistically: the last
line gives the estimate and its standard error.
"""
import importlib
import os
import sys

np = importlib.import_module(os.environ.get("DISTARR_NP", "distarr"))

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
np.random.seed(7)
x = np.random.random(n)
y = np.random.random(n)
inside = (x * x + y * y) < 1.0
pi = 4.0 * inside.sum() / n
err = 4.0 * np.sqrt(pi / 4 * (1 - pi / 4) / n)
print(f"pi: n={n} value={float(pi):.10f} stderr={float(err):.3e}")

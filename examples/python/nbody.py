"""All-pairs gravitational N-body simulation (leapfrog), every interaction as array operations.

    mpirun -n 4 .venv/bin/python examples/python/nbody.py [N] [STEPS]

Bodies start on a deterministic spiral at rest, so NumPy and distarr give the same answer.
DISTARR_NP selects the array module (default distarr; `numpy` for NumPy).
"""
import importlib
import os
import sys

np = importlib.import_module(os.environ.get("DISTARR_NP", "distarr"))

n = int(sys.argv[1]) if len(sys.argv) > 1 else 128
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 10
dt, soft = 0.01, 0.05

k = np.arange(n, dtype=np.float64)
x, y, z = np.cos(k * 0.7) * (1 + k / n), np.sin(k * 0.7) * (1 + k / n), k / n - 0.5
vx, vy, vz = np.zeros(n), np.zeros(n), np.zeros(n)
m = 1.0 / n + np.zeros(n)


def accel(x, y, z):
    dx = x[np.newaxis, :] - x[:, np.newaxis]       # dx[i, j] = x[j] - x[i]
    dy = y[np.newaxis, :] - y[:, np.newaxis]
    dz = z[np.newaxis, :] - z[:, np.newaxis]
    inv = (dx * dx + dy * dy + dz * dz + soft * soft) ** -1.5
    w = inv * m[np.newaxis, :]
    return (dx * w).sum(axis=1), (dy * w).sum(axis=1), (dz * w).sum(axis=1)


ax, ay, az = accel(x, y, z)
for _ in range(steps):
    vx, vy, vz = vx + 0.5 * dt * ax, vy + 0.5 * dt * ay, vz + 0.5 * dt * az
    x, y, z = x + dt * vx, y + dt * vy, z + dt * vz
    ax, ay, az = accel(x, y, z)
    vx, vy, vz = vx + 0.5 * dt * ax, vy + 0.5 * dt * ay, vz + 0.5 * dt * az
kinetic = 0.5 * float(np.sum(m * (vx * vx + vy * vy + vz * vz)))
print(f"nbody: n={n} steps={steps} value={kinetic:.12e} x0={float(x[0]):.12e}")

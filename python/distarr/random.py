"""``distarr.random``: NumPy's random functions on distributed arrays.

Values come from the library's counter-based generator keyed by (seed, element index): the
same values for any number of ranks and any layout, but not NumPy's stream (a program gets
statistically equivalent, not identical, numbers under ``import numpy``).
"""
import ctypes
import os

import numpy as np

from ._array import ndarray, empty, _shape_arg, _create, _want_dist, _prod
from ._dtypes import to_dtype
from ._lib import lib, DistArrayValueError
from ._ops import binary
from ._runtime import state

_MASK = 2 ** 64 - 1


def _mix(x):
    """SplitMix64's finaliser: decorrelates consecutive keys."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def _entropy():
    """A fresh seed, the same on every rank (SPMD: rank 0's, broadcast)."""
    buf = (ctypes.c_uint64 * 1)(int.from_bytes(os.urandom(8), "little"))
    if state.spmd_multi:
        lib.distarr_bcast(buf, 8, 0)
    return buf[0]


class Generator:
    """``numpy.random.Generator``-like: ``random``, ``uniform``, ``normal``, ``standard_normal``."""

    def __init__(self, seed=None):
        self._seed = _entropy() if seed is None else int(seed) & _MASK
        self._count = 0

    def _key(self):
        self._count += 1
        return _mix(_mix(self._seed) ^ self._count)

    def _draw(self, size, dtype, normal, dist):
        if size is None:
            a = empty((1,), np.float64, dist=False)
            (lib.distarr_random_normal if normal else lib.distarr_random)(a.handle, self._key())
            return float(a[0])
        dt = to_dtype(dtype)
        if dt.kind not in "fc":
            raise DistArrayValueError(f"random numbers of dtype {dt} are not supported (floating point only)")
        shape = _shape_arg(size)
        # Every element is written by the generator: no zero fill first.
        a = _create(shape, dt, _want_dist(dist, _prod(shape)), overwrite=True)
        (lib.distarr_random_normal if normal else lib.distarr_random)(a.handle, self._key())
        return a

    def random(self, size=None, dtype=np.float64, out=None, *, dist=None):
        if out is not None:
            lib.distarr_random(out.handle, self._key())
            return out
        return self._draw(size, dtype, False, dist)

    def standard_normal(self, size=None, dtype=np.float64, out=None, *, dist=None):
        if out is not None:
            lib.distarr_random_normal(out.handle, self._key())
            return out
        return self._draw(size, dtype, True, dist)

    def uniform(self, low=0.0, high=1.0, size=None, *, dist=None):
        x = self._draw(size, np.float64, False, dist)
        if not isinstance(x, ndarray):
            return low + (high - low) * x
        binary("multiply", x, high - low, x)
        binary("add", x, low, x)
        return x

    def normal(self, loc=0.0, scale=1.0, size=None, *, dist=None):
        x = self._draw(size, np.float64, True, dist)
        if not isinstance(x, ndarray):
            return loc + scale * x
        binary("multiply", x, scale, x)
        binary("add", x, loc, x)
        return x


_global = None


def _gen():
    global _global
    if _global is None:
        _global = Generator()
    return _global


def seed(seed=None):
    """Seeds the global generator (``numpy.random.seed``)."""
    global _global
    _global = Generator(seed)


def default_rng(seed=None):
    return Generator(seed)


def random(size=None, *, dist=None):
    return _gen().random(size, dist=dist)


random_sample = ranf = sample = random


def rand(*shape, dist=None):
    return _gen().random(shape if shape else None, dist=dist)


def randn(*shape, dist=None):
    return _gen().standard_normal(shape if shape else None, dist=dist)


def standard_normal(size=None, *, dist=None):
    return _gen().standard_normal(size, dist=dist)


def uniform(low=0.0, high=1.0, size=None, *, dist=None):
    return _gen().uniform(low, high, size, dist=dist)


def normal(loc=0.0, scale=1.0, size=None, *, dist=None):
    return _gen().normal(loc, scale, size, dist=dist)

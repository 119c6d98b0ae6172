"""Shared set-up of the distarr pytest suite, run under ``mpirun`` by ``tests/mpi_pytest.py``
(sequential mode: rank 0 runs pytest, the other ranks serve it from ``import distarr``; SPMD
mode: every rank runs every test, so everything here must be deterministic across ranks).

Hypothesis runs derandomized (the same examples on every rank, in the same order), without a
database or deadline (timing differs between ranks). ``DISTARR_HYPOTHESIS_SCALE`` multiplies
every test's number of examples (default 1; CI's budget). The number of cases run is printed
at the end.
"""
import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, settings, given

import distarr

SCALE = float(os.environ.get("DISTARR_HYPOTHESIS_SCALE", "1"))
CASES = {"n": 0}

settings.register_profile(
    "distarr", derandomize=True, database=None, deadline=None, print_blob=False,
    suppress_health_check=list(HealthCheck),
    phases=(Phase.explicit, Phase.generate, Phase.shrink))
settings.load_profile("distarr")


def cases(n, *strategies, **kw_strategies):
    """``@given(...)`` with ``n × DISTARR_HYPOTHESIS_SCALE`` examples; counts the cases run and
    runs each in a :class:`distarr.scope` (its arrays are freed at its end, in both modes)."""
    def deco(fn):
        def body(*args, **kwargs):
            CASES["n"] += 1
            with distarr.scope():
                fn(*args, **kwargs)
        body.__name__ = fn.__name__
        body.__qualname__ = fn.__qualname__
        body.__doc__ = fn.__doc__
        body.__module__ = fn.__module__
        import inspect
        body.__signature__ = inspect.signature(fn)
        wrapped = given(*strategies, **kw_strategies)(body)
        return settings(max_examples=max(1, int(n * SCALE)))(wrapped)
    return deco


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(
        f"distarr: {CASES['n']} Hypothesis cases on {distarr.nranks} rank(s), {distarr.mode} mode "
        f"(rank {distarr.rank})")


def pytest_configure(config):
    # SPMD mode: arrays a test does not free are reported by ResourceWarnings by design.
    warnings.filterwarnings("ignore", category=ResourceWarning)


@pytest.fixture(autouse=True)
def _scoped():
    """Every test runs inside a scope: its arrays are freed when it ends (SPMD too)."""
    with distarr.scope():
        yield


# --- comparing with NumPy -------------------------------------------------------------------

def tolerance(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind in "fc":
        return (2e-5, 1e-6) if dtype in (np.float32, np.complex64) else (1e-12, 1e-300)
    return (0, 0)


def assert_same(got, want, rtol=None, atol=None, dtype=True):
    """``got`` (distarr array or scalar) equals NumPy's ``want``: shape, dtype, values (NaNs
    equal; floating-point within a tolerance of the dtype)."""
    if isinstance(got, distarr.ndarray):
        g = got.to_numpy()
        assert isinstance(want, np.ndarray) or np.ndim(want) == 0, f"NumPy gave {type(want)}"
    else:
        g = np.asarray(got)
    w = np.asarray(want)
    assert g.shape == w.shape, f"shape {g.shape} != NumPy's {w.shape}"
    if dtype:
        assert g.dtype == w.dtype, f"dtype {g.dtype} != NumPy's {w.dtype}"
    r, a = tolerance(w.dtype)
    r = r if rtol is None else rtol
    a = a if atol is None else atol
    if w.dtype.kind == "c" and g.dtype.kind == "c":
        # Known engine difference (reported): complex results that NumPy gives as infinities
        # (division by zero) may come as NaN; both must be non-finite.
        bad = ~np.isfinite(w)
        assert (~np.isfinite(g[bad])).all(), f"non-finite {w[bad]} != {g[bad]}"
        g, w = np.where(bad, 0, g), np.where(bad, 0, w)
    if w.dtype.kind in "fc" or g.dtype.kind in "fc":
        np.testing.assert_allclose(g, w, rtol=r, atol=a, equal_nan=True)
    else:
        np.testing.assert_array_equal(g, w)


def base_error(e):
    """The builtin exception class NumPy's exception ``e`` is (for error parity)."""
    for cls in (OverflowError, ZeroDivisionError, IndexError, ValueError, TypeError,
                MemoryError, NotImplementedError):
        if isinstance(e, cls):
            return cls
    return type(e)


def parity(np_fn, da_fn):
    """Runs NumPy's and distarr's version of an operation; when NumPy raises, distarr must
    raise an exception of the same builtin class (and a DistArrayError); when NumPy succeeds,
    distarr must too. Returns ``(numpy_result, distarr_result)`` or ``None`` after errors."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            want = np_fn()
        except Exception as e:  # noqa: BLE001 - any NumPy error is a parity case
            cls = base_error(e)
            with pytest.raises(cls) as info:
                da_fn()
            assert isinstance(info.value, (distarr.DistArrayError, OverflowError, ZeroDivisionError,
                                           IndexError, TypeError, ValueError)), info.value
            return None
        return want, da_fn()

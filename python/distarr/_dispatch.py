"""NumPy's protocols (``__array_ufunc__``, ``__array_function__``), the NumPy fallback for
what distarr lacks, and the coverage report.

A NumPy function called on distarr arrays runs distarr's function of the same name when there
is one. Otherwise, when its distarr inputs hold at most ``DISTARR_FALLBACK_MAX`` elements
(default 1,000,000), they are gathered, NumPy computes the result and array results come back
as distarr arrays, with a ``RuntimeWarning`` naming the function; above the limit it is a
``DistArrayNotImplementedError`` naming the function (never a silent gather of a huge array).
``DISTARR_REPORT_COVERAGE=1`` prints at exit which functions ran natively and which fell back.
"""
import atexit
import collections
import inspect
import os
import sys
import warnings

import numpy as np

from ._array import ndarray, array
from ._lib import DistArrayNotImplementedError, DistArrayValueError
from ._runtime import state


def _env_int(name, default):
    v = os.environ.get(name, "").strip()
    if not v:
        return default
    try:
        return int(v)
    except ValueError:
        raise DistArrayValueError(f"{name}={v!r} is not an integer") from None


FALLBACK_MAX = _env_int("DISTARR_FALLBACK_MAX", 1_000_000)
COVERAGE = os.environ.get("DISTARR_REPORT_COVERAGE", "") == "1"
native_calls = collections.Counter()
fallback_calls = collections.Counter()

#: NumPy function -> distarr implementation (filled by the package's __init__).
HANDLED = {}
_signatures = {}


def record_native(name):
    native_calls[name] += 1


def _walk(obj, fn):
    """Applies ``fn`` to every distarr array inside ``obj`` (lists, tuples, dicts)."""
    if isinstance(obj, ndarray):
        return fn(obj)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_walk(o, fn) for o in obj)
    if isinstance(obj, dict):
        return {k: _walk(v, fn) for k, v in obj.items()}
    return obj


def _size_of(obj):
    n = [0]

    def add(a):
        n[0] += a.size
        return a
    _walk(obj, add)
    return n[0]


def _back(r):
    """A NumPy result as distarr: arrays of distarr's dtypes become distarr arrays."""
    if isinstance(r, np.ndarray) and r.ndim > 0:
        from ._dtypes import is_supported
        return array(r) if is_supported(r.dtype) else r
    if isinstance(r, tuple):
        return tuple(_back(x) for x in r)
    if isinstance(r, list):
        return [_back(x) for x in r]
    return r


def fallback(name, func, args, kwargs):
    """Runs NumPy's ``func`` on gathered data (see the module's documentation)."""
    n = _size_of((args, kwargs))
    if n > FALLBACK_MAX:
        raise DistArrayNotImplementedError(
            f"numpy.{name} is not implemented by distarr, and its distarr inputs hold {n} elements "
            f"> DISTARR_FALLBACK_MAX={FALLBACK_MAX}: refusing to gather them to one rank")
    fallback_calls[name] += 1
    warnings.warn(f"distarr: numpy.{name} is not implemented by distarr; computed by NumPy on "
                  f"gathered data ({n} elements)", RuntimeWarning, stacklevel=3)
    out = kwargs.get("out") if isinstance(kwargs, dict) else None
    if isinstance(out, tuple) and len(out) == 1:
        out = out[0]
    np_args = _walk(args, lambda a: a.to_numpy())
    np_kwargs = _walk({k: v for k, v in kwargs.items() if k != "out" or not isinstance(out, ndarray)},
                      lambda a: a.to_numpy())
    r = func(*np_args, **np_kwargs)
    if isinstance(out, ndarray):
        out[...] = r
        return out
    return _back(r)


def array_ufunc(uf, method, inputs, kwargs):
    from ._ops import UFUNCS, _UFUNC_REDUCE
    name = uf.__name__
    if method == "__call__" and name in UFUNCS and set(kwargs) <= {"out"}:
        if COVERAGE:
            record_native(f"{name} (via numpy)")
        out = kwargs.get("out")
        if isinstance(out, tuple):
            out = out[0] if len(out) == 1 else out
        return UFUNCS[name](*inputs, out=out)
    if method == "reduce" and name in _UFUNC_REDUCE and set(kwargs) <= {"axis", "dtype", "out", "keepdims"}:
        if COVERAGE:
            record_native(f"{name}.reduce (via numpy)")
        return UFUNCS[name].reduce(*inputs, **kwargs)
    label = name if method == "__call__" else f"{name}.{method}"
    return fallback(label, getattr(uf, method) if method != "__call__" else uf, inputs, kwargs)


def _accepts(impl, args, kwargs):
    sig = _signatures.get(impl)
    if sig is None:
        try:
            sig = _signatures[impl] = inspect.signature(impl)
        except (TypeError, ValueError):
            return True
    try:
        sig.bind(*args, **kwargs)
        return True
    except TypeError:
        return False


def array_function(func, types, args, kwargs):
    if not all(issubclass(t, (ndarray, np.ndarray)) for t in types):
        return NotImplemented
    impl = HANDLED.get(func)
    name = getattr(func, "__name__", str(func))
    if impl is not None and _accepts(impl, args, kwargs):
        if COVERAGE:
            record_native(f"{name} (via numpy)")
        return impl(*args, **kwargs)
    return fallback(name, func, args, kwargs)


def _report():
    if not (state.rank == 0):
        return
    lines = ["distarr coverage report (DISTARR_REPORT_COVERAGE=1):",
             f"  native ({sum(native_calls.values())} calls):"]
    lines += [f"    {k}: {v}" for k, v in sorted(native_calls.items())]
    lines.append(f"  NumPy fallback ({sum(fallback_calls.values())} calls):")
    lines += [f"    {k}: {v}" for k, v in sorted(fallback_calls.items())] or ["    (none)"]
    sys.stderr.write("\n".join(lines) + "\n")


if COVERAGE:
    atexit.register(_report)

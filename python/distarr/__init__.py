"""distarr: NumPy-like distributed arrays over MPI (``import distarr as np``).

Run a NumPy program on many ranks by changing its import and starting it with ``mpirun``::

    mpirun -n 4 .venv/bin/python examples/python/stencil.py

Sequential mode (the default): rank 0 runs the program; the other ranks stop inside
``import distarr``, serve rank 0's array commands and exit 0 when it ends, so ``print``
appears once. SPMD mode (``DISTARR_MODE=spmd``): every rank runs the program and makes the
same calls in the same order. Without ``mpirun``: one rank.

Element-wise operations are deferred and fused by the library until a value is needed (see
:func:`flush`, :func:`set_lazy`; ``DISTARR_LAZY=0`` turns that off).

Environment: ``DISTARR_LIBRARY`` (the library to load), ``DISTARR_MODE``, ``DISTARR_LAZY``,
``DISTARR_FALLBACK_MAX`` (largest input, in elements, that a NumPy function distarr lacks may
be computed by NumPy on gathered data), ``DISTARR_REPORT_COVERAGE=1`` (report at exit), and the
library's own (see README.md). Under ``mpirun`` with several ranks, ``import distarr`` before
NumPy sets ``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS`` to 1 where they
are unset, so that the ranks of a node do not each start a BLAS thread per core.
"""
import os as _os
import sys as _sys

# Several ranks on one node each starting NumPy's BLAS thread pool (one thread per core) would
# oversubscribe the cores: under a launcher that starts more than one rank, BLAS gets one thread
# per rank unless the user chose otherwise (or NumPy was imported first).
_launched = (_os.environ.get("OMPI_COMM_WORLD_SIZE") or _os.environ.get("PMI_SIZE") or "1").strip()
if "numpy" not in _sys.modules and _launched.isdigit() and int(_launched) > 1:
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        _os.environ.setdefault(_var, "1")

from . import _lib, _runtime  # noqa: E402

_runtime.init()  # Sequential-mode workers stay here until rank 0 finishes, then exit 0.

import numpy as _np  # noqa: E402

from ._lib import (DistArrayError, DistArrayValueError, DistArrayIndexError,  # noqa: E402,F401
                   DistArrayTypeError, DistArrayMemoryError, DistArrayRuntimeError,
                   DistArrayOSError, DistArrayOverflowError, DistArrayAxisError,
                   DistArrayNotImplementedError, DistArrayFileFormatError)
from ._runtime import abort, scope, sync, flush, set_lazy, is_lazy  # noqa: E402,F401
from ._array import ndarray, array, asarray, empty, full  # noqa: E402
from . import _ops, _functions, _dispatch  # noqa: E402
from ._ops import ufunc, matmul, dot, count_nonzero, broadcast_shapes  # noqa: E402
from ._functions import *  # noqa: E402,F401,F403
from ._functions import (sum, prod, mean, min, max, amin, amax, argmin, argmax, any, all,  # noqa: E402
                         std, variance as var, round, where, clip)
from . import random  # noqa: E402

# --- ufuncs as module attributes ---------------------------------------------------------------
globals().update(_ops.UFUNCS)
abs = _ops.UFUNCS["absolute"]  # noqa: A001
true_divide = _ops.UFUNCS["divide"]
mod = _ops.UFUNCS["remainder"]
bitwise_not = _ops.UFUNCS["invert"]

# --- constants and dtypes ----------------------------------------------------------------------
newaxis = None
pi, e, inf, nan = _np.pi, _np.e, _np.inf, _np.nan
bool_ = _np.bool_
int32, int64, uint8, uint32, uint64 = _np.int32, _np.int64, _np.uint8, _np.uint32, _np.uint64
float32, float64, complex64, complex128 = _np.float32, _np.float64, _np.complex64, _np.complex128
intp, float_, complex_ = _np.intp, _np.float64, _np.complex128
dtype = _np.dtype
finfo, iinfo = _np.finfo, _np.iinfo
errstate = _np.errstate
mode = "sequential" if _runtime.state.mode == _lib.MODE_SEQUENTIAL else "spmd"
rank = _runtime.state.rank
nranks = _runtime.state.nranks
finalize = _runtime.finalize


# --- reductions and more as methods --------------------------------------------------------------
def _method(fn):
    return lambda self, *args, **kwargs: fn(self, *args, **kwargs)


for _name in ("sum", "prod", "mean", "min", "max", "argmin", "argmax", "any", "all", "std",
              "var", "clip", "round", "dot"):
    setattr(ndarray, _name, _method(globals()[_name]))
ndarray.conj = ndarray.conjugate = lambda self: self if self.dtype.kind != "c" else \
    _dispatch.fallback("conjugate", _np.conjugate, (self,), {})
del _name

# --- NumPy functions that dispatch to distarr's (``__array_function__``) ------------------------
_PUBLIC = [n for n in dir() if not n.startswith("_") and callable(globals()[n])
           and not isinstance(globals()[n], (type, ufunc))
           and n not in ("finalize", "scope", "sync", "flush", "set_lazy", "is_lazy")]
for _name in _PUBLIC:
    _f = getattr(_np, _name, None)
    if callable(_f) and not isinstance(_f, (type, _np.ufunc)):
        _dispatch.HANDLED[_f] = globals()[_name]
_dispatch.HANDLED[_np.var] = var

if _dispatch.COVERAGE:
    import functools as _functools

    def _counted(name, fn):
        @_functools.wraps(fn)
        def wrapper(*args, **kwargs):
            _dispatch.record_native(name)
            return fn(*args, **kwargs)
        return wrapper

    for _name in _PUBLIC:
        globals()[_name] = _counted(_name, globals()[_name])
    _orig_binary, _orig_unary, _orig_reduce = _ops.binary, _ops.unary, _ops.reduce
    _ops.binary = lambda name, *a, **k: (_dispatch.record_native(name), _orig_binary(name, *a, **k))[1]
    _ops.unary = lambda name, *a, **k: (_dispatch.record_native(name), _orig_unary(name, *a, **k))[1]
    _ops.reduce = lambda name, *a, **k: (_dispatch.record_native(name), _orig_reduce(name, *a, **k))[1]

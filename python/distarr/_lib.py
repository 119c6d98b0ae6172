"""The C ABI of libdistarr through ctypes: finding and loading the library, the one binding table,
status codes turned into exceptions, and the ABI's constants (c-api/include/distarr.h).

Every other module calls the library only through :data:`lib` (``lib.distarr_binary(...)``):
a binding whose call returns a non-zero status raises the exception of its code's group,
carrying ``distarr_last_error()``.
"""
import ctypes
import os

import numpy as np

__all__ = [
    "lib", "has", "library_path", "DistArrayError", "DistArrayValueError", "DistArrayIndexError",
    "DistArrayTypeError", "DistArrayMemoryError", "DistArrayRuntimeError", "DistArrayOSError",
    "DistArrayOverflowError", "DistArrayAxisError", "DistArrayNotImplementedError",
    "DistArrayFileFormatError",
]

# --- constants of distarr.h -----------------------------------------------------------------
DTYPE_BOOL, DTYPE_I32, DTYPE_I64, DTYPE_U8, DTYPE_U32, DTYPE_U64 = 0, 1, 2, 3, 4, 5
DTYPE_F32, DTYPE_F64, DTYPE_C64, DTYPE_C128 = 6, 7, 8, 9

LAYOUT_BLOCK, LAYOUT_BLOCK_CYCLIC, LAYOUT_REPLICATED, LAYOUT_ON_RANK = 0, 1, 2, 3
#: OR-ed into a layout: storage allocated by the first collective operation (an output).
LAYOUT_DEFERRED = 0x100
MODE_ENV, MODE_SPMD, MODE_SEQUENTIAL = 0, 1, 2
SLICE_NONE = -(2 ** 63)

UFUNC = {
    "add": 0, "subtract": 1, "multiply": 2, "divide": 3, "floor_divide": 4, "remainder": 5,
    "power": 6, "maximum": 7, "minimum": 8, "equal": 9, "not_equal": 10, "less": 11,
    "less_equal": 12, "greater": 13, "greater_equal": 14, "logical_and": 15, "logical_or": 16,
    "logical_xor": 17, "bitwise_and": 18, "bitwise_or": 19, "bitwise_xor": 20, "arctan2": 21,
    "hypot": 22,
    "negative": 64, "absolute": 65, "sqrt": 66, "exp": 67, "log": 68, "sin": 69, "cos": 70,
    "tan": 71, "floor": 72, "ceil": 73, "logical_not": 74, "invert": 75, "square": 76,
    "sign": 77, "log10": 78, "log2": 79, "tanh": 80, "arcsin": 81, "arccos": 82, "arctan": 83,
    "isnan": 84, "isinf": 85, "isfinite": 86, "reciprocal": 87, "positive": 88, "expm1": 89,
    "log1p": 90, "sinh": 91, "cosh": 92, "trunc": 93, "rint": 94,
}
REDUCE = {"sum": 0, "prod": 1, "min": 2, "max": 3, "mean": 16, "argmin": 17, "argmax": 18,
          "any": 19, "all": 20}
# distarr_index item kinds and distarr_roll's "flattened" axis.
INDEX_RANGE, INDEX_INT, INDEX_NEWAXIS, INDEX_ELLIPSIS = 0, 1, 2, 3
AXIS_NONE = -(2 ** 31)

# --- exceptions -----------------------------------------------------------------------------


class DistArrayError(Exception):
    """A failed distarr call; ``code`` is the ``DISTARR_ERR_*`` status (0 for errors raised by
    the Python layer itself)."""

    def __init__(self, message, code=0):
        super().__init__(message)
        self.code = code


class DistArrayValueError(DistArrayError, ValueError):
    """Invalid argument, shape or handle (``DISTARR_ERR_ARG``, ``_SHAPE``, ``_HANDLE``, …)."""


class DistArrayIndexError(DistArrayError, IndexError):
    """An index or region outside the array (``DISTARR_ERR_BOUNDS``)."""


class DistArrayTypeError(DistArrayError, TypeError):
    """A dtype distarr lacks or an operation undefined for the dtype (``DISTARR_ERR_DTYPE``)."""


class DistArrayMemoryError(DistArrayError, MemoryError):
    """The symmetric heap cannot hold the array (``DISTARR_ERR_NOMEM``)."""


class DistArrayRuntimeError(DistArrayError, RuntimeError):
    """Library state, MPI or internal failures (``DISTARR_ERR_STATE``, ``_MPI``, …)."""


class DistArrayOSError(DistArrayError, OSError):
    """A file could not be read or written (``DISTARR_ERR_IO``)."""


class DistArrayFileFormatError(DistArrayOSError, ValueError):
    """A file ``load`` cannot read as a ``.npy`` array (``DISTARR_ERR_IO``): an ``OSError``, and
    the ``ValueError`` NumPy raises for malformed files."""


class DistArrayOverflowError(DistArrayError, OverflowError):
    """A Python integer that does not fit the array's dtype (NumPy raises OverflowError)."""


class DistArrayAxisError(DistArrayError, np.exceptions.AxisError):
    """An axis out of range (NumPy's AxisError: a ValueError and an IndexError)."""

    def __init__(self, message, code=0):
        np.exceptions.AxisError.__init__(self, message)
        self.code = code


class DistArrayNotImplementedError(DistArrayError, NotImplementedError):
    """A NumPy function distarr lacks, on arrays too large for the NumPy fallback."""


# Status code -> exception class: by group of ten, with the exceptions inside a group.
_BY_CODE = {12: DistArrayTypeError, 13: DistArrayValueError, 52: DistArrayTypeError,
            61: DistArrayOSError}
_BY_GROUP = {1: DistArrayValueError, 2: DistArrayValueError, 3: DistArrayIndexError,
             4: DistArrayMemoryError, 5: DistArrayRuntimeError, 6: DistArrayRuntimeError}


def error_class(code):
    """The exception class of status ``code``."""
    return _BY_CODE.get(code) or _BY_GROUP.get(code // 10, DistArrayRuntimeError)


# --- finding and loading the library --------------------------------------------------------

_HERE = os.path.dirname(os.path.abspath(__file__))


def _candidates():
    env = os.environ.get("DISTARR_LIBRARY")
    if env:
        return [("DISTARR_LIBRARY", env)]
    root = os.path.dirname(os.path.dirname(_HERE))  # python/distarr -> the checkout
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(root, "target")
    if not os.path.isabs(target):
        target = os.path.join(root, target)
    return [("next to the package", os.path.join(_HERE, "libdistarr.so")),
            ("the build tree", os.path.join(target, "release", "libdistarr.so"))]


def _load():
    tried = []
    for where, path in _candidates():
        if where == "DISTARR_LIBRARY" or os.path.exists(path):
            try:
                # RTLD_GLOBAL: Open MPI's plugins (dlopen'ed by libmpi) need libmpi's symbols.
                return path, ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
            except OSError as e:
                tried.append(f"{where}: {path}: {e}")
        else:
            tried.append(f"{where}: {path}: not found")
    raise ImportError("distarr: cannot load libdistarr.so (build it with `cargo build --release`, "
                      "or set DISTARR_LIBRARY); tried:\n  " + "\n  ".join(tried))


library_path, _dll = _load()

# --- the binding table ----------------------------------------------------------------------
_i32, _i64, _u32, _u64, _f64 = ctypes.c_int32, ctypes.c_int64, ctypes.c_uint32, ctypes.c_uint64, ctypes.c_double
_p, _pi32, _pi64, _pu64 = ctypes.c_void_p, ctypes.POINTER(_i32), ctypes.POINTER(_i64), ctypes.POINTER(_u64)
_str = ctypes.c_char_p
# A status-returning call (checked); any other restype is returned as is.
STATUS = ctypes.c_int

# (name, argtypes, restype). Functions absent from the loaded library are skipped (``has``).
BINDINGS = [
    ("distarr_init_mode", [_p, _p, _i32], STATUS),
    ("distarr_finalize", [], STATUS),
    ("distarr_initialized", [_pi32], STATUS),
    ("distarr_mode", [_pi32], STATUS),
    ("distarr_rank", [_pi32], STATUS),
    ("distarr_nranks", [_pi32], STATUS),
    ("distarr_sync", [], STATUS),
    ("distarr_flush_deferred", [], STATUS),
    ("distarr_set_lazy", [_i32], STATUS),
    ("distarr_is_lazy", [_pi32], STATUS),
    ("distarr_seq_stats", [_pu64, _pu64], STATUS),
    ("distarr_barrier", [], STATUS),
    ("distarr_bcast", [_p, _u64, _i32], STATUS),
    ("distarr_allreduce", [_p, _u64, _i32, _i32], STATUS),
    ("distarr_last_error", [], _str),
    ("distarr_strerror", [ctypes.c_int], _str),
    ("distarr_abort", [_i32], STATUS),
    # arrays
    ("distarr_create", [_i32, _pi64, _i32, _pi64, _pi64], STATUS),
    ("distarr_create_layout", [_i32, _pi64, _i32, _i32, _pi64, _i32, _pi64], STATUS),
    ("distarr_arange", [_f64, _f64, _f64, _i32, _pi64], STATUS),
    ("distarr_linspace", [_f64, _f64, _i64, _i32, _i32, _pi64], STATUS),
    ("distarr_eye", [_i64, _i64, _i64, _i32, _pi64], STATUS),
    ("distarr_free", [_i64], STATUS),
    ("distarr_ndim", [_i64, _pi32], STATUS),
    ("distarr_shape", [_i64, _pi64], STATUS),
    ("distarr_size", [_i64, _pi64], STATUS),
    ("distarr_dtype", [_i64, _pi32], STATUS),
    ("distarr_fill", [_i64, _p], STATUS),
    ("distarr_random", [_i64, _u64], STATUS),
    ("distarr_random_normal", [_i64, _u64], STATUS),
    ("distarr_copy", [_i64, _i64], STATUS),
    ("distarr_view", [_i64, _i32, _pi64, _pi64, _pi64, _pi64], STATUS),
    ("distarr_transpose", [_i64, _pi64], STATUS),
    ("distarr_unary", [_i32, _i64, _i64], STATUS),
    ("distarr_binary", [_i32, _i64, _i64, _i64], STATUS),
    ("distarr_binary_scalar", [_i32, _i64, _i64, _p, _i32, _i32], STATUS),
    ("distarr_reduce_dtype", [_i32, _i32, _pi32], STATUS),
    ("distarr_reduce", [_i32, _i64, _i32, _i64, _p], STATUS),
    ("distarr_matmul", [_i64, _i64, _i64], STATUS),
    ("distarr_gather", [_i64, _i32, _p], STATUS),
    ("distarr_scatter", [_i64, _i32, _p], STATUS),
    ("distarr_save_npy", [_i64, _str], STATUS),
    ("distarr_load_npy", [_str, _pi64], STATUS),
    ("distarr_get_region", [_i64, _pi64, _pi64, _p], STATUS),
    ("distarr_put_region", [_i64, _pi64, _pi64, _p], STATUS),
    ("distarr_reshape", [_i64, _i32, _pi64, _pi64], STATUS),
    ("distarr_astype", [_i64, _i32, _pi64], STATUS),
    ("distarr_index", [_i64, _i32, _pi32, _pi64, _pi64, _pi64, _pi64], STATUS),
    ("distarr_permute", [_i64, _i32, _pi64, _pi64], STATUS),
    ("distarr_broadcast_to", [_i64, _i32, _pi64, _pi64], STATUS),
    ("distarr_where", [_i64, _i64, _i64, _i64], STATUS),
    ("distarr_where_scalar", [_i64, _i64, _i64, _p, _i32, _i32], STATUS),
    ("distarr_mask_select", [_i64, _i64, _pi64], STATUS),
    ("distarr_mask_assign", [_i64, _i64, _i64], STATUS),
    ("distarr_roll", [_i64, _i64, _i64, _i32], STATUS),
    ("distarr_concatenate", [_i32, _pi64, _i32, _pi64], STATUS),
]


def _raise_status(code, name):
    msg = _dll.distarr_last_error().decode("utf-8", "replace")
    raise error_class(code)(msg, code)


def _errcheck(result, func, args):
    if result:
        _raise_status(result, func.__name__)
    return result


class _Lib:
    """The bound functions as attributes (``lib.distarr_create``)."""


lib = _Lib()
_missing = set()
for _name, _args, _res in BINDINGS:
    try:
        _f = getattr(_dll, _name)
    except AttributeError:
        _missing.add(_name)
        continue
    _f.argtypes = _args
    _f.restype = _res
    if _res is STATUS:
        _f.errcheck = _errcheck
    setattr(lib, _name, _f)


_ARGTYPES = {name: args for name, args, _ in BINDINGS}


# A pointer-sized word carries an int32_t or int64_t argument as well as a pointer on the 64-bit
# ABIs (System V x86-64, AArch64: integer arguments travel in 64-bit registers or stack slots,
# and the callee of a narrower one reads its low bits; ctypes converts a negative Python int
# to the two's complement word). ctypes converts a Python int to ``c_void_p`` without the
# type check ``c_int32``/``c_int64`` make first: ~0.03 µs an argument, which shows when the
# call itself is only recorded.
_WORD = {_i32, _i64, _p} if ctypes.sizeof(_p) == 8 else set()


def unchecked(name):
    """A second binding of status-returning function ``name`` for hot paths: it returns the
    status instead of raising (they test it themselves: a Python-level ``errcheck`` per call is
    measurable too), and takes its integer and pointer arguments as words (``_WORD``). The
    caller passes Python ints, ``bytes`` or None only."""
    f = _dll[name]  # a new function object, not the checked one
    f.argtypes = [_p if t in _WORD else t for t in _ARGTYPES[name]]
    f.restype = STATUS
    return f


def has(name):
    """Whether the loaded library exports ``name`` (a function of :data:`BINDINGS`)."""
    return name not in _missing


INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1


def i64s(values):
    """A C ``int64_t`` array holding ``values`` (extents, axes): a value outside ``int64_t`` is
    NumPy's ``ValueError`` ("Maximum allowed dimension exceeded"), never ctypes' silent
    truncation (``2**70`` would become 0)."""
    values = tuple(values)
    for v in values:
        if not INT64_MIN <= v <= INT64_MAX:
            raise DistArrayValueError("Maximum allowed dimension exceeded")
    return (_i64 * len(values))(*values)


def clip_i64(v):
    """``v`` clipped into ``int64_t`` (above ``DISTARR_SLICE_NONE``): for slice bounds and steps
    and diagonal offsets, where any value beyond an array's extent means the same."""
    return max(INT64_MIN + 1, min(INT64_MAX, v))

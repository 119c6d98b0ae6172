"""NumPy dtypes <-> distarr dtype codes, and result dtypes of ufuncs and reductions.

distarr has ten dtypes (bool, int32, int64, uint8, uint32, uint64, float32, float64,
complex64, complex128). Result dtypes follow NumPy 2 (NEP 50: Python scalars are "weak"),
which is also the rule of distarr's engine (arrays/src/dtype.rs, arrays/src/ufunc.rs), with
its documented differences: where NumPy gives float16 (math functions of bool and uint8)
distarr gives float32, and where NumPy gives int8/int16 (e.g. ``floor_divide`` of two bools)
distarr refuses the operation with a TypeError.
"""
import numpy as np

from ._lib import DistArrayTypeError, DistArrayOverflowError, lib
import ctypes

_SUPPORTED = [np.dtype(t) for t in (np.bool_, np.int32, np.int64, np.uint8, np.uint32, np.uint64,
                                    np.float32, np.float64, np.complex64, np.complex128)]
#: distarr dtype code -> NumPy dtype (the code is the index).
DTYPES = tuple(_SUPPORTED)
_CODE = {d: i for i, d in enumerate(_SUPPORTED)}
_NAMES = ", ".join(d.name for d in _SUPPORTED)

BOOL, INT64, FLOAT64, COMPLEX128 = (np.dtype(t) for t in (np.bool_, np.int64, np.float64, np.complex128))

_dtype_cache = {}


def to_dtype(spec):
    """The NumPy dtype for ``spec`` (``np.float64``, ``'f4'``, ``bool``, a dtype, …), which must be
    one of distarr's; a clear TypeError otherwise."""
    try:
        return _dtype_cache[spec]
    except (KeyError, TypeError):
        pass
    try:
        d = np.dtype(spec)
    except TypeError as e:
        raise DistArrayTypeError(f"data type {spec!r} not understood: {e}") from None
    if d.byteorder == ">" or d not in _CODE:
        raise DistArrayTypeError(f"distarr has no dtype {d.name} ({d.str}); its dtypes are: {_NAMES}")
    try:
        _dtype_cache[spec] = d
    except TypeError:
        pass
    return d


def code(dtype):
    """The distarr dtype code of a supported NumPy dtype."""
    return _CODE[dtype]


def is_supported(dtype):
    return dtype in _CODE


def from_numpy_result(d, what):
    """A NumPy result dtype mapped to distarr's (float16 -> float32; no int8/int16/uint16)."""
    if d in _CODE:
        return d
    if d == np.float16:
        return _SUPPORTED[6]
    raise DistArrayTypeError(f"{what}: the result would be {d.name}, a dtype distarr lacks "
                             f"(its dtypes are: {_NAMES})")


_ufunc_cache = {}


def ufunc_types(uf, operands):
    """``(loop operand dtypes, result dtype)`` of NumPy ufunc ``uf`` on ``operands`` (NumPy
    dtypes, or the Python types ``bool``, ``int``, ``float``, ``complex`` for weak scalars),
    mapped to distarr's dtypes. Cached."""
    key = (uf, operands)
    try:
        return _ufunc_cache[key]
    except KeyError:
        pass
    ins = tuple(np.dtype(bool) if o is bool else o for o in operands)
    try:
        resolved = uf.resolve_dtypes(ins + (None,))
    except TypeError as e:
        names = ", ".join(getattr(o, "name", getattr(o, "__name__", str(o))) for o in operands)
        raise DistArrayTypeError(f"ufunc '{uf.__name__}' is not supported for ({names}): {e}") from None
    res = (resolved[:-1], from_numpy_result(resolved[-1], uf.__name__))
    _ufunc_cache[key] = res
    return res


def ufunc_result(uf, operands):
    """The result dtype of :func:`ufunc_types`."""
    return ufunc_types(uf, operands)[1]


_reduce_cache = {}


def reduce_result(op_code, dtype):
    """Result dtype of reduction ``op_code`` (``DISTARR_REDUCE_*``) of ``dtype``, from the library."""
    key = (op_code, dtype)
    try:
        return _reduce_cache[key]
    except KeyError:
        pass
    out = ctypes.c_int32()
    lib.distarr_reduce_dtype(op_code, _CODE[dtype], ctypes.byref(out))
    res = DTYPES[out.value]
    _reduce_cache[key] = res
    return res


# --- scalars --------------------------------------------------------------------------------

def scalar_kind(x):
    """``bool``/``int``/``float``/``complex`` for a Python scalar, else None."""
    t = type(x)
    if t is bool or t is int or t is float or t is complex:
        return t
    return None


_I64_MIN, _I64_MAX, _U64_MAX = -(2 ** 63), 2 ** 63 - 1, 2 ** 64 - 1


def scalar_bytes(x, kind):
    """``(bytes, distarr code)`` encoding a Python scalar for ``distarr_binary_scalar`` and
    ``distarr_fill``."""
    if kind is bool:
        return np.array(x, np.bool_).tobytes(), 0
    if kind is int:
        if _I64_MIN <= x <= _I64_MAX:
            return np.array(x, np.int64).tobytes(), 2
        if 0 <= x <= _U64_MAX:
            return np.array(x, np.uint64).tobytes(), 5
        return np.array(float(x), np.float64).tobytes(), 7
    if kind is float:
        return np.array(x, np.float64).tobytes(), 7
    return np.array(x, np.complex128).tobytes(), 9


def check_int_fits(x, dtype, what):
    """NumPy 2 raises OverflowError when a Python int does not fit an integer dtype it is used with."""
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        if not info.min <= x <= info.max:
            raise DistArrayOverflowError(f"Python integer {x} out of bounds for {dtype.name} ({what})")

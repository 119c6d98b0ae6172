"""The module's NumPy-like functions: creation, shape manipulation, joining, element-wise
helpers, comparisons of whole arrays, and ``.npy`` I/O. Each is NumPy's signature plus, for
creation, DistNumPy's ``dist=True|False`` (default: distributed from ``DIST_MIN`` elements)."""
import builtins as _b
import math
import operator
import os

import numpy as np

from . import _dtypes
from ._array import (ndarray, _create, _normalize_axis, _out as _out_cell, _shape_arg,
                     _view, _want_dist, _wrap_new, asarray, empty, full)
from ._dtypes import to_dtype
from . import _lib
from ._lib import DistArrayValueError, lib, i64s
from ._ops import binary, unary, reduce, var, _operand, broadcast_shapes

# --- creation ---------------------------------------------------------------------------------


def zeros(shape, dtype=float, order="C", *, dist=None, layout=None):
    return empty(shape, dtype, order, dist=dist, layout=layout)


def ones(shape, dtype=float, order="C", *, dist=None, layout=None):
    # (dtype=None is float64, as NumPy's, not the fill value's int)
    return full(shape, 1, float if dtype is None else dtype, order, dist=dist, layout=layout)


def _like(a, dtype, shape):
    shape = np.shape(a) if shape is None and not isinstance(a, ndarray) else (a.shape if shape is None else shape)
    if dtype is None:
        dtype = a.dtype if isinstance(a, ndarray) else np.asarray(a).dtype
    dist = a.dist if isinstance(a, ndarray) else None
    return shape, dtype, dist


def empty_like(prototype, dtype=None, order="K", subok=True, shape=None, *, dist=None):
    shape, dtype, d = _like(prototype, dtype, shape)
    return empty(shape, dtype, dist=d if dist is None else dist)


def zeros_like(a, dtype=None, order="K", subok=True, shape=None, *, dist=None):
    return empty_like(a, dtype, shape=shape, dist=dist)


def ones_like(a, dtype=None, order="K", subok=True, shape=None, *, dist=None):
    return full_like(a, 1, dtype, shape=shape, dist=dist)


def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, *, dist=None):
    shape, dtype, d = _like(a, dtype, shape)
    return full(shape, fill_value, dtype, dist=d if dist is None else dist)


def arange(start, stop=None, step=1, dtype=None, *, dist=None):
    """``numpy.arange`` (values ``start + i * step`` computed in double precision)."""
    for v in (start, stop, step):
        if v is not None and np.ndim(v) != 0:
            raise TypeError("arange: scalar arguments expected instead of a tuple.")
        if isinstance(v, int) and not _lib.INT64_MIN <= v <= _lib.INT64_MAX:
            raise DistArrayValueError("Maximum allowed size exceeded")
    if stop is None:
        start, stop = 0, start
    if dtype is None:
        dtype = np.result_type(*(np.asarray(v).dtype if not isinstance(v, (int, float, complex))
                                 else type(v) for v in (start, stop, step)))
        if dtype.kind in "iub":
            dtype = np.dtype(np.int64) if dtype.kind != "u" else dtype
    dt = to_dtype(dtype)
    if step == 0:
        raise ZeroDivisionError("division by zero")
    n = _b.max(0, math.ceil((stop - start) / step))
    if dt == np.bool_ and n > 2:
        raise _lib.DistArrayTypeError("arange() is only supported for booleans when the result has "
                                      "at most length 2.")
    if _want_dist(dist, n):
        lib.distarr_arange(float(start), float(stop), float(step), _dtypes.code(dt), _out_cell)
        return _wrap_new(_out_cell.value)
    a = _create((n,), dt, False)
    if n:
        values = (np.arange(n, dtype=np.float64) * float(step) + float(start)).astype(dt)
        lib.distarr_scatter(a.handle, 0, values.ctypes.data)
    return a


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, *, dist=None):
    """``numpy.linspace`` for scalar ``start``/``stop``."""
    num = operator.index(num)
    if num < 0:
        raise DistArrayValueError(f"Number of samples, {num}, must be non-negative.")
    if num > _lib.INT64_MAX:
        raise DistArrayValueError("Maximum allowed size exceeded")
    div = (num - 1) if endpoint else num
    step = (stop - start) / div if div > 0 else float("nan")
    dt = to_dtype(np.result_type(type(start) if isinstance(start, (int, float)) else start,
                                 type(stop) if isinstance(stop, (int, float)) else stop, float)
                  if dtype is None else dtype)
    lib.distarr_linspace(float(start), float(stop), num, int(bool(endpoint)), _dtypes.code(dt),
                         _out_cell)
    y = _wrap_new(_out_cell.value)
    return (y, step) if retstep else y


def eye(N, M=None, k=0, dtype=float, order="C", *, dist=None):
    M = N if M is None else M
    dt = to_dtype(dtype)
    N, M, k = operator.index(N), operator.index(M), operator.index(k)
    if _b.max(N, M) > _lib.INT64_MAX or _b.min(N, M) < _lib.INT64_MIN:
        raise DistArrayValueError("Maximum allowed dimension exceeded")
    lib.distarr_eye(N, M, _lib.clip_i64(k), _dtypes.code(dt), _out_cell)
    return _wrap_new(_out_cell.value)


def identity(n, dtype=float, *, dist=None):
    return eye(n, dtype=dtype, dist=dist)


def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    if indexing not in ("xy", "ij"):
        raise DistArrayValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    xs = [asarray(x).ravel() for x in xi]
    nd = len(xs)
    shape = [x.size for x in xs]
    if indexing == "xy" and nd > 1:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, x in enumerate(xs):
        s = [1] * nd
        j = i
        if indexing == "xy" and nd > 1 and i < 2:
            j = 1 - i
        s[j] = x.size
        v = x.reshape(tuple(s))
        if sparse:
            out.append(v.copy() if copy else v)
        else:
            o = empty(tuple(shape), x.dtype, dist=None)
            lib.distarr_copy(o.handle, v.handle)
            out.append(o)
    return out


# --- shape functions ------------------------------------------------------------------------

def shape(a):
    return a.shape if isinstance(a, ndarray) else np.shape(a)


def ndim(a):
    return a.ndim if isinstance(a, ndarray) else np.ndim(a)


def size(a, axis=None):
    if axis is None:
        return a.size if isinstance(a, ndarray) else np.size(a)
    return shape(a)[axis]


def reshape(a, shape=None, order="C", *, newshape=None):
    return asarray(a).reshape(shape if shape is not None else newshape, order=order)


def ravel(a, order="C"):
    return asarray(a).ravel(order)


def transpose(a, axes=None):
    return asarray(a).transpose(axes)


def swapaxes(a, axis1, axis2):
    return asarray(a).swapaxes(axis1, axis2)


def squeeze(a, axis=None):
    return asarray(a).squeeze(axis)


def copy(a, order="K"):
    return asarray(a).copy()


def expand_dims(a, axis):
    a = asarray(a)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    nd = a.ndim + len(axes)
    axes = sorted(_normalize_axis(x, nd) for x in axes)
    if len(set(axes)) != len(axes):
        raise DistArrayValueError("repeated axis")
    shp = list(a.shape)
    for x in axes:
        shp.insert(x, 1)
    return a.reshape(tuple(shp))


def broadcast_to(array_, shape):
    a = asarray(array_)
    shp = _shape_arg(shape)
    return _view(a, lib.distarr_broadcast_to, a.handle, len(shp), i64s(shp))


def astype(x, dtype, copy=True):
    return asarray(x).astype(dtype, copy=copy)


# --- joining and rearranging -------------------------------------------------------------------

def _slices(nd, axis, lo, hi, step=1):
    return (slice(None),) * axis + (slice(lo, hi, step),) + (slice(None),) * (nd - axis - 1)


def concatenate(arrays, axis=0, out=None, dtype=None):
    if axis is not None:
        operator.index(axis)  # a TypeError first, as NumPy
    arrays = [asarray(a) for a in arrays]
    if not arrays:
        raise DistArrayValueError("need at least one array to concatenate")
    if axis is None:
        arrays = [a.ravel() for a in arrays]
        axis = 0
    nd = arrays[0].ndim
    if nd == 0:
        raise DistArrayValueError("zero-dimensional arrays cannot be concatenated")
    axis = _normalize_axis(axis, nd)
    for a in arrays:
        if a.ndim != nd:
            raise DistArrayValueError(
                "all the input array dimensions except for the concatenation axis must match exactly, "
                f"but along dimension 0, the array at index 0 has {nd} dimension(s) and another has {a.ndim}")
        for d in range(nd):
            if d != axis and a.shape[d] != arrays[0].shape[d]:
                raise DistArrayValueError(
                    "all the input array dimensions except for the concatenation axis must match "
                    f"exactly, but along dimension {d} the sizes differ ({arrays[0].shape[d]} and {a.shape[d]})")
    total = _b.sum(a.shape[axis] for a in arrays)
    shp = arrays[0].shape[:axis] + (total,) + arrays[0].shape[axis + 1:]
    dt = to_dtype(dtype) if dtype is not None else np.result_type(*(a.dtype for a in arrays))
    res = out if out is not None else empty(shp, to_dtype(dt), dist=_b.any(a.dist for a in arrays))
    at = 0
    for a in arrays:
        n = a.shape[axis]
        if n:
            res[_slices(nd, axis, at, at + n)] = a
        at += n
    return res


def stack(arrays, axis=0, out=None, dtype=None):
    arrays = [asarray(a) for a in arrays]
    if not arrays:
        raise DistArrayValueError("need at least one array to stack")
    shp = arrays[0].shape
    if _b.any(a.shape != shp for a in arrays):
        raise DistArrayValueError("all input arrays must have the same shape")
    axis = _normalize_axis(axis, len(shp) + 1)
    return concatenate([expand_dims(a, axis) for a in arrays], axis=axis, out=out, dtype=dtype)


def roll(a, shift, axis=None):
    """``numpy.roll`` (integer shifts; several axes one after the other)."""
    a = asarray(a)
    if axis is not None and (isinstance(axis, (tuple, list)) or isinstance(shift, (tuple, list))):
        # As NumPy: the axes normalised first, then shifts and axes broadcast together, the
        # shifts of a repeated axis added.
        axes = tuple(_normalize_axis(x, a.ndim) for x in (axis if isinstance(axis, (tuple, list)) else (axis,)))
        try:
            pairs = np.broadcast(np.asarray(shift, dtype=object), np.asarray(axes, dtype=object))
        except ValueError:
            raise DistArrayValueError("'shift' and 'axis' should be scalars or 1D sequences") from None
        if pairs.nd > 1:
            raise DistArrayValueError("'shift' and 'axis' should be scalars or 1D sequences")
        total = {}
        for sh, ax in pairs:
            total[ax] = total.get(ax, 0) + operator.index(sh)
        res = a
        for ax, sh in total.items():
            res = roll(res, sh, ax)
        return res
    ax = _lib.AXIS_NONE if axis is None else _normalize_axis(axis, a.ndim)
    # Any Python int shift: only its remainder modulo the rolled length matters.
    n = a.size if axis is None else a.shape[ax]
    shift = operator.index(shift) % n if n else 0
    res = empty(a.shape, a.dtype, dist=a.dist)
    lib.distarr_roll(res.handle, a.handle, shift, ax)
    return res


def repeat(a, repeats, axis=None):
    """``numpy.repeat`` with an integer ``repeats``: one strided view copy per repetition."""
    a = asarray(a)
    if axis is None:
        a = a.ravel()
        axis = 0
    ax = _normalize_axis(axis, a.ndim)  # (NumPy checks the axis first)
    if not isinstance(repeats, (int, np.integer)):
        from ._dispatch import fallback
        return fallback("repeat", np.repeat, (a, repeats), {"axis": axis})
    r = operator.index(repeats)
    if not _lib.INT64_MIN <= r <= _lib.INT64_MAX:
        raise _lib.DistArrayOverflowError("Python int too large to convert to C long")
    if r < 0:
        raise DistArrayValueError("negative dimensions are not allowed")
    shp = a.shape[:ax] + (a.shape[ax] * r,) + a.shape[ax + 1:]
    res = empty(shp, a.dtype, dist=a.dist)
    if res.size:
        for j in range(r):
            res[_slices(a.ndim, ax, j, None, r)] = a
    return res


# --- element-wise helpers -----------------------------------------------------------------------

def where(condition, x=None, y=None):
    """``numpy.where(condition, x, y)``; with the condition only: ``nonzero`` (NumPy fallback)."""
    if x is None and y is None:
        from ._dispatch import fallback
        return fallback("where", np.where, (condition,), {})
    if x is None or y is None:
        raise DistArrayValueError("either both or neither of x and y should be given")
    c, xv, yv = (_operand(v) for v in (condition, x, y))
    if not _b.any(isinstance(v, ndarray) for v in (c, xv, yv)):
        return np.where(c, xv, yv)
    dist = _b.any(v.dist for v in (c, xv, yv) if isinstance(v, ndarray))
    c = asarray(c)
    if c.dtype != _dtypes.BOOL:
        c = binary("not_equal", c, 0)
    # Arrays for NumPy arrays and strong (NumPy) scalars; Python scalars stay weak.
    xv, yv = (asarray(v) if isinstance(v, np.ndarray) else v for v in (xv, yv))
    dt = _where_dtype(xv, yv)
    shapes = [v.shape for v in (c, xv, yv) if isinstance(v, ndarray)]
    shp = broadcast_shapes(*shapes)
    out = empty(shp, dt, dist=dist)
    if isinstance(xv, ndarray) and isinstance(yv, ndarray):
        lib.distarr_where(out.handle, c.handle, xv.handle, yv.handle)
    elif isinstance(xv, ndarray) or isinstance(yv, ndarray):
        arr, s, first = (xv, yv, 0) if isinstance(xv, ndarray) else (yv, xv, 1)
        buf, code = _dtypes.scalar_bytes(s, type(s))
        lib.distarr_where_scalar(out.handle, c.handle, arr.handle, buf, code, first)
    else:
        out.fill(yv)
        buf, code = _dtypes.scalar_bytes(xv, type(xv))
        lib.distarr_where_scalar(out.handle, c.handle, out.handle, buf, code, 1)
    return out


def _where_dtype(x, y):
    """NumPy 2's result type of ``where(c, x, y)`` (Python scalars weak)."""
    def arg(v):
        if isinstance(v, (ndarray, np.ndarray)):
            return v.dtype
        return v
    return to_dtype(np.result_type(arg(x), arg(y)))


def clip(a, a_min=None, a_max=None, out=None, **kwargs):
    if a_min is None and a_max is None:
        raise DistArrayValueError("One of max or min must be given")
    a = asarray(a)
    if a_min is not None:
        r = binary("maximum", a, a_min, out)
        a = r
    if a_max is not None:
        r = binary("minimum", a, a_max, out)
    return r


def around(a, decimals=0, out=None):
    if decimals != 0:
        from ._dispatch import fallback
        return fallback("round", np.round, (a,), {"decimals": decimals})
    return unary("rint", asarray(a), out)


round = around  # noqa: A001 - NumPy's name


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(all(isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)))


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    a, b = asarray(a), asarray(b)
    dt = np.result_type(a.dtype, b.dtype, float)
    if a.dtype != dt:
        a = a.astype(dt)
    if b.dtype != dt:
        b = b.astype(dt)
    finite = binary("logical_and", unary("isfinite", a), unary("isfinite", b))
    diff = unary("absolute", binary("subtract", a, b))
    tol = binary("add", binary("multiply", unary("absolute", b), rtol), atol)
    close = binary("logical_and", finite, binary("less_equal", diff, tol))
    close = binary("logical_or", close, binary("equal", a, b))  # infinities of the same sign
    if equal_nan:
        both = binary("logical_and", unary("isnan", a), unary("isnan", b))
        close = binary("logical_or", close, both)
    return close


def array_equal(a1, a2, equal_nan=False):
    a1, a2 = asarray(a1), asarray(a2)
    if a1.shape != a2.shape:
        return False
    eq = binary("equal", a1, a2)
    if equal_nan:
        eq = binary("logical_or", eq, binary("logical_and", unary("isnan", a1), unary("isnan", a2)))
    return bool(all(eq))


# --- reductions as functions ------------------------------------------------------------------

def sum(a, axis=None, dtype=None, out=None, keepdims=False):  # noqa: A001
    return reduce("sum", a, axis, dtype, out, keepdims)


def prod(a, axis=None, dtype=None, out=None, keepdims=False):
    return reduce("prod", a, axis, dtype, out, keepdims)


def mean(a, axis=None, dtype=None, out=None, keepdims=False):
    return reduce("mean", a, axis, dtype, out, keepdims)


def min(a, axis=None, out=None, keepdims=False):  # noqa: A001
    return reduce("min", a, axis, None, out, keepdims)


def max(a, axis=None, out=None, keepdims=False):  # noqa: A001
    return reduce("max", a, axis, None, out, keepdims)


amin, amax = min, max


def argmin(a, axis=None, out=None, *, keepdims=False):
    return reduce("argmin", a, axis, None, out, keepdims)


def argmax(a, axis=None, out=None, *, keepdims=False):
    return reduce("argmax", a, axis, None, out, keepdims)


def any(a, axis=None, out=None, keepdims=False):  # noqa: A001
    return reduce("any", a, axis, None, out, keepdims)


def all(a, axis=None, out=None, keepdims=False):  # noqa: A001
    return reduce("all", a, axis, None, out, keepdims)


def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    return var(a, axis, dtype, out, ddof, keepdims, std=True)


def variance(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    return var(a, axis, dtype, out, ddof, keepdims)


# --- I/O ------------------------------------------------------------------------------------------

def save(file, arr, allow_pickle=True):
    """``numpy.save`` to a path (every rank writes its part: a shared file system)."""
    path = os.fspath(file)
    if not path.endswith(".npy"):
        path += ".npy"
    if "\0" in path:
        raise DistArrayValueError("embedded null byte")  # as NumPy's open() (C strings end there)
    a = asarray(arr)
    lib.distarr_save_npy(a.handle, os.fsencode(path))


def load(file, mmap_mode=None, allow_pickle=False):
    """``numpy.load`` of a ``.npy`` file into a distributed array."""
    path = os.fspath(file)
    if "\0" in path:
        raise DistArrayValueError("embedded null byte")  # as NumPy's open()
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file or directory: {path!r}")
    try:
        lib.distarr_load_npy(os.fsencode(path), _out_cell)
    except _lib.DistArrayOSError as e:
        # A malformed file: NumPy's np.load raises ValueError for those.
        raise _lib.DistArrayFileFormatError(str(e), e.code) from None
    return _wrap_new(_out_cell.value)

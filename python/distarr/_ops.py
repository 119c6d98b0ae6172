"""Element-wise operations (ufuncs and operators), reductions and matrix products.

Every operation computes its result's shape and dtype (NumPy's rules, see ``_dtypes``),
creates the result array and makes one collective library call that writes it
(``distarr_binary``, ``distarr_binary_scalar``, ``distarr_unary``, ``distarr_reduce``,
``distarr_matmul``). Python scalars are weak (NEP 50); NumPy scalars are strong, as in NumPy 2.
"""
import struct

import numpy as np

from . import _dtypes
from ._dtypes import _ufunc_cache
from ._array import (ndarray, _create, _normalize_axes, _pool_get, _prod, _read_box, _wrap,
                     array, asarray, full)
from ._lib import (DistArrayTypeError, DistArrayValueError, INT64_MAX, INT64_MIN, REDUCE, UFUNC, lib,
                   unchecked)

_COMPARISONS = {"equal", "not_equal", "less", "less_equal", "greater", "greater_equal"}
_binary_fn = lib.distarr_binary
_binary_scalar_fn = lib.distarr_binary_scalar
_pack_f64 = struct.Struct("<d").pack
_pack_i64 = struct.Struct("<q").pack
_PYSCALAR = (bool, int, float, complex)
_KIND_TYPE = {"b": bool, "i": int, "u": int, "f": float, "c": complex}


def broadcast_shapes(*shapes):
    """NumPy's broadcast of ``shapes`` (a ValueError naming them when they do not broadcast)."""
    nd = max(len(s) for s in shapes)
    out = [1] * nd
    for s in shapes:
        for i, n in enumerate(s, nd - len(s)):
            if n != 1:
                if out[i] == 1:
                    out[i] = n
                elif out[i] != n:
                    raise DistArrayValueError(
                        "operands could not be broadcast together with shapes "
                        + " ".join(str(tuple(x)).replace(" ", "") for x in shapes))
    return tuple(out)


def _operand(v, like=None):
    """``v`` as an operand: an :class:`ndarray`, a Python scalar, or a strong NumPy scalar (a
    0-d NumPy array); sequences and NumPy arrays become distarr arrays. ``NotImplemented`` for
    anything else."""
    t = type(v)
    if t is ndarray or t in _PYSCALAR:
        return v
    if isinstance(v, ndarray):
        return v
    if isinstance(v, np.generic):
        return np.asarray(v)
    if isinstance(v, (np.ndarray, list, tuple)):
        a = np.asarray(v)
        if a.ndim == 0:
            return a
        return array(a, dist=None if like is None else like._dist)
    if isinstance(v, (int, float, complex)):  # subclasses (e.g. np.float64 handled above)
        return t.__mro__[[c in _PYSCALAR for c in t.__mro__].index(True)](v)
    return NotImplemented


def _is_out(out):
    if isinstance(out, tuple):
        if len(out) != 1:
            raise DistArrayValueError("distarr ufuncs have one output")
        out = out[0]
    if out is not None and not isinstance(out, ndarray):
        raise TypeError("out= must be a distarr array")
    return out


def _strong_as_array(s):
    """A strong NumPy scalar (0-d NumPy array) as a 0-d distarr array on one rank."""
    return array(s, dist=False)


def binary(name, x, y, out=None):
    """``out = name(x, y)`` with NumPy broadcasting and promotion. Collective."""
    uf, code = _UF[name]
    tx, ty = type(x), type(y)
    if tx is ndarray and ty is ndarray:
        # The common case first: two arrays (every check below is about scalars).
        xs, ys = x._shape, y._shape
        shape = xs if xs == ys else broadcast_shapes(xs, ys)
        key = (uf, (x._dtype, y._dtype))
        dt = (_ufunc_cache[key] if key in _ufunc_cache else _dtypes.ufunc_types(*key))[1]
        r = _call(name, (x, y), out, shape, dt, x._dist or y._dist,
                  _binary_fn, code, x._h or x.handle, y._h or y.handle)
        if _in_library(name, (x, y), dt):
            _fast_types[(code, x._dtype, y._dtype)] = (dt, None, None)
        return r
    if ty in _PYSCALAR and tx is ndarray:
        return _binary_scalar(uf, name, code, x, y, False, out)
    if tx in _PYSCALAR and ty is ndarray:
        return _binary_scalar(uf, name, code, y, x, True, out)
    x, y = (_operand(x, y if isinstance(y, ndarray) else None),
            _operand(y, x if isinstance(x, ndarray) else None))
    if x is NotImplemented or y is NotImplemented:
        return NotImplemented
    xa, ya = isinstance(x, ndarray), isinstance(y, ndarray)
    if not (xa and ya):
        if not xa and not ya:
            r = uf(x, y)
            if out is not None:
                out[...] = r
                return out
            return r
        arr, s, first = (x, y, False) if xa else (y, x, True)
        if isinstance(s, np.ndarray):
            # A strong NumPy scalar: as a Python scalar when that gives NumPy's dtypes.
            kind = _KIND_TYPE.get(s.dtype.kind)
            ops_strong = (s.dtype, arr._dtype) if first else (arr._dtype, s.dtype)
            ops_weak = (kind, arr._dtype) if first else (arr._dtype, kind)
            if (kind is None or not _dtypes.is_supported(s.dtype)
                    or _dtypes.ufunc_result(uf, ops_strong) != _dtypes.ufunc_result(uf, ops_weak)):
                s = _strong_as_array(s)
                return binary(name, s if first else arr, arr if first else s, out)
            s = s.item()
        return _binary_scalar(uf, name, code, arr, s, first, out)
    dt = _dtypes.ufunc_result(uf, (x._dtype, y._dtype))  # (types first, as NumPy)
    shape = x._shape if x._shape == y._shape else broadcast_shapes(x._shape, y._shape)
    return _call(name, (x, y), out, shape, dt, x._dist or y._dist,
                 lib.distarr_binary, code, x.handle, y.handle)


#: (ufunc name, operand dtypes) the library refused although NumPy defines them.
_lacking = set()


def _lacking_key(name, operands):
    return (name, tuple(getattr(o, "_dtype", type(o)) for o in operands))


def _in_library(name, operands, dt):
    """Whether the library computes ufunc ``name`` of ``operands`` (giving ``dt``) itself."""
    return not (name == "power" and dt.kind == "c"  # the engine has no complex power
                or _lacking and _lacking_key(name, operands) in _lacking)


def _call(name, operands, out, shape, dt, dist, fn, code, *args):
    """Creates the result (unless ``out``) and runs the library's element-wise ``fn``; when the
    library lacks the dtype combination NumPy defines (e.g. complex ``sqrt``), NumPy computes
    it on gathered data (``_dispatch.fallback``: size limit, RuntimeWarning)."""
    if _in_library(name, operands, dt):
        if out is not None:
            fn(code, out.handle, *args)
            return out
        o = _create(shape, dt, dist, overwrite=True)  # from the result pool when it can
        try:
            fn(code, o._h, *args)
            return o
        except DistArrayTypeError:
            o.free()
            _lacking.add(_lacking_key(name, operands))
    from ._dispatch import fallback
    return fallback(name, _NP[name], operands, {} if out is None else {"out": out})


def _binary_scalar(uf, name, code, arr, s, first, out):
    kind = type(s)
    key = (uf, (kind, arr._dtype) if first else (arr._dtype, kind))
    loop, dt = _ufunc_cache[key] if key in _ufunc_cache else _dtypes.ufunc_types(*key)
    operands = (s, arr) if first else (arr, s)
    if kind is float:
        # The common case: no range to check.
        r = _call(name, operands, out, arr._shape, dt, arr._dist,
                  _binary_scalar_fn, code, arr.handle, _pack_f64(s), 7, first)
        if _in_library(name, operands, dt):
            _fast_types[(code, arr._dtype, float, first)] = (dt, None, None)
        return r
    lo, hi = INT64_MIN, INT64_MAX  # the ints the fast path may take (as int64)
    if kind is int:
        sdt = loop[0] if first else loop[1]
        if sdt.kind == "b" and not -2 ** 63 <= s < 2 ** 63:
            # NumPy converts the int to a C long for a boolean loop (logical_and(b, 2**63)).
            raise _dtypes.DistArrayOverflowError("Python int too large to convert to C long")
        if sdt.kind in "iu":
            info = np.iinfo(sdt)
            if not info.min <= s <= info.max:
                if name in _COMPARISONS and arr._dtype.kind in "iu":
                    return _compare_out_of_range(name, arr, s, first, out)
                raise _dtypes.DistArrayOverflowError(f"Python integer {s} out of bounds for {sdt.name}")
            lo, hi = max(lo, int(info.min)), min(hi, int(info.max))
    buf, scode = _dtypes.scalar_bytes(s, kind)
    r = _call(name, operands, out, arr._shape, dt, arr._dist,
              lib.distarr_binary_scalar, code, arr.handle, buf, scode, first)
    if kind is int and _in_library(name, operands, dt):
        _fast_types[(code, arr._dtype, int, first)] = (dt, lo, hi)
    return r


# --- the operators' fast path --------------------------------------------------------------------
# A recorded operation costs the library well under a microsecond, so in a loop of small
# operations the Python around the call is most of the time. The operators (``_operator``)
# therefore take a fast path first: an array with an array of the same shape, or with a Python
# float or int, for dtype combinations the general path has already run in the library
# (``_fast_types``), the result taken from the pool, the library called without further
# checks; anything else, or a call the library refuses, goes the general way (which raises
# the error).

#: (ufunc code, array dtype, other's dtype or Python type, [scalar first]) -> (result dtype,
#: smallest and largest int scalar the fast path passes as int64, or None)
_fast_types = {}
_fast_binary = unchecked("distarr_binary")
_fast_binary_scalar = unchecked("distarr_binary_scalar")


def _operator(name, reflected=False, inplace=False):
    """The operator method of ufunc ``name`` (``x.__add__``; ``reflected``: ``x.__radd__``;
    ``inplace``: ``x.__iadd__``) with the fast path inline: ``x`` with ``y`` an array of ``x``'s
    shape (not reflected), a Python float or int, into ``x`` itself (``inplace``) or a pooled
    array; anything else through :func:`binary`."""
    code = UFUNC[name]

    def op(x, y):
        t = type(y)
        h = x._h
        if t is float:
            dt = _fast_types.get((code, x._dtype, float, reflected))
            args = None if dt is None or not h else (h, _pack_f64(y), 7, reflected)
            fn, dist = _fast_binary_scalar, x._dist
        elif t is ndarray:
            dt = None if reflected or y._shape != x._shape or not h or not y._h else \
                _fast_types.get((code, x._dtype, y._dtype))
            args = None if dt is None else (h, y._h)
            fn, dist = _fast_binary, x._dist or y._dist
        elif t is int:
            dt = _fast_types.get((code, x._dtype, int, reflected))
            args = None if dt is None or not h or not dt[1] <= y <= dt[2] else \
                (h, _pack_i64(y), 2, reflected)
            fn, dist = _fast_binary_scalar, x._dist
        else:
            args = None
        if args is not None:
            dt = dt[0]
            if inplace:
                if x._dtype is dt and not fn(code, h, *args):
                    return x
            else:
                key = (x._shape, dt, True if dist else False)
                hs = _pool_get(key)  # (the pool inline: this is the hot path)
                if hs:
                    oh = hs.pop()
                    if not fn(code, oh, *args):
                        return _wrap(oh, x._shape, dt, None, dist, key)
                    lib.distarr_free(oh)  # (rare: the general path raises the error)
        # The general path (which also raises the error of a call the library refused).
        if reflected:
            return binary(name, y, x)
        return binary(name, x, y, x) if inplace else binary(name, x, y)
    return op


def _compare_out_of_range(name, arr, s, first, out):
    """NumPy 2 compares integer arrays with Python ints outside their dtype exactly: the
    result is the same for every element."""
    big = s > 0  # s is above the dtype's maximum (else below its minimum)
    if first:
        name = {"less": "greater", "greater": "less", "less_equal": "greater_equal",
                "greater_equal": "less_equal"}.get(name, name)
    value = {"equal": False, "not_equal": True, "less": big, "less_equal": big,
             "greater": not big, "greater_equal": not big}[name]
    if out is None:
        return full(arr._shape, value, dtype=bool, dist=arr._dist)
    out.fill(value)
    return out


def unary(name, x, out=None):
    """``out = name(x)``. Collective."""
    uf = _NP[name]
    if type(x) is not ndarray:
        x = _operand(x)
        if x is NotImplemented:
            raise TypeError(f"distarr.{name}: unsupported operand type {type(x).__name__}")
        if not isinstance(x, ndarray):
            r = uf(x)
            if out is not None:
                out[...] = r
                return out
            return r
    dt = _dtypes.ufunc_result(uf, (x._dtype,))
    if isinstance(out, ndarray) and out._shape != x._shape:
        # As NumPy, the input broadcasts to out's shape (not the other way round).
        if broadcast_shapes(x._shape, out._shape) == out._shape:
            from ._functions import broadcast_to
            x = broadcast_to(x, out._shape)
    return _call(name, (x,), out, x._shape, dt, x._dist, lib.distarr_unary, UFUNC[name],
                 x.handle)


# --- ufunc objects ----------------------------------------------------------------------------

class ufunc:
    """A distarr ufunc: ``distarr.sqrt(x, out=None)``; NumPy's ufunc of the same name on distarr
    arrays dispatches here (``__array_ufunc__``)."""

    def __init__(self, name, nin):
        self.__name__ = name
        self.nin = nin
        self.nout = 1
        self.nargs = nin + 1
        self._np = _NP[name]

    def __repr__(self):
        return f"<distarr ufunc '{self.__name__}'>"

    def __call__(self, *args, out=None, **kwargs):
        if len(args) == self.nin + 1 and out is None:
            out, args = args[-1], args[:-1]
        if len(args) != self.nin:
            raise TypeError(f"{self.__name__}() takes {self.nin} positional arguments, got {len(args)}")
        if kwargs:
            from ._dispatch import fallback
            return fallback(self.__name__, self._np, args, dict(kwargs, out=out) if out is not None else kwargs)
        out = _is_out(out)
        if self.nin == 2:
            r = binary(self.__name__, args[0], args[1], out)
            if r is NotImplemented:
                raise TypeError(f"distarr.{self.__name__}: unsupported operand types "
                                f"{type(args[0]).__name__} and {type(args[1]).__name__}")
            return r
        return unary(self.__name__, args[0], out)

    def reduce(self, a, axis=0, dtype=None, out=None, keepdims=False):
        op = _UFUNC_REDUCE.get(self.__name__)
        if op is None:
            from ._dispatch import fallback
            return fallback(f"{self.__name__}.reduce", self._np.reduce, (a,),
                            dict(axis=axis, dtype=dtype, keepdims=keepdims))
        return reduce(op, a, axis=axis, dtype=dtype, out=out, keepdims=keepdims)


_NP = {name: getattr(np, "true_divide" if name == "divide" else name) for name in UFUNC}
#: name -> (NumPy ufunc, DISTARR_UFUNC_* code)
_UF = {name: (_NP[name], code) for name, code in UFUNC.items()}
_UFUNC_REDUCE = {"add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min",
                 "logical_and": "all", "logical_or": "any"}
UFUNCS = {name: ufunc(name, 2 if code < 64 else 1) for name, code in UFUNC.items()}


# --- operators ----------------------------------------------------------------------------------

def _install_operators():
    for dunder, name in [("add", "add"), ("sub", "subtract"), ("mul", "multiply"),
                         ("truediv", "divide"), ("floordiv", "floor_divide"),
                         ("mod", "remainder"), ("pow", "power"), ("and", "bitwise_and"),
                         ("or", "bitwise_or"), ("xor", "bitwise_xor")]:
        setattr(ndarray, f"__{dunder}__", _operator(name))
        setattr(ndarray, f"__r{dunder}__", _operator(name, reflected=True))
        setattr(ndarray, f"__i{dunder}__", _operator(name, inplace=True))
    for dunder, name in [("eq", "equal"), ("ne", "not_equal"), ("lt", "less"),
                         ("le", "less_equal"), ("gt", "greater"), ("ge", "greater_equal")]:
        setattr(ndarray, f"__{dunder}__", _operator(name))
    ndarray.__hash__ = None
    ndarray.__neg__ = lambda self: unary("negative", self)
    ndarray.__pos__ = lambda self: unary("positive", self)
    ndarray.__abs__ = lambda self: unary("absolute", self)
    ndarray.__invert__ = lambda self: unary("invert", self)
    ndarray.__divmod__ = lambda self, o: (binary("floor_divide", self, o), binary("remainder", self, o))
    ndarray.__rdivmod__ = lambda self, o: (binary("floor_divide", o, self), binary("remainder", o, self))
    ndarray.__matmul__ = lambda self, o: matmul(self, o)
    ndarray.__rmatmul__ = lambda self, o: matmul(o, self)

    def imatmul(self, o):
        r = matmul(self, o)
        self[...] = r
        return self
    ndarray.__imatmul__ = imatmul


# --- reductions ---------------------------------------------------------------------------------

def _scalar_reduce(op, a, rdt):
    buf = np.empty((), rdt)
    lib.distarr_reduce(op, a.handle, -1, 0, buf.ctypes.data)
    return buf[()]


def _axis_reduce(op, a, ax, rdt):
    shape = a._shape[:ax] + a._shape[ax + 1:]
    out = _create(shape, rdt, a._dist, overwrite=True)
    lib.distarr_reduce(op, a.handle, ax, out.handle, None)
    return out


def _finish(res, a, axes, keepdims, out):
    """Applies ``keepdims`` and ``out=`` to a reduction result (a NumPy scalar or an array)."""
    if keepdims:
        kshape = tuple(1 if i in axes else n for i, n in enumerate(a._shape))
        if isinstance(res, ndarray):
            res = res.reshape(kshape)
        else:
            res = full(kshape, res, dtype=res.dtype, dist=False)
    if out is not None:
        out = _is_out(out)
        out[...] = res
        return out
    return res


def reduce(name, a, axis=None, dtype=None, out=None, keepdims=False):
    """``name`` (sum, prod, min, max, mean, any, all, argmin, argmax) of ``a`` over ``axis``
    (None: all elements; an int; a tuple of ints) as NumPy. Collective."""
    a = asarray(a)
    if dtype is not None and name in ("sum", "prod", "mean"):
        a = a.astype(dtype)
    if a._dtype.kind == "c" and name in ("min", "max", "argmin", "argmax"):
        from ._dispatch import fallback  # distarr does not order complex numbers
        kw = {"axis": axis, "keepdims": keepdims} if keepdims else {"axis": axis}
        return fallback(name, getattr(np, name), (a,), kw)
    if isinstance(axis, list):
        raise TypeError("'list' object cannot be interpreted as an integer")
    op = REDUCE[name]
    rdt = _dtypes.reduce_result(op, a._dtype)
    nd = a.ndim
    axes = tuple(range(nd)) if axis is None else _normalize_axes(axis, nd)
    if name in ("argmin", "argmax"):
        if axis is not None and len(axes) != 1 or isinstance(axis, tuple):
            raise TypeError("'tuple' object cannot be interpreted as an integer")
    if axis is None or (len(axes) == nd and name not in ("argmin", "argmax")):
        if name == "mean" and a.size == 0:
            res = np.array(np.nan, rdt)[()]
        else:
            res = _scalar_reduce(op, a, rdt)
        return _finish(res, a, axes, keepdims, out)
    if not axes:
        return _finish(a.astype(rdt), a, axes, keepdims, out)
    if name == "mean":
        s = reduce("sum", a if a._dtype == rdt else a.astype(rdt), axis=axes)
        n = _prod(a._shape[i] for i in axes)
        res = binary("divide", s, n, s) if n else binary("multiply", s, float("nan"), s)
        return _finish(res, a, axes, keepdims, out)
    res = a
    for ax in sorted(axes, reverse=True):
        nxt = _axis_reduce(op, res, ax, rdt)
        if res is not a:
            res.free()
        res = nxt
    return _finish(res, a, axes, keepdims, out)


def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, std=False):
    """``numpy.var`` (``numpy.std`` with ``std=True``): mean squared deviation, divided by
    ``n - ddof``."""
    a = asarray(a)
    if a._dtype.kind == "c":
        from ._dispatch import fallback
        return fallback("std" if std else "var", np.std if std else np.var, (a,),
                        dict(axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims))
    if dtype is not None:
        a = a.astype(dtype)
    nd = a.ndim
    axes = tuple(range(nd)) if axis is None else _normalize_axes(axis, nd)
    n = _prod(a._shape[i] for i in axes)
    m = reduce("mean", a, axis=axes, keepdims=True)
    d = binary("subtract", a, m)
    binary("multiply", d, d, d)
    s = reduce("sum", d, axis=axis, keepdims=keepdims)
    div = max(n - ddof, 0)
    if isinstance(s, ndarray):
        binary("divide", s, div, s) if div else binary("multiply", s, float("nan"), s)
        if std:
            unary("sqrt", s, s)
        res = s
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            res = s / s.dtype.type(div) if div else s.dtype.type(np.nan)
            res = np.sqrt(res) if std else res
    if out is not None:
        out = _is_out(out)
        out[...] = res
        return out
    return res


def count_nonzero(a, axis=None, *, keepdims=False):
    a = asarray(a)
    nz = binary("not_equal", a, 0) if a._dtype != _dtypes.BOOL else a
    r = reduce("sum", nz, axis=axis, keepdims=keepdims)
    return int(r) if axis is None and not keepdims else r


# --- matrix products ------------------------------------------------------------------------

def matmul(a, b, out=None):
    """``a @ b`` for 1-D and 2-D operands (``numpy.matmul``). Collective."""
    a, b = _operand(a), _operand(b)
    if a is NotImplemented or b is NotImplemented:
        return NotImplemented
    if not isinstance(a, ndarray) or not isinstance(b, ndarray):
        if _ndim(a) == 0 or _ndim(b) == 0:
            raise DistArrayValueError("matmul: Input operand does not have enough dimensions")
        a, b = asarray(a), asarray(b)
    if a.ndim > 2 or b.ndim > 2:
        from ._dispatch import fallback
        return fallback("matmul", np.matmul, (a, b), {})
    if a.ndim == 0 or b.ndim == 0:
        raise DistArrayValueError("matmul: Input operand does not have enough dimensions")
    sa, sb = a._shape, b._shape
    k1, k2 = sa[-1], sb[0]
    if k1 != k2:
        raise DistArrayValueError(f"matmul: Input operand 1 has a mismatch in its core dimension 0, "
                                  f"with gufunc signature (n?,k),(k,m?)->(n?,m?) (size {k2} is different from {k1})")
    shape = sa[:-1] + sb[1:]
    dt = _dtypes.ufunc_result(np.matmul, (a._dtype, b._dtype))
    o = _is_out(out)
    res = _create(shape, dt, a._dist or b._dist, overwrite=True) if o is None else o
    lib.distarr_matmul(res.handle, a.handle, b.handle)
    if not shape and o is None:
        v = _read_box(res, (), ())[()]
        res.free()
        return v
    return res


def dot(a, b, out=None):
    """``numpy.dot``: products of scalars, 1-D and 2-D arrays."""
    if _ndim(a) == 0 or _ndim(b) == 0:
        return binary("multiply", a, b, _is_out(out))
    return matmul(a, b, out)


def _ndim(x):
    return x.ndim if isinstance(x, ndarray) else np.ndim(x)


_install_operators()

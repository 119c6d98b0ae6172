"""The distributed array (:class:`ndarray`) and the operations every other module builds on:
creating arrays and views, element-wise ufunc calls, reductions, gathering and scattering.

An :class:`ndarray` holds a ``distarr_array`` handle. Every call that creates, frees or
computes on arrays is collective (SPMD: every rank makes it; sequential mode: rank 0 sends it
to the other ranks inside the library). Element reads and writes (``a[2, 5]``, ``float(a)``)
are one-sided reads of the library; in SPMD mode they are fenced with ``distarr_sync`` on
every rank, so they never race a collective write.
"""
import ctypes
import operator
import warnings
import weakref

import numpy as np

from . import _dtypes, _lib, _runtime
from ._dtypes import to_dtype
from ._lib import DistArrayIndexError, DistArrayTypeError, DistArrayValueError, lib, i64s
from ._runtime import state

_scopes = _runtime.scopes  # (a list the scopes are pushed onto and popped off: never rebound)

_c_i64 = ctypes.c_int64
_c_i32 = ctypes.c_int32
#: Arrays with fewer elements than this are created on one rank when ``dist`` is not given
#: (DistNumPy's ``dist=False``): distributing tiny arrays only adds communication.
DIST_MIN = 1024


class ndarray:
    """A distributed N-d array (or a view of one), NumPy-like.

    Create arrays with the module's functions (``distarr.zeros``, ``distarr.array`` …). In
    sequential mode (the default) an array is freed when garbage-collected; in SPMD mode call
    :meth:`free`, use ``with`` (the array is freed at the block's end) or
    :class:`distarr.scope`.
    """

    __slots__ = ("_h", "_shape", "_dtype", "_base", "_dist", "_pool", "__weakref__")
    # NumPy defers to our reflected operators (``np_array + distarr_array``).
    __array_priority__ = 1000

    # --- life cycle --------------------------------------------------------------------

    def __del__(self):
        h = self._h
        if not h or not state.running:
            return
        if state.gc_free:
            if _scopes:
                _runtime.forget(h)
            key = self._pool
            if key is not None:  # (the pool inline: this runs for every collected result)
                hs = _pool_get(key)
                if hs is None or len(hs) >= POOL_MAX_PER_KEY:
                    hs = _pool_admit(key)
                if hs is not None:
                    hs.append(h)
                    return
            try:
                lib.distarr_free(h)
            except Exception:  # noqa: BLE001 - nothing can be reported from __del__
                pass
        elif not _runtime.in_scope(h):
            warnings.warn(f"distarr array of shape {self._shape} ({self._dtype}) collected without "
                          "free() in SPMD mode: its memory stays allocated until finalize (use "
                          "free(), `with`, or distarr.scope())", ResourceWarning, stacklevel=2)

    def free(self):
        """Frees the array's storage (a view: its handle only). Collective. Idempotent."""
        h = self._h
        if h:
            self._h = 0
            _runtime.forget(h)
            if state.running:
                lib.distarr_free(h)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.free()
        return False

    @property
    def handle(self):
        """The ``distarr_array`` handle (for the C ABI)."""
        if not self._h:
            raise DistArrayValueError("the array was freed")
        return self._h

    # --- attributes ----------------------------------------------------------------------

    shape = property(lambda self: self._shape, doc="Extents (a tuple).")
    dtype = property(lambda self: self._dtype, doc="Element type (a NumPy dtype).")
    ndim = property(lambda self: len(self._shape))
    size = property(lambda self: _prod(self._shape))
    itemsize = property(lambda self: self._dtype.itemsize)
    nbytes = property(lambda self: _prod(self._shape) * self._dtype.itemsize)
    dist = property(lambda self: self._dist, doc="Whether the array is distributed over the ranks.")
    base = property(lambda self: self._base)

    @property
    def T(self):
        return self.transpose()

    @property
    def real(self):
        if self._dtype.kind != "c":
            return self
        return _fallback_method(self, "real")

    def __len__(self):
        if not self._shape:
            raise TypeError("len() of unsized object")
        return self._shape[0]

    def __iter__(self):
        if not self._shape:
            raise TypeError("iteration over a 0-d array")
        for i in range(self._shape[0]):
            yield self[i]

    def __repr__(self):
        if self.size <= np.get_printoptions()["threshold"]:
            return repr(self.to_numpy())
        return (f"distarr.ndarray(shape={self._shape}, dtype={self._dtype.name}, "
                f"{'distributed over ' + str(state.nranks) + ' ranks' if self._dist else 'on one rank'})")

    def __str__(self):
        if self.size <= np.get_printoptions()["threshold"]:
            return str(self.to_numpy())
        return repr(self)

    # --- conversion ---------------------------------------------------------------------

    def to_numpy(self):
        """The whole array as a NumPy array (gathered; in SPMD mode on every rank)."""
        out = np.empty(self._shape, self._dtype)
        if out.size:
            lib.distarr_gather(self.handle, 0, out.ctypes.data)
            if state.spmd_multi:
                lib.distarr_bcast(out.ctypes.data, out.nbytes, 0)
        return out

    def __array__(self, dtype=None, copy=None):
        a = self.to_numpy()
        return a if dtype is None else a.astype(dtype, copy=False)

    def _one(self, what):
        if self.size != 1:
            raise TypeError(f"only arrays with one element can be converted to Python {what}s"
                            f" (this one has shape {self._shape})")
        return _read_box(self, (0,) * self.ndim, self._shape).reshape(())[()]

    def _scalar_only(self, what):
        if self._shape:
            raise TypeError("only 0-dimensional arrays can be converted to Python scalars")
        return self._one(what)

    def __float__(self):
        v = self._scalar_only("float")
        if self._dtype.kind == "c":
            raise TypeError("float() argument must be a string or a real number, not 'complex'")
        return float(v)

    def __int__(self):
        v = self._scalar_only("int")
        if self._dtype.kind == "c":
            raise TypeError("int() argument must be a string, a bytes-like object or a real number, "
                            "not 'complex'")
        return int(v)

    def __complex__(self):
        return complex(self._scalar_only("complex"))

    def __index__(self):
        # NumPy 2: 0-d integer arrays only
        if self._dtype.kind not in "iu" or self._shape:
            raise TypeError("only integer scalar arrays can be converted to a scalar index")
        return operator.index(self._one("int"))

    def __bool__(self):
        if self.size != 1:
            raise ValueError("The truth value of an array with more than one element is ambiguous."
                             " Use a.any() or a.all()" if self.size else
                             "The truth value of an empty array is ambiguous. Use `array.size > 0`"
                             " to check that an array is not empty.")
        return bool(self._one("bool"))

    def item(self, *args):
        """One element as a Python scalar, as NumPy: ``a.item()`` (one-element arrays),
        ``a.item(k)`` (``k`` into the C-order flattening), ``a.item(i, j)`` / ``a.item((i, j))``."""
        if len(args) == 1 and isinstance(args[0], tuple):
            args = args[0]
        if not args:
            if self.size != 1:
                raise DistArrayValueError("can only convert an array of size 1 to a Python scalar")
            return self._one("scalar").item()
        for k in args:
            if isinstance(k, (bool, np.bool_)):
                raise TypeError("an integer is required")
            operator.index(k)
        if len(args) == 1:
            k, n = operator.index(args[0]), self.size
            if not _lib.INT64_MIN <= k <= _lib.INT64_MAX:
                raise _lib.DistArrayOverflowError("Python int too large to convert to C long")
            if not -n <= k < n:
                raise DistArrayIndexError(f"index {k} is out of bounds for size {n}")
            args = tuple(int(i) for i in np.unravel_index(k % n, self._shape))
        elif len(args) != self.ndim:
            raise DistArrayValueError("incorrect number of indices for array")
        if not args:
            return self._one("scalar").item()
        return self[tuple(args)].item()

    def tolist(self):
        return self.to_numpy().tolist()

    # --- shape and copies -----------------------------------------------------------------

    def copy(self, order="C"):
        """A new array with the same values (the array's layout for a base array)."""
        out = _create(self._shape, self._dtype, self._dist, overwrite=True)
        lib.distarr_copy(out._h, self.handle)
        return out

    def astype(self, dtype, order="K", casting="unsafe", copy=True):
        dt = to_dtype(dtype)
        if dt == self._dtype and not copy:
            return self
        if casting != "unsafe" and not np.can_cast(self._dtype, dt, casting):
            raise DistArrayTypeError(f"Cannot cast array data from {self._dtype} to {dt} "
                                     f"according to the rule '{casting}'")
        out = _create(self._shape, dt, self._dist, overwrite=True)
        lib.distarr_copy(out._h, self.handle)
        return out

    def fill(self, value):
        """Sets every element to ``value`` (cast to the array's dtype). Collective."""
        buf = _scalar_as(value, self._dtype)
        lib.distarr_fill(self.handle, buf.ctypes.data)

    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = tuple(shape[0])
        if order != "C":
            raise DistArrayValueError("distarr arrays are C ordered: reshape(order='C') only")
        shape = _resolve_shape(tuple(operator.index(s) for s in shape), self.size, self._shape)
        if shape == self._shape:
            return _view(self, lib.distarr_view, self.handle, 0, None, None, None)
        return _view(self, lib.distarr_reshape, self.handle, len(shape), i64s(shape))

    def ravel(self, order="C"):
        return self.reshape(-1, order=order)

    def flatten(self, order="C"):
        return self.ravel(order).copy()

    def transpose(self, *axes):
        # explicit: the axes came as one sequence (an empty one must then match a 0-d array)
        explicit = len(axes) == 1 and isinstance(axes[0], (tuple, list))
        if len(axes) == 1 and (axes[0] is None or not isinstance(axes[0], (int, np.integer))):
            axes = axes[0]
        if axes is None or (not axes and self.ndim != 0 and not explicit):
            return _view(self, lib.distarr_transpose, self.handle)
        if any(not _lib.INT64_MIN <= operator.index(x) <= _lib.INT64_MAX for x in axes):
            raise DistArrayValueError("Maximum allowed dimension exceeded")
        if len(axes) != self.ndim:
            raise DistArrayValueError("axes don't match array")
        axes = _normalize_axes(axes, self.ndim, allow_repeat=False, c_int=False)
        if len(axes) != self.ndim:
            raise DistArrayValueError("axes don't match array")
        return _view(self, lib.distarr_permute, self.handle, self.ndim, i64s(axes))

    def swapaxes(self, a1, a2):
        a1, a2 = operator.index(a1), operator.index(a2)  # (types first, as NumPy)
        axes = list(range(self.ndim))
        a1, a2 = _normalize_axis(a1, self.ndim), _normalize_axis(a2, self.ndim)
        axes[a1], axes[a2] = axes[a2], axes[a1]
        return self.transpose(axes)

    def squeeze(self, axis=None):
        if axis is None:
            return self.reshape(tuple(n for n in self._shape if n != 1))
        axes = _normalize_axes(axis, self.ndim)
        if any(self._shape[a] != 1 for a in axes):
            raise DistArrayValueError("cannot select an axis to squeeze out which has size not equal to one")
        return self.reshape(tuple(n for i, n in enumerate(self._shape) if i not in axes))

    # --- indexing -----------------------------------------------------------------------

    def __getitem__(self, key):
        mask = _as_mask(key, self)
        if mask is not None:
            return _view(self, lib.distarr_mask_select, self.handle, mask.handle, base=False)
        items, scalar = _index_items(key, self._shape)
        if scalar is not None:
            return _read_box(self, scalar, tuple(i + 1 for i in scalar)).reshape(())[()]
        return _index(self, items)

    def __setitem__(self, key, value):
        mask = _as_mask(key, self)
        if mask is not None:
            if not isinstance(value, ndarray) and np.ndim(value) == 0:
                # a[mask] = s is where(mask, s, a), the scalar cast to a's dtype (NumPy's
                # item assignment).
                buf = _scalar_as(value, self._dtype)
                lib.distarr_where_scalar(self.handle, mask.handle, self.handle, buf.ctypes.data,
                                         _dtypes.code(self._dtype), 1)
                return
            if np.ndim(value) > 1:
                raise DistArrayTypeError("NumPy boolean array indexing assignment requires a 0 or "
                                         f"1-dimensional input, input has {np.ndim(value)} dimensions")
            v = value if isinstance(value, ndarray) else asarray(value, self._dtype)
            lib.distarr_mask_assign(self.handle, mask.handle, v.handle)
            return
        items, scalar = _index_items(key, self._shape)
        if scalar is not None:
            if isinstance(value, ndarray) or np.ndim(value) != 0:
                v = value.to_numpy() if isinstance(value, ndarray) else np.asarray(value)
                if v.size != 1 or not scalar:  # (a 0-d array takes no sequence at all)
                    raise DistArrayValueError("setting an array element with a sequence.")
                value = v.reshape(())[()]
            _write_one(self, scalar, value)
            return
        target = _index(self, items)
        try:
            if isinstance(value, ndarray):
                lib.distarr_copy(target.handle, value.handle)
            elif np.ndim(value) == 0:
                target.fill(value[()] if isinstance(value, np.ndarray) else value)
            else:
                v = np.asarray(value)
                v = asarray(v, v.dtype if _dtypes.is_supported(v.dtype) else target._dtype)
                lib.distarr_copy(target.handle, v.handle)
        finally:
            if target is not self:
                target.free()

    # --- NumPy protocols ------------------------------------------------------------------

    def __array_ufunc__(self, uf, method, *inputs, **kwargs):
        from ._dispatch import array_ufunc
        return array_ufunc(uf, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from ._dispatch import array_function
        return array_function(func, types, args, kwargs)


def _resolve_shape(shape, size, old):
    """``shape`` with its unknown extent resolved; a ValueError as NumPy's when it cannot hold
    ``size``. As NumPy, any negative extent stands for the unknown one (``-1`` by convention)."""
    if any(not _lib.INT64_MIN <= s <= _lib.INT64_MAX for s in shape):
        raise DistArrayValueError("Maximum allowed dimension exceeded")
    unknown = [i for i, s in enumerate(shape) if s < 0]
    known = _prod(s for s in shape if s >= 0)
    bad = DistArrayValueError(f"cannot reshape array of size {size} into shape {shape}")
    if len(unknown) > 1:
        raise DistArrayValueError("can only specify one unknown dimension")
    if unknown:
        if known == 0 or size % known:
            raise bad
        shape = shape[:unknown[0]] + (size // known,) + shape[unknown[0] + 1:]
    elif known != size:
        raise bad
    return shape


def _prod(shape):
    n = 1
    for s in shape:
        n *= s
    return n


# --- making arrays -------------------------------------------------------------------------

_out = _c_i64()


def _wrap(h, shape, dtype, base=None, dist=True, pool=None):
    a = object.__new__(ndarray)
    a._h = h
    a._shape = shape
    a._dtype = dtype
    a._base = base
    a._dist = dist
    a._pool = pool
    if _scopes:
        _scopes[-1][h] = weakref.ref(a)
    return a


def _wrap_new(h, base=None, dist=True):
    """Wraps a handle the library just created, asking it for shape and dtype."""
    nd, dt = _c_i32(), _c_i32()
    lib.distarr_ndim(h, nd)
    shape = (_c_i64 * max(nd.value, 1))()
    lib.distarr_shape(h, shape)
    lib.distarr_dtype(h, dt)
    return _wrap(h, tuple(shape[:nd.value]), _dtypes.DTYPES[dt.value], base, dist)


def _layout_args(layout):
    """(layout code, block extents or None, rank) of a ``layout=`` argument."""
    if isinstance(layout, tuple):
        kind, arg = layout
    else:
        kind, arg = layout, None
    if kind == "block":
        return _lib.LAYOUT_BLOCK, None, 0
    if kind == "block_cyclic":
        return _lib.LAYOUT_BLOCK_CYCLIC, arg, 0
    if kind == "replicated":
        return _lib.LAYOUT_REPLICATED, None, 0
    if kind == "on_rank":
        return _lib.LAYOUT_ON_RANK, None, arg or 0
    raise DistArrayValueError(f"unknown layout {layout!r} (block, ('block_cyclic', blocks), "
                              "replicated, ('on_rank', rank))")


# --- the result pool ---------------------------------------------------------------------------
# Sequential mode (and one rank): a small base array collected by the garbage collector goes to
# a pool instead of being freed, and a later result of the same shape, dtype and layout that is
# overwritten whole (element-wise and reduction results, copies) takes it: ``c = a + b`` in a
# loop then costs one library command instead of three (create, compute, free). Only collected
# arrays are pooled (no view of them can exist: views keep their base alive); ``free()`` frees.
#
# Taking and returning are a dict lookup and a list pop or append (the operators' fast path and
# ``ndarray.__del__`` do them inline): a key is admitted once, reserving room for
# ``POOL_MAX_PER_KEY`` arrays of its size within ``POOL_MAX_TOTAL``; when the room is used up,
# keys whose lists are empty give theirs back.
POOL_MAX_BYTES = 1 << 20        # arrays up to 1 MiB
POOL_MAX_PER_KEY = 4
POOL_MAX_TOTAL = 32 << 20
#: (shape, dtype, dist) -> handles of collected arrays of that key
_pool = {}
_pool_get = _pool.get
#: Bytes reserved by the admitted keys (POOL_MAX_PER_KEY arrays each).
_pool_reserved = [0]


def _key_bytes(key):
    return _prod(key[0]) * key[1].itemsize


def _pool_admit(key):
    """Admits ``key`` to the pool if its arrays are small enough and there is room: its new,
    empty list, else None. Called when the list for ``key`` is missing or full."""
    if key in _pool:
        return None  # admitted, and full
    nbytes = _key_bytes(key)
    if nbytes > POOL_MAX_BYTES:
        return None
    room = nbytes * POOL_MAX_PER_KEY
    if _pool_reserved[0] + room > POOL_MAX_TOTAL:
        for k in [k for k, hs in _pool.items() if not hs]:
            del _pool[k]
            _pool_reserved[0] -= _key_bytes(k) * POOL_MAX_PER_KEY
        if _pool_reserved[0] + room > POOL_MAX_TOTAL:
            return None
    hs = _pool[key] = []
    _pool_reserved[0] += room
    return hs


def _pool_take(key):
    """A pooled array's handle for ``key``, or 0."""
    hs = _pool_get(key)
    return hs.pop() if hs else 0


def _create(shape, dtype, dist=True, layout=None, overwrite=False):
    """A new zero-filled array. ``dist``: block layout, else all on rank 0; ``layout`` (advanced:
    ``'block'``, ``('block_cyclic', blocks)``, ``'replicated'``, ``('on_rank', r)``) wins.
    ``overwrite``: the caller writes every element, so a pooled array (stale values) will do."""
    key = None
    if layout is None:
        key = (shape, dtype, bool(dist))
        if overwrite:
            h = _pool_take(key)
            if h:
                return _wrap(h, shape, dtype, None, dist, key)
    n = len(shape)
    sh = i64s(shape)
    # NumPy's size check: the non-zero extents times the item size may not pass intp's largest
    # value, even when another extent is 0
    nbytes = dtype.itemsize
    for s in shape:
        nbytes *= s or 1
        if nbytes > _lib.INT64_MAX:
            raise DistArrayValueError("array is too big; `arr.size * arr.dtype.itemsize` is larger "
                                      "than the maximum possible size.")
    code = _dtypes.code(dtype)
    # An array the caller overwrites by a collective operation gets its storage from that
    # operation: none at all when it is a temporary that dies in the deferred queue.
    later = _lib.LAYOUT_DEFERRED if overwrite else 0
    if layout is not None:
        lay, block, rank = _layout_args(layout)
        if block is not None:
            block = tuple(block) if np.ndim(block) else (block,) * n
            block = i64s(block)
        lib.distarr_create_layout(n, sh, code, lay | later, block, rank, _out)
        dist = lay != _lib.LAYOUT_ON_RANK
    elif dist:
        lib.distarr_create_layout(n, sh, code, _lib.LAYOUT_BLOCK | later, None, 0, _out)
    else:
        lib.distarr_create_layout(n, sh, code, _lib.LAYOUT_ON_RANK | later, None, 0, _out)
    return _wrap(_out.value, shape, dtype, None, dist, key)


def _view(a, fn, *args, base=True):
    """Calls a library function that creates an array or view from ``a`` (its last argument is
    the output handle) and wraps the result; views keep ``a`` alive."""
    fn(*args, _out)
    return _wrap_new(_out.value, (a if a._base is None else a._base) if base else None, a._dist)


def _shape_arg(shape):
    if isinstance(shape, (int, np.integer)):
        return (operator.index(shape),)
    try:
        return tuple(operator.index(s) for s in shape)
    except TypeError:
        raise TypeError(f"expected a sequence of integers or a single integer, got {shape!r}") from None


def _want_dist(dist, size):
    return size >= DIST_MIN if dist is None else bool(dist)


def empty(shape, dtype=float, order="C", *, dist=None, layout=None):
    """A new array (distarr's arrays start zero-filled)."""
    shape = _shape_arg(shape)
    return _create(shape, to_dtype(dtype), _want_dist(dist, _prod(shape)), layout)


def _scalar_as(value, dtype):
    """``value`` as a one-element NumPy array of ``dtype`` (NumPy's unsafe cast, as assignment)."""
    if isinstance(value, ndarray):
        value = value._one("scalar")
    if np.ndim(value) != 0:
        # one element is read from the buffer: a sequence must not get there
        if isinstance(value, np.ndarray):
            raise DistArrayValueError("setting an array element with a sequence.")
        raise DistArrayTypeError(f"{dtype.type.__name__}() argument must be a number, not "
                                 f"'{type(value).__name__}'")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            return np.array(value, dtype=dtype)
        except OverflowError:
            if dtype.kind in "iu" and isinstance(value, int):
                # NumPy 2 refuses out-of-range Python ints in assignments too.
                raise _lib.DistArrayOverflowError(
                    f"Python integer {value} out of bounds for {dtype.name}") from None
            raise


def full(shape, fill_value, dtype=None, order="C", *, dist=None, layout=None):
    if dtype is None:
        dtype = np.asarray(fill_value).dtype
        if not _dtypes.is_supported(dtype):
            raise DistArrayTypeError(f"distarr has no dtype {dtype} (fill value {fill_value!r})")
    if to_dtype(dtype).kind == "b" and isinstance(fill_value, int) and \
            not _lib.INT64_MIN <= fill_value <= _lib.INT64_MAX:
        raise _lib.DistArrayOverflowError("Python int too large to convert to C long")  # NumPy's
    a = empty(shape, dtype, dist=dist, layout=layout)
    if np.ndim(fill_value) > 0:
        a[...] = np.asarray(fill_value)  # broadcast to the shape, as NumPy's full
        return a
    if isinstance(fill_value, (complex, np.complexfloating)) and a.dtype.kind != "c":
        fill_value = fill_value.real  # NumPy's full casts unsafely: the imaginary part goes
    if not (isinstance(fill_value, (int, float, bool)) and fill_value == 0):
        a.fill(fill_value)
    return a


def asarray(obj, dtype=None, order=None, *, dist=None, layout=None):
    """``obj`` itself when it is a distarr array of that dtype, else a new array."""
    if isinstance(obj, ndarray) and layout is None:
        if dtype is None or to_dtype(dtype) == obj._dtype:
            return obj
        return obj.astype(dtype)
    return array(obj, dtype, dist=dist, layout=layout)


def array(obj, dtype=None, copy=True, order="K", ndmin=0, *, dist=None, layout=None):
    """A new distributed array holding ``obj`` (a NumPy array, nested sequences, a scalar, or a
    distarr array). Collective; in SPMD mode rank 0's ``obj`` is used."""
    if isinstance(obj, ndarray):
        out = obj.astype(obj._dtype if dtype is None else dtype)
    else:
        src = np.asarray(obj) if dtype is None else np.asarray(obj, dtype=to_dtype(dtype))
        dt = to_dtype(src.dtype)
        src = np.asarray(src, order="C")
        out = _create(src.shape, dt, _want_dist(dist, src.size), layout)
        if src.size:
            lib.distarr_scatter(out._h, 0, src.ctypes.data)
    if ndmin > out.ndim:
        out = out.reshape((1,) * (ndmin - out.ndim) + out.shape)
    return out


# --- element reads and writes (one-sided) ---------------------------------------------------

def _read_box(a, lo, hi):
    """The box ``[lo, hi)`` of ``a`` as a NumPy array. In SPMD mode every rank calls this."""
    buf = np.empty(tuple(h - l for l, h in zip(lo, hi)), a._dtype)
    n = len(lo)
    if state.spmd_multi:
        lib.distarr_sync()
    lib.distarr_get_region(a.handle, (_c_i64 * n)(*lo), (_c_i64 * n)(*hi), buf.ctypes.data)
    if state.spmd_multi:
        lib.distarr_sync()
    return buf


def _write_one(a, index, value):
    buf = _scalar_as(value, a._dtype)
    n = len(index)
    lo = (_c_i64 * n)(*index)
    hi = (_c_i64 * n)(*(i + 1 for i in index))
    if state.spmd_multi:
        # One writer (rank 0), fenced on every rank.
        lib.distarr_sync()
        if state.rank == 0:
            lib.distarr_put_region(a.handle, lo, hi, buf.ctypes.data)
        lib.distarr_sync()
    else:
        lib.distarr_put_region(a.handle, lo, hi, buf.ctypes.data)


# --- indexing --------------------------------------------------------------------------------

def _as_mask(key, a):
    """The boolean mask array of ``a[mask]``, or None when ``key`` is not a boolean mask."""
    if isinstance(key, ndarray):
        if key._dtype == _dtypes.BOOL:
            if key._shape != a._shape:
                raise DistArrayIndexError(
                    f"boolean index of shape {key._shape} does not match the indexed array's shape "
                    f"{a._shape} (distarr masks have the array's shape)")
            return key
        raise IndexError("distarr: indexing with integer arrays (fancy indexing) is not supported; "
                         "use slices or boolean masks")
    if isinstance(key, (np.ndarray, list)) and not isinstance(key, tuple):
        k = np.asarray(key)
        if k.dtype == bool and k.ndim > 0:
            return _as_mask(array(k, dist=a._dist), a)
        if k.ndim > 0:
            raise IndexError("distarr: indexing with integer arrays (fancy indexing) is not "
                             "supported; use slices or boolean masks")
    return None


def _index_items(key, shape):
    """``(items, None)`` with ``items`` a list of ``(kind, start, stop, step)`` for
    ``distarr_index``, or ``(None, index)`` when ``key`` picks one element (all integers)."""
    if not isinstance(key, tuple):
        key = (key,)
    # (checked first: NumPy reads a boolean scalar as a new axis of length 0 or 1)
    if any(isinstance(k, (bool, np.bool_)) or (isinstance(k, np.ndarray) and k.dtype == bool) for k in key):
        raise IndexError("distarr: boolean scalar indices are not supported")
    for k in key:
        # NumPy's reading of integers beyond intp, before anything else: an OverflowError for
        # those a uint64 holds, an IndexError (not an integer index) for the others.
        if isinstance(k, int) and not _lib.INT64_MIN <= k <= _lib.INT64_MAX:
            if 0 < k < 2 ** 64:
                raise _lib.DistArrayOverflowError("Python int too large to convert to C long")
            raise IndexError("only integers, slices (`:`), ellipsis (`...`), numpy.newaxis (`None`) "
                             "and integer or boolean arrays are valid indices")
    nd = len(shape)
    consumed = sum(1 for k in key if k is not None and k is not Ellipsis)
    if sum(1 for k in key if k is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if consumed > nd:
        raise IndexError(f"too many indices for array: array is {nd}-dimensional, "
                         f"but {consumed} were indexed")
    items = []
    ints = []
    dim = 0
    for k in key:
        if k is None:
            items.append((_lib.INDEX_NEWAXIS, 0, 0, 0))
        elif k is Ellipsis:
            for _ in range(nd - consumed):
                items.append((_lib.INDEX_RANGE, _lib.SLICE_NONE, _lib.SLICE_NONE, 1))
                dim += 1
        elif isinstance(k, slice):
            # Bounds and steps beyond int64 mean what the largest int64 ones do (the C ABI's
            # int64_t would otherwise truncate 2**70 to 0).
            step = 1 if k.step is None else _lib.clip_i64(operator.index(k.step))
            if step == 0:
                raise DistArrayValueError("slice step cannot be zero")
            start = _lib.SLICE_NONE if k.start is None else _lib.clip_i64(operator.index(k.start))
            stop = _lib.SLICE_NONE if k.stop is None else _lib.clip_i64(operator.index(k.stop))
            items.append((_lib.INDEX_RANGE, start, stop, step))
            dim += 1
        else:
            if isinstance(k, (bool, np.bool_)):
                raise IndexError("distarr: boolean scalar indices are not supported")
            if isinstance(k, (list, np.ndarray)):
                raise IndexError("distarr: indexing with integer arrays (fancy indexing) is not "
                                 "supported; use slices or boolean masks")
            try:
                i = operator.index(k)
            except TypeError:
                raise IndexError("only integers, slices (`:`), ellipsis (`...`), numpy.newaxis "
                                 "(`None`) and integer or boolean arrays are valid indices") from None
            n = shape[dim]
            if not -n <= i < n:
                raise DistArrayIndexError(f"index {i} is out of bounds for axis {dim} with size {n}")
            i += n if i < 0 else 0
            items.append((_lib.INDEX_INT, i, i + 1, 1))
            ints.append(i)
            dim += 1
    if len(ints) == nd and len(items) == nd and Ellipsis not in key:
        return None, tuple(ints)
    result_ndim = nd - len(ints) + sum(1 for k in key if k is None)
    if result_ndim > 64:
        raise DistArrayIndexError(f"number of dimensions must be within [0, 64], indexing result "
                                  f"would have {result_ndim}")
    while dim < nd:
        items.append((_lib.INDEX_RANGE, _lib.SLICE_NONE, _lib.SLICE_NONE, 1))
        dim += 1
    return items, None


_FULL = (_lib.INDEX_RANGE, _lib.SLICE_NONE, _lib.SLICE_NONE, 1)


def _index(a, items):
    """The view ``a[items]`` (NumPy basic indexing)."""
    if not items:
        return a
    n = len(items)
    if all(it[0] == _lib.INDEX_RANGE for it in items):
        if all(it == _FULL for it in items):
            return a
        return _view(a, lib.distarr_view, a.handle, n, (_c_i64 * n)(*(it[1] for it in items)),
                     (_c_i64 * n)(*(it[2] for it in items)), (_c_i64 * n)(*(it[3] for it in items)))
    # Trailing whole axes need no item (the C ABI keeps unindexed axes whole).
    while len(items) > 1 and items[-1] == _FULL:
        items = items[:-1]
    n = len(items)
    kinds = (_c_i32 * n)(*(it[0] for it in items))
    start = (_c_i64 * n)(*(it[1] for it in items))
    stop = (_c_i64 * n)(*(it[2] for it in items))
    step = (_c_i64 * n)(*(it[3] for it in items))
    return _view(a, lib.distarr_index, a.handle, n, kinds, start, stop, step)


# --- axes ---------------------------------------------------------------------------------

def _normalize_axis(axis, ndim, c_int=True):
    """``axis`` as an index into ``ndim`` axes (negative from the end). As NumPy, which reads an
    axis as a C ``int`` (``c_int``; ``intp`` for ``transpose``'s axes): beyond that an
    ``OverflowError``, out of range an ``AxisError``."""
    try:
        ax = operator.index(axis)
    except TypeError:
        raise TypeError(f"'{type(axis).__name__}' object cannot be interpreted as an integer") from None
    lim = 2 ** 31 if c_int else 2 ** 63
    if not -lim <= ax < lim:
        raise _lib.DistArrayOverflowError(
            f"Python int too large to convert to C {'int' if c_int else 'long'}")
    if not -ndim <= ax < ndim:
        raise _lib.DistArrayAxisError(f"axis {axis} is out of bounds for array of dimension {ndim}")
    return ax + ndim if ax < 0 else ax


def _normalize_axes(axes, ndim, allow_repeat=False, c_int=True):
    if not isinstance(axes, (tuple, list)):
        axes = (axes,)
    out = tuple(_normalize_axis(a, ndim, c_int) for a in axes)
    if not allow_repeat and len(set(out)) != len(out):
        raise DistArrayValueError("repeated axis")
    return out


def _fallback_method(a, name):
    from ._dispatch import fallback
    return fallback(name, lambda x: getattr(x, name), (a,), {})

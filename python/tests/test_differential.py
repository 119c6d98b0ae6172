"""Differential tests: distarr against NumPy over random shapes, dtypes, values, layouts and
views (Hypothesis). Every case compares shape, dtype and values with NumPy's result, or, when
NumPy raises, requires distarr to raise an exception of the same builtin class.

Documented differences (distarr's dtypes): where NumPy's result is float16 (math functions of
bool/uint8), distarr computes in float32, so the reference is NumPy on float32 inputs; where
NumPy's result is int8/int16 (e.g. ``floor_divide`` of bools), distarr raises TypeError.
"""
import warnings

import numpy as np
import pytest
from hypothesis import assume, strategies as st
from hypothesis.extra import numpy as hnp

import distarr
from distarr import _lib
from conftest import assert_same, cases, parity
from strategies import (DTYPES, basic_index, dtypes, elements, nonempty_shapes, operand, real_dtypes,
                        shapes, values)

BINARY = [n for n, c in _lib.UFUNC.items() if c < 64]
UNARY = [n for n, c in _lib.UFUNC.items() if c >= 64]
_LACKING = (np.float16, np.int8, np.int16, np.uint16)


def _np_ufunc(name):
    return getattr(np, name)


def check_ufunc(name, np_args, da_call):
    """Compares ``np.<name>(*np_args)`` with ``da_call()`` (see the module's documentation)."""
    fn = _np_ufunc(name)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            want = fn(*np_args)
        except Exception:  # noqa: BLE001
            want = None
        if want is not None and want.dtype == np.float16:
            args32 = [a.astype(np.float32) if isinstance(a, np.ndarray) else a for a in np_args]
            want = fn(*args32)
        if want is not None and want.dtype in [np.dtype(t) for t in _LACKING]:
            with pytest.raises(TypeError):
                da_call()
            return
    if want is None:
        parity(lambda: fn(*np_args), da_call)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = da_call()
    if name == "power" and isinstance(np_args[0], np.ndarray) and np_args[0].dtype.kind == "f":
        # NumPy computes x ** 0.5 with a scalar exponent as sqrt(x) (nan for -inf, where C's
        # pow gives inf, as distarr): compare elsewhere.
        keep = ~np.broadcast_to(np.isneginf(np_args[0]), np.shape(want))
        got = got.to_numpy() if isinstance(got, distarr.ndarray) else np.asarray(got)
        got, want = np.where(keep, got, 0).astype(want.dtype), np.where(keep, want, 0).astype(want.dtype)
    assert_same(got, want)


@cases(250, st.data(), hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4),
       st.sampled_from(BINARY), dtypes, dtypes)
def test_binary_arrays(data, bshapes, name, dx, dy):
    sx, sy = bshapes.input_shapes
    x, xa = operand(data, dx, sx)
    y, ya = operand(data, dy, sy)
    check_ufunc(name, (x, y), lambda: getattr(distarr, name)(xa, ya))


_PY_SCALARS = st.one_of(st.booleans(), st.integers(-300, 300), st.integers(-2 ** 65, 2 ** 65),
                        st.floats(-1e3, 1e3), st.sampled_from([np.nan, np.inf, 0.5, -2.0]),
                        elements(np.complex128).map(complex))


@cases(200, st.data(), shapes, st.sampled_from(BINARY), dtypes, _PY_SCALARS, st.booleans())
def test_binary_python_scalar(data, shape, name, dx, s, first):
    """NEP 50: Python scalars are weak; out-of-range ints raise OverflowError (but compare)."""
    x, xa = operand(data, dx, shape)
    # The engine's complex division is naive (reported): no infinite scalars with complex.
    finite = not isinstance(s, (float, complex)) or np.isfinite(s)
    assume(finite or not (dx.kind == "c" or isinstance(s, complex)))
    args = (s, x) if first else (x, s)
    dargs = (s, xa) if first else (xa, s)
    check_ufunc(name, args, lambda: getattr(distarr, name)(*dargs))


@cases(60, st.data(), shapes, st.sampled_from(["add", "multiply", "less", "maximum", "divide",
                                               "power", "bitwise_and"]),
       dtypes, st.sampled_from(DTYPES))
def test_binary_numpy_scalar(data, shape, name, dx, ds):
    """NumPy scalars are strong (NumPy 2): ``int32_array + np.int64(1)`` is int64."""
    x, xa = operand(data, dx, shape)
    s = data.draw(values(ds, ()), label="s")[()]
    check_ufunc(name, (x, s), lambda: getattr(distarr, name)(xa, s))


@cases(200, st.data(), shapes, st.sampled_from(UNARY), dtypes)
def test_unary(data, shape, name, dx):
    x, xa = operand(data, dx, shape)
    check_ufunc(name, (x,), lambda: getattr(distarr, name)(xa))


_OPERATORS = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide", "//": "floor_divide",
              "%": "remainder", "**": "power", "&": "bitwise_and", "|": "bitwise_or",
              "^": "bitwise_xor", "<": "less", "<=": "less_equal", ">": "greater",
              ">=": "greater_equal", "==": "equal", "!=": "not_equal"}


@cases(120, st.data(), hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=4),
       st.sampled_from(sorted(_OPERATORS)), real_dtypes, real_dtypes, st.sampled_from(["arr", "scalar", "numpy"]))
def test_operators(data, bshapes, op, dx, dy, other):
    """Operators, with arrays, Python scalars and NumPy arrays on either side."""
    sx, sy = bshapes.input_shapes
    x, xa = operand(data, dx, sx)
    if other == "arr":
        y, ya = operand(data, dy, sy)
    elif other == "scalar":
        y = ya = data.draw(st.one_of(st.integers(-5, 5), st.floats(-5, 5), st.booleans()), label="y")
    else:
        y = ya = data.draw(values(dy, sy), label="y")
    swap = data.draw(st.booleans(), label="swap")
    f = eval(f"lambda a, b: a {op} b")  # noqa: S307 - the operator under test
    if swap:
        check_ufunc(_OPERATORS[op], (y, x), lambda: f(ya, xa))
    else:
        check_ufunc(_OPERATORS[op], (x, y), lambda: f(xa, ya))


@cases(80, st.data(), hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=4),
       st.sampled_from(["+=", "-=", "*=", "/=", "//=", "%=", "**=", "&=", "|=", "^="]),
       real_dtypes, real_dtypes)
def test_inplace(data, bshapes, op, dx, dy):
    """In-place operators write into the left array (same_kind casting; NumPy's errors)."""
    sx, sy = bshapes.input_shapes
    assume(np.broadcast_shapes(sx, sy) == sx)
    x, xa = operand(data, dx, sx)
    y, ya = operand(data, dy, sy)
    xn = x.copy()

    def np_op():
        exec(f"xn {op} y", {}, {"xn": xn, "y": y})  # noqa: S102
        return xn

    def da_op():
        scope = {"xa": xa, "ya": ya}
        exec(f"xa {op} ya", {}, scope)  # noqa: S102
        assert scope["xa"] is xa
        return xa
    if op == "**=" and x.dtype.kind == "f":
        x[np.isneginf(x)] = 0  # see check_ufunc
        xa[...] = distarr.array(x) if x.ndim else x[()]
        xn = x.copy()
    r = parity(np_op, da_op)
    if r is not None:
        assert_same(r[1], r[0])


REDUCTIONS = ["sum", "prod", "min", "max", "mean", "argmin", "argmax", "any", "all", "std", "var"]


@cases(200, st.data(), shapes, st.sampled_from(REDUCTIONS), real_dtypes, st.booleans())
def test_reductions(data, shape, name, dx, keepdims):
    x, xa = operand(data, dx, shape)
    nd = len(shape)
    axis = data.draw(st.one_of(st.none(), st.integers(-nd, nd - 1) if nd else st.none(),
                               st.lists(st.integers(0, max(nd - 1, 0)), unique=True, max_size=nd).map(tuple)
                               if nd else st.none()), label="axis")
    if name in ("argmin", "argmax") and isinstance(axis, tuple):
        return
    kw = {"axis": axis}
    if keepdims:
        kw["keepdims"] = True
    r = parity(lambda: getattr(np, name)(x, **kw), lambda: getattr(distarr, name)(xa, **kw))
    if r is None:
        return
    want, got = r
    # Absolute tolerances scale with the largest finite magnitude (an infinity in the data
    # would make them infinite, and every finite result would pass).
    scale = _finite_scale(x)
    if name in ("sum", "prod") and x.dtype.kind == "f":
        rtol = 1e-4 if x.dtype == np.float32 else 1e-9
        assert_same(got, want, rtol=rtol, atol=rtol * (1 + scale) ** 2)
    elif name in ("mean", "std", "var"):
        assert_same(got, want, rtol=1e-4 if want.dtype == np.float32 else 1e-9,
                    atol=1e-4 * (1 + scale) ** 2)
    else:
        assert_same(got, want)
    # The method form gives the same.
    with np.errstate(all="ignore"):
        assert_same(getattr(xa, name)(**kw), want, rtol=1e-4, atol=1e-3 * (1 + _finite_scale(want)) ** 2)


def _finite_scale(v):
    """The largest finite magnitude in ``v`` (0 when there is none)."""
    v = np.abs(np.asarray(v, dtype=np.float64 if np.asarray(v).dtype.kind != "c" else np.complex128))
    v = v[np.isfinite(v)]
    return float(v.max()) if v.size else 0.0


@cases(150, st.data(), nonempty_shapes, dtypes)
def test_getitem_ranges(data, shape, dx):
    """Slices only (any steps, negative and out-of-range bounds): views of the library."""
    x, xa = operand(data, dx, shape)
    key = data.draw(basic_index(shape, allow_int=False, allow_newaxis=False), label="key")
    assert_same(xa[key], x[key])


@cases(100, st.data(), nonempty_shapes, dtypes)
def test_getitem_basic(data, shape, dx):
    """Ints, slices, None and ``...``; all ints give a NumPy scalar."""
    x, xa = operand(data, dx, shape)
    key = data.draw(basic_index(shape), label="key")
    r = parity(lambda: x[key], lambda: xa[key])
    if r is not None:
        want, got = r
        if np.ndim(want) == 0 and not isinstance(want, np.ndarray):
            assert type(got) is type(want), (type(got), type(want))
        assert_same(got, want)


@cases(120, st.data(), nonempty_shapes, real_dtypes, real_dtypes, st.sampled_from(["scalar", "array", "numpy"]))
def test_setitem(data, shape, dx, dv, kind):
    """``a[key] = value`` with slices (and ints, None, ... when the library has distarr_index)."""
    x, xa = operand(data, dx, shape, view=False)
    key = data.draw(basic_index(shape, allow_int=_lib.has("distarr_index"),
                                allow_newaxis=_lib.has("distarr_index")), label="key")
    target_shape = x[key].shape
    if kind == "scalar":
        v = va = data.draw(values(dv, ()), label="v")[()].item()
    else:
        sub = data.draw(st.integers(0, len(target_shape)), label="trailing dims")
        vs = target_shape[sub:]
        v = data.draw(values(dv, vs), label="v")
        va = distarr.array(v) if kind == "array" else v
    if dx.kind in "iu" and np.dtype(dv).kind == "f":
        # Float to integer casts of values outside the integer's range are undefined in C
        # (NumPy's result is the platform's); distarr saturates.
        info = np.iinfo(dx)
        vv = np.asarray(v, dtype=np.float64)
        assume(np.isfinite(vv).all() and (vv >= info.min).all() and (vv <= info.max).all())
    xn = x.copy()

    def np_set():
        with np.errstate(all="ignore"):
            xn[key] = v
        return xn

    def da_set():
        xa[key] = va
        return xa
    r = parity(np_set, da_set)
    if r is not None:
        assert_same(r[1], r[0])


@cases(80, st.data(), nonempty_shapes, real_dtypes)
def test_boolean_masks(data, shape, dx):
    x, xa = operand(data, dx, shape)
    m = data.draw(values(np.bool_, shape), label="mask")
    ma = distarr.array(m)
    assert_same(xa[ma], x[m])
    v = data.draw(values(dx, ()), label="v")[()].item()
    xn = x.copy()
    xn[m] = v
    xa[ma] = v
    assert_same(xa, xn)
    # a[mask] = array of the selected length
    vals = data.draw(values(dx, (int(m.sum()),)), label="vals")
    xn[m] = vals
    xa[ma] = distarr.array(vals)
    assert_same(xa, xn)


@cases(80, st.data(), nonempty_shapes, dtypes)
def test_reshape_transpose(data, shape, dx):
    x, xa = operand(data, dx, shape)
    perm = data.draw(st.permutations(range(len(shape))), label="perm")
    assert_same(xa.transpose(perm), x.transpose(perm))
    assert_same(xa.T, x.T)
    new = data.draw(st.sampled_from([(-1,), (x.size, 1), (1, -1), tuple(reversed(shape))]), label="new")
    r = parity(lambda: x.reshape(new), lambda: xa.reshape(new))
    if r:
        assert_same(r[1], r[0])
    assert_same(xa.ravel(), x.ravel())
    assert_same(xa.flatten(), x.flatten())


@cases(60, st.data(), st.integers(0, 5), st.integers(0, 5), st.integers(0, 5), real_dtypes, real_dtypes)
def test_matmul(data, n, k, m, da, db):
    sa = {"mm": (n, k), "mv": (n, k), "vm": (k,), "vv": (k,)}
    sb = {"mm": (k, m), "mv": (k,), "vm": (k, m), "vv": (k,)}
    kind = data.draw(st.sampled_from(["mm", "mv", "vm", "vv"]), label="kind")
    small = st.integers(-4, 4)
    a = data.draw(hnp.arrays(da, sa[kind], elements=small.map(lambda v: bool(v) if da == np.bool_ else v)
                             .map(lambda v: abs(v) if da.kind == "u" else v)), label="a")
    b = data.draw(hnp.arrays(db, sb[kind], elements=small.map(lambda v: bool(v) if db == np.bool_ else v)
                             .map(lambda v: abs(v) if db.kind == "u" else v)), label="b")
    layout = data.draw(st.sampled_from(["block", ("block_cyclic", 2), "replicated"]), label="layout")
    aa, ba = distarr.array(a, layout=layout), distarr.array(b)
    r = parity(lambda: a @ b, lambda: aa @ ba)
    if r:
        assert_same(r[1], r[0])
        assert_same(distarr.dot(aa, ba), np.dot(a, b))


@cases(60, st.data(), nonempty_shapes, real_dtypes, st.integers(-7, 7))
def test_roll_repeat_concatenate(data, shape, dx, shift):
    x, xa = operand(data, dx, shape)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    assert_same(distarr.roll(xa, shift, axis), np.roll(x, shift, axis))
    reps = data.draw(st.integers(0, 3), label="reps")
    assert_same(distarr.repeat(xa, reps, axis), np.repeat(x, reps, axis))
    y, ya = operand(data, dx, shape)
    assert_same(distarr.concatenate([xa, ya, xa], axis=axis), np.concatenate([x, y, x], axis=axis))


@cases(60, st.data(), hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=4),
       real_dtypes, real_dtypes)
def test_where_clip(data, bshapes, dx, dy):
    sc, sx, sy = bshapes.input_shapes
    c, ca = operand(data, np.dtype(bool), sc)
    x, xa = operand(data, dx, sx)
    y, ya = operand(data, dy, sy)
    assert_same(distarr.where(ca, xa, ya), np.where(c, x, y))
    assert_same(distarr.where(ca, xa, 0), np.where(c, x, 0))


@cases(60, st.data(), nonempty_shapes, real_dtypes)
def test_clip_allclose_equal(data, shape, dx):
    x, xa = operand(data, dx, shape)
    assume(dx.kind != "b")
    lo, hi = (0, 3) if dx.kind in "iu" else (-1.5, 2.5)
    assert_same(distarr.clip(xa, lo, hi), np.clip(x, lo, hi))
    y, ya = operand(data, dx, shape)
    with np.errstate(all="ignore"):
        assert distarr.allclose(xa, ya, equal_nan=True) == np.allclose(x, y, equal_nan=True)
        assert distarr.array_equal(xa, ya) == np.array_equal(x, y)
        assert distarr.array_equal(xa, xa, equal_nan=True)
    assert distarr.count_nonzero(xa) == np.count_nonzero(x)


@cases(60, st.data(), st.sampled_from(DTYPES))
def test_creation(data, dt):
    shape = data.draw(shapes, label="shape")
    dist = data.draw(st.sampled_from([None, True, False]), label="dist")
    assert_same(distarr.zeros(shape, dt, dist=dist), np.zeros(shape, dt))
    assert_same(distarr.ones(shape, dtype=dt, dist=dist), np.ones(shape, dt))
    v = data.draw(values(dt, ()), label="v")[()]
    assert_same(distarr.full(shape, v, dist=dist), np.full(shape, v))
    assert_same(distarr.full_like(np.zeros(shape, dt), 1), np.full_like(np.zeros(shape, dt), 1))
    start = data.draw(st.integers(-20, 20), label="start")
    stop = data.draw(st.integers(-20, 40), label="stop")
    step = data.draw(st.sampled_from([1, 2, 3, -1, -2, 0.5, 0.25]), label="step")
    assert_same(distarr.arange(start, stop, step), np.arange(start, stop, step))
    num = data.draw(st.integers(0, 30), label="num")
    endpoint = data.draw(st.booleans(), label="endpoint")
    assert_same(distarr.linspace(start, stop, num, endpoint=endpoint),
                np.linspace(start, stop, num, endpoint=endpoint))


@cases(30, st.integers(0, 6), st.integers(0, 6), st.integers(-7, 7), real_dtypes)
def test_eye(n, m, k, dt):
    assert_same(distarr.eye(n, m, k, dtype=dt), np.eye(n, m, k, dtype=dt))
    assert_same(distarr.identity(n), np.identity(n))

"""Hostile inputs to the Python layer (issue 11): wrong types, shapes, dtypes, axes, indices,
values and files, drawn by Hypothesis (derandomized: the same cases on every rank, so SPMD
ranks make the same collective calls). Each case runs on NumPy and on distarr:

- NumPy raises: distarr raises an exception of the same builtin class (``conftest.base_error``);
- NumPy succeeds: distarr gives the same shape, dtype and values, or raises the exception it
  documents for what it does not support (integer-array "fancy" indices and boolean masks
  of another shape: ``IndexError``; dtypes it lacks such as float16: ``TypeError``; Fortran-order
  or trailing-data ``.npy`` files: ``ValueError``);
- never anything else: a crash or a hang ends the job (mpirun's timeout reports it), an
  exception that is not a clean Python one fails the case.
"""
import os
import tempfile
import warnings

import numpy as np
import pytest
from hypothesis import strategies as st

import distarr
from conftest import assert_same, base_error, cases
from strategies import DTYPES, dtypes, shapes, values

_LACKING = [np.dtype(t) for t in (np.float16, np.int8, np.int16, np.uint16)]
HUGE = [2 ** 31, 2 ** 62, 2 ** 63 - 1, 2 ** 63, -(2 ** 63), -(2 ** 63) - 1, 2 ** 64, 2 ** 70, -(2 ** 70)]

#: Integers around zero, at the int32/int64 limits and beyond.
wild_ints = st.one_of(st.integers(-6, 6), st.sampled_from(HUGE), st.integers(-(2 ** 80), 2 ** 80))

#: Values of any Python or NumPy type an argument might wrongly get.
wild_things = st.one_of(
    wild_ints, st.floats(allow_nan=True, allow_infinity=True), st.complex_numbers(max_magnitude=10),
    st.booleans(), st.none(), st.text(max_size=3), st.binary(max_size=3),
    st.sampled_from([object(), Ellipsis, (), [], [1, 2], (1.5,), [[1], [2, 3]], {"a": 1},
                     np.float16(1.5), np.int16(3), np.str_("a"), np.datetime64("2020-01-01"),
                     np.array([1, 2, 3]), np.array(["a"]), np.zeros((2, 0)), slice(None)]),
)

_BAD_DTYPES = ["foo", "U3", "S2", "O", "float16", "int8", "uint16", "M8[s]", "V4", "f16",
               [("a", "<f8")], np.dtype(">f8"), np.longdouble, object, str, None, 3, 1.5]

#: Valid and invalid dtype arguments.
wild_dtypes = st.one_of(dtypes, st.sampled_from(_BAD_DTYPES))


def _bounded_size(shape):
    """Whether a (non-negative int) shape is harmless to allocate with NumPy: a few thousand
    elements, or so huge that NumPy refuses at once (never the allocatable giants between)."""
    n = 1
    for s in shape:
        n *= s
    return n <= 4096 or n >= 2 ** 62 or 0 in shape


@st.composite
def wild_shapes(draw):
    """A shape argument: valid small ones, negative or huge extents, wrong types, nesting."""
    kind = draw(st.sampled_from(["ok", "ok", "neg", "huge", "type", "int"]))
    if kind == "ok":
        return draw(shapes)
    if kind == "int":
        return draw(st.one_of(st.integers(-3, 6), st.sampled_from([2 ** 62, 2 ** 63, 2 ** 70, -(2 ** 70)])))
    base = list(draw(shapes))
    if kind == "neg":
        base.insert(draw(st.integers(0, len(base))), draw(st.integers(-(2 ** 70), -1)))
    elif kind == "huge":
        base.insert(draw(st.integers(0, len(base))), draw(st.sampled_from(HUGE[1:5] + [2 ** 64, 2 ** 70])))
    else:
        base.insert(draw(st.integers(0, len(base))), draw(wild_things.filter(lambda t: not isinstance(t, int))))
    return tuple(base)


@st.composite
def wild_keys(draw, shape):
    """An index: integers (in range, out of range, huge), slices with any bounds and steps
    (zero and huge too), None, Ellipsis (sometimes two), booleans, floats, strings, integer and
    boolean lists and arrays, distarr masks, nested tuples."""
    nd = len(shape)

    def item():
        return draw(st.one_of(
            wild_ints,
            st.builds(slice, st.one_of(st.none(), wild_ints), st.one_of(st.none(), wild_ints),
                      st.one_of(st.none(), wild_ints)),
            st.just(None), st.just(Ellipsis), st.booleans(), st.floats(-3, 3), st.text(max_size=2),
            st.sampled_from([np.int64(1), np.uint8(0), np.int32(-1), np.float64(1.0), np.bool_(True)]),
            st.lists(st.integers(-3, 3), min_size=0, max_size=3),
            st.lists(st.booleans(), min_size=1, max_size=3),
        ))

    kind = draw(st.sampled_from(["tuple", "tuple", "one", "mask", "many_none"]))
    if kind == "one":
        return item()
    if kind == "mask":
        mshape = shape if draw(st.booleans()) else draw(shapes)
        m = draw(values(np.bool_, mshape))
        return m if draw(st.booleans()) else ("distarr", m)
    if kind == "many_none":
        return (None,) * draw(st.integers(60, 70)) + (Ellipsis,)
    return tuple(item() for _ in range(draw(st.integers(0, nd + 2))))


def _as_key(key):
    """The key for distarr (a NumPy mask wrapped as ``("distarr", m)`` becomes a distarr mask)."""
    if isinstance(key, tuple) and len(key) == 2 and isinstance(key[0], str) and key[0] == "distarr":
        return distarr.array(key[1])
    return key


def _np_key(key):
    if isinstance(key, tuple) and len(key) == 2 and isinstance(key[0], str) and key[0] == "distarr":
        return key[1]
    return key


def _unsupported(e):
    """distarr's documented refusals of things NumPy does."""
    msg = str(e)
    return (isinstance(e, IndexError) and ("not supported" in msg or "distarr masks" in msg)) or \
        (isinstance(e, TypeError) and ("distarr has no dtype" in msg or "not understood" in msg
                                       or "unsupported dtype" in msg or "is not supported for" in msg
                                       or "a dtype distarr lacks" in msg
                                       or "out= must be a distarr array" in msg)) or \
        isinstance(e, NotImplementedError)


def _same_class(np_error, got):
    """distarr's exception stands for NumPy's: the same builtin class; for integers beyond a C
    int or long, NumPy itself raises OverflowError or ValueError depending on the function."""
    if isinstance(got, base_error(np_error)):
        return True
    if isinstance(np_error, AttributeError) and isinstance(got, TypeError):
        return True  # NumPy's object-dtype loops (an operand it made an object array of)
    size = any(s in str(np_error) for s in ("C int", "C long", "Maximum allowed", "too large"))
    return size and isinstance(np_error, (OverflowError, ValueError)) and isinstance(got, (OverflowError, ValueError))


def _clean(e):
    return isinstance(e, (distarr.DistArrayError, TypeError, ValueError, IndexError, OverflowError,
                          ZeroDivisionError, MemoryError))


def compare(np_fn, da_fn, check=True, lenient=False):
    """Runs both; see the module's documentation. Returns distarr's result or None.
    ``lenient``: arguments where NumPy's own answer depends on the function (integers beyond a
    C int as axes, operands NumPy turns into object arrays): any clean distarr exception will do."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            want = np_fn()
        except Exception as e:  # noqa: BLE001 - any NumPy error is a parity case
            with pytest.raises(Exception) as info:
                da_fn()
            got = info.value
            assert _same_class(e, got) or _unsupported(got) or (lenient and _clean(got)), \
                f"NumPy raised {type(e).__name__}({e}); distarr raised {type(got).__name__}({got})"
            assert _clean(got), got
            return None
        wdt = np.asarray(want).dtype if isinstance(want, (np.ndarray, np.generic)) else None
        lacking = wdt is not None and (wdt.kind in "OUSMmV" or wdt in _LACKING)
        try:
            got = da_fn()
        except Exception as e:  # noqa: BLE001
            # distarr's refusals of what it does not support, and of results NumPy makes in
            # object, string or time dtypes (a wrong-typed operand)
            assert _unsupported(e) or (lacking and isinstance(e, TypeError)) or (lenient and _clean(e)), \
                f"NumPy succeeded; distarr raised {type(e).__name__}({e})"
            return None
        if lacking:
            return None  # float16 results are float32 in distarr (documented)
    if check:
        if isinstance(want, (np.ndarray, np.generic)) or isinstance(got, distarr.ndarray):
            assert_same(got, want)
        else:
            # Python scalars, lists, tuples: as arrays (NaNs equal, floats within tolerance)
            assert_same(np.asarray(got), np.asarray(want), dtype=False)
    return got


_compare = compare  # (for tests that wrap it)


@cases(120, st.data(), st.sampled_from(DTYPES), shapes)
def test_getitem_hostile(data, dtype, shape):
    x = data.draw(values(dtype, shape), label="x")
    a = distarr.array(x)
    key = data.draw(wild_keys(shape), label="key")
    compare(lambda: x[_np_key(key)], lambda: a[_as_key(key)])


@cases(100, st.data(), st.sampled_from(DTYPES), shapes)
def test_setitem_hostile(data, dtype, shape):
    x = data.draw(values(dtype, shape), label="x")
    a = distarr.array(x)
    key = data.draw(wild_keys(shape), label="key")
    value = data.draw(st.one_of(wild_things, values(data.draw(dtypes, label="vdt"),
                                                      data.draw(shapes, label="vshape"))), label="value")
    xn = x.copy()

    def np_set():
        xn[_np_key(key)] = value
        return xn

    def da_set():
        a[_as_key(key)] = value
        return a

    compare(np_set, da_set)


_CREATORS = {
    "zeros": (lambda m, s, d, v: m.zeros(s, dtype=d)),
    "ones": (lambda m, s, d, v: m.ones(s, dtype=d)),
    "empty": (lambda m, s, d, v: m.empty(s, dtype=d).shape),
    "full": (lambda m, s, d, v: m.full(s, v, dtype=d)),
    "eye": (lambda m, s, d, v: m.eye(s, dtype=d)),
    "identity": (lambda m, s, d, v: m.identity(s, dtype=d)),
    "arange": (lambda m, s, d, v: m.arange(s, dtype=d)),
    "arange3": (lambda m, s, d, v: m.arange(0, s, v if isinstance(v, (int, float)) or v is None else 1)),
    "linspace": (lambda m, s, d, v: m.linspace(0, v, s)),
    "array": (lambda m, s, d, v: m.array(v, dtype=d)),
}


def _too_big(name, shape, value):
    """Whether NumPy might really allocate (and fill) gigabytes for these arguments."""
    ints = shape if isinstance(shape, tuple) else (shape,)
    if not all(isinstance(s, int) and s >= 0 for s in ints):
        return False  # refused at once
    if name in ("eye", "identity"):
        ints = ints + ints
    if not _bounded_size(ints):
        return True
    if name == "arange3":
        try:
            n = abs(float(shape) / float(value))
        except Exception:  # noqa: BLE001 - refused at once
            return False
        return 4096 < n < 2 ** 62
    return False


@cases(150, st.sampled_from(sorted(_CREATORS)), wild_shapes(), wild_dtypes, wild_things)
def test_creation_hostile(name, shape, dtype, value):
    if _too_big(name, shape, value):
        return
    f = _CREATORS[name]
    # NumPy's answers to extents beyond int64 and to non-numeric fill values and bounds differ
    # from function to function (ValueError, TypeError, IndexError, unsafe casts): any clean
    # exception from distarr will do there
    ints = shape if isinstance(shape, tuple) else (shape,)
    lenient = any(isinstance(s, int) and abs(s) >= 2 ** 63 for s in ints) or (
        name in ("full", "linspace", "arange3", "array") and not isinstance(value, (bool, int, float, complex)))
    if name == "full" and isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) >= 2 ** 31:
        lenient = True  # NumPy's full casts unsafely, distarr refuses ints beyond the dtype
    if not isinstance(dtype, np.dtype) or dtype not in DTYPES:
        lenient = True  # a dtype distarr lacks: NumPy's errors about it vary (datetime ranges …)
    compare(lambda: f(np, shape, dtype, value), lambda: f(distarr, shape, dtype, value), lenient=lenient)


_REDUCTIONS = ["sum", "prod", "min", "max", "mean", "argmin", "argmax", "any", "all", "std", "var"]


@cases(150, st.data(), st.sampled_from(_REDUCTIONS), st.sampled_from([d for d in DTYPES if d.kind != "c"]),
       shapes)
def test_reduction_hostile(data, name, dtype, shape):
    x = data.draw(values(dtype, shape), label="x")
    a = distarr.array(x)
    axis = data.draw(st.one_of(st.none(), wild_ints, st.tuples(wild_ints, wild_ints),
                               st.sampled_from([1.5, "0", [0], (0, 0), (), np.int64(0)])), label="axis")
    kw = {}
    if data.draw(st.booleans(), label="keepdims?"):
        kw["keepdims"] = data.draw(st.sampled_from([True, False, 1, 0]), label="keepdims")
    if name in ("argmin", "argmax") and isinstance(axis, tuple):
        return  # NumPy's argmin takes no tuple of axes at all (TypeError): covered by ints
    if x.ndim == 0 and axis is not None:
        return  # NumPy's legacy: some reductions of 0-d arrays take axis 0 (distarr: AxisError)
    compare(lambda: getattr(np, name)(x, axis=axis, **kw), lambda: getattr(distarr, name)(a, axis=axis, **kw))


_BINARY = ["add", "subtract", "multiply", "divide", "maximum", "less", "bitwise_and", "power",
           "floor_divide", "remainder", "arctan2", "logical_or"]


@cases(150, st.data(), st.sampled_from(_BINARY), dtypes, shapes)
def test_ufunc_hostile_operands(data, name, dtype, shape):
    """A distarr array with a hostile other operand: wrong types, lists and NumPy arrays of
    other shapes and dtypes (float16 too), strings, None."""
    x = data.draw(values(dtype, shape), label="x")
    a = distarr.array(x)
    other = data.draw(st.one_of(wild_things, values(data.draw(wild_dtypes.filter(
        lambda d: isinstance(d, np.dtype)), label="odt"), data.draw(shapes, label="oshape"))),
        label="other")
    if isinstance(other, (int, np.integer)) and not isinstance(other, bool) and abs(int(other)) > 2 ** 64:
        return  # NumPy converts such ints to object arrays (a different operation)
    first = data.draw(st.booleans(), label="first")
    if isinstance(other, str) or (isinstance(other, np.ndarray) and other.dtype.kind in "OUSM"):
        first = False
    # operands NumPy takes as Python objects (object loops): distarr refuses them cleanly
    lenient = not isinstance(other, (bool, int, float, complex, np.ndarray, np.generic)) or \
        (isinstance(other, (np.ndarray, np.generic)) and np.asarray(other).dtype.kind in "OUSMmV")
    if first:
        compare(lambda: getattr(np, name)(other, x), lambda: getattr(distarr, name)(other, a), lenient=lenient)
    else:
        compare(lambda: getattr(np, name)(x, other), lambda: getattr(distarr, name)(a, other), lenient=lenient)


@cases(100, st.data(), st.sampled_from(["add", "sqrt", "multiply", "negative"]), dtypes, shapes)
def test_ufunc_hostile_out(data, name, dtype, shape):
    """``out=`` of the wrong shape, dtype or type."""
    x = data.draw(values(dtype, shape), label="x")
    a = distarr.array(x)
    # one defect at a time (NumPy and distarr check shape and casting in different orders)
    if data.draw(st.booleans(), label="bad shape?"):
        oshape, odt = data.draw(shapes, label="oshape"), np.result_type(x, x) if name != "sqrt" else \
            np.sqrt(np.zeros(1, dtype)).dtype
        if odt in _LACKING:
            odt = np.dtype(np.float32)  # (distarr computes float16 results in float32)
    else:
        oshape, odt = shape, data.draw(dtypes, label="odt")
    kind = data.draw(st.sampled_from(["array", "tuple", "numpy", "junk"]), label="kind")
    on = np.zeros(oshape, odt)
    od = distarr.zeros(oshape, odt) if kind != "numpy" else on.copy()
    if kind == "tuple":
        on, od = (on,), (od,)
    elif kind == "junk":
        on = od = data.draw(wild_things.filter(lambda t: t is not Ellipsis), label="junk")
    args_n = (x, x) if name in ("add", "multiply") else (x,)
    args_d = (a, a) if name in ("add", "multiply") else (a,)
    if kind == "numpy":
        # a NumPy out with distarr inputs: NumPy's protocol hands it to distarr, which refuses
        # or writes it; no crash either way
        try:
            getattr(distarr, name)(*args_d, out=od)
        except Exception as e:  # noqa: BLE001
            assert isinstance(e, (TypeError, ValueError, distarr.DistArrayError)), e
        return
    compare(lambda: getattr(np, name)(*args_n, out=on), lambda: getattr(distarr, name)(*args_d, out=od),
            check=False)


@cases(150, st.data(), st.sampled_from(DTYPES), shapes,
       st.sampled_from(["reshape", "transpose", "swapaxes", "squeeze", "expand_dims", "broadcast_to",
                        "roll", "astype", "concatenate", "where", "matmul", "repeat"]))
def test_shape_ops_hostile(data, dtype, shape, op):
    if not shape and op in ("swapaxes", "squeeze", "roll", "repeat", "concatenate"):
        return  # NumPy's legacy: axis 0 of some 0-d operations (distarr: AxisError)
    x = data.draw(values(dtype, shape), label="x")
    a = distarr.array(x)
    p = data.draw(st.one_of(wild_ints, wild_shapes(), st.tuples(wild_ints, wild_ints),
                            st.sampled_from([(-1,), (-1, -1), (2, -1), (0,), None, 1.5, "a"])), label="p")
    q = data.draw(st.one_of(wild_ints, st.none(), st.sampled_from([1.5, (0, 0)])), label="q")

    def huge(v):
        return (isinstance(v, int) and abs(v) >= 2 ** 31) or (isinstance(v, tuple) and any(huge(t) for t in v))

    lenient = huge(p) or huge(q)

    def compare(np_fn, da_fn):
        return _compare(np_fn, da_fn, lenient=lenient)
    if op == "reshape":
        if p is None or (isinstance(p, tuple) and any(isinstance(s, int) and s > 2 ** 63 for s in p)):
            return  # NumPy's reshape(None); refusals of huge extents as other classes
        compare(lambda: x.reshape(p), lambda: a.reshape(p))
    elif op == "transpose":
        compare(lambda: np.transpose(x, p), lambda: distarr.transpose(a, p))
    elif op == "swapaxes":
        compare(lambda: np.swapaxes(x, p, q), lambda: distarr.swapaxes(a, p, q))
    elif op == "squeeze":
        compare(lambda: np.squeeze(x, p), lambda: distarr.squeeze(a, p))
    elif op == "expand_dims":
        compare(lambda: np.expand_dims(x, p), lambda: distarr.expand_dims(a, p))
    elif op == "broadcast_to":
        shp = p if isinstance(p, tuple) else (p,)
        if all(isinstance(s, int) and s >= 0 for s in shp) and not _bounded_size(shp):
            return  # a legal view too large to compare (gathering it would take gigabytes)
        compare(lambda: np.broadcast_to(x, p), lambda: distarr.broadcast_to(a, p))
    elif op == "roll":
        compare(lambda: np.roll(x, p, q), lambda: distarr.roll(a, p, q))
    elif op == "astype":
        dt = data.draw(wild_dtypes, label="dt")
        if isinstance(dt, np.dtype) and dt.kind in "iub" and x.dtype.kind in "fc":
            return  # out-of-range float -> integer casts are platform-defined (C's, NumPy's)
        compare(lambda: x.astype(dt), lambda: a.astype(dt))
    elif op == "concatenate":
        other = data.draw(values(data.draw(dtypes, label="odt"), data.draw(shapes, label="os")), label="y")
        n = data.draw(st.integers(0, 3), label="n")
        compare(lambda: np.concatenate([x, other][:n], axis=q),
                lambda: distarr.concatenate([a, distarr.array(other)][:n], axis=q))
    elif op == "where":
        c = data.draw(values(np.bool_, data.draw(shapes, label="cs")), label="c")
        y = data.draw(values(dtype, data.draw(shapes, label="ys")), label="y")
        compare(lambda: np.where(c, x, y), lambda: distarr.where(distarr.array(c), a, distarr.array(y)))
    elif op == "matmul":
        y = data.draw(values(dtype, data.draw(shapes, label="ys")), label="y")
        if x.ndim > 2 or y.ndim > 2:
            return  # distarr's matmul is for 1-D and 2-D operands (documented)
        compare(lambda: np.matmul(x, y), lambda: distarr.matmul(a, distarr.array(y)))
    else:
        if isinstance(p, int) and p > 1000:
            return
        compare(lambda: np.repeat(x, p, q), lambda: distarr.repeat(a, p, q))



@cases(80, st.data(), st.sampled_from(DTYPES), shapes,
       st.sampled_from(["float", "int", "bool", "complex", "index", "len", "item", "fill", "iter", "tolist"]))
def test_conversions_hostile(data, dtype, shape, op):
    x = data.draw(values(dtype, shape), label="x")
    a = distarr.array(x)
    v = data.draw(wild_things, label="v")
    if op == "float":
        compare(lambda: float(x), lambda: float(a))
    elif op == "int":
        compare(lambda: int(x), lambda: int(a))
    elif op == "bool":
        compare(lambda: bool(x), lambda: bool(a))
    elif op == "complex":
        compare(lambda: complex(x), lambda: complex(a))
    elif op == "index":
        compare(lambda: [0, 1, 2][x], lambda: [0, 1, 2][a])
    elif op == "len":
        compare(lambda: len(x), lambda: len(a))
    elif op == "item":
        args = v if isinstance(v, tuple) else (v,)
        compare(lambda: x.item(*args), lambda: a.item(*args))
    elif op == "fill":
        xn = x.copy()
        compare(lambda: (xn.fill(v), xn)[1], lambda: (a.fill(v), a)[1])
    elif op == "iter":
        compare(lambda: [np.asarray(r).tolist() for r in x], lambda: [np.asarray(r).tolist() for r in a])
    else:
        compare(lambda: x.tolist(), lambda: a.tolist())


# --- .npy files ---------------------------------------------------------------------------------

_DIR = tempfile.mkdtemp(prefix="distarr-hostile-") if distarr.rank == 0 else None
_COUNT = [0]


def _hostile_npy(draw):
    """A malformed (sometimes valid) ``.npy`` file's bytes."""
    descr = draw(st.sampled_from(["<f8", "|b1", "<i4", "<u8", "<c16", ">f8", "<f2", "|O", "<U3", "|u1",
                                  "<i8", "", "<f8x", "'", "<f4"]))
    shape = draw(st.sampled_from(["()", "(3,)", "(2, 3)", "(0, 5)", "(-1,)", "(99999999999999999999,)",
                                  "(4611686018427387904,)", "(3)", "[3]", "(2, 'a')", "((((()))))",
                                  "(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,"
                                  " 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,"
                                  " 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)"]))
    fortran = draw(st.sampled_from(["False", "False", "True", "0"]))
    d = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}"
    mut = draw(st.sampled_from(["none", "none", "key", "cut", "extra"]))
    if mut == "key":
        d = d.replace("'shape'", "'shapes'")
    elif mut == "cut":
        d = d[:draw(st.integers(0, len(d)))]
    elif mut == "extra":
        d = d[:-1] + "'x': 1}"
    version = draw(st.sampled_from([(1, 0), (1, 0), (2, 0), (3, 0), (4, 0), (1, 9)]))
    pad = draw(st.integers(0, 70))
    body = (d + " " * pad + "\n").encode("latin1")
    head = b"\x93NUMPY" + bytes(version)
    if draw(st.integers(0, 10)) == 0:
        head = b"\x93NUMPX" + bytes(version)
    hlen = len(body) if draw(st.integers(0, 7)) else draw(st.integers(0, 2 ** 16 - 1))
    head += hlen.to_bytes(2 if version[0] == 1 else 4, "little")
    data = bytes((k * 37) % 256 for k in range(draw(st.sampled_from([0, 8, 12, 48, 49, 96, 200]))))
    f = head + body + data
    if draw(st.integers(0, 6)) == 0:
        f = f[:draw(st.integers(0, len(f)))]
    return f


@cases(80, st.data())
def test_load_hostile(data):
    f = data.draw(st.composite(lambda draw: _hostile_npy(draw))(), label="file")
    _COUNT[0] += 1
    # rank 0 writes (the same path on every rank: one machine's /tmp), then every rank loads
    name = f"f{_COUNT[0]}.npy"
    if distarr.rank == 0:
        path = os.path.join(_DIR, name)
        with open(path, "wb") as fh:
            fh.write(f)
    else:
        path = None
    if distarr.mode == "spmd" and distarr.nranks > 1:
        path = _shared_path(name)
    try:
        want = np.load(path)
        np_error = None
    except Exception as e:  # noqa: BLE001
        np_error = e
    try:
        got = distarr.load(path)
        da_error = None
    except Exception as e:  # noqa: BLE001
        da_error = e
    if np_error is not None:
        assert da_error is not None, f"NumPy refused ({np_error}); distarr loaded {got.shape} {got.dtype}"
        if isinstance(np_error, ValueError):
            assert isinstance(da_error, (ValueError, TypeError)), (np_error, da_error)
        assert isinstance(da_error, distarr.DistArrayError), da_error
        return
    if da_error is not None:
        # distarr's documented refusals of files NumPy reads: Fortran order, trailing bytes,
        # headers beyond its limits (ValueError); dtypes it lacks (TypeError)
        assert isinstance(da_error, (distarr.DistArrayFileFormatError, distarr.DistArrayTypeError)), da_error
        return
    if want.dtype == np.bool_:
        want = want.view(np.uint8) != 0  # NumPy keeps the file's bytes; distarr reads 0/1
    assert_same(got, want)


def _shared_path(name):
    """SPMD: every rank runs the test; rank 0's directory name, broadcast, names the file."""
    import ctypes
    from distarr import _lib
    buf = ctypes.create_string_buffer(256)
    if distarr.rank == 0:
        buf.value = os.path.join(_DIR, name).encode()
    distarr.sync()  # the file is written before anyone reads it
    _lib.lib.distarr_bcast(buf, 256, 0)
    return buf.value.decode()


def test_load_paths():
    """Paths that are not ``.npy`` files: missing, a directory, a FIFO, a device, NUL bytes."""
    with pytest.raises(FileNotFoundError):
        distarr.load("/nonexistent/distarr.npy")
    with pytest.raises(ValueError):
        distarr.load("bad\0name.npy")
    with pytest.raises(OSError):
        distarr.load("/dev/zero")
    if distarr.mode == "sequential" or distarr.nranks == 1:
        d = tempfile.mkdtemp()
        with pytest.raises(OSError):
            distarr.load(d)
        fifo = os.path.join(d, "fifo.npy")
        os.mkfifo(fifo)
        with pytest.raises(OSError, match="not a regular file"):
            distarr.load(fifo)
    with pytest.raises(ValueError):
        distarr.save("x\0y", distarr.zeros(3))


def test_regressions():
    """Bugs the hostile-input tests found, each checked on its own (issue 11)."""
    # ctypes truncated integers beyond int64 to their low 64 bits: zeros(2**70) made an empty
    # array claiming shape (2**70,), a[2**70:] was the whole array, a[::2**70] "step 0"
    with pytest.raises(ValueError):
        distarr.zeros(2 ** 70)
    with pytest.raises(ValueError):
        distarr.eye(2 ** 70)
    with pytest.raises(ValueError):
        distarr.linspace(0, 1, 2 ** 70)
    x = np.arange(12.0).reshape(3, 4)
    a = distarr.array(x)
    assert_same(a[2 ** 70:], x[2 ** 70:])
    assert_same(a[::2 ** 70], x[::2 ** 70])
    assert_same(a[-2 ** 70::-2 ** 70], x[-2 ** 70::-2 ** 70])
    assert_same(distarr.roll(a, 2 ** 70 + 1, axis=1), np.roll(x, 2 ** 70 + 1, axis=1))
    # fill with a sequence read one element beyond its buffer; full ignored all but the first
    with pytest.raises(TypeError):
        a.fill([1.0, 2.0])
    with pytest.raises(ValueError):
        a.fill(np.zeros(2))
    assert_same(distarr.full((2, 3), [1, 2, 3]), np.full((2, 3), [1, 2, 3]))
    # ones(dtype=None) was int64 (the fill value's dtype)
    assert_same(distarr.ones(3, dtype=None), np.ones(3, dtype=None))
    # NumPy's errors for sizes beyond intp, even with a zero extent; huge broadcasts
    with pytest.raises(ValueError):
        distarr.zeros((2 ** 62, 0))
    with pytest.raises(ValueError):
        distarr.broadcast_to(distarr.zeros(1), (2 ** 62, 4))
    # a NUL byte in a path ended the C string: save wrote another file
    with pytest.raises(ValueError):
        distarr.save("x\0y", a)
    # conversions and item as NumPy 2
    with pytest.raises(TypeError):
        float(distarr.array([1.0]))
    with pytest.raises(TypeError):
        [0, 1][distarr.array([1])]
    assert a.item(5) == x.item(5) and a.item((1, 2)) == x.item((1, 2))
    with pytest.raises(IndexError):
        a.item(12)
    with pytest.raises(ValueError):
        a.item(1, 2, 3)
    with pytest.raises(OverflowError):
        a.item(2 ** 63)
    # at most 64 dimensions, as NumPy
    assert distarr.zeros(()).reshape((1,) * 64).ndim == 64
    assert a[(None,) * 62].ndim == 64
    with pytest.raises(IndexError):
        a[(None,) * 63]

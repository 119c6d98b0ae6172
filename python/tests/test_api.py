"""The NumPy-like API beyond element-wise differential cases: attributes, conversions, dtypes,
NumPy dispatch and fallback, ``out=``, I/O, random numbers, life cycle, and error parity on
hand-picked invalid inputs."""
import os
import tempfile
import warnings

import numpy as np
import pytest

import distarr
from conftest import assert_same, parity


def test_attributes_and_conversions():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    a = distarr.array(x)
    assert (a.shape, a.ndim, a.size, a.dtype, a.itemsize, a.nbytes) == \
        (x.shape, x.ndim, x.size, x.dtype, x.itemsize, x.nbytes)
    assert len(a) == 2 and a.T.shape == (4, 3, 2)
    assert_same(a.T, x.T)
    assert_same(a.astype(np.int64), x.astype(np.int64))
    assert_same(a.copy(), x)
    assert_same(np.asarray(a), x)
    assert_same(a.to_numpy(), x)
    assert_same(a.reshape(6, 4), x.reshape(6, 4))
    assert_same(a.ravel(), x.ravel())
    assert_same(a.flatten(), x.flatten())
    assert repr(a) == repr(x) and str(a) == str(x)
    one = distarr.array(2.5)
    assert float(one) == 2.5 and int(one) == 2 and bool(one) and complex(one) == 2.5
    with pytest.raises(TypeError):  # NumPy 2: only 0-d arrays convert to Python scalars
        float(distarr.array([2.5]))
    assert bool(distarr.array([2.5]))
    assert a[1, 2, 3] == x[1, 2, 3] and type(a[1, 2, 3]) is np.float32
    assert [list(r.to_numpy()) for r in distarr.array([[1, 2], [3, 4]])] == [[1, 2], [3, 4]]
    with pytest.raises(TypeError):
        float(a)
    with pytest.raises(ValueError):
        bool(a)
    with pytest.raises(TypeError):
        len(distarr.array(np.float64(1.0)))
    a.fill(7)
    assert_same(a, np.full(x.shape, 7, np.float32))


@pytest.mark.parametrize("spec", [np.float64, np.int32, bool, "f4", np.dtype("u1"), float, int,
                                  complex, np.complex64, np.uint64])
def test_numpy_dtypes_accepted(spec):
    assert_same(distarr.zeros(3, dtype=spec), np.zeros(3, dtype=spec))
    assert_same(distarr.ones((2, 2), spec), np.ones((2, 2), spec))


@pytest.mark.parametrize("spec", [np.float16, np.int8, np.int16, np.uint16, "U3", object,
                                  np.longdouble])
def test_missing_dtypes_are_type_errors(spec):
    with pytest.raises(TypeError, match="distarr has no dtype|not understood"):
        distarr.zeros(3, dtype=spec)
    with pytest.raises(distarr.DistArrayTypeError):
        distarr.array(np.zeros(3, dtype=spec))


def test_numpy_functions_dispatch_to_distarr():
    x = np.linspace(-2, 2, 30).reshape(5, 6)
    a = distarr.array(x)
    for f in (np.sum, np.mean, np.max, np.min, np.std, np.var, np.argmax, np.any, np.all):
        assert_same(f(a), f(x), rtol=1e-12, atol=1e-12)
        assert_same(f(a, axis=1), f(x, axis=1), rtol=1e-12, atol=1e-12)
    for uf in (np.sqrt, np.exp, np.sin, np.abs, np.negative, np.isnan):
        with np.errstate(all="ignore"):
            r = uf(a)
            assert isinstance(r, distarr.ndarray)
            assert_same(r, uf(x))
    assert isinstance(np.add(a, 1), distarr.ndarray)
    assert_same(np.maximum(a, x), np.maximum(x, x))
    assert_same(x + a, x + x)          # NumPy array on the left defers to distarr
    assert_same(np.transpose(a), x.T)
    assert_same(np.concatenate([a, a]), np.concatenate([x, x]))
    assert_same(np.where(a > 0, a, 0.0), np.where(x > 0, x, 0.0))
    assert_same(np.add.reduce(a, axis=0), np.add.reduce(x, axis=0))
    assert_same(np.dot(a, a.T), x @ x.T)
    assert np.allclose(a, x) and np.array_equal(a, a)


def test_out_arguments():
    x = np.arange(6.0)
    a = distarr.array(x)
    out = distarr.empty(6)
    r = distarr.sqrt(a, out=out)
    assert r is out
    assert_same(out, np.sqrt(x))
    r = distarr.add(a, 1, out)
    assert r is out
    assert_same(out, x + 1)
    r = np.multiply(a, 2, out=out)
    assert r is out
    assert_same(out, x * 2)
    with pytest.raises(TypeError):  # same_kind: float64 into int64
        distarr.add(a, 1, out=distarr.empty(6, dtype=np.int64))
    s = distarr.empty(())
    distarr.sum(a, out=s)
    assert float(s) == x.sum()


def test_fallback_warns_and_refuses_large():
    from distarr import _dispatch
    x = np.arange(10.0)
    a = distarr.array(x)
    with pytest.warns(RuntimeWarning, match="cumsum"):
        r = np.cumsum(a)
    assert_same(r, np.cumsum(x))
    with pytest.warns(RuntimeWarning, match="median"):
        assert np.median(a) == np.median(x)
    old = _dispatch.FALLBACK_MAX
    _dispatch.FALLBACK_MAX = 5
    try:
        with pytest.raises(distarr.DistArrayNotImplementedError, match="cumsum"):
            np.cumsum(a)
        with pytest.raises(NotImplementedError):
            np.cumsum(a)
    finally:
        _dispatch.FALLBACK_MAX = old


def test_reductions_keepdims_and_dtype():
    x = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
    a = distarr.array(x)
    for name in ("sum", "prod", "max", "min", "mean", "any", "all"):
        for axis in (None, 0, 2, (0, 2), -1):
            for kd in (False, True):
                want = getattr(np, name)(x, axis=axis, keepdims=kd)
                assert_same(getattr(a, name)(axis=axis, keepdims=kd), want)
    assert_same(a.sum(dtype=np.float64), x.sum(dtype=np.float64))
    assert_same(a.std(axis=1, ddof=1), x.std(axis=1, ddof=1), rtol=1e-12)
    assert distarr.count_nonzero(a) == np.count_nonzero(x)
    assert_same(distarr.count_nonzero(a, axis=1), np.count_nonzero(x, axis=1))


def test_creation_functions():
    assert_same(distarr.arange(5), np.arange(5))
    assert_same(distarr.arange(1.0, 2.0, 0.25), np.arange(1.0, 2.0, 0.25))
    assert_same(distarr.arange(10000, dtype=np.float32), np.arange(10000, dtype=np.float32))
    assert_same(distarr.linspace(0, 1, 11), np.linspace(0, 1, 11))
    assert_same(distarr.linspace(0, 1, 10, endpoint=False), np.linspace(0, 1, 10, endpoint=False))
    assert_same(distarr.eye(4, 5, k=1), np.eye(4, 5, k=1))
    assert_same(distarr.identity(3, dtype=np.int32), np.identity(3, dtype=np.int32))
    for p in (distarr.zeros_like, distarr.ones_like, distarr.empty_like):
        assert p(np.zeros((2, 3), np.int32)).shape == (2, 3)
    assert_same(distarr.zeros_like(distarr.ones(4)), np.zeros(4))
    assert_same(distarr.full_like(distarr.ones(4, np.int32), 3), np.full(4, 3, np.int32))
    xs, ys = np.meshgrid(np.arange(3.0), np.arange(4.0))
    dx, dy = distarr.meshgrid(distarr.arange(3.0), distarr.arange(4.0))
    assert_same(dx, xs)
    assert_same(dy, ys)
    ii, jj = np.meshgrid(np.arange(3), np.arange(2), indexing="ij")
    di, dj = distarr.meshgrid(distarr.arange(3), distarr.arange(2), indexing="ij")
    assert_same(di, ii)
    assert_same(dj, jj)
    assert distarr.zeros(10, dist=False).dist is False
    assert distarr.zeros(10, dist=True).dist is True
    assert distarr.zeros(100000).dist is True
    assert_same(distarr.stack([distarr.arange(3), distarr.arange(3)], axis=1),
                np.stack([np.arange(3), np.arange(3)], axis=1))
    assert_same(distarr.repeat(distarr.arange(3), 2), np.repeat(np.arange(3), 2))
    assert_same(distarr.roll(distarr.arange(12).reshape(3, 4), 5), np.roll(np.arange(12).reshape(3, 4), 5))
    assert (distarr.pi, distarr.e, distarr.inf) == (np.pi, np.e, np.inf) and np.isnan(distarr.nan)
    assert distarr.newaxis is None


def test_random():
    distarr.random.seed(3)
    a = distarr.random.random((100, 10))
    x = a.to_numpy()
    assert a.shape == (100, 10) and a.dtype == np.float64
    assert 0 <= x.min() and x.max() < 1 and 0.4 < x.mean() < 0.6
    distarr.random.seed(3)
    assert_same(distarr.random.random((100, 10)), x)      # seeded: reproducible
    assert not np.array_equal(distarr.random.random((100, 10)).to_numpy(), x)
    assert distarr.random.rand(3, 2).shape == (3, 2)
    u = distarr.random.uniform(-2, 3, size=1000).to_numpy()
    assert -2 <= u.min() and u.max() < 3
    g = distarr.random.normal(5.0, 2.0, size=20000).to_numpy()
    assert abs(g.mean() - 5) < 0.1 and abs(g.std() - 2) < 0.1
    rng = distarr.random.default_rng(42)
    r = rng.random(50)
    assert r.shape == (50,) and isinstance(distarr.random.random(), float)
    assert_same(distarr.random.default_rng(42).random(50), r.to_numpy())


def test_save_load(tmp_path_factory):
    # Every rank must name the same file: a fixed name under the shared temporary directory.
    d = os.path.join(tempfile.gettempdir(), f"distarr-pytest-{os.getuid()}")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, f"a-{distarr.nranks}-{distarr.mode}.npy")
    x = np.arange(30, dtype=np.int32).reshape(5, 6)
    distarr.save(path, distarr.array(x))
    distarr.sync()
    assert_same(np.load(path), x)
    assert_same(distarr.load(path), x)
    with pytest.raises(FileNotFoundError):
        distarr.load(path + ".missing")


def test_life_cycle():
    a = distarr.ones(5)
    a.free()
    a.free()  # idempotent
    with pytest.raises(ValueError, match="freed"):
        a + 1
    with distarr.zeros(3) as b:
        b += 1
    with pytest.raises(ValueError):
        b.sum()
    with distarr.scope() as s:
        kept = s.keep(distarr.ones(2))
        temp = distarr.ones(2)
    assert kept.sum() == 2
    with pytest.raises(ValueError):
        temp.sum()
    assert distarr.mode in ("sequential", "spmd") and 0 <= distarr.rank < distarr.nranks


def test_boolean_masks_and_views():
    x = np.arange(20.0).reshape(4, 5)
    a = distarr.array(x)
    assert_same(a[a > 7], x[x > 7])
    a[a > 15] = -1
    x[x > 15] = -1
    assert_same(a, x)
    a[1:-1, ::2] = distarr.array(x[:2, ::2]) * 10
    x[1:-1, ::2] = x[:2, ::2] * 10
    assert_same(a, x)
    a[..., 0] = 3
    x[..., 0] = 3
    assert_same(a, x)
    v = a[1]
    v[:] = 0          # a view writes through
    x[1] = 0
    assert_same(a, x)
    assert_same(a[None, 1:3, ..., None], x[None, 1:3, ..., None])


# --- error parity on hand-picked invalid inputs ------------------------------------------------

_X = np.arange(12.0).reshape(3, 4)


@pytest.mark.parametrize("op", [
    lambda m: m.ones((3, 4)) + m.ones((2, 4)),            # shapes do not broadcast
    lambda m: m.ones((3, 4)).sum(axis=2),                 # axis out of range
    lambda m: m.ones((3, 4))[3, 0],                       # index out of range
    lambda m: m.ones((3, 4))[0, 0, 0],                    # too many indices
    lambda m: m.ones((3, 4)).reshape(5),                  # bad reshape
    lambda m: m.ones(3) @ m.ones(4),                      # matmul mismatch
    lambda m: m.ones(3, dtype=m.float64) & 1,             # bitwise on floats
    lambda m: m.zeros((-1, 2)),                           # negative dimension
    lambda m: m.ones(0).max(),                            # empty reduction
    lambda m: m.ones(3, dtype=m.uint8) + 300,             # Python int out of range
    lambda m: m.arange(4) ** -1,                          # integer to a negative power
    lambda m: m.concatenate([m.ones((2, 3)), m.ones((2, 4))]),
    lambda m: m.ones((2, 3)).transpose(0, 0),
    lambda m: m.ones((2, 2))[m.ones(3) > 0],              # mask of the wrong shape
])
def test_error_parity(op):
    assert parity(lambda: op(np), lambda: op(distarr)) is None


def test_library_errors_carry_the_message():
    with pytest.raises(distarr.DistArrayError) as info:
        distarr.ones((3, 4)) + distarr.ones((2, 4))
    assert "broadcast" in str(info.value)
    with pytest.raises(distarr.DistArrayValueError) as info:
        distarr.reshape(distarr.ones(4), (3,))
    assert isinstance(info.value, ValueError)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(distarr.DistArrayIndexError):
            distarr.ones((2, 3))[5]


def _iop(op):
    """An in-place operator as a function returning its target."""
    def f(x, y):
        x = x.copy()
        return op(x, y)
    return f


def _iadd(x, y):
    x += y
    return x


def _imul(x, y):
    x *= y
    return x


def _isub_r(x, y):
    x -= y
    return x


@pytest.mark.parametrize("dx,dy", [(np.float64, np.float64), (np.float32, np.float64),
                                   (np.int32, np.int32), (np.uint8, np.uint8),
                                   (np.int32, np.float32), (np.int64, np.uint8)])
def test_operator_fast_path(dx, dy):
    """The operators' fast path (an array with an array of its shape or a Python scalar, once the
    general path ran that dtype combination; the result from the pool) gives NumPy's values and
    dtypes, and the general path's errors: Python ints beyond the dtype, in-place casts NumPy
    refuses, negative integer powers (which the library refuses at the call)."""
    x = np.arange(1, 13, dtype=dx).reshape(3, 4)
    y = (np.arange(12, dtype=dy) % 5 + 1).reshape(3, 4)
    a, b = distarr.array(x), distarr.array(y)
    cases = [lambda p, q: p + q, lambda p, q: p - 2.5, lambda p, q: 3 - p, lambda p, q: p * 7,
             lambda p, q: 1.5 / p, lambda p, q: p // q, lambda p, q: p ** 2, lambda p, q: p ** -1,
             lambda p, q: p < q, lambda p, q: p == 3, lambda p, q: p + 300, lambda p, q: 2 ** 40 * p,
             lambda p, q: p % q, lambda p, q: p & q if p.dtype.kind in "iu" and q.dtype.kind in "iu" else p,
             _iop(_iadd), _iop(lambda p, q: _iadd(p, 1)), _iop(lambda p, q: _iadd(p, 0.5)),
             _iop(_imul), _iop(lambda p, q: _isub_r(p, 2 ** 70))]
    for fn in cases:
        for _ in range(3):  # the first runs the general path; then the fast one can
            got = parity(lambda: fn(x, y), lambda: fn(a, b))
            if got is not None:
                assert_same(got[1], got[0])
    from distarr._runtime import state
    if state.gc_free:  # the result pool exists: the fast path took the collected result
        c = a + b
        h = c.handle
        del c
        d = a + b
        assert d.handle == h
        assert_same(d, x + y)


def test_result_pool_reuses_collected_arrays():
    """Sequential mode: a collected result is reused by the next result of its shape, dtype and
    layout (one command instead of three); creation functions never take stale arrays."""
    from distarr._runtime import state
    if not state.gc_free:
        pytest.skip("SPMD mode with several ranks: the garbage collector frees nothing")
    a = distarr.arange(10.0)
    c = a * 2
    h = c.handle
    del c
    d = a + 1
    assert d.handle == h
    assert_same(d, np.arange(10.0) + 1)
    del d
    assert_same(distarr.zeros(10), np.zeros(10))
    assert_same(distarr.empty(10), np.zeros(10))


def test_result_pool_is_bounded():
    """The pool keeps at most ``POOL_MAX_PER_KEY`` arrays of a key, none above
    ``POOL_MAX_BYTES``, and reserves at most ``POOL_MAX_TOTAL`` bytes over all keys: keys whose
    lists are empty give their room to new ones. Results stay NumPy's throughout."""
    from distarr import _array
    from distarr._runtime import state
    if not state.gc_free:
        pytest.skip("SPMD mode with several ranks: the garbage collector frees nothing")
    # 64 shapes of 256 KiB (1 MiB of room each): twice what POOL_MAX_TOTAL holds.
    refused = 0
    for k in range(64):
        x = np.arange(32768 + k, dtype=np.float64)
        a = distarr.array(x)
        rs = [a + 1.0 for _ in range(6)]  # 6 results, then all collected: at most 4 kept
        for r in rs:
            assert_same(r, x + 1.0)
        hs = [r.handle for r in rs]
        del rs, r
        key = ((x.size,), np.dtype(np.float64), True)
        kept = _array._pool.get(key)
        if kept is not None:
            assert len(kept) <= _array.POOL_MAX_PER_KEY and set(kept) <= set(hs)
        refused += kept is None
        assert _array._pool_reserved[0] <= _array.POOL_MAX_TOTAL
        assert all(len(v) <= _array.POOL_MAX_PER_KEY for v in _array._pool.values())
        c = a * 2.0  # takes a kept array if there is one
        assert_same(c, x * 2.0)
        del c
        a.free()
    assert refused > 0
    assert sum(_array._key_bytes(k) * _array.POOL_MAX_PER_KEY for k in _array._pool) \
        == _array._pool_reserved[0]
    # Emptied lists give their room back: a new shape is admitted again.
    for key in list(_array._pool):
        while h := _array._pool_take(key):
            distarr._lib.lib.distarr_free(h)
    x = np.arange(40000, dtype=np.float64)
    a = distarr.array(x)
    r = a + 1.0
    del r
    assert len(_array._pool[((40000,), np.dtype(np.float64), True)]) == 1
    assert _array._pool_reserved[0] <= _array.POOL_MAX_TOTAL
    a.free()
    big = distarr.zeros(_array.POOL_MAX_BYTES // 8 + 1)
    r = big + 1.0
    key = (r.shape, r.dtype, True)
    del r
    assert key not in _array._pool  # above POOL_MAX_BYTES: freed, never pooled
    big.free()

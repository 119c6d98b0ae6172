"""Deferred execution from Python (``distarr.flush``, ``set_lazy``, ``is_lazy``): every flush
point runs what was deferred before it, errors come at the call, random chains of operations
give bit-identical results with deferral on and off and agree with NumPy, and in sequential
mode the recorded calls reach the other ranks in one message when they must act.

Whether work is still deferred is seen where the library shows it: in SPMD mode at several
ranks, the local block of an array with pending writes is refused (``distarr_local_block``
returns ``DISTARR_ERR_ARG``); in sequential mode at several ranks, ``seq_stats()`` counts the
messages rank 0 sent (recording sends none; a flush point that communicates sends them). At
one rank only the values are checked.
"""
import ctypes
import gc
import os
import tempfile

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import distarr
from distarr import _lib
from distarr._runtime import seq_stats, state
from conftest import assert_same, cases, parity
from strategies import layouts

SEQ_MULTI = distarr.mode == "sequential" and distarr.nranks > 1
SPMD_MULTI = state.spmd_multi
INITIAL = os.environ.get("DISTARR_LAZY", "1").strip().lower() not in ("0", "off", "false", "no")


@pytest.fixture(autouse=True)
def _no_cyclic_gc():
    """No garbage collection in the middle of a test: in sequential mode, collecting an array
    frees its storage, which is collective and so sends the recorded calls (the tests count
    messages)."""
    gc.collect()
    gc.disable()
    yield
    gc.enable()


@pytest.fixture(params=[True, False], ids=["lazy", "eager"])
def lazy(request):
    """Runs the test with deferral on, then off; restores the initial setting."""
    distarr.set_lazy(request.param)
    yield request.param
    distarr.set_lazy(INITIAL)


def local_block_refused(a):
    """Whether the library refuses this rank's local block of base array ``a`` (pending
    deferred writes; SPMD with several ranks)."""
    f = _lib._dll.distarr_local_block
    f.argtypes = [ctypes.c_int64, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_int64),
                  ctypes.POINTER(ctypes.c_int64)]
    f.restype = ctypes.c_int
    n = max(a.ndim, 1)
    p, lo, hi = ctypes.c_void_p(), (ctypes.c_int64 * n)(), (ctypes.c_int64 * n)()
    rc = f(a.handle, ctypes.byref(p), lo, hi)
    assert rc in (0, 10), _lib._dll.distarr_last_error()
    return rc == 10


class Watch:
    """What the library shows of deferred writes to ``a`` (see the module's documentation)."""

    def __init__(self, a, lazy):
        self.a, self.lazy = a, lazy
        self.sent = seq_stats()[0]

    def recorded(self):
        """After recording writes to ``a``: they are pending, and nothing was sent."""
        if self.lazy and SPMD_MULTI:
            assert local_block_refused(self.a)
        if self.lazy and SEQ_MULTI:
            assert seq_stats()[0] == self.sent, "recorded calls were sent before a flush"
        self.sent = seq_stats()[0]

    def flushed(self, sends=True):
        """After a flush point: nothing is pending; in sequential mode, the workers were told
        (``sends``), or not (``False``: a flush of aligned operations on allocated arrays needs
        no communication, since one program makes every rank's calls; the workers run them when
        they next must act), or either (``None``)."""
        if SPMD_MULTI:
            assert not local_block_refused(self.a)
        if self.lazy and SEQ_MULTI and sends is not None:
            if sends:
                assert seq_stats()[0] > self.sent, "the flush point sent nothing"
            else:
                assert seq_stats()[0] == self.sent, "a flush of aligned operations communicated"


def test_calls():
    assert distarr.is_lazy() == INITIAL
    distarr.set_lazy(False)
    assert distarr.is_lazy() is False
    distarr.set_lazy(True)
    assert distarr.is_lazy() is True
    distarr.flush()  # nothing deferred: nothing happens
    distarr.set_lazy(INITIAL)
    m, c = seq_stats()
    assert (m, c) == (0, 0) or SEQ_MULTI


# --- flush points --------------------------------------------------------------------------

_DIR = os.path.join(tempfile.gettempdir(), f"distarr-pytest-{os.getuid()}")


def _save_load(b, x):
    os.makedirs(_DIR, exist_ok=True)
    path = os.path.join(_DIR, f"lazy-{distarr.nranks}-{distarr.mode}.npy")
    distarr.save(path, b)
    assert_same(distarr.load(path), x)


def _full_queue(b, x):
    t = distarr.zeros(50, layout="block")
    for _ in range(256):  # the engine's queue limit
        t += 1.0
    return t


FLUSH_POINTS = {
    "flush": lambda b, x: distarr.flush(),
    "sync": lambda b, x: distarr.sync(),
    "sum": lambda b, x: assert_same(float(b.sum()), x.sum()),
    "to_numpy": lambda b, x: assert_same(b.to_numpy(), x),
    "asarray": lambda b, x: assert_same(np.asarray(b), x),
    "element": lambda b, x: assert_same(b[7], x[7]),
    "repr": lambda b, x: repr(b),
    "matmul": lambda b, x: assert_same(b @ b, x @ x),
    "mask": lambda b, x: assert_same(b[b > 10], x[x > 10]),
    "save_load": _save_load,
    "full_queue": _full_queue,
}


@pytest.mark.parametrize("point", sorted(FLUSH_POINTS) + ["set_lazy"])
def test_flush_points(lazy, point):
    """Writes to ``a`` are recorded; the flush point (on another array ``b``) runs them."""
    x = np.arange(40.0)
    a = distarr.array(x, layout="block")
    b = distarr.array(x * 0.5, layout="block")
    c = distarr.zeros(40, layout="block")
    t = distarr.ones(40, layout="block")
    distarr.sync()
    w = Watch(a, lazy)
    a += 1.0
    a *= t
    a *= 2.0
    np.add(a, b, out=c)
    w.recorded()
    if point == "set_lazy":
        distarr.set_lazy(False)
        distarr.set_lazy(lazy)
    else:
        FLUSH_POINTS[point](b, x * 0.5)
    # the recorded operations are aligned, on arrays no other rank has read: running them alone
    # needs no communication
    w.flushed(sends=point not in ("flush", "set_lazy"))
    assert_same(a, (x + 1) * 2)
    assert_same(c, (x + 1) * 2 + x * 0.5)


def test_free_is_not_a_flush_point(lazy):
    """Freeing an array the recorded calls use leaves its storage to them: they stay deferred,
    and run later with its values."""
    x = np.arange(40.0)
    a = distarr.array(x, layout="block")
    t = distarr.full(40, 3.0, layout="block")
    distarr.sync()
    w = Watch(a, lazy)
    a *= t
    a += 1.0
    t.free()
    with pytest.raises(ValueError, match="freed"):
        t + 1
    w.recorded()
    distarr.flush()
    w.flushed(sends=True)  # t's storage is freed after the operations that use it: collective
    assert_same(a, x * 3 + 1)


def test_temporaries_of_expressions(lazy):
    """Results created without storage (Python's temporaries) are recorded without any
    message; the flush allocates those still referred to (the result pool keeps collected
    ones), which is collective."""
    x, y = np.arange(1.0, 41.0), np.linspace(-1, 1, 40)
    a, b = distarr.array(x, layout="block"), distarr.array(y, layout="block")
    out = distarr.zeros(40, layout="block")
    distarr.sync()
    w = Watch(out, lazy)
    for _ in range(3):
        out += (a * b + a) / (b * b + 1.0) - a
    w.recorded()
    distarr.flush()
    w.flushed(sends=None)
    assert_same(out, 3 * ((x * y + x) / (y * y + 1.0) - x))


def test_one_message_for_a_loop(lazy):
    """Sequential mode: the calls of a loop of aligned operations travel to the other ranks in
    one message, when they must act (here: a sync); the flush needs none."""
    if not SEQ_MULTI:
        pytest.skip("sequential mode with several ranks only")
    a = distarr.zeros(100, layout="block")
    b = distarr.ones(100, layout="block")
    c = distarr.empty(100, layout="block")
    distarr.sync()
    m0, c0 = seq_stats()
    for _ in range(40):
        a += 1.0
    for _ in range(20):
        np.add(a, b, out=c)
    distarr.flush()
    assert seq_stats() == (m0, c0), "calls were sent before the workers had to act"
    distarr.sync()
    assert seq_stats() == (m0 + 1, c0 + 62), "one message for the 60 calls, the flush and the sync"
    assert_same(c, np.full(100, 41.0))


# --- errors at the call --------------------------------------------------------------------

def test_errors_at_the_call(lazy):
    """Failing calls raise at once (NumPy's exception classes), record nothing and, in
    sequential mode, send nothing; what was recorded before and after runs."""
    x = np.arange(12.0).reshape(3, 4)
    a = distarr.array(x, layout="block")
    ia = distarr.array(np.arange(12, dtype=np.int64).reshape(3, 4), layout="block")
    i32 = distarr.zeros((3, 4), dtype=np.int32, layout="block")
    wrong = distarr.ones((2, 4), layout="block")
    gone = distarr.ones((3, 4), layout="block")
    gone.free()
    distarr.sync()
    m0, c0 = seq_stats()
    a += 1.0
    with pytest.raises(ValueError):
        np.add(a, wrong, out=a)                        # shapes do not broadcast
    with pytest.raises(TypeError):
        np.add(a, a, out=i32)                          # float64 into int32 (same_kind)
    with pytest.raises(ValueError):
        np.power(ia, -1, out=ia)                       # an integer to a negative power
    with pytest.raises(ValueError, match="freed"):
        a += gone
    with pytest.raises(TypeError):
        np.bitwise_and(a, 1, out=a)                    # bitwise on floats
    with pytest.raises(ValueError):
        a.sum(axis=2)                                  # axis out of range
    a *= 3.0
    ia += 1
    if lazy and SEQ_MULTI:
        assert seq_stats()[0] == m0, "a failing call sent the recorded ones"
    distarr.sync()
    if SEQ_MULTI:
        assert seq_stats()[1] == c0 + 3 + 1, "only the calls that succeeded and the sync were sent"
    assert_same(a, (x + 1) * 3)
    assert_same(ia, np.arange(12, dtype=np.int64).reshape(3, 4) + 1)
    assert_same(i32, np.zeros((3, 4), np.int32))
    # a failure found in the values (a negative exponent in an array) is agreed by every rank:
    # nothing written, and what was recorded before it ran
    e = distarr.array(np.array([[1, 2, -1, 0]] * 3), layout="block")
    a -= 1.0
    with pytest.raises(ValueError):
        np.power(ia, e, out=ia)
    assert_same(ia, np.arange(12, dtype=np.int64).reshape(3, 4) + 1)
    assert_same(a, (x + 1) * 3 - 1)


@pytest.mark.parametrize("op", [
    lambda m, a: a + m.ones((2, 4)),
    lambda m, a: a.reshape(5),
    lambda m, a: a @ m.ones(3),
    lambda m, a: a & 1,
    lambda m, a: m.arange(4) ** -1,
    lambda m, a: a.max(axis=3),
])
def test_error_parity_with_work_deferred(lazy, op):
    """NumPy raises ⇔ distarr raises the same class, with operations pending on ``a``."""
    x = np.arange(12.0).reshape(3, 4)
    a = distarr.array(x, layout="block")
    a *= 2.0
    x = x * 2.0
    assert parity(lambda: op(np, x), lambda: op(distarr, a)) is None
    assert_same(a, x)


# --- random chains: deferred vs at once (bit-identical) vs NumPy --------------------------------

BINARY = ["add", "subtract", "multiply", "divide", "maximum", "minimum"]
UNARY = ["negative", "absolute", "tanh", "sin", "square"]


@st.composite
def steps(draw, nslots, ndim):
    """One step of a random program over ``nslots`` arrays of ``ndim`` dimensions."""
    kind = draw(st.sampled_from(["binary", "inplace", "scalar", "unary", "where", "shift",
                                 "reverse", "reduce", "read", "total"]))
    slot = st.integers(0, nslots - 1)
    if kind == "binary":
        return (kind, draw(st.sampled_from(BINARY)), draw(slot), draw(slot), draw(slot))
    if kind == "inplace":
        return (kind, draw(st.sampled_from(["add", "subtract", "multiply"])), draw(slot), draw(slot))
    if kind == "scalar":
        s = draw(st.sampled_from([0.5, -1.5, 2.0, 3.0]))
        return (kind, draw(st.sampled_from(BINARY)), draw(slot), draw(slot), s, draw(st.booleans()))
    if kind == "unary":
        return (kind, draw(st.sampled_from(UNARY)), draw(slot), draw(slot))
    if kind == "where":
        return (kind, draw(slot), draw(slot), draw(slot), draw(slot), draw(slot))
    if kind in ("shift", "reverse"):
        return (kind, draw(slot), draw(slot))
    if kind == "reduce":
        return (kind, draw(st.sampled_from(["sum", "max", "mean"])), draw(slot), draw(slot),
                draw(st.integers(0, ndim - 1)))
    if kind == "read":
        return (kind, draw(slot), draw(st.integers(0, 10 ** 6)))
    return (kind, draw(slot))


def run_program(m, slots, program):
    """Runs ``program`` with array module ``m`` on ``slots`` (changed in place); returns the
    scalars it read on the way."""
    seen = []
    for step in program:
        kind = step[0]
        if kind == "binary":
            _, op, d, x, y = step
            slots[d] = getattr(m, op)(slots[x], slots[y])
        elif kind == "inplace":
            _, op, d, x = step
            getattr(m, op)(slots[d], slots[x], out=slots[d])
        elif kind == "scalar":
            _, op, d, x, s, first = step
            f = getattr(m, op)
            slots[d] = f(s, slots[x]) if first else f(slots[x], s)
        elif kind == "unary":
            _, op, d, x = step
            slots[d] = getattr(m, op)(slots[x])
        elif kind == "where":
            _, d, p, q, x, y = step
            slots[d] = m.where(slots[p] > slots[q], slots[x], slots[y])
        elif kind == "shift":
            # a halo: reads through another view of what it writes when d == x
            _, d, x = step
            slots[d][1:] = slots[x][:-1]
        elif kind == "reverse":
            _, d, x = step
            slots[d][...] = slots[x][::-1]
        elif kind == "reduce":
            # along an axis, broadcast back: keepdims
            _, op, d, x, ax = step
            slots[d] = slots[d] + getattr(m, op)(slots[x], axis=ax, keepdims=True)
        elif kind == "read":
            _, x, k = step
            a = slots[x]
            seen.append(a[np.unravel_index(k % a.size, a.shape)])
        else:
            seen.append(m.sum(slots[step[1]]))
    return seen


def _bits(v):
    """The bytes of ``v`` with every NaN made the same NaN. IEEE 754 leaves open which NaN an
    operation on two NaNs returns; the fused and the eager kernels return different ones
    (``add`` of -nan and nan: seen and reported), so NaNs compare by position only."""
    v = np.asarray(v)
    if v.dtype.kind in "fc":
        v = np.where(np.isnan(v), np.array(np.nan, v.dtype), v)
    return v.tobytes()


@cases(60, st.data(), st.integers(1, 2), st.integers(2, 4), st.sampled_from([np.float64, np.float32]))
def test_random_chains(data, ndim, nslots, dtype):
    """A random program of element-wise operations (new results, in place, with scalars,
    ``where``, halo and reversed-view writes that read what they write), reductions along an
    axis and reads of values on the way, over arrays in random layouts: run with deferral on
    and off, every array and value read is bit-identical; both agree with NumPy."""
    big = (2500,) if ndim == 1 else (40, 70)  # several tiles, every rank holds a part
    shape = data.draw(st.one_of(st.lists(st.integers(2, 6), min_size=ndim, max_size=ndim).map(tuple),
                                st.just(big)), label="shape")
    width = 32 if dtype == np.float32 else 64
    finite = st.floats(-10, 10, width=width)
    inputs = [data.draw(hnp.arrays(dtype, shape, elements=finite), label=f"x{k}") for k in range(nslots)]
    lays = [data.draw(layouts(), label=f"layout{k}") for k in range(nslots)]
    program = data.draw(st.lists(steps(nslots, ndim), min_size=3, max_size=16), label="program")

    outcomes = []
    for on in (True, False):
        distarr.set_lazy(on)
        slots = [distarr.array(x, layout=lay) for x, lay in zip(inputs, lays)]
        with np.errstate(all="ignore"):
            seen = run_program(distarr, slots, program)
        outcomes.append(([s.to_numpy() for s in slots], seen))
    distarr.set_lazy(INITIAL)
    (lazy_slots, lazy_seen), (eager_slots, eager_seen) = outcomes
    for g, w in zip(lazy_slots + lazy_seen, eager_slots + eager_seen):
        assert np.asarray(g).dtype == np.asarray(w).dtype
        assert _bits(g) == _bits(w), f"deferred {g} != at once {w}"

    ref = [x.copy() for x in inputs]
    with np.errstate(all="ignore"):
        ref_seen = run_program(np, ref, program)
    # Sums differ from NumPy's (pairwise) in rounding: relative to the largest magnitude about.
    every = np.concatenate([np.ravel(np.asarray(v, np.float64)) for v in inputs + ref + ref_seen])
    scale = np.max(np.abs(every[np.isfinite(every)]), initial=1.0)
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    for g, w in zip(lazy_slots + lazy_seen, ref + ref_seen):
        assert_same(g, np.asarray(w), rtol=rtol, atol=rtol * scale)


# --- 0-d operands, which used to be read back to rank 0 -------------------------------------------

def test_zero_d_operands_stay_deferred(lazy):
    """0-d arrays as operands, sources and conditions are the engine's: they need no read of
    their value (no flush), in any layout."""
    for lay in ["block", "replicated", ("on_rank", distarr.nranks - 1)]:
        z = distarr.array(np.float64(2.5), layout=lay)
        v = distarr.arange(7.0)
        o = distarr.zeros((2, 7), layout="block")
        distarr.sync()
        w = Watch(o, lazy)
        np.add(v, z, out=o)
        o *= z
        o[0] = z
        w.recorded()
        del w  # (it holds o: freeing o is collective)
        vn, zn = np.arange(7.0), np.array(2.5)
        on = np.zeros((2, 7))
        np.add(vn, zn, out=on)
        on *= zn
        on[0] = zn
        assert_same(o, on)
        assert_same(distarr.where(distarr.array(np.bool_(True), layout=lay), v, -1.0), vn)
        assert_same(distarr.broadcast_to(z, (2, 3)), np.broadcast_to(zn, (2, 3)))
        assert_same(z.reshape(1, 1), zn.reshape(1, 1))
        assert_same(z[None], zn[None])
        assert_same(z[...], zn[...])
        assert_same(v + np.float32(1.5), vn + np.float32(1.5))

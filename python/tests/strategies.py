"""Hypothesis strategies of the differential tests: dtypes, values, shapes, layouts and views.

``operand(data, dtype, shape)`` draws a NumPy array and the distarr array holding the same
values, in a random layout (block, one rank, replicated, block-cyclic) and possibly as a
strided or reversed view of a larger distarr array.
"""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import distarr

DTYPES = [np.dtype(t) for t in (np.bool_, np.int32, np.int64, np.uint8, np.uint32, np.uint64,
                                np.float32, np.float64, np.complex64, np.complex128)]
REAL = [d for d in DTYPES if d.kind != "c"]
NUMERIC = [d for d in DTYPES if d.kind != "b"]
dtypes = st.sampled_from(DTYPES)
real_dtypes = st.sampled_from(REAL)

_SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 0.5]


def elements(dtype):
    d = np.dtype(dtype)
    if d.kind == "b":
        return st.booleans()
    if d.kind in "iu":
        info = np.iinfo(d)
        return st.one_of(st.integers(-3 if d.kind == "i" else 0, 5),
                         st.integers(int(info.min), int(info.max)))
    if d.kind == "f":
        w = 32 if d == np.float32 else 64
        return st.one_of(st.floats(-1e3, 1e3, width=w), st.sampled_from(_SPECIAL).map(d.type))
    # Components 0 or of magnitude 1e-3..1e3: the engine's complex division is not Smith's
    # (reported), so 1/z overflows for tiny |z| where NumPy's does not.
    part = st.one_of(st.just(0.0), st.floats(1e-3, 1e3), st.floats(-1e3, -1e-3))
    return st.builds(complex, part, part).map(d.type)


def values(dtype, shape):
    return hnp.arrays(np.dtype(dtype), shape, elements=elements(dtype))


shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5)
nonempty_shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5)


def layouts():
    last = distarr.nranks - 1
    return st.sampled_from(["block", "replicated", ("on_rank", last), ("block_cyclic", 1),
                            ("block_cyclic", 2), None])


def operand(data, dtype, shape, view=True):
    """``(numpy array, distarr array)`` with the same values (see the module's docs)."""
    kind = data.draw(st.sampled_from(["plain", "strided", "reversed"] if view and shape else ["plain"]),
                     label="view")
    layout = data.draw(layouts(), label="layout")
    if kind == "plain":
        x = data.draw(values(dtype, shape), label="x")
        return x, distarr.array(x, layout=layout)
    if kind == "strided":
        big = data.draw(values(dtype, tuple(2 * n + 1 for n in shape)), label="x (base)")
        key = tuple(slice(1, None, 2) for _ in shape)
    else:
        big = data.draw(values(dtype, shape), label="x (base)")
        key = tuple(slice(None, None, -1) for _ in shape)
    return big[key], distarr.array(big, layout=layout)[key]


@st.composite
def basic_index(draw, shape, allow_int=True, allow_newaxis=True):
    """A basic-indexing key for ``shape``: ints, slices (any steps), ``None``, ``...``."""
    items = []
    dims = list(shape)
    use_ellipsis = draw(st.booleans()) and len(dims) > 0
    pos = draw(st.integers(0, len(dims))) if use_ellipsis else -1
    for i, n in enumerate(dims):
        if i == pos:
            items.append(Ellipsis)
            # The ellipsis covers the remaining dimensions.
            break
        choices = ["slice"] + (["int"] if allow_int and n > 0 else [])
        kind = draw(st.sampled_from(choices))
        if allow_newaxis and draw(st.integers(0, 5)) == 0:
            items.append(None)
        if kind == "int":
            items.append(draw(st.integers(-n, n - 1)))
        else:
            bound = st.one_of(st.none(), st.integers(-n - 2, n + 2))
            step = draw(st.one_of(st.none(), st.integers(-3, 3).filter(lambda s: s != 0)))
            items.append(slice(draw(bound), draw(bound), step))
    if pos == len(dims):
        items.append(Ellipsis)
    if allow_newaxis and draw(st.integers(0, 5)) == 0:
        items.append(None)
    if len(items) == 1 and draw(st.booleans()):
        return items[0]
    return tuple(items)

"""NumPy side of the `arr_numpy_ufuncs` multi-rank test (tests/programs/src/bin/arr_numpy_ufuncs.rs).

    ufunc_types.py DIR

DIR/manifest.txt lists what distarr computed, one operation per line:

    bin|ufunc|dtype_x|dtype_y|x.npy|y.npy|RESULT     ufunc(x[:, None], y[None, :])
    un|ufunc|dtype_x|x.npy|RESULT                    ufunc(x)
    sc|ufunc|dtype_x|literal|x.npy|RESULT            ufunc(x, <Python scalar literal>)

RESULT is the .npy file distarr saved, or `ERR:<ErrorKind>`. This script computes the same
with NumPy (1.24 here; scalars with NEP 50 "weak" promotion, which distarr follows) and
compares result dtypes and values. Differences that distarr's ufunc documentation explains are
counted but accepted:

* `float16`: NumPy gives float16 (math functions of bool/uint8); distarr has no float16 and
  gives float32 (compared with NumPy's result on float32 inputs);
* `int8`: NumPy gives int8 (floor_divide/remainder/power of two bools); distarr has no int8
  and refuses the operation;
* `ulp`: transcendental functions (NumPy's SIMD code vs the C library) within a few units in
  the last place;
* `signed zero`: `maximum`/`minimum` of +0.0 and -0.0 (equal values): which one NumPy returns
  depends on its SIMD code path (x86's `maxpd` returns the second operand).

Anything else is printed and fails the test (exit status 1).
"""
import collections
import os
import sys

import numpy as np

TRANSCENDENTAL = {
    "exp", "log", "log2", "log10", "expm1", "log1p", "sin", "cos", "tan", "arcsin", "arccos",
    "arctan", "sinh", "cosh", "tanh", "arctan2", "hypot", "power",
}
# Largest accepted difference in units in the last place for TRANSCENDENTAL.
MAX_ULP = 4
# NumPy result dtypes distarr lacks, and what it does instead.
MISSING_DTYPES = {"float16": "float32", "int8": None, "int16": None, "uint16": None}


def numpy_call(name, args, weak=False):
    """(result, None) or (None, error class name)."""
    fn = getattr(np, name)
    if weak:
        np._set_promotion_state("weak")
    try:
        with np.errstate(all="ignore"):
            return fn(*args), None
    except (TypeError, ValueError, OverflowError) as e:
        return None, type(e).__name__
    finally:
        if weak:
            np._set_promotion_state("legacy")


def ulp_distance(a, b):
    """Elementwise distance in units in the last place of two float arrays of one dtype."""
    itype = {np.dtype(np.float32): np.int32, np.dtype(np.float64): np.int64}[a.dtype]
    ia = a.view(itype).astype(np.float64)
    ib = b.view(itype).astype(np.float64)
    # Map the sign-magnitude order onto a line so that -0.0 and 0.0 are neighbours.
    top = float(np.iinfo(itype).min)
    ia = np.where(ia < 0, top - ia, ia)
    ib = np.where(ib < 0, top - ib, ib)
    return np.abs(ia - ib)


def same_values(got, want):
    """(equal, describe-first-differences)."""
    if got.dtype.kind in "fc":
        nan = np.isnan(got) & np.isnan(want)
        eq = (got == want) | nan
        # Signed zeros must match too.
        eq &= (np.signbit(got) == np.signbit(want)) | nan
    else:
        eq = got == want
    if eq.all():
        return True, ""
    bad = np.argwhere(~eq)[:4]
    return False, "; ".join(f"at {tuple(i)}: {got[tuple(i)]!r} != {want[tuple(i)]!r}" for i in bad)


def main():
    directory = sys.argv[1]
    load = lambda f: np.load(os.path.join(directory, f))  # noqa: E731
    accepted = collections.Counter()
    failures = []
    count = 0
    with open(os.path.join(directory, "manifest.txt"), encoding="utf-8") as f:
        lines = [line.rstrip("\n").split("|") for line in f if line.strip()]
    for fields in lines:
        count += 1
        kind, name = fields[0], fields[1]
        weak = False
        if kind == "bin":
            x, y = load(fields[4]), load(fields[5])
            args = (x[:, None], y[None, :])
            what = f"{name}({fields[2]}, {fields[3]})"
        elif kind == "un":
            args = (load(fields[3]),)
            what = f"{name}({fields[2]})"
        else:
            args = (load(fields[4]), eval(fields[3]))  # a literal written by the Rust program
            what = f"{name}({fields[2]}, {fields[3]})"
            weak = True
        result = fields[-1]
        want, np_err = numpy_call(name, args, weak)
        note = None
        if want is not None and want.dtype.name in MISSING_DTYPES:
            instead = MISSING_DTYPES[want.dtype.name]
            if instead is None:
                note = want.dtype.name
                if result.startswith("ERR:"):
                    accepted[note] += 1
                    continue
                failures.append(f"{what}: NumPy gives {want.dtype.name}, distarr {result}")
                continue
            note = want.dtype.name
            args = tuple(a.astype(instead) if isinstance(a, np.ndarray) else a for a in args)
            want, np_err = numpy_call(name, args, weak)
        if np_err is not None or result.startswith("ERR:"):
            if np_err is not None and result.startswith("ERR:"):
                continue
            failures.append(
                f"{what}: NumPy {'raises ' + np_err if np_err else 'gives ' + str(want.dtype)}, "
                f"distarr {'raises ' + result[4:] if result.startswith('ERR:') else 'gives a result'}"
            )
            continue
        got = load(result)
        want = np.asarray(want)
        if got.dtype != want.dtype:
            failures.append(f"{what}: dtype {got.dtype}, NumPy {want.dtype}")
            continue
        if got.shape != want.shape:
            failures.append(f"{what}: shape {got.shape}, NumPy {want.shape}")
            continue
        ok, detail = same_values(got, want)
        if not ok and name in ("maximum", "minimum") and got.dtype.kind == "f":
            nan = np.isnan(got) & np.isnan(want)
            if ((got == want) | nan).all():
                accepted["signed zero"] += 1
                ok = True
        if not ok and name in TRANSCENDENTAL and got.dtype.kind == "f":
            finite = np.isfinite(got) & np.isfinite(want)
            both_special = ~finite & ((got == want) | (np.isnan(got) & np.isnan(want)))
            if (both_special | (finite & (ulp_distance(got, want) <= MAX_ULP))).all():
                accepted["ulp"] += 1
                ok = True
        if not ok:
            failures.append(f"{what} -> {got.dtype}: {detail}")
        elif note:
            accepted[note] += 1
    for msg in failures:
        print("DIFF", msg)
    summary = ", ".join(f"{k}: {v}" for k, v in sorted(accepted.items())) or "none"
    print(f"ufunc_types.py: {count} operations, {len(failures)} differences; accepted ({summary})")
    sys.exit(1 if failures or count == 0 else 0)


if __name__ == "__main__":
    main()

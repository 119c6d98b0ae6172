"""NumPy side of the `arr_io` multi-rank test (tests/programs/src/bin/arr_io.rs).

    arr_io.py check DIR   load each file listed in DIR/manifest.txt with np.load and compare it
                          with the array the listed expression gives (dtype, shape, values)
    arr_io.py make DIR    write each file listed in DIR/manifest.txt from its expression

Each manifest line is `file|dtype|shape|expression|version`: `shape` is comma-separated
(empty for 0-d); `e` in the expression is `value(dtype, shape)`, the formula that
`value()` in arr_io.rs implements element by element; `version` is the .npy format version
to write (`1.0`, `2.0`, `3.0`) or `auto` (np.save's choice).
"""
import os
import sys

import numpy as np


def value(dtype, shape):
    """Element i (C order) of the test data of `dtype`; must match arr_io.rs `value()`."""
    n = int(np.prod(shape, dtype=np.int64))
    i = np.arange(n, dtype=np.uint64)
    if dtype == "bool":
        v = i % 3 == 1
    elif dtype == "int32":
        v = ((i * 37 % 1000).astype(np.int64) - 500).astype(np.int32)
    elif dtype == "int64":
        v = (i.astype(np.int64) - 5) * (1 << 40)
    elif dtype == "uint8":
        v = (i * 7 % 256).astype(np.uint8)
    elif dtype == "uint32":
        v = (i * np.uint64(4000000007)).astype(np.uint32)
    elif dtype == "uint64":
        v = i * np.uint64(0x9E3779B97F4A7C15)
    elif dtype == "float32":
        v = i.astype(np.float32) * np.float32(0.25) - np.float32(3.0)
    elif dtype == "float64":
        v = i.astype(np.float64) / 3.0 - 7.0
    elif dtype == "complex64":
        f = i.astype(np.float32)
        v = np.empty(n, np.complex64)
        v.real = f * np.float32(0.5)
        v.imag = -f * np.float32(0.25)
    elif dtype == "complex128":
        f = i.astype(np.float64)
        v = np.empty(n, np.complex128)
        v.real = f / 7.0
        v.imag = 1.0 - f * 2.0
    else:
        raise ValueError("unknown dtype " + dtype)
    assert v.dtype.name == dtype, (v.dtype, dtype)
    return v.reshape(shape)


def cases(directory):
    with open(os.path.join(directory, "manifest.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            name, dtype, shape, expr, version = line.split("|")
            shape = tuple(int(s) for s in shape.split(",") if s)
            e = value(dtype, shape)
            want = eval(expr, {"np": np, "e": e})  # the manifest is written by arr_io.rs
            yield os.path.join(directory, name), want, version, expr


def main():
    mode, directory = sys.argv[1], sys.argv[2]
    failures = []
    count = 0
    for path, want, version, expr in cases(directory):
        count += 1
        if mode == "make":
            if version == "auto":
                np.save(path, want)
            else:
                major, minor = (int(x) for x in version.split("."))
                with open(path, "wb") as f:
                    np.lib.format.write_array(f, want, version=(major, minor))
            continue
        got = np.load(path)
        if got.dtype != want.dtype or got.shape != want.shape:
            failures.append(f"{path}: got {got.dtype}{got.shape}, want {want.dtype}{want.shape} ({expr})")
        elif not np.array_equal(got, want):
            bad = np.argwhere(got != want)[:5].tolist()
            failures.append(f"{path}: values differ at {bad} ({expr})")
    for f in failures:
        print("MISMATCH", f)
    print(f"arr_io.py {mode}: {count} files, {len(failures)} mismatches")
    sys.exit(1 if failures or count == 0 else 0)


if __name__ == "__main__":
    main()

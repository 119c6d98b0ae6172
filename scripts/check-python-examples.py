"""Runs examples/python/*.py under NumPy (DISTARR_NP=numpy, one process) and under distarr at
1-4 ranks in sequential mode and at 2 and 3 ranks in SPMD mode, and checks that they give the
same answer: every `key=number` of the last output line equal within 1e-9 (relative), except
Monte Carlo pi, whose random streams differ: both estimates within 6 standard errors of pi.
Every run is under a timeout. Prints one line per run and `N passed, N failed`.

    .venv/bin/python scripts/check-python-examples.py [PYTHON]
"""
import math
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = sys.argv[1] if len(sys.argv) > 1 else sys.executable
TIMEOUT = int(os.environ.get("DISTARR_TEST_TIMEOUT", "180"))
EXAMPLES = {"pi": ["400000"], "jacobi": ["120", "100"], "stencil": ["64", "20"], "nbody": ["48", "4"]}
RUNS = [(n, "sequential") for n in (1, 2, 3, 4)] + [(2, "spmd"), (3, "spmd")]
MPIRUN = os.environ.get("DISTARR_MPIRUN", "mpirun")


def results(name, stdout):
    """The example's result lines (`NAME: ...`); in SPMD mode the ranks' lines may be glued."""
    return re.findall(rf"{name}: .*?(?={name}: |\n|$)", stdout)


def run(cmd, env):
    full = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                OMPI_MCA_rmaps_base_oversubscribe="1", **env)
    p = subprocess.run(["timeout", "--signal=TERM", "--kill-after=10", str(TIMEOUT)] + cmd,
                       env=full, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def numbers(line):
    return {k: float(v) for k, v in re.findall(r"(\w+)=([-+0-9.eE]+|nan|inf)", line)}


def same(name, ref, got):
    if name == "pi":
        return all(abs(v["value"] - math.pi) < 6 * v["stderr"] for v in (ref, got))
    return ref.keys() == got.keys() and all(
        math.isclose(ref[k], got[k], rel_tol=1e-9, abs_tol=1e-12) for k in ref)


def main():
    passed = failed = 0
    for name, args in EXAMPLES.items():
        script = os.path.join(ROOT, "examples", "python", f"{name}.py")
        rc, out, err = run([PYTHON, script] + args, {"DISTARR_NP": "numpy"})
        lines = results(name, out)
        if rc != 0 or not lines:
            print(f"FAIL {name} numpy: exit {rc}\n{err[-2000:]}")
            failed += 1
            continue
        ref = numbers(lines[-1])
        print(f"     {name} numpy: {lines[-1]}")
        for n, mode in RUNS:
            rc, out, err = run([MPIRUN, "-n", str(n), PYTHON, script] + args,
                               {"DISTARR_NP": "distarr", "DISTARR_MODE": mode})
            lines = results(name, out)
            # Sequential mode prints once; SPMD mode once per rank (all equal).
            want_lines = 1 if mode == "sequential" else n
            ok = rc == 0 and len(lines) == want_lines and all(
                same(name, ref, numbers(ln)) for ln in lines)
            print(f"{'ok  ' if ok else 'FAIL'} {name} distarr {mode} n={n}: "
                  f"{lines[-1] if lines else '(no output)'}")
            if not ok:
                print(f"     exit {rc}, {len(lines)} result(s):\n{out}\n{err[-3000:]}")
            passed, failed = passed + ok, failed + (not ok)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

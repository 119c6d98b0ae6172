"""How distarr programs behave as jobs: each test starts ``mpirun`` (or a plain ``python``) on a
small program and checks exit status, output and timing. Run with plain pytest (not under
mpirun): ``.venv/bin/python -m pytest python/tests_launch``. Every launch is under a timeout."""
import os
import subprocess
import sys
import textwrap
import time

import pytest

TIMEOUT = int(os.environ.get("DISTARR_TEST_TIMEOUT", "180"))
MPIRUN = os.environ.get("DISTARR_MPIRUN", "mpirun")


def launch(code, n=None, mode=None, env=None, args=()):
    """Runs ``code`` with this Python, under ``mpirun -n n`` unless ``n`` is None."""
    full = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                OMPI_MCA_rmaps_base_oversubscribe="1")
    full.pop("DISTARR_MODE", None)
    if mode:
        full["DISTARR_MODE"] = mode
    full.update(env or {})
    full = {k: v for k, v in full.items() if v is not None}  # None: unset
    cmd = [sys.executable, "-c", textwrap.dedent(code)] + list(args)
    if n is not None:
        cmd = [MPIRUN, "-n", str(n)] + cmd
    t0 = time.monotonic()
    p = subprocess.run(["timeout", "--signal=TERM", "--kill-after=10", str(TIMEOUT)] + cmd,
                       env=full, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    p.seconds = time.monotonic() - t0
    # 124/137 from `timeout` (137 is also mpirun's status when a rank was killed by SIGKILL).
    timed_out = p.returncode in (124, 137) and p.seconds >= TIMEOUT - 1
    assert not timed_out, f"timed out:\n{p.stdout}\n{p.stderr}"
    return p


def test_without_mpirun_one_rank():
    p = launch("import distarr as np; print(np.nranks, np.mode, float(np.arange(5.0).sum()))")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["1", "sequential", "10.0"]


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_sequential_prints_once_and_workers_exit_0(n):
    p = launch("""
        import distarr as np
        a = np.ones((50, 7))
        print("total", float((a * 2).sum()), np.nranks)
    """, n=n)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [f"total 700.0 {n}"]


def test_spmd_every_rank_runs(tmp_path):
    # Each rank writes its own file: lines that several ranks print may interleave.
    p = launch(f"""
        import distarr as np
        total = float(np.ones(10).sum())
        with open({str(tmp_path)!r} + f"/rank{{np.rank}}", "w") as f:
            f.write(f"{{np.rank}} {{np.nranks}} {{total}}")
    """, n=3, mode="spmd")
    assert p.returncode == 0, p.stderr
    got = sorted(f.read_text() for f in tmp_path.iterdir())
    assert got == ["0 3 10.0", "1 3 10.0", "2 3 10.0"], (got, p.stdout)


@pytest.mark.parametrize("user", [None, "2"])
def test_blas_threads_limited_under_mpirun(user):
    """Several ranks: BLAS gets one thread each unless the user set the variable."""
    env = {"OPENBLAS_NUM_THREADS": user}
    p = launch("""
        import os
        import distarr as np
        print(np.nranks, os.environ.get("OPENBLAS_NUM_THREADS"))
    """, n=2, env=env, mode="sequential")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["2", user or "1"], p.stdout


def live_processes_with(token):
    """PIDs of the processes (not zombies) whose command line holds ``token``: a job's ranks
    and their fault guardians (clones of the ranks)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmdline = f.read()
            with open(f"/proc/{name}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if token.encode() in cmdline and state not in ("Z", "X"):
            found.append(int(name))
    return found


def no_process_left(token):
    """Waits up to 5 s for every process of the job marked with ``token`` to be gone; kills and
    reports those left."""
    deadline = time.monotonic() + 5
    left = live_processes_with(token)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = live_processes_with(token)
    for pid in left:
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    return not left


#: The bound on how long a failing job may take to end (a hang is a failure).
FAULT_LIMIT = 30


@pytest.mark.parametrize("n", [1, 3])
def test_sequential_exception_ends_the_job(n):
    """An uncaught exception on rank 0: traceback printed once, every rank ends, non-zero exit,
    no process left."""
    token = f"distarr-launch-exc-{os.getpid()}-{n}"
    p = launch("""
        import distarr as np
        a = np.ones(100)
        b = a + 1
        raise ValueError("boom from the program")
    """, n=n, args=(token,))
    assert p.returncode != 0
    assert p.stderr.count("ValueError: boom from the program") == 1, p.stderr
    assert "Traceback" in p.stderr
    assert p.seconds < FAULT_LIMIT, p.seconds
    assert no_process_left(token)


def test_sequential_abort_ends_the_job():
    """`distarr.abort(code)` on rank 0 (sequential mode) ends every rank at once after the
    program said why; distarr's fault reports stay quiet; no process left."""
    token = f"distarr-launch-abort-{os.getpid()}"
    p = launch("""
        import sys
        import distarr as np
        a = np.ones(1000)
        print("giving up:", float(a.sum()), file=sys.stderr)
        np.abort(3)
        print("not reached")
    """, n=3, args=(token,))
    assert p.returncode != 0
    assert "giving up: 1000.0" in p.stderr and "not reached" not in p.stdout
    assert "FATAL: " not in p.stderr, p.stderr
    assert p.seconds < FAULT_LIMIT, p.seconds
    assert no_process_left(token)


@pytest.mark.parametrize("how,rank", [("kill", 1), ("abort", 2), ("exit", 1)])
def test_sequential_worker_death_ends_the_job(how, rank):
    """A worker of sequential mode dies (the library's test hook: before its 15th command) while
    rank 0 runs the program: the job ends non-zero within the limit, the dead rank is named, and
    no process is left."""
    token = f"distarr-launch-worker-{how}-{os.getpid()}"
    p = launch("""
        import distarr as np
        a = np.ones(10_000)
        for i in range(200):
            a = a + 1.0
            assert float(a.sum()) == 10_000 * (i + 2)
        print("all rounds done")
    """, n=3, env={"DISTARR_TEST_WORKER_FAULT": f"{rank}:15:{how}"}, args=(token,))
    out = p.stdout + p.stderr
    assert p.returncode != 0, out
    assert "all rounds done" not in p.stdout
    assert f"sequential-mode worker {rank} dies" in out
    assert f"FATAL: rank {rank} (pid " in out, out
    if how == "abort":
        assert "received signal 6 (SIGABRT)" in out, out
    else:
        assert "ended without finalizing" in out, out
    assert "FATAL: rank 0 " not in out, out
    assert p.seconds < FAULT_LIMIT, p.seconds
    assert no_process_left(token)


def test_spmd_exception_on_one_rank_ends_the_job():
    """Rank 1 raises while the others go on to a collective call: the job ends, no hang."""
    p = launch("""
        import distarr as np
        a = np.ones(100)
        if np.rank == 1:
            raise RuntimeError("only rank 1 fails")
        print(float(a.sum()))
        b = a * 2
        print(float(b.sum()))
    """, n=3, mode="spmd")
    assert p.returncode != 0
    assert "only rank 1 fails" in p.stderr and "uncaught exception on rank 1" in p.stderr


def test_sequential_frees_garbage():
    """Sequential mode frees arrays when they are collected: 300 arrays of 800 kB each pass
    through a 64 MiB heap."""
    p = launch("""
        import distarr as np
        a = np.ones(100_000)
        for _ in range(300):
            a = a + 1.0
        print(float(a[0]))
    """, n=2, env={"DISTARR_HEAP_LIMIT": "64M"})
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.split() == ["301.0"]


def test_heap_limit_is_a_memory_error():
    """The check above can fail: keeping the arrays exhausts the heap with a MemoryError."""
    p = launch("""
        import distarr as np
        keep = [np.ones(100_000) for _ in range(300)]
    """, n=2, env={"DISTARR_HEAP_LIMIT": "64M"})
    assert p.returncode != 0
    assert "MemoryError" in p.stderr


def test_spmd_collected_alive_warns_and_scope_frees():
    p = launch("""
        import gc, warnings
        warnings.simplefilter("always", ResourceWarning)
        import distarr as np
        a = np.ones(10)
        del a
        gc.collect()
        b = np.ones(100_000)
        for _ in range(300):
            with np.scope():
                b[...] = b + 1.0       # the temporary is freed at the scope's end
        print(float(b[0]))
    """, n=2, mode="spmd", env={"DISTARR_HEAP_LIMIT": "64M"})
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.count("301.0") == 2, p.stdout
    assert p.stderr.count("ResourceWarning") >= 2 and "free()" in p.stderr


def test_coverage_report():
    p = launch("""
        import warnings
        import numpy
        import distarr as np
        warnings.simplefilter("ignore")
        a = np.arange(10.0)
        numpy.sum(a); np.sqrt(a); numpy.cumsum(a); a + 1
    """, n=2, env={"DISTARR_REPORT_COVERAGE": "1"})
    assert p.returncode == 0, p.stderr
    report = p.stderr[p.stderr.index("distarr coverage report"):]
    native, fallback = report.split("NumPy fallback")
    assert "sum (via numpy)" in native and "sqrt" in native and "add" in native
    assert "cumsum: 1" in fallback


def test_fallback_limit_from_environment():
    p = launch("""
        import numpy, distarr as np
        try:
            numpy.cumsum(np.arange(100.0))
        except np.DistArrayNotImplementedError as e:
            print("refused:", e)
    """, n=2, env={"DISTARR_FALLBACK_MAX": "50"})
    assert p.returncode == 0, p.stderr
    assert "refused: numpy.cumsum" in p.stdout and "DISTARR_FALLBACK_MAX=50" in p.stdout


def test_library_not_found_is_a_clear_import_error():
    p = launch("import distarr", env={"DISTARR_LIBRARY": "/nonexistent/libdistarr.so"})
    assert p.returncode != 0
    assert "ImportError" in p.stderr and "/nonexistent/libdistarr.so" in p.stderr


def test_examples_run_unchanged_under_numpy():
    """The examples import their array module from DISTARR_NP."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    script = os.path.join(root, "examples", "python", "stencil.py")
    full = dict(os.environ, DISTARR_NP="numpy")
    p = subprocess.run(["timeout", str(TIMEOUT), sys.executable, script, "20", "3"], env=full,
                       capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.startswith("stencil: n=20"), p.stderr


def test_pip_install_of_the_package(tmp_path):
    """`pip install ./python` gives a working package outside the checkout (the library then
    comes from DISTARR_LIBRARY)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    target = tmp_path / "site"
    p = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        "--no-deps", "--target", str(target), os.path.join(root, "python")],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert p.returncode == 0, p.stderr
    assert (target / "distarr" / "__init__.py").is_file()
    lib = os.path.join(root, "target", "release", "libdistarr.so")
    p = launch("import distarr, sys; print(distarr.__file__); print(float(distarr.ones(3).sum()))",
               env={"PYTHONPATH": str(target), "DISTARR_LIBRARY": lib, "PYTHONNOUSERSITE": "1"},
               args=())
    assert p.returncode == 0, p.stderr
    out = p.stdout.split()
    assert out[0].startswith(str(target)) and out[1] == "3.0"

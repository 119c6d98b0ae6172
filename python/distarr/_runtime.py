"""The library's life cycle in the Python process: initialisation at import, the execution
mode, finalisation at exit, ending the job on an uncaught exception, and array scopes.

Sequential mode (the default under ``mpirun``): ``distarr_init`` returns on rank 0 only; the
other ranks serve rank 0's commands inside the library and exit 0 when rank 0 finalises, so
they never run the rest of the program (the importing module). SPMD mode
(``DISTARR_MODE=spmd``): every rank runs the program.
"""
import atexit
import ctypes
import os
import sys
import traceback

from . import _lib
from ._lib import lib


class _State:
    running = False
    mode = _lib.MODE_SPMD
    rank = 0
    nranks = 1
    #: Arrays may be freed from ``__del__``: sequential mode (rank 0 orders every free) or a
    #: single rank. In SPMD mode with several ranks, garbage collection order differs between
    #: ranks, so a collective free there could deadlock.
    gc_free = True
    #: SPMD with several ranks: one-sided reads must be separated from collective writes by a
    #: ``distarr_sync`` on every rank.
    spmd_multi = False


state = _State()


def _query(fn):
    v = ctypes.c_int32()
    fn(ctypes.byref(v))
    return v.value


def init():
    """Initialises distarr (collective over ``MPI_COMM_WORLD``). Sequential mode unless
    ``DISTARR_MODE`` says otherwise; on the workers of sequential mode this never returns."""
    env = os.environ.get("DISTARR_MODE", "").strip()
    mode = _lib.MODE_SEQUENTIAL if env == "" else _lib.MODE_ENV
    lib.distarr_init_mode(None, None, mode)
    state.running = True
    state.mode = _query(lib.distarr_mode)
    state.rank = _query(lib.distarr_rank)
    state.nranks = _query(lib.distarr_nranks)
    state.gc_free = state.mode == _lib.MODE_SEQUENTIAL or state.nranks == 1
    state.spmd_multi = state.mode == _lib.MODE_SPMD and state.nranks > 1
    atexit.register(finalize)
    if state.spmd_multi:
        sys.excepthook = _spmd_excepthook


def finalize():
    """Finalises distarr (collective; in sequential mode it ends the workers). Called at exit;
    idempotent. Arrays still alive are freed by the library."""
    if state.running:
        state.running = False
        lib.distarr_finalize()


def abort(code=1):
    """Ends the whole job at once (every rank), e.g. after an error on one rank in SPMD mode."""
    sys.stdout.flush()
    sys.stderr.flush()
    if _lib.has("distarr_abort"):
        lib.distarr_abort(code)
    # Without distarr_abort: a rank that exits without finalising makes mpirun end the job.
    os._exit(code)


def _spmd_excepthook(etype, value, tb):
    """SPMD mode with several ranks: an uncaught exception on one rank would leave the others
    waiting in a collective call forever; print it and end the job."""
    sys.stderr.write(f"distarr: uncaught exception on rank {state.rank}; ending the job\n")
    traceback.print_exception(etype, value, tb)
    abort(1)


def sync():
    """``distarr_sync``: every rank sees every write made before it (collective)."""
    lib.distarr_sync()


# --- deferred execution ----------------------------------------------------------------------

def flush():
    """Runs the deferred array operations now (collective).

    Element-wise operations (arithmetic, comparisons, math functions, ``where``, copies,
    fills, casts) and reductions along an axis are checked when called — errors are raised
    there — and recorded; the library runs them later, fused into few passes over memory,
    when a value is needed (a reduction to a scalar, an element read, ``to_numpy()``, printing)
    or at any other flush point. Calling ``flush()`` is never needed for correct results; it
    places the work (e.g. before timing, or before a long pause in the program). In sequential
    mode the recorded calls travel to the other ranks in one message at the flush.
    """
    lib.distarr_flush_deferred()


def set_lazy(on):
    """Turns deferred execution on or off (collective; off runs what is deferred first).
    Initially on, unless ``DISTARR_LAZY=0`` is in the environment. Results are bit-identical
    either way."""
    lib.distarr_set_lazy(1 if on else 0)


def is_lazy():
    """Whether element-wise operations are deferred (see :func:`set_lazy`)."""
    return bool(_query(lib.distarr_is_lazy))


def seq_stats():
    """``(messages, commands)``: how many command messages rank 0 of sequential mode sent to
    the other ranks so far, and the commands they carried ((0, 0) elsewhere). A diagnostic."""
    m, c = ctypes.c_uint64(), ctypes.c_uint64()
    lib.distarr_seq_stats(ctypes.byref(m), ctypes.byref(c))
    return m.value, c.value


# --- scopes --------------------------------------------------------------------------------

#: Stack of open scopes, each a dict: handle -> weak reference to its array, in creation order.
scopes = []


def forget(h):
    """Drops handle ``h`` from the open scopes (it was freed)."""
    for s in scopes:
        s.pop(h, None)


def in_scope(h):
    return any(h in s for s in scopes)


class scope:
    """``with distarr.scope() as s: ...`` frees, at its end, every array created inside it that
    was not freed, except those passed to ``s.keep(arr)`` (which move to the enclosing scope,
    if any; without one they are the program's to free). Collective: every rank leaves the
    scope at the same point. It is the SPMD way to release temporaries, which garbage collection
    does not free in SPMD mode::

        for _ in range(steps):
            with distarr.scope():
                h[...] = h + 0.5 * (a @ h)      # the temporaries are freed here
    """

    def __enter__(self):
        self._arrays = {}
        self._keep = set()
        scopes.append(self._arrays)
        return self

    def keep(self, arr):
        """Keeps ``arr`` (returned) alive past the scope's end."""
        self._keep.add(arr._h)
        return arr

    def __exit__(self, *exc):
        arrays = scopes.pop()
        # Views before the arrays they view: reverse creation order.
        for h in reversed(list(arrays)):
            if h in self._keep:
                if scopes:
                    scopes[-1][h] = arrays[h]
                continue
            obj = arrays[h]()
            if obj is not None:
                obj.free()
            elif state.running:
                lib.distarr_free(h)
        return False

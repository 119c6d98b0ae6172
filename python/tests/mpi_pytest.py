"""Runs pytest under mpirun: ``mpirun -n N python tests/mpi_pytest.py [PYTEST ARGS]``.

``import distarr`` comes first: in sequential mode the workers stop there (they serve rank 0's
commands and exit 0 when it finishes), so only rank 0 runs pytest. In SPMD mode every rank runs
the whole suite; ranks other than 0 report only failures and the summary. Exit status: pytest's
(5, "no tests collected", is a failure like any other non-zero status).
"""
import faulthandler
import os
import sys

import distarr  # noqa: F401 - sequential-mode workers stay here

import pytest

# A hang prints every thread's Python stack before the outer `timeout` kills the job.
if os.environ.get("DISTARR_TEST_STACKS_AFTER"):
    _stderr = os.fdopen(os.dup(2), "w")  # pytest captures fd 2 later
    faulthandler.dump_traceback_later(float(os.environ["DISTARR_TEST_STACKS_AFTER"]), exit=True,
                                      file=_stderr)

here = os.path.dirname(os.path.abspath(__file__))
args = ["-p", "no:cacheprovider", "--rootdir", os.path.dirname(here)] + sys.argv[1:]
if distarr.rank != 0:
    args = ["-qq", "--no-header", "-p", "no:warnings"] + args
sys.exit(int(pytest.main(args)))

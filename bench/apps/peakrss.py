"""Runs a program and reports its peak resident memory (driver of the application benchmark,
bench/apps/bench.py; standard library only).

    python3 bench/apps/peakrss.py PROGRAM [ARGS...]
    mpirun -n 2 python3 bench/apps/peakrss.py PROGRAM [ARGS...]     (one report per rank)

The program runs as a child process (it dies with this wrapper: PR_SET_PDEATHSIG; TERM and INT
are passed on); when it ends, one line goes to stderr:

    bench-apps-rss: rank=R peak_kib=K status=S

K is the child's peak resident set size (`ru_maxrss` of `wait4`: the kernel's high-water mark,
as `VmHWM` in /proc/PID/status), R the launcher's rank (OMPI_COMM_WORLD_RANK, PMI_RANK, else
0). Pages of node-shared memory (MPI shared windows) count for every process that touched them.
The wrapper exits with the child's status (128 + N for a signal N).
"""
import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def _die_with_parent():
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def main():
    argv = sys.argv[1:]
    if not argv:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    rank = os.environ.get("OMPI_COMM_WORLD_RANK") or os.environ.get("PMI_RANK") or "0"
    pid = os.fork()
    if pid == 0:
        _die_with_parent()
        try:
            os.execvp(argv[0], argv)
        except OSError as e:
            print(f"peakrss: cannot run {argv[0]}: {e}", file=sys.stderr)
            os._exit(127)
    def forward(sig, _frame):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, forward)
    while True:
        try:
            _, status, usage = os.wait4(pid, 0)
            break
        except InterruptedError:
            continue
    code = os.waitstatus_to_exitcode(status)
    code = 128 - code if code < 0 else code
    print(f"bench-apps-rss: rank={rank} peak_kib={usage.ru_maxrss} status={code}", file=sys.stderr, flush=True)
    sys.exit(code)


if __name__ == "__main__":
    main()

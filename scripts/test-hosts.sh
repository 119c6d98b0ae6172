#!/usr/bin/env bash
# Runs distarr across two "hosts" on one machine: two network namespaces joined by a veth pair,
# each with its own hostname (UTS namespace), 2 ranks per host, on Open MPI and on MPICH.
#
#   bash scripts/test-hosts.sh                  every check on every installed MPI
#   bash scripts/test-hosts.sh --mpi mpich      one MPI (openmpi | mpich)
#   bash scripts/test-hosts.sh --bench          also measure get latency and bandwidth across
#                                               the veth pair and write the section of
#                                               docs/PERFORMANCE.md (docs/perf/hosts.md)
#   bash scripts/test-hosts.sh --no-build       use the builds that are there
#
# Needs root (network namespaces), iproute2 (`ip`) and util-linux (`unshare`). What it runs, on
# 4 ranks (ranks 0-1 on host distarr-h1, 2-3 on distarr-h2): rt_nodes (node-local ranks by
# loads/stores, the other host only through MPI, checked against the hostnames; with and
# without the fast path), the runtime tests rt_ops, rt_stress, rt_errors, rt_progress (MPICH only) and
# rt_faults (under DISTARR_TIMEOUT), the array differential tests arr_diff and arr_engine, the C
# examples (pi, jacobi, stencil with DISTARR_CHECK=1; jacobi in sequential mode too), the Python
# example jacobi.py in sequential mode against NumPy's answer, and a rank killed on the second
# host (the job must end within 30 s naming it). Each run is under a timeout
# (DISTARR_TEST_TIMEOUT, default 180 s); logs go to target/hosts-logs/.
#
# The hosts see only their own addresses: 10.213.77.1 and .2 on the veth pair, inside the
# namespaces this script creates (nothing is added to the machine's own network). Launchers:
# Open MPI's mpirun with an ssh stand-in agent (`--mca plm_rsh_agent`) that runs each daemon in
# its namespace, TCP between hosts (`--mca btl tcp,self,vader`); MPICH's mpiexec with
# `-launcher rsh -launcher-exec` and the same agent. Everything it creates (namespaces, the
# processes in them, its temporary directory) is deleted at exit, also on Ctrl-C or a signal.
# Exits 0 when every check passed.
set -euo pipefail

cd "$(dirname "$0")/.."
repo="$PWD"

usage() {
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
}

mpis=()
bench=0
build=1
while [ "$#" -gt 0 ]; do
    case "$1" in
        --mpi) mpis+=("$2"); shift ;;
        --bench) bench=1 ;;
        --no-build) build=0 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "test-hosts.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

if [ "$(id -u)" -ne 0 ]; then
    echo "test-hosts.sh: needs root (it creates network namespaces); not run" >&2
    exit 2
fi
for tool in ip unshare timeout; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "test-hosts.sh: '$tool' not found (apt-get install -y iproute2 util-linux)" >&2
        exit 2
    fi
done
if [ "${#mpis[@]}" -eq 0 ]; then
    command -v mpirun >/dev/null 2>&1 && mpis+=(openmpi)
    command -v mpirun.mpich >/dev/null 2>&1 && mpis+=(mpich)
fi
if ! command -v cargo >/dev/null 2>&1 && [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then
    export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi

secs="${DISTARR_TEST_TIMEOUT:-180}"
tag="$$"
ns1="distarr-h1-$tag"
ns2="distarr-h2-$tag"
host1=distarr-h1
host2=distarr-h2
net=10.213.77
logs="${CARGO_TARGET_DIR:-target}/hosts-logs"
work=""
job_pid=""

# --- clean-up: always, also on interruption ----------------------------------------------------
cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    if [ -n "$job_pid" ]; then
        kill -TERM "$job_pid" 2>/dev/null || true
    fi
    for ns in "$ns1" "$ns2"; do
        if ip netns list 2>/dev/null | grep -qw -- "$ns"; then
            local pids
            pids="$(ip netns pids "$ns" 2>/dev/null || true)"
            if [ -n "$pids" ]; then
                # shellcheck disable=SC2086 # a list of PIDs
                kill -KILL $pids 2>/dev/null || true
            fi
            ip netns del "$ns" 2>/dev/null || true
        fi
    done
    if [ -n "$work" ]; then
        rm -rf "$work"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

work="$(mktemp -d /tmp/distarr-hosts.XXXXXX)"
mkdir -p "$logs"

# --- builds ------------------------------------------------------------------------------------
# target_of MPI: the cargo target directory of that MPI's build.
target_of() {
    case "$1" in
        openmpi) echo "${CARGO_TARGET_DIR:-target}" ;;
        mpich) echo "target/mpich" ;;
    esac
}
mpicc_of() {
    case "$1" in
        openmpi) echo mpicc ;;
        mpich) echo mpicc.mpich ;;
    esac
}

build_for() {
    local mpi="$1" target mpicc
    target="$(target_of "$mpi")"
    mpicc="$(mpicc_of "$mpi")"
    echo "test-hosts: building for $mpi into $target"
    local pkgs=(-p distarr-mpitests -p distarr-capi)
    if [ "$bench" -eq 1 ]; then
        pkgs+=(-p distarr-bench)
    fi
    MPICC="$mpicc" CARGO_TARGET_DIR="$target" cargo build --release -q "${pkgs[@]}" --bins --lib
    MPICC="$mpicc" bash scripts/distarr-pc.sh "$target" >/dev/null
    local out="$target/release/hosts-c"
    mkdir -p "$out"
    local flags
    flags="$(PKG_CONFIG_PATH="$target/release/pkgconfig" pkg-config --cflags --libs distarr)"
    for ex in pi jacobi stencil; do
        # shellcheck disable=SC2086 # pkg-config's flags are words
        "$mpicc" -std=c11 -O2 "examples/c/$ex.c" -o "$out/$ex" $flags \
            "-Wl,--disable-new-dtags,-rpath,$repo/$target/release" -lm
    done
}

if [ "$build" -eq 1 ]; then
    for mpi in "${mpis[@]}"; do
        build_for "$mpi"
    done
fi

# --- the two hosts -----------------------------------------------------------------------------
echo "test-hosts: namespaces $ns1 ($net.1, hostname $host1) and $ns2 ($net.2, hostname $host2)"
ip netns add "$ns1"
ip netns add "$ns2"
ip link add "da${tag}a" netns "$ns1" type veth peer name "da${tag}b" netns "$ns2"
ip -n "$ns1" addr add "$net.1/24" dev "da${tag}a"
ip -n "$ns2" addr add "$net.2/24" dev "da${tag}b"
for ns in "$ns1" "$ns2"; do
    ip -n "$ns" link set lo up
done
ip -n "$ns1" link set "da${tag}a" up
ip -n "$ns2" link set "da${tag}b" up

# The launcher agent (an ssh stand-in): `agent [OPTIONS] HOST COMMAND...` runs COMMAND with
# sh -c in HOST's namespace, in a UTS namespace whose hostname is HOST.
cat >"$work/agent" <<AGENT
#!/bin/sh
while [ \$# -gt 0 ]; do case "\$1" in -*) shift ;; *) break ;; esac; done
host="\$1"
shift
case "\$host" in
    $host1) ns=$ns1 ;;
    $host2) ns=$ns2 ;;
    *) echo "test-hosts agent: unknown host \$host" >&2; exit 255 ;;
esac
exec ip netns exec "\$ns" unshare --uts sh -c 'hostname "\$0" && exec sh -c "\$1"' "\$host" "\$*"
AGENT
chmod +x "$work/agent"
printf '%s slots=2\n%s slots=2\n' "$host1" "$host2" >"$work/hosts.openmpi"
printf '%s slots=1\n%s slots=1\n' "$host1" "$host2" >"$work/hosts1.openmpi"
printf '%s:2\n%s:2\n' "$host1" "$host2" >"$work/hosts.mpich"
printf '%s:1\n%s:1\n' "$host1" "$host2" >"$work/hosts1.mpich"

# launch MPI HOSTFILE N LOG [VAR=VALUE...] -- PROGRAM [ARGS...]: the program on N ranks over
# the two hosts, launched from the first host's namespace, under the timeout; output to LOG.
# Returns the launcher's status (the job runs in the background so that a signal to this
# script is handled at once).
launch() {
    local mpi="$1" hostfile="$2" n="$3" log="$4"
    shift 4
    local vars=()
    while [ "$1" != "--" ]; do
        vars+=("$1")
        shift
    done
    shift
    local cmd
    case "$mpi" in
        openmpi)
            cmd=(mpirun --hostfile "$hostfile" -n "$n" --mca plm_rsh_agent "$work/agent"
                 --mca oob_tcp_if_include "$net.0/24" --mca btl tcp,self,vader
                 --mca btl_tcp_if_include "$net.0/24" --mca mpi_yield_when_idle 1) ;;
        mpich)
            cmd=(mpirun.mpich -f "$hostfile" -n "$n" -launcher rsh -launcher-exec "$work/agent"
                 -localhost "$net.1") ;;
    esac
    # UCX (MPICH's transport) over TCP on the veth pair only: by default it would reach the other
    # "host" through shared memory, and over the loopback device it hangs.
    env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 UCX_TLS=tcp,self \
        UCX_NET_DEVICES="da${tag}a,da${tag}b" "${vars[@]}" \
        timeout --signal=TERM --kill-after=10 "$secs" \
        ip netns exec "$ns1" "${cmd[@]}" "$@" >"$log" 2>&1 &
    job_pid=$!
    local rc=0
    wait "$job_pid" || rc=$?
    job_pid=""
    return "$rc"
}

passed=0
failed=0
failures=()

report() {
    local ok="$1" what="$2" why="$3" log="$4" took="$5"
    if [ "$ok" -eq 1 ]; then
        passed=$((passed + 1))
        echo "  ok    $what (${took}s)"
    else
        failed=$((failed + 1))
        failures+=("$what: $why (log: $log)")
        echo "  FAIL  $what: $why (${took}s; log: $log)"
        if [ -f "$log" ]; then
            tail -n 30 "$log" | sed 's/^/        | /'
        fi
    fi
}

# ok_lines LOG N: every rank 0..N-1 printed `distarr-test: ok rank=R` once.
ok_lines() {
    local r
    for ((r = 0; r < $2; r++)); do
        [ "$(grep -c "distarr-test: ok rank=$r\$" "$1")" -eq 1 ] || return 1
    done
}

# check_test MPI NAME PROGRAM [VAR=VALUE...]: a test program of tests/programs on 4 ranks.
check_test() {
    local mpi="$1" name="$2" prog="$3"
    shift 3
    local log="$logs/$mpi-$name.log" start=$SECONDS rc=0 ok=1 why=""
    launch "$mpi" "$work/hosts.$mpi" 4 "$log" "$@" -- "$repo/$(target_of "$mpi")/release/$prog" || rc=$?
    if [ "$rc" -ne 0 ]; then
        ok=0 why="exit status $rc"
    elif ! ok_lines "$log" 4; then
        ok=0 why="not every rank printed its ok line"
    fi
    report "$ok" "$mpi $name" "$why" "$log" $((SECONDS - start))
}

# check_c MPI NAME EXAMPLE [VAR=VALUE...]: a C example with DISTARR_CHECK=1 on 4 ranks.
check_c() {
    local mpi="$1" name="$2" ex="$3"
    shift 3
    local log="$logs/$mpi-$name.log" start=$SECONDS rc=0 ok=1 why=""
    launch "$mpi" "$work/hosts.$mpi" 4 "$log" DISTARR_CHECK=1 "$@" -- \
        "$repo/$(target_of "$mpi")/release/hosts-c/$ex" || rc=$?
    if [ "$rc" -ne 0 ]; then
        ok=0 why="exit status $rc"
    elif ! ok_lines "$log" 4; then
        ok=0 why="not every rank printed its ok line"
    fi
    report "$ok" "$mpi $name" "$why" "$log" $((SECONDS - start))
}

# check_python MPI: examples/python/jacobi.py in sequential mode on 4 ranks gives NumPy's
# answer (compared like scripts/check-python-examples.py does).
check_python() {
    local mpi="$1" log="$logs/$1-python-jacobi.log" start=$SECONDS rc=0 ok=1 why=""
    if [ ! -x .venv/bin/python ]; then
        report 0 "$mpi python jacobi.py" ".venv missing (bash scripts/setup.sh --install-only)" "$log" 0
        return
    fi
    local lib="$repo/$(target_of "$mpi")/release/libdistarr.so"
    DISTARR_NP=numpy timeout "$secs" .venv/bin/python examples/python/jacobi.py 120 100 \
        >"$work/numpy.out" 2>&1 || true
    launch "$mpi" "$work/hosts.$mpi" 4 "$log" DISTARR_LIBRARY="$lib" -- \
        "$repo/.venv/bin/python" "$repo/examples/python/jacobi.py" 120 100 || rc=$?
    if [ "$rc" -ne 0 ]; then
        ok=0 why="exit status $rc"
    elif ! .venv/bin/python - "$work/numpy.out" "$log" <<'PY'
import importlib.util, sys
spec = importlib.util.spec_from_file_location("cpe", "scripts/check-python-examples.py")
cpe = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cpe)
ref = cpe.results("jacobi", open(sys.argv[1]).read())
got = cpe.results("jacobi", open(sys.argv[2]).read())
if not ref or len(got) != 1:
    sys.exit(f"numpy printed {ref!r}, distarr printed {got!r} (want one line: sequential mode)")
if not cpe.same("jacobi", cpe.numbers(ref[-1]), cpe.numbers(got[0])):
    sys.exit(f"numpy: {ref[-1]}\ndistarr: {got[0]}")
print("test-hosts: jacobi.py: " + got[0])
PY
    then
        ok=0 why="answer differs from NumPy's"
    fi
    report "$ok" "$mpi python jacobi.py (sequential, vs NumPy)" "$why" "$log" $((SECONDS - start))
}

# check_kill MPI: rank 2 (on the second host) kills itself; the job ends non-zero within 30 s
# and the output names rank 2.
check_kill() {
    local mpi="$1" log="$logs/$1-fault-kill.log" start=$SECONDS rc=0 ok=1 why=""
    launch "$mpi" "$work/hosts.$mpi" 4 "$log" DISTARR_TEST_FAULT=kill DISTARR_TEST_FAULT_RANK=2 -- \
        "$repo/$(target_of "$mpi")/release/rt_faults" || rc=$?
    local took=$((SECONDS - start))
    if [ "$rc" -eq 0 ]; then
        ok=0 why="the job exited 0"
    elif [ "$took" -gt 30 ]; then
        ok=0 why="the job took ${took}s (limit 30)"
    elif ! grep -q "FATAL: rank 2 (pid [0-9]* on host $host2) ended without finalizing" "$log"; then
        ok=0 why="no message naming rank 2"
    elif grep -q "FATAL: rank 3 " "$log"; then
        # The other rank of that host: its guardian must see that rank 2 died first. (Ranks of
        # the first host killed by MPICH's clean-up may be reported too: see runtime/src/fault.rs.)
        ok=0 why="rank 3 (same host) named as failed"
    fi
    report "$ok" "$mpi rank 2 killed on $host2" "$why" "$log" "$took"
}

# --- the checks --------------------------------------------------------------------------------
for mpi in "${mpis[@]}"; do
    echo "test-hosts: $mpi, 4 ranks: 0-1 on $host1, 2-3 on $host2"
    check_test "$mpi" rt_nodes rt_nodes DISTARR_TEST_EXPECT_NODES=2
    check_test "$mpi" rt_nodes-no-fastpath rt_nodes DISTARR_TEST_EXPECT_NODES=2 DISTARR_SHM_FASTPATH=0
    check_test "$mpi" rt_ops rt_ops
    check_test "$mpi" rt_stress rt_stress
    check_test "$mpi" rt_errors rt_errors
    if [ "$mpi" = mpich ]; then
        # One-sided operations to a rank that computes without calling MPI. Across nodes Open
        # MPI uses osc/pt2pt (osc/sm is for one node; osc/ucx returns wrong MPI_Fetch_and_op
        # results on doubles in 4.1.4), which completes them only when the target calls MPI,
        # and which refuses the MPI_THREAD_MULTIPLE a progress thread needs: not run there
        # (README, "Several nodes").
        check_test "$mpi" rt_progress rt_progress
    fi
    check_test "$mpi" rt_faults-timeout rt_faults DISTARR_TIMEOUT=60
    check_test "$mpi" arr_diff arr_diff
    check_test "$mpi" arr_engine arr_engine
    check_c "$mpi" c-pi pi
    check_c "$mpi" c-jacobi jacobi
    check_c "$mpi" c-jacobi-sequential jacobi DISTARR_MODE=sequential
    check_c "$mpi" c-stencil stencil
    check_python "$mpi"
    check_kill "$mpi"
done

# --- the benchmark across the veth pair ----------------------------------------------------------
if [ "$bench" -eq 1 ]; then
    raw="${DISTARR_BENCH_DIR:-target/bench-rma}"
    mkdir -p "$raw"
    for mpi in "${mpis[@]}"; do
        for t in get_latency get_bw; do
            args=("$t" --compare-mpi)
            [ "$t" = get_bw ] && args+=(--max-size 1M)
            log="$raw/hosts-$mpi-$t.txt"
            echo "test-hosts: $mpi: distarr-bench ${args[*]} (rank 0 on $host1, rank 1 on $host2)"
            launch "$mpi" "$work/hosts1.$mpi" 2 "$log" -- \
                "$repo/$(target_of "$mpi")/release/distarr-bench" "${args[@]}"
            cat "$log"
        done
    done
    RAW="$raw" MPIS="${mpis[*]}" DATE="$(date -u '+%Y-%m-%d %H:%M UTC')" \
        LOAD="$(cut -d' ' -f1-3 /proc/loadavg)" REV="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        python3 scripts/hosts-report.py
fi

echo
echo "test-hosts: $passed passed, $failed failed"
for f in "${failures[@]}"; do
    echo "  FAIL  $f"
done
[ "$failed" -eq 0 ]

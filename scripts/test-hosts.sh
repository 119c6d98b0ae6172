#!/usr/bin/env bash
# Runs distarr across two "hosts" on one machine: two network namespaces joined by a veth pair,
# each with its own hostname (UTS namespace), on Open MPI and on MPICH.
#
#   bash scripts/test-hosts.sh                  every check on every installed MPI
#   bash scripts/test-hosts.sh --mpi mpich      one MPI (openmpi | mpich; repeatable)
#   bash scripts/test-hosts.sh --bench          also measure get latency and 1 MiB get bandwidth
#                                               across the veth pair (distarr and raw MPI) and
#                                               write docs/perf/hosts.md + its section of
#                                               docs/PERFORMANCE.md
#   bash scripts/test-hosts.sh --no-build       use the builds that are there
#
# Needs root (network namespaces), iproute2 (`ip`), util-linux (`unshare`), pkg-config and the
# MPI compilers. Ranks: Open MPI 4 (0-1 on host distarr-h1, 2-3 on distarr-h2); MPICH 2 (one per
# host) without the progress thread but for rt_progress: MPICH 4.0.2's ch4:ucx over TCP hangs in
# MPI_Finalize after the work in about half of the runs at 3-4 ranks (raw MPI programs too), and
# in about a third of the jobs with distarr's progress thread polling; such a hang is detected
# (every rank logged `calling MPI_Finalize`, the job still runs 10 s later) and the job run again,
# at most 3 times (README "Several nodes"). The checks:
#   - rt_nodes: the job spans 2 nodes by the hostnames; node-local ranks reach each other by
#     loads/stores and ranks of the other host only through MPI (with the fast path and without);
#     4 MiB read from every rank of the other host, and at least that much crossed the veth pair
#     (its byte counters);
#   - runtime tests rt_ops, rt_stress, rt_errors, rt_progress (MPICH), rt_faults (a clean run under
#     DISTARR_TIMEOUT); array differential tests arr_diff, arr_engine;
#   - C examples pi, jacobi, stencil (DISTARR_CHECK=1), jacobi in sequential mode; the Python
#     example jacobi.py in sequential mode, against NumPy's answer;
#   - faults: a rank on the second host kills itself (the job ends non-zero within 30 s, the rank
#     named); a rank there hangs under DISTARR_TIMEOUT=3 (the others name it); a worker of
#     sequential mode there dies (c_seq_fault).
# Every job runs under `timeout` (DISTARR_TEST_TIMEOUT seconds, default 120), and no process may
# be left in the namespaces after it (10 s to end); logs go to target/hosts-logs/. Only the two namespaces' own addresses are used (10.213.77.1 and .2, on
# the veth pair inside them; nothing is added to the machine's network). Everything the script
# creates (namespaces, the processes in them, its temporary directory) is deleted when it ends,
# also on Ctrl-C, SIGTERM or SIGHUP. Exits 0 when every check passed, 1 otherwise, 2 when it
# cannot run (not root, tools missing).
set -euo pipefail

cd "$(dirname "$0")/.."
repo="$PWD"

usage() {
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
}

mpis=()
bench=0
build=1
while [ "$#" -gt 0 ]; do
    case "$1" in
        --mpi)
            case "${2:-}" in
                openmpi|mpich) mpis+=("$2") ;;
                *) echo "test-hosts.sh: --mpi takes openmpi or mpich" >&2; exit 2 ;;
            esac
            shift ;;
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
for tool in ip unshare timeout pkg-config; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "test-hosts.sh: '$tool' not found (apt-get install -y iproute2 util-linux pkg-config)" >&2
        exit 2
    fi
done
if [ "${#mpis[@]}" -eq 0 ]; then
    if command -v mpirun.openmpi >/dev/null 2>&1 && command -v mpicc.openmpi >/dev/null 2>&1; then
        mpis+=(openmpi)
    fi
    if command -v mpirun.mpich >/dev/null 2>&1 && command -v mpicc.mpich >/dev/null 2>&1; then
        mpis+=(mpich)
    fi
fi
if [ "${#mpis[@]}" -eq 0 ]; then
    echo "test-hosts.sh: neither Open MPI nor MPICH is installed" >&2
    exit 2
fi
if ! command -v cargo >/dev/null 2>&1 && [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then
    export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi

secs="${DISTARR_TEST_TIMEOUT:-120}"
tag="$$"
ns1="distarr-h1-$tag"
ns2="distarr-h2-$tag"
host1=distarr-h1
host2=distarr-h2
net=10.213.77
# The two ends of the veth pair (UCX takes two ends of one name on two hosts for one device and
# finds the other host unreachable: distinct names).
dev1="da${tag}a"
dev2="da${tag}b"
logs="$repo/${CARGO_TARGET_DIR:-target}/hosts-logs"
work=""
job_pid=""
made_ns=()

# --- clean-up: always, also on interruption ----------------------------------------------------
cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    if [ -n "$job_pid" ]; then
        kill -TERM "$job_pid" 2>/dev/null || true
    fi
    local ns pids
    for ns in "${made_ns[@]}"; do
        # Whatever still runs in the namespace (launcher, ranks, fault guardians): killed.
        pids="$(ip netns pids "$ns" 2>/dev/null || true)"
        if [ -n "$pids" ]; then
            # shellcheck disable=SC2086 # a list of PIDs
            kill -KILL $pids 2>/dev/null || true
        fi
        ip netns del "$ns" 2>/dev/null || true
    done
    # The job's `timeout` (outside the namespaces) ends once its child has.
    if [ -n "$job_pid" ]; then
        local k
        for ((k = 0; k < 50; k++)); do
            kill -0 "$job_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$job_pid" 2>/dev/null || true
    fi
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

# Root may still lack the capability (a container without CAP_SYS_ADMIN/CAP_NET_ADMIN): say so
# before building anything.
made_ns+=("$ns1")
if ! err="$(ip netns add "$ns1" 2>&1)"; then
    echo "test-hosts.sh: cannot create a network namespace here ($err); not run" >&2
    exit 2
fi
ip netns del "$ns1"
made_ns=()

# --- builds ------------------------------------------------------------------------------------
target_of() {
    case "$1" in
        openmpi) echo "$repo/${CARGO_TARGET_DIR:-target}" ;;
        mpich) echo "$repo/target/mpich" ;;
    esac
}
mpicc_of() {
    case "$1" in
        openmpi) echo mpicc.openmpi ;;
        mpich) echo mpicc.mpich ;;
    esac
}
# ranks_per_host MPI (see the header for MPICH's one).
ranks_per_host() {
    case "$1" in
        openmpi) echo 2 ;;
        mpich) echo 1 ;;
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
    local out="$target/release/hosts-c" flags src
    mkdir -p "$out"
    flags="$(PKG_CONFIG_PATH="$target/release/pkgconfig" pkg-config --cflags --libs distarr)"
    for src in examples/c/pi.c examples/c/jacobi.c examples/c/stencil.c c-api/tests/c_seq_fault.c; do
        # shellcheck disable=SC2086 # pkg-config's flags are words
        "$mpicc" -std=c11 -O2 -Ic-api/tests "$src" -o "$out/$(basename "$src" .c)" $flags \
            "-Wl,--disable-new-dtags,-rpath,$target/release" -lm
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
made_ns+=("$ns1")
ip netns add "$ns2"
made_ns+=("$ns2")
ip link add "$dev1" netns "$ns1" type veth peer name "$dev2" netns "$ns2"
ip -n "$ns1" addr add "$net.1/24" dev "$dev1"
ip -n "$ns2" addr add "$net.2/24" dev "$dev2"
ip -n "$ns1" link set lo up
ip -n "$ns2" link set lo up
ip -n "$ns1" link set "$dev1" up
ip -n "$ns2" link set "$dev2" up
# Both ends running before the first job (UCX skips a device that is not yet, and then finds
# the other host unreachable).
for _ in $(seq 1 100); do
    if [ "$(ip netns exec "$ns1" cat "/sys/class/net/$dev1/operstate")" = up ] &&
        [ "$(ip netns exec "$ns2" cat "/sys/class/net/$dev2/operstate")" = up ]; then
        break
    fi
    sleep 0.1
done

# The launcher agent (an ssh stand-in): `agent [OPTIONS] HOST COMMAND...` runs COMMAND with
# sh -c in HOST's network namespace, in a UTS namespace whose hostname is HOST.
cat >"$work/agent" <<AGENT
#!/bin/sh
while [ \$# -gt 0 ]; do case "\$1" in -*) shift ;; *) break ;; esac; done
host="\$1"
shift
# UCX (MPICH's transport) on the host's end of the veth pair only.
case "\$host" in
    $host1) ns=$ns1; UCX_NET_DEVICES=$dev1 ;;
    $host2) ns=$ns2; UCX_NET_DEVICES=$dev2 ;;
    *) echo "test-hosts agent: unknown host \$host" >&2; exit 255 ;;
esac
export UCX_NET_DEVICES
exec ip netns exec "\$ns" unshare --uts sh -c 'hostname "\$0" && exec sh -c "\$1"' "\$host" "\$*"
AGENT
chmod +x "$work/agent"
for k in 1 2; do
    printf '%s slots=%s\n%s slots=%s\n' "$host1" "$k" "$host2" "$k" >"$work/hosts$k.openmpi"
    printf '%s:%s\n%s:%s\n' "$host1" "$k" "$host2" "$k" >"$work/hosts$k.mpich"
done

# veth_bytes: bytes received + sent on the first host's end of the veth pair.
veth_bytes() {
    local rx tx
    rx="$(ip netns exec "$ns1" cat "/sys/class/net/$dev1/statistics/rx_bytes")"
    tx="$(ip netns exec "$ns1" cat "/sys/class/net/$dev1/statistics/tx_bytes")"
    echo $((rx + tx))
}

# settle: waits (up to 10 s) until no process is left in the namespaces (the launcher's proxies
# may still be writing the job's last output); kills and names what is left. Returns 1 then.
settle() {
    local pids="" k
    for ((k = 0; k < 100; k++)); do
        pids="$(ip netns pids "$ns1" 2>/dev/null; ip netns pids "$ns2" 2>/dev/null)"
        [ -z "$pids" ] && return 0
        sleep 0.1
    done
    left="$(echo "$pids" | while read -r p; do
        [ -n "$p" ] && echo "$p:$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-60)"
    done | tr '\n' ';')"
    # shellcheck disable=SC2086 # a list of PIDs
    kill -KILL $pids 2>/dev/null || true
    return 1
}

# launch MPI PER_HOST LOG [VAR=VALUE...] -- PROGRAM [ARGS...]: PROGRAM on 2 x PER_HOST ranks
# over the two hosts (ranks 0..PER_HOST-1 on the first), launched from the first host's
# namespace under the timeout; output to LOG. Returns the launcher's status (125 when processes
# were left in the namespaces afterwards: `left` names them). The job runs in the background so
# that a signal to this script is handled at once.
#
# MPICH only: a job whose ranks have all logged `calling MPI_Finalize` (DISTARR_LOG=info) but
# which is still running 10 s later is MPICH 4.0.2's hang in MPI_Finalize over TCP (README,
# "Several nodes"; raw MPI programs do it too): it is ended and run again, up to 3 times in all
# (`finalize_hangs` counts them).
launch() {
    local mpi="$1" per_host="$2" log="$3"
    shift 3
    local vars=()
    while [ "$1" != "--" ]; do
        vars+=("$1")
        shift
    done
    shift
    local n=$((2 * per_host)) cmd attempt rc hung since
    case "$mpi" in
        openmpi)
            # TCP between the hosts (osc/pt2pt serves one-sided operations there: README
            # "Several nodes"), shared memory (vader) within one.
            # shellcheck disable=SC2054 # commas inside MCA values
            cmd=(mpirun.openmpi --hostfile "$work/hosts$per_host.openmpi" -n "$n" --map-by slot
                 --mca plm_rsh_agent "$work/agent" --mca oob_tcp_if_include "$net.0/24"
                 --mca btl tcp,self,vader --mca btl_tcp_if_include "$net.0/24"
                 --mca mpi_yield_when_idle 1) ;;
        mpich)
            cmd=(mpirun.mpich -f "$work/hosts$per_host.mpich" -n "$n" -launcher rsh
                 -launcher-exec "$work/agent" -localhost "$net.1")
            # No progress thread unless the check asks for one: with it, MPICH's hang in
            # MPI_Finalize (below) comes in about a third of the jobs, without it rarely.
            vars=(DISTARR_PROGRESS=off "${vars[@]}" DISTARR_LOG=info) ;;
    esac
    for attempt in 1 2 3; do
        # UCX (MPICH's transport) over TCP only (its device: the agent): its shared-memory
        # transports would reach the other "host" (the same machine) behind the network's back.
        env -u UCX_NET_DEVICES OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
            UCX_TLS=tcp,self "${vars[@]}" \
            timeout --signal=TERM --kill-after=10 "$secs" \
            ip netns exec "$ns1" "${cmd[@]}" "$@" >"$log" 2>&1 &
        job_pid=$!
        hung=0
        since=0
        while kill -0 "$job_pid" 2>/dev/null; do
            if [ "$mpi" = mpich ] && [ "$(grep -c "calling MPI_Finalize" "$log")" -ge "$n" ]; then
                [ "$since" -eq 0 ] && since=$SECONDS
                if [ $((SECONDS - since)) -ge 10 ]; then
                    hung=1
                    kill -TERM "$job_pid" 2>/dev/null || true
                    break
                fi
            fi
            sleep 0.2
        done
        rc=0
        wait "$job_pid" || rc=$?
        job_pid=""
        left=""
        settle || true
        if [ "$hung" -eq 0 ]; then
            break
        fi
        finalize_hangs=$((finalize_hangs + 1))
        echo "        (MPICH hung in MPI_Finalize after the job's work: attempt $attempt of 3)"
        cp "$log" "$log.finalize-hang-$attempt"
    done
    if [ -n "$left" ]; then
        return 125
    fi
    return "$rc"
}

# why_status RC: the failure a launcher status names ("" for 0).
why_status() {
    case "$1" in
        0) echo "" ;;
        125) echo "processes left running after the job: $left" ;;
        124|137) echo "timed out after ${secs}s (status $1)" ;;
        *) echo "exit status $1" ;;
    esac
}

passed=0
failed=0
failures=()
finalize_hangs=0
left=""

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
            grep -v "UCX  WARN" "$log" | tail -n 30 | sed 's/^/        | /'
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

# run_ok MPI NAME BIN [VAR=VALUE...]: BIN on the MPI's ranks; every rank exits 0 and prints its
# ok line.
run_ok() {
    local mpi="$1" name="$2" bin="$3"
    shift 3
    local log="$logs/$mpi-$name.log" start=$SECONDS rc=0 ok=1 why="" per
    per="$(ranks_per_host "$mpi")"
    launch "$mpi" "$per" "$log" "$@" -- "$bin" || rc=$?
    if [ "$rc" -ne 0 ]; then
        ok=0 why="$(why_status "$rc")"
    elif ! ok_lines "$log" $((2 * per)); then
        ok=0 why="not every rank printed its ok line"
    fi
    report "$ok" "$mpi $name" "$why" "$log" $((SECONDS - start))
}

# check_nodes MPI: rt_nodes spanning the two hosts, with 4 MiB read from every rank of the
# other host; the veth pair must have carried at least that much.
check_nodes() {
    local mpi="$1" log="$logs/$1-rt_nodes.log" start=$SECONDS rc=0 ok=1 why="" per before after
    local bytes=$((4 << 20))
    per="$(ranks_per_host "$mpi")"
    before="$(veth_bytes)"
    launch "$mpi" "$per" "$log" DISTARR_TEST_EXPECT_NODES=2 DISTARR_TEST_NODES_BYTES="$bytes" -- \
        "$(target_of "$mpi")/release/rt_nodes" || rc=$?
    after="$(veth_bytes)"
    # Every rank reads every rank of the other host: (2 per)^2 parts cross the pair.
    local want=$((2 * per * per * bytes)) moved=$((after - before))
    if [ "$rc" -ne 0 ]; then
        ok=0 why="$(why_status "$rc")"
    elif ! ok_lines "$log" $((2 * per)); then
        ok=0 why="not every rank printed its ok line"
    elif ! grep -q "rt_nodes: $want bytes read from other nodes" "$log"; then
        ok=0 why="the ranks did not read $want bytes across the hosts"
    elif [ "$moved" -lt "$want" ]; then
        ok=0 why="only $moved bytes crossed the veth pair, $want read across it (shared memory behind MPI?)"
    fi
    report "$ok" "$mpi rt_nodes ($want bytes read across, $moved crossed the veth pair)" "$why" "$log" \
        $((SECONDS - start))
}

# check_python MPI: examples/python/jacobi.py in sequential mode gives NumPy's answer (compared
# like scripts/check-python-examples.py does).
check_python() {
    local mpi="$1" log="$logs/$1-python-jacobi.log" start=$SECONDS rc=0 ok=1 why="" per
    if [ ! -x .venv/bin/python ]; then
        report 0 "$mpi python jacobi.py" ".venv missing (bash scripts/setup.sh --install-only)" "$log" 0
        return
    fi
    per="$(ranks_per_host "$mpi")"
    DISTARR_NP=numpy timeout "$secs" .venv/bin/python examples/python/jacobi.py 120 100 \
        >"$work/numpy.out" 2>&1 || true
    launch "$mpi" "$per" "$log" DISTARR_LIBRARY="$(target_of "$mpi")/release/libdistarr.so" -- \
        "$repo/.venv/bin/python" "$repo/examples/python/jacobi.py" 120 100 || rc=$?
    if [ "$rc" -ne 0 ]; then
        ok=0 why="$(why_status "$rc")"
    elif ! grep -v "UCX  WARN" "$log" >"$work/distarr.out" || ! .venv/bin/python - "$work/numpy.out" "$work/distarr.out" <<'PY'
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
PY
    then
        ok=0 why="answer differs from NumPy's"
    fi
    report "$ok" "$mpi python jacobi.py (sequential, vs NumPy)" "$why" "$log" $((SECONDS - start))
}

# check_fault MPI NAME EXPECT FORBID [VAR=VALUE...] -- BIN: a job that must fail: non-zero within
# 30 s, EXPECT (an extended regex) in its output, FORBID (one, or empty) not.
check_fault() {
    local mpi="$1" name="$2" expect="$3" forbid="$4"
    shift 4
    local log="$logs/$mpi-$name.log" start=$SECONDS rc=0 ok=1 why="" per
    per="$(ranks_per_host "$mpi")"
    launch "$mpi" "$per" "$log" "$@" || rc=$?
    local took=$((SECONDS - start))
    if [ "$rc" -eq 0 ]; then
        ok=0 why="the job exited 0"
    elif [ "$rc" -eq 125 ]; then
        ok=0 why="$(why_status "$rc")"
    elif [ "$took" -gt 30 ]; then
        ok=0 why="the job took ${took}s (limit 30 s)"
    elif ! grep -Eq "$expect" "$log"; then
        ok=0 why="no line matching '$expect'"
    elif [ -n "$forbid" ] && grep -Eq "$forbid" "$log"; then
        ok=0 why="a line matches '$forbid'"
    fi
    report "$ok" "$mpi $name" "$why" "$log" "$took"
}

# --- the checks --------------------------------------------------------------------------------
for mpi in "${mpis[@]}"; do
    per="$(ranks_per_host "$mpi")"
    n=$((2 * per))
    last=$((n - 1))
    bin="$(target_of "$mpi")/release"
    echo "test-hosts: $mpi, $n ranks: 0-$((per - 1)) on $host1, $per-$last on $host2"
    check_nodes "$mpi"
    run_ok "$mpi" rt_nodes-no-fastpath "$bin/rt_nodes" DISTARR_TEST_EXPECT_NODES=2 DISTARR_SHM_FASTPATH=0
    run_ok "$mpi" rt_ops "$bin/rt_ops"
    run_ok "$mpi" rt_stress "$bin/rt_stress"
    run_ok "$mpi" rt_errors "$bin/rt_errors"
    if [ "$mpi" = mpich ]; then
        # One-sided operations to a rank that computes without calling MPI need a progress
        # thread (MPICH's default here); Open MPI's osc/pt2pt, which serves one-sided
        # operations across nodes, refuses the MPI_THREAD_MULTIPLE it needs (README).
        run_ok "$mpi" rt_progress "$bin/rt_progress" DISTARR_PROGRESS=thread
    fi
    run_ok "$mpi" rt_faults-under-timeout "$bin/rt_faults" DISTARR_TIMEOUT=60
    run_ok "$mpi" arr_diff "$bin/arr_diff"
    run_ok "$mpi" arr_engine "$bin/arr_engine"
    run_ok "$mpi" c-pi "$bin/hosts-c/pi" DISTARR_CHECK=1
    run_ok "$mpi" c-jacobi "$bin/hosts-c/jacobi" DISTARR_CHECK=1
    run_ok "$mpi" c-jacobi-sequential "$bin/hosts-c/jacobi" DISTARR_CHECK=1 DISTARR_MODE=sequential
    run_ok "$mpi" c-stencil "$bin/hosts-c/stencil" DISTARR_CHECK=1
    check_python "$mpi"
    check_fault "$mpi" "fault-kill (rank $last on $host2)" \
        "FATAL: rank $last \\(pid [0-9]+ on host $host2\\) ended without finalizing" \
        "FATAL: rank [0-9]+ \\(pid [0-9]+ on host $host1\\)" \
        DISTARR_TEST_FAULT=kill DISTARR_TEST_FAULT_RANK="$last" -- "$bin/rt_faults"
    check_fault "$mpi" "fault-timeout (rank $last on $host2 hangs)" \
        "DISTARR_TIMEOUT=3s: rank [0-9]+ waited .* and rank $last has not arrived" "FATAL: " \
        DISTARR_TEST_FAULT=hang DISTARR_TEST_FAULT_RANK="$last" DISTARR_TIMEOUT=3 -- "$bin/rt_faults"
    check_fault "$mpi" "fault-sequential-worker (worker $last on $host2 killed)" \
        "FATAL: rank $last \\(pid [0-9]+ on host $host2\\) ended without finalizing" "FATAL: rank 0 " \
        DISTARR_TEST_WORKER_FAULT="$last:12:kill" -- "$bin/hosts-c/c_seq_fault"
done

# --- the benchmark across the veth pair ----------------------------------------------------------
if [ "$bench" -eq 1 ]; then
    raw="${DISTARR_BENCH_DIR:-$repo/target/bench-rma}"
    mkdir -p "$raw"
    for mpi in "${mpis[@]}"; do
        # allocate: MPI_Win_allocate in both columns. The window distarr's default heap uses
        # across nodes for one-sided operations (README "Several nodes"): MPI_Win_create over
        # the node's shared memory on Open MPI, MPI_Win_create_dynamic on MPICH.
        across=create
        [ "$mpi" = mpich ] && across=dynamic
        for window in allocate "$across"; do
            for t in get_latency get_bw; do
                args=("$t" --window "$window" --sync flush --compare-mpi --json "$raw/hosts-$mpi-$t-$window.json")
                if [ "$t" = get_latency ]; then
                    args+=(--max-size 4K --iterations 2000 --warmup 100)
                else
                    args+=(--min-size 1M --max-size 1M)
                fi
                log="$raw/hosts-$mpi-$t-$window.txt"
                echo "test-hosts: $mpi: distarr-bench ${args[*]} (rank 0 on $host1, rank 1 on $host2)"
                if ! launch "$mpi" 1 "$log" -- "$(target_of "$mpi")/release/distarr-bench" "${args[@]}"; then
                    echo "test-hosts: the benchmark failed (log: $log)" >&2
                    failed=$((failed + 1))
                    failures+=("$mpi benchmark $t $window (log: $log)")
                fi
                grep -v "UCX  WARN" "$log" || true
            done
        done
    done
    if [ "$failed" -eq 0 ]; then
        RAW="$raw" MPIS="${mpis[*]}" DATE="$(date -u '+%Y-%m-%d %H:%M UTC')" \
            LOAD="$(cut -d' ' -f1-3 /proc/loadavg)" REV="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
            OMPI="$(mpirun.openmpi --version 2>/dev/null | head -1 || true)" \
            MPICH="$(mpichversion 2>/dev/null | sed -n 's/^MPICH Version:[[:space:]]*//p' || true)" \
            python3 scripts/hosts-report.py
    fi
fi

echo
if [ "$finalize_hangs" -gt 0 ]; then
    echo "test-hosts: MPICH hung in MPI_Finalize after the work $finalize_hangs time(s); those jobs ran again"
fi
echo "test-hosts: $passed passed, $failed failed"
for f in "${failures[@]}"; do
    echo "  FAIL  $f"
done
[ "$failed" -eq 0 ]

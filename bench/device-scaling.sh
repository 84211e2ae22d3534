#!/bin/sh
# One-shot thread-scaling study on another x86-64 Linux machine, from the repo
# root, with the static programs of bench/build-static.sh:
#
#     bench/device-scaling.sh BUILDDIR OUT
#
# Prints the machine (nproc, CPU quota, lscpu), then runs
#     bench/run --sections limits,scaling
# with the scaling series MLP 784-1024-1024-10 at batch 256 and 4096 and the
# seed model Sequential(Linear(10,50), ReLU, Linear(50,2), Sigmoid) at batch
# 65,536, at 1..N threads (N = the CPUs this process may use), next to
# PyTorch when `python3 -c 'import torch'` works.  Writes into OUT (flat, at
# most 6 files): machine.txt, run.log, scaling.md, scaling.json, and with
# gnuplot throughput-vs-threads.png and plot-threads.dat.  Needs python3 (no
# packages), coreutils; gnuplot and PyTorch optional.  About 2-3 minutes on 16
# cores, never more than TOTAL_TIMEOUT (300 s): bench/run is stopped at what
# is left of it (HARD_TIMEOUT) and starts no measurement in its last 45 s
# (DEADLINE), so a report is always written.
#
# Environment overrides: THREAD_LIST (e.g. 1,2,4,8,16), SERIES (default
# mlp:256,mlp:4096,seed_seq:65536), BUDGET (seconds per measurement, 0.4),
# ROUNDS (2), TOTAL_TIMEOUT (300), HARD_TIMEOUT, DEADLINE (seconds of bench/run),
# PYTHON (python3, runs bench/run), TORCH_PY (tried first, then python3 and
# /usr/bin/python3), NO_TORCH=1.
set -u
start=$(date +%s)

if [ $# -ne 2 ]; then
    echo "usage: $0 BUILDDIR OUT   (from the repo root)" >&2
    exit 2
fi
bd=$1
out=$2
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out" || exit 1
out=$(cd "$out" && pwd)
py=${PYTHON:-python3}

have() { command -v "$1" >/dev/null 2>&1; }
# A command under `timeout` when coreutils has it.
tmo() { s=$1; shift; if have timeout; then timeout -k 10 "$s" "$@"; else "$@"; fi; }

# ------------------------------------------------------------ the machine
ncpu=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
# A cgroup CPU quota smaller than the CPUs in sight caps the useful thread count.
quota=
if [ -r /sys/fs/cgroup/cpu.max ]; then
    read -r q p < /sys/fs/cgroup/cpu.max || true
    [ "${q:-max}" != max ] && [ -n "${p:-}" ] && quota=$(( (q + p - 1) / p ))
elif [ -r /sys/fs/cgroup/cpu/cpu.cfs_quota_us ] && [ -r /sys/fs/cgroup/cpu/cpu.cfs_period_us ]; then
    q=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)
    p=$(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)
    [ "$q" -gt 0 ] 2>/dev/null && quota=$(( (q + p - 1) / p ))
fi
N=$ncpu
if [ -n "$quota" ] && [ "$quota" -ge 1 ] && [ "$quota" -lt "$N" ]; then N=$quota; fi

if [ -n "${THREAD_LIST:-}" ]; then
    tlist=$THREAD_LIST
elif [ "$N" -le 16 ]; then
    tlist=$(seq -s, 1 "$N")
else                        # many cores: 1..8, then about 8 more steps up to N
    step=$(( (N - 8 + 7) / 8 ))
    tlist=$(seq -s, 1 8)
    t=$(( 8 + step ))
    while [ "$t" -lt "$N" ]; do tlist="$tlist,$t"; t=$(( t + step )); done
    tlist="$tlist,$N"
fi

{
    echo "== device-scaling.sh, $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "nproc: $ncpu; cgroup CPU quota: ${quota:-none}; threads used: up to $N ($tlist)"
    echo "uname: $(uname -srm)"
    if have lscpu; then
        lscpu | grep -E '^(Model name|Architecture|CPU\(s\)|On-line CPU|Thread\(s\) per core|Core\(s\) per socket|Socket\(s\)|NUMA node|L1d|L2|L3|CPU max MHz|CPU MHz|Hypervisor vendor|Virtualization type)' || true
    else
        grep -m1 'model name' /proc/cpuinfo || true
    fi
    flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2)
    printf 'SIMD flags:'
    for f in sse4_2 avx avx2 fma avx512f avx512bw avx512vl avx512_vnni avx512_bf16 amx_tile; do
        case " $flags " in *" $f "*) printf ' %s' "$f" ;; esac
    done
    echo
    echo "load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
    echo "glibc: $(ldd --version 2>/dev/null | head -1)"
    echo "python: $($py --version 2>&1)"
    if [ -r "$bd/BUILDINFO" ]; then echo "-- $bd/BUILDINFO:"; cat "$bd/BUILDINFO"; fi
} | tee "$out/machine.txt"

# -------------------------------------------------------------- checks
missing=
for p in bench/limits bench/bench_models; do
    [ -f "$bd/$p" ] && [ ! -x "$bd/$p" ] && chmod +x "$bd/$p" 2>/dev/null   # a copy lost the mode
    [ -x "$bd/$p" ] || missing="$missing $bd/$p"
done
if [ -n "$missing" ]; then
    echo "device-scaling.sh: not found or not executable:$missing (carry them, see bench/build-static.sh)" | tee -a "$out/machine.txt" >&2
    exit 1
fi
if ! "$bd/bench/limits" --only versions > /dev/null 2>&1; then
    echo "device-scaling.sh: $bd/bench/limits does not run here:" | tee -a "$out/machine.txt" >&2
    "$bd/bench/limits" --only versions 2>&1 | head -5 | tee -a "$out/machine.txt" >&2
    file "$bd/bench/limits" 2>/dev/null | tee -a "$out/machine.txt" >&2
    exit 1
fi

torch_args=--no-torch
if [ "${NO_TORCH:-0}" != 1 ]; then
    tried=
    for tpy in ${TORCH_PY:-} "$py" python3 /usr/bin/python3; do
        case " $tried " in *" $tpy "*) continue ;; esac
        tried="$tried $tpy"
        have "$tpy" || continue
        tv=$(tmo 60 "$tpy" -c 'import torch; print(torch.__version__)' 2>/dev/null | tail -1)
        if [ -n "$tv" ]; then
            torch_args="--torch-python $tpy"
            break
        fi
    done
    if [ "$torch_args" = --no-torch ]; then
        echo "PyTorch: not importable (tried$tried): lamina only" | tee -a "$out/machine.txt"
    else
        echo "PyTorch: $tv ($tpy)" | tee -a "$out/machine.txt"
    fi
fi
have gnuplot || echo "gnuplot: not installed: no plot" | tee -a "$out/machine.txt"

# ----------------------------------------------------------------- run
work=$(mktemp -d "${TMPDIR:-/tmp}/lamina-scaling.XXXXXX") || exit 1
info=
[ -r "$bd/BUILDINFO" ] && info="--build-info $bd/BUILDINFO"
t0=$(date +%s)
hard=${HARD_TIMEOUT:-$(( ${TOTAL_TIMEOUT:-300} - (t0 - start) - 5 ))}
[ "$hard" -ge 60 ] || hard=60
deadline=${DEADLINE:-$(( hard - 45 ))}
echo "== bench/run: no new measurement after $deadline s, stopped at $hard s" | tee -a "$out/machine.txt"
# shellcheck disable=SC2086
tmo "$hard" "$py" "$here/bench/run" --quick --builddir "$bd" --srcdir "$here" \
    --out "$work" --sections limits,scaling --threads "$N" --thread-list "$tlist" \
    --scaling "${SERIES:-mlp:256,mlp:4096,seed_seq:65536}" \
    --budget "${BUDGET:-0.4}" --rounds "${ROUNDS:-2}" --deadline "$deadline" \
    $torch_args $info > "$work/stdout.md" 2> "$out/run.log"
rc=$?
t1=$(date +%s)
echo "bench/run: exit status $rc, $((t1 - t0)) s" | tee -a "$out/machine.txt" "$out/run.log"
[ $rc = 124 ] && echo "bench/run was stopped at the hard timeout: no report" | tee -a "$out/run.log"

# ---------------------------------------------------------- the results
[ -f "$work/latest.md" ] && cp "$work/latest.md" "$out/scaling.md"
[ -f "$work/latest.json" ] && cp "$work/latest.json" "$out/scaling.json"
for f in throughput-vs-threads.png plot-threads.dat; do
    [ -f "$work/$f" ] && cp "$work/$f" "$out/$f"
done
if [ -f "$out/scaling.md" ]; then
    sed -n '/^## Thread scaling/,/^## /p' "$out/scaling.md" | sed '$d'
    sed -n '/^## Notes/,$p' "$out/scaling.md"
fi
rm -rf "$work"
echo "device-scaling.sh: wrote $(ls "$out" | tr '\n' ' ')into $out"
exit $rc

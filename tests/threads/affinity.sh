#!/bin/sh
# The default thread count follows the CPU affinity mask: a process that may
# run on one core (`taskset -c 0`, or an MPI rank that Open MPI bound to one
# core) defaults to 1 thread, not to every online CPU; LAMINA_NUM_THREADS,
# OMP_NUM_THREADS and --threads still win.  `lamina info` shows the count and
# where it came from.  Needs LAMINA_BIN (set by `make check`) and taskset
# (util-linux); skips when taskset is missing or the build is serial.
set -u
: "${LAMINA_BIN:?}"
if ! command -v taskset >/dev/null 2>&1; then
    echo "SKIP: taskset (util-linux) is not installed: cannot bind the process to one core"
    exit 77
fi
unset LAMINA_NUM_THREADS OMP_NUM_THREADS
threads() { # threads [taskset CPUS] [lamina info args] -> the count lamina info reports
    "$@" 2>&1 | sed -n 's/^threads: *\([0-9]*\).*/\1/p'
}
if [ "$(LAMINA_NUM_THREADS=3 threads "$LAMINA_BIN" info)" != 3 ]; then
    echo "SKIP: this build runs serially (--disable-openmp): its thread count is always 1"
    exit 77
fi
fail=0
bad() { echo "FAIL: $*"; fail=1; }
# the CPUs this shell may run on: the first one, and all of them
cpus=$(taskset -pc $$ | sed 's/.*: *//')
first=$(echo "$cpus" | sed 's/[,-].*//')
n=$(nproc)  # nproc counts the affinity mask, as lamina should

got=$(threads taskset -c "$first" "$LAMINA_BIN" info)
[ "$got" = 1 ] || bad "taskset -c $first lamina info: threads $got, expected 1"
line=$(taskset -c "$first" "$LAMINA_BIN" info | grep '^threads:')
echo "taskset -c $first: $line"
case $line in *"may run on: 1 of"*) ;; *) bad "lamina info does not say where 1 comes from: $line" ;; esac
got=$(threads "$LAMINA_BIN" info)
[ "$got" = "$n" ] || bad "lamina info: threads $got, expected $n (nproc)"
if [ "$n" -ge 2 ]; then
    # the first two CPUs of the mask ("0-3,8" -> "0,1")
    two=$(echo "$cpus" | tr ',' '\n' | awk -F- '{ for (i = $1; i <= ($2 == "" ? $1 : $2); i++) print i }' |
        head -2 | paste -sd, -)
    got=$(threads taskset -c "$two" "$LAMINA_BIN" info)
    [ "$got" = 2 ] || bad "taskset -c $two lamina info: threads $got, expected 2"
fi
# what is asked for still wins over the mask
got=$(LAMINA_NUM_THREADS=3 threads taskset -c "$first" "$LAMINA_BIN" info)
[ "$got" = 3 ] || bad "LAMINA_NUM_THREADS=3 taskset -c $first: threads $got, expected 3"
got=$(OMP_NUM_THREADS=4 threads taskset -c "$first" "$LAMINA_BIN" info)
[ "$got" = 4 ] || bad "OMP_NUM_THREADS=4 taskset -c $first: threads $got, expected 4"
got=$(threads taskset -c "$first" "$LAMINA_BIN" info -t 5)
[ "$got" = 5 ] || bad "taskset -c $first lamina info -t 5: threads $got, expected 5"
# and the library's default itself, in a program of one's own (not the command)
if [ -n "${THREAD_LIMITS_BIN:-}" ]; then
    got=$(taskset -c "$first" "$THREAD_LIMITS_BIN" threads 0)
    [ "$got" = 1 ] || bad "taskset -c $first: lam_get_num_threads() = $got in an embedding program, expected 1"
fi
[ $fail = 0 ] && echo "OK: the default thread count follows the CPU affinity mask"
exit $fail

#!/bin/sh
# An input several times larger than the memory a rank may use (issue 17):
# under `ulimit -v LIMIT_KB` (address space, which a mapping of the whole
# input would need), `lamina run` in one process cannot load the input,
# while `mpirun -n K lamina run --mpi` (K = 1, 2) streams it in chunks and
# writes the same bytes as `lamina run` does without the limit.
#
# By default (in every `make check`) the small form: the limit is what a
# rank needs with no data at all (measured first, on a tiny input: the
# lamina binary, its libraries, Open MPI; about 55 MiB here, with
# MALLOC_ARENA_MAX=1 so that each of Open MPI's threads does not reserve a
# 64 MiB malloc arena of address space) plus 24 MiB, the limit holds each
# rank (not mpirun), and the input is 5 times the limit (~400 MB here) of
# 1,000-byte rows, run in chunks of 4,096 rows.
#
# With LAMINA_LARGE_TESTS=1 also the large form: a 1 GB input of the seed
# model's 40-byte rows, the default chunk size, under `ulimit -v 300000` for
# the whole job (mpirun included), without MALLOC_ARENA_MAX.  It writes
# about 1.3 GB of files and takes a minute or more on a small machine.
#
#   tests/mpi/larger-than-memory.sh                 small; large too with LAMINA_LARGE_TESTS=1
#   tests/mpi/larger-than-memory.sh ROWS [LIMIT_KB] the large form only, with ROWS seed rows
#
# Needs LAMINA_BIN, NPYTOOL and MPIRUN (set by `make check`, or by hand).
# Every file goes in one temporary directory, removed on exit and on
# SIGINT/SIGTERM/SIGHUP.
set -u
: "${LAMINA_BIN:?}" "${NPYTOOL:?}"
if [ -n "${LAMINA_MPI_WHY:-}" ] || [ -z "${MPIRUN:-}" ]; then
    echo "SKIP: lamina was built without MPI: ${LAMINA_MPI_WHY:-no mpirun}"
    exit 77
fi
if [ -n "${ASAN_OPTIONS:-}" ]; then
    # AddressSanitizer maps terabytes of shadow memory: ulimit -v cannot bound
    # such a process, and what this test measures is that bound
    echo "SKIP: under AddressSanitizer (make asan-check) ulimit -v cannot bound a process:" \
        "its shadow memory is terabytes of address space; the plain make check runs this test"
    exit 77
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/lamina-large.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP
fail=0
bad() { echo "FAIL: $*"; fail=1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
# a run that hangs (Open MPI starved of memory can) fails instead of stalling make check
tmo=; command -v timeout >/dev/null 2>&1 && tmo="timeout 600"

# one process, no streaming: the whole input does not fit under the limit
one_fails() { # MODEL INPUT LIMIT_KB
    if (ulimit -v "$3" && "$LAMINA_BIN" run "$1" -i "$2" -o "$T/one-limited.npy") 2>"$T/err"; then
        bad "lamina run loaded a $(stat -c %s "$2")-byte input under ulimit -v $3"
    else
        echo "lamina run (one process) under the limit: $(cat "$T/err")"
    fi
}
# the reference: lamina run in one process, without the limit
reference() { # MODEL INPUT
    "$LAMINA_BIN" run "$1" -i "$2" -o "$T/one.npy" 2>"$T/err" ||
        bad "lamina run without the limit: $(cat "$T/err")"
}

small() {
    cat > "$T/wide.lam" <<'EOF'
Sequential(
  (0): Linear(in_features=250, out_features=16, bias=True)
  (1): ReLU()
  (2): Linear(in_features=16, out_features=2, bias=True)
  (3): Sigmoid()
)
EOF
    # what a rank needs with (almost) no data: 2 ranks of 8 rows each
    "$NPYTOOL" gen "$T/tiny.npy" 16 250 5 || exit 99
    MALLOC_ARENA_MAX=1 LAMINA_VERBOSE=1 $tmo "$MPIRUN" --oversubscribe -n 2 "$LAMINA_BIN" run --mpi -t 1 \
        "$T/wide.lam" -i "$T/tiny.npy" -o "$T/tiny.out.npy" </dev/null 2>"$T/err" ||
        { bad "2 ranks on a tiny input: $(cat "$T/err")"; return; }
    need=$(sed -n 's/.*peak address space \([0-9]*\) kB.*/\1/p' "$T/err" | sort -n | tail -1)
    [ -n "$need" ] || { bad "no peak address space reported: $(cat "$T/err")"; return; }
    limit=$((need + 24 * 1024))
    if [ "$limit" -gt 163840 ]; then
        echo "SKIP (small form): a rank here needs $need kB of address space before any data, so" \
            "an input 5 times a limit above it would be over 800 MB: run it with LAMINA_LARGE_TESTS=1"
        return 77
    fi
    rows=$((limit * 1024 * 5 / 1000 + 1)) # 1,000-byte rows: 5 times the limit
    "$NPYTOOL" gen "$T/x.npy" "$rows" 250 12 || exit 99
    size=$(stat -c %s "$T/x.npy")
    echo "small: a rank needs $need kB with no data; limit ulimit -v $limit (each rank);" \
        "input $rows rows, $size bytes ($((size / (limit * 1024))) times the limit)"
    one_fails "$T/wide.lam" "$T/x.npy" "$limit"
    reference "$T/wide.lam" "$T/x.npy"
    for k in 1 2; do
        rm -f "$T/y.npy"
        if ! MALLOC_ARENA_MAX=1 LAMINA_VERBOSE=1 $tmo "$MPIRUN" --oversubscribe -n $k \
                sh -c 'ulimit -v "$0" && exec "$@"' "$limit" "$LAMINA_BIN" run --mpi -t 1 --chunk-rows 4096 \
                "$T/wide.lam" -i "$T/x.npy" -o "$T/y.npy" </dev/null 2>"$T/err"; then
            bad "small: $k rank(s) under ulimit -v $limit: $(cat "$T/err")"
            continue
        fi
        grep "rows \[" "$T/err"
        cmp -s "$T/one.npy" "$T/y.npy" || bad "small: $k rank(s) differ from lamina run without the limit"
    done
    [ $fail = 0 ] && echo "OK (small): streamed $size bytes through ranks limited to $((limit * 1024)) bytes" \
        "of address space"
    rm -f "$T"/*.npy
    return 0
}

large() { # ROWS LIMIT_KB
    rows=$1 limit=$2
    cat > "$T/seed.lam" <<'EOF'
Sequential(
  (0): Linear(in_features=10, out_features=50, bias=True)
  (1): ReLU()
  (2): Linear(in_features=50, out_features=2, bias=True)
  (3): Sigmoid()
)
EOF
    "$NPYTOOL" gen "$T/x.npy" "$rows" 10 11 || exit 99
    size=$(stat -c %s "$T/x.npy")
    echo "large: input $rows rows, $size bytes; limit: ulimit -v $limit ($((limit * 1024)) bytes) for the whole job"
    [ "$size" -gt $((3 * limit * 1024)) ] || bad "the input is not 3 times the limit"
    one_fails "$T/seed.lam" "$T/x.npy" "$limit"
    for k in 1 2; do
        if ! (ulimit -v "$limit" && LAMINA_VERBOSE=1 $tmo "$MPIRUN" --oversubscribe -n $k "$LAMINA_BIN" run --mpi -t 1 \
                "$T/seed.lam" -i "$T/x.npy" -o "$T/y$k.npy" </dev/null) 2>"$T/err"; then
            bad "large: $k ranks under ulimit -v $limit: $(cat "$T/err")"
        fi
        grep "rows \[" "$T/err"
    done
    cmp -s "$T/y1.npy" "$T/y2.npy" || bad "large: 2 ranks differ from 1 rank"
    reference "$T/seed.lam" "$T/x.npy"
    cmp -s "$T/one.npy" "$T/y2.npy" || bad "large: 2 ranks differ from lamina run"
    [ $fail = 0 ] && echo "OK (large): streamed $size bytes through ranks limited to $((limit * 1024)) bytes" \
        "of address space"
    rm -f "$T"/*.npy
}

if [ $# -gt 0 ]; then
    large "$1" "${2:-300000}"
    exit $fail
fi
small
small_rc=$?
if [ "${LAMINA_LARGE_TESTS:-0}" = 1 ]; then
    large 25000000 300000
else
    echo "(the 1 GB form runs with LAMINA_LARGE_TESTS=1)"
fi
[ $fail = 0 ] && [ $small_rc = 77 ] && [ "${LAMINA_LARGE_TESTS:-0}" != 1 ] && exit 77
exit $fail

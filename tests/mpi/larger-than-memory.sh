#!/bin/sh
# An input several times larger than the memory a rank may use (issue 17):
# under `ulimit -v LIMIT_KB` (address space, which a mapping of the whole
# input would need), `lamina run` in one process cannot load the input,
# while `mpirun -n 2 lamina run --mpi` streams it in chunks and writes the
# same bytes as one rank does (and as `lamina run` without the limit).
#
#   tests/mpi/larger-than-memory.sh [ROWS [LIMIT_KB]]    (default 25000000 rows
#                                                         of 10 floats = 1 GB,
#                                                         300000 kB)
# Needs LAMINA_BIN, NPYTOOL and MPIRUN (set by `make check`, or by hand).  In
# `make check` it runs only with LAMINA_LARGE_TESTS=1 (it writes about 1.3 GB
# of files and takes a minute or more on a small machine); otherwise it
# skips (77) and says so.
set -u
: "${LAMINA_BIN:?}" "${NPYTOOL:?}"
if [ $# -eq 0 ] && [ "${LAMINA_LARGE_TESTS:-0}" != 1 ]; then
    echo "SKIP: set LAMINA_LARGE_TESTS=1 to stream a 1 GB input under ulimit -v 300000"
    exit 77
fi
if [ -n "${LAMINA_MPI_WHY:-}" ] || [ -z "${MPIRUN:-}" ]; then
    echo "SKIP: lamina was built without MPI: ${LAMINA_MPI_WHY:-no mpirun}"
    exit 77
fi
rows=${1:-25000000}
limit=${2:-300000}
T=$(mktemp -d "${TMPDIR:-/tmp}/lamina-large.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
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
echo "input: $rows rows, $size bytes; limit: ulimit -v $limit ($((limit * 1024)) bytes)"
[ "$size" -gt $((3 * limit * 1024)) ] || bad "the input is not 3 times the limit"

# one process, no streaming: the whole input does not fit
if (ulimit -v "$limit" && "$LAMINA_BIN" run "$T/seed.lam" -i "$T/x.npy" -o "$T/one.npy") 2>"$T/err"; then
    bad "lamina run loaded a $size-byte input under ulimit -v $limit"
else
    echo "lamina run (one process) under the limit: $(cat "$T/err")"
fi
for k in 1 2; do
    if ! (ulimit -v "$limit" && LAMINA_VERBOSE=1 "$MPIRUN" --oversubscribe -n $k "$LAMINA_BIN" run --mpi -t 1 \
            "$T/seed.lam" -i "$T/x.npy" -o "$T/y$k.npy" </dev/null) 2>"$T/err"; then
        bad "$k ranks under ulimit -v $limit: $(cat "$T/err")"
    fi
    grep "rows \[" "$T/err"
done
cmp -s "$T/y1.npy" "$T/y2.npy" || bad "2 ranks differ from 1 rank"
# and both from lamina run in one process without the limit
if "$LAMINA_BIN" run "$T/seed.lam" -i "$T/x.npy" -o "$T/one.npy" 2>"$T/err"; then
    cmp -s "$T/one.npy" "$T/y2.npy" || bad "2 ranks differ from lamina run"
else
    echo "(lamina run without the limit failed too: $(cat "$T/err"))"
fi
[ $fail = 0 ] && echo "OK: streamed $size bytes through ranks limited to $((limit * 1024)) bytes of address space"
exit $fail

#!/bin/sh
# `mpirun -n K lamina run --mpi` (issue 17): the output is byte-identical
# to `lamina run` in one process for 1-4 ranks, 1-2 threads a rank, several
# chunk sizes, uneven splits, more ranks than rows and inputs in shards of
# mixed dtypes; a model whose rows are not independent is refused; a
# missing or malformed input on one rank, or a model that fails to load on
# one rank, ends every rank with exit status 1, the failing rank's message
# on stderr prefixed with its rank, and no output file (nor a temporary
# one) left; a rank killed mid-run leaves no output either.
#
# Also runs tests/mpi/embed (the C API of <lamina/mpi.h>) on 1-4 ranks, and
# checks that with LAMINA_VERBOSE=1 even the kernel-choice line has the rank prefix.
# Needs LAMINA_BIN, NPYTOOL, EMBED, MODEL_TESTS_DIR, MPIRUN and LAMINA_MPI_WHY (set
# by `make check`).  Exit 77 (skipped) when lamina was built without MPI.
# Loopback only: shared memory and self (btl self,vader); as root with
# Open MPI's OMPI_ALLOW_RUN_AS_ROOT variables; --oversubscribe as this
# runs 4 ranks on fewer cores.
set -u
: "${LAMINA_BIN:?}" "${NPYTOOL:?}" "${MODEL_TESTS_DIR:?}" "${EMBED:?}"
if [ -n "${LAMINA_MPI_WHY:-}" ]; then
    # what a lamina without MPI says, then skip
    "$LAMINA_BIN" info | grep -q "^mpi: *no ($LAMINA_MPI_WHY)" || { echo "FAIL: lamina info: no 'mpi: no'"; exit 1; }
    "$LAMINA_BIN" run x.lam -i x.npy -o y.npy --mpi 2>&1 | grep -q "built without MPI" ||
        { echo "FAIL: lamina run --mpi without MPI"; exit 1; }
    echo "SKIP: lamina was built without MPI: $LAMINA_MPI_WHY"
    exit 77
fi
if [ -z "${MPIRUN:-}" ]; then
    echo "SKIP: lamina has MPI but configure found no mpirun to start the tests with"
    exit 77
fi
F=$MODEL_TESTS_DIR/fixtures
T=$(mktemp -d "${TMPDIR:-/tmp}/lamina-mpi.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
"$LAMINA_BIN" info | grep -q '^mpi: *yes' || bad "lamina info does not say it has MPI"

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# no CMA (ptrace-restricted containers), no hostname lookups, quiet
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_hwloc_base_binding_policy=none
mpirun() { "$MPIRUN" --oversubscribe "$@" </dev/null; } # stdin: not for rank 0
# under `make asan-check`: Open MPI's own never-freed allocations are not
# findings; full stacks so that the suppressions see its frames
if [ -n "${ASAN_OPTIONS:-}" ]; then
    export ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0"
    export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$MODEL_TESTS_DIR/../mpi/lsan-openmpi.supp:print_suppressions=0"
fi

cat > "$T/seed.lam" <<'EOF'
Sequential(
  (0): Linear(in_features=10, out_features=50, bias=True)
  (1): ReLU()
  (2): Linear(in_features=50, out_features=2, bias=True)
  (3): Sigmoid()
)
EOF
"$NPYTOOL" gen "$T/x.npy" 1003 10 1 || exit 99

# same MODEL_ARGS NAME CONFIGS: one process, then each "RANKS THREADS CHUNK [OPTION]"
# of CONFIGS (CHUNK 0: the default), compared byte for byte
same() {
    args=$1 name=$2
    "$LAMINA_BIN" run $args -o "$T/$name.ref.npy" 2>"$T/err" || { bad "$name: lamina run: $(cat "$T/err")"; return; }
    while read -r k t chunk extra; do
        [ -n "$k" ] || continue
        c=$extra; [ "$chunk" = 0 ] || c="$c --chunk-rows $chunk"
        rm -f "$T/$name.out.npy"
        if ! mpirun -n $k "$LAMINA_BIN" run --mpi -t $t $c $args -o "$T/$name.out.npy" >"$T/out" 2>"$T/err"; then
            bad "$name: $k ranks x $t threads $c: $(cat "$T/err")"
        elif ! cmp -s "$T/$name.ref.npy" "$T/$name.out.npy"; then
            bad "$name: $k ranks x $t threads $c: output differs from one process"
        fi
    done <<EOF
$3
EOF
}

# every rank count 1-4 with 1 and 2 threads a rank, default and small chunks
same "$T/seed.lam -i $T/x.npy" seed "$(for k in 1 2 3 4; do for t in 1 2; do
    echo "$k $t 0"; echo "$k $t 7"; done; done)"
# fixture models with their weights, on their inputs repeated (uneven row counts)
for name in mlp layernorm softmax gelu_both deep three_d nested; do
    in=$F/$name.input.npy
    "$NPYTOOL" cat "$T/$name.in.npy" $in $in $in $in $in $in $in $in $in $in $in || exit 99
    same "$F/$name.lam -w $F/$name.safetensors -i $T/$name.in.npy" "$name" "3 2 5
4 1 0"
done

# the output's writes: each rank writes the whole 4 KiB pages of its range with
# direct I/O (where the file system takes O_DIRECT) from staging buffers that
# carry a chunk's last partial page over to the next chunk, and the partial
# pages at the two ends of its range with MPI-IO; --mpi-io writes everything
# with MPI-IO.  Outputs of 360 and 540 KB, so that ranges and chunks end at
# all kinds of offsets within a page (rows of 8 and 12 bytes)
cat > "$T/odd.lam" <<'EOF'
Sequential(
  (0): Linear(in_features=10, out_features=3, bias=True)
)
EOF
"$NPYTOOL" gen "$T/big.npy" 45001 10 7 || exit 99
for m in seed odd; do
    same "$T/$m.lam -i $T/big.npy" "big-$m" "1 1 0
2 1 0
3 1 333
4 2 1000
2 1 7
3 2 4099
2 1 0 --mpi-io
3 1 333 --mpi-io"
done
# which path a rank took is in its LAMINA_VERBOSE line
if dd if=/dev/zero of="$T/direct" bs=4096 count=1 oflag=direct 2>/dev/null; then
    LAMINA_VERBOSE=1 mpirun -n 2 "$LAMINA_BIN" run --mpi "$T/seed.lam" -i "$T/big.npy" -o "$T/big.out.npy" \
        2>"$T/err" || bad "direct I/O: $(cat "$T/err")"
    [ "$(grep -c "info: rows .*write [0-9.]* s (direct I/O)" "$T/err")" = 2 ] ||
        bad "$T takes O_DIRECT but the ranks did not write with direct I/O: $(cat "$T/err")"
else
    echo "note: $T does not take O_DIRECT: the direct path is not exercised here"
fi
LAMINA_VERBOSE=1 mpirun -n 2 "$LAMINA_BIN" run --mpi --mpi-io "$T/seed.lam" -i "$T/big.npy" -o "$T/big.out.npy" \
    2>"$T/err" || bad "--mpi-io: $(cat "$T/err")"
[ "$(grep -c "info: rows .*write [0-9.]* s (MPI-IO)" "$T/err")" = 2 ] || bad "--mpi-io: not written with MPI-IO: $(cat "$T/err")"

# shards of three dtypes read as one array; more ranks than rows
"$NPYTOOL" gen "$T/s1.npy" 5 10 2 f4 && "$NPYTOOL" gen "$T/s2.npy" 0 10 3 f4 &&
    "$NPYTOOL" gen "$T/s3.npy" 11 10 4 f8 && "$NPYTOOL" gen "$T/s4.npy" 3 10 5 be4 || exit 99
"$NPYTOOL" cat "$T/all.npy" "$T/s1.npy" "$T/s2.npy" "$T/s3.npy" "$T/s4.npy" || exit 99
"$LAMINA_BIN" run "$T/seed.lam" -i "$T/all.npy" -o "$T/all.ref.npy" || bad "shards: lamina run"
for k in 1 3 4; do
    mpirun -n $k "$LAMINA_BIN" run --mpi "$T/seed.lam" -i "$T/s1.npy" -i "$T/s2.npy" -i "$T/s3.npy" \
        -i "$T/s4.npy" --chunk-rows 4 -o "$T/all.out.npy" 2>"$T/err" || bad "shards, $k ranks: $(cat "$T/err")"
    cmp -s "$T/all.ref.npy" "$T/all.out.npy" || bad "shards, $k ranks: output differs"
done
"$NPYTOOL" gen "$T/two.npy" 2 10 6 && "$LAMINA_BIN" run "$T/seed.lam" -i "$T/two.npy" -o "$T/two.ref.npy" &&
    mpirun -n 4 "$LAMINA_BIN" run --mpi "$T/seed.lam" -i "$T/two.npy" -o "$T/two.out.npy" 2>"$T/err" &&
    cmp -s "$T/two.ref.npy" "$T/two.out.npy" || bad "2 rows on 4 ranks: $(cat "$T/err")"
# an existing output keeps its mode; a symlink is followed
printf old > "$T/private.npy" && chmod 600 "$T/private.npy" && ln -s private.npy "$T/link.npy"
mpirun -n 2 "$LAMINA_BIN" run --mpi "$T/seed.lam" -i "$T/x.npy" -o "$T/link.npy" 2>"$T/err" &&
    [ -L "$T/link.npy" ] && cmp -s "$T/private.npy" "$T/seed.ref.npy" &&
    [ "$(stat -c %a "$T/private.npy")" = 600 ] || bad "output through a symlink to a mode-600 file: $(cat "$T/err")"

# each rank's exit status, and the leftovers, of a run that must fail:
# fails NAME TEXT K -- per-rank command (sh, with $R the rank)
fails() {
    name=$1 text=$2 k=$3
    shift 4
    rm -rf "$T/f" && mkdir "$T/f"
    mpirun -n "$k" sh -c 'R=$OMPI_COMM_WORLD_RANK; '"$*"'; echo $? > '"$T"'/f/rc.$R' >"$T/out" 2>"$T/err"
    for r in $(seq 0 $((k - 1))); do
        [ "$(cat "$T/f/rc.$r" 2>/dev/null)" = 1 ] ||
            bad "$name: rank $r exited $(cat "$T/f/rc.$r" 2>/dev/null), expected 1; stderr: $(cat "$T/err")"
    done
    grep -qF -- "$text" "$T/err" || bad "$name: stderr lacks '$text': $(cat "$T/err")"
    left=$(ls "$T/f" | grep -v '^rc\.')
    [ -z "$left" ] || bad "$name: left $left behind"
}
run="$LAMINA_BIN run --mpi $T/seed.lam -o $T/f/y.npy"
fails "missing input on rank 1" "lamina: rank 1: error: $T/missing.npy: cannot open" 3 -- \
    'if [ $R = 1 ]; then i='"$T"'/missing.npy; else i='"$T"'/x.npy; fi; '"$run"' -i $i'
head -c 300 "$T/x.npy" > "$T/truncated.npy"
fails "malformed input on rank 2" "lamina: rank 2: error: $T/truncated.npy: data is" 3 -- \
    'if [ $R = 2 ]; then i='"$T"'/truncated.npy; else i='"$T"'/x.npy; fi; '"$run"' -i $i'
printf 'Sequential(\n  (0): Linear(in_features=10, out_features=50, bias=True\n' > "$T/broken.lam"
fails "model failing to load on rank 0" "lamina: rank 0: error: " 2 -- \
    'if [ $R = 0 ]; then m='"$T"'/broken.lam; else m='"$T"'/seed.lam; fi; '"$LAMINA_BIN"' run --mpi $m -i '"$T"'/x.npy -o '"$T"'/f/y.npy'
grep -q "rank 1: error" "$T/err" && bad "model failing on rank 0: rank 1 printed an error of its own"
fails "a shard shorter on one rank" "lamina: rank 1: error: the input here is" 2 -- \
    'if [ $R = 1 ]; then i='"$T"'/two.npy; else i='"$T"'/x.npy; fi; '"$run"' -i $i'
# a model that mixes rows: Softmax over dim 0
printf 'Sequential(\n  (0): Linear(in_features=10, out_features=3, bias=True)\n  (1): Softmax(dim=0)\n)\n' > "$T/dim0.lam"
fails "a model that mixes rows" "does not treat the rows of its input independently" 2 -- \
    "$LAMINA_BIN run --mpi $T/dim0.lam -i $T/x.npy -o $T/f/y.npy"

# a rank killed mid-run: mpirun ends the job; nothing is left behind.  Rank
# 0 is lamina itself (exec), as in a real job, so that mpirun's SIGTERM
# reaches it; rank 1's shell kills its lamina once the output is being
# written: once the temporary file has its size (MPI_File_set_size, after
# every rank has opened it; Open MPI's open makes and removes files of its
# own, "<tmp>.locktest.<rank>", which a rank killed inside it leaves).
# The run must outlast the wait: the seed model streams 400,000 rows in a few
# milliseconds once the file is sized, so a kill could come after the end;
# an MLP of ~2 MFLOP a row keeps each rank computing for a second or more.
printf 'Sequential(\n  (0): Linear(in_features=10, out_features=1024, bias=True)\n  (1): ReLU()\n  (2): Linear(in_features=1024, out_features=1024, bias=True)\n  (3): ReLU()\n  (4): Linear(in_features=1024, out_features=10, bias=True)\n)\n' > "$T/slow.lam"
"$NPYTOOL" gen "$T/long.npy" 100000 10 8 || exit 99
rm -rf "$T/f" && mkdir "$T/f"
lrun="$LAMINA_BIN run --mpi $T/slow.lam -i $T/long.npy --chunk-rows 50 -t 1 -o $T/f/y.npy"
mpirun -n 2 sh -c '
    if [ $OMPI_COMM_WORLD_RANK = 0 ]; then exec '"$lrun"'; fi
    '"$lrun"' &
    pid=$!
    n=0   # wait until the run is writing
    while [ -z "$(find '"$T"'/f -name "*.tmp" -size +0c)" ] && [ $n -lt 1000 ]; do sleep 0.01; n=$((n + 1)); done
    kill -9 $pid
    wait $pid' >"$T/out" 2>"$T/err"
rc=$?
[ $rc -ne 0 ] || bad "a rank killed: mpirun exited 0"
# mpirun ends the other rank (SIGTERM, or Open MPI's own abort), which removes the
# temporary file; give a loaded machine a few seconds
n=0
while [ -n "$(ls "$T/f")" ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
left=$(ls "$T/f")
[ -z "$left" ] || bad "a rank killed: left $left behind"

# usage errors (2), found before MPI starts
usage() {
    text=$1
    shift
    "$LAMINA_BIN" "$@" >"$T/out" 2>"$T/err"
    rc=$?
    [ $rc = 2 ] && grep -qF -- "$text" "$T/err" || bad "lamina $*: exit $rc: $(cat "$T/err")"
}
usage "--mpi needs --output" run --mpi "$T/seed.lam" -i "$T/x.npy"
usage "--output - (standard output) cannot take it" run --mpi "$T/seed.lam" -i "$T/x.npy" -o -
# without --mpi, several inputs are the forward's positional arguments (shards need --mpi)
"$LAMINA_BIN" run "$T/seed.lam" -i "$T/x.npy" -i "$T/x.npy" >"$T/out" 2>"$T/err"
rc=$?
[ $rc = 1 ] && grep -qF "Sequential.forward() takes 2 positional arguments but 3 were given" "$T/err" ||
    bad "run with two inputs, no --mpi: exit $rc: $(cat "$T/err")"
usage "--chunk-rows needs --mpi" run "$T/seed.lam" -i "$T/x.npy" --chunk-rows 5
usage "--mpi-io needs --mpi" run "$T/seed.lam" -i "$T/x.npy" --mpi-io
usage "--chunk-rows needs a positive integer" run --mpi "$T/seed.lam" -i "$T/x.npy" --chunk-rows 0 -o "$T/y.npy"

# a rank bound to one core: --threads 2 gets a warning; without --threads
# the rank runs as many threads as it has cores (one), and says nothing
mpirun -n 2 --bind-to core:overload-allowed "$LAMINA_BIN" run --mpi -t 2 "$T/seed.lam" -i "$T/x.npy" \
    -o "$T/bound.npy" >"$T/out" 2>"$T/err" || bad "bound to a core: $(cat "$T/err")"
grep -q "lamina: rank [01]: warning: this rank is bound to one core but runs 2 threads" "$T/err" ||
    bad "bound to a core with -t 2: no warning: $(cat "$T/err")"
mpirun -n 2 --bind-to core:overload-allowed "$LAMINA_BIN" run --mpi "$T/seed.lam" -i "$T/x.npy" \
    -o "$T/bound.npy" >"$T/out" 2>"$T/err" || bad "bound to a core: $(cat "$T/err")"
! grep -q "bound to one core" "$T/err" || bad "bound to a core without -t: warned: $(cat "$T/err")"
cmp -s "$T/seed.ref.npy" "$T/bound.npy" || bad "bound to a core: output differs"

# the C API from a program of one's own (tests/mpi/embed.c)
for k in 1 2 3 4; do
    mpirun -n $k "$EMBED" "$T/x.npy" "$T" >"$T/out" 2>&1 || bad "embed, $k ranks: $(cat "$T/out")"
done

# bench --mpi: every rank's figures and the sum, in JSON
out=$(mpirun -n 2 "$LAMINA_BIN" bench --mpi "$T/seed.lam" --batch 64 --seconds 0.2 --json 2>"$T/err") ||
    bad "bench --mpi: $(cat "$T/err")"
case $out in
    *'"ranks": 2'*'"samples_per_second": '*'"per_rank": [{"rank": 0'*'{"rank": 1'*) ;;
    *) bad "bench --mpi printed: $out" ;;
esac

# LAMINA_VERBOSE=1: the library's first message, the kernel choice, comes after
# MPI_Init, so it carries each rank's prefix like every other line
for cmd in "run --mpi $T/seed.lam -i $T/x.npy -o $T/verbose.npy" "bench --mpi $T/seed.lam --batch 8 --seconds 0.1"; do
    LAMINA_VERBOSE=1 mpirun -n 2 "$LAMINA_BIN" $cmd >"$T/out" 2>"$T/err" || bad "LAMINA_VERBOSE=1 $cmd: $(cat "$T/err")"
    for r in 0 1; do
        grep -q "^lamina: rank $r: info: kernels: " "$T/err" ||
            bad "LAMINA_VERBOSE=1 lamina $cmd: no kernel-choice line with the prefix of rank $r: $(cat "$T/err")"
    done
    ! grep -q "^lamina: info: " "$T/err" || bad "LAMINA_VERBOSE=1 lamina $cmd: a line without the rank prefix: $(cat "$T/err")"
done

exit $fail

#!/bin/sh
# Ranks x threads scaling of `lamina bench --mpi` (issue 17): for each
# RANKSxTHREADS in the list, the aggregate samples/s of a model at a batch
# size, as a Markdown table with the speed-up over 1 rank x 1 thread.
#
#   bench/mpi-scaling.sh [MODEL.lam [BATCH [SECONDS [LIST]]]]
#       defaults: the MLP 784-1024-1024-10 (made here), 256, 3, "1x1 2x1 1x2"
#
# `make bench-mpi` runs it from build/ (LAMINA_BIN, MPIRUN set).  Ranks are
# started with --bind-to none when a rank has several threads (see
# docs/scale-out.md); as root, Open MPI's OMPI_ALLOW_RUN_AS_ROOT variables
# are set.  A benchmark, not a test: it reports, it does not judge.
set -eu
: "${LAMINA_BIN:=lamina}" "${MPIRUN:=mpirun}"
T=$(mktemp -d "${TMPDIR:-/tmp}/lamina-mpi-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT
model=${1:-}
if [ -z "$model" ]; then
    model=$T/mlp.lam
    cat > "$model" <<'EOF'
Sequential(
  (0): Linear(in_features=784, out_features=1024, bias=True)
  (1): ReLU()
  (2): Linear(in_features=1024, out_features=1024, bias=True)
  (3): ReLU()
  (4): Linear(in_features=1024, out_features=10, bias=True)
)
EOF
fi
batch=${2:-256} seconds=${3:-3} list=${4:-"1x1 2x1 1x2"}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none

echo "| ranks x threads | samples/s (all ranks) | per rank | vs 1x1 |"
echo "|---|---|---|---|"
base=
for rt in $list; do
    r=${rt%x*} t=${rt#*x}
    bind=; [ "$t" -gt 1 ] && bind="--bind-to none"
    json=$("$MPIRUN" --oversubscribe $bind -n "$r" "$LAMINA_BIN" bench --mpi --json -t "$t" "$model" \
        --batch "$batch" --seconds "$seconds" </dev/null)
    sps=$(echo "$json" | sed 's/.*"samples_per_second": \([0-9.]*\), "gflops".*/\1/')
    per=$(echo "$json" | grep -o '"rank": [0-9]*, "samples": [0-9]*, "seconds": [0-9.]*, "samples_per_second": [0-9.]*' |
        sed 's/.*"samples_per_second": \([0-9.]*\)/\1/' | awk '{printf "%s%.0f", (NR > 1 ? " / " : ""), $1}')
    [ -n "$base" ] || base=$sps
    printf "| %s x %s | %.0f | %s | %.2fx |\n" "$r" "$t" "$sps" "$per" "$(echo "$sps / $base" | bc -l)"
done

#!/bin/sh
# fuzz/run-fuzzers.sh BUILDDIR [TARGET...] — run each libFuzzer target built
# in BUILDDIR (./configure --enable-fuzzing, see fuzz/local.mk) for
# FUZZ_SECONDS (default 60) from its committed seed corpus, with its dict.
# `make fuzz-check` in a fuzzing build tree runs it.
#
# The committed corpus is only read: new inputs go to a temporary working
# corpus (FUZZ_WORK, default a fresh directory under $TMPDIR), first on the
# command line, so libFuzzer writes there.  A crash, leak, timeout or
# out-of-memory fails the run; the log (with the stack) is printed, and the
# reproducer's path and its bytes in base64 (`base64 -d > crash`, then
# `./fuzz/TARGET crash`), because a CI machine's /tmp does not outlive it.
# The working directory is kept after a failure and removed after success.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:?usage: fuzz/run-fuzzers.sh BUILDDIR [TARGET...]}
shift
secs=${FUZZ_SECONDS:-60}
work=${FUZZ_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/lamina-fuzz.XXXXXX")}
targets=${*:-fuzz_safetensors fuzz_npy fuzz_model}

# stacks need llvm-symbolizer; Debian's llvm-14 has it only under its own bin
command -v llvm-symbolizer >/dev/null 2>&1 || PATH=$PATH:/usr/lib/llvm-14/bin
# a UBSan finding shows its stack too (ASan reports always do)
UBSAN_OPTIONS="print_stacktrace=1 ${UBSAN_OPTIONS:-}"
export UBSAN_OPTIONS

status=0
for t in $targets; do
    case $t in
    fuzz_safetensors) dict=safetensors.dict seeds=tests/io/corpus/safetensors ;;
    fuzz_npy) dict=npy.dict seeds=tests/io/corpus/npy ;;
    fuzz_model) dict=model.dict seeds=tests/model/corpus ;;
    *) echo "run-fuzzers: unknown target $t" >&2; exit 2 ;;
    esac
    w=$work/$t
    mkdir -p "$w/corpus" "$w/artifacts"
    echo "== fuzz: $t for ${secs}s from $seeds ($(ls "$top/$seeds" | wc -l) seeds)"
    # -timeout: one input taking 30 s is a finding (a hang or quadratic work);
    # -rss_limit_mb/-malloc_limit_mb: so is asking for more than 2 GB.
    "$bin/fuzz/$t" -max_total_time="$secs" -timeout=30 -rss_limit_mb=2048 \
        -dict="$top/fuzz/$dict" -artifact_prefix="$w/artifacts/" -print_final_stats=1 \
        "$w/corpus" "$top/$seeds" >"$w/log" 2>&1
    rc=$?
    if [ $rc -eq 0 ]; then
        grep -E '^#[0-9]+[[:space:]]+DONE' "$w/log" | tail -n 1
        grep -E '^stat::(number_of_executed_units|new_units_added):' "$w/log" | tr -s ' \n' '  '
        echo
        continue
    fi
    status=1
    echo "FAIL: $t exited with $rc; log $w/log:"
    # from the first sanitizer or libFuzzer report to the end
    awk '/^==[0-9]+==|ERROR: libFuzzer|^SUMMARY|runtime error|deadly signal/ {p = 1} p' "$w/log" | head -n 200
    for a in "$w"/artifacts/*; do
        [ -f "$a" ] || continue
        echo "reproducer: $a ($(wc -c <"$a") bytes); base64:"
        head -c 65536 "$a" | base64
    done
done
if [ $status -eq 0 ] && [ -z "${FUZZ_WORK:-}" ]; then
    rm -rf "$work"
else
    echo "fuzz working directory: $work"
fi
exit $status

#!/bin/sh
# Thread creation that fails must not end the process (issue 12.3).  With
# OpenMP, libgomp printed "libgomp: Thread creation failed" and exit(1)ed the
# whole program when pthread_create failed inside a parallel region.  Here
# `lamina run`, `lamina bench` and an embedding program (thread_limits) ask
# for 64 threads where only a few can be started, and must succeed with the
# 1-thread output, bit for bit, saying so in one warning ("lamina: warning:
# threads: could not start thread K of 64 (...); running on K-1 threads" from
# the command; through the log callback, nothing on stderr, in the program).
#
# Two limits:
#  - address space: `ulimit -s 262144` makes every thread stack 256 MiB (glibc
#    sizes default stacks from RLIMIT_STACK), `ulimit -v` 2 GiB leaves room
#    for a few.  RLIMIT_AS holds for root too, so this part always runs.
#  - processes: RLIMIT_NPROC (`ulimit -u`, through prlimit) a few above what
#    the user already runs.  Linux does not enforce it for root, so as root
#    this part runs as `nobody` through setpriv (when the build tree is
#    readable by it), else is skipped.
# Needs LAMINA_BIN and THREAD_LIMITS_BIN (set by `make check`).
set -u
: "${LAMINA_BIN:?}" "${THREAD_LIMITS_BIN:?}"
TL=$THREAD_LIMITS_BIN
if [ "$("$TL" threads 64)" != 64 ]; then
    echo "SKIP: this build runs serially (--disable-openmp)"
    exit 77
fi
if "$TL" sanitized; then
    echo "SKIP: sanitizers reserve more address space than ulimit -v leaves"
    exit 77
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/lamina-threads.XXXXXX") || exit 99
chmod 755 "$T"
trap 'rm -rf "$T"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

cat > "$T/m.lam" <<'EOF'
Sequential(
  (0): Linear(in_features=64, out_features=256, bias=True)
  (1): ReLU()
  (2): Linear(in_features=256, out_features=16, bias=True)
)
EOF
"$TL" input "$T/x.npy" 1024 64 || exit 99
"$LAMINA_BIN" run "$T/m.lam" --seed 3 -i "$T/x.npy" -o "$T/ref.npy" --threads 1 || exit 99

# check LIMIT RUNNER...: the three programs under a limit
check() {
    what=$1
    shift
    failed_before=$fail
    fail=0
    rm -f "$T/y.npy"
    "$@" "$LAMINA_BIN" run "$T/m.lam" --seed 3 -i "$T/x.npy" -o "$T/y.npy" --threads 64 \
        > "$T/out" 2> "$T/err"
    rc=$?
    [ $rc -eq 0 ] || bad "$what: lamina run exited $rc: $(cat "$T/err")"
    grep -q "^lamina: warning: threads: could not start thread [0-9]* of 64 (.*); running on [0-9]* thread" \
        "$T/err" || bad "$what: lamina run: no warning: $(cat "$T/err")"
    cmp -s "$T/y.npy" "$T/ref.npy" || bad "$what: lamina run: output differs from 1 thread"

    "$@" "$LAMINA_BIN" bench "$T/m.lam" --batch 1024 --seconds 0.2 --threads 64 \
        > "$T/out" 2> "$T/err"
    rc=$?
    [ $rc -eq 0 ] || bad "$what: lamina bench exited $rc: $(cat "$T/err")"
    grep -q "samples/s" "$T/out" || bad "$what: lamina bench output: $(cat "$T/out")"
    grep -q "^lamina: warning: threads: could not start thread" "$T/err" ||
        bad "$what: lamina bench: no warning: $(cat "$T/err")"

    "$@" "$TL" embed 64 > "$T/out" 2> "$T/err"
    rc=$?
    [ $rc -eq 0 ] || bad "$what: embedding program exited $rc: $(cat "$T/out" "$T/err")"
    [ -s "$T/err" ] && bad "$what: the library wrote to stderr: $(cat "$T/err")"
    grep -q "^warnings: [1-9].*: threads: could not start thread" "$T/out" ||
        bad "$what: embedding program: no warning through the callback: $(cat "$T/out")"
    grep -q "^same bits$" "$T/out" || bad "$what: embedding program: $(cat "$T/out")"
    [ $fail -eq 0 ] && echo "$what: ok ($(grep '^warnings' "$T/out"))"
    [ $failed_before -eq 0 ] || fail=1
}

# ---- address space ----
small_vm() { (ulimit -s 262144 && ulimit -v 2097152 && exec "$@"); }
check "ulimit -v" small_vm

# ---- processes ----
# tasks (threads) whose real uid is $1, as RLIMIT_NPROC counts them
tasks_of() {
    cat /proc/[0-9]*/task/[0-9]*/status 2>/dev/null | awk -v u="$1" '$1 == "Uid:" && $2 == u' | wc -l
}
# run "$@" with RLIMIT_NPROC $1 (dash's ulimit has no -u)
with_nproc() {
    n=$1
    shift
    if command -v prlimit > /dev/null; then
        prlimit --nproc="$n:$n" -- "$@"
    else
        bash -c 'ulimit -u "$0" && exec "$@"' "$n" "$@"
    fi
}
if ! command -v prlimit > /dev/null && ! command -v bash > /dev/null; then
    echo "ulimit -u: skipped (neither prlimit nor bash)"
elif [ "$(id -u)" != 0 ]; then
    few_tasks() { with_nproc $(($(tasks_of "$(id -u)") + 4)) "$@"; }
    check "ulimit -u" few_tasks
elif command -v setpriv > /dev/null &&
    setpriv --reuid=65534 --regid=65534 --clear-groups \
        sh -c 'test -x "$1" && test -r "$2" && "$3" threads 2 > /dev/null' sh \
        "$LAMINA_BIN" "$T/x.npy" "$TL" 2> /dev/null; then
    # the limit first: setpriv then drops root, and with it the exemption
    few_tasks() {
        with_nproc $(($(tasks_of 65534) + 4)) setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
    }
    chmod 777 "$T"
    check "ulimit -u (as nobody)" few_tasks
else
    echo "ulimit -u: skipped (root, and no setpriv or a build tree that nobody can read)"
fi
exit $fail

#!/bin/sh
# Files written by lamina must load in PyTorch and numpy.  Runs under
# `make check`; skips (exit 77) when no Python with torch and numpy is found.
# Python: $PYTHON, else python3, else /usr/bin/python3 (Debian's python3-torch).
set -e
srcdir=${srcdir:-.}
py=
for c in "$PYTHON" python3 /usr/bin/python3; do
    [ -n "$c" ] || continue
    if "$c" -c 'import torch, numpy' >/dev/null 2>&1; then py=$c; break; fi
done
if [ -z "$py" ]; then
    echo "SKIP: no python3 with torch and numpy"
    exit 77
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/lamina-io-torch.XXXXXX")
trap 'rm -rf "$dir"' EXIT
./tests/io/save-sample "$dir"
"$py" "$srcdir/tools/gen-io-fixtures.py" --verify-saved "$dir"

#!/bin/sh
# Every torchvision 0.14 classification family from print(model) + state_dict
# through `lamina run --plugin torchvision`, against PyTorch's output in the
# same run (tests/torchvision/check.py says how).  Needs /usr/bin/python3
# with torch, torchvision and numpy (Debian: python3-torch,
# python3-torchvision); without them it is skipped (exit 77) with the reason.
set -u
: "${LAMINA_BIN:?}" "${LAMINA_SRCDIR:?}"
py=
for c in "${PYTHON:-}" /usr/bin/python3 python3; do
    [ -n "$c" ] || continue
    if "$c" -c 'import torch, torchvision, numpy' >/dev/null 2>&1; then py=$c; break; fi
done
if [ -z "$py" ]; then
    echo "SKIP: no python3 with torch, torchvision and numpy (Debian: apt-get install python3-torch python3-torchvision)"
    exit 77
fi
exec "$py" "$LAMINA_SRCDIR/tests/torchvision/check.py" "$LAMINA_BIN" \
    "$LAMINA_SRCDIR/tools/lamina-export" "$@"

#!/bin/sh
# runtime/ is one folder a subsystem, and each folder uses only the folders
# before it in this list (docs/architecture.md):
#
#   core tensor module layers ops exec nn plugin io model
#
# This checks it twice: in the source (a file's #include "runtime/F/..."
# names only its own folder or an earlier one) and in the built objects (a
# symbol an object of folder F needs is defined in F or an earlier folder,
# read with nm).  It also fails on a file in runtime/'s root or a folder
# missing from the list, so a new subsystem has to take its place in it.
# Run from the build directory by `make check` (srcdir set by automake).
set -u
order="core tensor module layers ops exec nn plugin io model"
src=${srcdir:-.}/runtime
build=runtime
NM=${NM:-nm}
status=0

rank() {
  r=0
  for f in $order; do
    [ "$f" = "$1" ] && { echo $r; return; }
    r=$((r + 1))
  done
  echo -1
}

fail() {
  echo "layering: $*"
  status=1
}

# 1. runtime/'s root holds only folders and local.mk; every folder is ranked.
for p in "$src"/*; do
  name=${p##*/}
  if [ -d "$p" ]; then
    [ "$(rank "$name")" -ge 0 ] || fail "runtime/$name/ is not in the folder order ($order)"
  elif [ "$name" != local.mk ]; then
    fail "runtime/$name sits in runtime/'s root: put it in its subsystem's folder"
  fi
done
for f in $order; do
  [ -d "$src/$f" ] || fail "runtime/$f/ is in the order but does not exist"
done

# 2. includes
for f in $order; do
  rf=$(rank "$f")
  for file in "$src/$f"/*.c "$src/$f"/*.h; do
    [ -f "$file" ] || continue
    for g in $(sed -n 's|^[[:space:]]*#[[:space:]]*include[[:space:]]*"runtime/\([^/"]*\)/.*|\1|p' "$file"); do
      rg=$(rank "$g")
      if [ "$rg" -lt 0 ] || [ "$rg" -gt "$rf" ]; then
        fail "runtime/$f/${file##*/} includes runtime/$g/: $f must not use $g (order: $order)"
      fi
    done
  done
done

# 3. symbols of the built objects (libtool puts PIC objects in .libs/)
tmp=${TMPDIR:-/tmp}/lamina-layering.$$
trap 'rm -f "$tmp".*' EXIT INT TERM
: >"$tmp.sym"
nobj=0
for f in $order; do
  for o in "$build/$f"/.libs/*.o "$build/$f"/*.o; do
    [ -f "$o" ] || continue
    c=${o##*/}
    c=${c#liblamina_la-}
    [ -f "$src/$f/${c%.o}.c" ] || continue # left over from a moved source
    nobj=$((nobj + 1))
    $NM "$o" | awk -v f="$f" -v o="$f/${o##*/}" '
      NF == 3 && $2 ~ /^[TDBRV]$/ { print "D", $3, f }
      NF == 2 && $1 == "U" { print "U", $2, f, o }' >>"$tmp.sym" || fail "$NM $o failed"
  done
done
if [ "$nobj" -eq 0 ]; then
  fail "no objects under $build/ (run from the build directory after make)"
else
  bad=$(awk -v order="$order" '
    BEGIN { n = split(order, o, " "); for (i = 1; i <= n; i++) r[o[i]] = i }
    FNR == NR { if ($1 == "D") def[$2] = $3; next }
    $1 == "U" && ($2 in def) && r[def[$2]] > r[$3] {
      print "runtime/" $4 " uses " $2 " from runtime/" def[$2] "/: " $3 " must not use " def[$2]
    }' "$tmp.sym" "$tmp.sym" | sort -u)
  if [ -n "$bad" ]; then
    echo "$bad" | sed 's/^/layering: /'
    status=1
  fi
fi

[ $status -eq 0 ] && echo "layering: runtime/ folders use only earlier ones ($order; $nobj objects)"
exit $status

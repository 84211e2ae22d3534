#!/bin/sh
# Print the version that include/lamina/version.h declares ("0.1.0", no
# newline), from its LAM_VERSION_MAJOR/MINOR/PATCH lines.  configure runs it
# to check that the header and AC_INIT in configure.ac say the same.
top=$(dirname "$0")/..
exec awk '
    $1 == "#define" && $2 == "LAM_VERSION_MAJOR" { ma = $3 }
    $1 == "#define" && $2 == "LAM_VERSION_MINOR" { mi = $3 }
    $1 == "#define" && $2 == "LAM_VERSION_PATCH" { pa = $3 }
    END {
        if (ma == "" || mi == "" || pa == "") { print "version.sh: no version in version.h" > "/dev/stderr"; exit 1 }
        printf "%s.%s.%s", ma, mi, pa
    }' "$top/include/lamina/version.h"

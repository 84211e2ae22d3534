#!/bin/sh
# The numeric tests on the AVX-512 table, or a skip saying why; see tests/max-isa.sh.
exec "$(dirname "$0")/max-isa.sh" avx512

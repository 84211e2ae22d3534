#!/bin/sh
# The numeric tests on the AVX2 table (also on an AVX-512 machine); see tests/max-isa.sh.
exec "$(dirname "$0")/max-isa.sh" avx2

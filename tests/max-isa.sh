#!/bin/sh
# tests/max-isa.sh ISA — the PyTorch-fixture tests, test_zero_size and the
# threading tests once more with LAMINA_MAX_ISA=ISA, so that every kernel
# table the machine has runs the numeric tests (tests/scalar-isa.sh does the
# same for scalar).  Run from the build directory through the wrappers
# tests/avx2-isa.sh and tests/avx512-isa.sh.  Exit 77 (skipped), saying why,
# when this build or CPU does not give that table: `lamina info` says which
# table LAMINA_MAX_ISA=ISA selects.
set -e
isa=$1
got=$(LAMINA_MAX_ISA=$isa ./tools/lamina info 2>/dev/null | sed -n 's/^kernel isa: *\([a-z0-9]*\).*/\1/p')
if [ "$got" != "$isa" ]; then
  case $isa in
    avx512)
      if grep -q '^#define LAM_HAVE_AVX512 1' config.h 2>/dev/null; then
        why="CPU lacks AVX-512F/VL/BW/DQ or OS did not enable ZMM state"
      else
        why="this build has no AVX-512 kernels (configure: no compiler or SLEEF support, or --disable-avx512)"
      fi ;;
    avx2) why="CPU lacks AVX2/FMA or OS did not enable YMM state, or not an x86-64 build" ;;
    *) why="no $isa table in this build" ;;
  esac
  echo "LAMINA_MAX_ISA=$isa: skipped: $why (the kernels run: ${got:-unknown})"
  exit 77
fi
status=0
for t in tests/test_layers tests/test_conv tests/test_vision tests/test_norms tests/test_models tests/test_ops tests/test_zero_size tests/test_rnn tests/threads/test_threads tests/test_attention tests/test_transformer tests/test_gpt; do
  if [ -x "$t" ]; then
    echo "== LAMINA_MAX_ISA=$isa $t"
    LAMINA_MAX_ISA=$isa ./$t || status=1
  fi
done
exit $status

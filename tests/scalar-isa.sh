#!/bin/sh
# The PyTorch-fixture tests (and test_zero_size, whose Linear(0, n) runs GEMMs
# with K = 0) once more with LAMINA_MAX_ISA=scalar, so that the
# scalar kernels (the fallback on CPUs without AVX2/NEON) are checked too.
set -e
status=0
for t in tests/test_layers tests/test_conv tests/test_vision tests/test_norms tests/test_models tests/test_ops tests/test_zero_size tests/test_rnn tests/threads/test_threads tests/test_attention tests/test_transformer tests/test_gpt; do
  if [ -x "$t" ]; then
    echo "== LAMINA_MAX_ISA=scalar $t"
    LAMINA_MAX_ISA=scalar ./$t || status=1
  fi
done
exit $status

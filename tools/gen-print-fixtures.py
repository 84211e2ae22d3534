#!/usr/bin/python3
"""Write the fixture that lamina's tensor printing is compared against, byte
for byte: PyTorch's str(tensor) (what print(tensor) writes) for float32
tensors of 1 to 4 dimensions, default print options (precision 4, threshold
1000, edgeitems 3, linewidth 80).

Run with Debian's python3-torch (PyTorch 1.13):

    /usr/bin/python3 tools/gen-print-fixtures.py [OUTDIR]   # default: tests/fixtures

It writes OUTDIR/print/print.txt in the format tests/fixture.c reads (see
tools/gen-fixtures.py): a `list cases` of names, then for each case a
`tensor NAME` holding the values and a `text NAME` holding str(tensor).  The
file is committed; the test (tests/test_tensor_print.c) needs no PyTorch.
Deterministic: values come from torch.manual_seed or from exact formulas.

lamina's tensors have 1 to 4 dimensions, so 0-d tensors are not covered.
"""

import math
import os
import sys

import torch

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'fixtures')

assert torch.__version__.startswith('1.13'), torch.__version__

nan, inf = float('nan'), float('inf')
cases = []


def case(name, t):
    t = t.detach().to(torch.float32).contiguous()
    assert 1 <= t.dim() <= 4, (name, t.shape)
    cases.append((name, t))


def seeded(seed, *shape, scale=1.0):
    torch.manual_seed(seed)
    return torch.randn(*shape) * scale


def exact(*shape, mod=2003, div=8.0):
    """Values k / div with integer k (exact in float32, short in the file)."""
    n = 1
    for d in shape:
        n *= d
    k = (torch.arange(n, dtype=torch.int64) * 7919) % mod - mod // 2
    return (k.double() / div).float().reshape(*shape)


# ---- non-finite values: they take no part in the int/sci/width choice ----
case('nan_inf_int', torch.tensor([[nan, 1., -inf, inf]]))  # lamina issue 12
case('nan_inf_float', torch.tensor([nan, 1.5, -inf, inf, -2.25]))
case('nan_inf_sci', torch.tensor([nan, 1e-6, 1., inf, -inf]))
case('nonfinite_only', torch.tensor([nan, inf, -inf]))
case('nan_zero', torch.tensor([nan, 0., -0.]))
case('inf_wide_float', torch.tensor([[-inf, 123.5], [0.25, nan]]))

# ---- zeros and negative zero ----
case('zeros', torch.zeros(3))
case('zeros_2d', torch.zeros(2, 3))
case('neg_zero_int', torch.tensor([-0., 0., 1., 2.]))
case('neg_zero_float', torch.tensor([-0., 0.5, -1.25]))
case('neg_zero_sci', torch.tensor([-0., 1e-5, 3.]))
case('neg_zero_only', torch.tensor([-0., -0.]))

# ---- integral values (int mode) ----
case('ints', torch.tensor([1., 2., 300., -4.]))
case('ints_negative_wide', torch.tensor([[-1., 100.], [-1000., 5.]]))
case('ints_ratio_sci', torch.tensor([1., 10000.]))        # max/min > 1000
case('ints_large_sci', torch.tensor([1e9, 2e9, 3e9]))      # max > 1e8
case('ints_1e8', torch.tensor([1e8, 2e8 / 2]))              # not > 1e8
case('ints_1000_ratio', torch.tensor([1., 1000.]))          # not > 1000
case('ints_arange', torch.arange(12.).reshape(3, 4))

# ---- fractions: fixed or scientific ----
case('floats', torch.tensor([0.5, -1.25, 3.125]))
case('rounding', torch.tensor([0.12345, 0.99995, 9.99995, 123.45678, -0.00015]))
case('float_small_sci', torch.tensor([1e-5, 0.5]))          # min < 1e-4
case('float_1e-4', torch.tensor([1e-4, 0.05]))              # not < 1e-4
case('float_large_sci', torch.tensor([1.5e9, 2.5]))
case('float_ratio_sci', torch.tensor([0.001, 2.5]))         # ratio 2500
case('float_ratio_1000', torch.tensor([0.002, 2.0]))
case('subnormal', torch.tensor([1e-40, -3e-45, 1e-38]))
case('float_max', torch.tensor([3.4e38, -3.4e38, 1.5]))
case('sci_negative_exponents', torch.tensor([[1.5e-20, -2.5e-30], [7e-12, 1.]]))
case('big_magnitudes', torch.tensor([12345678.5, -0.5, 99999.25]))

# ---- 1-D to 4-D, random values ----
case('randn_1d', seeded(1, 10))
case('randn_2d', seeded(2, 3, 4))
case('randn_3d', seeded(3, 2, 3, 4))
case('randn_4d', seeded(4, 2, 2, 3, 2))
case('randn_4d_sci', seeded(5, 2, 1, 2, 3, scale=1e-5))
case('randn_3d_int', torch.round(seeded(6, 2, 2, 3, scale=50.)))
case('single', torch.tensor([2.5]))
case('single_4d', torch.tensor([[[[-7.]]]]))

# ---- long rows wrap at 80 columns, indented under the first bracket ----
case('wrap_1d', seeded(10, 30))
case('wrap_1d_int', torch.arange(40.))
case('wrap_1d_sci', seeded(11, 20, scale=1e-6))
case('wrap_2d', seeded(12, 3, 25))
case('wrap_3d', seeded(13, 2, 2, 20))
case('wrap_4d', seeded(14, 1, 2, 2, 15))
case('wrap_4d_sci', seeded(15, 2, 1, 1, 9, scale=1e10))
case('wrap_nan', torch.cat([seeded(16, 17), torch.tensor([nan, inf, -inf])]))
case('exactly_1000', exact(10, 100))                        # not summarised

# ---- more than 1000 elements: summarised with "..." in every long dim ----
case('sum_1d', seeded(20, 1001))
case('sum_1d_int_sci', torch.arange(2000.))                 # int mode, ratio -> sci
case('sum_1d_sci_wrap', seeded(21, 1001, scale=1e-5))       # 7 items wrap
case('sum_1d_hidden_extremes',                              # the middle does not count
     torch.cat([exact(3), torch.tensor([1e10, nan, 1e-10]), exact(1500), exact(3) * 2]))
case('sum_2d', exact(40, 30))
case('sum_2d_randn', seeded(22, 40, 30))
case('sum_2d_int', torch.round(exact(40, 30)))
case('sum_2d_rows', exact(1001, 1))                          # only dim 0 long
case('sum_2d_cols', exact(2, 600))                           # only dim 1 long
case('sum_2d_short_rows', exact(3, 400))
case('sum_3d', exact(11, 10, 10))
case('sum_3d_last', exact(2, 3, 200))
case('sum_3d_first', exact(200, 2, 3))
case('sum_3d_randn', seeded(23, 12, 12, 12))
case('sum_4d', exact(7, 7, 7, 7))
case('sum_4d_last', exact(2, 2, 2, 126))
case('sum_4d_randn_sci', seeded(24, 3, 4, 5, 20, scale=1e7))
case('sum_4d_nan', torch.where(exact(8, 2, 8, 8) > 10, torch.tensor(nan), exact(8, 2, 8, 8)))

# ---- no elements ----
case('empty_1d', torch.zeros(0))
case('empty_2d', torch.zeros(0, 3))
case('empty_2d_cols', torch.zeros(3, 0))
case('empty_3d', torch.zeros(2, 0, 3))
case('empty_4d', torch.zeros(1, 2, 3, 0))
case('empty_huge', torch.empty(0, 10**18, 10**18, 10**18))  # size= wraps to its own line


def write(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    parts = ['# lamina test fixture: str(tensor) of float32 tensors\n',
             '# generated by tools/gen-print-fixtures.py with torch %s; do not edit\n'
             % torch.__version__]
    parts.append('list cases %d\n' % len(cases))
    parts.extend(name + '\n' for name, _ in cases)
    for name, t in cases:
        parts.append('tensor %s %d %s\n' % (name, t.dim(), ' '.join(str(d) for d in t.shape)))
        vals = t.reshape(-1).tolist()
        for i in range(0, len(vals), 10):
            parts.append(' '.join('%.9g' % v for v in vals[i:i + 10]) + '\n')
        text = str(t)
        lines = text.split('\n')
        parts.append('text %s %d\n' % (name, len(lines)))
        parts.extend(line + '\n' for line in lines)
    with open(path, 'w') as f:
        f.write(''.join(parts))


names = [n for n, _ in cases]
assert len(names) == len(set(names)), 'duplicate case names'
write(os.path.join(OUT, 'print', 'print.txt'))

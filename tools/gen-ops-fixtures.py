#!/usr/bin/python3
"""Write the PyTorch fixture of lamina's tensor ops (<lamina/ops.h>),
read by tests/test_ops.c.

Run with Debian's python3-torch (PyTorch 1.13):

    /usr/bin/python3 tools/gen-ops-fixtures.py [OUTDIR]   # default: tests/fixtures

It writes OUTDIR/ops/ops.txt in the format of tools/gen-fixtures.py (whose
Writer it uses), and OUTDIR/ops/gated_residual.txt: a module whose forward is
written with the ops (repr, state_dict, input, output).  Deterministic: same
inputs, same files.

Each case i is a group of entries named "c<i>.*":

    text c<i>.op        the op: add, matmul, softmax, ... (test_ops.c maps it)
    list c<i>.args      its non-tensor arguments as strings (dims, scalars, sizes)
    int  c<i>.nin       number of input tensors, c<i>.in0 ...
    then either
    int  c<i>.nout      number of outputs, c<i>.out0 ... (split/chunk have several)
    int  c<i>.exact     1 when the result must match bit for bit (one IEEE
                        operation per element, or a copy), else it is within
                        the tolerance of tests/fixture.h
    tensor c<i>.tol0    matmul, linear: the float32 dot product's error bound
                        per element (2 K 2^-24 sum_k |a_k b_k|), allowed on
                        top of that tolerance
    or, for a call torch refuses,
    text c<i>.torch_error  str() of torch's exception
    text c<i>.error        the message lamina gives: torch's, except where
                           <lamina/ops.h> says otherwise (permute)
    text c<i>.status       lamina's status: index (torch's IndexError),
                           shape or invalid

Expected values are torch's op computed in float64 on the float32 inputs
(scalars rounded to float32 first, as torch does for a float32 tensor),
rounded to float32.  Where torch gives a 0-dim tensor, lamina gives shape
[1], and so does the fixture.
"""

import importlib.util
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('gen_fixtures', os.path.join(HERE, 'gen-fixtures.py'))
gen_fixtures = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen_fixtures)
Writer = gen_fixtures.Writer

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, '..', 'tests', 'fixtures')


def f32(v):
    """A double scalar as torch uses it with a float32 tensor."""
    return float(torch.tensor(v, dtype=torch.float32))


def call(op, ins, args):
    """The op in torch; ins are float64 tensors."""
    a = args
    if op in ('add', 'sub', 'mul', 'div'):
        return getattr(torch, op)(ins[0], ins[1])
    if op.endswith('_scalar'):
        s = f32(float(a[0]))
        x = ins[0]
        return {'add_scalar': lambda: x + s, 'sub_scalar': lambda: x - s,
                'rsub_scalar': lambda: s - x, 'mul_scalar': lambda: x * s,
                'div_scalar': lambda: x / s, 'rdiv_scalar': lambda: s / x}[op]()
    if op in ('sigmoid', 'tanh', 'relu'):
        return getattr(torch, op)(ins[0])
    if op == 'silu':
        return F.silu(ins[0])
    if op == 'gelu':
        return F.gelu(ins[0], approximate=a[0])
    if op in ('softmax', 'log_softmax'):
        return getattr(torch, op)(ins[0], int(a[0]))
    if op == 'matmul':
        return torch.matmul(ins[0], ins[1])
    if op == 'linear':
        return F.linear(ins[0], ins[1], ins[2] if len(ins) > 2 else None)
    if op == 'cat':
        return torch.cat(ins, int(a[0]))
    if op == 'split':
        return torch.split(ins[0], int(a[0]), int(a[1]))
    if op == 'split_sizes':
        return torch.split(ins[0], [int(v) for v in a[1:]], int(a[0]))
    if op == 'chunk':
        return torch.chunk(ins[0], int(a[0]), int(a[1]))
    if op == 'view':
        return ins[0].reshape([int(v) for v in a])
    if op == 'flatten':
        return torch.flatten(ins[0], int(a[0]), int(a[1]))
    if op == 'narrow':
        return torch.narrow(ins[0], int(a[0]), int(a[1]), int(a[2]))
    if op == 'transpose':
        return torch.transpose(ins[0], int(a[0]), int(a[1]))
    if op == 'permute':
        return ins[0].permute(*[int(v) for v in a])
    if op == 'contiguous':
        return ins[0].contiguous()
    if op in ('sum', 'mean'):
        dims = [int(v) for v in a[1:]]
        keep = a[0] == '1'
        f = getattr(torch, op)
        if not dims:
            return f(ins[0], dim=(), keepdim=keep) if keep else f(ins[0])
        return f(ins[0], dim=dims, keepdim=keep)
    raise ValueError(op)


EXACT = {'add', 'sub', 'mul', 'div', 'add_scalar', 'sub_scalar', 'rsub_scalar', 'mul_scalar',
         'div_scalar', 'rdiv_scalar', 'relu', 'cat', 'split', 'split_sizes', 'chunk', 'view',
         'flatten', 'narrow', 'transpose', 'permute', 'contiguous'}


class Cases:
    def __init__(self, w):
        self.w = w
        self.n = 0
        self.seed = 1000

    def inputs(self, shapes, scale=2.0, positive=False):
        self.seed += 1
        torch.manual_seed(self.seed)
        xs = []
        for s in shapes:
            x = torch.randn(*s) * scale
            if positive:  # divisors: away from zero, both signs
                x = torch.sign(x + 1e-3) * (x.abs() + 0.5)
            xs.append(x)
        return xs

    def case(self, op, ins, args=(), status=None, lamina_error=None):
        """One case; ins are float32 tensors.  status set: torch must refuse."""
        w, p = self.w, 'c%d.' % self.n
        args = [str(v) for v in args]
        w.text(p + 'op', op)
        w.list(p + 'args', args)
        w.int(p + 'nin', len(ins))
        for i, x in enumerate(ins):
            w.tensor(p + 'in%d' % i, x)
        try:
            with torch.no_grad():
                y = call(op, [x.double() for x in ins], args)
        except (RuntimeError, IndexError) as e:
            assert status, (op, [tuple(x.shape) for x in ins], args, str(e))
            w.text(p + 'torch_error', str(e))
            w.text(p + 'error', lamina_error or str(e))
            w.text(p + 'status', status)
        else:
            assert not status, (op, [tuple(x.shape) for x in ins], args, 'did not fail')
            ys = list(y) if isinstance(y, tuple) else [y]
            w.int(p + 'nout', len(ys))
            w.int(p + 'exact', 1 if op in EXACT else 0)
            for i, t in enumerate(ys):
                w.tensor(p + 'out%d' % i, t.float().reshape(t.shape if t.dim() else (1,)))
            if op in ('matmul', 'linear'):
                # a float32 dot product of K terms is within K u sum|a_k b_k|
                # (u = 2^-24) of the exact value; twice that is allowed
                k = ins[0].shape[-1]
                with torch.no_grad():
                    bound = call(op, [x.double().abs() for x in ins], args) * (k * 2.0 ** -23)
                w.tensor(p + 'tol0', bound.float().reshape(bound.shape if bound.dim() else (1,)))
        self.n += 1

    def close(self):
        self.w.int('ncases', self.n)
        self.w.close()


def gen(c):
    # ---- elementwise with broadcasting ----
    shapes = [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((1,), (2, 3)), ((2, 3), (1,)),
              ((4,), (3, 4)), ((2, 3, 4), (3, 1)), ((2, 1, 4), (3, 1)), ((2, 3, 1, 5), (4, 1)),
              ((2, 1, 3, 1), (1, 4, 1, 5)), ((5, 1, 1, 1), (2, 3, 4)), ((1, 1), (1, 1)),
              ((0, 3), (1, 3)), ((0, 3), (3,)), ((2, 0, 4), (2, 1, 4)), ((1, 40), (37, 1)),
              ((3, 1, 70), (3, 5, 70)), ((67,), (67,))]
    for op in ('add', 'sub', 'mul', 'div'):
        for sa, sb in shapes:
            a, b = c.inputs([sa, sb], positive=(op == 'div'))
            c.case(op, [a, b])
    for sa, sb in (((2, 3), (2, 4)), ((2, 3, 4), (5, 4)), ((0, 3), (2, 3)), ((4, 3), (3, 4)),
                   ((2, 6, 2, 3), (3, 1, 3))):
        for op in ('add', 'div'):
            a, b = c.inputs([sa, sb])
            c.case(op, [a, b], status='shape')
    # ---- with a scalar ----
    for op in ('add_scalar', 'sub_scalar', 'rsub_scalar', 'mul_scalar', 'div_scalar',
               'rdiv_scalar'):
        for s, shape in ((0.1, (3, 5)), (-2.5, (2, 3, 4)), (3.0, (37,)), (1e-3, (0, 2))):
            c.case(op, c.inputs([shape], positive=op == 'rdiv_scalar'), [repr(s)])
    # ---- activations ----
    x = gen_fixtures.act_input(7)
    for op in ('sigmoid', 'tanh', 'relu', 'silu'):
        c.case(op, [x])
        c.case(op, c.inputs([(2, 3, 37)], scale=4.0))
    for approx in ('none', 'tanh'):
        c.case('gelu', [x], [approx])
        c.case('gelu', c.inputs([(3, 1, 19)], scale=4.0), [approx])
    c.case('gelu', [x], ['fast'], status='invalid')
    for op in ('softmax', 'log_softmax'):
        for shape, dims in (((4, 6), (0, 1, -1, -2)), ((2, 3, 5), (0, 1, 2, -1)),
                            ((2, 3, 2, 4), (0, 1, 2, 3)), ((7,), (0, -1)), ((3, 70), (1,)),
                            ((0, 3), (0, 1)), ((2, 0), (1,))):
            for d in dims:
                c.case(op, c.inputs([shape], scale=4.0), [d])
        for shape, d in (((2, 3), 2), ((2, 3), -3), ((7,), 1), ((2, 3, 4), 3)):
            c.case(op, c.inputs([shape]), [d], status='index')
    # ---- matmul: every rank pair, broadcast batches, empty sizes ----
    for sa, sb in (((5,), (5,)), ((3, 5), (5,)), ((5,), (5, 4)), ((3, 5), (5, 4)),
                   ((2, 3, 5), (5, 4)), ((2, 3, 5), (5,)), ((5,), (2, 5, 4)), ((3, 5), (2, 5, 4)),
                   ((2, 3, 5), (2, 5, 4)), ((2, 1, 3, 5), (4, 5, 2)), ((3, 5), (2, 2, 5, 4)),
                   ((2, 2, 3, 5), (5, 1)), ((1, 3, 5), (2, 5, 4)), ((1, 3, 2, 5), (2, 1, 5, 4)),
                   ((13, 67), (67, 45)), ((3, 17, 9), (9, 40)), ((0, 5), (5, 4)),
                   ((3, 0), (0, 4)), ((2, 0, 3), (3, 4)), ((0,), (0,)), ((4, 2, 3), (4, 3, 0))):
        c.case('matmul', c.inputs([sa, sb]))
    for sa, sb in (((3,), (4,)), ((2, 3), (4,)), ((3,), (4, 5)), ((2, 3), (4, 5)),
                   ((2, 4, 3), (4, 5)), ((2, 4, 3), (4,)), ((3,), (2, 4, 5)), ((2, 3), (2, 4, 5)),
                   ((2, 1, 2, 3), (3, 4, 5)), ((2, 6, 2, 3), (3, 3, 5)), ((3, 2, 3), (3, 2, 4))):
        c.case('matmul', c.inputs([sa, sb]), status='shape')
    # ---- linear ----
    for sx, sw, sb in (((2, 3), (5, 3), (5,)), ((3,), (5, 3), (5,)), ((4, 2, 3), (5, 3), (5,)),
                       ((2, 2, 2, 3), (5, 3), None), ((2, 3), (5, 3), (1,)),
                       ((13, 67), (45, 67), (45,)), ((0, 3), (5, 3), (5,)),
                       ((2, 0), (5, 0), (5,)), ((2, 0), (5, 0), None), ((3, 4), (0, 4), (0,))):
        shapes = [sx, sw] + ([sb] if sb else [])
        c.case('linear', c.inputs(shapes))
    for sx, sw, sb in (((2, 3), (5, 4), None), ((3,), (5, 4), (2,)), ((4, 2, 3), (5, 4), (5,)),
                       ((2, 2, 2, 3), (5, 4), None), ((3,), (5, 3), (4,)), ((2, 3), (5, 3), (4,)),
                       ((4, 2, 3), (5, 3), (4,)), ((2, 2, 2, 3), (5, 3), (4,)),
                       ((0, 3), (5, 3), (2,)), ((2, 3), (5, 3, 1), None)):
        shapes = [sx, sw] + ([sb] if sb else [])
        c.case('linear', c.inputs(shapes), status='shape')
    # ---- cat ----
    for shapes, d in ((((2, 3), (4, 3)), 0), (((2, 3), (2, 1), (2, 4)), 1), (((2, 3), (2, 2)), -1),
                      (((2, 1, 3), (2, 4, 3)), 1), (((1, 2, 2, 2), (1, 2, 2, 3)), 3),
                      (((2, 3), (0,), (2, 3)), 1), (((0,), (2, 3)), 0), (((0,), (0,)), 0),
                      (((0, 3), (2, 3)), 0), (((3,),), 0)):
        c.case('cat', c.inputs(shapes), [d])
    for shapes, d, st in ((((2, 3), (3, 3)), 1, 'shape'), (((2, 3), (2, 3, 1)), 1, 'shape'),
                          (((2, 3), (2, 3)), 2, 'index'), (((2, 3), (1, 3), (2, 4)), 0, 'shape'),
                          (((0,), (2, 3), (2, 3, 1)), 1, 'shape'), (((0,), (2, 3)), 2, 'index'),
                          (((2, 3), (3, 3)), -1, 'shape')):
        c.case('cat', c.inputs(shapes), [d], status=st)
    # ---- split, chunk ----
    for shape, args in (((5, 3), (2, 0)), ((5, 3), (5, 0)), ((5, 3), (7, 0)), ((2, 7), (3, 1)),
                        ((2, 7), (3, -1)), ((2, 3, 4), (1, 1)), ((0, 3), (2, 0)), ((0, 3), (0, 0))):
        c.case('split', c.inputs([shape]), args)
    for shape, args in (((5, 3), (0, 2, 3)), ((2, 7), (1, 3, 0, 4)), ((2, 7), (-1, 7)),
                        ((3, 2, 4), (0, 1, 2))):
        c.case('split_sizes', c.inputs([shape]), args)
    for shape, args in (((5, 3), (3, 0)), ((6, 3), (4, 0)), ((1, 3), (3, 0)), ((0, 3), (2, 0)),
                        ((2, 7), (2, -1)), ((2, 9, 2), (4, 1))):
        c.case('chunk', c.inputs([shape]), args)
    for op, shape, args, st in (('split', (2, 3), (0, 1), 'invalid'),
                                ('split', (2, 3), (-1, 1), 'invalid'),
                                ('split', (2, 3), (1, 2), 'index'),
                                ('split_sizes', (2, 3), (1, 1, 1), 'shape'),
                                ('split_sizes', (2, 3), (-1, 1, 1), 'shape'),
                                ('split_sizes', (2, 3), (1, 1, -1, 3), 'invalid'),
                                ('chunk', (2, 3), (0, 1), 'invalid'),
                                ('chunk', (2, 3), (-1, 1), 'invalid'),
                                ('chunk', (2, 3), (2, -3), 'index')):
        c.case(op, c.inputs([shape]), args, status=st)
    # ---- views ----
    for shape, args in (((2, 3), (3, 2)), ((2, 3), (-1,)), ((2, 3), (6, -1)), ((2, 3, 4), (4, -1, 2)),
                        ((2, 3), (1, 2, 3, 1)), ((0, 3), (3, 0)), ((0, 3), (-1, 3))):
        c.case('view', c.inputs([shape]), args)
    for shape, args in (((2, 3), (4, 2)), ((2, 3), (-1, -1)), ((2, 3), (-1, 4)), ((2, 3), (-2, 3)),
                        ((2, 3), (0, -1)), ((0, 3), (0, -1)), ((0, 3), (-1, 0))):
        c.case('view', c.inputs([shape]), args, status='shape')
    for shape, args in (((2, 3, 4, 5), (0, -1)), ((2, 3, 4, 5), (1, 2)), ((2, 3, 4, 5), (-3, -2)),
                        ((2, 3), (0, 0)), ((7,), (0, -1))):
        c.case('flatten', c.inputs([shape]), args)
    for shape, args, st in (((2, 3), (1, 0), 'shape'), ((2, 3), (2, 2), 'index'),
                            ((2, 3, 4), (-1, 0), 'shape'), ((2, 3, 4), (0, 3), 'index')):
        c.case('flatten', c.inputs([shape]), args, status=st)
    for shape, args in (((4, 3), (0, 1, 2)), ((2, 5), (1, 1, 3)), ((2, 3, 4), (2, -3, 2)),
                        ((1, 1, 6), (2, 2, 3)), ((2, 3), (1, 3, 0)), ((2, 3), (1, -3, 3)),
                        ((2, 3), (-1, 0, 3)), ((0, 3), (0, 0, 0))):
        c.case('narrow', c.inputs([shape]), args)
    for shape, args, st in (((2, 3), (1, 2, 2), 'shape'), ((2, 3), (1, -4, 2), 'index'),
                            ((2, 3), (1, 4, 0), 'index'), ((2, 3), (1, 1, -1), 'shape'),
                            ((2, 3), (1, 3, 1), 'shape'), ((2, 3), (2, 1, 1), 'index')):
        c.case('narrow', c.inputs([shape]), args, status=st)
    for shape, args in (((2, 3), (0, 1)), ((2, 3, 4), (0, 2)), ((2, 3, 4), (-1, -2)),
                        ((2, 3, 4, 5), (1, 3)), ((3, 70), (0, 1)), ((2, 3), (1, 1)), ((0, 3), (0, 1))):
        c.case('transpose', c.inputs([shape]), args)
    c.case('transpose', c.inputs([(2, 3)]), (0, 2), status='index')
    c.case('transpose', c.inputs([(2, 3)]), (-1, -3), status='index')
    for shape, args in (((2, 3), (1, 0)), ((2, 3, 4), (2, 0, 1)), ((2, 3, 4, 5), (3, 1, 0, 2)),
                        ((2, 3, 4, 5), (0, 1, 2, 3)), ((2, 3), (1, -2)), ((2, 1, 37), (2, 1, 0))):
        c.case('permute', c.inputs([shape]), args)
    for shape, args, st in (((2, 3), (0,), 'shape'), ((2, 3), (1, 0, 2), 'shape'),
                            ((2, 3), (0, 0), 'invalid'), ((2, 3), (1, -1), 'invalid'),
                            ((2, 3), (0, 2), 'index')):
        torch_msg = None
        try:
            torch.zeros(shape).permute(*args)
        except (RuntimeError, IndexError) as e:
            torch_msg = str(e)
        lamina = torch_msg.replace('permute(sparse_coo):', 'permute():') if torch_msg else None
        c.case('permute', c.inputs([shape]), args, status=st, lamina_error=lamina)
    c.case('contiguous', c.inputs([(2, 3, 4)]))
    # ---- reductions ----
    for op in ('sum', 'mean'):
        for shape, keep, dims in (((3, 4), 0, (0,)), ((3, 4), 0, (1,)), ((3, 4), 1, (-1,)),
                                  ((3, 4), 0, ()), ((3, 4), 1, ()), ((3, 4), 0, (0, 1)),
                                  ((2, 3, 4), 0, (0, 2)), ((2, 3, 4), 1, (1,)), ((2, 3, 4, 5), 0, (1, 3)),
                                  ((2, 3, 4, 5), 1, (0, 2)), ((2, 3, 4, 5), 0, (3, 0, 1)),
                                  ((300, 7), 0, (0,)), ((7, 300), 0, (1,)), ((0, 3), 0, (1,)),
                                  ((5,), 0, (0,))):
            c.case(op, c.inputs([shape]), (keep,) + dims)
        # (the mean of no elements is NaN, which the fixture format cannot hold)
        if op == 'sum':
            c.case(op, c.inputs([(0, 3)]), (0, 0))
        for shape, dims, st in (((2, 3), (0, 0), 'invalid'), ((2, 3), (-1, 1), 'invalid'),
                                ((2, 3), (5,), 'index'), ((2, 3), (-3,), 'index')):
            c.case(op, c.inputs([shape]), (0,) + dims, status=st)


class GatedResidual(torch.nn.Module):
    """A custom forward written with tensor ops (examples/ops_forward.c)."""
    def __init__(self):
        super().__init__()
        self.layers = torch.nn.ModuleList([torch.nn.Linear(10, 10), torch.nn.Linear(10, 10),
                                           torch.nn.Linear(10, 4)])

    def forward(self, x):
        h = torch.tanh(self.layers[0](x))
        g = torch.sigmoid(self.layers[1](x))
        return torch.softmax(self.layers[2](x + g * h), dim=-1)


def gen_model():
    torch.manual_seed(31)
    m = GatedResidual().eval()
    w = Writer(os.path.join(OUT, 'ops', 'gated_residual.txt'), 'gated_residual')
    w.text('repr', repr(m))
    w.state_dict(m)
    torch.manual_seed(32)
    x = torch.randn(7, 10) * 2.0
    w.tensor('input', x)
    w.tensor('output', gen_fixtures.reference(m, x))
    w.close()


if __name__ == '__main__':
    torch.set_default_dtype(torch.float32)
    c = Cases(Writer(os.path.join(OUT, 'ops', 'ops.txt'), 'ops'))
    gen(c)
    c.close()
    gen_model()

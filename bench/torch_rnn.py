#!/usr/bin/python3
"""PyTorch's side of bench/bench_rnn: the same layer and shape, 1 thread by
default, eval and no_grad.  Run it as bench/run runs PyTorch, with glibc
keeping freed memory:

    MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=4294967296 \
    MALLOC_TOP_PAD_=268435456 /usr/bin/python3 bench/torch_rnn.py [--threads N] ...
"""
import argparse
import time

import torch
import torch.nn as nn

p = argparse.ArgumentParser()
p.add_argument('--threads', type=int, default=1)
p.add_argument('--iters', type=int, default=15)
p.add_argument('--type', default='LSTM')
p.add_argument('--input', type=int, default=256)
p.add_argument('--hidden', type=int, default=512)
p.add_argument('--layers', type=int, default=2)
p.add_argument('--batch', type=int, default=16)
p.add_argument('--steps', type=int, default=100)
a = p.parse_args()
torch.set_num_threads(a.threads)
m = getattr(nn, a.type)(a.input, a.hidden, num_layers=a.layers).eval()
x = torch.sin(torch.arange(a.steps * a.batch * a.input, dtype=torch.float32) * 0.61)
x = x.reshape(a.steps, a.batch, a.input)
wall, cpu = [], []
with torch.no_grad():
    for i in range(a.iters + 2):
        w0, c0 = time.perf_counter(), time.process_time()
        m(x)
        w1, c1 = time.perf_counter(), time.process_time()
        if i >= 2:
            wall.append((w1 - w0) * 1e3)
            cpu.append((c1 - c0) * 1e3)
wall.sort()
cpu.sort()
g = {'LSTM': 4, 'GRU': 3, 'RNN': 1}[a.type]
flop = sum(2.0 * a.steps * a.batch * g * a.hidden * ((a.hidden if l else a.input) + a.hidden)
           for l in range(a.layers))
print('torch %s %s(%d, %d, num_layers=%d) batch %d x %d steps, %d thread(s): wall median %.1f ms '
      '(min %.1f), cpu median %.1f ms (min %.1f), %.1f GFLOP/s'
      % (torch.__version__, a.type, a.input, a.hidden, a.layers, a.batch, a.steps, a.threads,
         wall[len(wall) // 2], wall[0], cpu[len(cpu) // 2], cpu[0],
         flop / (wall[len(wall) // 2] * 1e6)))

#!/usr/bin/python3
"""PyTorch's side of bench/bench_gpt: examples/plugins/gpt.py's GPT with the
same configuration, greedy generation of the same prompt, 1 thread by
default, eval and no_grad, two loops:

  cached    the prompt in one forward, then one position per token with each
            block's keys and values concatenated to the past (GPT.generate_cached,
            the usual Hugging Face-style `past_key_values` loop);
  uncached  the whole sequence again per token (GPT.generate, nanoGPT's loop).

Run it as bench/run runs PyTorch, with glibc keeping freed memory:

    MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=4294967296 \\
    MALLOC_TOP_PAD_=268435456 /usr/bin/python3 bench/torch_gpt.py [--threads N] ...

Prints one JSON object (tokens/s: median and best of --rounds, after a warm-up,
by the wall clock and by the process CPU time, *_cpu).
"""
import argparse
import importlib.util
import json
import os
import time

import torch

p = argparse.ArgumentParser()
p.add_argument('--threads', type=int, default=1)
p.add_argument('--rounds', type=int, default=5)
p.add_argument('--layers', type=int, default=6)
p.add_argument('--heads', type=int, default=6)
p.add_argument('--embd', type=int, default=384)
p.add_argument('--vocab', type=int, default=65)
p.add_argument('--block', type=int, default=256)
p.add_argument('--prompt', type=int, default=16)
p.add_argument('--new', type=int, default=128)
p.add_argument('--no-uncached', action='store_true')
a = p.parse_args()
torch.set_num_threads(a.threads)
spec = importlib.util.spec_from_file_location(
    'gpt', os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'examples', 'plugins',
                        'gpt.py'))
gpt = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gpt)
torch.manual_seed(0)
m = gpt.GPT(a.vocab, a.block, a.layers, a.heads, a.embd).eval()
prompt = torch.tensor([[i * 7 % a.vocab for i in range(a.prompt)]], dtype=torch.long)
out = {'kind': 'gpt', 'impl': 'pytorch', 'torch_version': torch.__version__,
       'threads': a.threads, 'n_layer': a.layers, 'n_head': a.heads, 'n_embd': a.embd,
       'vocab_size': a.vocab, 'block_size': a.block, 'prompt': a.prompt, 'new_tokens': a.new,
       'rounds': a.rounds}
for name, fn in (('cached', m.generate_cached), ('uncached', m.generate)):
    if name == 'uncached' and a.no_uncached:
        continue
    rates, cpu = [], []
    for r in range(a.rounds + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        fn(prompt, a.new)
        if r:
            rates.append(a.new / (time.perf_counter() - t0))
            cpu.append(a.new / (time.process_time() - c0))
    for suffix, v in (('', rates), ('_cpu', cpu)):
        v.sort()
        out[name + '_tok_s' + suffix] = round(v[len(v) // 2], 2)
        out[name + '_tok_s' + suffix + '_best'] = round(v[-1], 2)
print(json.dumps(out))

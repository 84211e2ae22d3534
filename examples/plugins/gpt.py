#!/usr/bin/python3
"""A small GPT written the way people write it in PyTorch (nanoGPT's
model.py, with the blocks in an nn.ModuleList of the model itself): the
PyTorch side of examples/plugins/gpt.c (the plugin with the types GPT, Block,
CausalSelfAttention and MLP) and of examples/gpt.c.

    model = GPT(vocab_size=67, block_size=48, n_layer=2, n_head=4, n_embd=48)
    print(model)                          # the .lam model file
    model.state_dict()                    # the weights (safetensors)

lm_head's weight is tied to the token embedding's (`self.wte.weight =
self.lm_head.weight`, as nanoGPT does): both state_dict keys name one
tensor.  safetensors.torch.save_file refuses shared tensors and save_model
keeps one name of the pair; lamina's GPT type ties the two again when the
model file is read, so a file with both keys (equal), or with either one,
loads (docs/plugins.md, "A GPT from a ModuleList").

CausalSelfAttention.forward takes an optional `layer_past` (the keys and
values of the positions before, [B, n_head, P, head_dim] each) and returns
the new (k, v) beside its output when asked to: `generate_cached` is greedy
generation with that cache, `generate` reruns the whole prefix every step
(what nanoGPT's generate does).

Used by tools/gen-fixtures.py (gen_gpt: tests/fixtures/gpt) and by the
benchmark (bench/torch_gpt.py).  `lamina-export examples/plugins/gpt.py:make_model
-o out/gpt` exports the default model.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class CausalSelfAttention(nn.Module):

    def __init__(self, n_embd, n_head, block_size, dropout=0.0, bias=True):
        super().__init__()
        assert n_embd % n_head == 0
        # key, query, value projections for all heads, in a batch
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=bias)
        self.c_proj = nn.Linear(n_embd, n_embd, bias=bias)
        self.attn_dropout = nn.Dropout(dropout)
        self.resid_dropout = nn.Dropout(dropout)
        self.n_head = n_head
        self.n_embd = n_embd
        # the causal mask (torch 1.13 has no F.scaled_dot_product_attention);
        # not persistent: it is not part of the state_dict
        self.register_buffer("bias", torch.tril(torch.ones(block_size, block_size))
                             .view(1, 1, block_size, block_size), persistent=False)

    def extra_repr(self):
        return "n_head=%d" % self.n_head  # what the repr needs to rebuild it

    def forward(self, x, layer_past=None, use_cache=False):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        P = 0
        if layer_past is not None:
            P = layer_past[0].size(2)
            k = torch.cat((layer_past[0], k), dim=2)
            v = torch.cat((layer_past[1], v), dim=2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, P:P + T, :P + T] == 0, float('-inf'))
        att = F.softmax(att, dim=-1)
        att = self.attn_dropout(att)
        y = att @ v  # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        y = self.resid_dropout(self.c_proj(y))
        return (y, (k, v)) if use_cache else y


class MLP(nn.Module):

    def __init__(self, n_embd, dropout=0.0, bias=True):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd, bias=bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * n_embd, n_embd, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):

    def __init__(self, n_embd, n_head, block_size, dropout=0.0, bias=True):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head, block_size, dropout, bias)
        self.ln_2 = nn.LayerNorm(n_embd)
        self.mlp = MLP(n_embd, dropout, bias)

    def forward(self, x, layer_past=None, use_cache=False):
        if use_cache:
            a, present = self.attn(self.ln_1(x), layer_past, True)
            x = x + a
            return x + self.mlp(self.ln_2(x)), present
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):

    def __init__(self, vocab_size, block_size, n_layer, n_head, n_embd, dropout=0.0, bias=True):
        super().__init__()
        self.block_size = block_size
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(block_size, n_embd)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList([Block(n_embd, n_head, block_size, dropout, bias)
                                     for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.wte.weight = self.lm_head.weight  # weight tying
        self.apply(self._init_weights)
        for pn, p in self.named_parameters():
            if pn.endswith('c_proj.weight'):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * n_layer))

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, past=None, use_cache=False):
        """Logits for every position, [B, T, vocab_size]; with use_cache,
        also the per-block (k, v) after these positions (`past` holds them
        for the positions before)."""
        b, t = idx.size()
        p = past[0][0].size(2) if past is not None else 0
        assert p + t <= self.block_size, \
            f"Cannot forward sequence of length {p + t}, block size is only {self.block_size}"
        pos = torch.arange(p, p + t, dtype=torch.long, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))
        presents = []
        for i, block in enumerate(self.blocks):
            if use_cache:
                x, present = block(x, past[i] if past is not None else None, True)
                presents.append(present)
            else:
                x = block(x)
        logits = self.lm_head(self.ln_f(x))
        return (logits, presents) if use_cache else logits

    @torch.no_grad()
    def generate(self, idx, max_new_tokens):
        """Greedy generation without a cache: the whole sequence again for
        each new token."""
        for _ in range(max_new_tokens):
            logits = self(idx)
            idx_next = torch.argmax(logits[:, -1, :], dim=-1, keepdim=True)
            idx = torch.cat((idx, idx_next), dim=1)
        return idx

    @torch.no_grad()
    def generate_cached(self, idx, max_new_tokens):
        """Greedy generation with a key/value cache: the prompt in one
        forward, then one position per new token."""
        logits, past = self(idx, None, True)
        out = [idx]
        for i in range(max_new_tokens):
            idx_next = torch.argmax(logits[:, -1, :], dim=-1, keepdim=True)
            out.append(idx_next)
            if i + 1 < max_new_tokens:
                logits, past = self(idx_next, past, True)
        return torch.cat(out, dim=1)


def make_model(vocab_size=67, block_size=48, n_layer=2, n_head=4, n_embd=48):
    torch.manual_seed(0)
    return GPT(vocab_size, block_size, n_layer, n_head, n_embd).eval()


if __name__ == '__main__':
    m = make_model()
    print(m)

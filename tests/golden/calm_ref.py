#!/usr/bin/python3
"""Independent PyTorch reference for CALM Playground (docs/design.md § CALM, § Files).

Run with Debian's torch (`/usr/bin/python3`, package `python3-torch`); no
`transformers`, no `safetensors` package: the format is read and written by hand.

Contents
- safetensors read/write (F32/F16/BF16)
- a GPT-2 loaded from a Hugging Face model folder (`config.json` + `model.safetensors`,
  with or without the `transformer.` prefix, tied or separate `lm_head.weight`)
- the GPT-2 forward (pre-LN, causal MHA, gelu_new, ln_f, logits = ln_f(x) · W_lmᵀ),
  returning logits and the residual stream after every block
- the CALM bridges as torch.nn modules whose state_dict names are exactly the bundle
  names (`bridges.{k}.proj.weight`, `bridges.{k}.attn.q.weight`, ...,
  `bridges.{k}.norm.weight`), so a bundle loads with `load_state_dict(strict=True)`
- the composed forward (augmenting model first, then the anchor with bridges injected)
- a CLI:
    /usr/bin/python3 tests/golden/calm_ref.py logits --model DIR --ids 3,1,4
    /usr/bin/python3 tests/golden/calm_ref.py composed --anchor DIR --augment DIR \
        --bundle DIR --ids 3,1,4
  `--ids` is one row (`3,1,4`, prints logits [T][V]) or rows separated by `;`
  (`3,1,4;2,7,1`, prints logits [B][T][V]).

Semantics fixed here (the TypeScript side matches them)
- Layer `i` = the residual stream after decoder block `i` (before ln_f for the last
  block). Layer `-1` = the embedding output wte[ids] + wpe[pos], i.e. the input of
  block 0. A connection `[anchorLayer, augmentLayer]` reads the augmenting model's
  stream at `augmentLayer` (never after its ln_f) and adds to the anchor's stream at
  `anchorLayer`, so the sum is the input of block anchorLayer+1 (or of ln_f).
- Several bridges on the same anchor layer: they ALL read the same anchor state (the
  stream at that layer before any of them adds), their outputs are summed and the sum
  is added once. Order in the connection list therefore does not matter.
- Cross-attention mask: causal, anchor position t sees augmenting positions <= t.
  (Both models read the same ids at the same positions; no padding here.)
- Across tokenizers (docs/design.md § Across tokenizers): `composed_forward(..., aug_ids,
  key_limit)` runs the augmenting model on its own ids [B, S]; anchor position t of row b
  sees augmenting positions j < key_limit[b][t], the position bias reads bucket
  key_limit[b][t] - 1 - j (clamped), and a position with key_limit 0 reads nothing (0).
- `composed_forward_reads(..., reads)`: each anchor position reads its own list of augmenting
  ids (the tokenization of the text up to its end), run through the augmenting model alone;
  the bias counts back from that list's last (the TypeScript key limit plus tail).
- Output 'zero-init': H_anchor += o(attn). Output 'rmsnorm': H_anchor +=
  RMSNorm(o(attn)), RMSNorm(x) = x / sqrt(mean(x², -1) + 1e-6) * norm.weight.
  'zero-init' only describes how o is initialised; the forward math is the same.
"""

import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch
from torch import nn

RMS_EPS = 1e-6
COMPOSITION_FORMAT = "calm-playground/composition@1"

# ---------------------------------------------------------------------------
# safetensors


def write_safetensors(path, tensors, metadata=None, dtype="F32"):
    """tensors: {name: np.ndarray or torch.Tensor}, written in sorted order as F32, or as
    F16 / BF16 (each value rounded to nearest, ties to even, from its float32)."""
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name]
        if isinstance(t, torch.Tensor):
            t = t.detach().cpu().numpy()
        a = np.ascontiguousarray(np.asarray(t, dtype="<f4"))
        if dtype == "F16":
            a = a.astype("<f2")
        elif dtype == "BF16":  # torch rounds to nearest even; keep the 16 bits
            a = torch.from_numpy(a.copy()).to(torch.bfloat16).view(torch.int16).numpy()
        elif dtype != "F32":
            raise ValueError(f"unsupported dtype {dtype}")
        b = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    if metadata is not None:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)  # pad so the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """Returns {name: np.ndarray float32} (F16/BF16 converted), checking offsets."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: too short for a safetensors header")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8 or n > 100_000_000:
        raise ValueError(f"{path}: header length {n} out of bounds")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    size = {"F32": 4, "F16": 2, "BF16": 2}
    out = {}
    spans = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = info["dtype"]
        if dt not in size:
            raise ValueError(f"{path}: tensor {name}: unsupported dtype {dt}")
        begin, end = info["data_offsets"]
        shape = list(info["shape"])
        count = int(np.prod(shape)) if shape else 1
        if not (0 <= begin <= end <= len(data) - base) or end - begin != count * size[dt]:
            raise ValueError(f"{path}: tensor {name}: bad data_offsets {begin},{end}")
        spans.append((begin, end, name))
        raw = data[base + begin:base + end]
        if dt == "F32":
            a = np.frombuffer(raw, dtype="<f4").copy()
        elif dt == "F16":
            a = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        else:  # BF16: the high 16 bits of an F32
            a = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        out[name] = a.reshape(shape)
    spans.sort()
    for (b0, e0, n0), (b1, _e1, n1) in zip(spans, spans[1:]):
        if b1 < e0:
            raise ValueError(f"{path}: tensors {n0} and {n1} overlap")
    return out


# ---------------------------------------------------------------------------
# GPT-2


class GPT2:
    """Plain tensors (float64 by default), no nn.Module: the weights stay frozen."""

    def __init__(self, config, weights, dtype=torch.float64):
        self.config = config
        if config.get("model_type", "gpt2") != "gpt2":
            raise ValueError(f"model_type {config.get('model_type')!r} is not gpt2")
        act = config.get("activation_function", "gelu_new")
        if act != "gelu_new":
            raise ValueError(f"activation_function {act!r} is not gelu_new")
        self.V = config["vocab_size"]
        self.D = config["n_embd"]
        self.L = config["n_layer"]
        self.H = config["n_head"]
        self.P = config["n_positions"]
        self.eps = config.get("layer_norm_epsilon", 1e-5)
        w = {}
        for name, a in weights.items():
            if name.startswith("transformer."):
                name = name[len("transformer."):]
            w[name] = torch.tensor(np.asarray(a), dtype=dtype)
        self.w = w
        # lm_head.weight [V, D] when present, else tied to wte [V, D]
        self.lm_head = w.get("lm_head.weight", w["wte.weight"])
        assert self.lm_head.shape == (self.V, self.D)

    @staticmethod
    def load(folder, dtype=torch.float64):
        with open(os.path.join(folder, "config.json")) as f:
            config = json.load(f)
        weights = read_safetensors(os.path.join(folder, "model.safetensors"))
        return GPT2(config, weights, dtype)

    def embed(self, ids):
        """ids [B, T] long -> [B, T, D] (layer -1)."""
        T = ids.shape[1]
        if T > self.P:
            raise ValueError(f"sequence length {T} > n_positions {self.P}")
        return self.w["wte.weight"][ids] + self.w["wpe.weight"][:T][None]

    def block(self, i, x):
        """One pre-LN decoder block, x [B, T, D] -> [B, T, D]."""
        p = f"h.{i}."
        w = self.w
        B, T, D = x.shape
        H, hd = self.H, D // self.H
        a = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], self.eps)
        qkv = a @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]  # Conv1D [in, out]
        q, k, v = qkv.split(D, dim=-1)
        q = q.view(B, T, H, hd).transpose(1, 2)  # [B, H, T, hd]
        k = k.view(B, T, H, hd).transpose(1, 2)
        v = v.view(B, T, H, hd).transpose(1, 2)
        s = q @ k.transpose(-1, -2) / math.sqrt(hd)  # [B, H, T, T]
        s = s.masked_fill(~causal_mask(T, T, x.device), float("-inf"))
        y = (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(B, T, D)
        x = x + y @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        m = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], self.eps)
        m = gelu_new(m @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
        return x + m @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]

    def final_norm(self, x):
        """The final norm alone: what Hugging Face returns as the last hidden state."""
        return layer_norm(x, self.w["ln_f.weight"], self.w["ln_f.bias"], self.eps)

    def head(self, x):
        """Residual stream [B, T, D] -> logits [B, T, V]."""
        x = layer_norm(x, self.w["ln_f.weight"], self.w["ln_f.bias"], self.eps)
        return x @ self.lm_head.T

    def forward(self, ids, hook=None):
        """ids [B, T]. hook(layer, x) -> x is called at layer -1 (embedding output) and
        after each block i = 0..L-1; what it returns continues through the model.
        Returns (logits [B, T, V], hidden: list of L tensors [B, T, D] = the stream
        after each block, as it leaves the hook)."""
        x = self.embed(ids)
        if hook is not None:
            x = hook(-1, x)
        hidden = []
        for i in range(self.L):
            x = self.block(i, x)
            if hook is not None:
                x = hook(i, x)
            hidden.append(x)
        return self.head(x), hidden


def layer_norm(x, weight, bias, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)  # biased variance, as torch / HF
    return (x - mu) / torch.sqrt(var + eps) * weight + bias


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def causal_mask(Tq, Tk, device=None):
    """[Tq, Tk] bool, True where query t may see key s (s <= t)."""
    return torch.ones(Tq, Tk, dtype=torch.bool, device=device).tril()


# ---------------------------------------------------------------------------
# CALM bridges


class RMSNorm(nn.Module):
    def __init__(self, d, eps=RMS_EPS):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x / torch.sqrt((x * x).mean(-1, keepdim=True) + self.eps) * self.weight


class InputWhiten(nn.Module):
    """composition.json "input_norm": "whiten": g -> (g - mean) @ whiten, frozen statistics
    (buffers, loaded strictly; whiten [D_g, D_g] is applied as x @ W, not transposed)."""

    def __init__(self, d_g):
        super().__init__()
        self.register_buffer("mean", torch.zeros(d_g))
        self.register_buffer("whiten", torch.zeros(d_g, d_g))

    def forward(self, g):
        return (g - self.mean) @ self.whiten


def rms_normalize(x, eps=RMS_EPS):
    """composition.json "query_norm": x / sqrt(mean(x^2) + eps), no learned scale."""
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps)


class CrossAttention(nn.Module):
    """Q from the anchor, K and V from the projected augmenting states, causal."""

    def __init__(self, d_a, num_heads, position_bias=0, value_gate=False):
        super().__init__()
        if d_a % num_heads:
            raise ValueError(f"D_a={d_a} not divisible by num_heads={num_heads}")
        self.h = num_heads
        self.q = nn.Linear(d_a, d_a)
        self.k = nn.Linear(d_a, d_a)
        self.v = nn.Linear(d_a, d_a)
        self.o = nn.Linear(d_a, d_a)
        # optional learned relative-position bias [h, R] of the scores, for offsets
        # t - s = 0 .. R-1 (R-1 stands for "R-1 or more"); composition.json "position_bias"
        self.R = int(position_bias)
        if self.R > 0:
            self.pos_bias = nn.Parameter(torch.zeros(num_heads, self.R))
        # optional per-head value gate (x-transformers gate_value_heads), composition.json
        # "value_gate": sigmoid(gate(x_anchor)) [B, T, h] scales each head's output
        if value_gate:
            self.gate = nn.Linear(d_a, num_heads)
            nn.init.zeros_(self.gate.weight)
            nn.init.zeros_(self.gate.bias)
        else:
            self.gate = None

    def forward(self, x_anchor, p_aug, key_limit=None):
        """x_anchor [B, T, D_a], p_aug [B, Tk, D_a] -> [B, T, D_a]; key_limit [B, T] long or None
        (the causal rule, key_limit = t + 1)."""
        B, T, D = x_anchor.shape
        Tk = p_aug.shape[1]
        h, hd = self.h, D // self.h
        q = self.q(x_anchor).view(B, T, h, hd).transpose(1, 2)  # [B, h, T, hd]
        k = self.k(p_aug).view(B, Tk, h, hd).transpose(1, 2)
        v = self.v(p_aug).view(B, Tk, h, hd).transpose(1, 2)
        s = q @ k.transpose(-1, -2) / math.sqrt(hd)  # [B, h, T, Tk]
        if key_limit is None:
            key_limit = torch.arange(1, T + 1, device=x_anchor.device)[None].expand(B, T)
        j = torch.arange(Tk, device=x_anchor.device)[None, None, :]
        lim = key_limit[:, :, None]  # [B, T, 1]
        if self.R > 0:
            off = (lim - 1 - j).clamp(min=0, max=self.R - 1)  # [B, T, Tk]; unseen keys masked below
            s = s + self.pos_bias[:, off].permute(1, 0, 2, 3).to(s.dtype)  # [B, h, T, Tk]
        s = s.masked_fill(~(j < lim)[:, None], float("-inf"))
        # a query that sees no key reads nothing (its softmax row would be NaN)
        y = torch.nan_to_num(torch.softmax(s, dim=-1), nan=0.0) @ v  # [B, h, T, hd]
        if self.gate is not None:
            y = y * torch.sigmoid(self.gate(x_anchor)).transpose(1, 2)[..., None]  # [B, h, T, 1]
        return self.o(y.transpose(1, 2).reshape(B, T, D))

    def forward_sets(self, x_anchor, p_sets, lengths):
        """Each query its own keys: x_anchor [B, T, D_a], p_sets [B, T, K, D_a] (query t's keys,
        right-padded), lengths [B, T] long -> [B, T, D_a]. Key k of query t is offset
        lengths[b, t] - 1 - k back from its last; k >= lengths[b, t] is padding; a query with
        no key reads nothing (0)."""
        B, T, D = x_anchor.shape
        K = p_sets.shape[2]
        h, hd = self.h, D // self.h
        q = self.q(x_anchor).view(B, T, h, hd).transpose(1, 2)  # [B, h, T, hd]
        k = self.k(p_sets).view(B, T, K, h, hd).permute(0, 3, 1, 2, 4)  # [B, h, T, K, hd]
        v = self.v(p_sets).view(B, T, K, h, hd).permute(0, 3, 1, 2, 4)
        s = torch.einsum("bhtd,bhtkd->bhtk", q, k) / math.sqrt(hd)  # [B, h, T, K]
        j = torch.arange(K, device=x_anchor.device)[None, None, :]
        lim = lengths[:, :, None]  # [B, T, 1]
        if self.R > 0:
            off = (lim - 1 - j).clamp(min=0, max=self.R - 1)  # [B, T, K]
            s = s + self.pos_bias[:, off].permute(1, 0, 2, 3).to(s.dtype)
        s = s.masked_fill(~(j < lim)[:, None], float("-inf"))
        w = torch.nan_to_num(torch.softmax(s, dim=-1), nan=0.0)
        y = torch.einsum("bhtk,bhtkd->bhtd", w, v)  # [B, h, T, hd]
        if self.gate is not None:
            y = y * torch.sigmoid(self.gate(x_anchor)).transpose(1, 2)[..., None]
        return self.o(y.transpose(1, 2).reshape(B, T, D))


class Bridge(nn.Module):
    def __init__(self, d_a, d_g, num_heads, output, position_bias=0, input_norm="none",
                 query_norm=False, value_gate=False):
        super().__init__()
        if output not in ("zero-init", "rmsnorm"):
            raise ValueError(f"unknown output {output!r}")
        if input_norm not in ("none", "whiten"):
            raise ValueError(f"unknown input_norm {input_norm!r}")
        self.output = output
        self.query_norm = bool(query_norm)
        # "in" is a Python keyword: the child module is registered by name (state_dict "in.*")
        self.add_module("in", InputWhiten(d_g) if input_norm == "whiten" else None)
        self.proj = nn.Linear(d_g, d_a)  # weight [D_a, D_g]
        self.attn = CrossAttention(d_a, num_heads, position_bias, value_gate)
        if output == "rmsnorm":
            self.norm = RMSNorm(d_a)
        if output == "zero-init":  # the training-time initialisation
            nn.init.zeros_(self.attn.o.weight)
            nn.init.zeros_(self.attn.o.bias)

    def forward(self, x_anchor, h_aug, key_limit=None, lengths=None):
        """x_anchor [B, T, D_a] (anchor stream), h_aug [B, S, D_g] -> out [B, T, D_a]. With
        `lengths`, h_aug is [B, T, K, D_g]: each anchor position's own keys (forward_sets)."""
        whiten = getattr(self, "in")
        g = h_aug if whiten is None else whiten(h_aug)
        x = rms_normalize(x_anchor) if self.query_norm else x_anchor  # queries and gate only
        if lengths is None:
            out = self.attn(x, self.proj(g), key_limit)
        else:
            out = self.attn.forward_sets(x, self.proj(g), lengths)
        if self.output == "rmsnorm":
            out = self.norm(out)
        return out


class CALMBridges(nn.Module):
    """state_dict names: bridges.{k}.proj.*, bridges.{k}.attn.{q,k,v,o}.*, bridges.{k}.norm.weight,
    and the optional bridges.{k}.attn.pos_bias, bridges.{k}.in.{mean,whiten} (buffers),
    bridges.{k}.attn.gate.{weight,bias}."""

    def __init__(self, connections, num_heads, output, d_a, d_g, position_bias=0,
                 input_norm="none", query_norm=False, value_gate=False):
        super().__init__()
        self.connections = [(int(a), int(g)) for a, g in connections]
        self.num_heads = num_heads
        self.output = output
        self.bridges = nn.ModuleList(
            Bridge(d_a, d_g, num_heads, output, position_bias, input_norm, query_norm, value_gate)
            for _ in self.connections)

    def check(self, anchor, augment):
        for a, g in self.connections:
            if not -1 <= a < anchor.L:
                raise ValueError(f"anchor layer {a} out of range [-1, {anchor.L - 1}]")
            # g = augment.L: the last block's output after the final norm (ln_f)
            if not -1 <= g <= augment.L:
                raise ValueError(f"augment layer {g} out of range [-1, {augment.L}]")


def composed_forward(anchor, augment, bridges, ids, aug_ids=None, key_limit=None):
    """ids [B, T] -> (composed logits [B, T, V_anchor], anchor hidden after injection).

    The augmenting model runs first; its stream at layer g (g = -1: embedding output)
    feeds every bridge with augmentLayer g. All bridges on one anchor layer read the
    same anchor state and their summed outputs are added once (see module docstring)."""
    bridges.check(anchor, augment)
    aug_states = {}

    def keep(layer, x):
        aug_states[layer] = x
        return x

    augment.forward(ids if aug_ids is None else aug_ids, hook=keep)
    if any(g == augment.L for _, g in bridges.connections):
        aug_states[augment.L] = augment.final_norm(aug_states[augment.L - 1])
    dtype = next(bridges.parameters()).dtype

    def inject(layer, x):
        total = None
        for (a, g), bridge in zip(bridges.connections, bridges.bridges):
            if a != layer:
                continue
            out = bridge(x.to(dtype), aug_states[g].to(dtype), key_limit)  # reads x before any add
            total = out if total is None else total + out
        return x if total is None else x + total.to(x.dtype)

    return anchor.forward(ids, hook=inject)


def composed_forward_reads(anchor, augment, bridges, ids, reads):
    """Across tokenizers as each anchor position reads: ids [B, T]; reads[b][t] the augmenting
    ids anchor position t of row b reads (the tokenization of the text up to its end; may be
    empty). Each distinct list goes through the augmenting model alone, and position t attends
    over its states only -> composed logits [B, T, V_anchor]. A naive oracle of the key limit and
    tails of the TypeScript composition (docs/design.md § Across tokenizers)."""
    bridges.check(anchor, augment)
    B, T = ids.shape
    layers = sorted({g for _, g in bridges.connections})
    K = max(1, max(len(r) for row in reads for r in row))
    runs = {}

    def states_of(seq):
        if seq not in runs:
            got = {}

            def keep(layer, x):
                got[layer] = x
                return x

            augment.forward(torch.tensor([list(seq)]), hook=keep)
            if augment.L in layers:
                got[augment.L] = augment.final_norm(got[augment.L - 1])
            runs[seq] = {g: got[g][0] for g in layers}  # [len, D_g]
        return runs[seq]

    wte = augment.w["wte.weight"]  # [V_g, D_g]

    def padded(seq, g):  # [K, D_g]: the states of seq at layer g, then zeros
        st = states_of(seq)[g] if seq else wte.new_zeros(0, wte.shape[1])
        return torch.cat([st, st.new_zeros(K - len(seq), wte.shape[1])])

    dtype = next(bridges.parameters()).dtype
    sets = {g: torch.stack([torch.stack([padded(tuple(reads[b][t]), g) for t in range(T)]) for b in range(B)])
            for g in layers}  # [B, T, K, D_g]
    lengths = torch.tensor([[len(r) for r in row] for row in reads])  # [B, T]

    def inject(layer, x):
        total = None
        for (a, g), bridge in zip(bridges.connections, bridges.bridges):
            if a != layer:
                continue
            out = bridge(x.to(dtype), sets[g].to(dtype), lengths=lengths)
            total = out if total is None else total + out
        return x if total is None else x + total.to(x.dtype)

    return anchor.forward(ids, hook=inject)


def load_bundle(folder, dtype=torch.float64):
    """Reads composition.json + bridge.safetensors and returns CALMBridges with the
    weights loaded by nn.Module.load_state_dict(strict=True): the bundle names and
    nn.Linear [out, in] layout are used as they are."""
    with open(os.path.join(folder, "composition.json")) as f:
        comp = json.load(f)
    if comp.get("format") != COMPOSITION_FORMAT:
        raise ValueError(f"format {comp.get('format')!r} is not {COMPOSITION_FORMAT}")
    tensors = read_safetensors(os.path.join(folder, "bridge.safetensors"))
    d_a, d_g = tensors["bridges.0.proj.weight"].shape
    bridges = CALMBridges(comp["connections"], comp["num_heads"], comp["output"], d_a, d_g,
                          comp.get("position_bias", 0), comp.get("input_norm", "none"),
                          comp.get("query_norm", False), comp.get("value_gate", False))
    bridges.to(dtype)
    bridges.load_state_dict({k: torch.tensor(v, dtype=dtype) for k, v in tensors.items()},
                            strict=True)
    return bridges, comp


def bridge_state(bridges):
    """{bundle name: np.float32 array} in nn.Linear layout."""
    return {k: v.detach().cpu().numpy().astype(np.float32)
            for k, v in bridges.state_dict().items()}


# ---------------------------------------------------------------------------
# JSON with float32 values in their shortest round-trip form


def f32_json(x):
    """Nested JSON text of a float array, each value the shortest decimal that
    reads back to the same float32."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    a = np.asarray(x, dtype=np.float32)
    if not np.all(np.isfinite(a)):
        raise ValueError("non-finite value")

    def rec(b):
        if b.ndim == 0:
            return str(b[()])
        if b.ndim == 1:
            return "[" + ",".join(str(v) for v in b) + "]"
        return "[" + ",".join(rec(s) for s in b) + "]"

    return rec(a)


def parse_ids(text):
    rows = [[int(t) for t in r.split(",") if t.strip()] for r in text.split(";") if r.strip()]
    if len(set(map(len, rows))) != 1:
        raise ValueError("all --ids rows must have the same length")
    return torch.tensor(rows, dtype=torch.long), ";" not in text


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p1 = sub.add_parser("logits", help="logits of one GPT-2 folder")
    p1.add_argument("--model", required=True)
    p1.add_argument("--ids", required=True)
    p1.add_argument("--hidden", action="store_true", help="also print the block outputs")
    p2 = sub.add_parser("composed", help="logits of anchor + augment + bundle")
    p2.add_argument("--anchor", required=True)
    p2.add_argument("--augment", required=True)
    p2.add_argument("--bundle", required=True)
    p2.add_argument("--ids", required=True)
    args = ap.parse_args(argv)
    ids, single = parse_ids(args.ids)
    with torch.no_grad():
        if args.cmd == "logits":
            model = GPT2.load(args.model)
            logits, hidden = model.forward(ids)
        else:
            anchor = GPT2.load(args.anchor)
            augment = GPT2.load(args.augment)
            bridges, _ = load_bundle(args.bundle)
            logits, hidden = composed_forward(anchor, augment, bridges, ids)
    parts = ['"logits":' + f32_json(logits[0] if single else logits)]
    if getattr(args, "hidden", False):
        hs = [h[0] for h in hidden] if single else hidden
        parts.append('"hidden":[' + ",".join(f32_json(h) for h in hs) + "]")
    sys.stdout.write("{" + ",".join(parts) + "}\n")


if __name__ == "__main__":
    main()

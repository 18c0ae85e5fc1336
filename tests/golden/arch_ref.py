#!/usr/bin/python3
"""Independent PyTorch references for Llama and GPT-NeoX (docs/design.md § Files), next to
calm_ref.py's GPT-2, with the same interface so calm_ref.composed_forward composes any two.

Run with Debian's torch (`/usr/bin/python3`, package `python3-torch`); no `transformers`,
no `safetensors` package (calm_ref.py reads and writes the format by hand).

Contents
- `read_model_weights(folder)`: `model.safetensors`, or the shards named by
  `model.safetensors.index.json` (`{"metadata": {"total_size"}, "weight_map": {name: file}}`)
- `Llama` (as Hugging Face `LlamaForCausalLM`): RMSNorm, rotary embeddings (rotate_half:
  first half / second half of each head; `rope_scaling` `linear` and `llama3`), grouped-query
  attention, SwiGLU MLP, no biases, tied or separate `lm_head.weight`
- `GPTNeoX` (as Hugging Face `GPTNeoXForCausalLM`): LayerNorm with bias, fused
  `query_key_value` laid out per head as [heads, 3, head_dim], partial rotary
  (`rotary_pct`), exact-erf GELU, parallel or serial residual, untied `embed_out`
- both with a KV cache: `forward(ids, cache=KVCache())` continues from the cached positions
- `load_model(folder)`: gpt2 (calm_ref.GPT2), llama or gpt_neox by config.json `model_type`
- a CLI:
    /usr/bin/python3 tests/golden/arch_ref.py logits --model DIR --ids 3,1,4 [--hidden]
    /usr/bin/python3 tests/golden/arch_ref.py decode --model DIR --ids 3,1,4
    /usr/bin/python3 tests/golden/arch_ref.py composed --anchor DIR --augment DIR \
        --bundle DIR --ids 3,1,4
  printing float32 values in their shortest exact decimal form, as calm_ref.py does.

All computation is float64 from the stored (float32, or BF16/F16 widened) weights.
Layer `i` = the residual stream after block `i` (before the final norm); layer `-1` = the
embedding output (for Llama and GPT-NeoX the token embedding alone: no position table).
"""

import argparse
import json
import math
import os
import sys

import torch

sys.dont_write_bytecode = True  # keep __pycache__ out of tests/golden/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import calm_ref as ref  # noqa: E402

# ---------------------------------------------------------------------------
# weights


def read_model_weights(folder):
    """{name: np.float32 array} from model.safetensors or from the shards of
    model.safetensors.index.json (each name read from the shard the index names)."""
    index = os.path.join(folder, "model.safetensors.index.json")
    if not os.path.exists(index):
        return ref.read_safetensors(os.path.join(folder, "model.safetensors"))
    with open(index) as f:
        weight_map = json.load(f)["weight_map"]
    out = {}
    for shard in sorted(set(weight_map.values())):
        tensors = ref.read_safetensors(os.path.join(folder, shard))
        for name, a in tensors.items():
            if weight_map.get(name) != shard:
                raise ValueError(f"{shard}: tensor {name} is not mapped to this shard")
            out[name] = a
    missing = sorted(set(weight_map) - set(out))
    if missing:
        raise ValueError(f"index names tensors no shard holds: {missing}")
    return out


def read_config(folder):
    with open(os.path.join(folder, "config.json")) as f:
        return json.load(f)


def load_model(folder, dtype=torch.float64):
    config = read_config(folder)
    kind = config.get("model_type", "gpt2")
    weights = read_model_weights(folder)
    if kind == "gpt2":
        return ref.GPT2(config, weights, dtype)
    if kind == "llama":
        return Llama(config, weights, dtype)
    if kind == "gpt_neox":
        return GPTNeoX(config, weights, dtype)
    raise ValueError(f"model_type {kind!r} is not gpt2, llama or gpt_neox")


# ---------------------------------------------------------------------------
# primitives


def rms_norm(x, weight, eps):
    """x [..., D] -> x / sqrt(mean(x², -1) + eps) * weight (Llama's RMSNorm)."""
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * weight


def silu(x):
    return x * torch.sigmoid(x)


def gelu_erf(x):
    """Exact GELU (Hugging Face `gelu`): 0.5 x (1 + erf(x / √2))."""
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def rope_inv_freq(dim, base, scaling=None):
    """Inverse frequencies [dim/2] (float64) of the rotary embedding over `dim` dims:
    base^(-2j/dim), j = 0 .. dim/2-1, then the `rope_scaling` of config.json:
    - `{"rope_type": "linear", "factor": f}`: all divided by f (positions / f)
    - `{"rope_type": "llama3", "factor": f, "low_freq_factor": lo, "high_freq_factor": hi,
      "original_max_position_embeddings": n}`: wavelength λ = 2π/freq; λ < n/hi kept,
      λ > n/lo divided by f, in between blended: s = (n/λ − lo)/(hi − lo),
      freq·((1 − s)/f + s).
    `type` is read where `rope_type` is absent (older configs)."""
    if dim % 2:
        raise ValueError(f"rotary dims {dim} must be even")
    inv = 1.0 / (float(base) ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
    if not scaling:
        return inv
    kind = scaling.get("rope_type", scaling.get("type"))
    if kind == "default":
        return inv
    factor = float(scaling["factor"])
    if kind == "linear":
        return inv / factor
    if kind == "llama3":
        lo = float(scaling.get("low_freq_factor", 1.0))
        hi = float(scaling.get("high_freq_factor", 4.0))
        n = float(scaling["original_max_position_embeddings"])
        wavelen = 2 * math.pi / inv
        smooth = (n / wavelen - lo) / (hi - lo)
        blended = inv * ((1 - smooth) / factor + smooth)
        out = torch.where(wavelen > n / lo, inv / factor, inv)
        medium = (wavelen >= n / hi) & (wavelen <= n / lo)
        return torch.where(medium, blended, out)
    raise ValueError(f"rope_scaling type {kind!r} is not linear or llama3")


def rope_cos_sin(inv_freq, positions):
    """positions [T] -> cos, sin [T, 2·len(inv_freq)] (angles repeated: [θ, θ])."""
    ang = positions.to(torch.float64)[:, None] * inv_freq[None, :]  # [T, dim/2]
    ang = torch.cat([ang, ang], dim=-1)  # [T, dim]
    return torch.cos(ang), torch.sin(ang)


def rotate_half(x):
    """[..., d] -> [-x[d/2:], x[:d/2]] (Hugging Face convention: halves, not pairs)."""
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


def apply_rope(x, cos, sin):
    """x [B, H, T, d], cos/sin [T, d] -> x·cos + rotate_half(x)·sin."""
    return x * cos + rotate_half(x) * sin


def attend(q, k, v, pos0):
    """q [B, H, T, hd] at positions pos0 .. pos0+T-1; k, v [B, Hkv, S, hd] at positions
    0 .. S-1 (S = pos0 + T). Grouped-query: query head h reads kv head h // (H / Hkv).
    Causal, scores / √hd. Returns [B, H, T, hd]."""
    H, Hkv = q.shape[1], k.shape[1]
    if H % Hkv:
        raise ValueError(f"{H} heads not a multiple of {Hkv} kv heads")
    k = k.repeat_interleave(H // Hkv, dim=1)  # [B, H, S, hd]
    v = v.repeat_interleave(H // Hkv, dim=1)
    T, S = q.shape[2], k.shape[2]
    s = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])  # [B, H, T, S]
    allowed = torch.arange(S)[None, :] <= (pos0 + torch.arange(T))[:, None]  # [T, S]
    s = s.masked_fill(~allowed, float("-inf"))
    return torch.softmax(s, dim=-1) @ v


class KVCache:
    """Per layer the keys and values so far, [B, Hkv, S, hd] each (keys after RoPE)."""

    def __init__(self):
        self.kv = {}

    @property
    def length(self):
        return next(iter(self.kv.values()))[0].shape[2] if self.kv else 0

    def extend(self, layer, k, v):
        if layer in self.kv:
            k0, v0 = self.kv[layer]
            k, v = torch.cat([k0, k], dim=2), torch.cat([v0, v], dim=2)
        self.kv[layer] = (k, v)
        return k, v


# ---------------------------------------------------------------------------
# models


class Decoder:
    """Shared driver: embed, blocks, final norm, head; hooks as calm_ref.GPT2.forward."""

    def forward(self, ids, hook=None, cache=None):
        """ids [B, T] (continuing after cache.length positions when a cache is given).
        hook(layer, x) -> x at layer -1 and after each block. Returns (logits [B, T, V],
        hidden: L tensors [B, T, D], the stream after each block as it leaves the hook)."""
        pos0 = cache.length if cache is not None else 0
        T = ids.shape[1]
        if pos0 + T > self.P:
            raise ValueError(f"sequence length {pos0 + T} > max_position_embeddings {self.P}")
        cos, sin = rope_cos_sin(self.inv_freq, torch.arange(pos0, pos0 + T))
        x = self.embed(ids)
        if hook is not None:
            x = hook(-1, x)
        hidden = []
        for i in range(self.L):
            x = self.block(i, x, cos, sin, pos0, cache)
            if hook is not None:
                x = hook(i, x)
            hidden.append(x)
        return self.head(x), hidden

    def decode(self, ids):
        """Step-by-step cached decoding of ids [B, T]: logits [B, T, V], one step a token."""
        cache = KVCache()
        steps = [self.forward(ids[:, t:t + 1], cache=cache)[0] for t in range(ids.shape[1])]
        return torch.cat(steps, dim=1)

    def head(self, x):
        return self.final_norm(x) @ self.lm_head.T


class Llama(Decoder):
    def __init__(self, config, weights, dtype=torch.float64):
        if config.get("model_type") != "llama":
            raise ValueError(f"model_type {config.get('model_type')!r} is not llama")
        if config.get("hidden_act", "silu") != "silu":
            raise ValueError(f"hidden_act {config.get('hidden_act')!r} is not silu")
        if config.get("attention_bias") or config.get("mlp_bias"):
            raise ValueError("attention_bias / mlp_bias are not supported")
        self.config = config
        self.V = config["vocab_size"]
        self.D = config["hidden_size"]
        self.L = config["num_hidden_layers"]
        self.H = config["num_attention_heads"]
        self.Hkv = config.get("num_key_value_heads") or self.H
        self.hd = config.get("head_dim") or self.D // self.H
        self.P = config["max_position_embeddings"]
        self.eps = config.get("rms_norm_eps", 1e-6)
        self.inv_freq = rope_inv_freq(self.hd, config.get("rope_theta", 10000.0),
                                      config.get("rope_scaling"))
        w = {}
        for name, a in weights.items():
            if name.startswith("model."):
                name = name[len("model."):]
            w[name] = torch.tensor(a, dtype=dtype)
        self.w = w
        tied = config.get("tie_word_embeddings", True)
        if tied and "lm_head.weight" in w:
            raise ValueError("tie_word_embeddings true but lm_head.weight present")
        self.lm_head = w["embed_tokens.weight"] if tied else w["lm_head.weight"]  # [V, D]
        assert self.lm_head.shape == (self.V, self.D)

    def embed(self, ids):
        return self.w["embed_tokens.weight"][ids]  # [B, T, D], no position table

    def block(self, i, x, cos, sin, pos0, cache):
        """x [B, T, D] -> [B, T, D]: x + attn(rms(x)), then + mlp(rms(·))."""
        p = f"layers.{i}."
        w = self.w
        B, T, _ = x.shape
        a = rms_norm(x, w[p + "input_layernorm.weight"], self.eps)
        q = (a @ w[p + "self_attn.q_proj.weight"].T).view(B, T, self.H, self.hd).transpose(1, 2)
        k = (a @ w[p + "self_attn.k_proj.weight"].T).view(B, T, self.Hkv, self.hd).transpose(1, 2)
        v = (a @ w[p + "self_attn.v_proj.weight"].T).view(B, T, self.Hkv, self.hd).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)  # [B, H(kv), T, hd]
        if cache is not None:
            k, v = cache.extend(i, k, v)
        y = attend(q, k, v, pos0).transpose(1, 2).reshape(B, T, self.H * self.hd)
        x = x + y @ w[p + "self_attn.o_proj.weight"].T
        m = rms_norm(x, w[p + "post_attention_layernorm.weight"], self.eps)
        m = silu(m @ w[p + "mlp.gate_proj.weight"].T) * (m @ w[p + "mlp.up_proj.weight"].T)
        return x + m @ w[p + "mlp.down_proj.weight"].T

    def final_norm(self, x):
        return rms_norm(x, self.w["norm.weight"], self.eps)


class GPTNeoX(Decoder):
    def __init__(self, config, weights, dtype=torch.float64):
        if config.get("model_type") != "gpt_neox":
            raise ValueError(f"model_type {config.get('model_type')!r} is not gpt_neox")
        if config.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"hidden_act {config.get('hidden_act')!r} is not gelu")
        if config.get("rope_scaling"):
            raise ValueError("rope_scaling is not supported for gpt_neox")
        self.config = config
        self.V = config["vocab_size"]
        self.D = config["hidden_size"]
        self.L = config["num_hidden_layers"]
        self.H = config["num_attention_heads"]
        self.hd = self.D // self.H
        self.rot = int(self.hd * config.get("rotary_pct", 0.25))  # rotary dims of each head
        self.P = config["max_position_embeddings"]
        self.eps = config.get("layer_norm_eps", 1e-5)
        self.parallel = config.get("use_parallel_residual", True)
        self.inv_freq = rope_inv_freq(self.rot, config.get("rotary_emb_base", 10000))
        w = {}
        for name, a in weights.items():
            if name.startswith("gpt_neox."):
                name = name[len("gpt_neox."):]
            w[name] = torch.tensor(a, dtype=dtype)
        self.w = w
        if config.get("tie_word_embeddings", False):
            raise ValueError("tie_word_embeddings is not supported for gpt_neox")
        self.lm_head = w["embed_out.weight"]  # [V, D]
        assert self.lm_head.shape == (self.V, self.D)

    def embed(self, ids):
        return self.w["embed_in.weight"][ids]

    def rope(self, x, cos, sin):
        """x [B, H, T, hd]: rotary on the first `rot` dims of each head, the rest as is."""
        r = self.rot
        return torch.cat([apply_rope(x[..., :r], cos, sin), x[..., r:]], dim=-1)

    def attention(self, i, a, cos, sin, pos0, cache):
        p = f"layers.{i}.attention."
        w = self.w
        B, T, D = a.shape
        qkv = a @ w[p + "query_key_value.weight"].T + w[p + "query_key_value.bias"]  # [B, T, 3D]
        qkv = qkv.view(B, T, self.H, 3 * self.hd).transpose(1, 2)  # per head [q | k | v]
        q, k, v = qkv.split(self.hd, dim=-1)  # [B, H, T, hd] each
        q, k = self.rope(q, cos, sin), self.rope(k, cos, sin)
        if cache is not None:
            k, v = cache.extend(i, k, v)
        y = attend(q, k, v, pos0).transpose(1, 2).reshape(B, T, D)
        return y @ w[p + "dense.weight"].T + w[p + "dense.bias"]

    def mlp(self, i, m):
        p = f"layers.{i}.mlp."
        w = self.w
        m = gelu_erf(m @ w[p + "dense_h_to_4h.weight"].T + w[p + "dense_h_to_4h.bias"])
        return m @ w[p + "dense_4h_to_h.weight"].T + w[p + "dense_4h_to_h.bias"]

    def ln(self, name, x):
        return ref.layer_norm(x, self.w[name + ".weight"], self.w[name + ".bias"], self.eps)

    def block(self, i, x, cos, sin, pos0, cache):
        """parallel: x + attn(ln1(x)) + mlp(ln2(x)); serial: h = x + attn(ln1(x)),
        h + mlp(ln2(h))."""
        p = f"layers.{i}."
        att = self.attention(i, self.ln(p + "input_layernorm", x), cos, sin, pos0, cache)
        if self.parallel:
            return x + att + self.mlp(i, self.ln(p + "post_attention_layernorm", x))
        h = x + att
        return h + self.mlp(i, self.ln(p + "post_attention_layernorm", h))

    def final_norm(self, x):
        return self.ln("final_layer_norm", x)


# ---------------------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p1 = sub.add_parser("logits", help="logits of one model folder (gpt2, llama, gpt_neox)")
    p1.add_argument("--model", required=True)
    p1.add_argument("--ids", required=True)
    p1.add_argument("--hidden", action="store_true", help="also print the block outputs")
    p2 = sub.add_parser("decode", help="logits of cached step-by-step decoding")
    p2.add_argument("--model", required=True)
    p2.add_argument("--ids", required=True)
    p3 = sub.add_parser("composed", help="logits of anchor + augment + bundle")
    p3.add_argument("--anchor", required=True)
    p3.add_argument("--augment", required=True)
    p3.add_argument("--bundle", required=True)
    p3.add_argument("--ids", required=True)
    args = ap.parse_args(argv)
    ids, single = ref.parse_ids(args.ids)
    hidden = None
    with torch.no_grad():
        if args.cmd == "logits":
            logits, hidden = load_model(args.model).forward(ids)
        elif args.cmd == "decode":
            model = load_model(args.model)
            if not isinstance(model, Decoder):
                raise ValueError("decode: llama or gpt_neox only")
            logits = model.decode(ids)
        else:
            bridges, _ = ref.load_bundle(args.bundle)
            logits, hidden = ref.composed_forward(load_model(args.anchor),
                                                  load_model(args.augment), bridges, ids)
    parts = ['"logits":' + ref.f32_json(logits[0] if single else logits)]
    if getattr(args, "hidden", False):
        hs = [h[0] for h in hidden] if single else hidden
        parts.append('"hidden":[' + ",".join(ref.f32_json(h) for h in hs) + "]")
    sys.stdout.write("{" + ",".join(parts) + "}\n")


if __name__ == "__main__":
    main()

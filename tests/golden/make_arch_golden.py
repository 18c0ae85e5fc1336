#!/usr/bin/python3
"""Writes the Llama and GPT-NeoX fixtures and goldens under tests/golden/ (llama-tiny*,
neox-tiny*, calm-arch/, rope.json; the folders' tokenizer.json through make_tokenizers.py)
and prints self-consistency checks; exits non-zero if one fails. Deterministic
(torch.manual_seed(0)); leaves make_golden.py's files alone (it only reads gpt2-tiny).

    /usr/bin/python3 tests/golden/make_arch_golden.py

Uses Debian's python3-torch and numpy only (see arch_ref.py, calm_ref.py)."""

import contextlib
import io
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True  # keep __pycache__ out of tests/golden/
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import arch_ref as arch  # noqa: E402
import calm_ref as ref  # noqa: E402
import make_golden as mg  # noqa: E402  (make_bundle, the weight scales)
import make_tokenizers  # noqa: E402  (tokenizer.json of the model folders)

WEIGHT_STD, BIAS_STD, LN_STD = mg.WEIGHT_STD, mg.BIAS_STD, mg.LN_STD
FAILED = []


def check(name, ok, detail=""):
    print(f"[{'ok' if ok else 'FAIL'}] {name}{(': ' + detail) if detail else ''}")
    if not ok:
        FAILED.append(name)


def g(*s):
    return torch.randn(*s, dtype=torch.float32)


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


# ---------------------------------------------------------------------------
# random model folders


def llama_config(vocab, d, n_layer, n_head, n_kv, inter, tied, max_pos, head_dim=None,
                 rope_scaling=None, rope_theta=10000.0):
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": vocab,
        "hidden_size": d,
        "intermediate_size": inter,
        "num_hidden_layers": n_layer,
        "num_attention_heads": n_head,
        "num_key_value_heads": n_kv,
        "head_dim": head_dim if head_dim is not None else d // n_head,
        "hidden_act": "silu",
        "max_position_embeddings": max_pos,
        "initializer_range": 0.02,
        "rms_norm_eps": 1e-5,
        "rope_theta": rope_theta,
        "rope_scaling": rope_scaling,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "mlp_bias": False,
        "pretraining_tp": 1,
        "tie_word_embeddings": tied,
        "use_cache": True,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "torch_dtype": "float32",
    }


def llama_weights(c):
    d, hd, H, Hkv, inter = (c["hidden_size"], c["head_dim"], c["num_attention_heads"],
                            c["num_key_value_heads"], c["intermediate_size"])
    w = {"model.embed_tokens.weight": g(c["vocab_size"], d) * WEIGHT_STD}
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = 1 + g(d) * LN_STD
        w[p + "self_attn.q_proj.weight"] = g(H * hd, d) * WEIGHT_STD  # nn.Linear [out, in]
        w[p + "self_attn.k_proj.weight"] = g(Hkv * hd, d) * WEIGHT_STD
        w[p + "self_attn.v_proj.weight"] = g(Hkv * hd, d) * WEIGHT_STD
        w[p + "self_attn.o_proj.weight"] = g(d, H * hd) * WEIGHT_STD
        w[p + "post_attention_layernorm.weight"] = 1 + g(d) * LN_STD
        w[p + "mlp.gate_proj.weight"] = g(inter, d) * WEIGHT_STD
        w[p + "mlp.up_proj.weight"] = g(inter, d) * WEIGHT_STD
        w[p + "mlp.down_proj.weight"] = g(d, inter) * WEIGHT_STD
    w["model.norm.weight"] = 1 + g(d) * LN_STD
    if not c["tie_word_embeddings"]:
        w["lm_head.weight"] = g(c["vocab_size"], d) * WEIGHT_STD
    return w


def neox_config(vocab, d, n_layer, n_head, inter, rotary_pct, parallel, max_pos):
    return {
        "architectures": ["GPTNeoXForCausalLM"],
        "model_type": "gpt_neox",
        "vocab_size": vocab,
        "hidden_size": d,
        "intermediate_size": inter,
        "num_hidden_layers": n_layer,
        "num_attention_heads": n_head,
        "hidden_act": "gelu",
        "rotary_pct": rotary_pct,
        "rotary_emb_base": 10000,
        "max_position_embeddings": max_pos,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-5,
        "use_parallel_residual": parallel,
        "attention_bias": True,
        "attention_dropout": 0.0,
        "hidden_dropout": 0.0,
        "tie_word_embeddings": False,
        "use_cache": True,
        "bos_token_id": 0,
        "eos_token_id": 0,
        "torch_dtype": "float32",
    }


def neox_weights(c):
    d, inter = c["hidden_size"], c["intermediate_size"]
    w = {"gpt_neox.embed_in.weight": g(c["vocab_size"], d) * WEIGHT_STD}
    for i in range(c["num_hidden_layers"]):
        p = f"gpt_neox.layers.{i}."
        for ln in ("input_layernorm", "post_attention_layernorm"):
            w[p + ln + ".weight"] = 1 + g(d) * LN_STD
            w[p + ln + ".bias"] = g(d) * LN_STD
        # rows laid out per head as [heads, 3 (q, k, v), head_dim]
        w[p + "attention.query_key_value.weight"] = g(3 * d, d) * WEIGHT_STD
        w[p + "attention.query_key_value.bias"] = g(3 * d) * BIAS_STD
        w[p + "attention.dense.weight"] = g(d, d) * WEIGHT_STD
        w[p + "attention.dense.bias"] = g(d) * BIAS_STD
        w[p + "mlp.dense_h_to_4h.weight"] = g(inter, d) * WEIGHT_STD
        w[p + "mlp.dense_h_to_4h.bias"] = g(inter) * BIAS_STD
        w[p + "mlp.dense_4h_to_h.weight"] = g(d, inter) * WEIGHT_STD
        w[p + "mlp.dense_4h_to_h.bias"] = g(d) * BIAS_STD
    w["gpt_neox.final_layer_norm.weight"] = 1 + g(d) * LN_STD
    w["gpt_neox.final_layer_norm.bias"] = g(d) * LN_STD
    w["embed_out.weight"] = g(c["vocab_size"], d) * WEIGHT_STD
    return w


def write_folder(folder, config, tensors, dtype="F32"):
    os.makedirs(folder, exist_ok=True)
    write_json(os.path.join(folder, "config.json"), {**config, "torch_dtype": {
        "F32": "float32", "F16": "float16", "BF16": "bfloat16"}[dtype]})
    ref.write_safetensors(os.path.join(folder, "model.safetensors"), tensors, {"format": "pt"},
                          dtype)
    return arch.load_model(folder)


def write_sharded(folder, config, tensors):
    """Two shards (layers 0..1 + embeddings / the rest) and model.safetensors.index.json."""
    os.makedirs(folder, exist_ok=True)
    write_json(os.path.join(folder, "config.json"), config)
    names = sorted(tensors)
    first = [n for n in names if n.startswith(("model.embed_tokens.", "model.layers.0.",
                                                "model.layers.1."))]
    shards = {"model-00001-of-00002.safetensors": first,
              "model-00002-of-00002.safetensors": [n for n in names if n not in first]}
    weight_map = {}
    for fn, part in shards.items():
        ref.write_safetensors(os.path.join(folder, fn), {n: tensors[n] for n in part},
                              {"format": "pt"})
        weight_map.update({n: fn for n in part})
    total = sum(4 * tensors[n].numel() for n in names)
    write_json(os.path.join(folder, "model.safetensors.index.json"),
               {"metadata": {"total_size": total},
                "weight_map": {n: weight_map[n] for n in sorted(weight_map)}})
    return arch.load_model(folder), shards, total


def write_model_golden(model, folder, ids, with_hidden=True):
    """golden.json: ids, logits, hidden (left out where with_hidden is false: the
    sharded / BF16 / F16 variants, to keep the files small), decode (row 0)."""
    with torch.no_grad():
        logits, hidden = model.forward(ids)
        decode = model.decode(ids[:1])[0]
    text = ('{"ids":' + json.dumps(ids.tolist(), separators=(",", ":"))
            + ',"logits":' + ref.f32_json(logits)
            + (',"hidden":[' + ",".join(ref.f32_json(h) for h in hidden) + "]"
               if with_hidden else "")
            + ',"decode":' + ref.f32_json(decode) + "}\n")
    with open(os.path.join(folder, "golden.json"), "w") as f:
        f.write(text)
    return logits, hidden, decode


# ---------------------------------------------------------------------------
# independent pieces for the checks


def naive_attention(q, k, v, pos0):
    """Loops: query head h reads kv head h // (H / Hkv); softmax written out."""
    B, H, T, hd = q.shape
    Hkv, S = k.shape[1], k.shape[2]
    out = torch.zeros_like(q)
    for b in range(B):
        for h in range(H):
            kh = h // (H // Hkv)
            for t in range(T):
                n = pos0 + t + 1  # keys 0 .. pos0+t
                s = torch.stack([(q[b, h, t] * k[b, kh, j]).sum() / math.sqrt(hd)
                                 for j in range(n)])
                e = torch.exp(s - s.max())
                out[b, h, t] = (e[:, None] * v[b, kh, :n]).sum(0) / e.sum()
    assert S >= pos0 + T
    return out


def complex_rope(x, inv_freq, pos0=0):
    """x [B, H, T, d]: dims (j, j + d/2) as the complex number x_j + i·x_{j+d/2}, times
    exp(i·pos·freq_j)."""
    h = x.shape[-1] // 2
    z = torch.complex(x[..., :h], x[..., h:])
    pos = torch.arange(pos0, pos0 + x.shape[2], dtype=torch.float64)
    z = z * torch.polar(torch.ones(len(pos), h, dtype=torch.float64), pos[:, None] * inv_freq)
    return torch.cat([z.real, z.imag], dim=-1)


def sdpa(q, k, v):
    """[B, H, T, hd] each, causal, by F.softmax over a masked score matrix."""
    T = q.shape[2]
    s = torch.matmul(q, k.transpose(-1, -2)) * q.shape[-1] ** -0.5
    s = s + torch.triu(torch.full((T, T), float("-inf"), dtype=s.dtype), diagonal=1)
    return torch.matmul(F.softmax(s, dim=-1), v)


def rebuild_llama(m, ids):
    """Llama forward again from F.linear / F.silu / complex RoPE, with grouped-query
    attention done by repeating the k/v projection rows per query head."""
    w, B, T = m.w, ids.shape[0], ids.shape[1]
    x = F.embedding(ids, w["embed_tokens.weight"])
    rep = m.H // m.Hkv
    hidden = []
    for i in range(m.L):
        p = f"layers.{i}."

        def norm(x, name):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + m.eps) * w[name]

        a = norm(x, p + "input_layernorm.weight")
        wk = w[p + "self_attn.k_proj.weight"].view(m.Hkv, m.hd, m.D)
        wv = w[p + "self_attn.v_proj.weight"].view(m.Hkv, m.hd, m.D)
        wk = wk[:, None].expand(m.Hkv, rep, m.hd, m.D).reshape(m.H * m.hd, m.D)
        wv = wv[:, None].expand(m.Hkv, rep, m.hd, m.D).reshape(m.H * m.hd, m.D)

        def heads(t):
            return t.view(B, T, m.H, m.hd).permute(0, 2, 1, 3)

        q = complex_rope(heads(F.linear(a, w[p + "self_attn.q_proj.weight"])), m.inv_freq)
        k = complex_rope(heads(F.linear(a, wk)), m.inv_freq)
        y = sdpa(q, k, heads(F.linear(a, wv))).permute(0, 2, 1, 3).reshape(B, T, -1)
        x = x + F.linear(y, w[p + "self_attn.o_proj.weight"])
        h = norm(x, p + "post_attention_layernorm.weight")
        h = (F.silu(F.linear(h, w[p + "mlp.gate_proj.weight"]))
             * F.linear(h, w[p + "mlp.up_proj.weight"]))
        x = x + F.linear(h, w[p + "mlp.down_proj.weight"])
        hidden.append(x)
    x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + m.eps) * w["norm.weight"]
    return F.linear(x, m.lm_head), hidden


def rebuild_neox(m, ids):
    """GPT-NeoX forward again from F.linear / F.layer_norm / F.gelu / complex RoPE, the
    fused weight split into q, k, v by viewing it as [heads, 3, head_dim, D]."""
    w, B, T, D, hd, r = m.w, ids.shape[0], ids.shape[1], m.D, m.hd, m.rot
    x = F.embedding(ids, w["embed_in.weight"])
    hidden = []

    def ln(x, name):
        return F.layer_norm(x, (D,), w[name + ".weight"], w[name + ".bias"], m.eps)

    for i in range(m.L):
        p = f"layers.{i}."
        W = w[p + "attention.query_key_value.weight"].view(m.H, 3, hd, D)
        b = w[p + "attention.query_key_value.bias"].view(m.H, 3, hd)
        a = ln(x, p + "input_layernorm")

        def proj(j):
            t = F.linear(a, W[:, j].reshape(D, D), b[:, j].reshape(D))  # [B, T, D]
            return t.view(B, T, m.H, hd).permute(0, 2, 1, 3)  # [B, H, T, hd]

        q, k, v = proj(0), proj(1), proj(2)
        q = torch.cat([complex_rope(q[..., :r], m.inv_freq), q[..., r:]], -1)
        k = torch.cat([complex_rope(k[..., :r], m.inv_freq), k[..., r:]], -1)
        y = sdpa(q, k, v).permute(0, 2, 1, 3).reshape(B, T, D)
        att = F.linear(y, w[p + "attention.dense.weight"], w[p + "attention.dense.bias"])

        def mlp(h):
            h = F.gelu(F.linear(h, w[p + "mlp.dense_h_to_4h.weight"],
                                w[p + "mlp.dense_h_to_4h.bias"]))
            return F.linear(h, w[p + "mlp.dense_4h_to_h.weight"], w[p + "mlp.dense_4h_to_h.bias"])

        if m.parallel:
            x = x + att + mlp(ln(x, p + "post_attention_layernorm"))
        else:
            x = x + att
            x = x + mlp(ln(x, p + "post_attention_layernorm"))
        hidden.append(x)
    return F.linear(ln(x, "final_layer_norm"), m.lm_head), hidden


def direct_inv_freq(dim, base, scaling):
    """The rotary frequencies one at a time, with Python floats (the formulas of
    arch_ref.rope_inv_freq written out per frequency)."""
    out = []
    for j in range(dim // 2):
        f = base ** (-2.0 * j / dim)
        kind = (scaling or {}).get("rope_type")
        if kind == "linear":
            f = f / scaling["factor"]
        elif kind == "llama3":
            n, lo, hi, fac = (scaling["original_max_position_embeddings"],
                              scaling["low_freq_factor"], scaling["high_freq_factor"],
                              scaling["factor"])
            lam = 2 * math.pi / f
            if lam < n / hi:
                pass
            elif lam > n / lo:
                f = f / fac
            else:
                s = (n / lam - lo) / (hi - lo)
                f = (1 - s) * f / fac + s * f
        out.append(f)
    return out


def max_err(a, b):
    return (a - b).abs().max().item()


def causality_gap(fn, ids, V):
    worst = 0.0
    with torch.no_grad():
        base = fn(ids)
        for t in range(ids.shape[1] - 1):
            alt = ids.clone()
            alt[:, t + 1:] = (alt[:, t + 1:] + 1 + t) % V
            worst = max(worst, max_err(fn(alt)[:, :t + 1], base[:, :t + 1]))
    return worst


def cli(argv):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        arch.main(argv)
    return json.loads(buf.getvalue())


# ---------------------------------------------------------------------------


def main():
    torch.manual_seed(0)
    np.random.seed(0)
    path = lambda *p: os.path.join(HERE, *p)  # noqa: E731

    # --- models --------------------------------------------------------------
    c_llama = llama_config(50, 36, 3, 6, 2, 56, True, 32)
    w_llama = llama_weights(c_llama)
    c_untied = llama_config(50, 32, 2, 4, 1, 40, False, 64, head_dim=12, rope_scaling={
        "rope_type": "llama3", "factor": 4.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
        "original_max_position_embeddings": 32})
    w_untied = llama_weights(c_untied)
    c_neox = neox_config(50, 40, 3, 5, 64, 0.25, True, 32)
    w_neox = neox_weights(c_neox)
    c_serial = neox_config(50, 32, 2, 4, 48, 0.75, False, 32)
    w_serial = neox_weights(c_serial)

    llama = write_folder(path("llama-tiny"), c_llama, w_llama)
    untied = write_folder(path("llama-tiny-untied"), c_untied, w_untied)
    neox = write_folder(path("neox-tiny"), c_neox, w_neox)
    serial = write_folder(path("neox-tiny-serial"), c_serial, w_serial)
    sharded, shards, total_size = write_sharded(path("llama-tiny-sharded"), c_llama, w_llama)
    bf16 = write_folder(path("llama-tiny-bf16"), c_llama, w_llama, "BF16")
    f16 = write_folder(path("llama-tiny-f16"), c_llama, w_llama, "F16")

    models = {"llama-tiny": llama, "llama-tiny-untied": untied, "neox-tiny": neox,
              "neox-tiny-serial": serial, "llama-tiny-sharded": sharded,
              "llama-tiny-bf16": bf16, "llama-tiny-f16": f16}
    ids_drawn = ("llama-tiny", "llama-tiny-untied", "neox-tiny", "neox-tiny-serial")
    ids = {name: torch.randint(0, 50, (2, 12)) for name in ids_drawn}
    for name in ("llama-tiny-sharded", "llama-tiny-bf16", "llama-tiny-f16"):
        ids[name] = ids["llama-tiny"]  # the same ids, so the three compare with llama-tiny
    out = {name: write_model_golden(m, path(name), ids[name], name in ids_drawn)
           for name, m in models.items()}

    # --- rotary frequencies ----------------------------------------------------
    rope_cases = [
        {"name": "llama-tiny", "dim": llama.hd, "base": 10000.0, "rope_scaling": None},
        {"name": "llama-tiny-untied", "dim": 12, "base": 10000.0,
         "rope_scaling": c_untied["rope_scaling"]},
        {"name": "neox-tiny", "dim": neox.rot, "base": 10000.0,
         "rope_scaling": None},
        {"name": "neox-tiny-serial", "dim": serial.rot, "base": 10000.0, "rope_scaling": None},
        {"name": "linear x2", "dim": 16, "base": 10000.0,
         "rope_scaling": {"rope_type": "linear", "factor": 2.0}},
        {"name": "Llama 3.2 1B", "dim": 64, "base": 500000.0, "rope_scaling": {
            "rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
            "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}},
    ]
    for case in rope_cases:
        case["inv_freq"] = arch.rope_inv_freq(case["dim"], case["base"],
                                              case["rope_scaling"]).tolist()
    write_json(path("rope.json"), {"cases": rope_cases})

    # --- CALM across architectures ---------------------------------------------
    gpt2 = ref.GPT2.load(path("gpt2-tiny"))
    calm = path("calm-arch")
    qk_std = 0.05
    b_gl = mg.make_bundle(os.path.join(calm, "gpt2-llama"), gpt2, llama, [[0, llama.L]],
                          4, "zero-init", qk_std, position_bias=3,
                          paths=("../../gpt2-tiny", "../../llama-tiny"))
    b_lg = mg.make_bundle(os.path.join(calm, "llama-gpt2"), llama, gpt2,
                          [[-1, 0], [1, gpt2.L]], 4, "zero-init", qk_std, position_bias=3,
                          paths=("../../llama-tiny", "../../gpt2-tiny"))
    ids_calm = torch.randint(0, 50, (2, 10))
    with torch.no_grad():
        gl_logits, _ = ref.composed_forward(gpt2, llama, b_gl, ids_calm)
        lg_logits, _ = ref.composed_forward(llama, gpt2, b_lg, ids_calm)
        gpt2_logits, _ = gpt2.forward(ids_calm)
        llama_logits, _ = llama.forward(ids_calm)
    with open(os.path.join(calm, "golden.json"), "w") as f:
        f.write('{"ids":' + json.dumps(ids_calm.tolist(), separators=(",", ":"))
                + ',"gpt2-llama":{"logits":' + ref.f32_json(gl_logits) + "}"
                + ',"llama-gpt2":{"logits":' + ref.f32_json(lg_logits) + "}}\n")

    # --- checks ----------------------------------------------------------------
    print("self-consistency checks")
    x = torch.randn(3, 7, 48, dtype=torch.float64) * 3
    wt = 1 + torch.randn(48, dtype=torch.float64) * 0.1
    bs = torch.randn(48, dtype=torch.float64) * 0.1
    err = max_err(arch.rms_norm(x, wt, 0.0), F.normalize(x, dim=-1, eps=0.0) * math.sqrt(48) * wt)
    check("rms_norm(eps=0) == F.normalize · √D · weight", err < 1e-12, f"max err {err:.1e}")
    err = max_err(arch.rms_norm(x, wt, 1e-5), x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True)
                                                              + 1e-5) * wt)
    check("rms_norm == x·rsqrt(mean(x²)+eps)·w (torch 1.13 has no F.rms_norm)", err < 1e-12,
          f"max err {err:.1e}")
    err = max_err(ref.layer_norm(x, wt, bs, 1e-5), F.layer_norm(x, (48,), wt, bs, 1e-5))
    check("layer_norm == F.layer_norm", err < 1e-12, f"max err {err:.1e}")
    err = max_err(arch.gelu_erf(x), F.gelu(x))
    check("gelu_erf == F.gelu (exact)", err < 1e-12, f"max err {err:.1e}")
    err = max_err(arch.gelu_erf(x), F.gelu(x, approximate="tanh"))
    check("... and differs from the tanh GELU", err > 1e-5, f"diff {err:.1e}")
    err = max_err(arch.silu(x), F.silu(x))
    check("silu == F.silu", err < 1e-12, f"max err {err:.1e}")

    q = torch.randn(2, 6, 5, 8, dtype=torch.float64)
    k = torch.randn(2, 2, 9, 8, dtype=torch.float64)
    v = torch.randn(2, 2, 9, 8, dtype=torch.float64)
    err = max_err(arch.attend(q, k, v, 4), naive_attention(q, k, v, 4))
    check("attend (GQA 6/2, offset 4) == per-head loops", err < 1e-12, f"max err {err:.1e}")
    q, k, v = (torch.randn(2, 4, 7, 8, dtype=torch.float64) for _ in range(3))
    err = max_err(arch.attend(q, k, v, 0), sdpa(q, k, v))
    check("attend (MHA) == masked F.softmax attention (torch 1.13 has no SDPA)", err < 1e-12,
          f"max err {err:.1e}")

    xr = torch.randn(2, 3, 11, 12, dtype=torch.float64)
    for name, case in (("default", None), ("llama3", c_untied["rope_scaling"])):
        inv = arch.rope_inv_freq(12, 10000.0, case)
        cos, sin = arch.rope_cos_sin(inv, torch.arange(3, 14))
        err = max_err(arch.apply_rope(xr, cos, sin), complex_rope(xr, inv, 3))
        check(f"apply_rope ({name}) == complex rotation of (x_j, x_j+d/2)", err < 1e-12,
              f"max err {err:.1e}")
    for case in rope_cases:
        want = torch.tensor(direct_inv_freq(case["dim"], case["base"], case["rope_scaling"]),
                            dtype=torch.float64)
        got = torch.tensor(case["inv_freq"], dtype=torch.float64)
        err = ((got - want).abs() / want).max().item()
        check(f"rope frequencies {case['name']} == per-frequency formula", err < 1e-14,
              f"max rel err {err:.1e}")
    sc = c_untied["rope_scaling"]
    lam = 2 * math.pi / arch.rope_inv_freq(12, 10000.0)
    n = sc["original_max_position_embeddings"]
    hi_w, lo_w = n / sc["high_freq_factor"], n / sc["low_freq_factor"]
    regimes = (int((lam < hi_w).sum()), int(((lam >= hi_w) & (lam <= lo_w)).sum()),
               int((lam > lo_w).sum()))
    check("llama-tiny-untied llama3 scaling: high / medium / low frequencies all present",
          min(regimes) > 0, f"{regimes}")
    lam = 2 * math.pi / arch.rope_inv_freq(64, 500000.0)
    check("Llama 3.2 1B case: all three regimes present",
          bool((lam < 2048).any() and ((lam >= 2048) & (lam <= 8192)).any() and (lam > 8192).any()))

    for name, m in models.items():
        lg, hd, dec = out[name]
        with torch.no_grad():
            lg2, hd2 = (rebuild_llama if isinstance(m, arch.Llama) else rebuild_neox)(m, ids[name])
        err = max(max_err(lg, lg2), max(max_err(a, b) for a, b in zip(hd, hd2)))
        check(f"{name}: forward == F.* / complex-RoPE rebuild", err < 1e-10, f"max err {err:.1e}")
        err = max_err(dec, lg[0])
        check(f"{name}: cached decode == full forward (row 0)", err < 1e-6, f"max err {err:.1e}")
        with torch.no_grad():
            cache = arch.KVCache()
            a, _ = m.forward(ids[name][:, :5], cache=cache)
            b, _ = m.forward(ids[name][:, 5:], cache=cache)
        err = max_err(torch.cat([a, b], 1), lg)
        check(f"{name}: prefill 5 + chunk of 7 with cache == full forward", err < 1e-10,
              f"max err {err:.1e}")
        gap = causality_gap(lambda i: m.forward(i)[0], ids[name], m.V)
        check(f"{name}: causal (logits at <= t unchanged when tokens > t change)", gap == 0.0,
              f"max diff {gap:.1e}")
        print(f"       {name}: logits std {lg.std():.2f}, last hidden std {hd[-1].std():.2f}")

    # what the goldens pin: each of these wrong variants changes the logits
    def variant_diff(name, patch):
        """Largest logit change on the golden ids with the model's attributes patched."""
        m = models[name]
        saved = {k: getattr(m, k) for k in patch}
        for k, val in patch.items():
            setattr(m, k, val)
        try:
            with torch.no_grad():
                return max_err(m.forward(ids[name])[0], out[name][0])
        finally:
            for k, val in saved.items():
                setattr(m, k, val)

    d = variant_diff("llama-tiny-untied", {"inv_freq": arch.rope_inv_freq(12, 10000.0)})
    check("llama-tiny-untied: without rope_scaling the logits change", d > 1e-3, f"{d:.2e}")
    d = variant_diff("neox-tiny", {"rot": neox.hd, "inv_freq": arch.rope_inv_freq(neox.hd, 10000)})
    check("neox-tiny: rotary on the whole head changes the logits", d > 1e-3, f"{d:.2e}")
    d = variant_diff("neox-tiny-serial", {"parallel": True})
    check("neox-tiny-serial: the parallel residual changes the logits", d > 1e-3, f"{d:.2e}")
    d = variant_diff("neox-tiny", {"parallel": False})
    check("neox-tiny: the serial residual changes the logits", d > 1e-3, f"{d:.2e}")
    real_attend = arch.attend

    def wrong_group(q, k, v, pos0):  # query head h reads kv head h % Hkv instead
        rep = q.shape[1] // k.shape[1]
        return real_attend(q, k.repeat(1, rep, 1, 1), v.repeat(1, rep, 1, 1), pos0)

    arch.attend = wrong_group
    try:
        with torch.no_grad():
            d = max_err(llama.forward(ids["llama-tiny"])[0], out["llama-tiny"][0])
    finally:
        arch.attend = real_attend
    check("llama-tiny: kv head h % Hkv (instead of h // (H/Hkv)) changes the logits",
          d > 1e-3, f"{d:.2e}")

    # the fused QKV layout [heads, 3, head_dim] against [3, heads, head_dim]
    W = neox.w["layers.0.attention.query_key_value.weight"]
    D, hd, H = neox.D, neox.hd, neox.H
    xa = torch.randn(1, 3, D, dtype=torch.float64)
    qkv = (xa @ W.T).view(1, 3, H, 3, hd)
    check("neox qkv: q of head h = rows [3·h·hd, 3·h·hd + hd) of query_key_value.weight",
          max_err(qkv[..., 1, 0, :], xa @ W[3 * hd:4 * hd].T) < 1e-12)
    saved = {k: neox.w[k].clone() for k in neox.w if "query_key_value" in k}
    for k in saved:  # reinterpret the rows as [3, heads, head_dim]
        t = saved[k]
        neox.w[k] = t.view(3, H, hd, *t.shape[1:]).transpose(0, 1).reshape(t.shape)
    with torch.no_grad():
        d = max_err(neox.forward(ids["neox-tiny"])[0], out["neox-tiny"][0])
    neox.w.update(saved)
    check("neox-tiny: the [3, heads, head_dim] layout changes the logits", d > 1e-3, f"{d:.2e}")

    xr = torch.randn(2, 5, 7, neox.hd, dtype=torch.float64)
    cos, sin = arch.rope_cos_sin(neox.inv_freq, torch.arange(7))
    y = neox.rope(xr, cos, sin)
    check(f"neox partial rotary: dims >= rotary_ndims ({neox.rot}) untouched",
          torch.equal(y[..., neox.rot:], xr[..., neox.rot:])
          and max_err(y[..., 1:, :neox.rot], xr[..., 1:, :neox.rot]) > 1e-3)
    check("neox rotary_ndims: neox-tiny 2 of 8, neox-tiny-serial 6 of 8",
          (neox.rot, neox.hd, serial.rot, serial.hd) == (2, 8, 6, 8))

    # tied / untied heads
    names = set(ref.read_safetensors(path("llama-tiny", "model.safetensors")))
    check("llama-tiny: tied (no lm_head.weight in the file, head = embed_tokens)",
          "lm_head.weight" not in names and llama.lm_head is llama.w["embed_tokens.weight"])
    check("llama-tiny-untied: lm_head.weight used and differs from embed_tokens",
          untied.lm_head is untied.w["lm_head.weight"]
          and not torch.allclose(untied.lm_head, untied.w["embed_tokens.weight"]))
    check("llama-tiny-untied: head_dim 12 != hidden/heads 8, 4 heads on 1 kv head",
          (untied.hd, untied.D // untied.H, untied.H, untied.Hkv) == (12, 8, 4, 1))

    # sharded, BF16, F16 folders load to the intended tensors
    want = {k: v.numpy() for k, v in w_llama.items()}
    got = arch.read_model_weights(path("llama-tiny-sharded"))
    check("llama-tiny-sharded: loads the same tensors as llama-tiny",
          sorted(got) == sorted(want) and all(np.array_equal(got[k], want[k]) for k in want))
    with open(path("llama-tiny-sharded", "model.safetensors.index.json")) as f:
        index = json.load(f)
    sizes = {fn: os.path.getsize(path("llama-tiny-sharded", fn)) for fn in shards}
    check("llama-tiny-sharded: two non-empty shards, total_size = bytes of all tensors",
          len(set(index["weight_map"].values())) == 2 and all(shards.values())
          and index["metadata"]["total_size"] == total_size
          == sum(a.nbytes for a in want.values()), f"shards {sizes}, total_size {total_size}")
    check("llama-tiny-sharded: golden == llama-tiny golden",
          torch.equal(out["llama-tiny-sharded"][0], out["llama-tiny"][0]))
    for name, dt, conv in (("llama-tiny-bf16", "BF16", torch.bfloat16),
                           ("llama-tiny-f16", "F16", torch.float16)):
        with open(path(name, "model.safetensors"), "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(n))
        dts = {v["dtype"] for k, v in header.items() if k != "__metadata__"}
        got = arch.read_model_weights(path(name))
        exact = all(np.array_equal(got[k], w_llama[k].to(conv).float().numpy()) for k in want)
        check(f"{name}: every tensor {dt}, loads to the {dt}-rounded llama-tiny weights",
              dts == {dt} and sorted(got) == sorted(want) and exact)
        d = max_err(out[name][0], out["llama-tiny"][0])
        check(f"{name}: logits differ from F32 llama-tiny (so the golden pins the rounding)",
              1e-5 < d < 0.5, f"max diff {d:.2e}")

    # CALM across architectures
    for name, b, anc, aug, lg, alone in (
            ("gpt2-llama", b_gl, gpt2, llama, gl_logits, gpt2_logits),
            ("llama-gpt2", b_lg, llama, gpt2, lg_logits, llama_logits)):
        d = max_err(lg, alone)
        check(f"calm-arch/{name}: the bridges change the anchor", d > 1e-2, f"max diff {d:.2f}")
        gap = causality_gap(lambda i: ref.composed_forward(anc, aug, b, i)[0], ids_calm, 50)
        check(f"calm-arch/{name}: causal", gap == 0.0, f"max diff {gap:.1e}")
        b2, _ = ref.load_bundle(os.path.join(calm, name))
        with torch.no_grad():
            for br in b2.bridges:
                br.attn.o.weight.zero_()
                br.attn.o.bias.zero_()
            d = max_err(ref.composed_forward(anc, aug, b2, ids_calm)[0], alone)
        check(f"calm-arch/{name}: o zeroed -> composed == anchor", d == 0.0, f"{d:.1e}")
        peaks = mg.attention_peak(anc, aug, b, ids_calm)
        print(f"       {name}: mean max cross-attention weight per bridge "
              + ", ".join(f"{p:.2f}" for p in peaks))

    # the CLI prints the same numbers
    row = lambda t: ",".join(map(str, t.tolist()))  # noqa: E731
    res = cli(["logits", "--model", path("neox-tiny-serial"), "--ids",
               row(ids["neox-tiny-serial"][1]), "--hidden"])
    check("CLI logits --hidden == neox-tiny-serial golden (row 1)",
          np.array_equal(np.array(res["logits"], np.float32),
                         out["neox-tiny-serial"][0][1].numpy().astype(np.float32))
          and np.array_equal(np.array(res["hidden"], np.float32),
                             np.stack([h[1].numpy() for h in out["neox-tiny-serial"][1]])
                             .astype(np.float32)))
    res = cli(["decode", "--model", path("llama-tiny-bf16"), "--ids", row(ids["llama-tiny"][0])])
    check("CLI decode == llama-tiny-bf16 golden decode",
          np.array_equal(np.array(res["logits"], np.float32),
                         out["llama-tiny-bf16"][2].numpy().astype(np.float32)))
    res = cli(["composed", "--anchor", path("llama-tiny"), "--augment", path("gpt2-tiny"),
               "--bundle", os.path.join(calm, "llama-gpt2"), "--ids",
               row(ids_calm[0]) + ";" + row(ids_calm[1])])
    check("CLI composed == calm-arch llama-gpt2 golden",
          np.array_equal(np.array(res["logits"], np.float32), lg_logits.numpy().astype(np.float32)))

    # tokenizer.json (no random draws, so the files above do not depend on it)
    make_tokenizers.write_tokenizers(HERE)

    total = 0
    for name in list(models) + ["calm-arch"]:
        for root, _, files in os.walk(path(name)):
            total += sum(os.path.getsize(os.path.join(root, fn)) for fn in files)
    total += os.path.getsize(path("rope.json"))
    print(f"files written by this script: {total / 1024:.0f} KiB")
    if FAILED:
        print(f"{len(FAILED)} check(s) FAILED: {FAILED}")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()

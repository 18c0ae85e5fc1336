#!/usr/bin/python3
"""Regenerates the GPT-2 and calm-tiny files under tests/golden/ (gpt2-tiny*, calm-tiny/;
make_arch_golden.py writes the Llama / GPT-NeoX ones) and prints self-consistency checks.
Deterministic: torch.manual_seed(0).

    /usr/bin/python3 tests/golden/make_golden.py

Uses Debian's python3-torch and numpy only (see calm_ref.py)."""

import json
import math
import os
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.dont_write_bytecode = True  # keep __pycache__ out of tests/golden/
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import calm_ref as ref  # noqa: E402

WEIGHT_STD = 0.2     # Linear / Conv1D / embedding weights
BIAS_STD = 0.05      # Linear / Conv1D biases
LN_STD = 0.1         # LayerNorm / RMSNorm weights ~ 1 ± 0.1, LayerNorm biases ~ 0 ± 0.1

FAILED = []


def check(name, ok, detail=""):
    print(f"[{'ok' if ok else 'FAIL'}] {name}{(': ' + detail) if detail else ''}")
    if not ok:
        FAILED.append(name)


def f32(t):
    return t.detach().numpy().astype(np.float32)


# ---------------------------------------------------------------------------
# random GPT-2 folders


def make_gpt2(folder, vocab, n_pos, d, n_layer, n_head, prefix, lm_head):
    g = lambda *s: torch.randn(*s, dtype=torch.float32)  # noqa: E731
    w = {"wte.weight": g(vocab, d) * WEIGHT_STD, "wpe.weight": g(n_pos, d) * WEIGHT_STD}
    for i in range(n_layer):
        p = f"h.{i}."
        w[p + "ln_1.weight"] = 1 + g(d) * LN_STD
        w[p + "ln_1.bias"] = g(d) * LN_STD
        w[p + "attn.c_attn.weight"] = g(d, 3 * d) * WEIGHT_STD  # Conv1D [in, out]
        w[p + "attn.c_attn.bias"] = g(3 * d) * BIAS_STD
        w[p + "attn.c_proj.weight"] = g(d, d) * WEIGHT_STD
        w[p + "attn.c_proj.bias"] = g(d) * BIAS_STD
        w[p + "ln_2.weight"] = 1 + g(d) * LN_STD
        w[p + "ln_2.bias"] = g(d) * LN_STD
        w[p + "mlp.c_fc.weight"] = g(d, 4 * d) * WEIGHT_STD
        w[p + "mlp.c_fc.bias"] = g(4 * d) * BIAS_STD
        w[p + "mlp.c_proj.weight"] = g(4 * d, d) * WEIGHT_STD
        w[p + "mlp.c_proj.bias"] = g(d) * BIAS_STD
    w["ln_f.weight"] = 1 + g(d) * LN_STD
    w["ln_f.bias"] = g(d) * LN_STD
    tensors = {(("transformer." if prefix else "") + k): v for k, v in w.items()}
    if lm_head:  # HF GPT2LMHeadModel keeps lm_head outside the transformer. prefix
        tensors["lm_head.weight"] = g(vocab, d) * WEIGHT_STD
    config = {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "vocab_size": vocab,
        "n_positions": n_pos,
        "n_ctx": n_pos,
        "n_embd": d,
        "n_layer": n_layer,
        "n_head": n_head,
        "n_inner": None,
        "layer_norm_epsilon": 1e-5,
        "activation_function": "gelu_new",
        "resid_pdrop": 0.0,
        "embd_pdrop": 0.0,
        "attn_pdrop": 0.0,
        "bos_token_id": 0,
        "eos_token_id": 0,
        "tie_word_embeddings": not lm_head,
    }
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    ref.write_safetensors(os.path.join(folder, "model.safetensors"), tensors,
                          {"format": "pt"})
    return ref.GPT2.load(folder)


def write_model_golden(model, folder, ids):
    with torch.no_grad():
        logits, hidden = model.forward(ids)
    text = ('{"ids":' + json.dumps(ids.tolist(), separators=(",", ":"))
            + ',"logits":' + ref.f32_json(logits)
            + ',"hidden":[' + ",".join(ref.f32_json(h) for h in hidden) + "]}\n")
    with open(os.path.join(folder, "golden.json"), "w") as f:
        f.write(text)
    return logits, hidden


# ---------------------------------------------------------------------------
# bundles


def make_bundle(folder, anchor, augment, connections, num_heads, output, qk_std, position_bias=0,
                input_norm="none", query_norm=False, value_gate=False,
                paths=("../../gpt2-tiny", "../../gpt2-tiny-aug")):
    """paths: composition.json anchor.path and augment.path, relative to the bundle."""
    bridges = ref.CALMBridges(connections, num_heads, output, anchor.D, augment.D, position_bias,
                              input_norm, query_norm, value_gate)
    with torch.no_grad():
        for name, b in bridges.named_buffers():  # input whitening: random, not fitted
            if name.endswith("in.mean"):
                b.copy_(torch.randn(b.shape) * 0.5)
            elif name.endswith("in.whiten"):  # symmetric positive definite, eigenvalues ~0.2-1.5
                a = torch.randn(b.shape) / math.sqrt(b.shape[0])
                b.copy_(a @ a.T * 0.5 + 0.2 * torch.eye(b.shape[0]))
        for name, p in bridges.named_parameters():
            if name.endswith("pos_bias"):
                p.copy_(torch.randn(p.shape))
            elif name.endswith("norm.weight"):
                p.copy_(1 + torch.randn(p.shape) * LN_STD)
            elif name.endswith(".bias"):
                p.copy_(torch.randn(p.shape) * BIAS_STD)
            elif name.endswith((".q.weight", ".k.weight")):
                p.copy_(torch.randn(p.shape) * qk_std)
            else:  # proj, v, o weights; o is NON-zero on purpose so the math is tested
                p.copy_(torch.randn(p.shape) * WEIGHT_STD)
    os.makedirs(folder, exist_ok=True)
    ref.write_safetensors(os.path.join(folder, "bridge.safetensors"), bridge_tensors(bridges),
                          {"format": "pt"})
    comp = {
        "format": ref.COMPOSITION_FORMAT,
        "anchor": {"path": paths[0], "n_layer": anchor.L, "n_embd": anchor.D,
                   "vocab_size": anchor.V},
        "augment": {"path": paths[1], "n_layer": augment.L, "n_embd": augment.D,
                    "vocab_size": augment.V},
        "connections": [list(c) for c in connections],
        "num_heads": num_heads,
        "output": output,
        **({"position_bias": position_bias} if position_bias else {}),
        **({"input_norm": input_norm} if input_norm != "none" else {}),
        **({"query_norm": True} if query_norm else {}),
        **({"value_gate": True} if value_gate else {}),
        "training": {},
        "metrics": {},
    }
    with open(os.path.join(folder, "composition.json"), "w") as f:
        json.dump(comp, f, indent=2)
        f.write("\n")
    loaded, _ = ref.load_bundle(folder)  # what the golden values are computed from
    return loaded


def bridge_tensors(bridges):
    return {k: v.detach().float() for k, v in bridges.state_dict().items()}


def attention_peak(anchor, augment, bridges, ids):
    """Mean over queries of the largest cross-attention weight (1.0 = saturated)."""
    peaks = []

    def spy(mod, inp, _out):
        x, p = inp
        B, T, D = x.shape
        h, hd = mod.h, D // mod.h
        q = mod.q(x).view(B, T, h, hd).transpose(1, 2)
        k = mod.k(p).view(B, T, h, hd).transpose(1, 2)
        s = (q @ k.transpose(-1, -2) / math.sqrt(hd)).masked_fill(
            ~ref.causal_mask(T, T), float("-inf"))
        peaks.append(torch.softmax(s, -1).max(-1).values[..., 1:].mean().item())

    hs = [b.attn.register_forward_hook(spy) for b in bridges.bridges]
    with torch.no_grad():
        ref.composed_forward(anchor, augment, bridges, ids)
    for h in hs:
        h.remove()
    return peaks


# ---------------------------------------------------------------------------
# self-consistency checks


def check_primitives(model):
    x = torch.randn(3, 7, model.D, dtype=torch.float64) * 3
    w = torch.randn(model.D, dtype=torch.float64)
    b = torch.randn(model.D, dtype=torch.float64)
    err = (ref.layer_norm(x, w, b, 1e-5) - F.layer_norm(x, (model.D,), w, b, 1e-5)).abs().max()
    check("layer_norm == torch.nn.functional.layer_norm", err < 1e-12, f"max err {err:.1e}")
    err = (ref.gelu_new(x) - F.gelu(x, approximate="tanh")).abs().max()
    check("gelu_new == F.gelu(approximate='tanh')", err < 1e-12, f"max err {err:.1e}")


def check_block_vs_torch(model, ids):
    """GPT-2 forward again, built from torch.nn.MultiheadAttention / F.layer_norm / F.gelu."""
    w, D = model.w, model.D
    x = model.embed(ids)
    T = ids.shape[1]
    mask = ~ref.causal_mask(T, T)  # True = not allowed, as MultiheadAttention expects
    hidden = []
    for i in range(model.L):
        p = f"h.{i}."
        mha = nn.MultiheadAttention(D, model.H, batch_first=True).double()
        with torch.no_grad():
            mha.in_proj_weight.copy_(w[p + "attn.c_attn.weight"].T)
            mha.in_proj_bias.copy_(w[p + "attn.c_attn.bias"])
            mha.out_proj.weight.copy_(w[p + "attn.c_proj.weight"].T)
            mha.out_proj.bias.copy_(w[p + "attn.c_proj.bias"])
        a = F.layer_norm(x, (D,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], model.eps)
        x = x + mha(a, a, a, attn_mask=mask, need_weights=False)[0]
        m = F.layer_norm(x, (D,), w[p + "ln_2.weight"], w[p + "ln_2.bias"], model.eps)
        m = F.linear(m, w[p + "mlp.c_fc.weight"].T, w[p + "mlp.c_fc.bias"])
        x = x + F.linear(F.gelu(m, approximate="tanh"), w[p + "mlp.c_proj.weight"].T,
                         w[p + "mlp.c_proj.bias"])
        hidden.append(x)
    x = F.layer_norm(x, (D,), w["ln_f.weight"], w["ln_f.bias"], model.eps)
    return F.linear(x, model.lm_head), hidden


def check_bridge_vs_mha(bridges, x_anchor, h_aug):
    """Each bridge's cross-attention against torch.nn.MultiheadAttention."""
    worst = 0.0
    T = x_anchor.shape[1]
    mask = ~ref.causal_mask(T, T)
    for bridge in bridges.bridges:
        at = bridge.attn
        D = at.q.weight.shape[0]
        mha = nn.MultiheadAttention(D, at.h, batch_first=True).double()
        with torch.no_grad():
            mha.in_proj_weight.copy_(torch.cat([at.q.weight, at.k.weight, at.v.weight]))
            mha.in_proj_bias.copy_(torch.cat([at.q.bias, at.k.bias, at.v.bias]))
            mha.out_proj.weight.copy_(at.o.weight)
            mha.out_proj.bias.copy_(at.o.bias)
            p = F.linear(h_aug, bridge.proj.weight, bridge.proj.bias)
            want = mha(x_anchor, p, p, attn_mask=mask, need_weights=False)[0]
            if bridge.output == "rmsnorm":
                want = want * torch.rsqrt(want.pow(2).mean(-1, keepdim=True) + 1e-6) \
                    * bridge.norm.weight
            got = bridge(x_anchor, h_aug)
        worst = max(worst, (got - want).abs().max().item())
    return worst


def causality_gap(anchor, augment, bridges, ids):
    """Largest change of logits at positions <= t when tokens t+1.. change, over t."""
    worst = 0.0
    T = ids.shape[1]
    with torch.no_grad():
        base, _ = ref.composed_forward(anchor, augment, bridges, ids)
        for t in range(T - 1):
            alt = ids.clone()
            alt[:, t + 1:] = (alt[:, t + 1:] + 1 + t) % anchor.V
            got, _ = ref.composed_forward(anchor, augment, bridges, alt)
            worst = max(worst, (got[:, :t + 1] - base[:, :t + 1]).abs().max().item())
    return worst


def bridge_only_causality_gap(anchor, augment, bridges, ids):
    """Causality of the bridge alone: the augmenting states at positions > t are
    replaced by noise, the anchor's own path is untouched."""
    worst = 0.0
    aug_states = {}

    def keep(layer, x):
        aug_states[layer] = x
        return x

    with torch.no_grad():
        augment.forward(ids, hook=keep)
        for bridge, (a, g) in zip(bridges.bridges, bridges.connections):
            x = torch.randn(ids.shape[0], ids.shape[1], anchor.D, dtype=torch.float64)
            base = bridge(x, aug_states[g])
            for t in range(ids.shape[1] - 1):
                h = aug_states[g].clone()
                h[:, t + 1:] = torch.randn_like(h[:, t + 1:]) * 5
                worst = max(worst, (bridge(x, h)[:, :t + 1] - base[:, :t + 1]).abs().max().item())
    return worst


def finite_difference_check(anchor, augment, bridges, ids, R, grads, n=24):
    gen = torch.Generator().manual_seed(1)
    params = dict(bridges.named_parameters())
    names = sorted(params)
    worst = 0.0
    with torch.no_grad():
        for j in range(n):
            name = names[j % len(names)]
            p = params[name]
            idx = tuple(torch.randint(s, (1,), generator=gen).item() for s in p.shape)
            old = p[idx].item()
            eps = 1e-6
            p[idx] = old + eps
            lp = (ref.composed_forward(anchor, augment, bridges, ids)[0] * R).sum().item()
            p[idx] = old - eps
            lm = (ref.composed_forward(anchor, augment, bridges, ids)[0] * R).sum().item()
            p[idx] = old
            fd = (lp - lm) / (2 * eps)
            an = grads[name][idx].item()
            worst = max(worst, abs(fd - an) / max(1.0, abs(an)))
    return worst


# ---------------------------------------------------------------------------


def main():
    torch.manual_seed(0)
    np.random.seed(0)

    # --- plain models -------------------------------------------------------
    tiny = make_gpt2(os.path.join(HERE, "gpt2-tiny"), vocab=50, n_pos=32, d=48, n_layer=2,
                     n_head=4, prefix=True, lm_head=False)
    untied = make_gpt2(os.path.join(HERE, "gpt2-tiny-untied"), vocab=40, n_pos=16, d=32,
                       n_layer=3, n_head=2, prefix=False, lm_head=True)
    aug = make_gpt2(os.path.join(HERE, "gpt2-tiny-aug"), vocab=50, n_pos=32, d=40, n_layer=3,
                    n_head=5, prefix=True, lm_head=False)

    ids_tiny = torch.randint(0, 50, (2, 12))
    ids_untied = torch.randint(0, 40, (2, 12))
    logits_tiny, hidden_tiny = write_model_golden(tiny, os.path.join(HERE, "gpt2-tiny"), ids_tiny)
    logits_untied, hidden_untied = write_model_golden(
        untied, os.path.join(HERE, "gpt2-tiny-untied"), ids_untied)

    # --- CALM ----------------------------------------------------------------
    calm = os.path.join(HERE, "calm-tiny")
    # q and k weights get a smaller std than the rest: the residual streams these
    # bridges read have std ~3-5, and with std 0.2 the cross-attention softmax is
    # almost one-hot, which would leave the score path of the gradient untested.
    qk_std = 0.05
    zero = make_bundle(os.path.join(calm, "bundle-zero"), tiny, aug,
                       [[0, 2], [1, 1], [1, 0]], 4, "zero-init", qk_std)
    rms = make_bundle(os.path.join(calm, "bundle-rms"), tiny, aug,
                      [[-1, 2], [1, 2]], 2, "rmsnorm", qk_std)
    ids_calm = torch.randint(0, 50, (2, 10))
    R = torch.randn(2, 10, 50).to(torch.float64)  # float32 values, kept as float64

    with torch.no_grad():
        anchor_logits, anchor_hidden = tiny.forward(ids_calm)
        rms_logits, _ = ref.composed_forward(tiny, aug, rms, ids_calm)
    zero.zero_grad()
    zero_logits, _ = ref.composed_forward(tiny, aug, zero, ids_calm)
    (zero_logits * R).sum().backward()
    grads = {k: p.grad.detach().clone() for k, p in zero.named_parameters()}
    assert sorted(grads) == sorted(ref.read_safetensors(
        os.path.join(calm, "bundle-zero", "bridge.safetensors")))

    text = ('{"ids":' + json.dumps(ids_calm.tolist(), separators=(",", ":"))
            + ',"R":' + ref.f32_json(R)
            + ',"anchor":{"logits":' + ref.f32_json(anchor_logits) + "}"
            + ',"zero":{"logits":' + ref.f32_json(zero_logits) + "}"
            + ',"rms":{"logits":' + ref.f32_json(rms_logits) + "}"
            + ',"grads_zero":{' + ",".join(f'"{k}":' + ref.f32_json(grads[k])
                                          for k in sorted(grads)) + "}}\n")
    with open(os.path.join(calm, "golden.json"), "w") as f:
        f.write(text)

    # A learned relative-position bias (composition.json "position_bias") and the augmenting
    # model's final norm output as a connection point (augment layer = its n_layer).
    pos = make_bundle(os.path.join(calm, "bundle-pos"), tiny, aug,
                      [[-1, aug.L], [1, 2]], 4, "zero-init", qk_std, position_bias=3)
    with torch.no_grad():
        pos_logits, _ = ref.composed_forward(tiny, aug, pos, ids_calm)
    with open(os.path.join(calm, "golden-pos.json"), "w") as f:
        f.write('{"ids":' + json.dumps(ids_calm.tolist(), separators=(",", ":"))
                + ',"logits":' + ref.f32_json(pos_logits) + "}\n")

    # The three optional bridge parts at once: frozen input whitening (composition.json
    # "input_norm": "whiten", buffers bridges.{k}.in.mean / in.whiten), RMS-normalised queries
    # ("query_norm") and a per-head value gate ("value_gate", bridges.{k}.attn.gate.*), with a
    # position bias; random non-zero gate and statistics. Drawn after every other file, so
    # those stay as they were.
    gated = make_bundle(os.path.join(calm, "bundle-gated"), tiny, aug,
                        [[-1, aug.L], [1, 2]], 4, "zero-init", qk_std, position_bias=3,
                        input_norm="whiten", query_norm=True, value_gate=True)
    with torch.no_grad():
        gated_logits, _ = ref.composed_forward(tiny, aug, gated, ids_calm)
    with open(os.path.join(calm, "golden-gated.json"), "w") as f:
        f.write('{"ids":' + json.dumps(ids_calm.tolist(), separators=(",", ":"))
                + ',"logits":' + ref.f32_json(gated_logits) + "}\n")

    # --- checks ----------------------------------------------------------------
    print("self-consistency checks")
    check_primitives(tiny)

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "x.safetensors")
        t = {"b": np.arange(6, dtype=np.float32).reshape(2, 3), "a": np.float32([1.5])}
        ref.write_safetensors(path, t)
        back = ref.read_safetensors(path)
        check("safetensors round trip", all(np.array_equal(back[k], t[k]) for k in t))

    for name, model, ids, lg, hd in (("gpt2-tiny", tiny, ids_tiny, logits_tiny, hidden_tiny),
                                     ("gpt2-tiny-untied", untied, ids_untied, logits_untied,
                                      hidden_untied)):
        with torch.no_grad():
            lg2, hd2 = check_block_vs_torch(model, ids)
        err = max((lg - lg2).abs().max().item(),
                  max((a - b).abs().max().item() for a, b in zip(hd, hd2)))
        check(f"{name}: forward == nn.MultiheadAttention/F.* rebuild", err < 1e-10,
              f"max err {err:.1e}")
        with torch.no_grad():
            alt = ids.clone()
            alt[:, 6:] = (alt[:, 6:] + 1) % model.V
            lg3, _ = model.forward(alt)
        err = (lg3[:, :6] - lg[:, :6]).abs().max().item()
        check(f"{name}: causal (tokens >= 6 changed, logits < 6 same)", err == 0.0,
              f"max diff {err:.1e}")
        print(f"       {name}: logits std {lg.std():.2f}, last hidden std {hd[-1].std():.2f}")
    check("gpt2-tiny-untied: lm_head used (not wte)",
          not torch.allclose(untied.lm_head, untied.w["wte.weight"][:, :untied.D]))

    with torch.no_grad():
        x = torch.randn(2, 10, tiny.D, dtype=torch.float64) * 3
        hg = torch.randn(2, 10, aug.D, dtype=torch.float64) * 3
        err = max(check_bridge_vs_mha(zero, x, hg), check_bridge_vs_mha(rms, x, hg))
    check("bridges == nn.MultiheadAttention (+ RMSNorm)", err < 1e-10, f"max err {err:.1e}")

    for name, b in (("bundle-zero", zero), ("bundle-rms", rms)):
        gap = causality_gap(tiny, aug, b, ids_calm)
        check(f"{name}: composed logits at <= t unchanged when tokens > t change", gap == 0.0,
              f"max diff {gap:.1e}")
        gap = bridge_only_causality_gap(tiny, aug, b, ids_calm)
        check(f"{name}: bridge output at <= t blind to augmenting states > t", gap == 0.0,
              f"max diff {gap:.1e}")
        peaks = attention_peak(tiny, aug, b, ids_calm)
        print(f"       {name}: mean max cross-attention weight per bridge "
              + ", ".join(f"{p:.2f}" for p in peaks) + " (1.00 = saturated)")

    # The causality check can fail: without the mask the bridge reads the future.
    real_mask = ref.causal_mask
    ref.causal_mask = lambda tq, tk, device=None: torch.ones(tq, tk, dtype=torch.bool)
    try:
        leak = bridge_only_causality_gap(tiny, aug, zero, ids_calm)
    finally:
        ref.causal_mask = real_mask
    check("the causality check detects an unmasked bridge", leak > 1e-3, f"leak {leak:.2e}")

    diff = (zero_logits - anchor_logits).abs().max().item()
    check("bundle-zero (non-zero o) changes the anchor", diff > 1e-2, f"max diff {diff:.2f}")
    diff = (rms_logits - anchor_logits).abs().max().item()
    check("bundle-rms (incl. anchorLayer -1) changes the anchor", diff > 1e-2,
          f"max diff {diff:.2f}")

    for name, b in (("bundle-zero", zero), ("bundle-rms", rms)):
        b2, _ = ref.load_bundle(os.path.join(calm, name))
        with torch.no_grad():
            for br in b2.bridges:
                br.attn.o.weight.zero_()
                br.attn.o.bias.zero_()
            got, _ = ref.composed_forward(tiny, aug, b2, ids_calm)
        if b2.output == "zero-init":
            err = (got - anchor_logits).abs().max().item()
            check(f"{name}: o weight and bias zeroed -> composed == anchor", err == 0.0,
                  f"max diff {err:.1e}")
        else:  # RMSNorm(0) = 0 as well
            err = (got - anchor_logits).abs().max().item()
            check(f"{name}: o zeroed -> RMSNorm(0)=0 -> composed == anchor", err == 0.0,
                  f"max diff {err:.1e}")

    # A fresh zero-init bridge (as training starts) leaves the anchor as it is.
    fresh = ref.CALMBridges([[0, 2], [1, 1]], 4, "zero-init", tiny.D, aug.D).double()
    with torch.no_grad():
        got, _ = ref.composed_forward(tiny, aug, fresh, ids_calm)
    check("fresh zero-init bridges -> composed == anchor",
          (got - anchor_logits).abs().max().item() == 0.0)

    # Same-anchor-layer rule: bridges on one layer read the same state -> order-free.
    perm = [2, 0, 1]
    zp = ref.CALMBridges([zero.connections[i] for i in perm], 4, "zero-init", tiny.D, aug.D)
    zp.double()
    sd = zero.state_dict()
    zp.load_state_dict({k.replace(f"bridges.{i}.", f"bridges.{j}.", 1): sd[k]
                        for j, i in enumerate(perm) for k in sd
                        if k.startswith(f"bridges.{i}.")}, strict=True)
    with torch.no_grad():
        got, _ = ref.composed_forward(tiny, aug, zp, ids_calm)
    err = (got - zero_logits).abs().max().item()
    check("bridges sharing an anchor layer: list order does not matter", err < 1e-12,
          f"max diff {err:.1e}")
    # ... and differs from the sequential alternative (each bridge reads the previous sum)
    with torch.no_grad():
        aug_states = {}
        aug.forward(ids_calm, hook=lambda l, x: aug_states.__setitem__(l, x) or x)

        def sequential(layer, x):
            for (a, g), br in zip(zero.connections, zero.bridges):
                if a == layer:
                    x = x + br(x, aug_states[g])
            return x

        seq, _ = tiny.forward(ids_calm, hook=sequential)
    err = (seq - zero_logits).abs().max().item()
    check("... and differs from the sequential rule (so the golden pins the rule)",
          err > 1e-3, f"max diff {err:.2e}")

    # the optional parts each matter: switching one off changes the logits
    for part in ("in", "query_norm", "gate"):
        g2, _ = ref.load_bundle(os.path.join(calm, "bundle-gated"))
        for br in g2.bridges:
            if part == "in":
                br.add_module("in", None)
            elif part == "query_norm":
                br.query_norm = False
            else:
                br.attn.gate = None
        with torch.no_grad():
            got, _ = ref.composed_forward(tiny, aug, g2, ids_calm)
        err = (got - gated_logits).abs().max().item()
        check(f"bundle-gated: without {part} the logits change", err > 1e-3, f"max diff {err:.2e}")
    g2, _ = ref.load_bundle(os.path.join(calm, "bundle-gated"))
    check("bundle-gated: in.mean / in.whiten are buffers, not parameters",
          not any(".in." in k for k, _ in g2.named_parameters())
          and sum(".in." in k for k, _ in g2.named_buffers()) == 4)

    # strict loading really is strict
    try:
        ref.CALMBridges([[0, 2]], 4, "zero-init", tiny.D, aug.D).load_state_dict(
            {"bridges.0.proj.weight": torch.zeros(tiny.D, aug.D)}, strict=True)
        check("load_state_dict(strict=True) rejects a partial bundle", False)
    except RuntimeError:
        check("load_state_dict(strict=True) rejects a partial bundle", True)

    # gradients against finite differences (float64)
    worst = finite_difference_check(tiny, aug, zero, ids_calm, R, grads)
    check("grads_zero == central finite differences", worst < 1e-5, f"max rel err {worst:.1e}")
    nz = sum(int((g != 0).any()) for g in grads.values())
    check("every bridge parameter has a non-zero gradient", nz == len(grads),
          f"{nz}/{len(grads)}")

    # the CLI prints the same numbers
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        ref.main(["composed", "--anchor", os.path.join(HERE, "gpt2-tiny"),
                  "--augment", os.path.join(HERE, "gpt2-tiny-aug"),
                  "--bundle", os.path.join(calm, "bundle-rms"),
                  "--ids", ",".join(map(str, ids_calm[1].tolist()))])
    cli = np.array(json.loads(buf.getvalue())["logits"], dtype=np.float32)
    check("CLI composed == golden rms logits (row 1)",
          np.array_equal(cli, f32(rms_logits[1])))

    total = 0
    for root, _, files in os.walk(HERE):
        for fn in files:
            if "__pycache__" not in root:
                total += os.path.getsize(os.path.join(root, fn))
    print(f"tests/golden total size: {total / 1024:.0f} KiB")
    if FAILED:
        print(f"{len(FAILED)} check(s) FAILED: {FAILED}")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()

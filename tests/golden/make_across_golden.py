#!/usr/bin/python3
"""Writes calm-tiny/golden-across.json: composed logits across tokenizers (docs/design.md
§ Across tokenizers) from calm_ref.py, for calm-tiny/bundle-pos (a position bias) over
gpt2-tiny (anchor) and gpt2-tiny-aug (augmenting model). The augmenting ids are their own
(another length than the anchor's) and the key limits are hand-made alignments: a shared
augmenting BOS, limits of 0, repeated limits, and a last limit of all keys. No randomness.

It also writes `reads` and `logits_reads`: each anchor position's own augmenting ids (the
whole row's first tokens then a tail of its own, as a BPE merge across the position's end
gives), composed by composed_forward_reads, which runs each list through the augmenting model
alone: the oracle of the TypeScript key limit plus tail.

    /usr/bin/python3 tests/golden/make_across_golden.py
"""

import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import calm_ref as ref  # noqa: E402

ANCHOR_IDS = [[3, 17, 4, 9, 22, 5, 31], [8, 8, 12, 40, 2, 19, 7]]  # [B, T]
AUG_IDS = [[1, 30, 6, 44, 13], [1, 25, 25, 3, 49]]  # [B, S]
KEY_LIMIT = [[0, 1, 1, 3, 3, 4, 5], [1, 1, 2, 2, 2, 4, 5]]  # [B, T]
# [B][T]: what each anchor position reads; a list that is not a prefix of AUG_IDS's row has a tail
READS = [
    [[], [1], [1, 33], [1, 30, 6], [1, 30, 7, 8], [1, 30, 6, 44], AUG_IDS[0]],
    [[1], [2, 5], [1, 25], [1, 25, 11], [1, 25, 11, 12], [1, 25, 25, 3], AUG_IDS[1]],
]


def main():
    anchor = ref.GPT2.load(os.path.join(HERE, "gpt2-tiny"))
    augment = ref.GPT2.load(os.path.join(HERE, "gpt2-tiny-aug"))
    bridges, _ = ref.load_bundle(os.path.join(HERE, "calm-tiny", "bundle-pos"))
    logits, _ = ref.composed_forward(anchor, augment, bridges, torch.tensor(ANCHOR_IDS),
                                     torch.tensor(AUG_IDS), torch.tensor(KEY_LIMIT))
    # the causal rule as the special case: same ids on both sides, key_limit = t + 1
    same, _ = ref.composed_forward(anchor, augment, bridges, torch.tensor(ANCHOR_IDS))
    causal = torch.arange(1, 8)[None].expand(2, 7)
    again, _ = ref.composed_forward(anchor, augment, bridges, torch.tensor(ANCHOR_IDS),
                                    torch.tensor(ANCHOR_IDS), causal)
    assert torch.equal(same, again), "key_limit = t + 1 must be the causal rule"
    reads, _ = ref.composed_forward_reads(anchor, augment, bridges, torch.tensor(ANCHOR_IDS), READS)
    # the plain key limit as the special case: every list a prefix of the row
    plain = [[AUG_IDS[b][:k] for k in row] for b, row in enumerate(KEY_LIMIT)]
    again, _ = ref.composed_forward_reads(anchor, augment, bridges, torch.tensor(ANCHOR_IDS), plain)
    assert (again - logits).abs().max() < 1e-9, "prefixes of the row must be the key limit"
    out = {"anchor_ids": ANCHOR_IDS, "augment_ids": AUG_IDS, "key_limit": KEY_LIMIT,
           "logits": json.loads(ref.f32_json(logits)),
           "reads": READS, "logits_reads": json.loads(ref.f32_json(reads))}
    with open(os.path.join(HERE, "calm-tiny", "golden-across.json"), "w") as f:
        json.dump(out, f)
        f.write("\n")
    print("wrote calm-tiny/golden-across.json")


if __name__ == "__main__":
    main()

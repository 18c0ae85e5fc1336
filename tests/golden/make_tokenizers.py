#!/usr/bin/python3
"""Writes tokenizer.json into the Llama and GPT-NeoX fixture folders (llama-tiny*, neox-tiny*):
a byte-level BPE in the layout of the real families' files, cut down to the fixtures'
vocab_size of 50. No randomness and no third-party package, so running it twice gives
byte-identical files; make_arch_golden.py calls it too, so a rerun of that keeps them.

    /usr/bin/python3 tests/golden/make_tokenizers.py

- Llama folders, SmolLM2 style (HuggingFaceTB/SmolLM2-*): added tokens `<|endoftext|>` 0,
  `<|im_start|>` 1, `<|im_end|>` 2 (the fixtures' config.json has bos_token_id 1 and
  eos_token_id 2, as SmolLM2-Instruct's), merges written as pairs (tokenizers >= 0.20).
- GPT-NeoX folders, Pythia style (EleutherAI/gpt-neox-20b's tokenizer): `<|endoftext|>` 0,
  `<|padding|>` 1 (config.json: bos and eos 0), an NFC normalizer, merges written as
  "a b" strings (the older form).

Both: ByteLevel pre-tokenizer (GPT-2's split regex, no prefix space), ByteLevel
post-processor and decoder, a BPE model with no unknown token. The base alphabet is what the
built-in tasks write (space as GPT-2's byte symbol U+0120, digits, '+', '-', '=', a-z) in
GPT-2's byte order; the rest of the 50 ids are merges. Text outside that alphabet cannot be
encoded (a real byte-level vocabulary has all 256 bytes; 50 ids leave no room for them).
"""

import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB_SIZE = 50


def bytes_to_unicode():
    """GPT-2's map from bytes to printable characters (the order of its base vocabulary)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) \
        + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


BYTE_SYMBOL = bytes_to_unicode()
ALPHABET = " 0123456789+-=abcdefghijklmnopqrstuvwxyz"
# English-like merges, each of two tokens already in the vocabulary, in rank order
MERGES = [("Ġ", "t"), ("h", "e"), ("i", "n"), ("Ġ", "a"), ("e", "r"), ("o", "n"), ("Ġt", "he"),
          ("r", "e")]

FAMILIES = {
    # folder prefix: (added tokens, normalizer, merges as pairs?)
    "llama": (["<|endoftext|>", "<|im_start|>", "<|im_end|>"], None, True),
    "neox": (["<|endoftext|>", "<|padding|>"], {"type": "NFC"}, False),
}
FOLDERS = {
    "llama": ["llama-tiny", "llama-tiny-sharded", "llama-tiny-untied", "llama-tiny-bf16",
              "llama-tiny-f16"],
    "neox": ["neox-tiny", "neox-tiny-serial"],
}


def tokenizer_json(family):
    specials, normalizer, pair_merges = FAMILIES[family]
    order = list(BYTE_SYMBOL)  # bytes in GPT-2's vocabulary order
    base = [BYTE_SYMBOL[b] for b in order if chr(b) in ALPHABET]
    n_merges = VOCAB_SIZE - len(specials) - len(base)
    merges = MERGES[:n_merges]
    assert len(merges) == n_merges, "not enough merges for the vocabulary size"
    vocab = {}
    for token in specials + base + [a + b for a, b in merges]:
        assert token not in vocab, token
        vocab[token] = len(vocab)
    for a, b in merges:
        assert a in vocab and b in vocab, (a, b)
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                  "use_regex": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
            for i, t in enumerate(specials)
        ],
        "normalizer": normalizer,
        "pre_tokenizer": byte_level,
        "post_processor": byte_level,
        "decoder": byte_level,
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": [[a, b] if pair_merges else f"{a} {b}" for a, b in merges],
        },
    }


def write_tokenizers(root=HERE):
    """Writes every fixture's tokenizer.json; returns the paths written."""
    written = []
    for family, folders in FOLDERS.items():
        text = json.dumps(tokenizer_json(family), indent=2, ensure_ascii=False) + "\n"
        for folder in folders:
            with open(os.path.join(root, folder, "config.json")) as f:
                assert json.load(f)["vocab_size"] == VOCAB_SIZE, folder
            p = os.path.join(root, folder, "tokenizer.json")
            with open(p, "w", encoding="utf-8") as f:
                f.write(text)
            written.append(p)
    return written


if __name__ == "__main__":
    for p in write_tokenizers():
        print(f"wrote {os.path.relpath(p)}")

#!/usr/bin/env python3
"""Builds small synthetic tokenizer.json files that exercise the components
the real fixture tokenizers do not use (SentencePiece-style BPE with byte
fallback, Prepend/Replace/Strip normalizers, Whitespace/Digits/Punctuation/
Split pre-tokenizers, Metaspace "first", RoBERTa-style ByteLevel with prefix
space and offset trimming, BPE with continuing-subword prefix and unk fusing,
lstrip/rstrip/single_word/normalized added tokens, the remaining decoders).

The goldens next to them come from HF tokenizers itself:
    python3 gen.py && for t in *.json; do   # writes corpus.jsonl (kept gzipped)
      NODE_PATH=~/.cache/airvec-refbench/node/node_modules node \
        ../../../../shared/tools/tokoracle/tokgold.js --tokenizer $t --corpus corpus.jsonl --out ${t%.json}.jsonl
    done && gzip -9f *.jsonl
BPE vocabularies/merges are trained here on the corpus (deterministic).
"""
import collections
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
PUBLIC = os.path.join(HERE, "../../../../shared/tokenizers/corpus/public.jsonl")


def corpus():
    lines = [json.loads(l) for l in open(PUBLIC, encoding="utf-8") if l.strip()]
    # A sample of every category, short lines first, plus all pairs (<= 400 chars).
    out, seen = [], collections.Counter()
    for r in lines:
        if len(r["text"]) > 400 or len(r.get("pair", "")) > 400:
            continue
        if seen[r["cat"]] >= (6 if "pair" not in r else 10):
            continue
        seen[r["cat"]] += 1
        out.append({"id": r["id"], "text": r["text"], **({"pair": r["pair"]} if "pair" in r else {})})
    extra = [
        "a <mask> b<mask>c  <mask>  d", "xyz xyzabc abcxyz (xyz) xyz.", "[MASK]x x [MASK] x[MASK]",
        "hello world and hello  world", "<start_of_turn>user\nhi<end_of_turn>", "the 1234 big-bad-wolf 56",
        "Ünïcödé ÀÉÎ ǅungla ﬁne 𝐀𝐁 ①②", "tabs\tand\u00a0nbsp and\u3000ideographic", "   leading and trailing   ",
        "<s>roberta</s> <pad> <unk>", "don't won't I'm you're they've we'll she'd", "---", "- a - b -", "",
    ]
    for i, t in enumerate(extra):
        out.append({"id": "synth-%02d" % i, "text": t})
    out.append({"id": "synth-pair-0", "text": "<mask> pair", "pair": "xyz [MASK] second"})
    return out


def train(words, n_merges, units_of, join):
    """Plain BPE training: words -> count; units_of(word) -> list of unit
    strings; join(a, b) -> merged token. Returns (alphabet, merges)."""
    seqs = collections.Counter()
    alphabet = collections.Counter()
    for w, c in words.items():
        u = tuple(units_of(w))
        if u:
            seqs[u] += c
            for x in u:
                alphabet[x] += c
    merges = []
    for _ in range(n_merges):
        pairs = collections.Counter()
        for s, c in seqs.items():
            for a, b in zip(s, s[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        (a, b), c = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        if c < 2:
            break
        merges.append((a, b))
        new = collections.Counter()
        m = join(a, b)
        for s, cnt in seqs.items():
            out, i = [], 0
            while i < len(s):
                if i + 1 < len(s) and s[i] == a and s[i + 1] == b:
                    out.append(m)
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            new[tuple(out)] += cnt
        seqs = new
    return alphabet, merges


def words_of(recs):
    c = collections.Counter()
    for r in recs:
        for t in (r["text"], r.get("pair", "")):
            for w in t.split():
                c[w] += 1
    return c


def bytes_char():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def added(id_, content, special=True, lstrip=False, rstrip=False, single_word=False, normalized=False):
    return {"id": id_, "content": content, "single_word": single_word, "lstrip": lstrip, "rstrip": rstrip,
            "normalized": normalized, "special": special}


def gemma_style(recs):
    words = words_of(recs)
    alphabet, merges = train(words, 600, lambda w: list("▁" + w), lambda a, b: a + b)
    vocab = {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3}
    for b in range(256):
        vocab["<0x%02X>" % b] = len(vocab)
    # Keep only frequent chars so rarer ones fall back to bytes.
    for ch, c in sorted(alphabet.items(), key=lambda kv: (-kv[1], kv[0])):
        if c >= 3 and ch not in vocab:
            vocab[ch] = len(vocab)
    keep = []
    for a, b in merges:
        if a in vocab and b in vocab:
            if a + b not in vocab:
                vocab[a + b] = len(vocab)
            keep.append([a, b])
    st = len(vocab)
    vocab["<start_of_turn>"] = st
    vocab["<end_of_turn>"] = st + 1
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added(0, "<pad>"), added(1, "<eos>"), added(2, "<bos>"), added(3, "<unk>"),
                         added(st, "<start_of_turn>"), added(st + 1, "<end_of_turn>"),
                         added(st + 2, "hello world", special=False, normalized=True)],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
        "pre_tokenizer": None,
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": "<bos>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {"<bos>": {"id": "<bos>", "ids": [2], "tokens": ["<bos>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"},
            {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": vocab, "merges": keep},
    }


def roberta_style(recs):
    bc = bytes_char()
    words = words_of(recs)
    alphabet, merges = train(words, 500, lambda w: [bc[b] for b in (" " + w).encode()], lambda a, b: a + b)
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for b in range(256):
        vocab.setdefault(bc[b], len(vocab))
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    m = len(vocab)
    vocab["<mask>"] = m
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added(0, "<s>"), added(1, "<pad>"), added(2, "</s>"), added(3, "<unk>"),
                         added(m, "<mask>", lstrip=True)],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0],
                           "trim_offsets": True, "add_prefix_space": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "vocab": vocab,
                  "merges": [a + " " + b for a, b in merges]},
    }


def bpe_prefix(recs):
    words = words_of(recs)
    def units(w):
        w = w.lower()
        return [w[0]] + ["##" + c for c in w[1:]] if w else []
    def join(a, b):
        return a + b[2:]
    alphabet, merges = train(words, 400, units, join)
    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4}
    for ch, c in sorted(alphabet.items(), key=lambda kv: (-kv[1], kv[0])):
        if c >= 4:
            vocab.setdefault(ch, len(vocab))
    keep = []
    for a, b in merges:
        if a in vocab and b in vocab:
            vocab.setdefault(join(a, b), len(vocab))
            keep.append(a + " " + b)
    x = len(vocab)
    return {
        "version": "1.0", "truncation": {"max_length": 24, "strategy": "OnlyFirst", "stride": 0, "direction": "Left"},
        "padding": {"strategy": "BatchLongest", "direction": "Left", "pad_to_multiple_of": 4, "pad_id": 0,
                    "pad_type_id": 1, "pad_token": "[PAD]"},
        "added_tokens": [added(0, "[PAD]"), added(1, "[UNK]"), added(2, "[CLS]"), added(3, "[SEP]"),
                         added(4, "[MASK]", lstrip=True, rstrip=True),
                         added(x, "xyz", special=False, single_word=True)],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFKD"}, {"type": "StripAccents"}, {"type": "Lowercase"},
            {"type": "Strip", "strip_left": True, "strip_right": True}]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Whitespace"}, {"type": "Digits", "individual_digits": True},
            {"type": "Punctuation", "behavior": "Isolated"}]},
        "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": False},
        "model": {"type": "BPE", "dropout": None, "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": False, "vocab": vocab, "merges": keep},
    }


def unigram_misc():
    base = json.load(open(os.path.join(HERE, "../../../../shared/tokenizers/xlmr-style-unigram.json"), encoding="utf-8"))
    model = base["model"]
    model["vocab"] = model["vocab"][:8000]  # keep the file small; more unknowns
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [a for a in base["added_tokens"] if a["id"] < 8000] + [added(7999, "<mask>", lstrip=True, rstrip=True)],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFD"}, {"type": "Lowercase"}, {"type": "Replace", "pattern": {"Regex": "\\d+"}, "content": "#"},
            {"type": "NFC"}]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"String": "-"}, "behavior": "MergedWithNext", "invert": False},
            {"type": "Split", "pattern": {"Regex": "\\s+"}, "behavior": "MergedWithPrevious", "invert": False},
            {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False}]},
        "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0],
                           "trim_offsets": False, "add_prefix_space": True},
        "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False},
        "model": model,
    }


def unigram_bytefallback():
    base = json.load(open(os.path.join(HERE, "../../../../shared/tokenizers/t5.json"), encoding="utf-8"))
    model = base["model"]
    vocab = model["vocab"][:3000]
    vocab += [["<0x%02X>" % b, 0.0] for b in range(256)]
    model["vocab"], model["byte_fallback"] = vocab, True
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [a for a in base["added_tokens"] if a["id"] < 3],
        "normalizer": {"type": "NFKC"},  # (the charsmap is covered by t5; keeps this file small)
        "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True},
        "post_processor": base["post_processor"],
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"},
            {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": model,
    }


def main():
    recs = corpus()
    with open(os.path.join(HERE, "corpus.jsonl"), "w", encoding="utf-8") as f:
        for r in recs:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    for name, tok in [("gemma-style", gemma_style(recs)), ("roberta-style", roberta_style(recs)),
                      ("bpe-prefix", bpe_prefix(recs)), ("unigram-misc", unigram_misc()),
                      ("unigram-bytefallback", unigram_bytefallback())]:
        with open(os.path.join(HERE, name + ".json"), "w", encoding="utf-8") as f:
            json.dump(tok, f, ensure_ascii=False)


if __name__ == "__main__":
    main()

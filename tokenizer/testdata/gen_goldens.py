#!/usr/bin/env python3
"""Regenerate the tokenizer goldens in this directory from independent implementations.

  pretok_golden.json   -- pre-tokenizer splits by Hugging Face `tokenizers`
                          (pre_tokenizers.Split with the models' regexes, behaviour "isolated")
  llamacpp_golden.json -- encodings, token pieces and end-of-generation sets by llama.cpp
                          (through `llama-cpp-python`, vocab_only) for the shared fixture
                          vocabularies and the default SmolLM2 model

Run from the repository root with a Python that has `tokenizers` and `llama-cpp-python`:

    python3 -m venv /tmp/tokvenv && /tmp/tokvenv/bin/pip install tokenizers llama-cpp-python
    /tmp/tokvenv/bin/python tokenizer/testdata/gen_goldens.py [pretok]   (pretok: only pretok_golden.json)

Inputs: ../shared/fixtures/llama-vocab/*.gguf and .inp, ../shared/fixtures/stories260K/stories260K.gguf,
models/SmolLM2-135M-Instruct.Q4_1.gguf (fetched by scripts/fetch-model.sh).
"""

import ctypes
import json
import os
import sys

from tokenizers import Regex, pre_tokenizers

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIX = os.path.join(ROOT, "..", "shared", "fixtures")
OUT = os.path.dirname(os.path.abspath(__file__))

GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
CJK = "[一-龥ࠀ-一가-퟿]+"
# GPT-4o's pattern in the form llama.cpp runs it (llama-vocab.cpp,
# LLAMA_VOCAB_PRE_TYPE_GPT4O): a letter other than a-z is "upper", one
# other than A-Z "lower".
GPT4O = (r"[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?"
         r"|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?"
         r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")

# The split sequences of each pre-tokenizer family, as llama.cpp lists them
# (llama-vocab.cpp) and the models' tokenizer.json files define them. The key
# is a tokenizer.ggml.pre name of that family.
FAMILIES = {
    "gpt-2": [GPT2],
    "llama-bpe": [LLAMA3],
    "qwen2": [QWEN2],
    "smollm": [r"\p{N}", GPT2],
    "falcon": [r"[\p{P}\$\+<=>\^~\|`]+", GPT2, "[0-9][0-9][0-9]"],
    "deepseek-llm": [
        "[\r\n]",
        "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝ\u1f5f-\u1f7dᾀ-ᾴᾶ-ᾼ\u1fbeῂ-ῄῆ-ῌ\u1fd0-\u1fd3\u1fd6-\u1fdbῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\u2126ℨ\u212a-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
        "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
        "\\s+$",
        CJK,
        "\\p{N}+",
    ],
    "deepseek-coder": ["[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", CJK, "\\p{N}"],
    "gpt-4o": [GPT4O],
}

# Extra texts that reach corners of the patterns the shared vectors do not.
EXTRA_TEXTS = [
    "Hello\r\n\r\n  world",
    "x  \n\n\t y\t\tz",
    "'S 'T 'Re 've 'LL 'd 'M 'x",
    "abc123456789def 12345 1234567",
    "ǅungla Ǆ ǈ",
    "1,234.5 ٣٤٥ Ⅻ ½ ²",
    "\t\u00a0\u3000 a\u2003b",
    "tab\tand  spaces   \n",
    "\"quoted\" (paren) [b] {c} <d> «e»",
    "日本語のテキスト 한국어 中文，标点。",
    "mixed—dash…ellipsis ‘single’ “double”",
    "emoji 👍🏽 test 🇺🇳",
    "   ",
    "\n",
    "a\n\nb",
    "foo    \n   bar",
    "$100 + 5 <= 6^2 | `x` ~y",
    "func main() {\n\tfmt.Println(\"hi\")\n}\n",
    "  leading and trailing  ",
    "ＡＢＣ ａｂｃ ！？",
    "x\r\ny\rz",
    "a  \n",
    "HTTPServer ÀB àB Ñandú McDonald's HELLO'S O'Neil camelCase XMLHttpRequest",
    "ΑΒΓ αβγ ΑβΓ Привет МИР éTÉ",
    "path/to/file.go\n/ x//y ..//\n",
    "'Tis IT'LL 'Re",
]


def vector_texts():
    with open(os.path.join(FIX, "llama-vocab", "ggml-vocab-gpt-2.gguf.inp"), encoding="utf-8") as f:
        texts = f.read().split("\n__ggml_vocab_test__\n")
    if texts and texts[-1] == "":
        texts.pop()
    return texts


def pretok_goldens(texts):
    out = {}
    for name, patterns in FAMILIES.items():
        seq = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(p), behavior="isolated") for p in patterns])
        cases = []
        for text in texts:
            cases.append({"text": text, "pieces": [piece for piece, _ in seq.pre_tokenize_str(text)]})
        out[name] = {"patterns": patterns, "cases": cases}
    return out


# ---------------------------------------------------------------- llama.cpp

SPECIAL_TEXTS = {
    "SmolLM2": [
        "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
        "a<|endoftext|>b <|im_end|> c",
        "<|im_start|><|im_start|>x",
        "Hello world",
        " 3333 apples, 12.5%!",
        "<repo_name>x<file_sep>",
        "def f(x):\n    return x * 2  # double\n",
        "Ünïcödé — “quotes” … 日本語 🦙\u200d",
        "a\x04b\x1f0\x7f",  # bytes SmolLM2 has no token for are dropped
    ],
    "ggml-vocab-llama-spm": ["<s>Hello</s> world", "<unk> x", " <s> a", "Hello<s>"],
    "ggml-vocab-phi-3": ["<|user|>\nHi<|end|>\n<|assistant|>\n", "</s> a </s>", "<|endoftext|> x"],
    "ggml-vocab-mpt": ["a    b", "<|endoftext|>x<|padding|>", "        indented"],
    "ggml-vocab-deepseek-coder": ["<｜fim▁begin｜>x<｜fim▁hole｜>y<｜fim▁end｜>", "<｜begin▁of▁sentence｜>hi", "õ÷Á"],
    "ggml-vocab-deepseek-llm": ["<｜begin▁of▁sentence｜>User: hi\n\nAssistant:", "[PAD100015]ø"],
    "ggml-vocab-gpt-2": ["<|endoftext|>The end<|endoftext|>"],
    "ggml-vocab-starcoder": ["<fim_prefix>def<fim_suffix>\n<fim_middle>", "<|endoftext|>"],
    "ggml-vocab-falcon": [">>TITLE<<x<|endoftext|>", "Hello world"],
    "ggml-vocab-refact": ["<fim_prefix>a<fim_middle>"],
    "stories260K": ["Once upon a time", "<s>x</s>", ""],
}


def llamacpp_goldens():
    import llama_cpp
    from llama_cpp import Llama

    paths = {
        "SmolLM2": os.path.join(ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf"),
        "stories260K": os.path.join(FIX, "stories260K", "stories260K.gguf"),
    }
    for name in SPECIAL_TEXTS:
        if name.startswith("ggml-vocab-"):
            paths[name] = os.path.join(FIX, "llama-vocab", name + ".gguf")

    out = {}
    for name, path in sorted(paths.items()):
        m = Llama(model_path=path, vocab_only=True, verbose=False)
        v = llama_cpp.llama_model_get_vocab(m.model)
        n = llama_cpp.llama_vocab_n_tokens(v)

        def piece(i):
            buf = ctypes.create_string_buffer(256)
            k = llama_cpp.llama_token_to_piece(v, i, buf, len(buf), 0, False)
            return buf.raw[:k].hex()

        encodings = []
        for text in SPECIAL_TEXTS[name]:
            for add_special in (False, True):
                for parse_special in (False, True):
                    ids = m.tokenize(text.encode("utf-8"), add_bos=add_special, special=parse_special)
                    encodings.append({"text": text, "add_special": add_special,
                                      "parse_special": parse_special, "ids": ids})
        # Token pieces (hex bytes, special=false) for a spread of ids and the first
        # 300 tokens that are not plain normal ones (attribute 4 is NORMAL alone).
        ids = set(range(0, n, max(1, n // 300)))
        ids.update([i for i in range(n) if llama_cpp.llama_vocab_get_attr(v, i) != 4][:300])
        pieces = {str(i): piece(i) for i in sorted(ids)}
        out[name] = {
            "file": os.path.relpath(path, ROOT),
            "n_vocab": n,
            "bos": llama_cpp.llama_vocab_bos(v),
            "eos": llama_cpp.llama_vocab_eos(v),
            "add_bos": bool(llama_cpp.llama_vocab_get_add_bos(v)),
            "add_eos": bool(llama_cpp.llama_vocab_get_add_eos(v)),
            "eog": [i for i in range(n) if llama_cpp.llama_vocab_is_eog(v, i)],
            "control": [i for i in range(n) if llama_cpp.llama_vocab_is_control(v, i)],
            "encodings": encodings,
            "pieces": pieces,
        }
        del m
    return out


def main():
    texts = vector_texts() + EXTRA_TEXTS
    with open(os.path.join(OUT, "pretok_golden.json"), "w", encoding="utf-8") as f:
        json.dump({"generator": "tokenizers " + __import__("tokenizers").__version__,
                   "families": pretok_goldens(texts)}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    if sys.argv[1:] == ["pretok"]:  # only the pre-tokenizer splits
        return
    import llama_cpp
    vocabs = llamacpp_goldens()
    with open(os.path.join(OUT, "llamacpp_golden.json"), "w", encoding="utf-8") as f:
        # One vocabulary per line keeps the file small and its diffs readable.
        f.write('{"generator": %s,\n "vocabs": {\n' % json.dumps("llama-cpp-python " + llama_cpp.__version__))
        f.write(",\n".join("  %s: %s" % (json.dumps(k), json.dumps(v, ensure_ascii=False, separators=(",", ":")))
                           for k, v in vocabs.items()))
        f.write("\n }\n}\n")


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""A tiny GPT-2 GGUF and llama.cpp's greedy continuations on it, for gpurun's
GPT-2 tests (no real GPT-2 GGUF can be fetched here, and the real one is
hundreds of MB).

The model: GPT-2's architecture and tokenizer (byte-level BPE, "gpt-2"
pre-tokenizer) cut down to the first 1023 tokens of GPT-2's vocabulary
(the 256 byte tokens and the results of the first 767 merges, taken from
../shared/fixtures/llama-vocab/ggml-vocab-gpt-2.gguf) plus <|endoftext|> as
id 1023; dim 128, 2 heads of 64, 2 layers, feed-forward 512, 256 positions,
and a classifier of its own (output.weight). Weights are random (numpy default_rng(20261129)), scaled so
that the logits are decisive. Tensor types mix what quantized GPT-2 files
carry: Q8_0 and Q4_1 matrices, F32 norms, biases and position embeddings.

Writes runtime/engine/testdata/gpt2-tiny.gguf and
runtime/engine/testdata/gpt2_tiny_llamacpp.json: for each prompt the
prompt tokens llama.cpp's tokenizer made, the greedy continuation, the
top-2 logit gap at each step and the full logits after the prompt.
Settings as scripts/goldens/llamacpp_greedy.py: KV cache f32, flash
attention off, 2 threads.

Usage:
  python3 -m venv /tmp/venv && /tmp/venv/bin/pip install llama-cpp-python==0.3.36 gguf==0.19.0 numpy
  /tmp/venv/bin/python scripts/goldens/gpt2_tiny.py [VOCAB.gguf] [OUTDIR]
"""
import json
import os
import platform
import sys

import gguf
import llama_cpp
import numpy as np

VOCAB = sys.argv[1] if len(sys.argv) > 1 else "../shared/fixtures/llama-vocab/ggml-vocab-gpt-2.gguf"
OUTDIR = sys.argv[2] if len(sys.argv) > 2 else "runtime/engine/testdata"
MODEL = os.path.join(OUTDIR, "gpt2-tiny.gguf")
OUT = os.path.join(OUTDIR, "gpt2_tiny_llamacpp.json")

N_VOCAB, DIM, HEADS, LAYERS, FFN, CTX = 1024, 128, 2, 2, 512, 256
EPS = 1e-5
N = 48
SEED = 20261129

PROMPTS = [
    {"name": "hello", "text": "Hello, my dog is cute"},
    {"name": "story", "text": "Once upon a time there was a little girl who lived in a house."},
    {"name": "digits", "text": "In 1999, 42 people ran 3 races.\nThe end"},
    {"name": "code", "text": "def add(a, b):\n    return a + b\n"},
]

Q8_0 = gguf.GGMLQuantizationType.Q8_0
Q4_1 = gguf.GGMLQuantizationType.Q4_1
F32 = gguf.GGMLQuantizationType.F32


def vocab():
    r = gguf.GGUFReader(VOCAB)
    tokens = r.fields["tokenizer.ggml.tokens"].contents()
    merges = r.fields["tokenizer.ggml.merges"].contents()
    keep = N_VOCAB - 1
    for i, m in enumerate(merges[:keep - 256]):  # token 256+i is the result of merge i
        a, b = m.split(" ")
        assert tokens[256 + i] == a + b, (i, m, tokens[256 + i])
    toks = tokens[:keep] + ["<|endoftext|>"]
    types = [gguf.TokenType.NORMAL] * keep + [gguf.TokenType.CONTROL]
    return toks, types, merges[:keep - 256]


def add_tokenizer(w):
    """The cut-down GPT-2 tokenizer (vocab()) into GGUF writer w, <|endoftext|> as BOS and EOS."""
    toks, types, merges = vocab()
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-2")
    w.add_token_list(toks)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(N_VOCAB - 1)
    w.add_eos_token_id(N_VOCAB - 1)
    w.add_add_bos_token(False)


def write_model():
    rng = np.random.default_rng(SEED)

    def normal(shape, std):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    w = gguf.GGUFWriter(MODEL, "gpt2")
    w.add_name("gpt2-tiny (random weights, GPT-2 vocabulary cut to 1024 tokens)")
    w.add_context_length(CTX)
    w.add_embedding_length(DIM)
    w.add_feed_forward_length(FFN)
    w.add_block_count(LAYERS)
    w.add_head_count(HEADS)
    w.add_layer_norm_eps(EPS)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)
    add_tokenizer(w)

    def tensor(name, data, qtype=F32):
        # data is (rows, cols) in numpy order = ggml dims [cols, rows]
        if qtype == F32:
            w.add_tensor(name, data)
        else:
            w.add_tensor(name, gguf.quants.quantize(data, qtype), raw_dtype=qtype)

    tensor("token_embd.weight", normal((N_VOCAB, DIM), 0.3), Q8_0)
    tensor("position_embd.weight", normal((CTX, DIM), 0.1))
    for l in range(LAYERS):
        p = f"blk.{l}."
        tensor(p + "attn_norm.weight", 1 + normal((DIM,), 0.1))
        tensor(p + "attn_norm.bias", normal((DIM,), 0.05))
        tensor(p + "attn_qkv.weight", normal((3 * DIM, DIM), DIM ** -0.5), Q8_0)
        tensor(p + "attn_qkv.bias", normal((3 * DIM,), 0.1))
        tensor(p + "attn_output.weight", normal((DIM, DIM), DIM ** -0.5), Q4_1)
        tensor(p + "attn_output.bias", normal((DIM,), 0.05))
        tensor(p + "ffn_norm.weight", 1 + normal((DIM,), 0.1))
        tensor(p + "ffn_norm.bias", normal((DIM,), 0.05))
        tensor(p + "ffn_up.weight", normal((FFN, DIM), DIM ** -0.5), Q4_1)
        tensor(p + "ffn_up.bias", normal((FFN,), 0.1))
        tensor(p + "ffn_down.weight", normal((DIM, FFN), FFN ** -0.5), Q8_0)
        tensor(p + "ffn_down.bias", normal((DIM,), 0.05))
    tensor("output_norm.weight", 1 + normal((DIM,), 0.1))
    tensor("output_norm.bias", normal((DIM,), 0.05))
    # GPT-2 ties its classifier to wte; llama.cpp's converter writes the copy
    # as output.weight. A copy would make this random model repeat its input
    # token forever, so here it is a matrix of its own.
    tensor("output.weight", normal((N_VOCAB, DIM), 0.3), Q8_0)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    write_model()
    llm = llama_cpp.Llama(model_path=MODEL, n_ctx=CTX, n_batch=256, n_ubatch=256, n_threads=2,
                          n_threads_batch=2, type_k=0, type_v=0, flash_attn=False,
                          logits_all=False, verbose=False)
    vocab_ = llama_cpp.llama_model_get_vocab(llm.model)
    n_vocab = llm.n_vocab()
    cases = []
    for p in PROMPTS:
        toks = llm.tokenize(p["text"].encode(), add_bos=False, special=False)
        llm.reset()
        llm.eval(toks)
        out, gaps, first = [], [], None
        for _ in range(N):
            ptr = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
            logits = np.ctypeslib.as_array(ptr, shape=(n_vocab,)).copy()
            if first is None:
                first = logits
            top2 = np.sort(logits)[-2:]
            tok = int(np.argmax(logits))  # first maximum
            out.append(tok)
            gaps.append(float(top2[1] - top2[0]))
            if llama_cpp.llama_vocab_is_eog(vocab_, tok):
                break
            llm.eval([tok])
        cases.append({"name": p["name"], "prompt": p["text"], "prompt_tokens": toks, "tokens": out,
                      "top2_gap": [round(g, 5) for g in gaps],
                      "first_logits": [float(x) for x in first],
                      "text": llm.detokenize(out).decode("utf-8", errors="replace")})
        print(f"{p['name']}: {len(toks)} prompt tokens, {len(out)} generated, min gap {min(gaps):.4f}",
              file=sys.stderr)

    doc = {
        "generator": "scripts/goldens/gpt2_tiny.py",
        "llama_cpp_python": llama_cpp.__version__,
        "llama_cpp_system_info": llama_cpp.llama_print_system_info().decode(),
        "python": platform.python_version(),
        "model": os.path.basename(MODEL),
        "settings": {"kv_cache": "f32", "flash_attn": False, "n_batch": 256, "threads": 2, "max_tokens": N,
                     "add_bos": False,
                     "sampling": "greedy argmax over llama_get_logits_ith(-1), stop at llama_vocab_is_eog"},
        "cases": cases,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()

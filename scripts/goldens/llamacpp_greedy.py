#!/usr/bin/env python3
"""Greedy continuations from llama.cpp (through llama-cpp-python, which builds
llama.cpp from source) for gpurun's end-to-end tests.

Writes runtime/engine/testdata/smollm2_llamacpp_greedy.json: for each prompt,
the prompt tokens llama.cpp's tokenizer made, the greedy continuation (at most
N tokens, stopping at an end-of-generation token), and at every step the gap
between the top two logits (a small gap marks a near-tie that float
rounding may flip).

Chat prompts are rendered with the model's own tokenizer.chat_template through
jinja2 (what Hugging Face transformers uses) and tokenized with special tokens
parsed. Settings: KV cache f32 (type_k = type_v = GGML_TYPE_F32), flash
attention off, n_batch 256, 2 threads: the most exact reference llama.cpp offers.

Usage:
  python3 -m venv /tmp/venv && /tmp/venv/bin/pip install llama-cpp-python==0.3.36 jinja2 numpy
  /tmp/venv/bin/python scripts/goldens/llamacpp_greedy.py [MODEL.gguf] [OUT.json]
"""
import ctypes
import json
import platform
import sys

import jinja2
import llama_cpp
import numpy as np

MODEL = sys.argv[1] if len(sys.argv) > 1 else "models/SmolLM2-135M-Instruct.Q4_1.gguf"
OUT = sys.argv[2] if len(sys.argv) > 2 else "runtime/engine/testdata/smollm2_llamacpp_greedy.json"
N = 64

PROMPTS = [
    {"name": "capital", "text": "The capital of France is"},
    {"name": "code", "text": "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n"},
    {"name": "story", "text": "Once upon a time, in a small village by the sea,"},
    {"name": "list", "text": "Here are five fruits:\n1."},
    {"name": "chat-water", "chat": [{"role": "user", "content": "What is the boiling point of water?"}]},
    {"name": "chat-poem", "chat": [{"role": "user", "content": "Write a short poem about the sea."}]},
    {"name": "chat-system", "chat": [
        {"role": "system", "content": "You are a concise assistant. Answer in one sentence."},
        {"role": "user", "content": "Why is the sky blue?"}]},
]


def render(template, messages, bos, eos):
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = lambda msg: (_ for _ in ()).throw(jinja2.TemplateError(msg))
    return env.from_string(template).render(messages=messages, add_generation_prompt=True,
                                            bos_token=bos, eos_token=eos)


def main():
    llm = llama_cpp.Llama(model_path=MODEL, n_ctx=512, n_batch=256, n_ubatch=256, n_threads=2,
                          n_threads_batch=2, type_k=0, type_v=0, flash_attn=False,
                          logits_all=False, verbose=False)
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    n_vocab = llm.n_vocab()
    tmpl = llm.metadata["tokenizer.chat_template"]
    bos = llm.detokenize([llm.token_bos()], special=True).decode()
    eos = llm.detokenize([llm.token_eos()], special=True).decode()

    cases = []
    for p in PROMPTS:
        if "chat" in p:
            text = render(tmpl, p["chat"], bos, eos)
            toks = llm.tokenize(text.encode(), add_bos=True, special=True)
        else:
            text = p["text"]
            toks = llm.tokenize(text.encode(), add_bos=True, special=False)
        llm.reset()
        llm.eval(toks)
        out, gaps = [], []
        for _ in range(N):
            ptr = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
            logits = np.ctypeslib.as_array(ptr, shape=(n_vocab,)).copy()
            top2 = np.sort(logits)[-2:]
            tok = int(np.argmax(logits))  # first maximum
            out.append(tok)
            gaps.append(float(top2[1] - top2[0]))
            if llama_cpp.llama_vocab_is_eog(vocab, tok):
                break
            llm.eval([tok])
        case = {"name": p["name"], "prompt_tokens": toks, "tokens": out, "top2_gap": [round(g, 5) for g in gaps],
                "text": llm.detokenize(out).decode("utf-8", errors="replace")}
        if "chat" in p:
            case["messages"] = p["chat"]
            case["rendered"] = text
        else:
            case["prompt"] = text
        cases.append(case)
        print(f"{p['name']}: {len(toks)} prompt tokens, {len(out)} generated, min gap {min(gaps):.4f}", file=sys.stderr)

    doc = {
        "generator": "scripts/goldens/llamacpp_greedy.py",
        "llama_cpp_python": llama_cpp.__version__,
        "llama_cpp_system_info": llama_cpp.llama_print_system_info().decode(),
        "python": platform.python_version(),
        "model": MODEL.rsplit("/", 1)[-1],
        "settings": {"kv_cache": "f32", "flash_attn": False, "n_batch": 256, "threads": 2, "max_tokens": N,
                     "sampling": "greedy argmax over llama_get_logits_ith(-1), stop at llama_vocab_is_eog"},
        "cases": cases,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()

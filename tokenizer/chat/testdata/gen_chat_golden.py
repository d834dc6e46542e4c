#!/usr/bin/env python3
"""Regenerate chat_golden.json: chat templates rendered by Python jinja2 the way
Hugging Face transformers' apply_chat_template renders them (an
ImmutableSandboxedEnvironment with trim_blocks, lstrip_blocks and loop controls,
raise_exception as a global, variables messages / add_generation_prompt /
bos_token / eos_token).

Templates: templates/*.jinja in this directory (ChatML, Llama 2, Llama 3, Zephyr,
as published in those models' tokenizer_config.json files; Qwen3, Qwen2.5, Llama
3.2, Mistral Nemo, Gemma 2, Phi-3.5, DeepSeek-R1-Distill-Qwen, SmolLM3, Granite
3.3 and gpt-oss as llama.cpp collects them in models/templates, copied from the
llama-cpp-python 0.3.36 sdist's vendor/llama.cpp; macros.jinja, written here to
exercise macros and the whitespace control around them) and the templates
stored in two GGUF files: the default SmolLM2 model and llama.cpp's phi-3 test
vocabulary.

transformers gives templates strftime_now(format), today's date; so that the
goldens do not depend on the day, this environment's returns the sentinel
"<strftime_now FORMAT>", and the Go test installs the same one.

Run from the repository root with a Python that has jinja2 and gguf:

    python3 -m venv /tmp/chatvenv && /tmp/chatvenv/bin/pip install jinja2 gguf
    /tmp/chatvenv/bin/python tokenizer/chat/testdata/gen_chat_golden.py
"""

import glob
import json
import os

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from gguf import GGUFReader

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))

GGUF_TEMPLATES = {
    "smollm2": "models/SmolLM2-135M-Instruct.Q4_1.gguf",
    "phi3": "../shared/fixtures/llama-vocab/ggml-vocab-phi-3.gguf",
}

TOKENS = {  # bos, eos as each model's vocabulary spells them
    "chatml": ("<s>", "</s>"),
    "llama2": ("<s>", "</s>"),
    "llama3": ("<|begin_of_text|>", "<|end_of_text|>"),
    "zephyr": ("<s>", "</s>"),
    "macros": ("<s>", "</s>"),
    "smollm2": ("<|im_start|>", "<|im_end|>"),
    "phi3": ("<s>", "<|endoftext|>"),
    "qwen3": ("", "<|im_end|>"),
    "qwen2.5": ("", "<|im_end|>"),
    "llama3.2": ("<|begin_of_text|>", "<|eot_id|>"),
    "mistral-nemo": ("<s>", "</s>"),
    "gemma2": ("<bos>", "<eos>"),
    "phi3.5": ("<s>", "<|endoftext|>"),
    "deepseek-r1-distill-qwen": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    "smollm3": ("", "<|im_end|>"),
    "granite3.3": ("", "<|end_of_text|>"),
    "gpt-oss": ("<|startoftext|>", "<|return|>"),
}

CONVERSATIONS = {
    "user": [{"role": "user", "content": "Hello!"}],
    "system-user": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "What is 2+2?"},
    ],
    "multi-turn": [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "Tell me a joke.\nA short one."},
    ],
    "whitespace": [
        {"role": "user", "content": "  padded  \n"},
        {"role": "assistant", "content": "\tanswer "},
        {"role": "user", "content": "ünïcödé 日本 🦙"},
    ],
    "not-alternating": [
        {"role": "user", "content": "one"},
        {"role": "user", "content": "two"},
    ],
}


class TemplateRaised(Exception):
    pass


def raise_exception(message):
    raise TemplateRaised(message)


def strftime_now(fmt):
    return "<strftime_now " + fmt + ">"


def gguf_template(path):
    r = GGUFReader(os.path.join(ROOT, path))
    f = r.fields["tokenizer.chat_template"]
    return bytes(f.parts[f.data[0]]).decode("utf-8")


def main():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=["jinja2.ext.loopcontrols"])
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now

    templates = {}
    for p in sorted(glob.glob(os.path.join(HERE, "templates", "*.jinja"))):
        with open(p, encoding="utf-8") as f:
            templates[os.path.basename(p)[:-len(".jinja")]] = {"file": "templates/" + os.path.basename(p), "source": f.read()}
    for name, path in GGUF_TEMPLATES.items():
        templates[name] = {"gguf": path, "source": gguf_template(path)}

    cases = []
    for name in sorted(templates):
        tmpl = env.from_string(templates[name]["source"])
        bos, eos = TOKENS[name]
        for conv in sorted(CONVERSATIONS):
            for agp in (False, True):
                case = {"template": name, "conversation": conv, "add_generation_prompt": agp,
                        "bos_token": bos, "eos_token": eos}
                try:
                    case["output"] = tmpl.render(messages=CONVERSATIONS[conv], add_generation_prompt=agp,
                                                 bos_token=bos, eos_token=eos)
                except TemplateRaised as e:
                    case["error"] = str(e)
                cases.append(case)

    with open(os.path.join(HERE, "chat_golden.json"), "w", encoding="utf-8") as f:
        json.dump({"generator": "jinja2 " + jinja2.__version__, "templates": templates,
                   "conversations": CONVERSATIONS, "cases": cases}, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()

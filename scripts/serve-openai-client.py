#!/usr/bin/env python3
"""Check a running `gpurun serve` with the official OpenAI Python client.

Usage:
    pip install -r scripts/serve-requirements.txt
    gpurun serve -m models/SmolLM2-135M-Instruct.Q4_1.gguf --port 8080 &
    python3 scripts/serve-openai-client.py http://127.0.0.1:8080

It lists the model, asks for text and chat completions, whole and streamed,
checks that the same seed gives the same text both ways, that usage is
reported, and that bad requests raise the client's typed errors (404, 400).
Exits 0 when every check passes, 1 otherwise.
"""

import argparse
import sys

import openai
from openai import OpenAI


def base_url(url: str) -> str:
    url = url.rstrip("/")
    return url if url.endswith("/v1") else url + "/v1"


class Checks:
    def __init__(self) -> None:
        self.failed = 0
        self.passed = 0

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        if ok:
            self.passed += 1
            print(f"ok    {name}")
        else:
            self.failed += 1
            print(f"FAIL  {name}: {detail}")


def stream_text(chunks, chat: bool):
    text, finish, usage, n = "", None, None, 0
    for chunk in chunks:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            n += 1
            piece = choice.delta.content if chat else choice.text
            text += piece or ""
            if choice.finish_reason is not None:
                finish = choice.finish_reason
    return text, finish, usage, n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("url", help="the server's base URL, e.g. http://127.0.0.1:8080")
    ap.add_argument("--max-tokens", type=int, default=32)
    args = ap.parse_args()

    client = OpenAI(base_url=base_url(args.url), api_key="unused", timeout=120, max_retries=0)
    c = Checks()

    models = client.models.list().data
    c.check("models.list returns one model", len(models) == 1, repr(models))
    model = models[0].id
    meta = (models[0].model_extra or {}).get("meta", {})
    print(f"      model {model!r}: {meta}")

    # Text completions: whole, then streamed with the same seed.
    prompt = "The three primary colors are"
    whole = client.completions.create(model=model, prompt=prompt, max_tokens=args.max_tokens, seed=1234, temperature=0.8)
    c.check("completions: text returned", bool(whole.choices[0].text), repr(whole))
    c.check("completions: usage", whole.usage is not None and whole.usage.completion_tokens > 0
            and whole.usage.total_tokens == whole.usage.prompt_tokens + whole.usage.completion_tokens, repr(whole.usage))
    c.check("completions: finish_reason", whole.choices[0].finish_reason in ("stop", "length"), whole.choices[0].finish_reason)
    text, finish, usage, n = stream_text(client.completions.create(
        model=model, prompt=prompt, max_tokens=args.max_tokens, seed=1234, temperature=0.8,
        stream=True, stream_options={"include_usage": True}), chat=False)
    c.check("completions stream: same text as whole with the same seed", text == whole.choices[0].text,
            f"{text!r} != {whole.choices[0].text!r}")
    c.check("completions stream: finish_reason and usage", finish == whole.choices[0].finish_reason
            and usage is not None and usage.completion_tokens == whole.usage.completion_tokens, f"{finish} {usage}")
    print(f"      {n} chunks: {text!r}")

    greedy = [client.completions.create(model=model, prompt="Once upon a time", max_tokens=16, temperature=0).choices[0].text
              for _ in range(2)]
    c.check("completions: greedy is deterministic", greedy[0] == greedy[1], repr(greedy))
    stopped = client.completions.create(model=model, prompt="Count: 1, 2, 3,", max_tokens=24, temperature=0, stop=[","])
    c.check("completions: stop string cuts the text", "," not in stopped.choices[0].text, repr(stopped.choices[0].text))

    # Chat completions, when the model has a chat template.
    messages = [{"role": "system", "content": "You answer in one short sentence."},
                {"role": "user", "content": "What is the capital of France?"}]
    if meta.get("chat_template", True):
        chat = client.chat.completions.create(model=model, messages=messages, max_tokens=args.max_tokens, seed=7)
        msg = chat.choices[0].message
        c.check("chat: assistant message", msg.role == "assistant" and bool(msg.content), repr(msg))
        c.check("chat: usage", chat.usage is not None and chat.usage.prompt_tokens > 0, repr(chat.usage))
        print(f"      {msg.content!r}")
        text, finish, usage, n = stream_text(client.chat.completions.create(
            model=model, messages=messages, max_tokens=args.max_tokens, seed=7,
            stream=True, stream_options={"include_usage": True}), chat=True)
        c.check("chat stream: same text as whole with the same seed", text == msg.content, f"{text!r} != {msg.content!r}")
        c.check("chat stream: finish_reason and usage", finish == chat.choices[0].finish_reason and usage is not None
                and usage.completion_tokens == chat.usage.completion_tokens, f"{finish} {usage}")
    else:
        print("      (the model has no chat template: chat checks skipped)")

    # Errors arrive as the client's typed exceptions.
    try:
        client.completions.create(model="no-such-model", prompt="x", max_tokens=4)
        c.check("unknown model raises NotFoundError", False, "no error")
    except openai.NotFoundError as e:
        c.check("unknown model raises NotFoundError", e.status_code == 404, str(e))
    try:
        client.completions.create(model=model, prompt="x", max_tokens=4, temperature=-1)
        c.check("bad temperature raises BadRequestError", False, "no error")
    except openai.BadRequestError as e:
        c.check("bad temperature raises BadRequestError", e.status_code == 400 and "temperature" in str(e), str(e))
    try:
        client.completions.create(model=model, prompt="word " * 100000, max_tokens=4)
        c.check("oversized prompt is refused", False, "no error")
    except openai.APIStatusError as e:
        c.check("oversized prompt is refused", e.status_code in (400, 413), str(e))

    print(f"{c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Bounded load test of a `gpurun serve` on this machine (loopback only).

Usage:
    pip install -r scripts/serve-requirements.txt
    gpurun serve -m models/SmolLM2-135M-Instruct.Q4_1.gguf --parallel 8 --ctx 1024 --port 8080 &
    python3 scripts/serve-load.py http://127.0.0.1:8080

Two phases, each a fixed number of requests (nothing runs unbounded):

1. load: --clients concurrent streaming clients (default 32), each sending
   --requests requests one after another. Reports requests, errors (which
   must be 0), wall time, throughput (generated tokens/s and requests/s),
   time to first token p50/p99 (queue wait included: with --parallel 8, 24
   of 32 clients wait for a slot), and each stream's own decode rate.
2. scaling: aggregate generated tokens/s with 1 stream, then with --streams
   concurrent streams (default 8), every stream generating exactly
   --scale-tokens tokens (ignore_eos), and their ratio: the gain from
   batching the streams' decode steps into one forward pass.

Exits 1 when any request failed. --json writes the numbers to a file.
"""

import argparse
import asyncio
import ipaddress
import json
import socket
import statistics
import sys
import time
import urllib.parse

import openai
from openai import AsyncOpenAI

PROMPTS = [
    "Write a short story about a robot who learns to paint.",
    "Explain why the sky is blue to a ten-year-old.",
    "List five tips for staying focused while studying.",
    "Describe the water cycle in a few sentences.",
    "What are the main differences between cats and dogs as pets?",
    "Give me a recipe idea for a quick vegetarian dinner.",
    "Summarize the plot of a detective novel you invent.",
    "Why do people enjoy music? Answer briefly.",
]


def require_loopback(url: str) -> None:
    host = urllib.parse.urlparse(url).hostname or ""
    try:
        addrs = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror as e:
        sys.exit(f"serve-load: cannot resolve {host!r}: {e}")
    if not addrs or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addrs):
        sys.exit(f"serve-load: {host!r} is not a loopback address; this script only loads a server on this machine")


def pct(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(p / 100 * (len(s) - 1))))
    return s[k]


class Stats:
    def __init__(self):
        self.ttft, self.tokens, self.decode_rates, self.errors = [], 0, [], []


async def one_stream(client, model, chat, prompt, max_tokens, stats, ignore_eos=False, seed=None):
    start = time.perf_counter()
    first = None
    extra = {"ignore_eos": True} if ignore_eos else None
    try:
        if chat:
            stream = await client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": prompt}], max_tokens=max_tokens, seed=seed,
                stream=True, stream_options={"include_usage": True}, extra_body=extra)
        else:
            stream = await client.completions.create(
                model=model, prompt=prompt, max_tokens=max_tokens, seed=seed,
                stream=True, stream_options={"include_usage": True}, extra_body=extra)
        usage = None
        async for chunk in stream:
            if chunk.usage is not None:
                usage = chunk.usage
            for choice in chunk.choices:
                piece = choice.delta.content if chat else choice.text
                if piece and first is None:
                    first = time.perf_counter()
        end = time.perf_counter()
        if usage is None:
            raise RuntimeError("no usage chunk")
        stats.tokens += usage.completion_tokens
        if first is not None:
            stats.ttft.append(first - start)
            if usage.completion_tokens > 1 and end > first:
                stats.decode_rates.append((usage.completion_tokens - 1) / (end - first))
    except (openai.APIError, RuntimeError) as e:
        stats.errors.append(f"{type(e).__name__}: {e}")


async def run_clients(client, model, chat, clients, requests, max_tokens, ignore_eos=False):
    stats = Stats()

    async def worker(i):
        for r in range(requests):
            prompt = PROMPTS[(i + r) % len(PROMPTS)]
            await one_stream(client, model, chat, prompt, max_tokens, stats, ignore_eos, seed=i * 1000 + r)

    start = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(clients)))
    return stats, time.perf_counter() - start


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("url", help="the server's base URL, e.g. http://127.0.0.1:8080")
    ap.add_argument("--clients", type=int, default=32, help="concurrent streaming clients in the load phase")
    ap.add_argument("--requests", type=int, default=1, help="requests per client in the load phase")
    ap.add_argument("--max-tokens", type=int, default=64, help="max_tokens of each load request")
    ap.add_argument("--streams", type=int, default=8, help="concurrent streams compared with one in the scaling phase")
    ap.add_argument("--scale-tokens", type=int, default=96, help="tokens each scaling stream generates")
    ap.add_argument("--mode", choices=["auto", "chat", "completions"], default="auto")
    ap.add_argument("--timeout", type=float, default=600, help="seconds a request may take")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()
    for name in ("clients", "requests", "max_tokens", "streams", "scale_tokens"):
        if not 1 <= getattr(args, name) <= 256:
            sys.exit(f"serve-load: --{name.replace('_', '-')} must be in [1, 256]")

    require_loopback(args.url)
    url = args.url.rstrip("/")
    url = url if url.endswith("/v1") else url + "/v1"
    client = AsyncOpenAI(base_url=url, api_key="unused", timeout=args.timeout, max_retries=0)
    models = (await client.models.list()).data
    model = models[0].id
    meta = (models[0].model_extra or {}).get("meta", {})
    chat = args.mode == "chat" or (args.mode == "auto" and meta.get("chat_template", False))
    print(f"model {model} ({'chat' if chat else 'text'} completions), server {url}")

    warm = Stats()
    await one_stream(client, model, chat, PROMPTS[0], 8, warm)

    print(f"\n== load: {args.clients} concurrent streaming clients x {args.requests} requests, max_tokens {args.max_tokens}")
    load, wall = await run_clients(client, model, chat, args.clients, args.requests, args.max_tokens)
    n = args.clients * args.requests
    load_res = {
        "requests": n, "errors": len(load.errors), "wall_s": round(wall, 2),
        "tokens": load.tokens, "tokens_per_s": round(load.tokens / wall, 2), "requests_per_s": round(n / wall, 3),
        "ttft_p50_s": round(pct(load.ttft, 50), 3), "ttft_p99_s": round(pct(load.ttft, 99), 3),
        "stream_decode_tok_s_p50": round(pct(load.decode_rates, 50), 2),
    }
    for k, v in load_res.items():
        print(f"  {k:26s} {v}")
    for e in load.errors[:5]:
        print(f"  error: {e}")

    print(f"\n== scaling: 1 stream vs {args.streams} concurrent streams, {args.scale_tokens} tokens each (ignore_eos)")
    one, wall1 = await run_clients(client, model, chat, 1, 1, args.scale_tokens, ignore_eos=True)
    many, walln = await run_clients(client, model, chat, args.streams, 1, args.scale_tokens, ignore_eos=True)
    rate1, raten = one.tokens / wall1, many.tokens / walln
    scale_res = {
        "one_stream_tok_s": round(rate1, 2), f"{args.streams}_streams_tok_s": round(raten, 2),
        "speedup": round(raten / rate1, 2), "errors": len(one.errors) + len(many.errors),
        "per_stream_decode_tok_s_at_1": round(pct(one.decode_rates, 50), 2),
        f"per_stream_decode_tok_s_at_{args.streams}": round(pct(many.decode_rates, 50), 2),
    }
    for k, v in scale_res.items():
        print(f"  {k:32s} {v}")
    for e in (one.errors + many.errors)[:5]:
        print(f"  error: {e}")

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"model": model, "load": load_res, "scaling": scale_res}, f, indent=2)
    errors = len(load.errors) + scale_res["errors"]
    print(f"\n{'OK' if errors == 0 else 'FAILED'}: {errors} errors")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

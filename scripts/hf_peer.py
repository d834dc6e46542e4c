#!/usr/bin/env python3
"""A GPU peer for `gpurun bench model`: Hugging Face transformers on the same shapes.

llama.cpp's CUDA build cannot travel to the GPU machine (it needs cuBLAS, far
over what a device run may carry), so on the GPU the model-level peer is what a
PyTorch user gets by default: transformers' LlamaForCausalLM in eager mode,
fp16, with its dynamic KV cache. The weights are random (the GPU machine has no
network), in the shapes of a real model; speed does not depend on their values.

The procedure is `gpurun bench model`'s (llama-bench's):
  ppN  from an empty KV cache, N tokens (BOS, then random ids) in one forward
       pass, then a device sync; tokens/s = N / time
  tgN  from an empty KV cache, N single-token forward passes (BOS, then random
       ids, no sampling), each followed by a device sync; tokens/s = N / time
Each test runs once to warm up, then --reps times; the JSON gives the mean and
the sample standard deviation, as gpurun's --json does.

Usage (on the GPU machine):
  python3 scripts/hf_peer.py --out hf-smollm2.json
  python3 scripts/hf_peer.py --shape llama3-8b --prompt 512 --gen 64 --reps 2
Without CUDA it runs on the CPU in fp32 (a smoke test only); --layers N
overrides the layer count for a quick run.
"""

import argparse
import json
import platform
import statistics
import sys
import time

# The shapes of cmd/mkmodel (and of the real SmolLM2-135M-Instruct).
SHAPES = {
    "smollm2-135m": dict(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                         num_attention_heads=9, num_key_value_heads=3, rope_theta=100000.0,
                         tie_word_embeddings=True),
    "llama3-8b": dict(vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                      num_attention_heads=32, num_key_value_heads=8, rope_theta=500000.0,
                      tie_word_embeddings=False),
}


def summarize(name, n, seconds):
    """One test's result in gpurun bench model's JSON fields.

    >>> r = summarize("tg2", 2, [1.0, 0.5])
    >>> r["tokens_per_sec"], round(r["stddev"], 3), r["samples"]
    (3.0, 1.414, [2.0, 4.0])
    """
    rates = [n / s for s in seconds]
    return {
        "name": name,
        "tokens": n,
        "tokens_per_sec": statistics.mean(rates),
        "stddev": statistics.stdev(rates) if len(rates) > 1 else 0.0,
        "samples": rates,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shape", default="smollm2-135m", choices=sorted(SHAPES))
    ap.add_argument("--prompt", type=int, default=512, help="pp test length (0: skip)")
    ap.add_argument("--gen", type=int, default=128, help="tg test length (0: skip)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--layers", type=int, default=0, help="override the layer count (smoke tests)")
    ap.add_argument("--out", help="write the JSON here (default: stdout)")
    args = ap.parse_args()

    import warnings

    import torch
    import transformers

    warnings.filterwarnings("ignore", category=FutureWarning)  # past_key_values' rename in transformers 5.2x

    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    dtype = torch.float16 if cuda else torch.float32
    shape = dict(SHAPES[args.shape])
    if args.layers > 0:
        shape["num_hidden_layers"] = args.layers
    config = transformers.LlamaConfig(max_position_embeddings=8192, rms_norm_eps=1e-5, **shape)
    torch.manual_seed(0)
    with device:
        model = transformers.LlamaForCausalLM(config).to(dtype).eval()
    gen = torch.Generator(device="cpu").manual_seed(1)

    def sync():
        if cuda:
            torch.cuda.synchronize()

    def ids(n):
        x = torch.randint(0, config.vocab_size, (1, n), generator=gen)
        x[0, 0] = 1  # BOS
        return x.to(device)

    @torch.no_grad()
    def pp(n):
        x = ids(n)
        sync()
        t = time.perf_counter()
        model(input_ids=x, use_cache=True)
        sync()
        return time.perf_counter() - t

    @torch.no_grad()
    def tg(n):
        x = ids(n)
        cache = transformers.DynamicCache()
        sync()
        t = time.perf_counter()
        for i in range(n):
            model(input_ids=x[:, i:i + 1], past_key_values=cache, use_cache=True)
            sync()
        return time.perf_counter() - t

    tests = []
    for name, n, run in (("pp%d" % args.prompt, args.prompt, pp), ("tg%d" % args.gen, args.gen, tg)):
        if n <= 0:
            continue
        run(n)  # warm-up
        tests.append(summarize(name, n, [run(n) for _ in range(args.reps)]))
        print("hf_peer: %s %.1f tok/s" % (name, tests[-1]["tokens_per_sec"]), file=sys.stderr)

    doc = {
        "study": "model-peer",
        "peer": "transformers LlamaForCausalLM, eager, DynamicCache",
        "shape": args.shape,
        "config": shape,
        "device": torch.cuda.get_device_name() if cuda else platform.processor() or "cpu",
        "dtype": str(dtype).replace("torch.", ""),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "reps": args.reps,
        "tests": tests,
    }
    text = json.dumps(doc, indent=2)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()

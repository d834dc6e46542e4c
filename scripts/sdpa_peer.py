#!/usr/bin/env python3
"""The peer of gpurun's fused attention: PyTorch's scaled_dot_product_attention.

Times torch.nn.functional.scaled_dot_product_attention on the shapes that
`gpurun bench attention` uses (default SmolLM2-135M: 9 query heads, 3 KV heads,
head dim 64; n = 128, 256, ..., 16384), in fp16, and prints JSON with the time
and TFLOP/s per n, so that `gpurun bench attention --from CUDA.json --vs-sdpa
SDPA.json` can put the two side by side.

Two methods, named as gpurun names them:
  fused         a prompt of n tokens: q, k, v of n rows, is_causal=True
  decode-cache  one generation step at position n: q of 1 row against n cached
                k, v rows, no mask (the one query sees every key)
FLOPs are counted exactly as gpurun counts them (2 per multiply-add of Q.K^T
and P.V, causal work only): fused 4*D*n(n+1)/2*H, decode 4*D*n*H.

Grouped-query attention uses enable_gqa=True (PyTorch >= 2.5); older versions
fall back to repeating K and V per query head (the JSON says which).

Usage (on the GPU machine):
  python3 scripts/sdpa_peer.py > sdpa.json
  python3 scripts/sdpa_peer.py --max-len 16384 --backend flash --out sdpa-flash.json
Without CUDA it runs on the CPU (fp32 by default there), for a smoke test only.
"""

import argparse
import json
import platform
import statistics
import sys
import time


def flops(method, n, heads, head_dim):
    """FLOPs of one run, by gpurun's formulas (bench/attention/cost.go).

    >>> flops("fused", 128, 9, 64)
    19021824.0
    >>> flops("decode-cache", 4096, 9, 64)
    9437184.0
    """
    if method == "fused":
        return 4.0 * head_dim * n * (n + 1) / 2 * heads
    if method == "decode-cache":
        return 4.0 * head_dim * n * heads
    raise ValueError("unknown method %r" % method)


def lengths(lo, hi):
    """Powers of two from lo to hi, with hi itself when it is not one (as gpurun).

    >>> lengths(128, 1024)
    [128, 256, 512, 1024]
    >>> lengths(100, 1000)
    [128, 256, 512, 1000]
    """
    if lo < 1 or hi < lo:
        raise ValueError("lengths from %d to %d: want 1 <= min <= max" % (lo, hi))
    ns, n = [], 1
    while n <= hi:
        if n >= lo:
            ns.append(n)
        n *= 2
    if not ns or ns[-1] != hi:
        ns.append(hi)
    return ns


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--min-len", type=int, default=128)
    p.add_argument("--max-len", type=int, default=16384)
    p.add_argument("--heads", type=int, default=9)
    p.add_argument("--kv-heads", type=int, default=3)
    p.add_argument("--head-dim", type=int, default=64)
    p.add_argument("--dtype", choices=["float16", "bfloat16", "float32"], default=None,
                   help="element type (default: float16 on CUDA, float32 on the CPU)")
    p.add_argument("--backend", choices=["default", "flash", "efficient", "cudnn", "math"], default="default",
                   help="force one SDPA kernel (default: PyTorch picks)")
    p.add_argument("--methods", default="fused,decode-cache")
    p.add_argument("--reps", type=int, default=5, help="timed samples per point (median reported)")
    p.add_argument("--min-sample", type=float, default=0.02, help="seconds one sample lasts at least")
    p.add_argument("--device", default=None, help="torch device (default: cuda when available)")
    p.add_argument("--out", default="-", help="JSON file (default: stdout)")
    a = p.parse_args(argv)
    if a.heads < 1 or a.kv_heads < 1 or a.head_dim < 1 or a.heads % a.kv_heads:
        p.error("heads %d, kv heads %d, head dim %d: want heads a multiple of kv heads, all >= 1"
                % (a.heads, a.kv_heads, a.head_dim))
    for m in a.methods.split(","):
        if m not in ("fused", "decode-cache"):
            p.error("unknown method %r (want fused, decode-cache)" % m)
    return a


def main(argv):
    a = parse_args(argv)
    import torch
    import torch.nn.functional as F

    dev = a.device or ("cuda" if torch.cuda.is_available() else "cpu")
    cuda = dev.startswith("cuda")
    dtype_name = a.dtype or ("float16" if cuda else "float32")
    dtype = getattr(torch, dtype_name)
    H, KVH, D = a.heads, a.kv_heads, a.head_dim
    group = H // KVH

    try:  # does this PyTorch take enable_gqa?
        q = torch.zeros(1, 2, 4, 8, device=dev, dtype=dtype)
        kv = torch.zeros(1, 1, 4, 8, device=dev, dtype=dtype)
        F.scaled_dot_product_attention(q, kv, kv, is_causal=True, enable_gqa=True)
        gqa = "enable_gqa"
    except (TypeError, RuntimeError):
        gqa = "repeat_interleave"

    def kernel_ctx():
        if a.backend == "default":
            import contextlib
            return contextlib.nullcontext()
        from torch.nn.attention import SDPBackend, sdpa_kernel
        b = {"flash": SDPBackend.FLASH_ATTENTION, "efficient": SDPBackend.EFFICIENT_ATTENTION,
             "cudnn": SDPBackend.CUDNN_ATTENTION, "math": SDPBackend.MATH}[a.backend]
        return sdpa_kernel(b)

    def attend(q, k, v, causal):
        if gqa == "enable_gqa":
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=True)
        k = k.repeat_interleave(group, dim=1)
        v = v.repeat_interleave(group, dim=1)
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)

    def sync():
        if cuda:
            torch.cuda.synchronize()

    def clock(fn, iters):
        """Seconds per run of fn over iters runs (CUDA events on the GPU)."""
        if cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(iters):
                fn()
            end.record()
            end.synchronize()
            return start.elapsed_time(end) / 1e3 / iters
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        return (time.perf_counter() - t0) / iters

    gen = torch.Generator(device=dev).manual_seed(1)
    points = []
    with kernel_ctx():
        for method in a.methods.split(","):
            for n in lengths(a.min_len, a.max_len):
                rows = n if method == "fused" else 1
                q = torch.randn(1, H, rows, D, device=dev, dtype=dtype, generator=gen)
                k = torch.randn(1, KVH, n, D, device=dev, dtype=dtype, generator=gen)
                v = torch.randn(1, KVH, n, D, device=dev, dtype=dtype, generator=gen)
                causal = method == "fused"
                fn = lambda: attend(q, k, v, causal)  # noqa: E731
                if cuda:
                    torch.cuda.reset_peak_memory_stats()
                    base = torch.cuda.memory_allocated()
                warm = clock(fn, 1)  # warm-up (kernel selection, workspace) and the iteration estimate
                iters = max(1, int(a.min_sample / max(warm, 1e-6)) + 1) if warm < a.min_sample else 1
                samples = [clock(fn, iters) for _ in range(a.reps)]
                sec = statistics.median(samples)
                f = flops(method, n, H, D)
                pt = {"method": method, "n": n, "seconds": sec, "seconds_min": min(samples),
                      "seconds_std": statistics.stdev(samples) if len(samples) > 1 else 0.0,
                      "samples": len(samples), "iters": iters, "flops": f, "tflops": f / sec / 1e12}
                if cuda:
                    pt["memory_peak_bytes"] = torch.cuda.max_memory_allocated() - base
                points.append(pt)
                print("%-13s n=%-6d %10.3f ms %8.2f TFLOP/s" % (method, n, sec * 1e3, pt["tflops"]), file=sys.stderr)
                del q, k, v
                sync()

    out = {
        "study": "sdpa",
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "device": torch.cuda.get_device_name() if cuda else platform.processor() or "cpu",
        "dtype": dtype_name,
        "backend": a.backend,
        "gqa": gqa,
        "shape": {"heads": H, "kv_heads": KVH, "head_dim": D},
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "definitions": {
            "fused": "F.scaled_dot_product_attention(q[1,H,n,D], k[1,KVH,n,D], v, is_causal=True)",
            "decode-cache": "F.scaled_dot_product_attention(q[1,H,1,D], k[1,KVH,n,D], v) (no mask)",
        },
        "points": points,
    }
    text = json.dumps(out, indent=2) + "\n"
    if a.out == "-":
        sys.stdout.write(text)
    else:
        with open(a.out, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

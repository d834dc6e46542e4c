#!/usr/bin/env python3
"""Tiny Llama GGUFs in the weight types of common quantized files (Q4_K and
Q5_K with a Q6_K classifier as in Q4_K_M and Q5_K_M; Q4_0; Q5_0, which
Q4_K_M files use for rows that are not a multiple of 256; Q5_1, which Q5_K_M
files use for those rows), and llama.cpp's logits and greedy
continuations on them, for gpurun's tests.

Why: on an AVX2 machine llama.cpp repacks Q4_K and Q4_0 weights (ggml's
CPU_REPACK buffer, "REPACK = 1" in its system info) and multiplies them with
ggml_gemv_q4_K_8x8_q8_K / ggml_gemv_q4_0_8x8_q8_0 (one token) or the gemm
kernels (groups of four prompt tokens), not with ggml_vec_dot_*; Q5_0,
Q5_1, Q5_K, Q6_K and Q8_0 run ggml_vec_dot_* for one token (prompts: Q5_0
and Q8_0 llamafile's tinyBLAS, with the same arithmetic; Q5_K and Q6_K,
from 8 rows on, ggml-cpu's tiled K-quant matmul, with its own). gpurun's dot products follow those, so decoding one token at a
time must give llama.cpp's logits bit for bit.

The model: Llama architecture, dim 256, 4 heads of 64, 2 KV heads, 2
layers, feed-forward 512, 256 positions, and gpt2_tiny.py's tokenizer (GPT-2
byte-level BPE cut to 1024 tokens). Weights are random floats
(numpy default_rng(20261129)) quantized by ggml itself (ggml_quantize_chunk
from llama-cpp-python's libggml-base), norms F32. The files:
  q4k:   every matrix and the token embedding Q4_K, the classifier Q6_K
         (as in llama.cpp's Q4_K_M files);
  q4_0:  every matrix and the token embedding Q4_0, the classifier Q8_0;
  q5_0:  every matrix and the token embedding Q5_0, the classifier Q8_0;
  q5k:   every matrix and the token embedding Q5_K, the classifier Q6_K
         (as in Q5_K_M files);
  q5_1:  every matrix and the token embedding Q5_1, the classifier Q8_0;
  q2k:   every matrix and the token embedding Q2_K, the classifier Q6_K;
  q3k:   every matrix and the token embedding Q3_K, the classifier Q6_K;
  f16:   every matrix, the token embedding and the classifier F16 (as in
         llama.cpp's F16 conversions): one token runs ggml_vec_dot_f16, a
         prompt llamafile's tinyBLAS (one 8-lane accumulator per output);
  bf16:  the same in BF16 (ggml_vec_dot_bf16, tinyBLAS);
  f32:   the same in F32 (ggml_vec_dot_f32, tinyBLAS);
  qwen2: the Qwen2 architecture in Q8_0: NeoX RoPE and biases on the
         q, k and v projections (Qwen2.5, DeepSeek-R1-Distill-Qwen);
  qwen3: the Qwen3 architecture in Q8_0: NeoX RoPE, no biases, an RMSNorm
         of each query and key head before RoPE (attn_q_norm, attn_k_norm),
         and heads of 128 (attention.key_length, as Qwen3's) so that 4
         heads make 512, not dim 256 (as Qwen3-0.6B's 16 x 128 = 2048
         against dim 1024);
  llama3rope: a Llama in Q8_0 with rope_freqs.weight, the frequency
         factors llama.cpp's converter writes for Llama 3.1's "llama3" RoPE
         scaling (factor 8, low 1, high 4, original context 8192, computed
         as convert_hf_to_gguf.py computes them), and a base of 500000;
  smollm3: the SmolLM3 architecture in Q8_0, 4 layers: llama's, without
         RoPE in every fourth layer (layer 3 here), as llama.cpp runs it;
  gemma3: the Gemma 3 architecture in Q8_0, 6 layers with heads of 128
         (1/sqrt(128) is not a power of two, so the query scale's rounding
         shows): embeddings scaled by sqrt(dim) and tied to the classifier,
         q/k head norms, the post-attention and post-feed-forward norms,
         GELU-gated feed-forward, and a sliding window of 12 positions in
         layers 0-4 (llama.cpp's default pattern of 6) with RoPE base 10000
         there and 1000000 in layer 5, the global one. The positions of
         the decode text and the greedy runs pass the window, and stay
         under the 256 cells of llama.cpp's SWA cache, so its cells are in
         position order (as gpurun's);
  gemma2: the Gemma 2 architecture in Q8_0, 4 layers with heads of 128:
         as gemma3 without the q/k head norms, with a window of 12 in
         every other layer (0 and 2; the default pattern of 2) and one RoPE
         base for all, and with Gemma 2's soft-capping of the attention
         scores (50) and of the logits (30), which llama.cpp computes with
         the C library's tanhf;
  phi3:  the Phi-3 architecture in Q8_0: q, k and v in one fused
         attn_qkv.weight, gate and up in one ffn_up.weight (2 x 512 rows),
         a rotary dim of 48 of the 64 of each head (as Phi-4-mini's 96 of
         128), and LongRoPE: rope_factors_long/short.weight with an
         original context of 128 (below the 256 used here, so the long
         factors apply) and an attention factor of sqrt(1 + ln 2 / ln 128),
         the formula of convert_hf_to_gguf.py's Phi3MiniModel;
  granite: the Granite architecture (IBM Granite 3.x dense) in Q8_0: llama's
         with Granite 3's multipliers: embeddings times 12, attention scale
         1/128 instead of 1/sqrt(64), each sub-block's output times 0.22
         before the residual add, and the logits divided by 8;
  exaone: the EXAONE 3.5 architecture in Q8_0: llama's with NeoX RoPE;
  ernie4_5: the ERNIE 4.5 (dense) architecture in Q8_0: llama's graph
         under another name (so that the name is tied to that graph);
  olmo2: the OLMo 2 architecture in Q8_0: no norm before the sub-blocks, an
         RMSNorm of q and of k over all their heads, norms after the
         attention and after the feed-forward, NeoX RoPE;
  llama96: a Llama in Q8_0 with heads of 96 (attention.key_length; 4 x 96
         = 384 against dim 256), Phi-3-mini's head size: the attention
         scale 1.0f/sqrtf(96) is not 1/sqrt(96) rounded once, and 96 is
         three of ggml's 32-float dot-product steps;
  qwen3moe: the Qwen3-MoE architecture in Q8_0: qwen3's attention (heads
         of 128, q/k head norms) and, in place of the feed-forward, 8
         experts with 128 rows each of which a router (F32, as llama.cpp's
         quantizer leaves ffn_gate_inp) picks 3 per token, their weights
         renormalised to sum 1; stacked 3-D ffn_{gate,up,down}_exps;
  qwen3moe_f32: the same in F32, where no activation is rounded to 8 bits
         on the way, so that a last-bit difference anywhere shows (llama.cpp
         multiplies a float expert with ggml_vec_dot_f32 for every row, a
         prompt's too: its mul_mat_id has no tinyBLAS path);
  qwen3moe_q4k: qwen3moe's layout in Q4_K (Q6_K classifier) with experts
         of 256 rows: llama.cpp repacks Q4_K experts and its mul_mat_id runs
         the repacked gemv on every row of a prompt, never the gemm that a
         dense Q4_K prompt takes;
  qwen3moe_q4km: the same layout with 4 layers in F32, quantized by
         llama.cpp's own quantizer into its Q4_K_M mix, which gives layers
         2 and 3 Q6_K ffn_down_exps (use_more_bits), Q5_K and Q8_0 where
         the mix puts them: in layer 2 (not the last, whose feed-forward
         runs on the output row alone) Q6_K experts get up to 26 of a
         prompt's rows and take ggml's tiled arithmetic (the 8-bit
         activations of the next layer hide its last bits here: this
         golden also passes with those rows taken one at a time);
  mixtral: a Llama in Q8_0 whose feed-forwards are 4 experts of 512 rows
         (feed_forward_length, as Mixtral's), 2 per token: llama.cpp's
         llama graph with experts;
  granitemoe: Granite 3's multipliers (as granite) with 2 of 4 experts of
         128 rows per token and a shared expert of 64 rows added to them
         (Granite MoE Shared), the residual scale applied to the sum;
  olmoe: the OLMoE architecture in Q8_0: 4 KV heads (llama.cpp's OLMoE has
         no GQA), pre-norm blocks with q and k RMS-normed over all their
         heads, NeoX RoPE, and 2 of 8 experts of
         128 rows whose weights are not renormalised;
  qwen2moe: the Qwen2-MoE architecture in Q8_0 (Qwen1.5-MoE, Qwen2-57B-A14B):
         qwen2's attention biases, 4 of 60 experts of 32 rows per token
         (60: the router's softmax has a tail past the last multiple of 8,
         which llama.cpp computes with the C library's expf), weights not
         renormalised, and a shared expert of 128 rows scaled by
         silu(g)/g of its gate g = ffn_gate_inp_shexp·h (F32, one row);
  qwen2moe_f32: the same in F32 with 12 experts (a tail of 4) and a shared
         expert of 64 rows, where a last-bit difference in the gate or the
         routing shows;
  ernie4_5moe: the ERNIE 4.5 MoE architecture in Q8_0 (ERNIE-4.5-21B-A3B),
         3 layers: layer 0 dense (leading_dense_block_count 1), then 3 of 8
         experts of 64 rows chosen by probability plus a per-expert bias
         (exp_probs_b) and weighted by the probability alone, renormalised,
         and a shared expert of 128 rows added;
  q4km:  the f32 model quantized by llama.cpp's own quantizer
         (llama_model_quantize, LLAMA_FTYPE_MOSTLY_Q4_K_M): llama.cpp's mix,
         here Q4_K with Q6_K for the classifier and for attn_v and ffn_down
         of layer 1 (use_more_bits), as in downloaded Q4_K_M files.

Writes runtime/engine/testdata/llama-tiny-NAME.gguf and
runtime/engine/testdata/llama_tiny_NAME_llamacpp.json for each:
  decode:  a fixed token sequence fed one token per llama_eval call (so
           every matrix product is the gemv) and, after each token, the
           full logits (float32, little-endian, base64);
  greedy:  for each prompt (evaluated as one batch: the gemm for groups of
           four tokens) the prompt tokens, the logits after the prompt,
           whether llama.cpp gives the same logits when fed the prompt one
           token at a time, the greedy continuation and the top-2 logit gap
           at each step.
Settings as gpt2_tiny.py: KV cache f32, flash attention off, 2 threads.

Usage:
  python3 -m venv /tmp/venv && /tmp/venv/bin/pip install llama-cpp-python==0.3.36 gguf==0.19.0 numpy
  (built for AVX2 + FMA + F16C without native tuning:
   CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON")
  /tmp/venv/bin/python scripts/goldens/llama_tiny_quants.py [VOCAB.gguf] [OUTDIR] [NAME,...]
  (NAME,...: only these models, e.g. f16,bf16; default all)
"""
import base64
import ctypes
import json
import math
import os
import platform
import sys

import gguf
import llama_cpp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_tiny  # noqa: E402  (its tokenizer)

VOCAB = sys.argv[1] if len(sys.argv) > 1 else "../shared/fixtures/llama-vocab/ggml-vocab-gpt-2.gguf"
OUTDIR = sys.argv[2] if len(sys.argv) > 2 else "runtime/engine/testdata"

N_VOCAB, DIM, HEADS, KV_HEADS, LAYERS, FFN, CTX = 1024, 256, 4, 2, 2, 512, 256
EPS = 1e-5
N = 32
SEED = 20261129
DECODE_TEXT = "Once upon a time there was a little girl who lived in a house by the sea."

PROMPTS = [
    {"name": "hello", "text": "Hello, my dog is cute"},
    {"name": "story", "text": "Once upon a time there was a little girl who lived in a house."},
    {"name": "code", "text": "def add(a, b):\n    return a + b\n"},
]

Q4_K = gguf.GGMLQuantizationType.Q4_K
Q6_K = gguf.GGMLQuantizationType.Q6_K
Q4_0 = gguf.GGMLQuantizationType.Q4_0
Q5_0 = gguf.GGMLQuantizationType.Q5_0
Q5_1 = gguf.GGMLQuantizationType.Q5_1
Q5_K = gguf.GGMLQuantizationType.Q5_K
Q2_K = gguf.GGMLQuantizationType.Q2_K
Q3_K = gguf.GGMLQuantizationType.Q3_K
Q8_0 = gguf.GGMLQuantizationType.Q8_0
F32 = gguf.GGMLQuantizationType.F32
F16 = gguf.GGMLQuantizationType.F16
BF16 = gguf.GGMLQuantizationType.BF16

# name: (matrix and embedding type, classifier type, file type)
MODELS = {
    "q4k": (Q4_K, Q6_K, gguf.LlamaFileType.MOSTLY_Q4_K_M),
    "q4_0": (Q4_0, Q8_0, gguf.LlamaFileType.MOSTLY_Q4_0),
    "q5_0": (Q5_0, Q8_0, gguf.LlamaFileType.MOSTLY_Q5_0),
    "q5k": (Q5_K, Q6_K, gguf.LlamaFileType.MOSTLY_Q5_K_M),
    "q5_1": (Q5_1, Q8_0, gguf.LlamaFileType.MOSTLY_Q5_1),
    "q2k": (Q2_K, Q6_K, gguf.LlamaFileType.MOSTLY_Q2_K),
    "q3k": (Q3_K, Q6_K, gguf.LlamaFileType.MOSTLY_Q3_K_M),
    "f16": (F16, F16, gguf.LlamaFileType.MOSTLY_F16),
    "bf16": (BF16, BF16, gguf.LlamaFileType.MOSTLY_BF16),
    "f32": (F32, F32, gguf.LlamaFileType.ALL_F32),
    "qwen2": (Q8_0, Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0),
    "qwen3": (Q8_0, Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0),
    "smollm3": (Q8_0, Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0),
    "llama3rope": (Q8_0, Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0),
    "gemma3": (Q8_0, Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0),
    "gemma2": (Q8_0, Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0),
    "phi3": (Q8_0, Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0),
    "granite": (Q8_0, Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0),
    "olmo2": (Q8_0, Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0),
    "exaone": (Q8_0, Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0),
    "ernie4_5": (Q8_0, Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0),
    "llama96": (Q8_0, Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0),
    "qwen3moe": (Q8_0, Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0),
    "qwen3moe_f32": (F32, F32, gguf.LlamaFileType.ALL_F32),
    "mixtral": (Q8_0, Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0),
    "granitemoe": (Q8_0, Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0),
    "olmoe": (Q8_0, Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0),
    "qwen2moe": (Q8_0, Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0),
    "qwen2moe_f32": (F32, F32, gguf.LlamaFileType.ALL_F32),
    "ernie4_5moe": (Q8_0, Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0),
    "qwen3moe_q4k": (Q4_K, Q6_K, gguf.LlamaFileType.MOSTLY_Q4_K_M),
}
# name: architecture, head dim and layers of the models that are not plain llama ones
ARCH = {"qwen2": ("qwen2", DIM // HEADS, LAYERS), "qwen3": ("qwen3", 128, LAYERS), "smollm3": ("smollm3", DIM // HEADS, 4),
        "llama3rope": ("llama", DIM // HEADS, LAYERS, True), "gemma3": ("gemma3", 128, 6, False, 12),
        "gemma2": ("gemma2", 128, 4, False, 12), "phi3": ("phi3", DIM // HEADS, LAYERS),
        "granite": ("granite", DIM // HEADS, LAYERS), "olmo2": ("olmo2", DIM // HEADS, LAYERS),
        "exaone": ("exaone", DIM // HEADS, LAYERS), "ernie4_5": ("ernie4_5", DIM // HEADS, LAYERS),
        "llama96": ("llama", 96, LAYERS), "qwen3moe": ("qwen3moe", 128, LAYERS, False, 0, (8, 3, 128)),
        "qwen3moe_f32": ("qwen3moe", 128, LAYERS, False, 0, (8, 3, 128)),
        "mixtral": ("llama", DIM // HEADS, LAYERS, False, 0, (4, 2, FFN)),
        "granitemoe": ("granitemoe", DIM // HEADS, LAYERS, False, 0, (4, 2, 128, 64)),
        "olmoe": ("olmoe", DIM // HEADS, LAYERS, False, 0, (8, 2, 128)),
        "qwen2moe": ("qwen2moe", DIM // HEADS, LAYERS, False, 0, (60, 4, 32, 128)),
        "qwen2moe_f32": ("qwen2moe", DIM // HEADS, LAYERS, False, 0, (12, 4, 32, 64)),
        "ernie4_5moe": ("ernie4_5-moe", DIM // HEADS, 3, False, 0, (8, 3, 64, 128)),
        "qwen3moe_q4k": ("qwen3moe", 128, LAYERS, False, 0, (8, 3, 256)),
        "qwen3moe_q4km": ("qwen3moe", 128, 4, False, 0, (8, 3, 256))}
# ARCH's last field, for mixtures of experts: experts, used per token, rows
# of each (written as feed_forward_length but for qwen3moe, as llama.cpp
# reads them), and for granitemoe the rows of a shared expert


def llama3_rope_factors(hd, base, factor=8.0, low=1.0, high=4.0, old_ctx=8192):
    """1/scale per rotary pair, as convert_hf_to_gguf.py's LlamaModel writes
    rope_freqs.weight for rope_scaling type "llama3"."""
    freqs = 1.0 / (base ** (np.arange(0, hd, 2, dtype=np.float32) / hd))
    low_wavelen, high_wavelen = old_ctx / low, old_ctx / high
    out = []
    for f in freqs:
        wavelen = 2 * math.pi / f
        if wavelen < high_wavelen:
            out.append(1.0)
        elif wavelen > low_wavelen:
            out.append(factor)
        else:
            smooth = (old_ctx / wavelen - low) / (high - low)
            out.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)
# name: llama.cpp file type that llama_model_quantize makes of the f32 model
QUANTIZED = {
    "q4km": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M,
    "qwen3moe_q4km": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M,
}
ONLY = sys.argv[3].split(",") if len(sys.argv) > 3 else list(MODELS) + list(QUANTIZED)

LIBDIR = os.path.join(os.path.dirname(llama_cpp.__file__), "lib")
ggml_base = ctypes.CDLL(os.path.join(LIBDIR, "libggml-base.so"))
ggml_base.ggml_quantize_chunk.restype = ctypes.c_size_t
ggml_base.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                          ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
ggml_base.ggml_row_size.restype = ctypes.c_size_t
ggml_base.ggml_row_size.argtypes = [ctypes.c_int, ctypes.c_int64]


def ggml_quantize(data, qtype):
    """data (rows, cols) float32 -> (rows, row_bytes) uint8, by ggml."""
    data = np.ascontiguousarray(data, dtype=np.float32)
    rows, cols = data.shape
    rb = ggml_base.ggml_row_size(int(qtype), cols)
    out = np.zeros((rows, rb), np.uint8)
    n = ggml_base.ggml_quantize_chunk(int(qtype), data.ctypes.data, out.ctypes.data, 0, rows, cols, None)
    assert n == out.size, (n, out.size)
    return out


def write_model(path, mt, ot, ftype, arch="llama", hd=DIM // HEADS, layers=LAYERS, rope_freqs=False, window=0, moe=None):
    rng = np.random.default_rng(SEED)
    kvh = HEADS if arch == "olmoe" else KV_HEADS  # llama.cpp's OLMoE has no GQA (k norm of n_embd)

    def normal(shape, std):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    w = gguf.GGUFWriter(path, arch)
    # general.name must not say "phi3": llama.cpp then marks a Phi-3
    # vocabulary's special tokens (</s> among them, which GPT-2's lacks)
    name = os.path.basename(path).replace("phi3", "p3")
    w.add_name(f"{name} (random weights, GPT-2 vocabulary cut to 1024 tokens)")
    w.add_context_length(CTX)
    w.add_embedding_length(DIM)
    if not (moe and arch in ("granitemoe", "olmoe")):
        w.add_feed_forward_length(FFN)
    w.add_block_count(layers)
    w.add_head_count(HEADS)
    w.add_head_count_kv(kvh)
    rot = hd * 3 // 4 if arch == "phi3" else hd  # Phi-4-mini's partial_rotary_factor 0.75
    w.add_rope_dimension_count(rot)
    if arch == "phi3":
        w.add_rope_scaling_orig_ctx_len(128)
        w.add_rope_scaling_attn_factors(math.sqrt(1 + math.log(CTX / 128) / math.log(128)))
    if hd != DIM // HEADS:
        w.add_key_length(hd)
        w.add_value_length(hd)
    base = 500000.0 if rope_freqs else 1000000.0 if arch == "gemma3" else 10000.0
    w.add_rope_freq_base(base)
    if window:
        w.add_sliding_window(window)
    if arch == "gemma2":  # Gemma 2's config.json values, as its converter writes them
        w.add_attn_logit_softcapping(50.0)
        w.add_final_logit_softcapping(30.0)
    gemma = arch in ("gemma2", "gemma3")
    if arch in ("granite", "granitemoe"):  # Granite 3.x's config.json multipliers
        w.add_embedding_scale(12.0)
        w.add_attention_scale(0.0078125)
        w.add_residual_scale(0.22)
        w.add_logit_scale(8.0)
    if moe:
        experts, _, expert_ffn = moe[:3]
        shared_ffn = moe[3] if len(moe) > 3 else 0
        w.add_expert_count(experts)
        w.add_expert_used_count(moe[1])
        if arch in ("qwen3moe", "qwen2moe", "ernie4_5-moe"):
            w.add_expert_feed_forward_length(expert_ffn)
        if arch == "ernie4_5-moe":  # layer 0 dense, then experts in every layer
            w.add_leading_dense_block_count(1)
            w.add_interleave_moe_layer_step(1)
        elif arch in ("granitemoe", "olmoe"):  # their experts have feed_forward_length rows
            w.add_feed_forward_length(expert_ffn)
        if shared_ffn:
            w.add_expert_shared_feed_forward_length(shared_ffn)
    w.add_layer_norm_rms_eps(EPS)
    w.add_file_type(ftype)
    assert N_VOCAB == gpt2_tiny.N_VOCAB
    gpt2_tiny.add_tokenizer(w)

    def tensor(name, data, qtype=F32):
        # data is (rows, cols) in numpy order = ggml dims [cols, rows]; or
        # (experts, rows, cols), ggml's [cols, rows, experts]
        if qtype == F32:
            w.add_tensor(name, data)
        else:
            q = ggml_quantize(data.reshape(-1, data.shape[-1]), qtype)
            w.add_tensor(name, q.reshape(data.shape[:-1] + (q.shape[-1],)), raw_dtype=qtype)

    tensor("token_embd.weight", normal((N_VOCAB, DIM), 0.5), mt)
    if rope_freqs:
        tensor("rope_freqs.weight", llama3_rope_factors(hd, base))
    if arch == "phi3":  # LongRoPE: per-pair factors, growing with the pair's wavelength
        tensor("rope_factors_long.weight", np.linspace(1.0, 12.0, rot // 2, dtype=np.float32))
        tensor("rope_factors_short.weight", np.linspace(1.0, 1.5, rot // 2, dtype=np.float32))
    for l in range(layers):
        p = f"blk.{l}."
        if arch != "olmo2":  # OLMo 2 norms after its sub-blocks only
            tensor(p + "attn_norm.weight", 1 + normal((DIM,), 0.1))
        if arch == "phi3":  # one fused projection, q rows first
            tensor(p + "attn_qkv.weight", normal(((HEADS + 2 * kvh) * hd, DIM), DIM ** -0.5), mt)
        else:
            tensor(p + "attn_q.weight", normal((HEADS * hd, DIM), DIM ** -0.5), mt)
            tensor(p + "attn_k.weight", normal((kvh * hd, DIM), DIM ** -0.5), mt)
            tensor(p + "attn_v.weight", normal((kvh * hd, DIM), DIM ** -0.5), mt)
        if arch in ("qwen2", "qwen2moe"):
            tensor(p + "attn_q.bias", normal((HEADS * hd,), 0.5))
            tensor(p + "attn_k.bias", normal((kvh * hd,), 0.5))
            tensor(p + "attn_v.bias", normal((kvh * hd,), 0.5))
        if arch in ("qwen3", "qwen3moe", "gemma3"):
            tensor(p + "attn_q_norm.weight", 1 + normal((hd,), 0.1))
            tensor(p + "attn_k_norm.weight", 1 + normal((hd,), 0.1))
        if arch in ("olmo2", "olmoe"):  # over all heads at once
            tensor(p + "attn_q_norm.weight", 1 + normal((HEADS * hd,), 0.1))
            tensor(p + "attn_k_norm.weight", 1 + normal((kvh * hd,), 0.1))
        tensor(p + "attn_output.weight", normal((DIM, HEADS * hd), DIM ** -0.5), mt)
        if gemma or arch == "olmo2":
            tensor(p + "post_attention_norm.weight", 1 + normal((DIM,), 0.1))
        if arch != "olmo2":
            tensor(p + "ffn_norm.weight", 1 + normal((DIM,), 0.1))
        if arch == "phi3":  # gate and up in one, the gate's rows first
            tensor(p + "ffn_up.weight", normal((2 * FFN, DIM), DIM ** -0.5), mt)
        elif moe and not (arch == "ernie4_5-moe" and l == 0):  # the router stays F32, as llama.cpp's quantizer leaves it
            tensor(p + "ffn_gate_inp.weight", normal((experts, DIM), 4 * DIM ** -0.5))
            tensor(p + "ffn_gate_exps.weight", normal((experts, expert_ffn, DIM), DIM ** -0.5), mt)
            tensor(p + "ffn_up_exps.weight", normal((experts, expert_ffn, DIM), DIM ** -0.5), mt)
            tensor(p + "ffn_down_exps.weight", normal((experts, DIM, expert_ffn), expert_ffn ** -0.5), mt)
            if arch == "ernie4_5-moe":  # a selection bias per expert
                tensor(p + "exp_probs_b.bias", normal((experts,), 0.05))
            if arch == "qwen2moe":  # the shared expert's gate: one row, F32
                tensor(p + "ffn_gate_inp_shexp.weight", normal((DIM,), DIM ** -0.5))
            if shared_ffn:
                tensor(p + "ffn_gate_shexp.weight", normal((shared_ffn, DIM), DIM ** -0.5), mt)
                tensor(p + "ffn_up_shexp.weight", normal((shared_ffn, DIM), DIM ** -0.5), mt)
                tensor(p + "ffn_down_shexp.weight", normal((DIM, shared_ffn), shared_ffn ** -0.5), mt)
        else:
            tensor(p + "ffn_gate.weight", normal((FFN, DIM), DIM ** -0.5), mt)
            tensor(p + "ffn_up.weight", normal((FFN, DIM), DIM ** -0.5), mt)
        if not moe or (arch == "ernie4_5-moe" and l == 0):
            tensor(p + "ffn_down.weight", normal((DIM, FFN), FFN ** -0.5), mt)
        if gemma or arch == "olmo2":
            tensor(p + "post_ffw_norm.weight", 1 + normal((DIM,), 0.1))
    tensor("output_norm.weight", 1 + normal((DIM,), 0.1))
    if not gemma:  # Gemma: the classifier is the token embedding
        tensor("output.weight", normal((N_VOCAB, DIM), 0.5), ot)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def logits_now(llm, n_vocab):
    ptr = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
    return np.ctypeslib.as_array(ptr, shape=(n_vocab,)).copy()


def quantize(name, model):
    """Writes the f32 model, then llama.cpp's QUANTIZED[name] of it to model."""
    src = model + ".f32.tmp"
    write_model(src, F32, F32, gguf.LlamaFileType.ALL_F32, *ARCH.get(name, ()))
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = QUANTIZED[name]
    params.nthread = 2
    rc = llama_cpp.llama_model_quantize(src.encode(), model.encode(), ctypes.byref(params))
    os.remove(src)
    if rc != 0:
        sys.exit(f"llama_model_quantize {name}: {rc}")


def run(name):
    model = os.path.join(OUTDIR, f"llama-tiny-{name}.gguf")
    out_path = os.path.join(OUTDIR, f"llama_tiny_{name}_llamacpp.json")
    if name in QUANTIZED:
        quantize(name, model)
    else:
        write_model(model, *MODELS[name], *ARCH.get(name, ()))
    llm = llama_cpp.Llama(model_path=model, n_ctx=CTX, n_batch=256, n_ubatch=256, n_threads=2,
                          n_threads_batch=2, type_k=0, type_v=0, flash_attn=False,
                          logits_all=False, verbose=False)
    vocab_ = llama_cpp.llama_model_get_vocab(llm.model)
    n_vocab = llm.n_vocab()

    def b64(logits):
        return base64.b64encode(logits.astype("<f4").tobytes()).decode()

    # One token per eval: every product is a gemv.
    dec = llm.tokenize(DECODE_TEXT.encode(), add_bos=False, special=False)
    llm.reset()
    steps = []
    for tok in dec:
        llm.eval([tok])
        steps.append(b64(logits_now(llm, n_vocab)))
    print(f"{name} decode: {len(dec)} tokens one at a time", file=sys.stderr)

    cases = []
    for p in PROMPTS:
        toks = llm.tokenize(p["text"].encode(), add_bos=False, special=False)
        # llama.cpp's own logits after the prompt fed one token at a time,
        # to record whether its batched prompt path gives the same bits.
        llm.reset()
        for tok in toks:
            llm.eval([tok])
        sequential = b64(logits_now(llm, n_vocab))
        llm.reset()
        llm.eval(toks)
        out, gaps, first = [], [], None
        for _ in range(N):
            logits = logits_now(llm, n_vocab)
            if first is None:
                first = b64(logits)
            top2 = np.sort(logits)[-2:]
            tok = int(np.argmax(logits))  # first maximum
            out.append(tok)
            gaps.append(float(top2[1] - top2[0]))
            if llama_cpp.llama_vocab_is_eog(vocab_, tok):
                break
            llm.eval([tok])
        cases.append({"name": p["name"], "prompt": p["text"], "prompt_tokens": toks,
                      "prompt_logits_f32_b64": first,
                      "prompt_batch_equals_one_by_one": first == sequential, "tokens": out,
                      "top2_gap": [round(g, 5) for g in gaps]})
        print(f"{name} {p['name']}: {len(toks)} prompt tokens, {len(out)} generated, min gap {min(gaps):.4f}",
              file=sys.stderr)

    doc = {
        "generator": "scripts/goldens/llama_tiny_quants.py",
        "llama_cpp_python": llama_cpp.__version__,
        "llama_cpp_system_info": llama_cpp.llama_print_system_info().decode(),
        "python": platform.python_version(),
        "model": os.path.basename(model),
        "settings": {"kv_cache": "f32", "flash_attn": False, "n_batch": 256, "threads": 2, "max_tokens": N,
                     "add_bos": False,
                     "sampling": "greedy argmax over llama_get_logits_ith(-1), stop at llama_vocab_is_eog"},
        "decode": {"text": DECODE_TEXT, "tokens": dec, "logits_f32_b64": steps},
        "greedy": cases,
    }
    with open(out_path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


def main():
    for name in ONLY:
        run(name)


if __name__ == "__main__":
    main()

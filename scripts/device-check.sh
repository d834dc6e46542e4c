#!/usr/bin/env bash
# Every GPU check in one run, for the GPU machine (no Go, no network): it runs
# binaries built beforehand on a Go machine by `make device-bundle`, and writes
# everything it measures into the folder named by the first argument (or $OUT):
# summary.md and device-check.tar.gz.
#
# A device run carries at most 64 MiB, and the binaries plus the real SmolLM2
# file (94 MiB) need about 113, so they travel in two runs back to back (the
# machine keeps what an earlier run carried while it stays warm, about 30 s):
#
#   make device-bundle                                   # on the Go machine
#   run 1: carry ["bin/device-smol"], command "true"     # part 1 of the model
#   run 2: carry ["bin/device"], command "scripts/device-check.sh $OUT"   (about 8 minutes)
#
# If run 1 did not happen (or the machine was fresh), the real-model steps are
# skipped and reported as such; everything else still runs.
#
# Steps (each bounded by a timeout, each logged to its own file; a failing
# step is recorded and the next one still runs):
#   1. nvidia-smi, and the copy bandwidth measured with PyTorch (the anchor for %-of-bandwidth)
#   2. parity: every backend op on the GPU against the CPU backend (cuda.test -test.run GPU)
#   3. generate on CUDA: stories260K greedy 200 tokens = llama2.c's text; CUDA tokens = CPU tokens
#   4. SmolLM2-135M: the real file when carried (CUDA greedy = CPU greedy on the 7 golden
#      prompts, engine.test; pp512/tg128), else its shapes with random weights (mkmodel);
#      the same tests with Hugging Face transformers (PyTorch eager, fp16) as the GPU peer
#      (scripts/hf_peer.py; llama.cpp's CUDA build needs cuBLAS, too large to carry);
#      then a kernel-by-kernel time profile of the same run ($GPURUN_CUDA_PROFILE)
#   5. Llama-3-8B-shaped model (random Q4_1): tg/pp on CUDA, bytes per token vs copy bandwidth;
#      its kernel profile; matrix-vector GB/s on its shapes (BenchmarkGPUMatVec); the
#      host's time per decode step (BenchmarkHostDecode)
#   6. attention study on CUDA and PyTorch scaled_dot_product_attention (fp16, causal) side by side;
#      the sliding-window methods on Gemma 3's heads
#   6b. pp512 again with GPURUN_CUDA_GEMM_PREFILL=1 (f16 tensor-core prefill) for SmolLM2 and the 8B shape
#   7. GPT-2 124M shapes (random Q8_0; LayerNorm, biases, GELU): pp512/tg128 (the tiny GPT-2's
#      CUDA tokens against the CPU's run in step 2, TestGPUGPT2)
#   8. OLMoE-1B-7B-shaped model (random Q4_K, 64 experts): pp/tg on CUDA
set -uo pipefail
cd "$(dirname "$0")/.."

# Results go to DEST as two files, summary.md and device-check.tar.gz (every
# log, JSON and profile): a device run brings back at most 8 files.
DEST=${1:-${OUT:-bench/results/device-$(date -u +%Y%m%d-%H%M%S)}}
mkdir -p "$DEST"
B=bin/device
# DEVICE=cpu runs the same flow on the CPU build (a smoke test of this script on a machine
# without a GPU: make device-bundle DEVICE_TAGS= first, as a CUDA build exits where no GPU is).
DEVICE=${DEVICE:-cuda}
TMP=${TMPDIR:-/tmp}/gpurun-device
mkdir -p "$TMP"
OUT=$TMP/results # every step writes here; packed into DEST at the end
rm -rf "$OUT"
mkdir -p "$OUT"
export GPURUN_COMMIT=${GPURUN_COMMIT:-$(cat $B/COMMIT 2>/dev/null || echo unknown)}
SUMMARY=$OUT/summary.md
failures=0

log() { echo "device-check: $*" >&2; }
# The whole run ends within BUDGET seconds (default 540, inside a device
# call's 600), so that the results are always packed: each step's timeout is
# cut to what is left, and a step with nothing left is skipped.
BUDGET=${BUDGET:-540}
# step NAME SECONDS CMD...: run CMD with a timeout, output to $OUT/NAME.log, record pass/fail.
step() {
	local name=$1 secs=$2
	shift 2
	local left=$((BUDGET - SECONDS - 20))
	if ((left < 5)); then
		log "$name: skipped, the time budget is spent"
		echo "| $name | skipped (time budget) | |" >>"$SUMMARY"
		failures=$((failures + 1))
		return 1
	fi
	((secs > left)) && secs=$left
	log "$name"
	local start=$SECONDS
	timeout "$secs" "$@" >"$OUT/$name.log" 2>&1
	local rc=$?
	local took=$((SECONDS - start))
	if [[ $rc -eq 0 ]]; then
		echo "| $name | ok | ${took}s |" >>"$SUMMARY"
	else
		echo "| $name | FAILED (exit $rc) | ${took}s |" >>"$SUMMARY"
		failures=$((failures + 1))
	fi
	return $rc
}

for f in gpurun.gz cuda.test.gz engine.test.gz mkmodel.gz stories260K.gguf expected_test_all_t0_n200.txt; do
	if [[ ! -e $B/$f ]]; then
		log "missing $B/$f: run 'make device-bundle' on a Go machine and carry bin/device"
		exit 1
	fi
done
# The binaries travel gzipped.
X=$TMP/bin
mkdir -p "$X"
for f in gpurun cuda.test engine.test mkmodel; do
	gzip -dc "$B/$f.gz" >"$X/$f" && chmod +x "$X/$f" || { log "cannot unpack $B/$f.gz"; exit 1; }
done
# The real SmolLM2, joined from the two runs' parts and checked against the
# hash scripts/fetch-model.sh pins.
SMOL=models/SmolLM2-135M-Instruct.Q4_1.gguf
SMOL_SHA=$(sed -n 's/^SHA256=//p' scripts/fetch-model.sh)
have_smol=0
if [[ -f bin/device-smol/smollm2.part1 && -f $B/smollm2.part2 ]]; then
	mkdir -p models
	cat bin/device-smol/smollm2.part1 "$B/smollm2.part2" >"$SMOL"
	if [[ $(sha256sum "$SMOL" | cut -d' ' -f1) == "$SMOL_SHA" ]]; then
		have_smol=1
	else
		log "the joined SmolLM2 does not match sha256 $SMOL_SHA; real-model steps skipped"
	fi
else
	log "SmolLM2 part 1 (bin/device-smol) was not carried by an earlier run; real-model steps skipped"
fi

{
	echo "# gpurun device check"
	echo
	echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "- commit: $GPURUN_COMMIT"
	echo "- gpu: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo unknown)"
	echo
	echo "| step | result | time |"
	echo "|---|---|---|"
} >"$SUMMARY"

# 1. The machine.
step nvidia-smi 30 nvidia-smi
step bandwidth 120 python3 - "$OUT/bandwidth.json" <<'PY'
import json, sys, torch
n = 1 << 30  # 1 GiB copies, device to device
a = torch.empty(n, dtype=torch.uint8, device="cuda"); b = torch.empty_like(a)
for _ in range(3): b.copy_(a)
torch.cuda.synchronize()
s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
best = 1e9
for _ in range(20):
    s.record(); b.copy_(a); e.record(); torch.cuda.synchronize()
    best = min(best, s.elapsed_time(e) / 1e3)
gbs = 2 * n / best / 1e9  # read + write
print(f"device-to-device copy: {gbs:.0f} GB/s (read+write, best of 20, 1 GiB)")
json.dump({"copy_gbs": gbs, "gpu": torch.cuda.get_device_name()}, open(sys.argv[1], "w"))
PY
BW=$(python3 -c "import json;print(json.load(open('$OUT/bandwidth.json'))['copy_gbs'])" 2>/dev/null || echo 0)

# 2. Parity of every op, and the graph-replayed decode loop.
step parity 240 $X/cuda.test -test.run 'GPU' -test.v

# 3. End to end on a real model: stories260K.
{ cat $B/expected_test_all_t0_n200.txt; echo; } >"$TMP/stories-expected.txt"
step stories-cuda 60 sh -c "$X/gpurun generate -m $B/stories260K.gguf -p '' -n 200 --temperature 0 --device $DEVICE > $TMP/stories-cuda.txt && cmp $TMP/stories-cuda.txt $TMP/stories-expected.txt"
step stories-cuda-vs-cpu 60 sh -c "$X/gpurun generate -m $B/stories260K.gguf -p 'Once upon a time' -n 200 --temperature 0 --device cpu > $TMP/s-cpu.txt && \
  $X/gpurun generate -m $B/stories260K.gguf -p 'Once upon a time' -n 200 --temperature 0 --device $DEVICE > $TMP/s-cuda.txt && cmp $TMP/s-cpu.txt $TMP/s-cuda.txt"

# 4. SmolLM2-135M: the real file if both parts came, else its shapes.
if [[ $have_smol == 1 ]]; then
	echo "| smollm2 | the real file (sha256 ok) | |" >>"$SUMMARY"
	step smollm2-cuda-vs-cpu 300 sh -c "cd runtime/engine && $X/engine.test -test.run GPUSmolLM2 -test.v"
	step bench-smollm2 180 sh -c "$X/gpurun bench model -m $SMOL --device $DEVICE -p 512 -n 128 -r 3 --json > $OUT/smollm2-model.json"
	SMOL_RUN=$SMOL
else
	echo "| smollm2 | real file not carried: shapes with random weights | |" >>"$SUMMARY"
	step mkmodel-smollm2 60 $X/mkmodel -shape smollm2-135m -type q4_1 -embed-type q8_0 -o "$TMP/smollm2-shape.gguf"
	step bench-smollm2 180 sh -c "$X/gpurun bench model -m $TMP/smollm2-shape.gguf --device $DEVICE -p 512 -n 128 -r 3 --json > $OUT/smollm2-shape-model.json"
	SMOL_RUN=$TMP/smollm2-shape.gguf
fi
# The GPU peer on the same shapes: transformers (PyTorch eager, fp16), llama-bench's procedure.
step hf-peer-smollm2 180 python3 scripts/hf_peer.py --shape smollm2-135m --prompt 512 --gen 128 --reps 3 --out "$OUT/hf-smollm2.json"
python3 - "$OUT/smollm2-model.json" "$OUT/smollm2-shape-model.json" "$OUT/hf-smollm2.json" >>"$SUMMARY" 2>/dev/null <<'PY' || true
import json, os, sys
ours = next((p for p in sys.argv[1:3] if os.path.exists(p)), None)
g = {t["name"]: t["avg_ts"] for t in json.load(open(ours))["tests"]}
h = {t["name"]: t["tokens_per_sec"] for t in json.load(open(sys.argv[3]))["tests"]}
print("\nSmolLM2 shapes on the GPU, gpurun against transformers (eager fp16):")
for k in sorted(set(g) & set(h)):
    print(f"- {k}: gpurun {g[k]:.1f} tok/s, transformers {h[k]:.1f} tok/s, ratio {g[k] / h[k]:.2f}")
PY
# Where a decode step's time goes, kernel by kernel (CUDA events; no graphs while profiling).
step profile-smollm2 120 sh -c "GPURUN_CUDA_PROFILE=$OUT/smollm2-kernels.txt $X/gpurun bench model -m $SMOL_RUN --device $DEVICE -p 512 -n 128 -r 1 > /dev/null"

# 5. Llama-3-8B shapes: bandwidth-bound decode.
step mkmodel-llama3-8b 180 $X/mkmodel -shape llama3-8b -type q4_1 -o "$TMP/llama3-8b-shape.gguf"
step bench-llama3-8b 240 sh -c "$X/gpurun bench model -m $TMP/llama3-8b-shape.gguf --device $DEVICE --ctx 1024 -p 512 -n 64 -r 2 --json > $OUT/llama3-8b-shape-model.json"
step profile-llama3-8b 120 sh -c "GPURUN_CUDA_PROFILE=$OUT/llama3-8b-kernels.txt $X/gpurun bench model -m $TMP/llama3-8b-shape.gguf --device $DEVICE --ctx 1024 -p 512 -n 32 -r 1 > /dev/null"
step matvec-gbs 180 $X/cuda.test -test.run '^$' -test.bench 'GPUMatVec|GPUDecode|HostDecode' -test.benchtime 200x

# 6. Attention: the fused kernel against PyTorch SDPA on the same shapes.
step attention-cuda 240 sh -c "$X/gpurun bench attention --device $DEVICE --max-len 16384 --methods fused,decode-cache --json > $OUT/cuda-attention.json"
step sdpa-peer 240 python3 scripts/sdpa_peer.py --max-len 16384 --out "$OUT/sdpa.json"
step attention-vs-sdpa 30 sh -c "$X/gpurun bench attention --from $OUT/cuda-attention.json --vs-sdpa $OUT/sdpa.json > $OUT/attention-vs-sdpa.md"
# Sliding windows on Gemma 3 1B's heads: what the window saves the CUDA kernels.
step attention-window-cuda 60 sh -c "$X/gpurun bench attention --device $DEVICE --heads 4 --kv-heads 1 --head-dim 256 --window 512 --max-len 16384 --methods fused,fused-window,decode-cache,decode-window --json > $OUT/cuda-attention-window.json"

# Prefill on the f16 tensor-core GEMM instead of the matrix-vector tiles (Options.GEMMPrefill):
# is the speed worth leaving the CPU's 8-bit arithmetic?
step bench-smollm2-gemm-prefill 90 sh -c "GPURUN_CUDA_GEMM_PREFILL=1 $X/gpurun bench model -m $SMOL_RUN --device $DEVICE -p 512 -n 0 -r 3 --json > $OUT/smollm2-gemm-prefill.json"
step bench-llama3-8b-gemm-prefill 120 sh -c "GPURUN_CUDA_GEMM_PREFILL=1 $X/gpurun bench model -m $TMP/llama3-8b-shape.gguf --device $DEVICE --ctx 1024 -p 512 -n 0 -r 2 --json > $OUT/llama3-8b-gemm-prefill.json"

# 7. GPT-2 124M shapes, last: the first steps to go when time runs short.
step mkmodel-gpt2 60 $X/mkmodel -shape gpt2-124m -type q8_0 -o "$TMP/gpt2-124m-shape.gguf"
step bench-gpt2 120 sh -c "$X/gpurun bench model -m $TMP/gpt2-124m-shape.gguf --device $DEVICE -p 512 -n 128 -r 3 --json > $OUT/gpt2-124m-shape-model.json"

# 8. A mixture of experts, after everything else: OLMoE-1B-7B's shapes (all 16 layers, 64
# experts, 8 per token) in Q4_K: prefill (grouped by expert on the device) and decode speed.
# (The tiny MoE goldens ran on the GPU against the CPU in step 2, TestGPUArchitectures.)
step mkmodel-olmoe 120 $X/mkmodel -shape olmoe-1b-7b -type q4_k -o "$TMP/olmoe-shape.gguf"
step bench-olmoe 180 sh -c "$X/gpurun bench model -m $TMP/olmoe-shape.gguf --device $DEVICE --ctx 1024 -p 512 -n 64 -r 2 --json > $OUT/olmoe-shape-model.json"

# Bytes per token against bandwidth for the 8B shape.
python3 - "$TMP/llama3-8b-shape.gguf" "$OUT/llama3-8b-shape-model.json" "$BW" >>"$SUMMARY" 2>/dev/null <<'PY' || true
import json, os, sys
size = os.path.getsize(sys.argv[1]); bw = float(sys.argv[3])
doc = json.load(open(sys.argv[2]))
tests = doc.get("tests") or doc.get("results") or []
for t in tests:
    name = t.get("name") or t.get("test", "")
    tps = t.get("tokens_per_sec") or t.get("avg_ts") or t.get("mean")
    if name.startswith("tg") and tps:
        gbs = size * tps / 1e9
        print(f"\nLlama-3-8B shape, {name}: {tps:.1f} tok/s x {size/1e9:.2f} GB/token = {gbs:.0f} GB/s"
              + (f" = {100*gbs/bw:.0f}% of the measured copy bandwidth {bw:.0f} GB/s" if bw else ""))
PY

echo >>"$SUMMARY"
echo "failures: $failures" >>"$SUMMARY"
cat "$SUMMARY"
cp "$SUMMARY" "$DEST/summary.md"
tar -czf "$DEST/device-check.tar.gz" -C "$OUT" .
log "results: $DEST/summary.md and $DEST/device-check.tar.gz"
exit $((failures > 0))

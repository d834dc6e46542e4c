#!/usr/bin/env bash
# Side by side: llama.cpp's own benchmark (llama-bench) and `gpurun bench model`
# on the same model, machine and thread count: prompt processing (pp512) and
# generation (tg128) in tokens per second, and the ratio gpurun / llama.cpp.
#
# llama.cpp is not part of this repository: when llama-bench is missing, this
# script downloads the llama-cpp-python sdist from PyPI (it vendors llama.cpp),
# and builds only llama-bench with CMake into a cache outside the repository.
#
# Usage: scripts/bench-vs-llamacpp.sh [-m MODEL] [-t THREADS] [-r REPS] [-o OUTDIR] [-a ISA] [-p N] [-n N] [-d N]
#   -m MODEL    GGUF file (default models/SmolLM2-135M-Instruct.Q4_1.gguf; `make model` fetches it)
#   -t THREADS  CPU threads for both (default: all cores, nproc)
#   -r REPS     repetitions of each test (default 5, llama-bench's default)
#   -o OUTDIR   where the two JSON results and the comparison go (default bench/out/vs-llamacpp)
#   -p N, -n N  prompt and generation tokens of the two tests (default 512 and 128; 0 skips one)
#   -d N        both tools run the tests with N tokens already in the KV cache (default 0)
#   -a ISA      native (default): both use everything this CPU has; avx2: both as on a
#               machine without AVX-512 (llama.cpp built for AVX2 + FMA + F16C only,
#               gpurun with GPURUN_QUANT_NOVNNI=1, which turns off its 512-bit kernels)
# Environment:
#   LLAMA_BENCH       use this llama-bench binary instead of building one
#   GPURUN            use this gpurun binary (default: go build -o bin/gpurun ./cmd/gpurun)
#   GPURUN_CACHE      cache directory (default ~/.cache/gpurun)
#   LLAMA_CPP_PYTHON  llama-cpp-python version whose llama.cpp is built (default 0.3.36)
#
# Example:
#   scripts/bench-vs-llamacpp.sh -t 2 -r 5 -o bench/results/$(date +%F)-cpu-vs-llamacpp
#   scripts/bench-vs-llamacpp.sh -a avx2 -m model.gguf    (as on an AVX2-only CPU)
#   scripts/bench-vs-llamacpp.sh -p 0 -n 64 -d 4096        (decoding after 4096 tokens of context)
set -euo pipefail
cd "$(dirname "$0")/.."

MODEL=models/SmolLM2-135M-Instruct.Q4_1.gguf
THREADS=$(nproc)
REPS=5
OUTDIR=bench/out/vs-llamacpp
PP=512
TG=128
DEPTH=0
ISA=native
while getopts "m:t:r:o:a:p:n:d:h" opt; do
	case $opt in
	m) MODEL=$OPTARG ;;
	t) THREADS=$OPTARG ;;
	r) REPS=$OPTARG ;;
	o) OUTDIR=$OPTARG ;;
	a) ISA=$OPTARG ;;
	p) PP=$OPTARG ;;
	n) TG=$OPTARG ;;
	d) DEPTH=$OPTARG ;;
	h)
		sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "usage: $0 [-m MODEL] [-t THREADS] [-r REPS] [-o OUTDIR] [-a native|avx2] [-p N] [-n N] [-d N] (-h for help)" >&2
		exit 2
		;;
	esac
done
case $ISA in
native | avx2) ;;
*)
	echo "bench-vs-llamacpp: -a $ISA: want native or avx2" >&2
	exit 2
	;;
esac
if [[ ! -f $MODEL ]]; then
	echo "bench-vs-llamacpp: model $MODEL not found (run 'make model', or pass -m FILE)" >&2
	exit 1
fi

# shellcheck source=scripts/llamacpp.sh
source scripts/llamacpp.sh
log() { echo "bench-vs-llamacpp: $*" >&2; }

# smoke MODEL BIN: does this llama-bench run at all on this CPU? (A build with
# -march=native can emit AMX instructions that a VM does not allow: SIGILL.)
smoke() { "$2" -m "$1" -t 1 -p 8 -n 1 -r 1 -o json >/dev/null 2>&1; }

if [[ -z ${LLAMA_BENCH:-} ]]; then
	LLAMA_BENCH=$(llamacpp_tool llama-bench "$ISA") || exit 1
fi
if ! smoke "$MODEL" "$LLAMA_BENCH"; then
	log "$LLAMA_BENCH does not run on this machine (try: $LLAMA_BENCH -m $MODEL -p 8 -n 1 -r 1)"
	exit 1
fi

if [[ -z ${GPURUN:-} ]]; then
	GPURUN=bin/gpurun
	go build -buildvcs=auto -o "$GPURUN" ./cmd/gpurun
fi

mkdir -p "$OUTDIR"
log "llama-bench: $MODEL, $THREADS threads, pp$PP tg$TG depth $DEPTH, $REPS repetitions"
"$LLAMA_BENCH" -m "$MODEL" -t "$THREADS" -p "$PP" -n "$TG" -d "$DEPTH" -r "$REPS" -o json >"$OUTDIR/llamacpp.json"
log "gpurun bench model: $MODEL, $THREADS threads, pp$PP tg$TG depth $DEPTH, $REPS repetitions"
if [[ $ISA == avx2 ]]; then
	export GPURUN_QUANT_NOVNNI=1
fi
"$GPURUN" bench model -m "$MODEL" --device cpu --threads "$THREADS" -p "$PP" -n "$TG" -d "$DEPTH" -r "$REPS" --json >"$OUTDIR/gpurun.json"
{
	"$GPURUN" bench model --from "$OUTDIR/gpurun.json" --vs-llamacpp "$OUTDIR/llamacpp.json"
	if [[ $ISA == avx2 ]]; then
		echo
		echo "As on a CPU without AVX-512 (\`-a avx2\`): llama.cpp built with GGML_NATIVE=OFF, AVX, AVX2, FMA, F16C;"
		echo "gpurun run with GPURUN_QUANT_NOVNNI=1 (its AVX2 kernels only)."
	fi
} | tee "$OUTDIR/compare.md"
log "results in $OUTDIR: llamacpp.json, gpurun.json, compare.md"

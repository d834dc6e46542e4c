#!/usr/bin/env bash
# Produce the committed benchmark results under bench/results/, named
# DATE-DEVICE-KIND.{md,json,png}: the attention-cost study, the model
# throughput (pp512/tg128) and, on the CPU, the side-by-side with llama.cpp.
# Every file records the machine, the date and the commit it ran at.
#
# Usage: scripts/bench-results.sh [-d cpu|cuda] [-t THREADS] [-m MODEL] [-o DIR] [-s STEPS]
#   -d DEVICE   cpu (default) or cuda
#   -t THREADS  CPU threads (default: all cores)
#   -m MODEL    GGUF model (default models/SmolLM2-135M-Instruct.Q4_1.gguf)
#   -o DIR      output directory (default bench/results)
#   -s STEPS    comma-separated subset of attention,model,llamacpp (default: all three on cpu,
#               attention,model on cuda)
# Environment: GPURUN (a prebuilt binary, e.g. on the GPU machine, which has no Go),
# GPURUN_COMMIT (the commit to record where there is no git), and those of
# scripts/bench-vs-llamacpp.sh.
#
# Example (the CPU results of the day, about fifteen minutes on two cores):
#   scripts/bench-results.sh -d cpu -t 2
set -euo pipefail
cd "$(dirname "$0")/.."

DEVICE=cpu
THREADS=$(nproc)
MODEL=models/SmolLM2-135M-Instruct.Q4_1.gguf
OUT=bench/results
STEPS=
while getopts "d:t:m:o:s:h" opt; do
	case $opt in
	d) DEVICE=$OPTARG ;;
	t) THREADS=$OPTARG ;;
	m) MODEL=$OPTARG ;;
	o) OUT=$OPTARG ;;
	s) STEPS=$OPTARG ;;
	h)
		sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "usage: $0 [-d cpu|cuda] [-t THREADS] [-m MODEL] [-o DIR] [-s STEPS] (-h for help)" >&2
		exit 2
		;;
	esac
done
case $DEVICE in
cpu) STEPS=${STEPS:-attention,model,llamacpp} ;;
cuda) STEPS=${STEPS:-attention,model} ;;
*)
	echo "bench-results: -d $DEVICE: want cpu or cuda" >&2
	exit 2
	;;
esac
has() { [[ ,$STEPS, == *,$1,* ]]; }
log() { echo "bench-results: $*" >&2; }

if [[ -z ${GPURUN:-} ]]; then
	GPURUN=bin/gpurun
	go build -buildvcs=auto -o "$GPURUN" ./cmd/gpurun
fi
export GPURUN
mkdir -p "$OUT"
prefix=$OUT/$(date -u +%F)-$DEVICE

if has attention; then
	log "attention study on $DEVICE (and whole-model decode steps of $MODEL) -> $prefix-attention.{json,md,png}"
	# Three passes over all points, samples pooled: on a shared machine a
	# burst of load then spoils one pass of a point, not all its samples.
	"$GPURUN" bench attention --device "$DEVICE" --threads "$THREADS" --model "$MODEL" --passes 3 \
		--json >"$prefix-attention.json"
	"$GPURUN" bench attention --from "$prefix-attention.json" --plot "$prefix-attention.png" >"$prefix-attention.md"
fi

if has llamacpp; then
	# Runs llama-bench and `gpurun bench model` (the model results come from it).
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	scripts/bench-vs-llamacpp.sh -m "$MODEL" -t "$THREADS" -o "$tmp" >/dev/null
	cp "$tmp/gpurun.json" "$prefix-model.json"
	cp "$tmp/llamacpp.json" "$prefix-llamacpp.json"
	cp "$tmp/compare.md" "$prefix-vs-llamacpp.md"
	"$GPURUN" bench model --from "$prefix-model.json" >"$prefix-model.md"
	log "wrote $prefix-{model,llamacpp}.json, $prefix-model.md, $prefix-vs-llamacpp.md"
elif has model; then
	log "model throughput on $DEVICE -> $prefix-model.{json,md}"
	"$GPURUN" bench model -m "$MODEL" --device "$DEVICE" --threads "$THREADS" --json >"$prefix-model.json"
	"$GPURUN" bench model --from "$prefix-model.json" >"$prefix-model.md"
fi
ls -l "$prefix"-* >&2

#!/usr/bin/env bash
# A random-weight model in a real model's shape, quantized by llama.cpp itself:
# cmd/mkmodel writes it in F16, then llama.cpp's llama-quantize makes the file
# type asked for — mixes such as Q4_K_M (Q4_K with Q6_K for the output, half of
# attn_v and ffn_down) exactly as llama.cpp makes them for downloads. For
# benchmarks and token-exact checks on the formats users run, on machines that
# cannot download models.
#
# llama-quantize is built like bench-vs-llamacpp.sh's llama-bench (scripts/llamacpp.sh).
#
# Usage: scripts/quantize-llamacpp.sh -q TYPE -o OUT.gguf [-s SHAPE] [-l LAYERS] [-a ISA]
#   -q TYPE    llama-quantize's type: Q4_K_M, Q5_K_M, Q6_K, Q8_0, Q4_0, ... (llama-quantize --help)
#   -o OUT     the quantized GGUF file
#   -s SHAPE   cmd/mkmodel's -shape (default tinyllama-1b; go run ./cmd/mkmodel -h lists them)
#   -l LAYERS  cmd/mkmodel's -layers (default: the shape's)
#   -a ISA     which llama.cpp build runs the quantizer: native (default) or avx2
#
# Example:
#   scripts/quantize-llamacpp.sh -q Q4_K_M -o /tmp/tinyllama-q4_k_m.gguf
#   scripts/bench-vs-llamacpp.sh -m /tmp/tinyllama-q4_k_m.gguf -t 2 -r 3
set -euo pipefail
cd "$(dirname "$0")/.."

TYPE="" OUT="" SHAPE=tinyllama-1b LAYERS=0 ISA=native
while getopts "q:o:s:l:a:h" opt; do
	case $opt in
	q) TYPE=$OPTARG ;;
	o) OUT=$OPTARG ;;
	s) SHAPE=$OPTARG ;;
	l) LAYERS=$OPTARG ;;
	a) ISA=$OPTARG ;;
	h)
		sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "usage: $0 -q TYPE -o OUT.gguf [-s SHAPE] [-l LAYERS] [-a native|avx2] (-h for help)" >&2
		exit 2
		;;
	esac
done
if [[ -z $TYPE || -z $OUT ]]; then
	echo "usage: $0 -q TYPE -o OUT.gguf [-s SHAPE] [-l LAYERS] [-a native|avx2] (-h for help)" >&2
	exit 2
fi

# shellcheck source=scripts/llamacpp.sh
source scripts/llamacpp.sh
QUANTIZE=$(llamacpp_tool llama-quantize "$ISA") || exit 1

f16=$(mktemp --suffix=.gguf)
trap 'rm -f "$f16"' EXIT
llamacpp_log "cmd/mkmodel: $SHAPE in F16 -> $f16"
go run ./cmd/mkmodel -shape "$SHAPE" -layers "$LAYERS" -type f16 -o "$f16"
llamacpp_log "llama-quantize $TYPE -> $OUT (log in $OUT.quantize.log)"
if ! "$QUANTIZE" "$f16" "$OUT" "$TYPE" "$(nproc)" >"$OUT.quantize.log" 2>&1; then
	tail -n 20 "$OUT.quantize.log" >&2
	llamacpp_log "llama-quantize failed"
	exit 1
fi
tail -n 2 "$OUT.quantize.log" >&2

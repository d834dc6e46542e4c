#!/usr/bin/env bash
# Builds gpurun, starts `gpurun serve` on a free loopback port, runs the
# OpenAI-client check (scripts/serve-openai-client.py) and the bounded load
# test (scripts/serve-load.py) against it, then stops it with SIGTERM and
# checks that it exits 0.
#
#   pip install -r scripts/serve-requirements.txt
#   scripts/serve-check.sh                          # SmolLM2, --parallel 8
#   MODEL=path.gguf PARALLEL=4 scripts/serve-check.sh --clients 16
#   SKIP_LOAD=1 scripts/serve-check.sh              # the client check only
#
# Arguments are passed to serve-load.py. Environment: MODEL, PARALLEL, CTX,
# THREADS (0: one per core), SERVE_ARGS (more serve flags), SKIP_LOAD.
set -euo pipefail
cd "$(dirname "$0")/.."

MODEL=${MODEL:-models/SmolLM2-135M-Instruct.Q4_1.gguf}
PARALLEL=${PARALLEL:-8}
CTX=${CTX:-1024}
THREADS=${THREADS:-0}

if ! python3 -c 'import openai' 2>/dev/null; then
	echo "serve-check: the openai package is missing: pip install -r scripts/serve-requirements.txt" >&2
	exit 1
fi
tmp=$(mktemp -d)
go build -o "$tmp/gpurun" ./cmd/gpurun
log=$tmp/serve.log
# shellcheck disable=SC2086 # SERVE_ARGS is a list of flags
"$tmp/gpurun" serve -m "$MODEL" --host 127.0.0.1 --port 0 --device cpu --threads "$THREADS" \
	--parallel "$PARALLEL" --ctx "$CTX" ${SERVE_ARGS:-} 2>"$log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT

url=
for _ in $(seq 1 100); do
	url=$(grep -o 'listening on http://[0-9.:]*' "$log" | cut -d' ' -f3 || true)
	[[ -n $url ]] && break
	kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
	sleep 0.2
done
[[ -n $url ]] || { echo "serve-check: the server did not start" >&2; cat "$log" >&2; exit 1; }
echo "== server at $url ($MODEL, --parallel $PARALLEL, --ctx $CTX)"

status=0
python3 scripts/serve-openai-client.py "$url" || status=1
if [[ -z ${SKIP_LOAD:-} ]]; then
	python3 scripts/serve-load.py "$url" "$@" || status=1
fi

kill -TERM "$pid"
if wait "$pid"; then
	echo "== server stopped (exit 0)"
else
	echo "serve-check: the server exited $? after SIGTERM" >&2
	cat "$log" >&2
	status=1
fi
exit $status

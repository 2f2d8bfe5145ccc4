#!/usr/bin/env bash
# The GPU check, run on the device machine from the repository root after
# scripts/gpu-carry.sh filled .gpu/ here. That machine has nvcc, CMake, ninja and Python
# with numpy, but no Swift and no network, so it:
#   1. builds the pinned engine with GGML_CUDA=ON from the carried source, through the same
#      bootstrap script the Dockerfile and `make` use (CUDA_ARCHS defaults to 90 here to
#      save build time; images build 80;86;89;90);
#   2. generates random-weight models with gguf-py (no weights travel);
#   3. serves each with the carried corral binary and measures it with
#      scripts/bench-throughput.py: a single-sequence server at one client against the
#      batching scheduler at 32 clients (issue 3's bar), then optionally Llama-70B- and
#      Nemotron-Super-49B-shaped slices side by side.
# Output goes to stdout and, when OUT is set, to $OUT/gpu-check.log.
set -uo pipefail
t0=$(date +%s)
log=${OUT:-/tmp}/gpu-check.log
exec > >(tee -a "$log") 2>&1
el() { echo "[$(( $(date +%s) - t0 )) s] $*"; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader

export CORRAL_CACHE=/tmp/corral-cache CORRAL_ENGINE_SRC=.gpu/llama.cpp CUDA_ARCHS=${CUDA_ARCHS:-90}
engine=$(scripts/bootstrap-engine.sh --cuda 2> /tmp/engine-build.log) \
  || { tail -40 /tmp/engine-build.log; exit 1; }
el "engine built: $engine ($(ls "$engine/lib" | tr '\n' ' '))"
mkdir -p "$engine/bin"
xz -dc .gpu/corral.xz > "$engine/bin/corral" && chmod +x "$engine/bin/corral"
corral=$engine/bin/corral
models=/tmp/models; mkdir -p "$models"

make_model() {  # shape layers
  python3 scripts/make-tiny-deci.py --llama-src .gpu/llama.cpp --shape "$1" --layers "$2" \
    --embd-type f16 --out "$models/$1.gguf" > /dev/null 2> /tmp/gen.log || { cat /tmp/gen.log; return 1; }
  el "generated $1 ($(du -h "$models/$1.gguf" | cut -f1))"
}

pid=
serve() {  # model, extra flags...
  local m=$1; shift
  "$corral" serve --host 127.0.0.1 --port 8000 --model "$models/$m.gguf" "$@" > "/tmp/serve-$m.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 240); do
    curl -fs http://127.0.0.1:8000/v1/health/ready > /dev/null && { el "ready: $m $*"; return 0; }
    kill -0 $pid 2> /dev/null || break
    sleep 0.5
  done
  tail -20 "/tmp/serve-$m.log"; return 1
}
stop() { kill -TERM $pid; wait $pid; el "exit status $?"; }
bench() { python3 scripts/bench-throughput.py --max-tokens 128 "$@"; }

# 1. Issue 3's bar: batching against one sequence at a time, Llama-3.2-1B shape.
make_model llama1b 16 || exit 1
serve llama1b --max-num-seqs 1 || exit 1
nvidia-smi --query-gpu=memory.used --format=csv,noheader
curl -s http://127.0.0.1:8000/v1/chat/completions -H 'Content-Type: application/json' \
  -d '{"messages":[{"role":"user","content":"Hello"}],"max_tokens":8}'; echo
bench --concurrency 1 --requests-per-client 4
stop
serve llama1b --max-num-seqs 32 || exit 1
bench --concurrency 1,8,32 --requests-per-client 2
curl -s http://127.0.0.1:8000/v1/metadata > "${OUT:-/tmp}/metadata-llama1b.json"
stop
rm -f "$models/llama1b.gguf"

# 2. Optional, when time is left: Llama-70B against Super-49B, 8-layer slices of each.
if [ $(( $(date +%s) - t0 )) -lt "${SLICE_DEADLINE:-330}" ]; then
  for shape in llama70b super49b; do
    make_model $shape 8 || break
    serve $shape --max-num-seqs 32 || break
    curl -s http://127.0.0.1:8000/v1/metadata | python3 -c 'import json,sys; d=json.load(sys.stdin); print({k: d[k] for k in d if "kv" in k.lower()})'
    bench --concurrency 1,32 --requests-per-client 2
    stop
    rm -f "$models/$shape.gguf"
  done
else
  el "skipping the 70B/49B slices: not enough time left"
fi
el "done"

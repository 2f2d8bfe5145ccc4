#!/usr/bin/env bash
# Issue 39's multi-GPU checks, for a lease with two or more GPUs; scripts/gpu-check.sh runs
# it last when it sees two (GPU_MULTI=1 forces it, 0 skips it), and it runs alone too:
#   PART=split  layer against tensor split over two devices, one model (the llama1b shape,
#               f16) at c=1 and c=32, decode 128/256: $OUT/split-compare.md
#   PART=seed   the seed's table: a Llama-3.1-70B shape at TP2 against a
#               Nemotron-Super-49B shape at TP1 (scripts/gpu-seed-compare.sh with
#               TP_llama70b=2): $OUT/seed-compare.md
#   PART=all    both (the default; over one 10-minute call on most leases: run them apart)
# On a lease with one GPU it sets GGML_CUDA_DEVICES=2, which makes ggml show two virtual
# devices backed by the one GPU, and says so in every report: the split then costs what it
# costs, and gains nothing, and the 70B shape cannot fit (the seed part is skipped).
# GPU_DRY_RUN=1 on the CPU machine: the two "devices" are two `corral rpc-server` workers
# on loopback, the models tiny, the loads short; it checks the script, not the figures.
# Environment: OUT (default /tmp/gpu-multi), CORRAL (a corral binary; default the carried
# one, through scripts/gpu-engine.sh), PART, CONC (default 1,32), DECODE (128/256).
set -uo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
out=${OUT:-/tmp/gpu-multi}; mkdir -p "$out"
exec > >(tee -a "$out/gpu-multi.log") 2>&1
el() { echo "[$(( $(date +%s) - t0 )) s] $*"; }
dry=${GPU_DRY_RUN:-0}; part=${PART:-all}
pids=()
trap 'kill "${pids[@]}" 2> /dev/null || true' EXIT

if [ "$dry" = 1 ]; then
  corral=${CORRAL:-.build/debug/corral}
  src=$(scripts/bootstrap-engine.sh --source)
  # llama1b, not the tiny deci shape: its layer 1 (heads, no KV heads) refuses tensor split.
  shape=llama1b layers=2 scale=8 conc=${CONC:-1,4} decode=${DECODE:-32/16} per=1
  ports=()
  for i in 0 1; do
    port=$(( 18300 + i )); ports+=("127.0.0.1:$port")
    "$corral" rpc-server --host 127.0.0.1 --port "$port" --threads 1 > "/tmp/rpc-$port.log" 2>&1 &
    pids+=($!)
  done
  sleep 1
  devices=(--rpc "$(IFS=,; echo "${ports[*]}")")
  note="dry run: two corral rpc-server workers on loopback stand for the GPUs"
else
  src=${LLAMA_SRC:-/tmp/llama.cpp-src/llama.cpp}
  if [ -z "${CORRAL:-}" ]; then
    [ -f "$src/gguf-py/gguf/__init__.py" ] || { mkdir -p /tmp/llama.cpp-src && xz -dc .gpu/llama.cpp.tar.xz | tar -C /tmp/llama.cpp-src -xf -; }
    export CORRAL_CACHE=${GPU_CACHE:-/tmp/corral-cache} LLAMA_SRC=$src
    . scripts/gpu-engine.sh
    gpu_engine || exit 1
    corral=$engine/bin/corral
  else
    corral=$CORRAL
  fi
  shape=llama1b layers=16 scale=1 conc=${CONC:-1,32} decode=${DECODE:-128/256} per=2
  n=$(nvidia-smi -L | wc -l)
  nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader
  if [ "$n" -lt 2 ]; then
    export GGML_CUDA_DEVICES=2
    note="ONE GPU: two virtual devices on it (GGML_CUDA_DEVICES=2); a split here costs and cannot gain"
  else
    note="$n GPUs: $(nvidia-smi --query-gpu=name --format=csv,noheader | sort | uniq -c | sed 's/^ *//' | paste -sd';')"
  fi
  devices=(--devices CUDA0,CUDA1)
fi
el "$note"

ready() {  # url log pid
  for _ in $(seq 1 600); do
    curl -fs "$1" > /dev/null && return 0
    kill -0 "$3" 2> /dev/null || break
    sleep 0.5
  done
  tail -20 "$2"; return 1
}

if [ "$part" = all ] || [ "$part" = split ]; then
  model=/tmp/gpu-multi-$shape.gguf
  python3 scripts/make-tiny-deci.py --llama-src "$src" --shape "$shape" --layers "$layers" --scale "$scale" --embd-type f16 \
    --out "$model" > /dev/null 2> /tmp/gen.log || { cat /tmp/gen.log; exit 1; }
  el "generated $shape, $layers layers ($(du -h "$model" | cut -f1))"
  # One server at a time: an RPC worker serves one leader, and two leaders on two GPUs
  # would share them. Each split is served and measured alone, then stopped.
  for mode in layer tensor; do
    port=$([ $mode = layer ] && echo 8301 || echo 8302)
    NIM_LOG_LEVEL=warning "$corral" serve --host 127.0.0.1 --port $port --model "$model" --served-model-name m \
      --split-mode $mode "${devices[@]}" --max-num-seqs 32 --kv-cache-tokens 32768 --enable-kv-cache-reuse 0 \
      > "$out/serve-$mode.log" 2>&1 &
    pid=$!
    if ! ready "http://127.0.0.1:$port/v1/health/ready" "$out/serve-$mode.log" $pid; then
      el "$mode split did not serve (log above)"; continue
    fi
    curl -s "http://127.0.0.1:$port/v1/metadata" > "$out/metadata-$mode.json"
    "$corral" bench --target "$mode=http://127.0.0.1:$port" --shape "$decode" --concurrency "$conc" --per-client "$per" \
      --warmup 2 --json "$out/bench-$mode.json" --markdown "$out/bench-$mode.md" > /dev/null && cat "$out/bench-$mode.md"
    kill -TERM $pid; wait $pid 2> /dev/null
    el "$mode split measured"
  done
  python3 - "$out" "$note" "$decode" <<'PY' > "$out/split-compare.md"
import json, os, sys
out, note, decode = sys.argv[1:]
print(f"Layer against tensor split over two devices ({note}); decode {decode} (prompt/output tokens).\n")
print("| split | devices (layers each) | concurrency | output tok/s | TTFT p50 s | ITL p50 ms |\n|---|---|---|---|---|---|")
for mode in ("layer", "tensor"):
    if not os.path.exists(f"{out}/bench-{mode}.json"):
        print(f"| {mode} | did not serve: see serve-{mode}.log | | | | |"); continue
    m = json.load(open(f"{out}/metadata-{mode}.json"))
    devs = ", ".join(f"{d['name']} ({d['layers']})" for d in m.get("devices", []))
    for r in json.load(open(f"{out}/bench-{mode}.json"))["runs"]:
        ttft, itl = (r.get("ttft") or {}).get("p50"), (r.get("itl") or {}).get("p50")
        print(f"| {mode} | {devs} | {r['concurrency']} | {r['output_tokens_per_second']:.1f} | "
              f"{'-' if ttft is None else f'{ttft:.3f}'} | {'-' if itl is None else f'{itl * 1000:.1f}'} |")
PY
  cat "$out/split-compare.md"
fi

if [ "$part" = all ] || [ "$part" = seed ]; then
  if [ "$dry" = 1 ]; then
    # Tiny shapes on the CPU: the script's path, not the figures.
    kill "${pids[@]}" 2> /dev/null; wait "${pids[@]}" 2> /dev/null; pids=()
    CORRAL=$corral LLAMA_SRC=$src LAYERS=8 SCALE=16 ISL=192 OSL=64 KV_PERCENT=0.01 MAX_SEQS=4 PORT=18017 \
      OUT=$out/seed scripts/gpu-seed-compare.sh
  elif [ -n "${GGML_CUDA_DEVICES:-}" ]; then
    el "seed part skipped: one GPU cannot hold the 70B shape, split or not"
  else
    TP_llama70b=2 TP_super49b=1 CORRAL=$corral LLAMA_SRC=$src OUT=$out/seed scripts/gpu-seed-compare.sh
  fi
  [ -f "$out/seed/seed-compare.md" ] && { echo "($note)"; cat "$out/seed/seed-compare.md"; } > "$out/seed-compare.md"
fi
el "done"

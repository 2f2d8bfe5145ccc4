#!/usr/bin/env bash
# The GPU check, run on the device machine from the repository root after
# scripts/gpu-carry.sh filled .gpu/ here. That machine has nvcc, CMake, ninja and Python
# with numpy, but no Swift and no network, so it:
#   1. takes the prebuilt sm_90 engine (machine code only, no PTX) the carry ships (with llama-server and
#      llama-batched-bench) when it loads here, and otherwise builds the pinned engine with
#      GGML_CUDA=ON from the carried source, through the same bootstrap script the
#      Dockerfile and `make` use (scripts/gpu-engine.sh; CUDA_ARCHS defaults to 90-real here to
#      save build time; images build 80;86;89;90);
#   2. generates a random-weight Llama-3.2-1B-shaped model with gguf-py (no weights travel);
#   3. measures a single-sequence Corral at one client (the 1.5× bar of the scheduler
#      issue), then Corral (defaults: partitioned KV, prefix caching on) against
#      llama-server from the same build and against itself with prefix caching off, all
#      with 32 sequences, with `corral bench` at concurrency 1, 8 and 32 for a decode-heavy
#      and a long-prompt shape, targets alternating per load point, and the multi-turn chat
#      workload with caching on and off;
#   4. runs llama-batched-bench at the same batch sizes, the engine's own ceiling;
#   5. issue 27: scripts/bench-host.sh, Corral's decode rate at c=32 and 128 against
#      llama-batched-bench at B=32 and 128, with the step breakdown (host µs per
#      sequence-step, sampling, scheduler);
#   6. issue 39, on a lease with two GPUs or more (or GPU_MULTI=1): scripts/gpu-multi.sh,
#      layer against tensor split at c=1 and c=32 (MULTI_PART=seed or all: the seed's
#      70B-at-TP2 against Super-49B-at-TP1 table; on one GPU, GGML_CUDA_DEVICES=2, said so).
# Output goes to stdout and, when OUT is set, to $OUT/gpu-check.log and $OUT/*.md|json.
#
# GPU_DRY_RUN=1 runs the same steps here on the CPU engine (`make engine-tools` and a
# release corral), with a tiny model and small loads, to check the script before a lease.
# GPU_DRY_RUN=carry checks the carry itself on a machine without a GPU: .gpu/ unpacks, the
# prebuilt engine and the carried corral resolve every library (the CUDA runtime from the
# pip-wheel toolkit in the cache), llama-server and llama-batched-bench start, and corral
# gets as far as device detection: it must stop saying "no GPU is visible".
set -uo pipefail
t0=$(date +%s)
out=${OUT:-/tmp/gpu-check}; mkdir -p "$out"
exec > >(tee -a "$out/gpu-check.log") 2>&1
el() { echo "[$(( $(date +%s) - t0 )) s] $*"; }
# Runs a peer tool (llama-server, llama-batched-bench) on its own unpatched libraries: on the
# GPU machine LD_LIBRARY_PATH names the patched engine's lib/ first, and it wins over a RUNPATH.
peer() { LD_LIBRARY_PATH="$engine/peer/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$@"; }
dry=${GPU_DRY_RUN:-0}
models=/tmp/corral-gpu-models; mkdir -p "$models"

if [ "$dry" = 1 ]; then
  engine=$(scripts/bootstrap-engine.sh --tools) || exit 1
  corral=${CORRAL_BIN:-.build/release/corral}
  src=$(scripts/bootstrap-engine.sh --source)
  shape=tiny layers=6 ngl=0 cngl=0 kv=16384 conc=1,4 decode=32/16 long=256/8 per=1 bb_npl=1,4
else
  [ "$dry" = carry ] || nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  src=/tmp/llama.cpp-src
  rm -rf "$src"; mkdir -p "$src"
  xz -dc .gpu/llama.cpp.tar.xz | tar -C "$src" -xf - && src=$src/llama.cpp || exit 1
  export CORRAL_CACHE=${GPU_CACHE:-/tmp/corral-cache} LLAMA_SRC=$src
  . scripts/gpu-engine.sh
  gpu_engine --tools || exit 1
  el "engine: $engine_how"
  corral=$engine/bin/corral
  shape=llama1b layers=16 ngl=999 cngl=-1 kv=81920 conc=1,8,32 decode=128/256 long=2048/128 per=2 bb_npl=1,8,32
  [ "$dry" = carry ] && shape=tiny layers=6
fi
el "engine: $engine ($(ls "$engine/lib" | tr '\n' ' '))"

model=$models/$shape.gguf
python3 scripts/make-tiny-deci.py --llama-src "$src" --shape "$shape" --layers "$layers" \
  --embd-type f16 --out "$model" > /dev/null 2> /tmp/gen.log || { cat /tmp/gen.log; exit 1; }
el "generated $shape, $layers layers ($(du -h "$model" | cut -f1))"

if [ "$dry" = carry ]; then
  # No GPU here: the carried binaries load, the engine registers CUDA, and corral stops at
  # device detection, naming it.
  peer "$engine/peer/bin/llama-server" --version 2>&1 | tail -2
  peer "$engine/peer/bin/llama-batched-bench" --help > /dev/null 2>&1; el "llama-batched-bench --help: exit status $?"
  timeout 60 "$corral" serve --host 127.0.0.1 --port 18099 --model "$model" > /tmp/corral-carry.log 2>&1
  code=$?
  cat /tmp/corral-carry.log
  if [ $code != 0 ] && grep -q "no GPU is visible" /tmp/corral-carry.log; then
    el "carry dry run: ok (corral stopped with status $code at device detection)"; exit 0
  fi
  el "carry dry run: FAILED (corral exit status $code; want non-zero, saying 'no GPU is visible')"; exit 1
fi

pids=()
trap 'kill "${pids[@]}" 2> /dev/null || true' EXIT
ready() {  # url log
  for _ in $(seq 1 480); do
    curl -fs "$1" > /dev/null && return 0
    sleep 0.5
  done
  tail -20 "$2"; return 1
}
corral_serve() {  # port, flags...
  local port=$1; shift
  "$corral" serve --host 127.0.0.1 --port "$port" --model "$model" --gpu-layers "$cngl" --log-level warning "$@" \
    > "/tmp/corral-$port.log" 2>&1 &
  pids+=($!)
  ready "http://127.0.0.1:$port/v1/health/ready" "/tmp/corral-$port.log" && el "corral ready on $port: $*"
}
bench() {  # name shape targets...
  local name=$1 shape=$2; shift 2
  "$corral" bench "$@" --shape "$shape" --concurrency "$conc" --per-client "$per" --warmup 2 \
    --json "$out/$name.json" --markdown "$out/$name.md" > /dev/null && cat "$out/$name.md"
  el "bench $name done"
}

# 1. One sequence at a time, at one client: the baseline for the batching bar.
corral_serve 8100 --max-num-seqs 1 --kv-cache-tokens 4096 || exit 1
conc=1 bench single-sequence "$decode" --target corral-1seq=http://127.0.0.1:8100
kill "${pids[-1]}"; wait "${pids[-1]}" 2> /dev/null

# 2. Corral (the defaults) against llama-server, same engine build, model, KV cells and
#    32 sequences, llama-server's prompt caching off; then Corral with caching off.
peer "$engine/peer/bin/llama-server" -m "$model" --host 127.0.0.1 --port 8201 -ngl "$ngl" -c "$kv" -np 32 \
  --no-kv-unified -b 512 -ub 512 --no-cache-prompt --no-webui --threads-http 40 --log-disable \
  > /tmp/llama-server.log 2>&1 &
pids+=($!)
ready http://127.0.0.1:8201/health /tmp/llama-server.log && el "llama-server ready" || exit 1
corral_serve 8202 --max-num-seqs 32 --kv-cache-tokens "$kv" --max-batch-tokens 512 || exit 1
NIM_ENABLE_KV_CACHE_REUSE=0 corral_serve 8203 --max-num-seqs 32 --kv-cache-tokens "$kv" --max-batch-tokens 512 || exit 1
curl -s http://127.0.0.1:8202/v1/metadata > "$out/metadata.json"
for s in "$decode" "$long"; do
  bench "compare-${s/\//-}" "$s" --target corral=http://127.0.0.1:8202 --target llama-server=http://127.0.0.1:8201
  # Prefix caching (on by default) must cost nothing on unshared prompts: within 3%.
  bench "caching-${s/\//-}" "$s" --target cache-on=http://127.0.0.1:8202 --target cache-off=http://127.0.0.1:8203
done
# The multi-turn chat workload (prefix caching's purpose), with and without it.
"$corral" bench --multi-turn --target cache-on=http://127.0.0.1:8202 --target cache-off=http://127.0.0.1:8203 \
  --conversations 32 --turns 4 --concurrency 16 --markdown "$out/multiturn.md" > /dev/null && cat "$out/multiturn.md"
el "bench multiturn done"
# No flags but the model: the device's own defaults (sequences, batch, KV from memory,
# max_model_len) against the tuned server above, at c=32; the bar is within 10%.
corral_serve 8204 || exit 1
curl -s http://127.0.0.1:8204/v1/metadata > "$out/metadata-defaults.json"
conc=32 bench "defaults-${decode/\//-}" "$decode" --target tuned=http://127.0.0.1:8202 --target no-flags=http://127.0.0.1:8204
curl -s http://127.0.0.1:8202/v1/metrics | grep -E '^iteration_(phase_seconds_total|duration_seconds_(sum|count))' \
  | tee "$out/step-phases.txt"
kill "${pids[@]}" 2> /dev/null; wait "${pids[@]}" 2> /dev/null; pids=()

# 3. The engine alone at the same batch sizes and layout (decode rate is the TG column).
peer "$engine/peer/bin/llama-batched-bench" -m "$model" -ngl "$ngl" -c "$kv" -b 512 -ub 512 \
  -npp "${decode%/*}" -ntg "${decode#*/}" -npl "$bb_npl" 2> /dev/null | tee "$out/batched-bench.md"

# 4. Host work per step at high concurrency (issue 27): decode rate by difference against
#    the engine alone, and the step metrics' breakdown, through the CPU proxy's own script.
host_conc=$([ "$dry" = 1 ] && echo 4,8 || echo 32,128)
ENGINE_PREFIX=$engine CORRAL_BIN=$corral DECI_MODEL=$model GPU_LAYERS=$cngl BB_NGL=$ngl THREADS=${HOST_THREADS:-4} \
  HOST_CONC=$host_conc BB_NPL=$host_conc REPEATS=$per scripts/bench-host.sh | tee "$out/host-work.md"
el "done"

# 6. More than one GPU (issue 39): layer against tensor split, and the seed's TP2/TP1 table,
#    when the lease has two GPUs or more (GPU_MULTI=1 forces it, on one GPU through two
#    virtual devices; GPU_MULTI=0 skips it). Its own script, as it needs its own call's time.
gpus_here=$( [ "$dry" = 0 ] && nvidia-smi -L 2> /dev/null | wc -l || echo 0)
if [ "${GPU_MULTI:-auto}" = 1 ] || { [ "${GPU_MULTI:-auto}" = auto ] && [ "$gpus_here" -ge 2 ]; }; then
  OUT=$out/multi CORRAL=$corral LLAMA_SRC=$src GPU_DRY_RUN=$dry PART=${MULTI_PART:-split} scripts/gpu-multi.sh
  el "multi-GPU part done"
fi

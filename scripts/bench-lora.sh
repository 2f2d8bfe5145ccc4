#!/usr/bin/env bash
# Benchmark (prints figures, asserts nothing): multi-LoRA. One server with four random
# adapters for SmolLM2 (a–d, `make lora-adapters`) in a NIM_PEFT_SOURCE folder, measured with
# `corral bench` at concurrency 16 (128/256, random words):
#   base    every request names the base model;
#   4 LoRA  requests name a, b, c, d in equal shares (round robin), with TTFT by adapter.
# The two alternate, twice. Then the cost of an adapter switch: one-token requests one at a
# time, all to adapter a (no switch) against a and b in turn (a switch every request).
# Writes $OUT/<date>-lora-cpu-smollm2.md (default docs/benchmarks/).
#   make bench-lora   (THREADS=2 TAG=)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
threads=${THREADS:-2}
loras=${CORRAL_TEST_LORA_DIR:-${CORRAL_CACHE:-$HOME/.cache/corral}/models/smollm2-test-loras}
. "$here/scripts/bench-common.sh"
peft=$(mktemp -d)
for name in a b c d; do mkdir -p "$peft/$name" && cp "$loras/$name.gguf" "$peft/$name/adapter.gguf"; done
"$bin" serve --host 127.0.0.1 --port 8311 --model "$model" --served-model-name smollm2 --threads "$threads" \
  --peft-source "$peft" --log-level warning &
pids+=($!)
wait_ready http://127.0.0.1:8311/v1/health/ready
switches() { curl -s http://127.0.0.1:8311/v1/metadata | python3 -c 'import json,sys; print(json.load(sys.stdin)["lora"]["adapter_switches"])'; }
machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB"
stamp=$(date -u +%Y-%m-%d)${TAG:+-$TAG}
report=$out/$stamp-lora-cpu-smollm2.md
target=(--target corral=http://127.0.0.1:8311)
{
  echo "# Multi-LoRA: four adapters in equal shares vs the base model, $stamp"
  echo
  echo "- machine: $machine"
  echo "- model: SmolLM2-135M-Instruct Q4_1; engine: llama.cpp from llama-cpp-python 0.3.36, CPU, $threads threads"
  echo "- adapters: four random rank-8 LoRA adapters on attn_q and attn_v of all 30 layers (scripts/make-test-lora.py)"
  echo "- server: defaults (auto KV, 16 sequences, batch 512, prefix caching, NIM_MAX_GPU_LORAS 8) with NIM_PEFT_SOURCE"
  echo "- command: make bench-lora"
  echo
  for round in 1 2; do
    echo "## Round $round: base model, then four adapters, 128/256, concurrency 16"
    echo
    "$bin" bench "${target[@]}" --model smollm2 --shape 128/256 --concurrency 16 --per-client 2 --warmup 2
    echo
    before=$(switches)
    "$bin" bench "${target[@]}" --models a,b,c,d --shape 128/256 --concurrency 16 --per-client 2 --warmup 4
    echo
    echo "Adapter switches during the adapter run: $(( $(switches) - before ))"
    echo
  done
  echo "## The cost of a switch: 16-token prompts, 1 output token, one request at a time"
  echo
  "$bin" bench "${target[@]}" --model a --shape 16/1 --concurrency 1 --requests 40 --warmup 2
  echo
  "$bin" bench "${target[@]}" --models a,b --shape 16/1 --concurrency 1 --requests 40 --warmup 2
} | tee "$report"
rm -rf "$peft"

#!/usr/bin/env bash
# Benchmark (prints figures, asserts nothing): multi-LoRA with the engine's adapter pool
# (patch 0002: any mix of adapters shares a step). One server per pool variant with sixteen
# random adapters for SmolLM2 in a NIM_PEFT_SOURCE folder (a–d from `make lora-adapters`,
# e–p made here the same way), measured with `corral bench` at concurrency 16 (128/256,
# random words), in one run:
#   base         every request names the base model, split into the four shares that the
#                adapters get below (smollm2#1–#4): the TTFT spread that queue place alone gives;
#   4 adapters   requests name a–d in equal shares, TTFT by adapter;
#   16 adapters  requests name a–p in equal shares.
# Shares are shuffled per block of requests (`corral bench --models`), so no adapter holds the
# same places in every wave of the closed loop. With STEADY=1 (the default) each load runs a
# warm-up wave of 16 requests and the measured ones straight after it (`--steady-state`), so
# no measured request meets the opening burst of 16 (whose last places wait seconds and would
# set every share's TTFT p99); STEADY=0 drains a warm-up of 4 and measures from a burst.
# The variants are the pool's two graphs: gathered (the default: ggml_mul_mat_id over the
# stacked adapters, about one adapter's work per token) and masked (LLAMA_LORA_POOL=masked:
# every pooled adapter on every token, times a per-token mask). Each variant runs the three
# loads ROUNDS times (default 2), alternating. Prints per round and variant the lines
# "N adapters: R× base" (throughput ÷ the same server's base run just before) and the
# spread of TTFT p99 by adapter (largest ÷ smallest). Writes $OUT/<date>-lora-cpu-smollm2.md
# (default docs/benchmarks/).
#   make bench-lora   (THREADS=2 ROUNDS=2 VARIANTS="gathered masked" PER_CLIENT=4 STEADY=1 TAG=)
# PER_CLIENT is requests per client per load: more of them give each adapter's TTFT p99 more
# than the first burst's queue places to stand on.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
threads=${THREADS:-2}
rounds=${ROUNDS:-2}; per_client=${PER_CLIENT:-4}
if [ "${STEADY:-1}" = 1 ]; then load=(--warmup 16 --steady-state); else load=(--warmup 4); fi
variants=(${VARIANTS:-gathered masked})
cache=${CORRAL_CACHE:-$HOME/.cache/corral}
loras=${CORRAL_TEST_LORA_DIR:-$cache/models/smollm2-test-loras}
py=${PYTHON:-$cache/venv-test/bin/python}
. "$here/scripts/bench-common.sh"
names=(a b c d e f g h i j k l m n o p)
seed=11
for name in "${names[@]:4}"; do
  [ -f "$loras/$name.gguf" ] || "$py" "$here/scripts/make-test-lora.py" --llama-src "$("$here/scripts/bootstrap-engine.sh" --source)" \
    --base "$model" --out "$loras/$name.gguf" --seed $seed >/dev/null
  seed=$((seed + 1))
done
peft=$(mktemp -d)
work=$(mktemp -d)
for name in "${names[@]}"; do mkdir -p "$peft/$name" && cp "$loras/$name.gguf" "$peft/$name/adapter.gguf"; done
machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB"
stamp=$(date -u +%Y-%m-%d)${TAG:+-$TAG}
report=$out/$stamp-lora-cpu-smollm2.md
port=8311
target=(--target corral=http://127.0.0.1:$port)
four=a,b,c,d
sixteen=$(IFS=,; echo "${names[*]}")
serve() {  # VARIANT: a fresh server with every adapter, the pool in that variant
  local mode=""
  [ "$1" = masked ] && mode=masked
  LLAMA_LORA_POOL=$mode "$bin" serve --host 127.0.0.1 --port $port --model "$model" --served-model-name smollm2 \
    --threads "$threads" --peft-source "$peft" --max-loras 16 --max-cpu-loras 16 --log-level warning &
  pids+=($!)
  wait_ready http://127.0.0.1:$port/v1/health/ready
}
stop() { kill "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true; pids=(); }
bench() {  # NAME MODELS: one load, its JSON kept as $work/NAME.json
  "$bin" bench "${target[@]}" $2 --shape 128/256 --concurrency 16 --per-client $per_client "${load[@]}" --json "$work/$1.json"
}
# "N adapters: R× base" and the TTFT p99 spread, from a round's three JSON files.
summary() {
  "$py" - "$work" "$1" <<'PY'
import json, sys
work, tag = sys.argv[1], sys.argv[2]
run = lambda name: json.load(open(f"{work}/{tag}-{name}.json"))["runs"][0]
base = run("base")["output_tokens_per_second"]
t = run("base")["ttft"]
by_share = lambda r: {m: s["p99"] for m, s in (r.get("ttft_by_model") or {}).items()}
control = by_share(run("base"))
print(f"base: {base:.1f} output tok/s; TTFT p50 {t['p50']:.2f} s, p99 {t['p99']:.2f} s over all its requests; "
      f"split into the four shares the adapters get, TTFT p99 {min(control.values()):.2f}–{max(control.values()):.2f} s, "
      f"largest ÷ smallest {max(control.values()) / min(control.values()):.2f}× (queue place alone, one model)")
for name, n in (("four", 4), ("sixteen", 16)):
    r = run(name)
    p99 = by_share(r)
    spread = max(p99.values()) / min(p99.values()) if p99 else float("nan")
    print(f"{n} adapters: {r['output_tokens_per_second'] / base:.2f}× base "
          f"({r['output_tokens_per_second']:.1f} against {base:.1f} output tok/s; TTFT p99 by adapter "
          f"{min(p99.values()):.2f}–{max(p99.values()):.2f} s, largest ÷ smallest {spread:.2f}×; failed {r['failed']})")
PY
}
{
  echo "# Multi-LoRA with the engine's adapter pool: 4 and 16 adapters vs the base model, $stamp"
  echo
  echo "- machine: $machine"
  echo "- model: SmolLM2-135M-Instruct Q4_1; engine: llama.cpp from llama-cpp-python 0.3.36 with Corral's patch series, CPU, $threads threads"
  echo "- adapters: sixteen random rank-8 LoRA adapters on attn_q and attn_v of all 30 layers (scripts/make-test-lora.py, seeds 1–4 and 11–22)"
  echo "- server: defaults (auto KV, 16 sequences, batch 512, prefix caching) with NIM_PEFT_SOURCE and NIM_MAX_GPU_LORAS=16; one step mixes any adapters"
  echo "- load: \`corral bench --shape 128/256 --concurrency 16 --per-client $per_client ${load[*]}\`, adapters in equal shares shuffled per block of requests; the base run split into the same four shares"
  echo "- pool variants: gathered (default; ggml_mul_mat_id over stacked A and B) and masked (LLAMA_LORA_POOL=masked)"
  echo "- command: make bench-lora"
  echo
  for round in $(seq 1 "$rounds"); do
    for variant in "${variants[@]}"; do
      serve "$variant"
      echo "## Round $round, $variant: base, then 4 adapters, then 16"
      echo
      bench "$variant-$round-base" "--models smollm2,smollm2,smollm2,smollm2"
      echo
      bench "$variant-$round-four" "--models $four"
      echo
      bench "$variant-$round-sixteen" "--models $sixteen"
      echo
      echo "Adapter switches (one-adapter steps; 0 when steps mix): $(curl -s http://127.0.0.1:$port/v1/metadata | "$py" -c 'import json,sys; print(json.load(sys.stdin)["lora"]["adapter_switches"])')"
      echo
      summary "$variant-$round"
      echo
      stop
    done
  done
} | tee "$report"
rm -rf "$peft" "$work"

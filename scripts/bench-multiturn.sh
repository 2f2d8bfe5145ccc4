#!/usr/bin/env bash
# Benchmark (prints figures, asserts nothing): the multi-turn chat workload of issue 25 —
# conversations sharing one system prompt, each resending its history every turn — against
# Corral with no settings but the model and threads, and llama-server from the same pinned
# engine with its default prompt cache (-np 4). Writes a Markdown table to $OUT.
#   scripts/bench-multiturn.sh   (CONVERSATIONS=8 TURNS=4 CONCURRENCY=4 THREADS=2 TAG=)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
threads=${THREADS:-2}; conversations=${CONVERSATIONS:-8}; turns=${TURNS:-4}; conc=${CONCURRENCY:-4}
engine=$("$here/scripts/bootstrap-engine.sh" --tools)
. "$here/scripts/bench-common.sh"

"$engine/peer/bin/llama-server" -m "$model" --host 127.0.0.1 --port 8211 -t "$threads" -tb "$threads" -np "$conc" \
  --no-webui --log-disable >/dev/null 2>&1 &
pids+=($!)
"$bin" serve --host 127.0.0.1 --port 8212 --model "$model" --threads "$threads" --log-level warning &
pids+=($!)
wait_ready http://127.0.0.1:8211/health
wait_ready http://127.0.0.1:8212/v1/health/ready

machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB"
stamp=$(date -u +%Y-%m-%d)${TAG:+-$TAG}
report=$out/$stamp-multiturn-cpu-smollm2.md
{
  echo "# Multi-turn chat: Corral (prefix caching on by default) vs llama-server, $stamp"
  echo
  echo "- machine: $machine"
  echo "- model: SmolLM2-135M-Instruct Q4_1; engine: llama.cpp from llama-cpp-python 0.3.36, CPU, $threads threads"
  echo "- Corral: no settings but the model and threads; llama-server: -np $conc -t $threads, its default prompt cache"
  echo "- command: scripts/bench-multiturn.sh (corral bench --multi-turn); the targets run one after the other"
  echo
} > "$report"
"$bin" bench --multi-turn --target corral=http://127.0.0.1:8212 --target llama-server=http://127.0.0.1:8211 \
  --conversations "$conversations" --turns "$turns" --concurrency "$conc" --markdown "$out/.part.md" \
  ${JSON:+--json "$JSON"}
cat "$out/.part.md" >> "$report"
kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; pids=()

# The long tail: 64 conversations over 4 slots, turn by turn, so each comes back after 15
# others used its client's slot: the host-RAM tier's case. Against the same Corral with
# prefix caching off.
"$bin" serve --host 127.0.0.1 --port 8213 --model "$model" --threads "$threads" --max-num-seqs 4 --log-level warning &
pids+=($!)
NIM_ENABLE_KV_CACHE_REUSE=0 "$bin" serve --host 127.0.0.1 --port 8214 --model "$model" --threads "$threads" \
  --max-num-seqs 4 --log-level warning &
pids+=($!)
wait_ready http://127.0.0.1:8213/v1/health/ready
wait_ready http://127.0.0.1:8214/v1/health/ready
{
  echo
  echo "## The long tail: 64 conversations over 4 slots (--max-num-seqs 4), interleaved"
  echo
} >> "$report"
"$bin" bench --multi-turn --interleave --target cache=http://127.0.0.1:8213 --target no-cache=http://127.0.0.1:8214 \
  --conversations 64 --turns 3 --concurrency 4 --system-words 200 --markdown "$out/.part.md"
cat "$out/.part.md" >> "$report"
{
  echo
  echo "Prefix-cache counters of the cached server after the long-tail run:"
  echo
  echo '```'
  curl -s http://127.0.0.1:8213/v1/metrics | grep -E '^(prefix_cache_[a-z_]+|slot_moves_total)\{'
  echo '```'
} >> "$report"
rm -f "$out/.part.md"
echo "wrote $report"

#!/usr/bin/env bash
# Benchmark (prints figures, asserts nothing): Corral against llama-server built from the
# same pinned engine, same model, threads, KV cells and parallel sequences, with
# `corral bench` sweeping concurrency 1, 8 and 32 for two shapes scaled to this machine
# (128/256 and 1024/64, after the seed's 128/1024 and 2048/128). Targets alternate at
# each load point. Results, a ratio table and one SVG per shape go to $OUT
# (default docs/benchmarks/).
#   make bench-compare   (THREADS=2 KV=40960 SEQS=32 CONCURRENCY=1,8,32 TAG=)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
threads=${THREADS:-2}; kv=${KV:-40960}; seqs=${SEQS:-32}; conc=${CONCURRENCY:-1,8,32}
engine=$("$here/scripts/bootstrap-engine.sh" --tools)
. "$here/scripts/bench-common.sh"

# llama-server: the same KV cells split over the same slots (partitioned, as Corral by default), prompt caching off
# (Corral keeps its default prefix cache, which finds nothing to reuse in these prompts), no web UI, and an HTTP thread per
# connection the sweep opens (its default pool is smaller and drops connections at 32).
"$engine/peer/bin/llama-server" -m "$model" --host 127.0.0.1 --port 8201 -t "$threads" -tb "$threads" \
  -c "$kv" -np "$seqs" --no-kv-unified -b 512 -ub 512 --no-cache-prompt --no-webui --threads-http $((seqs + 8)) --log-disable >/dev/null 2>&1 &
pids+=($!)
"$bin" serve --host 127.0.0.1 --port 8202 --model "$model" --threads "$threads" --kv-cache-tokens "$kv" \
  --max-num-seqs "$seqs" --max-batch-tokens 512 --log-level warning &
pids+=($!)
wait_ready http://127.0.0.1:8201/health
wait_ready http://127.0.0.1:8202/v1/health/ready

machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB"
stamp=$(date -u +%Y-%m-%d)${TAG:+-$TAG}  # TAG names a second run on the same day
report=$out/$stamp-cpu-smollm2.md
{
  echo "# Corral vs llama-server, $stamp"
  echo
  echo "- machine: $machine"
  echo "- model: SmolLM2-135M-Instruct Q4_1; engine: llama.cpp from llama-cpp-python 0.3.36, CPU"
  echo "- both: $threads threads, $kv KV cells, $seqs parallel sequences, batch 512; llama-server with --no-cache-prompt, Corral with its defaults (prefix caching on; every prompt here is new)"
  echo "- load: closed loop at concurrency $conc; per point 2 × concurrency requests for 128/256 and 1 × for 1024/64"
  echo "  (at least 4), after 2 warm-up requests;"
  echo "  exact input lengths through /tokenize, fixed output lengths through ignore_eos; targets alternate per point"
  echo "- command: make bench-compare"
} > "$report"
# Requests per point: 2 × concurrency for 128/256, 1 × for the prefill-heavy 1024/64 (at
# least 4), to keep the whole comparison near ten minutes on two cores.
for spec in 128/256:2 1024/64:1; do
  shape=${spec%:*}; per=${spec#*:}
  name=${shape/\//-}
  echo >> "$report"; echo "## $shape" >> "$report"; echo >> "$report"
  "$bin" bench --target corral=http://127.0.0.1:8202 --target llama-server=http://127.0.0.1:8201 \
    --shape "$shape" --concurrency "$conc" --per-client "$per" --warmup 2 --json "$out/$stamp-$name.json" \
    --svg "$out/$stamp-$name.svg" --markdown "$out/.part.md"
  cat "$out/.part.md" >> "$report"
  echo >> "$report"; echo "![throughput vs TTFT p99, $shape]($stamp-$name.svg)" >> "$report"
  rm -f "$out/.part.md"
done
echo "wrote $report"

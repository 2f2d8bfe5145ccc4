#!/usr/bin/env bash
# Benchmark (prints figures, asserts nothing): speculative decoding's default (prompt
# lookup) against NIM_SPECULATIVE_METHOD=off, same binary, model, threads and KV, with
# `corral bench`: the repeat-heavy workload (`--rewrite`: "repeat this code with one
# rename", as many output tokens as the code has) at concurrency 1, then the usual
# random-word 128/256 load at concurrency 1 and 32. Targets alternate at each load point.
# The acceptance figures come from the speculating server's metrics after each part.
# Writes $OUT/<date>-speculation-cpu-smollm2.md (default docs/benchmarks/).
#   make bench-speculation   (THREADS=2 TAG=)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
threads=${THREADS:-2}
. "$here/scripts/bench-common.sh"
for spec in off:8301 ngram:8302; do
  "$bin" serve --host 127.0.0.1 --port "${spec#*:}" --model "$model" --served-model-name smollm2 --threads "$threads" \
    --speculative-method "${spec%:*}" --log-level warning &
  pids+=($!)
done
wait_ready http://127.0.0.1:8301/v1/health/ready
wait_ready http://127.0.0.1:8302/v1/health/ready
spec_totals() {
  curl -s http://127.0.0.1:8302/v1/metrics | awk '
    /^spec_decode_num_drafts_total/ {d=$2} /^spec_decode_num_draft_tokens_total/ {t=$2}
    /^spec_decode_num_accepted_tokens_total/ {a=$2}
    END {printf "%d %d %d", d, t, a}'
}
acceptance() {  # totals before, totals after → one line
  read -r d0 t0 a0 <<<"$1"; read -r d1 t1 a1 <<<"$2"
  awk -v d=$((d1 - d0)) -v t=$((t1 - t0)) -v a=$((a1 - a0)) 'BEGIN {
    if (t == 0) { print "no drafts (speculation stayed off)"; exit }
    printf "%d drafts, %d draft tokens, %d accepted: acceptance %.1f%%, %.2f tokens per draft step\n", d, t, a, 100 * a / t, 1 + a / d }'
}
machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB"
stamp=$(date -u +%Y-%m-%d)${TAG:+-$TAG}
report=$out/$stamp-speculation-cpu-smollm2.md
targets=(--model smollm2 --target off=http://127.0.0.1:8301 --target ngram=http://127.0.0.1:8302)
{
  echo "# Speculative decoding (prompt lookup) vs off, $stamp"
  echo
  echo "- machine: $machine"
  echo "- model: SmolLM2-135M-Instruct Q4_1; engine: llama.cpp from llama-cpp-python 0.3.36, CPU"
  echo "- both servers: defaults (auto KV, 16 sequences, batch 512, prefix caching), $threads threads; one with"
  echo "  NIM_SPECULATIVE_METHOD=off, one with the default (ngram: 8 draft tokens, matches of 4 down to 2 tokens,"
  echo "  no drafts above 2 decoding sequences); targets alternate at each load point"
  echo "- command: make bench-speculation"
  echo
  echo "## Repeat-heavy: corral bench --rewrite, concurrency 1"
  echo
  before=$(spec_totals)
  "$bin" bench "${targets[@]}" --rewrite --concurrency 1 --requests 8 --warmup 1
  echo
  echo "Acceptance (ngram server): $(acceptance "$before" "$(spec_totals)")"
  echo
  for conc in 1 32; do
    echo "## Random words, 128/256, concurrency $conc"
    echo
    before=$(spec_totals)
    "$bin" bench "${targets[@]}" --shape 128/256 --concurrency "$conc" --per-client 2 --warmup 2
    echo
    echo "Acceptance (ngram server): $(acceptance "$before" "$(spec_totals)")"
    echo
  done
} | tee "$report"

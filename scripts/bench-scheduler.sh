#!/usr/bin/env bash
# Benchmark (prints figures, asserts nothing): Corral's scheduler on the real engine at
# concurrency 1, 16 and 32, against llama-batched-bench at batch 1, 16 and 32, on the
# same model, threads and KV layout. Then the simulated policy comparison.
#   make bench-scheduler            (THREADS=2 TOKENS=128 by default)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
threads=${THREADS:-2}; tokens=${TOKENS:-128}
engine=$("$here/scripts/bootstrap-engine.sh" --tools)
model=$("$here/scripts/fetch-model.sh")
bin=$here/.build/release/corral
port=${PORT:-8099}

echo "## machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "## llama-batched-bench (partitioned KV, -npp 32 -ntg $tokens, $threads threads)"
"$engine/peer/bin/llama-batched-bench" -m "$model" -c 32768 -b 512 -ub 512 -npp 32 -ntg "$tokens" -npl 1,16,32 \
  -t "$threads" 2>/dev/null | grep -E '^\|'
echo "(output tok/s for comparison = B x $tokens / T s)"

echo "## corral serve (partitioned KV, max-num-seqs 32, $threads threads), $tokens output tokens each"
"$bin" serve --host 127.0.0.1 --port "$port" --model "$model" --max-num-seqs 32 --threads "$threads" \
  --log-level warning & pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
until curl -sf "http://127.0.0.1:$port/v1/health/ready" >/dev/null; do sleep 0.5; done
python3 "$here/scripts/bench-throughput.py" --url "http://127.0.0.1:$port" --concurrency 1,16,32 \
  --requests-per-client 2 --max-tokens "$tokens"
kill $pid; wait $pid 2>/dev/null || true

echo "## simulated engine: decode-first chunked prefill vs prefill-first, equal load"
"$bin" simulate --requests 1000 --rate 3

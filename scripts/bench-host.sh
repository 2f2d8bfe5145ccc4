#!/usr/bin/env bash
# Benchmark (prints figures, asserts nothing): the host's share of a decode step, on the
# CPU proxy for a GPU (issue 27). The tiny random `deci` model has Llama 3's 128k
# vocabulary and almost no weights, so a step is mostly the per-sequence work around the
# engine: logits, sampling, scheduling, text.
#
# For each concurrency it starts `corral serve` with that many sequences (partitioned KV,
# 256 cells each, 2 threads), runs scripts/bench-decode-rate.py (all requests at once,
# greedy, SHORT then LONG output tokens, decode rate by difference), and reads the step
# metrics before and after:
#   host µs per sequence-step = Δ iteration_phase_seconds_total{phase="host"}
#                               ÷ Δ iteration_running_sequences_sum
# (host: the engine thread's time outside the engine's own decode call; sampling done on
# the device is inside that call). Then llama-batched-bench at the same batch sizes and KV
# positions (-npp 32+SHORT -ntg LONG-SHORT), whose S_TG is the engine's ceiling.
#   make bench-host   (HOST_CONC=32,64,128 BB_NPL=32,64 THREADS=2 SHORT=32 LONG=96 REPEATS=2)
# scripts/gpu-check.sh runs it on a GPU with ENGINE_PREFIX, CORRAL_BIN, DECI_MODEL,
# GPU_LAYERS (corral's --gpu-layers) and BB_NGL (llama-batched-bench's -ngl) set.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
threads=${THREADS:-2}
conc=${HOST_CONC:-32,64,128}
npl=${BB_NPL:-32,64}
repeats=${REPEATS:-2}
short=${SHORT:-32}; long=${LONG:-96}
engine=${ENGINE_PREFIX:-$("$here/scripts/bootstrap-engine.sh" --tools)}
gpu=${GPU_LAYERS:-0}; bbngl=${BB_NGL:-0}
model=${DECI_MODEL:-${CORRAL_CACHE:-$HOME/.cache/corral}/models/tiny-deci.gguf}
bin=${CORRAL_BIN:-$here/.build/release/corral}
port=${PORT:-8097}
[ -f "$model" ] || { echo "no $model: run make deci-model" >&2; exit 1; }

echo "## machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "## binary: $bin"
echo "## model: $(basename "$model") (vocabulary $(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['vocab_size'])" "$model.json" 2>/dev/null || echo '?')), $threads threads, corral $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$here" diff --quiet 2>/dev/null || echo '+dirty')"

# Step metrics: host, sampling, scheduler and engine seconds, and sequence-steps, summed.
scrape() {
  curl -s "http://127.0.0.1:$port/v1/metrics" | python3 -c '
import re, sys
want = {"host": 0.0, "sampling": 0.0, "scheduler": 0.0, "engine": 0.0, "seqsteps": 0.0, "steps": 0.0}
for line in sys.stdin:
    m = re.match(r"iteration_phase_seconds_total\{.*phase=\"(\w+)\"\} (\S+)", line)
    if m and m.group(1) in want: want[m.group(1)] = float(m.group(2))
    m = re.match(r"iteration_running_sequences_sum\{.*\} (\S+)", line)
    if m: want["seqsteps"] = float(m.group(1))
    m = re.match(r"iteration_running_sequences_count\{.*\} (\S+)", line)
    if m: want["steps"] = float(m.group(1))
print(" ".join(f"{k}={v}" for k, v in want.items()))'
}

for c in ${conc//,/ }; do
  "$bin" serve --host 127.0.0.1 --port "$port" --model "$model" --max-num-seqs "$c" --threads "$threads" --gpu-layers "$gpu" \
    --kv-cache-tokens $((c * 256)) --max-batch-tokens 512 --kv-layout partitioned --log-level warning \
    > "/tmp/bench-host-$port.log" 2>&1 & pid=$!
  trap 'kill $pid 2>/dev/null || true' EXIT
  until curl -sf "http://127.0.0.1:$port/v1/health/ready" >/dev/null; do
    kill -0 $pid 2>/dev/null || { tail -20 "/tmp/bench-host-$port.log"; exit 1; }
    sleep 0.3
  done
  before=$(scrape)
  rate=$(python3 "$here/scripts/bench-decode-rate.py" --url "http://127.0.0.1:$port" --batch "$c" \
    --prompt-tokens 32 --short "$short" --long "$long" --repeats "$repeats")
  after=$(scrape)
  python3 - "$c" "$before" "$after" "$rate" <<'EOF'
import sys
c, before, after, rate = sys.argv[1], *sys.argv[2:]
b = dict(kv.split("=") for kv in before.split()); a = dict(kv.split("=") for kv in after.split())
d = {k: float(a[k]) - float(b[k]) for k in a}
n = max(d["seqsteps"], 1)
us = lambda k: 1e6 * d[k] / n
print(f"c={c}: host {us('host'):.1f} µs per sequence-step (sampling {us('sampling'):.1f}, scheduler {us('scheduler'):.1f}; "
      f"engine call {1e6 * (d['engine'] + d['sampling'] - d['host'] + d['scheduler']) / n:.1f} approx.), "
      f"{int(d['steps'])} steps, {d['seqsteps'] / max(d['steps'], 1):.1f} sequences per step; {rate}")
EOF
  kill $pid; wait $pid 2>/dev/null || true
done

echo "## llama-batched-bench (partitioned KV, flash attention, -npp $((32 + short)) -ntg $((long - short)), $threads threads): S_TG is the ceiling"
for b in ${npl//,/ }; do
  "$engine/peer/bin/llama-batched-bench" -m "$model" -c $((b * 256)) -b 512 -ub 512 -fa on -ngl "$bbngl" -npp $((32 + short)) -ntg $((long - short)) -npl "$b" \
    -t "$threads" 2>/dev/null | grep -E '^\|' | tail -n +$([ "$b" = "${npl%%,*}" ] && echo 1 || echo 3)
done

#!/usr/bin/env bash
# Benchmark (prints figures, asserts nothing): issue 40, many replicas behind one address.
# Three Corral replicas behind vllm-router, policy cache_aware against round_robin, on the
# multi-turn chat load of `corral bench --multi-turn` (conversations sharing a system prompt,
# each resending its history every turn). Each policy gets freshly started replicas (empty
# prefix caches) and its own router; the same conversations run through both. Reports the
# cluster's cached-token share (cached ÷ prompt tokens: the bench's usage totals, and the
# replicas' prefix_cache_hits_total ÷ prefix_cache_queries_total summed over the three),
# later-turn TTFT p50/p90, first-turn TTFT p50, wall time, failures, and the ratios
# cache_aware ÷ round_robin. Prints Markdown and writes it to $REPORT (or the first argument;
# default docs/benchmarks/<date>-routed-cpu-smollm2.md).
#
#   make bench-routed    or    scripts/bench-routed.sh [REPORT]
#
# Environment (defaults in brackets):
#   CORRAL_BIN [.build/release/corral]  MODEL [the default SmolLM2, fetched]
#   CONVERSATIONS [16] TURNS [4] CONCURRENCY [4] SYSTEM_WORDS [20] USER_WORDS [100]
#   REPLY_TOKENS [16] INTERLEAVE [1]          the load (corral bench --multi-turn); a short
#                                             shared system prompt, so the share measures
#                                             histories, which only routing can keep
#   THREADS [1] MAX_NUM_SEQS [8] MAX_MODEL_LEN [4096] HOST_MEM_MIB [server default]
#                                             each replica (three share this machine)
#   POLICIES ["cache_aware round_robin"] ROUTER_ARGS [none: vllm-router's defaults]
#   VLLM_ROUTER [the venv's]  ROUTER_VENV [$CORRAL_CACHE/venv-router, made if missing]
#   PORT_BASE [8400]  JSON_DIR [none: where to keep each policy's bench JSON]
#
# vllm-router (0.1.17) waits for every worker to answer GET /health, and re-encodes chat
# requests with its own no-op defaults added (continue_final_message false, …): Corral serves
# /health and accepts those values, so the replicas sit behind the router unchanged.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${CORRAL_CACHE:-$HOME/.cache/corral}
bin=${CORRAL_BIN:-$here/.build/release/corral}
model=${MODEL:-$("$here/scripts/fetch-model.sh")}
report=${1:-${REPORT:-$here/docs/benchmarks/$(date -u +%Y-%m-%d)-routed-cpu-smollm2.md}}
conversations=${CONVERSATIONS:-16}; turns=${TURNS:-4}; conc=${CONCURRENCY:-4}
system_words=${SYSTEM_WORDS:-20}; user_words=${USER_WORDS:-100}; reply_tokens=${REPLY_TOKENS:-16}
threads=${THREADS:-1}; max_seqs=${MAX_NUM_SEQS:-8}; max_len=${MAX_MODEL_LEN:-4096}
policies=(${POLICIES:-cache_aware round_robin})
router_args=(${ROUTER_ARGS:-})
base=${PORT_BASE:-8400}
venv=${ROUTER_VENV:-$cache/venv-router}
die() { echo "bench-routed: $*" >&2; exit 1; }

[ -x "$bin" ] || die "no corral binary at $bin (make build, or set CORRAL_BIN)"
[ -f "$model" ] || die "no model at $model"
router=${VLLM_ROUTER:-$venv/bin/vllm-router}
if [ ! -x "$router" ] && [ -z "${VLLM_ROUTER:-}" ]; then
  echo "bench-routed: installing vllm-router into $venv (pip install vllm-router)" >&2
  { python3 -m venv "$venv" && "$venv/bin/pip" install -q vllm-router >&2; } \
    || die "could not install vllm-router into $venv: make the venv and pip install vllm-router there, or set VLLM_ROUTER"
fi
[ -x "$router" ] || die "vllm-router is missing ($router): pip install vllm-router into $venv, or set VLLM_ROUTER"
py=$(dirname "$router")/python3; [ -x "$py" ] || py=python3
router_version=$("$py" -c 'import importlib.metadata as m; print(m.version("vllm-router"))' 2>/dev/null || echo unknown)

work=$(mktemp -d)
pids=()
stop_all() {
  [ ${#pids[@]} -eq 0 ] || { kill "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true; }
  pids=()
}
trap 'stop_all; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
# Waits for URL to answer 200, failing after $2 seconds or when process $3 has exited.
wait_ok() {
  local deadline=$((SECONDS + $2))
  until curl -sf -o /dev/null "$1"; do
    kill -0 "$3" 2>/dev/null || die "process $3 exited before $1 answered (log: $4)"
    [ $SECONDS -lt $deadline ] || die "$1 did not answer within $2 s (log: $4)"
    sleep 0.5
  done
}

replica_args=(--model "$model" --threads "$threads" --max-num-seqs "$max_seqs" --max-model-len "$max_len"
              --log-level warning)
[ -z "${HOST_MEM_MIB:-}" ] || replica_args+=(--kv-cache-host-mem-mib "$HOST_MEM_MIB")
bench_args=(--multi-turn --conversations "$conversations" --turns "$turns" --concurrency "$conc"
            --system-words "$system_words" --user-words "$user_words" --reply-tokens "$reply_tokens")
[ "${INTERLEAVE:-1}" = 0 ] || bench_args+=(--interleave)

# One policy: fresh replicas, the router, the load, the counters.
run_policy() {
  local policy=$1 urls=() i port
  for i in 1 2 3; do
    port=$((base + i))
    "$bin" serve --host 127.0.0.1 --port "$port" "${replica_args[@]}" >"$work/replica-$policy-$i.log" 2>&1 &
    pids+=($!)
    eval "replica_pid_$i=$!"
  done
  for i in 1 2 3; do
    eval "wait_ok http://127.0.0.1:$((base + i))/v1/health/ready 300 \$replica_pid_$i $work/replica-$policy-$i.log"
  done
  for i in 1 2 3; do urls+=("http://127.0.0.1:$((base + i))"); done
  "$router" --host 127.0.0.1 --port $((base + 20)) --prometheus-port $((base + 21)) --policy "$policy" \
    --worker-urls "${urls[@]}" --worker-startup-check-interval 1 --worker-startup-timeout-secs 120 \
    --health-check-endpoint /v1/health/ready --log-level warning "${router_args[@]}" >"$work/router-$policy.log" 2>&1 &
  pids+=($!)
  wait_ok "http://127.0.0.1:$((base + 20))/v1/models" 150 $! "$work/router-$policy.log"
  echo "bench-routed: $policy: 3 replicas ready behind vllm-router on :$((base + 20))" >&2
  "$bin" bench "${bench_args[@]}" --target "$policy=http://127.0.0.1:$((base + 20))" \
    --json "$work/$policy.json" --markdown "$work/$policy.md" >&2
  for i in 1 2 3; do
    curl -sf "http://127.0.0.1:$((base + i))/v1/metrics" >"$work/metrics-$policy-$i.txt" || die "no /v1/metrics from replica $i"
  done
  curl -s "http://127.0.0.1:$((base + 21))/metrics" >"$work/router-metrics-$policy.txt" || true
  [ -z "${JSON_DIR:-}" ] || { mkdir -p "$JSON_DIR"; cp "$work/$policy.json" "$work/router-metrics-$policy.txt" "$JSON_DIR/"; }
  stop_all
}

started=$SECONDS
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for policy in "${policies[@]}"; do run_policy "$policy"; done
elapsed=$((SECONDS - started))
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB"
{
  echo "# Three Corral replicas behind vllm-router: ${policies[*]}, $(date -u +%Y-%m-%d)"
  echo
  echo "- machine: $machine ($(uname -m)); load average $load_before before the run, $load_after after"
  echo "- model: $(basename "$model"); engine: the pinned llama.cpp, CPU"
  echo "- replicas: 3 × \`corral serve ${replica_args[*]/#$model/MODEL}\`, fresh for each policy"
  echo "- router: vllm-router $router_version, \`--policy POLICY${router_args[*]:+ ${router_args[*]}}\`, otherwise its defaults"
  echo "- load: \`corral bench ${bench_args[*]}\` through the router, the same conversations for each policy"
  echo "- command: \`scripts/bench-routed.sh\` ($elapsed s in all, starts included)"
  echo
  "$py" - "$work" "${policies[@]}" <<'PY'
import json, re, sys
work, policies = sys.argv[1], sys.argv[2:]
def pct(xs, p):  # numpy's default (linear), as the bench computes it
    xs = sorted(xs)
    if not xs: return None
    r = p / 100 * (len(xs) - 1); lo = int(r); hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (r - lo)
def counter(text, name):  # summed over the series' labels
    return sum(float(v) for v in re.findall(r"^" + re.escape(name) + r"(?:\{[^}]*\})? ([0-9.e+]+)$", text, re.M))
rows, replicas = {}, []
for p in policies:
    result = json.load(open(f"{work}/{p}.json"))[0]
    ok = [t for t in result["turns"] if t.get("error") is None]
    later = [t["ttft"] for t in ok if t["turn"] > 0 and t.get("ttft") is not None]
    first = [t["ttft"] for t in ok if t["turn"] == 0 and t.get("ttft") is not None]
    prompt = sum(t["promptTokens"] for t in result["turns"]); cached = sum(t["cachedTokens"] for t in result["turns"])
    hits = queries = 0.0
    for i in (1, 2, 3):
        m = open(f"{work}/metrics-{p}-{i}.txt").read()
        h, q = counter(m, "prefix_cache_hits_total"), counter(m, "prefix_cache_queries_total")
        hits += h; queries += q
        replicas.append((p, i, int(counter(m, "request_success_total")), int(q), int(h),
                         int(counter(m, "prefix_cache_host_hits_total")), h / q if q else 0.0))
    rows[p] = dict(share=cached / prompt if prompt else 0.0, mshare=hits / queries if queries else 0.0,
                   prompt=prompt, cached=cached, later50=pct(later, 50), later90=pct(later, 90),
                   first50=pct(first, 50), wall=result["wallSeconds"],
                   failed=sum(1 for t in result["turns"] if t.get("error") is not None), turns=len(result["turns"]))
s = lambda x: "-" if x is None else f"{x:.2f} s"
print("| policy | cached-token share (bench) | (replica counters) | later-turn TTFT p50 | p90 | first-turn TTFT p50 | wall time | prompt tokens | cached | failed |")
print("|---|---|---|---|---|---|---|---|---|---|")
for p, r in rows.items():
    print(f"| {p} | {r['share']:.3f} | {r['mshare']:.3f} | {s(r['later50'])} | {s(r['later90'])} | {s(r['first50'])} "
          f"| {r['wall']:.1f} s | {r['prompt']} | {r['cached']} | {r['failed']}/{r['turns']} |")
if "cache_aware" in rows and "round_robin" in rows:
    a, b = rows["cache_aware"], rows["round_robin"]
    ratio = lambda x, y: None if x is None or not y else x / y
    f = lambda x: "-" if x is None else f"{x:.2f}×"
    share, p50 = ratio(a["share"], b["share"]), ratio(a["later50"], b["later50"])
    print(f"| cache_aware ÷ round_robin | {f(share)} | {f(ratio(a['mshare'], b['mshare']))} | {f(p50)} "
          f"| {f(ratio(a['later90'], b['later90']))} | {f(ratio(a['first50'], b['first50']))} | {f(ratio(a['wall'], b['wall']))} | | | |")
    met = share is not None and p50 is not None and share >= 2 and p50 <= 0.6
    print()
    print(f"Issue 40's bar (cached-token share ≥ 2× round_robin's, later-turn TTFT p50 ≤ 0.6× round_robin's): "
          f"{f(share)} and {f(p50)}, **{'met' if met else 'not met'}**.")
for p in policies:
    errors = [t["error"] for t in json.load(open(f"{work}/{p}.json"))[0]["turns"] if t.get("error") is not None]
    if errors:
        print(f"\n{p}: {len(errors)} turns failed, the first with: {errors[0]}")
decisions = []
for p in policies:
    try:
        m = open(f"{work}/router-metrics-{p}.txt").read()
    except OSError:
        continue
    outcomes = re.findall(r'^vllm_router_prefix_routing_decisions_total\{[^}]*outcome="([^"]+)"[^}]*\} ([0-9.e+]+)$', m, re.M)
    if outcomes:
        decisions.append(f"{p}: " + ", ".join(f"{o} {int(float(v))}" for o, v in outcomes))
if decisions:
    print()
    print("The router's prefix decisions (vllm_router_prefix_routing_decisions_total): " + "; ".join(decisions) + ".")
print()
print("Per replica (its /v1/metrics after the policy's run):")
print()
print("| policy | replica | requests | prompt tokens looked up | found cached | of them from host RAM | share |")
print("|---|---|---|---|---|---|---|")
for p, i, n, q, h, host, sh in replicas:
    print(f"| {p} | {i} | {n} | {q} | {h} | {host} | {sh:.3f} |")
PY
  echo
  echo "The bench's own tables:"
  for policy in "${policies[@]}"; do echo; cat "$work/$policy.md"; done
} > "$work/report.md"
mkdir -p "$(dirname "$report")"
cp "$work/report.md" "$report"
cat "$report"
echo "bench-routed: wrote $report" >&2

# Sourced by the bench-*.sh scripts: where results go ($OUT, default docs/benchmarks/), the
# default model, the release binary, and the servers ($pids) stopped on exit.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${OUT:-$here/docs/benchmarks}
model=$("$here/scripts/fetch-model.sh")
bin=$here/.build/release/corral
mkdir -p "$out"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
wait_ready() { until curl -sf "$1" >/dev/null; do sleep 0.5; done; }

"""`corral bench` against a live Corral: exact counts, SLO goodput, failure reasons,
open-loop arrivals, and an SVG that renders."""
import json
import re
import shutil
import struct
import subprocess
import urllib.request

from conftest import BIN, Server


def bench(server, tmp_path, *args):
    out = tmp_path / "bench.json"
    run = subprocess.run([BIN, "bench", "--target", f"corral={server.url}", "--isl", "24", "--osl", "6", "--warmup", "1",
                          "--json", str(out), *args], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return json.loads(out.read_text()), run.stdout


def test_closed_loop_counts_are_exact_and_goodput_follows_the_slo(server, tmp_path):
    report, table = bench(server, tmp_path, "--concurrency", "1,2", "--requests", "6", "--slo", "ttft=60,itl=10")
    assert [r["concurrency"] for r in report["runs"]] == [1, 2]
    for r in report["runs"]:
        assert r["requests"] == 6 and r["failed"] == 0 and r["failures"] == {}
        assert r["exact_input"] is True and r["input_tokens"] == 6 * 24 and r["output_tokens"] == 6 * 6
        assert r["goodput_fraction"] == 1.0
        assert 0 < r["ttft"]["p50"] <= r["ttft"]["p90"] <= r["ttft"]["p99"] <= r["e2e"]["p99"]
        assert r["itl"]["p50"] > 0 and r["tpot"]["p50"] > 0 and r["output_tokens_per_second"] > 0
    assert "| corral | 24/6 | c=1 | 6 | 0 |" in table
    strict, _ = bench(server, tmp_path, "--concurrency", "2", "--requests", "4", "--slo", "ttft=1ms")
    # 1 ms to the first token is out of reach on this CPU: no request meets it.
    assert strict["runs"][0]["goodput_fraction"] == 0.0


def completions_served(server):
    with urllib.request.urlopen(server.url + "/v1/metrics", timeout=10) as r:
        text = r.read().decode()
    return sum(float(v) for v in re.findall(r'^request_success_total\{[^}]*endpoint="/v1/completions"[^}]*\} (\S+)$',
                                             text, re.M))


def test_steady_state_sends_the_warm_up_first_and_measures_the_rest_by_share(server, tmp_path):
    before = completions_served(server)
    report, table = bench(server, tmp_path, "--concurrency", "2", "--requests", "6", "--warmup", "3", "--steady-state",
                          "--models", "smollm2,smollm2")
    r = report["runs"][0]
    # The 3 warm-up requests ran at the same concurrency, and only the 6 after them count.
    assert completions_served(server) - before == 9
    assert r["requests"] == 6 and r["failed"] == 0 and r["output_tokens"] == 6 * 6 and r["seconds"] > 0
    # One name given twice stays two shares, each with its half of the requests.
    assert set(r["ttft_by_model"]) == {"smollm2#1", "smollm2#2"}
    assert "| corral | 24/6 | c=2 | 6 | 0 |" in table


def test_failures_are_counted_with_their_reason(server, tmp_path):
    report, table = bench(server, tmp_path, "--concurrency", "2", "--requests", "4", "--model", "no-such-model")
    r = report["runs"][0]
    assert r["failed"] == 4 and r["failures"] == {"HTTP 404": 4}
    assert "HTTP 404 ×4" in table


def test_poisson_arrivals(server, tmp_path):
    report, _ = bench(server, tmp_path, "--rate", "4", "--requests", "5")
    r = report["runs"][0]
    assert r["rate"] == 4 and "concurrency" not in r and r["requests"] == 5 and r["failed"] == 0


def test_the_svg_renders(server, tmp_path):
    svg = tmp_path / "plot.svg"
    bench(server, tmp_path, "--concurrency", "1,2", "--requests", "3", "--svg", str(svg), "--target", f"again={server.url}")
    text = svg.read_text()
    assert text.count("<polyline") == 2 and "again" in text and "c=2" in text
    rsvg = shutil.which("rsvg-convert")
    assert rsvg, "rsvg-convert is missing: `make test` installs Debian's librsvg2-bin"
    png = tmp_path / "plot.png"
    subprocess.run([rsvg, str(svg), "-o", str(png)], check=True, timeout=60)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (720, 440)


def test_embeddings_mode_reports_inputs_and_tokens_per_second(tmp_path):
    s = Server("--embeddings", "--max-num-seqs", "4", "--kv-cache-tokens", "4096")
    try:
        out = tmp_path / "embed.json"
        run = subprocess.run([BIN, "bench", "--embeddings", "--target", f"corral={s.url}", "--isl", "20", "--batch", "3",
                              "--concurrency", "1,2", "--per-client", "2", "--warmup", "1", "--json", str(out)],
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
    finally:
        s.stop()
    results = json.loads(out.read_text())
    assert [r["concurrency"] for r in results] == [1, 2]
    for r in results:
        # At least 8 requests per load point, 3 inputs of exactly 20 tokens each.
        assert r["failed"] == 0 and r["requests"] == 8 and r["exact_input"] is True
        assert r["inputs"] == 24 and r["tokens"] == 24 * 20
        assert 0 < r["latency"]["p50"] <= r["latency"]["p99"]
    assert "| corral | 2 | 8 |" in run.stdout and "inputs/s" in run.stdout


def test_steady_state_is_refused_for_open_loop_arrivals():
    run = subprocess.run([BIN, "bench", "--target", "corral=http://127.0.0.1:9", "--rate", "2", "--steady-state"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "--steady-state is for a closed loop" in run.stderr

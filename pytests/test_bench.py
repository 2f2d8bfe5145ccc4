"""`corral bench` against a live Corral: exact counts, SLO goodput, failure reasons,
open-loop arrivals, and an SVG that renders."""
import json
import shutil
import struct
import subprocess

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

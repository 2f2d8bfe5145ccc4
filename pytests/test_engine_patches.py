"""The engine's patch series (patches/llama.cpp): how bootstrap-engine.sh applies it, and
what the patches change, checked against the engine this run built."""
import os
import subprocess

import pytest

from conftest import ROOT

BOOTSTRAP = os.path.join(ROOT, "scripts", "bootstrap-engine.sh")
CACHE = os.environ.get("CORRAL_CACHE", os.path.expanduser("~/.cache/corral"))
ENGINE = os.path.join(CACHE, "engine", "0.3.36-cpu")

GOOD = """Subject: test: change a line
--- a/greeting.txt
+++ b/greeting.txt
@@ -1,2 +1,2 @@
 first
-hello
+hello, patched
"""
STALE = """Subject: test: a patch written for another version
--- a/greeting.txt
+++ b/greeting.txt
@@ -1,2 +1,2 @@
 first
-goodbye
+goodbye, patched
"""


def patched_source(tmp_path, patches):
    """Runs --patched-source over a small fake source with `patches` ({name: text})."""
    src, series, cache = tmp_path / "src", tmp_path / "patches", tmp_path / "cache"
    src.mkdir(exist_ok=True)
    (src / "greeting.txt").write_text("first\nhello\n")
    series.mkdir(exist_ok=True)
    for old in series.glob("*.patch"):
        old.unlink()
    for name, text in patches.items():
        (series / name).write_text(text)
    env = {**os.environ, "CORRAL_ENGINE_SRC": str(src), "CORRAL_PATCHES": str(series), "CORRAL_CACHE": str(cache)}
    return subprocess.run([BOOTSTRAP, "--patched-source"], env=env, capture_output=True, text=True, timeout=60)


def test_a_patch_that_does_not_apply_stops_the_build_with_its_name(tmp_path):
    run = patched_source(tmp_path, {"0001-good.patch": GOOD, "0002-stale.patch": STALE})
    assert run.returncode == 1
    assert "applied 0001-good.patch" in run.stderr
    assert "patch 0002-stale.patch does not apply to llama.cpp 0.3.36" in run.stderr, run.stderr
    assert not (tmp_path / "cache" / "src" / "llama.cpp-0.3.36-patched").exists(), "a half-patched copy was left behind"


def test_patches_apply_in_order_to_a_copy_and_a_changed_series_applies_again(tmp_path):
    run = patched_source(tmp_path, {"0001-good.patch": GOOD})
    assert run.returncode == 0, run.stderr
    copy = run.stdout.strip()
    assert open(os.path.join(copy, "greeting.txt")).read() == "first\nhello, patched\n"
    assert (tmp_path / "src" / "greeting.txt").read_text() == "first\nhello\n", "the pristine source was patched"
    first = open(os.path.join(copy, ".series")).read()
    again = patched_source(tmp_path, {"0001-good.patch": GOOD})
    assert "applying" not in again.stderr and open(os.path.join(copy, ".series")).read() == first
    changed = patched_source(tmp_path, {"0001-good.patch": GOOD.replace("hello, patched", "hello, patched twice")})
    assert changed.returncode == 0 and "applying the patch series" in changed.stderr
    assert open(os.path.join(copy, "greeting.txt")).read() == "first\nhello, patched twice\n"
    assert open(os.path.join(copy, ".series")).read() != first


def test_every_patch_says_what_why_and_whether_it_is_for_upstream():
    folder = os.path.join(ROOT, "patches", "llama.cpp")
    names = sorted(n for n in os.listdir(folder) if n.endswith(".patch"))
    assert names, "no patches"
    for name in names:
        head = open(os.path.join(folder, name)).read().split("\n--- a/")[0]
        for field in ("Subject:", "Why:", "Upstream:"):
            assert field in head, f"{name} has no {field} line"


def test_the_engine_was_built_from_this_series():
    stamp = open(os.path.join(ENGINE, ".series")).read().strip()
    run = subprocess.run([BOOTSTRAP, "--patched-source"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert open(os.path.join(run.stdout.strip(), ".series")).read().split()[0] == stamp


def test_the_pad_fast_path_matches_the_generic_kernel_and_a_plain_loop(tmp_path):
    exe = tmp_path / "pad-rows"
    build = subprocess.run(["gcc", "-O1", "-o", str(exe), os.path.join(ROOT, "patches", "tests", "pad-rows.c"),
                            f"-I{ENGINE}/include", f"-L{ENGINE}/lib", "-lggml", "-lggml-base", "-lggml-cpu",
                            f"-Wl,-rpath,{ENGINE}/lib"], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.strip().endswith("ok"), run.stdout[-3000:]
    assert run.stdout.count(" 0 of ") == 96
    # The unpatched kernel (the peer tools' libraries, when `make engine-tools` built them)
    # gives the same tensors: the fast path changes speed, not results.
    peer = os.path.join(ENGINE, "peer", "lib")
    if os.path.exists(os.path.join(peer, "libggml-cpu.so")):
        upstream = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120,
                                  env={**os.environ, "LD_LIBRARY_PATH": peer})
        assert upstream.returncode == 0 and upstream.stdout == run.stdout, upstream.stdout[-3000:]

"""One source of defaults: `corral serve --help` (built from ServeDefaults), the README's
configuration table and `/v1/metadata`'s `settings` agree on every default."""
import json
import os
import re
import subprocess
import urllib.request

from conftest import BIN, ROOT, Server


def help_defaults():
    out = subprocess.run([BIN, "serve", "--help"], capture_output=True, text=True, timeout=60, check=True).stdout
    text = " ".join(out.split())
    return dict(re.findall(r"\((NIM_[A-Z_]+); default ([^\s);:]+)", text))


def readme_defaults():
    rows = {}
    for line in open(os.path.join(ROOT, "README.md")):
        m = re.match(r"\| `(NIM_[A-Z_]+)` \| `--[a-z-]+` \| ([^|]+) \|", line)
        if m:
            rows[m.group(1)] = m.group(2).strip()
    return rows


def test_help_and_readme_give_the_same_defaults():
    helped, readme = help_defaults(), readme_defaults()
    assert len(helped) >= 15, helped
    for name, value in helped.items():
        assert name in readme, f"{name} is not in the README's table"
        shown = readme[name]
        # The README may add words ("0 (none)", "-1 (all)") or a unit ("4 MiB").
        if shown.endswith("MiB"):
            shown = str(int(shown.split()[0]) << 20)
        assert shown.split()[0] == value, f"{name}: --help says {value}, the README {readme[name]}"


def test_metadata_reports_the_defaults_it_runs_with():
    helped = help_defaults()
    s = Server()  # the fixture sets only --threads, --model and the served name
    try:
        settings = json.load(urllib.request.urlopen(s.url + "/v1/metadata"))["settings"]
    finally:
        assert s.stop() == 0
    # Log format, level, TLS mode and histogram bounds are not the server's to report.
    process_only = {"NIM_JSONL_LOGGING", "NIM_LOG_LEVEL", "NIM_SSL_MODE", "NIM_METRICS_TTFT_BUCKETS",
                    "NIM_METRICS_ITL_BUCKETS", "NIM_METRICS_E2E_BUCKETS"}
    assert set(helped) - process_only <= set(settings), sorted(set(helped) - process_only - set(settings))
    for name, value in helped.items():
        if name in ("NIM_MODEL_NAME", "NIM_SERVER_PORT") or name in process_only:
            continue  # the fixture sets the first two
        assert settings[name] == value, f"{name}: --help {value}, /v1/metadata {settings[name]}"

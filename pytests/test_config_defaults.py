"""One source of defaults: `corral serve --help` (built from the settings table), the
README's configuration table and `/v1/metadata`'s `settings` agree on every default; with
no flags the server sizes itself from the device and says why."""
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
        metadata = json.load(urllib.request.urlopen(s.url + "/v1/metadata"))
    finally:
        assert s.stop() == 0
    settings = metadata["settings"]
    # No flags: the CPU defaults, and every sequence can hold the model's trained context
    # (this machine has the memory), each size with its reason.
    sizing = metadata["kv_sizing"]
    assert metadata["max_model_len"] == metadata["training_context_length"] == 8192
    assert sizing["max_num_seqs"] == 16 and sizing["tokens"] == 16 * 8192 and sizing["mode"] == "host_memory"
    assert sizing["reasons"]["max_model_len"] == "the model's trained context"
    assert {"kv_tokens", "max_num_seqs", "max_batch_tokens"} <= set(sizing["reasons"])
    # Log format, level, TLS, keys and histogram bounds are not the server's to report.
    process_only = {"NIM_JSONL_LOGGING", "NIM_LOG_LEVEL", "NIM_SSL_MODE", "NIM_METRICS_TTFT_BUCKETS",
                    "NIM_METRICS_ITL_BUCKETS", "NIM_METRICS_E2E_BUCKETS", "NIM_SSL_KEY_PATH", "NIM_SSL_CERTS_PATH",
                    "NIM_SSL_CA_CERTS_PATH", "NIM_API_KEYS_FILE"}
    assert set(helped) - process_only <= set(settings), sorted(set(helped) - process_only - set(settings))
    for name, value in helped.items():
        if name in ("NIM_MODEL_NAME", "NIM_SERVER_PORT", "NIM_NUM_THREADS", "NIM_SERVED_MODEL_NAME") or name in process_only:
            continue  # the fixture sets these
        assert settings[name] == value, f"{name}: --help {value}, /v1/metadata {settings[name]}"

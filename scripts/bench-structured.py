#!/usr/bin/env python3
"""Output throughput with a nested JSON schema against the same requests unconstrained, at
concurrency C (stdlib only; a benchmark, it asserts nothing).

Starts `corral serve`, runs R constrained chat requests from C closed-loop clients and
records each one's output length; then runs the same requests unconstrained, each forced to
exactly that length (max_tokens = min_tokens, ignore_eos), so both runs produce the same
tokens in the same shapes and the time difference is what the grammar costs.

  scripts/bench-structured.py --bin .build/release/corral --model M.gguf [--concurrency 8]
"""
import argparse, json, os, socket, statistics, subprocess, threading, time, urllib.request

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 24},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
        "address": {"type": "object",
                    "properties": {"street": {"type": "string", "maxLength": 32}, "city": {"type": "string", "maxLength": 24},
                                   "zip": {"type": "string", "pattern": "^[0-9]{5}$"}},
                    "required": ["street", "city", "zip"], "additionalProperties": False},
        "skills": {"type": "array", "maxItems": 4,
                   "items": {"type": "object",
                             "properties": {"skill": {"type": "string", "maxLength": 16},
                                            "level": {"enum": ["junior", "senior", "expert"]}},
                             "required": ["skill", "level"], "additionalProperties": False}},
    },
    "required": ["name", "age", "address", "skills"], "additionalProperties": False,
}


def post(url, body):
    req = urllib.request.Request(url + "/v1/chat/completions", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.load(r)


def run(url, bodies, concurrency):
    """Wall seconds and output tokens for `bodies`, sent by `concurrency` closed-loop clients."""
    lengths = [0] * len(bodies)
    next_index = iter(range(len(bodies)))
    lock = threading.Lock()

    def client():
        while True:
            with lock:
                i = next(next_index, None)
            if i is None:
                return
            lengths[i] = post(url, bodies[i])["usage"]["completion_tokens"]
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    start = time.perf_counter()
    for t in threads: t.start()
    for t in threads: t.join()
    return time.perf_counter() - start, lengths


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--requests", type=int, default=32)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", default=str(os.cpu_count()))
    a = p.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([a.bin, "serve", "--host", "127.0.0.1", "--port", str(port), "--model", a.model,
                               "--max-num-seqs", str(a.concurrency), "--threads", a.threads],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(url + "/v1/health/ready", timeout=1); break
            except OSError:
                time.sleep(0.2)
        base = {"messages": [{"role": "user", "content": "Invent a software engineer and describe them as JSON."}],
                "temperature": 0.8, "max_tokens": 400}
        constrained = [dict(base, seed=i, response_format={"type": "json_schema",
                                                           "json_schema": {"name": "engineer", "schema": SCHEMA}})
                       for i in range(a.requests)]
        run(url, constrained[:a.concurrency], a.concurrency)  # warm-up
        ratios = []
        for r in range(a.repeats):
            t_json, lengths = run(url, constrained, a.concurrency)
            plain = [dict(base, seed=i, max_tokens=n, min_tokens=n, ignore_eos=True) for i, n in enumerate(lengths)]
            t_plain, plain_lengths = run(url, plain, a.concurrency)
            assert plain_lengths == lengths
            tokens = sum(lengths)
            ratios.append(t_plain / t_json)
            print(f"run {r + 1}: {tokens} output tokens; json_schema {tokens / t_json:.1f} tok/s, "
                  f"unconstrained {tokens / t_plain:.1f} tok/s, ratio {t_plain / t_json:.2f}")
        print(f"structured ÷ unconstrained output throughput at c={a.concurrency}: median {statistics.median(ratios):.2f}")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()

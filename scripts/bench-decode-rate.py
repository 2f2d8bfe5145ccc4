#!/usr/bin/env python3
"""Decode rate of a server at batch B, by difference (stdlib only; a benchmark, it
asserts nothing).

Sends B identical-length requests at once, non-streaming, asking for exactly N1 and then
N2 > N1 output tokens (ignore_eos + min_tokens), and reports
B × (N2 − N1) / (T(N2) − T(N1)): the extra time is pure decode steps with all B sequences
in the batch, so prefill, HTTP and client costs cancel. This is the figure comparable to
llama-batched-bench's S_TG at -npl B.

  scripts/bench-decode-rate.py --url http://127.0.0.1:8000 --batch 32 --prompt-tokens 32
"""
import argparse, json, statistics, threading, time, urllib.request


def wave(url, batch, prompt, max_tokens):
    """Wall seconds for `batch` requests sent together."""
    body = json.dumps({"prompt": prompt, "max_tokens": max_tokens, "min_tokens": max_tokens,
                       "ignore_eos": True, "temperature": 0}).encode()
    errors = []

    def one():
        req = urllib.request.Request(url + "/v1/completions", data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=600) as r:
                if json.load(r)["usage"]["completion_tokens"] != max_tokens:
                    errors.append("short output")
        except OSError as e:
            errors.append(str(e))
    threads = [threading.Thread(target=one) for _ in range(batch)]
    start = time.perf_counter()
    for t in threads: t.start()
    for t in threads: t.join()
    if errors:
        raise SystemExit(f"requests failed: {errors[:3]}")
    return time.perf_counter() - start


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--prompt-tokens", type=int, default=32, help="approximate: one word per token")
    p.add_argument("--short", type=int, default=64)
    p.add_argument("--long", type=int, default=192)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    prompt = " ".join(["hello"] * a.prompt_tokens)
    wave(a.url, a.batch, prompt, 4)  # warm-up
    rates = []
    for _ in range(a.repeats):
        t1 = wave(a.url, a.batch, prompt, a.short)
        t2 = wave(a.url, a.batch, prompt, a.long)
        rates.append(a.batch * (a.long - a.short) / (t2 - t1))
    print(f"decode rate at batch {a.batch}: median {statistics.median(rates):.1f} tok/s "
          f"(runs: {', '.join(f'{r:.1f}' for r in rates)})")


if __name__ == "__main__":
    main()

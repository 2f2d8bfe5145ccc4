#!/usr/bin/env python3
"""Closed-loop throughput probe for an OpenAI-compatible server (stdlib only).

Keeps CONCURRENCY requests in flight until REQUESTS have completed, each asking for
exactly MAX_TOKENS output tokens (ignore_eos + min_tokens, which Corral and llama-server
honour), and prints output tokens per second and request latency. A benchmark prints
figures; it asserts nothing.

  scripts/bench-throughput.py --url http://127.0.0.1:8000 --concurrency 1,16,32
"""
import argparse, json, statistics, threading, time, urllib.request

def one(url, prompt, max_tokens, model):
    body = {"prompt": prompt, "max_tokens": max_tokens, "min_tokens": max_tokens, "ignore_eos": True,
            "temperature": 0}
    if model:
        body["model"] = model
    req = urllib.request.Request(url + "/v1/completions", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    with urllib.request.urlopen(req, timeout=600) as r:
        usage = json.load(r)["usage"]
    return usage["completion_tokens"], usage["prompt_tokens"], time.perf_counter() - start

def run(url, concurrency, requests, prompt, max_tokens, model):
    lock = threading.Lock()
    left = [requests]
    results = []
    def worker():
        while True:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
            results.append(one(url, prompt, max_tokens, model))
    start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads: t.start()
    for t in threads: t.join()
    wall = time.perf_counter() - start
    out = sum(r[0] for r in results)
    lat = sorted(r[2] for r in results)
    return out / wall, out, wall, statistics.median(lat), lat[min(len(lat) - 1, int(0.99 * len(lat)))]

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--concurrency", default="1,16,32")
    ap.add_argument("--requests-per-client", type=int, default=2)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--prompt", default="Write a short story about a llama who learns to sail across the ocean.")
    ap.add_argument("--model", default=None)
    a = ap.parse_args()
    print("| concurrency | requests | output tokens | seconds | output tok/s | latency p50 s | latency p99 s |")
    print("|---|---|---|---|---|---|---|")
    for c in [int(x) for x in a.concurrency.split(",")]:
        n = c * a.requests_per_client
        tps, out, wall, p50, p99 = run(a.url, c, n, a.prompt, a.max_tokens, a.model)
        print(f"| {c} | {n} | {out} | {wall:.1f} | {tps:.1f} | {p50:.2f} | {p99:.2f} |", flush=True)

if __name__ == "__main__":
    main()

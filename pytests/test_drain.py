"""SIGTERM drains: readiness flips, new requests get 503, streams in flight finish, exit 0."""
import json
import threading
import time
import urllib.error
import urllib.request

from conftest import Server


def stream(url, results, index, started, tokens):
    body = {"prompt": "Tell me a long story about the sea.", "max_tokens": tokens, "min_tokens": tokens,
            "ignore_eos": True, "stream": True}
    req = urllib.request.Request(url + "/v1/completions", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    events = []
    with urllib.request.urlopen(req, timeout=120) as r:
        for line in r:
            line = line.decode().strip()
            if line.startswith("data: "):
                events.append(line[6:])
                if len(events) == 1:
                    started.release()  # once per stream: the caller counts streams, not events
    results[index] = events


def status(url, path, body=None):
    req = urllib.request.Request(url + path, data=json.dumps(body).encode() if body else None,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_sigterm_drains_streams_and_exits_zero():
    # A grace far above what the streams need, so that a loaded machine (a build beside the
    # tests) cannot turn a drain into a grace timeout.
    s = Server("--max-num-seqs", "4", "--drain-grace-seconds", "180")
    results = [None] * 3
    started = threading.Semaphore(0)
    # Long enough to be mid-stream at SIGTERM (sent at the first events), short enough for the grace.
    threads = [threading.Thread(target=stream, args=(s.url, results, i, started, 150)) for i in range(3)]
    for t in threads:
        t.start()
    for _ in threads:
        assert started.acquire(timeout=60)  # every stream has sent its first event
    s.proc.send_signal(15)
    time.sleep(0.3)
    assert status(s.url, "/v1/health/ready") == 503
    assert status(s.url, "/v1/health/live") == 200
    assert status(s.url, "/v1/completions", {"prompt": "hi", "max_tokens": 2}) == 503
    for t in threads:
        t.join(timeout=200)
    assert s.proc.wait(timeout=60) == 0
    for events in results:
        assert events is not None and events[-1] == "[DONE]"
        chunks = [json.loads(e) for e in events[:-1]]
        assert not any("error" in c for c in chunks), [c for c in chunks if "error" in c]
        assert chunks[-1]["choices"][0]["finish_reason"] == "length"


def test_streams_past_the_grace_get_an_error_event_then_done():
    s = Server("--max-num-seqs", "4", "--drain-grace-seconds", "0")
    results = [None]
    started = threading.Semaphore(0)
    t = threading.Thread(target=stream, args=(s.url, results, 0, started, 4000))
    t.start()
    assert started.acquire(timeout=60)
    s.proc.send_signal(15)
    t.join(timeout=60)
    assert s.proc.wait(timeout=60) == 0
    events = results[0]
    assert events[-1] == "[DONE]"
    assert "error" in json.loads(events[-2])

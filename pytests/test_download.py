"""`corral download-to-cache` against a local HTTP server: resume after a cut transfer,
sha256 verification, atomic placement, hf:// references, and quiet non-terminal output."""
import hashlib
import http.server
import os
import socket
import subprocess
import threading

import pytest

from conftest import BIN

PAYLOAD = os.urandom(3 * 1024 * 1024 + 123)
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves PAYLOAD with Range support. While `cuts` is positive, a response stops after
    `cut_at` bytes and the connection is dropped, as a flaky network would."""
    log = []
    cuts = 0
    cut_at = 1024 * 1024

    def do_GET(self):
        Handler.log.append((self.path, self.headers.get("Range"), self.headers.get("Authorization")))
        if not self.path.endswith("model.gguf"):
            self.send_error(404)
            return
        start = 0
        if self.headers.get("Range"):
            start = int(self.headers["Range"].split("=")[1].rstrip("-"))
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
        else:
            self.send_response(200)
        body = PAYLOAD[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if Handler.cuts > 0:
            Handler.cuts -= 1
            self.wfile.write(body[:Handler.cut_at])
            self.wfile.flush()
            self.connection.shutdown(2)
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    Handler.log, Handler.cuts = [], 0
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def download(cache, *args, env=None):
    return subprocess.run([BIN, "download-to-cache", *args, "--cache-path", str(cache)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})})


def test_a_cut_transfer_resumes_and_is_verified(http_server, tmp_path):
    Handler.cuts = 1
    run = download(tmp_path, http_server + "/files/model.gguf", "--sha256", SHA)
    assert run.returncode == 0, run.stderr
    final = tmp_path / "models" / "model.gguf"
    assert run.stdout.strip() == str(final)
    assert hashlib.sha256(final.read_bytes()).hexdigest() == SHA
    ranges = [r for _, r, _ in Handler.log]
    # The second request asks for the rest: from whatever arrived before the cut.
    assert len(ranges) == 2 and ranges[0] is None, Handler.log
    assert 0 < int(ranges[1][len("bytes="):-1]) <= Handler.cut_at, Handler.log
    assert not list((tmp_path / "models" / ".partial").iterdir())
    assert "\r" not in run.stderr  # not a terminal: start and end lines only


def test_a_partial_file_is_never_a_model_and_the_next_run_resumes(http_server, tmp_path):
    Handler.cuts = 1
    first = download(tmp_path, http_server + "/model.gguf", "--attempts", "1")
    assert first.returncode != 0
    assert [p.name for p in (tmp_path / "models").iterdir()] == [".partial"]
    kept = (tmp_path / "models" / ".partial" / "model.gguf.part").stat().st_size
    assert 0 < kept <= Handler.cut_at
    second = download(tmp_path, http_server + "/model.gguf", "--sha256", SHA)
    assert second.returncode == 0, second.stderr
    assert Handler.log[-1][1] == f"bytes={kept}-"
    assert (tmp_path / "models" / "model.gguf").read_bytes() == PAYLOAD
    # Cached and verified: a third run fetches nothing.
    requests = len(Handler.log)
    third = download(tmp_path, http_server + "/model.gguf", "--sha256", SHA)
    assert third.returncode == 0 and len(Handler.log) == requests and "already cached" in third.stderr


def test_a_wrong_checksum_leaves_nothing_behind(http_server, tmp_path):
    run = download(tmp_path, http_server + "/model.gguf", "--sha256", "0" * 64)
    assert run.returncode != 0 and "sha256 mismatch" in run.stderr
    assert not (tmp_path / "models" / "model.gguf").exists()
    assert not list((tmp_path / "models" / ".partial").iterdir())


def test_hf_references_use_the_endpoint_revision_and_token(http_server, tmp_path):
    run = download(tmp_path, "hf://someone/some-model-GGUF/model.gguf", "--revision", "v1", "--name", "mine.gguf",
                   env={"HF_ENDPOINT": http_server, "HF_TOKEN": "hf_test_token"})
    assert run.returncode == 0, run.stderr
    assert Handler.log[0] == ("/someone/some-model-GGUF/resolve/v1/model.gguf", None, "Bearer hf_test_token")
    assert (tmp_path / "models" / "mine.gguf").read_bytes() == PAYLOAD


def test_missing_files_and_bad_arguments_fail_clearly(http_server, tmp_path):
    run = download(tmp_path, http_server + "/nothing.gguf", "--attempts", "3")
    assert run.returncode != 0 and "HTTP 404" in run.stderr
    assert len(Handler.log) == 1  # a 404 is not retried
    assert download(tmp_path, "ftp://host/x.gguf").returncode != 0
    assert "NAME.gguf" in download(tmp_path, http_server + "/model.bin").stderr
    assert "64 hex" in download(tmp_path, http_server + "/model.gguf", "--sha256", "abc").stderr


def test_list_model_profiles_names_the_backend_serve_would_use():
    import json
    run = subprocess.run([BIN, "list-model-profiles", "--json"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert any(d["kind"] == "cpu" for d in out["devices"])
    gpus = [d for d in out["devices"] if d["kind"] in ("gpu", "igpu")]
    assert out["selected"] == "llamacpp-cpu-tp1-pp1" if not gpus else out["selected"].startswith("llamacpp-")
    assert [p["profile"] for p in out["profiles"]][0] == out["selected"]
    no_gpu = subprocess.run([BIN, "list-model-profiles", "--gpu-layers", "0"], capture_output=True, text=True)
    assert "serve would use: llamacpp-cpu-tp1-pp1" in no_gpu.stdout


@pytest.fixture
def connect_proxy(http_server):
    """An HTTP CONNECT proxy (what AsyncHTTPClient speaks to a proxy) that tunnels every
    CONNECT, whatever host it names, to the test server, and records the targets."""
    upstream = ("127.0.0.1", int(http_server.rsplit(":", 1)[1]))
    targets = []
    listener = socket.create_server(("127.0.0.1", 0))

    def pump(a, b):
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def serve(client):
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                return client.close()
            head += chunk
        method, target = head.split(b" ")[:2]
        targets.append((method.decode(), target.decode()))
        server = socket.create_connection(upstream)
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        threading.Thread(target=pump, args=(server, client), daemon=True).start()
        pump(client, server)

    def accept():
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(client,), daemon=True).start()
    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", targets
    listener.close()


def test_downloads_go_through_the_proxy_the_environment_names(connect_proxy, tmp_path):
    proxy, targets = connect_proxy
    # models.invalid resolves nowhere: only the proxy can reach it.
    env = {"HTTP_PROXY": "", "http_proxy": proxy, "NO_PROXY": "", "no_proxy": ""}
    run = download(tmp_path, "http://models.invalid/files/model.gguf", "--sha256", SHA, env=env)
    assert run.returncode == 0, run.stderr
    assert targets == [("CONNECT", "models.invalid:80")]
    assert [path for path, _, _ in Handler.log] == ["/files/model.gguf"]


def test_no_proxy_hosts_are_fetched_directly(http_server, tmp_path):
    env = {"HTTP_PROXY": "http://127.0.0.1:9", "http_proxy": "", "NO_PROXY": "", "no_proxy": "localhost,127.0.0.1"}
    run = download(tmp_path, http_server + "/files/model.gguf", "--sha256", SHA, env=env)
    assert run.returncode == 0, run.stderr
    assert [path for path, _, _ in Handler.log] == ["/files/model.gguf"]

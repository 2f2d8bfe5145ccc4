"""The deployment artefacts, checked by real tools and against the server they deploy.

- Helm's own SDK (helm-python-sdk, Helm v4) lints helm/corral and renders it for each values
  set: the defaults and every helm/corral/ci/*.yaml. values.schema.json turns bad values away.
- kubernetes-validate, strict, checks every built-in resource the chart renders and every
  resource `kubectl kustomize` renders from deploy/kubernetes; promtool checks the rendered
  PrometheusRule.
- yamllint checks the chart's static YAML and deploy/; hadolint checks the Dockerfile.
- Consistency: probes hit the server's health routes on its port, the ServiceMonitor scrapes
  /v1/metrics, every NIM_* variable set is one `corral serve` accepts (its --help), and the
  metric names the HPA, the adapter rules and the endpoint picker read are ones Corral exports.

No server runs here; the binary is only asked for `corral serve --help`.
"""
import copy
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.parse

import pytest
import yaml

from conftest import BIN, ROOT

import helm_python as helm  # helm-python-sdk
import kubernetes_validate

CHART = os.path.join(ROOT, "helm", "corral")
KUSTOMIZE = os.path.join(ROOT, "deploy", "kubernetes")
VENV_BIN = os.path.dirname(sys.executable)
RELEASE, NAMESPACE = "corral", "llm"
# Kubernetes releases the chart supports (Chart.yaml kubeVersion) and the newest one known.
KUBE_VERSIONS = ["1.29.0", kubernetes_validate.utils.latest_version()]
# Custom resources: no built-in schema; each has its own checks below.
CUSTOM_KINDS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("inference.networking.k8s.io/v1", "InferencePool"),
    ("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet"),
}
# Settings `corral serve` reads besides those its --help names (TLS and request logging),
# used only where the help does not list them.
EXTRA_SERVE_ENV = {"NIM_SSL_MODE", "NIM_SSL_KEY_PATH", "NIM_SSL_CERTS_PATH", "NIM_SSL_CA_CERTS_PATH",
                   "NIM_DISABLE_LOG_REQUESTS"}
# An egress proxy's settings (values proxy.*), in the init container and the server.
PROXY_ENV = {"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"}
# Environment of the init container besides NIM_* names: what `corral download-to-cache` reads.
INIT_ENV = {"MODEL_URL", "MODEL_SHA256", "HF_TOKEN", "HF_ENDPOINT"} | PROXY_ENV
YAMLLINT_CONFIG = """
extends: default
rules:
  line-length: {max: 120}
  document-start: disable
  comments: {min-spaces-from-content: 1}
  truthy: {check-keys: false}
"""


def tool(name):
    """A tool installed in the test venv (pip packages' entry points), or on PATH."""
    path = os.path.join(VENV_BIN, name)
    return path if os.path.exists(path) else shutil.which(name)


# ---------------------------------------------------------------- what the server accepts

@pytest.fixture(scope="module")
def serve_env_names():
    out = subprocess.run([BIN, "serve", "--help"], capture_output=True, text=True, timeout=30, check=True).stdout
    names = set(re.findall(r"\bNIM_[A-Z0-9_]+", out))
    assert len(names) >= 20, f"`corral serve --help` named only {sorted(names)}"
    return names | EXTRA_SERVE_ENV


@pytest.fixture(scope="module")
def routes():
    spec = yaml.safe_load(open(os.path.join(ROOT, "openapi.yaml")))
    return set(spec["paths"])


@pytest.fixture(scope="module")
def exported_metrics():
    """Metric names Corral registers, from the string literals of its metrics module."""
    names = set()
    for path in glob.glob(os.path.join(ROOT, "Sources", "CorralServer", "Metrics", "*.swift")):
        names |= set(re.findall(r'"((?:vllm:)?[a-z][a-z0-9_]*)"', open(path).read()))
    assert {"num_requests_waiting", "gpu_cache_usage_perc"} <= names
    return names


# ---------------------------------------------------------------- rendering

# "defaults": the chart's defaults plus the one value it needs, a model to download (with
# neither a URL nor a persistent cache it refuses to render: see test_the_defaults_alone_*).
MINIMAL = {"model": {"url": "hf://OWNER/REPO/model-Q4_K_M.gguf"}}
VALUES_SETS = {"defaults": "minimal", **{os.path.basename(p)[:-len("-values.yaml")]: p
                                    for p in sorted(glob.glob(os.path.join(CHART, "ci", "*-values.yaml")))}}


def load_values(name):
    path = VALUES_SETS[name]
    return copy.deepcopy(MINIMAL) if path == "minimal" else yaml.safe_load(open(path))


def merged(base, values):
    out = copy.deepcopy(base)
    for key, value in values.items():
        out[key] = merged(out.get(key, {}), value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def has_model_source(values):
    """Whether `values` say where the model comes from (the chart refuses to render without)."""
    model, persistence = values.get("model", {}), values.get("persistence", {})
    name = model.get("name", "")
    return bool(model.get("url") or persistence.get("enabled") or values.get("initContainers", {}).get("extraInit")
                or "://" in name or name.startswith("/"))


def render(values, minimal=True):
    """The chart rendered with `values`, over MINIMAL where they name no model source and
    `minimal` is true."""
    if minimal and not has_model_source(values):
        values = merged(MINIMAL, values)
    with helm.Chart.load(CHART) as chart:
        return chart.render(values, name=RELEASE, namespace=NAMESPACE)


def documents(manifests):
    docs = []
    for name, text in manifests.items():
        if name.endswith(".yaml"):
            docs += [d for d in yaml.safe_load_all(text) if d]
    return docs


@pytest.fixture(scope="module")
def rendered():
    # Each values set alone, as chart-testing installs each ci/ file: nothing merged in.
    return {name: render(load_values(name), minimal=False) for name in VALUES_SETS}


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(CHART, "ci", "*-values.yaml"))),
                         ids=os.path.basename)
def test_each_ci_values_set_renders_alone(path):
    """`helm template -f ci/X-values.yaml`, the file and nothing else (chart-testing's
    install of each ci/ file): no value that another set or MINIMAL would supply."""
    values = yaml.safe_load(open(path))
    assert has_model_source(values), f"{os.path.basename(path)} names no model source of its own"
    with helm.Chart.load(CHART) as chart:
        manifests = chart.render(values, name=RELEASE, namespace=NAMESPACE)
    assert workload(documents(manifests)), os.path.basename(path)


def by_kind(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def one(docs, kind, name=None):
    found = [d for d in by_kind(docs, kind) if name is None or d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def workload(docs):
    """The server's workload; a LeaderWorkerSet as its leaders' Deployment would read."""
    for lws in by_kind(docs, "LeaderWorkerSet"):
        leader = lws["spec"]["leaderWorkerTemplate"]["leaderTemplate"]
        return {"kind": "LeaderWorkerSet", "metadata": lws["metadata"],
                "spec": {"template": leader, "selector": {"matchLabels": leader["metadata"]["labels"]}}}
    found = by_kind(docs, "Deployment") + by_kind(docs, "StatefulSet")
    found = [d for d in found if d["metadata"]["name"] == RELEASE]
    assert len(found) == 1
    return found[0]


def container(pod_spec, name="corral"):
    return next(c for c in pod_spec["containers"] if c["name"] == name)


def env_of(c):
    return {e["name"]: e.get("value") for e in c.get("env", [])}


# ---------------------------------------------------------------- single source of truth

@pytest.mark.parametrize("copy, source", [
    ("files/corral-dashboard.json", "deploy/grafana/corral-dashboard.json"),
    ("files/corral-alerts.yaml", "deploy/prometheus/corral-alerts.yaml"),
])
def test_chart_ships_the_same_dashboard_and_alerts_as_deploy(copy, source):
    with open(os.path.join(CHART, copy), "rb") as a, open(os.path.join(ROOT, source), "rb") as b:
        assert a.read() == b.read(), f"helm/corral/{copy} differs from {source}: copy it again (cp {source} helm/corral/{copy})"


# ---------------------------------------------------------------- Helm: lint, schema

@pytest.mark.parametrize("values_set", sorted(VALUES_SETS))
def test_helm_lint_is_clean(values_set):
    report = helm.lint(CHART, load_values(values_set), strict=True, namespace=NAMESPACE)
    assert report["total_charts_linted"] == 1
    assert report["errors"] == []
    # Severity 1 is information ("icon is recommended"); warnings and errors fail.
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_helm_lint_reports_a_values_error():
    report = helm.lint(CHART, {"replicaCount": -1}, namespace=NAMESPACE)
    assert any("replicaCount" in e for e in report["errors"]), report


@pytest.mark.parametrize("values, where", [
    ({"replicaCount": -1}, "/replicaCount"),
    ({"replicaCount": "two"}, "/replicaCount"),
    ({"modle": {"name": "typo"}}, "modle"),
    ({"ssl": {"mode": "ON"}}, "/ssl/mode"),
    ({"startupProbe": {"path": "/healthz"}}, "/startupProbe/path"),
    ({"model": {"openaiPort": 70000}}, "/model/openaiPort"),
    ({"model": {"sha256": "abc"}}, "/model/sha256"),
    ({"config": {"maxNumSeqs": 0}}, "/config/maxNumSeqs"),
    ({"config": {"kvLayout": "paged"}}, "/config/kvLayout"),
    ({"autoscaling": {"minReplicas": 0}}, "/autoscaling/minReplicas"),
    ({"persistence": {"size": "lots"}}, "/persistence/size"),
    ({"inferencePool": {"endpointPicker": {"scheduling": {"prefixCache": "exact"}}}},
     "/inferencePool/endpointPicker/scheduling/prefixCache"),
    ({"inferencePool": {"endpointPicker": {"scheduling": {"weights": {"queue": 1.5}}}}},
     "/inferencePool/endpointPicker/scheduling/weights/queue"),
    ({"kvEvents": {"port": 70000}}, "/kvEvents/port"),
    ({"kvEvents": {"replayPort": -1}}, "/kvEvents/replayPort"),
    ({"vllmRouter": {"policy": "least_loaded"}}, "/vllmRouter/policy"),
    ({"vllmRouter": {"healthCheckEndpoint": "health"}}, "/vllmRouter/healthCheckEndpoint"),
])
def test_schema_rejects_bad_values(values, where):
    with helm.Chart.load(CHART) as chart:
        with pytest.raises(helm.HelmValuesError) as schema_error:
            chart.validate_schema(values)
        assert where in str(schema_error.value)
        # An install renders through the same check.
        with pytest.raises(helm.HelmValuesError):
            chart.render(values, name=RELEASE, namespace=NAMESPACE)


@pytest.mark.parametrize("values, reason", [
    ({"terminationGracePeriodSeconds": 30}, "terminationGracePeriodSeconds"),
    ({"drain": {"graceSeconds": 120, "preStopSleepSeconds": 5}}, "terminationGracePeriodSeconds"),
    ({"ssl": {"mode": "TLS"}}, "ssl.existingSecret"),
    ({"ssl": {"mode": "MTLS", "cert": "c", "key": "k"}}, "ssl.ca"),
    ({"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}}, "minReplicas"),
    ({"inferencePool": {"enabled": True}, "ssl": {"mode": "TLS", "existingSecret": "s"}}, "inferencePool"),
    ({"persistence": {"enabled": True, "readOnly": True}, "model": {"url": "https://example.com/m.gguf"}},
     "persistence.readOnly"),
    ({"inferencePool": {"enabled": True, "endpointPicker": {"scheduling": {
        "prefixCache": "precise", "precise": {"tokenizer": "org/model"}}}}}, "kvEvents.enabled"),
    ({"inferencePool": {"enabled": True, "endpointPicker": {"scheduling": {"prefixCache": "precise"}}},
      "kvEvents": {"enabled": True}, "model": {"servedModelName": "m"}}, "precise.tokenizer"),
    ({"kvEvents": {"enabled": True}}, "model.servedModelName"),
    ({"kvEvents": {"enabled": True, "port": 8000}, "model": {"servedModelName": "m"}}, "must differ"),
    ({"kvEvents": {"enabled": True, "replayPort": 5557}, "model": {"servedModelName": "m"}}, "must differ"),
    ({"vllmRouter": {"enabled": True}}, "statefulSet.enabled"),
    ({"vllmRouter": {"enabled": True}, "statefulSet": {"enabled": True}, "autoscaling": {"enabled": True}},
     "autoscaling.enabled"),
    ({"vllmRouter": {"enabled": True}, "statefulSet": {"enabled": True},
      "ssl": {"mode": "TLS", "existingSecret": "s"}}, "ssl.mode DISABLED"),
])
def test_inconsistent_values_stop_the_render(values, reason):
    with helm.Chart.load(CHART) as chart:
        chart.validate_schema(values)  # each value alone is fine...
        with pytest.raises(helm.HelmRenderError) as error:  # ...together they are not
            chart.render(values, name=RELEASE, namespace=NAMESPACE)
    assert reason in str(error.value)


def test_the_default_values_pass_the_schema():
    with helm.Chart.load(CHART) as chart:
        chart.validate_schema({})
        chart.validate_schema(chart.values)
        # An empty tag means the chart's appVersion, which is Corral's release.
        assert chart.values["image"]["tag"] == ""
    # Corral's release (GET /v1/version) is the chart's appVersion.
    releases = set()
    for path in glob.glob(os.path.join(ROOT, "Sources", "**", "*.swift"), recursive=True):
        releases |= set(re.findall(r'static let release = "([^"]+)"', open(path).read()))
    assert releases == {chart_app_version()}


def chart_app_version():
    return yaml.safe_load(open(os.path.join(CHART, "Chart.yaml")))["appVersion"]


# ---------------------------------------------------------------- kubernetes-validate

def validate_strict(docs):
    """Every built-in resource against Kubernetes' own schemas, unknown fields rejected."""
    kinds = set()
    for doc in docs:
        key = (doc["apiVersion"], doc["kind"])
        if key in CUSTOM_KINDS:
            continue
        for version in KUBE_VERSIONS:
            kubernetes_validate.validate(doc, version, strict=True)
        kinds.add(doc["kind"])
    return kinds


def test_strict_validation_rejects_an_unknown_field(rendered):
    deployment = json.loads(json.dumps(workload(documents(rendered["defaults"]))))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGett"] = {"path": "/"}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_strict([deployment])


EXPECTED_KINDS = {
    "defaults": {"Deployment", "Service", "ServiceAccount", "PodDisruptionBudget", "NetworkPolicy", "Pod"},
    "gpu-persistence-hpa": {"StatefulSet", "Service", "HorizontalPodAutoscaler", "Ingress", "Pod", "ServiceMonitor"},
    "cpu-apikeys-tls": {"Deployment", "Secret", "Service", "Pod"},
    "monitoring": {"Deployment", "ConfigMap", "ServiceMonitor", "PrometheusRule"},
    "inferencepool": {"Deployment", "InferencePool", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding",
                      "ConfigMap"},
    "inferencepool-precise": {"Deployment", "InferencePool", "ConfigMap", "NetworkPolicy", "Role", "RoleBinding"},
    "vllm-router": {"StatefulSet", "Deployment", "Service", "NetworkPolicy", "PodDisruptionBudget", "Pod"},
    "mtls": {"Deployment", "Secret", "Pod"},
    "leaderworkerset": {"LeaderWorkerSet", "Service", "NetworkPolicy", "Pod"},
}


@pytest.mark.parametrize("values_set", sorted(VALUES_SETS))
def test_rendered_resources_are_valid_kubernetes(rendered, values_set):
    docs = documents(rendered[values_set])
    kinds = {d["kind"] for d in docs}
    assert EXPECTED_KINDS.get(values_set, set()) <= kinds, f"{values_set}: missing {EXPECTED_KINDS[values_set] - kinds}"
    validate_strict(docs)
    for doc in docs:
        if (doc["apiVersion"], doc["kind"]) not in CUSTOM_KINDS:
            continue
        assert doc["metadata"]["name"] and doc["spec"], doc


def test_every_values_set_has_expectations():
    assert set(EXPECTED_KINDS) == set(VALUES_SETS), "add the new ci/ values set to EXPECTED_KINDS"


# ---------------------------------------------------------------- consistency with the server

def probe_target(probe, pod_container):
    """(path, port number) a probe reaches."""
    ports = {p["name"]: p["containerPort"] for p in pod_container.get("ports", [])}
    if "httpGet" in probe:
        port = probe["httpGet"]["port"]
        return probe["httpGet"]["path"], ports.get(port, port)
    command = probe["exec"]["command"]
    assert command[0] == "curl"
    url = urllib.parse.urlsplit(command[-1])
    return url.path, url.port


def check_pod(pod_spec, serve_env_names, routes, termination_grace=None):
    """The checks every Corral pod passes, from the chart or from kustomize."""
    c = container(pod_spec)
    env = env_of(c)
    port = int(env.get("NIM_SERVER_PORT", 8000))
    assert {p["name"]: p["containerPort"] for p in c["ports"]}["http"] == port

    # Every variable set is one `corral serve` reads (or one only there for others to name,
    # as $(LWS_GROUP_INDEX) in NIM_RPC_SERVERS).
    named = {n for v in env.values() if isinstance(v, str) for n in re.findall(r"\$\(([A-Z_]+)\)", v)}
    unknown = set(env) - serve_env_names - PROXY_ENV - named
    assert not unknown, f"corral serve does not read {sorted(unknown)}"
    for init in pod_spec.get("initContainers", []):
        names = {e["name"] for e in init.get("env", [])}
        assert not {n for n in names if n.startswith("NIM_")} - serve_env_names
        assert not {n for n in names if not n.startswith("NIM_")} - INIT_ENV

    # Probes: startup and readiness wait for the model, liveness only for HTTP.
    want = {"startupProbe": "/v1/health/ready", "readinessProbe": "/v1/health/ready",
            "livenessProbe": "/v1/health/live"}
    for kind, path in want.items():
        assert kind in c, f"no {kind}"
        got_path, got_port = probe_target(c[kind], c)
        assert (got_path, got_port) == (path, port)
        assert got_path in routes
    assert c["startupProbe"]["failureThreshold"] * c["startupProbe"].get("periodSeconds", 10) >= 600, \
        "the startup probe must allow big models at least 10 minutes to load"

    # Drain: preStop pause, then SIGTERM and NIM_DRAIN_GRACE_SECONDS, within the grace period.
    sleep = int(c["lifecycle"]["preStop"]["exec"]["command"][-1])
    grace = int(env.get("NIM_DRAIN_GRACE_SECONDS", 30))
    assert pod_spec["terminationGracePeriodSeconds"] > sleep + grace

    # Security: non-root, read-only root, nothing privileged; writable only where needed.
    assert pod_spec["securityContext"]["runAsNonRoot"] is True
    assert pod_spec["securityContext"]["runAsUser"] == 1000
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    volumes = {v["name"]: v for v in pod_spec.get("volumes", [])}
    for mount in c["volumeMounts"]:
        if mount.get("readOnly"):
            continue
        assert mount["mountPath"] in (env.get("NIM_CACHE_PATH", "/opt/nim/.cache"), "/tmp"), mount
        source = volumes.get(mount["name"], {"persistentVolumeClaim": "template"})
        assert "emptyDir" in source or "persistentVolumeClaim" in source
    cache = env.get("NIM_CACHE_PATH", "/opt/nim/.cache")
    assert cache in {m["mountPath"] for m in c["volumeMounts"]}
    # Secrets and certificates: every file the server is pointed at is on a mounted volume.
    for name in ("NIM_API_KEYS_FILE", "NIM_SSL_CERTS_PATH", "NIM_SSL_KEY_PATH", "NIM_SSL_CA_CERTS_PATH"):
        if name in env:
            assert any(env[name].startswith(m["mountPath"] + "/") for m in c["volumeMounts"]), name
    return c


@pytest.mark.parametrize("values_set", sorted(VALUES_SETS))
def test_pods_match_the_server(rendered, values_set, serve_env_names, routes):
    docs = documents(rendered[values_set])
    w = workload(docs)
    c = check_pod(w["spec"]["template"]["spec"], serve_env_names, routes)
    # The Service reaches the named port; its selector picks these pods.
    service = one(docs, "Service", RELEASE)
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    labels = w["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert w["spec"]["selector"]["matchLabels"].items() <= labels.items()
    # Scheme follows TLS.
    tls = env_of(c).get("NIM_SSL_MODE", "DISABLED") != "DISABLED"
    if "httpGet" in c["readinessProbe"]:
        assert c["readinessProbe"]["httpGet"]["scheme"] == ("HTTPS" if tls else "HTTP")
    # The helm test reaches the Service and runs the models and completions routes.
    test_pod = one(docs, "Pod")
    assert test_pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    script = test_pod["spec"]["containers"][0]["command"][-1]
    base = f"{'https' if tls else 'http'}://{service['metadata']['name']}:{service['spec']['ports'][0]['port']}"
    assert f"{base}/v1/models" in script and f"{base}/v1/completions" in script
    assert {"/v1/models", "/v1/completions"} <= routes


def test_defaults_schedule_one_gpu_and_keep_the_chart_quiet(rendered):
    docs = documents(rendered["defaults"])
    spec = workload(docs)["spec"]["template"]["spec"]
    c = container(spec)
    assert workload(docs)["kind"] == "Deployment"
    assert c["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
    assert len(spec["initContainers"]) == 1  # the download of model.url, the one value a user must give
    assert {v["name"]: v for v in spec["volumes"]}["model-cache"] == {"name": "model-cache", "emptyDir": {}}
    assert c["image"] == "corral:0.1.0"
    assert env_of(c)["NIM_MODEL_NAME"] == "SmolLM2-135M-Instruct"
    for kind in ("HorizontalPodAutoscaler", "Secret", "ServiceMonitor", "PrometheusRule", "InferencePool", "Ingress"):
        assert not by_kind(docs, kind), kind


def test_gpu_statefulset_downloads_into_its_own_claim_and_autoscales(rendered, exported_metrics):
    values = load_values("gpu-persistence-hpa")
    docs = documents(rendered["gpu-persistence-hpa"])
    sts = one(docs, "StatefulSet")
    assert "replicas" not in sts["spec"], "the HPA owns the replica count"
    assert sts["spec"]["serviceName"] == one(docs, "Service", f"{RELEASE}-headless")["metadata"]["name"]
    claim = sts["spec"]["volumeClaimTemplates"][0]
    assert claim["metadata"]["name"] == "model-cache"
    assert claim["spec"]["storageClassName"] == "fast-ssd"
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    spec = sts["spec"]["template"]["spec"]
    assert "model-cache" not in {v["name"] for v in spec["volumes"]}
    c = container(spec)
    assert c["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert spec["runtimeClassName"] == "nvidia"
    env = env_of(c)
    assert env["NIM_ENABLE_KV_CACHE_REUSE"] == "1" and env["NIM_MAX_NUM_SEQS"] == "32"
    assert env["NIM_DISABLE_LOG_REQUESTS"] == "1" and env["NIM_GPU_LAYERS"] == "-1"
    assert spec["terminationGracePeriodSeconds"] == 150 and env["NIM_DRAIN_GRACE_SECONDS"] == "120"

    # The init container: corral download-to-cache URL --sha256 HEX --name FILE, into the cache.
    assert [i["name"] for i in spec["initContainers"]] == ["download-model"]
    init = spec["initContainers"][0]
    assert init["image"] == c["image"]
    assert init["command"][:3] == ["corral", "download-to-cache", "$(MODEL_URL)"]
    assert init["command"][3:] == ["--sha256", "$(MODEL_SHA256)", "--name", values["model"]["fileName"]]
    ienv = env_of(init)
    assert ienv["MODEL_URL"] == values["model"]["url"] and ienv["MODEL_SHA256"] == values["model"]["sha256"]
    assert ienv["NIM_CACHE_PATH"] == env["NIM_CACHE_PATH"]
    assert env["NIM_CACHE_PATH"] in {m["mountPath"] for m in init["volumeMounts"]}
    assert init["securityContext"]["readOnlyRootFilesystem"] is True
    assert init["resources"] == c["resources"], "the CUDA image's corral needs the GPU driver to start"

    hpa = one(docs, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": RELEASE}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 6)
    names = {m["pods"]["metric"]["name"] for m in hpa["spec"]["metrics"]}
    assert names == {"num_requests_waiting", "gpu_cache_usage_perc"}
    assert names <= exported_metrics

    ingress = one(docs, "Ingress")
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": RELEASE, "port": {"name": "http"}}


def test_cpu_values_mount_api_keys_and_tls(rendered):
    values = load_values("cpu-apikeys-tls")
    docs = documents(rendered["cpu-apikeys-tls"])
    spec = workload(docs)["spec"]["template"]["spec"]
    c = container(spec)
    env = env_of(c)
    assert c["image"] == "corral:0.1.0-cpu"
    assert "nvidia.com/gpu" not in c["resources"].get("limits", {}) and "tolerations" not in spec
    assert env["NIM_NUM_THREADS"] == "4" and env["NIM_GPU_LAYERS"] == "0"

    secret = one(docs, "Secret", f"{RELEASE}-api-keys")
    assert [line.strip() for line in secret["stringData"]["api-keys"].strip().splitlines()] == values["apiKeys"]["keys"]
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert env["NIM_API_KEYS_FILE"] == mounts["api-keys"]["mountPath"] + "/api-keys"
    assert volumes["api-keys"]["secret"]["secretName"] == secret["metadata"]["name"]

    assert env["NIM_SSL_MODE"] == "TLS" and "NIM_SSL_CA_CERTS_PATH" not in env
    assert volumes["tls"]["secret"]["secretName"] == "corral-tls"  # the existing one, none made
    assert env["NIM_SSL_CERTS_PATH"] == mounts["tls"]["mountPath"] + "/tls.crt"
    assert env["NIM_SSL_KEY_PATH"] == mounts["tls"]["mountPath"] + "/tls.key"
    assert all(d["metadata"]["name"] != f"{RELEASE}-tls" for d in by_kind(docs, "Secret"))

    # The pre-filled claim, read-only, shared by both replicas.
    assert volumes["model-cache"]["persistentVolumeClaim"] == {"claimName": "models-prefilled", "readOnly": True}
    assert mounts["model-cache"]["readOnly"] is True
    assert not by_kind(docs, "PersistentVolumeClaim")
    assert workload(docs)["spec"]["replicas"] == 2

    policy = one(docs, "NetworkPolicy")
    assert policy["spec"]["ingress"][0]["from"] == values["networkPolicy"]["from"]
    assert policy["spec"]["ingress"][0]["ports"] == [{"port": "http", "protocol": "TCP"}]

    test_pod = one(docs, "Pod")
    script = test_pod["spec"]["containers"][0]["command"][-1]
    assert 'Authorization: Bearer $key' in script

    # LoRA adapters: the volume read-only where NIM_PEFT_SOURCE points, the limits as set.
    assert env["NIM_PEFT_SOURCE"] == mounts["lora-adapters"]["mountPath"] == "/opt/corral/loras"
    assert mounts["lora-adapters"]["readOnly"] is True
    assert volumes["lora-adapters"] == {"name": "lora-adapters", **values["lora"]["volume"]}
    assert env["NIM_PEFT_REFRESH_INTERVAL"] == "30" and env["NIM_MAX_GPU_LORAS"] == "4"
    assert "NIM_MAX_CPU_LORAS" not in env and "NIM_MAX_LORA_RANK" not in env


def test_lora_without_a_volume_refuses_to_render():
    with pytest.raises(Exception, match="lora.enabled needs lora.volume"):
        render({"lora": {"enabled": True}})


def test_mtls_probes_present_the_pods_certificate(rendered):
    docs = documents(rendered["mtls"])
    c = container(workload(docs)["spec"]["template"]["spec"])
    env = env_of(c)
    assert env["NIM_SSL_MODE"] == "MTLS"
    tls_dir = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}["tls"]
    assert env["NIM_SSL_CA_CERTS_PATH"] == tls_dir + "/ca.crt"
    command = c["readinessProbe"]["exec"]["command"]
    assert command[command.index("--cert") + 1] == env["NIM_SSL_CERTS_PATH"]
    assert command[command.index("--key") + 1] == env["NIM_SSL_KEY_PATH"]
    secret = one(docs, "Secret", f"{RELEASE}-tls")
    assert secret["type"] == "kubernetes.io/tls" and set(secret["data"]) == {"tls.crt", "tls.key", "ca.crt"}


def test_monitoring_scrapes_v1_metrics_and_ships_the_rules_and_dashboard(rendered, routes):
    docs = documents(rendered["monitoring"])
    monitor = one(docs, "ServiceMonitor")
    endpoint = monitor["spec"]["endpoints"][0]
    assert endpoint["path"] == "/v1/metrics" and endpoint["path"] in routes
    service = one(docs, "Service", RELEASE)
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"

    rule = one(docs, "PrometheusRule")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    alerts = yaml.safe_load(open(os.path.join(ROOT, "deploy", "prometheus", "corral-alerts.yaml")))
    assert rule["spec"] == alerts

    dashboard = one(docs, "ConfigMap", f"{RELEASE}-dashboard")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert dashboard["metadata"]["namespace"] == "monitoring"
    assert dashboard["metadata"]["annotations"]["grafana_folder"] == "LLM"
    with open(os.path.join(ROOT, "deploy", "grafana", "corral-dashboard.json")) as f:
        assert json.loads(dashboard["data"]["corral-dashboard.json"]) == json.load(f)


def test_promtool_accepts_the_rendered_prometheus_rule(rendered, tmp_path):
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: `make test` installs Debian's prometheus package"
    rule = one(documents(rendered["monitoring"]), "PrometheusRule")
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rule["spec"]))
    out = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout and " 5 rules found" in out.stdout


def test_inference_pool_selects_the_pods_and_its_picker_reads_corrals_gauges(rendered, exported_metrics):
    docs = documents(rendered["inferencepool"])
    pool = one(docs, "InferencePool")
    assert pool["apiVersion"] == "inference.networking.k8s.io/v1"
    deployment = workload(docs)
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert pool["spec"]["selector"]["matchLabels"].items() <= labels.items()
    port = container(deployment["spec"]["template"]["spec"])["ports"][0]["containerPort"]
    assert pool["spec"]["targetPorts"] == [{"number": port}]

    ref = pool["spec"]["endpointPickerRef"]
    epp_service = one(docs, "Service", ref["name"])
    assert ref["port"]["number"] in {p["port"] for p in epp_service["spec"]["ports"]}
    assert ref["failureMode"] in ("FailOpen", "FailClose")
    epp = one(docs, "Deployment", ref["name"])
    assert epp_service["spec"]["selector"].items() <= epp["spec"]["template"]["metadata"]["labels"].items()
    args = container(epp["spec"]["template"]["spec"], "epp")["args"]
    assert args[args.index("--pool-name") + 1] == pool["metadata"]["name"]
    assert args[args.index("--pool-namespace") + 1] == NAMESPACE
    for flag in ("--total-queued-requests-metric", "--kv-cache-usage-percentage-metric"):
        assert args[args.index(flag) + 1] in exported_metrics
    role = one(docs, "Role", ref["name"])
    resources = {r for rule in role["rules"] for r in rule["resources"]}
    assert {"pods", "inferencepools"} <= resources
    binding = one(docs, "RoleBinding", ref["name"])
    assert binding["subjects"][0]["name"] == epp["spec"]["template"]["spec"]["serviceAccountName"]

    # The picker scrapes the pods, so a restricted NetworkPolicy still lets it in.
    peers = one(docs, "NetworkPolicy")["spec"]["ingress"][0]["from"]
    assert {"podSelector": {"matchLabels": {"app.kubernetes.io/name": ref["name"]}}} in peers


# ---------------------------------------------------------------- endpoint picker: prefix-cache scheduling

def epp_config(docs, epp):
    """The EndpointPickerConfig the picker reads: the --config-file it is given, in the
    ConfigMap volume mounted there."""
    spec = epp["spec"]["template"]["spec"]
    c = container(spec, "epp")
    path = c["args"][c["args"].index("--config-file") + 1]
    mount = next(m for m in c["volumeMounts"] if path.startswith(m["mountPath"] + "/"))
    assert mount.get("readOnly") is True
    volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
    config_map = one(docs, "ConfigMap", volume["configMap"]["name"])
    return yaml.safe_load(config_map["data"][os.path.relpath(path, mount["mountPath"])])


def check_epp_config(config):
    """What the picker's config loader (gateway-api-inference-extension's
    pkg/epp/config/loader) accepts: unique plugin names (the type when unnamed), profiles
    that reference only those, integer weights, one profile handler and one picker."""
    assert config["apiVersion"] == "inference.networking.x-k8s.io/v1alpha1"
    assert config["kind"] == "EndpointPickerConfig"
    assert set(config) <= {"apiVersion", "kind", "plugins", "schedulingProfiles"}
    names = [p.get("name") or p["type"] for p in config["plugins"]]
    assert len(names) == len(set(names)), names
    types = {p.get("name") or p["type"]: p["type"] for p in config["plugins"]}
    assert list(types.values()).count("single-profile-handler") == 1
    (profile,) = config["schedulingProfiles"]
    refs = [p["pluginRef"] for p in profile["plugins"]]
    assert set(refs) <= set(names), set(refs) - set(names)
    assert [types[r] for r in refs].count("max-score-picker") == 1
    for p in profile["plugins"]:
        assert "weight" not in p or (isinstance(p["weight"], int) and p["weight"] >= 0), p
    return {types[r]: p.get("weight") for r, p in zip(refs, profile["plugins"])}


def test_approximate_picker_scores_prefixes_from_the_request_text(rendered):
    docs = documents(rendered["inferencepool"])
    epp = one(docs, "Deployment", f"{RELEASE}-epp")
    assert container(epp["spec"]["template"]["spec"], "epp")["image"] == \
        "gateway-api-inference-extension/epp:v1.0.1"
    config = epp_config(docs, epp)
    weights = check_epp_config(config)
    assert weights == {"prefix-cache-scorer": 3, "queue-scorer": 2, "kv-cache-utilization-scorer": 2,
                       "max-score-picker": None}
    scorer = next(p for p in config["plugins"] if p["type"] == "prefix-cache-scorer")
    assert set(scorer["parameters"]) == {"hashBlockSize", "maxPrefixBlocksToMatch", "lruCapacityPerServer"}
    # No KV events without the precise scorer: no events port, no events policy.
    assert "NIM_KV_EVENTS_ENDPOINT" not in env_of(container(workload(docs)["spec"]["template"]["spec"]))
    assert not [d for d in by_kind(docs, "NetworkPolicy") if d["metadata"]["name"].endswith("-kv-events")]


def test_precise_picker_subscribes_to_every_pods_kv_events(rendered):
    values = load_values("inferencepool-precise")
    docs = documents(rendered["inferencepool-precise"])
    pod = workload(docs)["spec"]["template"]["spec"]
    c = container(pod)
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports["kv-events"] == 5557 and ports["kv-replay"] == 5558

    # The server binds the PUB (and replay ROUTER) sockets on those ports...
    env = env_of(c)
    assert env["NIM_KV_EVENTS_ENDPOINT"] == f"tcp://*:{ports['kv-events']}"
    assert env["NIM_KV_EVENTS_REPLAY_ENDPOINT"] == f"tcp://*:{ports['kv-replay']}"
    # ...under llm-d's topic kv@<pod-id>@<model>, the pod id being the pod's IP from the
    # downward API (the scorer looks a pod's blocks up by its address), defined first.
    served = values["model"]["servedModelName"]
    assert env["NIM_KV_EVENTS_TOPIC"] == f"kv@$(POD_IP)@{served}"
    assert env_of(c)["NIM_SERVED_MODEL_NAME"] == served
    by_name = {e["name"]: e for e in c["env"]}
    assert by_name["POD_IP"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    names = [e["name"] for e in c["env"]]
    assert names.index("POD_IP") < names.index("NIM_KV_EVENTS_TOPIC"), "$(POD_IP) must be defined first"

    # The picker is llm-d's inference scheduler with the precise scorer, dialing that port.
    epp = one(docs, "Deployment", f"{RELEASE}-epp")
    assert container(epp["spec"]["template"]["spec"], "epp")["image"] == \
        "llm-d/llm-d-inference-scheduler:v0.5.1"
    config = epp_config(docs, epp)
    weights = check_epp_config(config)
    assert weights["precise-prefix-cache-scorer"] == 3 and "prefix-cache-scorer" not in weights
    scorer = next(p for p in config["plugins"] if p["type"] == "precise-prefix-cache-scorer")["parameters"]
    events = scorer["kvEventsConfig"]
    assert events["discoverPods"] is True and "zmqEndpoint" not in events
    assert events["podDiscoveryConfig"]["socketPort"] == ports["kv-events"]
    assert env["NIM_KV_EVENTS_TOPIC"].startswith(events["topicFilter"])
    pool = scorer["indexerConfig"]["tokenizersPoolConfig"]
    assert pool["modelName"] == values["inferencePool"]["endpointPicker"]["scheduling"]["precise"]["tokenizer"]
    # The tokenizer cache is on a writable volume: the picker's root is read-only.
    epp_c = container(epp["spec"]["template"]["spec"], "epp")
    assert epp_c["securityContext"]["readOnlyRootFilesystem"] is True
    assert any(pool["hf"]["tokenizersCacheDir"].startswith(m["mountPath"] + "/") and not m.get("readOnly")
               for m in epp_c["volumeMounts"])
    assert scorer["tokenProcessorConfig"]["blockSize"] == 16


def kv_event_rules(docs):
    """Every NetworkPolicy ingress rule that opens an events port of the Corral pods."""
    pod_labels = workload(docs)["spec"]["template"]["metadata"]["labels"]
    found = []
    for policy in by_kind(docs, "NetworkPolicy"):
        if not policy["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items():
            continue
        for rule in policy["spec"].get("ingress") or []:
            ports = {p["port"] for p in rule.get("ports", [])}
            if not rule.get("ports") or ports & {"kv-events", "kv-replay", 5557, 5558}:
                found.append((policy["metadata"]["name"], rule))
    return found


def test_only_the_endpoint_picker_reaches_the_kv_events_ports(rendered):
    docs = documents(rendered["inferencepool-precise"])
    epp_labels = one(docs, "Deployment", f"{RELEASE}-epp")["spec"]["template"]["metadata"]["labels"]
    pod_labels = workload(docs)["spec"]["template"]["metadata"]["labels"]
    ((name, rule),) = kv_event_rules(docs)
    assert name == f"{RELEASE}-kv-events"
    assert {p["port"] for p in rule["ports"]} == {"kv-events", "kv-replay"}
    (peer,) = rule["from"]
    assert set(peer) == {"podSelector"}, "same namespace, pods only"
    selector = peer["podSelector"]["matchLabels"]
    assert selector.items() <= epp_labels.items()
    assert not selector.items() <= pod_labels.items(), "the Corral pods themselves are not subscribers"
    # The serving port's policy is as it was: the HTTP port, to the gateway and the picker.
    main = one(docs, "NetworkPolicy", RELEASE)
    assert [r["ports"] for r in main["spec"]["ingress"]] == [[{"port": "http", "protocol": "TCP"}]]

    # With networkPolicy off, the events stay closed and the HTTP port stays open to all.
    values = merged(load_values("inferencepool-precise"), {"networkPolicy": {"enabled": False}})
    docs = documents(render(values, minimal=False))
    validate_strict(docs)
    ((_, rule),) = kv_event_rules(docs)
    assert rule["from"] == [peer]
    (policy,) = by_kind(docs, "NetworkPolicy")
    assert {"ports": [{"port": "http", "protocol": "TCP"}]} in policy["spec"]["ingress"]

    # An external picker: only the peers named in kvEvents.from.
    external = [{"podSelector": {"matchLabels": {"app": "my-epp"}}}]
    values = merged(load_values("inferencepool-precise"), {
        "inferencePool": {"endpointPicker": {"create": False, "name": "my-epp"}}, "kvEvents": {"from": external}})
    ((_, rule),) = kv_event_rules(documents(render(values, minimal=False)))
    assert rule["from"] == external

    # Events and no subscriber: no rule opens them (an empty `from` would mean everyone).
    docs = documents(render({"kvEvents": {"enabled": True}, "model": {"servedModelName": "m"}}))
    validate_strict(docs)
    assert kv_event_rules(docs) == []
    assert one(docs, "NetworkPolicy", f"{RELEASE}-kv-events")["spec"]["ingress"] == []


# ---------------------------------------------------------------- vLLM router

def flag_values(args, flag):
    """The values after `flag` up to the next --flag (argparse's nargs='*')."""
    start = args.index(flag) + 1
    end = next((i for i in range(start, len(args)) if args[i].startswith("--")), len(args))
    return args[start:end]


def test_vllm_router_reaches_every_replica_by_a_stable_name(rendered, routes):
    values = load_values("vllm-router")
    docs = documents(rendered["vllm-router"])
    sts = one(docs, "StatefulSet")
    assert sts["spec"]["replicas"] == values["replicaCount"] == 3
    headless = one(docs, "Service", sts["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None" and headless["spec"]["publishNotReadyAddresses"] is True
    pod_labels = sts["spec"]["template"]["metadata"]["labels"]
    assert headless["spec"]["selector"].items() <= pod_labels.items()
    port = container(sts["spec"]["template"]["spec"])["ports"][0]["containerPort"]

    router = one(docs, "Deployment", f"{RELEASE}-router")
    spec = router["spec"]["template"]["spec"]
    c = container(spec, "router")
    assert c["command"] == ["vllm-router"]
    args = c["args"]
    # One URL per StatefulSet pod: <sts>-<i>.<headless>.<namespace>.svc.<domain>:<port>.
    name = sts["metadata"]["name"]
    assert flag_values(args, "--worker-urls") == [
        f"http://{name}-{i}.{headless['metadata']['name']}.{NAMESPACE}.svc.cluster.local:{port}" for i in range(3)]
    assert flag_values(args, "--policy") == ["cache_aware"]
    assert flag_values(args, "--host") == ["0.0.0.0"]
    # Its periodic worker checks hit Corral's readiness route.
    (health,) = flag_values(args, "--health-check-endpoint")
    assert health == container(sts["spec"]["template"]["spec"])["readinessProbe"]["httpGet"]["path"]
    assert health in routes
    # It waits for a first worker as long as a replica's startup probe allows a big model.
    corral = container(sts["spec"]["template"]["spec"])
    (wait,) = flag_values(args, "--worker-startup-timeout-secs")
    p = corral["startupProbe"]
    assert int(wait) >= p["initialDelaySeconds"] + p["failureThreshold"] * p["periodSeconds"]
    # The router listens only after that wait: its startup probe allows it all.
    rp = c["startupProbe"]
    assert rp["failureThreshold"] * rp["periodSeconds"] > int(wait)
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports["http"] == int(flag_values(args, "--port")[0])
    assert ports["metrics"] == int(flag_values(args, "--prometheus-port")[0])
    assert {c["livenessProbe"]["httpGet"]["path"], c["readinessProbe"]["httpGet"]["path"]} == {"/liveness", "/readiness"}
    assert c["securityContext"]["readOnlyRootFilesystem"] is True and spec["securityContext"]["runAsNonRoot"] is True
    assert spec["automountServiceAccountToken"] is False

    # Clients use the router's Service; no Service, budget or monitor of the server's picks
    # a router pod, and the router's Service picks no server pod.
    router_labels = router["spec"]["template"]["metadata"]["labels"]
    service = one(docs, "Service", f"{RELEASE}-router")
    assert service["spec"]["selector"].items() <= router_labels.items()
    assert not service["spec"]["selector"].items() <= pod_labels.items()
    assert {"port": values["vllmRouter"].get("service", {}).get("port", 8000), "targetPort": "http"}.items() <= \
        service["spec"]["ports"][0].items()
    for s in by_kind(docs, "Service"):
        if s is not service:
            assert not s["spec"]["selector"].items() <= router_labels.items()
    assert not one(docs, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"].items() <= router_labels.items()
    # The ServiceMonitor, which picks the chart's Services by label, leaves the router's out.
    monitored = documents(render(merged(values, {"metrics": {"serviceMonitor": {"enabled": True}}}), minimal=False))
    selector = one(monitored, "ServiceMonitor")["spec"]["selector"]["matchLabels"]
    assert not selector.items() <= one(monitored, "Service", f"{RELEASE}-router")["metadata"]["labels"].items()

    # A restricted serving port still lets the router in.
    peers = one(docs, "NetworkPolicy", RELEASE)["spec"]["ingress"][0]["from"]
    assert {"podSelector": {"matchLabels": service["spec"]["selector"]}} in peers
    assert f"{RELEASE}-router.{NAMESPACE}.svc.cluster.local:8000/v1" in rendered["vllm-router"]["corral/templates/NOTES.txt"]


def test_vllm_router_is_a_kv_events_subscriber_too():
    values = merged(load_values("vllm-router"), {"kvEvents": {"enabled": True}, "model": {"servedModelName": "m"}})
    docs = documents(render(values, minimal=False))
    validate_strict(docs)
    router_labels = one(docs, "Deployment", f"{RELEASE}-router")["spec"]["template"]["metadata"]["labels"]
    ((_, rule),) = kv_event_rules(docs)
    (peer,) = rule["from"]
    assert peer["podSelector"]["matchLabels"].items() <= router_labels.items()


def test_the_router_image_is_built_from_the_pip_package():
    dockerfile = open(os.path.join(ROOT, "deploy", "vllm-router", "Dockerfile")).read()
    with helm.Chart.load(CHART) as chart:
        image = chart.values["vllmRouter"]["image"]
    version = re.search(r"^ARG VLLM_ROUTER_VERSION=(\S+)$", dockerfile, re.M).group(1)
    assert image["tag"] == version, "the chart's default tag is the pip package's version the Dockerfile installs"
    assert '"vllm-router==${VLLM_ROUTER_VERSION}"' in dockerfile
    assert re.search(r"^USER 1000:1000$", dockerfile, re.M), "the chart runs the router as 1000"
    assert 'ENTRYPOINT ["vllm-router"]' in dockerfile
    out = subprocess.run([tool("hadolint"), "--no-color", "-"], input=dockerfile, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_adapter_rules_serve_the_metrics_the_hpa_reads(exported_metrics):
    adapter = yaml.safe_load(open(os.path.join(ROOT, "deploy", "prometheus", "prometheus-adapter-rules.yaml")))
    served = {r["name"]["as"] for r in adapter["rules"]["custom"]}
    for rule in adapter["rules"]["custom"]:
        series = re.match(r"[a-z_:]+", rule["seriesQuery"]).group(0)
        assert series in exported_metrics
        assert set(rule["resources"]["overrides"]) == {"namespace", "pod"}
    with helm.Chart.load(CHART) as chart:
        defaults = chart.values["autoscaling"]["metrics"]
    values = load_values("gpu-persistence-hpa")["autoscaling"]["metrics"]
    assert {m["pods"]["metric"]["name"] for m in defaults + values} <= served


def test_notes_tell_how_to_reach_the_service(rendered):
    notes = rendered["defaults"]["corral/templates/NOTES.txt"]
    assert f"http://{RELEASE}.{NAMESPACE}.svc.cluster.local:8000/v1" in notes
    assert f"port-forward svc/{RELEASE} 8000:8000" in notes
    assert "https://llm.example.com/v1/models" in rendered["gpu-persistence-hpa"]["corral/templates/NOTES.txt"]


# ---------------------------------------------------------------- kustomize

def kubectl():
    path = shutil.which("kubectl")
    assert path, "kubectl is missing: `make test` installs Debian's kubernetes-client"
    return path


def kustomize(directory):
    out = subprocess.run([kubectl(), "kustomize", os.path.join(KUSTOMIZE, directory)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


@pytest.mark.parametrize("directory", ["base", "overlays/cpu", "overlays/gpu"])
def test_kustomize_output_is_valid_and_matches_the_server(directory, serve_env_names, routes):
    docs = kustomize(directory)
    kinds = validate_strict(docs)
    assert {"Deployment", "Service", "ServiceAccount", "PodDisruptionBudget", "NetworkPolicy"} <= kinds
    deployment = one(docs, "Deployment")
    spec = deployment["spec"]["template"]["spec"]
    c = check_pod(spec, serve_env_names, routes)
    service = one(docs, "Service")
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    limits = c.get("resources", {}).get("limits", {})
    if directory.endswith("gpu"):
        assert c["image"] == "corral:0.1.0" and limits["nvidia.com/gpu"] == 1
        claim = {v["name"]: v for v in spec["volumes"]}["model-cache"]["persistentVolumeClaim"]["claimName"]
        assert one(docs, "PersistentVolumeClaim", claim)
        assert deployment["spec"]["strategy"]["type"] == "Recreate"
    elif directory.endswith("cpu"):
        assert c["image"] == "corral:0.1.0-cpu" and "nvidia.com/gpu" not in limits
        assert "tolerations" not in spec
    else:
        assert c["image"] == "corral:0.1.0"


def test_kustomize_base_matches_the_charts_defaults(rendered):
    """The plain manifests and the chart deploy the same pod: same env, probes, security."""
    base = container(one(kustomize("base"), "Deployment")["spec"]["template"]["spec"])
    chart = container(workload(documents(rendered["defaults"]))["spec"]["template"]["spec"])
    chart_env = {k: v for k, v in env_of(chart).items() if k != "NIM_SSL_MODE"}
    assert env_of(base) == chart_env
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert base[probe]["httpGet"]["path"] == chart[probe]["httpGet"]["path"]
        assert base[probe]["failureThreshold"] == chart[probe]["failureThreshold"]
    assert base["securityContext"] == chart["securityContext"]
    assert base["lifecycle"] == chart["lifecycle"]


# ---------------------------------------------------------------- linters

def test_yamllint_passes_on_the_chart_and_deploy(tmp_path):
    config = tmp_path / "yamllint.yaml"
    config.write_text(YAMLLINT_CONFIG)
    files = ([os.path.join(CHART, f) for f in ("Chart.yaml", "values.yaml")]
             + glob.glob(os.path.join(CHART, "ci", "*.yaml")) + glob.glob(os.path.join(CHART, "files", "*.yaml"))
             + [os.path.join(ROOT, "deploy")])
    out = subprocess.run([tool("yamllint"), "--strict", "-c", str(config), *files],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_yamllint_catches_a_problem(tmp_path):
    config = tmp_path / "yamllint.yaml"
    config.write_text(YAMLLINT_CONFIG)
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: 1\na: 2\n")
    out = subprocess.run([tool("yamllint"), "--strict", "-c", str(config), str(bad)], capture_output=True, text=True)
    assert out.returncode != 0 and "duplication" in out.stdout


def test_hadolint_passes_with_every_ignore_explained():
    dockerfile = os.path.join(ROOT, "Dockerfile")
    out = subprocess.run([tool("hadolint"), "--no-color", dockerfile], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = open(dockerfile).read().splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"#\s*hadolint ignore=(\S+)", line)
        if m:
            comment = " ".join(lines[max(0, i - 3):i])
            for rule in m.group(1).split(","):
                assert rule in comment, f"Dockerfile line {i + 1}: say why {rule} is ignored, just above"


def test_dockerfile_runs_the_repositorys_scripts_with_flags_they_accept():
    text = open(os.path.join(ROOT, "Dockerfile")).read()
    # Targets: CUDA by default (the last stage), cpu by name; NIM layout; non-root 1000.
    stages = re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", text, re.M)
    assert stages[-1] == "cuda" and "cpu" in stages
    for stage in ("cpu", "cuda"):
        body = text.split(f" AS {stage}\n", 1)[1].split("\nFROM ", 1)[0]
        assert "USER 1000:1000" in body and "EXPOSE 8000" in body
        assert 'ENTRYPOINT ["corral", "serve"]' in body
        assert "NIM_CACHE_PATH=/opt/nim/.cache" in body and 'VOLUME ["/opt/nim/.cache"]' in body
        assert "useradd --uid 1000" in body
    assert 'CUDA_ARCHS="80;86;89;90"' in text
    # Both runtimes are Debian slim; the CUDA image adds only the CUDA runtime libraries from
    # the pinned pip wheels (stage-image.sh --cuda-runtime), no compiler and no NVIDIA base.
    assert re.search(r"FROM \$\{DEBIAN_IMAGE\}-slim AS cuda", text)
    assert re.search(r"FROM \$\{DEBIAN_IMAGE\}-slim AS cpu", text)
    assert "nvidia/cuda" not in text.split("\nFROM ", 1)[1]
    assert "--cuda-runtime" in text and "NVIDIA_DRIVER_CAPABILITIES=compute" in text
    assert "libssl-dev" in text and "zlib1g-dev" in text
    # Every script it runs exists, is copied in, and accepts the flags given.
    used = set(re.findall(r"scripts/([a-z-]+\.sh)", text))
    assert {"bootstrap-engine.sh", "build-release.sh", "stage-image.sh"} <= used
    for script in used:
        path = os.path.join(ROOT, "scripts", script)
        assert os.access(path, os.X_OK), script
    build = open(os.path.join(ROOT, "scripts", "build-release.sh")).read()
    assert "--static-swift-stdlib" in build and "'$ORIGIN/../lib'" in build
    ignored = [line.strip() for line in open(os.path.join(ROOT, ".dockerignore")).read().splitlines()
               if line.strip() and not line.lstrip().startswith("#")]
    for needed in ("Package.swift", "Sources", "Tests", "scripts", "openapi.yaml"):
        assert needed not in ignored
    # Links inside Sources/ (the OpenAPI document) point at files the build stage copies.
    copied = {os.path.normpath(p) for line in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.M)
              for p in line.split()}
    for root, _dirs, files in os.walk(os.path.join(ROOT, "Sources")):
        for f in files:
            path = os.path.join(root, f)
            if os.path.islink(path):
                target = os.path.relpath(os.path.realpath(path), ROOT)
                assert target in copied or target.split(os.sep)[0] in copied, f"{path} -> {target} is not copied"


def test_dockerfile_passes_bootstrap_engine_only_flags_it_accepts():
    text = open(os.path.join(ROOT, "Dockerfile")).read()
    bootstrap = open(os.path.join(ROOT, "scripts", "bootstrap-engine.sh")).read()
    accepted = set(re.findall(r"^\s*(--[a-z-]+)\)", bootstrap, re.M))
    used = {flag for flags in re.findall(r"scripts/bootstrap-engine\.sh((?:\s+--[a-z-]+)+)", text)
            for flag in flags.split()}
    assert {"--cuda", "--source"} <= used
    assert used <= accepted, f"scripts/bootstrap-engine.sh does not accept {sorted(used - accepted)}"


def test_stage_image_lays_out_a_runnable_nim_tree(tmp_path):
    """scripts/stage-image.sh, as the Dockerfile runs it, on this machine's engine and binary."""
    engine = subprocess.run([os.path.join(ROOT, "scripts", "bootstrap-engine.sh")],
                            capture_output=True, text=True, timeout=1200, check=True).stdout.strip()
    source = subprocess.run([os.path.join(ROOT, "scripts", "bootstrap-engine.sh"), "--source"],
                            capture_output=True, text=True, timeout=600, check=True).stdout.strip()
    stage = tmp_path / "stage"
    script = os.path.join(ROOT, "scripts", "stage-image.sh")
    subprocess.run([script, str(stage), "--engine", engine, "--engine-src", source], check=True, timeout=60)
    subprocess.run([script, str(stage), "--binary", BIN], check=True, timeout=60)
    nim = stage / "opt" / "nim"
    assert os.access(nim / "bin" / "corral", os.X_OK)
    assert (nim / "lib" / "libllama.so.0").exists() and (nim / "lib" / "libggml.so.0").exists()
    assert (nim / "licenses" / "llama.cpp-LICENSE").read_text().startswith("MIT License")
    assert "Apache License" in (nim / "licenses" / "corral-LICENSE").read_text()
    assert (nim / "licenses" / "corral-NOTICE").exists()
    pins = json.loads((nim / "licenses" / "corral-Package.resolved").read_text())["pins"]
    assert any(p["identity"] == "hummingbird" for p in pins)
    assert (nim / ".cache" / "models").is_dir()
    assert (stage / "etc" / "ld.so.conf.d" / "corral.conf").read_text().strip() == "/opt/nim/lib"
    # In the image ldconfig puts /opt/nim/lib on the loader's path; LD_LIBRARY_PATH stands in.
    env = {**os.environ, "LD_LIBRARY_PATH": str(nim / "lib")}
    ldd = subprocess.run(["ldd", str(nim / "bin" / "corral")], capture_output=True, text=True, env=env, check=True)
    for lib in ("libllama.so.0", "libllama-common.so.0", "libggml.so.0", "libggml-base.so.0"):
        line = next(x for x in ldd.stdout.splitlines() if lib in x)
        assert str(nim / "lib") in line, line
    out = subprocess.run([str(nim / "bin" / "corral"), "serve", "--help"], capture_output=True, text=True,
                         env=env, timeout=30)
    assert out.returncode == 0 and "NIM_SERVER_PORT" in out.stdout


def test_the_defaults_alone_refuse_to_render_naming_the_fix():
    # No URL and an emptyDir cache: the pod could only crash-loop, so the install fails first.
    with pytest.raises(helm.HelmRenderError) as error:
        render({}, minimal=False)
    assert "model.url is empty" in str(error.value) and "persistence" in str(error.value)
    # A cache that may already hold the model, or a model the server downloads itself, renders.
    render({"persistence": {"enabled": True, "existingClaim": "models"}}, minimal=False)
    render({"model": {"name": "hf://OWNER/REPO/model.gguf"}}, minimal=False)


def test_leaderworkerset_leaders_reach_their_workers_and_nothing_else_does(rendered):
    docs = documents(rendered["leaderworkerset"])
    assert not by_kind(docs, "Deployment") and not by_kind(docs, "StatefulSet")
    lws = one(docs, "LeaderWorkerSet")
    template = lws["spec"]["leaderWorkerTemplate"]
    assert template["size"] == 2 and template["restartPolicy"] == "RecreateGroupOnPodRestart"
    # The controller's headless Service takes the LeaderWorkerSet's name: not the chart's Service.
    name = lws["metadata"]["name"]
    assert name != one(docs, "Service", RELEASE)["metadata"]["name"]
    # Both pod templates are valid pods.
    for part in ("leaderTemplate", "workerTemplate"):
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x", **template[part]["metadata"]},
               "spec": template[part]["spec"]}
        for version in KUBE_VERSIONS:
            kubernetes_validate.validate(pod, version, strict=True)
    leader_env = env_of(container(template["leaderTemplate"]["spec"]))
    assert leader_env["NIM_RPC_SERVERS"] == f"{name}-$(LWS_GROUP_INDEX)-1.{name}:50052"
    assert leader_env["NIM_SPLIT_MODE"] == "layer" and int(leader_env["NIM_RPC_WAIT_SECONDS"]) > 0
    names = [e["name"] for e in container(template["leaderTemplate"]["spec"])["env"]]
    assert names.index("LWS_GROUP_INDEX") < names.index("NIM_RPC_SERVERS"), "$(LWS_GROUP_INDEX) must be defined first"
    worker = container(template["workerTemplate"]["spec"], "rpc-worker")
    assert worker["command"][:2] == ["corral", "rpc-server"] and "--port" in worker["command"]
    # No Service, budget or pool picks a worker; only leaders reach the RPC port.
    labels = template["workerTemplate"]["metadata"]["labels"]
    for service in by_kind(docs, "Service"):
        assert not service["spec"]["selector"].items() <= labels.items()
    policy = one(docs, "NetworkPolicy", f"{RELEASE}-rpc-worker")
    assert policy["spec"]["podSelector"]["matchLabels"] == labels
    (rule,) = policy["spec"]["ingress"]
    assert rule["ports"] == [{"port": "rpc", "protocol": "TCP"}]
    (peer,) = rule["from"]
    leader_labels = template["leaderTemplate"]["metadata"]["labels"]
    assert peer["podSelector"]["matchLabels"] == {**leader_labels, "leaderworkerset.sigs.k8s.io/worker-index": "0"}


def test_leaderworkerset_refuses_the_other_workloads():
    for extra in ({"statefulSet": {"enabled": True}}, {"autoscaling": {"enabled": True}}):
        with pytest.raises(Exception, match="leaderWorkerSet.enabled replaces"):
            render(merged(load_values("leaderworkerset"), extra))

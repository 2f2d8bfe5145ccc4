"""Deployment bugs of issue 15, each checked statically (no image build, no cluster):

- the .dockerignore-filtered build context holds every target Package.swift declares, and
  every COPY source of the Dockerfile; the build stage's /src holds the whole package;
- no RUN uses `corral` before the stage's PATH has /opt/nim/bin;
- every rendered NIM_* value parses as the type `corral serve` reads it with (Int, Bool), and
  `corral serve --check-config` accepts every rendered configuration;
- the schema turns away what the server turns away (fractions for integer settings, bounds);
- no ServiceMonitor scrapes the same pods through two Services;
- the model download gets HF_TOKEN (from a Secret), HF_ENDPOINT and the proxy settings;
- Deployment progress deadline, endpoint picker pull secrets, ServiceMonitor auth and TLS,
  OCI labels, and `make run` letting a user's NIM_* variables win.
"""
import copy
import fnmatch
import glob
import os
import re
import shlex
import shutil
import subprocess

import pytest
import yaml

from conftest import ROOT
import test_deploy as td
from test_deploy import rendered  # noqa: F401  (a fixture)

import helm_python as helm

DOCKERFILE = os.path.join(ROOT, "Dockerfile")


# ---------------------------------------------------------------- .dockerignore

def dockerignore_patterns():
    patterns = []
    for line in open(os.path.join(ROOT, ".dockerignore")).read().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exclude = not line.startswith("!")
        pattern = line.lstrip("!").strip()
        pattern = os.path.normpath(pattern.lstrip("/")).replace(os.sep, "/")
        patterns.append((pattern_regex(pattern), exclude))
    return patterns


def pattern_regex(pattern):
    """Docker's .dockerignore pattern (Go filepath.Match plus **) as a regex on a relative path."""
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif c == "*":
            out, i = out + "[^/]*", i + 1
        elif c == "?":
            out, i = out + "[^/]", i + 1
        elif c == "[":
            end = pattern.index("]", i)
            body = pattern[i + 1:end]
            if body.startswith("^"):
                body = "!" + body[1:]
            out, i = out + fnmatch.translate("[" + body + "]")[4:-3], end + 1
        elif c == "\\":
            out, i = out + re.escape(pattern[i + 1]), i + 2
        else:
            out, i = out + re.escape(c), i + 1
    return re.compile(out + r"\Z")


def ignored(rel, patterns):
    """Docker's rule: the last pattern that matches the path or one of its parents decides."""
    parts = rel.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    result = False
    for regex, exclude in patterns:
        if any(regex.match(p) for p in prefixes):
            result = exclude
    return result


def build_context(dest):
    """Copy the repository as `docker build .` sends it, into dest."""
    patterns = dockerignore_patterns()
    for root, dirs, files in os.walk(ROOT):
        rel_root = os.path.relpath(root, ROOT).replace(os.sep, "/")
        rel_root = "" if rel_root == "." else rel_root + "/"
        # Directories are kept while a later "!" pattern could bring something back.
        dirs[:] = [d for d in dirs if not (ignored(rel_root + d, patterns)
                                           and not any(not ex for _r, ex in patterns))]
        for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            rel = rel_root + name
            if ignored(rel, patterns):
                continue
            target = os.path.join(dest, rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            src = os.path.join(root, name)
            if os.path.islink(src):
                os.symlink(os.readlink(src), target)
            else:
                shutil.copyfile(src, target)
    return dest


def test_dockerignore_matcher_follows_dockers_rules():
    p = [(pattern_regex(x), True) for x in ("Tests", "**/__pycache__", "*.gguf", ".build*")]
    assert ignored("Tests/A/x.swift", p) and ignored("Tests", p)
    assert not ignored("Sources/Tests/x", p)
    assert ignored("a/b/__pycache__/c.pyc", p) and ignored("__pycache__/c.pyc", p)
    assert ignored("m.gguf", p) and not ignored("models/m.gguf", p)
    assert ignored(".build/debug/corral", p) and ignored(".build-x", p)
    p.append((pattern_regex("Tests/keep"), False))
    assert not ignored("Tests/keep/x", p) and ignored("Tests/other", p)


def package_target_paths():
    """Each target of Package.swift and the directory SwiftPM looks for it in."""
    text = open(os.path.join(ROOT, "Package.swift")).read()
    targets = []
    for m in re.finditer(r"\.(target|executableTarget|testTarget|systemLibrary|plugin|macro)\(\s*name:\s*\"([^\"]+)\"",
                         text):
        kind, name = m.groups()
        if re.match(r"\s*,\s*package:", text[m.end():]):
            continue  # a use of another package's plugin, not a declaration
        # The target's own argument list: up to the next target declaration.
        rest = text[m.end():]
        nxt = re.search(r"\.(target|executableTarget|testTarget|systemLibrary|plugin|macro)\(\s*name:", rest)
        args = rest[:nxt.start()] if nxt else rest
        path = re.search(r"\bpath:\s*\"([^\"]+)\"", args)
        default = {"testTarget": "Tests", "plugin": "Plugins"}.get(kind, "Sources")
        targets.append((name, path.group(1) if path else f"{default}/{name}"))
    assert {"corral", "CorralServer", "LlamaEngineTests"} <= {n for n, _p in targets}
    return targets


def dockerfile_stages():
    """[(stage name, [(instruction, arguments)])] with line continuations joined."""
    text = open(DOCKERFILE).read().replace("\\\n", " ")
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, args = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            m = re.search(r"\bAS\s+(\S+)", args, re.I)
            stages.append((m.group(1) if m else str(len(stages)), [("FROM", args)]))
        elif stages:
            stages[-1][1].append((word, args.strip()))
    return stages


def copy_sources(args):
    """(flags, sources, destination) of a COPY instruction (shell form)."""
    words = shlex.split(args)
    flags = [w for w in words if w.startswith("--")]
    rest = [w for w in words if not w.startswith("--")]
    return flags, rest[:-1], rest[-1]


def test_the_filtered_context_holds_every_target_package_swift_declares(tmp_path):
    context = build_context(str(tmp_path / "context"))
    assert os.path.exists(os.path.join(context, "Package.swift"))
    missing = [path for _name, path in package_target_paths() if not os.path.isdir(os.path.join(context, path))]
    assert not missing, f"swift package describe fails on the build context: .dockerignore drops {missing}"


def test_every_copy_source_exists_in_the_filtered_context(tmp_path):
    context = build_context(str(tmp_path / "context"))
    checked = 0
    for stage, instructions in dockerfile_stages():
        for word, args in instructions:
            if word not in ("COPY", "ADD"):
                continue
            flags, sources, _dest = copy_sources(args)
            if any(f.startswith("--from") for f in flags):
                continue
            for source in sources:
                matches = glob.glob(os.path.join(context, source))
                if glob.has_magic(source):
                    continue  # BuildKit lets a wildcard match nothing
                assert matches, f"{stage}: COPY {source}: not in the build context (.dockerignore?)"
                checked += 1
    assert checked >= 5


def test_the_build_stage_holds_the_whole_package(tmp_path):
    """What the Swift stage's WORKDIR holds after its COPYs is a package SwiftPM can load."""
    context = build_context(str(tmp_path / "context"))
    stage = dict(dockerfile_stages())["build"]
    workdir = next(a for w, a in stage if w == "WORKDIR")
    src = tmp_path / "stage"
    for word, args in stage:
        if word != "COPY":
            continue
        flags, sources, dest = copy_sources(args)
        if any(f.startswith("--from") for f in flags):
            continue
        dest = os.path.join(workdir, dest) if not dest.startswith("/") else dest
        for source in sources:
            for path in glob.glob(os.path.join(context, source)):
                rel = os.path.relpath(path, context)
                if os.path.isdir(path):
                    target = str(src) + os.path.normpath(dest)
                    shutil.copytree(path, target, symlinks=True, dirs_exist_ok=True)
                else:
                    target = str(src) + (os.path.join(dest, os.path.basename(rel)) if dest.endswith("/")
                                         else os.path.normpath(dest))
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    shutil.copyfile(path, target, follow_symlinks=False)
    package = str(src) + workdir
    missing = [path for _name, path in package_target_paths() if not os.path.isdir(os.path.join(package, path))]
    assert not missing, f"the build stage's {workdir} lacks {missing}: SwiftPM cannot load the package"
    # Links inside the sources resolve within the copied package.
    for root, _dirs, files in os.walk(package):
        for f in files:
            path = os.path.join(root, f)
            assert os.path.exists(path), f"{os.path.relpath(path, package)} is a dangling link in the build stage"


# ---------------------------------------------------------------- PATH before corral

def test_no_run_uses_corral_before_path_has_it():
    checked = 0
    for stage, instructions in dockerfile_stages():
        path = ""  # the base image's PATH never holds /opt/nim/bin
        for word, args in instructions:
            if word == "ENV":
                m = re.search(r"\bPATH[= ](\S+)", args)
                if m:
                    path = m.group(1)
            elif word == "RUN":
                commands = re.split(r"&&|\|\||;|\|", args)
                for command in commands:
                    first = command.split()[0] if command.split() else ""
                    if first == "corral":
                        assert "/opt/nim/bin" in path.split(":"), \
                            f"stage {stage}: RUN {command.strip()!r} before ENV PATH has /opt/nim/bin"
                        checked += 1
    assert checked >= 1, "the cpu image no longer checks that corral starts"


# ---------------------------------------------------------------- rendered values vs the server

def serve_setting_types():
    """NIM_* name -> Swift type of the `corral serve` option that reads it: the options name
    their row of the settings table (ServeSetting+Table.swift), which names the variable."""
    src = os.path.join(ROOT, "Sources")
    command = open(os.path.join(src, "corral", "ServeCommand.swift")).read()
    table = open(os.path.join(src, "CorralServer", "Settings", "ServeSetting+Table.swift")).read()
    rows = dict(re.findall(r'static let (\w+) = ServeSetting\(\s*"(NIM_[A-Z0-9_]+)"', table))
    types = {}
    for member, swift_type in re.findall(r"ServeSetting\.(\w+)\.flag\).*\)\s*var \w+: (\w+)\?", command):
        types[rows[member]] = swift_type
    assert types["NIM_MAX_QUEUE_TOKENS"] == "Int" and types["NIM_ENABLE_KV_CACHE_REUSE"] == "Toggle"
    return types


BOOL_TEXT = {"1", "true", "yes", "on", "0", "false", "no", "off"}


def check_env_parses(env, types):
    bad = {}
    for name, value in env.items():
        if value is None:
            continue
        kind = types.get(name)
        if kind == "Int" and not re.fullmatch(r"-?[0-9]+", value):
            bad[name] = value
        elif kind == "Toggle" and value.lower() not in BOOL_TEXT:
            bad[name] = value
        elif kind == "Double" and not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", value):
            bad[name] = value
    return bad


# Every integer setting of the chart at a large value, to catch float formatting (1e+06).
LARGE = {"config": {"kvCacheTokens": 4194304, "maxModelLen": 1048576, "maxBatchTokens": 65536,
                    "maxNumSeqs": 256, "maxQueueRequests": 12345678, "maxQueueTokens": 1048576,
                    "queueTimeoutSeconds": 3600000, "threads": 4096, "gpuLayers": -1,
                    "maxRequestBytes": 104857600},
         "drain": {"graceSeconds": 1000000, "preStopSleepSeconds": 5},
         "terminationGracePeriodSeconds": 1000010,
         "model": {"openaiPort": 8000}}


@pytest.mark.parametrize("values_set", sorted(td.VALUES_SETS) + ["large-integers"])
def test_rendered_env_values_parse_as_the_server_reads_them(rendered, values_set):  # noqa: F811
    types = serve_setting_types()
    manifests = rendered[values_set] if values_set in rendered else td.render(LARGE)
    if values_set == "large-integers":
        td.validate_strict(td.documents(manifests))  # integer fields stay integers too
    pod = td.workload(td.documents(manifests))["spec"]["template"]["spec"]
    for c in pod["containers"] + pod.get("initContainers", []):
        bad = check_env_parses(td.env_of(c), types)
        assert not bad, f"{values_set}: {c['name']}: corral serve cannot parse {bad}"
    if values_set == "gpu-persistence-hpa":
        assert td.env_of(td.container(pod))["NIM_MAX_QUEUE_TOKENS"] == "1048576"
    if values_set == "large-integers":
        env = td.env_of(td.container(pod))
        assert env["NIM_MAX_QUEUE_REQUESTS"] == "12345678" and env["NIM_DRAIN_GRACE_SECONDS"] == "1000000"


def chart_config_settings():
    """values key under config -> NIM_* name, from the chart's own table in _helpers.tpl."""
    text = open(os.path.join(td.CHART, "templates", "_helpers.tpl")).read()
    return dict(re.findall(r'"(\w+)" "(NIM_[A-Z0-9_]+)"', text))


def integer_values_fields():
    types = serve_setting_types()
    fields = [({"config": {key: 1.5}}, f"/config/{key}")
              for key, env in chart_config_settings().items() if types.get(env) == "Int"]
    fields += [({"lora": {key: 1.5}}, f"/lora/{key}") for key in ("refreshInterval", "maxLoras", "maxCpuLoras", "maxLoraRank")]
    fields += [({"drain": {"graceSeconds": 1.5}}, "/drain/graceSeconds"),
               ({"model": {"openaiPort": 8000.5}}, "/model/openaiPort")]
    return fields


def test_every_integer_setting_of_the_server_is_covered():
    keys = {where.rsplit("/", 1)[1] for _v, where in integer_values_fields()}
    assert {"queueTimeoutSeconds", "maxQueueTokens", "kvCacheTokens", "gpuLayers"} <= keys


@pytest.mark.parametrize("values, where", integer_values_fields() + [
    # The server's own lower bounds (ServeCommand.config()).
    ({"config": {"maxQueueRequests": 0}}, "/config/maxQueueRequests"),
    ({"config": {"maxQueueTokens": 0}}, "/config/maxQueueTokens"),
    ({"config": {"kvCacheTokens": 15}}, "/config/kvCacheTokens"),
    ({"config": {"maxRequestBytes": 1023}}, "/config/maxRequestBytes"),
    ({"config": {"queueTimeoutSeconds": -1}}, "/config/queueTimeoutSeconds"),
    ({"config": {"maxModelLen": -1}}, "/config/maxModelLen"),
    # ... and its upper bounds (the settings table in ServeSetting+Table.swift).
    ({"config": {"kvCacheTokens": 2147483648}}, "/config/kvCacheTokens"),
    ({"config": {"maxNumSeqs": 257}}, "/config/maxNumSeqs"),
    ({"config": {"maxBatchTokens": 65537}}, "/config/maxBatchTokens"),
    ({"config": {"threads": 4097}}, "/config/threads"),
    ({"config": {"kvCachePercent": 101}}, "/config/kvCachePercent"),
    ({"config": {"gpuMemoryUtilization": 1.5}}, "/config/gpuMemoryUtilization"),
    ({"lora": {"maxLoras": 257}}, "/lora/maxLoras"),
    ({"lora": {"maxLoraRank": 0}}, "/lora/maxLoraRank"),
])
def test_schema_rejects_what_the_server_rejects(values, where):
    with helm.Chart.load(td.CHART) as chart:
        with pytest.raises(helm.HelmValuesError) as error:
            chart.validate_schema(values)
    assert where in str(error.value)


# ---------------------------------------------------------------- ServiceMonitor selection

def selector_matches(selector, labels):
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for e in selector.get("matchExpressions", []):
        key, op, values = e["key"], e["operator"], e.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def monitoring_sets():
    sets = {name: td.load_values(name) for name in td.VALUES_SETS}
    # Each values set with the ServiceMonitor on as well.
    for name in td.VALUES_SETS:
        values = copy.deepcopy(sets[name])
        values.setdefault("metrics", {}).setdefault("serviceMonitor", {})["enabled"] = True
        sets[name + "+monitor"] = values
    return sets


@pytest.mark.parametrize("values_set", sorted(monitoring_sets()))
def test_no_monitor_scrapes_the_same_pods_twice(values_set):
    docs = td.documents(td.render(monitoring_sets()[values_set]))
    pod_labels = td.workload(docs)["spec"]["template"]["metadata"]["labels"]
    for monitor in td.by_kind(docs, "ServiceMonitor"):
        ports = {e["port"] for e in monitor["spec"]["endpoints"]}
        scraped = [s for s in td.by_kind(docs, "Service")
                   if selector_matches(monitor["spec"]["selector"], s["metadata"].get("labels", {}))
                   and ports & {p.get("name") for p in s["spec"]["ports"]}
                   and s["spec"].get("selector", {}).items() <= pod_labels.items()]
        names = [s["metadata"]["name"] for s in scraped]
        assert len(scraped) == 1, f"{values_set}: {monitor['metadata']['name']} scrapes the pods through {names}"


def test_the_hpa_values_set_is_scraped_once_with_its_statefulset(rendered):  # noqa: F811
    docs = td.documents(rendered["gpu-persistence-hpa"])
    assert td.one(docs, "StatefulSet") and td.one(docs, "ServiceMonitor"), \
        "the HPA reads Prometheus metrics, so its values set has the ServiceMonitor on"


# ---------------------------------------------------------------- model download: token, endpoint, proxy

DOWNLOAD_VALUES = {
    "model": {"url": "hf://meta-llama/Llama-3.2-1B-Instruct-GGUF/model.gguf",
              "hfTokenSecret": {"name": "hf-token", "key": "token"},
              "hfEndpoint": "https://hf-mirror.example.com"},
    "proxy": {"httpsProxy": "http://proxy.example.com:3128", "httpProxy": "http://proxy.example.com:3128",
              "noProxy": ".svc,.cluster.local"},
}


def test_the_download_gets_the_token_endpoint_and_proxy():
    docs = td.documents(td.render(DOWNLOAD_VALUES))
    td.validate_strict(docs)
    pod = td.workload(docs)["spec"]["template"]["spec"]
    init = next(i for i in pod["initContainers"] if i["name"] == "download-model")
    env = {e["name"]: e for e in init["env"]}
    assert env["HF_TOKEN"]["valueFrom"] == {"secretKeyRef": {"name": "hf-token", "key": "token"}}
    assert "value" not in env["HF_TOKEN"]
    assert env["HF_ENDPOINT"]["value"] == "https://hf-mirror.example.com"
    assert env["HTTPS_PROXY"]["value"] == "http://proxy.example.com:3128"
    assert env["HTTP_PROXY"]["value"] == "http://proxy.example.com:3128"
    assert env["NO_PROXY"]["value"].startswith(".svc,.cluster.local")
    main = td.env_of(td.container(pod))
    assert main["HTTPS_PROXY"] == "http://proxy.example.com:3128"
    assert "HF_TOKEN" not in main, "the server does not need the token"
    # The probes' curl goes to the pod itself, never through the proxy.
    assert {"localhost", "127.0.0.1"} <= set(main["NO_PROXY"].split(","))
    # Nothing set, nothing rendered.
    plain = td.workload(td.documents(td.render({"model": {"url": DOWNLOAD_VALUES["model"]["url"]}})))
    init = plain["spec"]["template"]["spec"]["initContainers"][0]
    assert not {"HF_TOKEN", "HF_ENDPOINT", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY"} & {e["name"] for e in init["env"]}


@pytest.mark.parametrize("values, where", [
    ({"model": {"hfTokenSecret": {"name": "s", "key": ""}}}, "/model/hfTokenSecret/key"),
    ({"model": {"hfEndpoint": "hf-mirror.example.com"}}, "/model/hfEndpoint"),
    ({"proxy": {"httpsProxy": "proxy:3128"}}, "/proxy/httpsProxy"),
    ({"proxy": {"ftpProxy": "x"}}, "ftpProxy"),
])
def test_schema_rejects_bad_download_settings(values, where):
    with helm.Chart.load(td.CHART) as chart:
        with pytest.raises(helm.HelmValuesError) as error:
            chart.validate_schema(values)
    assert where in str(error.value)


# ---------------------------------------------------------------- smaller

def startup_allowance(c):
    p = c["startupProbe"]
    return p.get("initialDelaySeconds", 0) + p["failureThreshold"] * p.get("periodSeconds", 10)


@pytest.mark.parametrize("values_set", sorted(td.VALUES_SETS))
def test_deployment_progress_deadline_covers_the_startup_probe(rendered, values_set):  # noqa: F811
    w = td.workload(td.documents(rendered[values_set]))
    if w["kind"] != "Deployment":
        return
    c = td.container(w["spec"]["template"]["spec"])
    # Kubernetes' default is 600 s, shorter than the startup probe's 30 minutes.
    assert w["spec"].get("progressDeadlineSeconds", 600) > startup_allowance(c)


def test_kustomize_progress_deadline_covers_the_startup_probe():
    d = td.one(td.kustomize("base"), "Deployment")
    c = td.container(d["spec"]["template"]["spec"])
    assert d["spec"].get("progressDeadlineSeconds", 600) > startup_allowance(c)


def test_endpoint_picker_gets_the_pull_secrets():
    values = {**td.load_values("inferencepool"), "imagePullSecrets": [{"name": "regcred"}]}
    docs = td.documents(td.render(values))
    td.validate_strict(docs)
    epp = td.one(docs, "Deployment", f"{td.RELEASE}-epp")
    assert epp["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
    values["inferencePool"] = copy.deepcopy(values["inferencePool"])
    values["inferencePool"]["endpointPicker"]["imagePullSecrets"] = [{"name": "k8s-mirror"}]
    epp = td.one(td.documents(td.render(values)), "Deployment", f"{td.RELEASE}-epp")
    assert epp["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "k8s-mirror"}]


def test_monitor_presents_a_key_when_metrics_need_one():
    values = {**td.load_values("monitoring"), "apiKeys": {"keys": ["k1 ops admin=1", "k2"], "metricsRequireAuth": True}}
    docs = td.documents(td.render(values))
    endpoint = td.one(docs, "ServiceMonitor")["spec"]["endpoints"][0]
    ref = endpoint["authorization"]["credentials"]
    assert endpoint["authorization"]["type"] == "Bearer"
    secret = td.one(docs, "Secret", ref["name"])
    assert secret["stringData"][ref["key"]].strip() == "k1", "one key, not the whole keys file or line"
    # A Secret of the user's: the key named in values.
    values["apiKeys"] = {"existingSecret": "keys", "metricsRequireAuth": True}
    values["metrics"] = copy.deepcopy(values["metrics"])
    values["metrics"]["serviceMonitor"]["bearerTokenSecret"] = {"name": "prom-key", "key": "key"}
    endpoint = td.one(td.documents(td.render(values)), "ServiceMonitor")["spec"]["endpoints"][0]
    assert endpoint["authorization"]["credentials"] == {"name": "prom-key", "key": "key"}
    # Without metricsRequireAuth, no credentials.
    values["apiKeys"]["metricsRequireAuth"] = False
    endpoint = td.one(td.documents(td.render(values)), "ServiceMonitor")["spec"]["endpoints"][0]
    assert "authorization" not in endpoint


def test_monitor_presents_a_client_certificate_under_mtls():
    values = {**td.load_values("mtls"), "metrics": td.load_values("monitoring")["metrics"]}
    docs = td.documents(td.render(values))
    endpoint = td.one(docs, "ServiceMonitor")["spec"]["endpoints"][0]
    tls = endpoint["tlsConfig"]
    secret = f"{td.RELEASE}-tls"
    assert tls["cert"] == {"secret": {"name": secret, "key": "tls.crt"}}
    assert tls["keySecret"] == {"name": secret, "key": "tls.key"}
    assert tls["ca"] == {"secret": {"name": secret, "key": "ca.crt"}}
    assert endpoint["scheme"] == "https"


def test_runtime_images_carry_oci_labels():
    stages = dict(dockerfile_stages())
    version = td.chart_app_version()
    for name in ("cpu", "cuda"):
        labels = " ".join(a for w, a in stages[name] if w == "LABEL")
        for key in ("title", "description", "version", "revision", "source", "licenses"):
            assert f"org.opencontainers.image.{key}=" in labels, f"{name}: no org.opencontainers.image.{key}"
    text = open(DOCKERFILE).read()
    assert re.search(rf"^ARG VERSION={re.escape(version)}$", text, re.M), "the image's version is the chart's appVersion"


def test_the_image_declares_a_licence_and_the_repository_has_it():
    text = open(DOCKERFILE).read()
    licences = re.search(r'^ARG LICENSES="?([^"\n]+)"?$', text, re.M).group(1)
    assert "NOASSERTION" not in licences and "Apache-2.0" in licences
    assert "Apache License" in open(os.path.join(ROOT, "LICENSE")).read()


def test_every_swift_dependency_is_pinned_exactly():
    """Package.resolved is not committed, so the manifest pins each direct dependency."""
    manifest = open(os.path.join(ROOT, "Package.swift")).read()
    packages = re.findall(r"\.package\(url: \"([^\"]+)\", (\w+): \"([^\"]+)\"\)", manifest)
    assert len(packages) >= 10
    loose = [url for url, how, _ in packages if how != "exact"]
    assert not loose, f"not pinned: {loose}"


def test_image_test_passes_the_base_images_the_dockerfile_names():
    text = open(DOCKERFILE).read()
    script = open(os.path.join(ROOT, "scripts", "image-test.sh")).read()
    for arg in ("DEBIAN_IMAGE", "SWIFT_IMAGE"):
        assert re.search(rf"^ARG {arg}=", text, re.M)
        assert f"--build-arg {arg}=" in script
    assert "--target cpu" in script
    # --cuda: the cuda target, its compile stages standing in as prebuilt images.
    assert "--target cuda" in script
    for arg in ("ENGINE_CUDA_STAGE", "CORRAL_STAGE"):
        assert re.search(rf"^ARG {arg}=", text, re.M)
        assert f"--build-arg {arg}=" in script


def make_run(tmp_path, env=None, args=()):
    """`make run` with a stand-in binary that prints what it was given; nothing is built."""
    fake = tmp_path / "corral"
    fake.write_text('#!/bin/sh\necho "ARGS $*"\nenv | grep "^NIM_" | sort\n')
    fake.chmod(0o755)
    base = {k: v for k, v in os.environ.items() if not k.startswith("NIM_")}
    out = subprocess.run(["make", "--no-print-directory", "-s", "-o", "build", "-o", "model", "run", f"BIN={fake}", *args],
                         cwd=ROOT, env={**base, **(env or {})}, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    argv = next(x for x in lines if x.startswith("ARGS ")).split()[1:]
    nim = dict(x.split("=", 1) for x in lines if x.startswith("NIM_"))
    return argv, nim


def effective(argv, nim, flag, name):
    """What `corral serve` uses: the flag when given, else the environment (ServeCommand)."""
    return argv[argv.index(flag) + 1] if flag in argv else nim.get(name)


def test_make_run_lets_the_users_nim_variables_win(tmp_path):
    argv, nim = make_run(tmp_path)
    assert argv[0] == "serve"
    assert effective(argv, nim, "--port", "NIM_SERVER_PORT") == "8000"
    assert effective(argv, nim, "--model", "NIM_MODEL_NAME") == "SmolLM2-135M-Instruct"
    assert nim["NIM_CACHE_PATH"]
    argv, nim = make_run(tmp_path, env={"NIM_SERVER_PORT": "9000", "NIM_MODEL_NAME": "/m/x.gguf",
                                        "NIM_CACHE_PATH": "/c"})
    assert effective(argv, nim, "--port", "NIM_SERVER_PORT") == "9000"
    assert effective(argv, nim, "--model", "NIM_MODEL_NAME") == "/m/x.gguf"
    assert nim["NIM_CACHE_PATH"] == "/c"
    # make's own PORT still works when no NIM_SERVER_PORT is set.
    argv, nim = make_run(tmp_path, args=["PORT=8123"])
    assert effective(argv, nim, "--port", "NIM_SERVER_PORT") == "8123"


# ---------------------------------------------------------------- the server's own parser

# Settings that name files mounted in the pod (keys, certificates): not there to read here.
MOUNTED_FILES = {"NIM_API_KEYS_FILE", "NIM_SSL_KEY_PATH", "NIM_SSL_CERTS_PATH", "NIM_SSL_CA_CERTS_PATH", "NIM_SSL_MODE"}


def check_config(env):
    """`corral serve --check-config` under exactly `env` (plus PATH)."""
    from conftest import BIN
    return subprocess.run([BIN, "serve", "--check-config"], env={"PATH": os.environ["PATH"], **env},
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("values_set", sorted(td.VALUES_SETS) + ["large-integers"])
def test_the_server_accepts_every_rendered_configuration(rendered, values_set):  # noqa: F811
    manifests = rendered[values_set] if values_set in rendered else td.render(LARGE)
    pod = td.workload(td.documents(manifests))["spec"]["template"]["spec"]
    env = {k: v for k, v in td.env_of(td.container(pod)).items()
           if k.startswith("NIM_") and v is not None and k not in MOUNTED_FILES}
    # --check-config also finds the model: the pod's is in its cache volume, ours is here.
    from conftest import MODEL
    env["NIM_MODEL_NAME"] = MODEL
    run = check_config(env)
    assert run.returncode == 0, f"{values_set}: {run.stderr.strip()} (env {env})"


def test_check_config_refuses_what_the_old_chart_rendered():
    run = check_config({"NIM_MAX_QUEUE_TOKENS": "1.048576e+06"})
    assert run.returncode != 0 and "NIM_MAX_QUEUE_TOKENS" in run.stderr, run.stderr


@pytest.mark.parametrize("name,value,accepted", [("NIM_KV_LAYOUT", "shared", "auto, unified, partitioned"),
                                                  ("NIM_SCHEDULER_POLICY", "lifo", "fcfs, priority")])
def test_check_config_names_the_accepted_values(name, value, accepted):
    run = check_config({name: value})
    assert run.returncode != 0 and accepted in run.stdout + run.stderr and value in run.stdout + run.stderr

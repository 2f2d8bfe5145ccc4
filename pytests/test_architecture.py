"""The module graph stays as docs/architecture.md draws it: a pure core, a scheduler that
needs no engine, and C/C++ reached from the engine module alone. Read from SwiftPM's own
description of the package and from the sources' imports."""
import glob
import json
import os
import re
import subprocess

from conftest import ROOT

C_MODULES = {"CLlama", "CLlamaCommon"}


def targets():
    out = subprocess.run(["swift", "package", "describe", "--type", "json"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300, check=True).stdout
    described = json.loads(out[out.index("{"):])
    return {t["name"]: t for t in described["targets"]}


def closure(graph, name):
    seen, todo = set(), [name]
    while todo:
        for dep in graph[todo.pop()].get("target_dependencies", []):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def test_core_is_pure_and_the_scheduler_and_routes_need_no_engine():
    graph = targets()
    assert not graph["CorralCore"].get("target_dependencies") and not graph["CorralCore"].get("product_dependencies")
    for name in ("Scheduler", "SchedulerTests", "CorralServer", "RouteTests"):
        reach = closure(graph, name)
        assert "CorralCore" in reach
        assert not reach & ({"LlamaEngine"} | C_MODULES), f"{name} reaches {sorted(reach & ({'LlamaEngine'} | C_MODULES))}"
        if name.startswith("Scheduler"):
            assert not graph[name].get("product_dependencies"), f"{name} depends on packages"


def test_only_the_engine_module_touches_c():
    graph = targets()
    direct = {name for name, t in graph.items() if set(t.get("target_dependencies", [])) & C_MODULES}
    assert direct - C_MODULES == {"LlamaEngine"}
    for path in glob.glob(os.path.join(ROOT, "Sources", "*", "**", "*.swift"), recursive=True):
        module = os.path.relpath(path, os.path.join(ROOT, "Sources")).split(os.sep)[0]
        imports = set(re.findall(r"^\s*(?:@\w+\s+)?(?:public |internal |package )?import (\w+)", open(path).read(), re.M))
        if module != "LlamaEngine":
            assert not imports & C_MODULES, f"{path} imports {imports & C_MODULES}"


def test_the_rooms_are_folders_with_nothing_loose_at_the_root():
    # `ls Sources/CorralServer`, `ls Sources/Scheduler` and `ls Sources/LlamaEngine` show the architecture.
    for module in ("CorralServer", "Scheduler", "LlamaEngine"):
        root = os.path.join(ROOT, "Sources", module)
        loose = [f for f in os.listdir(root) if f.endswith(".swift")]
        assert not loose, f"{module} has Swift files outside its rooms: {loose}"
        assert len([d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d))]) >= 4


def test_one_openapi_document():
    # The generator reads the root file through a link, so there is nothing to drift.
    root = os.path.realpath(os.path.join(ROOT, "openapi.yaml"))
    for path in glob.glob(os.path.join(ROOT, "Sources", "**", "openapi.y*ml"), recursive=True):
        assert os.path.islink(path) and os.path.realpath(path) == root, f"{path} is a second OpenAPI document"


def test_no_two_folders_differ_only_in_case():
    names = [n for n in os.listdir(ROOT) if os.path.isdir(os.path.join(ROOT, n))]
    lowered = [n.lower() for n in names]
    assert len(set(lowered)) == len(lowered), sorted(names)


KV_CALL = re.compile(r"executor\.(copy|move|release|trim|saveState|restoreState)\(")


def test_only_the_kv_cache_manager_touches_kv():
    """Every change to what the KV cache holds goes through the KV cache manager, so its
    accounting has one owner (the simulated executor, which defines those calls, aside)."""
    scheduler = os.path.join(ROOT, "Sources", "Scheduler")
    exempt = os.path.join(scheduler, "Simulation", "SimulatedExecutor.swift")
    seen = 0
    for path in glob.glob(os.path.join(scheduler, "**", "*.swift"), recursive=True):
        if os.path.samefile(path, exempt):
            continue
        for number, line in enumerate(open(path), 1):
            if KV_CALL.search(line):
                seen += 1
                assert os.path.basename(path).startswith("KVCacheManager"), f"{path}:{number}: {line.strip()}"
    assert seen, "no KV call found at all: the pattern no longer matches the sources"

"""Every module's EXAMPLES, run as a user's playbook runs them.

All the examples go into one play on localhost, in check mode, with an
empty HOME and module_defaults for the two action groups pointing at an
engine and a cluster that are not there. So each example is parsed,
templated and argument-checked by Ansible and by the module itself, and
then either answers (the board modules read this machine; check mode
writes nothing) or stops at the first thing this machine does not have,
which EXPECTED names per task. An argument a module refuses, a template
that does not render or an example missing from EXPECTED fails the test.
The examples that need an engine run against a real one in
tests/integration/test_examples.py.
"""

from __future__ import annotations

import importlib
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_collections.pirack.cluster.plugins.doc_fragments.action_groups import ModuleDocFragment

ROOT = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(ROOT / "tests" / "unit" / "roles"))
from localplay import run  # noqa: E402

MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
NO_ENGINE = "tcp://127.0.0.1:7"
# What the machine lacks, as each module says it; the engine message names
# the group default, which proves module_defaults reached the module.
ENGINE = f"no Docker engine answers at {NO_ENGINE}"
KUBECONFIG = "cannot load kubeconfig "
# A registry's /v2/ call the example makes, refused (nothing listens there).
REGISTRY = "GET https://127.0.0.1:5001/v2/"
MISSING_FILE = "a file the example names is not on this machine"
SKIPPED = "skipped"
OK = "ok"
# no_log hides the answer (swarm_info refuses to hand out join tokens without it).
HIDDEN = "hidden by no_log"
# Values the examples template with, as a play of the collection has them.
EXAMPLE_VARS = {
    "pirack_node_address": "10.99.0.10", "coinminer_master": "pirack-c1-master",
    "coinminer_redis_password": "example-password", "benchmark_run_dir": "results/20261124T101500",
    "registry_ca_pem": "-----BEGIN CERTIFICATE-----", "swarm_node_id": "9x1h2k3l4m5n6o7p8q9r0s1t2",
    # Registered by an earlier example that needs an engine or a cluster.
    "swarm_tokens": {"join_tokens": {"worker": "SWMTKN-1-example"}},
    "dockerhost": {"memory_cgroup": True}, "board": {"missing": []},
    "nodes": {"nodes": [{"name": "c1-worker1", "k3s_version": "v1.31.4+k3s1"}]}, "report": {"unmet": []},
}
EXPECTED = {
    "app": [ENGINE, KUBECONFIG, MISSING_FILE, ENGINE, KUBECONFIG],
    "app_info": [ENGINE, KUBECONFIG],
    "benchmark_density": [SKIPPED] * 2,  # no check mode: it starts containers
    "benchmark_overhead": [SKIPPED],  # no check mode: it runs the benchmark in a container
    "benchmark_probe": [],  # measures a running coin-miner for 40 s: test_the_probe_example_is_valid
    "benchmark_report": [MISSING_FILE, MISSING_FILE, MISSING_FILE],
    "board_files": [OK, OK],
    "board_health": [OK, OK],
    "board_info": [OK, SKIPPED],
    "docker_host_info": [ENGINE, OK],
    "docker_op": [ENGINE] * 8,
    "image_index": [REGISTRY, SKIPPED],
    "k8s_node": [KUBECONFIG] * 4,
    "k8s_node_info": [KUBECONFIG, OK],
    "k8s_nodes_ready": [KUBECONFIG],
    "sim_board": [ENGINE, ENGINE],
    "swarm_info": [ENGINE, HIDDEN, ENGINE],
    "swarm_member": [ENGINE, HIDDEN, HIDDEN, ENGINE],
    "swarm_node": [ENGINE] * 3,
}
# A message that says an example's file (spec, key, results) is missing here.
MISSING_FILE_MESSAGES = ("spec: cannot read /srv/apps/coinminer.yml", "authorized_key ",
                         "path: results/20261124T101500 is not a folder")


def examples(module: str) -> list[dict[str, Any]]:
    name = f"ansible_collections.pirack.cluster.plugins.modules.{module}"
    return yaml.safe_load(importlib.import_module(name).EXAMPLES) or []


def outcome(result: dict[str, Any]) -> str:
    """The class of one task result of the json callback."""
    if result.get("skipped"):
        return SKIPPED
    if not result.get("failed"):
        return OK
    if result.get("censored"):
        return HIDDEN
    msg = str(result.get("msg", ""))
    for expected in (ENGINE, KUBECONFIG, REGISTRY):
        if msg.startswith(expected):
            return expected
    if msg.startswith(MISSING_FILE_MESSAGES):
        return MISSING_FILE
    return f"failed: {msg}"


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Each module's example tasks, run in one play; their outcomes by module."""
    work = tmp_path_factory.mktemp("examples")
    (work / "apps").mkdir()
    shutil.copy(ROOT / "apps" / "coinminer.yml", work / "apps" / "coinminer.yml")
    tasks, owners = [], []
    for module in MODULES:
        if module == "benchmark_probe":
            continue
        for task in examples(module):
            tasks.append(dict(task, ignore_errors=True))
            owners.append(module)
    play = [{"name": "every example", "hosts": "localhost", "gather_facts": False, "check_mode": True,
             "vars": EXAMPLE_VARS,
             "module_defaults": {"group/pirack.cluster.docker": {"docker_host": NO_ENGINE, "timeout": 5},
                                 "group/pirack.cluster.k8s": {"request_timeout": 5}},
             "tasks": tasks}]
    home = work / "home"
    home.mkdir()
    groups = "  hosts:\n    localhost:\n    pirack-c1-master:\n  children:\n    cluster1:\n      hosts:\n" \
             "        localhost:\n"
    proc = run(work, groups, yaml.safe_dump(play, sort_keys=False), "-e", json.dumps(EXAMPLE_VARS),
               env={"HOME": str(home), "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
                    "ANSIBLE_LOCAL_TEMP": str(work / "tmp"), "ANSIBLE_BECOME_METHOD": "su"})
    report = json.loads(proc.stdout)
    results = [task["hosts"].get("localhost") or next(iter(task["hosts"].values()))
               for task in report["plays"][0]["tasks"]]
    assert len(results) == len(tasks), proc.stdout[-2000:] + proc.stderr[-2000:]
    by_module: dict[str, list[str]] = {}
    for module, result in zip(owners, results):
        by_module.setdefault(module, []).append(outcome(result))
    return by_module


@pytest.mark.parametrize("module", MODULES)
def test_every_example_runs_up_to_what_this_machine_lacks(played: dict[str, list[str]], module: str) -> None:
    assert module in EXPECTED, f"{module}: say in EXPECTED what its examples give here"
    assert played.get(module, []) == EXPECTED[module]


@pytest.mark.parametrize("module", MODULES)
def test_examples_call_modules_by_their_full_name(module: str) -> None:
    tasks = examples(module)
    assert tasks, f"{module} has no EXAMPLES"
    called = {key for task in tasks for key in task if key.startswith("pirack.cluster.")}
    assert f"pirack.cluster.{module}" in called | {key for task in tasks for block in task.get("block", [])
                                                   for key in block}
    assert not {key for task in tasks for key in task if "." not in key and key not in (
        "name", "register", "when", "delegate_to", "become", "run_once", "no_log", "check_mode", "diff",
        "failed_when", "changed_when", "loop", "block", "module_defaults")}, "short module names"


def test_the_probe_example_is_valid() -> None:
    """It measures for 40 s, so it is not run here: its options are checked."""
    from ansible_collections.pirack.cluster.plugins.module_utils.bench.probe import check_params

    [task] = examples("benchmark_probe")
    params = dict(task["pirack.cluster.benchmark_probe"])
    params.setdefault("counter_field", "hashes")
    for option, default in (("interval", 1.0), ("window", 5.0), ("pause", 0.0), ("timeout", 10.0)):
        params.setdefault(option, default)
    check_params(params)


def test_action_groups_are_the_modules_that_say_they_belong() -> None:
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())["action_groups"]
    for group, fragment in (("docker", ModuleDocFragment.DOCKER), ("k8s", ModuleDocFragment.K8S)):
        assert yaml.safe_load(fragment)["attributes"]["action_group"]["membership"] == [f"pirack.cluster.{group}"]
    claimed: dict[str, set[str]] = {"docker": set(), "k8s": set()}
    for module in MODULES:
        source = (ROOT / "plugins" / "modules" / f"{module}.py").read_text()
        for group, variant in (("docker", "docker"), ("k8s", "k8s"), ("docker", "docker_and_k8s"),
                               ("k8s", "docker_and_k8s")):
            if f"pirack.cluster.action_groups.{variant}\n" in source:
                claimed[group].add(module)
        uses = {"docker": "docker_argument_spec(" in source, "k8s": "k8s_argument_spec(" in source}
        for group, used in uses.items():
            assert (module in claimed[group]) == used, f"{module}: group {group}"
    assert {group: set(members) for group, members in runtime.items()} == claimed


def test_version_added_is_never_past_the_collection_version() -> None:
    version = tuple(int(x) for x in yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"].split("."))
    for path in [*(ROOT / "plugins" / "modules").glob("*.py"), *(ROOT / "plugins" / "filter").glob("*.yml")]:
        for line in path.read_text().splitlines():
            if line.strip().startswith("version_added:"):
                added = tuple(int(x) for x in line.split(":", 1)[1].strip().strip("'\"").split("."))
                assert added <= version, f"{path.name}: {line.strip()} is past galaxy.yml's {version}"


def test_related_modules_see_each_other() -> None:
    """seealso goes both ways, between modules that exist."""
    def seealso(module: str) -> set[str]:
        source = importlib.import_module(f"ansible_collections.pirack.cluster.plugins.modules.{module}")
        doc = yaml.safe_load(source.DOCUMENTATION)
        return {entry["module"].removeprefix("pirack.cluster.") for entry in doc.get("seealso", [])}

    links = {module: seealso(module) for module in MODULES}
    for module, others in links.items():
        for other in others:
            assert other in links and module in links[other], f"{module} -> {other}"

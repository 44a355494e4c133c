"""The EXAMPLES that need a Docker engine, run against this machine's, in check mode.

tests/unit/plugins/modules/test_examples.py runs every example up to what a
machine without an engine lacks; here the docker_op, docker_host_info and
swarm_info examples meet a real engine and must answer. Check mode, so
nothing is pulled, built, pushed, stopped or pruned: the answer is what
each example would do. The examples that need a swarm manager or a k3s
cluster skip with one line: molecule/swarm and molecule/app run those
modules on a real swarm, and no k3s runs here.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "unit" / "roles"))
from localplay import run  # noqa: E402

pytestmark = pytest.mark.usefixtures("engine")

# The examples an engine alone answers; swarm_info's first asks for no manager.
ON_AN_ENGINE = {"docker_op": None, "docker_host_info": None, "swarm_info": 1}
NEEDS_MORE = {
    "swarm_member": "needs boards to form a swarm with: molecule/swarm and molecule/app run it",
    "swarm_node": "needs a swarm manager: molecule/swarm runs it",
    "app": "needs a swarm manager or a k3s cluster: molecule/app runs it on a swarm; no k3s runs here",
    "app_info": "needs a swarm manager or a k3s cluster: molecule/app runs it on a swarm; no k3s runs here",
    "k8s_node": "needs a k3s cluster, and none runs here (tests/integration/test_k3s_rollout.py says what it needs)",
    "k8s_node_info": "needs a k3s cluster, and none runs here",
    "k8s_nodes_ready": "needs a k3s cluster, and none runs here",
}


def examples(module: str) -> list[dict]:
    """The module's EXAMPLES, read from its source (this suite runs modules, it does not import them)."""
    tree = ast.parse((ROOT / "plugins" / "modules" / f"{module}.py").read_text())
    text = next(node.value.value for node in tree.body if isinstance(node, ast.Assign)
                and getattr(node.targets[0], "id", None) == "EXAMPLES")
    return yaml.safe_load(text)


@pytest.mark.parametrize("module", sorted(ON_AN_ENGINE))
def test_the_examples_answer_on_a_real_engine(module: str, tmp_path: Path) -> None:
    tasks = examples(module)[:ON_AN_ENGINE[module]]
    play = [{"hosts": "localhost", "gather_facts": False, "check_mode": True, "tasks": tasks}]
    proc = run(tmp_path, "  hosts:\n    localhost:\n", yaml.safe_dump(play, sort_keys=False),
               env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"})
    report = json.loads(proc.stdout)
    results = [task["hosts"]["localhost"] for task in report["plays"][0]["tasks"]]
    assert len(results) == len(tasks), proc.stderr[-2000:]
    for task, result in zip(tasks, results):
        assert not result.get("failed"), f"{task['name']}: {result.get('msg')}"


@pytest.mark.parametrize("module", sorted(NEEDS_MORE))
def test_the_examples_that_need_more_than_an_engine(module: str) -> None:
    assert examples(module)
    pytest.skip(f"{module}: {NEEDS_MORE[module]}")

"""sim_board without an engine: its documentation and argument spec follow the
one board table, and bad options are refused before the engine is asked.

The engine half (create, re-run, re-create, roll back) is
tests/integration/test_sim_board.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from ansible_collections.pirack.cluster.plugins.module_utils.docker_client import DOCKER_COMMON_ARGS
from ansible_collections.pirack.cluster.plugins.module_utils.pi_model import MODELS
from ansible_collections.pirack.cluster.plugins.modules import sim_board

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "roles"))
from localplay import run  # noqa: E402

DOC_OPTIONS = yaml.safe_load(sim_board.DOCUMENTATION)["options"]
SPEC = sim_board.argument_spec()
GOOD = {"name": "pi-c1-worker1", "model": "pi3bplus", "network": "unit-pi-node", "subnet": "10.99.9.0/24",
        "ipv4_address": "10.99.9.20", "ssh_port": 2950, "authorized_key": "/nonexistent/id.pub"}


def test_model_choices_are_the_board_table() -> None:
    assert DOC_OPTIONS["model"]["choices"] == list(MODELS), "sim_board DOCUMENTATION model choices differ from MODELS"
    assert SPEC["model"]["choices"] == list(MODELS)
    assert SPEC["model"]["default"] == DOC_OPTIONS["model"]["default"] and SPEC["model"]["default"] in MODELS


@pytest.mark.parametrize("option", sorted(set(SPEC) - set(DOCKER_COMMON_ARGS)))
def test_documentation_matches_the_argument_spec(option: str) -> None:
    doc, spec = DOC_OPTIONS[option], SPEC[option]
    for field in ("type", "default", "choices", "required"):
        assert doc.get(field) == spec.get(field), f"{option}.{field}: documented {doc.get(field)!r}, " \
                                                  f"argument spec {spec.get(field)!r}"


def test_every_documented_option_is_in_the_spec() -> None:
    assert set(DOC_OPTIONS) == set(SPEC) - set(DOCKER_COMMON_ARGS)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"cpus": -2}, "cpus -2.0 must be a number of CPUs of at least 0.01"),
        ({"ssh_port": 0}, "ssh_port 0 must be a TCP port, 1 to 65535"),
        ({"ssh_port": None}, "ssh_port is required when state is present"),
        ({"ssh_bind": "my-laptop"}, "ssh_bind 'my-laptop' is not an IP address"),
        ({"name": "-pi"}, "name '-pi' is not a container name"),
        ({"name": "pi_c1"}, "name 'pi_c1' is not a hostname"),
        ({"memory_mb": 2048}, "memory_mb: a Raspberry Pi 3 Model B Plus has 1024 MiB of memory, not 2048"),
        ({"ipv4_address": "10.98.0.5"}, "ipv4_address 10.98.0.5 is not inside subnet 10.99.9.0/24"),
        ({"subnet": "172.18.5.0/24", "ipv4_address": None}, "overlaps 172.16.0.0/12"),
        ({"labels": {"model": "pi5"}}, "labels: 'model' is set from the model option"),
    ],
)
def test_bad_options_fail_in_one_line_before_the_engine(module_runner, change: dict, message: str) -> None:
    # DOCKER_HOST points at a closed port (tests/unit/conftest.py): a module
    # that got as far as the engine would say "no Docker engine answers".
    answer = module_runner("sim_board", dict(GOOD, **change))
    assert answer["failed"] and message in answer["msg"], answer
    assert "\n" not in answer["msg"] and "no Docker engine" not in answer["msg"]
    assert not answer.get("changed")


def test_every_bad_option_is_named_at_once(module_runner) -> None:
    answer = module_runner("sim_board", dict(GOOD, cpus=0, ssh_port=99999, ssh_bind="x"))
    assert [part.split()[0] for part in answer["msg"].split("; ")] == ["cpus", "ssh_port", "ssh_bind"]


def test_unknown_model_is_refused_by_the_argument_spec(module_runner) -> None:
    answer = module_runner("sim_board", dict(GOOD, model="pi7"))
    assert answer["failed"] and "value of model must be one of: pi5, pi4" in answer["msg"]


def test_good_options_go_on_to_the_engine(module_runner) -> None:
    answer = module_runner("sim_board", GOOD)
    assert answer["failed"] and "no Docker engine answers at tcp://127.0.0.1:9" in answer["msg"]
    removal = module_runner("sim_board", {"name": "pi_c1", "state": "absent"})
    assert "no Docker engine answers" in removal["msg"], "a name that is no hostname can still be removed"


def test_the_old_name_still_runs_it_and_says_the_new_one(tmp_path: Path) -> None:
    """pi_node, its name before the first release, is routed to sim_board with a warning."""
    play = ("- hosts: localhost\n  gather_facts: false\n  tasks:\n    - name: By the old name\n"
            "      pirack.cluster.pi_node:\n        name: pi-gone\n        state: absent\n"
            "        docker_host: tcp://127.0.0.1:7\n")
    proc = run(tmp_path, "  hosts:\n    localhost:\n", play)
    assert "no Docker engine answers at tcp://127.0.0.1:7" in proc.stdout, proc.stdout + proc.stderr
    assert "pirack.cluster.pi_node is now pirack.cluster.sim_board" in proc.stdout + proc.stderr

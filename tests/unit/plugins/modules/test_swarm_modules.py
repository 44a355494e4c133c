"""swarm_member, swarm_node and swarm_info without an engine: what they refuse
before connecting, and that a join token never comes back. The real swarm is
driven by the molecule swarm scenario and tests/integration/test_docker_swarm.py."""

from __future__ import annotations

import pytest

NO_ENGINE = "unix:///nonexistent/docker.sock"
TOKEN = "SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx"


@pytest.mark.parametrize(("module", "args", "message"), [
    ("swarm_member", {"state": "joined", "join_token": TOKEN},
     "state is joined but all of the following are missing: remote_addrs"),
    ("swarm_member", {"state": "present"}, "value of state must be one of: initialized, joined, absent"),
    ("swarm_member", {"state": "absent", "timeout": "inf"}, "timeout: must be a finite int, got inf"),
    ("swarm_node", {"node": "w1", "availability": "drained"},
     "value of availability must be one of: active, pause, drain"),
    ("swarm_node", {"availability": "drain"}, "missing required arguments: node"),
    ("swarm_info", {"join_tokens": True}, "join_tokens: the tokens are secrets; set no_log: true on the task"),
])
def test_refused_before_any_engine_is_asked(module_runner, module: str, args: dict, message: str) -> None:
    result = module_runner(module, dict(args, docker_host=NO_ENGINE))
    assert result["failed"]
    assert message in result["msg"], result["msg"]
    assert "\n" not in result["msg"]


def test_dead_engine_is_one_line_and_hides_the_token(module_runner) -> None:
    result = module_runner("swarm_member", {"state": "joined", "remote_addrs": ["10.99.6.10:2377"],
                                            "join_token": TOKEN, "docker_host": NO_ENGINE})
    assert result["failed"] and NO_ENGINE in result["msg"] and "\n" not in result["msg"]
    assert TOKEN not in str(result)


def test_tokens_asked_with_no_log_reach_the_engine_question(module_runner) -> None:
    result = module_runner("swarm_info", {"join_tokens": True, "docker_host": NO_ENGINE}, no_log=True)
    assert result["failed"] and NO_ENGINE in result["msg"]

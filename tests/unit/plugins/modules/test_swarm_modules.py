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


class StuckEngine:
    """An engine pending towards a manager that is gone; leaving makes it inactive."""

    def __init__(self) -> None:
        self.state = "pending"
        self.left: list[bool] = []
        self.api = self

    def info(self) -> dict:
        return {"Swarm": {"LocalNodeState": self.state, "NodeID": "n1" if self.state != "inactive" else "",
                          "NodeAddr": "10.99.6.12", "RemoteManagers": [{"NodeID": "m", "Addr": "10.99.6.10:2377"}],
                          "ControlAvailable": False, "Error": ""}}

    def leave_swarm(self, force: bool) -> None:
        self.left.append(force)
        self.state = "inactive"


def test_a_board_that_leaves_says_why_once() -> None:
    from ansible_collections.pirack.cluster.plugins.modules.swarm_member import converge

    engine = StuckEngine()
    why = "left its swarm to join the swarm of 10.99.6.11:2377: its swarm state was pending"
    params = {"state": "absent", "force": True, "reason": why}
    checked = converge(engine, params, check_mode=True)
    assert checked["changed"] and checked["reason"] == why and engine.left == []
    result = converge(engine, params, check_mode=False)
    assert engine.left == [True]
    assert result["reason"] == why and result["swarm"]["state"] == "inactive"
    # Nothing left to leave: no change, nothing said.
    again = converge(engine, params, check_mode=False)
    assert not again["changed"] and "reason" not in again


class StartingEngine(StuckEngine):
    """Pending for the first reads, as an engine right after it starts."""

    def __init__(self, pending_reads: int) -> None:
        super().__init__()
        self.reads = 0
        self.pending_reads = pending_reads

    def info(self) -> dict:
        self.reads += 1
        self.state = "pending" if self.reads <= self.pending_reads else "active"
        return super().info()


@pytest.mark.parametrize(("pending_reads", "wait", "state", "reads"), [
    (3, 60, "active", 4),     # settles within the wait: read until it does
    (100, 10, "pending", 6),  # still pending after the wait: stuck, answered as is
    (3, 0, "pending", 1),     # no wait: one read
])
def test_swarm_info_reads_a_pending_engine_until_it_settles(pending_reads, wait, state, reads) -> None:
    from ansible_collections.pirack.cluster.plugins.modules.swarm_info import read

    engine = StartingEngine(pending_reads)
    now = [0.0]
    answer = read(engine, {"nodes": False, "join_tokens": False, "pending_wait": wait},
                  clock=lambda: now[0], sleeper=lambda s: now.__setitem__(0, now[0] + s))
    assert answer["swarm"]["state"] == state and engine.reads == reads

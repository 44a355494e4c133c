"""Swarm rendering field by field, reading back what an engine answers, the
plan, and the rollout judgement on task lists. The apply/wait path against a
real two-board swarm is molecule/app."""

from __future__ import annotations

import copy
import dataclasses
import json
import os

from ansible_collections.pirack.cluster.plugins.module_utils.app import readiness
from ansible_collections.pirack.cluster.plugins.module_utils.app import swarm_driver as app_swarm
from ansible_collections.pirack.cluster.plugins.module_utils.app.model import App
from ansible_collections.pirack.cluster.plugins.module_utils.app.plan import Deployed, plan
from ansible_collections.pirack.cluster.plugins.module_utils.app.spec import normalize

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures", "app")

SPEC = {
    "name": "apptest",
    "services": {
        "web": {
            "image": "pirack/app-test:v1",
            "args": ["sh", "-c", "exec busybox httpd -f -p 80 -h /www"],
            "env": {"TAG": "v1"},
            "ports": [{"port": 80, "published": 8000}],
            "placement": {"role": "master"},
            "volumes": [{"name": "www", "path": "/www"}],
            "resources": {"limits": {"cpus": 0.25, "memory": "32Mi"}},
        },
        "echo": {"image": "pirack/app-test:v1", "mode": "global", "ports": [{"port": 80}],
                 "command": ["/bin/busybox"], "placement": {"model": "pi3bplus", "example.com/disk": "ssd"},
                 "resources": {"requests": {"cpus": "100m", "memory": "16Mi"}}},
    },
}


def fixture(name: str) -> dict:
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return json.load(handle)


def model() -> App:
    return normalize(copy.deepcopy(SPEC))


def swarm_plan(m: App, live: dict, state: str) -> list:
    """The one planner fed as the Swarm driver feeds it: inspected services
    read back, compared with what the engine can report of the model."""
    views = {name: Deployed(app_swarm.read_service(m.name, obj["Spec"])) for name, obj in live.items()}
    return plan(m, views, state, app_swarm.desired_view)


def test_replicated_service_renders_field_by_field() -> None:
    spec = app_swarm.render_service("apptest", "web", model().services["web"])
    assert spec["Name"] == "apptest_web"
    assert spec["Labels"] == {"pirack.app": "apptest", "pirack.service": "web"}
    template = spec["TaskTemplate"]
    assert template["ContainerSpec"] == {
        "Image": "pirack/app-test:v1",
        "Env": ["TAG=v1"],
        "Args": ["sh", "-c", "exec busybox httpd -f -p 80 -h /www"],
        "Mounts": [{"Type": "volume", "Source": "apptest_www", "Target": "/www"}],
    }
    assert template["Resources"] == {"Limits": {"NanoCPUs": 250_000_000, "MemoryBytes": 32 * 2**20}}
    assert template["Placement"] == {"Constraints": ["node.labels.pirack.role==master"]}
    assert template["Networks"] == [{"Target": "apptest_default", "Aliases": ["web"]}]
    assert spec["Mode"] == {"Replicated": {"Replicas": 1}}
    # A published host-mode port (and a volume): the old task must stop first.
    assert spec["UpdateConfig"] == {"Parallelism": 1, "Order": "stop-first", "FailureAction": "pause"}
    assert spec["EndpointSpec"] == {"Mode": "dnsrr", "Ports": [
        {"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8000, "PublishMode": "host"}]}


def test_global_service_renders_field_by_field() -> None:
    spec = app_swarm.render_service("apptest", "echo", model().services["echo"])
    assert spec["Mode"] == {"Global": {}}
    assert spec["TaskTemplate"]["ContainerSpec"] == {"Image": "pirack/app-test:v1", "Env": [], "Mounts": [],
                                                     "Command": ["/bin/busybox"]}
    assert spec["TaskTemplate"]["Resources"] == {"Reservations": {"NanoCPUs": 100_000_000,
                                                                  "MemoryBytes": 16 * 2**20}}
    assert spec["TaskTemplate"]["Placement"]["Constraints"] == [
        "node.labels.example.com/disk==ssd", "node.labels.pirack.model==pi3bplus"]
    # Unpublished ports need no endpoint entry: dnsrr resolves to task IPs.
    assert spec["EndpointSpec"] == {"Mode": "dnsrr", "Ports": []}


def test_update_parallelism_renders_and_reads_back() -> None:
    for parallelism in (0, 1, 3):
        service = normalize(copy.deepcopy(SPEC), {"echo": {"update": {"parallelism": parallelism}}}).services["echo"]
        rendered = app_swarm.render_service("apptest", "echo", service)
        assert rendered["UpdateConfig"]["Parallelism"] == parallelism
        assert app_swarm.read_service("apptest", rendered).update.parallelism == parallelism
    # A live service at another parallelism is an update, nothing else differs.
    live = app_swarm.render_service("apptest", "echo", model().services["echo"])
    live["UpdateConfig"]["Parallelism"] = 0
    m = App("apptest", services={"echo": model().services["echo"]})
    actions = swarm_plan(m, {"echo": {"Spec": live}}, "present")
    assert [(a.action, a.before.update.parallelism, a.after.update.parallelism) for a in actions] == [
        ("update", 0, 1)]


def test_every_rendered_service_reads_back_as_its_desired_view() -> None:
    m = model()
    for name, service in m.services.items():
        rendered = app_swarm.render_service("apptest", name, service)
        assert app_swarm.read_service("apptest", rendered) == app_swarm.desired_view(service), name


def test_engine_answer_with_its_defaults_reads_back_unchanged() -> None:
    live = fixture("swarm-service-web.json")
    view = app_swarm.read_service("apptest", live["Spec"])
    assert view == app_swarm.desired_view(model().services["web"])
    assert swarm_plan(App("apptest", services={"web": model().services["web"]}), {"web": live}, "present") == []


def with_web(m: App, **fields: object) -> App:
    return dataclasses.replace(m, services=dict(m.services, web=dataclasses.replace(m.services["web"], **fields)))


def test_plan_creates_updates_recreates_and_prunes() -> None:
    m = model()
    live_web = fixture("swarm-service-web.json")
    live_old = copy.deepcopy(live_web)
    live_old["Spec"]["Name"] = "apptest_old"
    m = with_web(m, image="pirack/app-test:v2")
    actions = swarm_plan(m, {"web": live_web, "old": live_old}, "present")
    by_service = {a.service: a for a in actions}
    assert {s: a.action for s, a in by_service.items()} == {"echo": "create", "web": "update", "old": "remove"}
    assert by_service["web"].before.image == "pirack/app-test:v1"
    assert by_service["web"].after.image == "pirack/app-test:v2"
    assert by_service["echo"].before is None and by_service["old"].after is None

    m = with_web(m, image="pirack/app-test:v1", mode="global", replicas=None)
    assert [a.action for a in swarm_plan(m, {"web": live_web}, "present") if a.service == "web"] == ["recreate"]


def test_plan_for_absent_removes_every_service_of_the_app() -> None:
    actions = swarm_plan(model(), {"web": fixture("swarm-service-web.json")}, "absent")
    assert [(a.service, a.action) for a in actions] == [("web", "remove")]
    assert swarm_plan(model(), {}, "absent") == []


def node(labels: dict, state: str = "ready", availability: str = "active") -> dict:
    return {"Spec": {"Labels": labels, "Availability": availability}, "Status": {"State": state}}


def test_global_service_expects_one_task_per_matching_usable_node() -> None:
    nodes = [node({"pirack.role": "master", "pirack.model": "pi4"}),
             node({"pirack.role": "worker", "pirack.model": "pi3bplus"}),
             node({"pirack.role": "worker", "pirack.model": "pi3bplus"}, state="down"),
             node({"pirack.role": "worker", "pirack.model": "pi3bplus"}, availability="drain")]
    assert readiness.eligible_nodes(nodes, {}) == 2
    assert readiness.eligible_nodes(nodes, {"model": "pi3bplus"}) == 1
    assert readiness.eligible_nodes(nodes, {"role": "master", "model": "pi3bplus"}) == 0


def task(state: str, image: str = "pirack/app-test:v1", desired: str = "running", err: str = "",
         stamp: str = "2026-11-23T13:00:00Z", node: str = "n-master", force: int = 0) -> dict:
    live = fixture("swarm-service-web.json")
    spec = copy.deepcopy(live["Spec"]["TaskTemplate"])
    spec["ContainerSpec"]["Image"] = image
    spec["ForceUpdate"] = force
    status = {"State": state, "Timestamp": stamp, "Message": state}
    if err:
        status["Err"] = err
    return {"ID": f"t-{node}-{state}-{stamp[-3:-1]}", "NodeID": node, "DesiredState": desired, "Spec": spec,
            "Status": status}


def test_rollout_done_only_when_the_current_template_runs_everywhere() -> None:
    live = fixture("swarm-service-web.json")
    assert readiness.swarm_rollout(live, [task("running")], 1)["done"]
    # An old task still running the previous image is not the new rollout.
    old = readiness.swarm_rollout(live, [task("running", image="pirack/app-test:v0")], 1)
    assert not old["done"] and old["running"] == 0
    # One too many (scale-down not finished) is not done either.
    assert not readiness.swarm_rollout(live, [task("running"), task("running")], 1)["done"]
    updating = copy.deepcopy(live)
    updating["UpdateStatus"] = {"State": "updating"}
    assert not readiness.swarm_rollout(updating, [task("running")], 1)["done"]
    assert readiness.swarm_rollout(live, [], 0)["done"]


def test_rollout_failure_reports_each_reason_once_newest_first() -> None:
    live = fixture("swarm-service-web.json")
    live["UpdateStatus"] = {"State": "paused", "Message": "update paused due to failure or early termination"}
    tasks = [task("rejected", err="No such image: pirack/app-test:nope", stamp="2026-11-23T13:00:02Z"),
             task("rejected", err="No such image: pirack/app-test:nope", stamp="2026-11-23T13:00:01Z"),
             task("pending", err="no suitable node (scheduling constraints not satisfied on 2 nodes)",
                  stamp="2026-11-23T13:00:03Z"),
             task("shutdown", desired="shutdown")]
    status = readiness.swarm_rollout(live, tasks, 1)
    assert status["failed"]
    assert status["problems"] == [
        "pending: no suitable node (scheduling constraints not satisfied on 2 nodes)",
        "rejected: No such image: pirack/app-test:nope (2 tasks)"]
    message = readiness.swarm_failure("apptest_web", status, "the update stopped")
    assert message == ("service apptest_web: the update stopped, 0 of 1 tasks running the current spec; "
                       "update: update paused due to failure or early termination; "
                       "pending: no suitable node (scheduling constraints not satisfied on 2 nodes); "
                       "rejected: No such image: pirack/app-test:nope (2 tasks)")


def test_tasks_of_a_board_that_is_down_do_not_count() -> None:
    """A global service on three boards, one reported down: the two up run
    the current template, the down one holds a task that cannot start."""
    live = fixture("swarm-service-web.json")
    tasks = [task("running", node="n-master"), task("running", node="n-w1"),
             task("pending", node="n-w2", err="1 node not available for new tasks")]
    assert not readiness.swarm_rollout(live, tasks, 2)["done"]
    status = readiness.swarm_rollout(live, tasks, 2, down={"n-w2"})
    assert status["done"] and status["running"] == 2 and status["stuck"] == []
    # Its "not available" is no problem of this rollout: the board is named instead.
    assert status["problems"] == []


def test_an_update_held_for_a_board_that_is_down_is_stuck() -> None:
    """The swarm's updater waits for each task it started, with no timeout:
    one on a board that died mid-update holds the update forever, and the
    other boards never get theirs."""
    live = fixture("swarm-service-web.json")
    live["UpdateStatus"] = {"State": "updating", "Message": "update in progress"}
    tasks = [task("running", node="n-master"), task("running", image="pirack/app-test:v0", node="n-w1"),
             task("assigned", node="n-w2"),
             task("shutdown", image="pirack/app-test:v0", desired="shutdown", node="n-w2")]
    status = readiness.swarm_rollout(live, tasks, 2, down={"n-w2"})
    assert not status["done"] and status["running"] == 1
    assert status["stuck"] == ["t-n-w2-assigned-00"]
    # Down but not (yet) known down: nothing to call stuck, the wait goes on.
    assert readiness.swarm_rollout(live, tasks, 2)["stuck"] == []


def test_problems_come_from_the_current_template_only() -> None:
    """#27: a deploy of a new version failed naming "No such image" of the
    version before it: rejected tasks of an earlier rollout, still in the
    service's task history, are not this rollout's problem."""
    live = fixture("swarm-service-web.json")
    live["Spec"]["TaskTemplate"]["ForceUpdate"] = 4
    tasks = [task("running", node="n-master", force=4),
             task("rejected", image="pirack/app-test:v0", desired="shutdown", node="n-w1",
                  err="No such image: pirack/app-test:v0@sha256:0123", force=4),
             task("rejected", desired="shutdown", node="n-w1", err="cannot create a swarm scoped network when "
                  "swarm is not active", force=3),
             task("pending", node="n-w1", err="no suitable node", force=4)]
    assert readiness.swarm_rollout(live, tasks, 2)["problems"] == ["pending: no suitable node"]
    # The same image before the last forced update is an earlier rollout too.
    assert readiness.swarm_rollout(live, [task("running", force=3)], 1)["running"] == 0
    assert readiness.swarm_rollout(live, [task("running", force=4)], 1)["running"] == 1


def test_a_rollout_on_a_rack_whose_worker_died_mid_update() -> None:
    """Recorded (tests/unit/fixtures/app/swarm-board-down-*.json): rng's
    update held by the task on the dead faults-c1-worker2, then restarted
    (the driver's restart_update), then the board powered back."""
    verdicts = {}
    for name in ("held", "restarted", "back"):
        answers = fixture(f"swarm-board-down-{name}.json")
        nodes, down = answers["nodes"], readiness.down_nodes(answers["nodes"])
        status = readiness.swarm_rollout(answers["service"], answers["tasks"], readiness.eligible_nodes(nodes, {}),
                                         down)
        verdicts[name] = (status["done"], status["running"], status["expected"], len(status["stuck"]),
                          readiness.swarm_boards_down(nodes, {}), status["problems"])
    assert verdicts == {
        # The two boards that are up run the new spec; the update waits for the third.
        "held": (False, 2, 2, 1, ["faults-c1-worker2"], []),
        "restarted": (True, 2, 2, 0, ["faults-c1-worker2"], []),
        # Powered back, the board runs the new spec by itself.
        "back": (True, 3, 3, 0, [], []),
    }


def test_boards_down_are_the_down_nodes_a_global_service_belongs_on() -> None:
    nodes = [dict(node({"pirack.role": "master"}), ID="m", Description={"Hostname": "c1-master"}),
             dict(node({"pirack.role": "worker"}, state="down"), ID="w1", Description={"Hostname": "c1-worker1"}),
             dict(node({"pirack.role": "worker"}, state="down", availability="drain"), ID="w2",
                  Description={"Hostname": "c1-worker2"}),
             dict(node({"pirack.role": "worker"}, state="unknown"), ID="w3", Description={"Hostname": "c1-worker3"})]
    assert readiness.down_nodes(nodes) == {"w1": "c1-worker1", "w2": "c1-worker2"}
    assert readiness.swarm_boards_down(nodes, {}) == ["c1-worker1"]
    assert readiness.swarm_boards_down(nodes, {"role": "master"}) == []


def test_desired_view_drops_only_what_the_engine_cannot_report() -> None:
    web = normalize({"name": "demo", "services": {"web": {
        "image": "pirack/web:1", "ports": [{"port": 80}, {"port": 81, "published": 8081}],
        "volumes": [{"name": "d", "path": "/d"}]}}}).services["web"]
    view = app_swarm.desired_view(web).as_dict()
    assert view["ports"] == [{"port": 81, "published": 8081, "protocol": "tcp"}]
    assert view["volumes"] == [{"name": "d", "path": "/d", "size": None}]
    assert web.volumes[0].size == "1Gi", "the model itself is untouched"


def test_a_stateless_service_starts_its_new_task_first() -> None:
    """A failed pull then leaves the old task running instead of none."""
    spec = app_swarm.render_service("apptest", "echo", model().services["echo"])
    assert spec["UpdateConfig"]["Order"] == "start-first"

"""The faults a real rack meets, on a simulated rack of one master and two workers.

Each test cuts something the way it fails on a Pi rack (power, network, the
engine, SSH, the disk under redis), watches the coin-miner's ``hashes``
counter through the webui while it happens, and checks the rack recovers:
by itself where a Pi rack must (power back, network back), with the next
``site.yml`` where an operator would run it. Every test is bounded in time,
undoes its fault in ``finally`` and prints what it measured for
BENCHMARKS.md ("fault <name>: ...").

The rack is shared by the tests of this file, which run in file order; each
starts from a converged rack: before it, the rack is checked (boards up,
every node ready, every service at its count, the web UI answering) and,
when that fails or the test before it failed, converged again with
``site.yml``, or built anew when even that fails. A fault that must strike
mid-run waits for the run to reach a named task, never for a number of
seconds. It takes about 25 minutes in all: `make faults` runs the whole file
on a rack of its own. The two cheapest (marked ``cheap``) also run in `make
test`, on the e2e test's rack, which hands it over through
``PIRACK_FAULTS_RACK`` (a JSON object with the keys of ``OWN_RACK`` below)
so no second rack is built.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pytest
import yaml
from rackkit import (
    APP,
    ROOT,
    LiveRun,
    Manager,
    Sampler,
    changed_hosts,
    controller_docker,
    decreases,
    hash_rate,
    read_hashes,
    recap,
    simulated_rack,
    wait_for,
)
from rackkit import run as run_in

WORK = ROOT / "build" / "faults"
# The rack this file builds for itself (make faults).
OWN_RACK = {
    "name": "faults",
    "prefix": "10.99.8",
    "ssh_port_base": 3100,
    "inventory": str(WORK / "hosts.yml"),
    "key": str(WORK / "state" / "id_ed25519"),
}
GIVEN = json.loads(os.environ.get("PIRACK_FAULTS_RACK") or "null")
RACK = GIVEN or OWN_RACK
MASTER = f"{RACK['name']}-c1-master"
WORKERS = (f"{RACK['name']}-c1-worker1", f"{RACK['name']}-c1-worker2")
WEBUI = f"http://{RACK['prefix']}.10:8000"
SITE_VARS = {"pirack_benchmark": False, "coinminer_workers": 2}
AOF_WINDOW_SECONDS = 1.0  # appendfsync everysec, coinminer/redis/redis.conf
RECOVERY_TIMEOUT = 180.0
PARTITION_SECONDS = 60.0
run = partial(run_in, logs=WORK)


def ssh_port(board: str) -> int:
    """The board's SSH port on the controller: base + 10 × cluster (+ worker number)."""
    index = 0 if board == MASTER else int(board.rsplit("worker", 1)[1])
    return RACK["ssh_port_base"] + 10 + index


def board(name: str) -> Manager:
    """Docker on a board over SSH, as an operator would run it."""
    return Manager(f"pi@127.0.0.1:{ssh_port(name)}", RACK["key"])


def on_board(name: str, *argv: str, timeout: float = 60) -> str:
    """A root command inside a board (through its container, so it works while SSH does not)."""
    done = subprocess.run(["docker", "exec", name, *argv], capture_output=True, text=True, timeout=timeout,
                          check=False)
    assert done.returncode == 0, f"{' '.join(argv)} on {name}: {done.stderr.strip()}"
    return done.stdout


def ssh_answers(name: str) -> bool:
    probe = subprocess.run([*board(name).ssh, "true"], capture_output=True, timeout=20, check=False)
    return probe.returncode == 0


def tasks_settled(manager: Manager, service: str, replicas: int) -> bool:
    """Exactly ``replicas`` tasks run and none more is wanted: no extra copies."""
    out = manager.docker("service", "ps", f"{APP}_{service}", "--filter", "desired-state=running",
                         "--format", "{{.Node}} {{.CurrentState}}")
    lines = [line.split() for line in out.splitlines() if line.strip()]
    return len(lines) == replicas and all(parts[1:2] == ["Running"] for parts in lines)


def source_version(name: str, version: str) -> Path:
    """A copy of the coin-miner's source whose VERSION says ``version``: a
    build of it is a new image of every service, pushed under a new digest."""
    source = WORK / f"src-{name}"
    shutil.rmtree(source, ignore_errors=True)
    shutil.copytree(ROOT / "coinminer", source, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    (source / "common" / "VERSION").write_text(f"{version}\n")
    return source


def site_with_warnings(extra: dict, inventory: str = RACK["inventory"]) -> tuple[str, float, int]:
    """A site.yml run whose output holds its warnings too (Ansible writes them to stderr)."""
    return LiveRun("ansible-playbook", "site.yml", "-i", inventory, extra=extra, logs=WORK).finish(1800)


def converge(extra: dict, inventory: str = RACK["inventory"]) -> tuple[str, float]:
    """A site.yml run that must reach every board and fail on none: output and seconds."""
    out, took, code = site_with_warnings(extra, inventory)
    hosts = recap(out)
    assert code == 0 and all(h["failed"] == 0 and h["unreachable"] == 0 for h in hosts.values()), (
        f"site.yml exited {code}: {hosts}\n{out[-3000:]}")
    return out, took


def swarm_state(name: str) -> str:
    """The board's LocalNodeState, read inside it (its SSH may be what is broken)."""
    return on_board(name, "docker", "info", "--format", "{{.Swarm.LocalNodeState}}").strip()


def warnings_about(out: str, board_name: str) -> list[str]:
    """The run's warnings that name ``board_name``."""
    return [line.strip() for line in out.splitlines() if "[WARNING]" in line and board_name in line]


@contextmanager
def watching_counter() -> Iterator[Sampler]:
    """Sample the counter for the length of the block; it must never go down."""
    sampler = Sampler(WEBUI)
    sampler.start()
    try:
        yield sampler
    finally:
        sampler.stop()
    assert not decreases(sampler.samples), f"hashes went down: {decreases(sampler.samples)}"


class Rack:
    """The rack the faults share, what was measured on it, and whether the
    next fault has to find it converged first."""

    def __init__(self, settings: dict) -> None:
        self.settings = settings  # empty: a rack handed over, not ours to rebuild
        self.timings: dict[str, float] = {}
        self.dirty = False

    def site(self) -> tuple[str, float, int]:
        return run("ansible-playbook", "site.yml", "-i", RACK["inventory"], extra=SITE_VARS, check=False)

    def rebuild(self) -> None:
        """A new rack under the same names, converged."""
        run("ansible-playbook", "playbooks/rack_down.yml", extra={"sim_rack_name": RACK["name"]})
        run("ansible-playbook", "playbooks/rack_up.yml", extra=self.settings)
        run("ansible-playbook", "site.yml", "-i", RACK["inventory"], extra=SITE_VARS)


def problems() -> list[str]:
    """What keeps the rack from being the converged one a fault starts from."""
    found = []
    for name in (MASTER, *WORKERS):
        running = subprocess.run(["docker", "inspect", "--format", "{{.State.Running}}", name],
                                 capture_output=True, text=True, check=False).stdout.strip()
        if running != "true":
            found.append(f"{name} is not running")
        elif not ssh_answers(name):
            found.append(f"{name} does not answer SSH")
    if found:
        return found
    manager = board(MASTER)
    try:
        ready = manager.ready_nodes()
        counts = manager.docker("service", "ls", "--format", "{{.Name}} {{.Replicas}}")
    except AssertionError as exc:
        return [f"the manager does not answer: {exc}"]
    if ready != sorted((MASTER, *WORKERS)):
        found.append(f"ready nodes {ready}")
    found += [f"service {name} runs {count}" for name, count in (line.split()[:2] for line in counts.splitlines())
              if count.split("/")[0] != count.split("/")[-1]]
    if read_hashes(WEBUI) is None:
        found.append("the web UI does not answer")
    return found


@pytest.fixture(scope="module", name="rack")
def fixture_rack():
    if GIVEN:
        yield Rack({})
        return
    settings = {"sim_rack_name": RACK["name"], "sim_rack_subnet": f"{RACK['prefix']}.0/24",
                "sim_rack_ssh_port_base": RACK["ssh_port_base"], "sim_rack_workers": 2,
                "sim_rack_master_memory_mb": 2048, "sim_rack_inventory": RACK["inventory"],
                "sim_rack_state_dir": os.path.dirname(RACK["key"])}
    with simulated_rack(settings, WORK, "faults") as timings:
        rack = Rack(settings)
        rack.timings = timings
        _, timings["site_first"], _ = run("ansible-playbook", "site.yml", "-i", RACK["inventory"], extra=SITE_VARS)
        yield rack


@pytest.fixture(autouse=True)
def converged(rack: Rack, request: pytest.FixtureRequest) -> Iterator[None]:
    """Each fault starts from a converged rack, whatever the one before did."""
    found = problems()
    if rack.dirty or found:
        why = "; ".join(found) or "the fault before it failed"
        _, took, code = rack.site()
        if code != 0 or problems():
            if not rack.settings:
                pytest.fail(f"the rack handed over is not converged ({why}) and site.yml does not fix it")
            rack.rebuild()
            print(f"\nrack rebuilt before {request.node.name} ({why})")
        else:
            print(f"\nrack converged again before {request.node.name} in {took:.1f}s ({why})")
        rack.dirty = False
    yield
    report = getattr(request.node, "report_call", None)
    rack.dirty = rack.dirty or report is None or report.failed


@pytest.mark.cheap
def test_engine_restart_on_a_worker(rack):
    """e. The engine restarts on a worker: its tasks are back within a bounded time."""
    manager = board(MASTER)
    victim = WORKERS[0]
    before = sorted(manager.running_tasks("rng"))
    assert victim in before, f"rng is global and should run on {victim}: {before}"
    with watching_counter():
        start = time.monotonic()
        on_board(victim, "systemctl", "restart", "docker", timeout=120)
        wait_for(f"rng running on {victim} again", lambda: victim in manager.running_tasks("rng"),
                 RECOVERY_TIMEOUT, interval=1)
        took = time.monotonic() - start
        wait_for("webui counts", lambda: hash_rate(WEBUI, 3) > 0, RECOVERY_TIMEOUT)
    rack.timings["engine_restart_recovery"] = took
    print(f"\nfault engine-restart: {victim}'s tasks back {took:.1f}s after `systemctl restart docker`")
    assert sorted(manager.running_tasks("rng")) == before


def test_master_power_cut_and_back(rack):
    """a. The master loses power (SIGKILL, no clean shutdown) and gets it back:
    the app comes back by itself, the counter loses at most the AOF window,
    the next site.yml converges and the one after changes nothing."""
    rate = hash_rate(WEBUI, 5)
    assert rate > 0, "the app mines nothing before the power cut"
    acknowledged = wait_for("webui answers", lambda: read_hashes(WEBUI), 30)
    controller_docker("kill", "--signal", "KILL", MASTER)
    cut = time.monotonic()
    try:
        controller_docker("start", MASTER)
        back = wait_for("webui answers after the power cut", lambda: read_hashes(WEBUI), RECOVERY_TIMEOUT, 1)
        answered = time.monotonic() - cut
        wait_for("mining resumes", lambda: (read_hashes(WEBUI) or 0) > int(back), RECOVERY_TIMEOUT, 1)
        resumed = time.monotonic() - cut
    finally:
        controller_docker("start", MASTER)  # a no-op when it already runs
    allowed = math.ceil(rate * AOF_WINDOW_SECONDS)
    lost = max(0, int(acknowledged) - int(back))
    rack.timings["master_power_cut_resumed"] = resumed
    print(f"\nfault master-power-cut: webui back after {answered:.1f}s, mining after {resumed:.1f}s; "
          f"{acknowledged} hashes acknowledged, {back} after ({lost} lost, {allowed} allowed)")
    assert lost <= allowed, f"{lost} acknowledged hashes lost; the AOF window allows {allowed}"

    wait_for("SSH on the master", lambda: ssh_answers(MASTER), RECOVERY_TIMEOUT, 2)
    _, rack.timings["site_after_power_cut"] = converge(SITE_VARS)
    again, _, _ = run("ansible-playbook", "site.yml", "-i", RACK["inventory"], extra=SITE_VARS)
    assert not changed_hosts(again), f"the run after recovery changed: {changed_hosts(again)}"


def test_network_partition_of_a_worker(rack):
    """c. A worker is cut off from the rack network for a minute, then back:
    its tasks run elsewhere within a bounded time, no extra replicas remain
    once it returns, and the counter never decreases."""
    manager = board(MASTER)
    replicas = manager.replicas("worker")
    placed = manager.running_tasks("worker")
    victim = next((w for w in WORKERS if w in placed), WORKERS[-1])
    with watching_counter():
        controller_docker("network", "disconnect", RACK["name"], victim)
        cut = time.monotonic()
        try:
            def moved() -> bool:
                nodes = manager.running_tasks("worker")
                return len(nodes) == replicas and victim not in nodes

            wait_for(f"miners running without {victim}", moved, RECOVERY_TIMEOUT, interval=2)
            moved_after = time.monotonic() - cut
            time.sleep(max(0.0, PARTITION_SECONDS - (time.monotonic() - cut)))
        finally:
            controller_docker("network", "connect", "--ip", f"{RACK['prefix']}.1{victim[-1]}", RACK["name"], victim)
        healed = time.monotonic()
        wait_for(f"{victim} ready again", lambda: victim in manager.ready_nodes(), RECOVERY_TIMEOUT, 2)
        wait_for(f"exactly {replicas} miners", lambda: tasks_settled(manager, "worker", replicas),
                 RECOVERY_TIMEOUT, 2)
        settled = time.monotonic() - healed
        assert hash_rate(WEBUI, 5) > 0, "not mining after the partition healed"
    print(f"\nfault partition: {victim}'s miners ran elsewhere after {moved_after:.1f}s; "
          f"{settled:.1f}s after the network came back it was ready with {replicas} miners, no extra")


@pytest.mark.cheap
def test_truncated_aof(rack):
    """g. Power cut mid-write leaves a torn record at the end of the AOF:
    redis starts anyway and the loss stays within the window."""
    manager = board(MASTER)
    rate = hash_rate(WEBUI, 5)
    sampler = Sampler(WEBUI)
    sampler.start()
    manager.docker("service", "scale", "--detach=false", f"{APP}_redis=0")
    try:
        # The last count the webui saw before redis went away is the last
        # one acknowledged. Then the newest incremental AOF loses the end of
        # its last record, as a write cut by power loss would leave it.
        acknowledged = max(sampler.stop())
        script = ("set -e; f=$(ls -1 /data/appendonlydir/*.incr.aof | sort -V | tail -1); "
                  "size=$(stat -c %s \"$f\"); truncate -s $((size - 5)) \"$f\"; echo \"$f $size\"")
        # redis's own image: the one image sure to be on the board that
        # holds the volume (a board has no base image of its own to run).
        image = manager.docker("service", "inspect", "--format",
                               "{{.Spec.TaskTemplate.ContainerSpec.Image}}", f"{APP}_redis").strip()
        torn = manager.docker("run", "--rm", "--user", "0", "--entrypoint", "sh",
                              "-v", f"{APP}_redis-data:/data", image, "-c", script).strip()
    finally:
        manager.docker("service", "scale", "--detach=false", f"{APP}_redis=1")
    back = wait_for("redis back behind the webui", lambda: read_hashes(WEBUI), RECOVERY_TIMEOUT, 1)
    allowed = math.ceil(rate * AOF_WINDOW_SECONDS)
    lost = max(0, int(acknowledged) - int(back))
    print(f"\nfault truncated-aof: cut 5 bytes off {torn}; {acknowledged} acknowledged, {back} after "
          f"({lost} lost, {allowed} allowed)")
    assert lost <= allowed
    assert hash_rate(WEBUI, 5) > 0, "mining did not resume"


def test_registry_down_during_a_rolling_update(rack):
    """d. The registry goes away between the push of a new version and its
    rollout: the app keeps mining (stateless services start their new task
    first, so a failed pull leaves the old one running), the run fails
    saying why, and the next run with the registry back completes it."""
    manager = board(MASTER)
    source = source_version("v2", "fault test v2")
    v2 = dict(SITE_VARS, coinminer_tag="v2", coinminer_source_dir=str(source), coinminer_wait_timeout=90)
    run("ansible-playbook", "playbooks/coinminer.yml", "-i", RACK["inventory"], "--tags", "build", extra=v2)
    on_board(MASTER, "systemctl", "stop", "docker-registry")
    try:
        with watching_counter():
            out, took, code = run("ansible-playbook", "playbooks/coinminer.yml", "-i", RACK["inventory"],
                                  "--tags", "deploy", extra=v2, check=False)
            rate = hash_rate(WEBUI, 5)
        assert code != 0, "the rollout reported success with the registry down"
        reason = next((line.strip() for line in out.splitlines()
                       if "the update stopped" in line or "not ready after" in line), "")
        assert reason, f"no clear reason in the failed run:\n{out[-3000:]}"
        assert rate > 0, "the app stopped mining while the update could not pull"
    finally:
        on_board(MASTER, "systemctl", "start", "docker-registry")
    _, resumed, _ = run("ansible-playbook", "playbooks/coinminer.yml", "-i", RACK["inventory"], extra=v2)
    images = {service: manager.docker("service", "inspect", f"{APP}_{service}", "--format",
                                      "{{.Spec.TaskTemplate.ContainerSpec.Image}}").strip()
              for service in ("rng", "hasher", "worker")}
    assert all(":v2@" in image for image in images.values()), images
    print(f"\nfault registry-down: the rollout failed after {took:.1f}s, mining {rate:.1f} hashes/s meanwhile "
          f"({reason[:160]}); with the registry back the next run completed it in {resumed:.1f}s")


def a_worker() -> tuple[str, str]:
    """(board, container id) of a running worker task."""
    for name in (MASTER, *WORKERS):
        ids = on_board(name, "docker", "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={APP}_worker")
        if ids.split():
            return name, ids.split()[0]
    raise AssertionError("no worker task runs on any board")


def worker_health(name: str, container: str) -> str:
    """The worker's /healthz answer (200 or 503), read inside its container:
    the worker's port is on the app network only."""
    script = ("import urllib.request, urllib.error\n"
              "try:\n    print(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=5).read().decode())\n"
              "except urllib.error.HTTPError as e:\n    print(e.read().decode())\n")
    return on_board(name, "docker", "exec", container, "python3", "-c", script)


@contextmanager
def small_disk(name: str, path: str, headroom_mb: int, stop: Callable[[], object],
               start: Callable[[], object]) -> Iterator[None]:
    """A tmpfs of the size of ``path``'s contents plus ``headroom_mb`` mounted
    over ``path`` on board ``name``, contents copied in; the contents go back
    to the board's own disk afterwards. What serves from ``path`` is stopped
    around each move (``stop``, ``start``), on every way out."""
    saved = f"/var/tmp/pirack-fault{path.replace('/', '-')}"
    stop()
    try:
        on_board(name, "sh", "-c", f"set -e; rm -rf {saved}; cp -a {path} {saved}; "
                 f"used=$(du -sm {path} | cut -f1); mount -t tmpfs -o size=$((used + {headroom_mb}))m "
                 f"pirack-fault {path}; cp -a {saved}/. {path}/")
    finally:
        start()
    try:
        yield
    finally:
        stop()
        try:
            on_board(name, "sh", "-c", f"set -e; rm -f {path}/pirack-filler; rm -rf {saved}; "
                     f"cp -a {path} {saved}; umount {path}; find {path} -mindepth 1 -delete; "
                     f"cp -a {saved}/. {path}/; rm -rf {saved}")
        finally:
            start()


def fill(name: str, path: str) -> None:
    """Fill the filesystem under ``path`` to the last byte."""
    on_board(name, "sh", "-c", f"dd if=/dev/zero of={path}/pirack-filler bs=64k 2>/dev/null; true")


def test_full_disk_on_the_master(rack):
    """f. The disk under redis fills up: redis refuses writes (MISCONF), the
    worker's /healthz and log say why and its counts wait; once space is
    freed mining resumes and no acknowledged count is lost. A push to a
    registry whose disk is full fails saying so."""
    manager = board(MASTER)
    data = on_board(MASTER, "docker", "volume", "inspect", f"{APP}_redis-data", "--format",
                    "{{.Mountpoint}}").strip()
    scale = partial(manager.docker, "service", "scale", "--detach=false")
    with watching_counter() as sampler:
        with small_disk(MASTER, data, 16, lambda: scale(f"{APP}_redis=0"), lambda: scale(f"{APP}_redis=1")):
            wait_for("mining on the small disk", lambda: (read_hashes(WEBUI) or 0) > max(sampler.samples or [0]),
                     RECOVERY_TIMEOUT, 1)
            fill(MASTER, data)
            full = time.monotonic()
            where = a_worker()
            health = wait_for("the worker's /healthz names the full disk",
                              lambda: (lambda h: h if "MISCONF" in h else None)(worker_health(*where)), 60, 2)
            refused = time.monotonic() - full
            logs = on_board(where[0], "sh", "-c", f"docker logs --since 2m {where[1]} 2>&1")
            assert "MISCONF" in logs, f"the worker's log does not say why:\n{logs[-2000:]}"
            held = wait_for("the counter holds", lambda: read_hashes(WEBUI), 30)
            time.sleep(5)
            assert (read_hashes(WEBUI) or 0) == held, "redis took writes on a full disk"
            freed = time.monotonic()
            on_board(MASTER, "rm", "-f", f"{data}/pirack-filler")
            wait_for("mining after space was freed", lambda: (read_hashes(WEBUI) or 0) > held,
                     RECOVERY_TIMEOUT, 1)
            resumed = time.monotonic() - freed
            acknowledged = read_hashes(WEBUI)
        back = wait_for("redis back on its own disk", lambda: read_hashes(WEBUI), RECOVERY_TIMEOUT, 1)
    assert back >= acknowledged, f"{acknowledged - back} acknowledged hashes lost moving redis back"
    print(f"\nfault full-disk: the worker reported MISCONF {refused:.1f}s after the disk filled "
          f"({' '.join(health.split())[:160]}); mining resumed {resumed:.1f}s after space was freed; "
          f"{acknowledged} acknowledged, {back} after, 0 lost")

    registry = yaml.safe_load(on_board(MASTER, "cat", "/etc/docker/registry/config.yml"))
    storage = registry["storage"]["filesystem"]["rootdirectory"]
    service = partial(on_board, MASTER, "systemctl")
    with small_disk(MASTER, storage, 1, lambda: service("stop", "docker-registry"),
                    lambda: service("start", "docker-registry")):
        fill(MASTER, storage)
        source = source_version("full", "fault test full registry")
        out, _, code = run("ansible-playbook", "playbooks/coinminer.yml", "-i", RACK["inventory"],
                           "--tags", "build", extra=dict(SITE_VARS, coinminer_tag="full",
                                                         coinminer_source_dir=str(source)), check=False)
    assert code != 0, "a push to a full registry reported success"
    reason = next((line.strip() for line in out.splitlines() if "no space left" in line.lower()), "")
    assert reason, f"the failed push does not say the registry's disk is full:\n{out[-3000:]}"
    print(f"fault full-registry: the push failed with: {reason[:200]}")


def test_worker_powered_off_before_site(rack):
    """j. A worker is off when site.yml starts (its power supply died in the
    night) and the run rolls out a change of the global rng: the run
    reports the board unreachable, finishes the deploy on the boards that
    are up without waiting for it and names it; powered back, the board runs
    rng's new spec by itself; the next run converges."""
    dead = WORKERS[1]
    manager = board(MASTER)
    changed = dict(SITE_VARS, coinminer_overrides={"rng": {"env": {"PIRACK_FAULT": "worker-off"}}})
    controller_docker("kill", "--signal", "KILL", dead)
    try:
        out, took, code = site_with_warnings(changed)
        rate = hash_rate(WEBUI, 5)
    finally:
        controller_docker("start", dead)
    back = time.monotonic()
    hosts = recap(out)
    assert code != 0, "site.yml reported success with a board powered off"
    assert hosts[dead]["unreachable"] > 0, hosts
    assert hosts[MASTER]["failed"] == 0 and hosts[MASTER]["unreachable"] == 0, hosts
    named = [w for w in warnings_about(out, dead) if "rng" in w]
    assert named, f"the deploy does not name {dead} as down:\n{out[-3000:]}"
    assert rate > 0, "not mining on the boards that are up"
    wanted = manager.docker("service", "inspect", f"{APP}_rng", "--format",
                            "{{json .Spec.TaskTemplate.ContainerSpec.Env}}")
    assert "PIRACK_FAULT=worker-off" in wanted, wanted

    def new_rng_on(node: str) -> bool:
        out = manager.docker("service", "ps", f"{APP}_rng", "--filter", f"node={node}", "--filter",
                             "desired-state=running", "--format", "{{.CurrentState}}")
        return out.startswith("Running") and node in manager.ready_nodes()

    wait_for(f"rng's new spec running on {dead}", lambda: new_rng_on(dead), RECOVERY_TIMEOUT, 2)
    returned = time.monotonic() - back
    _, converged_in = converge(changed)
    print(f"\nfault worker-off-before-site: site.yml took {took:.1f}s with {dead} off, mining {rate:.1f} "
          f"hashes/s ({named[0][:160]}); powered back, it ran rng's new spec {returned:.1f}s later by itself; "
          f"the next run converged in {converged_in:.1f}s")


def test_worker_power_cut_and_ssh_drop_during_site(rack):
    """b + h. While site.yml rolls out a new version, one worker's sshd
    restarts (when the run reaches the swarm role) and another loses power
    (when it reaches the deploy): the run reports the dead board
    unreachable, pulls the new images by digest on the boards that are up,
    the restarted one included, and finishes the deploy without waiting for
    the dead one; powered back, that board runs the new version by itself,
    and the next run converges."""
    dead, dropped = WORKERS[1], WORKERS[0]
    manager = board(MASTER)
    new = dict(SITE_VARS, coinminer_tag="fault-b", coinminer_source_dir=str(source_version("b", "fault test b")))
    live = LiveRun("ansible-playbook", "site.yml", "-i", RACK["inventory"], extra=new, logs=WORK)
    try:
        live.reached("TASK [pirack.cluster.swarm : ", 900)
        on_board(dropped, "sh", "-c", "systemctl restart ssh; pkill -f '^sshd: pi' || true")
        deploy = live.reached("TASK [pirack.cluster.coinminer : Apply the app spec]", 900)
        controller_docker("kill", "--signal", "KILL", dead)
        with watching_counter():
            deployed = live.reached("TASK [pirack.cluster.coinminer : The webui counts hashes]", 600) - deploy
            out, _, code = live.finish(900)
    finally:
        live.stop()
        controller_docker("start", dead)
    back = time.monotonic()
    (WORK / "site-during-faults.log").write_text(out)
    hosts = recap(out)
    assert code != 0, "site.yml reported success with a board powered off"
    assert hosts[dead]["unreachable"] > 0, hosts
    assert hosts[MASTER]["failed"] == 0 and hosts[MASTER]["unreachable"] == 0, hosts
    assert any("rng" in w for w in warnings_about(out, dead)), f"the deploy does not name {dead}:\n{out[-3000:]}"
    images = manager.task_images("rng")
    assert sorted(images) == sorted((MASTER, dropped)), images
    assert all(":fault-b@sha256:" in image for image in images.values()), images

    wait_for(f"SSH on {dead}", lambda: ssh_answers(dead), RECOVERY_TIMEOUT, 2)
    wait_for(f"the new rng on {dead}", lambda: ":fault-b@" in manager.task_images("rng").get(dead, ""),
             RECOVERY_TIMEOUT, 2)
    returned = time.monotonic() - back
    _, took = converge(new)
    print(f"\nfault worker-power-cut+ssh-drop: the run reported {dead} unreachable; the deploy finished "
          f"{deployed:.1f}s after its start without it ({dropped} pulled the new images after its sshd "
          f"restarted); powered back, {dead} ran the new rng {returned:.1f}s later by itself; the next run "
          f"converged in {took:.1f}s")


def test_master_gone_for_good(rack):
    """i. The master is lost for good and the other worker's engine restarts
    meanwhile (it comes back pending, asking for a manager that never
    answers): the operator makes a worker the cluster's master in the
    inventory and runs site.yml (docs/operations.md), nothing else. Each
    worker leaves the old swarm by itself and says so; the app comes back on
    the new master; the counts the old master's redis held are gone with it."""
    new_master, other = WORKERS
    inventory = yaml.safe_load(Path(RACK["inventory"]).read_text(encoding="utf-8"))
    groups = inventory["all"]["children"]
    # Its SD card goes with it: the board and the volume holding its engine.
    controller_docker("rm", "--force", "--volumes", MASTER)
    controller_docker("volume", "rm", "--force", f"{MASTER}-docker")
    on_board(other, "systemctl", "restart", "docker", timeout=120)
    wait_for(f"{other} pending towards the lost master", lambda: swarm_state(other) == "pending", 120, 2)
    before = {name: swarm_state(name) for name in WORKERS}
    for group in groups.values():
        (group.get("hosts") or {}).pop(MASTER, None)
    groups["masters"]["hosts"] = {new_master: groups["workers"]["hosts"].pop(new_master)}
    replaced = WORK / "replaced.yml"
    replaced.write_text(yaml.safe_dump(inventory, sort_keys=False))
    try:
        out, took = converge(SITE_VARS, str(replaced))
        assert set(recap(out)) == set(WORKERS), recap(out)
        said = {name: [w for w in warnings_about(out, name) if "left its swarm" in w] for name in WORKERS}
        assert all(said.values()), f"a board left its swarm without saying so: {said}"
        address = groups["masters"]["hosts"][new_master]["pirack_node_address"]
        webui = f"http://{address}:8000"
        rate = hash_rate(webui, 5)
        assert rate > 0, f"the new master's webui at {webui} shows no mining"
        assert sorted(board(new_master).ready_nodes()) == sorted(WORKERS)
        again, _, _ = run("ansible-playbook", "site.yml", "-i", str(replaced), extra=SITE_VARS)
        assert not changed_hosts(again), f"the run after the replacement changed: {changed_hosts(again)}"
    finally:
        rack.dirty = True  # the rack has no master of its inventory any more
    print(f"\nfault master-gone: {new_master} took over in one site.yml run of {took:.1f}s (before it "
          f"{', '.join(f'{k} {v}' for k, v in before.items())}; {said[other][0][:140]}); mining {rate:.1f} "
          f"hashes/s from {webui}")

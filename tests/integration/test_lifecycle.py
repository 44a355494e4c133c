"""A rack operator's lifecycle, on a simulated rack of two clusters.

Two clusters of one Pi 4 master and one Pi 3B+ worker (their own network,
ports and inventory, so a user's rack is left alone), driven the way an
operator would with the collection's playbooks:

1. site.yml with cluster 2's master switched off: cluster 1 still ends up
   mining; only cluster 2 fails. The next run converges cluster 2 too.
2. A second run of site.yml changes nothing on either cluster.
3. A rolling update of cluster 1 to a new image tag, the hash counter
   never going down while it rolls.
4. Cluster 2's worker moves to cluster 1 while both apps run (under -vvv,
   no swarm join token shows).
5. shutdown.yml stops the app cleanly; coinminer.yml brings it back with
   the counters kept.
6. reset.yml removes everything the collection installed.

It takes about 14 minutes, so `make test` leaves it out: run it with
`make lifecycle`. The tests depend on each other and run in file order.
"""

from __future__ import annotations

import time
from functools import partial

import pytest
import yaml
from rackkit import (
    APP,
    ROOT,
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

WORK = ROOT / "build" / "lifecycle"
INVENTORY = WORK / "hosts.yml"
MOVED = WORK / "moved.yml"
RACK = {
    "sim_rack_name": "life",
    "sim_rack_subnet": "10.99.7.0/24",
    "sim_rack_ssh_port_base": 3000,
    "sim_rack_clusters": 2,
    "sim_rack_workers": 1,
    "sim_rack_master_memory_mb": 2048,
    "sim_rack_inventory": str(INVENTORY),
    "sim_rack_state_dir": str(WORK / "state"),
}
SITE_VARS = {"pirack_benchmark": False}
WEBUI = {1: "http://10.99.7.10:8000", 2: "http://10.99.7.20:8000"}
MOVER = "life-c2-worker1"
KEY = str(WORK / "state" / "id_ed25519")
run = partial(run_in, logs=WORK)


def manager(cluster: int) -> Manager:
    return Manager(f"pi@127.0.0.1:{RACK['sim_rack_ssh_port_base'] + 10 * cluster}", KEY)


def mining(cluster: int) -> bool:
    return hash_rate(WEBUI[cluster], 3) > 0


def service_names(cluster: int) -> list[str]:
    out = manager(cluster).docker("service", "ls", "--format", "{{.Name}}")
    return sorted(name for name in out.split() if name.startswith(f"{APP}_"))


@pytest.fixture(scope="module", name="rack")
def fixture_rack():
    with simulated_rack(RACK, WORK, "lifecycle") as timings:
        yield timings


def test_a_cluster_that_is_down_does_not_stop_the_other(rack):
    controller_docker("stop", "--time", "5", "life-c2-master")
    try:
        out, rack["site_one_cluster_down"], code = run("ansible-playbook", "site.yml", "-i", str(INVENTORY),
                                                       extra=SITE_VARS, check=False)
    finally:
        controller_docker("start", "life-c2-master")
    hosts = recap(out)
    assert code != 0, "a run with a board down must say so"
    assert hosts["life-c2-master"]["unreachable"] >= 1, hosts
    for host in ("life-c1-master", "life-c1-worker1"):
        assert hosts[host]["failed"] == 0 and hosts[host]["unreachable"] == 0, hosts
    assert wait_for("cluster 1 mines", lambda: mining(1), 60)


def test_the_next_run_converges_the_cluster_that_was_down(rack):
    run("ansible-playbook", "playbooks/rack_up.yml", extra=RACK)  # waits for its SSH
    out, rack["site_converge"], _ = run("ansible-playbook", "site.yml", "-i", str(INVENTORY), extra=SITE_VARS)
    hosts = recap(out)
    assert all(c["failed"] == 0 and c["unreachable"] == 0 for c in hosts.values()), hosts
    assert mining(1) and mining(2)
    assert manager(1).ready_nodes() == ["life-c1-master", "life-c1-worker1"]
    assert manager(2).ready_nodes() == ["life-c2-master", "life-c2-worker1"]


def test_rerun_changes_nothing_on_either_cluster(rack):
    out, rack["site_rerun"], _ = run("ansible-playbook", "site.yml", "-i", str(INVENTORY), extra=SITE_VARS)
    assert not changed_hosts(out), f"re-run changed something: {changed_hosts(out)}"


def test_rolling_update_to_a_new_tag_keeps_counting(rack):
    sampler = Sampler(WEBUI[1])
    sampler.start()
    try:
        _, rack["update_v2"], _ = run("ansible-playbook", "playbooks/coinminer.yml", "-i", str(INVENTORY),
                                      "--limit", "cluster1", extra={"coinminer_tag": "v2"})
        assert mining(1)
    finally:
        samples = sampler.stop()
    image = manager(1).docker("service", "inspect", f"{APP}_worker", "--format",
                              "{{.Spec.TaskTemplate.ContainerSpec.Image}}")
    assert ":v2@sha256:" in image, image
    assert len(samples) > 10 and not decreases(samples), decreases(samples)
    assert samples[-1] > samples[0]
    assert ":latest@" in manager(2).docker("service", "inspect", f"{APP}_worker", "--format",
                                           "{{.Spec.TaskTemplate.ContainerSpec.Image}}"), "--limit leaked"


def test_a_worker_moves_to_the_other_cluster_while_the_apps_run(rack):
    inventory = yaml.safe_load(INVENTORY.read_text())
    clusters = inventory["all"]["children"]
    clusters["cluster1"]["hosts"][MOVER] = clusters["cluster2"]["hosts"].pop(MOVER)
    MOVED.write_text(yaml.safe_dump(inventory, sort_keys=False))

    samplers = {c: Sampler(WEBUI[c]) for c in (1, 2)}
    for sampler in samplers.values():
        sampler.start()
    try:
        # -vvv: the join token the board is given must not show even then.
        out, rack["move_node"], _ = run("ansible-playbook", "-vvv", "playbooks/move_node.yml", "-i", str(MOVED),
                                        extra={"move_node": MOVER})
        assert "SWMTKN-" not in out, "a swarm join token was printed"
        # Cluster 1's global rng starts on the newcomer, pulling from cluster 1's registry.
        wait_for(f"rng running on {MOVER}", lambda: MOVER in manager(1).running_tasks("rng"), 180, interval=3)
        assert mining(1) and mining(2)
    finally:
        samples = {c: s.stop() for c, s in samplers.items()}
    assert manager(1).ready_nodes() == ["life-c1-master", "life-c1-worker1", MOVER]
    assert manager(2).ready_nodes() == ["life-c2-master"]
    label = manager(1).docker("node", "inspect", MOVER, "--format", '{{index .Spec.Labels "pirack.cluster"}}')
    assert label.strip() == "cluster1"
    for cluster, taken in samples.items():
        assert len(taken) > 10 and not decreases(taken), (cluster, decreases(taken))


def test_shutdown_then_start_keeps_the_counters(rack):
    before = wait_for("cluster 1's counter", lambda: read_hashes(WEBUI[1]), 30)
    _, rack["shutdown"], _ = run("ansible-playbook", "playbooks/shutdown.yml", "-i", str(MOVED))
    assert service_names(1) == [] and service_names(2) == []
    assert read_hashes(WEBUI[1]) is None, "the webui still answers after shutdown"

    _, rack["start_again"], _ = run("ansible-playbook", "playbooks/coinminer.yml", "-i", str(MOVED))
    after = wait_for("cluster 1's counter back", lambda: read_hashes(WEBUI[1]), 120)
    assert int(after) >= int(before), f"counter went from {before} to {after} across the shutdown"
    time.sleep(3)
    assert int(read_hashes(WEBUI[1]) or 0) > int(after), "mining did not resume"


def test_reset_removes_what_the_collection_installed(rack):
    _, rack["reset"], _ = run("ansible-playbook", "playbooks/reset.yml", "-i", str(MOVED))
    out, _, _ = run("ansible", "all", "-i", str(MOVED), "-b", "-m", "ansible.builtin.shell", "-a",
                    "echo engine=$(command -v dockerd || echo none) "
                    "registry=$(dpkg-query -W -f='${Status}' docker-registry 2>/dev/null | grep -c installed) "
                    "etc=$(ls -A /etc/docker 2>/dev/null | wc -l) pirack=$(ls -d /var/lib/pirack* 2>/dev/null | wc -l)")
    states = [line for line in out.splitlines() if line.startswith("engine=")]
    assert states == ["engine=none registry=0 etc=0 pirack=0"] * 4, out
    again, _, _ = run("ansible-playbook", "playbooks/reset.yml", "-i", str(MOVED))
    assert not changed_hosts(again), f"a second reset changed something: {changed_hosts(again)}"

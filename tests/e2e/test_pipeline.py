"""The whole pipeline, the way a user runs it, on a small simulated rack.

One master and two workers (the same playbooks `make rack` runs, with their
own network, ports and inventory so a user's rack is left alone): the rack
comes up, site.yml installs Docker, forms the cluster, deploys the
coin-miner and benchmarks it; then the checks a user would make, and a
re-run that must change nothing. Timings are printed for BENCHMARKS.md.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from functools import partial

import pytest
from rackkit import ROOT, changed_hosts, json_of, recap, simulated_rack
from rackkit import run as run_in

WORK = ROOT / "build" / "e2e"
INVENTORY = WORK / "hosts.yml"
KEY = WORK / "state" / "id_ed25519"
RACK = {
    "sim_rack_name": "e2e",
    "sim_rack_subnet": "10.99.5.0/24",
    "sim_rack_ssh_port_base": 2700,
    "sim_rack_workers": 2,
    "sim_rack_master_memory_mb": 2048,
    "sim_rack_inventory": str(INVENTORY),
    "sim_rack_state_dir": str(KEY.parent),
}
MASTER = "10.99.5.10"
# Short benchmark settings: the e2e proves the stage works end to end; the
# real measurements are made with the defaults and recorded in BENCHMARKS.md.
SITE_VARS = {
    "benchmark_results_dir": str(WORK / "results"),
    "pirack_benchmark_workers": [1, 2],
}
run = partial(run_in, logs=WORK)


@pytest.fixture(scope="module", name="rack")
def fixture_rack():
    with simulated_rack(RACK, WORK, "e2e") as timings:
        first, timings["site_first"], _ = run("ansible-playbook", "site.yml", "-i", str(INVENTORY), extra=SITE_VARS)
        yield {"first": first, "timings": timings}


def test_first_run_succeeds_on_every_host(rack):
    hosts = recap(rack["first"])
    assert set(hosts) >= {"e2e-c1-master", "e2e-c1-worker1", "e2e-c1-worker2"}
    assert all(h["failed"] == 0 and h["unreachable"] == 0 for h in hosts.values()), hosts


def test_engines_answer_on_every_host(rack):
    out, _, _ = run("ansible-playbook", "playbooks/docker_run.yml", "-i", str(INVENTORY),
                    extra={"op": "info", "target": "all"})
    for host in ("e2e-c1-master", "e2e-c1-worker1", "e2e-c1-worker2"):
        assert re.search(rf"{host}\s.*\bok\b", out, re.I), out[-3000:]


def test_swarm_formed_with_all_three_nodes(rack):
    out, _, _ = run("ansible", "e2e-c1-master", "-i", str(INVENTORY), "-b", "-m", "ansible.builtin.command",
                    "-a", "docker node ls")
    ready = [line for line in out.splitlines() if re.search(r"\se2e-c1-\S+\s+Ready\s+Active", line)]
    assert len(ready) == 3, out


def test_coinminer_mines(rack):
    first = json_of(f"http://{MASTER}:8000/json")
    time.sleep(5)
    second = json_of(f"http://{MASTER}:8000/json")
    assert second["hashes"] > first["hashes"] >= 0, (first, second)


def test_benchmark_report_written(rack):
    reports = list((WORK / "results").glob("*/report.md"))
    assert reports, f"no report under {WORK / 'results'}"
    text = reports[-1].read_text()
    assert "hashes/s" in text
    assert list(reports[-1].parent.glob("*.png")), "report has no plots"


def test_check_diff_on_converged_rack_changes_nothing(rack):
    out, _, _ = run("ansible-playbook", "site.yml", "-i", str(INVENTORY), "--check", "--diff", extra=SITE_VARS)
    hosts = recap(out)
    assert all(c["failed"] == 0 for c in hosts.values()), hosts
    changed = changed_hosts(out)
    assert not changed, f"--check on a converged rack would change: {changed}"


def test_rerun_changes_nothing(rack):
    again, took, _ = run("ansible-playbook", "site.yml", "-i", str(INVENTORY), extra=SITE_VARS)
    rack["timings"]["site_rerun"] = took
    changed = changed_hosts(again)
    assert not changed, f"re-run changed something: {changed}"


def test_cheap_faults(rack):
    """An engine restart on a worker and a torn AOF, on this rack
    (tests/integration/test_faults.py; `make faults` runs them all)."""
    env = dict(os.environ, PIRACK_FAULTS_RACK=json.dumps({
        "name": RACK["sim_rack_name"], "prefix": MASTER.rsplit(".", 1)[0],
        "ssh_port_base": RACK["sim_rack_ssh_port_base"], "inventory": str(INVENTORY), "key": str(KEY)}))
    proc = subprocess.run(["pytest", "-q", "-s", "-p", "no:cacheprovider", "-m", "cheap",
                           "tests/integration/test_faults.py"],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    print(proc.stdout[-2000:])
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " 2 passed" in proc.stdout and "skipped" not in proc.stdout


def test_failover_keeps_mining_and_counting(rack):
    """Stop a worker board and kill redis while the app runs (last: it
    leaves a board stopped)."""
    env = dict(os.environ,
               PIRACK_FAILOVER_WEBUI=f"http://{MASTER}:8000",
               PIRACK_FAILOVER_MANAGER="pi@127.0.0.1:2710",
               PIRACK_FAILOVER_SSH_KEY=str(KEY),
               PIRACK_FAILOVER_VICTIMS="e2e-c1-worker1,e2e-c1-worker2")
    proc = subprocess.run(["pytest", "-q", "-s", "-p", "no:cacheprovider", "tests/integration/test_failover.py"],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    print(proc.stdout[-2000:])
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "skipped" not in proc.stdout

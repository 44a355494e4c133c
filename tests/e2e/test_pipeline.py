"""The whole pipeline, the way a user runs it, on a small simulated rack.

One master and two workers (the same playbooks `make rack` runs, with their
own network, ports and inventory so a user's rack is left alone): the rack
comes up, site.yml installs Docker, forms the cluster, deploys the
coin-miner and benchmarks it; then the checks a user would make, and a
re-run that must change nothing. Timings are printed for BENCHMARKS.md.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import stat
import subprocess
import tempfile
import time
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path

import pytest
from rackkit import ROOT, changed_hosts, controller_docker, json_of, recap, simulated_rack
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
    # Container vs native was taken on a quiet board: its app paused, its load shown.
    assert re.search(r"\| e2e-c1-\S+ \| paused \(\d+ containers\) \| \d+\.\d\d \| \d+\.\d\d \|", text), text


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


def rack_secrets() -> dict[str, str]:
    """The secrets the roles generated for this rack, read where they keep
    them: the controller's per-inventory folder (pirack_secrets_dir's
    default), 0700 with 0600 files."""
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    folder = Path(data) / "pirack" / f"secrets-{hashlib.sha1(str(WORK.resolve()).encode()).hexdigest()[:12]}"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    redis = sorted(folder.glob("redis-*.password"))
    assert len(redis) == 1, sorted(folder.iterdir())  # one cluster, one redis password
    files = {"registry": folder / "registry.password", "redis": redis[0]}
    secrets = {}
    for name, path in files.items():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        secrets[name] = path.read_text().strip()
        assert len(secrets[name]) == 32, f"{path} does not hold a generated password"
    # How the registry login sits in root's ~/.docker/config.json on the boards.
    secrets["registry_auth"] = base64.b64encode(f"pirack:{secrets['registry']}".encode()).decode()
    return secrets


def leaks(text: str, secrets: dict[str, str]) -> list[str]:
    """Names of the secrets found in ``text`` (never the values)."""
    return [name for name, value in secrets.items() if value in text]


def newest_log(stem: str) -> str:
    """The whole log (stdout and stderr) of the latest run of a playbook."""
    return max(WORK.glob(f"{stem}-*.log"), key=os.path.getmtime).read_text()


def test_an_outsider_on_the_rack_network_is_refused(rack):
    """A machine on the rack's LAN that is not part of the app and holds no
    credential: the registry says 401 to pull, push and delete, redis is out
    of reach or wants the password, the Docker API is not listening, and the
    webui still answers."""
    out = controller_docker("run", "--rm", "--network", RACK["sim_rack_name"],
                            "-v", f"{ROOT / 'tests' / 'e2e' / 'outsider.py'}:/outsider.py:ro",
                            "--entrypoint", "python3", "pirack/pi-host:bookworm", "/outsider.py",
                            MASTER, "10.99.5.11", "10.99.5.12")
    seen = json.loads(out)
    print(json.dumps(seen, indent=1))
    assert seen["registry"] == {"ping": 401, "catalog": 401, "pull": 401, "push": 401, "delete": 401}, seen
    for board, answer in seen["redis"].items():
        # Not published (the app network is a non-attachable overlay): refused.
        assert answer in ("refused", "timeout") or answer.startswith(("unreachable", "-NOAUTH")), (board, answer)
    for endpoint, answer in seen["docker_api"].items():
        assert answer in ("refused", "timeout") or answer.startswith("unreachable"), (endpoint, answer)
    assert seen["webui"] == 200, seen


def test_secrets_never_show(rack):
    """The registry login and the redis password stay out of -vvv --diff
    output, docker inspect, process lists and files others can read."""
    secrets = rack_secrets()
    # Make the tasks that carry them really write: the boards' Docker login
    # and the registry's hash go, so this run puts them back.
    run("ansible", "all", "-i", str(INVENTORY), "-b", "-m", "ansible.builtin.file",
        "-a", "path=/root/.docker/config.json state=absent")
    run("ansible", "masters", "-i", str(INVENTORY), "-b", "-m", "ansible.builtin.file",
        "-a", "path=/etc/docker/registry/htpasswd state=absent")
    registry, _, _ = run("ansible-playbook", "playbooks/registry.yml", "-i", str(INVENTORY), "-vvv", "--diff")
    registry_log = newest_log("registry")
    run("ansible-playbook", "playbooks/coinminer.yml", "-i", str(INVENTORY), "-vvv", "--diff")
    coinminer_log = newest_log("coinminer")
    assert "ESTABLISH SSH CONNECTION" in registry_log
    assert "TASK [pirack.cluster.registry : Write a bcrypt hash of the password]" in registry_log
    assert "TASK [pirack.cluster.docker_engine : Trust the registries' CAs and log in to them]" in registry_log
    assert set(changed_hosts(registry)) == {"e2e-c1-master", "e2e-c1-worker1", "e2e-c1-worker2"}, recap(registry)
    assert "TASK [pirack.cluster.coinminer : Apply the app spec]" in coinminer_log
    assert not leaks(registry_log, secrets) and not leaks(coinminer_log, secrets)

    inspect, _, _ = run("ansible", "all", "-i", str(INVENTORY), "-b", "-m", "ansible.builtin.shell", "-a",
                        "docker inspect $(docker ps -aq); docker service inspect $(docker service ls -q) || true")
    assert "coinminer_redis" in inspect and "/run/secrets/redis-password" in inspect, inspect[-2000:]
    assert not leaks(inspect, secrets)

    processes, _, _ = run("ansible", "all", "-i", str(INVENTORY), "-b", "-m", "ansible.builtin.command",
                          "-a", "ps -eww -o args")
    assert "redis-server" in processes and "dockerd" in processes, processes[-2000:]
    controller = subprocess.run(["ps", "-eww", "-o", "args"], capture_output=True, text=True, check=True).stdout
    assert not leaks(processes, secrets) and not leaks(controller, secrets)

    with tempfile.TemporaryDirectory() as tmp:
        values = Path(tmp, "secrets.json")
        values.touch(mode=0o600)
        values.write_text(json.dumps({"e2e_secrets": list(secrets.values()), "e2e_report_dir": tmp}))
        run("ansible-playbook", "tests/e2e/secrets_at_rest.yml", "-i", str(INVENTORY), "-e", f"@{values}")
        found = {path.stem: json.loads(path.read_text()) for path in Path(tmp).glob("e2e-*.json")}
    assert set(found) == {"e2e-c1-master", "e2e-c1-worker1", "e2e-c1-worker2"}, found
    readable = [f"{host}: {line}" for host, lines in found.items() for line in lines if line.startswith("readable")]
    assert not readable, readable
    assert all("guarded /root/.docker/config.json" in lines for lines in found.values()), found


def certificate_end(host: str) -> datetime:
    out, _, _ = run("ansible", host, "-i", str(INVENTORY), "-b", "-m", "ansible.builtin.command",
                    "-a", "openssl x509 -noout -enddate -in /etc/docker/registry/tls/server.crt")
    when = re.search(r"notAfter=(.+ GMT)", out)
    assert when, out
    return datetime.strptime(when.group(1), "%b %d %H:%M:%S %Y %Z").replace(tzinfo=timezone.utc)


def test_registry_certificate_renews_before_it_expires(rack):
    """A certificate 10 days from its end is signed again by the same CA on
    the next run, and the boards pull through it with no step of theirs."""
    run("ansible", "masters", "-i", str(INVENTORY), "-b", "-m", "ansible.builtin.file",
        "-a", "path=/etc/docker/registry/tls/server.crt state=absent")
    run("ansible-playbook", "playbooks/registry.yml", "-i", str(INVENTORY), extra={"registry_cert_days": 10})
    now = datetime.now(timezone.utc)
    assert certificate_end("e2e-c1-master") < now + timedelta(days=11)
    renewal, _, _ = run("ansible-playbook", "playbooks/registry.yml", "-i", str(INVENTORY))
    assert "e2e-c1-master" in changed_hosts(renewal), recap(renewal)
    assert certificate_end("e2e-c1-master") > now + timedelta(days=800)
    pulled, _, _ = run("ansible", "workers", "-i", str(INVENTORY), "-b", "-m", "pirack.cluster.docker_op",
                       "-a", f"op=pull image={MASTER}:5000/pirack/coinminer-rng:latest")
    assert pulled.count(" | SUCCESS") + pulled.count(" | CHANGED") == 2, pulled
    settled, _, _ = run("ansible-playbook", "playbooks/registry.yml", "-i", str(INVENTORY))
    assert not changed_hosts(settled), recap(settled)


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
    assert re.search(r"\b2 passed", proc.stdout) and "skipped" not in proc.stdout, proc.stdout[-2000:]


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

"""The roles in someone else's playbook: the README's "Use a role in your own
playbook" project, run as its user would run it.

The collection is built and installed into an empty collections path with
the dependencies galaxy.yml declares (`make controller`, offline from the
`ansible` package's copies: tests/installkit.py), into a virtualenv of its
own. The user's project is a folder outside the checkout: their inventory
with their own groups (`server`, `agent`, `boards`; no `masters`,
`workers`, `clusterN` or `pirack_*`), their ansible.cfg naming only that
collections path, and the playbooks and app spec copied from the README
section, so the example and this test cannot drift. Two simulated boards
(a Pi 4 and a Pi 3B+, the sim_board module through rack_up) stand in for the
user's Pis; the playbooks reach them over SSH on forwarded ports, which is
why the inventory says where the boards reach each other (the README names
the four variables).

cluster.yml: docker_engine, swarm, registry and its trust, the app module
with the user's own spec, monitoring. k3s.yml: rpi_prep, then the k3s
server and agent up to the binary, where they stop for want of a k3s
artifact (no k3s can be downloaded here; molecule/k3s does the same). Then
both again: changed=0. It also checks what molecule/default used to: each
board boots systemd, logs in as pi with sudo, and shows its model's memory.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from installkit import ROOT, ansible_env, run
from rackkit import recap, simulated_rack, wait_for

RACK = {
    "sim_rack_name": "reuse",
    "sim_rack_subnet": "10.99.11.0/24",
    "sim_rack_ssh_port_base": 3300,
    "sim_rack_workers": 1,
    "sim_rack_master_memory_mb": 2048,
}
# The user's names for the two boards, the rack plan's ports and addresses.
BOARDS = {"pi-server": {"port": 3310, "lan_ip": "10.99.11.10", "memory": 2048},
          "pi-agent": {"port": 3311, "lan_ip": "10.99.11.11", "memory": 1024}}
TOKEN = "reuse-T0ken-%$x"
# The k3s role's stop for want of a k3s artifact, and the board it stopped.
STOP_AT_BINARY = "TASK [pirack.cluster.k3s : Stop with what went wrong"
MARK = re.compile(r"<!-- reuse-test: (\S+) -->\n```yaml\n(.*?)```", re.S)


def readme_files() -> dict[str, str]:
    """The project files of the README's "Use a role in your own playbook"."""
    files = dict(MARK.findall((ROOT / "README.md").read_text()))
    assert set(files) == {"cluster.yml", "hello.yml", "k3s.yml"}, sorted(files)
    return files


def inventory(key: Path) -> dict:
    """The user's inventory: their groups, the boards' forwarded SSH ports and
    where the boards reach each other (the README's four address variables)."""
    address = "{{ lan_ip }}"
    return {"all": {
        "children": {"boards": {"children": {
            "server": {"hosts": {"pi-server": None}},
            "agent": {"hosts": {"pi-agent": None}}}}},
        "hosts": {name: {"ansible_host": "127.0.0.1", "ansible_port": board["port"], "lan_ip": board["lan_ip"]}
                  for name, board in BOARDS.items()},
        "vars": {"ansible_user": "pi", "ansible_ssh_private_key_file": str(key),
                 "ansible_ssh_common_args": "-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no",
                 "k3s_token": TOKEN,
                 "swarm_advertise_address": address, "registry_address": address,
                 "monitoring_address": address, "k3s_node_address": address}}}


@pytest.fixture(scope="module", name="project")
def fixture_project(controller: dict, tmp_path_factory: pytest.TempPathFactory):
    """The user's project, outside the checkout, on two simulated boards."""
    home = tmp_path_factory.mktemp("reuse")
    assert ROOT not in home.parents
    rack = dict(RACK, sim_rack_state_dir=str(home / "rack"), sim_rack_inventory="")
    with simulated_rack(rack, ROOT / "build" / "reuse", "reuse") as timings:
        work = home / "project"
        work.mkdir()
        for name, text in readme_files().items():
            (work / name).write_text(text)
        (work / "hosts.yml").write_text(yaml.safe_dump(inventory(home / "rack" / "id_ed25519"), sort_keys=False))
        (work / "ansible.cfg").write_text(
            "[defaults]\n"
            f"collections_path = {controller['collections']}\n"
            "collections_scan_sys_path = False\n"
            "inventory = hosts.yml\nforks = 10\nhost_key_checking = False\n"
            "[ssh_connection]\npipelining = True\n")
        env = ansible_env(work, controller["collections"])
        # The user's shell: their virtualenv, no checkout on PATH, their own data folder.
        env.update(PATH=f"{controller['venv'] / 'bin'}:/usr/local/bin:/usr/bin:/bin",
                   XDG_DATA_HOME=str(home / "data"), HOME=str(home))
        env.pop("PYTHONPATH", None)
        yield {"work": work, "env": env, "timings": timings, "runs": {}}


def playbook(project: dict, name: str, label: str, *args: str) -> tuple[str, int]:
    start = time.monotonic()
    done = run(project["env"]["PATH"].split(":")[0] + "/ansible-playbook", name, *args, cwd=project["work"],
               env=project["env"], timeout=1200)
    project["timings"][label] = time.monotonic() - start
    out = done.stdout + done.stderr
    log = ROOT / "build" / "reuse" / f"{label}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(out)
    project["runs"][label] = (out, done.returncode)
    return out, done.returncode


@pytest.fixture(scope="module", name="converged")
def fixture_converged(project: dict) -> dict:
    """The server alone first, then the agent alone (--limit: it joins the
    swarm and trusts the registry by asking the server), then everything,
    k3s, and both again."""
    playbook(project, "cluster.yml", "cluster_server", "--limit", "server")
    playbook(project, "cluster.yml", "cluster_agent", "--limit", "agent")
    playbook(project, "cluster.yml", "cluster")
    # The server stops at its binary, which ends the run before the agents'
    # play; the agents go on alone, as a user would run them next.
    for again in ("", "_again"):
        playbook(project, "k3s.yml", "k3s" + again)
        playbook(project, "k3s.yml", "k3s_agent" + again, "--limit", "agent")
    playbook(project, "cluster.yml", "cluster_again")
    return project["runs"]


def test_nothing_of_the_checkout_is_on_any_path(project: dict) -> None:
    env = project["env"]
    for value in (env["PATH"], env["ANSIBLE_COLLECTIONS_PATH"], env["ANSIBLE_CONFIG"], str(project["work"])):
        assert str(ROOT) not in value, value
    config = (project["work"] / "ansible.cfg").read_text()
    assert str(ROOT) not in config


def test_the_cluster_playbook_converges(converged: dict) -> None:
    for label in ("cluster_server", "cluster"):
        out, rc = converged[label]
        assert rc == 0, f"{label}:\n{out[-4000:]}"
    assert set(recap(converged["cluster"][0])) == set(BOARDS)


def test_a_board_run_alone_joins_and_trusts_through_the_server(converged: dict) -> None:
    """Issue 21: a new Swarm worker under --limit never joined (its tokens
    came only from the manager's result in the same play), and monitoring
    limited to workers did nothing. Now the agent asks the server for the
    tokens and the registry's CA, and monitoring refuses in one line."""
    out, rc = converged["cluster_agent"]
    assert rc != 0
    assert set(recap(out)) == {"pi-agent"}, out[-3000:]
    assert recap(out)["pi-agent"]["failed"] == 1, out[-3000:]
    joined = re.search(r"TASK \[pirack\.cluster\.swarm : Join the swarm\][^\n]*\n(changed|ok): \[pi-agent\]", out)
    assert joined and joined.group(1) == "changed", out[-6000:]
    assert re.search(r"TASK \[Trust the server's registry\]", out)
    assert ("pi-agent: its Prometheus server pi-server is not in this run (--limit), so its targets would not"
            " follow; add it to the limit.") in " ".join(out.split()), out[-3000:]


def test_a_second_run_changes_nothing(converged: dict) -> None:
    for label, boards in (("cluster_again", BOARDS), ("k3s_again", BOARDS), ("k3s_agent_again", ["pi-agent"])):
        out, _ = converged[label]
        counts = recap(out)
        assert set(counts) == set(boards), out[-3000:]
        assert {h: c["changed"] for h, c in counts.items() if c["changed"]} == {}, f"{label}:\n{out[-4000:]}"
    assert converged["cluster_again"][1] == 0, converged["cluster_again"][0][-4000:]


def test_k3s_reaches_the_binary_on_the_users_groups(converged: dict) -> None:
    """Server and agent write their configuration from the user's groups and
    addresses and stop only where the k3s binary would be downloaded."""
    for label, stopped in (("k3s", "pi-server"), ("k3s_agent", "pi-agent"),
                           ("k3s_again", "pi-server"), ("k3s_agent_again", "pi-agent")):
        out, rc = converged[label]
        assert rc != 0
        counts = recap(out)
        assert {h: (c["failed"], c["rescued"]) for h, c in counts.items() if c["failed"]} == {stopped: (1, 1)}, \
            f"{label}:\n{out[-4000:]}"
        assert stopped_at(STOP_AT_BINARY, out) == [stopped], out[-4000:]
        told = [line for line in out.splitlines() if line.startswith("fatal:") and "No k3s artifact" in line]
        assert len(told) == 1, out[-4000:]
        assert "PIRACK_K3S_ARTIFACTS" in out and "T0ken" not in out


def stopped_at(task: str, out: str) -> list[str]:
    """The boards whose `fatal:` line stands under `task`'s header. Newer
    ansible-core prints an [ERROR] block with the task's origin (on stderr,
    merged here) between the header and the fatal line, so the task's whole
    section is searched, up to the next task or the recap."""
    sections = re.split(r"\n(?=TASK \[|PLAY RECAP)", out)
    return [board for section in sections if section.startswith(task)
            for board in re.findall(r"^fatal: \[(\S+)\]", section, re.M)]


def ssh(project: dict, board: str, command: str) -> str:
    done = run(project["env"]["PATH"].split(":")[0] + "/ansible", board, "-b", "-m", "ansible.builtin.command",
               "-a", command, cwd=project["work"], env=project["env"], timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_k3s_config_names_the_users_server(project: dict, converged: dict) -> None:
    config = yaml.safe_load(ssh(project, "pi-agent", "cat /etc/rancher/k3s/config.yaml").split(">>", 1)[1])
    assert config["server"] == f"https://{BOARDS['pi-server']['lan_ip']}:6443"
    assert config["node-ip"] == BOARDS["pi-agent"]["lan_ip"]
    assert {"pirack.role=worker", "pirack.cluster=default"} <= set(config["node-label"])


def test_the_users_app_runs_on_both_boards_from_their_registry(converged: dict) -> None:
    """A global service: each board pulled the image from the server's
    registry (trusted and logged in) and answers with its own hostname."""
    names = {}
    for board in BOARDS.values():
        url = f"http://{board['lan_ip']}:8080/"
        names[board["lan_ip"]] = wait_for(f"{url} answers", lambda u=url: _get(u), timeout=60)
    assert len(set(names.values())) == 2, names


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode().strip() or None
    except OSError:
        return None


def test_prometheus_scrapes_the_users_boards(converged: dict) -> None:
    server = BOARDS["pi-server"]["lan_ip"]
    with urllib.request.urlopen(f"http://{server}:9090/api/v1/targets", timeout=10) as response:
        targets = json.load(response)["data"]["activeTargets"]
    node = {t["labels"]["board"]: t["scrapeUrl"] for t in targets if t["labels"].get("job") == "node"}
    assert node == {name: f"http://{board['lan_ip']}:9100/metrics" for name, board in BOARDS.items()}


def test_each_board_is_its_model(project: dict, converged: dict) -> None:
    """What molecule/default checked: systemd boots, pi logs in and becomes
    root with sudo, and (with lxcfs serving /proc/meminfo) the board shows
    the memory of its model."""
    lxcfs = Path("/var/lib/lxcfs/proc/meminfo").exists()
    for name, board in BOARDS.items():
        out = ssh(project, name, "sh -c 'systemctl is-system-running || true; id -un; free -m'")
        lines = out.split(">>", 1)[1].split()
        assert lines[0] in ("running", "degraded") and lines[1] == "root", out
        if lxcfs:
            assert f"Mem: {board['memory']}" in " ".join(out.split()), out

"""The monitoring role's templates, rendered by Ansible exactly as the role
renders them (local connection, the role's defaults, a two-cluster
inventory): which boards each cluster's Prometheus scrapes, how the
coin-miner is reached through the webui, and the retention flags. The real
Prometheus reads them in molecule/monitoring (promtool validates the
configuration there before it is written)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from localplay import ROOT, run

ROLE = ROOT / "roles" / "monitoring"

GROUPS = """\
  children:
    masters:
      hosts:
        m1:
          pirack_node_address: 10.0.1.10
          test_certificates: [/etc/docker/registry/tls/registry.crt]
          test_receiver: {name: hook, webhook_configs: [{url: "http://127.0.0.1:5001/"}]}
        m2: {pirack_node_address: 10.0.2.10}
    workers:
      hosts:
        w1: {pirack_node_address: 10.0.1.11}
        w2: {pirack_node_address: 10.0.2.11}
    cluster1:
      vars: {pirack_cluster: cluster1, coin: true}
      hosts: {m1: , w1: }
    cluster2:
      vars: {pirack_cluster: cluster2, webui_port: 8080, orchestrator: k3s}
      hosts: {m2: , w2: }
"""

PLAY = f"""
- name: Render the monitoring templates for each master
  hosts: masters
  gather_facts: false
  vars_files: [{ROLE}/defaults/main.yml, {ROLE}/vars/main.yml]
  tasks:
    - name: Render
      # Task variables: above the defaults file, as inventory is above a role's defaults.
      vars:
        monitoring_coinminer: "{{{{ coin | default(false) }}}}"
        monitoring_coinminer_webui_port: "{{{{ webui_port | default(8000) }}}}"
        monitoring_orchestrator: "{{{{ orchestrator | default('swarm') }}}}"
        monitoring_health_certificates: "{{{{ test_certificates | default([]) }}}}"
        monitoring_alert_receiver: "{{{{ test_receiver | default({{}}) }}}}"
      ansible.builtin.template:
        src: "{ROLE}/templates/{{{{ item }}}}"
        dest: "{{{{ out }}}}/{{{{ inventory_hostname }}}}-{{{{ item | regex_replace('[.]j2$', '') }}}}"
        mode: "0644"
      loop: >-
        {{{{ ['prometheus.yml.j2', 'prometheus.default.j2', 'prometheus-node-exporter.default.j2', 'console.html.j2',
             'alerts.yml.j2', 'pirack-health.service.j2', 'pirack-health.timer.j2']
           + (['alertmanager.yml.j2', 'prometheus-alertmanager.default.j2']
              if monitoring_alert_receiver | length > 0 else []) }}}}
"""


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("monitoring")
    result = run(tmp, GROUPS, PLAY, "-e", f"out={tmp}")
    assert result.returncode == 0, result.stdout + result.stderr
    return tmp


def config(rendered: Path, host: str) -> dict:
    return yaml.safe_load((rendered / f"{host}-prometheus.yml").read_text())


def job(cfg: dict, name: str) -> dict | None:
    return next((j for j in cfg["scrape_configs"] if j["job_name"] == name), None)


def test_each_prometheus_scrapes_the_boards_of_its_own_cluster(rendered: Path) -> None:
    for host, cluster, boards in (("m1", "cluster1", {"m1": "10.0.1.10", "w1": "10.0.1.11"}),
                                  ("m2", "cluster2", {"m2": "10.0.2.10", "w2": "10.0.2.11"})):
        cfg = config(rendered, host)
        assert cfg["global"]["external_labels"] == {"cluster": cluster}
        assert cfg["global"]["scrape_interval"] == "30s"
        assert cfg["global"]["evaluation_interval"] == "30s", "alert rules as often as scrapes"
        groups = job(cfg, "node")["static_configs"]
        assert {g["labels"]["board"]: g["targets"] for g in groups} == {
            board: [f"{address}:9100"] for board, address in boards.items()}


def test_the_coin_miner_is_scraped_through_the_webui_on_swarm(rendered: Path) -> None:
    coin = job(config(rendered, "m1"), "coinminer")
    assert coin["http_sd_configs"][0]["url"] == "http://10.0.1.10:8000/monitor/targets"
    # The webui answers both only with the rack's token.
    token = {"credentials_file": "/etc/prometheus/monitor.token"}
    assert coin["authorization"] == token and coin["http_sd_configs"][0]["authorization"] == token
    assert coin["metrics_path"] == "/monitor/scrape"
    # The task address becomes the ?target= parameter and the instance; the
    # request itself goes to the webui's published port on the master.
    assert coin["relabel_configs"] == [
        {"source_labels": ["__address__"], "target_label": "__param_target"},
        {"source_labels": ["__address__"], "target_label": "instance"},
        {"target_label": "__address__", "replacement": "10.0.1.10:8000"},
    ]


def test_no_coin_miner_job_unless_asked(rendered: Path) -> None:
    """Off by default (a user's monitoring has no coin-miner to scrape); the
    pipeline turns it on for Swarm only: a k3s service name is one
    ClusterIP, whose scrapes would hop between pods."""
    assert job(config(rendered, "m2"), "coinminer") is None


def test_retention_and_ports_reach_the_daemons(rendered: Path) -> None:
    args = (rendered / "m1-prometheus.default").read_text()
    assert re.search(r'^ARGS=".*--storage\.tsdb\.retention\.time=15d', args, re.M)
    assert "--storage.tsdb.retention.size=1GB" in args
    assert "--web.listen-address=:9090" in args
    exporter = (rendered / "m1-prometheus-node-exporter.default").read_text()
    assert 'ARGS="--web.listen-address=:9100"' in exporter


def test_the_page_keeps_its_go_template_and_gets_the_window(rendered: Path) -> None:
    """Ansible's Jinja must leave Prometheus' {{ ... }} alone."""
    page = (rendered / "m1-console.html").read_text()
    assert '{{ $w := "2m" }}' in page
    assert "<h1>Cluster cluster1</h1>" in page
    assert 'sortByLabel "board" (query "up{job=\\"node\\",board!=\\"\\"}")' in page
    assert "[[" not in page and "#jinja2" not in page


ROLE_PLAY = """
- name: The monitoring role
  hosts: masters:workers
  gather_facts: false
  roles:
    - role: pirack.cluster.monitoring
"""


def run_role(tmp_path: Path, *extra: str) -> tuple[int, str]:
    result = run(tmp_path, GROUPS, ROLE_PLAY, "--limit", "cluster1", *extra)
    return result.returncode, " ".join((result.stdout + result.stderr).split())


def test_auto_leaves_a_small_master_alone(tmp_path: Path) -> None:
    """The real decision on this machine's /proc/meminfo, with a threshold
    no machine reaches: nothing is installed, and the reason is said."""
    rc, out = run_role(tmp_path, "-e", "monitoring_auto_min_memory_mb=1000000000")
    assert rc == 0, out
    assert re.search(r"Monitoring is off on cluster1: its master m1 has \d+ MiB, less than "
                     r"monitoring_auto_min_memory_mb \(1000000000\)", out)
    assert "Install Debian's node exporter" not in out
    assert re.search(r"m1 : ok=\d+ changed=0 .*w1 : ok=\d+ changed=0 ", out), out


@pytest.mark.parametrize("value", ["autoo", "maybe"])
def test_a_wrong_monitoring_enabled_is_named(tmp_path: Path, value: str) -> None:
    rc, out = run_role(tmp_path, "-e", f"monitoring_enabled={value}")
    assert rc != 0
    assert f'monitoring_enabled: expected true, false or auto, got "{value}"' in out
    assert "Read the board's memory, packages and services" not in out


# A user's own inventory: no masters, workers or clusterN groups, no
# pirack_* variables; the role is told its boards and server.
USER_GROUPS = """\
  children:
    boards:
      hosts:
        pi-a: {ansible_host: 192.168.5.1}
        pi-b: {ansible_host: 192.168.5.2, monitoring_address: 10.5.0.2}
    stray:
      hosts:
        pi-c: {ansible_host: 192.168.5.3}
"""

USER_PLAY = """
- name: The monitoring role in a user's play
  hosts: boards:stray
  gather_facts: false
  roles:
    - role: pirack.cluster.monitoring
      vars:
        monitoring_boards: "{{ groups['boards'] }}"
        monitoring_server: pi-a
        monitoring_enabled: false
"""


def test_a_users_inventory_names_its_boards_and_server(tmp_path: Path) -> None:
    """A board outside the boards its server scrapes is refused by name,
    instead of being left unscraped; the boards of the set pass."""
    result = run(tmp_path, USER_GROUPS, USER_PLAY)
    out = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "pi-c: not in monitoring_boards (pi-a, pi-b), so pi-a would never scrape it." in out, out
    assert re.search(r"pi-a : ok=\d+ changed=0 .*failed=0 .*pi-b : ok=\d+ changed=0 .*failed=0 ", out), out


def test_a_limit_without_the_server_is_refused(tmp_path: Path) -> None:
    """--limit workers would update exporters whose Prometheus never hears of them."""
    rc, out = run_role(tmp_path, "--limit", "w1")
    assert rc != 0
    assert ("w1: its Prometheus server m1 is not in this run (--limit), so its targets would not follow;"
            " add it to the limit.") in out, out


USER_RENDER = f"""
- name: Render the user's Prometheus configuration
  hosts: boards
  gather_facts: false
  vars_files: [{ROLE}/defaults/main.yml]
  tasks:
    - name: Render
      vars:
        monitoring_boards: "{{{{ groups['boards'] }}}}"
        monitoring_server: pi-a
      ansible.builtin.template:
        src: "{ROLE}/templates/prometheus.yml.j2"
        dest: "{{{{ out }}}}/{{{{ inventory_hostname }}}}-prometheus.yml"
        mode: "0644"
      when: inventory_hostname == monitoring_server
"""


def test_a_users_boards_are_scraped_at_their_own_addresses(tmp_path: Path) -> None:
    result = run(tmp_path, USER_GROUPS, USER_RENDER, "-e", f"out={tmp_path}")
    assert result.returncode == 0, result.stdout + result.stderr
    cfg = yaml.safe_load((tmp_path / "pi-a-prometheus.yml").read_text())
    assert cfg["global"]["external_labels"] == {"cluster": "default"}
    assert {g["labels"]["board"]: g["targets"] for g in job(cfg, "node")["static_configs"]} == {
        "pi-a": ["192.168.5.1:9100"], "pi-b": ["10.5.0.2:9100"]}
    assert job(cfg, "coinminer") is None


PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool missing (apt-get install prometheus)")

# Input series as the node exporter and pirack-health.timer give them, one a
# minute: w1 hot, throttled and under-voltage, m1's disk nearly full and
# read-only with a stopped collector and an unsynchronised clock, w2 gone
# after two minutes, a service short of tasks, a certificate 10 days from
# expiry (time starts at 0), a coin-miner that stopped counting.
SERIES = {
    'up{job="node",board="m1"}': "1x20",
    'up{job="node",board="w1"}': "1x20",
    'up{job="node",board="w2"}': "1 1 0x18",
    'node_thermal_zone_temp{job="node",board="w1",type="cpu-thermal",zone="0"}': "85.2x20",
    'node_thermal_zone_temp{job="node",board="m1",type="cpu-thermal",zone="0"}': "52x20",
    'pirack_board_throttle_flag{job="node",board="w1",flag="throttled",when="now"}': "1x20",
    'pirack_board_throttle_flag{job="node",board="w1",flag="under_voltage",when="now"}': "1x20",
    'pirack_board_throttle_flag{job="node",board="m1",flag="throttled",when="now"}': "0x20",
    'pirack_board_throttle_flag{job="node",board="m1",flag="under_voltage",when="since_boot"}': "1x20",
    'pirack_board_rootfs_avail_bytes{job="node",board="m1",mountpoint="/"}': "5x20",
    'pirack_board_rootfs_size_bytes{job="node",board="m1",mountpoint="/"}': "100x20",
    'pirack_board_rootfs_avail_bytes{job="node",board="w1",mountpoint="/"}': "50x20",
    'pirack_board_rootfs_size_bytes{job="node",board="w1",mountpoint="/"}': "100x20",
    'pirack_board_rootfs_readonly{job="node",board="m1",mountpoint="/"}': "1x20",
    'pirack_board_rootfs_readonly{job="node",board="w1",mountpoint="/"}': "0x20",
    'node_timex_sync_status{job="node",board="m1"}': "0x20",
    'node_timex_sync_status{job="node",board="w1"}': "1x20",
    'node_textfile_mtime_seconds{job="node",board="m1",file="pirack.prom"}': "0x20",
    'node_textfile_mtime_seconds{job="node",board="w1",file="pirack.prom"}': "0+60x20",
    'pirack_service_replicas{job="node",board="m1",service="coinminer_worker",state="running"}': "3x20",
    'pirack_service_replicas{job="node",board="m1",service="coinminer_worker",state="desired"}': "5x20",
    'pirack_service_replicas{job="node",board="m1",service="coinminer_rng",state="running"}': "2x20",
    'pirack_service_replicas{job="node",board="m1",service="coinminer_rng",state="desired"}': "2x20",
    'pirack_certificate_expiry_seconds{job="node",board="m1",path="/etc/tls/registry.crt"}': "864000x20",
    'pirack_certificate_expiry_seconds{job="node",board="m1",path="/etc/tls/ca.crt"}': "315360000x20",
    'coinminer_worker_hashes_total{job="coinminer",service="worker",instance="10.0.0.5:8080"}': "100x20",
}
NODE = {"job": "node"}
# Each alert at 15 minutes: exactly these, with their labels and summaries.
EXPECTED = {
    "BoardDown": [({**NODE, "board": "w2", "severity": "critical"},
                   "w2 does not answer (its node exporter is down or the board is off)")],
    "SocHot": [({**NODE, "board": "w1", "type": "cpu-thermal", "zone": "0", "severity": "warning"},
                "w1: SoC at 85.2 °C (above 80 °C)")],
    "Throttled": [({"board": "w1", "severity": "warning"},
                   "w1 is throttled now (the firmware slows the CPU: heat or power)")],
    "UnderVoltage": [({**NODE, "board": "w1", "flag": "under_voltage", "when": "now", "severity": "critical"},
                      "w1 is under-voltage now: its power supply or cable is too weak")],
    "RootFilesystemFull": [({**NODE, "board": "m1", "mountpoint": "/", "severity": "warning"},
                            "m1: root filesystem 95 % full")],
    "RootFilesystemReadOnly": [({**NODE, "board": "m1", "mountpoint": "/", "severity": "critical"},
                                "m1: root filesystem is read-only (an SD card failing or remounted after errors)")],
    "ClockNotSynchronised": [({**NODE, "board": "m1", "severity": "warning"},
                              "m1: clock not synchronised (a Pi has no battery clock: check NTP)")],
    "HealthReadingsStale": [({**NODE, "board": "m1", "file": "pirack.prom", "severity": "warning"},
                             "m1: health readings older than 5 minutes (pirack-health.timer stopped?)")],
    "ServiceBelowDesired": [({**NODE, "board": "m1", "service": "coinminer_worker", "severity": "warning"},
                             "coinminer_worker: 3 running, fewer than desired")],
    "CertificateExpiresSoon": [({**NODE, "board": "m1", "path": "/etc/tls/registry.crt", "severity": "warning"},
                                "m1: /etc/tls/registry.crt expires in 9d 23h 45m 0s "
                                "(run playbooks/registry.yml to renew)")],
    "HashRateZero": [({"severity": "warning"}, "the coin-miner found no hash for two minutes")],
}


@needs_promtool
def test_the_alert_rules_pass_promtool(rendered: Path) -> None:
    for host in ("m1", "m2"):
        check = subprocess.run([PROMTOOL, "check", "rules", str(rendered / f"{host}-alerts.yml")],
                               capture_output=True, text=True, check=False)
        assert check.returncode == 0, check.stdout + check.stderr
    names = {r["alert"] for g in yaml.safe_load((rendered / "m2-alerts.yml").read_text())["groups"]
             for r in g["rules"]}
    assert names == set(EXPECTED) - {"HashRateZero"}, "k3s: the coin-miner is not scraped, so no rate alert"


@needs_promtool
def test_each_alert_fires_for_its_trouble_and_only_there(rendered: Path, tmp_path: Path) -> None:
    """promtool's rule unit test: every rule of the file against the series
    above; a rule that fired for a healthy board, or missed a sick one,
    fails here with promtool's diff."""
    rules = yaml.safe_load((rendered / "m1-alerts.yml").read_text())
    assert {r["alert"] for g in rules["groups"] for r in g["rules"]} == set(EXPECTED)
    tests = {"rule_files": [str(rendered / "m1-alerts.yml")], "evaluation_interval": "1m", "tests": [{
        "interval": "1m",
        "input_series": [{"series": series, "values": values} for series, values in SERIES.items()],
        "alert_rule_test": [{"eval_time": "15m", "alertname": name, "exp_alerts": [
            {"exp_labels": labels, "exp_annotations": {"summary": summary}} for labels, summary in alerts]}
            for name, alerts in EXPECTED.items()]}]}
    (tmp_path / "test.yml").write_text(yaml.safe_dump(tests, allow_unicode=True))
    result = subprocess.run([PROMTOOL, "test", "rules", str(tmp_path / "test.yml")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_health_collector_runs_on_every_board_and_counts_replicas_on_the_master(rendered: Path) -> None:
    master = (rendered / "m1-pirack-health.service").read_text()
    assert ("ExecStart=/usr/bin/python3 /usr/local/lib/pirack/board_health.py --output "
            "/var/lib/prometheus/node-exporter/pirack.prom --root / --replicas swarm "
            "--certificate /etc/docker/registry/tls/registry.crt\n") in master
    assert "--replicas k3s" in (rendered / "m2-pirack-health.service").read_text()
    assert "OnUnitActiveSec=30s" in (rendered / "m1-pirack-health.timer").read_text()


def test_alertmanager_only_where_a_receiver_is_named(rendered: Path) -> None:
    manager = yaml.safe_load((rendered / "m1-alertmanager.yml").read_text())
    assert manager["route"]["receiver"] == "hook"
    assert manager["receivers"] == [{"name": "hook", "webhook_configs": [{"url": "http://127.0.0.1:5001/"}]}]
    assert "--web.listen-address=127.0.0.1:9093" in (rendered / "m1-prometheus-alertmanager.default").read_text()
    assert config(rendered, "m1")["alerting"]["alertmanagers"][0]["static_configs"] == [
        {"targets": ["127.0.0.1:9093"]}]
    assert "alerting" not in config(rendered, "m2") and not (rendered / "m2-alertmanager.yml").exists()
    assert config(rendered, "m2")["rule_files"] == ["/etc/prometheus/alerts.yml"]

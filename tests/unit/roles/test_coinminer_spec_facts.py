"""The coinminer role's services, web UI port and image builds follow the app
spec it deploys (its defaults and vars, templated by Ansible as the role
templates them), so a port or a service is written once, in the spec."""

from __future__ import annotations

import json

import pytest
import yaml
from localplay import ROOT, run

ROLE = ROOT / "roles" / "coinminer"
SPEC = ROOT / "apps" / "coinminer.yml"

# One run, one spec file per loop item (a task's vars outrank the play's
# vars_files, as an inventory's coinminer_spec_file outranks the role's default).
PLAY = f"""
- name: Template the coinminer role's spec facts
  hosts: localhost
  gather_facts: false
  vars_files: [{ROLE}/defaults/main.yml, {ROLE}/vars/main.yml]
  tasks:
    - name: Write them for each spec
      vars:
        coinminer_spec_file: "{{{{ out }}}}/{{{{ item }}}}.yml"
      ansible.builtin.copy:
        content: >-
          {{{{ {{'services': coinminer_services, 'webui_port': coinminer_webui_port | int,
                'builds': coinminer_image_builds}} | to_json }}}}
        dest: "{{{{ out }}}}/{{{{ item }}}}.json"
        mode: "0644"
      loop: [shipped, ports, services]
"""


@pytest.fixture(scope="module")
def facts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    tmp = tmp_path_factory.mktemp("coinminer")
    shipped = yaml.safe_load(SPEC.read_text())
    ports = yaml.safe_load(SPEC.read_text())
    ports["services"]["worker"]["ports"][0]["port"] = 9090
    ports["services"]["webui"]["ports"][0]["published"] = 8088
    services = yaml.safe_load(SPEC.read_text())
    services["services"]["extra"] = {"image": "pirack/extra:1"}
    for name, spec in (("shipped", shipped), ("ports", ports), ("services", services)):
        (tmp / f"{name}.yml").write_text(yaml.safe_dump(spec, sort_keys=False))
    result = run(tmp, "  hosts: {localhost: }\n", PLAY, "-e", f"out={tmp}")
    assert result.returncode == 0, result.stdout + result.stderr
    out = {}
    for name in ("shipped", "ports", "services"):
        got = json.loads((tmp / f"{name}.json").read_text())
        got["ports"] = {service: build["args"].get("PORT") for service, build in got.pop("builds").items()}
        out[name] = got
    return out


def test_the_shipped_spec_gives_the_services_ports_and_web_ui_port(facts: dict[str, dict]) -> None:
    assert facts["shipped"] == {
        "services": ["redis", "rng", "hasher", "worker", "webui"], "webui_port": 8000,
        "ports": {"redis": None, "rng": "80", "hasher": "80", "worker": "8080", "webui": "80"}}


def test_a_port_moved_in_the_spec_moves_the_build_and_the_deploy_check(facts: dict[str, dict]) -> None:
    assert (facts["ports"]["webui_port"], facts["ports"]["ports"]["worker"]) == (8088, "9090")


def test_a_service_added_to_the_spec_is_built(facts: dict[str, dict]) -> None:
    assert facts["services"]["services"] == ["redis", "rng", "hasher", "worker", "webui", "extra"]

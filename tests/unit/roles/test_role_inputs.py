"""Each role takes its inputs, not this collection's inventory shape.

A user includes a role from their own playbook with their own group names:
the role must work from its own, documented variables. So, read from the
Jinja of every role file as Ansible would evaluate it:

- no role reads a variable or fact named for another role (another role's
  inputs are passed to it as that role's own, never read back);
- this collection's inventory layout (``pirack_*`` settings, the
  ``masters``/``workers`` groups) is read only by a role's
  ``defaults/main.yml``, as the convenience default of a role variable,
  never by its tasks, templates, handlers or vars.

``sim_rack`` is exempt from the second rule: it makes that layout.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import jinja2
import pytest
import yaml
from jinja2 import nodes

ROLES = Path(__file__).resolve().parents[3] / "roles"
ROLE_NAMES = sorted(p.name for p in ROLES.iterdir() if (p / "tasks").is_dir())
# Keys whose value Ansible evaluates as a bare Jinja expression.
BARE = {"when", "that", "changed_when", "failed_when", "until"}
LAYOUT_GROUP = re.compile(r"""groups\s*(\[\s*['"](masters|workers)['"]\s*\]|\.(masters|workers)\b)""")
MAKES_THE_LAYOUT = {"sim_rack"}
# Regex escapes in role expressions (\\. in a regex_replace) are Jinja's to read.
pytestmark = pytest.mark.filterwarnings("ignore:invalid escape sequence:DeprecationWarning")


def environment(text: str) -> jinja2.Environment:
    """Jinja as Ansible sets it up for this text (a #jinja2: header may change the delimiters)."""
    options = {}
    header = re.match(r"#jinja2:(.*)\n", text)
    if header:
        for part in header.group(1).split(","):
            key, _, value = part.strip().partition(":")
            options[key.strip()] = value.strip().strip("'\"")
    return jinja2.Environment(**options)  # noqa: S701 - parsed, never rendered


def loaded_names(template: str) -> set[str]:
    """Names a template reads and never sets itself (set, for, macro
    arguments), and the variables it reads through another board's
    hostvars (``hostvars[b].name``, ``hostvars[b]['name']``)."""
    tree = environment(template).parse(template)
    names = list(tree.find_all(nodes.Name))
    through = {n.attr for n in tree.find_all(nodes.Getattr)}
    through |= {n.arg.value for n in tree.find_all(nodes.Getitem)
                if isinstance(n.arg, nodes.Const) and isinstance(n.arg.value, str)}
    return ({n.name for n in names if n.ctx == "load"} - {n.name for n in names if n.ctx != "load"}) | through


def expressions(node: object, key: str = "") -> Iterator[str]:
    """Every Jinja template string in a YAML document (bare expressions wrapped)."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from expressions(v, str(k))
    elif isinstance(node, list):
        for item in node:
            yield from expressions(item, key)
    elif isinstance(node, str):
        if key in BARE:
            yield "{{ " + node + " }}"
        elif "{{" in node or "{%" in node:
            yield node


def reads(path: Path) -> set[str]:
    """The variables a role file reads."""
    text = path.read_text()
    templates = [text] if path.suffix == ".j2" else [t for doc in yaml.safe_load_all(text) for t in expressions(doc)]
    return set().union(*map(loaded_names, templates))


def role_files(role: str) -> list[Path]:
    """What Ansible evaluates: all but the argument specs, which only document the defaults."""
    return sorted(p for p in (ROLES / role).rglob("*")
                  if p.suffix in (".yml", ".j2") and p.relative_to(ROLES / role) != Path("meta/argument_specs.yml"))


def owner(variable: str) -> str | None:
    """The role a variable is named for (the longest role-name prefix), if any."""
    names = [r for r in ROLE_NAMES if variable.startswith(r + "_")]
    return max(names, key=len) if names else None


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_no_role_reads_another_roles_variables(role: str) -> None:
    wrong = [f"{path.relative_to(ROLES)} reads {name}"
             for path in role_files(role) for name in sorted(reads(path))
             if owner(name) not in (None, role)]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("role", sorted(set(ROLE_NAMES) - MAKES_THE_LAYOUT))
def test_the_inventory_layout_is_only_a_default(role: str) -> None:
    wrong = []
    for path in role_files(role):
        if path == ROLES / role / "defaults" / "main.yml":
            continue
        wrong += [f"{path.relative_to(ROLES)} reads {name}" for name in sorted(reads(path))
                  if name.startswith("pirack_")]
        wrong += [f"{path.relative_to(ROLES)} reads {m.group(0)}" for m in LAYOUT_GROUP.finditer(path.read_text())]
    assert not wrong, "\n".join(wrong)


def test_the_checks_see_what_they_look_for(tmp_path: Path) -> None:
    """Reads in bare expressions, templates and delimiters changed by a header count; assignments do not."""
    tasks = tmp_path / "main.yml"
    tasks.write_text("- name: x\n  vars:\n    swarm_port: 1\n  ansible.builtin.debug:\n"
                     "    msg: \"{{ registry_port | default(monitoring_address) }}\"\n"
                     "  when: coinminer_build and pirack_cluster is defined\n")
    assert {"registry_port", "monitoring_address", "coinminer_build", "pirack_cluster"} <= reads(tasks)
    assert "swarm_port" not in reads(tasks)
    page = tmp_path / "page.j2"
    page.write_text("#jinja2: variable_start_string:'[[', variable_end_string:']]'\n"
                    "{{ go_template_thing }} [[ monitoring_cluster ]]\n")
    assert reads(page) == {"monitoring_cluster"}
    peer = tmp_path / "peer.j2"
    peer.write_text("{% for b in boards %}{{ hostvars[b].pirack_node_address }}"
                    "{{ hostvars[b]['k3s_token'] }}{% endfor %}")
    assert reads(peer) == {"boards", "hostvars", "pirack_node_address", "k3s_token"}
    assert owner("k3s_server_tls_san") == "k3s"
    assert owner("docker_engine_live_restore") == "docker_engine"

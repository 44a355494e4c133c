"""A controller set up the way the README says, and nothing more: `make
controller` into a new virtualenv (requirements.txt only, so ansible-core
without the `ansible` bundle), the collection built and installed with the
dependencies galaxy.yml declares. Then every playbook loads by its FQCN and
every task file of every role loads, included ones too, so a module from a
collection nobody installed fails here and not half-way through a rack.

Galaxy is not reachable from CI, so the dependencies come from the copies
the `ansible` package of the test toolchain bundles (GALAXY_OFFLINE_FROM);
on a user's machine `make controller` takes them from Galaxy. No Docker
engine is used.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from installkit import DEPENDENCIES, ROOT, ansible_env, run


def probe_every_task_file(collection: Path, path: Path) -> Path:
    """A play that statically imports every tasks/*.yml and handlers of every
    role: --syntax-check then resolves each module name, which it does not do
    through include_tasks."""
    tasks = []
    for role in sorted(p for p in (collection / "roles").iterdir() if (p / "tasks").is_dir()):
        for task_file in sorted((role / "tasks").glob("*.yml")):
            tasks.append({"name": f"{role.name}/tasks/{task_file.name}",
                          "ansible.builtin.import_role": {"name": f"pirack.cluster.{role.name}",
                                                          "tasks_from": task_file.name}})
    path.write_text(yaml.safe_dump([{"name": "Load every task file", "hosts": "localhost",
                                     "gather_facts": False, "tasks": tasks}], sort_keys=False))
    return path


def test_the_controller_has_the_runtime_only(controller: dict[str, Path]) -> None:
    frozen = run(controller["venv"] / "bin" / "pip", "freeze", cwd=controller["home"], env=dict(os.environ)).stdout
    names = {line.split("==")[0].lower() for line in frozen.splitlines()}
    assert "ansible-core" in names
    assert not names & {"ansible", "molecule", "pytest", "ansible-lint", "selenium", "ruff"}
    installed = {p.parent.name + "." + p.name for p in (controller["collections"] / "ansible_collections").glob("*/*")}
    assert installed == {"pirack.cluster", *DEPENDENCIES}


def test_every_playbook_loads_by_its_fqcn(controller: dict[str, Path]) -> None:
    env = ansible_env(controller["home"], controller["collections"])
    names = sorted(p.stem for p in (controller["installed"] / "playbooks").glob("*.yml"))
    assert {"site", "status", "preflight", "summary"} <= set(names)
    inventory = controller["installed"] / "inventories" / "pi-rack"
    for name in names:
        result = run(controller["venv"] / "bin" / "ansible-playbook", f"pirack.cluster.{name}", "-i", inventory,
                     "--syntax-check", cwd=controller["home"], env=env)
        assert result.returncode == 0, f"pirack.cluster.{name}: {result.stdout}{result.stderr}"


def test_every_task_file_loads(controller: dict[str, Path]) -> None:
    env = ansible_env(controller["home"], controller["collections"])
    probe = probe_every_task_file(controller["installed"], controller["home"] / "probe.yml")
    result = run(controller["venv"] / "bin" / "ansible-playbook", probe, "-i", "localhost,", "--syntax-check",
                 cwd=controller["home"], env=env)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("missing", DEPENDENCIES)
def test_each_declared_dependency_is_needed_and_its_absence_is_caught(
        controller: dict[str, Path], missing: str, tmp_path: Path) -> None:
    """The probe fails, naming the module, when one dependency is left out: it
    would catch a dependency galaxy.yml forgot, and none is declared for nothing."""
    partial = tmp_path / "collections"
    for name in ["pirack.cluster", *DEPENDENCIES]:
        if name != missing:
            link = partial / "ansible_collections" / name.replace(".", "/")
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(controller["collections"] / "ansible_collections" / name.replace(".", "/"))
    env = ansible_env(tmp_path, partial)
    probe = probe_every_task_file(controller["installed"], tmp_path / "probe.yml")
    result = run(controller["venv"] / "bin" / "ansible-playbook", probe, "-i", "localhost,", "--syntax-check",
                 cwd=tmp_path, env=env)
    assert result.returncode != 0
    assert f"couldn't resolve module/action '{missing}." in " ".join((result.stdout + result.stderr).split())


def test_a_fresh_clone_runs_site_yml_after_the_install(controller: dict[str, Path], tmp_path: Path) -> None:
    """The README's real-rack steps from a clone: site.yml at the top of the
    checkout finds the installed collection (ansible.cfg's collections_path
    names ~/.ansible/collections, where `make controller` installs; here the
    temporary one stands in for it)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing to clone")
    clone = tmp_path / "clone"
    cloned = run("git", "clone", "--quiet", ROOT, clone, cwd=tmp_path, env=dict(os.environ))
    assert cloned.returncode == 0, cloned.stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(controller["collections"]), ANSIBLE_NOCOLOR="1",
               ANSIBLE_HOME=str(tmp_path / ".ansible"))
    result = run(controller["venv"] / "bin" / "ansible-playbook", "site.yml", "-i", "inventories/pi-rack",
                 "--syntax-check", cwd=clone, env=env)
    assert result.returncode == 0, result.stdout + result.stderr

"""A rack of three architectures on a 1 + 2 simulated rack (`make multiarch`,
not in `make test`: the coin-miner's images built twice under emulation take
a quarter of an hour or more).

The workers are marked armhf (pirack_architecture, as a Pi 3B+ on 32-bit
Raspberry Pi OS would say) and the rack asks for arm64 too
(pirack_extra_architectures), so site.yml takes each way the images are
made: amd64 natively on the master; armhf on the first worker (its engine
runs the ARM steps through this machine's qemu-user-static, as a 32-bit
board runs them natively), its images saved, carried through the controller
and pushed by the master; arm64 on the master under emulation. Then: the
registry serves one index per image with the three platforms (read through
its /v2/ API), every service runs pinned to its index's digest, the armhf
entry is ARM code, the app mines, and a re-run changes nothing. Timings are
printed for BENCHMARKS.md.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from functools import partial
from pathlib import Path

import pytest
from rackkit import APP, ROOT, Manager, json_of, recap, simulated_rack
from rackkit import run as run_in
from registrykit import V2, Registry, platforms

WORK = ROOT / "build" / "multiarch"
INVENTORY = WORK / "hosts.yml"
KEY = WORK / "state" / "id_ed25519"
RACK = {
    "sim_rack_name": "march",
    "sim_rack_subnet": "10.99.6.0/24",
    "sim_rack_ssh_port_base": 2800,
    "sim_rack_workers": 2,
    "sim_rack_master_memory_mb": 2048,
    "sim_rack_inventory": str(INVENTORY),
    "sim_rack_state_dir": str(KEY.parent),
}
MASTER = "10.99.6.10"
REGISTRY = f"{MASTER}:5000"
SITE_VARS = {"pirack_benchmark": False}
SERVICES = ("redis", "rng", "hasher", "worker", "webui")
PLATFORMS = ["linux/amd64", "linux/arm/v7", "linux/arm64/v8"]
run = partial(run_in, logs=WORK)


def emulation_or_skip() -> None:
    for entry in ("qemu-arm", "qemu-aarch64"):
        path = Path("/proc/sys/fs/binfmt_misc") / entry
        if not path.is_file() or not path.read_text().startswith("enabled"):
            pytest.skip(f"no {entry} in binfmt_misc (apt-get install qemu-user-static binfmt-support)")


def base_image(arch: str) -> float:
    """The controller's base image for ``arch`` (scripts/base-image.sh): seconds it took."""
    start = time.monotonic()
    done = subprocess.run(["bash", "scripts/base-image.sh", "--arch", arch], cwd=ROOT, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return time.monotonic() - start


# What the multi-architecture steps cost, from the run's profile_tasks lines.
STEPS = ("Build the images on the builder", "Carry the images", "Save them on the builder", "Fetch the archive",
         "Copy it to this master", "Load them", "Push the images the registry", "Publish one index per image")


def boards(output: str) -> dict[str, dict[str, int]]:
    """The PLAY RECAP counters of the boards (profile_tasks' lines follow them)."""
    return {host: counts for host, counts in recap(output).items() if "ok" in counts}


def step_times(output: str) -> list[str]:
    """profile_tasks' lines for the steps above (slowest first, as it prints them)."""
    return [" ".join(line.split()) for line in output.split("PLAY RECAP")[-1].splitlines()
            if any(step in line for step in STEPS) and line.rstrip().endswith("s")]


@pytest.fixture(scope="module", name="rack")
def fixture_rack(monkeypatch_module):
    emulation_or_skip()
    monkeypatch_module.setenv("ANSIBLE_CALLBACKS_ENABLED", "ansible.posix.profile_tasks")
    monkeypatch_module.setenv("PROFILE_TASKS_TASK_OUTPUT_LIMIT", "all")
    (WORK / "group_vars").mkdir(parents=True, exist_ok=True)
    # Two 32-bit Pi 3B+ workers, and arm64 for a board to come.
    (WORK / "group_vars" / "workers.yml").write_text("pirack_architecture: armhf\n")
    (WORK / "group_vars" / "all.yml").write_text("pirack_extra_architectures: [arm64]\n")
    with simulated_rack(RACK, WORK, "multiarch") as timings:
        for arch in ("amd64", "armhf", "arm64"):
            timings[f"base_image_{arch}"] = base_image(arch)
        first, timings["site_first"], _ = run("ansible-playbook", "site.yml", "-i", str(INVENTORY),
                                              extra=SITE_VARS)
        print("\nfirst run, multi-architecture steps:\n  " + "\n  ".join(step_times(first)))
        yield {"first": first, "timings": timings}


@pytest.fixture(scope="module", name="monkeypatch_module")
def fixture_monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def manager() -> Manager:
    return Manager(f"pi@127.0.0.1:{RACK['sim_rack_ssh_port_base'] + 10}", str(KEY))


def registry() -> Registry:
    """The master's registry as the boards reach it: its CA, the rack's pull login."""
    ca = WORK / "registry-ca.crt"
    ca.write_text(subprocess.run([*manager().ssh, "sudo cat /etc/pirack/registry-ca/ca.crt"],
                                 capture_output=True, text=True, check=True, timeout=60).stdout)
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    secrets = Path(data) / "pirack" / f"secrets-{hashlib.sha1(str(WORK.resolve()).encode()).hexdigest()[:12]}"
    password = (secrets / "registry.password").read_text().strip()
    return Registry(REGISTRY, f"https://{REGISTRY}", str(ca), "pirack", password)


def test_the_first_run_succeeds(rack):
    hosts = boards(rack["first"])
    assert set(hosts) >= {"march-c1-master", "march-c1-worker1", "march-c1-worker2"}
    assert all(h["failed"] == 0 and h["unreachable"] == 0 for h in hosts.values()), hosts


def test_each_image_is_an_index_of_three_platforms_and_each_service_runs_by_it(rack):
    v2 = V2(registry())
    indexes = {}
    for service in SERVICES:
        _type, index, digest = v2.index(f"pirack/coinminer-{service}", "latest")
        assert sorted(platforms(index)) == PLATFORMS, (service, index)
        indexes[service] = digest
    for service in SERVICES:
        image = manager().docker("service", "inspect", f"{APP}_{service}", "--format",
                                 "{{.Spec.TaskTemplate.ContainerSpec.Image}}").strip()
        assert image.endswith(f"@{indexes[service]}"), (service, image, indexes[service])


def test_the_armhf_entry_is_arm_code(rack):
    # By the arm/v7 entry's own digest: Debian's engine 20.10 will not pull a
    # second platform by the index digest its running amd64 image holds
    # ("Cannot overwrite digest"), which an armhf board never meets.
    _type, index, _digest = V2(registry()).index("pirack/coinminer-rng", "latest")
    armhf = next(entry["digest"] for entry, name in zip(index["manifests"], platforms(index))
                 if name == "linux/arm/v7")
    out = manager().docker("run", "--rm", "--platform", "linux/arm/v7", "--network", "none", "--entrypoint",
                           "uname", f"{REGISTRY}/pirack/coinminer-rng@{armhf}", "-m")
    assert out.strip() == "armv7l", out


def test_the_coinminer_mines(rack):
    first = json_of(f"http://{MASTER}:8000/json")
    time.sleep(5)
    second = json_of(f"http://{MASTER}:8000/json")
    assert second["hashes"] > first["hashes"] >= 0, (first, second)


def test_a_rerun_carries_and_puts_nothing(rack):
    again, took, _ = run("ansible-playbook", "site.yml", "-i", str(INVENTORY), extra=SITE_VARS)
    rack["timings"]["site_rerun"] = took
    print("\nre-run, multi-architecture steps:\n  " + "\n  ".join(step_times(again)))
    changed = {host: counts["changed"] for host, counts in boards(again).items() if counts["changed"]}
    assert not changed, f"re-run changed something: {changed}"

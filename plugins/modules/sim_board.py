#!/usr/bin/python
# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Create or remove one simulated Raspberry Pi: a container that boots systemd,
runs sshd and its own Docker engine, with the board's memory and CPU."""

from __future__ import annotations

DOCUMENTATION = r"""
module: sim_board
short_description: Create or remove a simulated Raspberry Pi host in a container
version_added: 0.1.0
description:
  - Runs one simulated Raspberry Pi as a container of the Pi host image, with
    systemd as PID 1, sshd, python3, sudo and a C(pi) user, able to run its own
    Docker engine, and the memory and CPU count of the board model chosen.
  - The node sits on a user-defined rack network with a fixed subnet and is
    reached over SSH on a port published on the loopback address, the same
    transport a real rack uses.
  - Does not use C(--privileged). It adds the capabilities and mounts that a
    systemd host with a nested engine needs instead.
  - When lxcfs serves O(lxcfs_dir), C(free) and C(nproc) inside the node show the
    board's limits; without it they show the machine's, and the limits still apply.
  - Runs where the Docker engine that hosts the rack is, normally C(localhost).
  - Named C(pi_node) before 0.1.0 was released; that name still works, with a
    deprecation warning, and goes in 1.0.0.
  - Every option is checked before the engine is asked anything, and a bad one
    fails the task with one line naming it. When a node's settings change, the
    new container is created beside the old one (parked under C(<name>.replaced))
    and the old one is removed only once the new one runs; if the new one cannot
    start, the old one is put back.
extends_documentation_fragment:
  - pirack.cluster.action_groups.docker
  - pirack.cluster.docker
attributes:
  check_mode:
    description: Reports what would be created, re-created or removed without doing it.
    support: full
  diff_mode:
    description: Shows the node's settings before and after.
    support: full
  idempotent:
    description: A second run with the same options changes nothing.
    support: full
options:
  name:
    description:
      - Container name, and the node's hostname unless O(hostname) is set.
      - Letters, digits, V(_), V(.) and V(-), starting with a letter or digit; without
        O(hostname) it must also be a hostname (no V(_), at most 63 characters).
    type: str
    required: true
  state:
    description:
      - V(present) makes sure the node exists and runs, re-creating it when its
        settings changed. V(absent) removes it and its engine volume, and the rack
        network once no node is left on it.
    type: str
    choices: [present, absent]
    default: present
  model:
    description: Board to simulate; sets the memory limit and CPU count.
    type: str
    choices: [pi5, pi4, pi400, cm4, pi3bplus, pi3b, pi3aplus, pizero2w, pi2b]
    default: pi3bplus
  memory_mb:
    description:
      - Memory of the board in MiB, one of the sizes the model was sold with
        (a Pi 4 came with 1024, 2048, 4096 or 8192). Defaults to the model's usual size.
    type: int
  cpus:
    description:
      - CPU limit, from 0.01 to the machine's CPU count; defaults to the board's cores,
        capped at the machine's CPUs.
    type: float
  hostname:
    description: Hostname inside the node (letters, digits and V(-) between dots, at most 63 characters).
    type: str
  image:
    description: The Pi host image (built by C(make images)).
    type: str
    default: pirack/pi-host:bookworm
  network:
    description: Name of the rack network; created with O(subnet) when missing.
    type: str
    default: pirack
  subnet:
    description:
      - Subnet of the rack network. It must not overlap the engine's other networks
        nor the pools the engines inside the nodes use (172.16.0.0/12,
        192.168.0.0/16, 10.0.0.0/16).
    type: str
    default: 10.99.0.0/24
  ipv4_address:
    description:
      - Fixed address of the node on the rack network, inside O(subnet) and not its
        network, broadcast or gateway (first) address.
    type: str
  ssh_port:
    description:
      - Port (1 to 65535) on O(ssh_bind) that forwards to the node's sshd. Required with V(present).
      - A port another container already publishes is refused before anything changes.
    type: int
  ssh_bind:
    description: IP address the SSH port is published on.
    type: str
    default: 127.0.0.1
  authorized_key:
    description:
      - Path, on the machine running the engine, of the public key allowed to log
        in as C(pi). Required with V(present).
    type: path
  lxcfs_dir:
    description:
      - Where lxcfs is mounted; its C(proc/) files are used when present.
      - An empty string turns this off.
    type: str
    default: /var/lib/lxcfs
  sim_dir:
    description:
      - Folder, on the machine running the engine, of the board's health files,
        so a test can make the board hot, throttled or under-voltage - its
        C(thermal/) is bound over the node's C(/sys/class/thermal) and its
        C(platform/) over C(/sys/devices/platform), where a Pi has its thermal
        zone and the firmware's C(get_throttled).
      - Missing files are written with a cool, unthrottled board's values
        (45 degrees, no flags); existing ones are never overwritten.
      - Empty, the node has no thermal zone and no firmware files, and reads
        "unknown" there like a board that is not a Pi.
      - Every node also has a 64 MiB tmpfs at C(/var/lib/pirack-sim/sdcard) that
        stands for its SD card (point C(pirack_root_mount) at it).
    type: str
    default: ""
  labels:
    description: Extra labels, stored on the container as C(pirack.<key>).
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: A Pi 4 master with 4 GiB
  pirack.cluster.sim_board:
    name: pi-c1-master
    model: pi4
    memory_mb: 4096
    ipv4_address: 10.99.0.11
    ssh_port: 2211
    authorized_key: ~/.local/share/pirack/pirack/id_ed25519.pub
    labels:
      cluster: cluster1

- name: Remove it again
  pirack.cluster.sim_board:
    name: pi-c1-master
    state: absent
"""

RETURN = r"""
node:
  description: The node as it is after the task (empty when removed).
  returned: always
  type: dict
  sample:
    name: pi-c1-master
    id: 0f3c2a...
    model: pi4
    memory_mb: 4096
    cpus: 2.0
    ipv4_address: 10.99.0.11
    ssh: 127.0.0.1:2211
    status: running
"""

import contextlib
import os
import traceback
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pirack.cluster.plugins.module_utils.docker_client import (
    DockerException,
    client_from_module,
    docker_argument_spec,
)
from ansible_collections.pirack.cluster.plugins.module_utils.errors import exception_text
from ansible_collections.pirack.cluster.plugins.module_utils.module_args import build_module
from ansible_collections.pirack.cluster.plugins.module_utils.pi_model import MODELS
from ansible_collections.pirack.cluster.plugins.module_utils.sim_rack import (
    CAPABILITIES,
    PARKED_SUFFIX,
    SECURITY_OPT,
    SIM_FILES,
    NodeParamError,
    actual_node,
    address_holder,
    desired_node,
    differences,
    engine_volume,
    node_problems,
    port_holder,
    subnet_problem,
)

try:
    from docker.errors import ImageNotFound, NotFound
    from docker.types import IPAMConfig, IPAMPool
except ImportError:  # reported by client_from_module
    ImageNotFound = NotFound = DockerException

# Seconds systemd in a node gets to shut its engine down before a replacement
# starts on the same engine volume.
STOP_TIMEOUT = 30


class SimBoardManager:
    """Reads the node, the network and the image; changes only what differs."""

    def __init__(self, module: AnsibleModule, client: Any) -> None:
        self.module = module
        self.client = client
        self.params = module.params
        self.check = module.check_mode
        self.changed = False
        self.diff: dict[str, Any] = {"before": {}, "after": {}}

    def fail(self, msg: str) -> None:
        """Fail the task; ``changed`` says whether anything was done before."""
        self.module.fail_json(msg=msg, changed=self.changed)

    def _get(self, name: str) -> Any:
        try:
            return self.client.containers.get(name)
        except NotFound:
            return None

    def _network(self) -> Any:
        try:
            return self.client.networks.get(self.params["network"])
        except NotFound:
            return None

    def check_network(self) -> bool:
        """Fail on an unusable rack network; True when it must be created."""
        network = self._network()
        subnet = self.params["subnet"]
        if network is not None:
            configs = (network.attrs.get("IPAM") or {}).get("Config") or []
            subnets = [c.get("Subnet") for c in configs]
            if subnet not in subnets:
                found = ", ".join(map(str, subnets)) or "none"
                self.fail(f"network {network.name} exists with subnet {found}, not {subnet}; "
                          f"remove the rack first (make rack-down) or set subnet to match")
            return False
        others = []
        for net in self.client.networks.list():
            for cfg in (net.attrs.get("IPAM") or {}).get("Config") or []:
                if cfg.get("Subnet"):
                    others.append(cfg["Subnet"])
        problem = subnet_problem(subnet, others)
        if problem:
            self.fail(problem)
        return True

    def create_network(self) -> None:
        subnet = self.params["subnet"]
        self.changed = True
        self.diff["after"]["network"] = {"name": self.params["network"], "subnet": subnet}
        if not self.check:
            ipam = IPAMConfig(pool_configs=[IPAMPool(subnet=subnet)])
            self.client.networks.create(self.params["network"], driver="bridge", ipam=ipam,
                                        labels={"pirack.rack": "true"})

    def _host_cpus(self) -> int:
        return int(self.client.info().get("NCPU") or os.cpu_count() or 1)

    def check_free(self, want: dict[str, Any], current: Any) -> None:
        """Fail when another container holds the SSH port or the address.

        The new container would only find out when it starts; asking first
        names the culprit and leaves the current node untouched.
        """
        exclude = current.id if current is not None else None
        port = self.params["ssh_port"]
        holder = port_holder(self.client.api.containers(), self.params["ssh_bind"], port, exclude)
        if holder:
            self.fail(f"ssh_port {port} on {self.params['ssh_bind']} is already published by "
                      f"container {holder}; pick another port")
        network = self._network()
        holder = address_holder(network.attrs, want["ipv4_address"], exclude) if network else None
        if holder:
            self.fail(f"ipv4_address {want['ipv4_address']} is already used on network "
                      f"{self.params['network']} by container {holder}")

    def present(self) -> dict[str, Any]:
        name = self.params["name"]
        if not os.path.isfile(self.params["authorized_key"]):
            self.fail(f"authorized_key {self.params['authorized_key']} is not a file")
        lxcfs_dir = self.params["lxcfs_dir"]
        lxcfs = bool(lxcfs_dir) and os.path.isfile(os.path.join(lxcfs_dir, "proc", "meminfo"))
        try:
            image = self.client.images.get(self.params["image"])
        except ImageNotFound:
            self.fail(f"image {self.params['image']} not found; build it with: make images")
        missing_network = self.check_network()
        try:
            want = desired_node(self.params, self._host_cpus(), lxcfs)
        except NodeParamError as exc:
            self.fail(str(exc))
        if self._get(name + PARKED_SUFFIX) is not None:
            self.fail(f"container {name}{PARKED_SUFFIX} is left from an interrupted re-creation of "
                      f"node {name}; keep one of the two, remove the other, name it {name} and re-run")
        container = self._get(name)
        if container is not None:
            have = actual_node(container.attrs, self.params["image"], image.id)
            changed_keys = differences(have, want)
            if not changed_keys:
                if container.status != "running":
                    self.diff["before"] = {"status": container.status}
                    self.diff["after"]["status"] = "running"
                    self.changed = True
                    if not self.check:
                        container.start()
                        container.reload()
                return self._describe(container, want)
            self.diff["before"] = have
            self.diff["after"]["recreated_for"] = changed_keys
        self.check_free(want, container)
        self.diff["after"].update(want)
        if missing_network:
            self.create_network()
        if self.check:
            self.changed = True
            return self._describe(container, want)
        self.write_sim_files()
        if container is None:
            container = self._create(want)
            self.changed = True
            container.start()
        else:
            container = self._replace(container, want)
        container.reload()
        return self._describe(container, want)

    def write_sim_files(self) -> None:
        """The board's health files, where missing (a test's values stay)."""
        root = self.params["sim_dir"]
        if not root:
            return
        for relative, content in SIM_FILES.items():
            path = os.path.join(root, relative)
            if not os.path.exists(path):
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="ascii") as handle:
                    handle.write(content)
                os.chmod(path, 0o644)

    def _create(self, want: dict[str, Any]) -> Any:
        """Create the node's container, not started, on the rack network only.

        A container left half-made (the network refused it) is removed, so a
        failure leaves nothing behind under the node's name.
        """
        volumes = {}
        for source, target in want["binds"].items():
            path, mode = target.rsplit(":", 1)
            volumes[source] = {"bind": path, "mode": mode}
        memory = f"{want['memory_mb']}m"
        container = self.client.containers.create(
            self.params["image"],
            command=["/sbin/init"],
            name=self.params["name"],
            hostname=want["hostname"],
            detach=True,
            cap_add=list(CAPABILITIES),
            security_opt=list(SECURITY_OPT),
            cgroupns="host",
            tmpfs=want["tmpfs"],
            volumes=volumes,
            mem_limit=memory,
            memswap_limit=memory,
            nano_cpus=int(want["cpus"] * 1e9),
            ports={"22/tcp": (self.params["ssh_bind"], self.params["ssh_port"])},
            labels=want["labels"],
            restart_policy={"Name": "unless-stopped"},
            network=None,
        )
        try:
            # Attach to the rack network with the fixed address, then drop the
            # default bridge so each node has exactly one interface, like a Pi.
            rack = self.client.networks.get(self.params["network"])
            rack.connect(container, ipv4_address=want["ipv4_address"])
            with contextlib.suppress(DockerException):
                self.client.networks.get("bridge").disconnect(container)
        except DockerException:
            container.remove(force=True)
            raise
        return container

    def _replace(self, old: Any, want: dict[str, Any]) -> Any:
        """Swap the node's container for one made from ``want``, never being
        left with neither.

        The old container steps aside under a parked name and keeps running
        while the new one is created; it stops (freeing its port, address and
        engine volume) only for the new one to start, and is removed only once
        the new one runs. Any failure before that puts it back as it was.
        """
        name = self.params["name"]
        parked = name + PARKED_SUFFIX
        was_running = old.status == "running"
        old.rename(parked)
        try:
            new = self._create(want)
        except DockerException:
            old.rename(name)
            raise
        # From here the board goes down: whatever happens next is a change.
        self.changed = True
        if was_running:
            old.stop(timeout=STOP_TIMEOUT)
        try:
            new.start()
        except DockerException as exc:
            reason = exception_text(exc)
            try:
                new.remove(force=True)
                old.rename(name)
                if was_running:
                    old.start()
            except DockerException as undo:
                self.fail(f"node {name}: the new container did not start ({reason}) and putting the "
                          f"old one back failed ({exception_text(undo)}); it is kept as container {parked}")
            self.fail(f"node {name}: the new container did not start ({reason}); the old one was put "
                      f"back{' and restarted' if was_running else ''}")
        old.remove(force=True)
        return new

    def _describe(self, container: Any, want: dict[str, Any]) -> dict[str, Any]:
        node = {"name": self.params["name"], "model": self.params["model"],
                "memory_mb": want["memory_mb"], "cpus": want["cpus"],
                "ipv4_address": want["ipv4_address"], "ssh": want["ssh"]}
        if container is None:
            node.update(id=None, status="absent (check mode)")
            return node
        node.update(id=container.id, status=container.status)
        nets = container.attrs["NetworkSettings"]["Networks"]
        if self.params["network"] in nets:
            node["ipv4_address"] = nets[self.params["network"]].get("IPAddress") or node["ipv4_address"]
        return node

    def absent(self) -> dict[str, Any]:
        container = self._get(self.params["name"])
        if container is not None:
            self.changed = True
            self.diff["before"] = {"name": container.name, "status": container.status}
            if not self.check:
                container.remove(force=True)
        try:
            volume = self.client.volumes.get(engine_volume(self.params["name"]))
        except NotFound:
            volume = None
        if volume is not None:
            self.changed = True
            self.diff["before"]["volume"] = volume.name
            if not self.check:
                volume.remove(force=True)
        network = self._network()
        if network is not None and (network.attrs.get("Labels") or {}).get("pirack.rack") == "true":
            network.reload()
            attached = [c for c in (network.attrs.get("Containers") or {})
                        if container is None or c != container.id]
            if not attached:
                self.changed = True
                self.diff["before"]["network"] = network.name
                if not self.check:
                    network.remove()
        return {}


def argument_spec() -> dict[str, dict[str, Any]]:
    """The module's options; the model choices come from the one board table."""
    return docker_argument_spec(
        name={"type": "str", "required": True},
        state={"type": "str", "default": "present", "choices": ["present", "absent"]},
        model={"type": "str", "default": "pi3bplus", "choices": list(MODELS)},
        memory_mb={"type": "int"},
        cpus={"type": "float"},
        hostname={"type": "str"},
        image={"type": "str", "default": "pirack/pi-host:bookworm"},
        network={"type": "str", "default": "pirack"},
        subnet={"type": "str", "default": "10.99.0.0/24"},
        ipv4_address={"type": "str"},
        ssh_port={"type": "int"},
        ssh_bind={"type": "str", "default": "127.0.0.1"},
        authorized_key={"type": "path"},
        lxcfs_dir={"type": "str", "default": "/var/lib/lxcfs"},
        sim_dir={"type": "str", "default": ""},
        labels={"type": "dict", "default": {}},
    )


def main() -> None:
    module = build_module(argument_spec=argument_spec(), supports_check_mode=True)
    # Every option is checked before the engine is even asked: a bad value
    # must never get as far as replacing the node it was meant for.
    problems = node_problems(module.params)
    if problems:
        module.fail_json(msg="; ".join(problems))
    client = client_from_module(module)
    manager = SimBoardManager(module, client)
    try:
        node = manager.present() if module.params["state"] == "present" else manager.absent()
    except DockerException as exc:
        module.fail_json(msg=f"Docker engine error for node {module.params['name']}: {exception_text(exc)}",
                         changed=manager.changed, exception=traceback.format_exc())
    result: dict[str, Any] = {"changed": manager.changed, "node": node}
    if module._diff:
        result["diff"] = manager.diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()

# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure logic behind simulated Pi nodes: what a node container should look
like, how that compares with what the engine reports, and which rack subnets
are safe. Kept free of Docker calls so it is tested without an engine."""

from __future__ import annotations

import ipaddress
import math
import re
from typing import Any, Iterable, Optional

from ansible_collections.pirack.cluster.plugins.module_utils.image_ref import parse_image
from ansible_collections.pirack.cluster.plugins.module_utils.pi_model import MODELS, simulated_resources

# Capabilities a systemd host running its own dockerd needs where
# --privileged is refused (see shared/ENVIRONMENT.md).
CAPABILITIES = (
    "SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "SYS_MODULE", "MKNOD", "NET_RAW",
    "SYS_CHROOT", "SETFCAP", "AUDIT_WRITE", "IPC_LOCK", "SYS_NICE",
    "DAC_READ_SEARCH", "LINUX_IMMUTABLE", "NET_BROADCAST", "SYS_RAWIO",
    "SYS_TIME", "SYSLOG",
)
SECURITY_OPT = ("seccomp=unconfined", "apparmor=unconfined")
# /proc files lxcfs virtualises so `free`, `nproc` and `uptime` inside a node
# report the node's limits instead of the machine's.
LXCFS_PROC_FILES = ("meminfo", "cpuinfo", "stat", "uptime", "loadavg", "swaps", "diskstats")

# A simulated board's health files (issue 26): the thermal zone and the
# firmware's get_throttled at the paths a Pi has them, from a folder of the
# engine's machine that a test writes to make a board hot or throttled; the
# folders are bound over the container's /sys/class/thermal and
# /sys/devices/platform. The module writes a cool, unthrottled board's
# values when a file is missing and never overwrites one.
SIM_SYSFS = {"thermal": "/sys/class/thermal", "platform": "/sys/devices/platform"}
SIM_FILES = {
    "thermal/thermal_zone0/type": "cpu-thermal\n",
    "thermal/thermal_zone0/policy": "step_wise\n",
    "thermal/thermal_zone0/temp": "45000\n",
    "platform/soc/soc:firmware/get_throttled": "0\n",
}
# And its SD card: a small tmpfs (the container's / is the machine's disk),
# which the board_health readers are pointed at (pirack_root_mount) and a
# test can fill or remount read-only.
SIM_SD_CARD = "/var/lib/pirack-sim/sdcard"
SIM_SD_CARD_SIZE = "64m"
TMPFS = {"/run": "rw", "/run/lock": "rw", SIM_SD_CARD: f"size={SIM_SD_CARD_SIZE}"}

# Address pools the engines *inside* the nodes pick from by default: the
# docker0 bridge and user networks (172.17.0.0/16 .. 172.31.0.0/16 and
# 192.168.0.0/16) and swarm's ingress/overlay default (10.0.0.0/8 in /24s,
# starting at 10.0.0.0). A rack subnet inside one of them breaks routing
# between nodes once the inner engines start.
INNER_ENGINE_POOLS = ("172.16.0.0/12", "192.168.0.0/16", "10.0.0.0/16")

LABEL_PREFIX = "pirack."
# Labels the module sets itself from other options; a user label of the same
# name would be overwritten without a word, so it is refused instead.
RESERVED_LABELS = ("model", "node")
# Docker's rule for container, volume and network names.
DOCKER_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")
# One RFC 1123 label; the whole hostname must also fit the kernel's 64 bytes.
HOSTNAME_LABEL = re.compile(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?")
HOSTNAME_MAX = 63
# Docker refuses a CPU limit below one hundredth of a CPU.
CPUS_MIN = 0.01
# While a node is re-created, the old container waits under this suffix until
# the new one runs, so a failed replacement can be rolled back.
PARKED_SUFFIX = ".replaced"


class NodeParamError(ValueError):
    """Options no simulated board can have; the message is one line that
    names each offending option, for fail_json."""


def engine_volume(node: str) -> str:
    """Name of the volume holding a node's own /var/lib/docker."""
    return f"{node}-docker"


def subnet_problem(subnet: str, engine_subnets: Iterable[str]) -> Optional[str]:
    """Why ``subnet`` cannot be the rack network, or None when it can.

    ``engine_subnets`` are the subnets of the outer engine's other networks.
    """
    try:
        net = ipaddress.ip_network(subnet, strict=True)
    except ValueError as exc:
        return f"subnet {subnet!r} is not a network address ({exc})"
    if net.version != 4 or net.prefixlen > 28:
        return f"subnet {subnet} must be an IPv4 network of /28 or larger"
    for pool in INNER_ENGINE_POOLS:
        if net.overlaps(ipaddress.ip_network(pool)):
            return (f"subnet {subnet} overlaps {pool}, which the Docker engines inside the "
                    f"nodes use by default; pick one like 10.99.0.0/24")
    for other in engine_subnets:
        try:
            other_net = ipaddress.ip_network(other, strict=False)
        except ValueError:
            continue
        if other_net.version == 4 and net.overlaps(other_net):
            return (f"subnet {subnet} overlaps {other}, already used by a network of this "
                    f"Docker engine; pick a free one like 10.99.0.0/24")
    return None


def _hostname_problem(hostname: str) -> Optional[str]:
    if len(hostname) > HOSTNAME_MAX:
        return f"is longer than {HOSTNAME_MAX} characters"
    if not all(HOSTNAME_LABEL.fullmatch(label) for label in hostname.split(".")):
        return "is not a hostname (letters, digits and '-' between dots)"
    return None


def _ip_address(value: Any) -> Any:
    """The address ``value`` spells, or None; only strings count (an int is
    an address to ``ipaddress`` but never what a user meant)."""
    if not isinstance(value, str):
        return None
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _name_problems(params: dict[str, Any], present: bool) -> list[str]:
    """Names Docker would refuse, or (for a node to create) that make an
    unusable hostname."""
    problems = []
    name = params.get("name")
    if not isinstance(name, str) or not DOCKER_NAME.fullmatch(name):
        problems.append(f"name {name!r} is not a container name: two or more of letters, digits, "
                        "'_', '.' or '-', starting with a letter or digit")
    hostname = params.get("hostname")
    if present and hostname:
        problem = _hostname_problem(hostname) if isinstance(hostname, str) else "is not a string"
        if problem:
            problems.append(f"hostname {hostname!r} {problem}")
    elif present and not problems:
        problem = _hostname_problem(name)
        if problem:
            problems.append(f"name {name!r} {problem}, and the node's hostname defaults to it; "
                            "set hostname")
    network = params.get("network")
    if not isinstance(network, str) or not DOCKER_NAME.fullmatch(network):
        problems.append(f"network {network!r} is not a network name: two or more of letters, "
                        "digits, '_', '.' or '-', starting with a letter or digit")
    return problems


def _resource_problems(params: dict[str, Any], host_cpus: Optional[int]) -> list[str]:
    """Model, memory and CPU limits a board and this machine can have."""
    problems = []
    model, memory_mb = params.get("model"), params.get("memory_mb")
    if not isinstance(model, str) or model not in MODELS:
        problems.append(f"model {model!r} is not a board this collection knows; "
                        f"choose one of: {', '.join(MODELS)}")
    elif memory_mb is not None and (isinstance(memory_mb, bool) or not isinstance(memory_mb, int)):
        problems.append(f"memory_mb {memory_mb!r} must be a whole number of MiB")
    else:
        try:
            simulated_resources(model, memory_mb)
        except ValueError as exc:
            problems.append(f"memory_mb: {exc}")
    cpus = params.get("cpus")
    if cpus is not None:
        if isinstance(cpus, bool) or not isinstance(cpus, (int, float)) or not math.isfinite(cpus) \
                or cpus < CPUS_MIN:
            problems.append(f"cpus {cpus!r} must be a number of CPUs of at least {CPUS_MIN}")
        elif host_cpus is not None and cpus > host_cpus:
            problems.append(f"cpus {cpus:g} is more than the {host_cpus} CPUs this machine has")
    return problems


def _network_problems(params: dict[str, Any]) -> list[str]:
    """Subnet, address and SSH publishing."""
    problems = []
    subnet = params.get("subnet")
    problem = subnet_problem(subnet, []) if isinstance(subnet, str) else f"subnet {subnet!r} is not a string"
    if problem:
        problems.append(problem)
    address = params.get("ipv4_address")
    if address is not None:
        ip = _ip_address(address)
        if ip is None or ip.version != 4:
            problems.append(f"ipv4_address {address!r} is not an IPv4 address")
        elif not problem:
            net = ipaddress.ip_network(subnet)
            if ip not in net:
                problems.append(f"ipv4_address {address} is not inside subnet {subnet}")
            elif ip in (net.network_address, net.broadcast_address, next(net.hosts())):
                problems.append(f"ipv4_address {address} is the network, broadcast or gateway "
                                f"address of {subnet}; pick one from {net.network_address + 2} on")
    port = params.get("ssh_port")
    if port is None:
        problems.append("ssh_port is required when state is present")
    elif isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        problems.append(f"ssh_port {port!r} must be a TCP port, 1 to 65535")
    bind = params.get("ssh_bind")
    if _ip_address(bind) is None:
        problems.append(f"ssh_bind {bind!r} is not an IP address (127.0.0.1 keeps SSH on this machine)")
    return problems


def _other_problems(params: dict[str, Any]) -> list[str]:
    problems = []
    image = params.get("image")
    try:
        parse_image(image)
        if any(c.isspace() for c in image):
            raise ValueError
    except ValueError:
        problems.append(f"image {image!r} is not an image reference like pirack/pi-host:bookworm")
    key = params.get("authorized_key")
    if key is None or key == "":
        problems.append("authorized_key is required when state is present")
    elif not isinstance(key, str) or not key.startswith("/"):
        # A relative source would reach the engine as the name of a volume.
        problems.append(f"authorized_key {key!r} must be an absolute path")
    for option in ("lxcfs_dir", "sim_dir"):
        value = params.get(option)
        if value and not (isinstance(value, str) and value.startswith("/")):
            problems.append(f"{option} {value!r} must be an absolute path or empty")
    labels = params.get("labels") or {}
    if not isinstance(labels, dict):
        problems.append(f"labels must be a mapping, got {type(labels).__name__}")
    else:
        for key in labels:
            if not isinstance(key, str) or not key or any(c.isspace() or c == "=" for c in key):
                problems.append(f"labels: key {key!r} must be a word without spaces or '='")
            elif key in RESERVED_LABELS:
                problems.append(f"labels: {key!r} is set from the {key if key == 'model' else 'name'} "
                                "option; remove it from labels")
    return problems


def node_problems(params: dict[str, Any], host_cpus: Optional[int] = None) -> list[str]:
    """Every reason the options cannot make a node, one line each naming its option.

    Pure, so the module runs it before it talks to the engine at all: an
    impossible option must never get as far as removing the node it would
    have replaced. ``host_cpus`` (when known) bounds ``cpus``.
    """
    present = params.get("state", "present") == "present"
    problems = _name_problems(params, present)
    if present:
        problems += _resource_problems(params, host_cpus)
        problems += _network_problems(params)
        problems += _other_problems(params)
    return problems


def check_node(params: dict[str, Any], host_cpus: Optional[int] = None) -> None:
    """Raise NodeParamError naming every bad option, on one line."""
    problems = node_problems(params, host_cpus)
    if problems:
        raise NodeParamError("; ".join(problems))


def desired_node(params: dict[str, Any], host_cpus: int, lxcfs: bool) -> dict[str, Any]:
    """The comparable description of the node container the user asked for.

    Raises NodeParamError for settings no Pi (or this machine) could have.
    """
    check_node(params, host_cpus)
    res = simulated_resources(params["model"], params.get("memory_mb"))
    cpus = float(params.get("cpus") or min(res["cores"], host_cpus))
    address = params.get("ipv4_address")
    binds = {
        params["authorized_key"]: "/home/pi/.ssh/authorized_keys:ro",
        # The node's own engine keeps its images on a volume: overlay on
        # overlay does not work.
        engine_volume(params["name"]): "/var/lib/docker:rw",
        "/sys/fs/cgroup": "/sys/fs/cgroup:rw",
    }
    if lxcfs:
        for name in LXCFS_PROC_FILES:
            binds[f"{params['lxcfs_dir']}/proc/{name}"] = f"/proc/{name}:rw"
    if params.get("sim_dir"):
        for folder, target in SIM_SYSFS.items():
            binds[f"{params['sim_dir'].rstrip('/')}/{folder}"] = f"{target}:rw"
    labels = {f"{LABEL_PREFIX}{k}": str(v) for k, v in (params.get("labels") or {}).items()}
    labels[f"{LABEL_PREFIX}model"] = params["model"]
    labels[f"{LABEL_PREFIX}node"] = params["name"]
    return {
        "image": params["image"],
        "hostname": params.get("hostname") or params["name"],
        "memory_mb": res["memory_mb"],
        "cpus": cpus,
        "network": params["network"],
        "ipv4_address": address,
        "ssh": f"{params['ssh_bind']}:{params['ssh_port']}",
        "binds": dict(sorted(binds.items())),
        "tmpfs": dict(TMPFS),
        "labels": dict(sorted(labels.items())),
    }


def port_holder(containers: Iterable[dict[str, Any]], bind: str, port: int,
                exclude: Optional[str] = None) -> Optional[str]:
    """Name of a running container, other than the one with id ``exclude``,
    that already publishes TCP ``bind:port``.

    ``containers`` is the engine's container list (``/containers/json``).
    Asked before anything is replaced, so a taken port fails the task with
    the culprit named instead of after the old node is gone.
    """
    wildcards = {"", "0.0.0.0", "::"}
    for container in containers:
        if exclude and container.get("Id") == exclude:
            continue
        for published in container.get("Ports") or []:
            ip = published.get("IP") or ""
            if (published.get("Type", "tcp") == "tcp" and published.get("PublicPort") == port
                    and (ip == bind or ip in wildcards or bind in wildcards)):
                names = container.get("Names") or [container.get("Id", "?")]
                return names[0].lstrip("/")
    return None


def address_holder(network_attrs: dict[str, Any], address: Optional[str],
                   exclude: Optional[str] = None) -> Optional[str]:
    """Name of a container, other than the one with id ``exclude``, that
    holds ``address`` on the rack network (``docker network inspect``)."""
    if not address:
        return None
    for container_id, endpoint in (network_attrs.get("Containers") or {}).items():
        if container_id == exclude:
            continue
        if (endpoint.get("IPv4Address") or "").split("/")[0] == address:
            return endpoint.get("Name") or container_id
    return None


def actual_node(attrs: dict[str, Any], image_name: str, image_id: str) -> dict[str, Any]:
    """The same description, read back from ``docker inspect`` output."""
    host = attrs.get("HostConfig") or {}
    config = attrs.get("Config") or {}
    nets = (attrs.get("NetworkSettings") or {}).get("Networks") or {}
    network, address = None, None
    for name, settings in nets.items():
        network = name
        address = ((settings or {}).get("IPAMConfig") or {}).get("IPv4Address") or None
    ssh = None
    for binding in ((host.get("PortBindings") or {}).get("22/tcp") or []):
        ssh = f"{binding.get('HostIp') or '0.0.0.0'}:{binding.get('HostPort')}"
    binds = {}
    for bind in host.get("Binds") or []:
        source, _, rest = bind.partition(":")
        binds[source] = rest
    labels = {k: v for k, v in (config.get("Labels") or {}).items() if k.startswith(LABEL_PREFIX)}
    return {
        "image": image_name if attrs.get("Image") == image_id else attrs.get("Image"),
        "hostname": config.get("Hostname"),
        "memory_mb": (host.get("Memory") or 0) // (1024 * 1024),
        "cpus": (host.get("NanoCpus") or 0) / 1e9,
        "network": network,
        "ipv4_address": address,
        "ssh": ssh,
        "binds": dict(sorted(binds.items())),
        "tmpfs": dict(host.get("Tmpfs") or {}),
        "labels": dict(sorted(labels.items())),
    }


def differences(actual: dict[str, Any], desired: dict[str, Any]) -> list[str]:
    """Names of the settings that differ; any difference means re-creating
    the node, since a container's mounts and network cannot be edited."""
    return [key for key in desired if actual.get(key) != desired[key]]

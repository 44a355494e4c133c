# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure logic behind simulated Pi nodes: what a node container should look
like, how that compares with what the engine reports, and which rack subnets
are safe. Kept free of Docker calls so it is tested without an engine."""

from __future__ import annotations

import ipaddress
from typing import Any, Iterable, Optional

from ansible_collections.pirack.cluster.plugins.module_utils.pi_model import simulated_resources

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

# Address pools the engines *inside* the nodes pick from by default: the
# docker0 bridge and user networks (172.17.0.0/16 .. 172.31.0.0/16 and
# 192.168.0.0/16) and swarm's ingress/overlay default (10.0.0.0/8 in /24s,
# starting at 10.0.0.0). A rack subnet inside one of them breaks routing
# between nodes once the inner engines start.
INNER_ENGINE_POOLS = ("172.16.0.0/12", "192.168.0.0/16", "10.0.0.0/16")

LABEL_PREFIX = "pirack."


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


def desired_node(params: dict[str, Any], host_cpus: int, lxcfs: bool) -> dict[str, Any]:
    """The comparable description of the node container the user asked for.

    Raises ValueError for settings no Pi could have.
    """
    res = simulated_resources(params["model"], params.get("memory_mb"))
    cpus = params.get("cpus") or float(min(res["cores"], host_cpus))
    if cpus > host_cpus:
        raise ValueError(f"cpus={cpus} is more than the {host_cpus} CPUs this machine has")
    net = ipaddress.ip_network(params["subnet"])
    address = params.get("ipv4_address")
    if address and ipaddress.ip_address(address) not in net:
        raise ValueError(f"ipv4_address {address} is not inside subnet {params['subnet']}")
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
        "labels": dict(sorted(labels.items())),
    }


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
        "labels": dict(sorted(labels.items())),
    }


def differences(actual: dict[str, Any], desired: dict[str, Any]) -> list[str]:
    """Names of the settings that differ; any difference means re-creating
    the node, since a container's mounts and network cannot be edited."""
    return [key for key in desired if actual.get(key) != desired[key]]

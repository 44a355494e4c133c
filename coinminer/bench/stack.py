"""Run the five coin-miner containers on one Docker network, for the
integration tests and the benchmark.

Containers get unique names (PREFIX-xxxx-service) and the service names the
images expect (rng, hasher, redis, webui) as network aliases, so the images
run with their defaults, as on a rack. Ports are published on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import docker
import yaml
from common.resp import Redis
from docker.errors import DockerException, NotFound

COINMINER = Path(__file__).resolve().parents[1]
IMAGE = "pirack/coinminer-{service}:{tag}"
LABEL = "pirack.coinminer.stack"


def spec_ports(spec: Path = COINMINER.parent / "apps" / "coinminer.yml") -> dict[str, int]:
    """The port each service listens on, as the app spec the collection
    deploys gives it (its first port): the images are built to listen there."""
    services = yaml.safe_load(spec.read_text(encoding="utf-8"))["services"]
    return {name: int(service["ports"][0]["port"]) for name, service in services.items()}


SERVICE_PORTS = spec_ports()


def docker_client() -> docker.DockerClient | None:
    """A client whose engine answers, else None (callers skip or exit)."""
    try:
        client = docker.from_env(timeout=120)
        client.ping()
        return client
    except DockerException:
        return None


def build_images(tag: str = "latest", base_image: str = "debian:bookworm") -> str:
    """Run coinminer/build.sh (cached layers make a re-run take seconds)."""
    result = subprocess.run(
        [str(COINMINER / "build.sh")], capture_output=True, text=True, check=False,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "TAG": tag, "BASE_IMAGE": base_image},
    )
    if result.returncode != 0:
        raise RuntimeError(f"build.sh failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


class Stack:
    """redis, rng, hasher, webui and N workers on a private network."""

    def __init__(self, client: docker.DockerClient, prefix: str = "cmtest",
                 tag: str = "latest", password: str | None = None) -> None:
        self.client = client
        self.api = client.api
        self.name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.tag = tag
        self.containers: dict[str, str] = {}  # role -> container id
        self.network: str | None = None
        self.volume = f"{self.name}-redis"
        self.password = password
        self._secrets: tempfile.TemporaryDirectory[str] | None = None

    def _secret_binds(self) -> dict[str, Any]:
        """The redis password as a file at /run/secrets/redis_password, as
        Swarm mounts a secret (none without a password: the open redis)."""
        if self.password is None:
            return {}
        if self._secrets is None:
            self._secrets = tempfile.TemporaryDirectory(prefix=f"{self.name}-")
            path = Path(self._secrets.name, "redis_password")
            path.write_text(self.password + "\n")
            # Readable by the images' non-root users, as a Swarm secret (0444).
            path.chmod(0o444)
            Path(self._secrets.name).chmod(0o755)
        path = str(Path(self._secrets.name, "redis_password"))
        return {path: {"bind": "/run/secrets/redis_password", "mode": "ro"}}

    def up(self, *, workers: int = 1, delay: float = 0.1, rng_env: dict[str, str] | None = None,
           hasher_env: dict[str, str] | None = None, webui: bool = True) -> Stack:
        self.network = self.client.networks.create(
            self.name, driver="bridge", labels={LABEL: self.name}).name
        self.client.volumes.create(self.volume, labels={LABEL: self.name})
        self.run("redis", binds={self.volume: {"bind": "/data", "mode": "rw"},
                                 **self._secret_binds()})
        self.run("rng", env={"DELAY": str(delay), **(rng_env or {})})
        self.run("hasher", env={"DELAY": str(delay), **(hasher_env or {})})
        if webui:
            self.run("webui", binds=self._secret_binds())
        self.wait_healthy(["rng", "hasher"] + (["webui"] if webui else []))
        self.scale_workers(workers, delay)
        return self

    def run(self, service: str, role: str | None = None, env: dict[str, str] | None = None,
            binds: dict[str, Any] | None = None) -> str:
        role = role or service
        port = SERVICE_PORTS[service]
        host_config = self.api.create_host_config(
            port_bindings={port: ("127.0.0.1", None)}, binds=binds,
            # The Pi 3B+ budget; also keeps a runaway test from eating the VM.
            mem_limit="256m",
        )
        networking = self.api.create_networking_config({
            self.network: self.api.create_endpoint_config(
                aliases=[service] if service != "worker" else [role]),
        })
        container = self.api.create_container(
            IMAGE.format(service=service, tag=self.tag), name=f"{self.name}-{role}",
            environment=env or {}, host_config=host_config, networking_config=networking,
            ports=[port], labels={LABEL: self.name},
        )
        self.api.start(container["Id"])
        self.containers[role] = container["Id"]
        return container["Id"]

    def workers(self) -> list[str]:
        return sorted(r for r in self.containers if r.startswith("worker"))

    def scale_workers(self, count: int, delay: float = 0.1) -> None:
        """Add or remove worker containers until `count` run."""
        current = self.workers()
        for i in range(len(current), count):
            self.run("worker", role=f"worker{i + 1}",
                     env={"DELAY": str(delay), "WORKER_NAME": f"{self.name}-worker{i + 1}"},
                     binds=self._secret_binds())
        for role in sorted(current, key=lambda r: int(r[6:]))[count:]:
            with contextlib.suppress(NotFound):  # SIGTERM: the worker signs off the web UI's count
                self.api.stop(self.containers[role], timeout=10)
            self.remove(role)

    def remove(self, role: str) -> None:
        cid = self.containers.pop(role)
        with contextlib.suppress(NotFound):
            self.api.remove_container(cid, force=True)

    def host_port(self, role: str) -> int:
        service = "worker" if role.startswith("worker") else role
        info = self.api.inspect_container(self.containers[role])
        binding = info["NetworkSettings"]["Ports"][f"{SERVICE_PORTS[service]}/tcp"]
        return int(binding[0]["HostPort"])

    def url(self, role: str, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.host_port(role)}{path}"

    def redis(self) -> Redis:
        """A client on redis's published port (re-read: a restart changes it)."""
        return Redis(f"redis://127.0.0.1:{self.host_port('redis')}", timeout=2,
                     password=None if self.password is None else self.password.encode())

    def get(self, role: str, path: str, timeout: float = 5.0) -> bytes:
        with urlopen(self.url(role, path), timeout=timeout) as resp:  # noqa: S310 (loopback)
            return resp.read()

    def json(self, role: str, path: str) -> Any:
        return json.loads(self.get(role, path))

    def wait_healthy(self, roles: list[str], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        pending = list(roles)
        while pending:
            role = pending[0]
            try:
                self.get(role, "/healthz", timeout=2)
                pending.pop(0)
                continue
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{role} not healthy after {timeout}s:\n{self.logs(role)}")
            time.sleep(0.2)

    def logs(self, role: str) -> str:
        return self.api.logs(self.containers[role], tail=50).decode(errors="replace")

    def rss_kib(self, role: str) -> int:
        """Resident memory of the container's main process, from the host's
        /proc (what the Pi actually pays, without page cache)."""
        pid = self.api.inspect_container(self.containers[role])["State"]["Pid"]
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError(f"no VmRSS for {role}")

    def down(self) -> None:
        for role in list(self.containers):
            self.remove(role)
        for remove in (lambda: self.client.volumes.get(self.volume).remove(force=True),
                       lambda: self.client.networks.get(self.name).remove()):
            with contextlib.suppress(NotFound):
                remove()
        if self._secrets is not None:
            self._secrets.cleanup()
            self._secrets = None

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()


def image_size(client: docker.DockerClient, service: str, tag: str = "latest") -> int:
    return int(client.images.get(IMAGE.format(service=service, tag=tag)).attrs["Size"])

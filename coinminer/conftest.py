"""Fixtures shared by the coin-miner tests: real servers on ephemeral ports.

The services' packages (common, rng, ...) are imported the way the images run
them, with coinminer/ on sys.path.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from common.service import App, make_server  # noqa: E402


@pytest.fixture
def serve_app() -> Iterator[Callable[[App], str]]:
    """Start an App on 127.0.0.1:<free port> in a thread; returns its base URL."""
    servers = []

    def start(app: App) -> str:
        server = make_server(app, 0, host="127.0.0.1")
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def unused_port() -> int:
    return free_port()


class RedisServer:
    """A real redis-server process, restartable on the same port and data dir
    (to test that counters survive restarts and that the worker reconnects)."""

    def __init__(self, binary: str, workdir: Path, config: Path | None = None,
                 launcher: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        self.binary = binary
        self.workdir = workdir
        self.config = config
        self.launcher = launcher  # e.g. redis/start.sh, which adds the config itself
        self.env = env
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.output = workdir / "redis.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        args = list(self.launcher) if self.launcher else [self.binary]
        if self.config is not None and not self.launcher:
            args.append(str(self.config))
        # Command-line options override the config file: test port and dir.
        args += ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.workdir)]
        if self.config is None:
            args += ["--save", "", "--appendonly", "no"]
        with self.output.open("ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                         env=self.env)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith((b"+PONG", b"-NOAUTH")):  # up, maybe locked
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not start: {self.output.read_text()}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture
def redis_factory(tmp_path: Path) -> Iterator[Callable[..., RedisServer]]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server not installed (apt-get install redis-server)")
    started: list[RedisServer] = []

    def make(config: Path | None = None, **launch: Any) -> RedisServer:
        server = RedisServer(binary, tmp_path / f"redis{len(started)}", config, **launch)
        server.workdir.mkdir()
        server.start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def redis_server(redis_factory: Callable[..., RedisServer]) -> RedisServer:
    return redis_factory()

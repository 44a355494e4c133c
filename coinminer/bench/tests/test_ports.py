"""The port each Python service is built to listen on (build.sh's PORT) and the
one the bench stack publishes come from the app spec the collection deploys,
so apps/coinminer.yml is the one place a port is written. No engine: build.sh
runs against a stand-in `docker` that records its arguments."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml
from bench.stack import COINMINER, SERVICE_PORTS, spec_ports

BUILD = COINMINER / "build.sh"
SPEC = COINMINER.parent / "apps" / "coinminer.yml"
FAKE_DOCKER = """#!/bin/sh
echo "$*" >> "$DOCKER_LOG"
[ "$1 $2" = "image inspect" ] && echo 1000000
exit 0
"""


def build(tmp_path: Path, spec: Path, *services: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run build.sh with a `docker` that records each call; return the run and its build lines."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    log = tmp_path / "docker.log"
    log.write_text("")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "DOCKER_LOG": str(log), "SPEC": str(spec)}
    done = subprocess.run([str(BUILD), *services], env=env, capture_output=True, text=True, timeout=60, check=False)
    return done, [line for line in log.read_text().splitlines() if line.startswith("build ")]


def port_arg(line: str) -> str:
    return next(arg for arg in line.split() if arg.startswith("PORT="))


def moved_spec(tmp_path: Path, **ports: int) -> Path:
    """The shipped spec with some services' container ports changed."""
    spec = yaml.safe_load(SPEC.read_text())
    for name, port in ports.items():
        spec["services"][name]["ports"][0]["port"] = port
    path = tmp_path / "app.yml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_build_passes_each_service_the_port_of_the_shipped_spec(tmp_path: Path) -> None:
    done, lines = build(tmp_path, SPEC, "rng", "worker", "webui")
    assert done.returncode == 0, done.stderr
    assert [port_arg(line) for line in lines] == [f"PORT={SERVICE_PORTS[s]}" for s in ("rng", "worker", "webui")]
    assert SERVICE_PORTS["worker"] == 8080 and SERVICE_PORTS["rng"] == 80


def test_a_port_moved_in_the_spec_moves_the_build_and_the_stack(tmp_path: Path) -> None:
    spec = moved_spec(tmp_path, hasher=8181, worker=9090)
    done, lines = build(tmp_path, spec, "hasher", "worker", "redis")
    assert done.returncode == 0, done.stderr
    assert [port_arg(line) for line in lines[:2]] == ["PORT=8181", "PORT=9090"]
    assert "PORT=" not in lines[2] and "redis/Dockerfile" in lines[2]
    assert spec_ports(spec) == {**SERVICE_PORTS, "hasher": 8181, "worker": 9090}


def test_a_service_without_a_port_stops_the_build_in_one_line(tmp_path: Path) -> None:
    spec = yaml.safe_load(SPEC.read_text())
    del spec["services"]["rng"]["ports"]
    path = tmp_path / "app.yml"
    path.write_text(yaml.safe_dump(spec))
    done, lines = build(tmp_path, path, "worker", "rng", "webui")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"error: no port for rng in {path} (KeyError: 'ports')"]
    assert len(lines) == 1  # worker was built, nothing after rng

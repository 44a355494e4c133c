"""scripts/base-image.sh takes its Debian mirror from the machine's own apt
sources, and scripts/progress.sh keeps a long step from looking hung.
No engine: --print-mirror stops before any docker command."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
BASE_IMAGE = ROOT / "scripts" / "base-image.sh"
PROGRESS = ROOT / "scripts" / "progress.sh"

DEB822 = """\
Types: deb
URIs: http://mirror.example.net/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.example.net/debian
Suites: bookworm

Types: deb
Enabled: no
URIs: http://off.example.net/debian
Suites: bookworm

Types: deb
# a comment between fields
URIs: http://mirror.example.net/debian/ http://second.example.net/debian
Suites: bookworm bookworm-updates
Components: main
"""


def mirror(apt_dir: Path, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "PIRACK_DEBIAN_MIRROR"}
    proc = subprocess.run(["bash", str(BASE_IMAGE), "--print-mirror"], capture_output=True, text=True,
                          env=dict(environ, PIRACK_APT_DIR=str(apt_dir), **env), timeout=30, check=True)
    return proc.stdout.strip()


@pytest.fixture(name="apt_dir")
def fixture_apt_dir(tmp_path: Path) -> Path:
    (tmp_path / "sources.list.d").mkdir()
    return tmp_path


def test_deb822_main_suite_mirror_is_used(apt_dir: Path) -> None:
    (apt_dir / "sources.list.d" / "debian.sources").write_text(DEB822)
    (apt_dir / "sources.list").write_text("deb http://list.example.net/debian bookworm main\n")
    assert mirror(apt_dir) == "http://mirror.example.net/debian"


def test_one_line_sources_with_options(apt_dir: Path) -> None:
    (apt_dir / "sources.list").write_text(
        "# deb http://commented.example.net/debian bookworm main\n"
        "deb http://security.example.net/debian-security bookworm-security main\n"
        "deb [arch=amd64 signed-by=/usr/share/keyrings/debian.gpg] http://list.example.net/debian bookworm main\n")
    assert mirror(apt_dir) == "http://list.example.net/debian"


def test_override_wins_and_no_sources_falls_back(apt_dir: Path) -> None:
    (apt_dir / "sources.list").write_text("deb http://list.example.net/debian bookworm main\n")
    assert mirror(apt_dir, PIRACK_DEBIAN_MIRROR="http://mine.example.net/debian") == "http://mine.example.net/debian"
    assert mirror(apt_dir / "sources.list.d") == "http://deb.debian.org/debian"


def test_a_long_step_says_what_it_is_doing() -> None:
    proc = subprocess.run(["bash", str(PROGRESS), "counting", "bash", "-c",
                           "for i in 1 2 3 4; do echo line $i; sleep 1; done"],
                          capture_output=True, text=True, env=dict(os.environ, PIRACK_PROGRESS_EVERY="1"),
                          timeout=60, check=True)
    lines = proc.stdout.splitlines()
    assert lines[0] == "counting" and len(lines) >= 3
    assert all(line.startswith("  ... ") and " s: line " in line for line in lines[1:])


def test_a_failed_step_shows_its_last_lines_and_exit_code() -> None:
    proc = subprocess.run(["bash", str(PROGRESS), "failing", "bash", "-c", "echo why it broke; exit 3"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 3 and "why it broke" in proc.stderr


# --- one architecture's base image, with stand-ins for docker, dpkg and debootstrap ---

STUB_DOCKER = """#!/usr/bin/env bash
# docker image inspect -f FMT NAME: the platform listed for NAME in $STUB_DIR/images
# ("NAME PLATFORM" lines); docker tag SRC DST: recorded and listed; pull fails.
log="$STUB_DIR/calls"; echo "docker $*" >> "$log"
case "$1 $2" in
  "image inspect") name="${@: -1}"; line=$(grep "^$name " "$STUB_DIR/images") || exit 1; echo "${line#* }" ;;
  "tag "*) src=$(grep "^$2 " "$STUB_DIR/images"); echo "$3 ${src#* }" >> "$STUB_DIR/images" ;;
  *) exit 1 ;;
esac
"""


@pytest.fixture(name="stubs")
def fixture_stubs(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in {"docker": STUB_DOCKER, "dpkg": "#!/bin/sh\necho amd64\n",
                       "debootstrap": '#!/bin/sh\necho "debootstrap $*" >> "$STUB_DIR/calls"; exit 1\n',
                       "timeout": '#!/bin/sh\nshift; exec "$@"\n'}.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    (tmp_path / "images").write_text("")
    (tmp_path / "binfmt").mkdir()
    return tmp_path


def base_image(stubs: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{stubs / 'bin'}:{os.environ['PATH']}", STUB_DIR=str(stubs),
               PIRACK_DEBIAN_MIRROR="http://mirror.invalid/debian", PIRACK_BINFMT_DIR=str(stubs / "binfmt"))
    env.pop("PIRACK_BASE_IMAGE", None)
    return subprocess.run(["bash", str(BASE_IMAGE), *args], capture_output=True, text=True, env=env, timeout=30,
                          check=False)


@pytest.mark.parametrize(("arch", "names"), [
    ([], "linux/amd64 debian:bookworm amd64/debian:bookworm"),
    (["--arch", "arm64"], "linux/arm64/v8 arm64v8/debian:bookworm"),
    (["--arch", "armhf"], "linux/arm/v7 arm32v7/debian:bookworm"),
])
def test_each_architecture_has_docker_hubs_name_and_its_platform(stubs: Path, arch: list, names: str) -> None:
    assert base_image(stubs, *arch, "--print-names").stdout.strip() == names


def test_a_base_of_another_architecture_is_refused_in_one_line_before_anything_is_made(stubs: Path) -> None:
    # The controller's amd64 image, named as if it were the armhf one.
    (stubs / "images").write_text("arm32v7/debian:bookworm linux/amd64\n")
    done = base_image(stubs, "--arch", "armhf")
    assert done.returncode == 1
    assert done.stderr.strip() == ("error: base image arm32v7/debian:bookworm is for linux/amd64, not for "
                                   "linux/arm/v7 (armhf); remove it (docker rmi arm32v7/debian:bookworm) and run again")
    assert "debootstrap" not in (stubs / "calls").read_text()


def test_the_native_image_gets_its_architectures_name_too(stubs: Path) -> None:
    (stubs / "images").write_text("debian:bookworm linux/amd64\n")
    done = base_image(stubs)
    assert done.returncode == 0, done.stderr
    assert "docker tag debian:bookworm amd64/debian:bookworm" in (stubs / "calls").read_text()
    assert "present as debian:bookworm" in done.stdout


def test_arm_without_a_variant_is_armv7(stubs: Path) -> None:
    (stubs / "images").write_text("arm32v7/debian:bookworm linux/arm\n")
    assert base_image(stubs, "--arch", "armhf").returncode == 0


def test_another_architecture_without_emulation_is_one_line_naming_qemu(stubs: Path) -> None:
    done = base_image(stubs, "--arch", "arm64")
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: base image for arm64: debootstrap runs arm64 programs, and this machine has no "
                           "qemu-aarch64 in binfmt_misc; install qemu-user-static"), done.stderr
    assert "debootstrap --arch" not in (stubs / "calls").read_text()


def test_another_architecture_with_emulation_is_debootstrapped_for_it(stubs: Path) -> None:
    (stubs / "binfmt" / "qemu-arm").write_text("enabled\ninterpreter /usr/libexec/qemu-binfmt/arm-binfmt-P\n")
    done = base_image(stubs, "--arch", "armhf")
    assert "debootstrap --arch=armhf --variant=minbase bookworm" in (stubs / "calls").read_text(), done.stdout

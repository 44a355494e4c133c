#!/usr/bin/python
# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a Debian board is and has installed, in one call."""

from __future__ import annotations

DOCUMENTATION = r"""
module: board_info
short_description: A Debian board's release, architecture, memory, packages and services in one call
version_added: 0.1.0
author:
  - pirack.cluster contributors (@pirack)
description:
  - Reads, on the board it runs on, what a role needs before it changes
    anything, so that a re-run of the role on a rack of slow boards asks once
    instead of once per fact, package and service.
  - The release comes from C(/etc/os-release); the architecture from
    C(dpkg --print-architecture), which is the userland's (a 32-bit Raspberry
    Pi OS on a 64-bit kernel says V(armhf) where C(uname) says V(aarch64)).
options:
  packages:
    description:
      - Debian packages whose installed version to report (Debian package
        names). A package not installed is reported as null.
    type: list
    elements: str
    default: []
  services:
    description:
      - systemd units whose state to report (unit names, V(.service) optional).
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - pirack.cluster.read_only
seealso:
  - module: pirack.cluster.board_files
  - module: pirack.cluster.board_health
"""

EXAMPLES = r"""
- name: Read what the engine role needs
  pirack.cluster.board_info:
    packages: [docker.io, python3-docker]
    services: [docker]
  register: board

- name: Install the engine only where it is missing
  ansible.builtin.apt:
    name: [docker.io, python3-docker]
  when: board.missing | length > 0
"""

RETURN = r"""
os:
  description: The release, from /etc/os-release.
  returned: success
  type: dict
  contains:
    id:
      description: V(ID), such as V(debian), V(ubuntu) or V(raspbian).
      type: str
    id_like:
      description: V(ID_LIKE) as a list (empty on Debian itself).
      type: list
      elements: str
    version_codename:
      description: V(VERSION_CODENAME), such as V(bookworm).
      type: str
  sample: {id: debian, id_like: [], version_codename: bookworm}
architecture:
  description: Debian's name for the userland's architecture.
  returned: success
  type: str
  sample: arm64
packages:
  description: Each package of O(packages) with its installed version, or null.
  returned: success
  type: dict
  sample: {docker.io: "20.10.24+dfsg1-1+deb12u1", python3-docker: null}
services:
  description: Each unit of O(services), as systemctl states it.
  returned: success
  type: dict
  contains:
    active:
      description: C(systemctl is-active), such as V(active), V(inactive) or V(failed).
      type: str
    enabled:
      description: C(systemctl is-enabled), such as V(enabled), V(disabled) or V(not-found).
      type: str
  sample: {docker: {active: active, enabled: enabled}}
missing:
  description: The packages of O(packages) that are not installed, in the order given (what apt has to install).
  returned: success
  type: list
  elements: str
  sample: [python3-docker]
down:
  description:
    - The units of O(services) that are not both active and enabled, in the
      order given (what a role that runs them at boot has to start).
  returned: success
  type: list
  elements: str
  sample: []
memory_mb:
  description: The board's memory (MemTotal of /proc/meminfo) in MiB.
  returned: success
  type: int
  sample: 921
runs:
  description:
    - The other Debian architectures (of amd64, arm64, armhf, i386) whose
      programs the board's kernel runs, found by running the smallest program
      of each (exit 0). Natively (a 64-bit Pi runs armhf programs) or through
      an emulator registered in binfmt_misc (Debian's qemu-user-static, whose
      entries also serve inside containers). What the board can build images
      for besides its own architecture.
  returned: success
  type: list
  elements: str
  sample: [armhf]
apt_lists:
  description: How many package lists apt has under /var/lib/apt/lists (0 on an image that deleted them).
  returned: success
  type: int
  sample: 12
"""

import glob  # noqa: E402
import os  # noqa: E402
from typing import Any  # noqa: E402

from ansible_collections.pirack.cluster.plugins.module_utils.board import (  # noqa: E402
    DPKG_FORMAT,
    EXIT_CODE,
    PACKAGE_NAME,
    UNIT_NAME,
    exit_program,
    meminfo_mb,
    names_problems,
    parse_dpkg_query,
    parse_os_release,
)
from ansible_collections.pirack.cluster.plugins.module_utils.module_args import build_module  # noqa: E402

# A unit that runs now and at boot, as systemctl states it.
UP = {"active": "active", "enabled": "enabled"}


def systemctl_state(module: Any, verb: str, unit: str) -> str:
    """``systemctl is-active`` or ``is-enabled`` of a unit, as the word it prints."""
    _rc, out, err = module.run_command(["systemctl", verb, unit])
    return (out.strip() or err.strip() or "unknown").splitlines()[0]


def runs_architectures(module: Any, own: str) -> list[str]:
    """The architectures besides ``own`` whose smallest program runs here.

    Each is written to the module's own temporary folder and run; a kernel
    that cannot run it refuses with "Exec format error", which is the answer.
    """
    found = []
    for arch in sorted(EXIT_CODE):
        if arch == own:
            continue
        path = os.path.join(module.tmpdir, f"exit-{arch}")
        with open(path, "wb") as handle:
            handle.write(exit_program(arch))
        os.chmod(path, 0o700)
        try:
            rc, _out, _err = module.run_command([path], handle_exceptions=False)
        except OSError:  # ENOEXEC: not a program this kernel runs
            rc = 1
        if rc == 0:
            found.append(arch)
    return found


def main() -> None:
    """Entry point: read, never change."""
    module = build_module(
        {
            "packages": {"type": "list", "elements": "str", "default": []},
            "services": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    packages, services = module.params["packages"], module.params["services"]
    problems = (names_problems("packages", packages, PACKAGE_NAME, "a Debian package name")
                + names_problems("services", services, UNIT_NAME, "a systemd unit name"))
    if problems:
        module.fail_json(msg="; ".join(problems))
    try:
        with open("/etc/os-release", encoding="utf-8") as handle:
            release = parse_os_release(handle.read())
    except OSError as exc:
        module.fail_json(msg=f"cannot read /etc/os-release: {exc.strerror}")
    rc, arch, err = module.run_command(["dpkg", "--print-architecture"])
    if rc != 0:
        module.fail_json(msg=f"dpkg --print-architecture failed: {(err or arch).strip()}")
    installed: dict[str, Any] = {}
    if packages:
        # Exit status 1 only means some package is unknown to dpkg: its line is missing.
        _rc, out, _err = module.run_command(["dpkg-query", "-W", "-f", DPKG_FORMAT, *packages])
        installed = parse_dpkg_query(out, packages)
    states = {unit: {"active": systemctl_state(module, "is-active", unit),
                     "enabled": systemctl_state(module, "is-enabled", unit)} for unit in services}
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            memory_mb = meminfo_mb(handle.read())
    except OSError as exc:
        module.fail_json(msg=f"cannot read /proc/meminfo: {exc.strerror}")
    module.exit_json(changed=False, os=release, architecture=arch.strip(), packages=installed,
                     missing=[name for name in packages if installed.get(name) is None],
                     services=states, down=[unit for unit in services if states[unit] != UP],
                     memory_mb=memory_mb, runs=runs_architectures(module, arch.strip()),
                     apt_lists=len(glob.glob("/var/lib/apt/lists/*_Packages*")))


if __name__ == "__main__":
    main()

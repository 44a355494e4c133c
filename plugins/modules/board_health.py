#!/usr/bin/python
# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Raspberry Pi's health where the board reports it, in one call."""

from __future__ import annotations

DOCUMENTATION = r"""
module: board_health
short_description: A Raspberry Pi's temperature, throttling, SD card and clock
version_added: 0.1.0
author:
  - pirack.cluster contributors (@pirack)
description:
  - Reads, on the board it runs on, what fails on a Pi rack and not on a
    server rack - the SoC temperature (C(/sys/class/thermal/thermal_zone0/temp)),
    the firmware's throttling and under-voltage flags now and since boot
    (C(/sys/devices/platform/soc/soc:firmware/get_throttled), else
    C(vcgencmd get_throttled)), the root filesystem's free space and whether it
    is read-only, and whether the kernel clock is synchronised.
  - A reading the board does not have (no thermal zone, no firmware interface)
    is returned as null, never as a made-up number.
  - The monitoring role runs the same code on every board as the node
    exporter's textfile collector, so the status screen and Prometheus agree.
options:
  root:
    description:
      - The mount point whose filesystem counts as the board's SD card.
      - V(/) on a real board. The simulated rack's boards have a small tmpfs at
        V(/var/lib/pirack-sim/sdcard) that tests can fill or remount read-only.
    type: path
    default: /
extends_documentation_fragment:
  - pirack.cluster.read_only
seealso:
  - module: pirack.cluster.board_info
"""

EXAMPLES = r"""
- name: Read every board's health
  pirack.cluster.board_health:
  register: health

- name: Stop a benchmark on a board that throttles
  ansible.builtin.assert:
    that: "'throttled' not in (health.throttled.now | default([]))"
    fail_msg: "{{ inventory_hostname }} is throttling: cool it before benchmarking"
"""

RETURN = r"""
temperature_c:
  description: The SoC temperature in degrees Celsius; null where the board has no thermal zone.
  returned: success
  type: float
  sample: 47.2
throttled:
  description: The firmware's flags; null where the board has no firmware interface (not a Pi).
  returned: success
  type: dict
  contains:
    word:
      description: The raw get_throttled word.
      type: int
    now:
      description: Flags set now, of V(under_voltage), V(freq_capped), V(throttled), V(soft_temp_limit).
      type: list
      elements: str
    since_boot:
      description: The same flags, set at some time since boot.
      type: list
      elements: str
  sample: {word: 327680, now: [], since_boot: [under_voltage, throttled]}
root:
  description: The mount point read, O(root).
  returned: success
  type: str
  sample: /
rootfs:
  description: Size, free space for users, percent used and the read-only flag of O(root); null if unreadable.
  returned: success
  type: dict
  sample: {size_bytes: 31043616768, avail_bytes: 21474836480, used_percent: 30.8, readonly: false}
clock_synchronised:
  description: Whether the kernel clock is synchronised (NTP); null when it cannot be asked.
  returned: success
  type: bool
  sample: true
"""

from ansible_collections.pirack.cluster.plugins.module_utils.board_health import read_health  # noqa: E402
from ansible_collections.pirack.cluster.plugins.module_utils.module_args import build_module  # noqa: E402


def main() -> None:
    """Entry point: read, never change."""
    module = build_module({"root": {"type": "path", "default": "/"}}, supports_check_mode=True)
    module.exit_json(changed=False, **read_health(root=module.params["root"]))


if __name__ == "__main__":
    main()

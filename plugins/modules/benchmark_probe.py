#!/usr/bin/python
# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Record a running coin-miner: counter samples and prober latencies."""

from __future__ import annotations

DOCUMENTATION = r"""
module: benchmark_probe
short_description: Record a service's counter and request latencies for a while
version_added: 0.1.0
description:
  - Polls a JSON counter (the coin-miner web UI's C(/json) C(hashes)) at a fixed
    interval for a given time, while one prober per target sends keep-alive
    requests back to back and records each round trip, the way the course used
    C(httping) against rng and hasher.
  - Runs on the host it is given (normally a cluster's master, next to the
    services), so the numbers do not include the controller's SSH link. Only
    the standard library is used, so any Python 3 host can run it.
  - Returns the raw recordings plus the steady-state rate and latency
    percentiles computed from them; the benchmark report recomputes the same
    numbers from the raw data, so nothing is lost by summarising here.
author:
  - pirack.cluster contributors (@pirack)
attributes:
  check_mode:
    description: Measures in check mode too; it changes nothing.
    support: full
    details:
      - Only reads, so it records in check mode too.
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: none
  idempotent:
    description: A measurement changes nothing.
    support: full
    details:
      - Never changes anything; each run records new samples.
options:
  counter_url:
    description:
      - Plain C(http://host[:port]/path) URL answering a JSON object that holds the counter.
    type: str
    required: true
  counter_field:
    description: Name of the counter in that object.
    type: str
    default: hashes
  duration:
    description: Seconds to record, warm-up included.
    type: float
    required: true
  interval:
    description: Seconds between two counter samples.
    type: float
    default: 1.0
  warmup:
    description: Seconds at the start left out of the returned summary (still recorded).
    type: float
    default: 0.0
  window:
    description:
      - Seconds per rate window for the steady-state detection. Longer than the
        workers' flush interval (1 s), or the rates alias.
    type: float
    default: 5.0
  targets:
    description:
      - Latency probers, by name (for example V(rng), V(hasher)). Each is a dict
        with C(url) (plain C(http://)), optional C(method) (default V(GET)) and
        C(body_bytes) (a body of that many zero bytes, 0 to 16 MiB, for a hasher).
      - Every option is checked before anything is recorded; a bad one fails
        with one line naming it.
    type: dict
    default: {}
  pause:
    description: Seconds each prober waits between two requests (0 = back to back).
    type: float
    default: 0.0
  timeout:
    description: Seconds before one request counts as failed.
    type: float
    default: 10.0
seealso:
  - module: pirack.cluster.benchmark_report
"""

EXAMPLES = r"""
- name: Record 40 s of the coin-miner, probing rng and hasher
  pirack.cluster.benchmark_probe:
    counter_url: http://127.0.0.1:8000/json
    duration: 40
    warmup: 10
    targets:
      rng: {url: "http://127.0.0.1:8001/32"}
      hasher: {url: "http://127.0.0.1:8002/", method: POST, body_bytes: 32}
  register: probe
"""

RETURN = r"""
samples:
  description: Counter samples as [seconds since start, value] pairs.
  returned: always
  type: list
  elements: list
  sample: [[0.0, 1200], [1.0, 1210]]
errors:
  description: Counter polls that failed.
  returned: always
  type: int
last_error:
  description: The last counter poll failure, or null.
  returned: always
  type: str
latency:
  description: Per prober, the round trips in seconds, failures and the last failure.
  returned: always
  type: dict
rate:
  description: Steady-state rate of the counter after the warm-up (see the benchmark report).
  returned: always
  type: dict
  contains:
    median: {description: Median windowed rate per second., type: float}
    steady: {description: Whether a settled stretch was found., type: bool}
latency_summary:
  description: Per prober, count and p50/p95/p99/max in milliseconds.
  returned: always
  type: dict
"""

from ansible_collections.pirack.cluster.plugins.module_utils.bench.probe import (  # noqa: E402
    ProbeError,
    check_params,
    record,
)
from ansible_collections.pirack.cluster.plugins.module_utils.bench.stats import (  # noqa: E402
    latency_summary,
    steady_state,
)
from ansible_collections.pirack.cluster.plugins.module_utils.module_args import build_module  # noqa: E402


def main() -> None:
    """Entry point: check every option, record, summarise, return; fails on a
    bad option (one line naming it) or when no counter sample could be read."""
    module = build_module(
        argument_spec={
            "counter_url": {"type": "str", "required": True},
            "counter_field": {"type": "str", "default": "hashes"},
            "duration": {"type": "float", "required": True},
            "interval": {"type": "float", "default": 1.0},
            "warmup": {"type": "float", "default": 0.0},
            "window": {"type": "float", "default": 5.0},
            "targets": {"type": "dict", "default": {}},
            "pause": {"type": "float", "default": 0.0},
            "timeout": {"type": "float", "default": 10.0},
        },
        supports_check_mode=True,
    )
    try:
        p = check_params(module.params)
    except ProbeError as exc:
        module.fail_json(msg=str(exc))
    result = record(p["counter_url"], p["counter_field"], p["duration"], p["interval"],
                    p["targets"], p["pause"], p["timeout"])
    if not result["samples"]:
        module.fail_json(msg=f"no counter sample could be read from {p['counter_url']}: "
                             f"{result['last_error']}", **result)
    result["rate"] = steady_state(result["samples"], p["warmup"], p["window"])
    result["latency_summary"] = {name: latency_summary(probe["seconds"])
                                 for name, probe in result["latency"].items()}
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()

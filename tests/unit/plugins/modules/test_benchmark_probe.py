"""benchmark_probe: bad options fail with one line naming the option, before
anything is recorded (the module runs as Ansible runs it, no mocks)."""

from __future__ import annotations

import pytest

GOOD = "http://127.0.0.1:9/json"


@pytest.mark.parametrize(("args", "option"), [
    ({"counter_url": "http://127.0.0.1:99999/json"}, "counter_url"),
    ({"counter_url": "http://127.0.0.1:abc/json"}, "counter_url"),
    ({"counter_url": "http://[::1/json"}, "counter_url"),
    ({"counter_url": 8000}, "counter_url"),
    ({"targets": {"rng": {"url": "http://127.0.0.1:99999/32"}}}, "targets.rng.url"),
    ({"targets": {"rng": {"url": "http://[fe80::1%/32"}}}, "targets.rng.url"),
    ({"targets": {"rng": {"url": 8001}}}, "targets.rng.url"),
    ({"targets": {"hasher": {"url": GOOD, "method": "POST", "body_bytes": "abc"}}},
     "targets.hasher.body_bytes"),
    ({"targets": {"hasher": {"url": GOOD, "method": "POST", "body_bytes": 1e19}}},
     "targets.hasher.body_bytes"),
    ({"duration": "inf"}, "duration"),
    ({"interval": 0}, "interval"),
    ({"warmup": 5}, "warmup"),
])
def test_bad_option_is_one_line_naming_it(module_runner, args: dict, option: str) -> None:
    result = module_runner("benchmark_probe", dict({"counter_url": GOOD, "duration": 1}, **args))
    assert result.get("failed"), result
    assert result["msg"].startswith(f"{option}:"), result["msg"]
    assert "\n" not in result["msg"] and "Traceback" not in result.get("module_stderr", "")
    assert "samples" not in result  # refused before recording anything


def test_a_good_call_records_and_reports_the_unreachable_counter(module_runner) -> None:
    result = module_runner("benchmark_probe", {
        "counter_url": GOOD, "duration": 0.3, "interval": 0.1, "timeout": 0.5,
        "targets": {"hasher": {"url": GOOD, "method": "POST", "body_bytes": "32"}}})
    assert result["failed"] and result["msg"].startswith("no counter sample could be read")
    assert result["latency"]["hasher"]["errors"] >= 1

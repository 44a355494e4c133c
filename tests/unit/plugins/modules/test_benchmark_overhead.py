"""benchmark_overhead: a bad option fails with one line naming it, before
any image, pause or run (the module runs as Ansible runs it, no mocks; no
engine is reachable in unit tests, so reaching one would fail differently)."""

from __future__ import annotations

import pytest

TESTS = {"cpu": ["cpu", "--cpu-max-prime=10000"]}


@pytest.mark.parametrize(("args", "option"), [
    ({"pairs": 2}, "pairs"),
    ({"time": 0}, "time"),
    ({"tests": {}}, "tests"),
    ({"tests": {"cpu": "cpu"}}, "tests.cpu"),
    ({"pause": {"label": 5}}, "pause"),
    ({"sysbench": "/nonexistent/sysbench"}, "sysbench"),
])
def test_bad_option_is_one_line_naming_it(module_runner, args: dict, option: str) -> None:
    result = module_runner("benchmark_overhead", dict({"tests": TESTS}, **args))
    assert result.get("failed"), result
    assert result["msg"].startswith(f"{option}:"), result["msg"]
    assert "\n" not in result["msg"] and "Traceback" not in result.get("module_stderr", "")
    assert "tests" not in result and "paused" not in result  # refused before anything ran

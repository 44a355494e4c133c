"""Put tests/ on the import path, so the rack tests share tests/rackkit.py;
keep each test's reports on it, so a fixture can tell after the test whether
it failed (the fault tests converge the rack again after a failure)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # noqa: ARG001 - pytest passes both by name
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)

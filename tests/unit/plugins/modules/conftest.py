"""Fixtures for module tests: run one of our modules the way Ansible does
(tests/modkit.py); the unit tests use it without an engine."""

from modkit import fixture_engine, fixture_module_runner  # noqa: F401 - pytest finds fixtures by import

"""Fixtures for the tests that drive the machine's Docker engine: run one of
the collection's modules as Ansible does (tests/modkit.py), skip with one
line when no engine can run containers here."""

from modkit import fixture_engine, fixture_module_runner  # noqa: F401 - pytest finds fixtures by import

"""Every filter of the collection has its own documentation file, which is
what `ansible-doc -t filter pirack.cluster.<name>` shows: the file named after
the filter, next to the plugin that registers it."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml

FILTER_DIR = Path(__file__).resolve().parents[4] / "plugins" / "filter"


def registered() -> list[tuple[str, str]]:
    """(plugin file, filter name) for every filter the collection registers."""
    found = []
    for path in sorted(FILTER_DIR.glob("*.py")):
        module = importlib.import_module(f"ansible_collections.pirack.cluster.plugins.filter.{path.stem}")
        found += [(path.name, name) for name in module.FilterModule().filters()]
    return found


@pytest.mark.parametrize(("plugin", "name"), registered())
def test_each_filter_is_documented_on_its_own(plugin: str, name: str) -> None:
    doc_file = FILTER_DIR / f"{name}.yml"
    assert doc_file.is_file(), f"{plugin} registers {name} but plugins/filter/{name}.yml is missing"
    doc = yaml.safe_load(doc_file.read_text())
    assert doc["DOCUMENTATION"]["name"] == name
    assert doc["DOCUMENTATION"]["options"]["_input"]["description"], f"{name}: its input is not described"
    assert f"pirack.cluster.{name}" in doc["EXAMPLES"], f"{name}: no example uses it"
    assert doc["RETURN"]["_value"]["description"]


def test_no_documentation_file_without_its_filter() -> None:
    names = {name for _, name in registered()}
    assert {p.stem for p in FILTER_DIR.glob("*.yml")} <= names

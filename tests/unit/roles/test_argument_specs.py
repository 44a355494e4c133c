"""Every role's meta/argument_specs.yml documents the defaults the role
really has, so `ansible-doc -t role` shows them instead of `null`.

What counts as "the default" is the value in defaults/main.yml as YAML reads
it; a templated default (one that follows another variable) is documented
as its template string, which is what a reader needs to know where it comes
from. Variables a role takes without a default (required ones, or ones read
from inventory) carry none in the spec either.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROLES = Path(__file__).resolve().parents[3] / "roles"
ROLE_NAMES = sorted(p.parent.parent.name for p in ROLES.glob("*/meta/argument_specs.yml"))
MISSING = object()


def load(path: Path) -> dict:
    return (yaml.safe_load(path.read_text()) if path.is_file() else None) or {}


def entry_points(role: str) -> dict:
    return load(ROLES / role / "meta" / "argument_specs.yml")["argument_specs"]


def options_of(role: str) -> list[tuple[str, str, dict]]:
    """(entry point, option, its spec) for every option of the role."""
    return [(entry, name, spec) for entry, body in entry_points(role).items()
            for name, spec in (body.get("options") or {}).items()]


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_spec_defaults_are_the_role_defaults(role: str) -> None:
    defaults = load(ROLES / role / "defaults" / "main.yml")
    wrong = []
    for entry, name, spec in options_of(role):
        want = defaults.get(name, MISSING)
        have = spec.get("default", MISSING)
        if want is MISSING:
            if have is not MISSING:
                wrong.append(f"{entry}.{name}: documents default {have!r} but defaults/main.yml has none")
        elif have is MISSING or have != want:
            shown = "none" if have is MISSING else repr(have)
            wrong.append(f"{entry}.{name}: documents default {shown}, defaults/main.yml has {want!r}")
    assert not wrong, f"roles/{role}/meta/argument_specs.yml:\n  " + "\n  ".join(wrong)


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_every_default_is_a_documented_option(role: str) -> None:
    documented = {name for _, name, _ in options_of(role)}
    undocumented = sorted(set(load(ROLES / role / "defaults" / "main.yml")) - documented)
    assert not undocumented, f"roles/{role}: defaults/main.yml variables missing from meta/argument_specs.yml: " \
                             f"{', '.join(undocumented)}"


def test_every_role_has_an_argument_spec() -> None:
    assert sorted(p.name for p in ROLES.iterdir() if (p / "tasks").is_dir()) == ROLE_NAMES

# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How one value of an app spec is checked, and written in its canonical form.

``Checker`` walks a person's spec and collects one line per problem (the
place, what was expected, what was found) while returning clean values, so
a spec's mistakes come all at once. The quantities (sizes, CPUs) have one
canonical spelling each, which both drivers also use when they read live
objects back: that is what makes "already deployed?" an equality test.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any, Optional

from ansible_collections.pirack.cluster.plugins.module_utils.errors import AppError, show

# Upper bounds are the orchestrators' own: Kubernetes keeps replicas in an
# int32 and both keep bytes and nano-CPUs in an int64. A value past them is
# refused here, before anything is created, instead of by the API mid-apply.
MAX_REPLICAS = 2**31 - 1
MAX_BYTES = 2**63 - 1
MAX_CPUS = 10**6

# App, service, volume and secret names become DNS names (swarm aliases,
# Kubernetes object names), so they are RFC 1123 labels starting with a
# letter. Patterns are used with fullmatch: "$" would let a trailing newline through.
DNS_LABEL = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")
_QUANTITY = re.compile(r"([0-9]{1,30}(?:\.[0-9]{1,30})?)(Ki|Mi|Gi|Ti|k|M|G|T)?")
_UNITS = {None: 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
          "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
# Largest unit first, binary before decimal, so 64Mi stays "64Mi".
_FORMAT_UNITS = ("Ti", "Gi", "Mi", "Ki", "T", "G", "M", "k")


def spec_error(errors: list[str]) -> AppError:
    """The error for an invalid spec, every problem in its message."""
    return AppError("invalid app spec: " + "; ".join(errors), errors)


def describe(value: Any) -> str:
    """How a wrong value is shown in an error: its repr and YAML type."""
    kinds = {bool: "boolean", int: "integer", float: "number", str: "string",
             list: "list", dict: "mapping", type(None): "null"}
    return f"{show(value)} ({kinds.get(type(value), type(value).__name__)})"


def at(where: str, key: Any) -> str:
    """Where a key of a user's mapping is: ``where.key``, or ``where[<repr>]``
    for a key that is not a plain printable string."""
    plain = isinstance(key, str) and key.isprintable() and key and " " not in key and len(key) <= 80
    return f"{where}.{key}" if plain else f"{where}[{show(key)}]"


def scalar(value: Any) -> Optional[str]:
    """A YAML string or number as text; None for anything else (a boolean
    included: YAML turns an unquoted yes/no/on/off into one)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    try:
        return str(value)
    except ValueError:  # an integer past Python's 4300-digit printing limit
        return None


class Checker:
    """Collects errors while walking a spec; each check returns a clean value."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def fail(self, where: str, expected: str, value: Any = None, got: bool = True) -> None:
        self.errors.append(f"{where}: expected {expected}" + (f", got {describe(value)}" if got else ""))

    def mapping(self, where: str, value: Any, fields: Optional[tuple[str, ...]]) -> dict:
        """A mapping, and (when ``fields`` is given) only known keys in it."""
        if not isinstance(value, dict):
            self.fail(where, "a mapping", value)
            return {}
        if fields is not None:
            for key in value:
                if key not in fields:
                    self.errors.append(f"{at(where, key)}: unknown field; expected one of: {', '.join(fields)}")
        return value

    def items(self, where: str, value: Any, what: str) -> list:
        """A list (absent means empty), or an error naming what it should list."""
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(where, f"a list of {what}", value)
            return []
        return value

    def integer(self, where: str, value: Any, low: int, high: int) -> Optional[int]:
        """An integer in range; digit strings pass because Ansible templates yield them."""
        if isinstance(value, str) and value.strip().isdecimal() and len(value.strip()) <= 20:
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            too_big = isinstance(value, int) and value > high
            span = f"between {low} and {high}" if high <= 65535 else f"<= {high}" if too_big else f">= {low}"
            self.fail(where, f"an integer {span}", value)
            return None
        return value

    def string(self, where: str, value: Any, pattern: Optional[re.Pattern] = None,
               expected: str = "a non-empty string") -> Optional[str]:
        if not isinstance(value, str) or not value or (pattern is not None and not pattern.fullmatch(value)):
            self.fail(where, expected, value)
            return None
        return value

    def string_list(self, where: str, value: Any) -> Optional[tuple[str, ...]]:
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(where, "a list of strings", value)
            return None
        # An empty list means "the image's default", as an absent field does;
        # neither orchestrator reports the two apart.
        return tuple(value) or None

    def choice(self, where: str, value: Any, choices: tuple[str, ...]) -> Optional[str]:
        if not isinstance(value, str) or value not in choices:
            self.fail(where, "one of " + ", ".join(choices), value)
            return None
        return value


def parse_size(value: Any) -> int:
    """Bytes in a size written as Kubernetes writes it (64Mi, 1Gi, 500M) or as bytes.

    Kubernetes units are the only ones accepted: Docker's "64m" means MiB
    while Kubernetes' "64m" means milli-bytes, and guessing would be worse
    than refusing. The arithmetic is exact (fractions, not floats), so a
    size of many digits is either exactly right or refused.
    """
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        size = Fraction(value)
    else:
        match = _QUANTITY.fullmatch(value) if isinstance(value, str) else None
        if not match:
            raise ValueError(value)
        size = Fraction(match.group(1)) * _UNITS[match.group(2)]
    if size.denominator != 1 or not 0 < size <= MAX_BYTES:
        raise ValueError(value)
    return int(size)


def format_size(size: int) -> str:
    """The shortest exact way to write ``size`` bytes; the canonical form."""
    for unit in _FORMAT_UNITS:
        if size % _UNITS[unit] == 0:
            return f"{size // _UNITS[unit]}{unit}"
    return str(size)


def canonical_size(value: Any) -> str:
    """A size in its canonical form (``parse_size`` then ``format_size``); ValueError when it is none."""
    return format_size(parse_size(value))


def parse_cpus(value: Any) -> float:
    """CPUs as a number of cores (0.5) from 0.5, "0.5", "500m" or 2.

    The canonical form is cores rounded to millicores, the finest unit both
    orchestrators keep.
    """
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, str):
        text = value.strip()
        milli = text.endswith("m")
        try:
            number = float(text[:-1] if milli else text)
        except ValueError:
            raise ValueError(value) from None
        value = number / 1000 if milli else number
    if not isinstance(value, (int, float)) or not 0 < value <= MAX_CPUS:
        raise ValueError(value)
    millis = round(value * 1000)
    if millis <= 0:
        raise ValueError(value)
    return millis / 1000

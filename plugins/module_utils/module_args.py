# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AnsibleModule creation that answers every bad option value with one line.

ansible-core's own type check of ``int`` and ``float`` options lets
``OverflowError`` escape for values such as ``inf`` or ``1e400`` given to an
``int`` option (it converts through ``decimal``), so the user sees a Python
traceback instead of a message naming the option. ``build_module`` catches
that, names the option, and fails the module the usual way.

The module is built as declared first, so ``ansible-doc`` and the sanity
tests see the documented types; only when that overflows is it built a
second time with the numeric options unchecked, which is how the values
that overflowed are found (through the module's own ``params``).
"""

from __future__ import annotations

from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.validation import check_type_float, check_type_int

NUMERIC_CHECKS = {"int": check_type_int, "float": check_type_float}


def overflowing_options(argument_spec: dict[str, dict[str, Any]], params: dict[str, Any]) -> list[str]:
    """The numeric options whose value makes ansible-core's conversion overflow."""
    names = []
    for name, option in argument_spec.items():
        check = NUMERIC_CHECKS.get(option.get("type", "str"))
        if check is None or params.get(name) is None:
            continue
        try:
            check(params[name])
        except ArithmeticError:
            names.append(name)
        except (TypeError, ValueError):
            pass  # ansible-core reports these itself, on one line
    return names


def build_module(argument_spec: dict[str, dict[str, Any]], **kwargs: Any) -> AnsibleModule:
    """``AnsibleModule(argument_spec=..., **kwargs)``, failing with one line on an overflowing number."""
    try:
        return AnsibleModule(argument_spec=argument_spec, **kwargs)
    except ArithmeticError:
        lenient = {name: dict(option, type="raw") if option.get("type", "str") in NUMERIC_CHECKS else option
                   for name, option in argument_spec.items()}
        module = AnsibleModule(argument_spec=lenient, **kwargs)
        bad = overflowing_options(argument_spec, module.params)
        if not bad:
            raise
        module.fail_json(msg=f"{bad[0]}: must be a finite {argument_spec[bad[0]]['type']}, "
                             f"got {str(module.params[bad[0]])[:40]}")

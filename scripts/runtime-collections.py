"""Put the collections galaxy.yml depends on into .collections/, from the
`ansible` wheel requirements-test.txt pins, without installing that package.

`make rack` needs ansible-core and two small collections (community.general,
ansible.posix). Galaxy is not reachable everywhere, and the `ansible` PyPI
package that bundles them unpacks some 470 MB of collections into the venv;
taking only the two from its wheel is seconds instead of a minute.
  python3 scripts/runtime-collections.py <python of the venv> <collections dir>
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def ansible_pin() -> str:
    """``ansible==X.Y.Z`` as requirements-test.txt pins it."""
    for line in (ROOT / "requirements-test.txt").read_text().splitlines():
        if re.match(r"^ansible==[0-9.]+\s*$", line):
            return line.strip()
    raise SystemExit("requirements-test.txt pins no ansible==<version>")


def dependencies() -> list[str]:
    """The ``namespace/name/`` prefixes of galaxy.yml's dependencies (read without PyYAML)."""
    text = (ROOT / "galaxy.yml").read_text()
    block = text.split("\ndependencies:", 1)[1]
    names = []
    for line in block.splitlines()[1:]:
        match = re.match(r"^\s+([a-z0-9_]+)\.([a-z0-9_]+)\s*:", line)
        if not match:
            break
        names.append(f"ansible_collections/{match.group(1)}/{match.group(2)}/")
    return names


def main() -> None:
    python, target = sys.argv[1], Path(sys.argv[2])
    prefixes, pin = dependencies(), ansible_pin()
    marker = target / ".from-wheel"
    if marker.exists() and marker.read_text() == pin and all((target / p).is_dir() for p in prefixes):
        return
    with tempfile.TemporaryDirectory() as wheels:
        print(f"==> {', '.join(p.split('/', 1)[1].rstrip('/').replace('/', '.') for p in prefixes)} "
              f"from the {pin} wheel", flush=True)
        subprocess.run([python, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
                        "--only-binary", ":all:", "-d", wheels, pin], check=True)
        wheel = next(Path(wheels).glob("ansible-*.whl"))
        unpacked = Path(wheels) / "unpacked"
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(unpacked, [m for m in archive.namelist() if m.startswith(tuple(prefixes))])
        # Moved in whole, so an interrupted run never leaves a half collection behind.
        for prefix in prefixes:
            (target / prefix).parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(target / prefix, ignore_errors=True)
            shutil.move(str(unpacked / prefix), str(target / prefix))
    marker.write_text(pin)


if __name__ == "__main__":
    main()

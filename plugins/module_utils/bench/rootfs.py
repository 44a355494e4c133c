# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An image made from one of the board's own binaries and the libraries it
loads (``docker import``, no base image, no registry): the container runs
the very same build as the board, so container vs native compares only the
container, and a board without network access still gets its images.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import tarfile
from typing import Any, List, Sequence

from ansible_collections.pirack.cluster.plugins.module_utils.image_ref import parse_image

# The label an imported image carries: the binary's digest, so a new build
# of the binary gets a new image and an unchanged one is reused.
IMAGE_LABEL = "pirack.binary.sha256"
_LIB = re.compile(r"(?:^|\s)(/[^\s()]+)")


class RootfsError(ValueError):
    """The binary cannot be packed: one line."""


def library_paths(ldd_output: str) -> List[str]:
    """The files a binary loads, from ``ldd``: "name => /path (addr)" lines
    and the loader's own "/path (addr)"; "not found" and the vDSO (no path)
    are left out."""
    paths = []
    for line in ldd_output.splitlines():
        match = _LIB.search(line)
        if match and match.group(1) not in paths:
            paths.append(match.group(1))
    return paths


def rootfs(binary: str, libraries: Sequence[str]) -> bytes:
    """A tar of the binary and its libraries at their own paths, and an
    empty /tmp: all ``docker import`` needs to run the very same build."""
    files = [path.lstrip("/") for path in [binary, *libraries]]
    folders = sorted({"/".join(parts[:i]) for parts in (f.split("/") for f in files)
                      for i in range(1, len(parts))} - {"tmp"})
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for folder, mode in [("tmp", 0o1777)] + [(f, 0o755) for f in folders]:
            entry = tarfile.TarInfo(folder)
            entry.type, entry.mode = tarfile.DIRTYPE, mode
            tar.addfile(entry)
        for path, name in zip([binary, *libraries], files):
            # The file a link points to, under the link's name (cp -L).
            tar.add(os.path.realpath(path), arcname=name, recursive=False)
    return buf.getvalue()


def ensure_image(client: Any, image: str, binary: str, not_found: type) -> bool:
    """Import ``binary`` and its libraries as ``image`` unless an image of
    this very build is there; whether it imported one."""
    with open(binary, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    try:
        labels = client.images.get(image).labels or {}
        if labels.get(IMAGE_LABEL) == digest:
            return False
    except not_found:
        pass
    try:
        ldd = subprocess.run(["ldd", binary], capture_output=True, text=True, check=False, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RootfsError(f"ldd {binary}: {exc}") from None
    ref = parse_image(image)
    client.api.import_image_from_data(rootfs(binary, library_paths(ldd)), repository=ref.name,
                                      tag=ref.tag or "latest", changes=[f"LABEL {IMAGE_LABEL}={digest}"])
    return True

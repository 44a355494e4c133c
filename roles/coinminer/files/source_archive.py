"""Pack the coin-miner sources into one deterministic tar on the controller.

    source_archive.py SOURCE_DIR ARCHIVE

Why: copying the sources file by file cost a module round trip per file
(18 s on a no-change run of a rack). One archive whose bytes depend only on
the files' contents, names and modes (entries sorted, mtimes, owners and
groups fixed) lets ansible.builtin.copy compare one checksum instead, and the
master unpacks only when it changed.

The archive is rewritten only when its bytes differ, so its own checksum and
mtime stay put between runs. Prints one JSON line: changed, sha256, files.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import tarfile
import tempfile
from pathlib import Path

# What the images do not need (the build context's .dockerignore drops the
# same), so a change to a test does not count as a change of the sources.
SKIP_DIRS = {"__pycache__", "tests", "bench", ".pytest_cache", ".ruff_cache"}
SKIP_FILES = {"build.sh", "README.md", "conftest.py"}
SKIP_SUFFIXES = (".pyc",)
MTIME = 946684800  # 2000-01-01: any fixed time; the content decides


def entries(root: Path) -> list[Path]:
    """Files and folders under root, sorted, without the skipped ones."""
    found: list[Path] = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part in SKIP_DIRS for part in rel.parts):
            continue
        if path.is_file() and (path.name in SKIP_FILES or path.name.endswith(SKIP_SUFFIXES)):
            continue
        if path.is_dir() or path.is_file():
            found.append(path)
    return found


def pack(root: Path) -> tuple[bytes, int]:
    """The archive's bytes and how many files it holds."""
    buf = io.BytesIO()
    files = 0
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for path in entries(root):
            info = tarfile.TarInfo(path.relative_to(root).as_posix())
            info.mtime = MTIME
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if path.is_dir():
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
                continue
            data = path.read_bytes()
            info.size = len(data)
            info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
            tar.addfile(info, io.BytesIO(data))
            files += 1
    return buf.getvalue(), files


def write_if_changed(archive: Path, data: bytes) -> bool:
    """Atomically replace the archive when its bytes differ (two racks
    converging at once may both write it; a reader never sees half a file)."""
    if archive.exists() and archive.read_bytes() == data:
        return False
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=archive.parent, delete=False) as tmp:
        tmp.write(data)
    os.chmod(tmp.name, 0o644)
    os.replace(tmp.name, archive)
    return True


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: source_archive.py SOURCE_DIR ARCHIVE", file=sys.stderr)
        return 2
    root = Path(argv[1]).expanduser().resolve()
    if not (root / "Dockerfile").is_file():
        print(f"{root} is not the coin-miner's source folder (no Dockerfile)", file=sys.stderr)
        return 1
    data, files = pack(root)
    changed = write_if_changed(Path(argv[2]).expanduser(), data)
    print(json.dumps({"changed": changed, "sha256": hashlib.sha256(data).hexdigest(),
                      "files": files}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))

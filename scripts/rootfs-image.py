"""Write, to standard output, a `docker load` archive of one image made from a
root filesystem folder, for a given platform:

    python3 scripts/rootfs-image.py ROOTFS NAME:TAG PLATFORM [CMD...] | docker load

What `docker import --platform` does on a current engine; Debian's engine
(20.10) ignores the platform of an import and calls every imported image
amd64, so a base image debootstrapped for armhf would claim to be amd64, and
an engine asked to build for linux/arm/v7 from it refuses (or, asked for
nothing, builds "amd64" images of ARM code). `docker load` keeps the
architecture the archive's config names on every engine version.

The archive is Docker's save format: manifest.json, the image config
(named by its sha256) and one layer, the folder as `tar` writes it (owners
by number, device nodes kept). Standard library only: base-image.sh runs it
with the machine's python3, before any virtualenv exists.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from datetime import datetime, timezone

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_VARIANTS = {"arm": "v7", "arm64": "v8"}


def platform_fields(text: str) -> dict[str, str]:
    """``linux/arm/v7`` as an image config's os/architecture/variant."""
    parts = text.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise SystemExit(f"error: {text!r} is not a platform (os/architecture[/variant], e.g. linux/arm/v7)")
    fields = {"os": parts[0], "architecture": parts[1]}
    variant = parts[2] if len(parts) == 3 else DEFAULT_VARIANTS.get(parts[1])
    if variant:
        fields["variant"] = variant
    return fields


def layer_of(rootfs: str, into: io.BufferedRandom) -> str:
    """Write the folder's tar into ``into``; its sha256 (the layer's diff id)."""
    digest = hashlib.sha256()
    with subprocess.Popen(["tar", "-C", rootfs, "--numeric-owner", "-c", "."], stdout=subprocess.PIPE) as tar:
        assert tar.stdout is not None
        for chunk in iter(lambda: tar.stdout.read(1 << 20), b""):
            digest.update(chunk)
            into.write(chunk)
    if tar.returncode != 0:
        raise SystemExit(f"error: tar of {rootfs} failed (exit {tar.returncode})")
    into.flush()
    return digest.hexdigest()


def add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    archive.addfile(info, io.BytesIO(data))


def main(argv: list[str]) -> None:
    if len(argv) < 3:
        raise SystemExit("usage: rootfs-image.py ROOTFS NAME:TAG PLATFORM [CMD...] > image.tar")
    rootfs, name, platform = argv[:3]
    cmd = argv[3:] or ["bash"]
    fields = platform_fields(platform)
    with tempfile.TemporaryFile() as layer:
        diff_id = layer_of(rootfs, layer)
        created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        config = dict(fields, created=created,
                      config={"Env": [f"PATH={PATH}"], "Cmd": cmd},
                      rootfs={"type": "layers", "diff_ids": [f"sha256:{diff_id}"]},
                      history=[{"created": created, "created_by": f"rootfs-image.py {platform}"}])
        config_bytes = json.dumps(config, sort_keys=True).encode()
        config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
        manifest = [{"Config": config_name, "RepoTags": [name], "Layers": [f"{diff_id}/layer.tar"]}]
        with tarfile.open(fileobj=sys.stdout.buffer, mode="w|") as archive:
            add_bytes(archive, config_name, config_bytes)
            add_bytes(archive, "manifest.json", json.dumps(manifest).encode())
            layer.seek(0, io.SEEK_END)
            info = tarfile.TarInfo(f"{diff_id}/layer.tar")
            info.size = layer.tell()
            info.mode = 0o644
            layer.seek(0)
            archive.addfile(info, layer)


if __name__ == "__main__":
    main(sys.argv[1:])

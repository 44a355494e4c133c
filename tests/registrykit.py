"""Debian's docker-registry (distribution 2.8, the one the rack runs) on a
free port of this machine, for the tests that push to a registry or read
one back through its /v2/ API.

Plain HTTP on 127.0.0.1 is what a Docker engine accepts without being told
(the push tests); TLS with a CA made for the test, and an htpasswd login,
is what the rack's registry serves (the image index tests). V2 is the
tests' own client of a registry's /v2/ API: it pushes small images without
an engine and reads indexes back, independently of the collection's code.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import shutil
import socket
import ssl
import subprocess
import tarfile
import tempfile
import time
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple, Optional

import pytest

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
CONFIG = "application/vnd.docker.container.image.v1+json"


class Registry(NamedTuple):
    """Where a test registry answers, and what a client needs to reach it."""

    address: str
    url: str
    ca_path: Optional[str] = None
    username: Optional[str] = None
    password: Optional[str] = None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _tls(root: Path) -> tuple[Path, Path, Path]:
    """A CA and a certificate for 127.0.0.1 it signed (openssl, one day)."""
    ca_key, ca, key, csr, cert = (root / n for n in ("ca.key", "ca.crt", "tls.key", "tls.csr", "tls.crt"))
    ext = root / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1\n", encoding="ascii")
    for argv in (
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca, "-days", "1",
         "-subj", "/CN=pirack test registry CA"],
        ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"],
        ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert, "-days", "1",
         "-extfile", ext],
    ):
        subprocess.run(["openssl", *map(str, argv)], check=True, capture_output=True)
    return ca, cert, key


def _bcrypt(password: str) -> str:
    """A bcrypt hash for htpasswd, by the C library's crypt (no bcrypt package needed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import crypt
        except ImportError:
            pytest.skip("no crypt module in this Python to make the test registry's bcrypt login")
    # The lowest cost (2^4): a test login, checked on every request.
    hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))
    if not hashed or not hashed.startswith("$2"):
        pytest.skip("this C library's crypt() makes no bcrypt hash for the test registry's login")
    return hashed


@contextlib.contextmanager
def local_registry(root: Path, tls: bool = False, login: Optional[tuple[str, str]] = None) -> Iterator[Registry]:
    """Run the registry until the block ends; skips with one line when it is not installed."""
    binary = shutil.which("docker-registry")
    if binary is None:
        pytest.skip("docker-registry missing (apt-get install docker-registry)")
    if tls and shutil.which("openssl") is None:
        pytest.skip("openssl missing: no CA for the test registry")
    port = free_port()
    lines = ["version: 0.1", "storage:", "  filesystem:", f"    rootdirectory: {root / 'data'}",
             "http:", f"  addr: 127.0.0.1:{port}"]
    ca = None
    if tls:
        ca, cert, key = _tls(root)
        lines += ["  tls:", f"    certificate: {cert}", f"    key: {key}"]
    if login:
        htpasswd = root / "htpasswd"
        htpasswd.write_text(f"{login[0]}:{_bcrypt(login[1])}\n", encoding="ascii")
        lines += ["auth:", "  htpasswd:", "    realm: pirack-test", f"    path: {htpasswd}"]
    config = root / "config.yml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 20
            while True:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
                if time.monotonic() > deadline or server.poll() is not None:
                    log.seek(0)
                    pytest.fail(f"docker-registry did not start: {log.read()[-500:]!r}")
                time.sleep(0.2)
            address = f"127.0.0.1:{port}"
            yield Registry(address, f"{'https' if tls else 'http'}://{address}", str(ca) if ca else None,
                           *(login or (None, None)))
        finally:
            server.terminate()
            server.wait(timeout=10)


class V2:
    """This test's own client of the registry's /v2/ API (urllib, not the
    collection's code, so the check does not rest on what it checks)."""

    def __init__(self, registry: Registry) -> None:
        self.url = registry.url
        context = ssl.create_default_context(cafile=registry.ca_path) if registry.ca_path else None
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                                  urllib.request.HTTPSHandler(context=context))
        self.headers = {}
        if registry.username:
            token = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
            self.headers["Authorization"] = f"Basic {token}"

    def call(self, method: str, path: str, body: Optional[bytes] = None, headers: Optional[dict] = None):
        url = path if path.startswith("http") else f"{self.url}/v2/{path}"
        request = urllib.request.Request(url, data=body, method=method, headers={**self.headers, **(headers or {})})
        return self.opener.open(request, timeout=30)

    def blob(self, repository: str, data: bytes) -> dict:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        with self.call("POST", f"{repository}/blobs/uploads/") as answer:
            location = answer.headers["Location"]
        if location.startswith("/"):
            location = self.url + location
        separator = "&" if "?" in location else "?"
        with self.call("PUT", f"{location}{separator}digest={digest}", data,
                       {"Content-Type": "application/octet-stream"}):
            pass
        return {"digest": digest, "size": len(data)}

    def push_image(self, repository: str, tag: str, platform: dict) -> str:
        """A one-layer image whose config says ``platform``; its manifest's digest."""
        layer = io.BytesIO()
        with tarfile.open(fileobj=layer, mode="w:gz") as tar:
            info = tarfile.TarInfo("arch")
            payload = json.dumps(platform).encode()
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
        layer_blob = self.blob(repository, layer.getvalue())
        config = dict(platform, config={}, rootfs={"type": "layers", "diff_ids": ["sha256:" + "0" * 64]})
        config_blob = self.blob(repository, json.dumps(config).encode())
        manifest = json.dumps({"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
                               "config": dict(config_blob, mediaType=CONFIG),
                               "layers": [dict(layer_blob, mediaType=LAYER)]}).encode()
        with self.call("PUT", f"{repository}/manifests/{tag}", manifest, {"Content-Type": DOCKER_MANIFEST}) as answer:
            return answer.headers["Docker-Content-Digest"]

    def index(self, repository: str, reference: str) -> tuple[str, dict, str]:
        """The media type, body and digest the registry serves for an index."""
        with self.call("GET", f"{repository}/manifests/{reference}",
                       headers={"Accept": f"{DOCKER_LIST}, application/vnd.oci.image.index.v1+json"}) as answer:
            return answer.headers["Content-Type"], json.loads(answer.read()), answer.headers["Docker-Content-Digest"]


def platforms(index: dict) -> list[str]:
    return ["/".join(p for p in (m["platform"]["os"], m["platform"]["architecture"], m["platform"].get("variant"))
                     if p) for m in index["manifests"]]

"""Debian's docker-registry (distribution 2.8, the one the rack runs) on a
free port of this machine, for the tests that push to a registry or read
one back through its /v2/ API.

Plain HTTP on 127.0.0.1 is what a Docker engine accepts without being told
(the push tests); TLS with a CA made for the test, and an htpasswd login,
is what the rack's registry serves (the image index tests).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple, Optional

import pytest


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

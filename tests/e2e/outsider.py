"""What a stranger's machine on the rack's LAN gets from the rack.

Run inside a throwaway container on the rack network (not part of the app,
holding no credential): python3 outsider.py MASTER [BOARD ...]. Prints one
JSON object; the e2e test judges it. Only the standard library: the image
is the simulated Pi host's, which has python3 but no curl.
"""

from __future__ import annotations

import json
import socket
import ssl
import sys
import urllib.error
import urllib.request

# The registry's certificate comes from the rack's own CA, which a stranger
# does not have; it would skip the check, so this client does too.
UNVERIFIED = ssl._create_unverified_context()  # noqa: S323  # the stranger's view, on purpose


def http_status(method: str, url: str) -> object:
    """The status an anonymous request gets, or the reason there was none."""
    request = urllib.request.Request(url, method=method, data=b"" if method in ("POST", "PUT") else None)
    try:
        with urllib.request.urlopen(request, timeout=5, context=UNVERIFIED) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, urllib.error.URLError) as exc:
        return f"no answer: {exc}"


def tcp(host: str, port: int, send: bytes = b"") -> str:
    """'refused' / 'timeout' when nothing accepts, else the first bytes answered."""
    try:
        with socket.create_connection((host, port), timeout=3) as conn:
            conn.settimeout(3)
            if send:
                conn.sendall(send)
            try:
                return conn.recv(200).decode("latin-1") or "closed"
            except socket.timeout:
                return "accepted, silent"
    except ConnectionRefusedError:
        return "refused"
    except socket.timeout:
        return "timeout"
    except OSError as exc:
        return f"unreachable: {exc}"


def main(master: str, boards: list[str]) -> dict:
    registry = f"https://{master}:5000/v2"
    repo = "pirack/coinminer-redis"
    digest = "sha256:" + "0" * 64
    return {
        "registry": {
            "ping": http_status("GET", f"{registry}/"),
            "catalog": http_status("GET", f"{registry}/_catalog"),
            "pull": http_status("GET", f"{registry}/{repo}/manifests/latest"),
            "push": http_status("POST", f"{registry}/{repo}/blobs/uploads/"),
            "delete": http_status("DELETE", f"{registry}/{repo}/manifests/{digest}"),
        },
        # Redis is not published: reaching it from the LAN at all is the
        # first failure; if it answers, it must want the password.
        "redis": {host: tcp(host, 6379, b"PING\r\n") for host in [master, *boards]},
        "docker_api": {f"{host}:{port}": tcp(host, port, b"GET /version HTTP/1.0\r\n\r\n")
                       for host in [master, *boards] for port in (2375, 2376)},
        "webui": http_status("GET", f"http://{master}:8000/json"),
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2:])))

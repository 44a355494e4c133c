"""A minimal Redis (RESP2) client: the handful of commands the miner uses.

Why not redis-py (python3-redis): it imports dozens of command modules that
this app never uses (several MB of RSS per worker on a 1 GB Pi) for five
commands. The protocol is tiny and these commands never change.
"""

from __future__ import annotations

import socket
import threading
from urllib.parse import urlsplit

from .service import read_secret

Reply = bytes | int | list["Reply"] | None


# Where Docker Swarm mounts a secret named redis_password (and where the app's
# k3s manifests mount the Secret): used when REDIS_PASSWORD_FILE is not set.
DEFAULT_PASSWORD_FILE = "/run/secrets/redis_password"


class RedisError(Exception):
    """An error reply from the server (the connection is still usable)."""


class AuthError(ConnectionError):
    """The server wants a password we do not have, or refused ours.

    A ConnectionError on purpose: callers already retry those with backoff
    (the worker) or answer 503 (the web UI), which is right while a rotated
    password reaches every service, and no caller crashes on it.
    """


def read_password(env: dict[str, str] | None = None,
                  default_file: str = DEFAULT_PASSWORD_FILE) -> bytes | None:
    """The redis password (REDIS_PASSWORD_FILE, see read_secret); None means
    a redis without one, as the original app had."""
    return read_secret("REDIS_PASSWORD_FILE", default_file, env)


def parse_url(url: str) -> tuple[str, int, int]:
    """redis://host[:port][/db] -> (host, port, db)."""
    parts = urlsplit(url if "://" in url else f"redis://{url}")
    db = int(parts.path.strip("/") or 0)
    return parts.hostname or "localhost", parts.port or 6379, db


def encode(*args: bytes | str | int | float) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class Redis:
    """One connection, opened lazily and reopened after any socket error.

    The caller owns retries (the worker backs off; the web UI answers 503),
    so a lost connection surfaces as OSError instead of being hidden here.
    """

    def __init__(self, url: str = "redis://localhost:6379", timeout: float = 5.0,
                 password: bytes | None = None) -> None:
        self.host, self.port, self.db = parse_url(url)
        self.timeout = timeout
        self.password = password
        self._sock: socket.socket | None = None
        self._file = None
        self._lock = threading.Lock()

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
                self._file = None

    def _connect(self) -> None:
        self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._file = self._sock.makefile("rb")
        if self.password is not None:
            self._roundtrip(encode("AUTH", self.password))
        if self.db:
            self._roundtrip(encode("SELECT", self.db))

    def execute(self, *args: bytes | str | int | float) -> Reply:
        with self._lock:
            try:
                if self._sock is None:
                    self._connect()
                return self._roundtrip(encode(*args))
            except RedisError:
                raise
            except (OSError, ValueError) as exc:
                self.close()
                kind = AuthError if isinstance(exc, AuthError) else ConnectionError
                raise kind(f"redis {self.host}:{self.port}: {exc}") from exc

    def pipeline(self, commands: list[tuple[bytes | str | int | float, ...]]) -> list[Reply]:
        """Send several commands in one write: the worker's once-a-second
        flush is one round trip however many coins it found."""
        with self._lock:
            try:
                if self._sock is None:
                    self._connect()
                assert self._sock is not None
                self._sock.sendall(b"".join(encode(*c) for c in commands))
                replies: list[Reply] = []
                error: RedisError | None = None
                for _ in commands:
                    try:
                        replies.append(self._read())
                    except RedisError as exc:  # read every reply to keep the stream in sync
                        error = error or exc
                        replies.append(None)
                if error:
                    raise error
                return replies
            except RedisError:
                raise
            except (OSError, ValueError) as exc:
                self.close()
                kind = AuthError if isinstance(exc, AuthError) else ConnectionError
                raise kind(f"redis {self.host}:{self.port}: {exc}") from exc

    def _roundtrip(self, payload: bytes) -> Reply:
        assert self._sock is not None
        self._sock.sendall(payload)
        return self._read()

    def _read(self) -> Reply:
        assert self._file is not None
        line = self._file.readline()
        if not line.endswith(b"\r\n"):
            raise ValueError("connection closed by server")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest
        if kind == b"-":
            message = rest.decode(errors="replace")
            if message.startswith(("NOAUTH", "WRONGPASS")):
                raise AuthError(message)
            raise RedisError(message)
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            data = self._file.read(size + 2)
            if len(data) != size + 2:
                raise ValueError("connection closed by server")
            return data[:-2]
        if kind == b"*":
            count = int(rest)
            return None if count < 0 else [self._read() for _ in range(count)]
        raise ValueError(f"unexpected reply {line[:40]!r}")

    # The commands the app uses, typed for their callers.
    def ping(self) -> bool:
        return self.execute("PING") == b"PONG"

    def get_int(self, key: str) -> int:
        value = self.execute("GET", key)
        return int(value) if isinstance(value, bytes) else 0

    def incrby(self, key: str, amount: int) -> int:
        value = self.execute("INCRBY", key, amount)
        assert isinstance(value, int)
        return value

    def hset(self, key: str, field: str | bytes, value: str | bytes | float) -> Reply:
        return self.execute("HSET", key, field, value)

    def hlen(self, key: str) -> int:
        value = self.execute("HLEN", key)
        assert isinstance(value, int)
        return value

    def hgetall(self, key: str) -> dict[bytes, bytes]:
        flat = self.execute("HGETALL", key)
        assert isinstance(flat, list)
        return {k: v for k, v in zip(flat[::2], flat[1::2])}  # type: ignore[misc]

"""The redis image's start script on Debian's redis-server: a password from a
file, NOAUTH for clients without it, and the original open mode without it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from common.resp import AuthError, Redis, RedisError, read_password

REDIS = Path(__file__).resolve().parents[1]
START = ["sh", str(REDIS / "start.sh")]
PASSWORD = b"s3cret with spaces \\ and \"quotes\""


def launch_env(**extra: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "REDIS_CONF": str(REDIS / "redis.conf"),
            **extra}


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "redis_password"
    path.write_bytes(PASSWORD + b"\n")
    path.chmod(0o600)
    return path


def test_a_client_without_the_password_gets_noauth(redis_factory, password_file: Path) -> None:
    server = redis_factory(launcher=START, env=launch_env(REDIS_PASSWORD_FILE=str(password_file)))
    with pytest.raises(AuthError, match="NOAUTH"):
        Redis(server.url).incrby("hashes", 1)
    with pytest.raises(AuthError, match="WRONGPASS"):
        Redis(server.url, password=b"guess").ping()
    db = Redis(server.url, password=read_password({"REDIS_PASSWORD_FILE": str(password_file)}))
    assert db.incrby("hashes", 1) == 1
    assert db.execute("CONFIG", "GET", "protected-mode") == [b"protected-mode", b"yes"]
    # The password is in no argument list and no environment of the server.
    assert server.proc is not None
    proc = Path(f"/proc/{server.proc.pid}")
    assert b"s3cret" not in (proc / "cmdline").read_bytes()
    assert b"s3cret" not in (proc / "environ").read_bytes()


def test_without_a_password_file_redis_is_open_as_the_original(redis_factory, tmp_path) -> None:
    server = redis_factory(launcher=START, env=launch_env(REDIS_PASSWORD_FILE="")
                           | {"HOME": str(tmp_path)})
    db = Redis(server.url)
    assert db.incrby("hashes", 2) == 2
    assert db.execute("CONFIG", "GET", "protected-mode") == [b"protected-mode", b"no"]
    assert b"no password file" in server.output.read_bytes()


def test_a_named_but_missing_password_file_stops_redis(redis_factory, tmp_path) -> None:
    with pytest.raises(RuntimeError, match="empty or unreadable"):
        redis_factory(launcher=START, env=launch_env(REDIS_PASSWORD_FILE=str(tmp_path / "none")))


def test_services_read_the_password_from_the_file_never_the_environment(tmp_path) -> None:
    path = tmp_path / "pw"
    path.write_bytes(b"line one\r\nline two\n")
    assert read_password({"REDIS_PASSWORD_FILE": str(path)}) == b"line one"
    assert read_password({}, default_file=str(tmp_path / "absent")) is None
    assert read_password({"REDIS_PASSWORD": "ignored"}, default_file=str(tmp_path / "absent")) is None
    with pytest.raises(SystemExit, match="REDIS_PASSWORD_FILE"):
        read_password({"REDIS_PASSWORD_FILE": str(tmp_path / "absent")})
    path.write_bytes(b"\n")
    with pytest.raises(SystemExit, match="empty"):
        read_password({"REDIS_PASSWORD_FILE": str(path)})


def test_error_replies_other_than_auth_stay_redis_errors(redis_factory, password_file) -> None:
    server = redis_factory(launcher=START, env=launch_env(REDIS_PASSWORD_FILE=str(password_file)))
    db = Redis(server.url, password=PASSWORD)
    db.execute("SET", "s", "text")
    with pytest.raises(RedisError):
        db.incrby("s", 1)

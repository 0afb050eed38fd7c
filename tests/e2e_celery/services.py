"""The services a production Airflow deployment stands on, started by the test on loopback ports.

- PostgreSQL (Debian's package, installed by ``make e2e-celery-deps``): a fresh cluster in a temporary
  directory (``initdb``), served by ``postgres`` itself in its own process group. PostgreSQL refuses to run
  as root, and CI runs as root, so there the cluster belongs to ``nobody`` and every PostgreSQL command runs
  through ``runuser -u nobody``; a developer's non-root account runs them directly.
- Redis (Debian's ``redis-server``): the Celery broker, no persistence, in its own process group.
- S3: moto's server in this process (``ThreadedMotoServer``), so stopping it and starting it again on the
  same port is a real outage of the endpoint with the objects kept (as with a restarted S3 gateway).

The data directories are made with :func:`tempfile.mkdtemp` directly under the system temp dir, because
pytest's ``tmp_path`` lives under a root-only (0700) directory that ``nobody`` cannot enter.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.moto_s3 import MotoS3

#: Debian installs each major version under /usr/lib/postgresql/<major>/bin (not on PATH).
PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
PG_USER = "airflow"
PG_DATABASE = "airflow"
UNPRIVILEGED = "nobody"


def pg_bin(name: str) -> str:
    """A PostgreSQL program from the newest installed major version (or from PATH elsewhere)."""
    for directory in reversed(PG_BIN_DIRS):
        if (directory / name).exists():
            return str(directory / name)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"PostgreSQL's {name} is not installed: run `make e2e-celery-deps`", pytrace=False)
    return found


def redis_server() -> str:
    found = shutil.which("redis-server")
    if found is None:
        pytest.fail("redis-server is not installed: run `make e2e-celery-deps`", pytrace=False)
    return found


def as_postgres_user(args: list[str]) -> list[str]:
    """``args`` run as ``nobody`` when we are root (PostgreSQL refuses root), as they are otherwise."""
    return ["runuser", "-u", UNPRIVILEGED, "--", *args] if os.geteuid() == 0 else args


def service_dir(prefix: str) -> Path:
    """A fresh directory the PostgreSQL user owns, outside pytest's root-only temp tree."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        user = pwd.getpwnam(UNPRIVILEGED)
        os.chown(path, user.pw_uid, user.pw_gid)
    return path


def init_postgres(data_dir: Path) -> None:
    """``initdb`` a cluster with one superuser ``airflow`` and trust authentication on loopback only."""
    result = subprocess.run(
        as_postgres_user(
            [pg_bin("initdb"), "-D", str(data_dir), "-U", PG_USER, "--auth=trust", "-E", "UTF8", "--no-sync"]
        ),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        raise AssertionError(f"initdb failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


def postgres_args(data_dir: Path, port: int) -> list[str]:
    """``postgres`` in the foreground on 127.0.0.1:``port``, its socket in the data dir, fast not durable."""
    return as_postgres_user(
        [
            pg_bin("postgres"),
            "-D",
            str(data_dir),
            "-p",
            str(port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={data_dir}",
            "-c",
            "max_connections=300",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
        ]
    )


def create_database(port: int) -> None:
    subprocess.run(
        as_postgres_user(
            [pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", PG_USER, PG_DATABASE]
        ),
        check=True,
        capture_output=True,
        timeout=60,
    )


def postgres_ready(port: int) -> bool:
    result = subprocess.run(
        [pg_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-U", PG_USER],
        capture_output=True,
        check=False,
        timeout=30,
    )
    return result.returncode == 0


def pg_dump(port: int) -> str:
    """Every table of the metadata DB as SQL text (schema and rows): what a leak check greps."""
    result = subprocess.run(
        as_postgres_user(
            [pg_bin("pg_dump"), "-h", "127.0.0.1", "-p", str(port), "-U", PG_USER, "--inserts", PG_DATABASE]
        ),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return result.stdout


def redis_args(data_dir: Path, port: int) -> list[str]:
    return [
        redis_server(),
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--dir",
        str(data_dir),
        "--save",
        "",
        "--rdbcompression",
        "no",
        "--appendonly",
        "no",
        "--protected-mode",
        "yes",
    ]


def redis_keyspace(port: int) -> dict[bytes, bytes]:
    """Every key of every Redis database with its serialized value (``DUMP``): the broker's whole state."""
    import redis  # the Celery provider's dependency; imported here so that collection never needs it

    dump: dict[bytes, bytes] = {}
    for db in range(16):
        client = redis.Redis(host="127.0.0.1", port=port, db=db)
        try:
            for key in client.scan_iter(count=1000):
                value = client.dump(key)
                dump[f"db{db}:".encode() + key] = value if isinstance(value, bytes) else b""
        finally:
            client.close()
    return dump


@contextlib.contextmanager
def moto_s3() -> Iterator[MotoS3]:
    server = MotoS3()
    try:
        yield server
    finally:
        with contextlib.suppress(Exception):
            server.stop()

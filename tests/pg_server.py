"""A throwaway PostgreSQL server on a loopback port, for tests that need a real one.

Uses Debian's server binaries (``apt-get install postgresql``): initdb and pg_ctl from
``/usr/lib/postgresql/*/bin``. PostgreSQL refuses to run as root, so under root the
cluster belongs to the ``postgres`` user the package creates.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from conformance.launcher import free_port

USER = "conformance"
TIMEOUT_S = 60


def server_bin() -> Path | None:
    """The directory holding initdb and pg_ctl, or None when PostgreSQL is absent."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def absent_reason() -> str | None:
    if server_bin() is None:
        return "needs PostgreSQL's server binaries: apt-get install postgresql"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root needs the postgres user: apt-get install postgresql"
    return None


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a cluster in a temporary directory; yield its URL; stop and remove it."""
    binaries = server_bin()
    assert binaries is not None
    data = Path(tempfile.mkdtemp(prefix="conformance-pg-"))
    as_user = "postgres" if os.geteuid() == 0 else None
    if as_user is not None:
        entry = pwd.getpwnam(as_user)
        os.chown(data, entry.pw_uid, entry.pw_gid)
    port = free_port()

    def run(*argv: str) -> None:
        subprocess.run(
            argv,
            check=True,
            capture_output=True,
            timeout=TIMEOUT_S,
            user=as_user,
            cwd=data,
        )

    cluster = data / "cluster"
    try:
        run(str(binaries / "initdb"), "-D", str(cluster), "-A", "trust", "-U", USER)
        options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(
            str(binaries / "pg_ctl"), "-D", str(cluster), "-o", options,
            "-l", str(data / "server.log"), "-w", "-t", str(TIMEOUT_S), "start",
        )  # fmt: skip
        yield f"postgresql://{USER}@127.0.0.1:{port}/postgres"
    finally:
        if (cluster / "postmaster.pid").exists():
            subprocess.run(
                [
                    str(binaries / "pg_ctl"),
                    "-D",
                    str(cluster),
                    "-m",
                    "immediate",
                    "stop",
                ],
                capture_output=True,
                timeout=TIMEOUT_S,
                user=as_user,
                cwd=data,
            )
        shutil.rmtree(data, ignore_errors=True)

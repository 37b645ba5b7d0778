"""A throwaway PostgreSQL server for the tests: initdb into a temporary directory, pg_ctl
start on a free 127.0.0.1 port (its unix socket in that directory too), stopped at the end.

The binaries come from $PG_BIN or /usr/lib/postgresql/15/bin (or `initdb` on PATH). initdb
refuses to run as root, so as root the data directory is handed to the unprivileged `nobody`
user and every server command runs through `setpriv` as that user."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.fakes import free_port

log = logging.getLogger(__name__)

DEFAULT_BIN_DIRS = ("/usr/lib/postgresql/15/bin",)
USER = "drill"


def find_bin_dir() -> Path | None:
    """Where initdb and pg_ctl live, or None when this machine has no PostgreSQL server."""
    candidates = [os.environ["PG_BIN"]] if os.environ.get("PG_BIN") else list(DEFAULT_BIN_DIRS)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    for candidate in candidates:
        directory = Path(candidate)
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    return None


def _as_server_user(command: Sequence[str]) -> list[str]:
    """Root cannot run initdb: drop to `nobody` (uid/gid looked up, no login shell needed)."""
    if os.geteuid() != 0:
        return list(command)
    import pwd

    nobody = pwd.getpwnam("nobody")
    return [
        "setpriv",
        f"--reuid={nobody.pw_uid}",
        f"--regid={nobody.pw_gid}",
        "--clear-groups",
        "--",
        *command,
    ]


def _hand_over(path: Path) -> None:
    if os.geteuid() != 0:
        return
    import pwd

    nobody = pwd.getpwnam("nobody")
    os.chown(path, nobody.pw_uid, nobody.pw_gid)
    path.chmod(0o700)


@dataclass(frozen=True)
class PgServer:
    bin_dir: Path
    root: Path
    port: int

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            _as_server_user([str(self.bin_dir / args[0]), *args[1:]]),
            capture_output=True,
            text=True,
            check=False,
            cwd=self.root,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip()}")

    def start(self) -> PgServer:
        self.root.mkdir(parents=True, exist_ok=True)
        _hand_over(self.root)
        self.socket_dir.mkdir(exist_ok=True)
        _hand_over(self.socket_dir)
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.socket_dir} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-o",
            options,
            "-l",
            str(self.root / "server.log"),
            "-w",
            "start",
        )
        log.info("PostgreSQL test server on 127.0.0.1:%d (%s)", self.port, self.root)
        return self

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")


def start_server(root: Path) -> PgServer:
    """A running server in `root`; raises LookupError when no binaries are installed."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise LookupError(
            "no PostgreSQL server binaries (set PG_BIN or install postgresql-15): "
            "PostgreSQL tests skipped"
        )
    return PgServer(bin_dir, root, free_port()).start()

#!/usr/bin/env python3
"""Throw-away PostgreSQL and Redis servers on loopback ports, each in its own temporary directory,
for the scale-out set-up and its tests (no system service, nothing outside the directory).

    .venv/bin/python scripts/services.py     # starts both, prints their DB_*/REDIS_* variables,
                                             # Ctrl-C stops them and removes their directories

From Python (tests, scripts/scale_out.py):

    with PostgresServer() as pg, RedisServer() as redis:
        env = {**pg.env(), **redis.env()}   # DB_HOST, DB_PORT, …, REDIS_HOST, REDIS_PORT, …
        pg.stop(); pg.start()                # stop and restart on the same port and data

PostgreSQL refuses to run as root, so when run as root its binaries (`initdb`, `pg_ctl`, from
/usr/lib/postgresql/<version>/bin) run as the unprivileged `postgres` user through `runuser`, with
the data directory owned by that user. Redis is Debian's `redis-server`
(`apt-get install -y redis-server`). Both require a password (PostgreSQL: scram-sha-256 on TCP).
"""

import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

POSTGRES_USER = "postgres"  # the system account the server runs as when we are root


class ServiceError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def postgres_bin_dir() -> Path:
    """The newest /usr/lib/postgresql/<version>/bin holding initdb, or initdb's directory on PATH."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise ServiceError("PostgreSQL's server binaries (initdb, pg_ctl) were not found under "
                       "/usr/lib/postgresql/*/bin nor on PATH (Debian: apt-get install -y postgresql).")


def children_of(pid: int) -> List[int]:
    """The pids of the processes whose parent is `pid` (Linux's /proc)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


class PostgresServer:
    """A PostgreSQL cluster in a temporary directory, listening on 127.0.0.1:<port> only."""

    def __init__(self, port: int = 0, user: str = "rasa", password: Optional[str] = None,
                 database: str = "rasa", base_dir: Optional[Path] = None, durable: bool = False) -> None:
        self.port = port or free_port()
        self.user = user
        self.password = password or secrets.token_hex(12)
        self.database = database
        self.durable = durable  # False: fsync off (tests), faster and fine for throw-away data
        self.dir = Path(tempfile.mkdtemp(prefix="rasa-pg-", dir=base_dir))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.bin = postgres_bin_dir()
        self._as_other_user = os.geteuid() == 0
        self._initialised = False

    # --- lifecycle -----------------------------------------------------------------------
    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        command = list(args)
        if self._as_other_user:
            command = ["runuser", "-u", POSTGRES_USER, "--", *command]
        result = subprocess.run(command, cwd=self.dir, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise ServiceError(f"{' '.join(args[:2])} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
                               f"\n{self.log.read_text()[-2000:] if self.log.exists() else ''}")
        return result

    def _initdb(self) -> None:
        if self._as_other_user:
            shutil.chown(self.dir, POSTGRES_USER, POSTGRES_USER)
        pwfile = self.dir / "pwfile"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        if self._as_other_user:
            shutil.chown(pwfile, POSTGRES_USER, POSTGRES_USER)
        try:
            self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", self.user, f"--pwfile={pwfile}",
                      "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "-E", "UTF8", "--no-locale")
        finally:
            pwfile.unlink(missing_ok=True)
        self._initialised = True

    def start(self) -> "PostgresServer":
        if not self._initialised:
            self._initdb()
        options = [f"-p {self.port}", "-c listen_addresses=127.0.0.1", f"-k {self.dir}",
                   "-c max_connections=100", "-c shared_buffers=32MB"]
        if not self.durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", " ".join(options),
                  "-w", "-t", "60", "start")
        self._create_database()
        return self

    def _create_database(self) -> None:
        import psycopg2

        deadline = time.monotonic() + 30
        while True:
            try:
                connection = psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user,
                                              password=self.password, dbname="postgres", connect_timeout=5)
                break
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,))
                if cursor.fetchone() is None:
                    cursor.execute(f'CREATE DATABASE "{self.database}"')
        finally:
            connection.close()

    def stop(self) -> None:
        """Stops the server (fast shutdown); the data stay, so start() brings it back."""
        if self.running():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def processes(self) -> List[int]:
        """The postmaster's pid and its children's (the backends, the background processes)."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        return [postmaster, *children_of(postmaster)]

    def freeze(self) -> None:
        """SIGSTOP of every process of the server, as in a network partition: connections are
        neither refused nor answered (the kernel still acknowledges what is sent)."""
        for pid in self.processes():  # the postmaster first: it forks no new backend after
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in reversed(self.processes()):
            os.kill(pid, signal.SIGCONT)

    def destroy(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "PostgresServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.destroy()

    # --- clients -----------------------------------------------------------------------
    def env(self) -> Dict[str, str]:
        """The variables endpoints.scale-out.yml reads."""
        return {"DB_HOST": "127.0.0.1", "DB_PORT": str(self.port), "DB_NAME": self.database,
                "DB_USER": self.user, "DB_PASSWORD": self.password}

    def connect(self):
        import psycopg2

        return psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, password=self.password,
                                dbname=self.database, connect_timeout=5)


class RedisServer:
    """A redis-server in a temporary directory, on 127.0.0.1:<port>, no persistence, password set."""

    def __init__(self, port: int = 0, password: Optional[str] = None, base_dir: Optional[Path] = None) -> None:
        self.port = port or free_port()
        self.password = password or secrets.token_hex(12)
        self.dir = Path(tempfile.mkdtemp(prefix="rasa-redis-", dir=base_dir))
        self.log = self.dir / "redis.log"
        self.process: Optional[subprocess.Popen] = None
        self.binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(self.binary).exists():
            raise ServiceError("redis-server was not found (Debian: apt-get install -y redis-server).")

    def start(self) -> "RedisServer":
        config = self.dir / "redis.conf"
        # The password goes in a file readable by us only, not on the command line (ps shows it).
        config.write_text(f"requirepass {self.password}\n")
        config.chmod(0o600)
        self.process = subprocess.Popen(
            [self.binary, str(config), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
             "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", str(self.log)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while not self._ping():
            if self.process.poll() is not None:
                raise ServiceError(f"redis-server exited with {self.process.returncode}:\n"
                                   f"{self.log.read_text()[-2000:] if self.log.exists() else ''}")
            if time.monotonic() > deadline:
                raise ServiceError(f"redis-server did not answer on port {self.port} within 30 s")
            time.sleep(0.1)
        return self

    def _ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(host="127.0.0.1", port=self.port, password=self.password,
                                    socket_timeout=1, socket_connect_timeout=1).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def freeze(self) -> None:
        """SIGSTOP of the server (see PostgresServer.freeze)."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def destroy(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "RedisServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.destroy()

    def env(self) -> Dict[str, str]:
        return {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(self.port), "REDIS_PASSWORD": self.password}

    def client(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password, socket_timeout=5)


def main(argv: Optional[List[str]] = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-port", type=int, default=0, help="PostgreSQL port (default: a free one)")
    parser.add_argument("--redis-port", type=int, default=0, help="Redis port (default: a free one)")
    args = parser.parse_args(argv)

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    with PostgresServer(port=args.pg_port, durable=True) as pg, RedisServer(port=args.redis_port) as red:
        for key, value in {**pg.env(), **red.env()}.items():
            print(f"export {key}={value}")
        print(f"# PostgreSQL in {pg.dir}, Redis in {red.dir}; Ctrl-C stops both and removes them.",
              file=sys.stderr, flush=True)
        try:
            while pg.running() and red.running():
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

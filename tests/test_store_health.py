"""A store that fails must not go unnoticed: `GET /health` (stores.health.HealthInput) reports the
tracker store and the lock store as up or down (200 / 503), and a start with either unreachable is
refused (exit status 1 and a clear message, the port never answers). Rasa's own behaviour, which
this replaces: it starts with PostgreSQL down ("Could not create tables"), keeps conversations in
memory behind a fail-safe wrapper, and `GET /` always answers.

PostgreSQL and Redis are started here on free loopback ports in temporary directories
(scripts/services.py), stopped and restarted to play the outages, and removed afterwards.
"""

import subprocess
import time
from pathlib import Path
from typing import Dict, Optional, Tuple

import pytest
import requests

from scripts import launcher
from scripts.services import PostgresServer, RedisServer
from tests.servers import ROOT, SCALE_OUT_ENDPOINTS, Servers, ensure_model, environment, free_port, texts

UP = {"tracker_store": "up", "lock_store": "up"}


def health(url: str) -> Tuple[int, dict]:
    response = requests.get(f"{url}/health", timeout=30)
    return response.status_code, response.json()


def health_becomes(url: str, expected: Dict[str, str], within: float = 20) -> Tuple[int, dict]:
    deadline = time.monotonic() + within
    while True:
        status, body = health(url)
        if body == expected or time.monotonic() > deadline:
            return status, body
        time.sleep(0.5)


@pytest.fixture(scope="module")
def model():
    return ensure_model()


@pytest.fixture(scope="module")
def stack(model, tmp_path_factory):
    """PostgreSQL, Redis and one Rasa instance on endpoints.scale-out.yml with the health channel."""
    workdir = tmp_path_factory.mktemp("store-health")
    pg, red = PostgresServer(), RedisServer()
    env = {}
    servers: Optional[Servers] = None
    try:
        pg.start()
        red.start()
        # no action server: nothing here runs a custom action
        env = {**pg.env(), **red.env(), "ACTION_SERVER_URL": f"http://127.0.0.1:{free_port()}/webhook",
               "STORE_STARTUP_WAIT": "2"}
        credentials = launcher.write_credentials(workdir / "credentials.yml", environment(**env))
        servers = Servers(workdir, extra_env=env)
        servers.start_rasa(SCALE_OUT_ENDPOINTS, credentials=credentials)
        yield servers, pg, red, env, credentials, workdir
    finally:
        if servers:
            servers.stop()
        pg.destroy()
        red.destroy()


def test_health_reports_both_stores_up(stack):
    servers, *_ = stack
    assert health(servers.url) == (200, UP)


def test_health_reports_postgresql_down_then_up_again(stack):
    servers, pg, *_ = stack
    pg.stop()
    try:
        assert health_becomes(servers.url, {"tracker_store": "down", "lock_store": "up"}) == \
            (503, {"tracker_store": "down", "lock_store": "up"})
        assert requests.get(servers.url + "/", timeout=10).status_code == 200  # what `GET /` would have said
    finally:
        pg.start()
    assert health_becomes(servers.url, UP) == (200, UP)
    # and the store works again at once (pooled connections to the old server are not reused)
    user = f"health-{time.time_ns()}"
    assert servers.say(user, "hello")
    with pg.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM events WHERE sender_id = %s AND type_name = 'user'", (user,))
        assert cursor.fetchone()[0] == 1
    connection.close()


def test_health_reports_redis_down_then_up_again(stack):
    servers, _pg, red, *_ = stack
    red.stop()
    try:
        assert health_becomes(servers.url, {"tracker_store": "up", "lock_store": "down"}) == \
            (503, {"tracker_store": "up", "lock_store": "down"})
        # no lock, no processing: the guarded REST channel says so (Rasa's own answers 200 with nothing)
        assert "temporarily unavailable" in texts(servers.say(f"health-{time.time_ns()}", "hello"))
    finally:
        red.start()
    assert health_becomes(servers.url, UP) == (200, UP)
    assert servers.say(f"health-{time.time_ns()}", "hello")


def start_expecting_refusal(endpoints: Path, credentials: Path, env: Dict[str, str], log: Path,
                            timeout: float = 180) -> Tuple[int, bool, str]:
    """Starts `rasa run`; returns (exit status, whether GET / ever answered, its output)."""
    port = free_port()
    answered = False
    with log.open("wb") as out:
        process = subprocess.Popen(
            launcher.rasa_command(port, endpoints, credentials, environment(**env)),
            cwd=ROOT, env=environment(**env), stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        try:
            while process.poll() is None and time.monotonic() < deadline:
                try:
                    requests.get(f"http://127.0.0.1:{port}/", timeout=1)
                    answered = True
                except requests.RequestException:
                    pass
                time.sleep(0.3)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)
    return process.returncode, answered, log.read_text(errors="replace")


def test_start_refused_while_postgresql_is_down(stack):
    _servers, pg, _red, env, credentials, workdir = stack
    pg.stop()
    try:
        started = time.monotonic()
        status, answered, output = start_expecting_refusal(SCALE_OUT_ENDPOINTS, credentials, env,
                                                           workdir / "refused-pg.log")
        seconds = time.monotonic() - started
    finally:
        pg.start()
    print(f"\n[health] start with PostgreSQL down: exit {status} after {seconds:.1f} s, port answered: {answered}")
    assert status == 1 and not answered, output[-3000:]
    assert "StoreUnavailable: Tracker store unreachable: cannot connect to the postgresql database" in output
    assert pg.password not in output


def test_start_refused_while_redis_is_down(stack):
    _servers, _pg, red, env, credentials, workdir = stack
    red.stop()
    try:
        status, answered, output = start_expecting_refusal(SCALE_OUT_ENDPOINTS, credentials, env,
                                                           workdir / "refused-redis.log")
    finally:
        red.start()
    assert status == 1 and not answered, output[-3000:]
    assert "StoreUnavailable: Lock store unreachable: cannot connect to Redis at 127.0.0.1" in output
    assert red.password not in output


def test_start_refused_with_rasas_own_store_types_too(stack):
    """Stock `type: SQL` / `type: redis` (no checks of their own): the health channel's start-up
    check refuses once the agent is loaded."""
    _servers, pg, _red, env, credentials, workdir = stack
    endpoints = workdir / "endpoints-stock.yml"
    endpoints.write_text(
        "tracker_store:\n  type: SQL\n  dialect: postgresql\n  url: ${DB_HOST}\n  port: ${DB_PORT}\n"
        "  db: ${DB_NAME}\n  username: ${DB_USER}\n  password: ${DB_PASSWORD}\n"
        "lock_store:\n  type: redis\n  url: ${REDIS_HOST}\n  port: ${REDIS_PORT}\n  password: ${REDIS_PASSWORD}\n")
    pg.stop()
    try:
        status, answered, output = start_expecting_refusal(endpoints, credentials, env, workdir / "refused-stock.log")
    finally:
        pg.start()
    assert status == 1, output[-3000:]
    assert "Could not create tables" in output  # Rasa's own line, after which it would have served
    assert "Refusing to serve: tracker store (SQLTrackerStore) is down" in output


def test_health_with_the_default_sqlite_setup(model, tmp_path):
    """The embedded default (endpoints like endpoints.yml: SQLite, in-memory lock store)."""
    servers = Servers(tmp_path)
    try:
        servers.start_rasa()
        assert health(servers.url) == (200, UP)
    finally:
        servers.stop()

"""Starts the real action server and Rasa server on free ports for end-to-end tests."""

import json
import os
import secrets
import sqlite3
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import requests

ROOT = Path(__file__).resolve().parent.parent
RASA = str(ROOT / ".venv" / "bin" / "rasa")
# The Rasa server as scripts/run.sh starts it: `rasa` with the runtime changes of runtime/.
RASA_SERVER = [str(ROOT / ".venv" / "bin" / "python"), "-m", "runtime"]
MODEL = ROOT / "models" / "current.tar.gz"
# The action servers the tests start require it, the Rasa servers send it (action_endpoint_yaml).
ACTION_SERVER_TOKEN = os.environ.get("ACTION_SERVER_TOKEN") or secrets.token_hex(16)
# What signs the socket.io session ids: the same for every Rasa server of the tests (scale-out).
SESSION_SECRET = os.environ.get("SESSION_SECRET") or secrets.token_hex(16)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(**extra: str) -> Dict[str, str]:
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", SQLALCHEMY_SILENCE_UBER_WARNING="1",
               TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(ROOT), ACTION_SERVER_TOKEN=ACTION_SERVER_TOKEN,
               SESSION_SECRET=SESSION_SECRET)
    env.update(extra)
    return env


def action_endpoint_yaml(port: int) -> str:
    """An endpoints file's action_endpoint, with the header the action server requires."""
    return (f"action_endpoint:\n  url: http://127.0.0.1:{port}/webhook\n"
            "  headers:\n    Authorization: Bearer ${ACTION_SERVER_TOKEN}\n")


def tracker_store_yaml(database: Path) -> str:
    """An endpoints file's tracker store on a SQLite file, the store of endpoints.yml."""
    return (f"tracker_store:\n  type: stores.sql_tracker_store.CheckedSQLTrackerStore\n"
            f"  dialect: sqlite\n  db: {database}\n")


def ensure_model() -> Path:
    subprocess.run([str(ROOT / "scripts" / "train_if_changed.sh")], check=True, env=environment())
    return MODEL


def wait_until(url: str, process: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


@dataclass
class Servers:
    workdir: Path
    rasa_port: int = 0
    actions_port: int = 0
    processes: List[subprocess.Popen] = field(default_factory=list)
    extra_env: Dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def start_actions(self) -> subprocess.Popen:
        self.actions_port = self.actions_port or free_port()
        log = self.workdir / "actions.log"
        process = subprocess.Popen(
            [RASA, "run", "actions", "--actions", "actions", "--port", str(self.actions_port)],
            cwd=ROOT, env=environment(**self.extra_env), stdout=log.open("ab"), stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        wait_until(f"http://127.0.0.1:{self.actions_port}/health", process, log)
        return process

    def start_rasa(self, endpoints: Optional[Path] = None, extra_args: Sequence[str] = (),
                   credentials: Optional[Path] = None) -> subprocess.Popen:
        self.rasa_port = self.rasa_port or free_port()
        self.actions_port = self.actions_port or free_port()
        if endpoints is None:
            endpoints = self.workdir / "endpoints.yml"
            endpoints.write_text(
                action_endpoint_yaml(self.actions_port) + tracker_store_yaml(self.database())
            )
        log = self.workdir / "rasa.log"
        process = subprocess.Popen(
            [*RASA_SERVER, "run", "--model", str(MODEL), "--port", str(self.rasa_port),
             "--endpoints", str(endpoints), "--credentials", str(credentials or ROOT / "credentials.yml"), *extra_args],
            cwd=ROOT, env=environment(**self.extra_env), stdout=log.open("ab"), stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        wait_until(self.url + "/", process, log)
        return process

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()

    def say(self, sender: str, text: str, metadata: Optional[dict] = None) -> List[dict]:
        body = {"sender": sender, "message": text, **({"metadata": metadata} if metadata else {})}
        response = requests.post(f"{self.url}/webhooks/rest/webhook", json=body, timeout=60)
        response.raise_for_status()
        return response.json()

    # --- the tracker store ------------------------------------------------------------------

    def database(self) -> Path:
        """The SQLite file of the tracker store (the endpoints file of start_rasa)."""
        return self.workdir / "conversations.db"

    def rows(self, sender: str) -> List[Dict[str, Any]]:
        """The sender's events as stored, oldest first."""
        with sqlite3.connect(str(self.database()), timeout=15) as connection:
            rows = connection.execute("SELECT type_name, data FROM events WHERE sender_id = ? ORDER BY id", (sender,)).fetchall()
        return [{"type": type_name, **json.loads(data)} for type_name, data in rows]

    def user_events(self, sender: str) -> List[Dict[str, Any]]:
        return [row for row in self.rows(sender) if row["type"] == "user"]


def texts(replies: List[dict]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def button_titles(replies: List[dict]) -> List[str]:
    return [b["title"] for r in replies for b in r.get("buttons", [])]


# --- scale-out set-up (tests/test_scale_out.py, tests/test_store_health.py) -------------------

SCALE_OUT_ENDPOINTS = ROOT / "endpoints.scale-out.yml"

"""Starts the real action server and Rasa server on free ports for end-to-end tests, through
scripts/launcher.py: the servers `make run` starts (guarded channels, runtime/, SQLite store)."""

import functools
import json
import re
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import requests

from scripts import launcher
# Used by the test modules. ACTION_SERVER_TOKEN: what every server the tests start shares (the
# action servers require it, the Rasa servers send it); environment() carries it and SESSION_SECRET.
from scripts.launcher import (ACTION_SERVER_TOKEN, MODEL, RASA, ROOT, action_endpoint_yaml,  # noqa: F401
                              environment, tracker_store_yaml)
from scripts.services import free_port


def ensure_model() -> Path:
    subprocess.run([str(ROOT / "scripts" / "train_if_changed.sh")], check=True, env=environment())
    return MODEL


def wait_until(url: str, process: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    launcher.wait_until(url, process, log, timeout)


@dataclass
class Servers:
    workdir: Path
    rasa_port: int = 0
    actions_port: int = 0
    processes: List[subprocess.Popen] = field(default_factory=list)
    extra_env: Dict[str, str] = field(default_factory=dict)
    full_page_notes: Dict[str, int] = field(default_factory=dict)  # per sender, for say()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def environment(self) -> Dict[str, str]:
        # The end-to-end tests send each message as soon as the last was answered, or 20 at once:
        # faster than any person. The rate limits (channels/rate_limit.py) are off unless a test
        # sets them (tests/test_load_balancer.py).
        return environment(**{"RATE_LIMITS": "off", **self.extra_env})

    def start_actions(self) -> subprocess.Popen:
        self.actions_port = self.actions_port or free_port()
        log = self.workdir / "actions.log"
        process = launcher.launch(launcher.actions_command(self.actions_port),
                                  launcher.actions_environment(self.environment()), log)
        self.processes.append(process)
        wait_until(f"http://127.0.0.1:{self.actions_port}/health", process, log)
        return process

    def start_rasa(self, endpoints: Optional[Path] = None, extra_args: Sequence[str] = (),
                   credentials: Optional[Path] = None) -> subprocess.Popen:
        """Endpoints: an SQLite store in workdir unless given; credentials: the guarded channels
        (as `make run`) unless given."""
        self.rasa_port = self.rasa_port or free_port()
        self.actions_port = self.actions_port or free_port()
        env = self.environment()
        endpoints = endpoints or launcher.sqlite_endpoints(self.workdir / "endpoints.yml", self.actions_port,
                                                           self.database())
        credentials = credentials or launcher.write_credentials(self.workdir / "credentials.yml", env)
        log = self.workdir / "rasa.log"
        process = launcher.launch(launcher.rasa_command(self.rasa_port, endpoints, credentials, env,
                                                        extra_args=extra_args), env, log)
        self.processes.append(process)
        wait_until(self.url + "/", process, log)
        return process

    def stop(self) -> None:
        launcher.stop(self.processes)
        self.processes.clear()

    def say(self, sender: str, text: str, metadata: Optional[dict] = None) -> List[dict]:
        """The replies to `text`. In every suite: none of them names a file of the project; the page
        note is said in full at most once in a conversation (the suites' conversations last less
        than a session); a first answer about a cluster keeps within FIRST_ANSWER_WORDS."""
        body = {"sender": sender, "message": text, **({"metadata": metadata} if metadata else {})}
        response = requests.post(f"{self.url}/webhooks/rest/webhook", json=body, timeout=60)
        response.raise_for_status()
        replies = response.json()
        said = texts(replies)
        named = project_file_name().search(said)
        assert named is None, f"a reply to {text!r} names the project file {named.group()!r}: {said}"
        notes = self.full_page_notes.get(sender, 0) + len(FULL_PAGE_NOTE.findall(said))
        assert notes <= 1, f"the page note is said in full again in the reply to {text!r}: {said}"
        self.full_page_notes[sender] = notes
        for answer in first_answers(said):
            assert answer_words(answer) <= FIRST_ANSWER_WORDS, f"a first answer of {answer_words(answer)} words to {text!r}: {answer}"
        return replies

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


# The files the knowledge was built from, kept outside the repository (../shared/source/).
SOURCE_MATERIAL = ("supplementary-facts.md", "wallonia-key-sectors-page.txt")


@functools.lru_cache(maxsize=1)
def project_file_name() -> "re.Pattern[str]":
    """Matches the name of any file of the repository (or of its source material) with an
    extension: a user can open none of them, so no reply may name one."""
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    names = {Path(line).name for line in listed.splitlines() if "." in Path(line).name.strip(".")}
    names |= set(SOURCE_MATERIAL)
    return re.compile("|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)), re.IGNORECASE)


# The page note in full (actions/messages.yml page_source), in either language.
FULL_PAGE_NOTE = re.compile(r"the information dates from that time|les informations datent de cette période")
# The first answer about a cluster says at most this many words (issue 14), not counting its
# buttons, its sources "(source: …)", the page note or its marker (a line in italics) and the
# items of a list the question asks for ("- …", "1. …": a full list is given in full).
FIRST_ANSWER_WORDS = 90
_NOT_COUNTED = re.compile(r"\((?:sources?) ?:(?:[^()]|\([^()]*\))*\)|^_.*_$|^(?:- |\d+\. ).*$", re.MULTILINE)
# A first answer opens with the cluster's heading: "**Skywin** — competitiveness cluster, sector “…”."
_CLUSTER_HEADING = re.compile(r"^\*\*[^*\n]+\*\* — [^\n]+, (?:sector “[^”]+”|secteur « [^»]+ »)\.$", re.MULTILINE)


def first_answers(text: str) -> List[str]:
    """Each first answer about a cluster in a reply's text: from its heading to the next one."""
    starts = [m.start() for m in _CLUSTER_HEADING.finditer(text)]
    return [text[start:end] for start, end in zip(starts, starts[1:] + [len(text)])]


def answer_words(text: str) -> int:
    return len(_NOT_COUNTED.sub(" ", text).split())


def texts(replies: List[dict]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def button_titles(replies: List[dict]) -> List[str]:
    return [b["title"] for r in replies for b in r.get("buttons", [])]


# --- scale-out set-up (tests/test_scale_out.py, tests/test_store_health.py) -------------------

SCALE_OUT_ENDPOINTS = ROOT / "endpoints.scale-out.yml"


class BalancedStack:
    """What `make run-scale-out` runs, on free loopback ports: PostgreSQL and Redis
    (scripts/services.py), one action server, `instances` Rasa instances on
    endpoints.scale-out.yml and HAProxy in front of them (scripts/launcher.haproxy_config);
    `url` is the balancer's. Each part can be stopped and started again on its port."""

    def __init__(self, workdir: Path, instances: int = 2, extra_env: Optional[Dict[str, str]] = None) -> None:
        from scripts.services import PostgresServer, RedisServer

        self.workdir = workdir
        self.pg, self.red = PostgresServer(), RedisServer()
        self.port, self.stats_port, actions_port = free_port(), free_port(), free_port()
        self.extra_env = dict(extra_env or {})
        self.actions = Servers(workdir / "actions", actions_port=actions_port)
        self.instances = [Servers(workdir / f"rasa-{i + 1}", actions_port=actions_port) for i in range(instances)]
        self.balancer: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "BalancedStack":
        from concurrent.futures import ThreadPoolExecutor
        from scripts.scale_out import conversations_db

        self.pg.start()
        self.red.start()
        env = {**self.pg.env(), **self.red.env(), **self.extra_env,
               "ACTION_SERVER_URL": f"http://127.0.0.1:{self.actions.actions_port}/webhook"}
        env["CONVERSATIONS_DB"] = conversations_db(env)
        for server in (self.actions, *self.instances):
            server.workdir.mkdir(parents=True, exist_ok=True)
            server.extra_env = env
        self.credentials = launcher.write_credentials(self.workdir / "credentials.yml", environment(**env))
        with ThreadPoolExecutor(1 + len(self.instances)) as pool:  # all at once: about 2/3 of the time
            futures = [pool.submit(self.actions.start_actions)]
            futures += [pool.submit(self.start_instance, i) for i in range(len(self.instances))]
            for future in futures:
                future.result()
        self.start_balancer()
        return self

    def start_instance(self, index: int) -> subprocess.Popen:
        server = self.instances[index]
        server.processes.clear()
        return server.start_rasa(SCALE_OUT_ENDPOINTS, (), self.credentials)

    def kill_instance(self, index: int) -> None:
        for process in self.instances[index].processes:
            process.kill()
            process.wait(timeout=10)

    def kill_actions(self) -> None:
        for process in self.actions.processes:
            process.kill()
            process.wait(timeout=10)
        self.actions.processes.clear()

    def start_actions(self) -> subprocess.Popen:
        return self.actions.start_actions()

    def start_balancer(self) -> subprocess.Popen:
        config = launcher.haproxy_config(self.workdir / "haproxy.cfg", self.port,
                                         [server.rasa_port for server in self.instances], self.stats_port)
        log = self.workdir / "haproxy.log"
        self.balancer = launcher.launch(launcher.haproxy_command(config), launcher.page_environment(environment()), log)
        launcher.wait_until(self.url + "/", self.balancer, log, timeout=30, ready=lambda status: status == 200)
        return self.balancer

    def stats(self) -> List[Dict[str, str]]:
        """HAProxy's statistics, a row per frontend, backend and server (pxname, svname, status, stot…)."""
        import csv

        text = requests.get(f"http://127.0.0.1:{self.stats_port}/;csv", timeout=10).text.lstrip("# ")
        return list(csv.DictReader(text.splitlines()))

    def stop(self) -> None:
        if self.balancer is not None:
            launcher.stop([self.balancer])
        for server in (*self.instances, self.actions):
            server.stop()
        self.pg.destroy()
        self.red.destroy()

"""Two Rasa instances behind HAProxy (haproxy.cfg.template, started as `make run-scale-out` starts
it, through scripts/launcher.py), on PostgreSQL and Redis, with one action server: one stack for
the whole module (tests/servers.BalancedStack).

- socket.io through the balancer: 20 conversations at once, each from its own client address
  (127.0.0.x), 14 over long-polling (python-socketio's client; every poll is a new HTTP request, so
  the balancer must send them all to the instance that holds the session) and 6 over the websocket
  transport. Every reply reaches its own conversation, in order, and both instances serve some.
- The liveness check: an instance killed with SIGKILL is taken out, the other serves every
  message, and the restarted instance is back in without any manual step.
"""

import asyncio
import json
import time
import uuid
from typing import Dict, List

import pytest
import requests

from tests.hardening import SocketChat, WebSocketChat, texts_of
from scripts import launcher
from tests.servers import ROOT, BalancedStack, ensure_model

# (name asked about, what only its answers contain: its website)
CLUSTERS = [("Skywin", "skywin.be"), ("BioWin", "biowin.org"), ("WagrALIM", "wagralim.be"),
            ("MecaTech", "polemecatech.be"), ("GreenWin", "greenwin.be"),
            ("Logistics in Wallonia", "logisticsinwallonia.be")]
SOCKET_CONVERSATIONS, OVER_WEBSOCKET = 20, 6


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    ensure_model()
    # 50 conversations at once on a shared 2-core machine can make an action call slow; action
    # timeouts are not what these tests are about (the action server fault is).
    balanced = BalancedStack(tmp_path_factory.mktemp("balanced"), extra_env={"ACTION_SERVER_TIMEOUT": "20"})
    try:
        started = time.monotonic()
        balanced.start()
        print(f"\n[balancer] PostgreSQL, Redis, 1 action server, 2 Rasa instances and HAProxy up in "
              f"{time.monotonic() - started:.1f} s")
        yield balanced
    finally:
        balanced.stop()


def served(stack: BalancedStack, backend: str) -> Dict[str, int]:
    """Sessions each instance got from `backend` since HAProxy started (its statistics)."""
    return {row["svname"]: int(row["stot"]) for row in stack.stats()
            if row["pxname"] == backend and row["svname"].startswith("rasa-")}


def user_texts(stack: BalancedStack, sender: str) -> List[str]:
    with stack.pg.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT data FROM events WHERE sender_id = %s AND type_name = 'user' ORDER BY id", (sender,))
        rows = [json.loads(data)["text"] for (data,) in cursor.fetchall()]
    connection.close()
    return rows


def test_socketio_conversations_stick_to_their_instance(stack):
    async def conversation(index: int) -> Dict[str, object]:
        name, site = CLUSTERS[index % len(CLUSTERS)]
        kind = WebSocketChat if index < OVER_WEBSOCKET else SocketChat
        async with kind(stack.url, source_address=f"127.0.0.{10 + index}") as chat:
            answers = []
            for question in (f"what is {name}?", "and its website?", f"who are the members of {name}?"):
                await chat.send(question)
                answers.append(texts_of([await chat.next(timeout=60)]))
                await asyncio.sleep(1.5)  # the rest of that answer, if any, comes before the next question
                while not chat.received.empty():
                    answers[-1] += "\n" + texts_of([chat.received.get_nowait()])
            return {"session": chat.session_id, "name": name, "site": site, "answers": answers}

    async def everyone() -> List[Dict[str, object]]:
        return await asyncio.gather(*(conversation(i) for i in range(SOCKET_CONVERSATIONS)))

    results = asyncio.run(everyone())
    for result in results:
        name, site, answers = result["name"], result["site"], result["answers"]
        others = [s for n, s in CLUSTERS if n != name]
        assert name.lower() in answers[0].lower(), result
        assert site in answers[1] and not any(other in answers[1] for other in others), result
        assert not any(other in " ".join(answers) for other in others), result
        assert user_texts(stack, result["session"]) == [f"what is {name}?", "and its website?",
                                                        f"who are the members of {name}?"]
    per_instance = served(stack, "socketio")
    print(f"[balancer] socket.io: {SOCKET_CONVERSATIONS} conversations ({OVER_WEBSOCKET} over websocket), "
          f"HTTP sessions per instance {per_instance}")
    assert all(per_instance.values()), per_instance  # both instances served some


def test_a_killed_instance_is_taken_out_and_rejoins(stack):
    sender = f"lb-{uuid.uuid4().hex[:8]}"

    def say(text: str) -> requests.Response:
        return requests.post(f"{stack.url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=60)

    stack.kill_instance(0)
    answers = [say(f"what is {name}?") for name, _ in CLUSTERS]
    assert [a.status_code for a in answers] == [200] * len(CLUSTERS)
    assert all(name.lower() in texts_of(a.json()).lower() for a, (name, _) in zip(answers, CLUSTERS))
    before = served(stack, "rest")
    stack.start_instance(0)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and served(stack, "rest")["rasa-1"] == before["rasa-1"]:
        say("hello")
    assert served(stack, "rest")["rasa-1"] > before["rasa-1"], "the restarted instance got no request"
    assert len(user_texts(stack, sender)) >= len(CLUSTERS)


def test_the_deployment_guide_shows_the_configuration_that_runs():
    guide = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    shown = guide.split("```haproxy\n", 1)[1].split("```", 1)[0]
    assert shown == launcher.HAPROXY_TEMPLATE.read_text(encoding="utf-8")

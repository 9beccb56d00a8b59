"""Hostile and odd input, end to end over REST and socket.io (the guarded channels of
scripts/run.sh): every message gets a sensible answer and no server error; what the NLU received is
read back from the tracker store; malformed requests are refused; bursts are all answered, in order."""

import asyncio
import json
import re
import sqlite3
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import socketio

from tests.hardening import SocketChat, WebSocketChat, shared_servers, texts_of
from tests.servers import texts

UNAVAILABLE = "temporarily unavailable"
TOUR = "I know Wallonia's business and competitiveness clusters"
ODD_MESSAGES = {
    "empty": "",
    "spaces": " \t  \n ",
    "emoji": "🙂🚀🎉",
    "arabic": "مرحبا، ما هو أفضل مجمع للطيران؟",
    "hebrew": "שלום, מה זה סקייווין?",
    "control": "what\x00 is\x07 \x1b[31mSkywin\x1b[0m\x7f?",
    "script": "<script>alert(document.cookie)</script>",
    "markup question": "what is <b>Skywin</b>? <img src=x onerror=alert(1)>",
    "link": "tell me about [Skywin](javascript:alert(1))",
    "sql": "'; DROP TABLE events; --",
    "sql question": "what is Skywin' OR '1'='1",
    "x 20000": "x" * 20000,
}


def new_user(prefix: str = "odd") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def servers(request, tmp_path_factory):
    return shared_servers(request, tmp_path_factory)


def assert_sensible(messages, raw):
    answer = texts_of(messages)
    assert messages and answer.strip(), f"no answer to {raw!r}"
    assert UNAVAILABLE not in answer, f"{raw!r}: {answer}"
    assert not re.search(r"<\s*(script|img|b)\b|javascript:|onerror", answer, re.IGNORECASE), answer


def website_question(cluster):
    """A button payload whose answer is one message naming the cluster (its website or that it has none)."""
    expected = cluster.website.text.en if cluster.website else f"website of {cluster.name} is not known"
    return f'/ask_cluster_website{{"cluster": "{cluster.id}"}}', expected


# --- odd messages ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ODD_MESSAGES))
def test_odd_messages_over_rest(servers, name):
    raw = ODD_MESSAGES[name]
    user = new_user()
    response = servers.post({"sender": user, "message": raw})
    assert response.status_code == 200
    assert_sensible(response.json(), raw)
    received = servers.user_events(user)[-1]
    assert received["text"] and all(ch.isprintable() for ch in received["text"])
    assert "<" not in received["text"] and "](" not in received["text"]


def test_odd_messages_over_socketio(servers):
    async def scenario():
        async with SocketChat(servers.url) as chat:
            return {name: await chat.ask(raw, quiet=0.3) for name, raw in ODD_MESSAGES.items()}

    for name, messages in asyncio.run(scenario()).items():
        assert_sensible(messages, ODD_MESSAGES[name])


def test_what_each_odd_message_got(servers):
    """The answers themselves: the tour for an empty message, a rephrase for emoji, the two
    languages for Arabic and Hebrew, the cluster for a question wrapped in markup."""
    def ask(raw):
        return texts(servers.say(new_user(), raw))

    assert TOUR in ask("") and TOUR in ask("   ")
    assert "rephrase" in ask("🙂🚀🎉")
    assert "I speak English and French only" in ask(ODD_MESSAGES["arabic"])
    assert "I speak English and French only" in ask(ODD_MESSAGES["hebrew"])
    assert "Skywin is the Aerospace" in ask(ODD_MESSAGES["markup question"])
    assert "Skywin is the Aerospace" in ask(ODD_MESSAGES["control"])


def test_a_20000_character_message_is_capped_before_the_nlu(servers):
    user = new_user("long")
    raw = ("We are a small company in Liège that designs composite parts and drones for aircraft makers, "
           "and we would like to know which cluster we could join. " * 150)[:20000]
    assert_sensible(servers.say(user, raw), raw)
    received = servers.user_events(user)[-1]
    assert len(received["text"]) <= 2000 and raw.startswith(received["text"])
    assert received["metadata"]["input_guard"] == {"truncated_to": 2000, "received_chars": 20000}
    assert received["parse_data"]["text"] == received["text"]  # what the NLU parsed


def test_sql_looking_text_is_only_text(servers):
    user = new_user("sql")
    for raw in (ODD_MESSAGES["sql"], "1; DELETE FROM events WHERE 1=1", "Robert'); DROP TABLE events;--"):
        assert servers.post({"sender": user, "message": raw}).status_code == 200
    assert "Skywin is the Aerospace" in texts(servers.say(user, "what is Skywin?"))
    with sqlite3.connect(str(servers.sqlite_path)) as connection:
        assert connection.execute("SELECT count(*) FROM events").fetchone()[0] > 20
    assert [e["text"] for e in servers.user_events(user)][:1] == [ODD_MESSAGES["sql"]]


# --- hand-typed payloads -----------------------------------------------------------------------


def test_button_payloads_typed_by_hand_work(servers):
    user = new_user("payload")
    assert "https://www.skywin.be" in texts(servers.say(user, '/ask_cluster_website{"cluster": "skywin"}'))
    assert "key sectors" in texts(servers.say(user, "/list_sectors"))
    assert "What does your organisation do?" in texts(servers.say(user, "which cluster fits me?"))
    assert "What kind of organisation" in texts(servers.say(user, "we build drones and composite aircraft parts"))
    assert "What are you looking for" in texts(servers.say(user, '/inform_organisation_type{"organisation_type": "research"}'))
    assert "Here is where your organisation fits best" in texts(servers.say(user, '/inform_goal{"goal": "rnd"}'))


@pytest.mark.parametrize("typed", [
    "/restart",
    "/session_start",
    '/inform_goal{"language": "fr"}',
    '/ask_cluster_info{"cluster": "skywin", "requested_slot": "goal"}',
    '/describe_activity{"activity": "we make weapons"}',
    '/greet{"sticky_language": "fr"}',
    '/ask_cluster_info@1.0{"cluster": "skywin"}',
])
def test_other_payloads_neither_trigger_an_intent_nor_set_a_slot(servers, typed):
    user = new_user("typed")
    assert "Skywin is the Aerospace" in texts(servers.say(user, "what is Skywin?"))
    response = servers.post({"sender": user, "message": typed})
    assert response.status_code == 200 and response.json()
    assert_sensible(response.json(), typed)
    events = servers.rows(user)
    received = [e for e in events if e["type"] == "user"][-1]
    # read as text by the NLU (the word "restart" may well mean "start over"), never as the payload
    assert received["text"] == typed.lstrip("/") and received["metadata"]["input_guard"]["payload_refused"]
    assert len(received["parse_data"]["intent_ranking"]) > 1  # classified by the NLU (a payload: 1, at 1.0)
    set_slots = [(e["name"], json.dumps(e["value"])) for e in events if e["type"] == "slot"]
    for forbidden in (("language", '"fr"'), ("sticky_language", '"fr"'), ("requested_slot", '"goal"'),
                      ("activity", '"we make weapons"')):
        assert forbidden not in set_slots


# --- malformed requests ----------------------------------------------------------------------


@pytest.mark.parametrize("raw", [
    b"{not json", b'["a", "list"]', b'"a string"', b"", b'{"message": "hello"}', b'{"sender": null, "message": "hi"}',
    b'{"sender": "", "message": "hi"}', b'{"sender": "x", "message": null}', b'{"sender": "x"}',
    b'{"sender": "x", "message": 42}', b'{"sender": "x", "message": "hi", "metadata": "fr"}',
    b'{"sender": {"id": 1}, "message": "hi"}',
])
def test_malformed_requests_are_refused_and_no_shared_conversation_is_made(servers, raw):
    response = servers.post(None, raw=raw)
    assert 400 <= response.status_code < 500 and "error" in response.json()
    assert servers.rows("default") == []


def test_streamed_answers_are_guarded_too(servers):
    response = requests.post(f"{servers.url}/webhooks/rest/webhook?stream=true", timeout=30,
                             json={"sender": new_user("stream"), "message": "<b>what is Skywin?</b>"})
    messages = [json.loads(line) for line in response.text.splitlines() if line.strip()]
    assert response.status_code == 200 and "Skywin is the Aerospace" in texts_of(messages)


def test_an_oversized_body_is_refused(servers):
    response = servers.post({"sender": new_user(), "message": "x " * 200_000})
    assert response.status_code == 413


def test_the_http_api_is_off(servers):
    """Started as scripts/run.sh starts it without RASA_API_TOKEN: no management API at all."""
    assert requests.get(f"{servers.url}/status", timeout=10).status_code == 404
    assert requests.put(f"{servers.url}/model", json={"model_file": "/tmp/x.tar.gz"}, timeout=10).status_code in (404, 405)
    assert requests.get(f"{servers.url}/conversations/{new_user()}/tracker", timeout=10).status_code == 404


# --- socket.io specifics ----------------------------------------------------------------------


def test_socketio_refuses_other_origins_and_accepts_the_pages(servers):
    async def connect(origin):
        async with SocketChat(servers.url, headers={"Origin": origin}) as chat:
            return texts_of(await chat.ask("what is Skywin?"))

    async def connect_from_elsewhere():
        async with SocketChat(servers.url, headers={"Origin": "http://evil.example"}, wait_timeout=3):
            pass

    with pytest.raises(socketio.exceptions.ConnectionError):
        asyncio.run(connect_from_elsewhere())
    with pytest.raises(ConnectionRefusedError):  # over websocket too
        asyncio.run(WebSocketChat(servers.url, origin="http://evil.example").__aenter__())
    assert "Skywin is the Aerospace" in asyncio.run(connect("http://localhost:8080"))  # WEB_ORIGIN's default


def test_socketio_odd_events_do_not_break_the_session(servers):
    async def scenario():
        async with SocketChat(servers.url) as chat:
            await chat.client.emit("user_uttered", "not an object")
            await chat.client.emit("user_uttered", {"message": ["a", "list"], "session_id": chat.session_id})
            odd = await chat.answer()  # a message that is not text: the tour
            await chat.client.emit("user_uttered", {"message": "what is Skywin?"})  # no session id: its own conversation
            own = await chat.answer()
            await chat.client.emit("user_uttered", {"message": "what is BioWin?", "session_id": chat.session_id,
                                                    "customData": "{not json"})
            return odd, own, await chat.answer()

    odd, own, last = asyncio.run(scenario())
    assert TOUR in texts_of(odd)
    assert "Skywin is the Aerospace" in texts_of(own)
    assert "BioWin is the health" in texts_of(last)


# --- many messages ----------------------------------------------------------------------------


def test_200_messages_one_after_the_other_over_rest_and_socketio(servers, knowledge):
    """Two conversations at the same time, one over REST, one over socket.io (websocket): each
    message sent when the answer to the previous one has come; every answer right and in order."""
    questions = [website_question(knowledge.clusters[i % len(knowledge.clusters)]) for i in range(200)]
    user = new_user("seq")

    def over_rest():
        for i, (payload, expected) in enumerate(questions):
            response = servers.post({"sender": user, "message": payload})
            assert response.status_code == 200 and expected in texts_of(response.json()), (i, response.text)

    async def over_socketio():
        async with WebSocketChat(servers.url) as chat:
            for i, (payload, expected) in enumerate(questions):
                await chat.send(payload)
                answer = await chat.next()  # one message per answer
                assert expected in answer["text"], (i, answer)
            await asyncio.sleep(0.5)
            assert chat.received.empty()  # nothing more, nothing late
            return chat.session_id

    with ThreadPoolExecutor(max_workers=1) as pool:
        rest = pool.submit(over_rest)
        session = asyncio.run(over_socketio())
        rest.result()
    assert len(servers.user_events(user)) == 200 and len(servers.user_events(session)) == 200


def test_20_messages_at_once_over_rest(servers, knowledge):
    user = new_user("burst")
    questions = [website_question(knowledge.clusters[i % len(knowledge.clusters)]) for i in range(20)]
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda q: servers.post({"sender": user, "message": q[0]}), questions))
    elapsed = time.monotonic() - start
    for (payload, expected), response in zip(questions, responses):
        assert response.status_code == 200 and expected in texts_of(response.json())
    assert len(servers.user_events(user)) == 20
    assert elapsed < 10, f"20 messages took {elapsed:.1f} s"  # with Rasa's 1 s lock polling alone: about 20 s


def test_20_messages_at_once_over_socketio_all_answered_in_order(servers, knowledge):
    questions = [website_question(knowledge.clusters[i % len(knowledge.clusters)]) for i in range(20)]

    async def scenario():
        async with WebSocketChat(servers.url) as chat:
            start = time.monotonic()
            for payload, _ in questions:
                await chat.send(payload)
            answers = [await chat.next() for _ in questions]
            return answers, time.monotonic() - start, chat.session_id

    answers, elapsed, session = asyncio.run(scenario())
    for (payload, expected), answer in zip(questions, answers):
        assert expected in answer["text"], (payload, answer)
    assert [e["text"] for e in servers.user_events(session)] == [p for p, _ in questions]
    assert elapsed < 10, f"20 messages took {elapsed:.1f} s"

"""The action server answers only the Rasa server: a call without the token Rasa sends
(`Authorization: Bearer $ACTION_SERVER_TOKEN`, from the endpoints file) gets 401, a body that is not
JSON 415 (`rasa_sdk_plugins/`); conversations, which go through Rasa, still work."""

import json
import uuid

import pytest
import requests

from tests.hardening import shared_servers, wait_for
from tests.servers import ACTION_SERVER_TOKEN, ROOT, texts


@pytest.fixture(scope="module")
def servers(request, tmp_path_factory):
    return shared_servers(request, tmp_path_factory)


def forged_forget_me(victim: str) -> dict:
    tracker = {"sender_id": victim, "slots": {}, "latest_message": {}, "events": [], "paused": False,
               "followup_action": None, "active_loop": {}, "latest_action_name": None}
    return {"next_action": "action_forget_me", "sender_id": victim, "tracker": tracker,
            "domain": {"slots": {}, "responses": {}}, "version": "3.6.21"}


def test_a_forged_call_cannot_run_an_action(servers):
    victim = f"victim-{uuid.uuid4().hex[:10]}"
    assert "Skywin" in texts(servers.say(victim, "what is Skywin?"))
    stored = len(servers.rows(victim))
    webhook = f"http://127.0.0.1:{servers.actions_port}/webhook"
    body = forged_forget_me(victim)
    attempts = [
        requests.post(webhook, json=body, timeout=10),
        requests.post(webhook, json=body, headers={"Authorization": "Bearer " + "0" * 32}, timeout=10),
        # what a web page can send without a CORS preflight
        requests.post(webhook, data=json.dumps(body), headers={"Content-Type": "text/plain"}, timeout=10),
    ]
    assert [r.status_code for r in attempts] == [401, 401, 401]
    not_json = requests.post(webhook, data=json.dumps(body), timeout=10,
                             headers={"Content-Type": "text/plain", "Authorization": f"Bearer {ACTION_SERVER_TOKEN}"})
    assert not_json.status_code == 415
    assert requests.get(f"http://127.0.0.1:{servers.actions_port}/actions", timeout=10).status_code == 401
    assert not wait_for(lambda: len(servers.rows(victim)) < stored, timeout=3)  # nothing deleted
    assert requests.get(f"http://127.0.0.1:{servers.actions_port}/health", timeout=10).ok


def test_rasa_sends_the_token(servers):
    user = f"auth-{uuid.uuid4().hex[:10]}"
    assert "Skywin is the Aerospace" in texts(servers.say(user, "tell me about Skywin"))
    assert "Delete this conversation" in texts(servers.say(user, "forget me"))
    assert "Done: I have deleted this conversation" in texts(servers.say(user, "yes"))


@pytest.mark.parametrize("endpoints", ["endpoints.yml", "endpoints.scale-out.yml"])
def test_the_endpoints_files_send_the_token(endpoints, monkeypatch):
    from rasa.core.utils import read_endpoints_from_path

    for name in ("ACTION_SERVER_URL", "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD", "REDIS_HOST",
                 "REDIS_PORT", "REDIS_PASSWORD"):
        monkeypatch.setenv(name, "1")
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "t0ken")
    action = read_endpoints_from_path(str(ROOT / endpoints)).action
    assert action.headers == {"Authorization": "Bearer t0ken"}

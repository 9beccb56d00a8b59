"""The Slack channel (channels/slack.py), offline.

Pure parts first (Markdown → mrkdwn, Block Kit messages, user-text clean-up), then slack_sdk's
client against a local Web API mock that enforces Slack's limits (tests/channel_mocks.py), then
end to end: the mock, the action server and a Rasa server started with the credentials that
scripts/credentials.py generates from SLACK_* variables; signed, real-format Events API and
interactivity requests are posted to /webhooks/slack/webhook and the replies read from the mock.
"""

import asyncio
import itertools
import json
import time
import urllib.parse
import uuid
from typing import Any, Dict, List, Optional

import pytest
import requests
import yaml
from rasa.core.channels.slack import SlackBot
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from channels.formatting import to_slack_mrkdwn
from channels.slack import FormattedSlackInput, FormattedSlackOutput, slack_message
from tests.channel_mocks import (SlackApiMock, SlackError, assistant_with_channel, buttons_of, check_blocks,
                                 paragraph, run_credentials_script, section_texts, sign_slack)
from tests.hardening import wait_for
from tests.servers import MODEL, Servers, ensure_model

BOT_TOKEN = "xoxb-1111111111-2222222222222-AbCdEfGhIjKlMnOpQrStUvWx"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAM, APP, BOT_USER = "T0TEAM0001", "A0APP00001", "U0BOT00001"


# --- Markdown → mrkdwn -----------------------------------------------------------------------

@pytest.mark.parametrize("markdown, mrkdwn", [
    ("**Skywin** — competitiveness cluster.", "*Skywin* — competitiveness cluster."),
    ("_From the page, circa 2010–2013._", "_From the page, circa 2010–2013._"),
    ("Website: https://www.skywin.be (source: [skywin.be](https://www.skywin.be), as of November 2026)",
     "Website: <https://www.skywin.be> (source: <https://www.skywin.be|skywin.be>, as of November 2026)"),
    ("see https://clusters.wallonie.be.", "see <https://clusters.wallonie.be>."),
    ("[the portal](https://example.org/?a=1&b=2)", "<https://example.org/?a=1&amp;b=2|the portal>"),
    ("R&D <partners> & 3 > 2", "R&amp;D &lt;partners&gt; &amp; 3 &gt; 2"),
    ("snake_case_name", "snake_case_name"),
    ("_a **b** c_", "_a *b* c_"),
])
def test_markdown_becomes_mrkdwn(markdown, mrkdwn):
    assert to_slack_mrkdwn(markdown) == mrkdwn


# --- Block Kit -------------------------------------------------------------------------------

def test_text_without_buttons_is_one_mrkdwn_message():
    messages = slack_message("**Skywin** — cluster.\n\nIt does things.")
    assert messages == [{"text": "*Skywin* — cluster.\n\nIt does things.", "mrkdwn": True}]


def test_long_text_is_split_at_paragraphs_within_3000():
    paragraphs = [paragraph(i, 1200) for i in range(6)]
    messages = slack_message("\n\n".join(paragraphs))
    assert len(messages) > 1 and all(len(m["text"]) <= 3000 for m in messages)
    assert "\n\n".join(m["text"] for m in messages) == "\n\n".join(to_slack_mrkdwn(p) for p in paragraphs)


def test_buttons_become_block_kit_actions_and_none_is_dropped():
    buttons = [{"title": f"Cluster number {i}", "payload": f'/ask_cluster_info{{"cluster": "c{i}"}}'} for i in range(14)]
    [message] = slack_message("Which cluster do you mean? **Pick one**", buttons)
    check_blocks(message["blocks"])  # as Slack validates them
    section, actions = message["blocks"]
    assert section == {"type": "section", "text": {"type": "mrkdwn", "text": "Which cluster do you mean? *Pick one*"}}
    assert [e["value"] for e in actions["elements"]] == [b["payload"] for b in buttons]  # all 14, not only 5
    assert [e["text"]["text"] for e in actions["elements"]] == [b["title"] for b in buttons]
    assert message["text"] == "Which cluster do you mean? Pick one"  # the notification text


def test_many_long_buttons_and_a_long_text_stay_within_slack_limits():
    buttons = [{"title": "A very long button title " * 5, "payload": f"/greet{i}"} for i in range(30)]
    messages = slack_message("\n\n".join(paragraph(i, 2000) for i in range(4)), buttons)
    for message in messages:
        check_blocks(message["blocks"])
    elements = [e for m in messages for e in buttons_of(m)]
    assert len(elements) == 30 and all(len(e["text"]["text"]) <= 75 for e in elements)
    assert [len(b["elements"]) for b in messages[-1]["blocks"] if b["type"] == "actions"] == [25, 5]


def test_the_mock_refuses_what_slack_refuses():
    for blocks in ([{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
                   [{"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "b"},
                                                      "action_id": "a"}] * 2}],
                   [{"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "x" * 76}}]}],
                   [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}] * 51):
        with pytest.raises(SlackError):
            check_blocks(blocks)


def test_user_text_is_unescaped_and_links_unwrapped():
    text = "<@U0BOT00001> R&amp;D in &lt;aero&gt;? see <https://www.skywin.be|skywin.be> and <https://x.be>"
    assert FormattedSlackInput._sanitize_user_message(text, [BOT_USER]) == "R&D in <aero>? see skywin.be and https://x.be"


# --- slack_sdk against the mock --------------------------------------------------------------

@pytest.fixture
def api_mock():
    mock = SlackApiMock(BOT_TOKEN).start()
    yield mock
    mock.stop()


def test_stock_connector_is_refused_and_ours_is_accepted(api_mock):
    """Rasa's SlackBot posts with as_user=True, which Slack refuses from current apps' bot tokens."""
    stock = SlackBot(BOT_TOKEN, "D0DM000001")
    stock.client = AsyncWebClient(BOT_TOKEN, base_url=api_mock.api_url)
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        asyncio.run(stock.send_text_message("U0USER0001", "hello"))
    ours = FormattedSlackOutput(BOT_TOKEN, "D0DM000001", api_url=api_mock.api_url)
    buttons = [{"title": f"Button {i}", "payload": f"/greet{i}"} for i in range(8)]
    asyncio.run(ours.send_text_with_buttons("U0USER0001", "**Hello** https://x.be", buttons))
    [post] = api_mock.posts()
    assert post["channel"] == "D0DM000001" and section_texts(post) == "*Hello* <https://x.be>"
    assert len(buttons_of(post)) == 8


@pytest.mark.parametrize("activity, language", [
    ("We build drone components", "en"), ("bureau d'études en structures composites pour l'aéronautique", "fr")])
def test_a_recommendations_reasons_read_as_written(api_mock, activity, language):
    """The reasons quote the page and the user: Slack shows them as the assistant wrote them, the
    cluster's name in bold, its buttons as Block Kit actions."""
    from actions import render
    from actions.knowledge import STORE

    reply = render.recommendation(STORE.knowledge, STORE.ranker.rank(activity).matches, None, language)
    why = next(line for line in reply.text.splitlines() if line.startswith(("Why:", "Pourquoi :")))
    channel = FormattedSlackOutput(BOT_TOKEN, "D0DM000001", api_url=api_mock.api_url)
    asyncio.run(channel.send_text_with_buttons("U0USER0001", reply.text, reply.buttons))
    assert api_mock.refused() == []
    [post] = api_mock.posts()
    text = section_texts(post)
    assert "*Skywin*" in text and "**" not in text and "\\" not in text
    assert why in text.splitlines()
    assert len(buttons_of(post)) == len(reply.buttons)


def test_credentials_with_slack_variables(tmp_path):
    out = tmp_path / "credentials.yml"
    result = run_credentials_script(out, SLACK_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                                    SLACK_API_URL="http://127.0.0.1:9/api/")
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(out.read_text())
    assert set(config) == {"rest", "socketio", "stores.health.HealthInput", "channels.slack.FormattedSlackInput"}
    assert config["channels.slack.FormattedSlackInput"] == {
        "slack_token": "${SLACK_TOKEN}", "slack_signing_secret": "${SLACK_SIGNING_SECRET}", "api_url": "${SLACK_API_URL}"}
    assert BOT_TOKEN not in out.read_text() and SIGNING_SECRET not in out.read_text()
    result = run_credentials_script(out, SLACK_TOKEN=BOT_TOKEN)
    assert result.returncode == 2 and "SLACK_SIGNING_SECRET" in result.stderr


# --- end to end: Rasa with the generated credentials, events in, Web API calls out -----------

class SlackHarness:
    def __init__(self, api: SlackApiMock, servers: Servers) -> None:
        self.api = api
        self.servers = servers
        self.ids = itertools.count(1)

    @property
    def webhook(self) -> str:
        return f"{self.servers.url}/webhooks/slack/webhook"

    def post(self, body: bytes, content_type: str, secret: str = SIGNING_SECRET, timestamp: Optional[int] = None,
             signed: bool = True) -> requests.Response:
        headers = {"Content-Type": content_type, "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)"}
        if signed:
            stamp, signature = sign_slack(secret, body, timestamp)
            headers.update({"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature})
        return requests.post(self.webhook, data=body, headers=headers, timeout=60)

    def message_event(self, user: str, channel: str, text: str) -> bytes:
        ts = f"{time.time():.6f}"
        event = {
            "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "team_id": TEAM, "api_app_id": APP,
            "event": {"client_msg_id": str(uuid.uuid4()), "type": "message", "text": text, "user": user, "ts": ts,
                      "blocks": [{"type": "rich_text", "block_id": "Xy1z", "elements": [
                          {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}]}],
                      "team": TEAM, "channel": channel, "event_ts": ts, "channel_type": "im"},
            "type": "event_callback", "event_id": f"Ev0{next(self.ids):09d}", "event_time": int(time.time()),
            "authorizations": [{"enterprise_id": None, "team_id": TEAM, "user_id": BOT_USER, "is_bot": True,
                                "is_enterprise_install": False}],
            "is_ext_shared_channel": False,
        }
        return json.dumps(event).encode()

    def block_action(self, user: str, channel: str, post: Dict[str, Any], ts: str, title: str) -> bytes:
        index, button = next((i, b) for i, b in enumerate(buttons_of(post)) if b["text"]["text"] == title)
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": "amelie", "name": "amelie", "team_id": TEAM},
            "api_app_id": APP, "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
            "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
            "trigger_id": f"{next(self.ids)}.1111111111.abcdef", "team": {"id": TEAM, "domain": "example"},
            "enterprise": None, "is_enterprise_install": False,
            "channel": {"id": channel, "name": "directmessage"},
            "message": {"bot_id": "B0MOCK", "type": "message", "text": post.get("text", ""), "user": BOT_USER, "ts": ts,
                        "team": TEAM, "blocks": post.get("blocks", [])},
            "state": {"values": {}}, "response_url": f"https://hooks.slack.com/actions/{TEAM}/1/abcdef",
            "actions": [{"action_id": button["action_id"], "block_id": "b1", "text": button["text"],
                         "value": button["value"], "type": "button", "action_ts": f"{time.time():.6f}"}],
        }
        return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()

    def replies(self, mark: int, channel: str, until: str) -> List[Dict[str, Any]]:
        """The posts to `channel` since `mark`, once one contains `until`."""
        calls = self.api.wait_for(
            lambda calls: any(c.ok and c.params["channel"] == channel and until in section_texts(c.params) for c in calls)
            or any(not c.ok for c in calls), mark)
        assert self.api.refused(mark) == []
        return [c.params for c in calls if c.params["channel"] == channel]

    def say(self, user: str, channel: str, text: str, until: str) -> List[Dict[str, Any]]:
        mark = self.api.mark()
        answer = self.post(self.message_event(user, channel, text), "application/json")
        assert answer.status_code == 200, answer.text
        return self.replies(mark, channel, until)

    def press(self, user: str, channel: str, post: Dict[str, Any], title: str, until: str) -> List[Dict[str, Any]]:
        ts = next(c.result["ts"] for c in self.api.calls if c.params is post)
        mark = self.api.mark()
        answer = self.post(self.block_action(user, channel, post, ts, title), "application/x-www-form-urlencoded")
        assert answer.status_code == 200, answer.text
        return self.replies(mark, channel, until)


@pytest.fixture(scope="module")
def slack(tmp_path_factory):
    if not MODEL.exists():
        ensure_model()
    workdir = tmp_path_factory.mktemp("slack")
    api = SlackApiMock(BOT_TOKEN).start()
    with assistant_with_channel(workdir, api, SLACK_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                                SLACK_API_URL=api.api_url) as servers:
        yield SlackHarness(api, servers)


def test_signed_message_gets_a_mrkdwn_answer_with_block_kit_buttons(slack):
    posts = slack.say("U0USER0001", "D0DM000001", "Tell me about Skywin", until="Skywin")
    text = "\n\n".join(section_texts(p) for p in posts)
    assert "*Skywin* — " in text and "**" not in text
    assert "<https://www.skywin.be|skywin.be>" in text and "_Source: the page " in text  # a source of its French name
    buttons = [b for p in posts for b in buttons_of(p)]
    assert '/ask_cluster_website{"cluster": "skywin"}' in [b["value"] for b in buttons]
    assert all("as_user" not in p for p in posts)


def test_button_press_continues_the_guided_dialogue(slack):
    user, channel = "U0USER0002", "D0DM000002"
    slack.say(user, channel, "which cluster fits me?", until="What does your organisation do?")
    posts = slack.say(user, channel, "we design composite parts for aircraft", until="What kind of organisation are you?")
    assert "Company or SME" in [b["text"]["text"] for b in buttons_of(posts[-1])]
    posts = slack.press(user, channel, posts[-1], "Company or SME", until="What are you looking for in a cluster?")
    posts = slack.press(user, channel, posts[-1], "R&D partners and projects", until="Here is where your organisation fits best")
    answer = "\n\n".join(section_texts(p) for p in posts)
    assert "*Skywin*" in answer and "<https://www.skywin.be>" in answer


def test_url_verification_is_answered_only_when_signed(slack):
    body = json.dumps({"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                       "type": "url_verification"}).encode()
    answer = slack.post(body, "application/json")
    assert answer.status_code == 200 and answer.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    assert slack.post(body, "application/json", secret="not-the-secret").status_code == 400


def test_bad_or_stale_signatures_are_refused_and_get_no_reply(slack):
    user, refused_channel = "U0USER0003", "D0DM000003"
    mark = slack.api.mark()
    body = slack.message_event(user, refused_channel, "hello")
    attempts = {
        "wrong secret": slack.post(body, "application/json", secret="not-the-secret"),
        "no signature": slack.post(body, "application/json", signed=False),
        "stale (6 minutes)": slack.post(body, "application/json", timestamp=int(time.time()) - 360),
        "from the future (6 minutes)": slack.post(body, "application/json", timestamp=int(time.time()) + 360),
        "tampered body": requests.post(slack.webhook, data=body.replace(b"hello", b"hallo"), timeout=60, headers=dict(
            zip(("X-Slack-Request-Timestamp", "X-Slack-Signature"), sign_slack(SIGNING_SECRET, body)),
            **{"Content-Type": "application/json"})),
        "button press, wrong secret": slack.post(
            urllib.parse.urlencode({"payload": json.dumps({"type": "block_actions", "user": {"id": user},
                                                           "channel": {"id": refused_channel},
                                                           "actions": [{"type": "button", "value": "/greet"}]})}).encode(),
            "application/x-www-form-urlencoded", secret="not-the-secret"),
    }
    assert {name: answer.status_code for name, answer in attempts.items()} == {name: 400 for name in attempts}
    # A signed message sent afterwards is answered; by then the refused ones would have been too.
    slack.say("U0USER0004", "D0DM000004", "hello", until="Hello")
    time.sleep(1)
    assert [c for c in slack.api.calls_since(mark) if c.params.get("channel") == refused_channel] == []


def test_the_bots_own_messages_are_ignored(slack):
    mark = slack.api.mark()
    event = json.loads(slack.message_event("U0USER0005", "D0DM000005", "Hello! I answer questions"))
    event["event"]["bot_id"] = "B0MOCK"
    assert slack.post(json.dumps(event).encode(), "application/json").status_code == 200
    slack.say("U0USER0006", "D0DM000006", "hello", until="Hello")
    time.sleep(1)
    assert [c for c in slack.api.calls_since(mark) if c.params.get("channel") == "D0DM000005"] == []


def test_a_typed_payload_is_guarded_and_a_redelivered_event_handled_once(slack):
    user, channel = "U0GUARD77", "D0GUARD77"
    event = slack.message_event(user, channel, '/inform_goal{"language": "fr"}')
    for retry in range(2):  # Slack sends an event again (same event_id) when the answer was slow
        headers_retry = {} if not retry else {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"}
        stamp, signature = sign_slack(SIGNING_SECRET, event, None)
        answer = requests.post(slack.webhook, data=event, timeout=60, headers={
            "Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature,
            **headers_retry})
        assert answer.status_code == 200, answer.text
    assert wait_for(lambda: slack.servers.user_events(user), timeout=30)
    time.sleep(2)  # the redelivery, had it been handled, would be stored by now
    received = slack.servers.user_events(user)
    assert len(received) == 1, [e["text"] for e in received]
    assert received[0]["text"] == 'inform_goal{"language": "fr"}'  # read as text, not as the payload
    assert received[0]["metadata"]["input_guard"]["payload_refused"]

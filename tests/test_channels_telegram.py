"""The Telegram channel (channels/telegram.py), offline.

Pure parts first (Markdown → Telegram HTML, splitting, callback data), then the real aiogram
client against a local Bot API mock that enforces Telegram's limits (tests/channel_mocks.py),
then end to end: the mock, the action server and a Rasa server started with the credentials that
scripts/credentials.py generates from TELEGRAM_* variables; real-format updates are posted to
/webhooks/telegram/webhook and the replies read from the mock.
"""

import asyncio
import itertools
import json
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest
import requests
import yaml
from aiogram.bot.api import TelegramAPIServer
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.exceptions import BadRequest

from channels.callback_data import MAX_BYTES, CallbackCodec, compact, expand
from channels.formatting import split_message, to_telegram_html, utf16_length
from channels.telegram import EXPIRED_BUTTON, SECRET_HEADER, SecureTelegramInput, SecureTelegramOutput
from tests.channel_mocks import (TelegramApiMock, TelegramError, assistant_with_channel, keyboard_of, paragraph,
                                 parse_telegram_html, run_credentials_script)
from tests.servers import MODEL, ROOT, Servers, ensure_model

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
USERNAME = "WalloniaClustersBot"
SECRET = "s3cret_Token-for-tests"
WEBHOOK_URL = "https://bot.example.org/webhooks/telegram/webhook"


# --- Markdown → Telegram HTML ------------------------------------------------------------------

@pytest.mark.parametrize("markdown, html", [
    ("**Skywin** — competitiveness cluster, sector “Mobility and Transport”.",
     "<b>Skywin</b> — competitiveness cluster, sector “Mobility and Transport”."),
    ("_From the page Les pôles de compétitivité, 2010–2013: it describes that time._",
     "<i>From the page Les pôles de compétitivité, 2010–2013: it describes that time.</i>"),
    ("Website: https://www.skywin.be (source: [skywin.be](https://www.skywin.be), as of November 2026)",
     'Website: <a href="https://www.skywin.be">https://www.skywin.be</a> '
     '(source: <a href="https://www.skywin.be">skywin.be</a>, as of November 2026)'),
    ("(sources : [greenwin.be, page « devenir membre »](https://www.greenwin.be) et aca-secretariat.be, novembre 2026)",
     '(sources : <a href="https://www.greenwin.be">greenwin.be, page « devenir membre »</a> et aca-secretariat.be, novembre 2026)'),
    ("For current details, see https://clusters.wallonie.be.",
     'For current details, see <a href="https://clusters.wallonie.be">https://clusters.wallonie.be</a>.'),
    ("R&D <partners> & 3 > 2", "R&amp;D &lt;partners&gt; &amp; 3 &gt; 2"),
    ("[the portal](https://example.org/a_b?x=1&y=\"2\")",
     '<a href="https://example.org/a_b?x=1&amp;y=&quot;2&quot;">the portal</a>'),
    ("snake_case_name and 2 * 3 * 4", "snake_case_name and 2 * 3 * 4"),
    ("_a **b** c_", "<i>a <b>b</b> c</i>"),
    ("**a _b** c_", "<b>a _b</b> c_"),  # crossing markers: the unmatched one stays literal
    ("**not closed", "**not closed"),
    ("https://example.org/wiki/Foo_(bar)_baz_", '<a href="https://example.org/wiki/Foo_(bar)_baz">https://example.org/wiki/Foo_(bar)_baz</a>_'),
])
def test_markdown_becomes_telegram_html(markdown, html):
    assert to_telegram_html(markdown) == html
    parse_telegram_html(html)  # and Telegram would accept it


def test_the_mock_parses_html_as_telegram_does():
    assert parse_telegram_html('<b>a</b> &amp; <a href="https://x.be">x</a> &#233;') == "a & x é"
    for bad in ("<b>a", "a</b>", "<b><i>a</b></i>", "<script>x</script>", "R&D", "3 > 2", "<a>x</a>"):
        with pytest.raises(TelegramError):
            parse_telegram_html(bad)


# --- splitting -------------------------------------------------------------------------------

def test_long_answer_is_split_between_paragraphs_within_4096():
    paragraphs = [paragraph(i, 1500) for i in range(8)]
    chunks = split_message("\n\n".join(paragraphs), 4096, to_telegram_html, utf16_length)
    assert len(chunks) > 1
    for chunk in chunks:
        assert utf16_length(chunk) <= 4096 and utf16_length(parse_telegram_html(chunk)) <= 4096
    # nothing lost, nothing cut inside a paragraph
    assert "\n\n".join(chunks) == "\n\n".join(to_telegram_html(p) for p in paragraphs)
    assert all(chunk.startswith(tuple(f"{i}." for i in range(8))) for chunk in chunks)


def test_short_answer_stays_one_message():
    text = "**Skywin** — cluster.\n\nIt does things.\n\n_From the page._"
    assert split_message(text, 4096, to_telegram_html, utf16_length) == [to_telegram_html(text)]


def test_overlong_paragraph_is_cut_between_lines_then_words_then_characters():
    lines = "\n".join(paragraph(i, 300) for i in range(30))  # one paragraph of 30 lines
    chunks = split_message(lines, 4096, to_telegram_html, utf16_length)
    assert len(chunks) > 1 and all(utf16_length(c) <= 4096 for c in chunks)
    assert "\n".join(chunks) == "\n".join(to_telegram_html(line) for line in lines.split("\n"))
    words = " ".join(["R&D"] * 3000)  # one line, escaping makes it longer than it looks
    chunks = split_message(words, 4096, to_telegram_html, utf16_length)
    assert all(utf16_length(c) <= 4096 for c in chunks) and " ".join(chunks) == to_telegram_html(words)
    word = "x" * 10000
    assert [len(c) for c in split_message(word, 4096, to_telegram_html, utf16_length)] == [4096, 4096, 1808]


# --- callback data ---------------------------------------------------------------------------

def payloads_the_bot_can_send(knowledge) -> List[str]:
    """Every intent of the domain with no entity and with each entity value the bot knows, in the
    format of the button contract (actions/buttons.py), plus the payloads written in domain.yml."""
    from actions.buttons import payload

    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    messages = yaml.safe_load((ROOT / "actions" / "messages.yml").read_text(encoding="utf-8"))
    values = {
        "cluster": [c.id for c in knowledge.clusters],
        "sector": [s.id for s in knowledge.sectors],
        "organisation_type": list(messages["organisation_types"]["en"]),
        "goal": list(messages["goals"]["en"]),
    }
    payloads = set()
    for intent in domain["intents"]:
        name = intent if isinstance(intent, str) else next(iter(intent))
        payloads.add(payload(name))
        for entity, entity_values in values.items():
            payloads.update(payload(name, **{entity: v}) for v in entity_values)
    for variants in (domain.get("responses") or {}).values():
        for variant in variants:
            payloads.update(b["payload"] for b in variant.get("buttons", []))
    return sorted(payloads, key=lambda p: (-len(p.encode()), p))


def test_every_button_payload_fits_and_maps_back_even_after_a_restart(knowledge, tmp_path):
    payloads = payloads_the_bot_can_send(knowledge)
    assert len(payloads[0].encode()) > MAX_BYTES  # some do not fit as they are
    store = tmp_path / "callbacks.db"
    codec = CallbackCodec(store)
    encoded = {payload: codec.encode(payload) for payload in payloads}
    for payload, data in encoded.items():
        assert 1 <= len(data.encode("utf-8")) <= MAX_BYTES, (payload, data)
        assert codec.decode(data) == payload
        assert codec.encode(payload) == data  # deterministic
    restarted = CallbackCodec(store)  # a new process: nothing in memory
    assert all(restarted.decode(data) == payload for payload, data in encoded.items())


def test_the_buttons_the_bot_really_shows_need_no_store(knowledge, tmp_path):
    from actions import render

    pairs = [(intent, "cluster", c.id) for c in knowledge.clusters
             for intent in ("ask_cluster_info", "ask_cluster_strategy", "ask_cluster_members", "ask_cluster_website", "ask_join")]
    pairs += [("list_clusters", "sector", s.id) for s in knowledge.sectors]
    pairs += [("inform_organisation_type", "organisation_type", t) for t in ("company", "startup", "research", "training", "public", "other")]
    pairs += [("inform_goal", "goal", g) for g in ("rnd", "network", "visibility", "training", "unsure")]
    codec = CallbackCodec(tmp_path / "unused.db")
    for intent, entity, value in pairs:
        payload = render.button("t", intent, **{entity: value})["payload"]
        data = codec.encode(payload)
        assert not data.startswith("#") and codec.decode(data) == payload
    assert not (tmp_path / "unused.db").exists()


def test_compact_form_rebuilds_the_exact_payload():
    payload = '/ask_cluster_strategy{"cluster": "logistics-in-wallonia"}'
    assert compact(payload) == "~ask_cluster_strategy|cluster=logistics-in-wallonia"
    assert expand(compact(payload)) == payload
    assert compact('/x{"a": "é"}') == "~x|a=é"
    # no compact form unless it rebuilds the payload byte for byte
    for payload in ('/x{"n": 3}', '/x{"a":"b"}', '/x{"a": "b|c"}', '/x{"a": "\\u00e9"}', "hello", "/x{not json}"):
        assert compact(payload) is None, payload
    long_one = '/list_clusters{"sector": "environment-sustainable-development", "cluster_type": "competitiveness"}'
    codec = CallbackCodec(Path("/nonexistent/never-used.db"))
    assert codec.decode("#unknownkey000000") is None  # e.g. after `make clean`: the button has expired
    assert codec.decode("/greet") == "/greet" and codec.decode("~greet") == "/greet"
    assert len(long_one.encode()) > 64 and len(compact(long_one).encode()) > 64


# --- commands --------------------------------------------------------------------------------

@pytest.mark.parametrize("text, handed_to_rasa", [
    ("/start", "/greet"),
    ("/start@WalloniaClustersBot", "/greet"),
    ("/start from-website", "/greet"),  # a deep link's parameter
    ("/help@walloniaclustersbot", "/help"),
    ("/start@SomeOtherBot", None),  # in a group, for another bot
    ("What is Skywin?", "What is Skywin?"),
    ('/ask_cluster_info{"cluster": "skywin"}', '/ask_cluster_info{"cluster": "skywin"}'),
])
def test_commands(text, handed_to_rasa):
    channel = SecureTelegramInput(TOKEN, "@" + USERNAME, WEBHOOK_URL, secret_token=SECRET)
    assert channel._command_text(text) == handed_to_rasa


def test_a_malformed_secret_token_is_refused_at_start():
    from rasa.shared.exceptions import RasaException

    for secret in ("", "has space", "x" * 257, "é"):
        with pytest.raises(RasaException):
            SecureTelegramInput(TOKEN, USERNAME, WEBHOOK_URL, secret_token=secret)


# --- the real aiogram client against the mock ------------------------------------------------

@pytest.fixture
def api_mock():
    mock = TelegramApiMock(TOKEN, USERNAME).start()
    yield mock
    mock.stop()


def test_the_mock_refuses_what_telegram_refuses(api_mock):
    async def attempt(**kwargs: Any) -> None:
        bot = SecureTelegramOutput(TOKEN, api_mock.base_url)
        try:
            await bot.send_message("123456789", **kwargs)
        finally:
            await bot.drop_session()

    too_long_data = InlineKeyboardMarkup().row(InlineKeyboardButton("x", callback_data="/" + "a" * 64))
    for kwargs in ({"text": "x" * 4097}, {"text": "<b>bold", "parse_mode": "HTML"}, {"text": "R&D", "parse_mode": "HTML"},
                   {"text": "ok", "reply_markup": too_long_data}):
        with pytest.raises(BadRequest):
            asyncio.run(attempt(**kwargs))
    asyncio.run(attempt(text="x" * 4096))
    assert [c.ok for c in api_mock.calls] == [False, False, False, False, True]


def test_stock_connector_breaks_and_ours_survives_the_start_up_loop(api_mock, monkeypatch):
    """Rasa's connector registers the webhook with asyncio.run() at start-up; its bot keeps the
    aiohttp session of that closed loop, so the first reply (on the server's loop) fails."""
    from rasa.core.channels.telegram import TelegramInput, TelegramOutput

    original_init = TelegramOutput.__init__

    def pointed_at_mock(self, access_token):
        original_init(self, access_token)
        self.server = TelegramAPIServer.from_base(api_mock.base_url)

    monkeypatch.setattr(TelegramOutput, "__init__", pointed_at_mock)
    stock = TelegramInput(TOKEN, USERNAME, WEBHOOK_URL).get_output_channel()
    with pytest.raises(RuntimeError, match="Event loop is closed"):
        asyncio.run(stock.send_message("123456789", "hello"))

    ours = SecureTelegramInput(TOKEN, USERNAME, WEBHOOK_URL, secret_token=SECRET, api_server=api_mock.base_url)
    channel = ours.get_output_channel()

    async def reply() -> None:
        await channel.send_text_message("123456789", "hello")
        await channel.drop_session()

    asyncio.run(reply())
    assert api_mock.sent_messages()[-1]["text"] == "hello"


def test_long_text_and_long_payloads_reach_the_api_within_its_limits(api_mock, tmp_path):
    codec = CallbackCodec(tmp_path / "callbacks.db")
    channel = SecureTelegramOutput(TOKEN, api_mock.base_url, codec)
    text = "\n\n".join(paragraph(i, 1800) for i in range(5))
    buttons = [
        {"title": "Research centre or university lab", "payload": '/inform_organisation_type{"organisation_type": "research"}'},
        {"title": "Environment clusters",
         "payload": '/list_clusters{"sector": "environment-sustainable-development", "cluster_type": "competitiveness"}'},
    ]

    async def send() -> None:
        await channel.send_text_with_buttons("123456789", text, buttons)
        await channel.drop_session()

    asyncio.run(send())
    assert api_mock.refused() == []
    sent = api_mock.sent_messages()
    assert len(sent) == len(split_message(text, 4096, to_telegram_html, utf16_length)) > 1
    assert all(m["parse_mode"] == "HTML" and utf16_length(m["text"]) <= 4096 for m in sent)
    assert "\n\n".join(parse_telegram_html(m["text"]) for m in sent) == "\n\n".join(
        parse_telegram_html(to_telegram_html(paragraph(i, 1800))) for i in range(5))
    assert [bool(keyboard_of(m)) for m in sent] == [False] * (len(sent) - 1) + [True]  # the keyboard comes last
    keyboard = keyboard_of(sent[-1])
    assert [b["text"] for b in keyboard] == [b["title"] for b in buttons]
    assert [codec.decode(b["callback_data"]) for b in keyboard] == [b["payload"] for b in buttons]


# --- a recommendation's reasons ------------------------------------------------------------------

@pytest.mark.parametrize("activity, language", [
    ("We build drone components", "en"), ("bureau d'études en structures composites pour l'aéronautique", "fr")])
def test_a_recommendations_reasons_read_as_written(api_mock, tmp_path, activity, language):
    """The reasons quote the page and the user («…», “…”, the ellipsis of a cut passage): Telegram
    shows them as the assistant wrote them, the cluster's name in bold."""
    from actions import render
    from actions.knowledge import STORE

    reply = render.recommendation(STORE.knowledge, STORE.ranker.rank(activity).matches, None, language)
    why = next(line for line in reply.text.splitlines() if line.startswith(("Why:", "Pourquoi :")))
    channel = SecureTelegramOutput(TOKEN, api_mock.base_url, CallbackCodec(tmp_path / "callbacks.db"))

    async def send() -> None:
        await channel.send_text_with_buttons("123456789", reply.text, reply.buttons)
        await channel.drop_session()

    asyncio.run(send())
    assert api_mock.refused() == []
    [sent] = api_mock.sent_messages()
    assert "<b>Skywin</b>" in sent["text"] and "\\" not in sent["text"]
    assert why in parse_telegram_html(sent["text"]).splitlines()


# --- credentials -----------------------------------------------------------------------------

def test_credentials_without_variables_keep_only_the_always_on_channels(tmp_path):
    out = tmp_path / "credentials.yml"
    assert run_credentials_script(out).returncode == 0
    assert set(yaml.safe_load(out.read_text())) == {"rest", "socketio", "stores.health.HealthInput"}


def test_credentials_with_telegram_variables_name_them_without_their_values(tmp_path):
    out = tmp_path / "credentials.yml"
    result = run_credentials_script(out, TELEGRAM_ACCESS_TOKEN=TOKEN, TELEGRAM_VERIFY=USERNAME,
                                    TELEGRAM_WEBHOOK_URL=WEBHOOK_URL, TELEGRAM_SECRET_TOKEN=SECRET)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(out.read_text())
    assert config["channels.telegram.SecureTelegramInput"] == {
        "access_token": "${TELEGRAM_ACCESS_TOKEN}", "verify": "${TELEGRAM_VERIFY}",
        "webhook_url": "${TELEGRAM_WEBHOOK_URL}", "secret_token": "${TELEGRAM_SECRET_TOKEN}"}
    assert TOKEN not in out.read_text() and SECRET not in out.read_text()


def test_credentials_with_some_telegram_variables_missing_is_an_error(tmp_path):
    result = run_credentials_script(tmp_path / "c.yml", TELEGRAM_ACCESS_TOKEN=TOKEN)
    assert result.returncode == 2
    assert "TELEGRAM_VERIFY" in result.stderr and "TELEGRAM_SECRET_TOKEN" in result.stderr
    result = run_credentials_script(tmp_path / "c.yml", TELEGRAM_ACCESS_TOKEN=TOKEN, TELEGRAM_VERIFY=USERNAME,
                                    TELEGRAM_WEBHOOK_URL="http://insecure.example.org/hook", TELEGRAM_SECRET_TOKEN=SECRET)
    assert result.returncode == 2 and "https" in result.stderr


# --- end to end: Rasa with the generated credentials, updates in, Bot API calls out -----------

class TelegramHarness:
    def __init__(self, api: TelegramApiMock, servers: Servers) -> None:
        self.api = api
        self.servers = servers
        self.update_ids = itertools.count(584_000_001)
        self.message_ids = itertools.count(1)

    @property
    def webhook(self) -> str:
        return f"{self.servers.url}/webhooks/telegram/webhook"

    def post(self, update: Dict[str, Any], secret: Any = SECRET) -> requests.Response:
        headers = {} if secret is None else {SECRET_HEADER: secret}
        return requests.post(self.webhook, json=update, headers=headers, timeout=120)

    def user(self, chat_id: int, language_code: str = "en") -> Dict[str, Any]:
        return {"id": chat_id, "is_bot": False, "first_name": "Amélie", "last_name": "Dupont",
                "username": f"amelie{chat_id}", "language_code": language_code}

    def message_update(self, chat_id: int, text: str, language_code: str = "en") -> Dict[str, Any]:
        message = {"message_id": next(self.message_ids), "from": self.user(chat_id, language_code),
                   "chat": {"id": chat_id, "first_name": "Amélie", "last_name": "Dupont",
                            "username": f"amelie{chat_id}", "type": "private"},
                   "date": int(time.time()), "text": text}
        if text.startswith("/"):
            message["entities"] = [{"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}]
        return {"update_id": next(self.update_ids), "message": message}

    def callback_update(self, chat_id: int, bot_message: Dict[str, Any], data: str) -> Dict[str, Any]:
        return {"update_id": next(self.update_ids), "callback_query": {
            "id": f"43829{chat_id}{next(self.message_ids)}", "from": self.user(chat_id), "message": bot_message,
            "chat_instance": "-8937712331214623041", "data": data}}

    def say(self, chat_id: int, text: str, language_code: str = "en") -> List[Dict[str, Any]]:
        """Posts a user message; the sendMessage calls it caused (the webhook answers after them)."""
        mark = self.api.mark()
        answer = self.post(self.message_update(chat_id, text, language_code))
        assert answer.status_code == 200, answer.text
        assert self.api.refused(mark) == []
        return self.api.sent_messages(mark)

    def press(self, chat_id: int, sent: Dict[str, Any], title: str) -> List[Dict[str, Any]]:
        """Presses the inline button `title` of a sent message, as Telegram reports it."""
        button = next(b for b in keyboard_of(sent) if b["text"] == title)
        call = next(c for c in reversed(self.api.calls) if c.method == "sendMessage" and c.params is sent)
        bot_message = dict(call.result, reply_markup=json.loads(sent["reply_markup"]))
        mark = self.api.mark()
        update = self.callback_update(chat_id, bot_message, button["callback_data"])
        answer = self.post(update)
        assert answer.status_code == 200, answer.text
        assert self.api.refused(mark) == []
        answered = [c.params for c in self.api.calls_since(mark, "answerCallbackQuery")]
        assert answered and answered[0]["callback_query_id"] == update["callback_query"]["id"]
        return self.api.sent_messages(mark)


@pytest.fixture(scope="module")
def telegram(tmp_path_factory):
    if not MODEL.exists():
        ensure_model()
    workdir = tmp_path_factory.mktemp("telegram")
    api = TelegramApiMock(TOKEN, USERNAME).start()
    with assistant_with_channel(workdir, api, TELEGRAM_ACCESS_TOKEN=TOKEN, TELEGRAM_VERIFY=USERNAME,
                                TELEGRAM_WEBHOOK_URL=WEBHOOK_URL, TELEGRAM_SECRET_TOKEN=SECRET,
                                TELEGRAM_API_SERVER=api.base_url) as servers:
        yield TelegramHarness(api, servers)


def texts(sent: List[Dict[str, Any]]) -> str:
    return "\n".join(parse_telegram_html(m["text"]) for m in sent)


def test_start_up_checks_the_bot_and_registers_the_webhook_with_the_secret(telegram):
    calls = [(c.method, c.ok) for c in telegram.api.calls[:2]]
    assert calls == [("getMe", True), ("setWebhook", True)]
    webhook = telegram.api.calls[1].params
    assert webhook["url"] == WEBHOOK_URL and webhook["secret_token"] == SECRET
    assert json.loads(webhook["allowed_updates"]) == ["message", "edited_message", "callback_query"]


def test_start_greets(telegram):
    sent = telegram.say(700_000_001, "/start")
    assert len(sent) == 1 and sent[0]["chat_id"] == "700000001"
    assert sent[0]["text"].startswith("Hello! I answer questions about Wallonia")


def test_start_greets_a_french_speaking_user_in_french_until_they_write_english(telegram):
    sent = telegram.say(700_000_011, "/start", language_code="fr")
    assert sent[0]["text"].startswith("Bonjour !")
    sent = telegram.say(700_000_011, "What is Skywin?", language_code="fr")
    assert "competitiveness cluster" in "\n".join(m["text"] for m in sent)


def test_answer_comes_as_html_with_an_inline_keyboard(telegram):
    sent = telegram.say(700_000_002, "Tell me about Skywin")
    assert sent and all(m["chat_id"] == "700000002" and m["parse_mode"] == "HTML" for m in sent)
    html = "\n".join(m["text"] for m in sent)
    assert "<b>Skywin</b> — " in html and "**" not in html
    assert '<a href="https://www.skywin.be">skywin.be</a>' in html  # a source of its French name
    assert "<i>Source: the page " in html
    keyboard = keyboard_of(sent[-1])
    titles = [b["text"] for b in keyboard]
    assert "Website" in titles and any(t.startswith("Clusters of") for t in titles)
    codec = CallbackCodec()
    payloads = [codec.decode(b["callback_data"]) for b in keyboard]
    assert '/ask_cluster_website{"cluster": "skywin"}' in payloads
    assert all(len(b["callback_data"].encode()) <= 64 for b in keyboard)


def test_button_press_continues_the_guided_dialogue(telegram):
    chat = 700_000_003
    assert "What does your organisation do?" in texts(telegram.say(chat, "which cluster fits me?"))
    sent = telegram.say(chat, "we design composite parts for aircraft")
    assert "What kind of organisation are you?" in texts(sent)
    assert "Company or SME" in [b["text"] for b in keyboard_of(sent[-1])]
    sent = telegram.press(chat, sent[-1], "Company or SME")
    assert "What are you looking for in a cluster?" in texts(sent)
    assert sent[-1]["chat_id"] == str(chat)
    sent = telegram.press(chat, sent[-1], "R&D partners and projects")
    answer = texts(sent)
    assert "Here is where your organisation fits best:" in answer and "Skywin" in answer
    assert "<b>Skywin</b>" in "\n".join(m["text"] for m in sent)


def test_expired_button_is_answered_without_reaching_the_bot(telegram):
    chat = 700_000_004
    sent = telegram.say(chat, "/start")
    mark = telegram.api.mark()
    bot_message = dict(telegram.api.calls_since(0, "sendMessage")[-1].result)
    answer = telegram.post(telegram.callback_update(chat, bot_message, "#AAAAAAAAAAAAAAAA"))
    assert answer.status_code == 200 and sent
    assert [c.params.get("text") for c in telegram.api.calls_since(mark)] == [EXPIRED_BUTTON]


@pytest.mark.parametrize("secret", [None, "wrong-secret", SECRET + "x", ""])
def test_update_without_the_secret_is_refused(telegram, secret):
    mark = telegram.api.mark()
    answer = telegram.post(telegram.message_update(700_000_005, "/start"), secret=secret)
    assert answer.status_code == 403
    time.sleep(1)
    assert telegram.api.calls_since(mark) == []
    # the same update with the secret goes through
    assert telegram.say(700_000_005, "/start")


def test_a_typed_payload_is_guarded_and_a_redelivered_update_handled_once(telegram):
    chat = 700_000_077
    update = telegram.message_update(chat, '/inform_goal{"language": "fr"}')
    for _ in range(2):  # Telegram delivers an update again when the answer was slow or lost
        assert telegram.post(update).status_code == 200
    received = telegram.servers.user_events(str(chat))
    assert len(received) == 1, [e["text"] for e in received]
    assert received[0]["text"] == 'inform_goal{"language": "fr"}'  # read as text, not as the payload
    assert received[0]["metadata"]["input_guard"]["payload_refused"]
    assert set(received[0]["metadata"]) <= {"language", "input_guard", "model_id", "assistant_id"}

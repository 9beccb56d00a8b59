"""The chat page (web/, served by scripts/serve_web.py) in a real headless Chromium, talking to the
real Rasa and action servers over socket.io: questions, the guided dialogue with quick replies,
history after a reload, no script from chat text, accessibility (axe-core), a phone-sized screen,
the French switch (customData language "fr"), and no request leaving localhost.

Needs Debian's `chromium` (/usr/bin/chromium), Playwright for Python (no browser download) and
`npm ci` in web/ (`make web`). Screenshots go to tests/screenshots/.
The tests run in file order and share one browser page: each step continues the conversation.
"""

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List
from urllib.parse import urlsplit

import pytest
import requests

from tests.servers import ROOT, Servers, ensure_model, environment, free_port, wait_until

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
WEBCHAT_BUNDLE = ROOT / "web" / "node_modules" / "rasa-webchat" / "lib" / "index.js"
SCREENSHOTS = ROOT / "tests" / "screenshots"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
REPLY_TIMEOUT = 60_000  # ms; the first message of a conversation may wait for the action server

import playwright.sync_api as playwright_api  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

if not CHROMIUM.exists() or not AXE.exists() or not WEBCHAT_BUNDLE.exists():
    pytest.fail(
        "the chat page test needs /usr/bin/chromium (apt-get install chromium) and web/node_modules "
        "(`make web`: npm ci in web/)", pytrace=False,
    )


class Site:
    def __init__(self, servers: Servers, web_url: str) -> None:
        self.servers = servers
        self.web_url = web_url


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Action server, Rasa server (with --cors for the page) and the page's server, on free ports."""
    ensure_model()
    workdir = tmp_path_factory.mktemp("web")
    web_port = free_port()
    web_url = f"http://127.0.0.1:{web_port}/"
    # WEB_ORIGIN: CORS and the socket.io origin, as `make run` sets them for its page
    servers = Servers(workdir, extra_env={"WEB_ORIGIN": f"http://127.0.0.1:{web_port} http://localhost:{web_port}"})
    web_log = workdir / "web.log"
    try:
        servers.start_actions()
        servers.start_rasa()
        page_server = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "serve_web.py"), "--port", str(web_port),
             "--rasa-url", servers.url],
            cwd=ROOT, env=environment(), stdout=web_log.open("ab"), stderr=subprocess.STDOUT,
        )
        servers.processes.append(page_server)
        wait_until(web_url, page_server, web_log, timeout=30)
        yield Site(servers, web_url)
    finally:
        servers.stop()


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


class Watch:
    """Everything the page did that the tests check: requests, dialogs, socket frames, errors."""

    def __init__(self) -> None:
        self.requests: List[str] = []
        self.dialogs: List[str] = []
        self.frames_sent: List[str] = []
        self.page_errors: List[str] = []

    def attach(self, page) -> None:
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("websocket", self._on_websocket)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("dialog", self._on_dialog)

    def _on_websocket(self, websocket) -> None:
        self.requests.append(websocket.url)
        websocket.on("framesent", lambda payload: self.frames_sent.append(
            payload if isinstance(payload, str) else payload.decode("utf-8", "replace")))

    def _on_dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def user_uttered(self) -> List[Dict]:
        """The `user_uttered` events the page sent, over websocket or long-polling."""
        events = []
        for frame in self.frames_sent:
            for packet in frame.split("\x1e"):  # long-polling bodies carry several packets
                if not packet.startswith("42["):
                    continue
                try:
                    name, data = json.loads(packet[2:])[:2]
                except (ValueError, TypeError):
                    continue
                if name == "user_uttered":
                    events.append(data)
        return events


@pytest.fixture(scope="module")
def watch():
    return Watch()


@pytest.fixture(scope="module")
def page(browser, site, watch):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-GB")
    page = context.new_page()
    watch.attach(page)
    page.on("request", lambda request: watch.frames_sent.append(request.post_data or "")
            if "/socket.io/" in request.url and request.method == "POST" else None)
    page.goto(site.web_url)
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    wait_until_quiet(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path))
    return path


BOT = ".rw-group-message .rw-response"  # not the typing indicator, which is a .rw-response too
USER = ".rw-group-message .rw-client"

REPLIED_TO = """text => {
    const groups = Array.from(document.querySelectorAll('.rw-group-message'));
    let asked = -1;
    groups.forEach((group, index) => {
        if (group.classList.contains('rw-from-client') && group.textContent.includes(text)) asked = index;
    });
    return asked >= 0 && groups.slice(asked + 1).some(group => group.classList.contains('rw-from-response'));
}"""


def send(page, text: str, wait: bool = True) -> None:
    """Types a message and presses Enter; then waits for the whole answer (all its parts)."""
    box = page.locator(".rw-new-message")
    box.fill(text)
    box.press("Enter")
    expect(page.locator(USER).filter(has_text=text).last).to_be_visible()
    if wait:
        wait_for_reply_to(page, text)


def wait_for_reply_to(page, text: str) -> None:
    page.wait_for_function(REPLIED_TO, arg=text, timeout=REPLY_TIMEOUT)
    wait_until_quiet(page)


def wait_until_quiet(page, quiet: float = 0.8) -> None:
    """Until no message is being typed and none has arrived for `quiet` seconds."""
    deadline = time.monotonic() + REPLY_TIMEOUT / 1000
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        state = page.evaluate("[document.querySelectorAll('.rw-group-message .rw-message').length, "
                              "!!document.querySelector('.rw-typing-indication')]")
        if state != last:
            last, since = state, time.monotonic()
        elif not state[1] and time.monotonic() - since >= quiet:
            return
        page.wait_for_timeout(100)
    raise AssertionError("the chat kept changing")


def bot_says(page, text: str):
    return page.locator(BOT).filter(has_text=text)


def replies_of_last_message(page):
    return page.locator(".rw-group-message").last.locator(".rw-reply")


# --- the page's server ---------------------------------------------------------------------------

def test_server_sends_security_headers_and_only_the_page_files(site):
    answer = requests.get(site.web_url, timeout=10)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/html")
    policy = answer.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    rasa = site.servers.url
    assert f"connect-src 'self' {rasa} {rasa.replace('http:', 'ws:')}" in policy
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    config = requests.get(site.web_url + "config.js", timeout=10)
    assert json.dumps(rasa) in config.text
    bundle = requests.get(site.web_url + "dist/webchat.js", timeout=10)
    assert bundle.status_code == 200 and "fonts.googleapis.com" not in bundle.text
    for path in ("package.json", "node_modules/axe-core/axe.min.js", "dist/", "../README.md", "web/index.html"):
        assert requests.get(site.web_url + path, timeout=10).status_code == 404, path


def test_rasa_url_cannot_widen_the_policy():
    from scripts import serve_web

    assert serve_web.rasa_origin("http://localhost:5005/") == "http://localhost:5005"
    assert "wss://bot.example:443" in serve_web.content_security_policy(serve_web.rasa_origin("https://bot.example:443"))
    for bad in ("javascript:alert(1)", "http://a:1;script-src *", "http://a:1 https://b", "http://a/path", "ftp://a", ""):
        with pytest.raises(ValueError):
            serve_web.rasa_origin(bad)


# --- the page in the browser ---------------------------------------------------------------------

def test_page_shows_introduction_privacy_notice_and_open_chat(page):
    assert page.locator("html").get_attribute("lang") == "en"
    expect(page.locator("h1")).to_have_text("Wallonia clusters assistant")
    intro = page.locator(".intro").inner_text()
    assert "business clusters and competitiveness clusters" in intro
    assert "90 days" in intro and "forget me" in intro and "database" in intro
    expect(page.locator(".rw-new-message")).to_be_visible()
    expect(page.locator(".rw-new-message")).to_have_attribute("aria-label", "Your message")
    expect(page.locator(BOT).first).to_be_visible(timeout=REPLY_TIMEOUT)  # the greeting
    wait_until_quiet(page)


def test_answers_a_question_about_a_cluster_with_a_clickable_link(page):
    send(page, "What is Skywin?")
    expect(bot_says(page, "Skywin").first).to_be_visible()
    link = page.locator(BOT + " a[href^='https://www.skywin']").first  # a source of its French name
    expect(link).to_be_visible()
    assert link.get_attribute("target") == "_blank" and link.get_attribute("rel") == "noopener noreferrer"
    # The website's source is a link named as a person reads it, not Markdown left as text.
    source_line = bot_says(page, "as of November 2026").last
    expect(source_line.locator("a", has_text=re.compile(r"^skywin\.be$"))).to_have_attribute("href", "https://www.skywin.be")
    assert "](" not in source_line.inner_text()
    expect(replies_of_last_message(page).first).to_be_visible()  # buttons as quick replies
    screenshot(page, "answer.png")


def test_guided_dialogue_with_text_then_quick_replies(page):
    send(page, "which cluster fits me?")
    expect(bot_says(page, "What does your organisation do?")).to_be_visible()
    send(page, "we design composite parts for aircraft")
    organisation = replies_of_last_message(page)
    expect(organisation.first).to_be_visible()
    assert organisation.count() >= 2
    first_title = organisation.first.inner_text()
    organisation.first.click()  # with the mouse
    wait_for_reply_to(page, first_title)

    goal = replies_of_last_message(page)
    expect(goal.first).to_be_visible()
    goal_title = goal.first.inner_text()
    assert goal_title != first_title
    goal.first.focus()  # with the keyboard: quick replies are focusable buttons
    assert page.evaluate("document.activeElement.getAttribute('role')") == "button"
    page.keyboard.press("Enter")
    wait_for_reply_to(page, goal_title)
    expect(bot_says(page, "Here is where your organisation fits best")).to_be_visible()
    expect(bot_says(page, "Skywin").last).to_be_visible()
    page.locator(".rw-messages-container").evaluate("element => element.scrollTop = element.scrollHeight")
    screenshot(page, "recommendation.png")


def test_conversation_survives_a_reload(page):
    page.reload()
    expect(page.locator(USER).filter(has_text="What is Skywin?")).to_be_visible(timeout=REPLY_TIMEOUT)
    expect(bot_says(page, "Here is where your organisation fits best")).to_be_visible()
    expect(page.locator(USER).filter(has_text="we design composite parts for aircraft")).to_have_count(1)
    send(page, "What is MecaTech?")  # and it goes on
    expect(bot_says(page, "MecaTech").first).to_be_visible()


def test_chat_text_never_runs_script(page, watch):
    attempts = [
        "<img src=x onerror=alert(1)>",
        "<img src=y onerror=\"window.__pwned='img'\">",
        "[x](javascript:alert(1))",
        "[y](javascript:window.__pwned='link')",
        "<script>window.__pwned='script'</script>",
    ]
    for text in attempts:
        send(page, text)
    expect(page.locator(USER).filter(has_text="<img src=x onerror=alert(1)>")).to_have_count(1)  # as text

    # A javascript: link appearing in a message (as the widget's markdown renders the assistant's
    # `[x](javascript:…)`) loses its href at once; clicking what is left runs nothing.
    page.evaluate("""() => {
        const bubble = document.querySelector('.rw-response .rw-markdown') || document.querySelector('.rw-response');
        const link = document.createElement('a');
        link.id = 'injected-link';
        link.textContent = 'injected';
        link.setAttribute('href', 'JavaScript:window.__pwned="injected"');
        bubble.appendChild(link);
    }""")
    page.wait_for_function("!document.getElementById('injected-link').hasAttribute('href')", timeout=5000)
    page.locator("#injected-link").click()
    page.wait_for_timeout(500)

    assert watch.dialogs == []
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#webchat img[src='x'], #webchat img[src='y'], #webchat script").count() == 0
    unsafe = page.evaluate("""() => Array.from(document.querySelectorAll('[href], [src]'))
        .map(element => element.getAttribute('href') || element.getAttribute('src'))
        .filter(value => /^\\s*(javascript|vbscript|data:text\\/html)/i.test(value))""")
    assert unsafe == []
    assert not any(urlsplit(url).path in ("/x", "/y") for url in watch.requests)
    assert watch.page_errors == []


def test_markdown_link_from_the_assistant_cannot_run_script(browser, site, watch):
    """rasa-webchat renders the assistant's markdown with link sanitising off: a bot message with
    `[x](javascript:…)` becomes an <a href="javascript:…">. Here such a message is slipped into the
    socket (as if the assistant had echoed the user's text) and the page must strip the href."""
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    watch.attach(page)
    upgraded = []

    def route(websocket):
        server = websocket.connect_to_server()

        def from_page(message):
            if isinstance(message, str) and "user_uttered" in message and "inject-markdown" in message:
                websocket.send('42["bot_uttered",{"text":"Before [x](javascript:window.__pwned=\'bot\') '
                               '[y](JaVaScRiPt:alert(1)) [z](data:text/html,<script>alert(1)</script>) '
                               'after [safe](https://example.org/)"}]')
                return
            if message == "5":
                upgraded.append(True)
            server.send(message)

        websocket.on_message(from_page)
        server.on_message(lambda message: websocket.send(message))

    page.route_web_socket(re.compile(r".*/socket\.io/.*"), route)
    try:
        page.goto(site.web_url)
        expect(page.locator(BOT).first).to_be_visible(timeout=REPLY_TIMEOUT)
        deadline = time.monotonic() + 20
        while not upgraded and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        assert upgraded, "socket.io never upgraded to websocket"
        send(page, "inject-markdown", wait=False)
        message = bot_says(page, "Before")
        expect(message).to_be_visible(timeout=10_000)
        page.wait_for_timeout(300)
        anchors = message.locator("a")
        expect(anchors).to_have_count(4)
        assert [anchors.nth(i).get_attribute("href") for i in range(4)] == [None, None, None, "https://example.org/"]
        assert message.locator("a[data-unsafe-link='removed']").count() == 3  # the widget made them links
        message.locator("a").first.click()
        page.wait_for_timeout(300)
        assert page.evaluate("window.__pwned") is None
        assert watch.dialogs == []
    finally:
        context.close()


def test_accessibility_no_serious_or_critical_violation(page):
    send(page, "What is Skywin?")  # so that links and quick replies are on the page
    expect(replies_of_last_message(page).first).to_be_visible()
    violations = run_axe(page)
    assert violations == [], "\n".join(violations)


def run_axe(page) -> List[str]:
    page.evaluate(AXE.read_text(encoding="utf-8"))  # evaluated by the test, not loaded by the page
    result = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ['violations']});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
    }""")
    return [f"{v['impact']}: {v['id']} ({v['help']}): {v['nodes']}"
            for v in result if v["impact"] in ("serious", "critical")]


def test_phone_sized_screen(browser, site, watch):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  device_scale_factor=2, locale="en-GB")
    phone = context.new_page()
    watch.attach(phone)
    try:
        phone.goto(site.web_url)
        box = phone.locator(".rw-new-message")
        expect(box).to_be_visible()
        expect(phone.locator(BOT).first).to_be_visible(timeout=REPLY_TIMEOUT)
        wait_until_quiet(phone)
        # Keyboard alone: the first Tab reaches the skip link, which leads into the chat.
        phone.keyboard.press("Tab")
        assert phone.evaluate("document.activeElement.className") == "skip-link"
        phone.keyboard.press("Enter")
        assert phone.evaluate("document.activeElement.id") == "chat"
        phone.keyboard.press("Tab")
        assert phone.evaluate("!!document.activeElement.closest('#webchat')")
        box.focus()
        phone.keyboard.type("What is Skywin?")
        phone.keyboard.press("Enter")
        wait_for_reply_to(phone, "What is Skywin?")
        expect(bot_says(phone, "Skywin").first).to_be_visible()
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        bounds = box.bounding_box()
        assert bounds["x"] >= 0 and bounds["x"] + bounds["width"] <= 390 and bounds["y"] + bounds["height"] <= 844
        assert run_axe(phone) == []
        screenshot(phone, "phone.png")
    finally:
        context.close()


def test_french_switch_sends_language_fr(page, watch):
    page.locator("button[data-language='fr']").click()
    assert page.locator("html").get_attribute("lang") == "fr"
    expect(page.locator("button[data-language='fr']")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("h1")).to_have_text("Assistant des clusters de Wallonie")
    assert "oubliez-moi" in page.locator(".privacy").inner_text()
    expect(page.locator(".rw-new-message")).to_have_attribute("placeholder", "Tapez votre question…")
    assert "lang=fr" in page.url

    sent_before = len(watch.user_uttered())
    send(page, "Bonjour")
    sent = [event for event in watch.user_uttered()[sent_before:] if event.get("message") == "Bonjour"]
    assert sent, f"no user_uttered frame for 'Bonjour' among {watch.user_uttered()[sent_before:]}"
    assert sent[-1]["customData"] == {"language": "fr"}
    assert sent[-1].get("session_id")
    assert all(event["customData"].get("language") == "en" for event in watch.user_uttered()[:sent_before])
    assert run_axe(page) == []
    screenshot(page, "french.png")

    # The choice is remembered across a reload.
    page.reload()
    assert page.locator("html").get_attribute("lang") == "fr"
    page.locator("button[data-language='en']").click()
    assert page.locator("html").get_attribute("lang") == "en"


def test_a_french_speaking_browser_is_greeted_in_french(browser, site, watch):
    context = browser.new_context(locale="fr-BE")
    french = context.new_page()
    watch.attach(french)
    try:
        french.goto(site.web_url)
        assert french.locator("html").get_attribute("lang") == "fr"
        expect(french.locator(BOT).first).to_contain_text("Bonjour", timeout=REPLY_TIMEOUT)
        wait_until_quiet(french)
    finally:
        context.close()


def test_forget_me_clears_the_browser_and_starts_a_new_session(page, site):
    """After a yes to "Delete this conversation?", the browser keeps nothing of it: the widget's
    transcript and session id (localStorage) and sessionStorage are cleared, and a new session starts."""
    send(page, "What is Skywin?")
    stored = page.evaluate("() => JSON.parse(localStorage.getItem('chat_session'))")
    old_session = stored["session_id"]
    assert old_session and "What is Skywin?" in json.dumps(stored)
    assert site.servers.rows(old_session)
    page.evaluate("() => sessionStorage.setItem('kept-by-the-page', 'What is Skywin?')")

    send(page, "forget me")
    expect(bot_says(page, "Delete this conversation")).to_be_visible()
    assert site.servers.rows(old_session)  # nothing deleted before the yes
    with page.expect_navigation(timeout=REPLY_TIMEOUT):
        replies_of_last_message(page).filter(has_text="Yes, delete it").click()
    expect(page.locator("#chat-forgotten")).to_be_visible()
    expect(page.locator("#chat-forgotten")).to_have_text(re.compile("Your conversation was deleted"))
    assert "forgotten" not in page.url
    expect(page.locator(BOT).first).to_be_visible(timeout=REPLY_TIMEOUT)  # the new session's greeting
    wait_until_quiet(page)

    assert page.evaluate("() => sessionStorage.length") == 0
    kept = page.evaluate("() => JSON.stringify(Object.assign({}, localStorage))")
    assert old_session not in kept and "Skywin" not in kept and "forget me" not in kept
    assert page.evaluate("() => localStorage.getItem('wallonia-chat-language')") == "en"  # a choice, not the talk
    new_session = page.evaluate("() => JSON.parse(localStorage.getItem('chat_session')).session_id")
    assert new_session and new_session != old_session
    assert site.servers.rows(old_session) == []
    expect(page.locator(USER).filter(has_text="What is Skywin?")).to_have_count(0)
    send(page, "What is BioWin?")  # the new conversation goes on
    expect(bot_says(page, "BioWin").first).to_be_visible()


def test_every_request_stays_on_localhost(page, watch):
    assert watch.requests, "no request recorded"
    outside = [url for url in watch.requests
               if not url.startswith("data:") and urlsplit(url).hostname not in LOCAL_HOSTS]
    assert outside == []
    assert any("/socket.io/" in url for url in watch.requests)

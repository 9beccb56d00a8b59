"""Screenshots of a recommendation and its next step, in English and French, from the real chat
page in headless Chromium (Debian's chromium, driven as tests/test_web_page.py drives it), talking
to the real servers: docs/screenshots/recommendation-{en,fr}.png and next-step-{en,fr}.png.

    PYTHONPATH=. .venv/bin/python scripts/take_screenshots.py
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import playwright.sync_api as playwright_api

from tests.servers import ROOT, Servers, ensure_model, environment, free_port, wait_until
from tests.test_web_page import CHROMIUM, send, wait_until_quiet

OUT = ROOT / "docs" / "screenshots"
LOCALES = {"en": "en-GB", "fr": "fr-BE"}
# (language, a request that describes an activity, its next step)
CONVERSATIONS = [
    ("en", "We make laser systems for industrial cutting, which cluster should we join?", "How do we become a member?"),
    ("fr", "Nous fabriquons des systèmes laser pour la découpe industrielle, quel cluster nous convient ?",
     "Comment devenir membre ?"),
]


def main() -> None:
    ensure_model()
    workdir = Path(tempfile.mkdtemp())
    web_port = free_port()
    web_url = f"http://127.0.0.1:{web_port}/"
    servers = Servers(workdir, extra_env={"WEB_ORIGIN": f"http://127.0.0.1:{web_port} http://localhost:{web_port}"})
    try:
        servers.start_actions()
        servers.start_rasa()
        page_server = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "serve_web.py"), "--port", str(web_port), "--rasa-url", servers.url],
            cwd=ROOT, env=environment(), stdout=(workdir / "web.log").open("ab"), stderr=subprocess.STDOUT)
        servers.processes.append(page_server)
        wait_until(web_url, page_server, workdir / "web.log", timeout=30)
        with playwright_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                 args=["--headless", "--no-sandbox", "--disable-gpu"])
            for language, request, next_step in CONVERSATIONS:
                # a browser in that language, as a user who opens the page: greeted in it
                context = browser.new_context(viewport={"width": 1000, "height": 1300}, locale=LOCALES[language])
                page = context.new_page()
                page.goto(web_url)
                wait_until_quiet(page)
                send(page, request)
                page.screenshot(path=str(OUT / f"recommendation-{language}.png"))
                send(page, next_step)
                page.screenshot(path=str(OUT / f"next-step-{language}.png"))
                context.close()
            browser.close()
    finally:
        servers.stop()


if __name__ == "__main__":
    main()

"""The user's words quoted in a reply ("I don't know a cluster called “…”") cannot carry Markdown:
no link, image or emphasis in any renderer — a CommonMark-style one (Python-Markdown, as the
widget's), Telegram's HTML, Slack's mrkdwn — and they read as typed. `actions.render.user_text`."""

import html
import re

import markdown
import pytest

from actions import render
from channels.formatting import to_slack_mrkdwn, to_telegram_html

HOSTILE_NAMES = [
    "[Aerowin [see] here](javascript:alert(1))",  # nested brackets: past the guard's link filter
    "[x](jav&#x61;script:alert(1))",
    "![x](https://evil.example/pixel.png)",
    "[x](vbscript:msgbox(1))",
    "**Zorglub** _win_ `code`",
    "Zorglub\\](javascript:alert(1))",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("closest", [["skywin"], []])
def test_an_unknown_cluster_name_is_quoted_as_text(knowledge, name, language, closest):
    text = render.unknown_cluster(knowledge, name, closest, language).text.split("\n")[0]  # the sentence that quotes
    page = markdown.markdown(text)
    assert not re.search(r"<(a|img|em|strong|code)\b", page), page
    assert html.unescape(name) in shown_text(page)  # as typed (a browser decodes &#x61; in text too)
    telegram = to_telegram_html(text)
    assert not re.search(r"<(b|i|code)>", telegram) and name in shown_text(telegram)
    # bare https addresses are linked by every app anyway; nothing else may become a link
    assert not re.search(r'href="(?!https://)', telegram), telegram
    assert not re.search(r"<(?!https://)[^>]*>", to_slack_mrkdwn(text)), to_slack_mrkdwn(text)


def shown_text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page))


"""The bot's light Markdown, rendered for messaging apps, and long texts cut to their limits.

The actions write `**bold**`, `_italic_`, bare URLs (and could write `[text](url)` or
`` `code` ``), and quote the user's words with their Markdown characters backslash-escapes
(`actions.render.user_text`), which stand for the characters themselves. `parse_inline` reads that into a small tree that is always well nested (a marker
without its partner stays literal text), so each renderer only walks the tree:

- `to_telegram_html`: Telegram's HTML parse mode (`<b>`, `<i>`, `<code>`, `<a href>`), with
  `<`, `>`, `&` escaped in the text and `"` too in link addresses;
- `to_slack_mrkdwn`: Slack's mrkdwn (`*bold*`, `_italic_`, `<url|text>`), with `&`, `<`, `>`
  escaped.

`split_message` cuts a text into rendered chunks no longer than a limit, at paragraph
boundaries first, then lines, then words, then (a single overlong word) characters.
"""

import html
import re
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Tuple, Union

# --- the tree --------------------------------------------------------------------------------


@dataclass
class Text:
    text: str


@dataclass
class Code:
    text: str


@dataclass
class Link:
    url: str
    label: str


@dataclass
class Span:
    kind: str  # "bold" or "italic"
    children: List["Node"] = field(default_factory=list)


Node = Union[Text, Code, Link, Span]

# --- parsing ---------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"(?P<escaped>\\[\\`*_\[\]()!])"  # render.user_text's escapes: the character itself
    r"|(?P<link>\[(?P<label>[^\[\]\n]+)\]\((?P<target>https?://[^\s()]+(?:\([^\s()]*\)[^\s()]*)*)\))"
    r"|(?P<url>https?://[^\s<>\"\\]+)"
    r"|(?P<code>`[^`\n]+`)"
    r"|(?P<delim>\*\*|__|\*|_)"
)
# Characters that end a sentence rather than a bare URL ("see https://x.be." → "https://x.be").
_URL_TRAILING = ".,;:!?'\"*_»”’>"
_MARKER_KIND = {"**": "bold", "__": "bold", "*": "italic", "_": "italic"}


def _trim_url(url: str) -> str:
    while url:
        if url[-1] in _URL_TRAILING:
            url = url[:-1]
        elif url[-1] == ")" and url.count("(") < url.count(")"):
            url = url[:-1]
        elif url[-1] == "]" and url.count("[") < url.count("]"):
            url = url[:-1]
        else:
            break
    return url


def _flanking(text: str, start: int, end: int, marker: str) -> Tuple[bool, bool]:
    """Whether the marker at text[start:end] can open and can close an emphasis."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    can_open = not after.isspace()
    can_close = not before.isspace()
    if marker.startswith("_"):  # no emphasis inside words: snake_case, file_name_v2
        can_open = can_open and not before.isalnum()
        can_close = can_close and not after.isalnum()
    return can_open, can_close


@dataclass
class _Frame:
    marker: str
    children: List[Node] = field(default_factory=list)


def _append_text(children: List[Node], text: str) -> None:
    if not text:
        return
    if children and isinstance(children[-1], Text):
        children[-1] = Text(children[-1].text + text)
    else:
        children.append(Text(text))


def _extend(children: List[Node], nodes: List[Node]) -> None:
    for node in nodes:
        if isinstance(node, Text):
            _append_text(children, node.text)
        else:
            children.append(node)


def parse_inline(text: str) -> List[Node]:
    """The text as a list of nodes; unmatched or crossing markers stay as literal text."""
    root = _Frame("")
    stack = [root]
    position = 0

    def unwind_to(depth: int) -> None:
        """Closes the frames above `depth` as literal text (their markers were never matched)."""
        while len(stack) > depth:
            frame = stack.pop()
            parent = stack[-1].children
            _append_text(parent, frame.marker)
            _extend(parent, frame.children)

    for match in _TOKEN.finditer(text):
        if match.start() < position:
            continue
        _append_text(stack[-1].children, text[position:match.start()])
        position = match.end()
        if match.group("escaped"):
            _append_text(stack[-1].children, match.group("escaped")[1])
        elif match.group("link"):
            stack[-1].children.append(Link(match.group("target"), match.group("label")))
        elif match.group("url"):
            url = _trim_url(match.group("url"))
            position = match.start() + len(url)
            stack[-1].children.append(Link(url, url))
        elif match.group("code"):
            stack[-1].children.append(Code(match.group("code")[1:-1]))
        else:
            marker = match.group("delim")
            can_open, can_close = _flanking(text, match.start(), match.end(), marker)
            depth = next((i for i in range(len(stack) - 1, 0, -1) if stack[i].marker == marker), None)
            if can_close and depth is not None and stack[depth].children:
                unwind_to(depth + 1)
                frame = stack.pop()
                stack[-1].children.append(Span(_MARKER_KIND[marker], frame.children))
            elif can_open:
                stack.append(_Frame(marker))
            else:
                _append_text(stack[-1].children, marker)
    _append_text(stack[-1].children, text[position:])
    unwind_to(1)
    return root.children


# --- rendering -------------------------------------------------------------------------------


def _escape_html(text: str) -> str:
    return html.escape(text, quote=False)


def _telegram(nodes: List[Node]) -> str:
    out = []
    for node in nodes:
        if isinstance(node, Text):
            out.append(_escape_html(node.text))
        elif isinstance(node, Code):
            out.append(f"<code>{_escape_html(node.text)}</code>")
        elif isinstance(node, Link):
            out.append(f'<a href="{html.escape(node.url, quote=True)}">{_escape_html(node.label)}</a>')
        else:
            tag = "b" if node.kind == "bold" else "i"
            out.append(f"<{tag}>{_telegram(node.children)}</{tag}>")
    return "".join(out)


def to_telegram_html(markdown: str) -> str:
    """The text for Telegram's `parse_mode=HTML`."""
    return _telegram(parse_inline(markdown))


def _escape_slack(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack(nodes: List[Node]) -> str:
    out = []
    for node in nodes:
        if isinstance(node, Text):
            out.append(_escape_slack(node.text))
        elif isinstance(node, Code):
            out.append(f"`{_escape_slack(node.text)}`")
        elif isinstance(node, Link):
            url = _escape_slack(node.url).replace("|", "%7C")
            if node.label == node.url:
                out.append(f"<{url}>")
            else:
                out.append(f"<{url}|{_escape_slack(node.label).replace('|', '/')}>")
        else:
            mark = "*" if node.kind == "bold" else "_"
            out.append(f"{mark}{_slack(node.children)}{mark}")
    return "".join(out)


def to_slack_mrkdwn(markdown: str) -> str:
    """The text for a Slack message or a `mrkdwn` text object."""
    return _slack(parse_inline(markdown))


def plain_text(markdown: str) -> str:
    """The text without markup (links as their label), e.g. for notifications."""

    def walk(nodes: List[Node]) -> str:
        return "".join(
            node.text if isinstance(node, (Text, Code)) else node.label if isinstance(node, Link) else walk(node.children)
            for node in nodes
        )

    return walk(parse_inline(markdown))


# --- splitting -------------------------------------------------------------------------------


def utf16_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: an emoji may count 2)."""
    return len(text.encode("utf-16-le")) // 2


_Piece = Tuple[Optional[str], str]  # (separator joining it to the previous piece, rendered text)


def _pieces_of(text: str, limit: int, render: Callable[[str], str], measure: Callable[[str], int],
               separators: Tuple[str, ...]) -> List[_Piece]:
    """The text rendered in pieces within the limit, each with the separator that precedes it
    (None for the first)."""
    rendered = render(text)
    if measure(rendered) <= limit:
        return [(None, rendered)]
    if not separators:
        return _characters(text, limit, render, measure)
    separator, finer = separators[0], separators[1:]
    if separator == " ":
        return _word_groups(text.split(" "), limit, render, measure)
    parts = re.split(r"\n[ \t]*\n", text) if separator == "\n\n" else text.split(separator)
    parts = [part for part in parts if part.strip()]
    if len(parts) < 2:
        return _pieces_of(text, limit, render, measure, finer)
    pieces: List[_Piece] = []
    for part in parts:
        sub = _pieces_of(part, limit, render, measure, finer)
        pieces.append((separator if pieces else None, sub[0][1]))
        pieces.extend(sub[1:])
    return pieces


def _characters(word: str, limit: int, render: Callable[[str], str], measure: Callable[[str], int]) -> List[_Piece]:
    pieces: List[_Piece] = []
    start = 0
    while start < len(word):
        low, high = start + 1, len(word)  # the longest word[start:end] that fits (at least 1)
        while low < high:
            middle = (low + high + 1) // 2
            if measure(render(word[start:middle])) <= limit:
                low = middle
            else:
                high = middle - 1
        pieces.append(("" if pieces else None, render(word[start:low])))
        start = low
    return pieces


def _word_groups(words: List[str], limit: int, render: Callable[[str], str],
                 measure: Callable[[str], int]) -> List[_Piece]:
    groups: List[_Piece] = []
    current: List[str] = []

    def flush() -> None:
        if current:
            groups.append((" " if groups else None, render(" ".join(current))))
            current.clear()

    for word in words:
        if current and measure(render(" ".join(current + [word]))) > limit:
            flush()
        if not current and measure(render(word)) > limit:
            for i, (_, piece) in enumerate(_characters(word, limit, render, measure)):
                groups.append(((" " if i == 0 else "") if groups else None, piece))
            continue
        current.append(word)
    flush()
    return groups


def split_message(markdown: str, limit: int, render: Callable[[str], str] = lambda s: s,
                  measure: Callable[[str], int] = len) -> List[str]:
    """The text rendered and cut into as few chunks as possible, each `measure(chunk) <= limit`.

    Whole paragraphs are kept together when they fit; a paragraph too long for one chunk is cut
    between lines, a line between words, a word between characters.
    """
    text = markdown.strip()
    if not text:
        return []
    chunks: List[str] = []
    current: Optional[str] = None
    for separator, piece in _pieces_of(text, limit, render, measure, ("\n\n", "\n", " ")):
        if current is not None and measure(current + (separator or "") + piece) <= limit:
            current = current + (separator or "") + piece
            continue
        if current is not None:
            chunks.append(current)
        current = piece
    if current is not None:
        chunks.append(current)
    return chunks

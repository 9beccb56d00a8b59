"""Builds web/dist/ from web/node_modules/: the rasa-webchat bundle with its third-party font import removed.

Usage: .venv/bin/python scripts/build_web.py   (after `npm ci` in web/; `make web` does both)

The rasa-webchat 1.0.1 bundle (lib/index.js, a self-contained UMD build exposing
`window.WebChat.default(props, element)`) injects CSS that starts with
`@import url(https://fonts.googleapis.com/...)`. The page must load nothing from a third-party host,
so every such `@import` is cut out here; the page's own style.css supplies the fonts (system fonts).
The build fails if any reference to a remote stylesheet or font host is left.
"""

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
BUNDLE = WEB / "node_modules" / "rasa-webchat" / "lib" / "index.js"
DIST = WEB / "dist"
OUTPUT = DIST / "webchat.js"

# `@import url(https://…);` and `@import "https://…";` inside the CSS strings of the bundle.
REMOTE_IMPORT = re.compile(r"""@import\s+(?:url\(\s*)?["']?https?://[^)"';]*["']?\s*\)?\s*;?""")
FORBIDDEN = ("fonts.googleapis.com", "fonts.gstatic.com")
LICENSE_NOTE = (
    "/* rasa-webchat 1.0.1 (Apache-2.0, https://github.com/botfront/rasa-webchat), "
    "built by scripts/build_web.py: remote @import removed. */\n"
)


def strip_remote_imports(source: str) -> "tuple[str, int]":
    stripped, count = REMOTE_IMPORT.subn("", source)
    left = [host for host in FORBIDDEN if host in stripped]
    if left:
        raise ValueError(f"still references {', '.join(left)} after stripping")
    return stripped, count


def build(bundle: Path = BUNDLE, output: Path = OUTPUT) -> Path:
    if not bundle.is_file():
        raise FileNotFoundError(f"{bundle} is missing: run `npm ci --ignore-scripts` in web/ (or `make web`)")
    stripped, count = strip_remote_imports(bundle.read_text(encoding="utf-8"))
    if count == 0:
        raise ValueError(f"{bundle}: no remote @import found — not the expected rasa-webchat 1.0.1 bundle?")
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_suffix(".tmp")
    temporary.write_text(LICENSE_NOTE + stripped, encoding="utf-8")
    temporary.replace(output)
    return output


def is_stale(bundle: Path = BUNDLE, output: Path = OUTPUT) -> bool:
    sources = [bundle, Path(__file__)]
    return not output.is_file() or any(s.stat().st_mtime > output.stat().st_mtime for s in sources if s.exists())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    try:
        output = build()
    except (OSError, ValueError) as error:
        print(f"build_web: {error}", file=sys.stderr)
        return 1
    print(f"build_web: wrote {output.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

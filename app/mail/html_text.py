"""Readable text from an HTML email body (for HTML-only buyer messages).

Paragraphs and blocks become lines separated by a blank line, ``<br>`` a line break,
list items ``- item``, a link its text followed by its address in brackets when the
two differ; scripts, styles and the head are left out.  The standard library's
``html.parser`` is enough for mail bodies (no dependency; it never raises on bad HTML).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["html_to_text"]

_BLOCKS = frozenset(
    {
        "address",
        "article",
        "blockquote",
        "center",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "ul",
    }
)
_SKIPPED = frozenset({"script", "style", "head", "title", "template", "noscript"})
_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0]+")
_BLANK_RUNS = re.compile(r"\n{3,}")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0  # depth inside script/style/head
        self.pre = 0
        self.links: list[tuple[str | None, int]] = []  # href, where its text starts
        self.newlines = 0  # newlines at the end of the output so far

    def _emit(self, text: str) -> None:
        self.out.append(text)
        stripped = text.rstrip("\n")
        if stripped.strip(" "):
            self.newlines = len(text) - len(stripped)
        else:
            self.newlines += len(text) - len(stripped)

    def _break(self, lines: int) -> None:
        """End the current line (1) or paragraph (2), unless it has ended already."""
        if self.out and self.newlines < lines:
            self._emit("\n" * (lines - self.newlines))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skip += 1
        elif self.skip:
            return
        elif tag == "br":
            self._emit("\n")
        elif tag == "li":
            self._break(1)
            self._emit("- ")
        elif tag in ("td", "th"):
            if self.out and not self.newlines and not self.out[-1].endswith(" "):
                self._emit(" ")
        elif tag == "a":
            self.links.append((dict(attrs).get("href"), len(self.out)))
        elif tag in _BLOCKS:
            if tag == "pre":
                self.pre += 1
            self._break(2)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _SKIPPED:  # <br/>, <hr/>, <p/>
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skip = max(0, self.skip - 1)
        elif self.skip:
            return
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            shown = "".join(self.out[start:]).strip()
            if href and not href.startswith(("#", "mailto:", "javascript:")) and href != shown:
                self._emit(f" ({href})" if shown else href)
        elif tag == "li":
            self._break(1)
        elif tag in _BLOCKS:
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
            self._break(2)

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if not self.pre:
            data = _SPACES.sub(" ", data)
            tail = self.out[-1] if self.out else "\n"
            if tail.endswith((" ", "\n")):
                data = data.lstrip(" ")
        if data:
            self._emit(data)


def html_to_text(html: str) -> str:
    """The readable text of ``html`` (never raises; unclosed tags are fine)."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    text = "".join(parser.out)
    lines = [line.rstrip(" ") for line in text.split("\n")]  # <pre> keeps its indent
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n")

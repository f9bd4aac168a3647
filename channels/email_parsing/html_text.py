"""HTML bodies as readable plain text (stdlib parser; scripts and styles dropped)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Block elements end a line; "paragraph" elements also leave a blank line around them.
_PARAGRAPH_TAGS = frozenset(
    {"p", "table", "ul", "ol", "dl", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "hr"}
)
_LINE_TAGS = frozenset(
    {
        "div", "li", "tr", "dt", "dd", "section", "article", "header", "footer", "address",
        "form", "fieldset", "center", "main", "nav", "aside", "figure", "caption", "body",
    }
)  # fmt: skip
_SKIP_TAGS = frozenset({"script", "style", "title", "template", "noscript", "svg"})
_CELL_TAGS = frozenset({"td", "th"})


class _TextExtractor(HTMLParser):
    """Collects readable text: drops scripts/styles, turns block elements into line breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0
        self._pre_depth = 0

    def _ensure_newlines(self, count: int) -> None:
        """End the output with at least ``count`` newlines, so nested blocks don't stack up."""
        tail = "".join(self.parts[-8:]).rstrip(" \t")
        if not tail:
            return  # nothing written yet: no leading blank lines
        existing = len(tail) - len(tail.rstrip("\n"))
        if existing < count:
            self.parts.append("\n" * (count - existing))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self._skip_depth = 0  # an unclosed <title>/<style> in <head> must not eat the body
        if tag in _SKIP_TAGS:
            self._skip_depth += 1
        elif self._skip_depth:
            return
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _PARAGRAPH_TAGS:
            self._ensure_newlines(2)
            if tag == "pre":
                self._pre_depth += 1
        elif tag in _LINE_TAGS:
            self._ensure_newlines(1)
            if tag == "li":
                self.parts.append("- ")
        elif tag in _CELL_TAGS:
            self.parts.append(" ")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.parts.append(f"[{alt}]")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            return  # <script/> has no content to skip
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif self._skip_depth:
            return
        elif tag in _PARAGRAPH_TAGS:
            self._ensure_newlines(2)
            if tag == "pre":
                self._pre_depth = max(0, self._pre_depth - 1)
        elif tag in _LINE_TAGS:
            self._ensure_newlines(1)

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        if self._pre_depth:
            self.parts.append(data)
        else:
            self.parts.append(re.sub(r"[ \t\r\n\f\v]+", " ", data))


_LEFTOVER_TAG = re.compile(r"<[A-Za-z/!?][^<>]*(?:>|$)")


def html_to_text(html: str) -> str:
    """Convert HTML to readable plain text with the stdlib parser, never returning raw tags.

    Agents read complaints as text, and HTML-only mail (common from webmail and phones)
    would otherwise show markup or, worse, scripts.
    """
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
        text = "".join(extractor.parts)
    except Exception:  # fall back to crude tag stripping rather than fail
        text = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", " ", html)
        text = re.sub(r"(?i)<br\s*/?>|</?(p|div|li|tr)\b[^>]*>", "\n", text)
    # Tags that a lenient parser passed through as data (e.g. a truncated "<div").
    text = _LEFTOVER_TAG.sub("", text)
    text = text.replace("\xa0", " ")
    lines = [line.strip() for line in text.split("\n")]
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()

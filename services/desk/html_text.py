"""HTML email as readable text: paragraphs, line breaks, quotes and links kept."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_WHITESPACE = re.compile(r"\s+")

_BLOCKS = {
    "address", "article", "aside", "dd", "div", "dl", "dt", "figure", "footer", "form",
    "header", "li", "main", "nav", "ol", "section", "table", "tr", "ul",
}  # fmt: skip
_PARAGRAPHS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "hr"}
_DROPPED = {"script", "style", "head", "title", "template", "noscript", "xml"}


class _TextExtractor(HTMLParser):
    """Collect the readable text of an HTML document, block by block."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[int, str]] = []  # (blockquote depth, text)
        self.current: list[str] = []
        self.depth = 0
        self.dropped = 0
        self.pre = 0
        self.links: list[tuple[str, int]] = []  # (href, length of the text before the link)

    def flush(self) -> None:
        text = "".join(self.current).strip(" ")
        self.current = []
        if text:
            self.lines.append((self.depth, text))

    def blank(self) -> None:
        self.flush()
        if self.lines and self.lines[-1][1] != "":
            self.lines.append((self.depth, ""))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED:
            self.dropped += 1
        elif tag == "br":
            self.flush()
        elif tag == "blockquote":
            self.blank()
            self.depth += 1
        elif tag in _PARAGRAPHS:
            self.blank()
            if tag == "pre":
                self.pre += 1
            if tag == "hr":
                self.current.append("---")
                self.blank()
        elif tag in _BLOCKS:
            self.flush()
            if tag == "li":
                self.current.append("- ")
        elif tag in ("td", "th") and self.current:
            self.current.append(" ")
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            self.links.append((href.strip(), len("".join(self.current))))
        elif tag == "img":
            alt = (dict(attrs).get("alt") or "").strip()
            if alt:
                self.current.append(alt)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED:
            return
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED:
            self.dropped = max(0, self.dropped - 1)
        elif tag == "blockquote":
            self.blank()
            self.depth = max(0, self.depth - 1)
        elif tag in _PARAGRAPHS:
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
            self.blank()
        elif tag in _BLOCKS:
            self.flush()
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            label = "".join(self.current)[start:].strip()
            target = href.removeprefix("mailto:")
            if href.startswith(("http:", "https:", "mailto:")) and target not in (label, ""):
                self.current.append(f" ({target})" if label else target)

    def handle_data(self, data: str) -> None:
        if self.dropped:
            return
        data = data.replace("\xa0", " ")
        if self.pre:
            first, *rest = data.split("\n")
            self.current.append(first)
            for line in rest:
                self.flush()
                self.current.append(line)
            return
        text = _WHITESPACE.sub(" ", data)
        if not self.current or "".join(self.current).endswith(" "):
            text = text.lstrip(" ")
        self.current.append(text)

    def text(self) -> str:
        self.flush()
        return "\n".join(("> " * depth + line).rstrip() for depth, line in self.lines)


def html_to_text(html: str) -> str:
    """Return the readable text of an HTML email: paragraphs, line breaks, links as "text (url)"."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return tidy(parser.text())


def tidy(text: str) -> str:
    """Strip trailing spaces and runs of blank lines."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")

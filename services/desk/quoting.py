"""Trimming the quoted history of a reply, for display (the full text is kept too)."""

from __future__ import annotations

import re

from services.desk.html_text import tidy

_REPLY_HEADERS = [
    re.compile(r"^\s*Le\s.{0,250}\sa\s+écrit\s*:\s*$", re.IGNORECASE),
    re.compile(r"^\s*On\s.{0,250}\swrote\s*:\s*$", re.IGNORECASE),
    re.compile(
        r"^\s*-{2,}\s*(Message d'origine|Original Message|Message d’origine)\s*-{2,}\s*$",
        re.IGNORECASE,
    ),
    re.compile(r"^\s*_{20,}\s*$"),
]
_OUTLOOK_FROM = re.compile(r"^\s*\*?(De|From)\s*:\*?\s*\S", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(r"^\s*\*?(Envoyé|Sent|Date)\s*:\*?\s*\S", re.IGNORECASE)
_FORWARD_MARKER = re.compile(
    r"^\s*(-{2,}\s*(Forwarded message|Message transféré)\s*-{2,}"
    r"|Début du message (ré)?exp[ée]dié\s*:|Begin forwarded message\s*:)\s*$",
    re.IGNORECASE,
)


def _starts_history(lines: list[str], index: int) -> bool:
    """Tell whether the quoted history starts at this line."""
    line = lines[index]
    # Reply headers may be wrapped over two or three lines ("…, Jean Dupont <\nj@…> a écrit :").
    for size in (1, 2, 3):
        joined = " ".join(part.strip() for part in lines[index : index + size])
        if any(pattern.match(joined) for pattern in _REPLY_HEADERS):
            return line.strip() != "" and not line.lstrip().startswith(">")
    if _OUTLOOK_FROM.match(line):
        return any(_OUTLOOK_NEXT.match(following) for following in lines[index + 1 : index + 5])
    return False


def visible_text(text: str) -> str:
    """Return the new part of a message for display: no quoted history, no signature.

    Quoted lines ("> …") are dropped, and everything from a reply header ("Le … a écrit :",
    "On … wrote:", "-----Message d'origine-----", an Outlook "De : / Envoyé :" block or its
    "_____" separator) or from the signature separator ("-- ") on. The content of a
    forwarded message ("---------- Message transféré ---------") is kept. When nothing
    would be left, the whole text is returned.
    """
    lines = (text or "").replace("\r\n", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if _FORWARD_MARKER.match(line):
            kept.extend(lines[index:])
            break
        if line.rstrip() == "--" or _starts_history(lines, index):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    result = tidy("\n".join(kept)).strip()
    return result if result else tidy(text or "").strip()

"""Snippets cut around the query's literal strings, found with ``str.find`` on the normalized text, where
most of them occur together.

No re-segmentation at query time (Whoosh's highlighter costs 180–200 ms per page of results here): the
normalized text has the same offsets as the original, so the window and the marks are cut from the
original text and HTML-escaped piece by piece.
"""
from __future__ import annotations

from dataclasses import dataclass
from html import escape as _html_escape

from markupsafe import Markup

from search.analyzer import FOLD_TARGETS, normalize

WIDTH = 120
LEAD = 36
MAX_MARKS = 40
MAX_OCCURRENCES = 200  # of each key, looked at when choosing the window


@dataclass(frozen=True)
class Snippet:
    html: Markup
    paragraph: int | None  # 0-based line of the text where the first match lies


def _escape(text: str) -> str:
    return _html_escape(text, quote=True)


def find_spans(normalized: str, keys: list[str], start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Non-overlapping (start, end) of ``keys`` in ``normalized[start:end]``, longest key first."""
    end = len(normalized) if end is None else end
    spans: list[tuple[int, int]] = []
    for key in keys:
        at = normalized.find(key, start, end)
        while at != -1 and len(spans) < MAX_MARKS:
            stop = at + len(key)
            if all(stop <= a or at >= b for a, b in spans):
                spans.append((at, stop))
            at = normalized.find(key, stop, end)
    return sorted(spans)


def mark(text: str, spans: list[tuple[int, int]], start: int = 0, end: int | None = None) -> Markup:
    """``text[start:end]`` HTML-escaped, with ``spans`` in ``<mark>`` (built as one string: markupsafe's
    per-piece ``Markup`` arithmetic cost more than the search itself on a page of long documents)."""
    end = len(text) if end is None else end
    out = []
    cursor = start
    for a, b in spans:
        a, b = max(a, start), min(b, end)
        if a >= b:
            continue
        out.append(_escape(text[cursor:a]))
        out.append("<mark>" + _escape(text[a:b]) + "</mark>")
        cursor = b
    out.append(_escape(text[cursor:end]))
    return Markup("".join(out))


def searchable(text: str, keys: list[str]) -> str:
    """``text`` as the keys are looked for in it. Normalizing a long document costs milliseconds; when no key
    holds a character that normalizing can produce (Chinese never is), the original finds the same spans."""
    if any(c in FOLD_TARGETS for key in keys for c in key):
        return normalize(text)
    return text


def highlight_title(title: str, keys: list[str]) -> Markup:
    return mark(title, find_spans(searchable(title, keys), keys))


def best_anchor(normalized: str, keys: list[str], span: int) -> int | None:
    """Where the snippet's window begins: the first occurrence of the longest key (``keys`` come longest
    first: the query as typed) when it occurs; else the occurrence of a key such that the next ``span``
    characters hold the most different keys (then the most key characters) — a question's words scattered
    over a long report are shown where they meet."""
    at = normalized.find(keys[0])  # the longest key (the query as typed) where it occurs
    if at != -1 or len(keys) == 1:
        return None if at == -1 else at
    found: list[tuple[int, int]] = []  # (offset, key index)
    for index, key in enumerate(keys):
        at = normalized.find(key)
        while at != -1 and len(found) < MAX_OCCURRENCES * (index + 1):
            found.append((at, index))
            at = normalized.find(key, at + len(key))
    if not found:
        return None
    found.sort()
    best, best_at = (0, 0), found[0][0]
    inside: dict[int, int] = {}  # key index: occurrences in the window
    first = 0
    for at, index in found:
        inside[index] = inside.get(index, 0) + 1
        while found[first][0] < at + len(keys[index]) - span:
            gone = found[first][1]
            inside[gone] -= 1
            if not inside[gone]:
                del inside[gone]
            first += 1
        score = (len(inside), sum(len(keys[i]) for i in inside))
        if score > best:
            best, best_at = score, found[first][0]
    return best_at


def make_snippet(text: str, keys: list[str], width: int = WIDTH) -> Snippet:
    """A window of about ``width`` characters where the most of ``keys`` occur together (the first
    occurrence of the only key)."""
    text = text or ""
    normalized = searchable(text, keys)
    anchor = best_anchor(normalized, keys, width - LEAD) if keys else None
    if anchor is None:
        end = min(len(text), width)
        body = " ".join(text[:end].split())
        return Snippet(Markup(_escape(body) + ("…" if end < len(text) else "")), None)
    start = max(0, anchor - LEAD)
    line_start = text.rfind("\n", start, anchor)
    if line_start != -1:
        start = line_start + 1  # begin at the paragraph when it starts close before the match
    end = min(len(text), start + width)
    spans = find_spans(normalized, keys, start, end)
    html = str(mark(text, spans, start, end)).replace("\n", " ")
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    return Snippet(Markup(prefix + html + suffix), normalized.count("\n", 0, anchor))

"""Markdown for lectures and summaries: rendered with ``markdown``, then sanitized with ``nh3``.

Whatever the author writes (raw HTML included), what comes out holds only a fixed set of tags and
attributes: no ``<script>``/``<style>``, no event handlers or ``style`` attributes, and links only to
http(s), mailto or relative addresses.
"""
from __future__ import annotations

import html
import re
from functools import lru_cache

import markdown as md
import nh3

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "s", "small", "span",
    "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto"}
EXTENSIONS = ["extra", "sane_lists"]


def sanitize_html(html: str) -> str:
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES,
                     link_rel="noopener noreferrer nofollow", strip_comments=True)


def render_markdown(text: str | None) -> str:
    """Markdown source -> HTML safe to insert into a page. Short texts (course summaries, rendered on every
    course page) are remembered, so a page view does not run the Markdown parser again."""
    if not text:
        return ""
    if len(text) <= 4000:
        return _render_cached(text)
    return _render(text)


@lru_cache(maxsize=2048)
def _render_cached(text: str) -> str:
    return _render(text)


def _render(text: str) -> str:
    html = md.markdown(text, extensions=EXTENSIONS, output_format="html")
    return sanitize_html(html)


# --- the text a reader sees, for search (index and snippets) --------------------------------------------

_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_RULE = re.compile(r"^\s{0,3}(([-*_])\s*){3,}$|^\s{0,3}=+\s*$|^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_LINE_START = re.compile(r"^\s*(?:>\s?)*\s*(?:#{1,6}\s+|[-*+]\s+(?:\[[ xX]\]\s+)?|\d{1,9}[.)]\s+)?")
_HEADING_END = re.compile(r"\s+#+\s*$")
_INLINE = [
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # image: its alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # link: its text
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # reference link
    (re.compile(r"^\s{0,3}\[[^\]]+\]:\s+\S+.*$"), ""),  # link reference definition
    (re.compile(r"<(https?://[^>\s]+|mailto:[^>\s]+)>"), r"\1"),  # autolink
    (re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>"), ""),  # raw HTML tags
    (re.compile(r"(`+)(.+?)\1"), r"\2"),  # code span
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),  # strong
    (re.compile(r"(?<![*\w])\*(?=\S)(.+?)(?<=\S)\*(?!\*)"), r"\1"),  # emphasis
    (re.compile(r"(?<![A-Za-z0-9_])_(?=\S)(.+?)(?<=\S)_(?![A-Za-z0-9_])"), r"\1"),
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),  # strikethrough
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])"), r"\1"),  # backslash escapes
]


def markdown_plain_text(text: str | None) -> str:
    """What a reader sees of Markdown ``text``, as plain text, line for line (line N of the result is line N
    of the source: passage numbers and anchors stay valid): no ``**``, ``#``, ``>``, list markers, link
    targets, table rules or HTML tags. Regular expressions, not the renderer: search indexes long
    documents and cuts snippets from them on every results page."""
    lines = []
    fenced = False
    for line in (text or "").split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
            lines.append("")
            continue
        if fenced:
            lines.append(line)
            continue
        if _RULE.match(line):
            lines.append("")
            continue
        line = _LINE_START.sub("", line, count=1)
        line = _HEADING_END.sub("", line)
        for pattern, replacement in _INLINE:
            line = pattern.sub(replacement, line)
        if "|" in line:  # a table row: cells apart by spaces
            line = " ".join(cell.strip() for cell in line.strip().strip("|").split("|"))
        lines.append(html.unescape(line))
    return "\n".join(lines)

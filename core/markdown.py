"""Markdown for lectures and summaries: rendered with ``markdown``, then sanitized with ``nh3``.

Whatever the author writes (raw HTML included), what comes out holds only a fixed set of tags and
attributes: no ``<script>``/``<style>``, no event handlers or ``style`` attributes, and links only to
http(s), mailto or relative addresses.
"""
from __future__ import annotations

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

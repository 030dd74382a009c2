"""A material's text on its reading page: one anchor per passage, and the searched words marked.

Passages are numbered by the non-empty lines of the extracted text (``Material.text``): the N-th non-empty
line is ``id="p-N"`` on the page, whatever the file kind, so a search hit at a character offset links to
``/materials/<id>?hl=<word>#p-N`` (``passage_anchor``). Markdown is rendered block by block (blocks are
separated by blank lines; a fenced code block stays whole); a block spanning several lines carries the
first line's id and empty anchors for the others.

``?hl=`` marks every occurrence of its words (space-separated, at most ``MAX_TERMS``) with ``<mark>``, in
text only — never inside a tag or an attribute — and everything around is escaped again, so a hostile
value is shown as text, never run.
"""
from __future__ import annotations

import html
import re

from markupsafe import Markup, escape

from core.markdown import render_markdown

MAX_TERMS = 5
MAX_TERM_CHARS = 50
TAG = re.compile(r"(<[^>]*>)")


def passage_number(text: str, offset: int) -> int:
    """The number N of the passage (non-empty line) holding character ``offset`` of ``text`` (1-based)."""
    number = 0
    position = 0
    for line in text.split("\n"):
        if line.strip():
            number += 1
        if offset < position + len(line) + 1:
            return max(number, 1)
        position += len(line) + 1
    return max(number, 1)


def passage_anchor(text: str, offset: int) -> str:
    return f"p-{passage_number(text, offset)}"


PAGE_CHARS = 200_000  # a long material's text is shown in pages of about this many characters


def reading_pages(text: str, page_chars: int = PAGE_CHARS) -> list[tuple[int, str]]:
    """``text`` cut at blank lines (so Markdown blocks stay whole; at line ends if a block is longer) into
    pages of about ``page_chars``: (number of the page's first passage - 1, the page's text)."""
    pages: list[tuple[int, str]] = []
    current: list[str] = []
    size = passages = first = 0
    for line in text.split("\n"):
        boundary = not line.strip() or size >= 2 * page_chars
        if size >= page_chars and boundary and current:
            pages.append((first, "\n".join(current)))
            current, size, first = [], 0, passages
        current.append(line)
        size += len(line) + 1
        passages += 1 if line.strip() else 0
    if current or not pages:
        pages.append((first, "\n".join(current)))
    return pages


def reading_html(text: str, file_kind: str, hl: str | None = None, start: int = 0) -> Markup:
    """The reading page's body: anchored passages (numbered after ``start``), with the words of ``hl`` marked."""
    body = _markdown_passages(text, start) if file_kind == "md" else _line_passages(text, start)
    terms = highlight_terms(hl)
    return Markup(highlight(body, terms) if terms else body)


def _line_passages(text: str, start: int = 0) -> str:
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    return "".join(f'<p id="p-{n}">{escape(line)}</p>' for n, line in enumerate(lines, start=start + 1))


def _markdown_passages(text: str, start: int = 0) -> str:
    out = []
    number = start
    for block in _markdown_blocks(text):
        count = sum(1 for line in block if line.strip())
        first = number + 1
        number += count
        extra = "".join(f'<span id="p-{n}"></span>' for n in range(first + 1, number + 1))
        out.append(f'<div class="passage" id="p-{first}">{extra}{render_markdown(chr(10).join(block))}</div>')
    return "".join(out)


def _markdown_blocks(text: str) -> list[list[str]]:
    """Lines grouped into blocks at blank lines, except inside a fenced code block."""
    blocks: list[list[str]] = []
    current: list[str] = []
    fenced = False
    for line in text.split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        if not line.strip() and not fenced:
            if current:
                blocks.append(current)
                current = []
            continue
        current.append(line)
    if current:
        blocks.append(current)
    return blocks


def highlight_terms(hl: str | None) -> list[str]:
    if not hl:
        return []
    terms: list[str] = []
    for term in hl.split()[:MAX_TERMS]:
        term = term[:MAX_TERM_CHARS]
        if term and term not in terms:
            terms.append(term)
    return terms


def highlight(body: str, terms: list[str]) -> str:
    """``<mark>`` around each occurrence of ``terms`` in the text of ``body`` (safe HTML in, safe HTML out)."""
    pattern = re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)), re.IGNORECASE)
    out = []
    for piece in TAG.split(body):
        if not piece or piece.startswith("<"):
            out.append(piece)
            continue
        raw = html.unescape(piece)
        last = 0
        for match in pattern.finditer(raw):
            out.append(str(escape(raw[last:match.start()])))
            out.append(f"<mark>{escape(match.group(0))}</mark>")
            last = match.end()
        out.append(str(escape(raw[last:])) if last else piece)
    return "".join(out)

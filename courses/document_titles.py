"""A document's title as the document gives it, for ``flask materials import``.

In order: a Markdown heading or a Word paragraph styled Title/Heading; the PDF or Word file's metadata title
(when it is a real one, not "Microsoft Word - 文档1.docx"); the first line when it reads as a title (short, not
a salutation such as "同志们：" or the first article); the document named by a release that opens the text
("中共中央印发了《中国共产党党员教育管理工作条例》……"); else the file name without its extension.

The year or edition is added where the document gives it and the title does not: a date line under the title
("（2017年10月18日）", "——2021年3月5日在…上", "中国共产党第二十次全国代表大会部分修改，2022年10月22日通过",
the amendment list of a law), the latest year found there — so the two 中国共产党章程 become
中国共产党章程（2017年） and 中国共产党章程（2022年）.
"""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from courses.textnorm import normalize_document_text

MAX_TITLE = 120
HEADER_LINES = 12  # lines under the title looked at for the year or edition
_YEAR = re.compile(r"(1[89]\d\d|20\d\d)\s*年")
_ANY_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
_EDITION = re.compile(r"通过|修正|修订|修改|发布|印发|施行|公布|审议批准")
_BODY = re.compile(r"^(第[一二三四五六七八九十百零〇两\d]+(?:[编章节条]|部分)|总\s*纲|序\s*言|目\s*录|[一二三四五六七八九十]+、)")
_RELEASE = re.compile(r"印发(?:了)?(?:修订后的)?《([^《》]{2,60})》")
_BAD_METADATA = re.compile(r"^(microsoft\s+\w+\s*-|untitled|无标题|新建|文档\s*\d*$|document\s*\d*$|powerpoint)|"
                           r"\.(docx?|pdf|wps|txt|md)$", re.IGNORECASE)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")


def document_title(path: str | os.PathLike, kind: str, text: str, filename: str | None = None) -> str:
    """The title of the stored document at ``path`` (``kind``: pdf, docx, txt, md) whose text is ``text``."""
    filename = filename or Path(path).name
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    title, start = None, 0
    if kind == "md":
        title, start = _markdown_heading(text)
    elif kind == "docx":
        title = _docx_heading(path)
    if not title and kind in ("pdf", "docx"):
        title = _metadata_title(path, kind, filename)
    if title and lines:  # the header lines follow the title where the text shows it
        start = next((i + 1 for i, line in enumerate(lines[:HEADER_LINES]) if _plain(line) == _plain(title)), 0)
    if not title and lines:
        title, start = _first_lines_title(lines, text)
    if not title and lines:
        release = _RELEASE.search(lines[0])
        if release:
            title, start = release.group(1), 1
    title = normalize_document_text(" ".join((title or Path(filename).stem or filename).split()))[:MAX_TITLE]
    year = None if _ANY_YEAR.search(title) else edition_year(lines[start:start + HEADER_LINES])
    return f"{title}（{year}年）" if year else title


def edition_year(lines: list[str]) -> str | None:
    """The latest year of the date lines that open ``lines`` (the header under a title), or None."""
    years = []
    for line in lines:
        if _BODY.match(line):
            break
        dated = _YEAR.findall(line)
        short = len(line) <= 200
        if dated and short and (line[0] in "（(—" or _EDITION.search(line) or len(line) <= 20):
            years += dated
        elif years or not short:
            break  # the header ended
    return max(years) if years else None


def _plain(line: str) -> str:
    return "".join(line.lstrip("#").split())


def _title_like(line: str) -> bool:
    return (2 <= len(line) <= 60 and not line.endswith(("：", ":", "。", "；", ";", "，", ","))
            and not _BODY.match(line) and line[0] not in "（(—")


def _continues_title(line: str) -> bool:
    """A short line under the first that belongs to the title: no date, no sentence, or a "——…" subtitle."""
    if len(line) > 40 or _YEAR.search(line):
        return False
    return _title_like(line) or (line.startswith("——") and _title_like(line.lstrip("—")))


def _first_lines_title(lines: list[str], text: str) -> tuple[str | None, int]:
    """The first line when it reads as a title, with up to two short lines right under it that continue it
    (a title set on several lines, a "——在…上的报告" subtitle; a blank line ends it); and the index of the
    line after it in ``lines`` (the non-empty lines of ``text``)."""
    if not _title_like(lines[0]):
        return None, 0
    parts = [lines[0]]
    following = text.strip().split("\n")[1:3]
    for line in following:
        line = line.strip()
        if not line or not _continues_title(line):
            break
        parts.append(line)
    title = parts[0]
    for part in parts[1:]:
        title += part if part.startswith("——") else " " + part
    return title, len(parts)


def _markdown_heading(text: str) -> tuple[str | None, int]:
    for index, line in enumerate((text or "").splitlines()[:40]):
        match = _HEADING.match(line)
        if match:
            return match.group(1).replace("**", "").strip() or None, 0
    return None, 0


def _docx_heading(path) -> str | None:
    import docx

    try:
        for paragraph in docx.Document(os.fspath(path)).paragraphs[:40]:
            style = (paragraph.style.name or "") if paragraph.style is not None else ""
            if paragraph.text.strip() and (style == "Title" or style.startswith("Heading")):
                return paragraph.text.strip()
    except Exception:  # the text was extracted already; a title is a nicety
        logging.getLogger(__name__).debug("no heading read from %s", path, exc_info=True)
    return None


def _metadata_title(path, kind: str, filename: str) -> str | None:
    title = None
    try:
        if kind == "pdf":
            from pypdf import PdfReader

            metadata = PdfReader(os.fspath(path), strict=False).metadata
            title = metadata.title if metadata is not None else None
        elif kind == "docx":
            import docx

            title = docx.Document(os.fspath(path)).core_properties.title
    except Exception:  # as above
        logging.getLogger(__name__).debug("no metadata title read from %s", path, exc_info=True)
    title = " ".join(str(title or "").split())
    if len(title) < 2 or _BAD_METADATA.search(title) or title in (filename, Path(filename).stem):
        return None
    return title

"""Text from study materials, extracted at upload for search and for reading in the page."""
from __future__ import annotations

import logging
import os
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

from flask_babel import gettext as _

from core.storage import UploadError, check_zip_size

logging.getLogger("pypdf").setLevel(logging.ERROR)  # pypdf warns on every small flaw it repairs


MAX_TEXT_CHARS = 2_000_000  # extracted text kept per material; the rest is dropped with a note


def extract_text(path: str | os.PathLike, kind: str) -> str:
    """The text of a stored PDF, DOCX, TXT or Markdown file, at most MAX_TEXT_CHARS (then a note says the rest
    was dropped). UploadError if a PDF/DOCX cannot be read or a DOCX inflates too far."""
    if kind == "pdf":
        text = _pdf_text(path)
    elif kind == "docx":
        text = _docx_text(path)
    elif kind in ("txt", "md"):
        text = decode_text(open(path, "rb").read())
    else:
        raise ValueError(f"no text in {kind!r} files")
    return capped(_tidy(text))


def capped(text: str) -> str:
    if len(text) <= MAX_TEXT_CHARS:
        return text
    return text[:MAX_TEXT_CHARS] + "\n\n" + _("（正文超过 %(n)s 字，其余部分未收录，请打开原文件阅读。）",
                                                 n=f"{MAX_TEXT_CHARS:,}")


def decode_text(data: bytes) -> str:
    """UTF-8 (BOM or not), else GB18030 — a superset of GBK and GB2312."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def _tidy(text: str) -> str:
    text = text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _pdf_text(path) -> str:
    from pypdf import PdfReader

    corrupt = _("无法读取这个 PDF 文件：文件已损坏或不完整。")
    try:
        reader = PdfReader(os.fspath(path), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise UploadError(_("这个 PDF 文件设置了密码，无法读取其中的文字。请上传未加密的文件。"))
        pages = [page.extract_text() or "" for page in reader.pages]
    except UploadError:
        raise
    except Exception:  # pypdf raises many kinds of errors on damaged files
        raise UploadError(corrupt)
    return "\n\n".join(pages)


W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _docx_text(path) -> str:
    """The text of word/document.xml, parsed as a stream (memory stays flat whatever its size): paragraphs one
    per line, a table row's cells joined by tabs (a cell's paragraphs by spaces, nested tables inside it)."""
    check_zip_size(Path(path))
    try:
        with zipfile.ZipFile(path) as archive, archive.open("word/document.xml") as xml:
            return _stream_document(xml)
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError, OSError, ValueError):
        raise UploadError(_("无法读取这个 Word 文件：文件已损坏或不完整。"))


def _stream_document(xml) -> str:
    lines: list[str] = []
    size = 0
    paragraph: list[str] = []
    cells: list[list[str]] = []  # the open table cells, innermost last: their finished paragraphs and rows
    rows: list[list[str]] = []  # the open table rows, innermost last: their finished cells' text
    body = None
    for event, element in ElementTree.iterparse(xml, events=("start", "end")):
        tag = element.tag
        if event == "start":
            if tag == W + "body":
                body = element
            elif tag == W + "tc":
                cells.append([])
            elif tag == W + "tr":
                rows.append([])
            continue
        if tag == W + "t":
            paragraph.append(element.text or "")
        elif tag == W + "tab":
            paragraph.append("\t")
        elif tag in (W + "br", W + "cr"):
            paragraph.append("\n")
        elif tag == W + "p":
            text = "".join(paragraph)
            paragraph = []
            (cells[-1] if cells else lines).append(text)
            size += len(text) + 1
        elif tag == W + "tc" and cells:
            parts = cells.pop()
            if rows:
                rows[-1].append(" ".join(part for part in parts if part))
        elif tag == W + "tr" and rows:
            text = "\t".join(rows.pop())
            (cells[-1] if cells else lines).append(text)
            size += len(text) + 1
        if body is not None and not cells and tag in (W + "p", W + "tbl", W + "sectPr"):
            body.clear()  # a finished top-level block is dropped: the tree never holds the whole document
        if size > MAX_TEXT_CHARS:
            break
    return "\n".join(lines)

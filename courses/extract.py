"""Text from study materials, extracted at upload for search and for reading in the page."""
from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from xml.etree import ElementTree

from flask_babel import gettext as _

from core.storage import UploadError, check_zip_size
from courses.textnorm import normalize_document_text

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
    return capped(normalize_document_text(_tidy(text)))


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


# PDF text is extracted in a child process with budgets that truly stop work (a small PDF can hold pages that
# take minutes each): PDF_PAGE_SECONDS per page (a timer interrupts pypdf), PDF_MAX_PAGES pages, and
# PDF_DOCUMENT_SECONDS for the whole document (the child is killed). Three pages over budget end it.
PDF_PAGE_SECONDS = 2.0
PDF_DOCUMENT_SECONDS = 30.0
PDF_MAX_PAGES = 2000
PDF_MAX_SLOW_PAGES = 3


def check_document(path, kind: str) -> None:
    """At upload, cheaply (milliseconds): UploadError unless the PDF opens — its cross-reference table and page
    tree, no content stream is read — or the DOCX is a readable Word zip within the size limits. The text
    comes later, from a job with budgets."""
    if kind == "pdf":
        from pypdf import PdfReader

        try:
            reader = PdfReader(os.fspath(path), strict=False)
            if reader.is_encrypted and not reader.decrypt(""):
                raise UploadError(_("这个 PDF 文件设置了密码，无法读取其中的文字。请上传未加密的文件。"))
            if len(reader.pages) == 0:
                raise ValueError("no pages")
        except UploadError:
            raise
        except Exception:  # pypdf raises many kinds of errors on damaged files
            raise UploadError(_("无法读取这个 PDF 文件：文件已损坏或不完整。"))
    elif kind == "docx":
        check_zip_size(Path(path))
        try:
            with zipfile.ZipFile(path) as archive:
                archive.getinfo("word/document.xml")
        except (KeyError, zipfile.BadZipFile, OSError):
            raise UploadError(_("无法读取这个 Word 文件：文件已损坏或不完整。"))


def _pdf_child_result(path) -> dict:
    corrupt = _("无法读取这个 PDF 文件：文件已损坏或不完整。")
    command = [sys.executable, "-m", "courses.extract", os.fspath(path)]
    budget = PDF_DOCUMENT_SECONDS
    try:
        done = subprocess.run(command, capture_output=True, timeout=budget,
                              cwd=Path(__file__).resolve().parent.parent)
    except subprocess.TimeoutExpired:
        raise UploadError(_("这个 PDF 文件太复杂，%(s)d 秒内未能提取文字。请上传简化后的文件。", s=int(budget)))
    try:
        result = json.loads(done.stdout.decode("utf-8"))
    except ValueError:
        raise UploadError(corrupt)
    error = result.get("error")
    if error == "encrypted":
        raise UploadError(_("这个 PDF 文件设置了密码，无法读取其中的文字。请上传未加密的文件。"))
    if error == "slow":
        raise UploadError(_("这个 PDF 文件的页面过于复杂（每页超过 %(s)s 秒），未能提取文字。请上传简化后的文件。",
                            s=PDF_PAGE_SECONDS))
    if error:
        raise UploadError(corrupt)
    return result


def _pdf_text(path) -> str:
    result = _pdf_child_result(path)
    text = "\n\n".join(result["pages"])
    if result.get("skipped"):
        text += "\n\n" + _("（第 %(pages)s 页过于复杂，未收录文字。）", pages="、".join(map(str, result["skipped"])))
    if result.get("more_pages"):
        text += "\n\n" + _("（文档超过 %(n)d 页，其余页未收录文字。）", n=PDF_MAX_PAGES)
    return text


class _PageTimeout(Exception):
    pass


def _pdf_child(path: str) -> dict:
    """In the child process: the pages' text under the page budget (SIGALRM stops pypdf mid-page)."""
    import signal

    from pypdf import PdfReader

    def on_alarm(signum, frame):
        raise _PageTimeout()

    signal.signal(signal.SIGALRM, on_alarm)
    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            return {"error": "encrypted"}
        pages, skipped = [], []
        count = len(reader.pages)
        for number in range(min(count, PDF_MAX_PAGES)):
            signal.setitimer(signal.ITIMER_REAL, PDF_PAGE_SECONDS)
            try:
                pages.append(reader.pages[number].extract_text() or "")
            except _PageTimeout:
                skipped.append(number + 1)
                if len(skipped) >= PDF_MAX_SLOW_PAGES:
                    return {"error": "slow"}
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            if sum(len(p) for p in pages) > MAX_TEXT_CHARS:
                break
        return {"pages": pages, "skipped": skipped, "more_pages": count > PDF_MAX_PAGES}
    except Exception:  # pypdf raises many kinds of errors on damaged files
        return {"error": "corrupt"}


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


if __name__ == "__main__":  # the PDF child: python -m courses.extract PATH
    sys.stdout.write(json.dumps(_pdf_child(sys.argv[1]), ensure_ascii=False))

"""Text from study materials, extracted at upload for search and for reading in the page."""
from __future__ import annotations

import logging
import os
import re

from flask_babel import gettext as _

from core.storage import UploadError
from courses.textnorm import normalize_document_text

logging.getLogger("pypdf").setLevel(logging.ERROR)  # pypdf warns on every small flaw it repairs


def extract_text(path: str | os.PathLike, kind: str) -> str:
    """The text of a stored PDF, DOCX, TXT or Markdown file. UploadError if a PDF/DOCX cannot be read."""
    if kind == "pdf":
        text = _pdf_text(path)
    elif kind == "docx":
        text = _docx_text(path)
    elif kind in ("txt", "md"):
        text = decode_text(open(path, "rb").read())
    else:
        raise ValueError(f"no text in {kind!r} files")
    return normalize_document_text(_tidy(text))


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


def _docx_text(path) -> str:
    import docx

    try:
        document = docx.Document(os.fspath(path))
        lines: list[str] = []
        _block_text(document, lines)
    except Exception:  # a zip that is not a Word document, broken XML ...
        raise UploadError(_("无法读取这个 Word 文件：文件已损坏或不完整。"))
    return "\n".join(lines)


def _block_text(container, lines: list[str]) -> None:
    """Paragraphs and tables (cells row by row, nested tables included) in document order."""
    from docx.table import Table

    for block in container.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                seen: list = []  # the cells' XML elements (kept alive, so identity holds)
                cells = []
                for cell in row.cells:
                    if any(cell._tc is tc for tc in seen):  # a merged cell repeats across its columns
                        continue
                    seen.append(cell._tc)
                    inner: list[str] = []
                    _block_text(cell, inner)
                    cells.append(" ".join(part for part in inner if part))
                lines.append("\t".join(cells))
        else:
            lines.append(block.text)

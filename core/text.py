"""Text that goes into names, titles, headers and spreadsheets: one line, no control characters.

- ``single_line``: line breaks and tabs become spaces, other control characters and the BOM are dropped
  (titles end up in HTTP headers, file names and spreadsheet cells).
- ``is_clean_name``: what a person's or organization's name may hold (no control characters, no NUL, not
  made of a BOM or invisible characters only); the forms and the member import refuse others.
- ``xlsx_cell``: the one cleaning every XLSX writer applies to text: characters XML 1.0 cannot hold (C0
  controls other than tab/LF/CR) are removed, so an odd name never breaks an export.
"""
from __future__ import annotations

import re
import unicodedata

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_INVISIBLE = {"\ufeff", "\u200b", "\u200c", "\u200d", "\u2060", "\u00ad"}
_SPACES = re.compile(r"\s+")


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") or ch == "\ufeff"


def single_line(value: str | None) -> str:
    """``value`` on one line: whitespace runs (CR, LF, tabs included) become one space, control characters
    and the BOM are dropped, ends trimmed."""
    text = "".join(" " if ch in "\r\n\t\v\f\x85\u2028\u2029" else ch for ch in (value or ""))
    text = "".join(ch for ch in text if not _is_control(ch))
    return _SPACES.sub(" ", text).strip()


def has_control_characters(value: str) -> bool:
    return any(_is_control(ch) or ch in "\u2028\u2029" for ch in value or "")


def is_clean_name(value: str | None) -> bool:
    """A name with no control characters (NUL, CR/LF, BOM ...) and at least one visible character."""
    value = value or ""
    if has_control_characters(value):
        return False
    return any(not ch.isspace() and ch not in _INVISIBLE and unicodedata.category(ch) != "Cf" for ch in value)


def xlsx_cell(value):
    """``value`` as an XLSX cell may hold it: strings lose the characters XML cannot carry; others pass."""
    if isinstance(value, str):
        return _XML_ILLEGAL.sub("", value)
    return value

"""What a member typed, made safe and split into clauses. Backend-neutral: engines translate clauses.

No query syntax is interpreted except quotes (ASCII, Chinese “…” and 「…」): a quoted part must occur
literally. Everything else is text: ``AND``, ``OR``, ``*``, ``title:x``, ``'; DROP TABLE`` are words or
punctuation like any other. Control characters are dropped; the query is cut to ``MAX_QUERY_CHARS`` and
to ``MAX_CLAUSES`` parts, so a 10,000-character paste costs no more than a long sentence.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from search.analyzer import is_cjk_only, literal_keys, normalize, phrase_terms, query_words

MAX_QUERY_CHARS = 100
MAX_CLAUSES = 8

_QUOTES = {"\u201c": '"', "\u201d": '"', "\u300c": '"', "\u300d": '"', "\u300e": '"', "\u300f": '"',
           "\uff02": '"'}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")


@dataclass(frozen=True)
class Clause:
    text: str  # normalized
    quoted: bool
    grams: tuple[tuple[str, ...], ...]  # gram-view terms per stretch, consecutive when literal
    words: tuple[str, ...]  # word-view terms

    @property
    def literal_only(self) -> bool:
        """Quoted, or holding digits or symbols (2017年6月, 党建+): found only where it literally occurs."""
        return self.quoted or any(not (is_cjk_only(w) or w.isalpha()) for w in self.text.split())

    @property
    def words_recall(self) -> bool:
        """Whether documents holding all the words (anywhere) also match: only for real words, not when
        jieba fell back to single characters (两学一做 → 两/学/一/做 must stay literal)."""
        return not self.literal_only and bool(self.words) and all(len(w) >= 2 for w in self.words)


@dataclass(frozen=True)
class ParsedQuery:
    raw: str
    clauses: tuple[Clause, ...]

    @property
    def empty(self) -> bool:
        return not self.clauses

    @property
    def highlight_keys(self) -> list[str]:
        """Normalized strings to mark in snippets, longest first."""
        keys: set[str] = set()
        for clause in self.clauses:
            keys.add(clause.text)
            keys.update(k for k in literal_keys(clause.text) if len(k) > 1 or len(clause.text) == 1)
            if clause.words_recall:
                keys.update(w for w in clause.words if not w.isascii())
        return sorted(keys, key=lambda k: (-len(k), k))

    @property
    def pinyin(self) -> str | None:
        """The query as pinyin letters, when that is all it is (dzxx, dang zhang)."""
        letters = "".join(self.raw.split()).lower()
        if 2 <= len(letters) <= 40 and letters.isascii() and letters.isalpha():
            return letters
        return None


def clean(raw: str | None) -> str:
    text = _CONTROL.sub(" ", raw or "")
    return " ".join(text.split())[:MAX_QUERY_CHARS]


def parse(raw: str | None) -> ParsedQuery:
    text = clean(raw)
    for fancy, plain in _QUOTES.items():
        text = text.replace(fancy, plain)
    clauses: list[Clause] = []
    parts = text.split('"')
    for index, part in enumerate(parts):
        # odd pieces sit between quotes; an unbalanced last quote quotes nothing
        quoted = index % 2 == 1 and index < len(parts) - 1
        pieces = [part] if quoted else part.split()
        for piece in pieces:
            clause = _clause(piece, quoted)
            if clause is not None:
                clauses.append(clause)
    return ParsedQuery(raw=text, clauses=tuple(clauses[:MAX_CLAUSES]))


def _clause(piece: str, quoted: bool) -> Clause | None:
    normalized = " ".join(normalize(piece).split())
    grams = tuple(tuple(stretch) for stretch in phrase_terms(normalized))
    if not grams:
        return None
    return Clause(text=normalized, quoted=quoted, grams=grams, words=tuple(query_words(normalized)))

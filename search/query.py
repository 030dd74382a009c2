"""What a member typed, made safe and split into clauses. Backend-neutral: engines translate clauses.

No query syntax is interpreted except quotes (ASCII, Chinese “…” and 「…」): a quoted part must occur
literally. Everything else is text: ``AND``, ``OR``, ``*``, ``title:x``, ``'; DROP TABLE`` are words or
punctuation like any other. Control characters are dropped; the query is cut to ``MAX_QUERY_CHARS`` and
to ``MAX_CLAUSES`` parts, so a 10,000-character paste costs no more than a long sentence.

Besides its clauses (all of which a result must match), a query carries its **terms** for the relaxed
search that answers questions (党员每年学习培训多少学时): the words that carry meaning — question words
(多少, 什么, 如何 …) and single characters dropped — each with its synonyms and expansions from
``search/synonyms.txt`` (十五五 → 第十五个五年规划, 三会一课 → 党小组会 …). Engines rank documents holding
some of the terms when the strict query fills less than a page.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from courses.textnorm import normalize_document_text
from search.analyzer import is_cjk_only, literal_keys, normalize, phrase_terms, query_words

MAX_QUERY_CHARS = 100
MAX_CLAUSES = 8

_QUOTES = {"\u201c": '"', "\u201d": '"', "\u300c": '"', "\u300d": '"', "\u300e": '"', "\u300f": '"',
           "\uff02": '"'}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")
SYNONYMS_FILE = Path(__file__).with_name("synonyms.txt")
MAX_TERMS = 12
# Words that ask rather than say what is sought: left out of the relaxed search's terms (jieba's words).
QUESTION_WORDS = frozenset("""
    多少 几多 什么 什么样 啥 怎么 怎么样 怎样 如何 哪些 哪个 哪里 哪儿 哪 为什么 为何 何时 何 谁
    是否 是不是 有没有 有无 能否 可否 能不能 可不可以 要不要 需不需要 会不会 吗 呢 吧 啊 么 嘛
    请问 多长 多久 多大 多高 多远 几个 几次 几年 几天 一下 可以 应该 需要 有关 关于
""".split())


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
class Term:
    """One meaningful word of the query for the relaxed search, with the other ways to say it."""

    text: str  # normalized, as typed
    alternatives: tuple[str, ...]  # text first, then its synonyms or (an abbreviation's) parts

    def alternative_words(self, alternative: str) -> tuple[str, ...]:
        """jieba's words of an alternative (one word: the word view finds it as such)."""
        return _words_of(alternative)

    def alternative_grams(self, alternative: str) -> tuple[tuple[str, ...], ...]:
        return tuple(tuple(stretch) for stretch in phrase_terms(alternative))


@dataclass(frozen=True)
class ParsedQuery:
    raw: str
    clauses: tuple[Clause, ...]
    terms: tuple[Term, ...] = ()  # for the relaxed search: documents holding some of them
    required: tuple[Clause, ...] = ()  # clauses the relaxed search still requires (quoted, dates …)
    relaxable: bool = False  # the relaxed search may find what the strict one does not

    @property
    def term_keys(self) -> list[str]:
        """Strings to mark in the snippets of relaxed results: the terms and their alternatives."""
        keys = {a for t in self.terms for a in t.alternatives if not a.isascii()}
        return sorted(keys, key=lambda k: (-len(k), k))

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
    text = normalize_document_text(_CONTROL.sub(" ", raw or ""))  # (⺠ pasted from a PDF is 民)
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
    clauses = clauses[:MAX_CLAUSES]
    terms, required, relaxable = query_terms(clauses)
    return ParsedQuery(raw=text, clauses=tuple(clauses), terms=terms, required=required, relaxable=relaxable)


def _clause(piece: str, quoted: bool) -> Clause | None:
    normalized = " ".join(normalize(piece).split())
    grams = tuple(tuple(stretch) for stretch in phrase_terms(normalized))
    if not grams:
        return None
    return Clause(text=normalized, quoted=quoted, grams=grams, words=tuple(query_words(normalized)))


# --- terms for the relaxed search -----------------------------------------------------------------------

def query_terms(clauses: list[Clause]) -> tuple[tuple[Term, ...], tuple[Clause, ...], bool]:
    """``(terms, required, relaxable)``: the meaningful words of the unquoted clauses — synonyms first
    (longest match), the rest by jieba, without question words, lone characters or duplicates; the clauses
    the relaxed search still requires (quoted ones, and those without a word to relax to, such as
    2017年6月); and whether the relaxed search can find more than the strict one."""
    synonyms, pattern = load_synonyms()
    terms: dict[str, Term] = {}
    required: list[Clause] = []
    relaxable = False
    for clause in clauses:
        found: list[Term] = []
        asked = False  # a question word was dropped
        for piece, is_key in ([] if clause.quoted else _pieces(clause.text, pattern)):
            if is_key:
                found.append(Term(piece, (piece, *synonyms[piece][0])))
                continue
            for word in query_words(piece) if piece.strip() else ():
                asked = asked or word in QUESTION_WORDS
                if word not in QUESTION_WORDS and len(word) >= 2 and word not in terms:
                    found.append(Term(word, (word,)))
        words = [t for t in found if not t.text.isdigit()]
        if not words or (clause.literal_only and not asked and len(words) < 2):
            required.append(clause)  # nothing to relax to, or a string such as 2017年6月 or 党建+: as typed
            continue
        relaxable = relaxable or asked or len(found) > 1 or any(len(t.alternatives) > 1 for t in found)
        for term in found:
            terms.setdefault(term.text, term)
    relaxable = relaxable or len(terms) > 1
    return tuple(terms.values())[:MAX_TERMS], tuple(required), relaxable and bool(terms)


def _pieces(text: str, pattern: re.Pattern | None) -> list[tuple[str, bool]]:
    """``text`` cut at the synonyms' keys: ``(piece, is a key)``."""
    pieces, cursor = [], 0
    for match in pattern.finditer(text) if pattern is not None else ():
        pieces += [(text[cursor:match.start()], False), (match.group(), True)]
        cursor = match.end()
    return pieces + [(text[cursor:], False)]


@lru_cache(maxsize=4096)
def _words_of(text: str) -> tuple[str, ...]:
    return tuple(query_words(text))


def parse_synonyms(lines) -> dict[str, tuple[tuple[str, ...], bool]]:
    """``{normalized key: (alternatives, is an expansion)}`` from the lines of a synonyms file:
    ``甲 = 乙 = 丙`` (each finds the others) and ``缩略语：甲、乙、丙`` (the abbreviation finds its parts)."""
    table: dict[str, tuple[tuple[str, ...], bool]] = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if "=" in line:
            group = [_key(part) for part in line.split("=")]
            group = [g for g in dict.fromkeys(group) if g]
            for member in group:
                others = tuple(g for g in group if g != member)
                if others:
                    old = table.get(member, ((), False))[0]
                    table[member] = (tuple(dict.fromkeys(old + others)), False)
        elif "：" in line or ":" in line:
            head, _, tail = line.replace("：", ":").partition(":")
            parts = tuple(p for p in dict.fromkeys(_key(x) for x in re.split(r"[、,，;；]", tail)) if p)
            if _key(head) and parts:
                table[_key(head)] = (parts, True)
    return table


def _key(text: str) -> str:
    return " ".join(normalize(text).split())


@lru_cache(maxsize=1)
def load_synonyms() -> tuple[dict[str, tuple[tuple[str, ...], bool]], re.Pattern | None]:
    """The synonyms table (read once per process) and a pattern finding its keys, longest first."""
    try:
        lines = SYNONYMS_FILE.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return {}, None
    table = parse_synonyms(lines)
    if not table:
        return table, None
    return table, re.compile("|".join(re.escape(k) for k in sorted(table, key=len, reverse=True)))

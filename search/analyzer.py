"""The Chinese-first analyzer: two views of the same text, so nothing literal is missed and words rank.

* **grams** (recall, phrases): every CJK character as a unigram and every pair of adjacent CJK characters as
  a bigram, at the position of its first character; runs of ASCII letters/digits as one lower-cased unit
  (``2017`` stays ``2017``, a lone ``6`` is kept); symbols such as ``+`` or ``#`` as units of their own.
  Punctuation leaves a gap so a phrase never runs across it. 九大 is found inside 十九大, 睢阳 inside 睢阳区,
  党 on its own, and ``"2017年6月"`` is the units 2017·年·6·月 in a row, which 2017年8月6日 does not contain.
* **words** (precision, ranking): jieba's words (search mode, so 中华人民共和国 also yields 人民, 共和国),
  English words stemmed (Porter). A document holding the word 党建 outranks one that only holds 政党建设.

Both views run over :func:`normalize`, which maps full-width forms to half-width (２０１７ → 2017,
ＡＢＣ → abc, ＋ → +) and lower-cases ASCII one character for one character, so offsets into the
normalized text are offsets into the original: snippets are cut from the original text with them.

jieba's dictionary is loaded once per process (:func:`load_jieba`), with its cache file in instance/,
before gunicorn forks when the app is created with ``--preload``. ``jieba.analyse`` is never imported.
"""
from __future__ import annotations

import logging
import re
import threading
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from whoosh.analysis import Token, Tokenizer
from whoosh.lang.porter import stem

CJK_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_UNIT = re.compile(rf"([{CJK_RANGES}])|([0-9a-z]+)|(\s+)|([^\w\s])|([^\W0-9a-z{CJK_RANGES}_]+)")
_CJK_ONLY = re.compile(rf"^[{CJK_RANGES}]+$")
# Words that carry no meaning on their own: left out of the word view (still in the gram view).
WORD_STOPS = frozenset("的 了 和 与 及 或 在 是 对 把 被 等 之 其 为 以 于 由 将 并 而 也 就 都 又 这 那 中 上 下".split())
EN_STOPS = frozenset("a an and are as at be by for from in is it of on or that the to with".split())


def _build_table() -> dict[int, str]:
    table = {code: chr(code + 32) for code in range(ord("A"), ord("Z") + 1)}
    for start, end in ((0x2000, 0x206F), (0x2100, 0x218F), (0x2460, 0x24FF), (0x3000, 0x3000),
                       (0xFF00, 0xFFEF)):
        for code in range(start, end + 1):
            folded = unicodedata.normalize("NFKC", chr(code))
            if len(folded) == 1 and folded != chr(code):
                table[code] = folded.lower() if folded.isascii() else folded
    return table


_TABLE = _build_table()
_FOLD = {chr(code): folded for code, folded in _TABLE.items()}
FOLD_TARGETS = frozenset(_FOLD.values())  # characters normalizing can produce (ASCII, kana, space…)
_FOLDABLE = re.compile("[" + re.escape("".join(_FOLD)) + "]")


def normalize(text: str) -> str:
    """NFKC width folding and ASCII lower-casing, one character for one character (offsets survive).
    (A regex over the few characters that change: three times faster than ``str.translate`` on Chinese.)"""
    return _FOLDABLE.sub(lambda m: _FOLD[m.group()], text)


def is_symbol(char: str) -> bool:
    return unicodedata.category(char)[0] == "S"


def units(text: str) -> Iterator[tuple[str, int, int, bool]]:
    """``(unit, start, end, after_gap)`` over normalized ``text``; ``after_gap``: punctuation before it."""
    gap = False
    for match in _UNIT.finditer(text):
        cjk, alnum, space, other, word = match.groups()
        if space is not None:
            continue
        if other is not None and not is_symbol(other):
            gap = True
            continue
        yield match.group(), match.start(), match.end(), gap
        gap = False


def gram_tokens(text: str) -> Iterator[tuple[str, int, int, int]]:
    """``(term, position, startchar, endchar)`` of the gram view; unigram and bigram share a position."""
    pos = -1
    previous = None  # (char, start) of the previous unit when it is a CJK character
    for unit, start, end, gap in units(normalize(text)):
        pos += 2 if gap else 1
        if previous is not None and not gap and len(unit) == 1 and _is_cjk(unit):
            yield previous[0] + unit, pos - 1, previous[1], end
        yield unit, pos, start, end
        previous = (unit, start) if len(unit) == 1 and _is_cjk(unit) else None


def is_cjk_char(char: str) -> bool:
    return "\u3400" <= char <= "\u4dbf" or "\u4e00" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff"


_is_cjk = is_cjk_char


def phrase_terms(text: str) -> list[list[str]]:
    """The gram terms a literal occurrence of ``text`` shows at consecutive positions, one list per
    stretch between punctuation: a bigram where two CJK characters meet, else the unit itself. The last
    character of a CJK run is left out when the bigram before it already covers the stretch's end."""
    stretches: list[list[tuple[str, bool]]] = [[]]
    for unit, _start, _end, gap in units(normalize(text)):
        if gap and stretches[-1]:
            stretches.append([])
        stretches[-1].append((unit, len(unit) == 1 and _is_cjk(unit)))
    result = []
    for stretch in stretches:
        terms = []
        for i, (unit, cjk) in enumerate(stretch):
            nxt = stretch[i + 1] if i + 1 < len(stretch) else None
            prev_cjk = i > 0 and stretch[i - 1][1]
            if cjk and nxt is not None and nxt[1]:
                terms.append(unit + nxt[0])
            elif cjk and prev_cjk and nxt is None:
                continue  # covered by the bigram before it
            else:
                terms.append(unit)
        if terms:
            result.append(terms)
    return result


def literal_keys(text: str) -> list[str]:
    """Normalized literal strings of ``text`` (split at punctuation and spaces) for snippet finding."""
    return [k for k in re.split(r"[\s\W_]+", normalize(text)) if k] or ([normalize(text).strip()] if text.strip() else [])


# --- words (jieba) -------------------------------------------------------------------------------------

_jieba_lock = threading.Lock()


def load_jieba(cache_dir: str | None = None) -> None:
    """Load jieba's dictionary once per process (about 1.2 s), caching the prefix dictionary in
    ``cache_dir`` (the instance folder). Safe to call again: later calls do nothing."""
    import jieba

    with _jieba_lock:
        if jieba.dt.initialized:
            return
        jieba.setLogLevel(logging.WARNING)
        if cache_dir:
            Path(cache_dir).mkdir(parents=True, exist_ok=True)
            jieba.dt.tmp_dir = str(cache_dir)
            jieba.dt.cache_file = "jieba.cache"
        jieba.dt.initialize()


def _word_ok(word: str) -> bool:
    return bool(word.strip()) and (word[0].isalnum() or is_symbol(word[0])) and word not in WORD_STOPS


def _word_term(word: str) -> str | None:
    if word.isascii():
        if not word.isalnum() and not all(is_symbol(c) for c in word):
            return None
        if word in EN_STOPS:
            return None
        return stem(word) if word.isalpha() else word
    return word if _word_ok(word) else None


def word_tokens(text: str) -> Iterator[tuple[str, int, int]]:
    """``(term, startchar, endchar)`` of the word view: jieba search-mode words of the normalized text."""
    import jieba

    load_jieba()
    normalized = normalize(text)
    for word, start, end in jieba.dt.tokenize(normalized, mode="search", HMM=False):
        term = _word_term(word)
        if term:
            yield term, start, end


def word_terms(text: str) -> Iterator[str]:
    """The word view's terms without offsets (the index keeps no positions for words)."""
    import jieba

    load_jieba()
    return filter(None, map(_word_term, jieba.dt.cut_for_search(normalize(text), HMM=False)))


def query_words(text: str) -> list[str]:
    """The word-view terms of a query part: jieba's precise segmentation (not search mode)."""
    import jieba

    load_jieba()
    terms = []
    for word in jieba.dt.cut(normalize(text), HMM=False):
        term = _word_term(word)
        if term:
            terms.append(term)
    return terms


def is_cjk_only(text: str) -> bool:
    return bool(_CJK_ONLY.match(text))


# --- pinyin (titles only) -------------------------------------------------------------------------------

def pinyin_keys(title: str) -> tuple[str, ...]:
    """Initials and full pinyin of the CJK in ``title`` (党章学习 → dzxx, dangzhangxuexi)."""
    runs = re.findall(rf"[{CJK_RANGES}]+", normalize(title))
    full = [syllable for run in runs for syllable in _run_pinyin(run[:40])][:40]
    if not full:
        return ()
    initials = "".join(s[0] for s in full if s)
    return tuple(dict.fromkeys((initials, "".join(full))))


@lru_cache(maxsize=8192)
def _run_pinyin(run: str) -> tuple[str, ...]:
    """Pinyin of one run of CJK characters, remembered: titles share runs (法律名 + 第X条)."""
    from pypinyin import lazy_pinyin

    return tuple(s for s in lazy_pinyin(run, errors="ignore") if s)


# --- Whoosh tokenizers ------------------------------------------------------------------------------------

class _Portable:
    """Pickle as a stock Whoosh tokenizer: Whoosh pickles the schema into every index it writes; we
    always open indexes with our explicit schema, so no module path of ours ends up in the index."""

    def __reduce__(self):
        from whoosh.analysis import SpaceSeparatedTokenizer

        return SpaceSeparatedTokenizer, ()


class GramTokenizer(_Portable, Tokenizer):
    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for term, pos, start, end in gram_tokens(value):
            token.text = term
            token.boost = 1.0
            token.stopped = False
            if positions:
                token.pos = start_pos + pos
            if chars:
                token.startchar, token.endchar = start_char + start, start_char + end
            yield token


class WordTokenizer(_Portable, Tokenizer):
    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not positions and not chars:  # indexing a frequency-only field: no offsets needed
            for term in word_terms(value):
                token.text = term
                token.boost = 1.0
                token.stopped = False
                yield token
            return
        for i, (term, start, end) in enumerate(word_tokens(value)):
            token.text = term
            token.boost = 1.0
            token.stopped = False
            if positions:
                token.pos = start_pos + i
            if chars:
                token.startchar, token.endchar = start_char + start, start_char + end
            yield token


class KeysTokenizer(_Portable, Tokenizer):
    """Space-separated keys as they are (pinyin keys, access terms)."""

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for i, key in enumerate(value.split()):
            token.text = key
            token.boost = 1.0
            token.stopped = False
            if positions:
                token.pos = start_pos + i
            yield token

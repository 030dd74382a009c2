"""Literal phrases matched on the grams index: a quoted or literal query is a run of consecutive gram terms.
Only the fewest terms that cover the string are intersected (:func:`phrase_cover`), their posting lists
leapfrog each other directly (Whoosh's public ``skip_to``), and positions are checked with set arithmetic —
Whoosh's own ``Phrase`` (a binary tree of intersections and span objects) cost most of a phrase query."""
from __future__ import annotations

from whoosh import matching
from whoosh import query as Q
from whoosh.query.spans import Span

from search.analyzer import is_cjk_char


def _is_bigram(term: str) -> bool:
    return len(term) == 2 and is_cjk_char(term[0]) and is_cjk_char(term[1])


def phrase_cover(words: list[str]) -> list[tuple[int, str]]:
    """``(offset, term)`` of the fewest phrase terms that still cover every unit of the literal string:
    the bigrams of 违反本法规定 sit at offsets 0–4, and 违反@0 本法@2 规定@4 say the same as all five."""
    chosen: list[tuple[int, str]] = []
    covered = -1  # the last unit covered so far
    for offset, term in enumerate(words):
        end = offset + 1 if _is_bigram(term) else offset
        if offset > covered or (offset == len(words) - 1 and end > covered):
            chosen.append((offset, term))
            covered = max(covered, end)
    return chosen


class LiteralPhrase(Q.Phrase):
    """A Whoosh phrase (consecutive gram terms) matched faster: only the covering terms of
    :func:`phrase_cover` are intersected, and their positions are checked with set arithmetic instead of
    Whoosh's span objects (the phrase check was most of a phrase query's cost)."""

    def matcher(self, searcher, context=None):
        reader = searcher.reader()
        parts = []
        for offset, word in phrase_cover(list(self.words)):
            frequency = reader.doc_frequency(self.fieldname, word)
            if not frequency:  # (a term missing from the index: nothing can match)
                return matching.NullMatcher()
            parts.append((frequency, offset, Q.Term(self.fieldname, word).matcher(searcher, context)))
        if len(parts) == 1:
            m = parts[0][2]
        else:
            parts.sort(key=lambda part: part[0])  # the rarest term first: positions checked there first
            m = _OffsetPhraseMatcher([p[2] for p in parts], [p[1] for p in parts])
        return matching.WrappingMatcher(m, boost=self.boost) if self.boost != 1.0 else m


class _OffsetPhraseMatcher(matching.Matcher):
    """Documents where every term occurs at (a common start) + its offset. The term matchers leapfrog
    each other directly (rarest first) instead of through Whoosh's binary tree of intersection matchers,
    whose per-step bookkeeping cost more than reading the postings."""

    def __init__(self, matchers, offsets):
        self.ms = matchers
        self.offsets = offsets
        self._active = all(m.is_active() for m in matchers)
        self._align()

    def _align(self) -> None:
        """Move forward to the next document holding every term in place (or become inactive)."""
        ms, n = self.ms, len(self.ms)
        lead = ms[0]
        while self._active:
            target = lead.id()
            i = 1
            while i < n:
                m = ms[i]
                found = m.id()
                if found < target:
                    m.skip_to(target)
                    if not m.is_active():
                        self._active = False
                        return
                    found = m.id()
                if found > target:
                    lead.skip_to(found)
                    if not lead.is_active():
                        self._active = False
                        return
                    target = lead.id()
                    i = 1
                    continue
                i += 1
            if self._in_place():
                return
            lead.next()
            self._active = lead.is_active()

    def _in_place(self) -> bool:
        first = self.offsets[0]
        starts = {p - first for p in self.ms[0].value_as("positions")}
        for m, offset in zip(self.ms[1:], self.offsets[1:]):
            starts.intersection_update(p - offset for p in m.value_as("positions"))
            if not starts:
                return False
        return True

    def is_active(self):
        return self._active

    def id(self):
        return self.ms[0].id()

    def next(self):
        self.ms[0].next()
        self._active = self.ms[0].is_active()
        self._align()
        return False

    def skip_to(self, id):
        if self._active and id > self.ms[0].id():
            self.ms[0].skip_to(id)
            self._active = self.ms[0].is_active()
            self._align()

    def score(self):
        return sum(m.score() for m in self.ms)

    def supports_block_quality(self):
        return False

    def max_quality(self):  # (asked by AndMaybe's replace: an upper bound of score())
        return sum(m.max_quality() for m in self.ms)

    def copy(self):
        return self.__class__([m.copy() for m in self.ms], self.offsets)

    def replace(self, minquality=0):
        return self if self._active else matching.NullMatcher()

    def spans(self):
        return [Span(0)]  # (only its truthiness is read, by span queries we do not use)

"""The Whoosh backend (whoosh-reloaded 2.7.5: same import name and index format as Whoosh 2.7.4, but kept
working on current Pythons — no invalid-escape warnings, no removed ``collections`` aliases).

Layout of ``SEARCH_INDEX_DIR``::

    writer.lock        fcntl lock (core.cluster.file_lock): the one writer of this server's index (catch-up, rebuild swap)
    current -> gen-N   symlink to the live generation; a rebuild writes gen-M and renames a new link over it
    gen-N/             Whoosh files + applied.json (index-log sequence number the index is complete up to)

Whoosh's own write lock stays underneath ours; ours is taken without blocking by request-time catch-ups
(a busy writer means someone else is applying the log). Searchers are per process and refreshed when the
index generation or its segments moved.

Speed. Whoosh matches and scores in Python: 20–200 µs per matching document, so a query is answered in
cheap passes that fill the page first — titles holding every gram of the query, then, for a query that is
one jieba word, that word's posting list, then the literal string — each scoring at most
``SEARCH_FILL_SCAN`` matches (at least twice the page; the page is ranked among those; phrase passes a
quarter of that, at least the page: a phrase match costs the positions of 3-4 terms, unpickled one document
at a time); and the full pass (grams, scored with the words and the literal phrase) only when the page still
has room, scoring at most ``SEARCH_SCAN_LIMIT`` (a literal query's full pass, whose matches are all literal
occurrences with nothing more to rank by: as a phrase pass). Beyond that the total is
Whoosh's estimate ("约 N 条"). A full page's total is counted exactly when the matches number fewer than
the scan limit and counting reads few postings (``COUNT_POSTINGS``). Phrases are checked on their covering
grams only (:class:`search.phrase.LiteralPhrase`); stored fields are read for the page shown only.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from whoosh import collectors
from whoosh import index as whoosh_index
from whoosh import query as Q
from whoosh.analysis import Analyzer  # noqa: F401  (tokenizers below are used as analyzers)
from whoosh.fields import ID, STORED, TEXT, Schema
from whoosh.scoring import BM25F

from core.cluster import file_lock
from search.analyzer import GramTokenizer, KeysTokenizer, WordTokenizer, pinyin_keys
from search.engine import Access, Filters, Hit, HitPage, IndexDocument, Progress
from search.phrase import LiteralPhrase
from search.query import Clause, ParsedQuery, Term

TITLE_BOOST = 3.0
WORD_BOOST = 1.5
PHRASE_BOOST = 2.0
SCAN_LIMIT = 300  # default of SEARCH_SCAN_LIMIT: matches scored per pass at most (_ScanLimitedCollector)
FILL_SCAN = 40  # default of SEARCH_FILL_SCAN: matches scored by a pass that fills the page (titles, words, phrase)
COUNT_POSTINGS = 600  # an exact total is counted when the recall query's posting lists hold at most this many
NO_ORG = "none"
CANDIDATES = 200  # hits the pinyin fallback looks at
COMMON_SHARE = 0.02  # a relaxed search's term held by more of the documents than this only adds to scores ...
COMMON_MIN = 500  # ... in an index of more than COMMON_MIN / COMMON_SHARE documents


def make_schema() -> Schema:
    """The schema, passed explicitly whenever an index is opened (the pickled copy is never read).

    One recall field (``grams``: title and body, unigrams and bigrams with positions for phrases) is all a
    query has to match; ``title_g`` (title grams) and ``words`` (jieba words of title and body, counts
    only) only add to the score of what ``grams`` matched — or, for real words, also recall."""
    return Schema(
        key=ID(stored=True, unique=True),
        kind=ID(stored=True),
        title=STORED(),
        category=ID(),
        course=ID(),
        aud=ID(),
        org_a=ID(),
        org_b=ID(),
        grams=TEXT(analyzer=GramTokenizer(), phrase=True),
        title_g=TEXT(analyzer=GramTokenizer(), phrase=False),
        words=TEXT(analyzer=WordTokenizer(), phrase=False),
        title_py=TEXT(analyzer=KeysTokenizer(), phrase=False),
    )


def to_fields(doc: IndexDocument) -> dict:
    orgs = list(doc.org_ids[:2]) + [None, None]
    return {
        "key": doc.key,
        "kind": doc.kind,
        "title": doc.title,
        "category": doc.category or NO_ORG,
        "course": str(doc.course_id) if doc.course_id else NO_ORG,
        "aud": "members" if doc.members_only else "public",
        "org_a": str(orgs[0]) if orgs[0] else NO_ORG,
        "org_b": str(orgs[1]) if orgs[1] else NO_ORG,
        "grams": f"{doc.title}。{doc.body}",  # the 。 keeps a phrase from running from title into body
        "title_g": doc.title,
        "words": f"{doc.title}\n{doc.body}",
        "title_py": " ".join(pinyin_keys(doc.title)),
    }


class WhooshEngine:
    def __init__(self, base_dir: str | os.PathLike, scan_limit: int = SCAN_LIMIT, fill_scan: int = FILL_SCAN):
        self.base = Path(base_dir)
        self.scan_limit = scan_limit
        self.fill_scan = min(fill_scan, scan_limit)
        self.schema = make_schema()
        self._local = threading.local()

    # -- locations -------------------------------------------------------------------------------------------

    @property
    def current_link(self) -> Path:
        return self.base / "current"

    def current_dir(self) -> Path | None:
        try:
            target = os.readlink(self.current_link)
        except (FileNotFoundError, OSError):
            return None
        path = self.base / target
        return path if (path / "applied.json").exists() else None

    def exists(self) -> bool:
        return self.current_dir() is not None

    @contextlib.contextmanager
    def writer_lock(self, blocking: bool = True):
        with file_lock(self.base / "writer.lock", blocking) as held:
            yield held

    # -- the log watermark -----------------------------------------------------------------------------------

    def applied_seq(self) -> int:
        directory = self.current_dir()
        return _read_applied(directory) if directory else -1

    # -- writing (callers hold writer_lock) -------------------------------------------------------------------

    def apply(self, upserts: Iterable[IndexDocument], deletes: Iterable[str], applied_seq: int,
              directory: Path | None = None, merge: bool = True) -> None:
        """``merge=False`` (bulk catch-up): add a segment without merging others into it; :meth:`optimize`
        merges once at the end instead of re-writing small segments after every batch."""
        directory = directory or self.current_dir()
        ix = whoosh_index.open_dir(str(directory), schema=self.schema)
        writer = ix.writer(timeout=30.0)
        try:
            for key in deletes:
                writer.delete_by_term("key", key)
            for doc in upserts:
                writer.update_document(**to_fields(doc))
        except BaseException:
            writer.cancel()
            raise
        writer.commit(merge=merge)
        _write_applied(directory, applied_seq)

    def optimize(self) -> None:
        """Merge the live index into one segment (after a bulk catch-up; caller holds the writer lock)."""
        ix = whoosh_index.open_dir(str(self.current_dir()), schema=self.schema)
        ix.writer(timeout=30.0).commit(optimize=True)

    def build(self, documents: Iterable[IndexDocument], applied_seq: int, progress: Progress | None = None) -> Path:
        """Write ``documents`` into a new generation (not live yet); returns its folder."""
        directory = self._new_generation()
        ix = whoosh_index.create_in(str(directory), self.schema)
        writer = ix.writer(limitmb=256)  # one process: the tokenizers must not travel to subprocesses
        count = 0
        try:
            for doc in documents:
                writer.add_document(**to_fields(doc))
                count += 1
                if progress:
                    progress(count)
        except BaseException:
            writer.cancel()
            shutil.rmtree(directory, ignore_errors=True)
            raise
        writer.commit()
        _write_applied(directory, applied_seq)
        return directory

    def rebuild(self, documents: Iterable[IndexDocument], applied_seq: int, progress: Progress | None = None,
                before_swap: Callable[["WhooshEngine"], None] | None = None) -> Path:
        directory = self.build(documents, applied_seq, progress)
        with self.writer_lock():
            if before_swap:
                before_swap(GenerationEngine(self, directory))
            self.swap(directory)
        return directory

    def _new_generation(self) -> Path:
        self.base.mkdir(parents=True, exist_ok=True)
        directory = self.base / f"gen-{time.time_ns()}-{os.getpid()}"
        directory.mkdir()
        return directory

    def swap(self, directory: Path) -> None:
        """Make ``directory`` the live generation (caller holds the writer lock)."""
        temp = self.base / f".current-{os.getpid()}-{threading.get_ident()}"
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        os.symlink(directory.name, temp)
        os.replace(temp, self.current_link)  # atomic: readers see the old or the new generation
        self._remove_old_generations(keep={directory.name})

    def _remove_old_generations(self, keep: set[str]) -> None:
        """Keep the live generation and the one before it (a worker may still be reading it)."""
        generations = sorted((p for p in self.base.glob("gen-*") if p.is_dir()), key=lambda p: p.stat().st_mtime)
        survivors = set(keep) | {p.name for p in generations[-2:]}
        for path in generations:
            if path.name not in survivors:
                shutil.rmtree(path, ignore_errors=True)

    # -- reading --------------------------------------------------------------------------------------------

    def searcher(self):
        """This thread's searcher on the live generation, refreshed when the index moved."""
        directory = self.current_dir()
        if directory is None:
            return None
        state = getattr(self._local, "state", None)
        if state is not None and state[0] == os.getpid() and state[1] == directory and state[2].up_to_date():
            return state[2]
        # A new searcher, never ``Searcher.refresh()``: whoosh-reloaded's refresh keeps the segments a merge
        # replaced beside the merged one (every document twice after a bulk import's optimize).
        if state is not None and state[0] == os.getpid():
            with contextlib.suppress(Exception):
                state[2].close()
        searcher = whoosh_index.open_dir(str(directory), schema=self.schema).searcher(weighting=BM25F())
        self._local.state = (os.getpid(), directory, searcher)
        return searcher

    def search(self, query: ParsedQuery, access: Access, filters: Filters, offset: int, limit: int) -> HitPage:
        searcher = self.searcher()
        if searcher is None or query.empty:
            return HitPage(total=0)
        allowed = self._allowed_docs(searcher, access, filters)
        if allowed is not None and not allowed:
            return HitPage(total=0)  # (Whoosh reads an empty filter set as "no filter")
        want = offset + limit
        scan = max(self.scan_limit, 2 * want)  # deep pages need more than the first matches
        fill = max(self.fill_scan, 2 * want)
        phrase_fill = max(self.fill_scan // 4, want)  # (a phrase match costs 4-8 term matches: positions)
        recall, boost = recall_query(query), boost_query(query)
        literal = any(c.literal_only for c in query.clauses)
        # Whoosh scores each match in Python (50-200 µs with phrases), so the cheap passes go first and
        # fill the page; the full recall pass runs when it is small or the page still has room.
        # 1. titles holding every gram of the query (short postings);
        in_title = title_query(query)
        if not literal:  # a title holding every gram matches the query already
            passes = [(in_title, fill)]
        elif in_title.estimate_size(searcher.reader()) > 0:  # (the phrase check is dear: only if titles may)
            passes = [(Q.And([in_title, recall]), phrase_fill)]
        else:
            passes = []
        # 2. the query's jieba words as words (one posting list per word, no phrase work);
        words = words_query(query)
        if words is not None:
            passes.append((words, fill))
        # 3. the literal string (a half-remembered phrase found as typed ranks above its words scattered);
        if any(not c.literal_only and any(len(s) > 1 for s in c.grams) for c in query.clauses):
            phrases = [_grams_query(c, "grams", phrases=True) for c in query.clauses]
            passes.append((phrases[0] if len(phrases) == 1 else Q.And(phrases), phrase_fill))
        hits: list[tuple[int, float]] = []  # (document number, score): stored fields only for the page
        seen: set[int] = set()
        strong = 0  # hits[:strong] hold the query in a title, as its words or as the literal string
        for q, budget in passes:
            if len(hits) >= want:
                break  # the page is full: the later passes could only rank below
            found = _collect(searcher, q, allowed, want, budget)
            hits += [hit for hit in found.hits if hit[0] not in seen]
            seen.update(hit[0] for hit in found.hits)
        # 4. everything the query matches, scored with the words and the literal phrase.
        reader = searcher.reader()
        size = min(_estimate(recall, reader), searcher.doc_count())
        if len(hits) < want:
            # A literal query's matches are all its literal occurrences (no word or phrase boost to rank by):
            # it scans as a phrase pass does, and at least the page beyond the hits found so far.
            strong = len(hits)  # titles, the words, the literal string: ranked first by a relaxed search too
            found = _collect(searcher, Q.AndMaybe(recall, boost) if boost is not None else recall, allowed,
                             want + len(hits), scan if boost is not None else max(phrase_fill, want + len(hits)))
            hits += [hit for hit in found.hits if hit[0] not in seen]
            if boost is None:  # a literal query's every match holds the literal string
                strong = len(hits)
            total, estimate = (max(len(hits), size), True) if found.capped else (found.count, False)
        elif size <= self.scan_limit and _postings(recall, reader) <= COUNT_POSTINGS:
            # the page is full: count the matches without scoring them, when that reads few postings
            matched = searcher.docs_for_query(recall)
            total, estimate = sum(1 for d in matched if allowed is None or d in allowed), False
        else:
            total, estimate = max(len(hits), size), True
        if total == 0 and query.pinyin:
            fallback = _collect(searcher, Q.Prefix("title_py", query.pinyin), allowed, want, scan)
            if fallback.count or not query.relaxable:
                return HitPage(total=fallback.count, hits=_hits(searcher, fallback.hits[offset:]),
                               pinyin_fallback=fallback.count > 0, total_is_estimate=fallback.capped)
        if total < limit and query.relaxable:
            # 5. fewer than a page holds the whole query: rank by its terms instead — BM25 over the words that
            #    carry meaning (question words dropped, synonyms added) — over every document holding some of
            #    them. Strict matches found by title, word or literal string stay first; the others (every gram
            #    somewhere) rank among the relaxed ones; documents outside the strict matches are partial.
            first = hits[:strong]
            strict = {d for d, _ in hits}
            relaxed = _collect_relaxed(searcher, relaxed_query(query, reader), allowed, {d for d, _ in first},
                                       want - len(first) + len(strict))
            if relaxed.hits and relaxed.count + len(first) > len(strict):
                ranked = [(d, score, False) for d, score in first]
                ranked += [(d, score, d not in strict) for d, score in relaxed.hits]
                if len(relaxed.hits) == relaxed.count:  # every relaxed match is here: add the strict ones it missed
                    found = {d for d, _, _ in ranked}
                    ranked += [(d, score, False) for d, score in hits if d not in found]
                    count = len(ranked)
                else:  # (the strict matches beyond the first are among the relaxed ones, as a rule)
                    count = relaxed.count + len(first)
                return HitPage(total=count, hits=_hits(searcher, ranked[offset:want]), total_is_estimate=estimate,
                               strict_total=len(strict))
        return HitPage(total=total, hits=_hits(searcher, hits[offset:want]), total_is_estimate=estimate)

    def _allowed_docs(self, searcher, access: Access, filters: Filters):
        """Document numbers ``access`` may see under ``filters`` (None: no limit), cached per searcher.
        Document numbers belong to one searcher: the cache lives and dies with it (an id() key could be
        reused by the refreshed searcher and hand it the old numbers)."""
        cache = searcher.__dict__.setdefault("_ops_filter_cache", {})
        cache_key = (access, filters)  # frozen dataclasses: who and which filters decide the set
        if cache_key in cache:
            return cache[cache_key]
        conditions = []
        if not access.staff:
            conditions.append(Q.Or([Q.Term("aud", "public")] + ([Q.Term("aud", "members")] if access.members else [])))
            orgs = [NO_ORG] + [str(i) for i in access.org_ids]
            for field in ("org_a", "org_b"):
                conditions.append(Q.Or([Q.Term(field, o) for o in orgs]))
            if not access.logged_in:
                conditions.append(Q.Or([Q.Term("kind", "course"), Q.Term("kind", "material")]))
        if filters.kind:
            conditions.append(Q.Term("kind", filters.kind))
        if filters.category:
            conditions.append(Q.Term("category", filters.category))
        if filters.course_id:
            conditions.append(Q.Term("course", str(filters.course_id)))
        docs = set(searcher.docs_for_query(Q.And(conditions))) if conditions else None
        if len(cache) > 64:
            cache.clear()
        cache[cache_key] = docs
        return docs

    def stats(self) -> dict:
        directory = self.current_dir()
        if directory is None:
            return {"documents": 0, "bytes": 0, "applied_seq": -1}
        searcher = self.searcher()
        size = sum(p.stat().st_size for p in directory.iterdir() if p.is_file())
        return {"documents": searcher.doc_count(), "bytes": size, "applied_seq": _read_applied(directory),
                "directory": str(directory)}


class GenerationEngine:
    """A writer on a generation that is not live yet (the rebuild's catch-up before the swap)."""

    def __init__(self, engine: WhooshEngine, directory: Path):
        self._engine = engine
        self.directory = directory

    def applied_seq(self) -> int:
        return _read_applied(self.directory)

    def apply(self, upserts, deletes, applied_seq: int, merge: bool = True) -> None:
        self._engine.apply(upserts, deletes, applied_seq, directory=self.directory, merge=merge)


def _grams_query(clause: Clause, field: str, phrases: bool, boost: float = 1.0) -> Q.Query | None:
    parts = []
    for stretch in clause.grams:
        if len(stretch) == 1:
            parts.append(Q.Term(field, stretch[0], boost=boost))
        elif phrases:
            parts.append(LiteralPhrase(field, list(stretch), boost=boost))
        else:  # every gram somewhere (a superset of the literal occurrences)
            parts.extend(Q.Term(field, term, boost=boost) for term in dict.fromkeys(stretch))
    return parts[0] if len(parts) == 1 else Q.And(parts)


def clause_query(clause: Clause) -> Q.Query:
    """What a document must hold for one clause: its grams (consecutive when literal) in ``grams``, or,
    for real words, the words anywhere in ``words``."""
    grams = _grams_query(clause, "grams", phrases=clause.literal_only)
    if clause.words_recall and clause.words != (clause.text,):  # (the clause as one word adds nothing)
        words = [Q.Term("words", w) for w in dict.fromkeys(clause.words)]
        return Q.Or([grams, words[0] if len(words) == 1 else Q.And(words)])
    return grams


def recall_query(query: ParsedQuery) -> Q.Query:
    """Every clause must match."""
    clauses = [clause_query(c) for c in query.clauses]
    return clauses[0] if len(clauses) == 1 else Q.And(clauses)


def term_query(term: Term) -> Q.Query:
    """Documents holding ``term`` or one of its alternatives: as a jieba word, or else as a literal string
    (十五五 is no word of jieba's); a title holding it adds to the score."""
    either = []
    for alternative in term.alternatives:
        stretches = term.alternative_grams(alternative)
        grams = list(dict.fromkeys(g for s in stretches for g in s))
        if term.alternative_words(alternative) == (alternative,):
            body = Q.Term("words", alternative)
        elif grams:
            parts = [Q.Term("grams", s[0]) if len(s) == 1 else LiteralPhrase("grams", list(s)) for s in stretches]
            body = parts[0] if len(parts) == 1 else Q.And(parts)
        else:
            continue
        if grams:
            in_title = Q.And([Q.Term("title_g", g) for g in grams], boost=TITLE_BOOST)
            body = Q.Or([body, in_title])
        either.append(body)
    return either[0] if len(either) == 1 else Q.Or(either)


def relaxed_query(query: ParsedQuery, reader=None) -> Q.Query:
    """Documents holding any of the query's terms (and its required clauses), ranked by BM25 over them:
    the more of the rarer terms a document holds, the higher. With ``reader``, in a large index, terms held
    by more than ``COMMON_SHARE`` of the documents (学习, 规定) only add to the score of documents holding a
    rarer one: scoring every document that says 学习 is most of the cost and never reaches the page."""
    terms = [term_query(t) for t in query.terms]
    common: list[Q.Query] = []
    if reader is not None and len(terms) > 1:
        limit = max(COMMON_MIN, int(reader.doc_count() * COMMON_SHARE))
        sizes = [_estimate(q, reader) for q in terms]
        rare = [q for q, size in zip(terms, sizes) if size <= limit]
        if not rare:  # every term is common: the two rarest recall
            rare = [q for _, q in sorted(zip(sizes, terms), key=lambda pair: pair[0])[:2]]
        common = [q for q in terms if all(q is not r for r in rare)]
        terms = rare
    some = terms[0] if len(terms) == 1 else Q.Or(terms)
    if common:
        some = Q.AndMaybe(some, common[0] if len(common) == 1 else Q.Or(common))
    required = [clause_query(c) for c in query.required]
    return Q.And(required + [some]) if required else some


def title_query(query: ParsedQuery) -> Q.Query:
    """The title holds every gram of the query."""
    terms = dict.fromkeys(g for c in query.clauses for stretch in c.grams for g in stretch)
    return Q.And([Q.Term("title_g", t, boost=TITLE_BOOST) for t in terms])


def words_query(query: ParsedQuery) -> Q.Query | None:
    """Documents holding each clause as one jieba word (知识产权, 人民法院), or None. (Clauses of several
    words — half-remembered phrases — are left to the full pass, where the literal phrase ranks first.)"""
    if not all(c.words_recall and len(c.words) == 1 for c in query.clauses):
        return None
    terms = [Q.Term("words", w) for w in dict.fromkeys(w for c in query.clauses for w in c.words)]
    return terms[0] if len(terms) == 1 else Q.And(terms)


def boost_query(query: ParsedQuery) -> Q.Query | None:
    """What only adds to the score of a match: the query's words, and the literal string itself."""
    boosts = []
    for clause in query.clauses:
        if clause.literal_only:
            continue
        boosts.extend(Q.Term("words", w, boost=WORD_BOOST) for w in dict.fromkeys(clause.words))
        if any(len(stretch) > 1 for stretch in clause.grams):
            boosts.append(_grams_query(clause, "grams", phrases=True, boost=PHRASE_BOOST))
    if not boosts:
        return None
    either = Q.Or(boosts)
    either.matcher_type = Q.Or.DEFAULT_MATCHER  # skip_to into each list, never preload them whole
    return either


@dataclass
class _Collected:
    hits: list[tuple[int, float]]  # (document number, score), best first
    count: int  # matches seen (all of them unless capped)
    capped: bool  # stopped after SCAN_LIMIT matches


class _ScanLimitedCollector(collectors.TopCollector):
    """Whoosh scores every match in Python (tens of microseconds each). A query that matches tens of
    thousands of documents stops after ``scan_limit`` of them: its total becomes an estimate and its
    ranking covers the matches seen (titles holding the query were collected in their own pass)."""

    def __init__(self, limit: int, scan_limit: int):
        super().__init__(limit=limit, usequality=False)
        self.scan_limit = scan_limit
        self.scanned = 0
        self.capped = False

    def matches(self):
        for docnum in super().matches():
            if self.scanned >= self.scan_limit:
                self.capped = True
                return
            self.scanned += 1
            yield docnum


def _collect(searcher, q: Q.Query, allowed, limit: int, scan_limit: int) -> _Collected:
    top = _ScanLimitedCollector(limit, scan_limit)
    collector = collectors.FilterCollector(top, allow=allowed) if allowed is not None else top
    searcher.search_with_collector(q, collector)
    results = collector.results()
    hits = [(docnum, float(score or 0)) for score, docnum in results.top_n]
    return _Collected(hits=hits, count=top.total, capped=top.capped)


def _collect_relaxed(searcher, q: Q.Query, allowed, exclude: set[int], limit: int) -> _Collected:
    """The best ``limit`` documents of ``q`` that ``allowed`` holds and ``exclude`` does not, every match
    scored (a scan limit would rank only the first matches in index order); the count is exact. (Whoosh's
    block-quality skipping was tried here: it skipped nothing on these queries.)"""
    top = collectors.TopCollector(limit=max(1, limit), usequality=False)
    collector = collectors.FilterCollector(top, allow=allowed, restrict=exclude or None)
    searcher.search_with_collector(q, collector)
    hits = [(docnum, float(score or 0)) for score, docnum in collector.results().top_n]
    return _Collected(hits=hits, count=top.total, capped=False)


def _estimate(q: Q.Query, reader) -> int:
    """About how many documents ``q`` matches. Whoosh adds up an Or's branches; ours overlap (the grams
    and the words of the same string), so the larger branch is the better guess."""
    if isinstance(q, Q.Or):
        return max(_estimate(sub, reader) for sub in q.subqueries)
    if isinstance(q, Q.And):
        return min(_estimate(sub, reader) for sub in q.subqueries)
    return q.estimate_size(reader)


def _postings(q: Q.Query, reader) -> int:
    """How many postings matching ``q`` reads at most (Whoosh decodes nearly every block of a long list)."""
    return sum(reader.doc_frequency(field, text) for field, text in q.iter_all_terms())


def _hits(searcher, found: list[tuple]) -> list[Hit]:
    """The page's hits with their stored fields (read only for the documents shown). ``found``: (document
    number, score) or (document number, score, partial)."""
    hits = []
    for docnum, score, *partial in found:
        stored = searcher.stored_fields(docnum)
        kind, _, object_id = stored["key"].partition(":")
        hits.append(Hit(kind=kind, id=int(object_id), score=round(score, 4), title=stored.get("title", ""),
                        partial=bool(partial and partial[0])))
    return hits


def _read_applied(directory: Path) -> int:
    try:
        return int(json.loads((directory / "applied.json").read_text())["applied_seq"])
    except (FileNotFoundError, ValueError, KeyError):
        return -1


def _write_applied(directory: Path, applied_seq: int) -> None:
    temp = directory / f".applied-{os.getpid()}.json"
    temp.write_text(json.dumps({"applied_seq": applied_seq}))
    os.replace(temp, directory / "applied.json")

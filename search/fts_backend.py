"""The index backend: SQLite FTS5 on local disk, fed with our own Chinese terms.

Our analyzer (``search.analyzer``) turns every text into space-separated terms; FTS5's ``unicode61``
tokenizer only splits them at the spaces again, so FTS5 never segments Chinese itself. Matching, phrase
checks (consecutive positions), BM25 ranking with per-column weights and counting all run in SQLite's C
code: a common query over 60,000 law articles costs milliseconds, where a pure-Python engine (Whoosh, the
previous backend) scored every match in Python and took hundreds.

Columns of ``fts`` (title and body kept apart so titles weigh more):

    tg / bg   grams: the bigram at each CJK character followed by another, else the unit (phrases, recall)
    t1 / b1   units: single characters, numbers, words of other scripts (one-term matches: 党, 2017)
    tw / bw   jieba words, English stemmed (ranking: 党建 the word above 政党建设)
    py        pinyin initials and full pinyin of the title (the fallback when nothing matches)

``docs`` holds what results are filtered and shown by (kind, audience, organizations, title); its rowid is
the fts rowid, ``object id * 4 + kind code``, so a change replaces its row without a lookup.

Layout of ``SEARCH_INDEX_DIR``::

    writer.lock        fcntl lock: the one writer of this server's index (catch-up, rebuild swap)
    current -> gen-N   symlink to the live generation; a rebuild writes gen-M and renames a new link over it
    gen-N/index.sqlite3  the index, and in its ``meta`` table the index-log sequence number it is complete
                       up to — written in the same SQLite transaction as the documents it covers
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sqlite3
import threading
import time
from pathlib import Path
from typing import Callable, Iterable

from search.analyzer import _is_cjk, gram_streams, pinyin_keys, term, word_stream
from search.engine import Access, Filters, Hit, HitPage, IndexDocument, Progress
from search.query import Clause, ParsedQuery

INDEX_FILE = "index.sqlite3"
KIND_CODES = {"course": 1, "lecture": 2, "material": 3}
TITLE_BOOST = 3.0
WORD_BOOST = 1.5
# bm25() weights in column order: tg, t1, tw, py, bg, b1, bw
WEIGHTS = (TITLE_BOOST, TITLE_BOOST, WORD_BOOST * TITLE_BOOST, 0.0, 1.0, 1.0, WORD_BOOST)
RANK = "bm25(fts, " + ", ".join(str(w) for w in WEIGHTS) + ")"
NO_ORG = "none"
COUNT_LIMIT = 1000  # matches counted exactly; beyond it the total is reported as "more than"
BUILD_BATCH = 1000

SCHEMA = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE docs (rowid INTEGER PRIMARY KEY, key TEXT NOT NULL, kind TEXT NOT NULL, title TEXT NOT NULL,
                   category TEXT NOT NULL, course TEXT NOT NULL, aud TEXT NOT NULL, org_a TEXT NOT NULL,
                   org_b TEXT NOT NULL);
CREATE VIRTUAL TABLE fts USING fts5(tg, t1, tw, py, bg, b1, bw, tokenize = 'unicode61 remove_diacritics 0');
INSERT INTO meta VALUES ('applied_seq', -1);
"""


def rowid_for(kind: str, object_id: int) -> int:
    return object_id * 4 + KIND_CODES[kind]


def key_rowid(key: str) -> int:
    kind, _, object_id = key.partition(":")
    return rowid_for(kind, int(object_id))


def doc_row(doc: IndexDocument) -> tuple:
    orgs = list(doc.org_ids[:2]) + [None, None]
    return (rowid_for(doc.kind, doc.id), doc.key, doc.kind, doc.title, doc.category or NO_ORG,
            str(doc.course_id) if doc.course_id else NO_ORG, "members" if doc.members_only else "public",
            str(orgs[0]) if orgs[0] else NO_ORG, str(orgs[1]) if orgs[1] else NO_ORG)


def fts_row(doc: IndexDocument) -> tuple:
    title_grams, title_units = gram_streams(doc.title)
    body_grams, body_units = gram_streams(doc.body)
    return (rowid_for(doc.kind, doc.id), title_grams, title_units, word_stream(doc.title),
            " ".join(pinyin_keys(doc.title)), body_grams, body_units, word_stream(doc.body))


def _connect(path: Path, write: bool = False) -> sqlite3.Connection:
    con = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
    if not write:
        con.execute("PRAGMA query_only = 1")
    return con


class FtsEngine:
    def __init__(self, base_dir: str | os.PathLike):
        self.base = Path(base_dir)
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
        return path if (path / INDEX_FILE).exists() else None

    def exists(self) -> bool:
        return self.current_dir() is not None

    @contextlib.contextmanager
    def writer_lock(self, blocking: bool = True):
        self.base.mkdir(parents=True, exist_ok=True)
        with open(self.base / "writer.lock", "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # -- the log watermark -----------------------------------------------------------------------------------

    def applied_seq(self) -> int:
        con = self.reader()
        return _read_applied(con) if con is not None else -1

    # -- writing (callers hold writer_lock) -------------------------------------------------------------------

    def apply(self, upserts: Iterable[IndexDocument], deletes: Iterable[str], applied_seq: int,
              directory: Path | None = None) -> None:
        """Deletes, upserts and the new watermark in one SQLite transaction: all or nothing."""
        directory = directory or self.current_dir()
        upserts = list(upserts)
        rows = [(doc_row(doc), fts_row(doc)) for doc in upserts]  # analyse before taking SQLite's lock
        con = _connect(directory / INDEX_FILE, write=True)
        try:
            con.execute("BEGIN IMMEDIATE")
            gone = [(key_rowid(key),) for key in deletes] + [(row[0][0],) for row in rows]
            con.executemany("DELETE FROM docs WHERE rowid = ?", gone)
            con.executemany("DELETE FROM fts WHERE rowid = ?", gone)
            con.executemany("INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [row[0] for row in rows])
            con.executemany("INSERT INTO fts (rowid, tg, t1, tw, py, bg, b1, bw) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            [row[1] for row in rows])
            con.execute("UPDATE meta SET value = ? WHERE name = 'applied_seq'", (applied_seq,))
            con.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                con.execute("ROLLBACK")
            raise
        finally:
            con.close()

    def build(self, documents: Iterable[IndexDocument], applied_seq: int, progress: Progress | None = None) -> Path:
        """Write ``documents`` into a new generation (not live yet); returns its folder."""
        directory = self._new_generation()
        try:
            con = _connect(directory / INDEX_FILE, write=True)
            con.execute("PRAGMA journal_mode = WAL")
            con.executescript(SCHEMA)
            count = 0
            batch: list[IndexDocument] = []

            def flush() -> None:
                con.execute("BEGIN")
                con.executemany("INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [doc_row(d) for d in batch])
                con.executemany("INSERT INTO fts (rowid, tg, t1, tw, py, bg, b1, bw) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                [fts_row(d) for d in batch])
                con.execute("COMMIT")
                batch.clear()

            for doc in documents:
                batch.append(doc)
                count += 1
                if len(batch) >= BUILD_BATCH:
                    flush()
                if progress:
                    progress(count)
            flush()
            con.execute("INSERT INTO fts (fts) VALUES ('optimize')")  # one segment: the fastest reads
            con.execute("UPDATE meta SET value = ? WHERE name = 'applied_seq'", (applied_seq,))
            con.close()
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        return directory

    def rebuild(self, documents: Iterable[IndexDocument], applied_seq: int, progress: Progress | None = None,
                before_swap: Callable[["FtsEngine"], None] | None = None) -> Path:
        directory = self.build(documents, applied_seq, progress)
        with self.writer_lock():
            if before_swap:
                before_swap(GenerationEngine(self, directory))
            self.swap(directory)
        return directory

    def optimize(self) -> None:
        """Merge the index into one segment (after a large catch-up; caller holds the writer lock)."""
        con = _connect(self.current_dir() / INDEX_FILE, write=True)
        try:
            con.execute("INSERT INTO fts (fts) VALUES ('optimize')")
        finally:
            con.close()

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

    def reader(self) -> sqlite3.Connection | None:
        """This thread's connection to the live generation, reopened when a rebuild swapped it."""
        directory = self.current_dir()
        if directory is None:
            return None
        state = getattr(self._local, "state", None)
        if state is not None and state[0] == os.getpid() and state[1] == directory:
            return state[2]
        if state is not None and state[0] == os.getpid():
            with contextlib.suppress(sqlite3.Error):
                state[2].close()
        con = _connect(directory / INDEX_FILE)
        self._local.state = (os.getpid(), directory, con)
        return con

    def search(self, query: ParsedQuery, access: Access, filters: Filters, offset: int, limit: int) -> HitPage:
        con = self.reader()
        if con is None or query.empty:
            return HitPage(total=0)
        conditions, params = _filter_sql(access, filters)
        page = _ranked(con, match_expression(query), conditions, params, offset, limit)
        if page.total == 0 and query.pinyin:
            page = _ranked(con, f'py : "{query.pinyin}" *', conditions, params, offset, limit)
            page.pinyin_fallback = page.total > 0
        return page

    def stats(self) -> dict:
        directory = self.current_dir()
        if directory is None:
            return {"documents": 0, "bytes": 0, "applied_seq": -1}
        con = self.reader()
        size = sum(p.stat().st_size for p in directory.iterdir() if p.is_file())
        return {"documents": con.execute("SELECT count(*) FROM docs").fetchone()[0], "bytes": size,
                "applied_seq": _read_applied(con), "directory": str(directory)}


class GenerationEngine:
    """A writer on a generation that is not live yet (the rebuild's catch-up before the swap)."""

    def __init__(self, engine: FtsEngine, directory: Path):
        self._engine = engine
        self.directory = directory

    def applied_seq(self) -> int:
        con = _connect(self.directory / INDEX_FILE)
        try:
            return _read_applied(con)
        finally:
            con.close()

    def apply(self, upserts, deletes, applied_seq: int) -> None:
        self._engine.apply(upserts, deletes, applied_seq, directory=self.directory)


# --- queries -------------------------------------------------------------------------------------------------

def _ranked(con, expression: str, conditions: list[str], params: list, offset: int, limit: int) -> HitPage:
    where = " AND ".join(["fts MATCH ?"] + conditions)
    args = [expression, *params]
    rows = con.execute(f"SELECT d.key, d.title, {RANK} AS r FROM fts JOIN docs d ON d.rowid = fts.rowid "
                       f"WHERE {where} ORDER BY r LIMIT ? OFFSET ?", [*args, limit, offset]).fetchall()
    counted = con.execute(f"SELECT count(*) FROM (SELECT 1 FROM fts JOIN docs d ON d.rowid = fts.rowid "
                          f"WHERE {where} LIMIT {COUNT_LIMIT + 1})", args).fetchone()[0]
    hits = []
    for key, title, rank in rows:
        kind, _, object_id = key.partition(":")
        hits.append(Hit(kind=kind, id=int(object_id), score=round(-float(rank), 4), title=title))
    return HitPage(total=min(counted, COUNT_LIMIT), hits=hits, total_is_lower_bound=counted > COUNT_LIMIT)


def _filter_sql(access: Access, filters: Filters) -> tuple[list[str], list]:
    conditions, params = [], []

    def one_of(column: str, values: list[str]) -> None:
        conditions.append(f"d.{column} IN ({', '.join('?' * len(values))})")
        params.extend(values)

    if not access.staff:
        one_of("aud", ["public", "members"] if access.members else ["public"])
        orgs = [NO_ORG] + [str(i) for i in access.org_ids]
        one_of("org_a", orgs)
        one_of("org_b", orgs)
        if not access.logged_in:
            one_of("kind", ["course", "material"])
    if filters.kind:
        one_of("kind", [filters.kind])
    if filters.category:
        one_of("category", [filters.category])
    if filters.course_id:
        one_of("course", [str(filters.course_id)])
    return conditions, params


def _quoted(unit: str) -> str:
    return '"' + term(unit) + '"'


def _is_bigram(gram: str) -> bool:
    return len(gram) == 2 and _is_cjk(gram[0]) and _is_cjk(gram[1])


def clause_expression(clause: Clause) -> str:
    """Literal (gram) matching for recall, jieba words for recall and ranking; see the module docstring."""
    parts = []
    for stretch in clause.grams:
        if len(stretch) == 1 and not _is_bigram(stretch[0]):
            parts.append("{t1 b1} : " + _quoted(stretch[0]))
        elif clause.literal_only:  # consecutive terms; a last lone CJK character may start a bigram
            last = stretch[-1]
            prefix = " *" if len(last) == 1 and _is_cjk(last) else ""
            parts.append('{tg bg} : "' + " ".join(term(t) for t in stretch) + '"' + prefix)
        else:  # unquoted: every gram somewhere (a superset of the literal occurrences)
            for gram in dict.fromkeys(stretch):
                parts.append(("{tg bg} : " if _is_bigram(gram) else "{t1 b1} : ") + _quoted(gram))
    grams = " AND ".join(parts)
    if clause.words_recall:  # documents holding the words, and the words' weight in the ranking
        words = " AND ".join(_quoted(w) for w in dict.fromkeys(clause.words))
        return f"(({grams}) OR ({{tw bw}} : ({words})))"
    return f"({grams})"


def match_expression(query: ParsedQuery) -> str:
    return " AND ".join(clause_expression(c) for c in query.clauses)


def _read_applied(con: sqlite3.Connection) -> int:
    try:
        row = con.execute("SELECT value FROM meta WHERE name = 'applied_seq'").fetchone()
    except sqlite3.Error:
        return -1
    return int(row[0]) if row else -1

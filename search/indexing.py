"""Keeping each server's index in step with the database.

1. Session hooks (registered once by :func:`init_app`): ``before_flush`` collects changed courses,
   lectures and materials; ``after_flush`` appends their rows to ``search_index_log`` on the same
   connection — in the same transaction as the change, so a commit and its log row stand or fall together.
2. Outside requests, a background thread in each server process (:class:`BackgroundIndexer`, started by
   gunicorn's ``post_worker_init``) runs :func:`catch_up` every ``SEARCH_WORKER_INTERVAL`` seconds and when a
   commit logged a change: the process that wins this server's writer lock applies the log rows after the
   index's watermark in batches, re-reading each object from the database (applying is idempotent), then records
   the new watermark next to the index. Without that thread (tests, CLI) a commit and a search catch up in line.
3. Sequence numbers are handed out before commit, so on PostgreSQL a later number can commit first.
   The watermark only moves over an unbroken run of numbers; rows beyond a gap are applied (once); a gap is
   skipped only when every transaction that was running when it was seen has ended (:class:`LogCursor`) —
   decided by the database's own transaction snapshots, not by any clock, so a slow commit is never missed.
"""
from __future__ import annotations

import contextlib
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from flask import Flask, current_app, has_app_context
from sqlalchemy import event, func, insert, select, text
from sqlalchemy.orm import Session, selectinload

from core import clock
from core.bulk import add_bulk_write_hook
from core.extensions import db
from core.markdown import markdown_plain_text
from courses.models import Audience, Course, CourseStatus, CourseTag, Lecture, Material
from search.analyzer import load_jieba, pinyin_keys
from search.engine import IndexDocument, doc_key
from search.models import IndexLogEntry
from search.whoosh_backend import FILL_SCAN, SCAN_LIMIT, WhooshEngine

VISIBLE_STATUSES = (CourseStatus.PUBLISHED, CourseStatus.ARCHIVED)
BATCH = 500
BULK_BATCH = 2000  # log rows per index commit when a bulk import catches up (no merging until the end)


def _should_preload(setting) -> bool:
    """``"auto"``: only in a gunicorn server, where ``--preload`` loads the dictionaries once before the workers
    fork. CLI commands and tests then skip ~230 MB and ~3 s, and load jieba only if they index or search."""
    if setting == "auto":
        return "gunicorn" in sys.modules
    return bool(setting)


def init_app(app: Flask) -> None:
    app.extensions["search"] = None  # opened on first use: the index folder may still be reconfigured
    app.extensions.setdefault("health_reports", {})["search"] = lag  # /healthz: how far behind the log
    add_bulk_write_hook(app, deferred_indexing)  # flask materials import: index once, at the end
    if _should_preload(app.config.get("SEARCH_PRELOAD", "auto")):
        load_jieba(app.config.get("SEARCH_JIEBA_CACHE_DIR") or app.instance_path)
        pinyin_keys("预热")  # pypinyin's dictionaries too, before workers fork
    if not event.contains(Session, "before_flush", _collect_changes):
        event.listen(Session, "before_flush", _collect_changes)
        event.listen(Session, "after_flush", _write_log_rows)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _forget)


def get_engine() -> WhooshEngine:
    """This app's engine on ``SEARCH_INDEX_DIR`` (default: instance/search-index)."""
    directory = Path(current_app.config.get("SEARCH_INDEX_DIR") or Path(current_app.instance_path) / "search-index")
    engine = current_app.extensions.get("search")
    if engine is None or engine.base != directory:
        load_jieba(current_app.config.get("SEARCH_JIEBA_CACHE_DIR") or current_app.instance_path)  # if not preloaded
        engine = current_app.extensions["search"] = WhooshEngine(
            directory, scan_limit=current_app.config.get("SEARCH_SCAN_LIMIT", SCAN_LIMIT),
            fill_scan=current_app.config.get("SEARCH_FILL_SCAN", FILL_SCAN))
    return engine


# --- the log ---------------------------------------------------------------------------------------------

def _kind_of(obj) -> tuple[str, int | None] | None:
    if isinstance(obj, Course):
        return "course", obj.id
    if isinstance(obj, Lecture):
        return "lecture", obj.id
    if isinstance(obj, Material):
        return "material", obj.id
    if isinstance(obj, CourseTag):
        return "course", obj.course_id
    return None


def _collect_changes(session, flush_context, instances) -> None:
    pending = session.info.setdefault("search_pending", [])
    for obj in list(session.new) + list(session.deleted):
        if _kind_of(obj):
            pending.append(obj)
    for obj in session.dirty:
        if _kind_of(obj) and session.is_modified(obj, include_collections=False):
            pending.append(obj)


def _write_log_rows(session, flush_context) -> None:
    pending = session.info.pop("search_pending", None)
    if not pending:
        return
    rows = []
    for obj in pending:
        kind, object_id = _kind_of(obj)
        if object_id is None and isinstance(obj, CourseTag) and obj.course is not None:
            object_id = obj.course.id
        if object_id is not None and (kind, object_id) not in rows:
            rows.append((kind, object_id))
    if rows:
        now = clock.utcnow()
        session.connection().execute(insert(IndexLogEntry.__table__),
                                     [{"kind": k, "object_id": i, "at": now} for k, i in rows])
        session.info["search_logged"] = True


def _after_commit(session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT was released (SQLAlchemy fires after_commit for it too): wait for the real commit
    if not session.info.pop("search_logged", False) or not has_app_context() or session.info.get("search_deferred"):
        return
    indexer = current_app.extensions.get("search_indexer")
    if indexer is not None and indexer.thread.is_alive():
        indexer.wake.set()  # applied outside this request
        return
    if current_app.config.get("SEARCH_SYNC_ON_COMMIT", True) and "search" in current_app.extensions:
        try:
            catch_up()
        except Exception:  # the log holds the change; the next catch-up applies it
            current_app.logger.exception("search catch-up after commit failed")


@contextlib.contextmanager
def deferred_indexing():
    """For bulk writes (``flask materials import``): commits inside only log their changes; one catch-up
    at the end applies them all in large batches and merges the index's segments once. If the block
    fails, the log still holds every committed change for the next catch-up."""
    session = db.session()
    session.info["search_deferred"] = True
    try:
        yield
    finally:
        session.info.pop("search_deferred", None)
    if not (current_app.config.get("SEARCH_SYNC_ON_COMMIT", True) and "search" in current_app.extensions):
        return  # the next search or `flask search catch-up` applies the log
    if catch_up(blocking=True, bulk=True) > BULK_BATCH:  # more than one unmerged segment
        engine = get_engine()
        with engine.writer_lock():
            engine.optimize()


def _forget(session) -> None:
    """A rollback (also of a savepoint) drops what was collected; ``search_logged`` stays: a catch-up
    after the commit that has nothing to do costs one query."""
    session.info.pop("search_pending", None)


# --- documents from the database -------------------------------------------------------------------------

def markdown_text(markdown: str) -> str:
    """Markdown as its reader sees it (indexed and shown in snippets: no ``**`` or ``#``)."""
    return markdown_plain_text(markdown)


def material_text(material: Material) -> str:
    """A material's text as its reading page shows it (Markdown files rendered)."""
    return markdown_text(material.text) if material.file_kind == "md" else material.text or ""


def course_visible(course: Course | None) -> bool:
    return course is not None and course.status in VISIBLE_STATUSES


def document_for(obj) -> IndexDocument | None:
    """The index document for ``obj``, or None when it must not be in the index (drafts, deleted)."""
    if isinstance(obj, Course):
        if not course_visible(obj):
            return None
        return IndexDocument(kind="course", id=obj.id, title=obj.title,
                             body="\n".join([markdown_text(obj.summary), " ".join(obj.tags)]),
                             category=obj.category or "",
                             course_id=obj.id, members_only=obj.audience == Audience.MEMBERS,
                             org_ids=_orgs(obj.org_id), archived=obj.status == CourseStatus.ARCHIVED)
    if isinstance(obj, Lecture):
        course = obj.course
        if obj.deleted_at is not None or not course_visible(course):
            return None
        body = "\n".join(filter(None, [markdown_text(obj.body_markdown), obj.place or ""]))
        return IndexDocument(kind="lecture", id=obj.id, title=obj.title, body=body, category=course.category or "",
                             course_id=course.id, members_only=course.audience == Audience.MEMBERS,
                             org_ids=_orgs(course.org_id), archived=course.status == CourseStatus.ARCHIVED)
    if isinstance(obj, Material):
        course = obj.course
        if obj.deleted_at is not None or (course is not None and not course_visible(course)):
            return None
        members_only = obj.audience == Audience.MEMBERS or (course is not None and course.audience == Audience.MEMBERS)
        return IndexDocument(kind="material", id=obj.id, title=obj.title, body=material_text(obj),
                             category=obj.category or "", course_id=obj.course_id, members_only=members_only,
                             org_ids=_orgs(obj.org_id, course.org_id if course else None),
                             archived=bool(course is not None and course.status == CourseStatus.ARCHIVED))
    return None


def _orgs(*org_ids) -> tuple[int, ...]:
    return tuple(dict.fromkeys(i for i in org_ids if i))


MODELS = {"course": Course, "lecture": Lecture, "material": Material}


def _documents_for_keys(session: Session, keys: set[tuple[str, int]]) -> tuple[list[IndexDocument], list[str]]:
    """Upserts and deletes for the logged ``keys``; a course brings its lectures and materials along
    (their visibility follows the course's status, audience and organization)."""
    wanted = {kind: {i for k, i in keys if k == kind} for kind in MODELS}
    if wanted["course"]:
        course_ids = list(wanted["course"])
        wanted["lecture"] |= set(session.scalars(select(Lecture.id).where(Lecture.course_id.in_(course_ids))))
        wanted["material"] |= set(session.scalars(select(Material.id).where(Material.course_id.in_(course_ids))))
    upserts, deletes = [], []
    for kind, ids in wanted.items():
        if not ids:
            continue
        model = MODELS[kind]
        found = {}
        id_list = sorted(ids)
        for start in range(0, len(id_list), 500):
            for obj in session.scalars(select(model).where(model.id.in_(id_list[start:start + 500]))):
                found[obj.id] = obj
        for object_id in id_list:
            doc = document_for(found.get(object_id))
            if doc is None:
                deletes.append(doc_key(kind, object_id))
            else:
                upserts.append(doc)
    return upserts, deletes


def all_documents(session: Session) -> Iterator[IndexDocument]:
    """Every document that belongs in the index, read in batches."""
    for model in (Course, Lecture, Material):
        stmt = select(model).order_by(model.id).execution_options(yield_per=BATCH)
        if model is Course:
            stmt = stmt.where(Course.status.in_(VISIBLE_STATUSES))
        elif model is Lecture:
            stmt = stmt.where(Lecture.deleted_at.is_(None)).options(selectinload(Lecture.course))
        else:
            stmt = stmt.where(Material.deleted_at.is_(None)).options(selectinload(Material.course))
        for obj in session.scalars(stmt):
            doc = document_for(obj)
            if doc is not None:
                yield doc


def count_candidates(session: Session) -> int:
    return sum(session.scalar(select(func.count()).select_from(m)) or 0 for m in (Course, Lecture, Material))


# --- applying the log ------------------------------------------------------------------------------------

_LOG_HEAD = select(func.max(IndexLogEntry.seq))  # built once: asked before every search
# The transactions writing in this database now (other than ours), by transaction id.
_RUNNING = text("SELECT backend_xid::text::bigint FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()")


def log_head(session: Session | None = None) -> int:
    session = session or db.session
    return session.connection().execute(_LOG_HEAD).scalar() or 0


@dataclass
class LogCursor:
    """What this process knows about the log beyond an index's watermark (in memory; after a restart it is
    worked out again, at the cost of re-applying a few rows).

    ``gap_at``/``gap_xids``: the watermark where a gap was first seen and the transactions (ids) writing in this
    database then. Sequence numbers are handed out before commit, so a missing number below a committed one is
    either a transaction still running or one rolled back. The transaction holding it had written its content rows
    (so had an id) before the later number was handed out, so it was among ``gap_xids``; once none of them is
    running any more, a number still missing was rolled back. No clock is involved: a transaction committed any
    time later is seen.
    ``applied``: numbers beyond the watermark already applied (not applied again while the gap stays open)."""

    gap_at: int = -1
    gap_xids: frozenset = frozenset()
    applied: set = field(default_factory=set)


_cursors: dict[str, LogCursor] = {}


def _cursor(engine) -> LogCursor:
    key = str(getattr(engine, "directory", None) or engine.base)
    return _cursors.setdefault(key, LogCursor())


def settled_watermark(session: Session, start: int, seqs: list[int], cursor: LogCursor | None = None,
                      snapshot: frozenset | None = None) -> int:
    """How far the watermark may move from ``start`` over the committed ``seqs`` (ascending): across an unbroken
    run, and across gaps that can no longer fill. SQLite runs one writing transaction at a time, so a number
    missing below a committed one was rolled back. PostgreSQL: see :class:`LogCursor`; ``snapshot`` is the
    set of transactions running just before ``seqs`` were read."""
    cursor = cursor or LogCursor()
    postgres = session.get_bind().dialect.name == "postgresql"
    watermark = start
    for seq in seqs:
        if seq == watermark + 1:
            watermark = seq
            continue
        if not postgres:
            watermark = seq
            continue
        if snapshot is None:
            break
        if cursor.gap_at == watermark and not (cursor.gap_xids & snapshot):
            watermark = seq  # every transaction that could have filled the gap has ended
            continue
        if cursor.gap_at != watermark:
            cursor.gap_at, cursor.gap_xids = watermark, snapshot
        break
    return watermark


def _snapshot(session: Session) -> frozenset | None:
    if session.get_bind().dialect.name != "postgresql":
        return None
    return frozenset(session.execute(_RUNNING).scalars())


def apply_log(engine, session: Session, max_batches: int | None = None, bulk: bool = False) -> int:
    """Apply log rows after ``engine``'s watermark (caller holds the writer lock). Returns rows applied.
    ``bulk``: bigger batches, committed without merging segments (optimize once afterwards)."""
    size = BULK_BATCH if bulk else BATCH
    cursor = _cursor(engine)
    applied = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        start = max(engine.applied_seq(), 0)
        snapshot = _snapshot(session)  # before the rows: what it saw running may still commit
        rows = session.execute(select(IndexLogEntry.seq, IndexLogEntry.kind, IndexLogEntry.object_id)
                               .where(IndexLogEntry.seq > start).order_by(IndexLogEntry.seq).limit(size)).all()
        if not rows:
            break
        watermark = settled_watermark(session, start, [r.seq for r in rows], cursor, snapshot)
        fresh = [r for r in rows if r.seq not in cursor.applied]
        if not fresh and watermark == start:
            session.rollback()
            break  # waiting for a gap to fill; everything beyond it is applied already
        upserts, deletes = _documents_for_keys(session, {(r.kind, r.object_id) for r in fresh})
        session.rollback()  # end the read before the index commit (SQLite writers wait for readers)
        engine.apply(upserts, deletes, watermark, **({"merge": False} if bulk else {}))
        cursor.applied = {seq for seq in cursor.applied | {r.seq for r in fresh} if seq > watermark}
        applied += len(fresh)
        batches += 1
        if watermark == start or len(rows) < size:
            break  # waiting for a gap to fill, or done
    return applied


def catch_up(blocking: bool = False, bulk: bool = False) -> int:
    """Bring this server's index up to the log. Without ``blocking``, returns 0 at once when another
    worker holds the writer lock (it is applying the log). Creates the index when there is none.
    ``bulk``: see :func:`apply_log`."""
    engine = get_engine()
    total = 0
    for _attempt in range(3):  # re-check after releasing: a commit may have come in meanwhile
        with engine.writer_lock(blocking) as acquired:
            if not acquired:
                return total
            with Session(db.engine) as session:
                if not engine.exists():
                    _build_into_empty(engine, session)
                total += apply_log(engine, session, bulk=bulk)
        with Session(db.engine) as session:
            if log_head(session) <= engine.applied_seq() or _cursor(engine).gap_at == engine.applied_seq():
                break
    return total


def _build_into_empty(engine, session: Session) -> None:
    """First start on this server: index everything the database holds (lock held)."""
    snapshot = _snapshot(session)
    seqs = list(session.scalars(select(IndexLogEntry.seq).order_by(IndexLogEntry.seq)))
    watermark = settled_watermark(session, 0, seqs, _cursor(engine), snapshot)
    engine.swap(engine.build(all_documents(session), watermark))  # live only once complete


def lag() -> dict:
    """How far this server's index is behind the log: for /healthz."""
    engine = get_engine()
    head = log_head()
    applied = engine.applied_seq()
    return {"log_head": head, "applied": applied, "behind": max(head - max(applied, 0), 0),
            "index": engine.exists(), "background": indexer_running()}


_behind: dict[str, tuple[int, int, float]] = {}  # index folder -> (log head, watermark, when) left behind


def ensure_fresh() -> None:
    """Before a search, in a process without a background indexer (tests, the embedded single server without
    gunicorn): apply what was committed since the index last moved. While a gap in the log is open the
    watermark cannot move; then try at most every ``SEARCH_CATCH_UP_INTERVAL`` seconds. With a background
    indexer running, searches never wait for indexing."""
    if indexer_running():
        return
    engine = get_engine()
    head = log_head()
    applied = engine.applied_seq()
    if engine.exists() and head <= applied:
        return
    key = str(engine.base)
    previous = _behind.get(key)
    interval = current_app.config.get("SEARCH_CATCH_UP_INTERVAL", 0.5)
    if previous and previous[:2] == (head, applied) and time.monotonic() - previous[2] < interval:
        return
    catch_up()
    if head > engine.applied_seq():
        _behind[key] = (head, engine.applied_seq(), time.monotonic())
    else:
        _behind.pop(key, None)


# --- indexing outside requests -----------------------------------------------------------------------------

class BackgroundIndexer:
    """A daemon thread in each server process that applies the log every ``SEARCH_WORKER_INTERVAL`` seconds, and
    at once when a commit in this process logged a change. Requests never index; workers of one server share
    the index on local disk, and its writer lock lets one of them apply at a time."""

    def __init__(self, app: Flask, interval: float):
        self.app = app
        self.interval = interval
        self.wake = threading.Event()
        self.stopped = False
        self.thread = threading.Thread(target=self.run, name="search-indexer", daemon=True)

    def stop(self) -> None:
        self.stopped = True
        self.wake.set()
        self.thread.join(30)

    def run(self) -> None:
        while not self.stopped:
            self.wake.wait(self.interval)
            self.wake.clear()
            if self.stopped:
                return
            with self.app.app_context():
                try:
                    catch_up()
                except Exception:  # the log keeps every change; the next round applies it
                    self.app.logger.exception("background search indexing failed")
                finally:
                    db.session.remove()


def start_indexer(app: Flask) -> BackgroundIndexer | None:
    """Start this process's background indexer (gunicorn's ``post_worker_init`` calls it)."""
    interval = float(app.config.get("SEARCH_WORKER_INTERVAL", 1.0))
    if interval <= 0:
        return None
    indexer = app.extensions.get("search_indexer")
    if indexer is None or not indexer.thread.is_alive():
        indexer = app.extensions["search_indexer"] = BackgroundIndexer(app, interval)
        indexer.thread.start()
    return indexer


def indexer_running() -> bool:
    indexer = current_app.extensions.get("search_indexer")
    return indexer is not None and indexer.thread.is_alive()


def rebuild(progress=None) -> dict:
    """Build a new index from the database beside the live one, catch it up, and swap it in."""
    engine = get_engine()
    with Session(db.engine) as session:
        start = max(engine.applied_seq(), 0)
        snapshot = _snapshot(session)
        seqs = list(session.scalars(select(IndexLogEntry.seq).where(IndexLogEntry.seq > start)
                                    .order_by(IndexLogEntry.seq)))
        watermark = settled_watermark(session, start, seqs, _cursor(engine), snapshot)
        session.rollback()
        documents = all_documents(session)
        count = 0

        def counted(docs: Iterable[IndexDocument]):
            nonlocal count
            for doc in docs:
                count += 1
                yield doc

        def before_swap(new_engine):
            with Session(db.engine) as catch_session:
                apply_log(new_engine, catch_session)

        engine.rebuild(counted(documents), watermark, progress=progress, before_swap=before_swap)
    return {"documents": count, **engine.stats()}

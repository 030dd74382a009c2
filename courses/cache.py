"""Short-lived, per-process caches for the learner pages (catalog facets and cards, syllabus HTML).

Nothing cached decides who may see what: every page still loads the course or lecture row it shows and
checks visibility on it. What is cached is presentation — rendered HTML and lists of ids — keyed by
what it depends on (the visibility key of the viewer, the filters, the locale, the course's
``updated_at``).

Freshness:

* On this server, a commit that changed a course, lecture, tag, material, organization or required-course
  assignment clears the
  cache at once (SQLAlchemy session events: ``after_flush`` notes it, ``after_commit`` clears).
* Course-level entries (syllabus, outline) also carry the course's ``updated_at``, which the authoring
  services bump on every lecture or tag change; every server reads that row per request, so a syllabus
  is never stale anywhere.
* Catalog entries (facets, the page of cards, counts) on *other* servers are bounded by
  ``COURSE_CACHE_SECONDS`` (default 30): a course published, archived or renamed elsewhere appears or
  disappears within that time. ``COURSE_CACHE_SECONDS = 0`` switches the caches off.

Size: at most ``COURSE_CACHE_MAX_ENTRIES`` entries per worker process (the older half is dropped when full);
an entry is a few kB (a syllabus) to about 30 kB (a page of catalog cards). Title searches (``?q=``) are not
cached.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from itertools import islice

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

MAX_ENTRIES = 2048
_WATCHED: tuple[type, ...] = ()


class ContentCache:
    def __init__(self, ttl: float, max_entries: int = MAX_ENTRIES):
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, object]] = {}

    def get(self, key: Hashable, build: Callable[[], object]):
        if self.ttl <= 0:
            return build()
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = build()
        if len(self._entries) >= self.max_entries:  # drop the older half (dicts keep insertion order)
            for old_key in list(islice(self._entries, self.max_entries // 2)):
                del self._entries[old_key]
        self._entries[key] = (now + self.ttl, value)
        return value

    def clear(self) -> None:
        self._entries.clear()


def init_app(app: Flask) -> None:
    app.extensions["courses_cache"] = ContentCache(app.config["COURSE_CACHE_SECONDS"],
                                                   app.config["COURSE_CACHE_MAX_ENTRIES"])
    _listen_once()


def content_cache() -> ContentCache:
    return current_app.extensions["courses_cache"]


def cached(key: Hashable, build: Callable[[], object]):
    return content_cache().get(key, build)


# --- invalidation on commit --------------------------------------------------------------------

def _watched() -> tuple[type, ...]:
    global _WATCHED
    if not _WATCHED:
        from accounts.models import Organization
        from courses.models import Course, CourseTag, Lecture, Material, RequiredAssignment

        _WATCHED = (Course, CourseTag, Lecture, Material, Organization, RequiredAssignment)
    return _WATCHED


def _after_flush(session, _context) -> None:
    if session.info.get("courses_changed"):
        return
    watched = _watched()
    for collection in (session.new, session.dirty, session.deleted):
        if any(isinstance(obj, watched) for obj in collection):
            session.info["courses_changed"] = True
            return


def _on_orm_execute(state) -> None:
    """Bulk ``update(Course)``/``delete(Lecture)`` through the session count as changes too."""
    if (state.is_update or state.is_delete) and not state.session.info.get("courses_changed"):
        mapper = state.bind_arguments.get("mapper")
        if mapper is not None and issubclass(mapper.class_, _watched()):
            state.session.info["courses_changed"] = True


def _after_commit(session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT was released (after_commit fires for it too): wait for the real commit
    if session.info.pop("courses_changed", False) and has_app_context():
        cache = current_app.extensions.get("courses_cache")
        if cache is not None:
            cache.clear()


_LISTENING = False


def _listen_once() -> None:
    global _LISTENING
    if _LISTENING:
        return
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "do_orm_execute", _on_orm_execute)
    event.listen(Session, "after_commit", _after_commit)
    _LISTENING = True

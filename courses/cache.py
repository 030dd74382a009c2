"""The learner pages' shared cache: Flask-Caching over data that is the same for everyone, keyed by a content
version that every server reads from the database.

* The backend is Flask-Caching's: ``SimpleCache`` (this process) by default, ``RedisCache`` when ``REDIS_URL`` is
  set, so every worker of every server shares one cache (``core/cache.py`` configures it).
* ``content_version`` is one row. A transaction that adds, changes or deletes a course, lecture, tag, material,
  organization or required-course assignment (noticed by SQLAlchemy's ``after_flush`` and, for bulk statements,
  ``do_orm_execute``) sets it to a new random number just before it commits (``before_commit``): *in the same
  transaction*, holding the row's lock only for the commit itself, so a long transaction does not hold up
  other writers. Each request reads the row once,
  and every key built by :func:`cached` holds it, so a change is seen by every server at its next request and a
  rolled-back change leaves the old version — whose entries match the old content. A random number rather than a
  counter: a counter rolled back and incremented again would name two different contents with one key.
* What is cached decides nobody's access on its own: the catalog keeps lists of course ids per viewer kind
  (``visibility.visibility_key``: role, category, organization chain) and the page loads those rows afresh and
  checks them with ``visibility.can_view_course``; course and lecture pages check the fresh row before they look
  at any cached part. Personal parts (name, CSRF token, progress, badges, flashes) are rendered per request.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable, Hashable

from flask import Flask, g, has_request_context
from sqlalchemy import BigInteger, DDL, Integer, event, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.cache import cache
from core.extensions import db
from accounts.models import Organization

_WATCHED: tuple[type, ...] = ()


class ContentVersion(db.Model):
    """One row (id 1): the version of everything the learner pages cache."""

    __tablename__ = "content_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


event.listen(ContentVersion.__table__, "after_create",
             DDL("INSERT INTO content_version (id, version) VALUES (1, 0)"))


def init_app(app: Flask) -> None:
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _on_orm_execute)
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_commit", _forget)
        event.listen(Session, "after_rollback", _forget)


def content_version() -> int:
    """The committed version as this request sees it (read once per request)."""
    if has_request_context() and "content_version" in g:
        return g.content_version
    version = db.session.connection().execute(select(ContentVersion.version).where(ContentVersion.id == 1)) \
        .scalar() or 0
    if has_request_context():
        g.content_version = version
    return version


def content_version_column():
    """The version as a column of another statement (a page reads it with its own rows)."""
    table = ContentVersion.__table__
    return select(table.c.version).where(table.c.id == 1).scalar_subquery().label("content_version")


def note_version(version) -> None:
    """The version a page's own statement read (see ``content_version_column``): no statement of its own."""
    if has_request_context() and "content_version" not in g:
        g.content_version = version or 0


def cached(key: Hashable, build: Callable[[], object], timeout: int | None = None):
    """``build()``'s value under ``key`` at the current content version (built and stored on a miss)."""
    full_key = "ops:" + repr((content_version(),) + tuple(key))
    value = cache.get(full_key)
    if value is None:
        value = build()
        cache.set(full_key, value, timeout=timeout)
    return value


# --- bumping the version in the writing transaction -------------------------------------------------------

def _watched() -> tuple[type, ...]:
    global _WATCHED
    if not _WATCHED:
        from courses.models import Course, CourseTag, Lecture, Material, RequiredAssignment

        _WATCHED = (Course, CourseTag, Lecture, Material, Organization, RequiredAssignment)
    return _WATCHED


def bump(connection) -> None:
    table = ContentVersion.__table__
    version = secrets.randbits(62)
    if not connection.execute(update(table).where(table.c.id == 1).values(version=version)).rowcount:
        connection.execute(insert(table).values(id=1, version=version))  # the row was deleted (a wiped table)


def _after_flush(session, _context) -> None:
    if session.info.get("content_changed"):
        return
    watched = _watched()
    for collection in (session.new, session.dirty, session.deleted):
        if any(isinstance(obj, watched) for obj in collection):
            session.info["content_changed"] = True
            return


def _on_orm_execute(state) -> None:
    """Bulk ``update(Course)``/``delete(Lecture)`` through the session change content too."""
    if (state.is_update or state.is_delete) and not state.session.info.get("content_changed"):
        mapper = state.bind_arguments.get("mapper")
        if mapper is not None and issubclass(mapper.class_, _watched()):
            state.session.info["content_changed"] = True


def _before_commit(session) -> None:
    session.flush()  # commit would flush after this hook: a change noticed only by that flush must count
    if session.info.get("content_changed"):
        bump(session.connection())
        if has_request_context():
            g.pop("content_version", None)


def _forget(session) -> None:
    """After the real commit or rollback (not a savepoint's: the outer transaction may still commit its
    changes)."""
    if not session.in_nested_transaction():
        session.info.pop("content_changed", None)

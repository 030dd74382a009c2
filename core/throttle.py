"""Throttles: an atomic counter per key and window, shared by every server (login failures, check-in codes).

``hit(key, limit, window)`` counts one attempt and says whether it is allowed: the count is incremented
FIRST, atomically, and the attempt is allowed only if the new count is within ``limit``. So a burst of
concurrent attempts is cut at exactly ``limit`` (counting after checking lets a burst through). An attempt
that turns out not to count (a right password, a right code) is handed back with ``forgive(key)``.

A window starts with a key's first hit and lasts ``window`` seconds; the hits after it start a new one.

Storage: the ``throttle_counters`` table, one row per key, incremented by one ``INSERT ... ON CONFLICT DO
UPDATE ... RETURNING`` (PostgreSQL and SQLite alike: the row lock / the write lock makes it atomic across
workers and servers on one database). It runs in the request's session: the caller commits, and should
commit right after the hit so the row lock is not held while the attempt is checked (a password hash).
When ``REDIS_URL`` is set, Redis ``INCR`` with an expiry does the same without the database.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import DateTime, Integer, String, case, delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from core import clock
from core.extensions import db


class ThrottleCounter(db.Model):
    """Hits of one throttle key in its current window."""

    __tablename__ = "throttle_counters"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
    window_started_at: Mapped[datetime] = mapped_column(DateTime, index=True)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    hits: int
    retry_after: int  # seconds until the window ends (0 when allowed)


def _redis():
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    client = current_app.extensions.get("throttle_redis")
    if client is None:
        import redis

        client = current_app.extensions["throttle_redis"] = redis.Redis.from_url(url)
    return client


def _key(key: str) -> str:
    return key[:200]


def hit(key: str, limit: int, window_seconds: int) -> Decision:
    """Count one attempt under ``key``; allowed while the window holds at most ``limit`` of them."""
    key = _key(key)
    redis_client = _redis()
    if redis_client is not None:
        redis_key = "throttle:" + key
        pipe = redis_client.pipeline()
        pipe.incr(redis_key)
        pipe.expire(redis_key, window_seconds, nx=True)  # the window starts with its first hit
        pipe.ttl(redis_key)
        hits, _, ttl = pipe.execute()
        hits = int(hits)
        return Decision(hits <= limit, hits, 0 if hits <= limit else max(1, int(ttl)))
    now = clock.utcnow()
    table = ThrottleCounter.__table__
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(table).values(key=key, hits=1, window_started_at=now)
    expired = table.c.window_started_at <= now - timedelta(seconds=window_seconds)
    stmt = stmt.on_conflict_do_update(index_elements=[table.c.key], set_={
        "hits": case((expired, 1), else_=table.c.hits + 1),
        "window_started_at": case((expired, stmt.excluded.window_started_at), else_=table.c.window_started_at),
    }).returning(table.c.hits, table.c.window_started_at)
    hits, started = db.session.execute(stmt).one()
    if hits <= limit:
        return Decision(True, hits, 0)
    return Decision(False, hits, max(1, int((started + timedelta(seconds=window_seconds) - now).total_seconds())))


def forgive(key: str) -> None:
    """Hand back one hit (the attempt was right after all)."""
    key = _key(key)
    redis_client = _redis()
    if redis_client is not None:
        redis_client.eval("if redis.call('GET', KEYS[1]) and tonumber(redis.call('GET', KEYS[1])) > 0 then "
                          "return redis.call('DECR', KEYS[1]) end return 0", 1, "throttle:" + key)
        return
    db.session.execute(update(ThrottleCounter).where(ThrottleCounter.key == key, ThrottleCounter.hits > 0)
                       .values(hits=ThrottleCounter.hits - 1))


def reset(*keys: str) -> None:
    """Forget every hit of ``keys`` (a successful login clears its account's failures)."""
    keys = tuple(_key(k) for k in keys)
    redis_client = _redis()
    if redis_client is not None:
        redis_client.delete(*("throttle:" + k for k in keys))
        return
    db.session.execute(delete(ThrottleCounter).where(ThrottleCounter.key.in_(keys)))


def purge_expired(older_than_seconds: int = 86400) -> int:
    """Delete counters whose window started long ago (housekeeping; a stale row is harmless)."""
    cutoff = clock.utcnow() - timedelta(seconds=older_than_seconds)
    return db.session.execute(delete(ThrottleCounter).where(ThrottleCounter.window_started_at < cutoff)).rowcount

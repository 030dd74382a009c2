"""Writing to the training-hour ledger. Other domains (quizzes, offline classes) credit through here."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import clock
from core.extensions import db
from learning.models import HourEntry, HourSource


def record_entry(*, user_id: int, seconds: int, source: HourSource, source_ref: str,
                 occurred_at: datetime | None = None, course_id: int | None = None,
                 lecture_id: int | None = None, recorded_by_id: int | None = None, note: str = "") -> HourEntry:
    """Add a ledger entry; idempotent on (source, source_ref): recording the same event again returns the
    entry already there and credits nothing more."""
    existing = db.session.scalar(select(HourEntry).where(HourEntry.source == source,
                                                         HourEntry.source_ref == source_ref))
    if existing is not None:
        return existing
    entry = HourEntry(user_id=user_id, seconds=int(seconds), source=source, source_ref=source_ref,
                      occurred_at=occurred_at or clock.utcnow(), course_id=course_id, lecture_id=lecture_id,
                      recorded_by_id=recorded_by_id, note=note[:500])
    try:
        with db.session.begin_nested():  # a concurrent writer of the same event loses cleanly
            db.session.add(entry)
            db.session.flush()
    except IntegrityError:
        return db.session.scalar(select(HourEntry).where(HourEntry.source == source,
                                                         HourEntry.source_ref == source_ref))
    return entry

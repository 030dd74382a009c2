"""Writing to the training-hour ledger. Other domains (quizzes, offline classes) credit through here."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from core import clock
from core.database import insert_unless_taken
from core.extensions import db
from learning.models import HourEntry, HourSource


def record_entry(*, user_id: int, seconds: int, source: HourSource, source_ref: str,
                 occurred_at: datetime | None = None, course_id: int | None = None,
                 lecture_id: int | None = None, recorded_by_id: int | None = None, note: str = "") -> HourEntry:
    """Add a ledger entry; idempotent on (source, source_ref): recording the same event again, even from two
    transactions at once, credits nothing more and returns the entry already there. One statement when the
    entry is new (``INSERT … ON CONFLICT DO NOTHING`` on the ledger's unique key)."""
    created = insert_unless_taken(HourEntry, {
        "user_id": user_id, "seconds": int(seconds), "source": source, "source_ref": source_ref,
        "occurred_at": occurred_at or clock.utcnow(), "course_id": course_id, "lecture_id": lecture_id,
        "recorded_by_id": recorded_by_id, "note": note[:500]},
        returning=(HourEntry,), index_elements=["source", "source_ref"])
    if created is not None:
        return created[0]
    return db.session.scalar(select(HourEntry).where(HourEntry.source == source, HourEntry.source_ref == source_ref))

"""The index log: every change to a course, lecture or material appends a row in the same transaction.

The database is the source of truth; each server's index on local disk applies the log in order of
``seq`` and records how far it got (see ``search.indexing``). A change that was committed is in the log,
so a worker that dies after answering loses nothing: whoever catches up next applies it.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core import clock
from core.extensions import db


class IndexLogEntry(db.Model):
    __tablename__ = "search_index_log"
    __table_args__ = {"sqlite_autoincrement": True}  # never reuse a sequence number

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))  # course, lecture, material
    object_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime, default=lambda: clock.utcnow(), index=True)

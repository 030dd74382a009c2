"""Messages, one row per recipient."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core import clock
from core.extensions import db


class Message(db.Model):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))  # "reminder", "course_assigned", "due_soon", ...
    text: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(300), default="")  # a path inside the site, or ""
    sender_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=lambda: clock.utcnow())
    read_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    # an automatic message sent at most once (e.g. "due_soon:course:12:2026"); unique per member
    dedupe_key: Mapped[Optional[str]] = mapped_column(String(100))

    __table_args__ = (
        Index("ix_messages_user_id_id", "user_id", "id"),
        Index("uq_messages_user_id_dedupe_key", "user_id", "dedupe_key", unique=True),
    )

"""The learning record: enrollments, lecture progress, and the training-hour ledger."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Optional

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import User, enum_column
from core import clock
from core.extensions import db
from courses.models import Course, Lecture


class EnrollmentSource(str, enum.Enum):
    SELF = "self"  # the learner enrolled
    ASSIGNED = "assigned"  # a required-course assignment enrolled them


class Enrollment(db.Model):
    __tablename__ = "enrollments"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    source: Mapped[EnrollmentSource] = mapped_column(enum_column(EnrollmentSource), default=EnrollmentSource.SELF)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=lambda: clock.utcnow())
    completed_at: Mapped[Optional[datetime]] = mapped_column(DateTime)

    user: Mapped[User] = relationship()
    course: Mapped[Course] = relationship()

    __table_args__ = (UniqueConstraint("user_id", "course_id", name="uq_enrollments_user_course"),)


class LectureProgress(db.Model):
    """A learner's state on one lecture. ``completed_at`` is set by the server's rules (video: 95% of
    the duration watched, from the watched intervals; text: the reading time reached; offline: checked in)."""

    __tablename__ = "lecture_progress"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    lecture_id: Mapped[int] = mapped_column(ForeignKey("lectures.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=lambda: clock.utcnow())
    completed_at: Mapped[Optional[datetime]] = mapped_column(DateTime)

    lecture: Mapped[Lecture] = relationship()

    __table_args__ = (UniqueConstraint("user_id", "lecture_id", name="uq_lecture_progress_user_lecture"),)


class HourSource(str, enum.Enum):
    ONLINE = "online"  # heartbeats of a study session
    OFFLINE = "offline"  # an offline-class check-in
    QUIZ = "quiz"  # a passed quiz attempt
    COURSE = "course"  # fixed credit for a completed course
    MANUAL = "manual"  # an organizer's entry or reversal


class HourEntry(db.Model):
    """One credit (or, negative, a reversal) in the training-hour ledger. Never updated or deleted:
    totals are SQL sums. ``source`` + ``source_ref`` name what earned it (a heartbeat, a check-in,
    a quiz attempt ...); the pair is unique so the same event can never be credited twice."""

    __tablename__ = "hour_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    seconds: Mapped[int] = mapped_column(Integer)
    source: Mapped[HourSource] = mapped_column(enum_column(HourSource))
    source_ref: Mapped[str] = mapped_column(String(100))  # e.g. "attempt:42", "session:7:seq:3"
    occurred_at: Mapped[datetime] = mapped_column(DateTime, default=lambda: clock.utcnow())
    course_id: Mapped[Optional[int]] = mapped_column(ForeignKey("courses.id"))
    lecture_id: Mapped[Optional[int]] = mapped_column(ForeignKey("lectures.id"))
    recorded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(String(500), default="")

    __table_args__ = (
        UniqueConstraint("source", "source_ref", name="uq_hour_entries_source_ref"),
        Index("ix_hour_entries_user_occurred", "user_id", "occurred_at"),
    )

"""The learning record: enrollments, lecture progress, and the training-hour ledger."""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Optional

from sqlalchemy import (Boolean, DateTime, Float, ForeignKey, Index, Integer, Numeric, String, Text,
                        UniqueConstraint, event, inspect, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import User, enum_column
from core import clock
from core.extensions import db
from courses.models import Course, Lecture
from learning import totals


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


class LectureExcusal(db.Model):
    """An organizer's decision that a member need not attend a past offline lecture: excused (免修) or made up
    another way (已补课). It completes the lecture for the member; one per member and lecture."""

    __tablename__ = "lecture_excusals"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    lecture_id: Mapped[int] = mapped_column(ForeignKey("lectures.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # "excused" or "make_up"
    reason: Mapped[str] = mapped_column(String(300))
    recorded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=lambda: clock.utcnow())

    __table_args__ = (UniqueConstraint("user_id", "lecture_id", name="uq_lecture_excusals_user_lecture"),)


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
        # covering: a member's sums over a period read the index alone
        Index("ix_hour_entries_user_occurred", "user_id", "occurred_at", "source", "seconds"),
    )


class HourTotal(db.Model):
    """A member's ledger summed for one local year, in total and by source: derived data kept by database
    triggers on hour_entries (learning.totals), so every writer keeps it without an extra statement. Reports of
    a whole year read it; ``flask hours verify-totals`` checks it against SQL sums over the ledger."""

    __tablename__ = "hour_totals"
    __table_args__ = {"sqlite_with_rowid": False}  # SQLite: rows stored in the key's B-tree, one lookup each

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # no FK: derived data
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seconds: Mapped[int] = mapped_column(Integer, default=0)
    online: Mapped[int] = mapped_column(Integer, default=0)
    offline: Mapped[int] = mapped_column(Integer, default=0)
    quiz: Mapped[int] = mapped_column(Integer, default=0)
    course: Mapped[int] = mapped_column(Integer, default=0)
    manual: Mapped[int] = mapped_column(Integer, default=0)


@event.listens_for(db.metadata, "after_create")
def _hour_totals_triggers(_metadata, connection, **_kw) -> None:
    """create_all (tests, new installs without migrations) gets the triggers too; migrations make their own."""
    if {"hour_totals", "hour_entries"} <= set(inspect(connection).get_table_names()):
        totals.create_triggers(connection)


# --- online study: sessions and heartbeats ------------------------------------------------------------

class StudySession(db.Model):
    """One lecture page open in one tab or app, authenticated on its heartbeats by ``token_hash``.

    A member has at most one active session (``superseded_at`` is None; a partial unique index holds it):
    opening another takes over.
    The row is the compare-and-set anchor of the heartbeat engine: ``last_seq``/``last_beat_at`` advance
    with one conditional UPDATE per heartbeat, so of two concurrent heartbeats exactly one wins.
    The counters (``lecture_credited``, ``day_credited``) are seeded from earlier sessions and the ledger
    when the session starts; the ledger, not these counters, is the record of credit."""

    __tablename__ = "study_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    lecture_id: Mapped[int] = mapped_column(ForeignKey("lectures.id"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    kind: Mapped[str] = mapped_column(String(16))  # the lecture's kind when the session started
    earns_time: Mapped[bool] = mapped_column(Boolean, default=True)  # False: a fixed-credit course
    token_hash: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(DateTime, default=lambda: clock.utcnow())
    superseded_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_beat_at: Mapped[datetime] = mapped_column(DateTime)  # server time of the last accepted heartbeat
    credited_seconds: Mapped[int] = mapped_column(Integer, default=0)  # in this session
    lecture_cap: Mapped[int] = mapped_column(Integer)  # seconds one member can earn on this lecture
    lecture_credited: Mapped[int] = mapped_column(Integer, default=0)  # all sessions on this lecture so far
    day: Mapped[str] = mapped_column(String(10), default="")  # local date the day counter belongs to
    day_credited: Mapped[int] = mapped_column(Integer, default=0)
    video_seconds: Mapped[int] = mapped_column(Integer, default=0)  # video: its duration
    position: Mapped[float] = mapped_column(Float, default=0.0)  # video: last reported position
    watched: Mapped[str] = mapped_column(Text, default="[]")  # video: merged watched intervals, JSON
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    client: Mapped[str] = mapped_column(String(200), default="")  # user agent, for the audit trail

    __table_args__ = (
        Index("ix_study_sessions_user_active", "user_id", "superseded_at"),
        Index("ix_study_sessions_user_lecture", "user_id", "lecture_id"),
        # one active session per member, held by the database
        Index("uq_study_sessions_user_active", "user_id", unique=True,
              sqlite_where=text("superseded_at IS NULL"), postgresql_where=text("superseded_at IS NULL")),
    )


# --- offline classes -----------------------------------------------------------------------------

class OfflineClass(db.Model):
    """A class held in a square or meeting room (线下课堂): members check in by QR or short code."""

    __tablename__ = "offline_classes"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    lecture_id: Mapped[Optional[int]] = mapped_column(ForeignKey("lectures.id"))  # an offline lecture it holds
    title: Mapped[str] = mapped_column(String(200))
    place: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(DateTime)
    ends_at: Mapped[datetime] = mapped_column(DateTime)
    credit_seconds: Mapped[int] = mapped_column(Integer)  # credited on check-in (or at most, with check-out)
    checkout_required: Mapped[bool] = mapped_column(Boolean, default=False)  # earn the time between in and out
    org_id: Mapped[Optional[int]] = mapped_column(ForeignKey("organizations.id"))  # the hosting organization
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=lambda: clock.utcnow())

    course: Mapped[Course] = relationship()
    lecture: Mapped[Optional[Lecture]] = relationship()

    __table_args__ = (Index("ix_offline_classes_window", "starts_at", "ends_at"),)

    @property
    def length_seconds(self) -> int:
        return max(0, int((self.ends_at - self.starts_at).total_seconds()))


class CheckIn(db.Model):
    """A member's attendance of an offline class; one per member and class."""

    __tablename__ = "check_ins"

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("offline_classes.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    checked_in_at: Mapped[datetime] = mapped_column(DateTime, default=lambda: clock.utcnow())
    checked_out_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    method: Mapped[str] = mapped_column(String(16))  # "code" (QR or short code) or "roster"
    recorded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))  # roster: the organizer

    offline_class: Mapped[OfflineClass] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    recorded_by: Mapped[Optional[User]] = relationship(foreign_keys=[recorded_by_id])

    __table_args__ = (UniqueConstraint("class_id", "user_id", name="uq_check_ins_class_user"),)


# --- yearly requirement, audit, certificates --------------------------------------------------------

class HourRequirement(db.Model):
    """Yearly 学时 required. Empty columns match anything; the most specific matching row applies
    (a position beats none, a deeper organization beats a shallower one, a year beats every year)."""

    __tablename__ = "hour_requirements"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[Optional[int]] = mapped_column(Integer)
    category: Mapped[Optional[str]] = mapped_column(String(32))  # MemberCategory value
    position: Mapped[Optional[str]] = mapped_column(String(32))  # Position value
    org_id: Mapped[Optional[int]] = mapped_column(ForeignKey("organizations.id"))  # override for a subtree
    hours: Mapped[Decimal] = mapped_column(Numeric(6, 2))  # 学时
    basis: Mapped[str] = mapped_column(String(300), default="")  # the rule it comes from


class HourAudit(db.Model):
    """Who changed the ledger by hand, and when: manual entries, reversals, roster attendance."""

    __tablename__ = "hour_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=lambda: clock.utcnow())
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))  # "manual", "reversal", "attendance"
    entry_id: Mapped[Optional[int]] = mapped_column(ForeignKey("hour_entries.id"))
    seconds: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(String(500), default="")
    attachment_key: Mapped[Optional[str]] = mapped_column(String(100))  # scanned certificate in storage
    attachment_mime: Mapped[Optional[str]] = mapped_column(String(100))

    actor: Mapped[User] = relationship(foreign_keys=[actor_id])
    member: Mapped[User] = relationship(foreign_keys=[member_id])


class Certificate(db.Model):
    """A course completion or a year's 学时, with a code anyone can verify at /verify/<code>."""

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # "course" or "year"
    course_id: Mapped[Optional[int]] = mapped_column(ForeignKey("courses.id"))
    year: Mapped[Optional[int]] = mapped_column(Integer)
    seconds: Mapped[int] = mapped_column(Integer, default=0)  # credited time it states
    issued_at: Mapped[datetime] = mapped_column(DateTime, default=lambda: clock.utcnow())

    user: Mapped[User] = relationship()
    course: Mapped[Optional[Course]] = relationship()

    __table_args__ = (Index("ix_certificates_user_kind", "user_id", "kind"),)


class ManualHourRequest(db.Model):
    """A manual entry above ``MANUAL_APPROVAL_ABOVE_HOURS``, waiting for a second organizer or an admin.
    Approved: the ledger entry is written (recorded by the requester) and ``entry_id`` points at it."""

    __tablename__ = "manual_hour_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    seconds: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(500))
    occurred_at: Mapped[datetime] = mapped_column(DateTime)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(DateTime, default=lambda: clock.utcnow())
    attachment_key: Mapped[Optional[str]] = mapped_column(String(100))
    attachment_mime: Mapped[Optional[str]] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)  # pending/approved/rejected
    decided_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    entry_id: Mapped[Optional[int]] = mapped_column(ForeignKey("hour_entries.id"), unique=True)

    member: Mapped[User] = relationship(foreign_keys=[member_id])
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[Optional[User]] = relationship(foreign_keys=[decided_by_id])

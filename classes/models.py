"""Training classes (培训班): types, classes, participants, plan items, sessions, certificates,
frozen graduation records, notices and calendar tokens.

A session is an ``OfflineClass`` of the learning record (check-in, 学时 credit and the ledger work exactly as
for any offline class) plus what a class adds: trainer, cancellation and a revision counter for the
calendar feed. Its time, place and title live on the ``OfflineClass`` only.
"""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Optional

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import Organization, User, enum_column
from core import clock
from core.extensions import db
from courses.models import Course
from learning.models import OfflineClass
from quizzes.models import Quiz

# The kinds a fresh installation starts with (an editable list, see services.ensure_class_types).
DEFAULT_CLASS_TYPES = ("入党积极分子培训班", "发展对象培训班", "党员集中轮训", "党务干部培训班", "公开课/广场宣讲")


class ClassError(ValueError):
    """A rule of training classes was broken; the message (Chinese, translated) is shown to the user."""


class EnrolmentMode(str, enum.Enum):
    ROSTER = "roster"  # the organizer assigns members of their subtree
    APPLICATION = "application"  # members apply, the organizer approves
    OPEN = "open"  # anyone logged in (public learners too) registers while places last


class ClassStatus(str, enum.Enum):
    DRAFT = "draft"  # being prepared; only its managers see it
    OPEN = "open"  # published: applications / registrations accepted in the window
    RUNNING = "running"  # under way
    GRADUATED = "graduated"  # 已结业: the graduation record is frozen


class ParticipantStatus(str, enum.Enum):
    APPLIED = "applied"  # waiting for the organizer
    APPROVED = "approved"  # on the roster: holds a place
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"  # left (or was removed); the place is free again


class PlanItemKind(str, enum.Enum):
    COURSE = "course"  # an online course to complete
    SESSION = "session"  # an offline session to attend
    EXAM = "exam"  # a quiz to pass


class ClassType(db.Model):
    """A kind of class (入党积极分子培训班 …); an editable list, ordered by ``position``."""

    __tablename__ = "class_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # inactive: kept for old classes, not offered


class TrainingClass(db.Model):
    """A class (培训班). Graduation rules are its ``rule_*`` columns; each is optional (None / False: not
    applied). ``taken`` counts approved participants and is the compare-and-set anchor of capacity:
    a place is taken by ``UPDATE … SET taken = taken + 1 WHERE taken < capacity``."""

    __tablename__ = "training_classes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    type_id: Mapped[int] = mapped_column(ForeignKey("class_types.id"), index=True)
    host_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    capacity: Mapped[Optional[int]] = mapped_column(Integer)  # None: no limit
    taken: Mapped[int] = mapped_column(Integer, default=0)  # approved participants
    enrolment_mode: Mapped[EnrolmentMode] = mapped_column(enum_column(EnrolmentMode), default=EnrolmentMode.ROSTER)
    registration_opens_at: Mapped[Optional[datetime]] = mapped_column(DateTime)  # None: from publication
    registration_closes_at: Mapped[Optional[datetime]] = mapped_column(DateTime)  # None: until graduation
    status: Mapped[ClassStatus] = mapped_column(enum_column(ClassStatus), default=ClassStatus.DRAFT)
    # Certificate numbers: f"{certificate_prefix}-{seq:03d}号", e.g. 睢阳党校〔2026〕第003期-017号.
    certificate_prefix: Mapped[str] = mapped_column(String(100), default="")
    next_certificate_seq: Mapped[int] = mapped_column(Integer, default=1)  # never goes back: numbers never reused
    # Graduation rules (结业条件), each optional.
    rule_required_items: Mapped[bool] = mapped_column(Boolean, default=False)  # every required plan item done
    rule_min_attendance_percent: Mapped[Optional[int]] = mapped_column(Integer)  # share of held offline sessions
    rule_exam_pass: Mapped[bool] = mapped_column(Boolean, default=False)  # every exam of the plan passed
    rule_min_hours_seconds: Mapped[Optional[int]] = mapped_column(Integer)  # 学时 earned within the class period
    # The course the class's sessions are booked under when a session names none (hidden, no lectures).
    course_id: Mapped[Optional[int]] = mapped_column(ForeignKey("courses.id"))
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=lambda: clock.utcnow())
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=lambda: clock.utcnow(),
                                                 onupdate=lambda: clock.utcnow())
    graduated_at: Mapped[Optional[datetime]] = mapped_column(DateTime)  # the first graduation run
    graduated_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    early_graduation_reason: Mapped[Optional[str]] = mapped_column(String(300))  # graduated before the class ended

    class_type: Mapped[ClassType] = relationship()
    host_org: Mapped[Organization] = relationship()
    course: Mapped[Optional[Course]] = relationship()
    created_by: Mapped[Optional[User]] = relationship(foreign_keys=[created_by_id])
    # Read-only lists (services add rows); sessions in the order scheduled, see services.schedule() for time order.
    sessions: Mapped[list["ClassSession"]] = relationship(viewonly=True, order_by="ClassSession.id")
    plan_items: Mapped[list["PlanItem"]] = relationship(viewonly=True, order_by="(PlanItem.position, PlanItem.id)")

    __table_args__ = (Index("ix_training_classes_status_mode", "status", "enrolment_mode"),)

    @property
    def is_frozen(self) -> bool:
        return self.status == ClassStatus.GRADUATED

    @property
    def places_left(self) -> Optional[int]:
        return None if self.capacity is None else max(0, self.capacity - self.taken)


class Participant(db.Model):
    """A user's place in a class (member or public learner); one row per class and user."""

    __tablename__ = "class_participants"

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_classes.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[ParticipantStatus] = mapped_column(enum_column(ParticipantStatus))
    source: Mapped[EnrolmentMode] = mapped_column(enum_column(EnrolmentMode))  # how they came in
    added_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))  # roster: the organizer
    created_at: Mapped[datetime] = mapped_column(DateTime, default=lambda: clock.utcnow())
    decided_at: Mapped[Optional[datetime]] = mapped_column(DateTime)  # approved / rejected / withdrawn
    decided_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(String(500), default="")  # application text or rejection reason

    training_class: Mapped[TrainingClass] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    added_by: Mapped[Optional[User]] = relationship(foreign_keys=[added_by_id])

    __table_args__ = (UniqueConstraint("class_id", "user_id", name="uq_class_participants_class_user"),)


class ClassSession(db.Model):
    """A scheduled offline session of a class. Time, place, title and credit are the ``OfflineClass``'s;
    ``sequence`` counts changes (the calendar's SEQUENCE) and ``changed_at`` is the LAST-MODIFIED."""

    __tablename__ = "class_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_classes.id"), index=True)
    offline_class_id: Mapped[int] = mapped_column(ForeignKey("offline_classes.id"), unique=True)
    trainer_name: Mapped[str] = mapped_column(String(100), default="")  # 授课人, as printed on the schedule
    trainer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))  # a trainer account, if any
    counts_for_attendance: Mapped[bool] = mapped_column(Boolean, default=True)
    cancelled_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    cancel_reason: Mapped[str] = mapped_column(String(500), default="")
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=lambda: clock.utcnow())
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=lambda: clock.utcnow())

    training_class: Mapped[TrainingClass] = relationship()
    offline_class: Mapped[OfflineClass] = relationship(lazy="joined")
    trainer: Mapped[Optional[User]] = relationship()

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def title(self) -> str:
        return self.offline_class.title

    @property
    def place(self) -> str:
        return self.offline_class.place

    @property
    def starts_at(self) -> datetime:
        return self.offline_class.starts_at

    @property
    def ends_at(self) -> datetime:
        return self.offline_class.ends_at

    @property
    def credit_seconds(self) -> int:
        return self.offline_class.credit_seconds


class PlanItem(db.Model):
    """One item of a class's plan: an online course, an offline session or an exam (a quiz)."""

    __tablename__ = "class_plan_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_classes.id"), index=True)
    kind: Mapped[PlanItemKind] = mapped_column(enum_column(PlanItemKind))
    course_id: Mapped[Optional[int]] = mapped_column(ForeignKey("courses.id"))
    session_id: Mapped[Optional[int]] = mapped_column(ForeignKey("class_sessions.id"))
    quiz_id: Mapped[Optional[int]] = mapped_column(ForeignKey("quizzes.id"))
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    training_class: Mapped[TrainingClass] = relationship()
    course: Mapped[Optional[Course]] = relationship()
    session: Mapped[Optional[ClassSession]] = relationship()
    quiz: Mapped[Optional[Quiz]] = relationship()

    @property
    def title(self) -> str:
        if self.kind == PlanItemKind.COURSE and self.course is not None:
            return self.course.title
        if self.kind == PlanItemKind.SESSION and self.session is not None:
            return self.session.title
        if self.kind == PlanItemKind.EXAM and self.quiz is not None:
            return self.quiz.title
        return ""


class ClassCertificate(db.Model):
    """A 结业证书. ``seq`` is unique per class and never reused: a revoked certificate keeps its row and its
    number. Anyone can check ``code`` on the public verification page."""

    __tablename__ = "class_certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_classes.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(140))  # the printed number, prefix and seq
    code: Mapped[str] = mapped_column(String(20), unique=True)  # verification code
    issued_at: Mapped[datetime] = mapped_column(DateTime, default=lambda: clock.utcnow())
    issued_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    revoked_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    revoke_reason: Mapped[str] = mapped_column(String(500), default="")

    training_class: Mapped[TrainingClass] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    revoked_by: Mapped[Optional[User]] = relationship(foreign_keys=[revoked_by_id])

    __table_args__ = (
        UniqueConstraint("class_id", "seq", name="uq_class_certificates_class_seq"),
        # One certificate per member and class, revoked or not: graduation never issues a second one.
        UniqueConstraint("class_id", "user_id", name="uq_class_certificates_class_user"),
    )

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class GraduationRecord(db.Model):
    """A participant's frozen result at graduation: each rule's value and threshold as they were then
    (``rules``: a list of dicts, see graduation.RuleResult), so later edits to courses change nothing."""

    __tablename__ = "class_graduation_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_classes.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    graduated: Mapped[bool] = mapped_column(Boolean, default=False)
    rules: Mapped[list] = mapped_column(JSON, default=list)
    missed: Mapped[list] = mapped_column(JSON, default=list)  # keys of the rules not met
    hours_seconds: Mapped[int] = mapped_column(Integer, default=0)  # earned within the class period
    certificate_id: Mapped[Optional[int]] = mapped_column(ForeignKey("class_certificates.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=lambda: clock.utcnow())
    recorded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    certificate: Mapped[Optional[ClassCertificate]] = relationship()

    __table_args__ = (UniqueConstraint("class_id", "user_id", name="uq_class_graduation_records_class_user"),)


class NoticeKind(str, enum.Enum):
    SESSION_MOVED = "session_moved"
    SESSION_CANCELLED = "session_cancelled"


class ClassNotice(db.Model):
    """An in-app notice to one participant (shown on their home page until read). ``data`` holds what the
    text needs (session title, old and new times) so it is worded in the reader's language."""

    __tablename__ = "class_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    class_id: Mapped[int] = mapped_column(ForeignKey("training_classes.id"))
    session_id: Mapped[Optional[int]] = mapped_column(ForeignKey("class_sessions.id"))
    kind: Mapped[NoticeKind] = mapped_column(enum_column(NoticeKind))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=lambda: clock.utcnow())
    read_at: Mapped[Optional[datetime]] = mapped_column(DateTime)

    training_class: Mapped[TrainingClass] = relationship()

    __table_args__ = (Index("ix_class_notices_user_read", "user_id", "read_at"),)


class CalendarToken(db.Model):
    """A member's secret calendar feed. The URL token is ``<user id>-<HMAC(SECRET_KEY, user id, nonce)>``;
    only the nonce is stored, and resetting it makes every earlier URL worthless."""

    __tablename__ = "class_calendar_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    nonce: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=lambda: clock.utcnow())

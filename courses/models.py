"""Courses, their lectures, study materials, required-course assignments and the change log."""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Optional

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import Organization, User, enum_column
from core import clock
from core.extensions import db
from core.models import TimestampMixin


# A training class's hidden shell course (classes.services.class_course): a draft in this category. It is
# never offered in course drop-downs.
CLASS_SHELL_CATEGORY = "培训班"


def not_class_shell():
    """SQL condition: the course is not a training class's hidden shell course."""
    return ~((Course.category == CLASS_SHELL_CATEGORY) & (Course.status == CourseStatus.DRAFT))


class CourseStatus(str, enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class Audience(str, enum.Enum):
    PUBLIC = "public"  # anyone logged in, public learners (群众) included
    MEMBERS = "members"  # party members, probationary members and activists; not public learners


class CreditMode(str, enum.Enum):
    TIME = "time"  # credited time studied, converted by the configured minutes per 学时
    FIXED = "fixed"  # a fixed number of 学时 when the course is completed


class LectureKind(str, enum.Enum):
    TEXT = "text"
    VIDEO = "video"
    DOCUMENT = "document"
    OFFLINE = "offline"


class Course(TimestampMixin, db.Model):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    cover_key: Mapped[Optional[str]] = mapped_column(String(100))  # storage key of the cover image
    category: Mapped[str] = mapped_column(String(50), default="", index=True)
    audience: Mapped[Audience] = mapped_column(enum_column(Audience), default=Audience.MEMBERS)
    # Limited to this organization's subtree (None: everyone the audience admits).
    org_id: Mapped[Optional[int]] = mapped_column(ForeignKey("organizations.id"), index=True)
    credit_mode: Mapped[CreditMode] = mapped_column(enum_column(CreditMode), default=CreditMode.TIME)
    credit_hours: Mapped[Optional[Decimal]] = mapped_column(Numeric(6, 2))  # 学时
    status: Mapped[CourseStatus] = mapped_column(enum_column(CourseStatus), default=CourseStatus.DRAFT)
    published_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    enrollment_count: Mapped[int] = mapped_column(Integer, default=0)  # for "most studied"

    org: Mapped[Optional[Organization]] = relationship()
    created_by: Mapped[Optional[User]] = relationship()
    lectures: Mapped[list["Lecture"]] = relationship(
        back_populates="course", order_by="Lecture.position",
        primaryjoin="and_(Course.id == Lecture.course_id, Lecture.deleted_at.is_(None))", viewonly=True)
    tag_rows: Mapped[list["CourseTag"]] = relationship(back_populates="course", cascade="all, delete-orphan",
                                                       lazy="selectin")

    __table_args__ = (Index("ix_courses_status_published_at", "status", "published_at"),
                      Index("ix_courses_status_enrollment_count", "status", "enrollment_count"))

    @property
    def tags(self) -> list[str]:
        return sorted(row.tag for row in self.tag_rows)


class CourseTag(db.Model):
    __tablename__ = "course_tags"

    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(30), primary_key=True, index=True)

    course: Mapped[Course] = relationship(back_populates="tag_rows")


class Lecture(TimestampMixin, db.Model):
    __tablename__ = "lectures"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[LectureKind] = mapped_column(enum_column(LectureKind))
    body_markdown: Mapped[str] = mapped_column(Text, default="")  # text lectures; notes for the others
    body_html: Mapped[str] = mapped_column(Text, default="")  # rendered and sanitized from body_markdown
    media_key: Mapped[Optional[str]] = mapped_column(String(100))  # video file in storage
    media_mime: Mapped[Optional[str]] = mapped_column(String(50))
    media_size: Mapped[Optional[int]] = mapped_column(Integer)
    duration_seconds: Mapped[Optional[int]] = mapped_column(Integer)  # video, read at upload
    reading_seconds: Mapped[Optional[int]] = mapped_column(Integer)  # text/document: estimated, editable
    material_id: Mapped[Optional[int]] = mapped_column(ForeignKey("materials.id"))  # document lectures
    starts_at: Mapped[Optional[datetime]] = mapped_column(DateTime)  # offline classes
    ends_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    place: Mapped[Optional[str]] = mapped_column(String(200))
    deleted_at: Mapped[Optional[datetime]] = mapped_column(DateTime)  # soft delete keeps study records

    course: Mapped[Course] = relationship(foreign_keys=[course_id])
    material: Mapped[Optional["Material"]] = relationship()


class Material(TimestampMixin, db.Model):
    """A document in the study materials library (学习资料库), standalone or belonging to a course."""

    __tablename__ = "materials"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    file_kind: Mapped[str] = mapped_column(String(10))  # pdf, docx, txt, md
    file_key: Mapped[str] = mapped_column(String(100))  # storage key
    filename: Mapped[str] = mapped_column(String(255))  # as uploaded, for downloads
    mime: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    text: Mapped[str] = mapped_column(Text, default="")  # extracted at upload: search and reading
    category: Mapped[str] = mapped_column(String(50), default="", index=True)
    audience: Mapped[Audience] = mapped_column(enum_column(Audience), default=Audience.PUBLIC)
    org_id: Mapped[Optional[int]] = mapped_column(ForeignKey("organizations.id"), index=True)
    course_id: Mapped[Optional[int]] = mapped_column(ForeignKey("courses.id"), index=True)
    uploaded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    deleted_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    # "processing" while a background job extracts the text (PDF, DOCX uploaded on the web), "ready", "failed"
    text_status: Mapped[str] = mapped_column(String(20), default="ready", server_default="ready")
    text_note: Mapped[str] = mapped_column(String(300), default="", server_default="")  # why it failed

    course: Mapped[Optional[Course]] = relationship(foreign_keys=[course_id])
    org: Mapped[Optional[Organization]] = relationship()


class RequiredAssignment(db.Model):
    """A course made required (必修) for an organization subtree, due by a date."""

    __tablename__ = "required_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    due_date: Mapped[date] = mapped_column(Date)
    assigned_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=lambda: clock.utcnow())
    revoked_at: Mapped[Optional[datetime]] = mapped_column(DateTime)  # unassigned; studies are kept

    course: Mapped[Course] = relationship()
    org: Mapped[Organization] = relationship()


class CourseChange(db.Model):
    """A change to a published course that a learner would notice, with who and when."""

    __tablename__ = "course_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(DateTime, default=lambda: clock.utcnow())
    summary: Mapped[str] = mapped_column(Text)

    user: Mapped[Optional[User]] = relationship()


class CourseAuthor(db.Model):
    """A co-author of a course: edits, publishes and archives it like its owner (``Course.created_by``)."""

    __tablename__ = "course_authors"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    added_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(DateTime, default=lambda: clock.utcnow())

    user: Mapped[User] = relationship(foreign_keys=[user_id])

    __table_args__ = (UniqueConstraint("course_id", "user_id", name="uq_course_authors_course_user"),)


# --- who studies a course: enrollments and lecture progress (written by learning's services) ---------------

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

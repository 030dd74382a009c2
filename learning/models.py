"""The learning record."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Optional

from sqlalchemy import DateTime, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import User, enum_column
from core import clock
from core.extensions import db
from courses.models import Course


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

"""Finishing lectures and courses: progress marks, fixed course credit, certificates.

A course is completed when every live lecture is completed (the server decides: watched video intervals,
reading time, offline attendance) and every quiz the course requires is passed. Completion stamps the
enrollment, issues a certificate with a verification code, and, for a fixed-credit course, records the
course's 学时 in the ledger once. Services flush; the caller commits.
"""
from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import func, select

from core import clock
from core.extensions import db
from courses.models import Course, CreditMode, Lecture
from learning.ledger import record_entry
from learning.models import Certificate, HourEntry, HourSource
from courses.enrollments import course_progress, lecture_excused
from courses.models import Enrollment, EnrollmentSource, LectureProgress
from quizzes.models import Attempt, Quiz
from quizzes.services import attempt_passed, required_quizzes_passed
from messages.services import link_for, notify

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud and typed from paper


def new_certificate_code() -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
        if db.session.scalar(select(Certificate.id).where(Certificate.code == code)) is None:
            return code


def lecture_completed(user_id: int, lecture_id: int, at: datetime | None = None) -> bool:
    """Mark a lecture done for a member (once) and see whether that finished the course."""
    at = at or clock.utcnow()
    lecture = db.session.get(Lecture, lecture_id)
    progress = db.session.scalar(select(LectureProgress).where(LectureProgress.user_id == user_id,
                                                               LectureProgress.lecture_id == lecture_id))
    if progress is None:
        progress = LectureProgress(user_id=user_id, lecture_id=lecture_id, course_id=lecture.course_id,
                                   started_at=at, completed_at=at)
        db.session.add(progress)
    elif progress.completed_at is None:
        progress.completed_at = at
    else:
        return False
    db.session.flush()
    check_course_completion(user_id, lecture.course_id, at)
    return True


def check_course_completion(user_id: int, course_id: int, at: datetime | None = None) -> Certificate | None:
    """Complete the course for the member if everything is done; returns the (new or existing) certificate.
    Call after anything that may finish a course: a lecture, an offline class, a passed quiz."""
    at = at or clock.utcnow()
    existing = db.session.scalar(select(Certificate).where(Certificate.user_id == user_id,
                                                           Certificate.kind == "course",
                                                           Certificate.course_id == course_id))
    if existing is not None:
        return existing
    done, total = course_progress(user_id, course_id)
    if total == 0 or done < total or not required_quizzes_passed(user_id, course_id):
        return None
    course = db.session.get(Course, course_id)
    enrollment = db.session.scalar(select(Enrollment).where(Enrollment.user_id == user_id,
                                                            Enrollment.course_id == course_id))
    if enrollment is None:
        enrollment = Enrollment(user_id=user_id, course_id=course_id, source=EnrollmentSource.SELF, created_at=at)
        db.session.add(enrollment)
    if enrollment.completed_at is None:
        enrollment.completed_at = at
    seconds = 0
    if course.credit_mode == CreditMode.FIXED and course.credit_hours:
        from learning.hours import units_to_seconds

        seconds = units_to_seconds(course.credit_hours)
        record_entry(user_id=user_id, seconds=seconds, source=HourSource.COURSE,
                     source_ref=f"course:{course_id}:user:{user_id}", occurred_at=at, course_id=course_id,
                     note=course.title)
    else:
        seconds = int(db.session.scalar(
            select(func.coalesce(func.sum(HourEntry.seconds), 0)).where(
                HourEntry.user_id == user_id, HourEntry.course_id == course_id)) or 0)
    certificate = Certificate(code=new_certificate_code(), user_id=user_id, kind="course", course_id=course_id,
                              seconds=seconds, issued_at=at)
    db.session.add(certificate)
    db.session.flush()
    from flask_babel import gettext as _

    notify(user_id, "certificate_issued", _("您已完成课程，获得结业证书。"),
           link_for("learning.certificate", certificate_id=certificate.id))
    return certificate


@lecture_excused.connect
def lecture_excused_completes(lecture, *, user_id: int, at: datetime) -> None:
    """An organizer excused the member from a past offline lecture (or recorded a make-up): it counts as done."""
    lecture_completed(user_id, lecture.id, at)


@attempt_passed.connect
def quiz_passed(attempt: Attempt, *, quiz: Quiz, at: datetime, first_pass: bool) -> None:
    """A passed quiz credits its time once per member (its first pass; the ledger's unique key keeps a
    repeated event from crediting twice), and may be what its course still needed (completion, certificate,
    a fixed-credit course's hours)."""
    if quiz.credit_seconds > 0 and first_pass:
        record_entry(user_id=attempt.user_id, seconds=quiz.credit_seconds, source=HourSource.QUIZ,
                     source_ref=f"attempt:{attempt.id}", occurred_at=at, course_id=quiz.course_id,
                     note=quiz.title)
    if quiz.course_id is not None:
        check_course_completion(attempt.user_id, quiz.course_id, at)


def year_certificate(user, year: int) -> Certificate:
    """The member's certificate for ``year``: issued on first request, stating the total at that moment;
    asked again after more study, it is re-issued with the new total and a new code."""
    from learning.hours import earned_seconds

    seconds = earned_seconds(user.id, year)
    existing = db.session.scalar(select(Certificate).where(Certificate.user_id == user.id,
                                                           Certificate.kind == "year", Certificate.year == year)
                                 .order_by(Certificate.id.desc()))
    if existing is not None and existing.seconds == seconds:
        return existing
    certificate = Certificate(code=new_certificate_code(), user_id=user.id, kind="year", year=year,
                              seconds=seconds, issued_at=clock.utcnow())
    db.session.add(certificate)
    db.session.flush()
    return certificate


def certificate_by_code(code: str) -> Certificate | None:
    code = (code or "").strip().upper().replace("-", "").replace(" ", "")
    if not code:
        return None
    return db.session.scalar(select(Certificate).where(Certificate.code == code))


def is_current(certificate: Certificate) -> bool:
    """A yearly certificate is superseded by a later one for the same year."""
    if certificate.kind != "year":
        return True
    newer = db.session.scalar(select(Certificate.id).where(
        Certificate.user_id == certificate.user_id, Certificate.kind == "year",
        Certificate.year == certificate.year, Certificate.id > certificate.id).limit(1))
    return newer is None


"""Building blocks for the training-class tests: a class in a community, sessions, exams, facts."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from core import clock
from core.extensions import db
from courses.models import Course, CourseStatus
from classes import services
from classes.models import EnrolmentMode
from courses.models import Enrollment
from learning.offline import mark_attendance
from quizzes.models import Attempt, AttemptStatus, QuestionBank, Quiz

START = date(2026, 3, 2)  # a Monday
END = date(2026, 3, 20)


def at(day: int, hour: int = 1) -> datetime:
    """Naive UTC on a March 2026 day (01:00 UTC = 09:00 in Shanghai)."""
    return datetime(2026, 3, day, hour, 0)


def make_class(by, host, *, name="2026年第一期入党积极分子培训班", mode=EnrolmentMode.ROSTER, capacity=None,
               prefix="睢阳党校〔2026〕第003期", publish=True, **fields):
    training_class = services.create_class(
        by=by, name=name, class_type=services.class_types()[0], host_org=host, starts_on=fields.pop("starts_on", START),
        ends_on=fields.pop("ends_on", END), enrolment_mode=mode, capacity=capacity, certificate_prefix=prefix, **fields)
    if publish:
        services.publish_class(training_class, by)
    db.session.commit()
    return training_class


def add_session(training_class, by, day: int, title="党章学习", place="社区党群服务中心", required=True, hours=2):
    session = services.schedule_session(training_class, by, title=title, place=place, starts_at=at(day),
                                        ends_at=at(day) + timedelta(hours=hours), trainer_name="王老师",
                                        required=required)
    db.session.commit()
    return session


def attend(session, member, by):
    mark_attendance(session.offline_class, member, by)
    db.session.commit()


def make_course(title="党的二十大精神学习") -> Course:
    course = Course(title=title, status=CourseStatus.PUBLISHED)
    db.session.add(course)
    db.session.commit()
    return course


def complete_course(member, course, when: datetime | None = None) -> None:
    db.session.add(Enrollment(user_id=member.id, course_id=course.id, completed_at=when or at(5)))
    db.session.commit()


def make_exam(title="结业考试", closes_at: datetime | None = None) -> Quiz:
    bank = QuestionBank(title="题库")
    db.session.add(bank)
    db.session.flush()
    quiz = Quiz(title=title, bank_id=bank.id, published=True, is_exam=True, pass_percent=60, closes_at=closes_at)
    db.session.add(quiz)
    db.session.commit()
    return quiz


def sit_exam(member, quiz, percent: float) -> Attempt:
    number = (db.session.query(Attempt).filter_by(quiz_id=quiz.id, user_id=member.id).count()) + 1
    attempt = Attempt(quiz_id=quiz.id, user_id=member.id, number=number, status=AttemptStatus.SUBMITTED,
                      submitted_at=clock.utcnow(), percent=percent, passed=percent >= quiz.pass_percent,
                      earned_points=percent, max_points=100)
    db.session.add(attempt)
    db.session.commit()
    return attempt

"""The signals the learning record hangs on. Each receiver has a scenario a user would notice — the quiz's hours
appear, an excused lecture completes the course, a deactivated member's or a deleted lecture's study session
ends — and the scenario fails when its receiver is disconnected (the second test proves it)."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from accounts import services as accounts
from accounts.services import member_access_changed
from core import clock
from core.extensions import db
from courses import services as courses
from courses.enrollments import excuse_from_lecture, lecture_excused
from courses.models import Course, CourseStatus, CreditMode, Lecture, LectureKind
from courses.services import lecture_access_changed
from learning import completion, study
from learning.models import Certificate, HourEntry, StudySession
from quizzes import services as quizzes
from quizzes.services import attempt_passed
from tests.quiz_helpers import correct_responses, make_bank, make_quiz

NOW = datetime(2026, 3, 10, 2, 0, 0)


@pytest.fixture
def people(app, grid, monkeypatch):
    monkeypatch.setattr(clock, "utcnow", lambda: NOW)
    return {"member": grid["members"]["R-1-1"][0], "admin": grid["admin"]}


def course_with(kind: LectureKind, **course_fields) -> tuple[Course, Lecture]:
    course = Course(title="党章学习", status=CourseStatus.PUBLISHED, published_at=NOW - timedelta(days=30),
                    **course_fields)
    db.session.add(course)
    db.session.flush()
    lecture = Lecture(course_id=course.id, position=1, title="第一讲", kind=kind, reading_seconds=600,
                      body_markdown="学习党章。", starts_at=NOW - timedelta(days=1) if kind == LectureKind.OFFLINE
                      else None, ends_at=NOW - timedelta(days=1, hours=-2) if kind == LectureKind.OFFLINE else None)
    db.session.add(lecture)
    db.session.flush()
    return course, lecture


def open_session(member, course, lecture) -> StudySession:
    session = StudySession(user_id=member.id, lecture_id=lecture.id, course_id=course.id, kind=lecture.kind.value,
                           token_hash="0" * 64, started_at=NOW, last_beat_at=NOW, lecture_cap=600)
    db.session.add(session)
    db.session.flush()
    return session


def quiz_hours_appear(people) -> bool:
    """A member passes a quiz worth ten minutes: the ten minutes are in their ledger."""
    member = people["member"]
    bank, questions = make_bank()
    quiz = make_quiz(bank, questions, credit_seconds=600)
    attempt, _ = quizzes.start_attempt(quiz, member)
    for position, response in correct_responses(attempt).items():
        quizzes.save_answer(attempt, position, response)
    quizzes.submit_attempt(attempt)
    assert attempt.passed
    return db.session.scalar(select(func.sum(HourEntry.seconds)).where(HourEntry.user_id == member.id)) == 600


def excused_lecture_completes_the_course(people) -> bool:
    """An organizer excuses a member from the one (past, offline) lecture of a 2-学时 course: the course is
    complete, with its certificate and its hours."""
    member = people["member"]
    course, lecture = course_with(LectureKind.OFFLINE, credit_mode=CreditMode.FIXED, credit_hours=Decimal("2"))
    excuse_from_lecture(member, lecture, people["admin"], "excused", "出差")
    certificate = db.session.scalar(select(Certificate).where(Certificate.user_id == member.id,
                                                              Certificate.course_id == course.id))
    hours = db.session.scalar(select(func.sum(HourEntry.seconds)).where(HourEntry.user_id == member.id))
    return certificate is not None and bool(hours)


def deactivation_ends_the_session(people) -> bool:
    """A member is deactivated while a lecture page is open: their study session ends (it earns nothing more)."""
    member = people["member"]
    course, lecture = course_with(LectureKind.TEXT)
    session = open_session(member, course, lecture)
    accounts.set_member_active(member, False)
    return db.session.scalar(select(StudySession.superseded_at).where(StudySession.id == session.id)) is not None


def deleted_lecture_ends_the_session(people) -> bool:
    """A lecture is deleted while a member studies it: their study session ends."""
    member = people["member"]
    course, lecture = course_with(LectureKind.TEXT)
    session = open_session(member, course, lecture)
    courses.delete_lecture(lecture, people["admin"])
    return db.session.scalar(select(StudySession.superseded_at).where(StudySession.id == session.id)) is not None


RECEIVERS = [
    pytest.param(attempt_passed, completion.quiz_passed, quiz_hours_appear, id="attempt_passed"),
    pytest.param(lecture_excused, completion.lecture_excused_completes, excused_lecture_completes_the_course,
                 id="lecture_excused"),
    pytest.param(member_access_changed, study.end_member_sessions, deactivation_ends_the_session,
                 id="member_access_changed"),
    pytest.param(lecture_access_changed, study.end_sessions_out_of_sight, deleted_lecture_ends_the_session,
                 id="lecture_access_changed"),
]


@pytest.mark.parametrize("signal, receiver, scenario", RECEIVERS)
def test_what_the_receiver_does_is_what_the_user_sees(people, signal, receiver, scenario):
    assert scenario(people)


@pytest.mark.parametrize("signal, receiver, scenario", RECEIVERS)
def test_without_its_receiver_the_scenario_fails(people, signal, receiver, scenario):
    signal.disconnect(receiver)
    try:
        assert not scenario(people)
    finally:
        signal.connect(receiver)

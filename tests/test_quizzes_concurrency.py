"""Races: two submits of the same attempt, two starts of the same quiz, on a real database file
(SQLite) or on PostgreSQL when DATABASE_URL names one. Each thread has its own app context, session
and connection, as two gunicorn workers would."""
import pytest
from sqlalchemy import func, select

from core.extensions import db
from learning.models import HourEntry
from quizzes import services
from quizzes.models import Attempt
from tests.conftest import shared_database_app
from tests import quiz_helpers
from tests.quiz_helpers import correct_responses, make_bank, make_quiz

THREADS = 6


@pytest.fixture
def shared_app(tmp_path):
    with shared_database_app(tmp_path, THREADS) as application:
        yield application


def run_together(app, fn) -> list:
    return quiz_helpers.run_together(app, lambda _i: fn(), THREADS)


@pytest.mark.parametrize("quick", [False, True], ids=["submit_attempt", "api_quick_path"])
def test_concurrent_submits_grade_once(shared_app, make_org, make_member, quick):
    """Six submits at once (also through the API's quick path, whose losers take the full path): graded once,
    credited once, each sees the same result."""
    member = make_member(make_org())
    bank, qs = make_bank()
    quiz = make_quiz(bank, qs, credit_seconds=900)
    attempt, _ = services.start_attempt(quiz, member)
    for position, response in correct_responses(attempt).items():
        services.save_answer(attempt, position, response)
    db.session.commit()
    attempt_id, member_id = attempt.id, member.id
    db.session.remove()

    def submit():
        if quick:
            won = services.submit_own(attempt_id, member_id)
            if won is not None:
                attempt, _graded = won
                return attempt.percent
        return services.submit_attempt(db.session.get(Attempt, attempt_id)).percent

    percents = run_together(shared_app, submit)
    assert percents == [100.0] * THREADS
    graded = db.session.get(Attempt, attempt_id)
    assert graded.grade_count == 1 and graded.passed
    assert db.session.scalar(select(func.sum(HourEntry.seconds)).where(HourEntry.user_id == member_id)) == 900


def test_concurrent_starts_share_one_attempt(shared_app, make_org, make_member):
    member = make_member(make_org())
    bank, qs = make_bank()
    quiz = make_quiz(bank, qs)
    quiz_id, member_id = quiz.id, member.id
    db.session.remove()

    def start():
        from accounts.models import User
        from quizzes.models import Quiz

        return services.start_attempt(db.session.get(Quiz, quiz_id), db.session.get(User, member_id))[0].id

    ids = run_together(shared_app, start)
    assert len(set(ids)) == 1
    assert db.session.scalar(select(func.count()).select_from(Attempt)) == 1

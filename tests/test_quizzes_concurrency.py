"""Races: two submits of the same attempt, two starts of the same quiz, on a real database file
(SQLite) or on PostgreSQL when DATABASE_URL names one. Each thread has its own app context, session
and connection, as two gunicorn workers would."""
import threading

import pytest
from sqlalchemy import func, select

from core.extensions import db
from learning.models import HourEntry
from quizzes import services
from quizzes.models import Attempt
from tests.conftest import shared_database_app
from tests.quiz_helpers import correct_responses, make_bank, make_quiz

THREADS = 6


@pytest.fixture
def shared_app(tmp_path):
    with shared_database_app(tmp_path, THREADS) as application:
        yield application


def run_together(app, fn) -> list:
    barrier = threading.Barrier(THREADS)
    results, errors = [], []

    def worker():
        with app.app_context():
            try:
                barrier.wait()
                results.append(fn())
                db.session.commit()
            except Exception as exc:  # reported below
                db.session.rollback()
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


def test_concurrent_submits_grade_once(shared_app, make_org, make_member):
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
        a = db.session.get(Attempt, attempt_id)
        return services.submit_attempt(a).percent

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

"""Building blocks for the quiz tests: a bank with every question type and quizzes over it."""
from __future__ import annotations

import threading

from sqlalchemy import event

from core import clock
from core.extensions import db
from quizzes import banks, services
from quizzes.models import Difficulty, QuestionKind, Quiz
from quizzes.banks import QuestionData


def make_bank(title="党章知识题库", course=None):
    bank = banks.create_bank(title, course=course, category="党章党规")
    questions = [
        banks.add_question(bank, QuestionData(QuestionKind.SINGLE, "中国共产党成立于哪一年？",
                                                 [("1919年", False), ("1921年", True), ("1927年", False),
                                                  ("1949年", False)], [], "1921年7月召开党的一大。", ["党史"],
                                                 Difficulty.EASY)),
        banks.add_question(bank, QuestionData(QuestionKind.MULTIPLE, "党员的义务包括哪些？",
                                                 [("认真学习", True), ("遵守纪律", True), ("谋取私利", False)], [],
                                                 "见党章第三条。", ["党章"], Difficulty.HARD)),
        banks.add_question(bank, QuestionData(QuestionKind.TRUE_FALSE, "预备党员的预备期为一年。",
                                                 banks.true_false_options(True), [], "党章第七条。", ["党章"],
                                                 Difficulty.EASY)),
        banks.add_question(bank, QuestionData(QuestionKind.BLANK, "党的最高领导机关是党的全国代表大会和它所产生的____。",
                                                 [], ["中央委员会", "中共中央委员会"], "党章第十条。", ["党章"],
                                                 Difficulty.MEDIUM)),
    ]
    db.session.commit()
    return bank, questions


def make_quiz(bank, questions, **settings) -> Quiz:
    fields = dict(title="党章小测", bank_id=bank.id, published=True, pass_percent=60, shuffle_questions=False,
                  shuffle_options=False)
    fields.update(settings)
    quiz = Quiz(**fields)
    db.session.add(quiz)
    db.session.flush()
    services.set_fixed_questions(quiz, [(q, 1) for q in questions])
    db.session.commit()
    return quiz


def correct_responses(attempt) -> dict[int, object]:
    """The right answer for each position, read from the database the way only the grader may."""
    out = {}
    for answer in attempt.answers:
        q = answer.question
        if q.kind == QuestionKind.BLANK:
            out[answer.position] = q.accepted_answers[0]
        else:
            out[answer.position] = sorted(q.correct_public_ids)
    return out


class ServerClock:
    """The server's clock for a test: ``clock.utcnow()`` answers ``.now`` (set it to move time)."""

    def __init__(self, monkeypatch, now):
        self.now = now
        monkeypatch.setattr(clock, "utcnow", lambda: self.now)


def run_together(app, fn, threads: int) -> list:
    """``fn(i)`` in ``threads`` threads released at once, each with its own app context, session and connection
    (as gunicorn workers); each thread commits after ``fn``. Returns the results; fails on any error."""
    barrier = threading.Barrier(threads)
    results, errors = [], []

    def worker(i):
        with app.app_context():
            try:
                barrier.wait()
                results.append(fn(i))
                db.session.commit()
            except Exception as exc:  # reported below
                db.session.rollback()
                errors.append(exc)
            finally:
                db.session.remove()

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert not errors, errors[:3]
    return results


SESSION_BOOKKEEPING = ("SAVEPOINT", "RELEASE", "ROLLBACK TO", "UPDATE API_TOKENS SET LAST_USED_AT")


def counted_request(client, method: str, path: str, headers: dict, **kwargs) -> tuple[dict, list[str]]:
    """One API request: its JSON and the SQL statements it sent, leaving out the test transaction's SAVEPOINT
    bookkeeping and the API token's "last used" note (written at most once per five minutes per token)."""
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith(SESSION_BOOKKEEPING):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        response = client.open(path, method=method, headers=headers, **kwargs)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json(), statements

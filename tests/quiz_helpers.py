"""Building blocks for the quiz tests: a bank with every question type and quizzes over it."""
from __future__ import annotations

from core import clock
from core.extensions import db
from quizzes import services
from quizzes.models import Difficulty, QuestionKind, Quiz
from quizzes.services import QuestionData


def make_bank(title="党章知识题库", course=None):
    bank = services.create_bank(title, course=course, category="党章党规")
    questions = [
        services.add_question(bank, QuestionData(QuestionKind.SINGLE, "中国共产党成立于哪一年？",
                                                 [("1919年", False), ("1921年", True), ("1927年", False),
                                                  ("1949年", False)], [], "1921年7月召开党的一大。", ["党史"],
                                                 Difficulty.EASY)),
        services.add_question(bank, QuestionData(QuestionKind.MULTIPLE, "党员的义务包括哪些？",
                                                 [("认真学习", True), ("遵守纪律", True), ("谋取私利", False)], [],
                                                 "见党章第三条。", ["党章"], Difficulty.HARD)),
        services.add_question(bank, QuestionData(QuestionKind.TRUE_FALSE, "预备党员的预备期为一年。",
                                                 services.true_false_options(True), [], "党章第七条。", ["党章"],
                                                 Difficulty.EASY)),
        services.add_question(bank, QuestionData(QuestionKind.BLANK, "党的最高领导机关是党的全国代表大会和它所产生的____。",
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

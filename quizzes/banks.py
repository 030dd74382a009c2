"""Question banks and their questions as trainers author them: create a bank, add, edit and (softly) delete
questions, each checked before it is saved. They flush; the view or command commits."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select

from core import clock
from core.extensions import db
from courses.models import Course
from quizzes import grading
from quizzes.models import Difficulty, Option, Question, QuestionBank, QuestionKind, QuizQuestion
from quizzes.services import QuizError

TRUE_TEXT, FALSE_TEXT = "正确", "错误"


def create_bank(title: str, *, course: Course | None = None, category: str = "", description: str = "",
                by=None) -> QuestionBank:
    bank = QuestionBank(title=title.strip(), course=course, category=(category or "").strip(),
                        description=description or "", created_by_id=getattr(by, "id", None))
    db.session.add(bank)
    db.session.flush()
    return bank


@dataclass
class QuestionData:
    """A question as authored: options are (text, is_correct) in order; blanks list accepted answers."""

    kind: QuestionKind
    stem: str
    options: list[tuple[str, bool]]
    accepted: list[str]
    explanation: str = ""
    tags: list[str] | None = None
    difficulty: Difficulty = Difficulty.MEDIUM


def check_question(data: QuestionData) -> str | None:
    """Why the question cannot be saved, or None."""
    if not data.stem.strip():
        return _("题干不能为空")
    if data.kind == QuestionKind.BLANK:
        if not [a for a in data.accepted if grading.normalise_blank(a)]:
            return _("填空题至少需要一个参考答案")
        return None
    texts = [t.strip() for t, _c in data.options]
    if len(texts) < 2 or any(not t for t in texts):
        return _("选择题至少需要两个非空选项")
    if len(set(texts)) != len(texts):
        return _("选项重复")
    correct = sum(1 for _t, c in data.options if c)
    if correct == 0:
        return _("没有标出正确答案")
    if data.kind in (QuestionKind.SINGLE, QuestionKind.TRUE_FALSE) and correct != 1:
        return _("单选题和判断题只能有一个正确答案")
    return None


def true_false_options(answer_true: bool) -> list[tuple[str, bool]]:
    return [(TRUE_TEXT, answer_true), (FALSE_TEXT, not answer_true)]


def add_question(bank: QuestionBank, data: QuestionData) -> Question:
    problem = check_question(data)
    if problem:
        raise QuizError(problem, 422)
    position = (db.session.scalar(select(func.max(Question.position)).where(Question.bank_id == bank.id)) or 0) + 1
    question = Question(bank_id=bank.id, position=position)
    _apply(question, data)
    db.session.add(question)
    db.session.flush()
    return question


def update_question(question: Question, data: QuestionData) -> Question:
    problem = check_question(data)
    if problem:
        raise QuizError(problem, 422)
    _apply(question, data)
    db.session.flush()
    return question


def _apply(question: Question, data: QuestionData) -> None:
    question.kind = data.kind
    question.stem = data.stem.strip()
    question.explanation = (data.explanation or "").strip()
    question.tags = data.tags or []
    question.difficulty = data.difficulty
    if data.kind == QuestionKind.BLANK:
        question.accepted_answers = [a.strip() for a in data.accepted if grading.normalise_blank(a)]
        question.options = []
        return
    question.accepted_answers = []
    existing = {o.text: o for o in question.options}  # keep public ids of unchanged options
    options = []
    for position, (text_, correct) in enumerate(data.options, start=1):
        option = existing.get(text_.strip()) or Option(text=text_.strip())
        option.position, option.is_correct = position, bool(correct)
        options.append(option)
    question.options = options


def question_data(question: Question) -> QuestionData:
    return QuestionData(kind=question.kind, stem=question.stem,
                        options=[(o.text, o.is_correct) for o in question.options],
                        accepted=list(question.accepted_answers or []), explanation=question.explanation,
                        tags=question.tags, difficulty=question.difficulty)


def delete_question(question: Question) -> None:
    """Soft delete: attempts that drew it still show it; new quizzes and draws no longer use it."""
    question.deleted_at = clock.utcnow()
    for fixed in db.session.scalars(select(QuizQuestion).where(QuizQuestion.question_id == question.id)):
        db.session.delete(fixed)
    db.session.flush()


def bank_questions(bank_id: int) -> list[Question]:
    return list(db.session.scalars(select(Question).where(Question.bank_id == bank_id,
                                                          Question.deleted_at.is_(None))
                                   .order_by(Question.position, Question.id)))

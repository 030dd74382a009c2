"""Question banks, questions and options, quizzes (fixed or drawn), attempts and their answers."""
from __future__ import annotations

import enum
import secrets
from datetime import datetime
from typing import Optional

from sqlalchemy import (JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint,
                        text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import User, enum_column
from core import clock
from core.extensions import db
from core.models import TimestampMixin
from courses.models import Course


class QuestionKind(str, enum.Enum):
    SINGLE = "single"  # 单选
    MULTIPLE = "multiple"  # 多选
    TRUE_FALSE = "truefalse"  # 判断: two options, 正确 / 错误
    BLANK = "blank"  # 填空: one blank, several accepted answers

    @property
    def has_options(self) -> bool:
        return self is not QuestionKind.BLANK


class Difficulty(str, enum.Enum):
    EASY = "easy"
    MEDIUM = "medium"
    HARD = "hard"


class ReviewPolicy(str, enum.Enum):
    IMMEDIATELY = "immediately"  # answers and explanations right after submitting
    AFTER_LAST_ATTEMPT = "after_last"  # once the member has used every attempt (or the quiz closed)
    AFTER_CLOSE = "after_close"  # once the quiz's closing time has passed


class AttemptStatus(str, enum.Enum):
    OPEN = "open"
    SUBMITTED = "submitted"


def new_public_id() -> str:
    """A random, non-sequential option id for pages and the API: it says nothing about the answer."""
    return secrets.token_urlsafe(9)


class QuestionBank(TimestampMixin, db.Model):
    """Questions kept together: one course's, or shared by a category (e.g. 党章党规)."""

    __tablename__ = "quiz_banks"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    course_id: Mapped[Optional[int]] = mapped_column(ForeignKey("courses.id"), index=True)
    category: Mapped[str] = mapped_column(String(50), default="", index=True)  # shared banks
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))

    course: Mapped[Optional[Course]] = relationship()
    questions: Mapped[list["Question"]] = relationship(
        back_populates="bank", order_by="Question.position",
        primaryjoin="and_(QuestionBank.id == Question.bank_id, Question.deleted_at.is_(None))", viewonly=True)


class Question(TimestampMixin, db.Model):
    __tablename__ = "quiz_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("quiz_banks.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[QuestionKind] = mapped_column(enum_column(QuestionKind))
    stem: Mapped[str] = mapped_column(Text)
    # Blanks: the accepted answers, compared after normalisation (see grading.normalise_blank).
    accepted_answers: Mapped[list] = mapped_column(JSON, default=list)
    explanation: Mapped[str] = mapped_column(Text, default="")
    tags_text: Mapped[str] = mapped_column(String(200), default="")  # comma-separated
    difficulty: Mapped[Difficulty] = mapped_column(enum_column(Difficulty), default=Difficulty.MEDIUM)
    deleted_at: Mapped[Optional[datetime]] = mapped_column(DateTime)  # attempts keep pointing at it

    bank: Mapped[QuestionBank] = relationship(foreign_keys=[bank_id])
    options: Mapped[list["Option"]] = relationship(back_populates="question", order_by="Option.position",
                                                   cascade="all, delete-orphan", lazy="selectin")

    @property
    def tags(self) -> list[str]:
        return [t for t in (part.strip() for part in self.tags_text.split(",")) if t]

    @tags.setter
    def tags(self, values) -> None:
        self.tags_text = ",".join(dict.fromkeys(v.strip() for v in values if v and v.strip()))

    @property
    def correct_public_ids(self) -> frozenset[str]:
        return frozenset(o.public_id for o in self.options if o.is_correct)


class Option(db.Model):
    __tablename__ = "quiz_options"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(16), unique=True, default=new_public_id)
    question_id: Mapped[int] = mapped_column(ForeignKey("quiz_questions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(Text)
    is_correct: Mapped[bool] = mapped_column(Boolean, default=False)

    question: Mapped[Question] = relationship(back_populates="options")


class Quiz(TimestampMixin, db.Model):
    """A quiz or an exam built from one bank: fixed questions, or a random draw by rules."""

    __tablename__ = "quizzes"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    bank_id: Mapped[int] = mapped_column(ForeignKey("quiz_banks.id"), index=True)
    course_id: Mapped[Optional[int]] = mapped_column(ForeignKey("courses.id"), index=True)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    uses_draw: Mapped[bool] = mapped_column(Boolean, default=False)  # random draw by rules, else fixed questions
    shuffle_questions: Mapped[bool] = mapped_column(Boolean, default=True)
    shuffle_options: Mapped[bool] = mapped_column(Boolean, default=True)
    time_limit_seconds: Mapped[Optional[int]] = mapped_column(Integer)  # None: untimed
    max_attempts: Mapped[Optional[int]] = mapped_column(Integer)  # None: unlimited
    pass_percent: Mapped[int] = mapped_column(Integer, default=60)
    review_policy: Mapped[ReviewPolicy] = mapped_column(enum_column(ReviewPolicy), default=ReviewPolicy.IMMEDIATELY)
    is_exam: Mapped[bool] = mapped_column(Boolean, default=False)  # one attempt, window, review after close
    opens_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    closes_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    partial_credit: Mapped[bool] = mapped_column(Boolean, default=False)  # multiple choice
    credit_seconds: Mapped[int] = mapped_column(Integer, default=0)  # training time credited on passing
    required_for_completion: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    # The version of the draw plan in the shared cache (quizzes/plans.py): a new random number whenever a
    # transaction changes the quiz, its rules or fixed questions, or its bank's questions.
    plan_version: Mapped[int] = mapped_column(BigInteger, default=lambda: secrets.randbits(62), server_default="0")

    bank: Mapped[QuestionBank] = relationship()
    course: Mapped[Optional[Course]] = relationship()
    fixed_questions: Mapped[list["QuizQuestion"]] = relationship(
        order_by="QuizQuestion.position", cascade="all, delete-orphan")
    draw_rules: Mapped[list["DrawRule"]] = relationship(order_by="DrawRule.id", cascade="all, delete-orphan")

    @property
    def effective_max_attempts(self) -> Optional[int]:
        return 1 if self.is_exam else self.max_attempts

    @property
    def effective_review_policy(self) -> ReviewPolicy:
        return ReviewPolicy.AFTER_CLOSE if self.is_exam else self.review_policy

    @property
    def question_count(self) -> int:
        if self.uses_draw:
            return sum(rule.count for rule in self.draw_rules)
        return len(self.fixed_questions)


class QuizQuestion(db.Model):
    __tablename__ = "quiz_fixed_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("quiz_questions.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    points: Mapped[int] = mapped_column(Integer, default=1)

    question: Mapped[Question] = relationship()

    __table_args__ = (UniqueConstraint("quiz_id", "question_id", name="uq_quiz_fixed_questions_quiz_question"),)


class DrawRule(db.Model):
    """Draw ``count`` questions of the bank matching kind/tag/difficulty (None: any)."""

    __tablename__ = "quiz_draw_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"), index=True)
    kind: Mapped[Optional[QuestionKind]] = mapped_column(enum_column(QuestionKind))
    tag: Mapped[Optional[str]] = mapped_column(String(30))
    difficulty: Mapped[Optional[Difficulty]] = mapped_column(enum_column(Difficulty))
    count: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(Integer, default=1)


class Attempt(db.Model):
    """One sitting of a quiz. Its questions and their order are frozen at the start; the server's
    ``deadline`` bounds it; it is graded exactly once, by whoever moves it from open to submitted."""

    __tablename__ = "quiz_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per member and quiz
    status: Mapped[AttemptStatus] = mapped_column(enum_column(AttemptStatus), default=AttemptStatus.OPEN)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=lambda: clock.utcnow())
    deadline: Mapped[Optional[datetime]] = mapped_column(DateTime)  # None: untimed and no closing time
    submitted_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    auto_submitted: Mapped[bool] = mapped_column(Boolean, default=False)
    earned_points: Mapped[Optional[float]] = mapped_column(Float)
    max_points: Mapped[Optional[float]] = mapped_column(Float)
    percent: Mapped[Optional[float]] = mapped_column(Float)
    passed: Mapped[Optional[bool]] = mapped_column(Boolean)
    graded_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    grade_count: Mapped[int] = mapped_column(Integer, default=0)  # must end at exactly 1

    quiz: Mapped[Quiz] = relationship()
    user: Mapped[User] = relationship()
    answers: Mapped[list["AttemptAnswer"]] = relationship(
        back_populates="attempt", order_by="AttemptAnswer.position", cascade="all, delete-orphan")

    __table_args__ = (
        UniqueConstraint("quiz_id", "user_id", "number", name="uq_quiz_attempts_quiz_user_number"),
        # One open attempt per member and quiz: two tabs, or two concurrent starts, share it.
        Index("uq_quiz_attempts_one_open", "quiz_id", "user_id", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
        Index("ix_quiz_attempts_status_deadline", "status", "deadline"),
    )

    @property
    def is_open(self) -> bool:
        return self.status == AttemptStatus.OPEN


class AttemptAnswer(db.Model):
    """A question as drawn into an attempt (position, points, option order) and the member's answer."""

    __tablename__ = "quiz_attempt_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("quiz_attempts.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # 1-based, the order shown
    question_id: Mapped[int] = mapped_column(ForeignKey("quiz_questions.id"), index=True)
    points: Mapped[int] = mapped_column(Integer, default=1)
    option_order: Mapped[list] = mapped_column(JSON, default=list)  # public ids as shown
    response: Mapped[Optional[object]] = mapped_column(JSON)  # list of public ids, or the blank's text
    saved_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    earned: Mapped[Optional[float]] = mapped_column(Float)
    correct: Mapped[Optional[bool]] = mapped_column(Boolean)

    attempt: Mapped[Attempt] = relationship(back_populates="answers")
    question: Mapped[Question] = relationship()

    __table_args__ = (UniqueConstraint("attempt_id", "position", name="uq_quiz_attempt_answers_attempt_position"),)

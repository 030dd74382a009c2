"""Write operations on quizzes and attempts (banks and their questions: ``quizzes.banks``). They flush; the view
or command commits.

Fairness rules kept here:
- one open attempt per member and quiz (a partial unique index; a losing concurrent start gets the
  winner's attempt);
- the deadline is the server's (start + time limit, capped by the quiz's closing time); answers after it
  are refused and the attempt is submitted on the next access or by ``flask quizzes close-expired``;
- an attempt is graded exactly once: only the request whose ``UPDATE ... WHERE status = 'open'``
  changes the row grades it.
"""
from __future__ import annotations

import math
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from blinker import Namespace
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import and_, bindparam, exists, func, insert, or_, select, update
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from core import clock
from core.database import insert_unless_taken
from core.extensions import db
from courses.models import Course
from courses.visibility import can_view_course, course_condition, is_staff
from quizzes import grading, plans
from quizzes.models import (Attempt, AttemptAnswer, AttemptStatus, DrawRule, Option, Question,
                            QuestionKind, Quiz, QuizQuestion, ReviewPolicy)

# Sent (sender: the attempt; ``quiz``; ``at``: when it was graded; ``first_pass``: no earlier attempt of this
# member passed the quiz) in the transaction that grades an attempt as passed, after it is written. The hours
# engine (learning.completion) credits the quiz's time once per member and completes the course if this was
# what it still needed; receivers flush, never commit.
attempt_passed = Namespace().signal("attempt-passed")
MAX_BLANK_LENGTH = 500

# The tables, for the hot paths' statements that name them instead of the mapped classes: plain Core, so
# SQLAlchemy's ORM layer (entity loading, bulk-update bookkeeping, a fresh cache key per call) stays out of the way.
_ATTEMPTS = Attempt.__table__
_ANSWERS = AttemptAnswer.__table__
_QUESTIONS = Question.__table__


class QuizError(Exception):
    """A refusal the member or trainer should read (Chinese message) with the HTTP status to answer."""

    def __init__(self, message: str, status: int = 409):
        super().__init__(message)
        self.message = message
        self.status = status


# --- quizzes -----------------------------------------------------------------------------------------

def set_fixed_questions(quiz: Quiz, questions: list[tuple[Question, int]]) -> None:
    quiz.uses_draw = False
    quiz.fixed_questions = [QuizQuestion(question_id=q.id, position=i, points=max(1, int(points)))
                            for i, (q, points) in enumerate(questions, start=1)]
    db.session.flush()


def set_draw_rules(quiz: Quiz, rules: list[dict]) -> None:
    """``rules``: dicts with count, points and optional kind, tag, difficulty. Refused when the bank
    cannot supply them all without repeating a question."""
    quiz.uses_draw = True
    quiz.draw_rules = [DrawRule(kind=r.get("kind"), tag=(r.get("tag") or None), difficulty=r.get("difficulty"),
                                count=int(r["count"]), points=max(1, int(r.get("points") or 1)))
                       for r in rules if int(r.get("count") or 0) > 0]
    db.session.flush()
    try:  # the plan as this transaction sees it (not the cached one: it is not committed yet)
        plans.draw_ids(plans.build_plan(quiz), False, random.Random(0))
    except plans.DrawError:
        raise QuizError(_("题库中符合条件的题目不够抽取"), 422)


def quizzes_for(user):
    """Published quizzes ``user`` may see: course-less ones and those of courses they may see."""
    stmt = select(Quiz).outerjoin(Course, Quiz.course_id == Course.id).order_by(Quiz.id.desc())
    if is_staff(user):
        return stmt
    return stmt.where(Quiz.published.is_(True), or_(Quiz.course_id.is_(None), course_condition(user)))


def can_see_quiz(user, quiz: Quiz) -> bool:
    if is_staff(user):
        return True
    return quiz.published and (quiz.course is None or can_view_course(user, quiz.course))


def attempts_of(quiz: Quiz, user) -> list[Attempt]:
    return list(db.session.scalars(select(Attempt).where(Attempt.quiz_id == quiz.id, Attempt.user_id == user.id)
                                   .order_by(Attempt.number)))


def attempts_left(quiz: Quiz, used: int) -> int | None:
    limit = quiz.effective_max_attempts
    return None if limit is None else max(0, limit - used)


def availability_problem(quiz: Quiz, user, now: datetime, used: int) -> str | None:
    """Why ``user`` cannot start a new attempt now, or None."""
    if not can_see_quiz(user, quiz):
        return _("您无权参加该测验")
    if quiz.opens_at and now < quiz.opens_at:
        return _("测验尚未开始")
    if quiz.closes_at and now >= quiz.closes_at:
        return _("测验已经结束")
    if attempts_left(quiz, used) == 0:
        return _("答题次数已用完")
    return None


def opens_in_seconds(quiz: Quiz, now: datetime) -> int | None:
    """Whole seconds until ``quiz`` opens by the server's clock, rounded up (so a refused start always has at
    least 1 left); 0 once it is open; None for a quiz without an opening time."""
    if quiz.opens_at is None:
        return None
    return max(0, math.ceil((quiz.opens_at - now).total_seconds()))


def not_open_message(seconds: int) -> str:
    """What a member reads when a start comes ``seconds`` before the opening (the form's flash, the API's 409)."""
    return ngettext("测验尚未开始，还有 %(num)d 秒", "测验尚未开始，还有 %(num)d 秒", seconds)


# --- attempts ------------------------------------------------------------------------------------------

def open_attempt(quiz_id: int, user_id: int) -> Attempt | None:
    return db.session.scalar(select(Attempt).where(Attempt.quiz_id == quiz_id, Attempt.user_id == user_id,
                                                   Attempt.status == AttemptStatus.OPEN)
                             .execution_options(populate_existing=True))


def is_expired(attempt: Attempt, now: datetime | None = None) -> bool:
    now = now or clock.utcnow()
    grace = timedelta(seconds=current_app.config["QUIZ_DEADLINE_GRACE_SECONDS"])
    return attempt.deadline is not None and now > attempt.deadline + grace


def quiz_with_attempts(quiz_id: int, user_id: int) -> tuple[Quiz | None, list[Attempt]]:
    """The quiz and the member's attempts of it (in order), in one statement."""
    rows = db.session.execute(_QUIZ_WITH_ATTEMPTS, {"quiz_id": quiz_id, "user_id": user_id}).all()
    if not rows:
        return None, []
    return rows[0][0], [attempt for _quiz, attempt in rows if attempt is not None]


@dataclass
class AnswerRow:
    """An answer as a page shows it: what a start inserted, what a submit graded, or what :func:`answer_rows`
    read. Pages are built from these, with no ORM object per answer (``attempt.answers`` loads the stored rows
    when an editing path needs them)."""

    position: int
    question_id: int
    points: int
    option_order: list
    response: object = None
    earned: float | None = None
    correct: bool | None = None


@dataclass(frozen=True)
class QuestionKey:
    """What grading and the review read of a question: the correct options' public ids, the accepted answers of
    a blank, the explanation. Never in a page before the attempt is submitted and its review allowed."""

    kind: QuestionKind
    correct: frozenset
    accepted: tuple
    explanation: str


_QUIZ_WITH_ATTEMPTS = (select(Quiz, Attempt)
                       .outerjoin(Attempt, and_(Attempt.quiz_id == Quiz.id, Attempt.user_id == bindparam("user_id")))
                       .where(Quiz.id == bindparam("quiz_id")).order_by(Attempt.number))


def start_attempt(quiz: Quiz, user, attempts: list[Attempt] | None = None,
                  drawn: dict | None = None) -> tuple[Attempt, bool]:
    """The member's open attempt, or a new one: ``(attempt, created)``. Two tabs, or two concurrent
    starts, end up with the same attempt (the partial unique index ``uq_quiz_attempts_one_open`` decides).
    ``attempts``: the member's attempts of the quiz when the caller has read them; ``drawn``: a dict that
    receives a new attempt's ``answers`` (``AnswerRow``) and ``questions`` as shown, for
    :func:`attempt_payload`.

    A new attempt costs two statements: the attempt's ``INSERT … ON CONFLICT DO NOTHING`` and one INSERT of
    all its answers; the draw is made in memory from the quiz's cached plan (quizzes/plans.py)."""
    now = clock.utcnow()
    if attempts is None:
        attempts = attempts_of(quiz, user)
    existing = next((a for a in attempts if a.is_open), None)
    if existing is not None:
        if not is_expired(existing, now):
            return existing, False
        submit_attempt(existing, auto=True)
    used = len(attempts)
    problem = availability_problem(quiz, user, now, used)
    if problem:
        raise QuizError(problem, 403 if not can_see_quiz(user, quiz) else 409)
    rng = random.Random(secrets.randbits(64))
    try:
        picked, questions = plans.draw(quiz, plans.plan_for(quiz), rng)
    except plans.DrawError as error:
        raise QuizError(str(error), 409)
    ends = [t for t in (now + timedelta(seconds=quiz.time_limit_seconds) if quiz.time_limit_seconds else None,
                        quiz.closes_at) if t is not None]
    values = {"quiz_id": quiz.id, "user_id": user.id, "number": used + 1, "status": AttemptStatus.OPEN,
              "started_at": now, "deadline": min(ends) if ends else None, "submitted_at": None,
              "auto_submitted": False, "earned_points": None, "max_points": None, "percent": None,
              "passed": None, "graded_at": None, "grade_count": 0}
    table = Attempt.__table__
    created = insert_unless_taken(table, values, returning=(table.c.id,))
    if created is None:  # a concurrent start (another tab) won: share its attempt
        winner = open_attempt(quiz.id, user.id)
        if winner is None:
            raise QuizError(_("请稍后重试"), 409)
        return winner, False
    attempt = Attempt(id=created.id, **values)
    make_transient_to_detached(attempt)
    db.session.add(attempt)
    set_committed_value(attempt, "quiz", quiz)
    answers = [AnswerRow(position, item.question_id, item.points, item.option_order)
               for position, item in enumerate(picked, start=1)]
    # all answers in one INSERT … VALUES (…), (…): an executemany with RETURNING is sent as one batched
    # statement ("insertmanyvalues", compiled once), where without it PostgreSQL's driver sends one per row
    db.session.execute(_INSERT_ANSWERS, [
        {"attempt_id": attempt.id, "position": a.position, "question_id": a.question_id, "points": a.points,
         "option_order": a.option_order, "response": None} for a in answers])
    if drawn is not None:
        drawn.update(answers=answers, questions=questions)
    return attempt, True


_INSERT_ANSWERS = insert(_ANSWERS).returning(_ANSWERS.c.id)


def get_attempt(attempt_id: int, user) -> Attempt | None:
    """The member's own attempt (staff may read any); an expired open attempt is submitted first."""
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or (attempt.user_id != user.id and not is_staff(user)):
        return None
    if attempt.is_open and is_expired(attempt):
        submit_attempt(attempt, auto=True)
    return attempt


@dataclass
class SavedAnswer:
    position: int
    saved_at: datetime
    deadline: datetime | None


class NotSaved(Exception):
    """The quick save cannot decide (no such answer for this member, the attempt closed or expired): the
    caller takes the full path, which gives the right refusal (and submits an expired attempt)."""


def save_response(attempt_id: int, user_id: int, position: int, response: object) -> SavedAnswer:
    """The autosave of a member's own open attempt, in two statements: read the one answered row (with its
    question's kind and its attempt's owner, status and deadline), then one UPDATE guarded by the attempt
    still being open and within its deadline. On PostgreSQL the guard takes a share lock on the attempt row,
    so a racing submit grades either before this save (which then changes nothing) or after it (and sees it);
    SQLite serializes the two writes anyway. Raises ``NotSaved`` when the full path must answer, and
    ``QuizError`` for an answer that does not fit the question."""
    row = db.session.execute(_ANSWER_ROW, {"attempt_id": attempt_id, "position": position}).one_or_none()
    now = clock.utcnow()
    if row is None or row.user_id != user_id or row.status != AttemptStatus.OPEN or _past(row.deadline, now):
        raise NotSaved()
    value = clean_response(row.kind, row.option_order, response)
    if db.session.execute(_SAVE, {"answer_id": row.id, "open_attempt": attempt_id, "value": value, "now": now,
                                  "latest": _latest_start(now)}).rowcount != 1:
        raise NotSaved()  # submitted (or expired) since the read
    return SavedAnswer(position, now, row.deadline)


def save_answer(attempt: Attempt, position: int, response: object) -> AttemptAnswer:
    """Store the answer to question ``position``; refused once the attempt is submitted or past its deadline.
    (The full path: ``save_response`` is the autosave's quick one.)"""
    answer = next((a for a in attempt.answers if a.position == position), None)
    if answer is None:
        raise QuizError(_("没有这道题"), 404)
    value = clean_response(answer.question.kind, answer.option_order, response)
    now = clock.utcnow()
    status, auto = db.session.execute(select(Attempt.status, Attempt.auto_submitted)
                                      .where(Attempt.id == attempt.id)).one()
    if status != AttemptStatus.OPEN:
        if auto:
            raise QuizError(_("答题时间已到，答案未被接受"), 409)
        raise QuizError(_("本次答题已提交，不能再修改答案"), 409)
    if is_expired(attempt, now):
        raise QuizError(_("答题时间已到，答案未被接受"), 409)
    result = db.session.execute(_SAVE, {"answer_id": answer.id, "open_attempt": attempt.id, "value": value,
                                        "now": now, "latest": _latest_start(now)})
    if result.rowcount != 1:
        raise QuizError(_("本次答题已提交，不能再修改答案"), 409)
    set_committed_value(answer, "response", value)  # as stored: no second, unguarded UPDATE at the flush
    set_committed_value(answer, "saved_at", now)
    return answer


def _grace() -> timedelta:
    return timedelta(seconds=current_app.config["QUIZ_DEADLINE_GRACE_SECONDS"])


def _past(deadline: datetime | None, now: datetime) -> bool:
    return deadline is not None and now > deadline + _grace()


def _latest_start(now: datetime) -> datetime:
    """Deadlines before this have passed (``deadline + grace < now``, written for an index-free comparison)."""
    return now - _grace()


_ANSWER_ROW = (select(_ANSWERS.c.id, _ANSWERS.c.option_order, _QUESTIONS.c.kind, _ATTEMPTS.c.user_id,
                      _ATTEMPTS.c.status, _ATTEMPTS.c.deadline)
               .join(_QUESTIONS, _QUESTIONS.c.id == _ANSWERS.c.question_id)
               .join(_ATTEMPTS, _ATTEMPTS.c.id == _ANSWERS.c.attempt_id)
               .where(_ANSWERS.c.attempt_id == bindparam("attempt_id"), _ANSWERS.c.position == bindparam("position")))
_STILL_OPEN = (select(_ATTEMPTS.c.id)
               .where(_ATTEMPTS.c.id == bindparam("open_attempt"), _ATTEMPTS.c.status == AttemptStatus.OPEN,
                      or_(_ATTEMPTS.c.deadline.is_(None), _ATTEMPTS.c.deadline >= bindparam("latest")))
               .with_for_update(read=True))  # PostgreSQL: FOR SHARE, held to the commit; SQLite: nothing
_SAVE = (update(_ANSWERS)
         .where(_ANSWERS.c.id == bindparam("answer_id"), _STILL_OPEN.exists())
         .values(response=bindparam("value", type_=_ANSWERS.c.response.type), saved_at=bindparam("now")))


def clean_response(kind: QuestionKind, option_order: list, response: object) -> object:
    if kind == QuestionKind.BLANK:
        if response is None:
            return None
        if not isinstance(response, str) or len(response) > MAX_BLANK_LENGTH:
            raise QuizError(_("答案格式不正确"), 422)
        return response
    if response is None or response == "":
        return []
    chosen = [response] if isinstance(response, str) else response
    if not isinstance(chosen, list) or any(not isinstance(c, str) for c in chosen):
        raise QuizError(_("答案格式不正确"), 422)
    chosen = list(dict.fromkeys(chosen))
    if any(c not in option_order for c in chosen):
        raise QuizError(_("选项不属于这道题"), 422)
    if kind != QuestionKind.MULTIPLE and len(chosen) > 1:
        raise QuizError(_("这道题只能选一个答案"), 422)
    return chosen


def submit_attempt(attempt: Attempt, *, auto: bool = False) -> Attempt:
    """Submit and grade, once. A second submit, or one racing the first, changes nothing and returns the
    graded attempt."""
    now = clock.utcnow()
    when = min(now, attempt.deadline) if (auto and attempt.deadline) else now
    won = db.session.execute(
        update(Attempt).where(Attempt.id == attempt.id, Attempt.status == AttemptStatus.OPEN)
        .values(status=AttemptStatus.SUBMITTED, submitted_at=when, auto_submitted=auto)
        .execution_options(synchronize_session=False)).rowcount == 1
    if not won:
        db.session.refresh(attempt)  # the winner's grade
        return attempt
    for name, value in (("status", AttemptStatus.SUBMITTED), ("submitted_at", when), ("auto_submitted", auto)):
        set_committed_value(attempt, name, value)
    _grade(attempt, now)
    return attempt


def submit_own(attempt_id: int, user_id: int) -> tuple[Attempt, dict] | None:
    """The member's submit of their own open attempt within its deadline, in four statements (five when it
    passes: the ledger's credit): the guarded ``UPDATE … WHERE status = 'open' RETURNING`` that only one
    submit wins, then the grading (:func:`_grade`): the attempt and what ``attempt_payload`` needs of the
    grading (``held``). None when the full path must answer (not the member's,
    already submitted, past the deadline: ``get_attempt`` + ``submit_attempt`` give the right result)."""
    now = clock.utcnow()
    attempt = db.session.scalars(_SUBMIT_OWN, {"attempt_id": attempt_id, "member_id": user_id, "now": now,
                                               "latest": _latest_start(now)}).one_or_none()
    if attempt is None:
        return None
    return attempt, _grade(attempt, now)


_SUBMIT_OWN = (update(Attempt)
               .where(Attempt.id == bindparam("attempt_id"), Attempt.user_id == bindparam("member_id"),
                      Attempt.status == AttemptStatus.OPEN,
                      or_(Attempt.deadline.is_(None), Attempt.deadline >= bindparam("latest")))
               .values(status=AttemptStatus.SUBMITTED, submitted_at=bindparam("now"), auto_submitted=False)
               .returning(Attempt).execution_options(synchronize_session=False, populate_existing=True))


_EARLIER = _ATTEMPTS.alias("earlier")
_GRADING_READ = (select(Quiz, AttemptAnswer.id, AttemptAnswer.position, AttemptAnswer.question_id,
                        AttemptAnswer.points, AttemptAnswer.option_order, AttemptAnswer.response, Question.kind,
                        Question.accepted_answers, Question.explanation, Option.public_id)
                 .join(Attempt, Attempt.id == AttemptAnswer.attempt_id).join(Quiz, Quiz.id == Attempt.quiz_id)
                 .join(Question, Question.id == AttemptAnswer.question_id)
                 .outerjoin(Option, and_(Option.question_id == Question.id, Option.is_correct.is_(True)))
                 .where(AttemptAnswer.attempt_id == bindparam("attempt_id"))
                 .order_by(AttemptAnswer.position, Option.position))
_MARK = (update(_ANSWERS).where(_ANSWERS.c.id == bindparam("answer_id"))
         .values(earned=bindparam("earned"), correct=bindparam("is_correct")))
_EARLIER_PASSES = (select(func.count()).select_from(_EARLIER)
                   .where(_EARLIER.c.quiz_id == bindparam("of_quiz"), _EARLIER.c.user_id == bindparam("of_member"),
                          _EARLIER.c.passed.is_(True), _EARLIER.c.id != bindparam("graded_attempt"))
                   .scalar_subquery())
_GRADED = (update(_ATTEMPTS).where(_ATTEMPTS.c.id == bindparam("graded_attempt"))
           .values(grade_count=_ATTEMPTS.c.grade_count + 1, earned_points=bindparam("earned_points"),
                   max_points=bindparam("max_points"), percent=bindparam("percent"), passed=bindparam("passed"),
                   graded_at=bindparam("graded_at"))
           .returning(_ATTEMPTS.c.grade_count, _EARLIER_PASSES.label("earlier_passes")))


def _grade(attempt: Attempt, now: datetime) -> dict:
    """Grade a just-submitted attempt (only the submit that moved it from open does): one read of its answers
    with their questions' keys and the quiz (plain rows: no ORM object per answer, question or option), one
    UPDATE of all answers' marks, one UPDATE of the attempt (which also says whether this is the member's first
    pass of the quiz). ``attempt_passed`` then credits a pass. Returns what ``attempt_payload`` needs of it
    (``held``): the graded ``answers`` and their questions' ``keys``."""
    rows = db.session.execute(_GRADING_READ, {"attempt_id": attempt.id}).all()
    quiz = rows[0].Quiz if rows else db.session.get(Quiz, attempt.quiz_id)
    set_committed_value(attempt, "quiz", quiz)
    answers: dict[int, AnswerRow] = {}
    keys: dict[int, QuestionKey] = {}
    ids: dict[int, int] = {}  # answer id by position
    for row in rows:
        if row.position not in answers:
            answers[row.position] = AnswerRow(row.position, row.question_id, row.points, row.option_order,
                                              row.response)
            ids[row.position] = row.id
        _add_to_key(keys, row.question_id, row)
    graded = list(answers.values())
    result = grading.grade_attempt(
        [grading.AnswerKey(kind=keys[a.question_id].kind.value, points=a.points,
                           correct=keys[a.question_id].correct, accepted=keys[a.question_id].accepted)
         for a in graded],
        [a.response for a in graded], pass_percent=quiz.pass_percent, partial_credit=quiz.partial_credit)
    for answer, grade in zip(graded, result.questions):
        answer.earned, answer.correct = grade.earned, grade.correct
        held = db.session.identity_map.get(identity_key(AttemptAnswer, ids[answer.position]))
        if held is not None:  # an editing path loaded it earlier in this request
            set_committed_value(held, "earned", grade.earned)
            set_committed_value(held, "correct", grade.correct)
    if graded:
        db.session.execute(_MARK, [{"answer_id": ids[a.position], "earned": a.earned, "is_correct": a.correct}
                                   for a in graded])
    marks = {"earned_points": result.earned, "max_points": result.maximum, "percent": result.percent,
             "passed": result.passed, "graded_at": now}
    first_pass = db.session.execute(_GRADED, {"graded_attempt": attempt.id, "of_quiz": attempt.quiz_id,
                                              "of_member": attempt.user_id, **marks}).one()
    for name, value in marks.items():
        set_committed_value(attempt, name, value)
    set_committed_value(attempt, "grade_count", first_pass.grade_count)
    if result.passed:
        attempt_passed.send(attempt, quiz=quiz, at=now, first_pass=first_pass.earlier_passes == 0)
    return {"answers": graded, "keys": keys}


def close_expired(now: datetime | None = None) -> int:
    """Submit every open attempt past its deadline; the number submitted."""
    now = now or clock.utcnow()
    grace = timedelta(seconds=current_app.config["QUIZ_DEADLINE_GRACE_SECONDS"])
    ids = list(db.session.scalars(select(Attempt.id).where(Attempt.status == AttemptStatus.OPEN,
                                                           Attempt.deadline.is_not(None),
                                                           Attempt.deadline < now - grace)))
    done = 0
    for attempt_id in ids:
        attempt = db.session.get(Attempt, attempt_id)
        before = attempt.grade_count
        submit_attempt(attempt, auto=True)
        done += attempt.grade_count > before
    return done


def can_review(attempt: Attempt, now: datetime | None = None) -> bool:
    """May the member see the correct answers and explanations of this (submitted) attempt?"""
    if attempt.is_open:
        return False
    now = now or clock.utcnow()
    quiz = attempt.quiz
    closed = quiz.closes_at is not None and now >= quiz.closes_at
    policy = quiz.effective_review_policy
    if policy == ReviewPolicy.IMMEDIATELY:
        return True
    if policy == ReviewPolicy.AFTER_CLOSE:
        return closed
    used = db.session.scalar(select(func.count()).select_from(Attempt).where(
        Attempt.quiz_id == quiz.id, Attempt.user_id == attempt.user_id)) or 0
    return closed or attempts_left(quiz, used) == 0


def remaining_seconds(attempt: Attempt, now: datetime | None = None) -> int | None:
    if attempt.deadline is None:
        return None
    now = now or clock.utcnow()
    return max(0, int((attempt.deadline - now).total_seconds()))


def required_quizzes_passed(user_id: int, course_id: int) -> bool:
    """Has the member passed every published quiz the course requires for completion?"""
    required = select(Quiz.id).where(Quiz.course_id == course_id, Quiz.published.is_(True),
                                     Quiz.required_for_completion.is_(True))
    passed = select(Attempt.id).where(Attempt.user_id == user_id, Attempt.passed.is_(True),
                                      Attempt.quiz_id == Quiz.id)
    missing = db.session.scalar(select(func.count()).select_from(Quiz).where(
        Quiz.id.in_(required), ~exists(passed)))
    return not missing


def attempt_payload(attempt: Attempt, now: datetime | None = None, held: dict | None = None) -> dict:
    """What the member's page and the API show. Before submission it holds no correctness flag, key,
    accepted answer or explanation; after it, those only when the review policy allows. ``held``: what this
    request already holds of the attempt (a start's ``answers`` and ``questions`` as shown, a submit's graded
    ``answers`` and ``keys``); the rest is read in one statement each."""
    now = now or clock.utcnow()
    held = held or {}
    answers = held["answers"] if "answers" in held else answer_rows(attempt.id)
    ids = [a.question_id for a in answers]
    shown = held.get("questions") or plans.shown_questions(attempt.quiz, ids)  # from the quiz's cached plan
    reveal = can_review(attempt, now)
    if reveal:
        keys = held.get("keys") or question_keys(ids)
        questions = [_revealed_item(a, shown[a.question_id], keys[a.question_id]) for a in answers]
    else:
        questions = [_shown_item(a, shown[a.question_id]) for a in answers]
    payload = {
        "id": attempt.id, "quiz": {"id": attempt.quiz.id, "title": attempt.quiz.title},
        "number": attempt.number, "status": attempt.status.value,
        "started_at": _iso(attempt.started_at), "deadline": _iso(attempt.deadline),
        "remaining_seconds": remaining_seconds(attempt, now) if attempt.is_open else None,
        "questions": questions, "result": None, "review": reveal,
    }
    if not attempt.is_open:
        payload["result"] = {"submitted_at": _iso(attempt.submitted_at), "auto_submitted": attempt.auto_submitted,
                             "score": attempt.earned_points, "max_score": attempt.max_points,
                             "percent": attempt.percent, "passed": attempt.passed,
                             "pass_percent": attempt.quiz.pass_percent}
    return payload


_ANSWER_ROWS = (select(AttemptAnswer.position, AttemptAnswer.question_id, AttemptAnswer.points,
                       AttemptAnswer.option_order, AttemptAnswer.response, AttemptAnswer.earned, AttemptAnswer.correct)
                .where(AttemptAnswer.attempt_id == bindparam("attempt_id")).order_by(AttemptAnswer.position))
_KEYS = (select(Question.id, Question.kind, Question.accepted_answers, Question.explanation, Option.public_id)
         .outerjoin(Option, and_(Option.question_id == Question.id, Option.is_correct.is_(True)))
         .where(Question.id.in_(bindparam("question_ids", expanding=True))))


def answer_rows(attempt_id: int) -> list[AnswerRow]:
    """The attempt's answers as stored, in order: one statement, plain rows."""
    return [AnswerRow(*row) for row in db.session.execute(_ANSWER_ROWS, {"attempt_id": attempt_id})]


def question_keys(question_ids) -> dict[int, QuestionKey]:
    """The questions' keys (correct options, accepted answers, explanation): one statement, plain rows."""
    keys: dict[int, QuestionKey] = {}
    for row in db.session.execute(_KEYS, {"question_ids": list(set(question_ids))}):
        _add_to_key(keys, row.id, row)
    return keys


def _add_to_key(keys: dict[int, QuestionKey], question_id: int, row) -> None:
    """One row of a question joined with one of its correct options (``public_id``; None for a blank) into
    ``keys``."""
    key = keys.get(question_id) or QuestionKey(row.kind, frozenset(), tuple(row.accepted_answers or ()),
                                               row.explanation or "")
    keys[question_id] = key if row.public_id is None else QuestionKey(
        key.kind, key.correct | {row.public_id}, key.accepted, key.explanation)


def _shown_item(answer: AnswerRow, question: dict) -> dict:
    texts = dict(question["options"])
    return {"position": answer.position, "kind": question["kind"], "stem": question["stem"],
            "points": answer.points,
            "options": [{"id": pid, "text": texts[pid]} for pid in answer.option_order if pid in texts],
            "response": answer.response}


def _revealed_item(answer: AnswerRow, question: dict, key: QuestionKey) -> dict:
    item = _shown_item(answer, question)
    item.update({"correct": answer.correct, "earned": answer.earned,
                 "correct_options": [pid for pid in answer.option_order if pid in key.correct],
                 "accepted_answers": list(key.accepted), "explanation": key.explanation})
    return item


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None


"""The floor of the exam burst (issue 18): how fast any Flask implementation of start, save and submit could be on
this machine, doing only the database work those requests cannot avoid. A measuring instrument, never a product
path: ``python -m bench exam --floor`` serves it with the product's gunicorn settings after the product's phases
and prints product ÷ floor for each phase.

A plain ``Flask(__name__)`` like bench/baseline_app.py, and SQLAlchemy Core on one engine against the product's
tables. The engine options and SQLite pragmas are the product's settings (``core.config.DefaultConfig``). The
pragmas are run by the product's own ``core.database.run_pragmas_on_connect``.
The statements are those of the product's quick paths:

* start: token → member; the quiz with the member's attempts; the attempt's ``INSERT … ON CONFLICT DO NOTHING
  RETURNING id``; its 20 answers in one INSERT; commit (4 statements);
* save: token → member; the answer row; the UPDATE guarded by the attempt being open; commit (3);
* submit: token → member; the guarded ``UPDATE … RETURNING``; the answers with the correct options; the marks
  (one executemany); the attempt's grade; the ledger credit of a pass; commit (5 or 6). The losing submit of a
  race reads the stored grade (2).

What it skips on purpose (the product does all of it): Flask-Login, Flask-SQLAlchemy's session and ORM objects,
Babel, CSRF, access rules and security headers; the token's ``last_used_at`` write; course visibility (the
bench's exam has no course) and course completion on a pass; the shared cache and its versions (a per-process dict
holds each quiz's draw plan and questions as shown, loaded at first use); fixed-question quizzes; the full paths'
refusals and answers (a refusal here is a bare status, a resumed start or a losing submit answers without the
questions).
"""
from __future__ import annotations

import hashlib
import os
import random
import secrets
from datetime import datetime, timedelta

from flask import Flask, abort, request
from sqlalchemy import and_, bindparam, create_engine, func, insert, or_, select, update

from accounts.models import ApiToken, User
from core.clock import utcnow
from core.config import DefaultConfig, normalise_database_url
from core.database import DIALECT_INSERTS, run_pragmas_on_connect
from learning.models import HourEntry, HourSource
from quizzes import grading
from quizzes.models import Attempt, AttemptAnswer, AttemptStatus, DrawRule, Option, Question, Quiz
from quizzes.plans import SHUFFLED_KINDS, Plan, draw_ids, rule_matches
from quizzes.services import QuizError, clean_response

app = Flask(__name__)
engine = create_engine(normalise_database_url(os.environ["DATABASE_URL"]), **DefaultConfig.SQLALCHEMY_ENGINE_OPTIONS)
if engine.dialect.name == "sqlite":
    run_pragmas_on_connect(engine, DefaultConfig.SQLITE_PRAGMAS)

TOKENS, USERS, QUIZZES, RULES = ApiToken.__table__, User.__table__, Quiz.__table__, DrawRule.__table__
ATTEMPTS, ANSWERS, QUESTIONS, OPTIONS = Attempt.__table__, AttemptAnswer.__table__, Question.__table__, Option.__table__
LEDGER = HourEntry.__table__
OPEN, SUBMITTED = AttemptStatus.OPEN, AttemptStatus.SUBMITTED
ON_CONFLICT_INSERT = DIALECT_INSERTS[engine.dialect.name]

MEMBER = (select(USERS.c.id).join(TOKENS, TOKENS.c.user_id == USERS.c.id)
          .where(TOKENS.c.token_hash == bindparam("token_hash"), TOKENS.c.revoked_at.is_(None),
                 USERS.c.is_active.is_(True)))
QUIZ_WITH_ATTEMPTS = (select(QUIZZES, ATTEMPTS.c.id.label("attempt_id"), ATTEMPTS.c.status)
                      .outerjoin(ATTEMPTS, and_(ATTEMPTS.c.quiz_id == QUIZZES.c.id,
                                                ATTEMPTS.c.user_id == bindparam("user_id")))
                      .where(QUIZZES.c.id == bindparam("quiz_id")))
NEW_ATTEMPT = ON_CONFLICT_INSERT(ATTEMPTS).on_conflict_do_nothing().returning(ATTEMPTS.c.id)
OPEN_ATTEMPT = select(ATTEMPTS.c.id).where(ATTEMPTS.c.quiz_id == bindparam("quiz_id"),
                                           ATTEMPTS.c.user_id == bindparam("user_id"), ATTEMPTS.c.status == OPEN)
NEW_ANSWERS = insert(ANSWERS).returning(ANSWERS.c.id)  # executemany + RETURNING: one batched INSERT
ANSWER_ROW = (select(ANSWERS.c.id, ANSWERS.c.option_order, QUESTIONS.c.kind, ATTEMPTS.c.user_id, ATTEMPTS.c.status,
                     ATTEMPTS.c.deadline)
              .join(QUESTIONS, QUESTIONS.c.id == ANSWERS.c.question_id)
              .join(ATTEMPTS, ATTEMPTS.c.id == ANSWERS.c.attempt_id)
              .where(ANSWERS.c.attempt_id == bindparam("attempt_id"), ANSWERS.c.position == bindparam("position")))
STILL_OPEN = (select(ATTEMPTS.c.id)
              .where(ATTEMPTS.c.id == bindparam("open_attempt"), ATTEMPTS.c.status == OPEN,
                     or_(ATTEMPTS.c.deadline.is_(None), ATTEMPTS.c.deadline >= bindparam("now")))
              .with_for_update(read=True))
SAVE = (update(ANSWERS).where(ANSWERS.c.id == bindparam("answer_id"), STILL_OPEN.exists())
        .values(response=bindparam("value", type_=ANSWERS.c.response.type), saved_at=bindparam("now")))
SUBMIT = (update(ATTEMPTS)
          .where(ATTEMPTS.c.id == bindparam("attempt_id"), ATTEMPTS.c.user_id == bindparam("member_id"),
                 ATTEMPTS.c.status == OPEN, or_(ATTEMPTS.c.deadline.is_(None), ATTEMPTS.c.deadline >= bindparam("now")))
          .values(status=SUBMITTED, submitted_at=bindparam("now"), auto_submitted=False).returning(ATTEMPTS))
GRADING_READ = (select(QUIZZES.c.id.label("quiz_id"), QUIZZES.c.bank_id, QUIZZES.c.plan_version, QUIZZES.c.title,
                       QUIZZES.c.pass_percent, QUIZZES.c.partial_credit, QUIZZES.c.credit_seconds, QUIZZES.c.course_id,
                       ANSWERS.c.id, ANSWERS.c.position, ANSWERS.c.question_id, ANSWERS.c.points,
                       ANSWERS.c.option_order, ANSWERS.c.response, QUESTIONS.c.kind, QUESTIONS.c.accepted_answers,
                       OPTIONS.c.public_id)
                .join(ATTEMPTS, ATTEMPTS.c.id == ANSWERS.c.attempt_id).join(QUIZZES, QUIZZES.c.id == ATTEMPTS.c.quiz_id)
                .join(QUESTIONS, QUESTIONS.c.id == ANSWERS.c.question_id)
                .outerjoin(OPTIONS, and_(OPTIONS.c.question_id == QUESTIONS.c.id, OPTIONS.c.is_correct.is_(True)))
                .where(ANSWERS.c.attempt_id == bindparam("attempt_id")).order_by(ANSWERS.c.position, OPTIONS.c.position))
MARK = (update(ANSWERS).where(ANSWERS.c.id == bindparam("answer_id"))
        .values(earned=bindparam("earned"), correct=bindparam("is_correct")))
EARLIER = ATTEMPTS.alias("earlier")
EARLIER_PASSES = (select(func.count()).select_from(EARLIER)
                  .where(EARLIER.c.quiz_id == bindparam("of_quiz"), EARLIER.c.user_id == bindparam("of_member"),
                         EARLIER.c.passed.is_(True), EARLIER.c.id != bindparam("graded_attempt")).scalar_subquery())
GRADED = (update(ATTEMPTS).where(ATTEMPTS.c.id == bindparam("graded_attempt"))
          .values(grade_count=ATTEMPTS.c.grade_count + 1, earned_points=bindparam("earned_points"),
                  max_points=bindparam("max_points"), percent=bindparam("percent"), passed=bindparam("passed"),
                  graded_at=bindparam("graded_at"))
          .returning(EARLIER_PASSES.label("earlier_passes")))
CREDIT = ON_CONFLICT_INSERT(LEDGER).on_conflict_do_nothing(index_elements=["source", "source_ref"])
STORED = select(ATTEMPTS).where(ATTEMPTS.c.id == bindparam("attempt_id"), ATTEMPTS.c.user_id == bindparam("member_id"))

PLANS: dict[tuple[int, int], tuple[Plan, dict]] = {}  # (quiz id, plan version) → (plan, questions as shown)


def iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None


def member_id(conn) -> int:
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    found = scheme.lower() == "bearer" and conn.scalar(
        MEMBER, {"token_hash": hashlib.sha256(raw.strip().encode()).hexdigest()})
    if not found:
        abort(401)
    return found


def result_json(score, max_score, percent, passed, submitted_at) -> dict:
    return {"score": score, "max_score": max_score, "percent": percent, "passed": passed,
            "submitted_at": iso(submitted_at)}


def plan_of(conn, quiz_id: int, bank_id: int, version: int) -> tuple[Plan, dict]:
    """The quiz's draw plan and its questions as shown, read once per process and version (3 statements)."""
    key = (quiz_id, version)
    if key not in PLANS:
        live = and_(QUESTIONS.c.bank_id == bank_id, QUESTIONS.c.deleted_at.is_(None))
        pool = conn.execute(select(QUESTIONS).where(live).order_by(QUESTIONS.c.position, QUESTIONS.c.id)).all()
        shown = {q.id: {"kind": q.kind.value, "stem": q.stem, "options": []} for q in pool}
        for row in conn.execute(select(OPTIONS.c.question_id, OPTIONS.c.public_id, OPTIONS.c.text).join(QUESTIONS)
                                .where(live).order_by(OPTIONS.c.question_id, OPTIONS.c.position, OPTIONS.c.id)):
            shown[row.question_id]["options"].append((row.public_id, row.text))
        rules = conn.execute(select(RULES).where(RULES.c.quiz_id == quiz_id).order_by(RULES.c.id)).all()
        PLANS[key] = Plan(rules=tuple((tuple(q.id for q in pool if rule_matches(rule, q)), rule.count, rule.points)
                                      for rule in rules), fixed=()), shown
    return PLANS[key]


def shown_item(position: int, points: int, option_order: list, question: dict, response=None) -> dict:
    texts = dict(question["options"])
    return {"position": position, "kind": question["kind"], "stem": question["stem"], "points": points,
            "options": [{"id": pid, "text": texts[pid]} for pid in option_order], "response": response}


@app.get("/healthz")
def healthz():
    return "ok"


@app.post("/api/v1/quizzes/<int:quiz_id>/attempts")
def start(quiz_id: int):
    with engine.begin() as conn:
        user_id = member_id(conn)
        rows = conn.execute(QUIZ_WITH_ATTEMPTS, {"quiz_id": quiz_id, "user_id": user_id}).all()
        if not rows or not rows[0].published or not rows[0].uses_draw:
            abort(404)
        quiz, now = rows[0], utcnow()
        attempts = [row for row in rows if row.attempt_id is not None]
        resumed = next((row.attempt_id for row in attempts if row.status == OPEN), None)
        if resumed is not None:
            return {"id": resumed, "status": "open"}
        limit = 1 if quiz.is_exam else quiz.max_attempts
        if ((quiz.opens_at and now < quiz.opens_at) or (quiz.closes_at and now >= quiz.closes_at)
                or (limit is not None and len(attempts) >= limit)):
            abort(409)
        plan, shown = plan_of(conn, quiz_id, quiz.bank_id, quiz.plan_version)
        rng = random.Random(secrets.randbits(64))
        drawn = []
        for question_id, points in draw_ids(plan, quiz.shuffle_questions, rng):
            order = [pid for pid, _text in shown[question_id]["options"]]
            if quiz.shuffle_options and shown[question_id]["kind"] in SHUFFLED_KINDS:
                rng.shuffle(order)
            drawn.append((question_id, points, order))
        ends = [t for t in (now + timedelta(seconds=quiz.time_limit_seconds) if quiz.time_limit_seconds else None,
                            quiz.closes_at) if t is not None]
        deadline = min(ends) if ends else None
        attempt_id = conn.scalar(NEW_ATTEMPT, {
            "quiz_id": quiz_id, "user_id": user_id, "number": len(attempts) + 1, "status": OPEN, "started_at": now,
            "deadline": deadline, "submitted_at": None, "auto_submitted": False, "earned_points": None,
            "max_points": None, "percent": None, "passed": None, "graded_at": None, "grade_count": 0})
        if attempt_id is None:  # a concurrent start won: share its attempt
            return {"id": conn.scalar(OPEN_ATTEMPT, {"quiz_id": quiz_id, "user_id": user_id}), "status": "open"}
        conn.execute(NEW_ANSWERS, [{"attempt_id": attempt_id, "position": position, "question_id": question_id,
                                    "points": points, "option_order": order, "response": None}
                                   for position, (question_id, points, order) in enumerate(drawn, start=1)])
    return {"id": attempt_id, "status": "open", "deadline": iso(deadline),
            "remaining_seconds": int((deadline - now).total_seconds()) if deadline else None,
            "questions": [shown_item(position, points, order, shown[question_id])
                          for position, (question_id, points, order) in enumerate(drawn, start=1)]}, 201


@app.put("/api/v1/attempts/<int:attempt_id>/answers/<int:position>")
def save(attempt_id: int, position: int):
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or "response" not in data:
        abort(400)
    with engine.begin() as conn:
        user_id = member_id(conn)
        row = conn.execute(ANSWER_ROW, {"attempt_id": attempt_id, "position": position}).one_or_none()
        now = utcnow()
        if row is None or row.user_id != user_id or row.status != OPEN or (row.deadline and now > row.deadline):
            abort(409)
        try:
            value = clean_response(row.kind, row.option_order, data["response"])
        except QuizError as error:
            abort(error.status)
        if conn.execute(SAVE, {"answer_id": row.id, "open_attempt": attempt_id, "value": value,
                               "now": now}).rowcount != 1:
            abort(409)
    return {"position": position, "saved_at": iso(now),
            "remaining_seconds": int((row.deadline - now).total_seconds()) if row.deadline else None}


@app.post("/api/v1/attempts/<int:attempt_id>/submit")
def submit(attempt_id: int):
    with engine.begin() as conn:
        user_id = member_id(conn)
        now = utcnow()
        attempt = conn.execute(SUBMIT, {"attempt_id": attempt_id, "member_id": user_id, "now": now}).one_or_none()
        if attempt is None:  # submitted already (or racing the submit that won): the stored grade
            stored = conn.execute(STORED, {"attempt_id": attempt_id, "member_id": user_id}).one_or_none()
            if stored is None or stored.status != SUBMITTED:
                abort(409)
            return {"id": attempt_id, "status": SUBMITTED.value, "result": result_json(
                stored.earned_points, stored.max_points, stored.percent, stored.passed, stored.submitted_at)}
        rows = conn.execute(GRADING_READ, {"attempt_id": attempt_id}).all()
        answers, correct = {}, {}
        for row in rows:
            answers.setdefault(row.position, row)
            correct.setdefault(row.position, set())
            if row.public_id is not None:
                correct[row.position].add(row.public_id)
        graded = list(answers.values())
        quiz = rows[0]
        result = grading.grade_attempt(
            [grading.AnswerKey(kind=a.kind.value, points=a.points, correct=frozenset(correct[a.position]),
                               accepted=tuple(a.accepted_answers or ())) for a in graded],
            [a.response for a in graded], pass_percent=quiz.pass_percent, partial_credit=quiz.partial_credit)
        conn.execute(MARK, [{"answer_id": a.id, "earned": grade.earned, "is_correct": grade.correct}
                            for a, grade in zip(graded, result.questions)])
        earlier_passes = conn.scalar(GRADED, {
            "graded_attempt": attempt_id, "of_quiz": attempt.quiz_id, "of_member": user_id, "graded_at": now,
            "earned_points": result.earned, "max_points": result.maximum, "percent": result.percent,
            "passed": result.passed})
        if result.passed and quiz.credit_seconds > 0 and earlier_passes == 0:
            conn.execute(CREDIT, {"user_id": user_id, "seconds": quiz.credit_seconds, "source": HourSource.QUIZ,
                                  "source_ref": f"attempt:{attempt_id}", "occurred_at": now,
                                  "course_id": quiz.course_id, "lecture_id": None, "recorded_by_id": None,
                                  "note": quiz.title[:500]})
        _plan, shown = plan_of(conn, quiz.quiz_id, quiz.bank_id, quiz.plan_version)
    return {"id": attempt_id, "status": SUBMITTED.value,
            "result": result_json(result.earned, result.maximum, result.percent, result.passed, now),
            "questions": [shown_item(a.position, a.points, a.option_order, shown[a.question_id], a.response)
                          for a in graded]}

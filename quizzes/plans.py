"""A quiz's draw plan, prepared once per quiz version and shared by every server through the cache (issue 18).

What a start needs that is the same for every member is kept in the shared cache (``core.cache``: SimpleCache in
the process, Redis in a cluster), never the answers:

* the plan, under ``("quiz-plan", quiz id, plan version)``: for a random draw the rules in order, each with
  the ids of the bank's questions it may take, its count and points; for fixed questions their ids and points;
* each question it may draw as shown (kind, stem, options' public ids and texts, in the authored order), under
  ``("quiz-plan", quiz id, plan version, "q", question id)``, stored with the plan: a start reads the ~20 it
  drew with one ``get_many``, whatever the bank's size.

``Quiz.plan_version`` is a new random number whenever a transaction changes the quiz, its draw rules or fixed
questions, or a question or option of its bank (SQLAlchemy's ``after_flush`` notes what changed, ``before_commit``
writes the new versions in the same transaction). A random number rather than a counter: a rolled-back change
and the next one would otherwise name two contents with one key. Each member's draw is made in memory from the
plan by :func:`draw`, the one code path for drawing (``services.draw_questions`` uses it too).
"""
from __future__ import annotations

import random
import secrets
from dataclasses import dataclass

from flask import Flask
from flask_babel import gettext as _
from sqlalchemy import and_, event, select, update
from sqlalchemy.orm import Session, selectinload

from core.cache import cache
from core.extensions import db
from quizzes.models import DrawRule, Option, Question, QuestionKind, Quiz, QuizQuestion

SHUFFLED_KINDS = (QuestionKind.SINGLE.value, QuestionKind.MULTIPLE.value)


class DrawError(Exception):
    """The bank cannot supply the quiz's questions (too few matching, or none)."""


@dataclass(frozen=True)
class Plan:
    """``rules``: ``(eligible question ids, count, points)`` in the rules' order, or None for fixed questions;
    ``fixed``: ``(question id, points)`` in order."""

    rules: tuple | None
    fixed: tuple


@dataclass(frozen=True)
class Drawn:
    """One question of a member's draw: its id, points and the option ids in the order shown."""

    question_id: int
    points: int
    option_order: list


# --- building ---------------------------------------------------------------------------------------------

def build_plan(quiz: Quiz) -> Plan:
    """The plan from the database: for a draw, the bank's live questions' ids and draw fields and the rules
    (two statements); otherwise the live fixed questions (one)."""
    if quiz.uses_draw:
        pool = db.session.execute(select(Question.id, Question.kind, Question.difficulty, Question.tags_text)
                                  .where(Question.bank_id == quiz.bank_id, Question.deleted_at.is_(None))
                                  .order_by(Question.position, Question.id)).all()
        rules = db.session.scalars(select(DrawRule).where(DrawRule.quiz_id == quiz.id).order_by(DrawRule.id)).all()
        return Plan(rules=tuple((tuple(row.id for row in pool if rule_matches(rule, row)), rule.count, rule.points)
                                for rule in rules), fixed=())
    fixed = db.session.execute(select(QuizQuestion.question_id, QuizQuestion.points)
                               .join(Question, Question.id == QuizQuestion.question_id)
                               .where(QuizQuestion.quiz_id == quiz.id, Question.deleted_at.is_(None))
                               .order_by(QuizQuestion.position, QuizQuestion.id)).all()
    return Plan(rules=None, fixed=tuple((row.question_id, row.points) for row in fixed))


def rule_matches(rule: DrawRule, row) -> bool:
    """Whether a question (a row with ``kind``, ``difficulty``, ``tags_text``) may be drawn by ``rule``."""
    tags = [t.strip() for t in (row.tags_text or "").split(",")]
    return ((rule.kind is None or row.kind == rule.kind)
            and (rule.difficulty is None or row.difficulty == rule.difficulty)
            and (not rule.tag or rule.tag in tags))


def _key(quiz: Quiz, *rest) -> str:
    return "ops:" + repr(("quiz-plan", quiz.id, quiz.plan_version) + rest)


PLAN_TIMEOUT = 3600  # seconds: a version no longer read leaves the cache within the hour


def plan_for(quiz: Quiz) -> Plan:
    """The quiz's plan at its committed version, built and stored on a miss together with every question it
    may draw as shown, so that a start reads only the cache whatever it draws. Call only with a quiz this
    transaction has not changed."""
    key = _key(quiz)
    plan = cache.get(key)
    if plan is None:
        plan = build_plan(quiz)
        ids = set(qid for qid, _points in plan.fixed)
        for eligible, _count, _points in plan.rules or ():
            ids.update(eligible)
        cache.set_many({_key(quiz, "q", qid): value for qid, value in _shown_rows(quiz, plan, ids).items()},
                       timeout=PLAN_TIMEOUT)
        cache.set(key, plan, timeout=PLAN_TIMEOUT)
    return plan


def _shown_rows(quiz: Quiz, plan: Plan, ids: set[int]) -> dict[int, dict]:
    """The plan's questions as shown, read as plain rows in two statements whatever the bank's size (the
    bank's live questions for a draw, the fixed ones otherwise); no ORM object per question or option."""
    if plan.rules is not None:
        which = and_(Question.bank_id == quiz.bank_id, Question.deleted_at.is_(None))
    else:
        which = Question.id.in_(ids)
    found = {row.id: _shown_entry(row.kind, row.stem, [])
             for row in db.session.execute(select(Question.id, Question.kind, Question.stem).where(which))
             if row.id in ids}
    for row in db.session.execute(select(Option.question_id, Option.public_id, Option.text)
                                  .join(Question, Question.id == Option.question_id).where(which)
                                  .order_by(Option.question_id, Option.position, Option.id)):
        if row.question_id in found:
            found[row.question_id]["options"].append((row.public_id, row.text))
    return found


def shown_questions(quiz: Quiz, question_ids) -> dict[int, dict]:
    """The drawn questions as shown (kind, stem, options ``[(public id, text)]``), from the cache; the
    missing ones (evicted, or no longer in the plan: an attempt started before an edit) in one query."""
    ids = list(question_ids)
    keys = [_key(quiz, "q", qid) for qid in ids]
    found = dict(zip(ids, cache.get_many(*keys)))
    missing = [qid for qid, value in found.items() if value is None]
    if missing:
        fresh = {q.id: shown(q) for q in db.session.scalars(select(Question).where(Question.id.in_(missing))
                                                           .options(selectinload(Question.options)))}
        cache.set_many({_key(quiz, "q", qid): value for qid, value in fresh.items()}, timeout=PLAN_TIMEOUT)
        found.update(fresh)
    return found


def shown(question: Question) -> dict:
    """What a member sees of a question before submitting: no correctness, accepted answer or explanation."""
    return _shown_entry(question.kind, question.stem, [(o.public_id, o.text) for o in question.options])


def _shown_entry(kind: QuestionKind, stem: str, options: list) -> dict:
    return {"kind": kind.value, "stem": stem, "options": options}


# --- drawing ----------------------------------------------------------------------------------------------

def draw_ids(plan: Plan, shuffle_questions: bool, rng: random.Random) -> list[tuple[int, int]]:
    """``(question id, points)`` of one attempt in the order shown: each rule's count from its eligible
    questions without ever repeating a question within the attempt, or the fixed questions."""
    if plan.rules is not None:
        taken: set[int] = set()
        drawn: list[tuple[int, int]] = []
        for eligible, count, points in plan.rules:
            candidates = [qid for qid in eligible if qid not in taken] if taken else eligible
            if len(candidates) < count:
                raise DrawError(_("题库中符合条件的题目不够抽取"))
            for qid in rng.sample(candidates, count):
                taken.add(qid)
                drawn.append((qid, points))
    else:
        drawn = list(plan.fixed)
    if not drawn:
        raise DrawError(_("该测验还没有题目"))
    if shuffle_questions:
        rng.shuffle(drawn)
    return drawn


def draw(quiz: Quiz, plan: Plan, rng: random.Random) -> tuple[list[Drawn], dict[int, dict]]:
    """A member's draw (with each question's option order, shuffled when the quiz says so) and the drawn
    questions as shown."""
    ids = draw_ids(plan, quiz.shuffle_questions, rng)
    questions = shown_questions(quiz, [qid for qid, _points in ids])
    drawn = []
    for qid, points in ids:
        question = questions[qid]
        order = [pid for pid, _text in question["options"]]
        if quiz.shuffle_options and question["kind"] in SHUFFLED_KINDS:
            rng.shuffle(order)
        drawn.append(Drawn(qid, points, order))
    return drawn, questions


# --- new versions in the writing transaction --------------------------------------------------------------

def init_app(app: Flask) -> None:
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_commit", _forget)
        event.listen(Session, "after_rollback", _forget)


def _after_flush(session, _context) -> None:
    changed = None
    for collection in (session.new, session.dirty, session.deleted):
        for obj in collection:
            if isinstance(obj, Quiz):
                key, value = "quizzes", obj.id
            elif isinstance(obj, (DrawRule, QuizQuestion)):
                key, value = "quizzes", obj.quiz_id
            elif isinstance(obj, Question):
                key, value = "banks", obj.bank_id
            elif isinstance(obj, Option):
                key, value = "questions", obj.question_id
            else:
                continue
            changed = session.info.setdefault("quiz_plans_changed", {"quizzes": set(), "banks": set(),
                                                                     "questions": set()})
            if value is not None:
                changed[key].add(value)


def _before_commit(session) -> None:
    session.flush()  # a change noticed only by the commit's own flush must count
    changed = session.info.pop("quiz_plans_changed", None)
    if not changed:
        return
    table = Quiz.__table__
    banks = set(changed["banks"])
    if changed["questions"]:
        banks.update(session.execute(select(Question.bank_id).where(Question.id.in_(changed["questions"])))
                     .scalars())
    condition = None
    if changed["quizzes"]:
        condition = table.c.id.in_(changed["quizzes"])
    if banks:
        by_bank = table.c.bank_id.in_(banks)
        condition = by_bank if condition is None else (condition | by_bank)
    if condition is not None:
        session.connection().execute(update(table).where(condition).values(plan_version=secrets.randbits(62)))


def _forget(session) -> None:
    if not session.in_nested_transaction():
        session.info.pop("quiz_plans_changed", None)

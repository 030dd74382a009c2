"""JSON API for taking quizzes: list, start an attempt, save answers, submit, read results.

Before an attempt is submitted nothing here carries a correct answer, a correctness flag or an
explanation; option ids are random strings.
"""
from __future__ import annotations

from flask import request
from flask_login import current_user

from core import clock
from core.api import PAGE_PARAMETERS, ApiError, api_blueprint, doc, paged
from core.extensions import db
from core.permissions import login_required
from quizzes import services
from quizzes.models import Attempt, Quiz
from quizzes.services import QuizError

bp = api_blueprint("quizzes_api", __name__)

QUIZ_SCHEMA = {"type": "object", "properties": {
    "id": {"type": "integer"}, "title": {"type": "string"}, "description": {"type": "string"},
    "course_id": {"type": ["integer", "null"]}, "is_exam": {"type": "boolean"},
    "question_count": {"type": "integer"}, "time_limit_seconds": {"type": ["integer", "null"]},
    "max_attempts": {"type": ["integer", "null"]}, "pass_percent": {"type": "integer"},
    "opens_at": {"type": ["string", "null"]}, "closes_at": {"type": ["string", "null"]},
    "opens_in_seconds": {"type": ["integer", "null"],
                         "description": "seconds until it opens, by the server's clock; 0: open; null: no opening time"},
    "credit_seconds": {"type": "integer"}}}
ATTEMPT_SCHEMA = {"type": "object", "properties": {
    "id": {"type": "integer"}, "status": {"type": "string", "enum": ["open", "submitted"]},
    "deadline": {"type": ["string", "null"], "description": "server deadline, UTC"},
    "remaining_seconds": {"type": ["integer", "null"]},
    "questions": {"type": "array", "items": {"type": "object", "properties": {
        "position": {"type": "integer"}, "kind": {"type": "string"}, "stem": {"type": "string"},
        "options": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "string"}, "text": {"type": "string"}}}},
        "response": {}}}},
    "review": {"type": "boolean", "description": "answers and explanations included"},
    "result": {"type": ["object", "null"]}}}
ANSWER_BODY = {"type": "object", "required": ["response"], "properties": {"response": {
    "description": "choice questions: a list of option ids (one for single/true-false); blanks: the text",
    "oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}, {"type": "null"}]}}}


def quiz_json(quiz: Quiz) -> dict:
    return {"id": quiz.id, "title": quiz.title, "description": quiz.description, "course_id": quiz.course_id,
            "is_exam": quiz.is_exam, "question_count": quiz.question_count,
            "time_limit_seconds": quiz.time_limit_seconds, "max_attempts": quiz.effective_max_attempts,
            "pass_percent": quiz.pass_percent, "opens_at": services._iso(quiz.opens_at),
            "closes_at": services._iso(quiz.closes_at), "credit_seconds": quiz.credit_seconds,
            "opens_in_seconds": services.opens_in_seconds(quiz, clock.utcnow())}


def visible_quiz(quiz_id: int) -> Quiz:
    quiz = db.session.get(Quiz, quiz_id)
    if quiz is None or not services.can_see_quiz(current_user, quiz):
        raise ApiError(404, "no such quiz")
    return quiz


def own_attempt(attempt_id: int) -> Attempt:
    attempt = services.get_attempt(attempt_id, current_user)
    if attempt is None:
        raise ApiError(404, "no such attempt")
    return attempt


def refused(error: QuizError, quiz: Quiz | None = None) -> ApiError:
    """The refusal as the API answers it; a start before the quiz opens says so (``not_open_yet``) with the
    server's ``opens_in_seconds``, which the waiting room counts down from."""
    db.session.commit()  # keep an automatic submission that happened on the way
    seconds = services.opens_in_seconds(quiz, clock.utcnow()) if quiz is not None else None
    if seconds:
        return ApiError(409, services.not_open_message(seconds), "not_open_yet", extra={"opens_in_seconds": seconds})
    return ApiError(error.status, error.message)


@bp.get("/quizzes")
@login_required
@doc("Quizzes I may take", tag="quizzes", parameters=PAGE_PARAMETERS,
     responses={"200": {"description": "A page of quizzes", "content": {"application/json": {"schema": {
         "type": "object", "properties": {"items": {"type": "array", "items": QUIZ_SCHEMA}}}}}}})
def list_quizzes():
    return paged(services.quizzes_for(current_user), quiz_json)


@bp.get("/quizzes/<int:quiz_id>")
@login_required
@doc("One quiz, with my attempts", tag="quizzes")
def get_quiz(quiz_id: int):
    quiz = visible_quiz(quiz_id)
    attempts = services.attempts_of(quiz, current_user)
    body = quiz_json(quiz)
    body["attempts"] = [{"id": a.id, "number": a.number, "status": a.status.value, "percent": a.percent,
                         "passed": a.passed} for a in attempts]
    body["attempts_left"] = services.attempts_left(quiz, len(attempts))
    return body


@bp.post("/quizzes/<int:quiz_id>/attempts")
@login_required
@doc("Start an attempt, or resume my open one (one open attempt per member and quiz)", tag="quizzes",
     responses={"201": {"description": "A new attempt", "content": {"application/json": {"schema": ATTEMPT_SCHEMA}}},
                "200": {"description": "My open attempt, resumed"},
                "409": {"description": "Not open, closed, or no attempts left"}})
def start_attempt(quiz_id: int):
    quiz, attempts = services.quiz_with_attempts(quiz_id, current_user.id)  # one statement
    if quiz is None or not services.can_see_quiz(current_user, quiz):
        raise ApiError(404, "no such quiz")
    drawn = {}
    try:
        attempt, created = services.start_attempt(quiz, current_user, attempts, drawn=drawn)
    except QuizError as error:
        raise refused(error, quiz)
    # from what the start holds (the draw's questions from the quiz's cached plan): nothing is read back
    payload = services.attempt_payload(attempt, held=drawn)
    db.session.commit()
    return payload, 201 if created else 200


@bp.get("/attempts/<int:attempt_id>")
@login_required
@doc("My attempt: questions, my saved answers, the server deadline; the result once submitted", tag="quizzes",
     responses={"200": {"description": "The attempt", "content": {"application/json": {"schema": ATTEMPT_SCHEMA}}}})
def get_attempt(attempt_id: int):
    attempt = own_attempt(attempt_id)
    payload = services.attempt_payload(attempt)
    db.session.commit()
    return payload


@bp.put("/attempts/<int:attempt_id>/answers/<int:position>")
@login_required
@doc("Save my answer to question `position` (autosave; refused after the server deadline)", tag="quizzes",
     request_body=ANSWER_BODY,
     responses={"200": {"description": "Saved"}, "409": {"description": "Submitted or past the deadline"},
                "422": {"description": "Not a valid answer to this question"}})
def save_answer(attempt_id: int, position: int):
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or "response" not in data:
        raise ApiError(400, "the body must be a JSON object with a response")
    try:  # the quick autosave: one read, one guarded UPDATE
        saved = services.save_response(attempt_id, current_user.id, position, data["response"])
    except services.NotSaved:
        db.session.rollback()
    except QuizError as error:
        db.session.rollback()
        raise ApiError(error.status, error.message)
    else:
        db.session.commit()
        return {"position": saved.position, "saved_at": services._iso(saved.saved_at),
                "remaining_seconds": services.remaining_seconds(saved, saved.saved_at)}
    attempt = own_attempt(attempt_id)  # the full path gives the right refusal (and submits an expired attempt)
    if attempt.user_id != current_user.id:
        raise ApiError(403, "only the member taking it may answer")
    try:
        answer = services.save_answer(attempt, position, data["response"])
    except QuizError as error:
        if attempt.is_open and services.is_expired(attempt):
            services.submit_attempt(attempt, auto=True)
        raise refused(error)
    db.session.commit()
    return {"position": answer.position, "saved_at": services._iso(answer.saved_at),
            "remaining_seconds": services.remaining_seconds(attempt)}


@bp.post("/attempts/<int:attempt_id>/submit")
@login_required
@doc("Submit my attempt; submitting again is harmless and returns the same result", tag="quizzes",
     responses={"200": {"description": "The graded attempt", "content": {"application/json": {
         "schema": ATTEMPT_SCHEMA}}}})
def submit(attempt_id: int):
    submitted = services.submit_own(attempt_id, current_user.id)  # the quick path: the member's open attempt
    if submitted is not None:
        attempt, graded = submitted
        payload = services.attempt_payload(attempt, held=graded)  # from what the grading read: nothing read back
        db.session.commit()
        return payload
    attempt = own_attempt(attempt_id)  # submits it if it expired
    if attempt.user_id != current_user.id:
        raise ApiError(403, "only the member taking it may submit")
    if attempt.is_open:
        services.submit_attempt(attempt)
    payload = services.attempt_payload(attempt)  # before the commit, which would expire what it reads
    db.session.commit()
    return payload


@bp.get("/attempts/<int:attempt_id>/result")
@login_required
@doc("The result of my submitted attempt (answers and explanations when the quiz's review policy allows)",
     tag="quizzes", responses={"200": {"description": "The result"},
                               "409": {"description": "Not submitted yet"}})
def result(attempt_id: int):
    attempt = own_attempt(attempt_id)
    payload = services.attempt_payload(attempt)
    db.session.commit()
    if attempt.is_open:
        raise ApiError(409, "the attempt is not submitted yet")
    return payload

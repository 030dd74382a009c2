"""Member pages: the quizzes I may take, taking one (autosaved, server-timed), and the result.
Trainer pages (banks, questions, import/export, quiz building, analytics) are the blueprint of
``quizzes.authoring``."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from core.extensions import db
from core.nav import NavLink
from core.permissions import Role, login_required
from quizzes import plans, services
from quizzes.models import Attempt, AttemptStatus, QuestionKind, Quiz
from quizzes.services import QuizError

bp = Blueprint("quizzes", __name__, url_prefix="/quizzes")

NAV_LINKS = [
    NavLink("quizzes.index", _l("测验")),
]


def visible_quiz_or_404(quiz_id: int) -> Quiz:
    quiz = db.session.get(Quiz, quiz_id)
    if quiz is None or not services.can_see_quiz(current_user, quiz):
        abort(404)
    return quiz


def own_attempt_or_404(attempt_id: int) -> Attempt:
    attempt = services.get_attempt(attempt_id, current_user)
    if attempt is None:
        abort(404)
    db.session.commit()  # an expired attempt may just have been submitted
    return attempt


@bp.get("/")
@login_required
def index():
    page = db.paginate(services.quizzes_for(current_user), per_page=20, error_out=False)
    mine: dict[int, list[Attempt]] = {}
    ids = [q.id for q in page.items]
    if ids:
        for attempt in db.session.scalars(db.select(Attempt).where(Attempt.user_id == current_user.id,
                                                                   Attempt.quiz_id.in_(ids))):
            mine.setdefault(attempt.quiz_id, []).append(attempt)
    return render_template("quizzes/index.html", page=page, mine=mine)


@bp.get("/<int:quiz_id>")
@login_required
def detail(quiz_id: int):
    quiz = visible_quiz_or_404(quiz_id)
    attempts = services.attempts_of(quiz, current_user)
    open_attempt = next((a for a in attempts if a.is_open), None)
    if open_attempt is not None and services.is_expired(open_attempt):
        services.submit_attempt(open_attempt, auto=True)
        db.session.commit()
        open_attempt = None
    now = services.clock.utcnow()
    attempts_left = services.attempts_left(quiz, len(attempts))
    opens_in = services.opens_in_seconds(quiz, now)
    if opens_in and open_attempt is None and attempts_left != 0:
        # The waiting room: it counts down from the server's seconds and starts the attempt at zero by itself.
        # The members waiting build the quiz's draw plan before the minute (a cache hit once built), so the
        # district's first starts at the opening find it ready, whatever the bank's size.
        plans.plan_for(quiz)
        return render_template("quizzes/waiting.html", quiz=quiz, attempts=attempts, attempts_left=attempts_left,
                               seconds=opens_in, jitter=current_app.config["EXAM_START_JITTER_SECONDS"])
    problem = None if open_attempt else services.availability_problem(quiz, current_user, now, len(attempts))
    return render_template("quizzes/detail.html", quiz=quiz, attempts=attempts, open_attempt=open_attempt,
                           problem=problem, attempts_left=attempts_left)


@bp.post("/<int:quiz_id>/start")
@login_required
def start(quiz_id: int):
    quiz = visible_quiz_or_404(quiz_id)
    try:
        attempt, _created = services.start_attempt(quiz, current_user)
    except QuizError as error:
        db.session.commit()
        opens_in = services.opens_in_seconds(quiz, services.clock.utcnow())
        flash(services.not_open_message(opens_in) if opens_in else error.message, "warning")
        return redirect(url_for("quizzes.detail", quiz_id=quiz.id))  # before the opening: the waiting room
    db.session.commit()
    return redirect(url_for("quizzes.take", attempt_id=attempt.id))


@bp.get("/attempts/<int:attempt_id>")
@login_required
def take(attempt_id: int):
    attempt = own_attempt_or_404(attempt_id)
    if not attempt.is_open or attempt.user_id != current_user.id:
        return redirect(url_for("quizzes.result", attempt_id=attempt.id))
    return render_template("quizzes/take.html", attempt=attempt, payload=services.attempt_payload(attempt),
                           QuestionKind=QuestionKind)


@bp.post("/attempts/<int:attempt_id>/submit")
@login_required
def submit(attempt_id: int):
    """The form's own submit (works without JavaScript): save what the form carries, then submit."""
    attempt = own_attempt_or_404(attempt_id)
    if attempt.user_id != current_user.id:
        abort(403)
    if attempt.is_open and not services.is_expired(attempt):
        for answer in attempt.answers:
            field = f"q{answer.position}"
            if answer.question.kind == QuestionKind.BLANK:
                if field in request.form:
                    value = request.form.get(field, "")
                else:
                    continue
            else:
                value = request.form.getlist(field)
                if not value and answer.response:
                    continue  # saved by autosave; an absent field is not a deliberate clearing
            try:
                services.save_answer(attempt, answer.position, value)
            except QuizError:
                pass  # an invalid field is skipped; what was saved stands
    services.submit_attempt(attempt, auto=services.is_expired(attempt))
    db.session.commit()
    return redirect(url_for("quizzes.result", attempt_id=attempt.id))


@bp.get("/attempts/<int:attempt_id>/result")
@login_required
def result(attempt_id: int):
    attempt = own_attempt_or_404(attempt_id)
    if attempt.is_open:
        return redirect(url_for("quizzes.take", attempt_id=attempt.id))
    payload = services.attempt_payload(attempt)
    return render_template("quizzes/result.html", attempt=attempt, payload=payload, QuestionKind=QuestionKind,
                           AttemptStatus=AttemptStatus)


"""Trainer pages (the ``quizzes_authoring`` blueprint, under /quizzes/ beside the members' pages): banks and questions, import with preview, export,
quiz building (fixed questions or draw rules), analytics and results export."""
from __future__ import annotations

from datetime import timezone
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeSerializer
from wtforms.fields.choices import SelectChoice

from core import clock
from core.extensions import db
from core.nav import NavLink
from core.permissions import Role, role_required
from core.requests import accepts_upload
from courses.models import Course, not_class_shell
from quizzes import analytics, importexport, services
from quizzes import banks as question_banks  # (``banks`` is the bank list's view below)
from quizzes.forms import BankForm, ImportForm, QuestionForm, QuizForm
from quizzes.models import Question, QuestionBank, Quiz, ReviewPolicy
from quizzes.services import QuizError

bp = Blueprint("quizzes_authoring", __name__, url_prefix="/quizzes")

NAV_LINKS = [NavLink("quizzes_authoring.banks", _l("题库"), frozenset({Role.TRAINER}))]
STAFF = (Role.TRAINER,)
FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def bank_or_404(bank_id: int) -> QuestionBank:
    return db.get_or_404(QuestionBank, bank_id)


def course_choices() -> list[SelectChoice]:
    courses = db.session.scalars(db.select(Course).where(not_class_shell()).order_by(Course.title)).all()
    return [SelectChoice(0, _("（不属于课程）"))] + [SelectChoice(c.id, c.title) for c in courses]


def to_utc(value):
    if value is None:
        return None
    tz = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
    return value.replace(tzinfo=tz).astimezone(timezone.utc).replace(tzinfo=None)


def to_local(value):
    local = clock.to_local(value, current_app.config["DISPLAY_TIMEZONE"])
    return local.replace(tzinfo=None) if local else None


def download(data: bytes, fmt: str, name: str) -> Response:
    from urllib.parse import quote

    response = Response(data, mimetype=FORMATS[fmt])
    response.headers["Content-Disposition"] = f"attachment; filename=export.{fmt}; filename*=UTF-8''{quote(name)}.{fmt}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def import_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="quizzes-bank-import")


# --- banks ---------------------------------------------------------------------------------------------

@bp.get("/banks")
@role_required(*STAFF)
def banks():
    rows = db.session.execute(
        db.select(QuestionBank, db.func.count(Question.id))
        .outerjoin(Question, db.and_(Question.bank_id == QuestionBank.id, Question.deleted_at.is_(None)))
        .group_by(QuestionBank.id).order_by(QuestionBank.id.desc())).all()
    return render_template("quizzes/banks.html", rows=rows)


@bp.route("/banks/new", methods=["GET", "POST"])
@role_required(*STAFF)
def bank_new():
    return _bank_form(None)


@bp.route("/banks/<int:bank_id>/edit", methods=["GET", "POST"])
@role_required(*STAFF)
def bank_edit(bank_id: int):
    return _bank_form(bank_or_404(bank_id))


def _bank_form(bank: QuestionBank | None):
    form = BankForm(obj=bank)
    form.course_id.choices = course_choices()
    if request.method == "GET" and bank is not None:
        form.course_id.data = bank.course_id or 0
    if form.validate_on_submit():
        course = db.session.get(Course, form.course_id.data) if form.course_id.data else None
        if bank is None:
            bank = question_banks.create_bank(form.title.data, course=course, category=form.category.data,
                                        description=form.description.data, by=current_user)
        else:
            bank.title, bank.course, bank.category = form.title.data.strip(), course, form.category.data.strip()
            bank.description = form.description.data or ""
        db.session.commit()
        flash(_("题库已保存"), "success")
        return redirect(url_for("quizzes_authoring.bank", bank_id=bank.id))
    return render_template("quizzes/bank_form.html", form=form, bank=bank)


@bp.get("/banks/<int:bank_id>")
@role_required(*STAFF)
def bank(bank_id: int):
    bank = bank_or_404(bank_id)
    quizzes = db.session.scalars(db.select(Quiz).where(Quiz.bank_id == bank.id).order_by(Quiz.id)).all()
    return render_template("quizzes/bank.html", bank=bank, questions=question_banks.bank_questions(bank.id),
                           quizzes=quizzes, KIND_LABELS=importexport.KIND_LABELS,
                           DIFFICULTY_LABELS=importexport.DIFFICULTY_LABELS)


@bp.route("/banks/<int:bank_id>/questions/new", methods=["GET", "POST"])
@role_required(*STAFF)
def question_new(bank_id: int):
    return _question_form(bank_or_404(bank_id), None)


@bp.route("/questions/<int:question_id>/edit", methods=["GET", "POST"])
@role_required(*STAFF)
def question_edit(question_id: int):
    question = db.get_or_404(Question, question_id)
    if question.deleted_at is not None:
        abort(404)
    return _question_form(question.bank, question)


def _question_form(bank: QuestionBank, question: Question | None):
    form = QuestionForm()
    if request.method == "GET" and question is not None:
        row = dict(zip(importexport.COLUMNS, importexport.row_for(question)))
        form.kind.data, form.stem.data, form.answer.data = row["题型"], row["题干"], row["答案"]
        form.options.data = "\n".join(row[c] for c in importexport.OPTION_COLUMNS if row[c])
        form.explanation.data, form.tags.data, form.difficulty.data = row["解析"], row["标签"], row["难度"]
    status = 200
    if form.validate_on_submit():
        cells = {"题型": form.kind.data, "题干": form.stem.data.strip(), "答案": form.answer.data.strip(),
                 "解析": (form.explanation.data or "").strip(), "标签": form.tags.data or "",
                 "难度": form.difficulty.data}
        lines = [line.strip() for line in (form.options.data or "").splitlines() if line.strip()]
        if len(lines) > len(importexport.LETTERS):
            form.options.errors.append(_("最多 8 个选项"))
        else:
            cells.update(dict(zip(importexport.OPTION_COLUMNS, lines)))
            try:
                data = importexport.parse_row(cells)
                if question is None:
                    question_banks.add_question(bank, data)
                else:
                    question_banks.update_question(question, data)
            except (importexport.RowProblem, QuizError) as problem:
                form.answer.errors.append(getattr(problem, "message", str(problem)))
            else:
                db.session.commit()
                flash(_("题目已保存"), "success")
                return redirect(url_for("quizzes_authoring.bank", bank_id=bank.id))
        status = 422
    elif request.method == "POST":
        status = 422
    return render_template("quizzes/question_form.html", form=form, bank=bank, question=question), status


@bp.post("/questions/<int:question_id>/delete")
@role_required(*STAFF)
def question_delete(question_id: int):
    question = db.get_or_404(Question, question_id)
    question_banks.delete_question(question)
    db.session.commit()
    flash(_("题目已删除"), "success")
    return redirect(url_for("quizzes_authoring.bank", bank_id=question.bank_id))


@bp.route("/banks/<int:bank_id>/import", methods=["GET", "POST"])
@role_required(*STAFF)
@accepts_upload("QUIZ_IMPORT_MAX_BYTES")
def bank_import(bank_id: int):
    bank = bank_or_404(bank_id)
    form = ImportForm()
    preview, payload, status = None, None, 200
    if form.validate_on_submit():
        data = form.file.data.read(current_app.config["QUIZ_IMPORT_MAX_BYTES"] + 1)
        if len(data) > current_app.config["QUIZ_IMPORT_MAX_BYTES"]:
            form.file.errors.append(_("文件太大"))
            status = 413
        else:
            preview = importexport.read_upload(data, form.file.data.filename or "", bank)
            if preview.errors:
                status = 422
            else:
                payload = import_serializer().dumps([[n, c] for n, c in preview.cells])
    elif request.method == "POST":
        status = 400
    return render_template("quizzes/import.html", bank=bank, form=form, preview=preview, payload=payload,
                           COLUMNS=importexport.COLUMNS, KIND_LABELS=importexport.KIND_LABELS), status


@bp.post("/banks/<int:bank_id>/import/confirm")
@role_required(*STAFF)
def bank_import_confirm(bank_id: int):
    bank = bank_or_404(bank_id)
    try:
        cell_rows = [(int(n), dict(c)) for n, c in import_serializer().loads(request.form.get("payload", ""))]
    except (BadSignature, TypeError, ValueError):
        abort(400)
    preview = importexport.check_cells(cell_rows, bank)  # the bank may have changed since the preview
    if preview.errors:
        flash(_("题库在预览后发生了变化，请重新上传文件。"), "warning")
        return redirect(url_for("quizzes_authoring.bank_import", bank_id=bank.id))
    count = importexport.import_rows(bank, preview.rows)
    db.session.commit()
    flash(_("已导入 %(n)d 道题", n=count), "success")
    return redirect(url_for("quizzes_authoring.bank", bank_id=bank.id))


@bp.get("/banks/<int:bank_id>/export.<fmt>")
@role_required(*STAFF)
def bank_export(bank_id: int, fmt: str):
    if fmt not in FORMATS:
        abort(404)
    bank = bank_or_404(bank_id)
    return download(importexport.export_bank(bank, fmt), fmt, bank.title)


@bp.get("/template.<fmt>")
@role_required(*STAFF)
def template_download(fmt: str):
    if fmt not in FORMATS:
        abort(404)
    return download(importexport.table_bytes(importexport.COLUMNS, [], fmt, "题库"), fmt, _("题库导入模板"))


# --- quizzes ------------------------------------------------------------------------------------------

@bp.get("/manage")
@role_required(*STAFF)
def manage():
    quizzes = db.session.scalars(db.select(Quiz).order_by(Quiz.id.desc())).all()
    return render_template("quizzes/manage.html", quizzes=quizzes)


@bp.route("/new", methods=["GET", "POST"])
@role_required(*STAFF)
def quiz_new():
    return _quiz_form(None)


@bp.route("/<int:quiz_id>/edit", methods=["GET", "POST"])
@role_required(*STAFF)
def quiz_edit(quiz_id: int):
    return _quiz_form(db.get_or_404(Quiz, quiz_id))


def _quiz_form(quiz: Quiz | None):
    form = QuizForm(obj=quiz)
    form.course_id.choices = course_choices()
    form.bank_id.choices = [SelectChoice(b.id, b.title) for b in db.session.scalars(db.select(QuestionBank)
                                                                        .order_by(QuestionBank.title))]
    if request.method == "GET":
        if quiz is None:
            form.bank_id.data = request.args.get("bank_id", type=int)
            bank = db.session.get(QuestionBank, form.bank_id.data) if form.bank_id.data else None
            form.course_id.data = bank.course_id or 0 if bank is not None else 0  # the bank's course
        else:
            form.course_id.data = quiz.course_id or 0
            form.time_limit_minutes.data = quiz.time_limit_seconds // 60 if quiz.time_limit_seconds else None
            form.credit_minutes.data = quiz.credit_seconds // 60
            form.review_policy.data = quiz.review_policy.value
            form.opens_at.data, form.closes_at.data = to_local(quiz.opens_at), to_local(quiz.closes_at)
            for entry, rule in zip(form.rules.entries, quiz.draw_rules):
                entry.form.kind.data = importexport.KIND_LABELS[rule.kind] if rule.kind else ""
                entry.form.tag.data = rule.tag or ""
                entry.form.difficulty.data = importexport.DIFFICULTY_LABELS[rule.difficulty] if rule.difficulty else ""
                entry.form.count.data, entry.form.points.data = rule.count, rule.points
    bank_id = form.bank_id.data or (quiz.bank_id if quiz else None)
    questions = question_banks.bank_questions(bank_id) if bank_id else []
    chosen = {fq.question_id: fq.points for fq in quiz.fixed_questions} if quiz else {}
    status = 200
    if request.method == "POST":
        chosen = {int(qid): max(1, request.form.get(f"points_{qid}", 1, type=int) or 1)
                  for qid in request.form.getlist("question_ids") if qid.isdigit()}
    if form.validate_on_submit():
        new = quiz is None
        if new:
            quiz = Quiz(created_by_id=current_user.id)
            db.session.add(quiz)
        quiz.title, quiz.description = form.title.data.strip(), form.description.data or ""
        quiz.bank_id = form.bank_id.data
        quiz.course_id = form.course_id.data or None
        for name in ("published", "shuffle_questions", "shuffle_options", "is_exam", "partial_credit",
                     "required_for_completion"):
            setattr(quiz, name, bool(getattr(form, name).data))
        quiz.time_limit_seconds = form.time_limit_minutes.data * 60 if form.time_limit_minutes.data else None
        quiz.max_attempts = form.max_attempts.data or None
        quiz.pass_percent = form.pass_percent.data
        quiz.review_policy = ReviewPolicy(form.review_policy.data)
        quiz.opens_at, quiz.closes_at = to_utc(form.opens_at.data), to_utc(form.closes_at.data)
        quiz.credit_seconds = (form.credit_minutes.data or 0) * 60
        db.session.flush()
        try:
            if form.uses_draw.data:
                rules = [{"kind": importexport.KINDS_BY_LABEL.get(e.form.kind.data), "tag": (e.form.tag.data or "").strip(),
                          "difficulty": importexport.DIFFICULTIES_BY_LABEL.get(e.form.difficulty.data)
                          if e.form.difficulty.data else None,
                          "count": e.form.count.data or 0, "points": e.form.points.data or 1}
                         for e in form.rules.entries]
                services.set_draw_rules(quiz, rules)
                if not quiz.draw_rules:
                    raise QuizError(_("请至少设置一条抽题规则"), 422)
            else:
                by_id = {q.id: q for q in question_banks.bank_questions(quiz.bank_id)}
                picked = [(by_id[qid], pts) for qid, pts in chosen.items() if qid in by_id]
                if not picked:
                    raise QuizError(_("请至少选择一道题"), 422)
                services.set_fixed_questions(quiz, picked)
        except QuizError as error:
            db.session.rollback()
            flash(error.message, "danger")
            status = 422
            if new:
                quiz = None
        else:
            db.session.commit()
            flash(_("测验已保存"), "success")
            return redirect(url_for("quizzes_authoring.manage"))
    elif request.method == "POST":
        status = 422
    return render_template("quizzes/quiz_form.html", form=form, quiz=quiz, questions=questions, chosen=chosen,
                           KIND_LABELS=importexport.KIND_LABELS,
                           DIFFICULTY_LABELS=importexport.DIFFICULTY_LABELS), status


@bp.get("/<int:quiz_id>/analytics")
@role_required(*STAFF)
def quiz_analytics(quiz_id: int):
    quiz = db.get_or_404(Quiz, quiz_id)
    return render_template("quizzes/analytics.html", quiz=quiz, stats=analytics.quiz_stats(quiz),
                           KIND_LABELS=importexport.KIND_LABELS)


@bp.get("/<int:quiz_id>/results.<fmt>")
@role_required(*STAFF)
def quiz_results(quiz_id: int, fmt: str):
    if fmt not in FORMATS:
        abort(404)
    quiz = db.get_or_404(Quiz, quiz_id)
    rows = analytics.results_rows(quiz, lambda v: to_local(v).strftime("%Y-%m-%d %H:%M:%S") if v else "")
    return download(importexport.table_bytes(analytics.RESULT_COLUMNS, rows, fmt, "成绩"), fmt,
                    _("%(title)s成绩", title=quiz.title))


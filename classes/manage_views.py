"""Training-class management pages (organizers, trainers, admins): create and edit a class, its plan
(online courses, offline sessions, exams), graduation rules, the roster, the progress board, graduation,
certificate revocation and the workbook export: the ``classes_manage`` blueprint, under /classes/ beside the
participants' pages (views.py); which classes a user manages is decided by ``classes.services``
(NotFound outside their scope)."""
from __future__ import annotations

import io
from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select
from wtforms.fields.choices import SelectChoice

from accounts.models import Organization, User
from accounts.services import subtree_condition
from core import clock
from core.extensions import db
from core.permissions import Role, role_required
from courses.models import Course, CourseStatus
from classes import graduation, services
from classes.exports import export_class_workbook, workbook_filename
from classes.forms import (ClassForm, CourseItemForm, ExamForm, GraduateForm, MoveSessionForm, ReasonForm,
                                    RulesForm, SessionForm)
from classes.models import (ClassCertificate, ClassType, EnrolmentMode, Participant, ParticipantStatus,
                                     PlanItem, TrainingClass)
from classes.views import MANAGERS, MODE_LABELS, to_local, to_utc
from learning.hours import to_units, units_to_seconds
from quizzes.models import Quiz

bp = Blueprint("classes_manage", __name__, url_prefix="/classes")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def managed_or_404(class_id: int) -> TrainingClass:
    return services.class_for_manager(current_user, class_id)  # NotFound outside the manager's scope


# --- creating and editing a class ---------------------------------------------------------------------------------

def _host_choices() -> list[SelectChoice]:
    root = services.manage_root(current_user)
    stmt = select(Organization).order_by(Organization.path)
    base_depth = 0
    if root is not None:
        stmt = stmt.where(subtree_condition(root))
        base_depth = root.depth
    stmt = stmt.where(Organization.depth <= base_depth + 2).limit(500)  # down to communities, not every building
    return [SelectChoice(o.id, "\u3000" * (o.depth - base_depth) + o.name) for o in db.session.scalars(stmt)]


def _fill_class_choices(form: ClassForm, current: TrainingClass | None = None) -> None:
    types = services.class_types()
    if current is not None and current.type_id not in {t.id for t in types}:
        types.append(current.class_type)  # a retired kind stays on its old classes
    form.type_id.choices = [SelectChoice(t.id, t.name) for t in types]
    form.host_org_id.choices = _host_choices()
    if current is not None and current.host_org_id not in {c.value for c in form.host_org_id.choices}:
        form.host_org_id.choices.append(SelectChoice(current.host_org_id, current.host_org.name))
    form.enrolment.choices = [SelectChoice(k, v) for k, v in MODE_LABELS.items()]


def _class_fields(form: ClassForm) -> dict:
    return {"name": form.name.data, "class_type": db.session.get(ClassType, form.type_id.data),
            "host_org": db.session.get(Organization, form.host_org_id.data), "starts_on": form.starts_on.data,
            "ends_on": form.ends_on.data, "capacity": form.capacity.data,
            "enrolment_mode": EnrolmentMode(form.enrolment.data),
            "registration_opens_at": to_utc(form.registration_opens_at.data),
            "registration_closes_at": to_utc(form.registration_closes_at.data),
            "certificate_prefix": form.certificate_prefix.data or ""}


@bp.route("/new", methods=["GET", "POST"])
@role_required(*MANAGERS)
def create():
    form = ClassForm()
    _fill_class_choices(form)
    if form.validate_on_submit():
        try:
            item = services.create_class(by=current_user, **_class_fields(form))
        except services.ClassError as error:
            db.session.rollback()
            form.name.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("培训班已创建。接下来请安排教学计划和结业条件。"), "success")
            return redirect(url_for("classes_manage.manage", class_id=item.id))
    return render_template("classes/form.html", form=form, item=None), (400 if form.errors else 200)


@bp.route("/<int:class_id>/edit", methods=["GET", "POST"])
@role_required(*MANAGERS)
def edit(class_id: int):
    item = managed_or_404(class_id)
    if item.is_frozen:
        flash(_("培训班已结业，不能再修改。"), "warning")
        return redirect(url_for("classes_manage.manage", class_id=item.id))
    form = ClassForm(obj=None if request.method == "POST" else _class_defaults(item))
    _fill_class_choices(form, item)
    if form.validate_on_submit():
        try:
            services.update_class(item, current_user, **_class_fields(form))
        except services.ClassError as error:
            db.session.rollback()
            form.name.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("已保存。"), "success")
            return redirect(url_for("classes_manage.manage", class_id=item.id))
    return render_template("classes/form.html", form=form, item=item), (400 if form.errors else 200)


def _class_defaults(item: TrainingClass):
    class Defaults:
        name = item.name
        type_id = item.type_id
        host_org_id = item.host_org_id
        starts_on = item.starts_on
        ends_on = item.ends_on
        capacity = item.capacity
        enrolment = item.enrolment_mode.value
        registration_opens_at = to_local(item.registration_opens_at)
        registration_closes_at = to_local(item.registration_closes_at)
        certificate_prefix = item.certificate_prefix

    return Defaults()


@bp.post("/<int:class_id>/status/<action>")
@role_required(*MANAGERS)
def change_status(class_id: int, action: str):
    item = managed_or_404(class_id)
    operations = {"publish": (services.publish_class, _("培训班已发布。")),
                  "start": (services.start_class, _("培训班已开班。"))}
    if action not in operations:
        abort(404)
    operation, message = operations[action]
    try:
        operation(item, current_user)
    except services.ClassError as error:
        db.session.rollback()
        flash(str(error), "danger")
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(url_for("classes_manage.manage", class_id=item.id))


# --- the plan: courses, sessions, exams, rules ---------------------------------------------------------------

def _plan_forms(item: TrainingClass, **given) -> dict:
    forms = {"course_form": given.get("course_form") or CourseItemForm(prefix="course"),
             "session_form": given.get("session_form") or SessionForm(prefix="session"),
             "exam_form": given.get("exam_form") or ExamForm(prefix="exam"),
             "rules_form": given.get("rules_form") or RulesForm(prefix="rules", obj=_rules_defaults(item))}
    forms["course_form"].course_id.choices = [SelectChoice(c.id, c.title) for c in db.session.scalars(
        select(Course).where(Course.status == CourseStatus.PUBLISHED).order_by(Course.title).limit(500))]
    forms["exam_form"].quiz_id.choices = [SelectChoice(q.id, q.title) for q in db.session.scalars(
        select(Quiz).where(Quiz.published.is_(True)).order_by(Quiz.id.desc()).limit(500))]
    trainers = db.session.scalars(select(User).where(User.role == Role.TRAINER).order_by(User.name).limit(300))
    forms["session_form"].trainer_id.choices = [SelectChoice(0, _("（不指定）"))] + [SelectChoice(t.id, t.name) for t in trainers]
    return forms


def _rules_defaults(item: TrainingClass):
    class Defaults:
        required_items = item.rule_required_items
        min_attendance_percent = item.rule_min_attendance_percent
        exam_pass_required = item.rule_exam_pass
        min_hours = to_units(item.rule_min_hours_seconds) if item.rule_min_hours_seconds is not None else None

    return Defaults()


def _manage_page(item: TrainingClass, status: int = 200, **forms):
    now = clock.utcnow()
    return render_template("classes/manage.html", item=item, now=now, schedule=services.schedule(item, now),
                           items=item.plan_items, counts=_participant_counts(item), **_plan_forms(item, **forms)), status


def _participant_counts(item: TrainingClass) -> dict[str, int]:
    return {status.value: n for status, n in db.session.execute(
        select(Participant.status, func.count(Participant.id)).where(Participant.class_id == item.id)
        .group_by(Participant.status))}


@bp.get("/<int:class_id>/manage")
@role_required(*MANAGERS)
def manage(class_id: int):
    return _manage_page(managed_or_404(class_id))


def _save_manage_form(item: TrainingClass, name: str, form, save, error_field: str, done: str, anchor: str):
    """One form of the class's manage page, posted: invalid, the page again (400) with the form's errors; refused
    by the service, the page again with its reason under ``error_field``; saved, committed, ``done`` flashed and
    back at ``anchor``."""
    _plan_forms(item, **{name: form})  # the choices the form validates against
    if not form.validate_on_submit():
        return _manage_page(item, 400, **{name: form})
    try:
        save()
    except services.ClassError as error:
        db.session.rollback()
        getattr(form, error_field).errors.append(str(error))
        return _manage_page(item, 400, **{name: form})
    db.session.commit()
    flash(done, "success")
    return redirect(url_for("classes_manage.manage", class_id=item.id) + "#" + anchor)


def _add_plan_item(class_id: int, form, name: str, field: str, model, add, done: str):
    """A course or an exam put on the plan: ``add(item, the chosen row, by, required=)``."""
    item = managed_or_404(class_id)
    return _save_manage_form(item, name, form, lambda: add(item, db.session.get(model, getattr(form, field).data),
                                                           current_user, required=form.required.data),
                             field, done, "plan")


@bp.post("/<int:class_id>/plan/courses")
@role_required(*MANAGERS)
def add_course(class_id: int):
    return _add_plan_item(class_id, CourseItemForm(prefix="course"), "course_form", "course_id", Course,
                          services.add_course_item, _("课程已加入教学计划。"))


@bp.post("/<int:class_id>/plan/exams")
@role_required(*MANAGERS)
def add_exam(class_id: int):
    return _add_plan_item(class_id, ExamForm(prefix="exam"), "exam_form", "quiz_id", Quiz,
                          services.add_exam_item, _("考试已加入教学计划。"))


@bp.post("/<int:class_id>/plan/sessions")
@role_required(*MANAGERS)
def add_session(class_id: int):
    item = managed_or_404(class_id)
    form = SessionForm(prefix="session")

    def save():
        trainer = db.session.get(User, form.trainer_id.data) if form.trainer_id.data else None
        services.schedule_session(
            item, current_user, title=form.title.data, place=form.place.data,
            starts_at=to_utc(form.starts_at.data), ends_at=to_utc(form.ends_at.data),
            credit_seconds=units_to_seconds(form.credit_hours.data) if form.credit_hours.data else None,
            trainer=trainer if trainer is not None and trainer.role == Role.TRAINER else None,
            trainer_name=form.trainer_name.data or "")

    return _save_manage_form(item, "session_form", form, save, "ends_at", _("课次已安排。"), "schedule")


@bp.post("/<int:class_id>/plan/items/<int:item_id>/remove")
@role_required(*MANAGERS)
def remove_item(class_id: int, item_id: int):
    item = managed_or_404(class_id)
    plan_item = db.session.get(PlanItem, item_id)
    if plan_item is None or plan_item.class_id != item.id:
        abort(404)
    try:
        services.remove_plan_item(plan_item, current_user)
    except services.ClassError as error:
        db.session.rollback()
        flash(str(error), "danger")
    else:
        db.session.commit()
        flash(_("已从教学计划中移除。"), "success")
    return redirect(url_for("classes_manage.manage", class_id=item.id) + "#plan")


@bp.post("/<int:class_id>/rules")
@role_required(*MANAGERS)
def rules(class_id: int):
    item = managed_or_404(class_id)
    form = RulesForm(prefix="rules")
    return _save_manage_form(
        item, "rules_form", form, lambda: services.set_graduation_rules(
            item, current_user, required_items=form.required_items.data,
            min_attendance_percent=form.min_attendance_percent.data, exam_pass=form.exam_pass_required.data,
            min_hours_seconds=units_to_seconds(form.min_hours.data) if form.min_hours.data is not None else None),
        "min_attendance_percent", _("结业条件已保存。"), "rules")


@bp.route("/sessions/<int:session_id>/move", methods=["GET", "POST"])
@role_required(*MANAGERS)
def move_session(session_id: int):
    session = services.session_for_manager(current_user, session_id)
    form = MoveSessionForm()
    if request.method == "GET":
        form.starts_at.data, form.ends_at.data = to_local(session.starts_at), to_local(session.ends_at)
        form.place.data = session.place
    elif form.validate_on_submit():
        try:
            notified = services.move_session(session, current_user, starts_at=to_utc(form.starts_at.data),
                                             ends_at=to_utc(form.ends_at.data), place=form.place.data,
                                             reason=form.reason.data or "")
        except services.ClassError as error:
            db.session.rollback()
            form.starts_at.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("课次已调整，已通知 %(n)s 名学员。", n=notified), "success")
            return redirect(url_for("classes_manage.manage", class_id=session.class_id) + "#schedule")
    return render_template("classes/session_change.html", form=form, session=session, action="move"), \
        (400 if form.errors else 200)


@bp.route("/sessions/<int:session_id>/cancel", methods=["GET", "POST"])
@role_required(*MANAGERS)
def cancel_session(session_id: int):
    session = services.session_for_manager(current_user, session_id)
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            notified = services.cancel_session(session, current_user, reason=form.reason.data)
        except services.ClassError as error:
            db.session.rollback()
            form.reason.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("课次已取消，已通知 %(n)s 名学员。", n=notified), "success")
            return redirect(url_for("classes_manage.manage", class_id=session.class_id) + "#schedule")
    return render_template("classes/session_change.html", form=form, session=session, action="cancel"), \
        (400 if form.errors else 200)


# --- roster ------------------------------------------------------------------------------------------------------

def roster_candidates(item: TrainingClass, query: str, limit: int = 50) -> list[User]:
    """Members of the manager's subtree matching ``query`` (name or phone) who are not on the roster yet."""
    root = services.manage_root(current_user)
    stmt = (select(User).join(Organization, User.organization_id == Organization.id)
            .where(User.role == Role.MEMBER, User.is_active_flag.is_(True)))
    if root is not None:
        stmt = stmt.where(subtree_condition(root))
    if query:
        like = f"%{query.strip()}%"
        stmt = stmt.where(or_(User.name.like(like), User.phone.like(like)))
    on_roster = select(Participant.user_id).where(Participant.class_id == item.id,
                                                  Participant.status == ParticipantStatus.APPROVED)
    stmt = stmt.where(User.id.not_in(on_roster)).order_by(Organization.path, User.name).limit(limit)
    return list(db.session.scalars(stmt))


@bp.get("/<int:class_id>/roster")
@role_required(*MANAGERS)
def roster(class_id: int):
    item = managed_or_404(class_id)
    query = request.args.get("q", "").strip()[:50]
    people = services.participants(item)
    by_status: dict[str, list[Participant]] = {}
    for participant in people:
        by_status.setdefault(participant.status.value, []).append(participant)
    candidates = roster_candidates(item, query) if query else []
    return render_template("classes/roster.html", item=item, q=query, by_status=by_status,
                           candidates=candidates, reject_form=ReasonForm())


@bp.post("/<int:class_id>/roster")
@role_required(*MANAGERS)
def roster_add(class_id: int):
    item = managed_or_404(class_id)
    ids = [int(v) for v in request.form.getlist("member_id") if v.isdigit()][:200]
    if not ids:
        flash(_("请先勾选要加入的党员。"), "warning")
        return redirect(url_for("classes_manage.roster", class_id=item.id, q=request.form.get("q", "")))
    members = list(db.session.scalars(select(User).where(User.id.in_(ids))))
    try:
        added = services.add_roster_members(item, members, current_user)
    except services.ClassError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return redirect(url_for("classes_manage.roster", class_id=item.id, q=request.form.get("q", "")))
    db.session.commit()
    flash(_("已加入 %(n)s 人。", n=len(added)), "success")
    return redirect(url_for("classes_manage.roster", class_id=item.id))


def _participant_or_404(class_id: int, participant_id: int) -> Participant:
    item = managed_or_404(class_id)
    participant = db.session.get(Participant, participant_id)
    if participant is None or participant.class_id != item.id:
        abort(404)
    return participant


@bp.post("/<int:class_id>/roster/<int:participant_id>/<action>")
@role_required(*MANAGERS)
def roster_decide(class_id: int, participant_id: int, action: str):
    participant = _participant_or_404(class_id, participant_id)
    reason = (request.form.get("reason") or "").strip()[:300]
    if action == "reject" and not reason:
        flash(_("请填写不予通过的原因。"), "danger")
        return redirect(url_for("classes_manage.roster", class_id=class_id))
    operations = {"approve": lambda: services.approve(participant, current_user),
                  "reject": lambda: services.reject(participant, current_user, reason),
                  "remove": lambda: services.remove_participant(participant, current_user, reason)}
    if action not in operations:
        abort(404)
    try:
        operations[action]()
    except services.ClassError as error:
        db.session.rollback()
        flash(str(error), "danger")
    else:
        db.session.commit()
        flash({"approve": _("已录取%(n)s。"), "reject": _("已不予通过%(n)s的申请。"),
               "remove": _("已将%(n)s移出培训班。")}[action] % {"n": participant.user.name}, "success")
    return redirect(url_for("classes_manage.roster", class_id=class_id))


# --- progress board, graduation, export ------------------------------------------------------------------------

@bp.get("/<int:class_id>/board")
@role_required(*MANAGERS)
def board(class_id: int):
    item = managed_or_404(class_id)
    now = clock.utcnow()
    result = services.board(item, now)
    _, period_end = services.period_bounds_utc(item)
    final = item.is_frozen
    rows = sorted(result.rows, key=lambda r: (not r.at_risk, r.user.name)) if not final else result.rows
    graduates = [r for r in result.rows if r.certificate is not None]
    others = [r for r in result.rows if r.certificate is None]
    return render_template("classes/board.html", item=item, b=result, rows=rows, final=final,
                           period_over=now >= period_end, graduates=graduates, others=others,
                           graduate_form=GraduateForm(), revoke_form=ReasonForm())


@bp.post("/<int:class_id>/graduate")
@role_required(*MANAGERS)
def graduate(class_id: int):
    item = managed_or_404(class_id)
    form = GraduateForm()
    if not form.validate_on_submit():
        flash(_("请勾选确认后再结业。"), "danger")
        return redirect(url_for("classes_manage.board", class_id=item.id))
    try:
        outcome = services.graduate(item, current_user, early_reason=form.early_reason.data)
    except graduation.GraduationError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return redirect(url_for("classes_manage.board", class_id=item.id))
    db.session.commit()
    flash(_("结业完成：新颁发证书 %(issued)s 张，未达到结业条件 %(missed)s 人。", issued=len(outcome.issued),
            missed=len(outcome.not_graduated)), "success")
    return redirect(url_for("classes_manage.board", class_id=item.id) + "#results")


@bp.post("/certificates/<int:certificate_id>/revoke")
@role_required(*MANAGERS)
def revoke(certificate_id: int):
    certificate = db.session.get(ClassCertificate, certificate_id)
    if certificate is None or not services.can_manage(current_user, certificate.training_class):
        abort(404)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("请填写撤销原因。"), "danger")
    else:
        services.revoke_certificate(certificate, current_user, form.reason.data)
        db.session.commit()
        flash(_("证书 %(n)s 已撤销，编号不再使用。", n=certificate.number), "success")
    return redirect(url_for("classes_manage.board", class_id=certificate.class_id) + "#results")


@bp.get("/<int:class_id>/export.xlsx")
@role_required(*MANAGERS)
def export(class_id: int):
    """The class workbook (名单, 考勤, 考试成绩, 学时, 结业): the same function as ``flask classes export``."""
    item = managed_or_404(class_id)
    out = io.BytesIO()
    export_class_workbook(item, out)
    name = workbook_filename(item)
    return Response(out.getvalue(), mimetype=XLSX,
                    headers={"Content-Disposition": f"attachment; filename=class-{item.id}.xlsx; "
                                                    f"filename*=UTF-8''{quote(name)}"})

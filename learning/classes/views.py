"""Training-class pages (/classes/): my classes and open registration, managing a class (details, plan,
sessions, graduation rules, roster), the progress board and graduation, the participant's view, certificates
and their public verification. Scope (who manages which class, who sees which class) is decided by
``learning.classes.services``; every handler here commits once."""
from __future__ import annotations

import io
from datetime import UTC, datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, or_, select

from accounts.models import Organization, User
from accounts.services import subtree_condition
from core import clock
from core.extensions import db
from core.nav import NavLink
from core.permissions import Role, has_role, login_required, public, role_required
from courses.models import Course, CourseStatus
from learning.classes import graduation, services
from learning.classes.exports import export_class_workbook, workbook_filename
from learning.classes.forms import (ClassForm, CourseItemForm, ExamForm, GraduateForm, MoveSessionForm, ReasonForm,
                                    RulesForm, SessionForm)
from learning.classes.models import (ClassCertificate, ClassSession, ClassStatus, ClassType, EnrolmentMode,
                                     Participant, ParticipantStatus, PlanItem, PlanItemKind, TrainingClass)
from learning.hours import format_units, to_units, units_to_seconds
from learning.models import CheckIn, Enrollment, OfflineClass
from quizzes.models import Attempt, AttemptStatus, Quiz

bp = Blueprint("classes", __name__, url_prefix="/classes")

NAV_LINKS = [NavLink("classes.index", _l("培训班"))]
HOME_PANEL = "classes/_home_panel.html"
MANAGERS = (Role.ORGANIZER, Role.TRAINER)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

MODE_LABELS = {EnrolmentMode.ROSTER.value: _l("组织指定（名册）"), EnrolmentMode.APPLICATION.value: _l("申请审核"),
               EnrolmentMode.OPEN.value: _l("公开报名（群众可报）")}
STATUS_LABELS = {ClassStatus.DRAFT.value: _l("草稿"), ClassStatus.OPEN.value: _l("报名中"),
                 ClassStatus.RUNNING.value: _l("进行中"), ClassStatus.GRADUATED.value: _l("已结业")}
PARTICIPANT_LABELS = {ParticipantStatus.APPLIED.value: _l("待审核"), ParticipantStatus.APPROVED.value: _l("已录取"),
                      ParticipantStatus.REJECTED.value: _l("未通过"), ParticipantStatus.WITHDRAWN.value: _l("已退出")}
ITEM_LABELS = {PlanItemKind.COURSE.value: _l("线上课程"), PlanItemKind.SESSION.value: _l("线下课次"),
               PlanItemKind.EXAM.value: _l("考试")}


# --- helpers ---------------------------------------------------------------------------------------------------

def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])


def to_utc(local: datetime | None) -> datetime | None:
    """A local time typed into a form -> naive UTC, as stored."""
    if local is None:
        return None
    return local.replace(tzinfo=_tz()).astimezone(UTC).replace(tzinfo=None)


def to_local(value: datetime | None) -> datetime | None:
    """A stored naive-UTC time -> naive local, to fill a form."""
    local = clock.to_local(value, current_app.config["DISPLAY_TIMEZONE"])
    return local.replace(tzinfo=None) if local else None


def managed_or_404(class_id: int) -> TrainingClass:
    return services.class_for_manager(current_user, class_id)  # NotFound outside the manager's scope


def rule_state(rule, final: bool) -> str:
    """met / at_risk / missed / pending: how the board colours a rule."""
    if rule.met:
        return "met"
    if final:
        return "missed"
    return "at_risk" if rule.at_risk else "pending"


def rule_figure(rule) -> str:
    """The rule's value against its threshold, as a participant reads it."""
    if rule.key == "attendance":
        return _("%(v)s%% / 要求 %(t)s%%", v=rule.value, t=rule.threshold)
    if rule.key == "hours":
        return _("%(v)s / 要求 %(t)s 学时", v=format_units(int(rule.value)), t=format_units(int(rule.threshold)))
    return _("%(v)s / %(t)s 项", v=int(rule.value), t=int(rule.threshold))


@bp.app_context_processor
def class_helpers():
    return {"class_mode_labels": MODE_LABELS, "class_status_labels": STATUS_LABELS,
            "participant_labels": PARTICIPANT_LABELS, "plan_item_labels": ITEM_LABELS, "class_home": home_panel,
            "rule_state": rule_state, "rule_figure": rule_figure, "rule_label": graduation.rule_label}


def next_sessions(class_ids: list[int], now: datetime) -> dict[int, ClassSession]:
    """Each class's next session (not cancelled, not over), in one query."""
    if not class_ids:
        return {}
    rows = db.session.scalars(select(ClassSession).join(OfflineClass).where(
        ClassSession.class_id.in_(class_ids), ClassSession.cancelled_at.is_(None), OfflineClass.ends_at >= now)
        .order_by(OfflineClass.starts_at, ClassSession.id))
    found: dict[int, ClassSession] = {}
    for session in rows:
        found.setdefault(session.class_id, session)
    return found


def home_panel() -> dict | None:
    """The home page panel: my classes' next sessions and unread notices about changed sessions."""
    if not current_user.is_authenticated:
        return None
    now = clock.utcnow()
    mine = [c for c in services.my_classes(current_user) if c.status != ClassStatus.GRADUATED]
    upcoming = next_sessions([c.id for c in mine], now)
    rows = sorted(((c, upcoming.get(c.id)) for c in mine),
                  key=lambda pair: (pair[1] is None, pair[1].starts_at if pair[1] else datetime.max))
    notices = [(n, services.notice_text(n)) for n in services.unread_notices(current_user)]
    if not rows and not notices:
        return None
    return {"rows": rows[:5], "notices": notices}


# --- index -----------------------------------------------------------------------------------------------------

@bp.get("/")
@login_required
def index():
    now = clock.utcnow()
    mine = services.my_classes(current_user)
    upcoming = next_sessions([c.id for c in mine], now)
    mine.sort(key=lambda c: (c.status == ClassStatus.GRADUATED, upcoming.get(c.id) is None,
                             upcoming[c.id].starts_at if c.id in upcoming else datetime.max))
    mine_status = dict(db.session.execute(select(Participant.class_id, Participant.status).where(
        Participant.user_id == current_user.id)).all())
    joined = set(mine_status)
    registrable = [c for c in services.registrable_classes(current_user, now) if c.id not in joined]
    managed = None
    if has_role(current_user, *MANAGERS):
        managed = db.paginate(services.manageable_classes(current_user), per_page=20, error_out=False)
    return render_template("classes/index.html", mine=mine, upcoming=upcoming, mine_status=mine_status,
                           registrable=registrable, managed=managed, now=now)


# --- creating and editing a class ---------------------------------------------------------------------------------

def _host_choices() -> list[tuple[int, str]]:
    root = services.manage_root(current_user)
    stmt = select(Organization).order_by(Organization.path)
    base_depth = 0
    if root is not None:
        stmt = stmt.where(subtree_condition(root))
        base_depth = root.depth
    stmt = stmt.where(Organization.depth <= base_depth + 2).limit(500)  # down to communities, not every building
    return [(o.id, "\u3000" * (o.depth - base_depth) + o.name) for o in db.session.scalars(stmt)]


def _fill_class_choices(form: ClassForm, current: TrainingClass | None = None) -> None:
    types = services.class_types()
    if current is not None and current.type_id not in {t.id for t in types}:
        types.append(current.class_type)  # a retired kind stays on its old classes
    form.type_id.choices = [(t.id, t.name) for t in types]
    form.host_org_id.choices = _host_choices()
    if current is not None and current.host_org_id not in {c[0] for c in form.host_org_id.choices}:
        form.host_org_id.choices.append((current.host_org_id, current.host_org.name))
    form.enrolment.choices = list(MODE_LABELS.items())


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
            return redirect(url_for("classes.manage", class_id=item.id))
    return render_template("classes/form.html", form=form, item=None), (400 if form.errors else 200)


@bp.route("/<int:class_id>/edit", methods=["GET", "POST"])
@role_required(*MANAGERS)
def edit(class_id: int):
    item = managed_or_404(class_id)
    if item.is_frozen:
        flash(_("培训班已结业，不能再修改。"), "warning")
        return redirect(url_for("classes.manage", class_id=item.id))
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
            return redirect(url_for("classes.manage", class_id=item.id))
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
    return redirect(url_for("classes.manage", class_id=item.id))


# --- the plan: courses, sessions, exams, rules ---------------------------------------------------------------

def _plan_forms(item: TrainingClass, **given) -> dict:
    forms = {"course_form": given.get("course_form") or CourseItemForm(prefix="course"),
             "session_form": given.get("session_form") or SessionForm(prefix="session"),
             "exam_form": given.get("exam_form") or ExamForm(prefix="exam"),
             "rules_form": given.get("rules_form") or RulesForm(prefix="rules", obj=_rules_defaults(item))}
    forms["course_form"].course_id.choices = [(c.id, c.title) for c in db.session.scalars(
        select(Course).where(Course.status == CourseStatus.PUBLISHED).order_by(Course.title).limit(500))]
    forms["exam_form"].quiz_id.choices = [(q.id, q.title) for q in db.session.scalars(
        select(Quiz).where(Quiz.published.is_(True)).order_by(Quiz.id.desc()).limit(500))]
    trainers = db.session.scalars(select(User).where(User.role == Role.TRAINER).order_by(User.name).limit(300))
    forms["session_form"].trainer_id.choices = [(0, _("（不指定）"))] + [(t.id, t.name) for t in trainers]
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


@bp.post("/<int:class_id>/plan/courses")
@role_required(*MANAGERS)
def add_course(class_id: int):
    item = managed_or_404(class_id)
    form = CourseItemForm(prefix="course")
    _plan_forms(item, course_form=form)
    if not form.validate_on_submit():
        return _manage_page(item, 400, course_form=form)
    try:
        services.add_course_item(item, db.session.get(Course, form.course_id.data), current_user,
                                 required=form.required.data)
    except services.ClassError as error:
        db.session.rollback()
        form.course_id.errors.append(str(error))
        return _manage_page(item, 400, course_form=form)
    db.session.commit()
    flash(_("课程已加入教学计划。"), "success")
    return redirect(url_for("classes.manage", class_id=item.id) + "#plan")


@bp.post("/<int:class_id>/plan/exams")
@role_required(*MANAGERS)
def add_exam(class_id: int):
    item = managed_or_404(class_id)
    form = ExamForm(prefix="exam")
    _plan_forms(item, exam_form=form)
    if not form.validate_on_submit():
        return _manage_page(item, 400, exam_form=form)
    try:
        services.add_exam_item(item, db.session.get(Quiz, form.quiz_id.data), current_user, required=form.required.data)
    except services.ClassError as error:
        db.session.rollback()
        form.quiz_id.errors.append(str(error))
        return _manage_page(item, 400, exam_form=form)
    db.session.commit()
    flash(_("考试已加入教学计划。"), "success")
    return redirect(url_for("classes.manage", class_id=item.id) + "#plan")


@bp.post("/<int:class_id>/plan/sessions")
@role_required(*MANAGERS)
def add_session(class_id: int):
    item = managed_or_404(class_id)
    form = SessionForm(prefix="session")
    _plan_forms(item, session_form=form)
    if not form.validate_on_submit():
        return _manage_page(item, 400, session_form=form)
    trainer = db.session.get(User, form.trainer_id.data) if form.trainer_id.data else None
    try:
        services.schedule_session(
            item, current_user, title=form.title.data, place=form.place.data,
            starts_at=to_utc(form.starts_at.data), ends_at=to_utc(form.ends_at.data),
            credit_seconds=units_to_seconds(form.credit_hours.data) if form.credit_hours.data else None,
            trainer=trainer if trainer is not None and trainer.role == Role.TRAINER else None,
            trainer_name=form.trainer_name.data or "")
    except services.ClassError as error:
        db.session.rollback()
        form.ends_at.errors.append(str(error))
        return _manage_page(item, 400, session_form=form)
    db.session.commit()
    flash(_("课次已安排。"), "success")
    return redirect(url_for("classes.manage", class_id=item.id) + "#schedule")


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
    return redirect(url_for("classes.manage", class_id=item.id) + "#plan")


@bp.post("/<int:class_id>/rules")
@role_required(*MANAGERS)
def rules(class_id: int):
    item = managed_or_404(class_id)
    form = RulesForm(prefix="rules")
    if not form.validate_on_submit():
        return _manage_page(item, 400, rules_form=form)
    try:
        services.set_graduation_rules(
            item, current_user, required_items=form.required_items.data,
            min_attendance_percent=form.min_attendance_percent.data, exam_pass=form.exam_pass_required.data,
            min_hours_seconds=units_to_seconds(form.min_hours.data) if form.min_hours.data is not None else None)
    except services.ClassError as error:
        db.session.rollback()
        form.min_attendance_percent.errors.append(str(error))
        return _manage_page(item, 400, rules_form=form)
    db.session.commit()
    flash(_("结业条件已保存。"), "success")
    return redirect(url_for("classes.manage", class_id=item.id) + "#rules")


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
            return redirect(url_for("classes.manage", class_id=session.class_id) + "#schedule")
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
            return redirect(url_for("classes.manage", class_id=session.class_id) + "#schedule")
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
        return redirect(url_for("classes.roster", class_id=item.id, q=request.form.get("q", "")))
    members = list(db.session.scalars(select(User).where(User.id.in_(ids))))
    try:
        added = services.add_roster_members(item, members, current_user)
    except services.ClassError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return redirect(url_for("classes.roster", class_id=item.id, q=request.form.get("q", "")))
    db.session.commit()
    flash(_("已加入 %(n)s 人。", n=len(added)), "success")
    return redirect(url_for("classes.roster", class_id=item.id))


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
        return redirect(url_for("classes.roster", class_id=class_id))
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
    return redirect(url_for("classes.roster", class_id=class_id))


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
        return redirect(url_for("classes.board", class_id=item.id))
    try:
        outcome = services.graduate(item, current_user)
    except graduation.GraduationError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return redirect(url_for("classes.board", class_id=item.id))
    db.session.commit()
    flash(_("结业完成：新颁发证书 %(issued)s 张，未达到结业条件 %(missed)s 人。", issued=len(outcome.issued),
            missed=len(outcome.not_graduated)), "success")
    return redirect(url_for("classes.board", class_id=item.id) + "#results")


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
    return redirect(url_for("classes.board", class_id=certificate.class_id) + "#results")


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


# --- participants ------------------------------------------------------------------------------------------------

def todo(item: TrainingClass, user: User, now: datetime) -> list[dict]:
    """Each plan item with whether ``user`` has done it (course completed, session attended, exam passed)."""
    items = item.plan_items
    courses = [i.course_id for i in items if i.kind == PlanItemKind.COURSE]
    quizzes = [i.quiz_id for i in items if i.kind == PlanItemKind.EXAM]
    sessions = {i.session_id: i.session for i in items if i.kind == PlanItemKind.SESSION and i.session}
    completed = set(db.session.scalars(select(Enrollment.course_id).where(
        Enrollment.user_id == user.id, Enrollment.course_id.in_(courses), Enrollment.completed_at.is_not(None))))
    passed = set(db.session.scalars(select(Attempt.quiz_id).where(
        Attempt.user_id == user.id, Attempt.quiz_id.in_(quizzes), Attempt.status == AttemptStatus.SUBMITTED,
        Attempt.passed.is_(True))))
    attended = set(db.session.scalars(select(CheckIn.class_id).where(
        CheckIn.user_id == user.id, CheckIn.class_id.in_([s.offline_class_id for s in sessions.values()]))))
    rows = []
    for plan_item in items:
        if plan_item.kind == PlanItemKind.COURSE:
            done, link = plan_item.course_id in completed, url_for("courses.detail", course_id=plan_item.course_id)
        elif plan_item.kind == PlanItemKind.EXAM:
            done, link = plan_item.quiz_id in passed, url_for("quizzes.detail", quiz_id=plan_item.quiz_id)
        else:
            session = plan_item.session
            if session is None or session.is_cancelled:
                continue
            done, link = session.offline_class_id in attended, None
        rows.append({"item": plan_item, "done": done, "link": link})
    return rows


@bp.get("/<int:class_id>")
@login_required
def detail(class_id: int):
    now = clock.utcnow()
    item = services.class_for_viewer(current_user, class_id, now)
    participant = services.participant_of(item, current_user)
    approved = participant is not None and participant.status == ParticipantStatus.APPROVED
    standing = services.standing(participant, now) if approved else None
    certificate = services.certificate_for(item, current_user) if approved else None
    calendar = None
    if approved and "class_calendar.feed" in current_app.view_functions:
        calendar = services.calendar_url(current_user)
        db.session.commit()  # the feed's secret is made on first use
    return render_template("classes/detail.html", item=item, participant=participant, approved=approved,
                           standing=standing, certificate=certificate, calendar_url=calendar, now=now,
                           schedule=services.schedule(item, now), todo=todo(item, current_user, now) if approved else [],
                           may_join=(participant is None or participant.status == ParticipantStatus.WITHDRAWN)
                           and services.may_apply(item, current_user) and services.registration_open(item, now),
                           manager=services.can_manage(current_user, item))


@bp.post("/<int:class_id>/join")
@login_required
def join(class_id: int):
    now = clock.utcnow()
    item = services.class_for_viewer(current_user, class_id, now)
    try:
        if item.enrolment_mode == EnrolmentMode.OPEN:
            services.register(item, current_user, now)
            message = _("报名成功！下面是培训班的课程安排。")
        else:
            services.apply(item, current_user, (request.form.get("note") or "")[:300], now)
            message = _("申请已提交，请等待组织审核。")
    except services.ClassError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return redirect(url_for("classes.detail", class_id=item.id))
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("classes.detail", class_id=item.id))


@bp.post("/<int:class_id>/withdraw")
@login_required
def withdraw(class_id: int):
    item = services.class_for_viewer(current_user, class_id)
    try:
        services.withdraw(item, current_user)
    except services.ClassError as error:
        db.session.rollback()
        flash(str(error), "danger")
    else:
        db.session.commit()
        flash(_("您已退出该培训班。"), "success")
    return redirect(url_for("classes.index"))


@bp.post("/calendar/reset")
@login_required
def reset_calendar():
    services.reset_calendar_token(current_user)
    db.session.commit()
    flash(_("已生成新的日历订阅链接，旧链接已失效。"), "success")
    return redirect(request.form.get("back") if (request.form.get("back") or "").startswith("/classes/")
                    else url_for("classes.index"))


@bp.post("/notices/<int:notice_id>/read")
@login_required
def notice_read(notice_id: int):
    services.mark_notice_read(current_user, notice_id)
    db.session.commit()
    return redirect(url_for("core.index"))


@bp.post("/notices/read")
@login_required
def notices_read():
    services.mark_all_notices_read(current_user)
    db.session.commit()
    return redirect(url_for("core.index"))


# --- certificates -----------------------------------------------------------------------------------------------

@bp.get("/certificates/<int:certificate_id>")
@login_required
def certificate(certificate_id: int):
    item = db.session.get(ClassCertificate, certificate_id)
    if item is None or not (item.user_id == current_user.id or services.can_manage(current_user, item.training_class)):
        abort(404)
    from learning.offline import qr_svg

    link = services.verify_url(item)
    record = db.session.scalar(select(graduation.GraduationRecord).where(
        graduation.GraduationRecord.certificate_id == item.id))
    return render_template("classes/certificate.html", c=item, verify_url=link, qr_svg=qr_svg(link), record=record)


@bp.get("/verify")
@bp.get("/verify/<code>")
@public
def verify(code: str | None = None):
    code = (code or request.args.get("code", "")).strip()[:40]
    item = services.certificate_by_code(code) if code else None
    return render_template("classes/verify.html", code=code, c=item), (404 if code and item is None else 200)


"""Training-class pages (/classes/): my classes and open registration, managing a class (details, plan,
sessions, graduation rules, roster), the progress board and graduation, the participant's view, certificates
and their public verification. Scope (who manages which class, who sees which class) is decided by
``classes.services``; every handler here commits once."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from accounts.models import User
from core import clock
from core.extensions import db
from core.nav import NavLink
from core.permissions import Role, has_role, login_required, public
from classes import graduation, services
from classes.models import (ClassCertificate, ClassSession, ClassStatus, EnrolmentMode, Participant,
                                     ParticipantStatus, PlanItemKind, TrainingClass)
from learning.hours import format_units
from learning.models import CheckIn, OfflineClass
from courses.models import Enrollment
from quizzes.models import Attempt, AttemptStatus
from learning.offline import qr_svg

bp = Blueprint("classes", __name__, url_prefix="/classes")

NAV_LINKS = [NavLink("classes.index", _l("培训班"))]
MANAGERS = (Role.ORGANIZER, Role.TRAINER)

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
            "participant_labels": PARTICIPANT_LABELS, "plan_item_labels": ITEM_LABELS,
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


def home_panel(user: User) -> dict | None:
    """The home page panel: my classes' next sessions and unread notices about changed sessions."""
    now = clock.utcnow()
    mine = [c for c in services.my_classes(user) if c.status != ClassStatus.GRADUATED]
    upcoming = next_sessions([c.id for c in mine], now)
    rows = sorted(((c, upcoming.get(c.id)) for c in mine),
                  key=lambda pair: (pair[1] is None, pair[1].starts_at if pair[1] else datetime.max))
    notices = [(n, services.notice_text(n)) for n in services.unread_notices(user)]
    pending = pending_applications(user)
    # someone in no class yet (a public learner just registered): the classes open to them, to start with
    open_now = [] if rows else services.registrable_classes(user, now)[:3]
    if not rows and not notices and not open_now and not pending:
        return None
    return {"rows": rows[:5], "notices": notices, "open": open_now, "pending": pending}


def pending_applications(user) -> list[tuple]:
    """(class, applications waiting) of the classes ``user`` manages that have some; empty for the others."""
    from sqlalchemy import func

    if not has_role(user, Role.ORGANIZER, Role.TRAINER):
        return []
    try:
        managed = services.manageable_classes(user).subquery()
    except NotFound:  # an organizer without an organization to manage
        return []
    return list(db.session.execute(
        select(TrainingClass, func.count(Participant.id)).join(Participant, Participant.class_id == TrainingClass.id)
        .where(TrainingClass.id.in_(select(managed.c.id)), Participant.status == ParticipantStatus.APPLIED)
        .group_by(TrainingClass.id).order_by(TrainingClass.starts_on)).all())


HOME_PANEL = ("classes/_home_panel.html", home_panel)


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
        try:
            managed = db.paginate(services.manageable_classes(current_user), per_page=20, error_out=False)
        except NotFound:  # a trainer without an organization hosts no classes
            managed = None
    return render_template("classes/index.html", mine=mine, upcoming=upcoming, mine_status=mine_status,
                           registrable=registrable, managed=managed, now=now)


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


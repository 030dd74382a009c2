"""Offline classes: scheduling (trainers, organizers), the check-in screen, members' check-in and check-out,
organizers' roster attendance."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from accounts.models import User
from accounts.services import member_in_scope, scoped_members
from core import clock, throttle
from core.extensions import db
from core.permissions import Role, login_required, role_required
from courses.models import Course, CourseStatus
from learning import offline
from learning.forms import CodeForm, OfflineClassForm
from learning.hours import units_to_seconds
from learning.models import CheckIn, OfflineClass

bp = Blueprint("offline", __name__)


def _to_utc(local: datetime) -> datetime:
    tz = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
    return local.replace(tzinfo=tz).astimezone(timezone.utc).replace(tzinfo=None)


def _managed_or_404(class_id: int) -> OfflineClass:
    return offline.class_for_manager(current_user, class_id)  # NotFound outside the manager's scope


def _code_throttle_keys() -> tuple[tuple[str, int], ...]:
    cfg = current_app.config
    return ((f"checkin:user:{current_user.id}", cfg["CHECKIN_MAX_FAILURES"]),
            (f"checkin:address:{request.remote_addr or 'unknown'}", cfg["CHECKIN_MAX_FAILURES_PER_ADDRESS"]))


def _reserve_code_attempt() -> int:
    """Count a code attempt per user and per address before the code is checked; seconds to wait (0: go on).
    Committed at once, so a failed check-in's rollback keeps it counted."""
    window = current_app.config["CHECKIN_WINDOW_SECONDS"]
    keys = _code_throttle_keys()
    decisions = [throttle.hit(key, limit, window) for key, limit in keys]
    if not all(d.allowed for d in decisions):
        for key, _limit in keys:
            throttle.forgive(key)
    db.session.commit()
    return 0 if all(d.allowed for d in decisions) else max(d.retry_after for d in decisions)


def _forgive_code_attempt() -> None:
    """The code was right: the attempt is no failure."""
    for key, _limit in _code_throttle_keys():
        throttle.forgive(key)


def _too_many_codes(retry_after: int) -> str:
    return _("签到码错误次数过多，请 %(minutes)d 分钟后再试。", minutes=max(1, (retry_after + 59) // 60))


@bp.get("/offline/")
@role_required(Role.TRAINER, Role.ORGANIZER)
def classes():
    items = db.session.scalars(offline.manageable_classes(current_user)
                               .order_by(OfflineClass.starts_at.desc()).limit(100)).all()
    return render_template("learning/offline_list.html", classes=items, now=clock.utcnow())


@bp.route("/offline/new", methods=["GET", "POST"])
@role_required(Role.TRAINER, Role.ORGANIZER)
def schedule():
    form = OfflineClassForm()
    courses = db.session.scalars(select(Course).where(Course.status == CourseStatus.PUBLISHED)
                                 .order_by(Course.title)).all()
    form.course_id.choices = [SelectChoice(c.id, c.title) for c in courses]
    if form.validate_on_submit():
        course = db.session.get(Course, form.course_id.data)
        try:
            item = offline.schedule_class(
                course=course, title=form.title.data, place=form.place.data,
                starts_at=_to_utc(form.starts_at.data), ends_at=_to_utc(form.ends_at.data),
                credit_seconds=units_to_seconds(form.credit_hours.data) if form.credit_hours.data else None,
                checkout_required=form.checkout_required.data,
                org=current_user.managed_org or current_user.organization, by=current_user)
        except offline.CheckInError as error:
            form.ends_at.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("线下课堂已安排。"), "success")
            return redirect(url_for("offline.screen", class_id=item.id))
    return render_template("learning/offline_new.html", form=form)


@bp.get("/offline/<int:class_id>/screen")
@role_required(Role.TRAINER, Role.ORGANIZER)
def screen(class_id: int):
    item = _managed_or_404(class_id)
    code, seconds_left = offline.current_code(item)
    url = url_for("offline.check_in_page", class_id=item.id, code=code, _external=True)
    count = db.session.scalar(select(db.func.count(CheckIn.id)).where(CheckIn.class_id == item.id)) or 0
    return render_template("learning/offline_screen.html", c=item, code=code, seconds_left=seconds_left,
                           qr_svg=offline.qr_svg(url), checked_in=count, now=clock.utcnow())


@bp.route("/check-in", methods=["GET", "POST"])
@login_required
def check_in_by_code():
    """A member types the code from the screen; it is checked only against the classes they may attend."""
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        retry_after = _reserve_code_attempt()
        item = None if retry_after else offline.find_class_by_code(current_user, form.code.data)
        if retry_after:
            form.code.errors.append(_too_many_codes(retry_after))
            status = 429
        elif item is None:
            form.code.errors.append(_("签到码不正确或已过期，请重新扫码。"))
        else:
            _forgive_code_attempt()
            return _do_check_in(item, form.code.data)
    return render_template("learning/check_in.html", form=form, c=None), status


@bp.route("/offline/<int:class_id>/check-in", methods=["GET", "POST"])
@login_required
def check_in_page(class_id: int):
    """Where the QR code leads: confirm, then check in (a GET never changes anything)."""
    item = offline.class_for_attendee(current_user, class_id)
    form = CodeForm(code=request.args.get("code", ""))
    if form.validate_on_submit():
        retry_after = _reserve_code_attempt()
        if retry_after:
            flash(_too_many_codes(retry_after), "danger")
            return redirect(url_for("offline.check_in_page", class_id=item.id))
        if offline.code_matches(item, form.code.data):
            _forgive_code_attempt()
        return _do_check_in(item, form.code.data)
    record = db.session.scalar(select(CheckIn).where(CheckIn.class_id == item.id, CheckIn.user_id == current_user.id))
    return render_template("learning/check_in.html", form=form, c=item, record=record)


def _do_check_in(item: OfflineClass, code: str):
    record = db.session.scalar(select(CheckIn).where(CheckIn.class_id == item.id, CheckIn.user_id == current_user.id))
    try:
        if record is not None and item.checkout_required and record.checked_out_at is None:
            result = offline.check_out(item, current_user, code)
            message = _("签退成功，本次计入 %(m)d 分钟。", m=result.credited // 60)
        else:
            result = offline.check_in(item, current_user, code)
            message = (_("签到成功。") if result.new else _("您已签到过，不重复计算。"))
    except offline.CheckInError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return redirect(url_for("offline.check_in_page", class_id=item.id))
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("offline.check_in_page", class_id=item.id))


@bp.get("/offline/<int:class_id>/roster")
@role_required(Role.ORGANIZER)
def roster(class_id: int):
    item = _managed_or_404(class_id)
    members = db.session.scalars(scoped_members(current_user).where(User.role == Role.MEMBER).limit(500)).all()
    records = {r.user_id: r for r in db.session.scalars(select(CheckIn).where(CheckIn.class_id == item.id))}
    return render_template("learning/offline_roster.html", c=item, members=members, records=records)


@bp.post("/offline/<int:class_id>/roster/<int:member_id>")
@role_required(Role.ORGANIZER)
def mark(class_id: int, member_id: int):
    item = _managed_or_404(class_id)
    member = member_in_scope(current_user, member_id)
    try:
        result = offline.mark_attendance(item, member, current_user)
    except offline.CheckInError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return redirect(url_for("offline.roster", class_id=item.id))
    db.session.commit()
    flash(_("已为%(name)s登记出勤。", name=member.name) if result.new else _("%(name)s已签到过。", name=member.name),
          "success")
    return redirect(url_for("offline.roster", class_id=item.id))

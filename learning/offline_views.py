"""Offline classes: scheduling (trainers, organizers), the check-in screen, members' check-in and check-out,
organizers' roster attendance."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from accounts.models import User
from accounts.services import member_in_scope, scoped_members
from core import clock
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


def _class_or_404(class_id: int) -> OfflineClass:
    item = db.session.get(OfflineClass, class_id)
    if item is None:
        abort(404)
    return item


@bp.get("/offline/")
@role_required(Role.TRAINER, Role.ORGANIZER)
def classes():
    items = db.session.scalars(select(OfflineClass).order_by(OfflineClass.starts_at.desc()).limit(100)).all()
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
    item = _class_or_404(class_id)
    code, seconds_left = offline.current_code(item)
    url = url_for("offline.check_in_page", class_id=item.id, code=code, _external=True)
    count = db.session.scalar(select(db.func.count(CheckIn.id)).where(CheckIn.class_id == item.id)) or 0
    return render_template("learning/offline_screen.html", c=item, code=code, seconds_left=seconds_left,
                           qr_svg=offline.qr_svg(url), checked_in=count, now=clock.utcnow())


@bp.route("/check-in", methods=["GET", "POST"])
@login_required
def check_in_by_code():
    """A member types the six-digit code from the screen."""
    form = CodeForm()
    if form.validate_on_submit():
        item = offline.find_class_by_code(form.code.data)
        if item is None:
            form.code.errors.append(_("签到码不正确或已过期，请重新扫码。"))
        else:
            return _do_check_in(item, form.code.data)
    return render_template("learning/check_in.html", form=form, c=None)


@bp.route("/offline/<int:class_id>/check-in", methods=["GET", "POST"])
@login_required
def check_in_page(class_id: int):
    """Where the QR code leads: confirm, then check in (a GET never changes anything)."""
    item = _class_or_404(class_id)
    form = CodeForm(code=request.args.get("code", ""))
    if form.validate_on_submit():
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
    item = _class_or_404(class_id)
    members = db.session.scalars(scoped_members(current_user).where(User.role == Role.MEMBER).limit(500)).all()
    records = {r.user_id: r for r in db.session.scalars(select(CheckIn).where(CheckIn.class_id == item.id))}
    return render_template("learning/offline_roster.html", c=item, members=members, records=records)


@bp.post("/offline/<int:class_id>/roster/<int:member_id>")
@role_required(Role.ORGANIZER)
def mark(class_id: int, member_id: int):
    item = _class_or_404(class_id)
    member = member_in_scope(current_user, member_id)
    result = offline.mark_attendance(item, member, current_user)
    db.session.commit()
    flash(_("已为%(name)s登记出勤。", name=member.name) if result.new else _("%(name)s已签到过。", name=member.name),
          "success")
    return redirect(url_for("offline.roster", class_id=item.id))

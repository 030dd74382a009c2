"""A member's hours page, home panel and certificates; the public certificate check."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from accounts.models import User
from accounts.services import member_in_scope
from core.extensions import db
from core.nav import NavLink
from core.pagination import paginate_rows
from core.permissions import Role, has_role, login_required, public
from courses.pages import ViewerBox
from learning import hours
from courses.enrollments import course_progress, required_courses_for
from learning.completion import certificate_by_code, is_current, year_certificate
from learning.models import Certificate, HourEntry, HourSource
from courses.models import Enrollment

bp = Blueprint("learning", __name__)

NAV_LINKS = [NavLink("learning.my_hours", _l("我的学时")),
             NavLink("offline.classes", _l("线下课堂"), frozenset({Role.TRAINER, Role.ORGANIZER}))]

SOURCE_LABELS = {
    HourSource.ONLINE.value: _l("线上学习"),
    HourSource.OFFLINE.value: _l("线下课堂"),
    HourSource.QUIZ.value: _l("测验"),
    HourSource.COURSE.value: _l("课程学时"),
    HourSource.MANUAL.value: _l("组织录入"),
}


def BLUEPRINTS() -> list[Blueprint]:  # noqa: N802 - a constant-like accessor, imported lazily by app.py
    from learning.api import bp as api_bp
    from learning.heartbeat_api import heartbeat_bp
    from learning.manual_views import bp as manual_bp
    from learning.offline_views import bp as offline_bp

    return [bp, offline_bp, manual_bp, api_bp, heartbeat_bp]


def member_overview(member: User, year: int) -> dict:
    """What the hours page and the home panel show."""
    data = hours.hours_payload(member, year)
    required, earned = data["required_seconds"], data["earned_seconds"]
    data["share"] = min(1.0, earned / required) if required else 1.0
    data["required_courses"] = _required_courses(member)
    data["courses"] = _enrolled_courses(member)
    return data


def home_panel(user: User) -> dict:
    """The home page's hours panel: this year's overview."""
    return member_overview(user, hours.current_year())


HOME_PANEL = ("learning/_home_hours.html", home_panel)


def _required_courses(member: User) -> list[dict]:
    rows = []
    for course, due in required_courses_for(member):
        done, total = course_progress(member.id, course.id)
        rows.append({"course": course, "due": due, "done": done, "total": total,
                     "finished": total > 0 and done >= total})
    return rows


def _enrolled_courses(member: User) -> list[dict]:
    enrollments = db.session.scalars(select(Enrollment).where(Enrollment.user_id == member.id)
                                     .order_by(Enrollment.created_at.desc()).limit(50)).all()
    seconds = dict(db.session.execute(
        select(HourEntry.course_id, func.sum(HourEntry.seconds)).where(HourEntry.user_id == member.id)
        .group_by(HourEntry.course_id)).all())
    rows = []
    for enrollment in enrollments:
        done, total = course_progress(member.id, enrollment.course_id)
        rows.append({"course": enrollment.course, "done": done, "total": total,
                     "completed_at": enrollment.completed_at, "seconds": int(seconds.get(enrollment.course_id) or 0)})
    return rows


# The course page's hours box (the credit rule, my time on the course, my progress and certificate): its columns are
# read with the course page's own statement; added to courses' page by create_app.
COURSE_BOX = ViewerBox("learning/_course_hours.html", hours.course_box_columns,
                       lambda course, values, done, total: hours.course_box(course, *values, done, total))


@bp.app_context_processor
def hours_helpers():
    return {"format_units": hours.format_units, "hours_duration": hours.format_duration,
            "hour_source_labels": SOURCE_LABELS}


@bp.get("/hours")
@login_required
def my_hours():
    year = request.args.get("year", type=int) or hours.current_year()
    if not 2000 <= year <= 2100:
        abort(404)
    overview = member_overview(current_user, year)
    records = paginate_rows(hours.record_rows(current_user.id, year))
    certificates = db.session.scalars(select(Certificate).where(Certificate.user_id == current_user.id)
                                      .order_by(Certificate.issued_at.desc())).all()
    return render_template("learning/hours.html", o=overview, year=year, records=records,
                           certificates=certificates, this_year=hours.current_year())


def _year_filter(year: int):
    start, end = hours.year_bounds_utc(year)
    return HourEntry.occurred_at >= start, HourEntry.occurred_at < end


@bp.post("/hours/year-certificate/<int:year>")
@login_required
def issue_year_certificate(year: int):
    if not 2000 <= year <= hours.current_year():
        abort(404)
    certificate = year_certificate(current_user, year)
    db.session.commit()
    return redirect(url_for("learning.certificate", certificate_id=certificate.id))


def _may_see(certificate: Certificate) -> bool:
    if certificate.user_id == current_user.id or has_role(current_user, Role.ADMIN):
        return True
    if has_role(current_user, Role.ORGANIZER):
        try:
            member_in_scope(current_user, certificate.user_id)
            return True
        except Exception:  # NotFound: outside the organizer's subtree
            return False
    return False


@bp.get("/hours/certificates/<int:certificate_id>")
@login_required
def certificate(certificate_id: int):
    item = db.session.get(Certificate, certificate_id)
    if item is None or not _may_see(item):
        abort(404)
    verify_url = url_for("learning.verify", code=item.code, _external=True)
    return render_template("learning/certificate.html", c=item, verify_url=verify_url,
                           qr_svg=_qr_svg(verify_url), current=is_current(item),
                           minutes_per_unit=current_app.config["MINUTES_PER_HOUR_UNIT"])


def _qr_svg(data: str) -> str:
    from learning.offline import qr_svg

    return qr_svg(data)


@bp.get("/verify")
@bp.get("/verify/<code>")
@public
def verify(code: str | None = None):
    code = code or request.args.get("code", "")
    item = certificate_by_code(code) if code else None
    return render_template("learning/verify.html", code=code, c=item,
                           current=is_current(item) if item else False), (404 if code and item is None else 200)


def masked_name(name: str) -> str:
    """张三丰 → 张*丰: enough to match a paper certificate, not a directory of members."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


bp.add_app_template_filter(masked_name, "masked_name")

"""Organizer pages for training hours (学时统计): the compliance dashboard with drill-down, a member's
ledger, reminders, and export downloads. Everything is limited to the organizer's subtree by
``accounts.services`` (organization_in_scope, member_in_scope, scope_root)."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from accounts.models import MemberCategory, Organization
from accounts.services import (labels_for_paths, member_in_scope, membership_history, organization_in_scope,
                               organization_label, scope_root)
from core.extensions import db
from core.nav import NavLink
from core.pagination import paginate_rows
from core.permissions import Role, has_role, role_required
from courses.models import Course
from learning import hours
from reports import compliance, exports
from learning.models import HourEntry

bp = Blueprint("reports", __name__, url_prefix="/reports")

NAV_LINKS = [NavLink("reports.dashboard", _l("学时统计"), frozenset({Role.ORGANIZER}))]

STATUS_LABELS = {
    compliance.Status.MET.value: _l("已达标"),
    compliance.Status.ON_TRACK.value: _l("进度正常"),
    compliance.Status.BEHIND.value: _l("进度落后"),
    compliance.Status.NOT_STARTED.value: _l("未开始"),
    compliance.Status.NOT_REQUIRED.value: _l("不适用"),
}
STATUS_COLORS = {compliance.Status.MET.value: "#198754", compliance.Status.ON_TRACK.value: "#0d6efd",
                 compliance.Status.BEHIND.value: "#fd7e14", compliance.Status.NOT_STARTED.value: "#adb5bd",
                 compliance.Status.NOT_REQUIRED.value: "#e9ecef"}


# --- the report's parameters, from the query string, always inside the user's scope --------------------------

def _date_arg(name: str) -> date | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        abort(400)


def report_root() -> Organization | None:
    """The organization asked for (``org``), which must lie in the user's subtree; default: the subtree."""
    org_id = request.args.get("org", type=int)
    if org_id:
        return organization_in_scope(current_user, org_id)
    return scope_root(current_user)


def report_period() -> compliance.Period:
    first, last = _date_arg("from"), _date_arg("to")
    if first and last:
        if abs((last - first).days) > 366 * 5:
            abort(400)
        return compliance.Period.between(first, last)
    year = request.args.get("year", type=int) or hours.current_year()
    if not 2000 <= year <= 2100:
        abort(400)
    return compliance.Period.for_year(year)


def report_basis() -> compliance.Basis:
    try:
        return compliance.Basis(request.args.get("basis") or compliance.Basis.CURRENT.value)
    except ValueError:
        abort(400)


def report_filters() -> compliance.Filters:
    category = request.args.get("category") or None
    if category and category not in {c.value for c in MemberCategory}:
        abort(400)
    met = {"1": True, "0": False}.get(request.args.get("met", ""))
    status = request.args.get("status") or None
    if status and status not in {s.value for s in compliance.Status}:
        abort(400)
    return compliance.Filters(category=category, met=met, status=compliance.Status(status) if status else None)


def carried_args(**changes) -> dict:
    """The report's query arguments, for links that keep the period, basis and filters."""
    keep = {k: v for k, v in request.args.items() if k in ("year", "from", "to", "basis", "category", "met", "org")
            and v}
    keep.update({k: v for k, v in changes.items()})
    return {k: v for k, v in keep.items() if v is not None}


@bp.app_context_processor
def report_helpers():
    return {"report_status_labels": STATUS_LABELS, "report_status_colors": STATUS_COLORS,
            "report_args": carried_args}


def members_behind_home(user) -> dict | None:
    """The organizer's home panel: how many members of their subtree are behind or have not started this year."""
    if not has_role(user, Role.ORGANIZER):
        return None
    root = scope_root(user)
    report = compliance.compliance(root, compliance.Period.for_year(hours.current_year()), compliance.Basis.CURRENT,
                                   compliance.Filters())
    total = report.total
    return {"behind": total.behind, "not_started": total.not_started, "members": total.members,
            "met": total.met, "year": hours.current_year()}


# --- the SVG chart -----------------------------------------------------------------------------------------------

def bar_chart(report: compliance.Compliance) -> dict | None:
    """The chart's geometry: one horizontal bar per child organization, split by status (met, on track, behind,
    not started), as wide as its share of members; ``reports/_chart.html`` draws it as SVG, no JavaScript."""
    lines = [line for line in report.lines if line.members] + ([report.own] if report.own else [])
    if not lines:
        return None
    # Drawn at about a phone's width (a 390 px screen shows it at ~1:1, labels at 14 px); wider screens scale it
    # up to at most 640 px (site.css), so the labels stay legible everywhere.
    label_w, bar_w, row_h, pad = 118, 180, 30, 5
    rows = []
    for i, line in enumerate(lines):
        y = i * row_h
        x, bars = float(label_w), []
        for status in compliance.Status:
            count = getattr(line, status.value)
            if count:
                width = bar_w * count / line.members
                bars.append({"status": status.value, "count": count, "x": f"{x:.1f}", "width": f"{width:.1f}"})
                x += width
        rows.append({"name": str(_l("本级")) if line is report.own else (line.org.name if line.org else ""),
                     "org_id": line.org.id if line.org else "", "bar_y": y + pad, "bars": bars,
                     "label_y": f"{y + row_h / 2 + 4:.0f}", "share_y": f"{y + row_h / 2 + 5:.0f}",
                     "share": f"{line.met_share * 100:.0f}"})
    return {"width": label_w + bar_w + 46, "height": row_h * len(lines) + 30, "label_x": label_w - 6,
            "share_x": label_w + bar_w + 4, "bar_h": row_h - 2 * pad, "rows": rows,
            "legend_y": row_h * len(lines) + 20, "legend": [(i * 86, s.value) for i, s in enumerate(compliance.Status)]}


# --- pages -----------------------------------------------------------------------------------------------------

@bp.get("/")
@role_required(Role.ORGANIZER)
def dashboard():
    root = report_root()
    period, basis, filters = report_period(), report_basis(), report_filters()
    report = compliance.compliance(root, period, basis, compliance.Filters(category=filters.category))
    scope = scope_root(current_user)
    trail = [] if root is None else [o for o in _ancestors_within(root, scope)]
    return render_template("reports/dashboard.html", report=report, root=root, period=period, basis=basis,
                           filters=filters, chart=bar_chart(report), trail=trail,
                           this_year=hours.current_year(), categories=list(MemberCategory))


def _ancestors_within(org: Organization, scope: Organization | None) -> list[Organization]:
    """The breadcrumb from the user's scope root down to ``org`` (nothing above the scope)."""
    ids = org.path_ids
    if scope is not None:
        ids = ids[ids.index(scope.id):] if scope.id in ids else [org.id]
    found = {o.id: o for o in db.session.scalars(select(Organization).where(Organization.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


@bp.get("/members")
@role_required(Role.ORGANIZER)
def members():
    """Drill-down to people: the members of an organization's subtree with their numbers."""
    root = report_root()
    period, basis, filters = report_period(), report_basis(), report_filters()
    return _members_page(paginate_rows(compliance.org_members(root, period, basis, filters)), root, period, basis,
                         filters, None, "reports.members")


def _members_page(page, root, period, basis, filters, title, endpoint: str):
    """A page of member rows with their organizations' paths as names (one query, here: templates don't query)."""
    return render_template("reports/members.html", page=page, root=root, period=period, basis=basis,
                           filters=filters, title=title, endpoint=endpoint,
                           org_paths=labels_for_paths(row.org_path for row in page.items))


@bp.get("/reminders")
@role_required(Role.ORGANIZER)
def reminders():
    """Members behind schedule (behind or not started), for follow-up; exportable."""
    root = report_root()
    period, basis, filters = report_period(), report_basis(), report_filters()
    stmt = compliance.org_members(root, period, basis, compliance.Filters(category=filters.category))
    sub = stmt.subquery("r")
    stmt = select(sub).where(sub.c.status.in_([compliance.Status.BEHIND.value, compliance.Status.NOT_STARTED.value])) \
        .order_by(sub.c.org_path, sub.c.user_id)
    return _members_page(paginate_rows(stmt), root, period, basis, filters, _l("学时提醒名单"), "reports.reminders")


@bp.get("/members/<int:member_id>")
@role_required(Role.ORGANIZER)
def member(member_id: int):
    person = member_in_scope(current_user, member_id)
    period = report_period()
    start, end = period.bounds_utc()
    entries = db.session.execute(
        select(HourEntry, Course.title).outerjoin(Course, Course.id == HourEntry.course_id)
        .where(HourEntry.user_id == person.id, HourEntry.occurred_at >= start, HourEntry.occurred_at < end)
        .order_by(HourEntry.occurred_at.desc(), HourEntry.id.desc()).limit(1000)).all()
    by_source = {source: 0 for source in compliance.SOURCES}
    for source, seconds in db.session.execute(
            select(HourEntry.source, func.sum(HourEntry.seconds))
            .where(HourEntry.user_id == person.id, HourEntry.occurred_at >= start, HourEntry.occurred_at < end)
            .group_by(HourEntry.source)):
        by_source[getattr(source, "value", source)] = int(seconds or 0)
    return render_template("reports/member.html", person=person, period=period, entries=entries,
                           required=hours.required_seconds_for(person, period.year), by_source=by_source,
                           earned=sum(by_source.values()), history=membership_history(person),
                           org_label=organization_label(person.organization))


@bp.get("/export")
@role_required(Role.ORGANIZER)
def export():
    """The download starts at once: the rows stream from the database as they are written."""
    kind = request.args.get("kind", "summary")
    fmt = request.args.get("format", "csv")
    if kind not in exports.KINDS or fmt not in exports.FORMATS:
        abort(400)
    full = request.args.get("full") == "1"
    if full and current_user.role != Role.ADMIN:
        abort(403)  # full phone numbers: admins only, and logged
    job = exports.ExportRequest(kind=kind, fmt=fmt, root=report_root(), period=report_period(), basis=report_basis(),
                                filters=report_filters(), full_phones=full)
    result = exports.build_export(job, actor=current_user, channel="web")
    db.session.commit()  # the audit row, before the first byte
    response = Response(_in_app_context(current_app._get_current_object(), result.chunks), mimetype=result.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{result.filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


def _in_app_context(app, chunks):
    """The body, produced after the request has ended (the server reads it chunk by chunk): its queries run
    in an application context and session of their own. Unlike ``stream_with_context``, nothing runs until
    the first chunk is read, so a response that is never read leaves nothing open. The first chunk is empty and
    produced outside that context: servers send the headers with it (the download starts) and test clients read
    it at once to start the response, while the request's own context is still there."""
    yield b""
    with app.app_context():
        yield from chunks


def export_url(kind: str, fmt: str, **extra) -> str:
    return url_for("reports.export", kind=kind, format=fmt, **carried_args(**extra))


HOME_PANEL = ("reports/_home_panel.html", members_behind_home)

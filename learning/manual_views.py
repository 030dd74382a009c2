"""Organizers: a member's ledger, manual entries with an optional scanned certificate, reversals, audit log."""
from __future__ import annotations

from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from accounts.models import User
from accounts.services import member_in_scope
from core import clock
from core.extensions import db
from core.permissions import Role, role_required
from core.requests import accepts_upload
from learning import hours, manual
from learning.forms import DecisionForm, ManualEntryForm, ReversalForm
from learning.models import HourAudit, HourEntry, ManualHourRequest
from core.storage import send_stored

bp = Blueprint("hours_admin", __name__, url_prefix="/hours/members")


def _local_noon_utc(day) -> datetime:
    tz = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
    return datetime.combine(day, time(12), tz).astimezone(timezone.utc).replace(tzinfo=None)


@bp.route("/<int:member_id>", methods=["GET", "POST"])
@role_required(Role.ORGANIZER)
@accepts_upload("MAX_DOCUMENT_BYTES")
def member_hours(member_id: int):
    member = member_in_scope(current_user, member_id)
    year = request.args.get("year", type=int) or hours.current_year()
    form = ManualEntryForm()
    status = 200
    if form.validate_on_submit():
        upload = form.certificate.data if form.certificate.data and form.certificate.data.filename else None
        occurred = _local_noon_utc(form.occurred_on.data)
        try:
            result = manual.add_manual_entry(member=member, seconds=hours.units_to_seconds(form.hours.data),
                                             reason=form.reason.data, by=current_user,
                                             occurred_at=min(occurred, clock.utcnow()), attachment=upload)
        except manual.ManualEntryError as error:
            db.session.rollback()
            form.reason.errors.append(str(error))
            status = 403 if isinstance(error, manual.SelfEntryError) else 200
        else:
            db.session.commit()
            if isinstance(result, ManualHourRequest):
                flash(_("超过 %(n)s 学时，已提交，待另一名组织员或管理员审批后计入。",
                        n=current_app.config["MANUAL_APPROVAL_ABOVE_HOURS"]), "warning")
            else:
                flash(_("已录入学时。"), "success")
            return redirect(url_for("hours_admin.member_hours", member_id=member.id, year=year))
    start, end = hours.year_bounds_utc(year)
    entries = db.session.scalars(select(HourEntry).where(
        HourEntry.user_id == member.id, HourEntry.occurred_at >= start, HourEntry.occurred_at < end)
        .order_by(HourEntry.occurred_at.desc(), HourEntry.id.desc())).all()
    reversed_ids = {int(e.source_ref.split(":", 1)[1]) for e in entries if e.source_ref.startswith("reversal:")}
    summary = hours.year_summary(member, year)
    return render_template("learning/member_hours.html", member=member, year=year, form=form, entries=entries,
                           reversed_ids=reversed_ids, summary=summary, audit=manual.audit_log(member.id),
                           reversal_form=ReversalForm(), pending=manual.pending_requests(current_user, member.id),
                           approvals=manual.approvals_by_entry([e.id for e in entries]),
                           people=dict(db.session.execute(select(User.id, User.name).where(
                               User.id.in_({e.recorded_by_id for e in entries if e.recorded_by_id}))).all()),
                           decision_form=DecisionForm()), status


@bp.get("/approvals")
@role_required(Role.ORGANIZER)
def approvals():
    """Manual entries of the organizer's subtree waiting for approval (by someone other than who asked)."""
    return render_template("learning/manual_approvals.html", pending=manual.pending_requests(current_user),
                           decision_form=DecisionForm())


@bp.post("/requests/<int:request_id>/<any(approve, reject):decision>")
@role_required(Role.ORGANIZER)
def decide(request_id: int, decision: str):
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        item = manual.decide_request(request_id, approve=decision == "approve", by=current_user)
    except manual.ManualEntryError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return redirect(url_for("hours_admin.approvals"))
    db.session.commit()
    flash(_("已批准，学时已计入。") if decision == "approve" else _("已驳回。"), "success")
    return redirect(url_for("hours_admin.member_hours", member_id=item.member_id))


@bp.post("/<int:member_id>/entries/<int:entry_id>/reverse")
@role_required(Role.ORGANIZER)
def reverse(member_id: int, entry_id: int):
    member = member_in_scope(current_user, member_id)
    entry = db.session.get(HourEntry, entry_id)
    if entry is None or entry.user_id != member.id:
        abort(404)
    form = ReversalForm()
    if not form.validate_on_submit():
        flash(_("请填写原因。"), "danger")
    else:
        try:
            manual.reverse_entry(entry, reason=form.reason.data, by=current_user)
        except manual.ManualEntryError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            db.session.commit()
            flash(_("已冲销。"), "success")
    return redirect(url_for("hours_admin.member_hours", member_id=member.id))


@bp.get("/<int:member_id>/audit/<int:audit_id>/attachment")
@role_required(Role.ORGANIZER)
def attachment(member_id: int, audit_id: int):
    member = member_in_scope(current_user, member_id)
    row = db.session.get(HourAudit, audit_id)
    if row is None or row.member_id != member.id or not row.attachment_key:
        abort(404)

    ext = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}.get(row.attachment_mime or "", "bin")
    return send_stored(row.attachment_key, mime=row.attachment_mime or "application/octet-stream",
                       download_name=f"certificate-{row.id}.{ext}", as_attachment=False)

"""Hours from outside the platform (上级调训, a course at the county party school), entered by organizers.

An entry is never edited or deleted: a mistake is reversed by a negative entry that references it, with a
reason. Every manual entry, reversal and roster attendance is written to the audit log with who and when.
Nobody records hours for themselves; an entry above ``MANUAL_APPROVAL_ABOVE_HOURS`` 学时 is credited only once
a second organizer (of the member's subtree) or an admin approves it.
Services flush; the caller commits.
"""
from __future__ import annotations

import secrets
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from werkzeug.exceptions import NotFound

from accounts.models import User
from accounts.services import member_in_scope, scoped_members
from core import clock
from core.extensions import db
from learning.ledger import record_entry
from learning.models import HourAudit, HourEntry, HourSource, ManualHourRequest
from core.storage import UploadError, save_upload

ATTACHMENT_KINDS = {"pdf", "png", "jpeg"}
MAX_MANUAL_SECONDS = 200 * 3600  # a typo guard: no single entry above 200 hours


class ManualEntryError(ValueError):
    """The message is shown to the organizer."""


class SelfEntryError(ManualEntryError):
    """Nobody records or approves hours for themselves."""


def approval_threshold_seconds() -> int:
    """Manual entries above this many seconds wait for a second organizer's or an admin's approval."""
    from learning.hours import units_to_seconds

    return units_to_seconds(current_app.config["MANUAL_APPROVAL_ABOVE_HOURS"])


def _checked(member: User, seconds: int, reason: str, by: User, occurred_at: datetime | None) -> str:
    member_in_scope(by, member.id)
    if member.id == by.id:
        raise SelfEntryError(_("不能为自己录入学时。"))
    reason = (reason or "").strip()
    if not reason:
        raise ManualEntryError(_("请填写原因。"))
    if not 0 < int(seconds) <= MAX_MANUAL_SECONDS:
        raise ManualEntryError(_("学时必须大于零且不超过200小时。"))
    if occurred_at is not None and occurred_at > clock.utcnow():
        raise ManualEntryError(_("日期不能晚于今天。"))
    return reason


def _stored_attachment(attachment) -> tuple[str | None, str | None]:
    if attachment is None:
        return None, None

    try:
        stored = save_upload(attachment, allowed=ATTACHMENT_KINDS)
    except UploadError as error:
        raise ManualEntryError(str(error)) from error
    return stored.key, stored.mime


def _credit(*, member_id: int, seconds: int, reason: str, recorded_by_id: int, occurred_at: datetime,
            key: str | None, mime: str | None, actor_id: int) -> HourEntry:
    entry = record_entry(user_id=member_id, seconds=int(seconds), source=HourSource.MANUAL,
                         source_ref=f"manual:{secrets.token_hex(8)}", occurred_at=occurred_at,
                         recorded_by_id=recorded_by_id, note=reason)
    db.session.add(HourAudit(at=clock.utcnow(), actor_id=actor_id, member_id=member_id, action="manual",
                             entry_id=entry.id, seconds=entry.seconds, reason=reason[:500], attachment_key=key,
                             attachment_mime=mime))
    db.session.flush()
    return entry


def add_manual_entry(*, member: User, seconds: int, reason: str, by: User, occurred_at: datetime | None = None,
                     attachment=None) -> HourEntry | ManualHourRequest:
    """Credit ``seconds`` to ``member`` (in ``by``'s subtree, never ``by`` themselves) with a reason and an
    optional scan. Above the approval threshold nothing is credited yet: a ManualHourRequest waits for a
    second organizer or an admin (``decide_request``)."""
    reason = _checked(member, seconds, reason, by, occurred_at)
    now = clock.utcnow()
    key, mime = _stored_attachment(attachment)
    if int(seconds) > approval_threshold_seconds():
        request = ManualHourRequest(member_id=member.id, seconds=int(seconds), reason=reason[:500],
                                    occurred_at=occurred_at or now, requested_by_id=by.id, requested_at=now,
                                    attachment_key=key, attachment_mime=mime, status="pending")
        db.session.add(request)
        db.session.flush()
        return request
    return _credit(member_id=member.id, seconds=seconds, reason=reason, recorded_by_id=by.id,
                   occurred_at=occurred_at or now, key=key, mime=mime, actor_id=by.id)


def pending_requests(by: User, member_id: int | None = None) -> list[ManualHourRequest]:
    """Requests waiting in ``by``'s subtree (all of them for admins), oldest first."""
    members = scoped_members(by).with_only_columns(User.id).order_by(None)
    stmt = select(ManualHourRequest).where(ManualHourRequest.status == "pending",
                                           ManualHourRequest.member_id.in_(members))
    if member_id is not None:
        stmt = stmt.where(ManualHourRequest.member_id == member_id)
    return list(db.session.scalars(stmt.order_by(ManualHourRequest.requested_at, ManualHourRequest.id)))


def decide_request(request_id: int, *, approve: bool, by: User) -> ManualHourRequest:
    """A second organizer (of the member's subtree) or an admin approves or rejects a pending request. The
    requester and the member cannot; a request is decided once (a concurrent second decision changes nothing)."""
    request = db.session.get(ManualHourRequest, request_id)
    if request is None:
        raise NotFound()
    member_in_scope(by, request.member_id)
    if by.id in (request.requested_by_id, request.member_id):
        raise SelfEntryError(_("录入人和本人不能审批这条学时。"))
    now = clock.utcnow()
    claimed = db.session.execute(update(ManualHourRequest).where(
        ManualHourRequest.id == request.id, ManualHourRequest.status == "pending").values(
        status="approved" if approve else "rejected", decided_by_id=by.id, decided_at=now)).rowcount
    if claimed != 1:
        raise ManualEntryError(_("这条学时已审批过。"))
    db.session.refresh(request)
    if approve:
        entry = _credit(member_id=request.member_id, seconds=request.seconds, reason=request.reason,
                        recorded_by_id=request.requested_by_id, occurred_at=request.occurred_at,
                        key=request.attachment_key, mime=request.attachment_mime, actor_id=request.requested_by_id)
        request.entry_id = entry.id
        db.session.add(HourAudit(at=now, actor_id=by.id, member_id=request.member_id, action="approval",
                                 entry_id=entry.id, seconds=entry.seconds, reason=request.reason))
    else:
        db.session.add(HourAudit(at=now, actor_id=by.id, member_id=request.member_id, action="rejection",
                                 seconds=0, reason=request.reason))
    db.session.flush()
    return request


def approvals_by_entry(entry_ids: list[int]) -> dict[int, ManualHourRequest]:
    """The approved requests behind these ledger entries (who recorded, who approved)."""
    if not entry_ids:
        return {}
    rows = db.session.scalars(select(ManualHourRequest).where(ManualHourRequest.entry_id.in_(entry_ids)))
    return {r.entry_id: r for r in rows}


def reversal_of(entry: HourEntry) -> HourEntry | None:
    return db.session.scalar(select(HourEntry).where(HourEntry.source == HourSource.MANUAL,
                                                     HourEntry.source_ref == f"reversal:{entry.id}"))


def reverse_entry(entry: HourEntry, *, reason: str, by: User) -> HourEntry:
    """Cancel ``entry`` with a negative entry referencing it (once), in the same year it counted in."""
    member_in_scope(by, entry.user_id)
    reason = (reason or "").strip()
    if not reason:
        raise ManualEntryError(_("请填写原因。"))
    if entry.source_ref.startswith("reversal:"):
        raise ManualEntryError(_("冲销记录不能再冲销。"))
    if entry.seconds <= 0:
        raise ManualEntryError(_("该记录没有可冲销的学时。"))
    if reversal_of(entry) is not None:
        raise ManualEntryError(_("该记录已冲销。"))
    reversal = record_entry(user_id=entry.user_id, seconds=-entry.seconds, source=HourSource.MANUAL,
                            source_ref=f"reversal:{entry.id}", occurred_at=entry.occurred_at,
                            course_id=entry.course_id, lecture_id=entry.lecture_id, recorded_by_id=by.id,
                            note=reason)
    db.session.add(HourAudit(at=clock.utcnow(), actor_id=by.id, member_id=entry.user_id, action="reversal",
                             entry_id=reversal.id, seconds=reversal.seconds, reason=reason[:500]))
    db.session.flush()
    return reversal


def audit_log(member_id: int) -> list[HourAudit]:
    return list(db.session.scalars(select(HourAudit).where(HourAudit.member_id == member_id)
                                   .order_by(HourAudit.at.desc(), HourAudit.id.desc())))

"""Hours from outside the platform (上级调训, a course at the county party school), entered by organizers.

An entry is never edited or deleted: a mistake is reversed by a negative entry that references it, with a
reason. Every manual entry, reversal and roster attendance is written to the audit log with who and when.
Services flush; the caller commits.
"""
from __future__ import annotations

import secrets
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from accounts.models import User
from accounts.services import member_in_scope
from core import clock
from core.extensions import db
from learning.ledger import record_entry
from learning.models import HourAudit, HourEntry, HourSource

ATTACHMENT_KINDS = {"pdf", "png", "jpeg"}
MAX_MANUAL_SECONDS = 200 * 3600  # a typo guard: no single entry above 200 hours


class ManualEntryError(ValueError):
    """The message is shown to the organizer."""


def add_manual_entry(*, member: User, seconds: int, reason: str, by: User, occurred_at: datetime | None = None,
                     attachment=None) -> HourEntry:
    """Credit ``seconds`` to ``member`` (who must be in ``by``'s subtree) with a reason and an optional scan."""
    member_in_scope(by, member.id)
    reason = (reason or "").strip()
    if not reason:
        raise ManualEntryError(_("请填写原因。"))
    if not 0 < int(seconds) <= MAX_MANUAL_SECONDS:
        raise ManualEntryError(_("学时必须大于零且不超过200小时。"))
    now = clock.utcnow()
    if occurred_at is not None and occurred_at > now:
        raise ManualEntryError(_("日期不能晚于今天。"))
    key = mime = None
    if attachment is not None:
        from core.storage import UploadError, save_upload

        try:
            stored = save_upload(attachment, allowed=ATTACHMENT_KINDS)
        except UploadError as error:
            raise ManualEntryError(str(error)) from error
        key, mime = stored.key, stored.mime
    entry = record_entry(user_id=member.id, seconds=int(seconds), source=HourSource.MANUAL,
                         source_ref=f"manual:{secrets.token_hex(8)}", occurred_at=occurred_at or now,
                         recorded_by_id=by.id, note=reason)
    db.session.add(HourAudit(at=now, actor_id=by.id, member_id=member.id, action="manual", entry_id=entry.id,
                             seconds=entry.seconds, reason=reason[:500], attachment_key=key, attachment_mime=mime))
    db.session.flush()
    return entry


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

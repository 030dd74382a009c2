"""Offline classes (线下课堂): scheduling, rotating check-in codes, check-in/out, roster attendance.

The check-in screen shows a QR code and a six-digit code that change every ``CHECKIN_CODE_SECONDS``:
an HMAC (SECRET_KEY) of the class id and the time slot, so a photo of last week's screen is worthless and a
code works only for its class. A code of the current or the previous slot is accepted (the screen may have
changed while the member was typing). Services flush; the caller commits.
"""
from __future__ import annotations

import hashlib
import hmac
import io
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from accounts.models import User
from core import clock
from core.extensions import db
from courses.models import Course
from learning.ledger import record_entry
from learning.models import CheckIn, HourAudit, HourSource, OfflineClass

CHECKIN_EARLY_MINUTES = 30  # members may check in this long before the class starts


class CheckInError(ValueError):
    """A check-in rule was broken; the message is shown to the member."""


# --- codes -------------------------------------------------------------------------------------------------

def _slot(moment: datetime) -> int:
    return int(moment.timestamp() if moment.tzinfo else (moment - datetime(1970, 1, 1)).total_seconds()) \
        // int(current_app.config["CHECKIN_CODE_SECONDS"])


def code_for(class_id: int, slot: int) -> str:
    digest = hmac.new(current_app.config["SECRET_KEY"].encode(), f"checkin:{class_id}:{slot}".encode(),
                      hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 1_000_000:06d}"


def current_code(offline_class: OfflineClass, now: datetime | None = None) -> tuple[str, int]:
    """The code on screen now and the seconds until it changes."""
    now = now or clock.utcnow()
    period = int(current_app.config["CHECKIN_CODE_SECONDS"])
    slot = _slot(now)
    elapsed = (now - datetime(1970, 1, 1)).total_seconds()
    return code_for(offline_class.id, slot), max(1, int((slot + 1) * period - elapsed))


def code_matches(offline_class: OfflineClass, code: str, now: datetime | None = None) -> bool:
    code = (code or "").strip()
    slot = _slot(now or clock.utcnow())
    return any(hmac.compare_digest(code_for(offline_class.id, s), code) for s in (slot, slot - 1))


def qr_svg(data: str, scale: int = 8) -> str:
    """A QR code as inline SVG, drawn here (segno), never by an outside service."""
    import segno

    buffer = io.BytesIO()
    segno.make(data, error="m").save(buffer, kind="svg", scale=scale, border=2, xmldecl=False,
                                     svgns=True, nl=False, title=None)
    return buffer.getvalue().decode()


# --- scheduling --------------------------------------------------------------------------------------------

def schedule_class(*, course: Course, title: str, place: str, starts_at: datetime, ends_at: datetime,
                   credit_seconds: int | None = None, checkout_required: bool = False, org=None,
                   lecture=None, by: User | None = None) -> OfflineClass:
    if ends_at <= starts_at:
        raise CheckInError(_("结束时间必须晚于开始时间。"))
    length = int((ends_at - starts_at).total_seconds())
    item = OfflineClass(course_id=course.id, lecture_id=lecture.id if lecture else None, title=title.strip(),
                        place=place.strip(), starts_at=starts_at, ends_at=ends_at,
                        credit_seconds=int(credit_seconds if credit_seconds is not None else length),
                        checkout_required=checkout_required, org_id=org.id if org else None,
                        created_by_id=by.id if by else None, created_at=clock.utcnow())
    db.session.add(item)
    db.session.flush()
    return item


def classes_open_for_check_in(now: datetime | None = None) -> list[OfflineClass]:
    now = now or clock.utcnow()
    return list(db.session.scalars(select(OfflineClass).where(
        OfflineClass.starts_at <= now + timedelta(minutes=CHECKIN_EARLY_MINUTES), OfflineClass.ends_at >= now)
        .order_by(OfflineClass.starts_at)))


def find_class_by_code(code: str, now: datetime | None = None) -> OfflineClass | None:
    """The class now open whose screen shows ``code`` (a member typing the short code)."""
    now = now or clock.utcnow()
    for item in classes_open_for_check_in(now):
        if code_matches(item, code, now):
            return item
    return None


# --- attendance --------------------------------------------------------------------------------------------

@dataclass
class Attendance:
    check_in: CheckIn
    new: bool  # False: the member had already checked in (counted once)
    credited: int  # seconds credited by this action


def _credit(check_in: CheckIn, offline_class: OfflineClass, seconds: int, at: datetime,
            recorded_by_id: int | None = None) -> int:
    entry = record_entry(user_id=check_in.user_id, seconds=seconds, source=HourSource.OFFLINE,
                         source_ref=f"checkin:{check_in.id}", occurred_at=at, course_id=offline_class.course_id,
                         lecture_id=offline_class.lecture_id, recorded_by_id=recorded_by_id,
                         note=offline_class.title)
    if offline_class.lecture_id:
        from learning.completion import lecture_completed

        lecture_completed(check_in.user_id, offline_class.lecture_id, at)
    else:
        from learning.completion import check_course_completion

        check_course_completion(check_in.user_id, offline_class.course_id, at)
    return entry.seconds


def _existing(offline_class: OfflineClass, user: User) -> CheckIn | None:
    return db.session.scalar(select(CheckIn).where(CheckIn.class_id == offline_class.id,
                                                   CheckIn.user_id == user.id))


def check_in(offline_class: OfflineClass, user: User, code: str, now: datetime | None = None) -> Attendance:
    """A member checks in with the code on screen, within the class's window. Twice counts once."""
    now = now or clock.utcnow()
    if now < offline_class.starts_at - timedelta(minutes=CHECKIN_EARLY_MINUTES) or now > offline_class.ends_at:
        raise CheckInError(_("不在签到时间内。"))
    if not code_matches(offline_class, code, now):
        raise CheckInError(_("签到码不正确或已过期，请重新扫码。"))
    existing = _existing(offline_class, user)
    if existing is not None:
        return Attendance(existing, False, 0)
    record = CheckIn(class_id=offline_class.id, user_id=user.id, checked_in_at=now, method="code")
    db.session.add(record)
    db.session.flush()
    credited = 0
    if not offline_class.checkout_required:
        credited = _credit(record, offline_class, offline_class.credit_seconds, now)
    return Attendance(record, True, credited)


def check_out(offline_class: OfflineClass, user: User, code: str, now: datetime | None = None) -> Attendance:
    """Check out with the code on screen: earns the time since check-in, at most the class's credit."""
    now = now or clock.utcnow()
    record = _existing(offline_class, user)
    if record is None:
        raise CheckInError(_("您还没有签到。"))
    if record.checked_out_at is not None:
        return Attendance(record, False, 0)
    if now > offline_class.ends_at + timedelta(minutes=CHECKIN_EARLY_MINUTES):
        raise CheckInError(_("不在签退时间内。"))
    if not code_matches(offline_class, code, now):
        raise CheckInError(_("签到码不正确或已过期，请重新扫码。"))
    record.checked_out_at = now
    db.session.flush()
    credited = 0
    if offline_class.checkout_required:
        start = max(record.checked_in_at, offline_class.starts_at)
        end = min(now, offline_class.ends_at)
        seconds = max(0, int((end - start).total_seconds()))
        seconds = min(seconds, offline_class.credit_seconds, offline_class.length_seconds)
        if seconds:
            credited = _credit(record, offline_class, seconds, now)
    return Attendance(record, True, credited)


def mark_attendance(offline_class: OfflineClass, member: User, by: User, now: datetime | None = None) -> Attendance:
    """An organizer marks a member of their subtree present (no smartphone): full credit, recorded as theirs."""
    now = now or clock.utcnow()
    existing = _existing(offline_class, member)
    if existing is not None:
        return Attendance(existing, False, 0)
    record = CheckIn(class_id=offline_class.id, user_id=member.id, checked_in_at=now, method="roster",
                     recorded_by_id=by.id, checked_out_at=offline_class.ends_at if offline_class.checkout_required
                     else None)
    db.session.add(record)
    db.session.flush()
    # Counted on the class's day, whenever the organizer gets to the roster.
    credited = _credit(record, offline_class, offline_class.credit_seconds, offline_class.starts_at,
                       recorded_by_id=by.id)
    db.session.add(HourAudit(at=now, actor_id=by.id, member_id=member.id, action="attendance",
                             seconds=credited, reason=offline_class.title))
    db.session.flush()
    return Attendance(record, True, credited)

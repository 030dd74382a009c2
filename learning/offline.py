"""Offline classes (线下课堂): scheduling, rotating check-in codes, check-in/out, roster attendance.

The check-in screen shows a QR code and an eight-digit code that change every ``CHECKIN_CODE_SECONDS``:
an HMAC (SECRET_KEY) of the class id and the time slot, so a photo of last week's screen is worthless and a
code works only for its class. A code of the current or the previous slot is accepted (the screen may have
changed while the member was typing). Services flush; the caller commits.

Who manages a class (its screen, the roster): admins; organizers whose subtree holds the hosting organization;
the trainer who scheduled it (as training classes, ``learning.classes.scope``). Who may check in: members of
the hosting organization's subtree, anyone for a class without one (public), and anyone a grant says may
(the training classes register one for their roster). A code is checked only against those classes.

Guessing: wrong codes are throttled per user and per address (``CHECKIN_MAX_FAILURES`` per
``CHECKIN_WINDOW_SECONDS``; ``core.throttle``). With 8 digits and two accepted slots, one guess hits one open
class with p = 2 / 10^8; a user may guess 10 times per 10 minutes, 525,600 times a year; even with 10 classes
open to them around the clock the expected hits are 525,600 * 10 * 2e-8 = 0.105 a year (one hit in ~9.5 years).
With six digits the same was 10.5 hits a year for ten open classes, 1.05 for one (see the test).
"""
from __future__ import annotations

import hashlib
import hmac
import io
from dataclasses import dataclass
from datetime import datetime, timedelta

from typing import Callable

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_, select
from werkzeug.exceptions import NotFound

from accounts.models import Organization, User
from accounts.services import subtree_condition
from core import clock
from core.extensions import db
from courses.models import Course
from learning.ledger import record_entry
from core.permissions import Role
from learning.models import CheckIn, HourAudit, HourSource, OfflineClass

CHECKIN_EARLY_MINUTES = 30  # members may check in this long before the class starts
CODE_DIGITS = 8  # see the arithmetic above


class CheckInError(ValueError):
    """A check-in rule was broken; the message is shown to the member."""


# --- codes -------------------------------------------------------------------------------------------------

def _slot(moment: datetime) -> int:
    return int(moment.timestamp() if moment.tzinfo else (moment - datetime(1970, 1, 1)).total_seconds()) \
        // int(current_app.config["CHECKIN_CODE_SECONDS"])


def code_for(class_id: int, slot: int) -> str:
    digest = hmac.new(current_app.config["SECRET_KEY"].encode(), f"checkin:{class_id}:{slot}".encode(),
                      hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10 ** CODE_DIGITS:0{CODE_DIGITS}d}"


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


# --- who manages, who attends ------------------------------------------------------------------------------

# Functions (user -> SELECT of offline class ids) that let a user attend beyond their subtree: the training
# classes register one for their roster (learning.classes sits above this module and imports it).
attendance_grants: list[Callable[[User], object]] = []


def can_manage(user: User, offline_class: OfflineClass) -> bool:
    """Admins; organizers whose subtree holds the hosting organization; the trainer who scheduled it."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.role == Role.ADMIN:
        return True
    if user.role == Role.ORGANIZER and user.managed_org is not None and offline_class.org_id is not None:
        host = db.session.get(Organization, offline_class.org_id)
        return host is not None and host.is_within(user.managed_org)
    if user.role in (Role.TRAINER, Role.ORGANIZER):
        return offline_class.created_by_id == user.id
    return False


def manageable_classes(user: User):
    """SELECT of the offline classes ``user`` manages (see ``can_manage``)."""
    stmt = select(OfflineClass)
    if user.role == Role.ADMIN:
        return stmt
    own = OfflineClass.created_by_id == user.id
    if user.role == Role.ORGANIZER and user.managed_org is not None:
        hosted = select(Organization.id).where(subtree_condition(user.managed_org))
        return stmt.where(or_(own, OfflineClass.org_id.in_(hosted)))
    return stmt.where(own)


def class_for_manager(user: User, class_id: int) -> OfflineClass:
    """The class if ``user`` manages it, else NotFound (another subtree's class is not revealed)."""
    item = db.session.get(OfflineClass, class_id)
    if item is None or not can_manage(user, item):
        raise NotFound()
    return item


def attendable_condition(user: User):
    """SQL condition on OfflineClass: ``user`` may check in (public class, their subtree, or a grant)."""
    conditions = [OfflineClass.org_id.is_(None)]
    if user.organization is not None:
        conditions.append(OfflineClass.org_id.in_(user.organization.path_ids))
    conditions.extend(OfflineClass.id.in_(grant(user)) for grant in attendance_grants)
    return or_(*conditions)


def class_for_attendee(user: User, class_id: int) -> OfflineClass:
    """The class if ``user`` may check in to it (or manages it), else NotFound."""
    item = db.session.scalar(select(OfflineClass).where(OfflineClass.id == class_id, attendable_condition(user)))
    if item is None:
        item = db.session.get(OfflineClass, class_id)
        if item is None or not can_manage(user, item):
            raise NotFound()
    return item


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


def classes_open_for_check_in(user: User, now: datetime | None = None) -> list[OfflineClass]:
    """Classes now open for check-in that ``user`` may attend."""
    now = now or clock.utcnow()
    return list(db.session.scalars(select(OfflineClass).where(
        OfflineClass.starts_at <= now + timedelta(minutes=CHECKIN_EARLY_MINUTES), OfflineClass.ends_at >= now,
        attendable_condition(user)).order_by(OfflineClass.starts_at)))


def find_class_by_code(user: User, code: str, now: datetime | None = None) -> OfflineClass | None:
    """The class now open to ``user`` whose screen shows ``code`` (a member typing the short code)."""
    now = now or clock.utcnow()
    for item in classes_open_for_check_in(user, now):
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
    if member.id == by.id:
        raise CheckInError(_("不能为自己登记出勤。"))
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

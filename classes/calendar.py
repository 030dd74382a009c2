"""A member's training-class sessions as an iCalendar feed (RFC 5545), written here, no library.

``GET /classes/calendar/<token>.ics`` is public: the secret token in the URL is the credential (phones
subscribe without logging in). A wrong, reset or malformed token answers a plain-text 404, the same bytes for
every case, so nothing about users or classes leaks. Times are UTC (``...Z``); every session has a stable UID,
and ``SEQUENCE``/``LAST-MODIFIED`` advance when it moves, so calendar apps update it; a cancelled session
stays in the feed with ``STATUS:CANCELLED``.
"""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from accounts.models import User
from core import clock
from core.extensions import db
from core.permissions import public
from classes.models import ClassSession, ClassStatus, Participant, ParticipantStatus, TrainingClass
from classes.services import user_for_calendar_token
from learning.hours import format_units
from learning.models import OfflineClass

bp = Blueprint("class_calendar", __name__, url_prefix="/classes/calendar")

LINE_OCTETS = 75  # RFC 5545 3.1: lines longer than 75 octets are folded


def escape_text(value: str) -> str:
    """TEXT value escaping (RFC 5545 3.3.11): backslash, semicolon, comma, newline."""
    value = (value or "").replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold(line: str) -> bytes:
    """One content line as UTF-8, folded at 75 octets (continuations start with a space, which counts),
    never inside a multi-byte character; ends with CRLF."""
    out: list[bytes] = []
    current = b""
    limit = LINE_OCTETS
    for char in line:
        encoded = char.encode("utf-8")
        if len(current) + len(encoded) > limit:
            out.append(current)
            current = b" "
            limit = LINE_OCTETS
        current += encoded
    out.append(current)
    return b"\r\n".join(out) + b"\r\n"


def utc_stamp(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%SZ")


def sessions_for(user: User) -> list[ClassSession]:
    """Every session of the classes ``user`` is an approved participant of (drafts excluded), by start."""
    class_ids = select(Participant.class_id).where(Participant.user_id == user.id,
                                                   Participant.status == ParticipantStatus.APPROVED)
    return list(db.session.scalars(
        select(ClassSession).join(OfflineClass).join(TrainingClass, ClassSession.class_id == TrainingClass.id)
        .options(joinedload(ClassSession.training_class))
        .where(ClassSession.class_id.in_(class_ids), TrainingClass.status != ClassStatus.DRAFT)
        .order_by(OfflineClass.starts_at, ClassSession.id)))


def uid_for(session: ClassSession) -> str:
    return f"class-session-{session.id}@{current_app.config['CLASS_CALENDAR_UID_DOMAIN']}"


def event_lines(session: ClassSession, stamp: str) -> list[str]:
    training_class = session.training_class
    description = [training_class.name]
    if session.trainer_name:
        description.append(f"授课：{session.trainer_name}")
    description.append(f"学时：{format_units(session.credit_seconds)}")
    if session.is_cancelled and session.cancel_reason:
        description.append(f"取消原因：{session.cancel_reason}")
    return [
        "BEGIN:VEVENT",
        f"UID:{uid_for(session)}",
        f"DTSTAMP:{stamp}",
        f"DTSTART:{utc_stamp(session.starts_at)}",
        f"DTEND:{utc_stamp(session.ends_at)}",
        f"SEQUENCE:{session.sequence}",
        f"LAST-MODIFIED:{utc_stamp(session.changed_at)}",
        f"CREATED:{utc_stamp(session.created_at)}",
        f"SUMMARY:{escape_text(session.title)}",
        f"LOCATION:{escape_text(session.place)}",
        f"DESCRIPTION:{escape_text(chr(10).join(description))}",
        f"CATEGORIES:{escape_text(training_class.class_type.name)}",
        "STATUS:CANCELLED" if session.is_cancelled else "STATUS:CONFIRMED",
        "TRANSP:OPAQUE",
        "END:VEVENT",
    ]


def feed_for(user: User, now: datetime | None = None) -> bytes:
    """The member's whole feed as bytes (CRLF lines, folded)."""
    stamp = utc_stamp(now or clock.utcnow())
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Open Party School//Training classes//ZH",
             "CALSCALE:GREGORIAN", "METHOD:PUBLISH", f"X-WR-CALNAME:{escape_text('培训班课表')}",
             f"X-WR-TIMEZONE:{current_app.config['DISPLAY_TIMEZONE']}",
             "REFRESH-INTERVAL;VALUE=DURATION:PT6H", "X-PUBLISHED-TTL:PT6H"]
    for session in sessions_for(user):
        lines.extend(event_lines(session, stamp))
    lines.append("END:VCALENDAR")
    return b"".join(fold(line) for line in lines)


@bp.get("/<token>.ics")
@public
def feed(token: str):
    user = user_for_calendar_token(token)
    if user is None:  # the same few bytes whatever was wrong: nothing about users or classes
        return Response("404 Not Found\n", status=404, mimetype="text/plain")
    response = Response(feed_for(user), mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = 'inline; filename="classes.ics"'
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["X-Robots-Tag"] = "noindex"
    return response

"""What reaches participants outside the class page: in-app notices (a moved or cancelled session) and
the secret calendar-feed token. Services flush; the caller commits."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from werkzeug.exceptions import NotFound

from accounts.models import User
from core import clock
from core.extensions import db
from classes.models import CalendarToken, ClassNotice, NoticeKind

# --- notices ------------------------------------------------------------------------------------------------

def unread_notices(user: User, limit: int = 10) -> list[ClassNotice]:
    return list(db.session.scalars(select(ClassNotice).where(ClassNotice.user_id == user.id,
                                                             ClassNotice.read_at.is_(None))
                                   .order_by(ClassNotice.created_at.desc(), ClassNotice.id.desc()).limit(limit)))


def _local(value: str | None) -> str:
    if not value:
        return ""
    moment = datetime.fromisoformat(value)
    return clock.to_local(moment, current_app.config["DISPLAY_TIMEZONE"]).strftime("%Y-%m-%d %H:%M")


def notice_text(notice: ClassNotice) -> str:
    """The notice worded in the reader's language."""
    data = notice.data or {}
    if notice.kind == NoticeKind.SESSION_CANCELLED:
        text = _("培训班“%(cls)s”的课次“%(title)s”（%(when)s）已取消。", cls=notice.training_class.name,
                 title=data.get("title", ""), when=_local(data.get("starts_at")))
    else:
        text = _("培训班“%(cls)s”的课次“%(title)s”调整为 %(when)s，地点：%(place)s。",
                 cls=notice.training_class.name, title=data.get("title", ""), when=_local(data.get("starts_at")),
                 place=data.get("place", ""))
    if data.get("reason"):
        text += _("原因：%(reason)s", reason=data["reason"])
    return text


def mark_notice_read(user: User, notice_id: int, now: datetime | None = None) -> bool:
    """Mark one of ``user``'s notices read; another user's notice: NotFound."""
    notice = db.session.get(ClassNotice, notice_id)
    if notice is None or notice.user_id != user.id:
        raise NotFound()
    if notice.read_at is None:
        notice.read_at = now or clock.utcnow()
        db.session.flush()
        return True
    return False


def mark_all_notices_read(user: User, now: datetime | None = None) -> int:
    result = db.session.execute(update(ClassNotice).where(ClassNotice.user_id == user.id,
                                                          ClassNotice.read_at.is_(None))
                                .values(read_at=now or clock.utcnow()).execution_options(synchronize_session=False))
    return result.rowcount or 0


# --- calendar tokens ----------------------------------------------------------------------------------------

def _token_mac(user_id: int, nonce: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"class-calendar:{user_id}:{nonce}".encode(), hashlib.sha256).hexdigest()[:32]


def calendar_token(user: User) -> str:
    """The member's secret feed token (created on first use): ``<id>-<hmac>``."""
    row = db.session.scalar(select(CalendarToken).where(CalendarToken.user_id == user.id))
    if row is None:
        row = CalendarToken(user_id=user.id, nonce=secrets.token_hex(16), created_at=clock.utcnow())
        db.session.add(row)
        db.session.flush()
    return f"{user.id}-{_token_mac(user.id, row.nonce)}"


def reset_calendar_token(user: User) -> str:
    """A new secret: every URL handed out before stops working."""
    row = db.session.scalar(select(CalendarToken).where(CalendarToken.user_id == user.id))
    if row is None:
        return calendar_token(user)
    row.nonce = secrets.token_hex(16)
    row.created_at = clock.utcnow()
    db.session.flush()
    return f"{user.id}-{_token_mac(user.id, row.nonce)}"


def user_for_calendar_token(token: str) -> User | None:
    """The user whose feed ``token`` opens, or None (malformed, unknown, reset, or inactive user)."""
    user_part, _sep, mac = (token or "").partition("-")
    if not user_part.isdigit() or len(mac) != 32:
        return None
    row = db.session.scalar(select(CalendarToken).where(CalendarToken.user_id == int(user_part)))
    if row is None or not hmac.compare_digest(_token_mac(row.user_id, row.nonce), mac):
        return None
    user = db.session.get(User, row.user_id)
    return user if user is not None and user.is_active else None


def calendar_url(user: User) -> str:
    """The absolute URL of the member's feed (webcal clients accept https:// too)."""
    from flask import url_for

    return url_for("class_calendar.feed", token=calendar_token(user), _external=True)

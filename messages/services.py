"""Sending and reading messages. Services flush; the caller commits. Every query is filtered by the reader:
a member sees only their own messages."""
from __future__ import annotations

from datetime import datetime

from flask import url_for
from sqlalchemy import String, exists, func, literal, select, update
from sqlalchemy import insert as sa_insert
from werkzeug.routing import BuildError
from sqlalchemy.dialects import postgresql, sqlite

from accounts import services as accounts
from accounts import sms
from accounts.models import User
from core import clock
from core.extensions import db
from messages.models import Message

KINDS = ("reminder", "course_assigned", "due_soon", "application_approved", "application_rejected",
         "certificate_issued")
MAX_TEXT = 1000


def notify(user: User | int, kind: str, text: str, link: str = "", *, sender: User | None = None,
           dedupe_key: str | None = None, by_sms: bool = False) -> bool:
    """Put a message in ``user``'s message center (and, with ``by_sms`` and a provider configured, send it by
    SMS). ``link`` is a path inside the site. With ``dedupe_key`` a second message of the same key for the same
    member is not stored (the automatic "due in 7 days" runs every day). Returns whether it was stored."""
    user_id = user if isinstance(user, int) else user.id
    values = {"user_id": user_id, "kind": kind[:32], "text": text[:MAX_TEXT], "link": _local(link),
              "sender_id": sender.id if sender else None, "created_at": clock.utcnow(), "dedupe_key": dedupe_key}
    if dedupe_key is None:
        db.session.add(Message(**values))
        db.session.flush()
        stored = True
    else:  # unique (user_id, dedupe_key): one statement, no check-then-insert
        insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
        table = Message.__table__
        stored = db.session.execute(insert(table).values(**values).on_conflict_do_nothing(
            index_elements=[table.c.user_id, table.c.dedupe_key]).returning(table.c.id)).scalar() is not None
    if stored and by_sms and sms.provider_configured():
        phone = user.phone if isinstance(user, User) else db.session.scalar(select(User.phone).where(User.id == user_id))
        sms.send_sms(phone, text)
    return stored


def notify_all(user_ids, kind: str, text: str, link: str = "", *, dedupe_key: str | None = None) -> int:
    """``notify`` for every user id a SELECT yields (a whole subtree: one INSERT ... SELECT, in-app only). With
    ``dedupe_key``, members who already have a message of that key are skipped. Returns the rows inserted."""
    ids = user_ids.subquery("recipients")
    id_col = list(ids.c)[0]
    rows = select(id_col, literal(kind[:32]), literal(text[:MAX_TEXT]), literal(_local(link)),
                  literal(clock.utcnow()), literal(dedupe_key, String))
    if dedupe_key is not None:
        rows = rows.where(~exists().where(Message.user_id == id_col, Message.dedupe_key == dedupe_key))
    result = db.session.execute(sa_insert(Message.__table__).from_select(
        ["user_id", "kind", "text", "link", "created_at", "dedupe_key"], rows))
    return result.rowcount


def link_for(endpoint: str, **values) -> str:
    """A site path for a message's link; "" where no URL can be built (a CLI without SERVER_NAME)."""
    try:
        return url_for(endpoint, **values)
    except (RuntimeError, BuildError):
        return ""


def _local(link: str) -> str:
    link = (link or "")[:300]
    return link if link.startswith("/") and not link.startswith("//") else ""


def unread_count(user: User) -> int:
    return db.session.scalar(select(func.count(Message.id)).where(Message.user_id == user.id,
                                                                  Message.read_at.is_(None))) or 0


def messages_of(user: User):
    """SELECT of ``user``'s messages, newest first (page it with ``db.paginate``)."""
    return select(Message).where(Message.user_id == user.id).order_by(Message.id.desc())


def mark_read(user: User, message_id: int | None = None, at: datetime | None = None) -> int:
    """Mark one of ``user``'s messages (None: all of them) read; another member's id changes nothing."""
    stmt = update(Message).where(Message.user_id == user.id, Message.read_at.is_(None))
    if message_id is not None:
        stmt = stmt.where(Message.id == message_id)
    return db.session.execute(stmt.values(read_at=at or clock.utcnow())).rowcount


def remind(organizer: User, member_ids: list[int], text: str, link: str = "") -> int:
    """An organizer's reminder to members of their subtree (others are skipped): in-app, and by SMS where a
    provider is configured. Returns how many members it reached."""
    if not member_ids:
        return 0
    members = db.session.scalars(accounts.scoped_members(organizer).where(User.id.in_(set(member_ids[:2000])))).all()
    for member in members:
        notify(member, "reminder", text, link, sender=organizer, by_sms=True)
    return len(members)

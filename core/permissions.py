"""Who may use a route. Every view declares its rule with one of these decorators; one
``before_request`` hook enforces them and refuses any route that declares nothing (fail closed).

Organization scope (an organizer sees only their subtree) is enforced in the services that
query data, with ``accounts.services.scope_filter``; the rules here are about roles.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import wraps
from typing import Callable

from flask import abort, current_app, request
from flask_login import current_user


class Role(str, enum.Enum):
    ADMIN = "admin"
    ORGANIZER = "organizer"
    TRAINER = "trainer"
    MEMBER = "member"
    PUBLIC = "public"  # a self-registered public learner (群众)


@dataclass(frozen=True)
class AccessRule:
    kind: str  # "public", "login" or "roles"
    roles: frozenset[Role] = frozenset()

    def describe(self) -> str:
        if self.kind == "roles":
            return "roles:" + ",".join(sorted(r.value for r in self.roles))
        return self.kind


def _mark(rule: AccessRule) -> Callable:
    def decorator(fn):
        fn.access_rule = rule
        return fn

    return decorator


public = _mark(AccessRule("public"))
"""Anyone, logged in or not."""

login_required = _mark(AccessRule("login"))
"""Any logged-in, active user."""


def role_required(*roles: Role) -> Callable:
    """Users holding one of ``roles``; admins always pass."""
    return _mark(AccessRule("roles", frozenset(roles) | {Role.ADMIN}))


def mark_public_endpoint(app, endpoint: str) -> None:
    """Declare an endpoint registered by an extension (static files) public."""
    view = app.view_functions[endpoint]
    if not hasattr(view, "access_rule"):

        @wraps(view)
        def wrapper(*args, **kwargs):
            return view(*args, **kwargs)

        wrapper.access_rule = AccessRule("public")
        app.view_functions[endpoint] = wrapper


def access_rule_for(endpoint: str | None) -> AccessRule | None:
    view = current_app.view_functions.get(endpoint) if endpoint else None
    return getattr(view, "access_rule", None)


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def enforce_access():
    """``before_request``: apply the route's declared rule."""
    if request.endpoint is None:  # no route matched: the 404/405 handlers answer
        return None
    rule = access_rule_for(request.endpoint)
    if rule is None:
        current_app.logger.error("route %s declares no access rule; refused", request.endpoint)
        abort(403)
    if rule.kind == "public":
        return None
    if not current_user.is_authenticated:
        if is_api_request():
            abort(401)
        return current_app.login_manager.unauthorized()
    if rule.kind == "roles" and current_user.role not in rule.roles:
        abort(403)
    return None


def has_role(user, *roles: Role) -> bool:
    return bool(user and user.is_authenticated and (user.role == Role.ADMIN or user.role in roles))

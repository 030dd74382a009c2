"""JSON API: tokens, the current user, and an organizer's members and organizations."""
from __future__ import annotations

from flask import g, request
from flask_login import current_user

from accounts import services
from accounts.models import Organization, User
from core.api import PAGE_PARAMETERS, ApiError, api_blueprint, doc, paged
from core.extensions import db
from core.permissions import Role, login_required, public, role_required

bp = api_blueprint("accounts_api", __name__)

USER_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"}, "phone": {"type": "string"},
        "username": {"type": ["string", "null"]}, "role": {"type": "string"}, "category": {"type": "string"},
        "positions": {"type": "array", "items": {"type": "string"}},
        "organization": {"type": ["object", "null"]}, "active": {"type": "boolean"},
    },
}
ORG_SCHEMA = {"type": "object", "properties": {
    "id": {"type": "integer"}, "code": {"type": "string"}, "name": {"type": "string"}, "kind": {"type": "string"},
    "parent_id": {"type": ["integer", "null"]}, "depth": {"type": "integer"}}}


def org_json(org: Organization | None) -> dict | None:
    if org is None:
        return None
    return {"id": org.id, "code": org.code, "name": org.name, "kind": org.kind,
            "parent_id": org.parent_id, "depth": org.depth}


def user_json(user: User) -> dict:
    return {
        "id": user.id, "name": user.name, "phone": user.phone, "username": user.username,
        "role": user.role.value, "category": user.category.value,
        "positions": sorted(p.value for p in user.positions),
        "organization": org_json(user.organization), "active": user.is_active,
    }


def json_body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return data


@bp.post("/auth/token")
@public
@doc("Exchange a phone/username and password for a personal access token", tag="auth",
     request_body={"type": "object", "required": ["login", "password"], "properties": {
         "login": {"type": "string", "description": "phone number or username"},
         "password": {"type": "string"}, "name": {"type": "string", "description": "a label, e.g. the device"}}},
     responses={"201": {"description": "The token; shown only once"}, "401": {"description": "Wrong login"},
                "429": {"description": "Too many failures; see Retry-After"}})
def create_token():
    data = json_body()
    login, password = data.get("login"), data.get("password")
    if not isinstance(login, str) or not isinstance(password, str) or not login or not password:
        raise ApiError(422, "login and password are required", fields={"login": "required", "password": "required"})
    retry_after = services.reserve_login_attempt(login, request.remote_addr or "unknown")
    db.session.commit()  # the attempt counts before the password is checked, and no lock waits on the hash
    user = None if retry_after else services.authenticate(login, password, request.remote_addr or "unknown")
    if user is None:
        if retry_after:
            raise ApiError(429, f"too many failed attempts; retry in {retry_after} seconds")
        raise ApiError(401, "wrong login or password")
    services.clear_login_failures(user)
    token, raw = services.issue_token(user, str(data.get("name") or "api")[:100])
    db.session.commit()
    return {"token": raw, "id": token.id, "user": user_json(user)}, 201


@bp.get("/auth/tokens")
@login_required
@doc("List my live access tokens (never their values)", tag="auth")
def list_tokens():
    return {"items": [{"id": t.id, "name": t.name, "created_at": t.created_at.isoformat() + "Z",
                       "last_used_at": t.last_used_at.isoformat() + "Z" if t.last_used_at else None}
                      for t in services.tokens_of(current_user)]}


@bp.delete("/auth/tokens/<int:token_id>")
@login_required
@doc("Revoke one of my tokens", tag="auth", responses={"204": {"description": "Revoked"}})
def revoke_token(token_id: int):
    services.revoke_token(current_user, token_id)
    db.session.commit()
    return "", 204


@bp.delete("/auth/token")
@login_required
@doc("Revoke the token this request carries (log out the app)", tag="auth",
     responses={"204": {"description": "Revoked"}, "400": {"description": "Not a token request"}})
def revoke_current_token():
    token = g.get("api_token")
    if token is None:
        raise ApiError(400, "this request does not carry a bearer token")
    services.revoke_token(current_user, token.id)
    db.session.commit()
    return "", 204


@bp.get("/me")
@login_required
@doc("The current user", tag="auth", responses={"200": {"description": "The user",
                                                       "content": {"application/json": {"schema": USER_SCHEMA}}}})
def me():
    return user_json(current_user)


@bp.get("/members")
@role_required(Role.ORGANIZER)
@doc("Members of my subtree (admins: everyone), paged; q filters by name or phone", tag="members",
     parameters=PAGE_PARAMETERS + [{"name": "q", "in": "query", "schema": {"type": "string"}}])
def members():
    return paged(services.scoped_members(current_user, request.args.get("q")), user_json)


@bp.get("/members/<int:member_id>")
@role_required(Role.ORGANIZER)
@doc("One member of my subtree", tag="members",
     responses={"200": {"description": "The member"}, "404": {"description": "No such member in my subtree"}})
def member(member_id: int):
    return user_json(services.member_in_scope(current_user, member_id))


@bp.get("/organizations")
@role_required(Role.ORGANIZER)
@doc("Organizations of my subtree, in tree order", tag="members", parameters=PAGE_PARAMETERS)
def organizations():
    return paged(services.scoped_organizations(current_user), org_json)

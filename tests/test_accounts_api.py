"""API tokens, the current user, JSON errors and the OpenAPI document."""
from datetime import datetime, timedelta

from sqlalchemy import select

from accounts.models import ApiToken
from core import clock
from core.extensions import db
from core.permissions import Role
from tests.conftest import PASSWORD


def test_token_create_use_and_revoke(client, auth, make_org, make_member):
    member = make_member(make_org())
    created = client.post("/api/v1/auth/token", json={"login": member.phone, "password": PASSWORD, "name": "手机"})
    assert created.status_code == 201
    raw = created.get_json()["token"]
    headers = {"Authorization": f"Bearer {raw}"}
    other = client.application.test_client()  # no session: the token alone authenticates
    me = other.get("/api/v1/me", headers=headers)
    assert me.status_code == 200 and me.get_json()["phone"] == member.phone
    listed = other.get("/api/v1/auth/tokens", headers=headers).get_json()["items"]
    assert [t["name"] for t in listed] == ["手机"] and raw not in str(listed)
    assert other.delete(f"/api/v1/auth/tokens/{listed[0]['id']}", headers=headers).status_code == 204
    assert other.get("/api/v1/me", headers=headers).status_code == 401


def test_the_token_list_shows_when_each_token_was_last_used(client, make_org, make_member, monkeypatch):
    """Written at most once in five minutes, so a busy app does not write on every call."""
    now = [datetime(2026, 9, 1, 8, 0)]
    monkeypatch.setattr(clock, "utcnow", lambda: now[0])
    member = make_member(make_org())
    raw = client.post("/api/v1/auth/token", json={"login": member.phone, "password": PASSWORD}).get_json()["token"]
    other = client.application.test_client()
    headers = {"Authorization": f"Bearer {raw}"}

    def last_used():
        return other.get("/api/v1/auth/tokens", headers=headers).get_json()["items"][0]["last_used_at"]

    assert last_used() == "2026-09-01T08:00:00Z"
    now[0] += timedelta(minutes=4)
    assert other.get("/api/v1/me", headers=headers).status_code == 200
    assert last_used() == "2026-09-01T08:00:00Z"  # within five minutes: not rewritten
    now[0] += timedelta(minutes=2)
    assert last_used() == "2026-09-01T08:06:00Z"
    db.session.expire_all()
    assert db.session.scalar(select(ApiToken.last_used_at)) == datetime(2026, 9, 1, 8, 6)  # stored, not only shown


def test_only_the_hash_of_a_token_is_stored(client, make_org, make_member):
    member = make_member(make_org())
    raw = client.post("/api/v1/auth/token", json={"login": member.phone, "password": PASSWORD}).get_json()["token"]
    stored = db.session.scalars(select(ApiToken.token_hash)).all()
    assert len(stored) == 1 and raw not in stored[0] and len(stored[0]) == 64


def test_revoking_the_current_token_logs_the_app_out(client, auth, make_org, make_member):
    headers = auth.token(make_member(make_org()))
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_nobody_revokes_another_users_token(client, auth, make_org, make_member):
    org = make_org()
    mine = auth.token(make_member(org))
    theirs_id = client.post("/api/v1/auth/token", json={"login": make_member(org).phone, "password": PASSWORD}).get_json()["id"]
    assert client.delete(f"/api/v1/auth/tokens/{theirs_id}", headers=mine).status_code == 404


def test_a_deactivated_users_token_stops_working(client, auth, make_org, make_member):
    member = make_member(make_org())
    headers = auth.token(member)
    member.is_active_flag = False
    db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_wrong_login_is_a_json_401(client, make_org, make_member):
    member = make_member(make_org())
    response = client.post("/api/v1/auth/token", json={"login": member.phone, "password": "wrong-one"})
    assert response.status_code == 401
    assert response.get_json() == {"error": {"code": "unauthorized", "message": "wrong login or password"}}


def test_bad_bodies_get_json_errors(client):
    assert client.post("/api/v1/auth/token", data="not json").status_code == 400
    response = client.post("/api/v1/auth/token", json={"login": ""})
    assert response.status_code == 422 and "fields" in response.get_json()["error"]


def test_api_errors_are_json_never_html(client, auth, make_org, make_member):
    missing = client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404 and missing.is_json and missing.get_json()["error"]["code"] == "not_found"
    wrong_method = client.put("/api/v1/me")
    assert wrong_method.status_code == 405 and wrong_method.is_json
    anonymous = client.get("/api/v1/me")
    assert anonymous.status_code == 401 and anonymous.is_json
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    bad_page = client.get("/api/v1/members?page=x", headers=auth.token(make_member(make_org())))
    assert bad_page.is_json


def test_token_api_is_throttled_like_the_login_form(client, make_org, make_member, app):
    member = make_member(make_org())
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        client.post("/api/v1/auth/token", json={"login": member.phone, "password": "wrong-one"})
    response = client.post("/api/v1/auth/token", json={"login": member.phone, "password": PASSWORD})
    assert response.status_code == 429


def test_openapi_documents_every_api_route(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    from core.api import openapi_path

    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = openapi_path(rule.rule)
        assert path in document["paths"], f"{rule.rule} missing from the OpenAPI document"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = document["paths"][path][method.lower()]
            assert operation.get("summary"), f"{method} {rule.rule} has no @doc summary"
            assert operation.get("tags"), f"{method} {rule.rule} has no tag"


def test_me_returns_the_current_user(client, auth, make_org, make_user):
    org = make_org("春晖社区")
    user = make_user(Role.MEMBER, org=org, positions=["secretary"])
    body = client.get("/api/v1/me", headers=auth.token(user)).get_json()
    assert body["organization"]["name"] == "春晖社区"
    assert body["positions"] == ["secretary"] and body["role"] == "member"

"""CSRF protection switched on, as in production."""
import re

import pytest

from app import create_app
from core.extensions import db
from tests.conftest import PASSWORD, IsolatedClient, reset_database
from tests.conftest import testing_config as config_for_tests


@pytest.fixture
def csrf_app():
    application = create_app(config_for_tests(WTF_CSRF_ENABLED=True))
    application.test_client_class = IsolatedClient
    with application.app_context():
        reset_database()
        yield application
        db.session.remove()
        db.drop_all()


def csrf_token(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_forms_need_the_token(csrf_app, make_org, make_member):
    member = make_member(make_org())
    client = csrf_app.test_client()
    refused = client.post("/login", data={"identifier": member.phone, "password": PASSWORD})
    assert refused.status_code == 400
    token = csrf_token(client.get("/login").get_data(as_text=True))
    accepted = client.post("/login", data={"identifier": member.phone, "password": PASSWORD, "csrf_token": token})
    assert accepted.status_code == 302


def test_api_writes_from_a_browser_session_need_the_header(csrf_app, make_org, make_member):
    member = make_member(make_org())
    client = csrf_app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"identifier": member.phone, "password": PASSWORD, "csrf_token": token})
    api_token = client.post("/api/v1/auth/token", json={"login": member.phone, "password": PASSWORD},
                            headers={"X-CSRFToken": token}).get_json()
    refused = client.delete(f"/api/v1/auth/tokens/{api_token['id']}")
    assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == "bad_request"
    assert client.delete(f"/api/v1/auth/tokens/{api_token['id']}", headers={"X-CSRFToken": token}).status_code == 204


def test_bearer_token_calls_need_no_csrf_token(csrf_app, make_org, make_member):
    member = make_member(make_org())
    client = csrf_app.test_client()
    issued = client.post("/api/v1/auth/token", json={"login": member.phone, "password": PASSWORD}).get_json()
    fresh = csrf_app.test_client()  # no cookies at all, like the mobile app
    response = fresh.delete("/api/v1/auth/token", headers={"Authorization": f"Bearer {issued['token']}"})
    assert response.status_code == 204


def test_a_stale_form_gets_a_chinese_page_not_a_bare_error(csrf_app):
    response = csrf_app.test_client().post("/login", data={"identifier": "x", "password": "y", "csrf_token": "stale"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "页面已过期" in page and "navbar" in page

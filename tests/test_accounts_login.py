"""Login, logout, throttling, safe redirects, cookies and password changes."""
from datetime import timedelta

import pytest

from accounts.models import User
from core import clock
from core.extensions import db
from core.permissions import Role
from tests.conftest import PASSWORD


@pytest.fixture
def member(make_org, make_member):
    return make_member(make_org(), username="zhangsan")


def test_login_with_phone_shows_the_home_page(client, auth, member):
    response = auth.login(member)
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert member.name in page


def test_login_with_username(client, auth, member):
    assert auth.login("zhangsan").status_code == 302
    assert client.get("/api/v1/me").get_json()["id"] == member.id


def test_login_with_full_width_phone_digits(client, auth, member):
    full_width = member.phone.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert auth.login(full_width).status_code == 302


def test_logout_ends_the_session(client, auth, member):
    auth.login(member)
    assert client.post("/logout").status_code == 302
    assert client.get("/api/v1/me").status_code == 401


def test_wrong_password_and_unknown_phone_get_the_same_message(client, auth, member):
    wrong = auth.login(member, password="nope-nope")
    unknown = auth.login("13012345678")
    assert wrong.status_code == unknown.status_code == 401
    message = "手机号/用户名或密码不正确。"
    assert message in wrong.get_data(as_text=True)
    assert message in unknown.get_data(as_text=True)


def test_login_form_keeps_what_was_typed(client, member):
    page = client.post("/login", data={"identifier": member.phone, "password": "bad"}).get_data(as_text=True)
    assert f'value="{member.phone}"' in page


def test_inactive_user_cannot_log_in(client, auth, member):
    member.is_active_flag = False
    db.session.commit()
    assert auth.login(member).status_code == 401


def test_five_failures_slow_the_account_down_then_it_recovers(client, auth, member, monkeypatch, app):
    start = clock.utcnow()
    monkeypatch.setattr(clock, "utcnow", lambda: start)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert auth.login(member, password="wrong-password").status_code == 401
    blocked = auth.login(member)  # even the right password waits
    assert blocked.status_code == 429
    assert "登录失败次数过多" in blocked.get_data(as_text=True)
    later = start + timedelta(seconds=app.config["LOGIN_WINDOW_SECONDS"] + 1)
    monkeypatch.setattr(clock, "utcnow", lambda: later)
    assert auth.login(member).status_code == 302


def test_one_members_typos_on_a_shared_address_do_not_refuse_the_next_member(client, auth, make_org, make_member, app):
    """A community hall's Wi-Fi is one address: issue 16 (was: five failures there refused everyone)."""
    org = make_org()
    typist, neighbour = make_member(org), make_member(org)
    for _ in range(app.config["LOGIN_MAX_FAILURES"] + 2):
        auth.login(typist, password="wrong-password")
    assert auth.login(typist).status_code == 429  # the typist's own account waits
    assert auth.login(neighbour).status_code == 302  # same address, another member: in


def test_admin_reset_clears_the_throttle(client, auth, make_org, make_member, make_user, app):
    org = make_org()
    member = make_member(org)
    admin = make_user(Role.ADMIN, org=org)
    other = app.test_client()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        other.post("/login", data={"identifier": member.phone, "password": "x"}, environ_base={"REMOTE_ADDR": "10.1.1.1"})
    auth.login(admin)
    response = client.post(f"/admin/users/{member.id}/password", data={"password": "brand-new-pass"})
    assert response.status_code == 302
    client.post("/logout")
    assert auth.login(member, password="brand-new-pass").status_code == 302


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)",
                                    "http:/evil.example"])
def test_next_never_leaves_the_site(client, auth, member, target):
    response = auth.login(member, next_url=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_next_inside_the_site_is_followed(client, auth, member):
    response = auth.login(member, next_url="/profile")
    assert response.headers["Location"] == "/profile"


def test_protected_page_redirects_to_login_with_next(client, member):
    response = client.get("/profile")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_session_cookie_is_httponly_and_samesite_lax(client, auth, member):
    response = auth.login(member)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_change_password(client, auth, member):
    auth.login(member)
    response = client.post("/profile/password", data={"current": PASSWORD, "password": "another-pass-1",
                                                      "confirm": "another-pass-1"})
    assert response.status_code == 302
    client.post("/logout")
    assert auth.login(member, password="another-pass-1").status_code == 302


def test_change_password_with_wrong_current_changes_nothing(client, auth, member):
    auth.login(member)
    response = client.post("/profile/password", data={"current": "not-it", "password": "another-pass-1",
                                                      "confirm": "another-pass-1"})
    assert response.status_code == 400
    assert "当前密码不正确" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, member.id).check_password(PASSWORD)


def test_change_password_rejects_a_short_one_next_to_the_field(client, auth, member):
    auth.login(member)
    response = client.post("/profile/password", data={"current": PASSWORD, "password": "short", "confirm": "short"})
    assert response.status_code == 400
    assert "密码至少需要 8 个字符" in response.get_data(as_text=True)

"""Issue 16: accounts for a real district — activation codes and slips, the password policy, throttling per
account and per address, signing out everywhere (two app instances on one database), SMS, organization paths."""
from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest

from accounts import codes, services
from accounts.models import AccessCode, User
from accounts.passwords import password_problem
from app import create_app
from core import clock
from core.extensions import db
from core.permissions import Role
from tests.conftest import PASSWORD
from tests.conftest import testing_config as config_for_tests

NEW_PASSWORD = "spring-garden-77"


def slip_codes(html: str) -> dict[str, str]:
    """{masked phone: code} of a slips page."""
    found = re.findall(r'<span class="phone">([^<]+)</span>.*?<span class="code">([A-Z0-9-]+)</span>', html, re.S)
    return dict(found)


def print_slips(client, **form) -> str:
    response = client.post("/members/slips", data=form)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


# --- the password policy ------------------------------------------------------------------------------------

@pytest.mark.parametrize("password,phone,fragment", [
    ("short7!", None, "至少需要 8 个字符"),
    ("2026031512", None, "不能全是数字"),
    ("my13901000012", "13901000012", "不能包含您的手机号"),
    ("Password123", None, "最常见的密码"),
    ("woaini1314", None, "最常见的密码"),
])
def test_the_policy_says_what_to_change(app, password, phone, fragment):
    with app.test_request_context():
        assert fragment in password_problem(password, phone)


def test_a_good_password_passes(app):
    with app.test_request_context():
        assert password_problem(NEW_PASSWORD, "13901000012") is None
        assert password_problem(PASSWORD, "13901000012") is None


def test_every_form_that_sets_a_password_applies_the_policy(client, auth, grid):
    member = grid["members"]["R-1-1"][0]
    auth.login(member)
    response = client.post("/profile/password", data={"current": PASSWORD, "password": "12345678901",
                                                      "confirm": "12345678901"})
    assert response.status_code == 400 and "不能全是数字" in response.get_data(as_text=True)
    client.post("/logout")
    auth.login(grid["organizer_R-1-1"])
    response = client.post("/members/new", data={"name": "新人", "phone": "13911112222", "org_code": "R-1-1",
                                                 "category": "full", "password": "password1"})
    assert response.status_code == 400 and "最常见的密码" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(User).where(User.phone == "13911112222")) is None


def test_the_service_refuses_a_bad_password_whatever_the_caller(app, grid):
    member = grid["members"]["R-1-1"][0]
    with pytest.raises(services.PasswordRejected):
        services.reset_password(member, member.phone + "x")


# --- activation codes and slips -------------------------------------------------------------------------

def test_a_member_added_without_password_activates_with_the_code_from_a_slip(client, auth, grid):
    organizer = grid["organizer_R-1-1"]
    auth.login(organizer)
    response = client.post("/members/new", data={"name": "王新", "phone": "13933334444", "org_code": "R-1-1",
                                                 "category": "full", "password": ""})
    assert response.status_code == 302
    member = db.session.scalar(db.select(User).where(User.phone == "13933334444"))
    assert not member.has_usable_password
    html = print_slips(client, member_id=member.id)
    assert "王新" in html and "139****4444" in html and "13933334444" not in html
    assert "<svg" in html and "http" not in re.sub(r'(href|xmlns)="[^"]*"|/activate\?code=[A-Z0-9]+|https?://localhost[^\s<"]*', "", html)
    code = slip_codes(html)["139****4444"]
    assert len(code.replace("-", "")) == 8 and not set(code) & set("0O1IL")
    client.post("/logout")
    stored = db.session.scalar(db.select(AccessCode).where(AccessCode.user_id == member.id))
    assert code.replace("-", "") not in stored.code_hash  # hashed
    response = client.post("/activate", data={"phone": "139 3333 4444", "code": code.lower(),
                                              "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert client.get("/profile").status_code == 200  # logged in
    client.post("/logout")
    assert auth.login("13933334444", password=NEW_PASSWORD).status_code == 302
    client.post("/logout")
    again = client.post("/activate", data={"phone": "13933334444", "code": code, "password": "another-pass-9",
                                           "confirm": "another-pass-9"})
    assert again.status_code == 400 and "已使用过" in again.get_data(as_text=True)


def test_the_qr_link_fills_the_code(client):
    html = client.get("/activate?code=abcd-efgh").get_data(as_text=True)
    assert 'value="ABCDEFGH"' in html


def test_wrong_code_and_unknown_phone_read_the_same_and_expired_codes_say_so(client, auth, grid, monkeypatch):
    member = grid["members"]["R-1-1"][0]
    code = codes.issue_code(member, by=grid["organizer_R-1-1"])
    db.session.commit()
    data = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    wrong = client.post("/activate", data={**data, "phone": member.phone, "code": "QQQQQQQQ"}).get_data(as_text=True)
    unknown = client.post("/activate", data={**data, "phone": "13800009999", "code": code}).get_data(as_text=True)
    assert "手机号或激活码不正确" in wrong and "手机号或激活码不正确" in unknown
    later = clock.utcnow() + timedelta(days=31)
    monkeypatch.setattr(clock, "utcnow", lambda: later)
    expired = client.post("/activate", data={**data, "phone": member.phone, "code": code})
    assert expired.status_code == 400 and "已过期" in expired.get_data(as_text=True)


def test_a_reissued_code_replaces_the_old_one(app, grid):
    member = grid["members"]["R-1-1"][0]
    first = codes.issue_code(member)
    second = codes.issue_code(member)
    with pytest.raises(codes.CodeError):
        codes.redeem_code(member.phone, first, NEW_PASSWORD)
    assert codes.redeem_code(member.phone, second, NEW_PASSWORD).id == member.id


def test_code_guessing_is_throttled(client, grid, app):
    member = grid["members"]["R-1-1"][0]
    data = {"phone": member.phone, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    statuses = [client.post("/activate", data={**data, "code": f"QQQQQQ{c}{c}"}).status_code for c in "ACDEFGH"]
    assert statuses[:app.config["LOGIN_MAX_FAILURES"]] == [400] * app.config["LOGIN_MAX_FAILURES"]
    assert statuses[-1] == 429


def test_slips_for_members_outside_the_subtree_are_refused(client, auth, grid):
    auth.login(grid["organizer_R-1-1"])
    outsider = grid["members"]["R-2-1"][0]
    assert client.post("/members/slips", data={"member_id": outsider.id}).status_code == 403
    assert client.post("/members/slips", data={"org_id": grid["streets"][1].id}).status_code == 403
    assert db.session.scalar(db.select(AccessCode).where(AccessCode.user_id == outsider.id)) is None


def test_slips_for_a_subtree_cover_the_members_without_a_password(client, auth, grid, make_member):
    fresh = [services.create_user(name=f"新党员{i}", phone=f"1393000000{i}", role=Role.MEMBER,
                                  organization=grid["communities"][1]) for i in range(3)]
    elsewhere = services.create_user(name="别处党员", phone="13930000009", role=Role.MEMBER,
                                     organization=grid["communities"][2])
    db.session.commit()
    auth.login(grid["street_organizer"])  # street 1: communities R-1-1 and R-1-2
    html = print_slips(client, all="1")
    assert set(slip_codes(html)) == {f"139****000{i}" for i in range(3)}
    assert "别处党员" not in html and elsewhere.id
    assert "测试区委 / 街道1 / 社区12" in html  # each slip names the organization with its path
    assert html.count('class="slip"') == 3 and "size: A4" in html


def test_an_organizer_sends_a_reset_code_by_sms_and_the_console_masks_the_phone(client, auth, grid, caplog):
    member = grid["members"]["R-1-1"][0]
    auth.login(grid["organizer_R-1-1"])
    with caplog.at_level(logging.INFO, logger="ops.sms"):
        response = client.post(f"/members/{member.id}/send-code")
    assert response.status_code == 302
    info = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any(member.phone[-4:] in m and "重置码" in m for m in info)
    assert not any(member.phone in m for m in info)


class RecordingSender:
    sent: list[tuple[str, str]] = []

    def __init__(self, config):
        pass

    def send(self, phone, text):
        RecordingSender.sent.append((phone, text))


def test_a_configured_provider_gets_the_code_and_the_member_can_use_it(client, auth, grid, app):
    app.config["SMS_BACKEND"] = "tests.test_accounts_district.RecordingSender"
    app.extensions.pop("sms_sender", None)
    RecordingSender.sent.clear()
    member = grid["members"]["R-1-1"][0]
    auth.login(grid["organizer_R-1-1"])
    client.post(f"/members/{member.id}/send-code")
    client.post("/logout")
    (phone, text), = RecordingSender.sent
    code = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}", text).group(0)
    assert phone == member.phone
    response = client.post("/activate", data={"phone": member.phone, "code": code, "password": NEW_PASSWORD,
                                              "confirm": NEW_PASSWORD})
    assert response.status_code == 302


def test_forgot_explains_the_way_back(client):
    html = client.get("/forgot").get_data(as_text=True)
    assert "组织管理员" in html and "/activate" in html


def test_imported_members_have_no_usable_password_until_activated(client, auth, grid):
    auth.login(grid["organizer_R-1-1"])
    csv = "姓名,手机号,组织编码,人员类别,职务\n赵导入,13940000001,R-1-1,正式党员,\n".encode()
    from io import BytesIO
    preview = client.post("/members/import", data={"file": (BytesIO(csv), "m.csv")},
                          content_type="multipart/form-data")
    token = re.search(r'name="token" value="([0-9a-f]+)"', preview.get_data(as_text=True)).group(1)
    assert client.post("/members/import/confirm", data={"token": token}).status_code == 302
    member = db.session.scalar(db.select(User).where(User.phone == "13940000001"))
    assert not member.has_usable_password and not member.check_password("")
    assert "未激活" in client.get("/members").get_data(as_text=True)


# --- throttling -----------------------------------------------------------------------------------------

def test_formatting_the_phone_does_not_bypass_the_account_limit(client, auth, grid, app):
    member = grid["members"]["R-1-1"][0]
    p = member.phone
    spellings = [p, f"{p[:3]} {p[3:7]} {p[7:]}", f"{p[:3]}-{p[3:7]}-{p[7:]}", f" {p} ", f"{p[:3]}  {p[3:]}"]
    for spelling in spellings:
        assert auth.login(spelling, password="wrong-password").status_code == 401
    assert auth.login(f"{p[:3]}-{p[3:7]}-{p[7:]}").status_code == 429


def test_waits_grow_after_the_first_window(client, auth, grid, app, monkeypatch):
    member = grid["members"]["R-1-1"][0]
    start = clock.utcnow()
    now = [start]
    monkeypatch.setattr(clock, "utcnow", lambda: now[0])
    window = app.config["LOGIN_WINDOW_SECONDS"]
    for _ in range(5):
        auth.login(member, password="wrong-password")
    assert auth.login(member, password="wrong-password").status_code == 429
    now[0] = start + timedelta(seconds=window + 1)  # the first window is over: five more tries
    for _ in range(5):
        assert auth.login(member, password="wrong-password").status_code == 401
    now[0] = start + timedelta(seconds=2 * window + 2)  # another ten minutes are not enough now
    blocked = auth.login(member)
    assert blocked.status_code == 429
    now[0] = start + timedelta(seconds=6 * window + 1)
    assert auth.login(member).status_code == 302


def test_spraying_sixty_accounts_from_one_address_is_slowed(client, auth, make_org, make_member, app):
    org = make_org()
    targets = [make_member(org) for _ in range(60)]
    statuses = [auth.login(t, password="Summer2026!").status_code for t in targets]
    assert statuses[:app.config["LOGIN_ADDRESS_MAX_FAILURES"]] == [401] * app.config["LOGIN_ADDRESS_MAX_FAILURES"]
    assert set(statuses[app.config["LOGIN_ADDRESS_MAX_FAILURES"]:]) == {429}
    elsewhere = app.test_client().post("/login", data={"identifier": targets[-1].phone, "password": PASSWORD},
                                       environ_base={"REMOTE_ADDR": "10.7.7.7"})
    assert elsewhere.status_code == 302  # the owner on another network is not refused


def test_the_owner_of_an_attacked_account_gets_in_with_a_code(client, auth, grid, app):
    member = grid["members"]["R-1-1"][0]
    attacker = app.test_client()
    for _ in range(12):
        attacker.post("/login", data={"identifier": member.phone, "password": "guess-guess"},
                      environ_base={"REMOTE_ADDR": "10.6.6.6"})
    assert auth.login(member).status_code == 429
    code = codes.issue_code(member)
    db.session.commit()
    response = client.post("/activate", data={"phone": member.phone, "code": code, "password": NEW_PASSWORD,
                                              "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    client.post("/logout")
    assert auth.login(member, password=NEW_PASSWORD).status_code == 302  # failures forgotten


# --- getting out --------------------------------------------------------------------------------------------

def copy_session(source, target) -> None:
    for name in ("session", "remember_token"):
        cookie = source.get_cookie(name)
        if cookie is not None:
            target.set_cookie(name, cookie.value)


@pytest.fixture
def two_servers(tmp_path):
    """Two app instances on one database of the test's own (as two gunicorn servers), with a member and their
    organizer."""
    from werkzeug.security import generate_password_hash

    from tests.conftest import TEST_PASSWORD_HASH
    from tests.security_helpers import own_database_app

    with own_database_app(tmp_path, "sessions") as setup:  # its context stays pushed: not a server (shared g)
        community = services.create_organization("S-1", "春晖社区", "社区")
        hashed = generate_password_hash(PASSWORD, method=TEST_PASSWORD_HASH)
        member = services.create_user(name="周春燕", phone="13901000012", password_hash=hashed, role=Role.MEMBER,
                                      organization=community)
        organizer = services.create_user(name="社区组织员", phone="13901000099", password_hash=hashed,
                                         role=Role.ORGANIZER, managed_org=community)
        db.session.commit()
        servers = [create_app(config_for_tests(SQLALCHEMY_DATABASE_URI=setup.config["SQLALCHEMY_DATABASE_URI"]))
                   for _ in range(2)]
        try:
            yield servers[0], servers[1], member.id, organizer.phone
        finally:
            for server in servers:
                with server.app_context():
                    db.engine.dispose()


@pytest.mark.parametrize("ending", ["logout", "password", "deactivate", "sign_out_everywhere"])
def test_a_copied_cookie_stops_working_on_every_server(two_servers, ending):
    first, second, member_id, organizer_phone = two_servers
    browser = first.test_client()
    browser.post("/login", data={"identifier": "13901000012", "password": PASSWORD, "remember": "y"})
    thief = second.test_client()
    copy_session(browser, thief)
    remembered = second.test_client()
    remembered.set_cookie("remember_token", browser.get_cookie("remember_token").value)
    assert thief.get("/profile").status_code == 200
    assert remembered.get("/profile").status_code == 200
    if ending == "logout":
        browser.post("/logout")
    elif ending == "password":
        response = browser.post("/profile/password", data={"current": PASSWORD, "password": NEW_PASSWORD,
                                                           "confirm": NEW_PASSWORD})
        assert response.status_code == 302
        assert browser.get("/profile").status_code == 200  # the browser that changed it stays in
    else:
        organizer = first.test_client()
        assert organizer.post("/login", data={"identifier": organizer_phone, "password": PASSWORD}).status_code == 302
        assert organizer.get("/members").status_code == 200
        path = "active" if ending == "deactivate" else "sign-out"
        assert organizer.post(f"/members/{member_id}/{path}", data={"active": "0"}).status_code == 302
    for stolen in (thief, remembered):
        response = stolen.get("/profile")
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_deactivation_revokes_api_tokens(client, auth, grid):
    member = grid["members"]["R-1-1"][0]
    headers = auth.token(member)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    services.set_member_active(member, False)
    services.set_member_active(member, True)
    db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_the_profile_lists_and_revokes_tokens(client, auth, grid):
    member = grid["members"]["R-1-1"][0]
    auth.login(member)
    client.post("/profile/tokens", data={"name": "办公电脑令牌"})
    html = client.get("/profile").get_data(as_text=True)
    assert "办公电脑令牌" in html
    token_id = re.search(r"/profile/tokens/(\d+)/revoke", html).group(1)
    client.post(f"/profile/tokens/{token_id}/revoke")
    assert "办公电脑令牌" not in client.get("/profile").get_data(as_text=True)


# --- organization paths ------------------------------------------------------------------------------------

def test_members_list_shows_the_organization_path(client, auth, grid):
    auth.login(grid["admin"])
    html = client.get("/members").get_data(as_text=True)
    assert "测试区委 / 街道1 / 社区11" in html and "测试区委 / 街道2 / 社区22" in html


def test_an_organizer_cannot_send_codes_to_or_sign_out_another_organizer(client, auth, grid):
    auth.login(grid["street_organizer"])
    colleague = grid["organizer_R-1-1"]  # in the street's subtree, but an organizer
    assert client.post(f"/members/{colleague.id}/send-code").status_code == 403
    assert client.post(f"/members/{colleague.id}/sign-out").status_code == 403
    assert client.post("/members/slips", data={"member_id": colleague.id}).status_code == 403

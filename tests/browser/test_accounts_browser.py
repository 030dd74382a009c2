"""A member on a phone: logs in through the real form (CSRF on), uses the collapsed menu, switches to
English, logs out; a wrong password keeps what they typed and says why."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def member(make_org, make_member):
    street = make_org("和平街道", kind="街道", code="HP")
    community = make_org("幸福社区", street, code="HP-1")
    return make_member(community, name="李红梅")


def open_menu(page):
    page.wait_for_load_state("load")  # Bootstrap's script runs at the end of the page
    toggler = page.get_by_role("button", name=re.compile("菜单|Menu"))
    expect(toggler).to_be_visible()
    toggler.click()
    expect(page.locator("#mainNav")).to_have_class(re.compile(r"\bshow\b"))  # the collapse animation is over


def test_member_logs_in_on_a_phone_uses_the_menu_switches_to_english_and_logs_out(phone_page, member):
    page = phone_page
    page.goto("/")
    assert page.evaluate("window.innerWidth") == 390  # the page honours the phone's width
    page.locator("main").get_by_role("link", name="登录", exact=True).click()

    expect(page).to_have_url(re.compile(r"/login$"))
    page.get_by_label("手机号或用户名").fill(member.phone)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录").click()

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", name="您好，李红梅")).to_be_visible()
    expect(page.get_by_text("幸福社区")).to_be_visible()

    # The navbar is collapsed behind a toggler on a phone; the menu opens with a tap.
    nav = page.locator("#mainNav")
    expect(nav).to_be_hidden()
    toggler = page.get_by_role("button", name="菜单")
    expect(toggler).to_be_visible()
    page.wait_for_load_state("load")  # Bootstrap's script runs at the end of the page
    toggler.tap()
    expect(nav).to_have_class(re.compile(r"\bshow\b"))  # the collapse animation is over
    expect(nav.get_by_role("link", name="李红梅")).to_be_visible()
    expect(nav.get_by_role("button", name="退出")).to_be_visible()

    # Language: 中文 -> English, the page comes back in English and stays so.
    nav.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Hello, 李红梅")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.reload()
    open_menu(page)
    expect(page.locator("#mainNav").get_by_role("button", name="Log out")).to_be_visible()
    expect(page.locator("#mainNav").get_by_role("link", name="中文")).to_be_visible()  # the way back

    page.locator("#mainNav").get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You have logged out.")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Hello"))).to_have_count(0)
    page.goto("/profile")
    expect(page).to_have_url(re.compile(r"/login\?next="))  # the session is really gone


def test_wrong_password_says_so_next_to_the_form_and_keeps_the_phone(phone_page, member):
    page = phone_page
    page.goto("/login")
    typed = member.phone
    page.get_by_label("手机号或用户名").fill(typed)
    page.get_by_label("密码", exact=True).fill("not-my-password")
    with page.expect_response(re.compile(r"/login$")) as answer:
        page.get_by_role("button", name="登录").click()
    assert answer.value.status == 401

    error = page.get_by_role("alert").filter(has_text="手机号/用户名或密码不正确。")
    expect(error).to_be_visible()
    expect(error).to_be_in_viewport()  # seen on the phone without scrolling
    expect(page.get_by_label("手机号或用户名")).to_have_value(typed)
    expect(page.get_by_label("密码", exact=True)).to_have_value("")
    expect(page.locator("form[action$='/logout']")).to_have_count(0)

    # The same form, with its fresh CSRF token, now logs in.
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="您好，李红梅")).to_be_visible()


def test_login_helper_and_csrf_refusal(page, member, login):
    """The real form refuses a post without a valid CSRF token (CSRF is on in the live server)."""
    page.goto("/login")
    page.get_by_label("手机号或用户名").fill(member.phone)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.locator("input[name=csrf_token]").evaluate("input => input.value = 'forged'")
    with page.expect_response(re.compile(r"/login$")) as answer:
        page.get_by_role("button", name="登录").click()
    assert answer.value.status == 400
    page.goto("/")
    expect(page.get_by_role("heading", name="您好，李红梅")).to_have_count(0)

    login(page, member)
    expect(page.get_by_role("heading", name="您好，李红梅")).to_be_visible()

"""The waiting room on a phone (390 px), with Playwright's page.clock moving the page's time and the server's
clock (core.clock.utcnow) moved on its own: the countdown ticks with no request, a start the browser makes too
early is refused and the page counts down again from the server's seconds, at zero the page enters the quiz by
itself; large-text mode for an exam days away; without JavaScript the page says when it opens."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from core.extensions import db
from quizzes.models import Attempt
from tests.browser.conftest import PHONE, TIMEOUT_MS
from tests.quiz_helpers import ServerClock, make_bank, make_quiz

pytestmark = pytest.mark.browser
OPENS = datetime(2026, 12, 5, 1, 0, 0)  # 09:00 in Shanghai
JITTER_MS = 3000  # EXAM_START_JITTER_SECONDS' default


@pytest.fixture
def member(make_org, make_member):
    return make_member(make_org("幸福社区"), name="王建国")


def make_exam(opens_at=OPENS):
    bank, questions = make_bank()
    return make_quiz(bank, questions, title="年度党员学习测试", is_exam=True, opens_at=opens_at,
                     closes_at=opens_at + timedelta(hours=2), time_limit_seconds=1800)


def shown_seconds(page) -> int:
    """What the countdown shows, in seconds (hidden parts count as 0)."""
    values = page.evaluate("""() => Object.fromEntries(Array.from(document.querySelectorAll('[data-part]'))
        .map(e => [e.dataset.part, e.hidden ? 0 : parseInt(e.firstElementChild.textContent, 10)]))""")
    return values["days"] * 86400 + values["hours"] * 3600 + values["minutes"] * 60 + values["seconds"]


def no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    right = page.evaluate("Math.max(...Array.from(document.querySelectorAll('#waiting-room *'))"
                          ".map(e => e.getBoundingClientRect().right))")
    assert right <= 390, right


def attempts_of(member) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Attempt).where(Attempt.user_id == member.id))


def open_waiting_room(page, login, member, exam):
    login(page, member)
    page.clock.install()
    page.goto(f"/quizzes/{exam.id}")
    expect(page.locator("#waiting-room")).to_be_visible()


def test_countdown_ticks_without_requests_and_enters_the_quiz_by_itself_at_zero(
        phone_page, login, member, monkeypatch):
    server = ServerClock(monkeypatch, OPENS - timedelta(seconds=120))
    exam = make_exam()
    page = phone_page
    open_waiting_room(page, login, member, exam)
    assert 110 <= shown_seconds(page) <= 120  # (the page's clock also runs on by itself, like the real one)
    expect(page.locator("#waiting-status")).to_contain_text("到时自动进入")
    no_sideways_scroll(page)

    requests = []
    page.on("request", lambda request: requests.append(request.method + " " + request.url))
    page.clock.set_system_time(datetime(2031, 7, 1, 12, 0, 0))  # the phone's wall clock is years off: no matter
    page.clock.run_for(60_000)  # a minute in the page: the seconds come from its own monotonic clock
    assert 50 <= shown_seconds(page) <= 61  # rounded up, and the next tick may not have drawn yet
    page.clock.run_for(50_000)
    assert 0 < shown_seconds(page) <= 10
    assert requests == []  # not one request while it counts down
    assert attempts_of(member) == 0

    server.now = OPENS  # the minute on the server; the page gets there by itself a few seconds later
    page.clock.run_for(10_000 + JITTER_MS + 100)
    expect(page).to_have_url(re.compile(r"/quizzes/attempts/\d+$"))
    expect(page.locator(".quiz-question")).to_have_count(4)
    assert [r for r in requests if r.startswith("POST")] == [
        f"POST {page.url.split('/quizzes')[0]}/api/v1/quizzes/{exam.id}/attempts"]  # one start, the API's
    assert attempts_of(member) == 1


def test_a_start_the_server_refuses_as_early_resyncs_and_keeps_waiting(phone_page, login, member, monkeypatch):
    server = ServerClock(monkeypatch, OPENS - timedelta(seconds=120))
    exam = make_exam()
    page = phone_page
    open_waiting_room(page, login, member, exam)
    server.now = OPENS - timedelta(seconds=90)  # the phone's clock runs ahead of the server's by 30 s
    with page.expect_response(lambda r: r.url.endswith(f"/api/v1/quizzes/{exam.id}/attempts")) as answer:
        page.clock.run_for(120_000 + JITTER_MS + 100)
    assert answer.value.status == 409 and answer.value.json()["opens_in_seconds"] == 90
    expect(page.locator("#waiting-status")).to_contain_text("已按服务器时间重新计时")
    assert 80 <= shown_seconds(page) <= 90  # the server's seconds, not the phone's zero
    assert re.search(rf"/quizzes/{exam.id}$", page.url) and attempts_of(member) == 0

    server.now = OPENS
    page.clock.run_for(90_000 + JITTER_MS + 100)
    expect(page).to_have_url(re.compile(r"/quizzes/attempts/\d+$"))
    assert attempts_of(member) == 1


def test_large_text_mode_for_an_exam_days_away(phone_page, login, member, monkeypatch):
    ServerClock(monkeypatch, OPENS - timedelta(days=2, hours=3, minutes=4, seconds=5))
    exam = make_exam()
    member.large_text = True
    db.session.commit()
    page = phone_page
    open_waiting_room(page, login, member, exam)
    expect(page.locator("body.large-text")).to_have_count(1)
    page.wait_for_function("parseFloat(getComputedStyle(document.documentElement).fontSize) === 20")
    expect(page.locator('[data-part="days"]')).to_have_text("2 天")
    expect(page.locator('[data-part="hours"]')).to_have_text("03 小时")
    page.clock.run_for(2_000)
    expect(page.locator('[data-part="minutes"]')).to_have_text(re.compile(r"^0[34] 分钟$"))
    assert 2 * 86400 + 3 * 3600 + 3 * 60 + 50 <= shown_seconds(page) <= 2 * 86400 + 3 * 3600 + 4 * 60 + 3
    expect(page.locator("#quiz-rules")).to_contain_text("2026-12-05 09:00")
    no_sideways_scroll(page)
    page.screenshot(path="/tmp/waiting-room-large-text-390.png", full_page=True)


def test_without_javascript_the_page_says_when_it_opens(new_context, live_server, login, member, monkeypatch):
    ServerClock(monkeypatch, OPENS - timedelta(minutes=10))
    exam = make_exam()
    context = new_context(base_url=live_server.url, java_script_enabled=False, **PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    login(page, member)
    page.goto(f"/quizzes/{exam.id}")
    expect(page.locator('[data-part="minutes"]')).to_have_text("10 分钟")
    expect(page.locator("#waiting-status")).to_contain_text("09:00 开始")
    expect(page.get_by_role("link", name="到时请刷新本页")).to_have_attribute("href", f"/quizzes/{exam.id}")
    no_sideways_scroll(page)

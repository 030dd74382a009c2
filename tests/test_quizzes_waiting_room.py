"""The waiting room of a quiz with an opening time: the page counts down from the server's clock, and the server
refuses any start before ``opens_at`` (form: a flash and back to the waiting room; API: 409 with the seconds
left), creating nothing; from the opening on, the start works."""
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.extensions import db
from quizzes.models import Attempt, AttemptAnswer
from tests.quiz_helpers import ServerClock, counted_request, make_bank, make_quiz

T0 = datetime(2026, 12, 5, 0, 58, 30)  # 08:58:30 in Shanghai
OPENS = datetime(2026, 12, 5, 1, 0, 0)  # 09:00


@pytest.fixture
def server(monkeypatch):
    """The server's clock, at T0 until a test moves it (``server.now = ...``)."""
    return ServerClock(monkeypatch, T0)


@pytest.fixture
def member(grid):
    return grid["members"]["R-1-1"][0]


@pytest.fixture
def exam(app):
    bank, questions = make_bank()
    return make_quiz(bank, questions, title="年度党员学习测试", is_exam=True, opens_at=OPENS,
                     closes_at=OPENS + timedelta(hours=2), time_limit_seconds=1800)


def countdown(html: str) -> dict:
    """{part: (shown, number)} of the waiting room's countdown as the server rendered it."""
    found = re.findall(r'data-part="(\w+)"( hidden)?><b>(\d+)</b>', html)
    return {part: (not hidden, int(number)) for part, hidden, number in found}


def attempts() -> int:
    return db.session.scalar(select(func.count()).select_from(Attempt))


def test_the_page_counts_down_from_the_server_clock(app, client, auth, member, exam, server):
    auth.login(member)
    html = client.get(f"/quizzes/{exam.id}").get_data(as_text=True)
    assert 'id="waiting-room"' in html and 'data-seconds="90"' in html
    assert countdown(html) == {"days": (False, 0), "hours": (False, 0), "minutes": (True, 1), "seconds": (True, 30)}
    assert "年度党员学习测试" in html and "题目数量：4" in html and "限时：30 分钟" in html  # the title and rules
    assert "2026-12-05 09:00" in html  # when it opens, in Shanghai time, also without JavaScript
    assert "js/waiting-room.js" in html and 'data-jitter="3"' in html
    assert f'action="/quizzes/{exam.id}/start"' not in html  # nothing to press before the opening

    server.now = T0 + timedelta(seconds=59, milliseconds=400)  # rounded up: 0.6 s left is 1 s, never 0
    html = client.get(f"/quizzes/{exam.id}").get_data(as_text=True)
    assert 'data-seconds="31"' in html and countdown(html)["seconds"] == (True, 31)

    server.now = OPENS
    html = client.get(f"/quizzes/{exam.id}").get_data(as_text=True)
    assert 'id="waiting-room"' not in html and f'action="/quizzes/{exam.id}/start"' in html


def test_a_quiz_days_away_shows_days_and_hours(app, client, auth, member, exam, server):
    server.now = OPENS - timedelta(days=2, hours=3, minutes=4, seconds=5)
    auth.login(member)
    html = client.get(f"/quizzes/{exam.id}").get_data(as_text=True)
    assert countdown(html) == {"days": (True, 2), "hours": (True, 3), "minutes": (True, 4), "seconds": (True, 5)}
    assert f'data-seconds="{2 * 86400 + 3 * 3600 + 4 * 60 + 5}"' in html
    assert f'href="/quizzes/{exam.id}"' in html  # without JavaScript: a reload link


def test_a_form_start_before_the_opening_is_refused_with_the_seconds_left(app, client, auth, member, exam, server):
    auth.login(member)
    refused = client.post(f"/quizzes/{exam.id}/start")
    assert refused.status_code == 302 and refused.headers["Location"].endswith(f"/quizzes/{exam.id}")
    page = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "测验尚未开始，还有 90 秒" in page and 'id="waiting-room"' in page
    server.now = OPENS - timedelta(milliseconds=300)
    late = client.post(f"/quizzes/{exam.id}/start", follow_redirects=True).get_data(as_text=True)
    assert "测验尚未开始，还有 1 秒" in late
    db.session.expire_all()
    assert attempts() == 0 and db.session.scalar(select(func.count()).select_from(AttemptAnswer)) == 0

    server.now = OPENS  # at the minute: the start works
    started = client.post(f"/quizzes/{exam.id}/start")
    assert re.search(r"/quizzes/attempts/\d+$", started.headers["Location"])
    db.session.expire_all()
    assert attempts() == 1


def test_api_refuses_an_early_start_with_409_and_the_seconds(app, client, auth, member, exam, server):
    headers = auth.token(member)
    quiz = client.get(f"/api/v1/quizzes/{exam.id}", headers=headers).get_json()
    assert quiz["opens_in_seconds"] == 90
    early = client.post(f"/api/v1/quizzes/{exam.id}/attempts", headers=headers)
    assert early.status_code == 409
    assert early.get_json() == {"opens_in_seconds": 90, "error": {"code": "not_open_yet",
                                                                   "message": "测验尚未开始，还有 90 秒"}}
    db.session.expire_all()
    assert attempts() == 0

    server.now = OPENS + timedelta(seconds=2)
    assert client.get(f"/api/v1/quizzes/{exam.id}", headers=headers).get_json()["opens_in_seconds"] == 0
    started = client.post(f"/api/v1/quizzes/{exam.id}/attempts", headers=headers)
    assert started.status_code == 201 and len(started.get_json()["questions"]) == 4
    listed = client.get("/api/v1/quizzes", headers=headers).get_json()["items"]
    assert [q["opens_in_seconds"] for q in listed if q["id"] == exam.id] == [0]


def test_other_refusals_keep_their_own_code(app, client, auth, member, exam, server):
    """Only a start before the opening says not_open_yet: a closed quiz answers a plain conflict."""
    headers = auth.token(member)
    server.now = exam.closes_at + timedelta(seconds=1)
    closed = client.post(f"/api/v1/quizzes/{exam.id}/attempts", headers=headers)
    assert closed.status_code == 409 and closed.get_json() == {"error": {"code": "conflict", "message": "测验已经结束"}}


def test_a_quiz_without_an_opening_time_has_no_waiting_room(app, client, auth, member, server):
    bank, questions = make_bank()
    quiz = make_quiz(bank, questions)
    headers = auth.token(member)
    assert client.get(f"/api/v1/quizzes/{quiz.id}", headers=headers).get_json()["opens_in_seconds"] is None
    auth.login(member)
    html = client.get(f"/quizzes/{quiz.id}").get_data(as_text=True)
    assert 'id="waiting-room"' not in html and f'action="/quizzes/{quiz.id}/start"' in html


def test_the_jitter_is_a_setting(app, client, auth, member, exam, server):
    app.config["EXAM_START_JITTER_SECONDS"] = 0
    auth.login(member)
    assert 'data-jitter="0"' in client.get(f"/quizzes/{exam.id}").get_data(as_text=True)


def test_in_english(app, client, auth, member, exam, server):
    headers = {**auth.token(member), "Accept-Language": "en"}
    early = client.post(f"/api/v1/quizzes/{exam.id}/attempts", headers=headers).get_json()
    assert early["error"]["message"] == "The quiz has not opened yet: 90 seconds to go"
    server.now = OPENS - timedelta(seconds=1)
    early = client.post(f"/api/v1/quizzes/{exam.id}/attempts", headers=headers).get_json()
    assert early["error"]["message"] == "The quiz has not opened yet: 1 second to go"
    auth.login(member)
    html = client.get(f"/quizzes/{exam.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Opens in" in html and "Keep this page open" in html and "距离开始" not in html


def test_the_waiting_room_prepares_the_draw_plan_for_the_first_starts(app, client, auth, grid, member, exam,
                                                                      server):
    """Members waiting before the minute have the quiz's draw plan built, so the first start at the opening sends
    only the four statements of a warm start (no read of the bank's questions)."""
    headers = auth.token(member)
    auth.login(grid["members"]["R-1-1"][1])  # another member, waiting on the page
    assert 'id="waiting-room"' in client.get(f"/quizzes/{exam.id}").get_data(as_text=True)
    auth.logout()
    server.now = OPENS
    attempt, statements = counted_request(client, "POST", f"/api/v1/quizzes/{exam.id}/attempts", headers)
    kinds = [s.split()[0].upper() for s in statements]
    assert kinds == ["SELECT", "SELECT", "INSERT", "INSERT"], "\n".join(s[:100] for s in statements)
    assert len(attempt["questions"]) == 4

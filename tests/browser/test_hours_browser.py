"""The study tracker in a real browser, with Playwright's page.clock moving the page's timers and the
server's clock (core.clock.utcnow) moved alongside: a member reading a text lecture for ten minutes has
ten minutes; a hidden page earns nothing; a video seeked forward earns only the watched part."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from core import clock, storage
from core.extensions import db
from core.permissions import Role
from courses import media, services
from courses.models import Audience, LectureKind
from learning.models import HourEntry, LectureProgress, StudySession

pytestmark = pytest.mark.browser
INTERVAL_MS = 30_000


class ServerClock:
    def __init__(self, monkeypatch):
        self.now = datetime(2025, 4, 1, 2, 0, 0)
        monkeypatch.setattr(clock, "utcnow", lambda: self.now)

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def course(make_org, make_user, make_member, tmp_path):
    community = make_org("幸福社区", code="XF")
    trainer = make_user(Role.TRAINER, org=community, name="王教员")
    member = make_member(community, name="赵建国")
    course = services.create_course(trainer, title="党章学习", summary="逐章学习党章。", category="党章党规",
                                    audience=Audience.MEMBERS, credit_hours=1)
    text = services.add_lecture(course, trainer, kind=LectureKind.TEXT, title="第一讲 总纲",
                                body_markdown="中国共产党是中国工人阶级的先锋队。" * 400)
    video = services.add_lecture(course, trainer, kind=LectureKind.VIDEO, title="第二讲 视频")
    source = media.make_demo_video(tmp_path / "v.mp4", 8, "党章")
    stored = storage.save_upload(source, allowed={"mp4", "webm"})
    services.set_video(video, trainer, key=stored.key, mime=stored.mime, size=stored.size,
                       duration_seconds=media.probe_video(stored.path).duration_seconds)
    services.publish(course, trainer)
    db.session.commit()
    return {"member": member, "text": text, "video": video, "course": course}


def beat(page, server: ServerClock, seconds: int = 30, activity: bool = True):
    """Let ``seconds`` pass in the page and on the server; wait for the heartbeat's answer."""
    if activity:
        page.mouse.move(200 + seconds % 7, 300)
    server.advance(seconds)
    with page.expect_response(lambda r: r.url.endswith("/heartbeat")) as info:
        page.clock.run_for(seconds * 1000)
    return info.value.json()


def earned(member) -> int:
    db.session.expire_all()
    return int(db.session.scalar(select(func.coalesce(func.sum(HourEntry.seconds), 0))
                                 .where(HourEntry.user_id == member.id)))


def open_lecture(page, login, course, lecture, server):
    login(page, course["member"])
    page.clock.install()
    with page.expect_response(lambda r: r.url.endswith("/study-sessions")):
        page.goto(f"/lectures/{lecture.id}")
    expect(page.locator("#study-tracker")).to_be_visible()


def test_ten_minutes_of_reading_show_as_ten_minutes_and_a_hidden_page_earns_nothing(
        page, login, course, monkeypatch):
    server = ServerClock(monkeypatch)
    open_lecture(page, login, course, course["text"], server)
    for _ in range(20):
        assert beat(page, server)["status"] == "credited"
    assert earned(course["member"]) == 600
    expect(page.locator("#study-tracker-minutes")).to_have_text("10")

    page.evaluate("""() => { Object.defineProperty(document, 'visibilityState', {get: () => 'hidden',
                                                                                  configurable: true});
                            document.dispatchEvent(new Event('visibilitychange')); }""")
    page.wait_for_timeout(200)
    for _ in range(10):
        assert beat(page, server, activity=False)["status"] == "hidden"
    assert earned(course["member"]) == 600

    page.goto("/hours?year=2025")
    expect(page.locator("#hours-earned")).to_contain_text("10分00秒")


def test_idle_reader_is_asked_whether_still_studying_before_time_stops(page, login, course, monkeypatch):
    server = ServerClock(monkeypatch)
    open_lecture(page, login, course, course["text"], server)
    for _ in range(3):  # 90 s without input: still counting, and the page asks
        assert beat(page, server, activity=False)["credited_seconds"] == 30
    expect(page.locator("#study-tracker-away")).to_be_visible()
    expect(page.locator("#study-tracker-away-text")).to_contain_text("还在学习吗")
    for _ in range(5):  # four minutes in all: the two-minute presence timeout has passed
        beat(page, server, activity=False)
    expect(page.locator("#study-tracker-away-text")).to_contain_text("已暂停计时")
    expect(page.locator("#study-tracker-status")).to_contain_text("已暂停计时")
    assert earned(course["member"]) == 120
    page.keyboard.press("ArrowDown")  # any input answers it (so does the 继续学习 button)
    expect(page.locator("#study-tracker-away")).to_be_hidden()
    assert beat(page, server, activity=False)["credited_seconds"] == 30
    assert earned(course["member"]) == 150


def test_lecture_page_says_what_counted_and_done_when_complete(page, login, course, monkeypatch):
    """The page shows the minutes credited against the lecture's cap, and 已完成 once the server says so."""
    server = ServerClock(monkeypatch)
    course["text"].reading_seconds = 120
    db.session.commit()
    open_lecture(page, login, course, course["text"], server)
    expect(page.locator("#study-tracker-cap")).to_have_text("2")
    for _ in range(4):
        answer = beat(page, server)
    assert answer["completed"] is True
    expect(page.locator("#study-tracker-minutes")).to_have_text("2")
    expect(page.locator("#study-tracker-done")).to_be_visible()
    answer = beat(page, server)
    assert answer["status"] == "capped"
    expect(page.locator("#study-tracker-status")).to_have_text("已完成")


def test_video_seeked_forward_counts_only_the_watched_part(page, login, course, monkeypatch):
    server = ServerClock(monkeypatch)
    open_lecture(page, login, course, course["video"], server)
    video = page.locator("video")
    page.wait_for_function("v => v.readyState >= 1", arg=video.element_handle())
    video.click()
    video.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function("v => v.currentTime > 1.5", arg=video.element_handle(), polling=100)
    server.advance(2)
    with page.expect_response(lambda r: r.url.endswith("/heartbeat")):
        video.evaluate("v => { v.currentTime = 6; }")  # the seek closes the watched stretch
    page.wait_for_function("v => v.ended", arg=video.element_handle(), polling=100)
    beat(page, server, seconds=30)
    db.session.expire_all()
    session = db.session.scalar(select(StudySession).where(StudySession.lecture_id == course["video"].id))
    watched = json.loads(session.watched)
    covered = sum(b - a for a, b in watched)
    assert 3 <= covered <= 5, watched  # about [0, 2] and [6, 8]: the skipped middle is not watched
    assert not any(a < 4 < b for a, b in watched)
    assert db.session.scalar(select(LectureProgress.completed_at)
                             .where(LectureProgress.lecture_id == course["video"].id)) is None

"""Shared helpers of the hours engine's tests: a course with a text and a video lecture, a movable clock,
and a learner that drives the heartbeat API like the lecture page's script does."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from core import clock
from core.extensions import db
from courses.models import Course, CourseStatus, CreditMode, Lecture, LectureKind

T0 = datetime(2025, 3, 3, 1, 0, 0)  # 09:00 in Shanghai


class Clock:
    """The server's clock, moved by the test (``core.clock.utcnow`` is patched to read it)."""

    def __init__(self, monkeypatch, start: datetime = T0):
        self.now = start
        monkeypatch.setattr(clock, "utcnow", lambda: self.now)

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def make_course(title="党章学习", *, reading_seconds=3600, video_seconds=600, credit_mode=CreditMode.TIME,
                credit_hours=None) -> tuple[Course, Lecture, Lecture]:
    course = Course(title=title, status=CourseStatus.PUBLISHED, credit_mode=credit_mode, credit_hours=credit_hours,
                    published_at=T0 - timedelta(days=30))
    db.session.add(course)
    db.session.flush()
    text = Lecture(course_id=course.id, position=1, title="第一讲 总纲", kind=LectureKind.TEXT,
                   body_markdown="中国共产党是中国工人阶级的先锋队。" * 50, reading_seconds=reading_seconds)
    video = Lecture(course_id=course.id, position=2, title="第二讲 视频", kind=LectureKind.VIDEO,
                    duration_seconds=video_seconds, media_key="demo/x.mp4", media_mime="video/mp4")
    db.session.add_all([text, video])
    db.session.commit()
    return course, text, video


def csrf_token(client) -> str:
    import re

    html = client.get("/").get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


class Learner:
    """One open lecture page (a tab or a device), speaking the heartbeat protocol over ``client``."""

    def __init__(self, client, lecture: Lecture, headers: dict | None = None):
        self.client, self.lecture_id, self.headers = client, lecture.id, dict(headers or {})
        if "Authorization" not in self.headers:  # a browser page: session cookie + CSRF header
            self.headers["X-CSRFToken"] = csrf_token(client)
        response = client.post(f"/api/v1/lectures/{lecture.id}/study-sessions", json={}, headers=self.headers)
        assert response.status_code == 201, response.get_json()
        self.session = response.get_json()["session"]
        self.seq = 0
        self.position = 0.0

    def beat(self, *, seq: int | None = None, visible=True, idle=0, playing=False, position=None,
             segment_start=None, rate=1.0, **extra):
        if seq is None:
            self.seq += 1
            seq = self.seq
        body = {"session": self.session, "seq": seq, "visible": visible, "idle_seconds": idle,
                "playing": playing, "rate": rate, **extra}
        if position is not None:
            body["position"] = position
            body["segment_start"] = self.position if segment_start is None else segment_start
            self.position = position
        response = self.client.post(f"/api/v1/lectures/{self.lecture_id}/heartbeat", json=body)
        assert response.status_code == 200, response.get_json()
        return response.get_json()


def ledger_seconds(user) -> int:
    from sqlalchemy import func, select

    from learning.models import HourEntry

    db.session.expire_all()
    return int(db.session.scalar(select(func.coalesce(func.sum(HourEntry.seconds), 0))
                                 .where(HourEntry.user_id == user.id)) or 0)


@pytest.fixture
def setup(app, grid, auth, client, monkeypatch):
    """A member of R-1-1 logged in, a course with a text and a video lecture, and a movable clock:
    ``(clock, member, text, video, client)``. Import it into a test module to use it."""
    clock = Clock(monkeypatch)
    _, text, video = make_course()
    member = grid["members"]["R-1-1"][0]
    auth.login(member)
    return clock, member, text, video, client

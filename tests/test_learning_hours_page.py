"""What the member reads at /hours (issue 12): one row per lecture per day with its total, paged, newest first;
the heartbeat-by-heartbeat trail stays with organizers (/hours/members/{id})."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from core import clock
from core.extensions import db
from learning.ledger import record_entry
from learning.models import HourSource
from tests.learning_fixtures import make_course

DAY = datetime(2025, 3, 3, 1, 0)  # 09:00 in Shanghai


def heartbeats(member, lecture, start: datetime, count: int, session: int) -> None:
    for i in range(count):
        record_entry(user_id=member.id, seconds=30, source=HourSource.ONLINE, source_ref=f"session:{session}:seq:{i}",
                     occurred_at=start + timedelta(seconds=30 * i), course_id=lecture.course_id,
                     lecture_id=lecture.id)


def test_hours_page_shows_one_row_per_lecture_per_day_paged_newest_first(app, grid, auth, client, monkeypatch):
    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2025, 12, 1))
    _, text, video = make_course()
    member = grid["members"]["R-1-1"][0]
    heartbeats(member, text, DAY, 10, 1)  # five minutes: ten heartbeats
    heartbeats(member, video, DAY + timedelta(hours=2), 4, 2)
    heartbeats(member, text, DAY + timedelta(days=1), 2, 3)
    for day in range(2, 30):  # four weeks more, one lecture a day
        heartbeats(member, text, DAY + timedelta(days=day), 1, 10 + day)
    db.session.commit()
    auth.login(member)
    page = client.get("/hours?year=2025").get_data(as_text=True)
    rows = re.findall(r'<tr data-day="([\d-]+)">(.*?)</tr>', page, re.S)
    assert len(rows) == 20  # a page
    assert rows[0][0] == "2025-04-01" and rows[-1][0] == "2025-03-13"  # newest first
    last = client.get("/hours?year=2025&page=2").get_data(as_text=True)
    rows = re.findall(r'<tr data-day="([\d-]+)">(.*?)</tr>', last, re.S)
    first_day = [cells for day, cells in rows if day == "2025-03-03"]
    assert len(first_day) == 2  # the text lecture and the video lecture, not 14 heartbeats
    assert "5分00秒" in "".join(c for c in first_day if text.title in c)
    assert "2分00秒" in "".join(c for c in first_day if video.title in c)
    assert "0分30秒" not in "".join(first_day)


def test_organizer_sees_the_raw_trail(app, grid, auth, client, monkeypatch):
    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2025, 12, 1))
    _, text, _ = make_course()
    member = grid["members"]["R-1-1"][0]
    heartbeats(member, text, DAY, 10, 1)
    db.session.commit()
    auth.login(grid["street_organizer"])
    page = client.get(f"/hours/members/{member.id}?year=2025").get_data(as_text=True)
    assert page.count("session:1:seq:") == 10


def test_english_says_study_hours_and_counts_minutes_right(app, grid, auth, client, monkeypatch):
    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2025, 12, 1))
    course, text, _ = make_course(reading_seconds=60)
    auth.login(grid["members"]["R-1-1"][0])
    english = {"Accept-Language": "en"}
    page = client.get("/hours?year=2025", headers=english).get_data(as_text=True)
    assert "My study hours" in page and "My hours" not in page
    syllabus = client.get(f"/courses/{course.id}", headers=english).get_data(as_text=True)
    assert "About 1 minute" in syllabus and "About 1 minutes" not in syllabus

"""Manual hours (finding 5): nobody credits themselves; a large entry waits for a second organizer or an
admin; the member's record shows who recorded and who approved."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from core.extensions import db
from learning import offline
from learning.models import CheckIn, ManualHourRequest
from tests.learning_fixtures import T0, Clock, ledger_seconds, make_course

UNIT = 45 * 60


def enter(client, member, hours: str, reason="县委党校春季培训班"):
    return client.post(f"/hours/members/{member.id}", data={"hours": hours, "occurred_on": "2025-01-10",
                                                             "reason": reason}, follow_redirects=True)


def test_an_organizer_cannot_credit_themselves(app, grid, auth, client):
    organizer = grid["organizer_R-1-1"]
    auth.login(organizer)
    response = client.post(f"/hours/members/{organizer.id}", data={"hours": "200", "occurred_on": "2025-01-10",
                                                                    "reason": "自己"})
    assert response.status_code == 403 and "不能为自己录入学时" in response.get_data(as_text=True)
    assert ledger_seconds(organizer) == 0
    admin = grid["admin"]
    auth.logout()
    auth.login(admin)
    assert client.post(f"/hours/members/{admin.id}", data={"hours": "2", "occurred_on": "2025-01-10",
                                                           "reason": "自己"}).status_code == 403
    assert ledger_seconds(admin) == 0


def test_an_organizer_cannot_mark_their_own_attendance(app, grid, auth, client, monkeypatch):
    Clock(monkeypatch)
    organizer = grid["organizer_R-1-1"]
    course, _, _ = make_course("广场党课")
    item = offline.schedule_class(course=course, title="广场党课", place="广场", starts_at=T0,
                                  ends_at=T0 + timedelta(hours=2), org=grid["communities"][0], by=organizer)
    db.session.commit()
    auth.login(organizer)
    page = client.post(f"/offline/{item.id}/roster/{organizer.id}", follow_redirects=True).get_data(as_text=True)
    assert "不能为自己登记出勤" in page
    assert db.session.scalar(select(CheckIn.id)) is None and ledger_seconds(organizer) == 0


def test_a_large_entry_waits_for_a_second_organizer_and_shows_both_names(app, grid, auth, client):
    member = grid["members"]["R-1-1"][0]
    first, second = grid["organizer_R-1-1"], grid["street_organizer"]
    auth.login(first)
    page = enter(client, member, "8").get_data(as_text=True)  # at the threshold: credited at once
    assert "已录入学时" in page and ledger_seconds(member) == 8 * UNIT
    page = enter(client, member, "20", "上级调训").get_data(as_text=True)
    assert "待另一名组织员或管理员审批" in page and ledger_seconds(member) == 8 * UNIT
    request = db.session.scalar(select(ManualHourRequest))
    assert client.post(f"/hours/members/requests/{request.id}/approve", follow_redirects=True).status_code == 200
    db.session.expire_all()
    assert request.status == "pending" and ledger_seconds(member) == 8 * UNIT  # not by who asked
    auth.logout()
    auth.login(grid["organizer_R-2-1"])  # another street: not in scope
    assert client.post(f"/hours/members/requests/{request.id}/approve").status_code == 404
    auth.logout()
    auth.login(second)
    listing = client.get("/hours/members/approvals").get_data(as_text=True)
    assert member.name in listing and "上级调训" in listing
    client.post(f"/hours/members/requests/{request.id}/approve")
    assert ledger_seconds(member) == 28 * UNIT
    assert client.post(f"/hours/members/requests/{request.id}/approve", follow_redirects=True) \
        .get_data(as_text=True).count("已审批过") == 1  # once only
    assert ledger_seconds(member) == 28 * UNIT
    record = client.get(f"/hours/members/{member.id}?year=2025").get_data(as_text=True)
    people = re.findall(r'class="small text-muted manual-entry-people">([^<]*)<', record)
    assert f"录入：{first.name} · 审批：{second.name}" in people
    assert f"录入：{first.name}" in people


def test_a_rejected_entry_credits_nothing(app, grid, auth, client):
    member = grid["members"]["R-1-1"][0]
    auth.login(grid["organizer_R-1-1"])
    enter(client, member, "30")
    auth.logout()
    auth.login(grid["admin"])
    request = db.session.scalar(select(ManualHourRequest))
    client.post(f"/hours/members/requests/{request.id}/reject")
    db.session.expire_all()
    assert request.status == "rejected" and request.decided_by_id == grid["admin"].id
    assert ledger_seconds(member) == 0

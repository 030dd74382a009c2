"""Offline check-in/out, organizers' roster and manual entries with reversal and audit, the hours API,
course completion with fixed credit, and certificates anyone can verify."""
from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from accounts.models import MemberCategory
from core.extensions import db
from courses.models import CreditMode
from learning import offline
from learning.models import Certificate, CheckIn, HourAudit, HourEntry, HourSource
from tests.learning_fixtures import T0, Clock, Learner, ledger_seconds, make_course

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture
def square_class(app, grid, monkeypatch):
    clock = Clock(monkeypatch)
    course, _, _ = make_course("广场党课")
    item = offline.schedule_class(course=course, title="社区广场党课", place="幸福社区广场",
                                  starts_at=T0 + timedelta(minutes=10), ends_at=T0 + timedelta(minutes=100),
                                  org=grid["communities"][0], by=grid["trainer"])
    db.session.commit()
    return clock, item


def test_member_checks_in_with_the_screen_code_once(square_class, grid, auth, client):
    clock, item = square_class
    auth.login(grid["trainer"])
    clock.advance(15 * 60)
    screen = client.get(f"/offline/{item.id}/screen").get_data(as_text=True)
    code, _ = offline.current_code(item)
    assert "<svg" in screen and code in screen
    auth.logout()
    member = grid["members"]["R-1-1"][0]
    auth.login(member)
    clock.advance(20)  # the screen may have moved on: the previous code still works
    response = client.post(f"/offline/{item.id}/check-in", data={"code": code}, follow_redirects=True)
    assert "签到成功" in response.get_data(as_text=True)
    again = client.post("/check-in", data={"code": offline.current_code(item)[0]}, follow_redirects=True)
    assert "不重复计算" in again.get_data(as_text=True)
    assert ledger_seconds(member) == 90 * 60  # the class's credit, once
    clock.advance(120)  # an old code is refused
    refused = client.post(f"/offline/{item.id}/check-in", data={"code": code}, follow_redirects=True)
    assert "签到码不正确" in refused.get_data(as_text=True)


def test_check_in_outside_the_window_is_refused(square_class, grid, auth, client):
    clock, item = square_class
    clock.advance(3 * 3600)
    auth.login(grid["members"]["R-1-1"][0])
    response = client.post(f"/offline/{item.id}/check-in", data={"code": offline.current_code(item)[0]},
                           follow_redirects=True)
    assert "不在签到时间内" in response.get_data(as_text=True)
    assert db.session.scalar(select(CheckIn.id)) is None


def test_check_out_earns_the_time_between_capped_by_the_class(square_class, grid, auth, client):
    clock, item = square_class
    item.checkout_required = True
    db.session.commit()
    member = grid["members"]["R-1-1"][0]
    auth.login(member)
    clock.advance(5 * 60)  # five minutes before the start: counted from the start
    client.post(f"/offline/{item.id}/check-in", data={"code": offline.current_code(item)[0]})
    assert ledger_seconds(member) == 0
    clock.advance(50 * 60)
    response = client.post(f"/offline/{item.id}/check-in", data={"code": offline.current_code(item)[0]},
                           follow_redirects=True)
    assert "签退成功" in response.get_data(as_text=True)
    assert ledger_seconds(member) == 45 * 60


def test_organizer_marks_attendance_from_their_roster_only(square_class, grid, auth, client):
    _, item = square_class
    organizer = grid["organizer_R-1-1"]
    own, other = grid["members"]["R-1-1"][0], grid["members"]["R-2-1"][0]
    auth.login(organizer)
    roster = client.get(f"/offline/{item.id}/roster").get_data(as_text=True)
    assert own.name in roster and other.name not in roster
    assert client.post(f"/offline/{item.id}/roster/{own.id}").status_code == 302
    assert client.post(f"/offline/{item.id}/roster/{other.id}").status_code == 404
    client.post(f"/offline/{item.id}/roster/{own.id}")  # twice: once
    assert ledger_seconds(own) == 90 * 60 and ledger_seconds(other) == 0
    entry = db.session.scalar(select(HourEntry).where(HourEntry.user_id == own.id))
    assert entry.recorded_by_id == organizer.id and entry.source == HourSource.OFFLINE
    assert db.session.scalar(select(HourAudit.action).where(HourAudit.member_id == own.id)) == "attendance"


def test_manual_entry_with_certificate_then_reversal_is_audited(app, grid, auth, client):
    organizer = grid["organizer_R-1-1"]
    member = grid["members"]["R-1-1"][0]
    auth.login(organizer)
    response = client.post(f"/hours/members/{member.id}", data={
        "hours": "4", "occurred_on": "2025-01-10", "reason": "县委党校春季培训班",
        "certificate": (io.BytesIO(PNG), "证书.png")}, content_type="multipart/form-data", follow_redirects=True)
    assert "已录入学时" in response.get_data(as_text=True)
    assert ledger_seconds(member) == 4 * 45 * 60
    entry = db.session.scalar(select(HourEntry).where(HourEntry.user_id == member.id))
    audit = db.session.scalar(select(HourAudit).where(HourAudit.entry_id == entry.id))
    assert audit.actor_id == organizer.id and audit.attachment_key
    assert client.get(f"/hours/members/{member.id}/audit/{audit.id}/attachment").status_code == 200

    assert client.post(f"/hours/members/{member.id}/entries/{entry.id}/reverse", data={"reason": ""},
                       follow_redirects=True).status_code == 200
    assert ledger_seconds(member) == 4 * 45 * 60  # no reason, no reversal
    client.post(f"/hours/members/{member.id}/entries/{entry.id}/reverse", data={"reason": "重复录入"})
    client.post(f"/hours/members/{member.id}/entries/{entry.id}/reverse", data={"reason": "再次冲销"})
    assert ledger_seconds(member) == 0
    rows = db.session.scalars(select(HourEntry).where(HourEntry.user_id == member.id)
                              .order_by(HourEntry.id)).all()
    assert [r.seconds for r in rows] == [4 * 2700, -4 * 2700]  # never edited: a negative entry refers to it
    assert rows[1].source_ref == f"reversal:{entry.id}"
    page = client.get(f"/hours/members/{member.id}?year=2025").get_data(as_text=True)
    assert "重复录入" in page and "县委党校春季培训班" in page and organizer.name in page
    # another community's organizer cannot touch this member
    auth.logout()
    auth.login(grid["organizer_R-2-1"])
    assert client.get(f"/hours/members/{member.id}").status_code == 404


def test_manual_entry_refuses_an_executable_as_certificate(app, grid, auth, client):
    member = grid["members"]["R-1-1"][0]
    auth.login(grid["organizer_R-1-1"])
    response = client.post(f"/hours/members/{member.id}", data={
        "hours": "2", "occurred_on": "2025-01-10", "reason": "培训",
        "certificate": (io.BytesIO(b"MZ\x90\x00not a pdf"), "cert.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 200
    assert ledger_seconds(member) == 0


def test_me_hours_api_numbers(committing_app, app, grid, auth, client, monkeypatch, make_member):
    clock = Clock(monkeypatch)
    course, text, _ = make_course()
    secretary = make_member(grid["communities"][0], positions=["secretary"])
    auth.login(secretary)
    page = Learner(client, text)
    for _ in range(20):
        clock.advance(30)
        page.beat()
    data = client.get("/api/v1/me/hours?year=2025").get_json()
    assert data["required_seconds"] == 56 * 45 * 60
    assert data["earned_seconds"] == 600
    assert data["by_source"]["online"] == 600 and data["by_source"]["offline"] == 0
    assert data["by_month"][2] == 600  # March
    assert data["by_course"][0]["course_id"] == course.id and data["by_course"][0]["seconds"] == 600
    assert client.get("/api/v1/me/hours?year=2024").get_json()["earned_seconds"] == 0
    html = client.get("/hours?year=2025").get_data(as_text=True)
    assert "我的学时" in html and "56" in html
    home = client.get("/").get_data(as_text=True)
    assert 'id="hours-panel"' in home


def test_requirement_table_overrides_for_a_subtree(app, grid, make_member):
    from learning.hours import ensure_default_requirements, required_seconds_for
    from learning.models import HourRequirement

    ensure_default_requirements()
    member = make_member(grid["communities"][0])
    activist = make_member(grid["communities"][0], category=MemberCategory.ACTIVIST)
    assert required_seconds_for(member, 2025) == 32 * 2700
    assert required_seconds_for(activist, 2025) == 0
    db.session.add(HourRequirement(year=2025, org_id=grid["streets"][0].id, hours=Decimal(40), basis="街道党工委"))
    db.session.commit()
    assert required_seconds_for(member, 2025) == 40 * 2700
    assert required_seconds_for(member, 2024) == 32 * 2700
    app.config["MINUTES_PER_HOUR_UNIT"] = 60
    assert required_seconds_for(member, 2024) == 32 * 3600


def test_fixed_credit_course_completion_gives_credit_and_a_verifiable_certificate(committing_app, 
        app, grid, auth, client, monkeypatch):
    clock = Clock(monkeypatch)
    course, text, video = make_course("两学一做", reading_seconds=120, video_seconds=60,
                                      credit_mode=CreditMode.FIXED, credit_hours=Decimal("2"))
    member = grid["members"]["R-1-1"][0]
    auth.login(member)
    reader = Learner(client, text)
    for _ in range(5):
        clock.advance(30)
        reader.beat()
    viewer = Learner(client, video)
    for i in (1, 2):
        clock.advance(30)
        viewer.beat(playing=True, position=30 * i)
    db.session.expire_all()
    entries = db.session.scalars(select(HourEntry).where(HourEntry.user_id == member.id)).all()
    assert [(e.source, e.seconds) for e in entries] == [(HourSource.COURSE, 2 * 2700)]  # no online time on top
    certificate = db.session.scalar(select(Certificate).where(Certificate.user_id == member.id))
    page = client.get(f"/hours/certificates/{certificate.id}").get_data(as_text=True)
    assert certificate.code in page and "两学一做" in page and "<svg" in page
    auth.logout()
    public = client.get(f"/verify/{certificate.code}").get_data(as_text=True)
    assert "证书有效" in public and "两学一做" in public and member.name not in public
    assert client.get("/verify/NOSUCHCODE").status_code == 404
    assert client.get(f"/hours/certificates/{certificate.id}").status_code == 302  # login first


def test_yearly_certificate(committing_app, app, grid, auth, client, monkeypatch):
    clock = Clock(monkeypatch)
    _, text, _ = make_course()
    member = grid["members"]["R-1-1"][0]
    auth.login(member)
    page = Learner(client, text)
    for _ in range(10):
        clock.advance(30)
        page.beat()
    response = client.post("/hours/year-certificate/2025", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "年度学时证明" in html
    certificate = db.session.scalar(select(Certificate).where(Certificate.kind == "year"))
    assert certificate.seconds == 300 and certificate.code in html
    assert "证书有效" in client.get(f"/verify?code={certificate.code}").get_data(as_text=True)


def test_requirement_cli(app, runner, grid):
    result = runner.invoke(args=["hours", "requirements"])
    assert "seeded 4" in result.output and "56" in result.output
    result = runner.invoke(args=["hours", "require", "--hours", "40", "--org-code", "R-1", "--year", "2025"])
    assert result.exit_code == 0, result.output
    from learning.hours import required_seconds_for

    assert required_seconds_for(grid["members"]["R-1-1"][0], 2025) == 40 * 2700

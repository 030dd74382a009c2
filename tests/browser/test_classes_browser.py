"""A public learner on a phone finds the square's open lecture series, registers, and reads its schedule."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core import clock
from core.extensions import db
from core.permissions import Role
from classes import services
from classes.models import EnrolmentMode, Participant, ParticipantStatus

pytestmark = pytest.mark.browser
NOW = datetime(2026, 5, 6, 2, 0)  # 10:00 in Shanghai


@pytest.fixture
def lecture_series(make_org, make_user, monkeypatch):
    monkeypatch.setattr(clock, "utcnow", lambda: NOW)
    community = make_org("春晖社区", code="CH")
    organizer = make_user(Role.ORGANIZER, org=community, name="李组织")
    learner = make_user(Role.PUBLIC, name="林晓光")
    item = services.create_class(by=organizer, name="2026年春晖社区广场宣讲", class_type=services.class_types()[-1],
                                 host_org=community, starts_on=date(2026, 5, 1), ends_on=date(2026, 6, 30),
                                 enrolment_mode=EnrolmentMode.OPEN, capacity=30)
    services.publish_class(item, organizer)
    for n, title in enumerate(["微党课：身边的榜样", "红色故事会", "法律进社区"]):
        starts = datetime(2026, 5, 1, 11, 0) + timedelta(days=7 * n)  # Fridays 19:00 in Shanghai
        services.schedule_session(item, organizer, title=title, place="春晖社区文化广场", starts_at=starts,
                                  ends_at=starts + timedelta(minutes=90))
    db.session.commit()
    return {"class": item, "learner": learner}


def test_public_learner_registers_on_a_phone_and_sees_the_schedule(phone_page, login, lecture_series):
    page = phone_page
    login(page, lecture_series["learner"])
    page.goto("/classes/")
    open_list = page.locator("#open-classes")
    expect(open_list).to_contain_text("2026年春晖社区广场宣讲")
    expect(open_list).to_contain_text("名额 30，剩余 30")
    open_list.get_by_text("2026年春晖社区广场宣讲").click()

    register = page.locator("#register-button")
    expect(register).to_be_visible()
    box = register.bounding_box()
    assert box["width"] <= 390 and box["height"] >= 40  # a full-width, thumb-sized button on the phone
    register.click()

    expect(page.locator(".alert-success")).to_contain_text("报名成功")
    sessions = page.locator("#schedule li[data-session]")
    expect(sessions).to_have_count(3)
    expect(sessions.first).to_contain_text("下次课")
    expect(sessions.first).to_contain_text("红色故事会")  # the 1st session is over; the next comes first
    expect(sessions.first).to_contain_text("05-08 19:00")
    expect(sessions.last).to_contain_text("微党课：身边的榜样")
    # the past session sits under its own heading, after the ones to come
    expect(page.locator("#upcoming-sessions li[data-session]")).to_have_count(2)
    expect(page.locator("#past-sessions li[data-session]")).to_have_text([re.compile("微党课：身边的榜样")])
    expect(page.get_by_role("heading", name="已结束的课次")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the screen
    page.locator("#calendar summary").click()
    expect(page.locator("#calendar-url")).to_be_visible()
    assert page.locator("#calendar-url").input_value().endswith(".ics")  # the secret feed, to paste on the phone

    db.session.expire_all()
    participant = db.session.scalar(select(Participant))
    assert participant.user_id == lecture_series["learner"].id and participant.status == ParticipantStatus.APPROVED

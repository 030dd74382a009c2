"""Journeys (issue 17) as people see them in Chromium: graduating a class with a confirmation that works."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core import clock
from core.extensions import db
from core.permissions import Role
from learning.classes import services
from learning.classes.models import ClassCertificate, TrainingClass
from tests.classes_helpers import complete_course, make_class, make_course

pytestmark = pytest.mark.browser
DURING = datetime(2026, 3, 10, 2, 0)  # the class runs 03-02 … 03-20
AFTER = datetime(2026, 3, 25, 2, 0)


@pytest.fixture
def running_class(make_org, make_user, monkeypatch):
    now = {"at": DURING}
    monkeypatch.setattr(clock, "utcnow", lambda: now["at"])
    community = make_org("春晖社区", code="CH")
    organizer = make_user(Role.ORGANIZER, org=community, name="李组织")
    member = make_user(Role.MEMBER, org=community, name="王学员")
    item = make_class(organizer, community, starts_on=date(2026, 3, 2), ends_on=date(2026, 3, 20))
    services.add_roster_members(item, [member], organizer)
    course = make_course()
    services.add_course_item(item, course, organizer)
    services.set_graduation_rules(item, organizer, required_items=True)
    db.session.commit()
    complete_course(member, course)
    return {"class": item, "organizer": organizer, "member": member, "now": now}


def certificates() -> int:
    db.session.expire_all()
    return len(db.session.scalars(select(ClassCertificate)).all())


def test_graduation_asks_for_confirmation_and_needs_the_class_ended(page, login, running_class):
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    item = running_class["class"]
    login(page, running_class["organizer"])
    page.goto(f"/classes/{item.id}/board")
    expect(page.locator("#not-ended")).to_contain_text("2026-03-20")

    # early: a reason is needed; dismissing the dialog changes nothing
    dialogs: list[str] = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.get_by_label("提前结业原因").fill("学员外出集训")
    page.get_by_label("我已核对进度").check()
    page.locator("#graduate-form button[type=submit], #graduate-form input[type=submit]").click()
    expect(page.locator("#graduate-form")).to_be_visible()
    assert dialogs and "提前结业" in dialogs[0], dialogs
    assert certificates() == 0 and not errors, errors

    # after the class ended: confirm, and the certificate is issued
    running_class["now"]["at"] = AFTER
    page.goto(f"/classes/{item.id}/board")
    expect(page.locator("#not-ended")).to_have_count(0)
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.get_by_label("我已核对进度").check()
    page.locator("#graduate-form button[type=submit], #graduate-form input[type=submit]").click()
    expect(page.locator(".alert-success")).to_contain_text("新颁发证书 1 张")
    assert "确定结业吗" in dialogs[-1] and not errors, errors
    assert certificates() == 1
    db.session.expire_all()
    assert db.session.get(TrainingClass, item.id).early_graduation_reason is None

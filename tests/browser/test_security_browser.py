"""Under the strict Content-Security-Policy (no inline script) the pages still work: a confirm dialog asks
before deleting a lecture (static/js/site.js), and no page reports a CSP violation."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from core.permissions import Role
from tests.course_helpers import make_course

pytestmark = pytest.mark.browser


def test_a_confirm_dialog_guards_a_delete_and_nothing_breaks_the_policy(context, login, make_org, make_user):
    trainer = make_user(Role.TRAINER, org=make_org("测试区委", kind="区委", code="R"), name="教员甲")
    course = make_course(trainer, title="党章学习", lectures=2)
    page = context.new_page()
    violations = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    login(page, trainer)
    page.goto(f"/teach/courses/{course.id}")
    lectures = page.locator("li", has_text="第2讲")
    page.once("dialog", lambda dialog: dialog.dismiss())  # "no": the lecture stays
    lectures.get_by_role("button", name="删除").click()
    expect(page.get_by_text("第2讲")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    lectures.get_by_role("button", name="删除").click()
    page.wait_for_load_state("load")
    expect(page.get_by_text("第2讲", exact=True)).to_have_count(0)
    for path in ("/", "/courses/", f"/courses/{course.id}", "/login"):
        page.goto(path)
        page.wait_for_load_state("load")
    assert violations == []

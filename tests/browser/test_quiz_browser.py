"""A member on a phone takes a timed quiz: answers autosave, a reload mid-way keeps them, the timer
counts down from the server's deadline, and submitting shows the score and the explanations."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from core.extensions import db
from quizzes.models import Attempt, QuestionKind, ReviewPolicy
from tests.quiz_helpers import make_bank, make_quiz

pytestmark = pytest.mark.browser


@pytest.fixture
def member(make_org, make_member):
    return make_member(make_org("幸福社区"), name="王建国")


def test_member_takes_a_quiz_reloads_midway_and_submits(phone_page, live_server, member, login):
    bank, questions = make_bank()
    quiz = make_quiz(bank, questions, title="党章小测", time_limit_seconds=600,
                     review_policy=ReviewPolicy.IMMEDIATELY)
    page = phone_page
    login(page, member)
    page.goto(f"/quizzes/{quiz.id}")
    page.get_by_role("button", name="开始作答").click()
    expect(page).to_have_url(re.compile(r"/quizzes/attempts/\d+$"))
    expect(page.locator("#quiz-timer")).to_have_text(re.compile(r"^(10:00|09:5\d)$"))

    db.session.expire_all()
    attempt = db.session.scalar(db.select(Attempt).where(Attempt.user_id == member.id))
    by_position = {a.position: a.question for a in attempt.answers}
    single_pos = next(p for p, q in by_position.items() if q.kind == QuestionKind.SINGLE)
    blank_pos = next(p for p, q in by_position.items() if q.kind == QuestionKind.BLANK)

    single = page.locator(f'.quiz-question[data-position="{single_pos}"]')
    single.get_by_text("1921年").click()
    expect(page.locator("#quiz-save-state")).to_have_text("已保存")
    blank = page.locator(f'.quiz-question[data-position="{blank_pos}"] input')
    blank.fill("中央 委员会")
    expect(page.locator("#quiz-save-state")).to_have_text("已保存")
    expect(page.locator("#quiz-answered")).to_have_text("2")

    page.reload()  # a refresh (or a crash) mid-way loses nothing
    expect(single.get_by_label(re.compile("1921年"))).to_be_checked()
    expect(blank).to_have_value("中央 委员会")
    expect(page.locator("#quiz-answered")).to_have_text("2")

    # 交卷 asks first and names the unanswered questions; "cancel" keeps the member on the paper
    unanswered = sorted(p for p in by_position if p not in (single_pos, blank_pos))
    dialogs = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="交卷").click()
    expect(page.locator("#quiz-form")).to_be_visible()
    assert dialogs and f"还有 {len(unanswered)} 题未作答" in dialogs[0], dialogs
    assert "第 " + "、".join(map(str, unanswered)) + " 题" in dialogs[0], dialogs
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).submitted_at is None
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="交卷").click()
    expect(page).to_have_url(re.compile(r"/result$"))
    result = page.locator("#quiz-result")
    expect(result).to_contain_text("50.0")
    expect(result).to_contain_text("未通过")
    expect(page.get_by_text("解析：1921年7月召开党的一大。")).to_be_visible()
    db.session.expire_all()
    graded = db.session.get(Attempt, attempt.id)
    assert graded.grade_count == 1 and graded.earned_points == 2

"""Issue 16 item 6: the message center — organizers' reminders, the bell's unread count, marking read, paging,
nothing outside the member's own business."""
from __future__ import annotations

import re

from core.extensions import db
from messages import services
from messages.models import Message


def bell(html: str) -> int:
    found = re.search(r'data-unread="(\d+)"', html)
    return int(found.group(1)) if found else 0


def test_an_organizer_reminds_members_from_the_reminder_list_and_they_see_it(client, auth, grid):
    organizer, (first, second) = grid["organizer_R-1-1"], grid["members"]["R-1-1"]
    outsider = grid["members"]["R-2-1"][0]
    auth.login(organizer)
    listing = client.get("/reports/reminders").get_data(as_text=True)
    assert f'name="member_id" value="{first.id}"' in listing
    response = client.post("/messages/remind", data={"member_id": [first.id, outsider.id],
                                                     "text": "请在月底前完成《党章》学习"})
    assert response.status_code == 302
    assert db.session.scalar(db.select(db.func.count(Message.id)).where(Message.user_id == outsider.id)) == 0
    client.post("/logout")
    auth.login(first)
    home = client.get("/").get_data(as_text=True)
    assert bell(home) == 1
    page = client.get("/messages/").get_data(as_text=True)
    assert "请在月底前完成《党章》学习" in page
    message_id = db.session.scalar(db.select(Message.id).where(Message.user_id == first.id))
    client.post(f"/messages/{message_id}/read")
    assert bell(client.get("/").get_data(as_text=True)) == 0
    client.post("/logout")
    auth.login(second)
    assert "请在月底前完成" not in client.get("/messages/").get_data(as_text=True)


def test_a_member_cannot_mark_or_see_another_members_message(client, auth, grid):
    first, second = grid["members"]["R-1-1"]
    services.notify(first, "reminder", "只给第一位")
    db.session.commit()
    message_id = db.session.scalar(db.select(Message.id).where(Message.user_id == first.id))
    auth.login(second)
    client.post(f"/messages/{message_id}/read")
    assert "只给第一位" not in client.get("/messages/").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Message, message_id).read_at is None


def test_messages_are_paged_newest_first(client, auth, grid, app):
    member = grid["members"]["R-1-1"][0]
    for i in range(app.config["PER_PAGE"] + 3):
        services.notify(member, "reminder", f"第{i:02d}条消息")
    db.session.commit()
    auth.login(member)
    first = client.get("/messages/").get_data(as_text=True)
    assert f"第{app.config['PER_PAGE'] + 2:02d}条消息" in first and "第00条消息" not in first
    assert "第00条消息" in client.get("/messages/?page=2").get_data(as_text=True)
    assert bell(first) == app.config["PER_PAGE"] + 3


def test_an_automatic_message_with_a_key_is_stored_once(app, grid):
    member = grid["members"]["R-1-1"][0]
    assert services.notify(member, "due_soon", "7 天后到期", dedupe_key="due:1") is True
    assert services.notify(member, "due_soon", "7 天后到期", dedupe_key="due:1") is False
    assert services.notify(member, "reminder", "外部链接", link="https://evil.example/") is True
    links = db.session.scalars(db.select(Message.link).where(Message.user_id == member.id)).all()
    assert sorted(links) == ["", ""]


def test_reports_members_show_the_organization_path(client, auth, grid):
    auth.login(grid["admin"])
    html = client.get("/reports/members").get_data(as_text=True)
    assert "测试区委 / 街道1 / 社区11" in html


# --- automatic messages ------------------------------------------------------------------------------------

def texts_of(member) -> list[str]:
    return list(db.session.scalars(db.select(Message.text).where(Message.user_id == member.id).order_by(Message.id)))


def test_a_required_course_assigned_and_due_in_seven_days_reach_the_members_once(app, grid, runner, monkeypatch):
    from datetime import date, datetime, timedelta

    from core import clock
    from courses import enrollments
    from tests.course_helpers import make_course

    member, outsider = grid["members"]["R-1-1"][0], grid["members"]["R-2-1"][0]
    course = make_course(grid["admin"], title="学习二十大报告")
    due = date(2026, 6, 30)
    enrollments.assign_required(course, grid["communities"][0], due, grid["admin"])
    db.session.commit()
    assert any("学习二十大报告" in t and "必修" in t for t in texts_of(member))
    assert texts_of(outsider) == []
    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2026, 6, 23, 2, 0))  # 10:00 in Shanghai, 7 days before
    assert runner.invoke(args=["reminders", "due-soon"]).exit_code == 0
    assert runner.invoke(args=["reminders", "due-soon"]).exit_code == 0  # the scheduler ran twice: one message
    due_soon = [t for t in texts_of(member) if "到期" in t]
    assert len(due_soon) == 1 and "2026-06-30" in due_soon[0]
    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2026, 6, 23, 2, 0) + timedelta(days=1))
    runner.invoke(args=["reminders", "due-soon"])
    assert len([t for t in texts_of(member) if "到期" in t]) == 1


def test_class_applications_decided_reach_the_applicant(app, grid):
    from classes import services as classes
    from classes.models import EnrolmentMode
    from tests.classes_helpers import make_class

    community = grid["communities"][0]
    organizer = grid[f"organizer_{community.code}"]
    training_class = make_class(organizer, community, mode=EnrolmentMode.APPLICATION, name="发展对象培训班")
    first, second = grid["members"]["R-1-1"]
    classes.approve(classes.apply(training_class, first), organizer)
    classes.reject(classes.apply(training_class, second), organizer, reason="名额已满")
    db.session.commit()
    assert any("发展对象培训班" in t and "已通过" in t for t in texts_of(first))
    assert any("未通过" in t and "名额已满" in t for t in texts_of(second))


def test_a_course_certificate_issued_reaches_the_member(app, grid):
    from core import clock
    from learning.completion import check_course_completion
    from courses.models import LectureProgress
    from tests.course_helpers import make_course

    member = grid["members"]["R-1-1"][0]
    course = make_course(grid["admin"], title="一讲课程")
    db.session.add(LectureProgress(user_id=member.id, lecture_id=course.lectures[0].id, course_id=course.id,
                                   completed_at=clock.utcnow()))
    db.session.flush()
    assert check_course_completion(member.id, course.id) is not None
    db.session.commit()
    kinds = db.session.scalars(db.select(Message.kind).where(Message.user_id == member.id)).all()
    assert kinds == ["certificate_issued"]

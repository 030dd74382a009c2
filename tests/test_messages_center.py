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

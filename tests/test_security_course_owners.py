"""Courses have owners and co-authors (finding 4): only they and admins edit, publish, archive a course or its
lectures, and archive a material; every change to a published course is logged and on its history page."""
from __future__ import annotations

import re

from sqlalchemy import select

from core.extensions import db
from core.permissions import Role
from courses.models import Course, CourseChange, CourseStatus, Material
from tests.course_helpers import make_course


def test_another_trainer_cannot_edit_publish_or_archive_a_course(app, grid, auth, client, make_user):
    owner, other = grid["trainer"], make_user(Role.TRAINER, org=grid["root"], name="教员乙")
    draft = make_course(owner, title="草稿课程", status=CourseStatus.DRAFT)
    live = make_course(owner, title="已发布课程")
    lecture = live.lectures[0]
    auth.login(other)
    attempts = [
        client.get(f"/teach/courses/{live.id}"),
        client.post(f"/teach/courses/{live.id}", data={"title": "被改了", "audience": "public", "credit_mode": "time"}),
        client.post(f"/teach/courses/{draft.id}/publish"),
        client.post(f"/teach/courses/{live.id}/archive"),
        client.post(f"/teach/courses/{live.id}/lectures/new", data={"title": "插一讲", "kind": "text"}),
        client.post(f"/teach/lectures/{lecture.id}", data={"title": "改一讲", "kind": "text"}),
        client.post(f"/teach/lectures/{lecture.id}/delete"),
        client.post(f"/teach/lectures/{lecture.id}/move", data={"direction": "down"}),
    ]
    assert [r.status_code for r in attempts] == [403] * len(attempts)
    db.session.expire_all()
    assert db.session.get(Course, live.id).title == "已发布课程"
    assert db.session.get(Course, live.id).status == CourseStatus.PUBLISHED
    assert db.session.get(Course, draft.id).status == CourseStatus.DRAFT
    assert len(db.session.get(Course, live.id).lectures) == 1 and live.lectures[0].title == "第1讲"


def test_a_co_author_may_and_every_change_is_on_the_history_page(app, grid, auth, client, make_user):
    owner, helper = grid["trainer"], make_user(Role.TRAINER, org=grid["root"], name="教员乙")
    course = make_course(owner, title="党章学习")
    auth.login(helper)
    assert client.get(f"/teach/courses/{course.id}").status_code == 403
    auth.logout()
    auth.login(owner)
    client.post(f"/teach/courses/{course.id}/authors", data={"login": helper.phone})
    auth.logout()
    auth.login(helper)
    response = client.post(f"/teach/courses/{course.id}", data={
        "title": "党章学习（修订）", "summary": "新简介", "category": "理论学习", "audience": "public",
        "credit_mode": "time", "tags": "党章"})
    assert response.status_code == 302
    assert client.post(f"/teach/courses/{course.id}/authors", data={"login": helper.phone}).status_code == 302
    client.post(f"/teach/courses/{course.id}/archive")
    history = client.get(f"/teach/courses/{course.id}/history").get_data(as_text=True)
    rows = re.findall(r'<li class="list-group-item">(.*?)</li>', history, re.S)
    text = [re.sub(r"<[^>]+>", "", row) for row in rows]
    assert any("教员乙" in t and "修改了课程信息" in t and "标题" in t and "简介" in t for t in text)
    assert any("教员乙" in t and "归档了课程" in t for t in text)
    assert any(owner.name in t and "添加合作者 教员乙" in t for t in text)
    changes = db.session.scalars(select(CourseChange).where(CourseChange.course_id == course.id)).all()
    assert {c.user_id for c in changes} == {owner.id, helper.id}


def test_only_the_uploader_or_an_admin_archives_a_material(app, grid, auth, client, make_user):
    other = make_user(Role.TRAINER, org=grid["root"], name="教员乙")
    material = Material(title="党章全文", file_kind="txt", file_key="x/y.txt", filename="党章.txt", mime="text/plain",
                        size=3, sha256="0" * 64, text="党章", uploaded_by_id=grid["trainer"].id)
    db.session.add(material)
    db.session.commit()
    auth.login(other)
    assert client.post(f"/materials/{material.id}/archive").status_code == 403
    db.session.expire_all()
    assert db.session.get(Material, material.id).deleted_at is None
    auth.logout()
    auth.login(grid["admin"])
    assert client.post(f"/materials/{material.id}/archive").status_code == 302

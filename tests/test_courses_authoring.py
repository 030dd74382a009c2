"""Trainers author courses: create, add lectures of every kind, reorder, delete, publish, revise, archive."""
from __future__ import annotations

import io
from decimal import Decimal

from sqlalchemy import select

from core.extensions import db
from courses import services
from courses.demo_library import simple_pdf
from courses.media import make_demo_video
from courses.models import Course, CourseChange, CourseStatus, Lecture, LectureKind
from tests.course_helpers import make_course

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


def create_course_via_form(client, **overrides):
    data = {"title": "党史教育", "summary": "从建党到新时代。", "category": "党史教育", "tags": "党史，百年",
            "audience": "members", "org_code": "", "credit_mode": "time", "credit_hours": "3"}
    data.update(overrides)
    response = client.post("/teach/courses/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    return db.session.scalar(select(Course).order_by(Course.id.desc()))


def test_trainer_creates_course_with_cover_and_tags(client, auth, grid):
    auth.login(grid["trainer"])
    course = create_course_via_form(client, cover=(io.BytesIO(PNG), "封面.png"))
    assert course.title == "党史教育" and course.status == CourseStatus.DRAFT
    assert course.tags == ["党史", "百年"]
    assert course.credit_hours == Decimal("3")
    assert course.cover_key.endswith(".png")
    page = client.get(f"/teach/courses/{course.id}").get_data(as_text=True)
    assert "至少需要一个课时" in page
    cover = client.get(f"/courses/{course.id}/cover")  # staff may see the draft's cover
    assert cover.status_code == 200 and cover.mimetype == "image/png"


def test_cover_that_is_not_an_image_is_refused(client, auth, grid):
    auth.login(grid["trainer"])
    response = client.post("/teach/courses/new", data={
        "title": "坏封面", "audience": "public", "credit_mode": "time", "credit_hours": "1",
        "cover": (io.BytesIO(b"MZ\x90\x00 not an image" * 10), "cover.png")}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "不支持这种文件类型" in response.get_data(as_text=True)
    assert db.session.scalar(select(Course).where(Course.title == "坏封面")) is None


def test_unknown_org_code_is_refused(client, auth, grid):
    auth.login(grid["trainer"])
    response = client.post("/teach/courses/new", data={"title": "限定课程", "audience": "public",
                                                       "credit_mode": "time", "org_code": "NOPE"})
    assert response.status_code == 400
    assert "没有这个组织代码" in response.get_data(as_text=True)


def test_members_and_organizers_cannot_author(client, auth, grid):
    auth.login(grid["members"]["R-1-1"][0])
    assert client.get("/teach/").status_code == 403
    assert client.post("/teach/courses/new", data={"title": "x"}).status_code == 403


def test_every_lecture_kind_can_be_added_and_the_course_published(client, auth, grid, tmp_path):
    auth.login(grid["trainer"])
    course = create_course_via_form(client)
    base = f"/teach/courses/{course.id}/lectures/new"
    assert client.post(base, data={"title": "第一讲 开天辟地", "kind": "text",
                                   "body_markdown": "# 一大\n\n1921年7月，中国共产党第一次全国代表大会召开。"}).status_code == 302
    video = make_demo_video(tmp_path / "v.mp4", 3, "党史")
    assert client.post(base, data={"title": "第二讲 视频", "kind": "video",
                                   "video": (open(video, "rb"), "党史.mp4")},
                       content_type="multipart/form-data").status_code == 302
    pdf = simple_pdf("党史学习提纲", ["第一部分：建党。", "第二部分：新中国。"])
    assert client.post(base, data={"title": "第三讲 提纲", "kind": "document",
                                   "document": (io.BytesIO(pdf), "提纲.pdf")},
                       content_type="multipart/form-data").status_code == 302
    assert client.post(base, data={"title": "第四讲 广场党课", "kind": "offline", "place": "春晖社区文化广场",
                                   "starts_at": "2026-07-01T09:30", "ends_at": "2026-07-01T11:00"}).status_code == 302
    db.session.expire_all()
    lectures = services.live_lectures(course)
    assert [lecture.kind for lecture in lectures] == [LectureKind.TEXT, LectureKind.VIDEO, LectureKind.DOCUMENT,
                                                       LectureKind.OFFLINE]
    assert lectures[0].reading_seconds >= 60 and "<h1>一大</h1>" in lectures[0].body_html
    assert lectures[1].duration_seconds == 3 and lectures[1].media_mime == "video/mp4"
    assert lectures[2].material.file_kind == "pdf" and lectures[2].material.course_id == course.id
    assert lectures[3].starts_at.hour == 1 and lectures[3].starts_at.minute == 30  # 09:30 Shanghai = 01:30 UTC

    response = client.post(f"/teach/courses/{course.id}/publish", follow_redirects=True)
    assert "课程已发布" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Course, course.id).status == CourseStatus.PUBLISHED
    assert db.session.scalars(select(CourseChange)).all() == []  # drafts change freely


def test_broken_video_is_refused_and_nothing_is_added(client, auth, grid):
    auth.login(grid["trainer"])
    course = create_course_via_form(client)
    fake = b"\x00\x00\x00\x18ftypisom" + b"\x00" * 2000
    response = client.post(f"/teach/courses/{course.id}/lectures/new",
                           data={"title": "坏视频", "kind": "video", "video": (io.BytesIO(fake), "a.mp4")},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert "无法读取这个视频" in response.get_data(as_text=True)
    assert services.live_lectures(course) == []


def test_document_lecture_needs_a_pdf(client, auth, grid):
    auth.login(grid["trainer"])
    course = create_course_via_form(client)
    response = client.post(f"/teach/courses/{course.id}/lectures/new",
                           data={"title": "文档", "kind": "document",
                                 "document": (io.BytesIO("普通文本".encode()), "a.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert "请上传 PDF 文档" in response.get_data(as_text=True)


def test_publish_names_what_is_missing(client, auth, grid):
    auth.login(grid["trainer"])
    course = create_course_via_form(client, credit_hours="")
    client.post(f"/teach/courses/{course.id}/lectures/new", data={"title": "还没传的视频", "kind": "video"})
    client.post(f"/teach/courses/{course.id}/lectures/new", data={"title": "没定地点", "kind": "offline"})
    page = client.post(f"/teach/courses/{course.id}/publish", follow_redirects=True).get_data(as_text=True)
    assert "视频课时“还没传的视频”还没有可播放的视频" in page
    assert "线下课时“没定地点”还没有设定时间和地点" in page
    assert "还没有设定学时" in page
    assert db.session.get(Course, course.id).status == CourseStatus.DRAFT


def test_empty_course_cannot_be_published(app):
    course = Course(title="空课程", credit_hours=Decimal("1"))
    db.session.add(course)
    db.session.flush()
    problems = services.publish_problems(course)
    assert problems == ["至少需要一个课时。"]


def test_reorder_and_soft_delete(client, auth, grid):
    course = make_course(grid["trainer"], lectures=3)
    first, second, third = services.live_lectures(course)
    auth.login(grid["trainer"])
    client.post(f"/teach/lectures/{third.id}/move", data={"direction": "up"})
    assert [lecture.title for lecture in services.live_lectures(course)] == ["第1讲", "第3讲", "第2讲"]
    client.post(f"/teach/lectures/{first.id}/move", data={"direction": "up"})  # already first: nothing moves
    assert [lecture.title for lecture in services.live_lectures(course)] == ["第1讲", "第3讲", "第2讲"]
    client.post(f"/teach/lectures/{second.id}/delete")
    db.session.expire_all()
    assert [lecture.title for lecture in services.live_lectures(course)] == ["第1讲", "第3讲"]
    assert db.session.get(Lecture, second.id).deleted_at is not None  # kept for study records


def test_changes_to_a_published_course_are_recorded_with_who_and_when(client, auth, grid, tmp_path):
    course = make_course(grid["trainer"], lectures=2)
    auth.login(grid["trainer"])
    client.post(f"/teach/courses/{course.id}/lectures/new", data={"title": "新增的一讲", "kind": "text",
                                                                  "body_markdown": "新内容"})
    lecture = services.live_lectures(course)[0]
    client.post(f"/teach/lectures/{lecture.id}/delete")
    video = services.add_lecture(course, grid["trainer"], kind=LectureKind.VIDEO, title="视频课")
    services.set_video(video, grid["trainer"], key="aa/bb/" + "c" * 32 + ".mp4", mime="video/mp4", size=10,
                       duration_seconds=60)
    services.set_video(video, grid["trainer"], key="aa/bb/" + "d" * 32 + ".mp4", mime="video/mp4", size=10,
                       duration_seconds=125)
    db.session.commit()
    changes = services.changes_of(course)
    summaries = [change.summary for change in changes]
    assert "新增课时“新增的一讲”。" in summaries
    assert "删除课时“第1讲”。" in summaries
    assert "课时“视频课”的时长由 1:00 改为 2:05。" in summaries
    assert all(change.user_id == grid["trainer"].id and change.at is not None for change in changes)
    page = client.get(f"/teach/courses/{course.id}").get_data(as_text=True)
    assert "删除课时“第1讲”" in page and grid["trainer"].name in page


def test_archive_hides_from_catalog_but_keeps_direct_link(client, auth, grid):
    course = make_course(grid["trainer"], title="归档课程")
    member = grid["members"]["R-1-1"][0]
    auth.login(grid["trainer"])
    client.post(f"/teach/courses/{course.id}/archive")
    db.session.expire_all()
    assert db.session.get(Course, course.id).status == CourseStatus.ARCHIVED
    auth.logout()
    auth.login(member)
    assert "归档课程" not in client.get("/courses/").get_data(as_text=True)
    assert client.get(f"/courses/{course.id}").status_code == 200


def test_preview_shows_the_member_view_of_a_draft(client, auth, grid):
    course = make_course(grid["trainer"], title="草稿课程", status=CourseStatus.DRAFT, lectures=2)
    auth.login(grid["trainer"])
    page = client.get(f"/teach/courses/{course.id}/preview").get_data(as_text=True)
    assert "预览" in page and "草稿课程" in page and "第2讲" in page


def test_edit_course_and_lecture(client, auth, grid):
    course = make_course(grid["trainer"], lectures=1)
    lecture = services.live_lectures(course)[0]
    auth.login(grid["trainer"])
    response = client.post(f"/teach/courses/{course.id}", data={
        "title": "党章学习（修订）", "audience": "public", "credit_mode": "fixed", "credit_hours": "1.5",
        "tags": "党章，修订", "org_code": "R-1"})
    assert response.status_code == 302
    db.session.refresh(course)
    assert course.title == "党章学习（修订）" and course.org.code == "R-1" and course.tags == ["修订", "党章"]
    response = client.post(f"/teach/lectures/{lecture.id}", data={"title": "改过的标题", "body_markdown": "**新**",
                                                                   "reading_minutes": "7"})
    assert response.status_code == 302
    db.session.refresh(lecture)
    assert lecture.title == "改过的标题" and lecture.reading_seconds == 420 and "<strong>新</strong>" in lecture.body_html

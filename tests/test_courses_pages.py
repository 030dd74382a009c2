"""The catalog, the course page and the lecture page as learners see them; enrolling."""
from __future__ import annotations

import io
import re
from datetime import date

from sqlalchemy import func, select

from core import clock
from core.extensions import db
from courses import services
from courses.demo_library import simple_pdf
from courses.materials import add_material
from courses.media import make_demo_video
from courses.models import Audience, LectureKind
from courses import enrollments
from courses.models import Enrollment, LectureProgress
from tests.course_helpers import add_offline, make_course


def test_each_lecture_kind_renders(client, auth, grid, tmp_path, app):
    trainer = grid["trainer"]
    course = make_course(trainer, title="四种课时", lectures=1)
    from core import storage

    stored = storage.save_upload(make_demo_video(tmp_path / "a.webm", 2, "演示", container="webm"),
                                 allowed={"mp4", "webm"})
    video = services.add_lecture(course, trainer, kind=LectureKind.VIDEO, title="视频课时", media_key=stored.key,
                                 media_mime=stored.mime, media_size=stored.size, duration_seconds=2)
    material = add_material(io.BytesIO(simple_pdf("党章", ["第一章 党员"])), title="党章文本", course=course)
    db.session.flush()
    document = services.add_lecture(course, trainer, kind=LectureKind.DOCUMENT, title="文档课时",
                                    material_id=material.id, reading_seconds=600)
    offline = add_offline(course, trainer)
    text = services.live_lectures(course)[0]
    auth.login(grid["members"]["R-1-1"][0])

    page = client.get(f"/lectures/{text.id}").get_data(as_text=True)
    assert "<p>第1讲的内容。</p>" in page

    page = client.get(f"/lectures/{video.id}").get_data(as_text=True)
    assert re.search(rf'<video[^>]+src="/lectures/{video.id}/media"', page)
    media = client.get(f"/lectures/{video.id}/media", headers={"Range": "bytes=0-99"})
    assert media.status_code == 206 and len(media.data) == 100

    page = client.get(f"/lectures/{document.id}").get_data(as_text=True)
    assert f'data="/materials/{material.id}/file"' in page
    assert f'<iframe class="lecture-document" src="/materials/{material.id}/file"' in page
    assert f'href="/materials/{material.id}/file?download=1"' in page
    pdf = client.get(f"/materials/{material.id}/file")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")

    page = client.get(f"/lectures/{offline.id}").get_data(as_text=True)
    assert "春晖社区文化广场" in page
    assert "2026-07-01 09:30" in page  # stored 01:30 UTC, shown in Asia/Shanghai
    assert 'name="viewport"' in page

    api = client.get(f"/api/v1/lectures/{video.id}").get_json()
    assert api["kind"] == "video" and api["media_url"] == f"/lectures/{video.id}/media" and api["duration_seconds"] == 2
    api = client.get(f"/api/v1/lectures/{document.id}").get_json()
    assert api["document_url"] == f"/materials/{material.id}/file"
    api = client.get(f"/api/v1/lectures/{offline.id}").get_json()
    assert api["place"] == "春晖社区文化广场" and api["starts_at"] == "2026-07-01T01:30:00Z"

    page = client.get(f"/lectures/{video.id}").get_data(as_text=True)  # previous / next navigation
    assert f'href="/lectures/{text.id}"' in page and f'href="/lectures/{document.id}"' in page


def test_catalog_filters_sorts_and_pages(client, auth, grid):
    trainer = grid["trainer"]
    old = make_course(trainer, title="党史教育", category="党史", tags=("党史", "百年"))
    popular = make_course(trainer, title="社区志愿服务", category="社区治理", tags=("志愿",))
    new = make_course(trainer, title="垃圾分类与文明社区", category="社区治理", tags=("环保",))
    popular.enrollment_count = 50
    db.session.commit()
    auth.login(grid["members"]["R-1-1"][0])

    def titles(url):
        page = client.get(url).get_data(as_text=True)
        found = [t for t in ("党史教育", "社区志愿服务", "垃圾分类与文明社区") if t in page]
        return sorted(found, key=page.index)

    assert titles("/courses/") == ["垃圾分类与文明社区", "社区志愿服务", "党史教育"]  # newest first
    assert titles("/courses/?sort=popular")[0] == "社区志愿服务"
    assert titles("/courses/?category=社区治理") == ["垃圾分类与文明社区", "社区志愿服务"]
    assert titles("/courses/?tag=百年") == ["党史教育"]
    assert titles("/courses/?q=志愿") == ["社区志愿服务"]
    page = client.get("/courses/").get_data(as_text=True)
    assert "社区治理" in page and "#百年" in page  # category and tag chips

    enrollments.assign_required(old, grid["communities"][0], date(2026, 12, 31), grid["admin"])
    db.session.commit()
    assert titles("/courses/?required=required") == ["党史教育"]
    assert titles("/courses/?required=optional") == ["垃圾分类与文明社区", "社区志愿服务"]
    assert "必修截止 · 2026-12-31" in client.get("/courses/").get_data(as_text=True)
    api = client.get("/api/v1/courses?required=required").get_json()
    assert [item["title"] for item in api["items"]] == ["党史教育"]
    api = client.get("/api/v1/courses?category=社区治理&sort=popular").get_json()
    assert [item["title"] for item in api["items"]] == ["社区志愿服务", "垃圾分类与文明社区"]
    assert new.id in [item["id"] for item in client.get("/api/v1/courses?tag=环保").get_json()["items"]]


def test_catalog_pages(client, grid):
    for i in range(14):
        make_course(grid["trainer"], title=f"课程{i:02d}号", lectures=1)
    first = client.get("/courses/").get_data(as_text=True)
    second = client.get("/courses/?page=2").get_data(as_text=True)
    assert "课程13号" in first and "课程02号" in first and "课程01号" not in first
    assert "课程01号" in second and "课程00号" in second and "课程13号" not in second
    assert 'href="/courses/?page=2"' in first
    api = client.get("/api/v1/courses?per_page=5&page=3").get_json()
    assert api["total"] == 14 and len(api["items"]) == 4


def test_anonymous_visitor_browses_public_course_but_must_log_in_to_study(client, grid):
    course = make_course(grid["trainer"], title="公开课", audience=Audience.PUBLIC, lectures=2)
    page = client.get(f"/courses/{course.id}").get_data(as_text=True)
    assert "公开课" in page and "第2讲" in page and "登录后学习" in page
    assert "/lectures/" not in page  # lecture titles are not links for visitors


def test_enroll_is_idempotent_and_counts(client, auth, grid):
    course = make_course(grid["trainer"], lectures=2)
    member = grid["members"]["R-1-1"][0]
    auth.login(member)
    assert "报名学习" in client.get(f"/courses/{course.id}").get_data(as_text=True)
    client.post(f"/courses/{course.id}/enroll")
    client.post(f"/courses/{course.id}/enroll")
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Enrollment.id))) == 1
    assert course.enrollment_count == 1
    page = client.get(f"/courses/{course.id}").get_data(as_text=True)
    assert "已报名" in page and "开始学习" in page
    assert client.get(f"/api/v1/courses/{course.id}").get_json()["enrolled"] is True


def test_course_page_shows_progress_credit_and_deadline(client, auth, grid, monkeypatch):
    from datetime import datetime

    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2026, 9, 1, 2, 0))  # before the due date
    course = make_course(grid["trainer"], lectures=3)
    member = grid["members"]["R-1-1"][0]
    first, second, _third = services.live_lectures(course)
    enrollments.assign_required(course, grid["streets"][0], date(2026, 10, 1), grid["admin"])
    db.session.add_all([
        LectureProgress(user_id=member.id, lecture_id=first.id, course_id=course.id, completed_at=clock.utcnow()),
        LectureProgress(user_id=member.id, lecture_id=second.id, course_id=course.id),
    ])
    db.session.commit()
    auth.login(member)
    page = client.get(f"/courses/{course.id}").get_data(as_text=True)
    assert "已完成 1 / 3" in page
    assert "学习中" in page
    assert "必修课程：请在 2026-10-01 前完成" in page
    assert "2.0" in page  # credit (学时)
    api = client.get(f"/api/v1/courses/{course.id}").get_json()
    assert api["required_due_date"] == "2026-10-01"
    assert [item["completed"] for item in api["lectures"]] == [True, False, False]

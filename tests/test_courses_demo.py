"""The demo courses: every lecture kind, publishable, loaded once however often the loader runs."""
from __future__ import annotations

from sqlalchemy import func, select

from core.extensions import db
from courses import demo, services
from courses.demo_content import COURSES, REQUIRED
from courses.models import Course, CourseStatus, LectureKind


def test_demo_content_is_rich_enough():
    assert len(COURSES) >= 8
    assert len({spec["title"] for spec in COURSES}) == len(COURSES)
    assert {spec["audience"] for spec in COURSES} == {"public", "members"}
    assert any(spec.get("org") for spec in COURSES)
    assert {title for title, _code, _due in REQUIRED} <= {spec["title"] for spec in COURSES}


def test_demo_loader_builds_published_courses_of_every_kind_once(app, monkeypatch, make_org):
    street = make_org("滨江街道", kind="街道", code="LJ-01")
    monkeypatch.setattr(demo, "COURSES", [COURSES[0], COURSES[5]])  # two courses keep the test quick
    monkeypatch.setattr(demo, "REQUIRED", [("垃圾分类与文明社区", "LJ-01", (2026, 8, 31))])
    assert demo.load() == 2
    db.session.commit()
    assert demo.load() == 0
    db.session.commit()
    courses = db.session.scalars(select(Course).order_by(Course.id)).all()
    assert [c.title for c in courses] == ["党章学习", "垃圾分类与文明社区"]
    assert all(c.status == CourseStatus.PUBLISHED for c in courses)
    assert courses[1].org_id == street.id
    kinds = [lecture.kind for lecture in services.live_lectures(courses[0])]
    assert set(kinds) == set(LectureKind)
    video = next(lecture for lecture in services.live_lectures(courses[0]) if lecture.kind == LectureKind.VIDEO)
    assert video.duration_seconds == demo.VIDEO_SECONDS
    from courses.models import RequiredAssignment

    assert db.session.scalar(select(func.count(RequiredAssignment.id))) == 1

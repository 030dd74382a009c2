"""Page cost stays flat: the number of SQL queries does not grow with lectures, courses or members."""
from __future__ import annotations

from datetime import date

from core import clock
from core.extensions import db
from courses import services
from courses.models import LectureKind
from courses import enrollments
from courses.models import LectureProgress
from tests.course_helpers import add_offline, count_queries, make_course


def queries_for(client, url) -> int:
    client.get(url)  # warm up: first-request work (templates, metadata) is not the page's cost
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200
    return counter.count


def course_with(trainer, member, n: int, title: str):
    course = make_course(trainer, title=title, lectures=n)
    add_offline(course, trainer)
    services.add_lecture(course, trainer, kind=LectureKind.VIDEO, title="视频", media_key="aa/bb/" + "e" * 32 + ".mp4",
                         media_mime="video/mp4", media_size=1, duration_seconds=30)
    for lecture in services.live_lectures(course)[: n // 2]:
        db.session.add(LectureProgress(user_id=member.id, lecture_id=lecture.id, course_id=course.id,
                                       completed_at=clock.utcnow()))
    enrollments.enroll(member, course)
    db.session.commit()
    return course


def test_course_and_lecture_pages_do_not_grow_with_lectures(client, auth, grid):
    member = grid["members"]["R-1-1"][0]
    small = course_with(grid["trainer"], member, 3, "三讲课程")
    large = course_with(grid["trainer"], member, 30, "三十讲课程")
    for course in (small, large):
        enrollments.assign_required(course, grid["streets"][0], date(2026, 12, 1), grid["admin"])
    db.session.commit()
    for user in (member, grid["trainer"]):
        auth.login(user)
        assert queries_for(client, f"/courses/{small.id}") == queries_for(client, f"/courses/{large.id}")
        small_lecture = services.live_lectures(small)[-1].id
        large_lecture = services.live_lectures(large)[-1].id
        assert queries_for(client, f"/lectures/{small_lecture}") == queries_for(client, f"/lectures/{large_lecture}")
        assert queries_for(client, f"/api/v1/courses/{small.id}") == queries_for(client, f"/api/v1/courses/{large.id}")
        auth.logout()
    assert queries_for(client, f"/courses/{small.id}") == queries_for(client, f"/courses/{large.id}")


def test_catalog_does_not_grow_with_courses(client, auth, grid):
    member = grid["members"]["R-1-1"][0]

    def add(n):
        for i in range(n):
            course = make_course(grid["trainer"], title=f"课程{i}", lectures=2, tags=("党章", f"标签{i % 7}"))
            if i % 2:
                enrollments.enroll(member, course)
            if i % 3 == 0:
                enrollments.assign_required(course, grid["communities"][0], date(2026, 12, 1), grid["admin"])
        db.session.commit()

    add(5)
    counts_5 = {}
    auth.login(member)
    counts_5["member"] = queries_for(client, "/courses/")
    counts_5["api"] = queries_for(client, "/api/v1/courses")
    auth.logout()
    counts_5["anonymous"] = queries_for(client, "/courses/?sort=popular")
    add(45)
    auth.login(member)
    assert queries_for(client, "/courses/") == counts_5["member"]
    assert queries_for(client, "/api/v1/courses") == counts_5["api"]
    auth.logout()
    assert queries_for(client, "/courses/?sort=popular") == counts_5["anonymous"]
    assert counts_5["member"] <= 12, counts_5


def test_course_page_does_not_grow_with_members(client, auth, grid, make_member):
    course = make_course(grid["trainer"], lectures=3)
    member = grid["members"]["R-1-1"][0]
    auth.login(member)
    before = queries_for(client, f"/courses/{course.id}")
    for _ in range(45):
        enrollments.enroll(make_member(grid["communities"][0]), course)
    enrollments.assign_required(course, grid["root"], date(2026, 12, 1), grid["admin"])
    db.session.commit()
    assert queries_for(client, f"/courses/{course.id}") == before + 0

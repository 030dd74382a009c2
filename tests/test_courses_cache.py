"""The course pages' shared cache: per-user parts never leak, a commit shows at once (the content version changes
in its transaction), and the courses a list shows are loaded and checked afresh. Across servers:
tests/test_cluster.py."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select, update

from core.extensions import db
from courses import cache, services
from courses.models import Audience, Course, CourseStatus
from courses import enrollments
from tests.course_helpers import make_course


def card_badges(page: str, title: str) -> str:
    """The badges area of the catalog card whose title is ``title``."""
    card = page.split(f">{title}</a></h2>", 1)[1].split('<div class="col">', 1)[0]
    return card.split('<div class="mt-auto">', 1)[1]


def test_one_members_badges_are_not_shown_to_another(client, auth, grid):
    first, second = grid["members"]["R-1-1"][0], grid["members"]["R-1-1"][1]
    course = make_course(grid["trainer"], title="缓存课程")
    enrollments.enroll(first, course)
    db.session.commit()
    auth.login(first)
    assert "已报名" in card_badges(client.get("/courses/").get_data(as_text=True), "缓存课程")
    auth.logout()
    auth.login(second)  # same organization, same catalog: the cached body is shared, the badges are not
    assert "已报名" not in card_badges(client.get("/courses/").get_data(as_text=True), "缓存课程")
    page = client.get(f"/courses/{course.id}").get_data(as_text=True)
    assert "报名学习" in page and "开始学习" not in page


def test_progress_badges_are_per_user(client, auth, grid):
    from core import clock
    from courses.models import LectureProgress

    first, second = grid["members"]["R-1-1"][0], grid["members"]["R-1-1"][1]
    course = make_course(grid["trainer"], title="进度课程", lectures=2)
    lecture = services.live_lectures(course)[0]
    db.session.add(LectureProgress(user_id=first.id, lecture_id=lecture.id, course_id=course.id,
                                   completed_at=clock.utcnow()))
    db.session.commit()
    auth.login(first)
    assert client.get(f"/courses/{course.id}").get_data(as_text=True).count("已完成</span>") == 1
    auth.logout()
    auth.login(second)
    assert client.get(f"/courses/{course.id}").get_data(as_text=True).count("已完成</span>") == 0


def test_a_commit_here_shows_at_once(client, auth, grid):
    member = grid["members"]["R-1-1"][0]
    course = make_course(grid["trainer"], title="旧名称", lectures=1)
    auth.login(member)
    assert "旧名称" in client.get("/courses/").get_data(as_text=True)
    client.get(f"/courses/{course.id}")
    services.update_course(course, grid["trainer"], title="新名称")
    services.add_lecture(course, grid["trainer"], kind="text", title="新增的一讲", body_markdown="内容")
    db.session.commit()
    assert "新名称" in client.get("/courses/").get_data(as_text=True)
    assert "新增的一讲" in client.get(f"/courses/{course.id}").get_data(as_text=True)
    services.archive(course, grid["trainer"])
    db.session.commit()
    assert "新名称" not in client.get("/courses/").get_data(as_text=True)


def test_required_badge_follows_a_new_assignment(client, auth, grid):
    member = grid["members"]["R-1-1"][0]
    course = make_course(grid["trainer"], title="必修课程")
    auth.login(member)
    assert "必修截止" not in card_badges(client.get("/courses/").get_data(as_text=True), "必修课程")
    enrollments.assign_required(course, grid["streets"][0], date(2026, 12, 1), grid["admin"])
    db.session.commit()
    assert "必修截止 · 2026-12-01" in card_badges(client.get("/courses/").get_data(as_text=True), "必修课程")


def test_an_archive_written_elsewhere_leaves_the_cached_catalog_at_once(committing_app, app, client, auth, grid):
    member = grid["members"]["R-1-1"][0]
    course = make_course(grid["trainer"], title="别处修改的课程")
    auth.login(member)
    assert "别处修改的课程" in client.get("/courses/").get_data(as_text=True)
    # Written without the ORM (so without a new content version): the cached list of ids still names the
    # course, but the page loads its row afresh and leaves it out.
    with db.engine.begin() as conn:
        conn.execute(update(Course).where(Course.id == course.id).values(status=CourseStatus.ARCHIVED.value))
    assert "别处修改的课程" not in client.get("/courses/").get_data(as_text=True)
    assert client.get(f"/courses/{course.id}").status_code == 200  # archived: direct links keep working


def test_an_orm_change_sets_a_new_content_version_in_its_transaction(app, client, auth, grid):
    course = make_course(grid["trainer"], title="版本课程")
    db.session.commit()
    before = cache.content_version()
    services.update_course(course, grid["trainer"], title="版本课程二")
    db.session.rollback()  # rolled back: the old version, whose entries match the old content
    assert cache.content_version() == before
    services.update_course(course, grid["trainer"], title="版本课程三")
    db.session.commit()
    assert db.session.scalar(select(cache.ContentVersion.version)) != before


def test_visibility_is_decided_on_the_fresh_row_even_when_cached(committing_app, client, auth, grid):
    member = grid["members"]["R-1-1"][0]
    course = make_course(grid["trainer"], title="改为党员课程", audience=Audience.PUBLIC)
    auth.login(grid["public"])
    assert client.get(f"/courses/{course.id}").status_code == 200
    with db.engine.begin() as conn:  # changed elsewhere, no commit hook here
        conn.execute(update(Course).where(Course.id == course.id).values(audience=Audience.MEMBERS.value))
    assert client.get(f"/courses/{course.id}").status_code == 404
    auth.logout()
    auth.login(member)
    assert client.get(f"/courses/{course.id}").status_code == 200


def test_a_restriction_written_elsewhere_hides_the_cached_card_at_once(committing_app, app, client, auth, grid):
    course = make_course(grid["trainer"], title="限制前的课程")
    auth.login(grid["members"]["R-1-1"][0])
    assert "限制前的课程" in client.get("/courses/").get_data(as_text=True)
    # Limited to another street without the ORM (no new content version): the cached card is still in the
    # cache, but its fresh row no longer admits this member.
    with db.engine.begin() as conn:
        conn.execute(update(Course).where(Course.id == course.id).values(org_id=grid["streets"][1].id))
    assert "限制前的课程" not in client.get("/courses/").get_data(as_text=True)


def test_a_wiped_version_row_comes_back_with_the_next_change(app, client, auth, grid):
    from sqlalchemy import delete

    db.session.execute(delete(cache.ContentVersion))
    db.session.commit()
    course = make_course(grid["trainer"], title="版本行重建")
    assert db.session.scalar(select(cache.ContentVersion.version)) not in (None, 0)
    auth.login(grid["members"]["R-1-1"][0])
    assert "版本行重建" in client.get("/courses/").get_data(as_text=True)
    services.update_course(course, grid["trainer"], title="版本行重建二")
    db.session.commit()
    assert "版本行重建二" in client.get("/courses/").get_data(as_text=True)

"""Whole cached pages (courses/page_cache.py): two users served from the same cached page each get their own
name, CSRF token, progress, enrolment and badges; a change shows at once on the same server."""
from __future__ import annotations

import re

from core import clock
from core.extensions import db
from courses import services
from learning import enrollments
from learning.models import LectureProgress
from tests.conftest import PASSWORD
from tests.course_helpers import make_course


def login(app, user):
    client = app.test_client()
    assert client.post("/login", data={"identifier": user.phone, "password": PASSWORD}).status_code == 302
    return client


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def meta_token(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)">', html).group(1)


def menu_name(html: str) -> str:
    return re.search(r'<a class="nav-link" href="/profile">([^<]*)</a>', html).group(1)


def page_entries(app, kind: str) -> int:
    return sum(1 for key in app.extensions["courses_cache"]._entries if key[:2] == ("page", kind))


def two_members(grid):
    first, second = grid["members"]["R-1-1"]  # same organization and role: the same cached pages
    course = make_course(grid["trainer"], title="共享缓存课程", lectures=2)
    lecture = services.live_lectures(course)[0]
    db.session.add(LectureProgress(user_id=first.id, lecture_id=lecture.id, course_id=course.id,
                                   completed_at=clock.utcnow()))
    enrollments.enroll(first, course)
    db.session.commit()
    return first, second, course, lecture


def test_course_page_shared_but_each_user_gets_their_own_values(app, grid):
    first, second, course, _lecture = two_members(grid)
    one, two = login(app, first), login(app, second)
    mine, theirs = page(one, f"/courses/{course.id}"), page(two, f"/courses/{course.id}")
    assert page_entries(app, "course") == 1  # one page in the cache, served to both

    assert menu_name(mine) == first.name and second.name not in mine
    assert menu_name(theirs) == second.name and first.name not in theirs
    assert "已完成 1 / 2" in mine and "已完成 0 / 2" in theirs
    assert "1/2 讲完成" in mine and "0/2 讲完成" in theirs  # the hours box
    assert mine.count("已完成</span>") == 1 and theirs.count("已完成</span>") == 0
    assert "已报名" in mine and "开始学习" in mine and "报名学习" not in mine
    assert "报名学习" in theirs and "开始学习" not in theirs
    token_one, token_two = meta_token(mine), meta_token(theirs)
    assert token_one != token_two
    assert f'name="csrf_token" value="{token_two}"' in theirs and token_one not in theirs
    assert token_two not in mine


def test_lecture_and_catalog_pages_carry_each_users_own_values(app, grid):
    first, second, course, lecture = two_members(grid)
    one, two = login(app, first), login(app, second)
    mine, theirs = page(one, f"/lectures/{lecture.id}"), page(two, f"/lectures/{lecture.id}")
    assert page_entries(app, "lecture") == 1
    assert menu_name(mine) == first.name and menu_name(theirs) == second.name
    done = '<span class="text-success">已完成</span>'
    assert done in mine and done not in theirs
    assert mine.count(" · 已完成</span>") == 1 and theirs.count(" · 已完成</span>") == 0  # the outline
    assert meta_token(mine) != meta_token(theirs) and meta_token(mine) not in theirs

    mine, theirs = page(one, "/courses/"), page(two, "/courses/")
    assert page_entries(app, "catalog") == 1
    assert menu_name(mine) == first.name and menu_name(theirs) == second.name
    assert '<span class="badge text-bg-success">已报名</span>' in mine and "已报名" not in theirs


def test_language_links_return_to_this_request_s_own_address(app, grid):
    member = grid["members"]["R-1-1"][0]
    make_course(grid["trainer"], title="地址课程")
    client = login(app, member)
    first = page(client, "/courses/?page=1&x=%E4%B8%AD")  # the same cached catalog page as /courses/
    second = page(client, "/courses/")
    assert page_entries(app, "catalog") == 1
    assert "next=/courses/?page%3D1%26x%3D%25E4%25B8%25AD" in first
    assert "next=/courses/?\"" in second and "page%3D1" not in second


def test_a_change_shows_at_once_on_the_same_server(app, grid):
    app.config["WTF_CSRF_ENABLED"] = True  # the token from the cached page must be this user's real one
    first, second, course, _lecture = two_members(grid)
    two = login_with_csrf(app, second)
    token = meta_token(page(two, f"/courses/{course.id}"))
    assert two.post(f"/courses/{course.id}/enroll", data={"csrf_token": token}).status_code == 302
    enrolled = page(two, f"/courses/{course.id}")
    assert "报名成功" in enrolled and "开始学习" in enrolled  # the flash message and the new state
    assert "报名成功" not in page(two, f"/courses/{course.id}")  # shown once
    one = login_with_csrf(app, first)
    assert "报名成功" not in page(one, f"/courses/{course.id}")  # never another user's message

    for lecture in services.live_lectures(course):
        db.session.merge(LectureProgress(user_id=second.id, lecture_id=lecture.id, course_id=course.id,
                                         completed_at=clock.utcnow()))
    second.name = "改名后的党员"
    db.session.commit()
    html = page(two, f"/courses/{course.id}")
    assert "已完成 2 / 2" in html and menu_name(html) == "改名后的党员"
    assert "已完成 1 / 2" in page(one, f"/courses/{course.id}")


def login_with_csrf(app, user):
    client = app.test_client()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data={"identifier": user.phone, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client


def viewer_entries(app) -> int:
    return sum(1 for key in app.extensions["courses_cache"]._entries if key[0] == "viewer")


def test_members_with_the_same_facts_share_the_viewer_parts_with_their_own_token(app, grid):
    member_a, member_b = grid["members"]["R-2-1"]  # neither enrolled nor started
    course = make_course(grid["trainer"], title="同一状态课程", lectures=2)
    one, two = login(app, member_a), login(app, member_b)
    mine, theirs = page(one, f"/courses/{course.id}"), page(two, f"/courses/{course.id}")
    assert viewer_entries(app) == 1  # the hours box, progress and enrol button rendered once for both
    for html in (mine, theirs):
        assert "报名学习" in html and "已完成 0 / 2" in html and "0/2 讲完成" in html
    assert f'name="csrf_token" value="{meta_token(mine)}"' in mine
    assert f'name="csrf_token" value="{meta_token(theirs)}"' in theirs and meta_token(mine) not in theirs


def test_the_hours_box_follows_the_ledger_and_certificates_at_once(app, grid):
    from learning.models import Certificate, HourEntry, HourSource

    member = grid["members"]["R-1-1"][0]
    course = make_course(grid["trainer"], title="学时课程", lectures=2)
    client = login(app, member)
    assert "已计 0 学时" in page(client, f"/courses/{course.id}")
    db.session.add(HourEntry(user_id=member.id, seconds=2700, source=HourSource.MANUAL, source_ref="test:1",
                             course_id=course.id))  # written by the ledger: no course change, no cache clearing
    db.session.commit()
    html = page(client, f"/courses/{course.id}")
    assert "已计 1 学时" in html and "查看结业证书" not in html
    db.session.add(Certificate(code="C-TEST-1", user_id=member.id, kind="course", course_id=course.id, seconds=2700))
    db.session.commit()
    assert "查看结业证书" in page(client, f"/courses/{course.id}")


def test_a_page_with_a_flash_is_still_served_from_the_cache(app, grid):
    _first, second, course, _lecture = two_members(grid)
    client = login(app, second)
    page(client, f"/courses/{course.id}")
    assert client.post(f"/courses/{course.id}/enroll").status_code == 302  # flashes 报名成功
    with_flash = page(client, f"/courses/{course.id}")
    assert "报名成功" in with_flash and "报名成功" not in page(client, f"/courses/{course.id}")
    assert page_entries(app, "course") == 1


def test_course_and_lecture_pages_are_shared_across_organizations_but_never_shown_outside_them(app, grid):
    from courses.models import Audience

    here, elsewhere = grid["members"]["R-1-1"][0], grid["members"]["R-2-1"][0]  # street 1, street 2: same role
    open_course = make_course(grid["trainer"], title="全区课程", lectures=2)
    limited = make_course(grid["trainer"], title="街道一专题", audience=Audience.MEMBERS, org=grid["streets"][0])
    open_lecture, limited_lecture = services.live_lectures(open_course)[0], services.live_lectures(limited)[0]
    one, two = login(app, here), login(app, elsewhere)

    page(one, f"/courses/{open_course.id}"), page(two, f"/courses/{open_course.id}")
    page(one, f"/lectures/{open_lecture.id}"), page(two, f"/lectures/{open_lecture.id}")
    assert page_entries(app, "course") == 1 and page_entries(app, "lecture") == 1  # one per role, not per chain

    assert "街道一专题" in page(one, f"/courses/{limited.id}") and page(one, f"/lectures/{limited_lecture.id}")
    assert page_entries(app, "course") == 2 and page_entries(app, "lecture") == 2  # cached now ...
    assert two.get(f"/courses/{limited.id}").status_code == 404  # ... and still refused outside the subtree
    assert two.get(f"/lectures/{limited_lecture.id}").status_code == 404

    assert "街道一专题" in page(one, "/courses/") and "街道一专题" not in page(two, "/courses/")
    assert page_entries(app, "catalog") == 2  # the catalog lists courses: kept per visibility

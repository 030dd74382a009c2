"""Who sees which course: role × audience × status × organization limit, in pages, API lists, API details
and direct lecture URLs."""
from __future__ import annotations

import pytest

from accounts.models import MemberCategory
from core.extensions import db
from core.permissions import Role
from courses import services
from courses.models import Audience, CourseStatus
from tests.course_helpers import make_course

COURSES = {
    "A": dict(title="甲课·公开", audience=Audience.PUBLIC),
    "B": dict(title="乙课·党员", audience=Audience.MEMBERS),
    "C": dict(title="丙课·限滨江公开", audience=Audience.PUBLIC, org="R-1"),
    "D": dict(title="丁课·限滨江党员", audience=Audience.MEMBERS, org="R-1"),
    "E": dict(title="戊课·草稿", audience=Audience.PUBLIC, status=CourseStatus.DRAFT),
    "F": dict(title="己课·归档", audience=Audience.PUBLIC, status=CourseStatus.ARCHIVED),
}

# who: (courses in the catalog, courses they may open). Lectures: the same as open, for logged-in users.
EXPECTED = {
    "anonymous": ("A", "AF"),
    "public": ("A", "AF"),
    "member_R-1-1": ("ABCD", "ABCDF"),
    "member_R-2-1": ("AB", "ABF"),
    "crowd_R-1-1": ("AC", "ACF"),  # a 群众 registered in a community: no members-only courses
    "street_organizer": ("ABCD", "ABCDF"),
    "trainer": ("ABCD", "ABCDEF"),
    "admin": ("ABCD", "ABCDEF"),
}


@pytest.fixture
def world(grid, make_member):
    orgs = {o.code: o for o in grid["communities"] + grid["streets"]}
    courses = {}
    for key, spec in COURSES.items():
        spec = dict(spec)
        org = orgs[spec.pop("org")] if "org" in spec else None
        courses[key] = make_course(grid["trainer"], org=org, lectures=1, **spec)
    users = {
        "anonymous": None,
        "public": grid["public"],
        "member_R-1-1": grid["members"]["R-1-1"][0],
        "member_R-2-1": grid["members"]["R-2-1"][0],
        "crowd_R-1-1": make_member(orgs["R-1-1"], category=MemberCategory.PUBLIC),
        "street_organizer": grid["street_organizer"],
        "trainer": grid["trainer"],
        "admin": grid["admin"],
    }
    lectures = {key: services.live_lectures(course)[0].id for key, course in courses.items()}
    return courses, users, lectures


@pytest.mark.parametrize("who", list(EXPECTED))
def test_visibility_matrix(client, auth, world, who):
    courses, users, lectures = world
    listed, openable = EXPECTED[who]
    if users[who] is not None:
        auth.login(users[who])

    catalog = client.get("/courses/").get_data(as_text=True)
    assert {k for k, c in courses.items() if c.title in catalog} == set(listed), "catalog page"

    api_list = client.get("/api/v1/courses?per_page=100").get_json()
    assert {k for k, c in courses.items() if c.id in {item["id"] for item in api_list["items"]}} == set(listed)
    assert api_list["total"] == len(listed)

    for key, course in courses.items():
        page = client.get(f"/courses/{course.id}")
        api = client.get(f"/api/v1/courses/{course.id}")
        lecture_page = client.get(f"/lectures/{lectures[key]}")
        lecture_api = client.get(f"/api/v1/lectures/{lectures[key]}")
        if key in openable:
            assert page.status_code == 200, (key, "page")
            assert course.title in page.get_data(as_text=True)
            assert api.status_code == 200 and api.get_json()["title"] == course.title
            if who == "anonymous":
                assert lecture_page.status_code == 302 and "/login" in lecture_page.headers["Location"]
                assert lecture_api.status_code == 401
            else:
                assert lecture_page.status_code == 200, (key, "lecture")
                assert lecture_api.status_code == 200 and lecture_api.get_json()["id"] == lectures[key]
        else:
            if who == "anonymous":
                assert page.status_code == 302 and "/login" in page.headers["Location"], (key, "page")
            else:
                assert page.status_code == 404, (key, "page")
            assert course.title not in page.get_data(as_text=True)
            assert api.status_code == 404, (key, "api")
            assert lecture_page.status_code in ((302,) if who == "anonymous" else (404,)), (key, "lecture")
            assert lecture_api.status_code in ((401,) if who == "anonymous" else (404,)), (key, "lecture api")


def test_deleted_lecture_is_gone_for_learners_but_kept(client, auth, grid):
    course = make_course(grid["trainer"], lectures=2)
    lecture = services.live_lectures(course)[0]
    services.delete_lecture(lecture, grid["trainer"])
    db.session.commit()
    auth.login(grid["members"]["R-1-1"][0])
    assert client.get(f"/lectures/{lecture.id}").status_code == 404
    assert client.get(f"/api/v1/lectures/{lecture.id}").status_code == 404
    assert "第1讲" not in client.get(f"/courses/{course.id}").get_data(as_text=True)
    assert [item["title"] for item in client.get(f"/api/v1/courses/{course.id}").get_json()["lectures"]] == ["第2讲"]


def test_members_only_course_cannot_be_enrolled_by_a_public_learner(client, auth, grid):
    course = make_course(grid["trainer"], audience=Audience.MEMBERS)
    auth.login(grid["public"])
    assert client.post(f"/courses/{course.id}/enroll").status_code == 404
    db.session.refresh(course)
    assert course.enrollment_count == 0


def test_organizer_and_member_roles_cannot_open_authoring(client, auth, grid):
    for user in (grid["members"]["R-1-1"][0], grid["street_organizer"], grid["public"]):
        auth.login(user)
        assert client.get("/teach/").status_code == 403
        auth.logout()
    assert grid["street_organizer"].role == Role.ORGANIZER

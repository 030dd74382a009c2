"""Reachable 500s (finding 11) and request bodies limited per route (finding 9)."""
from __future__ import annotations

import io

import pytest

from core.extensions import db
from courses import services as course_services
from courses.models import LectureKind
from tests.course_helpers import make_course
from tests.test_courses_media import video_lecture, videos  # noqa: F401  (the module's video fixture)

HUGE = "99999999999999999999"  # > 2^63


# --- finding 11: huge integers, non-object JSON, header newlines ---------------------------------------------

def test_huge_integers_in_any_path_segment_answer_404(app, grid, auth, client):
    auth.login(grid["admin"])
    checked = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or not rule.arguments or "<int:" not in rule.rule:
            continue
        if any(f"<int:{a}>" not in rule.rule for a in rule.arguments):
            continue
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<int:{name}>", HUGE)
        response = client.get(path)
        assert response.status_code == 404, (path, response.status_code)
        checked += 1
    assert checked >= 20


@pytest.mark.parametrize("path", ["/api/v1/courses", "/api/v1/courses?page=" + HUGE, "/courses/?page=" + HUGE,
                                  "/teach/?page=" + HUGE, "/api/v1/quizzes?page=" + HUGE,
                                  "/api/v1/courses?per_page=" + HUGE])
def test_huge_page_numbers_never_break_a_list(app, grid, auth, client, path):
    make_course(grid["trainer"])
    auth.login(grid["trainer"])
    response = client.get(path)
    assert response.status_code in (200, 400, 404), response.status_code


@pytest.mark.parametrize("body", ["1.5", "true", '"x"', "[]", "null", "[1, 2]"])
def test_a_json_body_that_is_no_object_answers_400(app, grid, auth, client, body):
    course = make_course(grid["trainer"])
    lecture = course.lectures[0]
    headers = auth.token(grid["members"]["R-1-1"][0])
    response = client.post(f"/api/v1/lectures/{lecture.id}/study-sessions", data=body, headers=headers,
                           content_type="application/json")
    assert response.status_code == (201 if body == "null" else 400), response.get_json()
    if body != "null":
        assert response.get_json()["error"]["message"] == "the request body must be a JSON object"
    token = client.post("/api/v1/auth/token", data=body, content_type="application/json")
    assert token.status_code == 400


def test_titles_are_single_line_and_a_bad_stored_title_still_streams(app, grid, auth, client, videos):  # noqa: F811
    course = make_course(grid["trainer"])
    course_services.update_course(course, grid["trainer"], title="党章\r\n学习\x00课")
    lecture = course_services.add_lecture(course, grid["trainer"], kind=LectureKind.TEXT, title="第一讲\r\nSet-Cookie: x=1",
                                          body_markdown="正文")
    db.session.commit()
    assert course.title == "党章 学习课" and lecture.title == "第一讲 Set-Cookie: x=1"
    video, data = video_lecture(app, videos)
    video.title = "第二讲\r\nX-Evil: 1"  # written before titles were cleaned
    db.session.commit()
    auth.login(grid["members"]["R-1-1"][0])
    response = client.get(f"/lectures/{video.id}/media")
    assert response.status_code == 200 and response.data == data
    assert "X-Evil" not in response.headers
    assert "\n" not in response.headers["Content-Disposition"]


# --- finding 9: bodies limited per route ---------------------------------------------------------------------

def test_anonymous_large_bodies_are_refused_before_they_are_read(app, client):
    big = "x" * (app.config["MAX_BODY_BYTES"] + 1)
    assert client.post("/api/v1/auth/token", data='{"login": "' + big + '"}',
                       content_type="application/json").status_code == 413
    assert client.post("/login", data={"identifier": big, "password": "x"}).status_code == 413
    assert client.post("/no-such-route", data=big).status_code in (404, 413)
    assert client.post("/api/v1/auth/token", json={"login": "13900000009", "password": "x"}).status_code == 401


def test_upload_routes_take_their_upload_size_and_no_more(app, grid, auth, client):
    auth.login(grid["trainer"])
    app.config["MAX_DOCUMENT_BYTES"] = 300_000
    text = ("党的章程学习。" * 20_000).encode()  # 420 kB: above MAX_BODY_BYTES, within the video limit
    response = client.post("/materials/upload", data={"title": "党章学习材料", "file": (io.BytesIO(text), "党章.txt")},
                           content_type="multipart/form-data")
    assert response.status_code != 413  # the route takes uploads (the document limit answers in the form)
    course = make_course(grid["trainer"])
    app.config["MAX_IMAGE_BYTES"] = 1000
    cover = client.post(f"/teach/courses/{course.id}", data={"title": "x", "cover": (io.BytesIO(b"x" * 200_000), "a.png")},
                        content_type="multipart/form-data")
    assert cover.status_code == 413  # a cover is an image: 200 kB is far above its 1 kB + the form's 64 kB

"""Trainers attach existing library materials to a course (a document lecture), from /teach/."""
from __future__ import annotations

import io

import pytest
from werkzeug.datastructures import FileStorage

from core.extensions import db
from courses import services
from courses.demo_library import simple_pdf
from courses.materials import add_material, archive_material
from courses.models import Audience, CourseStatus, LectureKind
from tests.course_helpers import make_course


def stored(title: str, text: str | None = None, name: str = "a.txt", **kwargs):
    data = (text or f"{title}：党员要认真学习，提高觉悟。").encode()
    material = add_material(FileStorage(io.BytesIO(data), filename=name), title=title, **kwargs)
    db.session.commit()
    return material


@pytest.fixture
def library(grid):
    other_course = make_course(grid["trainer"], title="别的课程")
    archived = stored("已归档的学习资料")
    archive_material(archived, grid["trainer"])
    db.session.commit()
    return {
        "public": stored("党章学习资料"),
        "members": stored("党员学习资料", audience=Audience.MEMBERS),
        "street": stored("街道学习资料", org=grid["streets"][0]),
        "other_course": stored("别的课程学习资料", course=other_course),
        "archived": archived,
        "pdf": add_material(FileStorage(io.BytesIO(simple_pdf("党员权利", ["党员享有表决权。"])), filename="r.pdf"),
                            title="党员权利学习资料"),
    }


def listed(client, course, q="学习资料") -> str:
    response = client.get(f"/teach/courses/{course.id}/materials", query_string={"q": q})
    assert response.status_code == 200
    return response.get_data(as_text=True).split('id="attachable-materials"', 1)[1]


def test_the_course_page_links_to_the_picker(client, auth, grid):
    course = make_course(grid["trainer"], status=CourseStatus.DRAFT)
    auth.login(grid["trainer"])
    page = client.get(f"/teach/courses/{course.id}").get_data(as_text=True)
    assert f"/teach/courses/{course.id}/materials" in page


def test_picker_offers_only_what_every_learner_of_the_course_can_open(client, auth, grid, library):
    public_course = make_course(grid["trainer"], title="公开课程", audience=Audience.PUBLIC)
    members_course = make_course(grid["trainer"], title="党员课程", audience=Audience.MEMBERS)
    street_course = make_course(grid["trainer"], title="街道课程", audience=Audience.MEMBERS,
                                org=grid["communities"][0])
    auth.login(grid["trainer"])
    everyone = listed(client, public_course)
    assert "党章学习资料" in everyone and "党员权利学习资料" in everyone
    for hidden in ("党员学习资料", "街道学习资料", "别的课程学习资料", "已归档的学习资料"):
        assert hidden not in everyone
    members = listed(client, members_course)
    assert "党员学习资料" in members and "街道学习资料" not in members
    street = listed(client, street_course)  # the material's street is the course's community's ancestor
    assert "街道学习资料" in street and "党员学习资料" in street and "别的课程学习资料" not in street


def test_search_by_title(client, auth, grid, library):
    course = make_course(grid["trainer"])
    auth.login(grid["trainer"])
    found = listed(client, course, q="党章")
    assert "党章学习资料" in found and "党员权利学习资料" not in found


def test_attach_adds_a_document_lecture_learners_can_read(client, auth, grid, library):
    course = make_course(grid["trainer"], lectures=1)
    auth.login(grid["trainer"])
    response = client.post(f"/teach/courses/{course.id}/materials/{library['public'].id}/attach")
    assert response.status_code == 302
    db.session.expire_all()
    lecture = services.live_lectures(course)[-1]
    assert (lecture.kind, lecture.title, lecture.material_id) == (LectureKind.DOCUMENT, "党章学习资料",
                                                                 library["public"].id)
    assert lecture.reading_seconds >= 60
    auth.logout()
    auth.login(grid["members"]["R-1-1"][0])
    assert "党章学习资料" in client.get(f"/courses/{course.id}").get_data(as_text=True)
    page = client.get(f"/lectures/{lecture.id}").get_data(as_text=True)
    assert 'id="document-text"' in page and "党员要认真学习" in page
    assert client.get(f"/materials/{library['public'].id}/file").status_code == 200


def test_attached_pdf_is_shown_in_the_page(client, auth, grid, library):
    course = make_course(grid["trainer"], lectures=1)
    auth.login(grid["trainer"])
    client.post(f"/teach/courses/{course.id}/materials/{library['pdf'].id}/attach")
    db.session.expire_all()
    lecture = services.live_lectures(course)[-1]
    page = client.get(f"/lectures/{lecture.id}").get_data(as_text=True)
    assert 'type="application/pdf"' in page and f"/materials/{library['pdf'].id}/file" in page


def test_a_draft_with_only_an_attached_material_can_be_published(client, auth, grid, library):
    course = services.create_course(grid["trainer"], title="资料课程", credit_hours=1, audience=Audience.PUBLIC)
    db.session.commit()
    auth.login(grid["trainer"])
    client.post(f"/teach/courses/{course.id}/materials/{library['public'].id}/attach")
    client.post(f"/teach/courses/{course.id}/publish")
    db.session.expire_all()
    assert db.session.get(type(course), course.id).status == CourseStatus.PUBLISHED


@pytest.mark.parametrize("which", ["members", "street", "other_course", "archived"])
def test_attaching_a_material_the_learners_could_not_open_is_refused(client, auth, grid, library, which):
    course = make_course(grid["trainer"], lectures=1)
    auth.login(grid["trainer"])
    response = client.post(f"/teach/courses/{course.id}/materials/{library[which].id}/attach")
    assert response.status_code == 404
    db.session.expire_all()
    assert len(services.live_lectures(course)) == 1


def test_members_cannot_pick_or_attach(client, auth, grid, library):
    course = make_course(grid["trainer"])
    auth.login(grid["members"]["R-1-1"][0])
    assert client.get(f"/teach/courses/{course.id}/materials").status_code == 403
    assert client.post(f"/teach/courses/{course.id}/materials/{library['public'].id}/attach").status_code == 403

"""Search shows what the catalog shows: members-only content never reaches public learners, not even in
a snippet; drafts never appear; organization limits hold; archived content is marked."""
from __future__ import annotations

import pytest

from courses import services as course_services
from courses.models import Audience
from search import services
from tests.search_helpers import add_text_material, published_course

# the index catches up on a connection of its own after each commit: these tests need real commits
pytestmark = pytest.mark.usefixtures("committing_app")

SECRET = "机密测试词"


@pytest.fixture
def library(app, grid):
    trainer = grid["trainer"]
    community = grid["communities"][0]
    return {
        "public_material": add_text_material("公开资料", f"公开 {SECRET} 内容"),
        "members_material": add_text_material("党员资料", f"党员 {SECRET} 内容", audience=Audience.MEMBERS),
        "org_material": add_text_material("社区资料", f"社区 {SECRET} 内容", org=community),
        "public_course": published_course(trainer, "公开课程", summary=f"公开课 {SECRET}",
                                          lectures=[("公开课时", f"课时 {SECRET}")]),
        "members_course": published_course(trainer, "党员课程", summary=f"党员课 {SECRET}",
                                           audience=Audience.MEMBERS, lectures=[("党员课时", f"课时 {SECRET}")]),
        "draft_course": published_course(trainer, "草稿课程", summary=f"草稿 {SECRET}", publish=False,
                                         lectures=[("草稿课时", f"课时 {SECRET}")]),
        "community_course": published_course(trainer, "社区课程", summary=f"社区课 {SECRET}", org=community,
                                             lectures=[("社区课时", f"课时 {SECRET}")]),
    }


def seen(user) -> set[str]:
    page = services.search(user, SECRET, per_page=50)
    assert page.total == len(page.results)  # counts agree with what is shown
    return {r.title for r in page.results}


def test_visibility_matrix(app, grid, library):
    from flask_login import AnonymousUserMixin

    member_in = grid["members"]["R-1-1"][0]  # community R-1-1
    member_out = grid["members"]["R-2-1"][0]
    everything_public = {"公开资料", "公开课程", "公开课时"}
    members_extra = {"党员资料", "党员课程", "党员课时"}
    community_extra = {"社区资料", "社区课程", "社区课时"}

    assert seen(AnonymousUserMixin()) == {"公开资料", "公开课程"}  # lectures need a login
    assert seen(grid["public"]) == everything_public
    assert seen(member_out) == everything_public | members_extra
    assert seen(member_in) == everything_public | members_extra | community_extra
    assert seen(grid["admin"]) == everything_public | members_extra | community_extra
    assert seen(grid["trainer"]) == everything_public | members_extra | community_extra


def test_public_learner_never_sees_members_only_text(client, auth, grid, library):
    auth.login(grid["public"])
    html = client.get("/search", query_string={"q": "党员"}).get_data(as_text=True)
    assert "党员资料" not in html and "党员课" not in html
    data = client.get("/api/v1/search", query_string={"q": "党员"}).get_json()
    assert all("党员课" not in r["snippet"] and r["title"] not in ("党员资料", "党员课程") for r in data["results"])


def test_archived_course_is_marked_and_a_stale_index_cannot_leak(client, auth, grid, library, monkeypatch):
    course_services.archive(library["public_course"], grid["trainer"])
    from core.extensions import db

    db.session.commit()
    auth.login(grid["members"]["R-1-1"][0])
    html = client.get("/search", query_string={"q": "公开课程"}).get_data(as_text=True)
    assert "公开课程" in html and "已归档" in html

    # the index says public, the database now says members-only: the database wins
    client.application.config["SEARCH_SYNC_ON_COMMIT"] = False
    monkeypatch.setattr(services, "ensure_fresh", lambda: None)
    library["public_material"].audience = Audience.MEMBERS
    db.session.commit()
    auth.logout()
    auth.login(grid["public"])
    data = client.get("/api/v1/search", query_string={"q": "公开资料"}).get_json()
    assert "公开资料" not in [r["title"] for r in data["results"]]


def test_deleted_lecture_leaves_results(app, grid, library):
    from core.extensions import db

    lecture = library["public_course"].lectures[0]
    course_services.delete_lecture(lecture, grid["trainer"])
    db.session.commit()
    assert "公开课时" not in seen(grid["public"])

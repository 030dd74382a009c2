"""The session's user is read afresh on every request (accounts/auth.py: one Core row, no memo): a deactivated
user, a changed role or a move to another organization takes effect at the very next request — also when the
change was written by another server (a plain SQL UPDATE, no ORM events here)."""
from __future__ import annotations

from sqlalchemy import update

from accounts.models import User
from core.extensions import db
from core.permissions import Role
from courses.models import Audience
from accounts import services as services_of_accounts
from courses import services
from tests.conftest import PASSWORD
from tests.course_helpers import count_queries, make_course


def written_elsewhere(user, **values) -> None:
    """A change another server made: straight to the table, nothing this app's ORM session knows of."""
    with db.engine.begin() as conn:
        conn.execute(update(User.__table__).where(User.__table__.c.id == user.id).values(**values))


def test_a_deactivated_member_is_logged_out_at_the_next_request(client, auth, grid):
    member = grid["members"]["R-1-1"][0]
    auth.login(member)
    assert client.get("/profile").status_code == 200
    written_elsewhere(member, is_active=False)
    response = client.get("/profile")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    written_elsewhere(member, is_active=True)
    assert client.get("/profile").status_code == 200


def test_a_changed_role_counts_at_the_next_request(client, auth, grid):
    member = grid["members"]["R-1-1"][0]
    auth.login(member)
    assert client.get("/teach/").status_code == 403
    written_elsewhere(member, role=Role.TRAINER.value)
    assert client.get("/teach/").status_code == 200
    written_elsewhere(member, role=Role.MEMBER.value)
    assert client.get("/teach/").status_code == 403


def test_a_member_moved_to_another_street_loses_its_limited_course_at_once(client, auth, grid):
    member = grid["members"]["R-1-1"][0]
    course = make_course(grid["trainer"], title="街道一专题", audience=Audience.MEMBERS, org=grid["streets"][0])
    lecture = services.live_lectures(course)[0]
    auth.login(member)
    assert client.get(f"/courses/{course.id}").status_code == 200
    assert client.get(f"/lectures/{lecture.id}").status_code == 200
    written_elsewhere(member, organization_id=grid["communities"][2].id)  # 社区21, under the other street
    assert client.get(f"/courses/{course.id}").status_code == 404
    assert client.get(f"/lectures/{lecture.id}").status_code == 404
    assert "街道一专题" not in client.get("/courses/").get_data(as_text=True)


def test_the_user_and_their_organization_take_one_statement(app, client, auth, grid):
    member = grid["members"]["R-1-1"][0]
    auth.login(member)
    client.get("/profile")
    with count_queries() as counter:
        assert client.get("/courses/").status_code == 200
    user_statements = [s for s in counter.statements if "FROM users" in s]
    assert len(user_statements) == 1 and "organizations" in user_statements[0]


def test_the_current_user_is_an_ordinary_user_that_services_write_through(client, auth, grid):
    """Services take current_user as a User: its lazy relationships load, rows link to it, it can be changed."""
    organizer = grid["street_organizer"]
    auth.login(organizer)
    members = client.get("/members").get_data(as_text=True)  # scope_root: managed_org, loaded on first use
    assert grid["members"]["R-1-1"][0].name in members and grid["members"]["R-2-1"][0].name not in members
    assert client.post("/profile/tokens", data={"name": "手机"}).status_code in (200, 302)
    response = client.post("/profile/password", data={"current": PASSWORD, "password": "another-pass-1",
                                                      "confirm": "another-pass-1"})
    assert response.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, organizer.id)
    assert [token.name for token in services_of_accounts.tokens_of(user)] == ["手机"]
    assert user.check_password("another-pass-1")
